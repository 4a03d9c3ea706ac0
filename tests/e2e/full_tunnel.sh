#!/usr/bin/env bash
# full_tunnel: the client routes everything (routes = ["0.0.0.0/0", "::/0"]).
#
#   ┌─ cli ───────────────┐    ┌─ rtr (its gateway) ───┐    ┌─ srv ────────────────────┐    ┌─ inet ──────────────┐
#   │ ll0 10.8.0.2/24     │    │                       │    │ ll0 10.8.0.1/24          │    │ routes back to the  │
#   │     fd00:8::2/64    │    │                       │    │     fd00:8::1/64         │    │ client's network,   │
#   │ c0 198.51.100.2/24  ├────┤ r0 198.51.100.1/24    │    │                          │    │ none to 10.8/fd00:8 │
#   │    2001:db8:c::2/64 │veth│    2001:db8:c::1/64   │    │                          │    │                     │
#   │ default via r0      │    │ r1 192.0.2.1/24       ├────┤ s0 192.0.2.2/24 endpoint │    │                     │
#   └─────────────────────┘    │    2001:db8:e::1/64   │veth│    2001:db8:e::2/64      │    │                     │
#                              │ LAN peer on r0:       │    │    + 192.0.2.3, e::3     │    │                     │
#                              │    198.51.100.3, c::3 │    │ s1 203.0.113.1/24 egress ├────┤ i0 203.0.113.2/24   │
#                              └───────────────────────┘    │    2001:db8:1::1/64  NAT │veth│    2001:db8:1::2/64 │
#                                                           └──────────────────────────┘    └─────────────────────┘
#
# The server's endpoint is reached through the client's default gateway, not
# a connected route: with the tunnel up, only the client's own UDP socket
# (SO_MARK 0x4c4c) may still use the main table's default route, and
# everything else must go into ll0. Without the tunnel the internet host is
# reachable in the clear too (rtr and srv forward, inet routes back to the
# client's network), so only the source address the internet host sees tells
# which way a packet went: 198.51.100.2 in the clear, the server's egress
# address through the tunnel (masquerade).
#
# Checks, each a hard failure:
#   1. the internet host is reached through the tunnel over IPv4 and IPv6
#      (ping, 20 MiB by TCP each way, sha256) and sees the server's egress
#      address as the source;
#   2. the tunnel's own UDP datagrams leave by c0 and never enter ll0
#      (ip route get with and without the mark, nft counters);
#   3. the default route is the tunnel: 192.0.2.3 / 2001:db8:e::3 (on the
#      server's physical link, not the endpoint) arrives at the server via
#      its ll0, not via s0; nothing but the tunnel's UDP and the client's own
#      LAN leaves c0; LAN peers (the connected prefix of c0) stay on c0, by
#      design (suppress_prefixlength 0, as wg-quick);
#   4. SIGTERM removes everything the client added: ip rules, routes in all
#      tables, the TUN device, nftables, net.* sysctls are byte-identical to
#      before it started;
#   5. the client survives a server restart: while the server is down its
#      handshakes leave by c0 (none enter ll0) and nothing leaks in the clear;
#      afterwards it reconnects and traffic resumes;
#   6. a client killed by SIGKILL leaves its rules, nftables table and
#      src_valid_mark = 1 behind (its TUN device, and the routes through it,
#      go); restarted (with an older version's stale rule added too) it
#      removes them first and ends with exactly one copy of each rule in
#      ip rule / ip -6 rule and one nftables table, traffic works through
#      the tunnel again, and on SIGTERM everything is as before it started
#      but src_valid_mark, which stays 1: the killed run alone knew it had
#      been 0 (network/route.h). Rules that are not the client's but share
#      its mark or wg-quick's shape are left alone throughout.
# And: dns = true with no resolvectl (no resolver manager) draws
# a clear warning, and the client keeps working.
#
# The client's ns uses strict reverse-path filtering (rp_filter = 1), as
# some distributions do: the server's answers arrive on c0 from an address
# whose unmarked route is ll0, so they pass only because the client's
# nftables table puts the tunnel's mark back on them (src_valid_mark = 1).
#
# "Everything" is what the main table sends by its default route: addresses
# inside c0's own prefix (the LAN peer) stay on c0 by design, as with
# wg-quick, and check 3 says so.
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB_SMALL:-20}
EP4=192.0.2.2
EP6=2001:db8:e::2
OTHER4=192.0.2.3
OTHER6=2001:db8:e::3
LAN4=198.51.100.3
LAN6=2001:db8:c::3
INET4=203.0.113.2
INET6=2001:db8:1::2
MARK=0x4c4c

