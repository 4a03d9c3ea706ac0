#!/usr/bin/env bash
# many_sessions: the short CI version of bench/sessions.sh. 200 sessions of
# bench-loadgen (real hybrid handshakes, each from its own port, 16 source
# addresses) on the real server:
#   - every handshake completes and every session pings through its tunnel
#     (both directions, each session's own keys);
#   - one address handshaking at ten times the per-IP limit is limited
#     (counted by the server) but not locked out;
#   - a flood of bogus initiations (valid mac1, unknown keys) and junk
#     beside the 200 sessions: legitimate rekeys meanwhile all complete, and
#     afterwards every session still pings.
# No speed is asserted; the one bound (completions from the limited address)
# is the limiter's budget over the measured sending time.
source "$(dirname "$0")/lib.sh" "$@"

N=200
A=16
HS_PER_IP=20
LG=$LL_BUILD_DIR/bench/bench-loadgen
UDPJUNK=$LL_UDPJUNK
[ -x "$LG" ] || fail "no $LG (bench/meson.build builds it)"

say "topology: lg ($A source addresses) - srv"
ns_add lg
ns_add srv
veth lg l0 srv s0
addr srv s0 198.18.0.1/15
addr lg l0 198.18.0.2/15
for ((k = 0; k < A; k++)); do
	echo "address add 198.18.1.$k/15 dev l0"
done >"$LL_TMP/addrs.batch"
n lg ip -batch "$LL_TMP/addrs.batch"

SRV_ADDR4=10.8.0.1/16
SRV_IPV6=false
SRV_FIREWALL=none
SRV_MAXCONN=$N
SRV_HS_PER_IP=$HS_PER_IP
write_server_config
pretty + "$LG" users --count $N ">" users.toml
"$LG" users --count $N >"$LL_TMP/users.toml"
start_server

mkfifo "$LL_TMP/lg.in"
exec {LG_FD}<>"$LL_TMP/lg.in"
LL_LOGS[loadgen]=$LL_TMP/loadgen.log
: >"$LL_TMP/loadgen.log"
LL_NOTE="< lg.in &> loadgen.log &" pretty lg "$LG" run --count $N --src-count $A
ip netns exec "${LL_PREFIX}lg" "$LG" run --server 198.18.0.1:51820 \
	--server-key "$LL_TMP/server.pub" --count $N --src 198.18.1.0 --src-count $A \
	<&"$LG_FD" >>"$LL_TMP/loadgen.log" 2>&1 &
LL_PIDS[loadgen]=$!
wait_for_log loadgen '^ready ' 30

# lg COMMAND BOUND: sends a command, waits ≤ BOUND s for its result line (LG_RESULT).
lg() {
	local from
	from=$(log_lines loadgen)
	pretty lg "$1"
	echo "$1" >&"$LG_FD"
	wait_for_log loadgen '^result ' "$2" "$from" >/dev/null ||
		fail "loadgen: no result for '$1' in $2 s"
	LG_RESULT=$(tail -n +$((from + 1)) "$LL_TMP/loadgen.log" | grep -m1 '^result ')
	echo "   $LG_RESULT"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$LG_RESULT"; }
stat_field() { grep -oE "(^| )$1[= ][0-9]+" <<<"$LL_STATS" | grep -oE '[0-9]+$' || echo 0; }

say "$N sessions, 100 handshakes a second"
lg "hs $N 100" 60
[ "$(field done)" = $N ] || fail "$(field done) of $N handshakes completed ($LG_RESULT)"
lg stats 5
[ "$(field established)" = $N ] || fail "$(field established) of $N sessions established"
lg "ping 1000 5" 30
[ "$(field replied)" = $N ] || fail "$(field replied) of $N sessions answered a ping through the tunnel"
server_stats
[ "$(sed -n 's/.*users \([0-9]*\),.*/\1/p' <<<"$LL_STATS")" = $N ] ||
	fail "the server counts $(sed -n 's/.*users \([0-9]*\),.*/\1/p' <<<"$LL_STATS") users connected, not $N"

say "one address at 10× its handshake limit ($HS_PER_IP/s)"
rl0=$(stat_field ratelimit)
lg "hs 600 200 0" 60
done_one=$(field done)
# The limiter's budget over the offer: sources that proved their address
# (mac2, after a cookie) and those that did not have one each, both
# HS_PER_IP a second and a burst of 5; the sending took ≥ 3 s.
send_s=$(awk -v n="$(field sent)" 'BEGIN {printf "%d", n / 200 + 1}')
bound=$((2 * (HS_PER_IP * send_s + 5)))
[ "$done_one" -ge 1 ] || fail "the limited address was locked out: $LG_RESULT"
[ "$done_one" -le "$bound" ] ||
	fail "$done_one handshakes completed from one address in about $send_s s: the limit allows $bound"
server_stats
rl1=$(stat_field ratelimit)
[ $((rl1 - rl0)) -gt 0 ] || fail "the server counted no ratelimit drop"
echo "completed $done_one of $(field sent) (bound $bound), ratelimit drops +$((rl1 - rl0))"

say "a flood of bogus initiations and junk beside the $N sessions"
spawn flood-init lg "$UDPJUNK" --to 198.18.0.1:51820 --mode init \
	--server-key "$(key_of server pub)" --rate 500 --count 1500 --ports 64 --max-seconds 30
spawn flood-junk lg "$UDPJUNK" --to 198.18.0.1:51820 --mode random --rate 5000 \
	--count 15000 --ports 16 --max-seconds 30
lg "hs 150 50" 60
[ "$(field done)" = 150 ] && [ "$(field lost)" = 0 ] ||
	fail "legitimate rekeys during the flood did not all complete: $LG_RESULT"
wait_pid "$(pid_of flood-init)" 40
wait_pid "$(pid_of flood-junk)" 40
cat "$(log_of flood-init)" "$(log_of flood-junk)"
lg "ping 1000 5" 30
[ "$(field replied)" = $N ] || fail "after the flood $(field replied) of $N sessions answered a ping"
server_stats
[ "$(stat_field mac1)" -gt 0 ] || fail "the junk was not counted (mac1 drops)"
check_daemons
pass
