#!/usr/bin/env bash
# multihome: the server has two addresses per family on its link and listens
# on the wildcard address; a client that uses the SECONDARY address as its
# endpoint must get every answer from that address (IP_PKTINFO /
# IPV6_PKTINFO), not from the one the kernel would pick (the primary).
#
#   ┌──── cli ──────────────────┐      ┌──── srv ────────────────────────────┐
#   │ lostlove-client           │      │ s0 198.51.100.1/24    primary       │
#   │   endpoint 198.51.100.10  │      │    198.51.100.10/24   secondary     │
#   │         or 2001:db8:c::10 │      │    2001:db8:c::1/64   primary       │
#   │ c0 198.51.100.2/24        ├──────┤    2001:db8:c::10/64  secondary     │
#   │    2001:db8:c::2/64       │ veth │ server on 0.0.0.0, then on :: :51820│
#   │ ll0 10.8.0.2/24           │      │ ll0 10.8.0.1/24                     │
#   └───────────────────────────┘      └─────────────────────────────────────┘
#
# The client's UDP socket is connected to its endpoint, so answers from any
# other address never reach it: on a server that answers from the kernel's
# choice the client does not even connect. The check is explicit all the
# same: nftables counters in cli, at prerouting, count every datagram from
# the server's port by source address, and none may come from another
# address than the secondary one.
#
# Phases (each: connect, 20 MiB down and up over TCP with SHA-256 checks,
# counters):
#   1. server on 0.0.0.0, client to 198.51.100.10;
#   2. server on :: (dual stack), client to 198.51.100.10 (IPv4-mapped);
#   3. server on ::, client to [2001:db8:c::10].
# After 1 and 3 the secondary address is removed under the live session:
# the server's answers fall back to the kernel's choice (counted in
# src_refused), and once the address is back the client's next packet
# teaches the server to answer from it again.
#
# LL_E2E_MB: size of each transfer (default 20); LL_MULTIHOME_PHASES: which
# phases to run (default 123).
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB:-20}
PHASES=${LL_MULTIHOME_PHASES:-123}
PRI4=198.51.100.1
SEC4=198.51.100.10
PRI6=2001:db8:c::1
SEC6=2001:db8:c::10
CLI4=198.51.100.2
CLI6=2001:db8:c::2

say "topology"
ns_add cli
ns_add srv
veth cli c0 srv s0
addr cli c0 $CLI4/24
addr cli c0 $CLI6/64
# IPv4: the first address of a prefix is the primary and the routes' source,
# later ones are "secondary". IPv6 prefers the newest of equal rank, so the
# secondary goes first.
addr srv s0 $PRI4/24
addr srv s0 $SEC4/24
addr srv s0 $SEC6/64
addr srv s0 $PRI6/64

# kernel_src FAMILY_FLAG DST: the source the kernel picks in srv for DST.
kernel_src() {
	local out
	out=$(nq srv ip "$1" route get "$2")
	grep -Eo 'src [0-9a-f.:]+' <<<"$out" | awk '{print $2}'
}

# Without pktinfo, answers would leave from the primary addresses: else
# this scenario would prove nothing.
check_kernel_picks_primary() {
	local s4 s6
	n srv ip -4 route get $CLI4
	n srv ip -6 route get $CLI6
	s4=$(kernel_src -4 $CLI4)
	s6=$(kernel_src -6 $CLI6)
	[ "$s4" = $PRI4 ] || fail "srv's kernel picks $s4 as source for $CLI4, not the primary $PRI4"
	[ "$s6" = $PRI6 ] || fail "srv's kernel picks $s6 as source for $CLI6, not the primary $PRI6"
	echo "   the kernel's own choice: $s4 and $s6 (the primaries)"
}
check_kernel_picks_primary

say "counters in cli: the server's datagrams by source address"
probe_rules() {
	cat <<-EOF
		table inet e2e_multihome {
			counter from_secondary {}
			counter from_other {}
			chain pre {
				type filter hook prerouting priority -300; policy accept;
				iifname "c0" ip saddr $SEC4 udp sport 51820 counter name from_secondary accept
				iifname "c0" ip6 saddr $SEC6 udp sport 51820 counter name from_secondary accept
				iifname "c0" udp sport 51820 counter name from_other
			}
		}
	EOF
}
LL_NOTE="<<< table inet e2e_multihome (prerouting: udp sport 51820 by saddr)" pretty cli nft -f -
probe_rules | nq cli nft -f -

# counter NAME [packets|bytes] (a packet may be a GRO burst of several
# datagrams: volumes are checked in bytes).
counter() {
	local out
	out=$(nq cli nft list counter inet e2e_multihome "$1")
	grep -Eo "${2:-packets} [0-9]+" <<<"$out" | awk '{print $2}'
}

reset_counters() {
	nq cli nft reset counters table inet e2e_multihome >/dev/null
}

show_counters() {
	echo "   [cli] from_secondary $(counter from_secondary) pkt $(counter from_secondary bytes) B," \
		"from_other $(counter from_other) pkt $(counter from_other bytes) B"
}