say "topology"
ns_add cli
ns_add rtr
ns_add srv
ns_add inet
veth cli c0 rtr r0
veth rtr r1 srv s0
veth srv s1 inet i0
addr cli c0 198.51.100.2/24
addr cli c0 2001:db8:c::2/64
addr rtr r0 198.51.100.1/24
addr rtr r0 2001:db8:c::1/64
addr rtr r0 $LAN4/24
addr rtr r0 $LAN6/64
addr rtr r1 192.0.2.1/24
addr rtr r1 2001:db8:e::1/64
addr srv s0 $EP4/24
addr srv s0 $EP6/64
addr srv s0 $OTHER4/24
addr srv s0 $OTHER6/64
addr srv s1 203.0.113.1/24
addr srv s1 2001:db8:1::1/64
addr inet i0 $INET4/24
addr inet i0 $INET6/64
n cli ip route add default via 198.51.100.1
n cli ip -6 route add default via 2001:db8:c::1
enable_forwarding rtr
n rtr ip route add 203.0.113.0/24 via $EP4
n rtr ip -6 route add 2001:db8:1::/64 via $EP6
enable_forwarding srv
n srv ip route add default via 192.0.2.1
n srv ip -6 route add default via 2001:db8:e::1
n inet ip route add 198.51.100.0/24 via 203.0.113.1
n inet ip -6 route add 2001:db8:c::/64 via 2001:db8:1::1
n cli sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 \
	net.ipv4.conf.c0.rp_filter=1
if nq inet ip route get 10.8.0.2 >/dev/null 2>&1 || nq inet ip -6 route get fd00:8::2 >/dev/null 2>&1; then
	fail "the internet host has a route to the tunnel's addresses: the NAT check would prove nothing"
fi

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_EGRESS=s1
write_server_config
write_client_config alice $EP4:51820 '["0.0.0.0/0", "::/0"]'
# dns = true; the server pushes 10.8.0.1. The client runs in a mount
# namespace of its own where every place its DNS helper looks for
# resolvectl (src/network/dns.c: system directories, never $PATH) holds
# nothing executable: the same on every machine, and it can never talk to
# the host's systemd-resolved (which would take the namespace's interface
# index for one of the host's).
sed -i 's/^dns = false$/dns = true/' "$LL_TMP/alice.toml"
grep -q '^dns = true$' "$LL_TMP/alice.toml" || fail "could not set dns = true in alice.toml"

say "without the tunnel, the internet host is reachable in the clear"
ping_ok cli $INET4 3
ping_ok cli $INET6 3
make_data "$LL_TMP/small.bin" 1
transfer_check cli inet receiver $INET4 5000 "$LL_TMP/small.bin"
[ "$LL_XFER_PEER_IP" = 198.51.100.2 ] ||
	fail "without the tunnel the internet host saw $LL_XFER_PEER_IP, expected the client's 198.51.100.2"

# ---- snapshots of everything the client may change (check 4) ----


