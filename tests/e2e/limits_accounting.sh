#!/usr/bin/env bash
# limits_accounting: what the server counts is what went through, to the
# byte, and a clean shutdown loses none of it (docs/dataplane.md "Limits",
# "Accounting"). Alice sends a known number of pings of a known size; the
# server is stopped (SIGTERM) at once, before its next accounting tick
# could fold the last of them; the usage batches it hands to its sink (at
# debug level, without a store sink: "usage of alice: +UP up, +DOWN down"),
# every 10 s and the final one, must add up to exactly the echo requests
# (up) and replies (down), as inner IPv4 packets: 28 bytes of headers
# around each payload. The client's own IPv6 chatter (router
# solicitations, MLD from link-local sources) is refused as spoofed and
# counted for nobody. The store (the server's sink) holds the same after the
# shutdown, and a restarted server adds to it.
source "$(dirname "$0")/lib.sh" "$@"

COUNT=${LL_ACCT_PINGS:-200}
SIZE=1000

say "topology"
ns_add cli
ns_add srv
veth cli c0 srv s0
addr cli c0 198.51.100.2/24
addr srv s0 198.51.100.1/24

say "keys and configuration (server at debug level)"
add_user alice 10.8.0.2 fd00:8::2
SRV_LOG=debug
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
start_server
start_client alice cli

say "$COUNT pings of $SIZE bytes, then SIGTERM at once"
pretty cli ping -q -c "$COUNT" -s "$SIZE" -i 0.005 10.8.0.1
out=$(nq cli ping -q -c "$COUNT" -s "$SIZE" -i 0.005 -W 2 10.8.0.1) || true
grep -q " $COUNT received" <<<"$out" || fail "pings lost: $(grep transmitted <<<"$out")"
grep transmitted <<<"$out"
pretty + kill -TERM server
kill -TERM "$(pid_of server)"
wait_pid "$(pid_of server)" 15 || fail "the server did not stop cleanly"
unset "LL_PIDS[server]"

say "the usage batches add up to the pings, exactly"
want=$((COUNT * (SIZE + 28)))
read -r up down < <(grep -Eo 'usage of alice: \+[0-9]+ up, \+[0-9]+ down' "$(log_of server)" |
	awk '{gsub(/\+/, ""); u += $4; d += $6} END {print u + 0, d + 0}')
echo "   counted: up $up, down $down; sent: $want each way ($(log_count server 'usage of alice') batch(es))"
[ "$up" = "$want" ] || fail "alice's upload was counted as $up bytes, not $want"
[ "$down" = "$want" ] || fail "alice's download was counted as $down bytes, not $want"

say "the store holds the same, and the first connection"
db=$(find "$LL_TMP" -maxdepth 2 -name lostlove.db | head -n 1)
[ -n "$db" ] || fail "no lostlove.db under $LL_TMP"
stored() {
	python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
r = c.execute("select used_up, used_down, first_connected_at from users where name = 'alice'").fetchone()
print(*r)
PY
}
read -r sup sdown sfirst < <(stored)
echo "   store: used_up $sup, used_down $sdown, first_connected_at $sfirst"
[ "$sup" = "$want" ] && [ "$sdown" = "$want" ] ||
	fail "the store has $sup up / $sdown down for alice, not $want each"
[ "$sfirst" -gt 0 ] || fail "the store did not record alice's first connection"

say "restart: the count goes on from the store's"
from=$(log_lines client-alice)
start_server
# the client finds the restarted server (a new handshake) on its own
wait_for_log client-alice '^lostlove-client: connected: ' 40 "$from"
out=$(nq cli ping -q -c "$COUNT" -s "$SIZE" -i 0.005 -W 2 10.8.0.1) || true
grep -q " $COUNT received" <<<"$out" ||
	fail "pings lost after the restart: $(grep transmitted <<<"$out")"
kill -TERM "$(pid_of server)"
wait_pid "$(pid_of server)" 15 || fail "the server did not stop cleanly"
unset "LL_PIDS[server]"
read -r sup sdown sfirst2 < <(stored)
echo "   store after the second run: used_up $sup, used_down $sdown"
[ "$sup" = $((2 * want)) ] && [ "$sdown" = $((2 * want)) ] ||
	fail "after two runs the store has $sup up / $sdown down for alice, not $((2 * want)) each"
[ "$sfirst2" = "$sfirst" ] || fail "alice's first connection moved from $sfirst to $sfirst2"

stop client-alice
pass
