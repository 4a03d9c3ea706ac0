#!/usr/bin/env bash
# session_switch: 100 re-handshakes while a ping runs every 10 ms. When a
# new session of alice's is confirmed, the server must seal everything for
# her with it at once (docs/protocol.md §8): no ping reply may be lost, and
# none may arrive under the previous session's keys after one arrived under
# the new ones (the client counts those: it may already have dropped the
# old keys). Every tenth handshake comes from a new source port (the relay
# moves; it keeps the old port open a second, as a NAT keeps an old
# mapping, so what was in flight is not lost), so a new session on a new
# path is covered too.
#
#   ┌──── cli ─────────────────────────────────────┐      ┌──── srv ───────────────┐
#   │ lostlove-client ──> 127.0.0.1:51821 relay ───┼──────┤ s0 198.51.100.1/24     │
#   │ ll0 10.8.0.2/24     (a new upstream port on  │ veth │    server :51820       │
#   │ ping -i 0.01         every tenth handshake)  │      │ ll0 10.8.0.1/24        │
#   │ c0 198.51.100.2/24                           │      │                        │
#   └──────────────────────────────────────────────┘      └────────────────────────┘
#
# The client starts each handshake on SIGUSR2 (docs/dataplane.md) and logs
# "connected:" when it completes. The handshakes are paced (PACE_S after
# each completes) to stay under the server's per-IP handshake budget
# (handshakes_per_ip_per_s 20, burst 5): unpaced, a fast build outran it,
# an initiation over it was dropped and the client resent it only after
# its 5 s rekey timeout; the run took 76 s instead of 15, depending on how
# fast the build was. No initiation may now be refused by the limiter.
source "$(dirname "$0")/lib.sh" "$@"

SWITCHES=${LL_SWITCHES:-100}
MOVE_EVERY=${LL_SWITCH_MOVE_EVERY:-10}
PACE_S=0.1 # two tokens of the 20/s budget between two initiations

one_link

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'

say "server, relay, client"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--from 198.51.100.2 --linger-ms 1000
wait_for_log relay '^relay: ready' 5
start_client alice cli
ping_ok cli 10.8.0.1

connected_since() { log_has "$(log_of client-alice)" '^lostlove-client: connected: ' "$1"; }

say "$SWITCHES handshakes while a ping runs every 10 ms"
spawn ping-switch cli ping -i 0.01 -W 2 -w 290 10.8.0.1
wait_for_log ping-switch 'icmp_seq=10 ' 5
t0=$(now_us)
for ((i = 1; i <= SWITCHES; i++)); do
	from=$(log_lines client-alice)
	if ((MOVE_EVERY && i % MOVE_EVERY == 0)); then
		kill -USR2 "$(pid_of relay)" # a new upstream port: the next handshake's path
	fi
	kill -USR2 "$(pid_of client-alice)"
	poll 10 1 connected_since "$from" ||
		fail "handshake $i did not complete in $LL_WAITED s (limit 10 s)"
	sleep "$PACE_S"
done
echo "[+] $SWITCHES handshakes done in $(since "$t0") s (SIGUSR2 to the client each time)"
from=$(log_lines ping-switch)
wait_for_log ping-switch 'icmp_seq=' 5 "$((from + 50))" # half a second more
stop ping-switch INT
# Every request up to the last answered one must have been answered; the
# one in flight when the ping was stopped is not a loss.
seqs=$(grep -oE 'icmp_seq=[0-9]+' "$(log_of ping-switch)" | cut -d= -f2 | sort -n | uniq)
last=$(tail -n 1 <<<"$seqs")
got=$(wc -l <<<"$seqs")
echo "ping: $got of $last answered (requests 1..$last)"
[ "$got" = "$last" ] || fail "$((last - got)) of $last pings lost across $SWITCHES session switches:" \
	"$(awk 'NR > 1 && $1 != p + 1 {printf "%d-%d ", p + 1, $1 - 1} {p = $1}' <<<"$seqs")missing"

say "nothing arrived under keys the client may have dropped"
from=$(log_lines client-alice)
kill -USR1 "$(pid_of client-alice)"
wait_for_log client-alice 'stats: ' 5 "$from"
stats=$(tail -n +$((from + 1)) "$(log_of client-alice)" | grep -m1 'stats: ')
echo "$stats"
[[ $stats =~ of\ which\ after\ the\ switch\ 0\) ]] ||
	fail "packets arrived under a previous session after the server had switched: $stats"
server_stats
[[ $LL_STATS =~ handshakes\ ok\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt "$SWITCHES" ] ||
	fail "the server completed fewer than $SWITCHES handshakes: $LL_STATS"
[[ $LL_STATS =~ ratelimit= ]] &&
	fail "initiations paced under the per-IP limit were refused by it: $LL_STATS"
pass