# ---- counters of where packets go (checks 2, 3, 5) ----
#
# A table of the test's own, added after the first snapshot and deleted
# before the second. In cli: the tunnel's datagrams by output device; any
# other packet leaving c0 that is not for the client's own LAN (a leak);
# packets for the internet host and OTHER by device. In srv: OTHER's
# packets by input device.
probe_rules() {
	cat <<-EOF
		table inet e2e_probe {
			counter udp_c0 {}
			counter udp_tun {}
			counter udp_c0_unmarked {}
			counter leak_c0 {}
			counter inet_tun {}
			counter other_tun {}
			counter lan_c0 {}
			chain out {
				type filter hook output priority 0; policy accept;
				oifname "c0" ip daddr $EP4 udp dport 51820 meta mark != $MARK counter name udp_c0_unmarked
				oifname "c0" ip daddr $EP4 udp dport 51820 counter name udp_c0 accept
				oifname "ll0" udp dport 51820 counter name udp_tun
				oifname "ll0" ip daddr $INET4 counter name inet_tun
				oifname "ll0" ip6 daddr $INET6 counter name inet_tun
				oifname "ll0" ip daddr $OTHER4 counter name other_tun
				oifname "ll0" ip6 daddr $OTHER6 counter name other_tun
				oifname "c0" ip daddr { $LAN4 } counter name lan_c0 accept
				oifname "c0" ip6 daddr { $LAN6 } counter name lan_c0 accept
				oifname "c0" ip daddr 198.51.100.0/24 accept
				oifname "c0" ip6 daddr { 2001:db8:c::/64, fe80::/10, ff02::/16 } accept
				oifname "c0" counter name leak_c0
			}
		}
	EOF
}
srv_probe_rules() {
	cat <<-EOF
		table inet e2e_probe {
			counter other_via_tun {}
			counter other_via_s0 {}
			chain in {
				type filter hook input priority 0; policy accept;
				iifname "ll0" ip daddr $OTHER4 counter name other_via_tun
				iifname "ll0" ip6 daddr $OTHER6 counter name other_via_tun
				iifname "s0" ip daddr $OTHER4 counter name other_via_s0
				iifname "s0" ip6 daddr $OTHER6 counter name other_via_s0
			}
		}
	EOF
}

# counter NS NAME [packets|bytes]: counted so far. (A packet here may be a
# GSO burst of many on the wire: volumes are checked in bytes.)
counter() {
	nq "$1" nft list counter inet e2e_probe "$2" | grep -Eo "${3:-packets} [0-9]+" | awk '{print $2}'
}

# show_counters NS NAME...: prints them on one line.
show_counters() {
	local ns=$1 c out=""
	shift
	for c in "$@"; do
		out+=" $c=$(counter "$ns" "$c")"
	done
	echo "   [$ns] counters:$out"
}

reset_counters() {
	nq "$1" nft reset counters table inet e2e_probe >/dev/null
}

# expect_zero NS NAME WHAT: the counter must be 0.
expect_zero() {
	local v
	v=$(counter "$1" "$2")
	[ "$v" = 0 ] || fail "$3 ($1 counter $2 = $v packets, must be 0)"
}

counter_ge() { [ "$(counter "$1" "$2")" -ge "$3" ]; }

# expect_ge NS NAME MIN WHAT
expect_ge() {
	local v
	v=$(counter "$1" "$2")
	[ "$v" -ge "$3" ] || fail "$4 ($1 counter $2 = $v packets, at least $3 expected)"
}

# route_dev NS ARGS...: the "dev X" of ip route get ARGS.
route_dev() {
	local ns=$1 out
	shift
	out=$(nq "$ns" ip route get "$@" 2>&1) || {
		echo "(no route: $out)"
		return 0
	}
	grep -m1 -Eo ' dev [^ ]+' <<<"$out" | awk '{print $2}'
}

# expect_route NS DEV ARGS... (e.g. expect_route cli ll0 203.0.113.2)
expect_route() {
	local ns=$1 want=$2 got
	shift 2
	n "$ns" ip route get "$@" || true
	got=$(route_dev "$ns" "$@")
	[ "$got" = "$want" ] || fail "ip route get $* in $ns goes by '$got', expected $want"
}

ns_snapshot cli >"$LL_TMP/before.txt"

say "server, and the client in full-tunnel mode"
start_server
nq srv nft -f - <<<"$(srv_probe_rules)"
n srv nft list table inet e2e_probe >/dev/null
nq cli nft -f - <<<"$(probe_rules)"
n cli nft list table inet e2e_probe >/dev/null

NO_RESOLVECTL="/usr/bin/resolvectl /bin/resolvectl /usr/sbin/resolvectl /sbin/resolvectl"
start_full_client() {
	local from=0
	[ -f "$LL_TMP/client-alice.log" ] && from=$(wc -l <"$LL_TMP/client-alice.log")
	spawn client-alice cli unshare -m sh -c "for p in $NO_RESOLVECTL; do [ -e \$p ] && mount --bind /dev/null \$p; done; exec $LL_CLIENT -c $LL_TMP/alice.toml"
	wait_for_log client-alice '^lostlove-client: connected: ' 30 "$from"
}
start_full_client
n cli ip addr show dev ll0
n cli ip rule
n cli ip -6 rule
n cli ip route show table $((MARK))
n cli ip -6 route show table $((MARK))
n cli nft list table inet lostlove_client

