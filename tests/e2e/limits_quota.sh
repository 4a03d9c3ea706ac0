#!/usr/bin/env bash
# limits_quota: what ends or slows a user's sessions, on the real daemons
# (docs/dataplane.md "Limits"):
#   - expiry after the first connection (fiona, 3 s): her pings, started
#     as she connects, get replies for 3 s (2-4 s: a tick, the handshake);
#   - expiry (erin): `expires` set by a reload a few seconds ahead; her
#     traffic ends within 1 s of that instant (ping's timestamps), her
#     client is told why;
#   - quota cut-off (carol, daily, 2 MB/s): a transfer stops at the quota
#     (the server counted it to within a packet each way, the receiver got
#     no more); a second client holding carol's key (mallory)
#     gets no handshake while she is cut off; a day later (the test build's
#     SIGUSR2 clock) carol's own client is let back in;
#   - throttle (dave): over his quota he measures at the slow rate (±10 %);
#   - reload (frank disabled, george removed): their traffic stops within
#     1 s of the SIGHUP (the last ping reply's timestamp).
#
#   cli-carol, cli-mallory, cli-dave, cli-erin, cli-frank, cli-george
#      │ 172.16.N.2/24 each, veth to srv s<N> 172.16.N.1/24
#   srv: lostlove-server (LOSTLOVE_TEST_CLOCK_STEP=86400), s0 203.0.113.1 ── inet 203.0.113.2
source "$(dirname "$0")/lib.sh" "$@"

command -v iperf3 >/dev/null || fail "iperf3 is needed (scripts/install-deps.sh)"

QUOTA=6000000      # carol: bytes a day
RATE=2000000       # carol: bytes/s
TICK_BYTES=1000000 # one 0.5 s accounting tick at carol's rate
THROTTLE=500000    # dave: bytes/s once over his 3 MB

say "topology"
ns_add srv
ns_add inet
veth srv s0 inet i0
addr srv s0 203.0.113.1/24
addr inet i0 203.0.113.2/24
SRV_EGRESS=s0
CLIENTS=(carol mallory dave erin frank george fiona)
for i in "${!CLIENTS[@]}"; do
	c=${CLIENTS[$i]}
	ns_add "cli-$c"
	veth "cli-$c" c0 srv "s$((i + 1))"
	addr "cli-$c" c0 "172.16.$((i + 1)).2/24"
	addr srv "s$((i + 1))" "172.16.$((i + 1)).1/24"
done
server_of() { # the server's address on client C's link
	local i
	for i in "${!CLIENTS[@]}"; do
		if [ "${CLIENTS[$i]}" = "$1" ]; then echo "172.16.$((i + 1)).1"; fi
	done
}

say "keys and configuration"
add_user carol 10.8.0.2 fd00:8::2
add_user dave 10.8.0.3 fd00:8::3
add_user erin 10.8.0.4 fd00:8::4
add_user frank 10.8.0.5 fd00:8::5
add_user george 10.8.0.6 fd00:8::6
add_user fiona 10.8.0.7 fd00:8::7
LL_USER_EXTRA[fiona]='expires_after_first_connect = "3s"'
LL_USER_EXTRA[carol]="rate_limit = $RATE
data_limit = $QUOTA
quota_period = \"daily\""
LL_USER_EXTRA[dave]="data_limit = 3000000
quota_period = \"daily\"
quota_action = \"throttle\"
throttle_rate = $THROTTLE"
write_server_config
for c in carol dave; do
	write_client_config "$c" "$(server_of "$c"):51820" '["203.0.113.0/24"]'
done
for c in erin frank george fiona; do
	write_client_config "$c" "$(server_of "$c"):51820" '[]'
done
# mallory holds carol's key
for k in key pub psk; do cp "$LL_TMP/carol.$k" "$LL_TMP/mallory.$k"; done
write_client_config mallory "$(server_of mallory):51820" '[]'

