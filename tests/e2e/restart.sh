#!/usr/bin/env bash
# restart: (1) a recorded handshake initiation replayed against the server is
# refused (counted as replayed-timestamp) and answered with nothing, both before and
# after a server restart — the greatest accepted timestamp per user survives
# the restart (docs/protocol.md §3.2); (2) after the restart the client
# reconnects by itself and traffic resumes; (3) the same after a crash
# (SIGKILL: no disconnect message reaches the client, which must notice the
# dead session itself; allowed 120 s).
#
#   ┌──── cli ─────────────────────────────────────┐      ┌──── srv ───────────────┐
#   │ lostlove-client ──> 127.0.0.1:51821 relay ───┼──────┤ s0 198.51.100.1/24     │
#   │ ll0 10.8.0.2/24     (records the client's    │ veth │    server :51820       │
#   │                      first datagrams)        │      │ ll0 10.8.0.1/24        │
#   │ c0 198.51.100.2/24                           │      │                        │
#   │ relay --replay FILE --to 198.51.100.1:51820  │      │                        │
#   └──────────────────────────────────────────────┘      └────────────────────────┘
#
# The client is stopped (SIGSTOP) across the restart until the replay has been
# checked, so the server has not seen any newer handshake from the user since
# it started: only the persisted timestamp can refuse the replay. The
# timestamp window is widened to 120 s so that "replayed-timestamp", not
# "timestamp-out-of-window", is the only correct verdict.
source "$(dirname "$0")/lib.sh" "$@"

one_link

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_TS_WINDOW=120
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'
mkdir "$LL_TMP/rec"

say "server, recording relay, client"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--record "$LL_TMP/rec" --record-count 4
wait_for_log relay '^relay: ready' 5
start_client alice cli
ping_ok cli 10.8.0.1

msg1=""
for f in "$LL_TMP"/rec/c2s-*.bin; do
	if [ "$(stat -c %s "$f")" = 1348 ] && [ "$(head -c1 "$f" | od -An -tu1 | tr -d ' ')" = 1 ]; then
		msg1=$f
		break
	fi
done
[ -n "$msg1" ] || fail "the relay recorded no 1348-byte message 1: $(ls -l "$LL_TMP"/rec)"
echo "recorded message 1: $(basename "$msg1")"

# replay_refused WHEN: sends the recorded message 1 from a new port; nothing
# may come back and the server must log the replay as an auth failure.
replay_refused() {
	local out before after
	before=$(replays)
	pretty cli "$LL_RELAY" --replay "$msg1" --to 198.51.100.1:51820 --wait-ms 2000
	out=$(nq cli "$LL_RELAY" --replay "$msg1" --to 198.51.100.1:51820 --wait-ms 2000)
	echo "$out"
	[[ $out == *"replies 0" ]] || fail "$1: the server answered a replayed message 1: $out"
	# counted by reason; not named in the fail2ban line: the replay comes
	# from a source that never proved its address (docs/dataplane.md)
	after=$(replays)
	[ "$after" -gt "$before" ] ||
		fail "$1: the server counted no replayed-timestamp failure ($before before, $after after)"
	echo "replayed-timestamp failures: $before -> $after"
}

# replays: the server's count of handshakes refused as replayed-timestamp.
replays() {
	local v
	server_stats >/dev/null
	v=$(grep -oE 'replayed-timestamp=[0-9]+' <<<"$LL_STATS" | cut -d= -f2 || true)
	echo "${v:-0}"
}

say "replay against the running server"
replay_refused "before the restart"

# resume_client PING_SECONDS: SIGCONT the stopped client, which must
# reconnect by itself (within 120 s) while a ping runs, then answer pings.
resume_client() {
	local from t0
	from=$(log_lines client-alice)
	pretty + kill -CONT client-alice
	kill -CONT "$(pid_of client-alice)"
	spawn ping-resume cli ping -i 0.5 -w "$1" 10.8.0.1
	t0=$(date +%s)
	wait_for_log client-alice '^lostlove-client: connected: ' 120 "$from"
	echo "reconnected $(($(date +%s) - t0)) s after SIGCONT"
	tail -n +$((from + 1)) "$(log_of client-alice)" | grep -E 'reconnecting|connected' || true
	stop ping-resume INT
	ping_ok cli 10.8.0.1
}

say "restart the server while the client is stopped"
pretty + kill -STOP client-alice
kill -STOP "$(pid_of client-alice)"
stop_clean server
start_server
replay_refused "after the restart"

say "the client reconnects by itself"
resume_client 120

say "a crash: SIGKILL, no goodbye to the client; the replay stays refused"
pretty + kill -STOP client-alice
kill -STOP "$(pid_of client-alice)"
stop server KILL
start_server
replay_refused "after a crash"

say "the client notices the lost session by itself and reconnects"
resume_client 150
pass
