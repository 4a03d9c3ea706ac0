#!/usr/bin/env bash
# limits_rate: the per-user rate limit (a policer per user and direction,
# docs/dataplane.md "Limits") measured with iperf3 through the tunnel, both
# ways, within ±10 % of the configured rate; and the attacks on it: the
# client roaming to a new source address and port every second, rekeying
# (a new session, which must not bring a fresh bucket), and a client
# switching between UDP and the TLS front mid-run. None gets more.
#
#   ┌──── cli ──────────────────────┐      ┌──── srv ───────────────────┐
#   │ alice: relay 127.0.0.1:51821  │      │ lostlove-server udp + tls  │
#   │   from .2 / .3 (moves on USR2)├──────┤ s0 198.51.100.1/24         │
#   │ c0 198.51.100.2,.3/24         │ veth │ ll0 10.8.0.1 iperf3 -s     │
#   └───────────────────────────────┘      └────────────┬───────────────┘
#   ┌──── cli2 ─────────────────────┐                   │ veth
#   │ bob: transport auto (UDP/TLS) ├───────────────────┘ s2 192.0.2.1/24
#   │ c0 192.0.2.2/24               │
#   └───────────────────────────────┘
#
# The policer counts inner IP bytes; iperf3 reports TCP payload. With the
# tunnel MTU of 1420 a full segment is 1368 payload bytes in a 1420-byte
# packet, so the payload rate is compared with RATE × 1368 / 1420.
source "$(dirname "$0")/lib.sh" "$@"

command -v iperf3 >/dev/null || fail "iperf3 is needed (scripts/install-deps.sh)"
command -v openssl >/dev/null || fail "openssl is needed (scripts/install-deps.sh)"

RATE=${LL_LIMIT_RATE:-2000000} # bytes/s
SECS=${LL_LIMIT_SECONDS:-4}
EXPECT=$((RATE * 1368 / 1420))

say "topology"
ns_add cli
ns_add cli2
ns_add srv
veth cli c0 srv s0
veth cli2 c0 srv s2
addr cli c0 198.51.100.2/24
addr cli c0 198.51.100.3/24
addr cli2 c0 192.0.2.2/24
addr srv s0 198.51.100.1/24
addr srv s2 192.0.2.1/24

say "certificate and configuration"
front_cert
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
LL_USER_EXTRA[bob]="rate_limit = $RATE"
SRV_PROTOCOL=both
# alice takes the server-wide default, bob his own rate_limit (the same)
SRV_LIMITS_EXTRA="rate_limit_per_user = $RATE"
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'
write_client_config bob 192.0.2.1:51820 '[]' "transport = \"auto\"
sni = \"front.test\""

say "server, relay, clients"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--from 198.51.100.2,198.51.100.3
wait_for_log relay '^relay: ready' 5
start_client alice cli
start_client bob cli2
ping_ok cli 10.8.0.1 3
ping_ok cli2 10.8.0.1 3
spawn iperf srv iperf3 -s -B 10.8.0.1 -p 5201
wait_until 5 tcp_listening srv 5201

# measure NAME NS [IPERF_ARGS...]: one iperf3 run of SECS s (first second
# omitted) to the server's tunnel address; LL_RATE = payload bytes/s received.
measure() {
	local name=$1 ns=$2 json
	shift 2
	json="$LL_TMP/iperf-$name.json"
	pretty "$ns" iperf3 -c 10.8.0.1 -t "$SECS" -O 1 -J "$@"
	nq "$ns" iperf3 -c 10.8.0.1 -t "$SECS" -O 1 -J "$@" >"$json" ||
		fail "iperf3 ($name) failed: $(tail -n 5 "$json")"
	LL_RATE=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 8))' "$json")
	echo "   $name: $LL_RATE payload B/s (expected $EXPECT ± 10 %)"
}

within() { # within NAME: LL_RATE within ±10 % of EXPECT
	[ "$LL_RATE" -ge $((EXPECT * 9 / 10)) ] && [ "$LL_RATE" -le $((EXPECT * 11 / 10)) ] ||
		fail "$1: $LL_RATE B/s is not within ±10 % of $EXPECT (rate_limit $RATE)"
}

at_most() { # at_most NAME: the rate was not escaped
	[ "$LL_RATE" -le $((EXPECT * 11 / 10)) ] ||
		fail "$1: $LL_RATE B/s escaped the rate limit ($EXPECT + 10 %)"
}

say "alice (the server default): up and down"
measure alice-up cli
within alice-up
measure alice-down cli -R
within alice-down

say "bob (his own rate_limit) on UDP"
measure bob-up cli2
within bob-up

# usr2_every_second NAME: SIGUSR2 to NAME once a second for SECS + 1 s, in
# the background ($! is that loop); the relay roams on it, the client rekeys.
usr2_every_second() {
	(
		set +eE
		trap - ERR
		for ((i = 0; i < SECS + 1; i++)); do
			sleep 1
			kill -USR2 "$(pid_of "$1")"
		done
	) &
}

say "attack: alice roams every second during an upload"
usr2_every_second relay
roamer=$!
measure alice-roaming cli
wait "$roamer" || true
at_most alice-roaming
moves=$(log_count relay 'upstream now')
[ "$moves" -ge 3 ] || fail "the relay moved alice only $moves time(s)"
echo "   the relay moved alice's source $moves times"

say "attack: alice rekeys every second (each a new session) during an upload"
usr2_every_second client-alice
rekeyer=$!
hs0=$(server_stats | grep -Eo 'handshakes ok [0-9]+' | awk '{print $3}')
measure alice-rekeying cli
wait "$rekeyer" || true
hs1=$(server_stats | grep -Eo 'handshakes ok [0-9]+' | awk '{print $3}')
at_most alice-rekeying
[ $((hs1 - hs0)) -ge 3 ] || fail "alice made only $((hs1 - hs0)) handshake(s) while rekeying"
echo "   $((hs1 - hs0)) new sessions during the run"

drop_udp() {
	n cli2 nft add table inet lltest
	n cli2 nft add chain inet lltest in '{ type filter hook input priority 0; }'
	n cli2 nft add rule inet lltest in ip saddr 192.0.2.1 udp sport 51820 counter drop
}

say "attack: bob switches from UDP to TLS and back during an upload"
(
	set +eE
	trap - ERR
	sleep 1.5
	drop_udp
	sleep 2
	ip netns exec "${LL_PREFIX}cli2" nft delete table inet lltest
) &
switcher=$!
from=$(log_lines client-bob)
measure bob-switching cli2
wait "$switcher" || fail "the UDP drop in cli2 failed"
at_most bob-switching
log_has "$(log_of client-bob)" '^lostlove-client: transport: tls' "$from" ||
	fail "bob never switched to TLS"

say "bob on TLS only: the same rate"
drop_udp
# traffic makes the client notice that UDP went silent (it may still be on
# TLS from the switch above: the last transport line says where it is)
on_tls() {
	nq cli2 ping -c 1 -W 1 10.8.0.1 >/dev/null || true
	grep '^lostlove-client: transport: ' "$(log_of client-bob)" | tail -n 1 | grep -q 'transport: tls'
}
wait_until 15 on_tls
measure bob-tls-up cli2
within bob-tls-up
n cli2 nft delete table inet lltest

say "the drops are counted by reason"
server_stats >/dev/null
grep -Eq 'user_rate=[0-9]+' <<<"$LL_STATS" || fail "no user_rate drops counted: $LL_STATS"
grep -Eo 'user_rate=[0-9]+' <<<"$LL_STATS"

stop iperf
stop client-alice
stop client-bob
stop relay
stop server
pass