say "server (test clock: SIGUSR2 = one day later) and clients"
spawn server srv env LOSTLOVE_TEST_CLOCK_STEP=86400 "$LL_SERVER" -c "$LL_TMP/server.toml"
wait_for_log server '^lostlove-server: ready: udp ' 20
log_has "$(log_of server)" 'test build: SIGUSR2 moves the quota clock' ||
	fail "the server is not a test build (meson -Dtest_hooks=true); the quota clock cannot move"
for c in carol dave erin frank george; do
	start_client "$c" "cli-$c"
done
ping_ok cli-erin 10.8.0.1 2
spawn iperf inet iperf3 -s -B 203.0.113.2 -p 5201
wait_until 5 tcp_listening inet 5201

# limits_count KIND: the server's "limits:" counter KIND (expired, quota, refused)
limits_count() {
	server_stats >/dev/null
	grep -Eo "limits: expired [0-9]+ quota [0-9]+ refused [0-9]+" <<<"$LL_STATS" |
		awk -v k="$1" '{for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1)}'
}

say "expiry after the first connection: fiona connects, pings for 7 s (in the background)"
start_client fiona cli-fiona
pretty cli-fiona "ping -D -i 0.05 10.8.0.1 &"
(ip netns exec "${LL_PREFIX}cli-fiona" timeout 7 ping -D -n -i 0.05 -W 1 10.8.0.1 \
	>"$LL_TMP/ping-fiona.log" 2>&1 || true) &
LL_PIDS[ping-fiona]=$!

say "expiry: erin's expires set 3 s ahead by a reload; her traffic ends within 1 s of it"
exp=$(($(date +%s) + 3))
pretty cli-erin "ping -D -i 0.05 10.8.0.1 &"
(ip netns exec "${LL_PREFIX}cli-erin" timeout 6 ping -D -n -i 0.05 -W 1 10.8.0.1 \
	>"$LL_TMP/ping-erin.log" 2>&1 || true) &
LL_PIDS[ping-erin]=$!
LL_USER_EXTRA[erin]="expires = $(date -u -d "@$exp" +%FT%TZ)"
write_users
from=$(log_lines server)
kill -HUP "$(pid_of server)"
wait_for_log server 'reloaded users' 5 "$from"
wait_for_log server 'user "erin" expired' 8 "$from"
log_has "$(log_of server)" 'user "erin" .*removed by a reload' "$from" &&
	fail "the reload ended erin's session: only her expiry should"
wait_pid "${LL_PIDS[ping-erin]}" 10 || true
unset "LL_PIDS[ping-erin]"
# ping's own timestamps: the harness's polling (on a loaded machine) is
# not part of the measurement
last=$(grep 'bytes from' "$LL_TMP/ping-erin.log" | tail -n 1 | grep -Eo '^\[[0-9.]+\]' | tr -d '[]')
[ -n "$last" ] || fail "erin's ping got no reply at all"
late=$(python3 -c "print(round($last - $exp, 3))")
echo "   erin's last reply $late s after her expiry (limit 1 s)"
python3 -c "import sys; sys.exit(0 if $late <= 1.0 else 1)" ||
	fail "erin's traffic went on $late s after her expiry"
python3 -c "import sys; sys.exit(0 if $late >= -0.5 else 1)" ||
	fail "erin's traffic stopped $late s before her expiry"
wait_for_log client-erin 'the account expired' 5
ping_fails cli-erin 10.8.0.1

say "fiona's traffic lasted her 3 s from the first connection"
wait_pid "${LL_PIDS[ping-fiona]}" 10 || true
unset "LL_PIDS[ping-fiona]"
span=$(grep 'bytes from' "$LL_TMP/ping-fiona.log" | grep -Eo '^\[[0-9.]+\]' | tr -d '[]' |
	sed -n '1p;$p' | paste -sd' ' | awk '{printf "%.3f", $2 - $1}')
