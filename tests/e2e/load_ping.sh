#!/usr/bin/env bash
# load_ping: no loss inside the tunnel under a saturating TCP stream
# (docs/performance.md, "Loss inside the tunnel and the fair queue").
# One iperf3 TCP stream through the tunnel to a host behind the server,
# each way in turn, with a ping every 10 ms beside it:
#   - fewer than 1 % of the pings are lost (the unfixed tunnel lost 1.6 %:
#     the TUN device's 500-packet ring overflowed at the sending end);
#   - the sending end's TUN device dropped nothing (tx_dropped 0 in the
#     daemon's "queues:" statistics; it dropped ~500 a second before);
#   - both daemons report their queues (txqueuelen, drops, socket buffers),
#     the server its fair queue too (backlog, ECN marks, fq drops by name).
# Loss is a fact, not a speed: no throughput or RTT is asserted here
# (bench/tunnel.sh measures those).
#
#   cli ── c0/s0 ── srv (lostlove-server, forwarding) ── s1/i0 ── inet (iperf3 -s)
source "$(dirname "$0")/lib.sh" "$@"

command -v iperf3 >/dev/null || fail "iperf3 is needed (scripts/install-deps.sh)"

FAR=203.0.113.2
PINGS=500 # 5 s at 10 ms, inside the 6 s stream

behind_server
enable_forwarding srv
n inet ip route add 10.0.0.0/8 via 203.0.113.1
spawn iperf inet iperf3 -s -B "$FAR" -p 5201
wait_until 5 tcp_listening inet 5201

say "daemons"
add_user alice 10.8.0.2 fd00:8::2
SRV_FIREWALL=none
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]'
start_server
start_client alice cli
try_until 10 nq cli ping -c 1 -W 1 "$FAR" || fail "no reply through the tunnel in $LL_WAITED s"

# client_queues: asks the client for its counters (SIGUSR1) and prints its
# "queues:" line (LL_CQ).
client_queues() {
	local from
	from=$(log_lines client-alice)
	kill -USR1 "$(pid_of client-alice)"
	try_until 5 log_has "$(log_of client-alice)" 'queues: ' "$from" ||
		fail "the client logged no 'queues:' line after SIGUSR1"
	LL_CQ=$(tail -n +$((from + 1)) "$(log_of client-alice)" | grep -m1 'queues: ')
	echo "$LL_CQ"
}

# field LINE NAME: the number after "NAME " in LINE ("tx_dropped 12" -> 12).
field() { grep -oE "$2 [0-9]+" <<<"$1" | head -n1 | cut -d' ' -f2; }

# under_load DIR: a 6 s TCP stream (DIR up: the client sends; down: -R)
# with PINGS pings beside it; checks the ping loss and the sender's TUN drops.
under_load() {
	local dir=$1 args=() out received lost before after who
	[ "$dir" = down ] && args=(-R)
	server_stats >/dev/null
	client_queues >/dev/null
	if [ "$dir" = up ]; then
		who=client before=$(field "$LL_CQ" tx_dropped)
	else
		who=server before=$(field "$LL_STATS" tx_dropped)
	fi
	say "TCP $dir for 6 s, a ping every 10 ms beside it"
	pretty cli iperf3 -c "$FAR" -t 6 "${args[@]}" "&"
	nq cli iperf3 -c "$FAR" -t 6 "${args[@]}" >"$LL_TMP/iperf-$dir.txt" 2>&1 &
	local ip=$!
	sleep_until_stream "$dir"
	pretty cli ping -q -i 0.01 -c "$PINGS" -W 2 "$FAR"
	out=$(nq cli ping -q -i 0.01 -c "$PINGS" -W 2 "$FAR" 2>&1 || true)
	echo "$out" | grep -E 'transmitted|rtt'
	wait "$ip" || fail "iperf3 $dir failed: $(tail -n 3 "$LL_TMP/iperf-$dir.txt")"
	grep -E 'sender|receiver' "$LL_TMP/iperf-$dir.txt" || true
	received=$(grep -oE '[0-9]+ received' <<<"$out" | cut -d' ' -f1)
	lost=$((PINGS - ${received:-0}))
	# < 1 %: at most 4 of 500
	[ "$lost" -lt $((PINGS / 100)) ] ||
		fail "TCP $dir: $lost of $PINGS pings lost (limit: under 1 %)"
	server_stats
	client_queues
	if [ "$who" = client ]; then after=$(field "$LL_CQ" tx_dropped); else after=$(field "$LL_STATS" tx_dropped); fi
	[ -n "$after" ] || fail "no tx_dropped in the $who's queues"
	[ "$after" -eq "$before" ] ||
		fail "TCP $dir: the $who's TUN device dropped $((after - before)) packets (its ring overflowed)"
	echo "TCP $dir: $lost of $PINGS pings lost, the $who's TUN device dropped nothing"
}

# sleep_until_stream DIR: iperf3's stream is up (its connection is in the
# server namespace's conntrack-free path: wait for bytes on the TUN device).
sleep_until_stream() {
	local f=/sys/class/net/ll0/statistics/rx_bytes b0
	[ "$1" = up ] && f=/sys/class/net/ll0/statistics/tx_bytes
	b0=$(nq cli cat "$f")
	wait_until 5 bash -c "[ \$(ip netns exec $LL_PREFIX""cli cat $f) -gt $((b0 + 1000000)) ]"
}

under_load up
under_load down

say "the statistics name the queues"
grep -qE 'fair queue backlog [0-9]+ ecn_marked [0-9]+ \(drops fq_overlimit=[0-9]+ fq_codel=[0-9]+\)' <<<"$LL_STATS" ||
	fail "no fair queue in the server's stats: $LL_STATS"
for line in "$LL_STATS" "$LL_CQ"; do
	[ "$(field "$line" txqueuelen)" = 8192 ] || fail "txqueuelen is not 8192 in: $line"
	grep -qE 'udp rcvbuf [0-9]+ sndbuf [0-9]+ drops [0-9]+' <<<"$line" ||
		fail "no socket buffers in: $line"
done

stop_clean client-alice
stop_clean server
check_sanitizers
pass
