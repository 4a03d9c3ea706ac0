#!/usr/bin/env bash
# rng_failure: the system random generator fails (RAND_bytes returns 0; the
# randfail LD_PRELOAD shim makes it so some time after start). The server
# must refuse the handshake it cannot answer safely (a session index and
# ephemeral keys need randomness), say so, and keep serving its loop: the
# former code looped forever drawing an index, with the control thread
# stuck (no statistics, no clean stop). The client must stop, saying so,
# instead of going on with zero "random" indices and jitter.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐
#   │ ll0 10.8.0.2/24    │      │ ll0 10.8.0.1/24        │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │
#   └────────────────────┘ veth └────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

SHIM=$(find "$LL_BUILD_DIR" -maxdepth 3 -name randfail.so -print -quit)
[ -n "$SHIM" ] || fail "randfail.so not found under $LL_BUILD_DIR"
# the shim comes before a sanitizer runtime in the load order: allowed here
export ASAN_OPTIONS="${ASAN_OPTIONS}:verify_asan_link_order=0"

one_link
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'

say "server whose generator fails 3 s after start; a client that is fine"
spawn server srv env LD_PRELOAD="$SHIM" LL_RANDFAIL_AFTER_MS=3000 "$LL_SERVER" -c "$LL_TMP/server.toml"
wait_for_log server '^lostlove-server: ready: udp ' 20
printf '[+] wait until the server has run 3 s\n'
sleep_over() { [ "$(($(now_us) - t0))" -ge 3500000 ]; }
t0=$(now_us)
wait_until 10 sleep_over
spawn client-alice cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
wait_for_log server 'the system random generator failed: handshake refused' 15
log_has "$(log_of client-alice)" '^lostlove-client: connected: ' &&
	fail "a handshake was answered without randomness"
say "the server still runs its loop: statistics, then a clean stop"
server_stats
stop_clean client-alice
stop_clean server

say "a client whose generator fails once it is connected stops, saying so"
start_server
spawn client-alice cli env LD_PRELOAD="$SHIM" LL_RANDFAIL_AFTER_MS=3000 "$LL_CLIENT" -c "$LL_TMP/alice.toml"
wait_for_log client-alice '^lostlove-client: connected: ' 10
ping_ok cli 10.8.0.1
wait_for_log client-alice 'the system random generator failed' 15
pid=$(pid_of client-alice)
gone "$pid" 10 || fail "the client runs on without randomness"
status=0
wait "$pid" || status=$?
unset "LL_PIDS[client-alice]"
[ "$status" = 1 ] || fail "the client exited with status $status, not 1"
echo "client exited 1"
pass