echo "   fiona's replies spanned $span s (expires_after_first_connect = 3 s, tick 0.5 s)"
python3 -c "import sys; sys.exit(0 if 2.0 <= $span <= 4.0 else 1)" ||
	fail "fiona's traffic spanned $span s, not 3 s (± a tick and her handshake)"
log_has "$(log_of server)" 'user "fiona" expired' || fail "fiona was not expired"
wait_for_log client-fiona 'the account expired' 5

say "quota: carol sends until cut off at $QUOTA bytes (2 MB/s)"
rcv="$LL_TMP/carol.received"
pretty inet "socat -u TCP4-LISTEN:5001 - | wc -c &"
( (ip netns exec "${LL_PREFIX}inet" timeout 12 socat -u TCP4-LISTEN:5001,reuseaddr - || true) |
	wc -c >"$rcv") &
LL_PIDS[carol-rcv]=$!
wait_until 5 tcp_listening inet 5001
from=$(log_lines server)
pretty cli-carol "head -c 20000000 /dev/zero | socat -u - TCP4:203.0.113.2:5001 &"
(ip netns exec "${LL_PREFIX}cli-carol" timeout 10 sh -c \
	'head -c 20000000 /dev/zero | socat -u - TCP4:203.0.113.2:5001' >/dev/null 2>&1 || true) &
LL_PIDS[carol-snd]=$!
wait_for_log server 'user "carol" reached its data limit' 10 "$from"
counted=$(tail -n +$((from + 1)) "$(log_of server)" |
	grep -m1 -Eo 'user "carol" reached its data limit \([0-9]+' | grep -Eo '[0-9]+$')
wait_for_log client-carol 'the data limit is reached' 5
wait_pid "${LL_PIDS[carol-rcv]}" 15 || true
unset "LL_PIDS[carol-rcv]"
got=$(cat "$rcv")
echo "   server counted $counted bytes (inner IP, up + down) at the cut; the receiver got $got bytes of payload"
# the data path spends a budget: the packet that empties it passes, the
# next are dropped (one full packet per direction at most past the quota)
[ "$counted" -ge "$QUOTA" ] && [ "$counted" -le $((QUOTA + 2 * 1420)) ] ||
	fail "carol was cut at $counted bytes: not at her quota $QUOTA (+ a packet each way)"
[ "$got" -le "$counted" ] || fail "carol's receiver got $got bytes, more than the $counted counted"
[ "$got" -ge $((QUOTA * 9 / 10 - TICK_BYTES)) ] ||
	fail "carol's transfer stopped at $got bytes, well before her quota"
wait_pid "${LL_PIDS[carol-snd]}" 15 || true
unset "LL_PIDS[carol-snd]"

say "attack: mallory, with carol's key, while carol is cut off: no handshake"
refused0=$(limits_count refused)
from=$(log_lines server)
t0=$(now_us)
spawn client-mallory cli-mallory "$LL_CLIENT" -c "$LL_TMP/mallory.toml"
refused_more() { [ "$(limits_count refused)" -gt "$refused0" ]; }
wait_until 8 refused_more
# two of her initiations (5 s apart) go unanswered
elapsed_ge() { python3 -c "import sys; sys.exit(0 if $(since "$t0") >= $1 else 1)"; }
wait_until 10 elapsed_ge 6
log_has "$(log_of client-mallory)" 'connected: ' && fail "mallory got a session with carol's key"
refused1=$(limits_count refused)
echo "   handshakes refused: $refused0 -> $refused1"
[ "$refused1" -gt "$refused0" ] || fail "no refused handshake counted for mallory"
log_has "$(log_of server)" 'user "carol" connected' "$from" && fail "a session for carol was made"
# logged once for the episode, however many were refused
[ "$(log_count server 'handshake of user "carol" refused: over-quota|auth failure .*: over-quota$')" = 1 ] ||
	fail "carol's refusals were not logged exactly once: $(grep -c 'refused: user over' "$(log_of server)")"
stop client-mallory

