#!/usr/bin/env bash
# tunnel_loop: an authenticated client sends its own packets back through
# the tunnel to the server's UDP port (the review's routing loop). A fresh
# transport packet, or message 1, that the server has never seen is held
# back by the relay and sent inside alice's tunnel, to the server's tunnel
# address and to its outer address. Had the server authenticated it, alice's
# endpoint would move to 10.8.0.2 (her own tunnel address): every packet for
# her would then be sealed, routed into the TUN device, read back and sealed
# again, forever, at 100 % of a core. The server must refuse such datagrams
# (counted as "tunnelled"), keep alice's endpoint, send no flood, and bob's
# ping must not notice. Run with the nftables firewall off (the data path
# must hold alone), then on (its input chain is the second wall), and with
# the server bound to 0.0.0.0 and to its outer address.
#
#   ┌──── cli ─────────────────────────────────────┐      ┌──── srv ───────────────┐
#   │ lostlove-client ──> 127.0.0.1:51821 relay ───┼──────┤ s0 198.51.100.1/24     │
#   │ ll0 10.8.0.2/24     (holds back one datagram │ veth │    server :51820       │
#   │ relay --replay --device ll0 (into the tunnel)│      │ ll0 10.8.0.1/24        │
#   │ c0 198.51.100.2/24                           │      │ s2 192.0.2.1/24        │
#   └──────────────────────────────────────────────┘      └──────────┬─────────────┘
#                                       ┌──── cl2 ────────────┐ veth │
#                                       │ bob: ll0 10.8.0.3   ├──────┘
#                                       │ a0 192.0.2.2/24     │
#                                       └─────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

one_link
ns_add cl2
veth srv s2 cl2 a0
addr srv s2 192.0.2.1/24
addr cl2 a0 192.0.2.2/24
mkdir "$LL_TMP/stolen"

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
n cl2 ip route add 198.51.100.0/24 via 192.0.2.1

# counter NAME: the server's counter NAME (a drop reason, or "tx") now.
counter() {
	local v
	server_stats >/dev/null
	case $1 in
	tx) v=$(sed -E 's/.* tx ([0-9]+) pkt.*/\1/' <<<"$LL_STATS") ;;
	*) v=$(grep -oE " $1=[0-9]+" <<<"$LL_STATS" | cut -d= -f2 || true) ;;
	esac
	echo "${v:-0}"
}

roams() { server_stats >/dev/null; sed -E 's/.* roams ([0-9]+)[ ;].*/\1/' <<<"$LL_STATS"; }

# steal SIGNAL WHAT: arms the relay (HUP: transport, WINCH: message 1),
# makes alice send one, and sets STOLEN to the file.
steal() {
	local from n
	from=$(log_lines relay)
	pretty + kill "-$1" relay "(hold back the next $2)"
	kill "-$1" "$(pid_of relay)"
	wait_for_log relay 'stealing the next' 5 "$from"
	if [ "$1" = HUP ]; then
		nq cli ping -c 1 -W 1 10.8.0.1 >/dev/null 2>&1 || true # this one is held back
	else
		pretty + kill -USR2 client-alice "(a new handshake now)"
		kill -USR2 "$(pid_of client-alice)"
	fi
	wait_for_log relay 'relay: stole ' 10 "$from"
	n=$(ls "$LL_TMP/stolen" | wc -l)
	STOLEN="$LL_TMP/stolen/stolen-$n.bin"
	echo "held back $(stat -c %s "$STOLEN") bytes: never seen by the server"
}

# inject DST [DEVICE]: sends STOLEN from inside alice's tunnel to DST:51820;
# nothing may come back.
inject() {
	local dst=$1 out args=()
	[ -n "${2:-}" ] && args=(--device "$2")
	pretty cli "$LL_RELAY" --replay "$STOLEN" --to "$dst:51820" "${args[@]}" --wait-ms 1500
	out=$(nq cli "$LL_RELAY" --replay "$STOLEN" --to "$dst:51820" "${args[@]}" --wait-ms 1500)
	echo "$out"
	[[ $out == *"from 10.8.0.2:"* ]] || fail "the injected datagram did not leave from alice's tunnel address: $out"
	[[ $out == *"replies 0" ]] || fail "the server answered a datagram that came through the tunnel: $out"
	INJECTED=$((INJECTED + 1))
}

