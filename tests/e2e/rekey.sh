#!/usr/bin/env bash
# rekey: key_rotation_interval = 5 s (a full new handshake every 5 s) and
# key_rotation_bytes = 1 MiB (a symmetric key update every MiB, so hundreds
# during the run) while TCP streams run both ways: every byte must arrive
# (SHA-256). Before that, with the tunnel idle, a 50/s ping across two rekeys
# must lose nothing (at most one packet).
#
#   ┌──── cli ───────────────┐      ┌──── srv ───────────────┐
#   │ ll0 10.8.0.2/24        │      │ ll0 10.8.0.1/24        │
#   │     fd00:8::2/64       │      │     fd00:8::1/64       │
#   │ c0 198.51.100.2/24     ├──────┤ s0 198.51.100.1/24     │
#   └────────────────────────┘ veth └────────────────────────┘
#
# The streams run until the client has reported REKEYS new handshakes
# ("lostlove-client: connected:" after each completed handshake).
# Usage: rekey.sh BUILD_DIR [MODE]  (default maximum_security).
LL_MODE=${2:-${LL_MODE:-maximum_security}}
source "$(dirname "$0")/lib.sh" "$@"

REKEYS=${LL_REKEYS:-4}

one_link

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_MODE=$LL_MODE
SRV_ROT_INT=${LL_REKEY_INTERVAL:-5}
SRV_ROT_BYTES=1048576
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'

say "server and client"
start_server
start_client alice cli
ping_ok cli 10.8.0.1

count_handshakes() {
	tail -n +$((1 + $1)) "$(log_of client-alice)" | grep -c '^lostlove-client: connected: ' || true
}
handshakes_ge() { [ "$(count_handshakes "$1")" -ge "$2" ]; }

# ping_loss NAME: "transmitted received" of a finished background ping.
ping_counts() {
	grep -E 'packets transmitted' "$(log_of "$1")" | awk '{print $1, $4}'
}

say "idle tunnel: 50 pings a second across 2 rekeys, none may be lost"
from=$(log_lines client-alice)
spawn ping-idle cli ping -i 0.02 -w 60 10.8.0.1
printf '[+] wait ≤ 40 s for 2 handshakes in client-alice.log\n'
wait_until 40 handshakes_ge "$from" 2
stop ping-idle INT
read -r tx rx < <(ping_counts ping-idle)
echo "ping across 2 rekeys: $rx of $tx answered"
[ -n "$tx" ] && [ "$tx" -gt 0 ] || fail "the idle ping reported nothing"
[ $((tx - rx)) -le 1 ] || fail "an idle ping lost $((tx - rx)) of $tx packets across 2 rekeys:" \
	"$(awk -F'icmp_seq=' '/icmp_seq/ {split($2, a, " "); if (a[1] != p + 1) printf "%d-%d ", p + 1, a[1] - 1; p = a[1]}' "$(log_of ping-idle)")missing"

say "TCP streams both ways until $REKEYS more handshakes have completed"
from=$(log_lines client-alice)
t0=$(date +%s)
spawn ping-load cli ping -i 0.05 -w 150 10.8.0.1
stream_start up cli srv 10.8.0.1 5001 16384
stream_start down srv cli fd00:8::2 5002 16384
printf '[+] wait ≤ 90 s for %s handshakes in client-alice.log\n' "$REKEYS"
wait_until 90 handshakes_ge "$from" "$REKEYS"
stop ping-load INT
elapsed=$(($(date +%s) - t0))
stream_finish up
up=$LL_STREAM_MIB
stream_finish down
down=$LL_STREAM_MIB
read -r tx rx < <(ping_counts ping-load)
# Under two saturating TCP streams a ping shares the queues with them: its
# loss is the congestion drop rate, reported but not judged here.
echo "summary: mode $LL_MODE, rekey every ${SRV_ROT_INT} s: $(count_handshakes "$from") handshakes" \
	"in ${elapsed} s, up ${up} MiB, down ${down} MiB (≈ $((up + down)) key updates at 1 MiB)," \
	"ping under load $rx/$tx"
pass