say "DNS without a resolver manager: a clear warning, and the client goes on"
dns_warning='^lostlove-client: warning: .*DNS.*not applied.*resolvectl'
try_until 5 log_has "$(log_of client-alice)" "$dns_warning" ||
	fail "no warning that the pushed DNS servers were not applied; client log:
$(cat "$(log_of client-alice)")"
grep -E "$dns_warning" "$(log_of client-alice)"
grep -q '10\.8\.0\.1' <<<"$(grep -E "$dns_warning" "$(log_of client-alice)")" ||
	fail "the DNS warning does not name the pushed server 10.8.0.1"

say "check 2: routing of the tunnel's own datagrams"
expect_route cli c0 $EP4 mark $MARK
expect_route cli c0 $EP6 mark $MARK
# Without the mark, even the endpoint's address goes into the tunnel: only
# the client's marked socket bypasses it.
expect_route cli ll0 $EP4
expect_route cli ll0 $EP6

say "check 1: the internet host through the tunnel, IPv4 and IPv6, behind NAT"
expect_route cli ll0 $INET4
expect_route cli ll0 $INET6
reset_counters cli
ping_ok cli 10.8.0.1 3
ping_ok cli fd00:8::1 3
ping_ok cli $INET4
ping_ok cli $INET6
expect_ge cli inet_tun 10 "pings to the internet host did not go into ll0"
make_data "$LL_TMP/data.bin" "$MB"
transfer_check cli inet receiver $INET4 5001 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "internet host saw the IPv4 upload from $LL_XFER_PEER_IP, not the server's egress 203.0.113.1"
transfer_check inet cli sender $INET4 5002 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "internet host saw the IPv4 download request from $LL_XFER_PEER_IP, not 203.0.113.1"
transfer_check cli inet receiver $INET6 5003 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 2001:db8:1::1 ] ||
	fail "internet host saw the IPv6 upload from $LL_XFER_PEER_IP, not the server's egress 2001:db8:1::1"
transfer_check inet cli sender $INET6 5004 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 2001:db8:1::1 ] ||
	fail "internet host saw the IPv6 download request from $LL_XFER_PEER_IP, not 2001:db8:1::1"
show_counters cli udp_c0 udp_c0_unmarked udp_tun leak_c0 inet_tun

say "check 2: the tunnel's datagrams left by c0, marked, and none entered ll0"
# Two uploads of MB MiB each: at least that much UDP to the endpoint.
v=$(counter cli udp_c0 bytes)
[ "$v" -ge $((2 * MB * 1048576)) ] ||
	fail "the uploads did not leave c0 as the tunnel's datagrams to $EP4:51820 (cli counter udp_c0: $v bytes, at least $((2 * MB)) MiB expected)"
echo "   $((v / 1048576)) MiB of the tunnel's datagrams left by c0"
expect_zero cli udp_c0_unmarked "datagrams to the endpoint left c0 without the mark $MARK"
expect_zero cli udp_tun "UDP to port 51820 was routed into ll0 (the tunnel would loop)"
expect_zero cli leak_c0 "packets other than the tunnel's and the LAN's left c0 in the clear"

say "check 3: the default route is the tunnel"
expect_route cli ll0 $OTHER4
expect_route cli ll0 $OTHER6
reset_counters cli
reset_counters srv
ping_ok cli $OTHER4 5
ping_ok cli $OTHER6 5
show_counters cli other_tun leak_c0
show_counters srv other_via_tun other_via_s0
expect_ge cli other_tun 10 "pings to $OTHER4/$OTHER6 did not go into ll0"
expect_ge srv other_via_tun 10 "pings to $OTHER4/$OTHER6 did not reach the server through its ll0"
expect_zero srv other_via_s0 "pings to $OTHER4/$OTHER6 reached the server in the clear on s0"
expect_zero cli leak_c0 "pings to $OTHER4/$OTHER6 left c0 in the clear"
# The client's own LAN (the connected prefix of c0) stays reachable directly,
# as wg-quick does it: the main table's specific routes are kept.
expect_route cli c0 $LAN4
expect_route cli c0 $LAN6
ping_ok cli $LAN4 3
ping_ok cli $LAN6 3
expect_ge cli lan_c0 6 "pings to the LAN peer $LAN4/$LAN6 did not leave by c0"

