#!/usr/bin/env bash
# roaming: the client's outer address and port change in the middle of a TCP
# transfer (as behind a NAT that rebinds, or a laptop changing network); the
# server must follow the authenticated packets to the new address at once,
# validate the new path with a probe the client answers, and the TCP
# connection must survive with every byte intact.
#
#   ┌──── cli ─────────────────────────────────────┐      ┌──── srv ───────────────┐
#   │ lostlove-client ──> 127.0.0.1:51821 relay ───┼──────┤ s0 198.51.100.1/24     │
#   │ ll0 10.8.0.2/24     upstream from            │ veth │    server :51820       │
#   │     fd00:8::2/64    c0 198.51.100.2 or .3,   │      │ ll0 10.8.0.1/24        │
#   │                     a new port at each move  │      │     fd00:8::1/64       │
#   └──────────────────────────────────────────────┘      └────────────────────────┘
#
# The relay (tests/e2e/relay.c) moves its upstream socket on SIGUSR2 to the
# next address of --from with a fresh ephemeral port. The transfer goes
# client → server (data) while the ACKs go back to wherever the server thinks
# the client is: if the server did not roam, the ACKs are lost and TCP stalls.
source "$(dirname "$0")/lib.sh" "$@"

MOVES=${LL_ROAM_MOVES:-4}
STEP=${LL_ROAM_STEP_MIB:-16}

say "topology"
ns_add cli
ns_add srv
veth cli c0 srv s0
addr cli c0 198.51.100.2/24
addr cli c0 198.51.100.3/24
addr srv s0 198.51.100.1/24

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'

say "server, relay, client"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--from 198.51.100.2,198.51.100.3
wait_for_log relay '^relay: ready' 5
start_client alice cli
ping_ok cli 10.8.0.1

say "a TCP transfer, moving the client $MOVES times while it runs"
stream_start up cli srv 10.8.0.1 5001 4096
stream_start down srv cli 10.8.0.2 5002 4096
for ((m = 1; m <= MOVES; m++)); do
	wait_until 60 stream_sent_ge up $((m * STEP))
	wait_until 60 stream_sent_ge down $((m * STEP))
	from=$(log_lines relay)
	pretty + kill -USR2 relay "(move $m)"
	kill -USR2 "$(pid_of relay)"
	wait_for_log relay 'upstream now' 5 "$from"
	tail -n +$((from + 1)) "$(log_of relay)" | grep 'upstream now'
done
# Both streams must keep moving after the last move.
wait_until 60 stream_sent_ge up $(((MOVES + 1) * STEP))
wait_until 60 stream_sent_ge down $(((MOVES + 1) * STEP))
stream_finish up
stream_finish down

say "the tunnel still answers at the last address"
ping_ok cli 10.8.0.1

say "every move was followed at once and validated by a path probe"
# docs/protocol.md §6.3: the newest packet moves the endpoint; a probe
# answered from the new path validates it; nothing went back
server_stats
[[ $LL_STATS =~ roams\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge "$MOVES" ] ||
	fail "the server counted fewer endpoint moves than the $MOVES the client made: $LL_STATS"
[[ $LL_STATS =~ path_reverts\ 0 ]] || fail "a validated move was undone: $LL_STATS"
from=$(log_lines client-alice)
kill -USR1 "$(pid_of client-alice)"
wait_for_log client-alice 'stats: ' 5 "$from"
stats=$(tail -n +$((from + 1)) "$(log_of client-alice)" | grep -m1 'stats: ')
echo "$stats"
[[ $stats =~ path\ probes\ answered\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge "$MOVES" ] ||
	fail "the client answered fewer path probes than the $MOVES moves: $stats"
pass
