#!/usr/bin/env bash
# stealth_silence: a stealth server (standard) answers nothing it cannot
# authenticate. From an attacker's link: 100,000 random, truncated,
# oversized, bit-flipped and replayed datagrams (the replays and flips made
# from alice's genuine message 1, recorded by the relay); replays of that
# message 1 at 0.3 s, 1 s, 5 s, 20 s and 60 s from 5 source addresses, and after
# a server restart. Every attack must get 0 bytes back (udpjunk's and the
# relay's reply counts, and a capture of the attacker's link), create no
# session, and be counted; alice stays connected throughout. A client
# whose stealth_mode is off gets no answer either, and says what to check.
#
#   ┌──── cli ─────────────────────────┐      ┌──── srv ───────────────┐
#   │ client -> 127.0.0.1:51821 relay ─┼──────┤ s0 198.51.100.1 :51820 │
#   │ (records message 1)  c0 .2       │ veth │                        │
#   └──────────────────────────────────┘      │ s2 192.0.2.1           │
#   ┌──── atk ─────────────────────────┐      │                        │
#   │ a0 192.0.2.2 ... 192.0.2.6       ├──────┤                        │
#   │ udpjunk, relay --replay, bob     │ veth └────────────────────────┘
#   └──────────────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

one_link
ns_add atk
veth srv s2 atk a0
addr srv s2 192.0.2.1/24
for i in 2 3 4 5 6; do addr atk a0 192.0.2.$i/24; done

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
SRV_HS_PER_IP=20
SRV_EXTRA='[obfuscation]
enabled = true
stealth_mode = "standard"'
write_server_config
write_client_config alice 127.0.0.1:51821 '[]' '
[obfuscation]
stealth_mode = "standard"'
write_client_config bob 192.0.2.1:51820 '[]' '
[obfuscation]
stealth_mode = "off"'

say "capture on the attacker's link"
command -v tcpdump >/dev/null || fail "tcpdump is missing (scripts/install-deps.sh installs it)"
n srv ip link set dev s2 gso_max_segs 1
spawn tcpdump srv tcpdump -i s2 -U -n -w "$LL_TMP/atk.pcap" udp
wait_for_log tcpdump 'listening on' 10

say "server, relay (recording alice's first datagram), client"
start_server
mkdir -p "$LL_TMP/rec"
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--from 198.51.100.2 --record "$LL_TMP/rec" --record-count 1
wait_for_log relay '^relay: ready' 5
MSG1="$LL_TMP/rec/c2s-0001.bin"
# replays of the genuine message 1, 0.3 s, 1 s, 5 s, 20 s and 60 s after
# it was recorded (the GFW's first replays: > 20 % within 1 s, > 50 %
# within a minute), each from another address
spawn replays atk bash -c '
	while [ ! -s "$1" ]; do sleep 0.01; done
	t0=$(date +%s.%N); i=2
	for at in 0.3 1 5 20 60; do
		sleep "$(echo "$t0 + $at - $(date +%s.%N)" | bc -l | sed "s/^-.*/0/")"
		"$2" --replay "$1" --to 192.0.2.1:51820 --from 192.0.2.$i --wait-ms 500
		i=$((i + 1))
	done
	echo replays done' _ "$MSG1" "$LL_RELAY"
start_client alice cli
ping_ok cli 10.8.0.1
spawn ping-during cli ping -i 0.2 10.8.0.1
spawn client-bob atk "$LL_CLIENT" -c "$LL_TMP/bob.toml"
server_stats
hs_before=$(sed -n 's/.*handshakes ok \([0-9]*\).*/\1/p' <<<"$LL_STATS")

say "100,000 hostile datagrams from 5 addresses: none answered"
junk() {
	local out
	out=$(nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --spoof "192.0.2.$1" --rate 20000 \
		--wait-ms 300 --max-seconds 60 "${@:2}")
	echo "$out"
	[[ $out =~ replies=0\  ]] || fail "the server answered: $out"
}
junk 2 --mode random --count 40000 --seed 1
junk 3 --mode truncated --count 20000 --seed 2
junk 4 --mode oversized --count 2000 --seed 3
junk 5 --mode flip --file "$MSG1" --count 30000 --seed 4
for i in 2 3 4 5 6; do
	junk "$i" --mode replay --file "$MSG1" --count 1600 --seed "$i"
done

say "the timed replays, and bob (stealth_mode off): no answer"
wait_for_log replays 'replays done' 75
grep '^replay:' "$(log_of replays)"
[ "$(grep -c '^replay: .* replies 0' "$(log_of replays)")" -eq 5 ] ||
	fail "a timed replay of message 1 was answered: $(grep '^replay:' "$(log_of replays)")"
wait_for_log client-bob 'no answer: check stealth_mode matches the server' 30
log_has "$(log_of client-bob)" 'connected: ' && fail "bob (stealth_mode off) connected"

say "alice stayed connected; nothing created a session; the drops are counted"
ping_ok cli 10.8.0.1
stop ping-during INT
stats=$(grep -E 'packets transmitted' "$(log_of ping-during)")
echo "alice's ping during the attacks: $stats"
tx=$(awk '{print $1}' <<<"$stats")
rx=$(awk '{print $4}' <<<"$stats")
[ -n "$tx" ] && [ "$tx" -gt 0 ] || fail "the background ping reported nothing"
[ $((rx * 100)) -ge $((tx * 95)) ] || fail "alice lost $((tx - rx)) of $tx pings during the attacks"
server_stats
[[ $LL_STATS =~ sessions\ 1, ]] || fail "an attack created a session: $LL_STATS"
[ "$(sed -n 's/.*handshakes ok \([0-9]*\).*/\1/p' <<<"$LL_STATS")" = "$hs_before" ] ||
	fail "a handshake succeeded during the attack: $LL_STATS"
[[ $LL_STATS =~ stealth_undecodable=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 50000 ] ||
	fail "the hostile datagrams were not counted as stealth_undecodable: $LL_STATS"

say "after a server restart, the replay still gets nothing"
stop_clean client-bob
stop_clean client-alice
stop_clean server
start_server
out=$(nq atk "$LL_RELAY" --replay "$MSG1" --to 192.0.2.1:51820 --from 192.0.2.6 --wait-ms 1000)
echo "$out"
[[ $out =~ replies\ 0 ]] || fail "the restarted server answered a replayed message 1: $out"
server_stats
[[ $LL_STATS =~ sessions\ 0, ]] || fail "the replay created a session: $LL_STATS"

say "the capture: not one datagram from the server to the attacker"
stop tcpdump INT
n=$(tcpdump -n -r "$LL_TMP/atk.pcap" 'src host 192.0.2.1 and udp' 2>/dev/null | wc -l)
echo "datagrams from the server on the attacker's link: $n"
[ "$n" -eq 0 ] || fail "the server sent $n datagrams to the attacker"
pass