say "check 5: server restart; the client reconnects, nothing leaks meanwhile"
from=$(log_lines client-alice)
stop_clean server
reset_counters cli
# While the server is down: handshakes must leave by c0 (at least two,
# i.e. a resend), none may enter ll0, and traffic must not go out in the clear.
wait_for_log client-alice '^lostlove-client: reconnecting in ' 10 "$from"
ping_fails cli $INET4
wait_until 30 counter_ge cli udp_c0 2
show_counters cli udp_c0 udp_c0_unmarked udp_tun leak_c0
expect_zero cli udp_tun "while the server was down, handshakes were routed into ll0"
expect_zero cli udp_c0_unmarked "while the server was down, handshakes left c0 without the mark"
expect_zero cli leak_c0 "while the server was down, packets left c0 in the clear"
n cli ip rule
rules=$(nq cli ip rule) # (not piped into grep -q: pipefail and SIGPIPE)
grep -q "not from all fwmark $MARK lookup $((MARK))" <<<"$rules" ||
	fail "the full-tunnel rule disappeared while the server was down"
start_server
wait_for_log client-alice '^lostlove-client: connected: ' 60 "$from"
ping_ok cli $INET4
ping_ok cli $INET6
transfer_check cli inet receiver $INET4 5005 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "after the restart the internet host saw $LL_XFER_PEER_IP, not 203.0.113.1"
show_counters cli udp_c0 udp_c0_unmarked udp_tun leak_c0
expect_zero cli udp_tun "after the restart, UDP to port 51820 was routed into ll0"
expect_zero cli leak_c0 "after the restart, packets left c0 in the clear"

say "check 4: SIGTERM removes everything the client added"
stop_clean client-alice
n cli nft delete table inet e2e_probe
ns_snapshot cli >"$LL_TMP/after.txt"
if ! diff -u "$LL_TMP/before.txt" "$LL_TMP/after.txt" >"$LL_TMP/state.diff"; then
	fail "the client left changes behind in its namespace (- before start, + after stop):
$(cat "$LL_TMP/state.diff")"
fi
echo "   ip rule, ip -6 rule, routes of all tables, links, addresses, nft ruleset and net.* sysctls: identical"
grep -c . "$LL_TMP/before.txt" | xargs printf '   (%s lines compared)\n'

say "check 6: SIGKILL, then a restart: one copy of each rule, and a clean exit"
# Our rules, as ip rule prints them (route.h: ROUTE_PRIO_SUPPRESS, _TUNNEL).
OUR_SUPPRESS="^32760:[[:space:]]+not from all fwmark $MARK lookup main suppress_prefixlength 0\$"
OUR_TUNNEL="^32761:[[:space:]]+not from all fwmark $MARK lookup $((MARK))\$"
OURS="(fwmark $MARK lookup main suppress_prefixlength 0|lookup $((MARK)))\$"
# rule_count -4|-6 REGEX: how many rules match.
rule_count() {
	local out
	out=$(nq cli ip "$1" rule)
	grep -Ec -- "$2" <<<"$out" || true
}
# expect_one_copy WHEN: each of our rules exactly once per family, at its
# priority, and every other rule as it was before the client started.
expect_one_copy() {
	local fam out
	for fam in -4 -6; do
		n cli ip "$fam" rule
		[ "$(rule_count "$fam" "$OUR_SUPPRESS")" = 1 ] && [ "$(rule_count "$fam" "$OUR_TUNNEL")" = 1 ] &&
			[ "$(rule_count "$fam" "$OURS")" = 2 ] ||
			fail "$1: ip $fam rule does not hold exactly one copy of each of the client's rules"
		out=$(nq cli ip "$fam" rule)
		[ "$(grep -Ev -- "$OURS" <<<"$out")" = "${rules_before[$fam]}" ] ||
			fail "$1: ip $fam rule changed other rules; before the client:
${rules_before[$fam]}
now:
$out"
	done
}
# Rules that are not the client's, though they share its mark or the shape
# of wg-quick's: no sweep may touch them.
n cli ip -4 rule add fwmark $MARK lookup main pref 100
n cli ip -6 rule add fwmark $MARK lookup main pref 100
n cli ip -4 rule add table main suppress_prefixlength 0 pref 32764
n cli ip -6 rule add table main suppress_prefixlength 0 pref 32764
declare -A rules_before=([-4]="$(nq cli ip -4 rule)" [-6]="$(nq cli ip -6 rule)")
ns_snapshot cli >"$LL_TMP/before6.txt"
start_full_client
expect_one_copy "first start"
nft_first=$(nq cli nft list table inet lostlove_client)
ping_ok cli $INET4 3
[ "$(nq cli sysctl -n net.ipv4.conf.all.src_valid_mark)" = 1 ] ||
	fail "the full-tunnel client did not set net.ipv4.conf.all.src_valid_mark = 1"

