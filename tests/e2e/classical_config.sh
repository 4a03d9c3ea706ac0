#!/usr/bin/env bash
# classical_config: ML-KEM off on both sides, two IPv4 and two IPv6 DNS
# servers pushed. A classical message 1 is 148 bytes and message 2 may not
# be longer (docs/protocol.md §2.2: the server never amplifies), so the DNS
# servers do not fit in it: the server sends the whole parameter list in a
# CONFIG once the session is confirmed, and the client applies it (here,
# without resolvectl, it names every pushed server in its warning).
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐
#   │ ll0 10.8.0.2/24    │      │ ll0 10.8.0.1/24        │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │
#   │ relay (records)    │ veth │    server :51820       │
#   └────────────────────┘      └────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

one_link
mkdir "$LL_TMP/rec"

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_QRL=false
SRV_DNS='["10.8.0.1", "1.1.1.1", "2606:4700:4700::1111", "2001:4860:4860::8888"]'
write_server_config
write_client_config alice 127.0.0.1:51821 '[]'
sed -i 's/^dns = false$/dns = true/; s/^qrl_enabled = true$/qrl_enabled = false/' "$LL_TMP/alice.toml"

say "server, recording relay, client"
start_server
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--record "$LL_TMP/rec" --record-count 1
wait_for_log relay '^relay: ready' 5
start_client alice cli
ping_ok cli 10.8.0.1
ping_ok cli fd00:8::1

say "message 1 was classical, and the CONFIG arrived and was applied"
size=$(stat -c %s "$LL_TMP/rec/c2s-0001.bin")
[ "$size" = 148 ] || fail "the client's message 1 is $size bytes, not the classical 148"
from=$(log_lines client-alice)
kill -USR1 "$(pid_of client-alice)"
wait_for_log client-alice 'stats: ' 5 "$from"
stats=$(tail -n +$((from + 1)) "$(log_of client-alice)" | grep -m1 'stats: ')
echo "$stats"
[[ $stats =~ configs\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
	fail "the client applied no CONFIG: $stats"
# no resolvectl here: the client names what it would have applied
wait_for_log client-alice 'servers: 10\.8\.0\.1 1\.1\.1\.1 2606:4700:4700::1111 2001:4860:4860::8888\)' 5
pass