# no_loop FIREWALL: alice keeps her endpoint (her ping works), the server
# sent no flood, and every datagram injected was refused: counted by the
# data path (firewall none), or by the firewall's wall.
no_loop() {
	local tx1 tun1 fw_drops
	say "no loop: alice keeps her endpoint, the server sends no flood"
	# a looping server sends ~100,000 datagrams a second; alice's own
	# traffic here is a few pings and keepalives
	ping_ok cli 10.8.0.1 5
	tx1=$(counter tx)
	tun1=$(counter tunnelled)
	echo "server datagrams sent so far: $((tx1 - tx0)); dropped as tunnelled: $((tun1 - tun0))"
	[ $((tx1 - tx0)) -lt 500 ] ||
		fail "the server sent $((tx1 - tx0)) datagrams since the injection: a loop"
	[ "$(roams)" = "$roams0" ] || fail "a session's endpoint moved during the injection"
	if [ "$1" = none ]; then
		[ $((tun1 - tun0)) -ge "$INJECTED" ] ||
			fail "the data path counted $((tun1 - tun0)) tunnelled datagrams (want $INJECTED)"
		return
	fi
	fw_drops=$(nq srv nft list chain inet lostlove input |
		grep -E 'udp dport 51820 counter packets [1-9]' || true)
	[ -n "$fw_drops" ] || fail "the firewall's loop wall counted nothing:
$(nq srv nft list chain inet lostlove input)"
	echo "firewall: $fw_drops"
}

# oversized: a datagram with alice's real header (receiver index) and 3000
# bytes of garbage, from outside the tunnel: longer than the MTU allows,
# it must be dropped before her session's lock and the AEAD ("oversized"),
# not tried ("auth").
oversized() {
	local big="$LL_TMP/oversized.bin" o0 a0 o1 a1 out
	head -c 16 "$STOLEN" >"$big"
	head -c 3000 /dev/urandom >>"$big"
	o0=$(counter oversized) a0=$(counter auth)
	out=$(nq cli "$LL_RELAY" --replay "$big" --to 198.51.100.1:51820 --wait-ms 500)
	echo "$out"
	o1=$(counter oversized) a1=$(counter auth)
	[ $((o1 - o0)) = 1 ] && [ "$a1" = "$a0" ] ||
		fail "a 3016-byte datagram for alice's session: oversized +$((o1 - o0)), auth +$((a1 - a0))" \
			"(want +1, +0: dropped by length before decryption)"
	echo "dropped by its length, before decryption"
}

# attack BIND FIREWALL: one server configuration, every injection.
attack() {
	local sent got
	say "server bound to $1, firewall $2"
	SRV_BIND=$1 SRV_FIREWALL=$2
	tx0=0 tun0=0 roams0=0 INJECTED=0
	write_server_config
	write_client_config alice 127.0.0.1:51821 '[]'
	write_client_config bob 198.51.100.1:51820 '[]'
	start_server
	spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
		--steal "$LL_TMP/stolen"
	wait_for_log relay '^relay: ready' 5
	start_client alice cli
	start_client bob cl2
	ping_ok cli 10.8.0.1
	ping_ok cl2 10.8.0.1
	spawn ping-bob cl2 ping -i 0.05 -w 120 10.8.0.1

	tx0=$(counter tx)
	tun0=$(counter tunnelled)
	roams0=$(roams)
	steal HUP "transport packet"
	# to the tunnel address only when the socket listens there (wildcard)
	[ "$1" = 0.0.0.0 ] && inject 10.8.0.1
	inject 198.51.100.1 ll0
	no_loop "$2"
	[ "$2" = none ] && oversized
	steal WINCH "message 1"
	[ "$1" = 0.0.0.0 ] && inject 10.8.0.1
	inject 198.51.100.1 ll0
	no_loop "$2"

	say "bob's ping was not disturbed"
	stop ping-bob INT
	read -r sent got < <(grep -E 'packets transmitted' "$(log_of ping-bob)" | awk '{print $1, $4}')
	echo "bob: $got of $sent answered"
	[ "$sent" -gt 0 ] && [ $((sent - got)) -le 1 ] || fail "bob lost $((sent - got)) of $sent pings"
	stop_clean client-alice
	stop_clean client-bob
	stop_clean relay
	stop_clean server
	rm -f "$LL_TMP/stolen"/*
}

attack 0.0.0.0 none
attack 198.51.100.1 none
attack 0.0.0.0 nftables
pass
