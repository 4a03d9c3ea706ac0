#!/usr/bin/env bash
# lossy: the outer path drops 5 % of the datagrams, duplicates 5 % and
# reorders 5 %, each way (a userspace relay: tests/e2e/relay.c). The tunnel
# must come up (handshake retransmission) and carry TCP both ways without a
# wrong byte: duplicates are refused by the replay window, reordered packets
# are accepted within it.
#
#   ┌──── cli ─────────────────────────────────────┐      ┌──── srv ───────────────┐
#   │ lostlove-client ──> 127.0.0.1:51821 relay ───┼──────┤ s0 198.51.100.1/24     │
#   │ ll0 10.8.0.2/24     --drop 5 --dup 5         │ veth │    server :51820       │
#   │ c0 198.51.100.2/24  --reorder 5 --seed 7     │      │ ll0 10.8.0.1/24        │
#   └──────────────────────────────────────────────┘      └────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB_LOSSY:-20}

one_link

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'

say "server, lossy relay, client"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--drop 5 --dup 5 --reorder 5 --seed 7
wait_for_log relay '^relay: ready' 5
start_client alice cli

say "ping: most echoes come back"
pretty cli ping -c 50 -i 0.05 -W 1 10.8.0.1
out=$(nq cli ping -c 50 -i 0.05 -W 1 10.8.0.1 || true)
echo "$out" | grep -E 'transmitted'
rx=$(echo "$out" | awk '/transmitted/ {print $4}')
[ "${rx:-0}" -ge 35 ] || fail "only ${rx:-0} of 50 pings answered through a 5 % lossy path"

say "TCP, $MB MiB each way"
stream_start up cli srv 10.8.0.1 5001 "$MB"
stream_start down srv cli 10.8.0.2 5002 "$MB"
wait_until 150 stream_sent_ge up "$MB"
wait_until 150 stream_sent_ge down "$MB"
stream_finish up
stream_finish down
stop_clean relay
grep -E '^relay: (client|server)->' "$(log_of relay)"
pass
