#!/usr/bin/env bash
# spoofed_source: an attacker who knows the server's public key forges
# initiations with alice's source address (198.51.100.2) at 100 a second,
# to drain her handshake budget (she would never connect) and to get her
# address named in the fail2ban line (she would be banned). Alice must
# still connect within 2 s (her first message 1 gets a cookie reply, her
# second, with mac2, is served from the proven budget), and the server must
# log no authentication failure for her address, only count them. Then the
# attacker fails from its own address while answering cookies (a real
# client would): now it has proved its address, and it is named, at a
# bounded rate.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐      ┌──── atk ──────────────────┐
#   │ alice              │      │ ll0 10.8.0.1/24        │      │ udpjunk --spoof           │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │      │   198.51.100.2 (alice's)  │
#   └────────────────────┘ veth │ s2 192.0.2.1/24        ├──────┤ a0 192.0.2.2/24           │
#                               │    server :51820       │ veth └───────────────────────────┘
#                               └────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

attack_setup
# the attacker reaches the server, and forged packets from alice's address
# arrive on s2: no reverse-path filter stops them (a server on the
# Internet cannot tell either)
n srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.s2.rp_filter=0
n atk ip route add 198.51.100.0/24 via 192.0.2.1
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
SERVER_PUB=$(key_of server pub)

say "server; the forged flood in alice's name starts before she does"
start_server
spawn flood atk "$LL_UDPJUNK" --to 198.51.100.1:51820 --spoof 198.51.100.2 --mode init \
	--server-key "$SERVER_PUB" --count 3000 --rate 100 --max-seconds 40 --wait-ms 0 --seed 11

flood_seen() {
	local n=0 w
	server_stats >/dev/null
	for w in ${LL_STATS##*initiations per worker:}; do n=$((n + w)); done
	[ "$n" -ge 100 ]
}
printf '[+] wait ≤ 10 s for 100 forged initiations to have reached the server\n'
wait_until 10 flood_seen
echo "$LL_STATS"

say "alice connects within 2 s although her address's budget is drained"
t0=$(now_us)
spawn client-alice cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
try_until 2 log_has "$(log_of client-alice)" '^lostlove-client: connected: ' ||
	fail "alice did not connect within 2 s during the forged flood (waited $LL_WAITED s);" \
		"the server's counters: $(server_stats)"
echo "alice connected after $(since "$t0") s"
ping_ok cli 10.8.0.1

say "the forged failures are counted, and her address is named nowhere"
stop flood INT
server_stats
# the first forged failure costs a handshake; it empties the address's
# unproven budget for 10 s, so the rest only get (rate-limited) cookies
[[ $LL_STATS =~ unproven\ sources\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
	fail "the server counted no authentication failures from unproven sources: $LL_STATS"
[[ $LL_STATS =~ unknown-peer=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -le 10 ] ||
	fail "forged initiations cost the server more than one handshake per 10 s: $LL_STATS"
if log_has "$(log_of server)" 'auth failure from 198\.51\.100\.2 '; then
	fail "the server named alice's address in an auth failure line for initiations it did not" \
		"prove: $(grep -m 3 'auth failure from 198\.51\.100\.2' "$(log_of server)")"
fi
echo "no 'auth failure from 198.51.100.2' line"

say "failures from a source that proves its address are logged, at a bounded rate"
from=$(log_lines server)
t0=$(now_us)
pretty atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode init --server-key "$SERVER_PUB" \
	--answer-cookies --count 400 --rate 200
out=$(nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode init --server-key "$SERVER_PUB" \
	--answer-cookies --count 400 --rate 200 --wait-ms 500 --seed 12)
echo "$out"
secs=$(since "$t0")
lines=$(tail -n +$((from + 1)) "$(log_of server)" | grep -c 'auth failure from 192\.0\.2\.2 port [0-9]*: unknown-peer' || true)
echo "$lines auth failure lines for 192.0.2.2 in $secs s"
[ "$lines" -ge 1 ] || fail "a source that proved its address (mac2) and failed was not logged"
# at most 10 a second after a burst of 20 (admission.c)
max=$((20 + 10 * (${secs%.*} + 1)))
[ "$lines" -le "$max" ] || fail "$lines auth failure lines in $secs s: not rate-limited (max $max)"
ping_ok cli 10.8.0.1
pass