stop client-alice KILL
[ "$LL_STATUS" = 137 ] || fail "the client was not killed by SIGKILL (status $LL_STATUS)"
# What a crash leaves: the TUN device goes with the process, and every
# route through it; the rules, the nftables table and src_valid_mark stay.
for fam in -4 -6; do
	n cli ip "$fam" rule
	[ "$(rule_count "$fam" "$OURS")" = 2 ] ||
		fail "after SIGKILL the client's ip $fam rules are gone: this check would prove nothing"
done
n cli nft list tables
[ "$(nq cli ip route show table $((MARK)))" = "" ] && [ "$(nq cli ip -6 route show table $((MARK)))" = "" ] ||
	fail "a route in table $((MARK)) outlived the killed client's TUN device"
# And a copy of the tunnel rule the way an older version added it (no
# priority given: the kernel's 32765).
n cli ip -4 rule add not fwmark $MARK table $((MARK)) pref 32765
n cli ip -6 rule add not fwmark $MARK table $((MARK)) pref 32765

from=$(log_lines client-alice)
start_full_client
log_has "$(log_of client-alice)" '^lostlove-client: removed 6 rule\(s\)/route\(s\) left by an earlier run' "$from" ||
	fail "the restarted client did not report removing the 6 rules left behind; its log:
$(tail -n +$((from + 1)) "$(log_of client-alice)")"
expect_one_copy "restart after SIGKILL"
n cli ip route show table $((MARK))
n cli ip -6 route show table $((MARK))
[ "$(nq cli ip route show table $((MARK)))" = "default dev ll0 scope link " ] ||
	fail "table $((MARK)) does not hold exactly the default route through ll0"
tables=$(nq cli nft list tables)
[ "$(grep -cx "table inet lostlove_client" <<<"$tables")" = 1 ] ||
	fail "not exactly one nftables table inet lostlove_client after the restart: $tables"
[ "$(nq cli nft list table inet lostlove_client)" = "$nft_first" ] ||
	fail "the restarted client's nftables table differs from the first run's"
ping_ok cli $INET4 3
ping_ok cli $INET6 3
transfer_check cli inet receiver $INET4 5006 "$LL_TMP/small.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "after the crash and restart the internet host saw $LL_XFER_PEER_IP, not 203.0.113.1"
transfer_check cli inet receiver $INET6 5007 "$LL_TMP/small.bin"
[ "$LL_XFER_PEER_IP" = 2001:db8:1::1 ] ||
	fail "after the crash and restart the internet host saw $LL_XFER_PEER_IP, not 2001:db8:1::1"

stop_clean client-alice
ns_snapshot cli >"$LL_TMP/after6.txt"
# The one thing a crash cannot give back: whether src_valid_mark was 0
# before the killed run set it. The restarted client found 1, cannot tell
# ours from an administrator's, and leaves it (network/route.h).
svm='^net\.ipv4\.conf\.all\.src_valid_mark = '
grep -qx 'net.ipv4.conf.all.src_valid_mark = 0' "$LL_TMP/before6.txt" ||
	fail "src_valid_mark was not 0 before the first start: the exception below would be wrong"
grep -qx 'net.ipv4.conf.all.src_valid_mark = 1' "$LL_TMP/after6.txt" ||
	fail "src_valid_mark is not the 1 the crashed run left: $(grep -E "$svm" "$LL_TMP/after6.txt")"
if ! diff -u <(grep -Ev "$svm" "$LL_TMP/before6.txt") <(grep -Ev "$svm" "$LL_TMP/after6.txt") \
	>"$LL_TMP/state6.diff"; then
	fail "after a crash, a restart and SIGTERM the client left changes behind (- before, + after):
$(cat "$LL_TMP/state6.diff")"
fi
echo "   after SIGKILL + restart + SIGTERM: all identical but src_valid_mark (0 -> 1, as documented)"
pass