say "a day later (test clock): carol's own client is let back in"
from=$(log_lines client-carol)
sfrom=$(log_lines server)
kill -USR2 "$(pid_of server)"
wait_for_log server 'user "carol": limits lifted' 3 "$sfrom"
wait_for_log client-carol '^lostlove-client: connected: ' 20 "$from"
ping_ok cli-carol 203.0.113.2 3

say "throttle: dave sends 4 MB (quota 3 MB), then measures at $THROTTLE B/s"
from=$(log_lines server)
pretty inet "socat -u TCP4-LISTEN:5002 - > /dev/null &"
(ip netns exec "${LL_PREFIX}inet" timeout 20 socat -u TCP4-LISTEN:5002,reuseaddr - >/dev/null) &
LL_PIDS[dave-rcv]=$!
wait_until 5 tcp_listening inet 5002
n cli-dave timeout 20 sh -c 'head -c 4000000 /dev/zero | socat -u - TCP4:203.0.113.2:5002'
wait_pid "${LL_PIDS[dave-rcv]}" 20 || true
unset "LL_PIDS[dave-rcv]"
wait_for_log server 'user "dave" reached its data limit.*throttled' 3 "$from"
pretty cli-dave iperf3 -c 203.0.113.2 -t 4 -O 1 -J
nq cli-dave iperf3 -c 203.0.113.2 -t 4 -O 1 -J >"$LL_TMP/dave.json" ||
	fail "iperf3 for dave failed: $(tail -n 5 "$LL_TMP/dave.json")"
rate=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 8))' "$LL_TMP/dave.json")
expect=$((THROTTLE * 1368 / 1420)) # TCP payload of full 1420-byte packets
echo "   dave throttled: $rate payload B/s (expected $expect ± 10 %)"
[ "$rate" -ge $((expect * 9 / 10)) ] && [ "$rate" -le $((expect * 11 / 10)) ] ||
	fail "dave's throttled rate $rate B/s is not within ±10 % of $expect"

say "reload: frank disabled, george removed; their pings stop within 1 s"
for c in frank george; do
	pretty "cli-$c" "ping -D -i 0.05 10.8.0.1 &"
	(ip netns exec "${LL_PREFIX}cli-$c" timeout 4 ping -D -n -i 0.05 -W 1 10.8.0.1 \
		>"$LL_TMP/ping-$c.log" 2>&1 || true) &
	LL_PIDS[ping-$c]=$!
done
wait_until 3 grep -q 'bytes from' "$LL_TMP/ping-frank.log"
wait_until 3 grep -q 'bytes from' "$LL_TMP/ping-george.log"
LL_USER_ENABLED[frank]=false
users=()
for u in "${LL_USERS[@]}"; do [[ $u == george* ]] || users+=("$u"); done
LL_USERS=("${users[@]}")
write_users
from=$(log_lines server)
t_hup=$(date +%s.%N)
kill -HUP "$(pid_of server)"
wait_for_log server 'reloaded users' 5 "$from"
for c in frank george; do
	wait_pid "${LL_PIDS[ping-$c]}" 10 || true
	unset "LL_PIDS[ping-$c]"
	last=$(grep 'bytes from' "$LL_TMP/ping-$c.log" | tail -n 1 | grep -Eo '^\[[0-9.]+\]' | tr -d '[]')
	gap=$(python3 -c "print(round($last - $t_hup, 3))")
	echo "   $c: last reply $gap s after the SIGHUP (limit 1 s)"
	python3 -c "import sys; sys.exit(0 if $gap <= 1.0 else 1)" ||
		fail "$c's traffic went on $gap s after the reload"
	log_has "$(log_of server)" "user \"$c\" .*removed by a reload" "$from" ||
		fail "no 'removed by a reload' for $c"
done
ping_ok cli-carol 10.8.0.1 2 # the others keep theirs

say "counters"
server_stats | grep -Eo 'limits: [a-z0-9 ]+'

stop iperf
for c in carol dave erin frank george fiona; do stop "client-$c"; done
stop server
pass