# only_from_secondary MIN_BYTES WHAT: nothing from another address, and at
# least MIN_BYTES from the secondary one.
only_from_secondary() {
	local min=$1 what=$2 other sec
	show_counters
	other=$(counter from_other)
	sec=$(counter from_secondary bytes)
	[ "$other" = 0 ] ||
		fail "$what: $other datagram(s) from the server came from another address than the secondary"
	[ "$sec" -ge "$min" ] ||
		fail "$what: only $sec bytes came from the secondary address (expected at least $min)"
}

say "keys and data"
add_user alice 10.8.0.2 fd00:8::2
make_data "$LL_TMP/data.bin" "$MB"
MIN_BYTES=$((MB * 1048576))

# connect ENDPOINT SECONDARY: the client to ENDPOINT; it must connect, and
# the server must report the session's local address as SECONDARY.
connect() {
	local endpoint=$1 sec=$2 from=0 sfrom
	sfrom=$(log_lines server)
	write_client_config alice "$endpoint" '[]'
	[ -f "$LL_TMP/client-alice.log" ] && from=$(log_lines "$LL_TMP/client-alice.log")
	spawn client-alice cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
	printf '[+] wait ≤ 30 s for /^lostlove-client: connected: / in client-alice.log\n'
	if ! try_until 30 log_has "$(log_of client-alice)" '^lostlove-client: connected: ' "$from"; then
		show_counters
		fail "the client with endpoint $endpoint did not connect: the server's answers" \
			"($(counter from_other) datagram(s) from another address than $sec) did not come from it"
	fi
	wait_for_log server "user \"alice\" connected, endpoint .*, local $sec\$" 10 "$sfrom"
}

# phase TITLE BIND ENDPOINT SECONDARY PORT
phase() {
	local title=$1 bind=$2 endpoint=$3 sec=$4 port=$5
	say "$title: server on $bind, client to $endpoint"
	if [ "$SRV_BIND" != "$bind" ] || ! alive server; then
		alive server && stop_clean server
		SRV_BIND=$bind
		write_server_config
		start_server
	fi
	reset_counters
	connect "$endpoint" "$sec"
	ping_ok cli 10.8.0.1
	transfer_check srv cli sender 10.8.0.1 "$port" "$LL_TMP/data.bin"
	transfer_check cli srv receiver 10.8.0.1 $((port + 1)) "$LL_TMP/data.bin"
	only_from_secondary "$MIN_BYTES" "$title"
}

# src_refused: the server's count of answers whose source was gone.
src_refused() {
	server_stats >/dev/null
	grep -Eo 'src_refused [0-9]+' <<<"$LL_STATS" | awk '{print $2}'
}

# address_goes_away SECONDARY PREFIX [ADD_ARGS...]: the secondary address is
# removed under the live session; the server's answers then go from its
# other address (the client, connected to the secondary, cannot take them),
# counted in src_refused. Put back (with ADD_ARGS), the client's next packet
# to it makes the server answer from it again.
address_goes_away() {
	local sec=$1 plen=$2 before after
	shift 2
	before=$(src_refused)
	n srv ip addr del "$sec/$plen" dev s0
	LL_NOTE="(must fail: answers cannot come from $sec)" pretty srv ping -c 2 -W 1 10.8.0.2
	if nq srv ping -c 2 -i 0.2 -W 1 10.8.0.2 >/dev/null 2>&1; then
		fail "the client answered though the server's address $sec is gone"
	fi
	after=$(src_refused)
	echo "   src_refused $before -> $after"
	[ "$after" -gt "$before" ] || fail "the server sent from the removed $sec without counting src_refused"
	n srv ip addr add "$sec/$plen" dev s0 "$@"
	check_kernel_picks_primary
	ping_ok cli 10.8.0.1 3
	reset_counters
	ping_ok cli 10.8.0.1 5
	only_from_secondary 5 "after $sec came back"
}

# disconnect: the client stops, and the server has let its session go (a
# new one would otherwise replace it, without a "connected" line).
disconnect() {
	local sfrom
	sfrom=$(log_lines server)
	stop_clean client-alice
	wait_for_log server 'user "alice" disconnected' 10 "$sfrom"
}

SRV_BIND=none
if [[ $PHASES == *1* ]]; then
	phase "1. IPv4" 0.0.0.0 "$SEC4:51820" $SEC4 5001
	address_goes_away $SEC4 24
	disconnect
fi
if [[ $PHASES == *2* ]]; then
	phase "2. IPv4 on the dual-stack socket" "::" "$SEC4:51820" $SEC4 5011
	disconnect
fi
if [[ $PHASES == *3* ]]; then
	phase "3. IPv6" "::" "[$SEC6]:51820" $SEC6 5021
	# nodad, and deprecated: the kernel would otherwise prefer it, the newest
	address_goes_away $SEC6 64 nodad preferred_lft 0
fi
pass
