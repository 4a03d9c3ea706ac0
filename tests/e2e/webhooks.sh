#!/usr/bin/env bash
# webhooks: signed events from the real server to a receiver written from
# docs/webhooks.md (webhook_receiver.py, in the server's namespace on
# 127.0.0.1:8080, a numeric URL: no resolver needed in the sandbox).
#
#   ┌──── cli ───────────────┐      ┌──── srv ───────────────────────────┐
#   │ alice (lostlove-client)│      │ lostlove-server :51820             │
#   │ udpjunk (eve's key)    ├──────┤ webhook_receiver.py 127.0.0.1:8080 │
#   │ c0 198.51.100.2/24     │ veth │ s0 198.51.100.1/24                 │
#   └────────────────────────┘      └────────────────────────────────────┘
#
# 1. the first attempt is answered 500: the same event (same id) comes
#    again, and is then acknowledged; every signature verifies;
# 2. alice connecting gives user.connected; a bad-key handshake from a
#    proven source gives auth.failure with its address and reason; bob (his
#    own link, cli2) over his data limit gives user.quota_exceeded and
#    user.disconnected (quota), and his expiry set by a reload user.expired;
#    POST /v1/webhooks/test on the admin API's socket, and over TCP with an
#    admin token, gives webhook.test;
# 3. the receiver down: alice's user.disconnected waits in the outbox; the
#    server is restarted, the receiver comes back: the event, with the same
#    id, arrives after the restart;
# 4. a flood of auth failures with the receiver down: the bound holds
#    (max_queue = 20 in the outbox, the rest counted as dropped), the server
#    keeps forwarding alice's traffic; the server killed (SIGKILL) with those
#    events waiting: after a restart, every one of them is delivered;
# 5. https: with the receiver's certificate from a CA the server does not
#    trust, nothing is delivered (attempts fail); with that CA in ca_file,
#    the waiting events are delivered; alice removed from users.toml and
#    the server reloaded: user.disconnected with reason "removed";
# 6. a secret file others may read is refused at start.
source "$(dirname "$0")/lib.sh" "$@"

RECV_PORT=8080
RECEIVER="$(dirname "$(realpath "$0")")/webhook_receiver.py"
MAX_QUEUE=20

one_link
ns_add cli2 # bob, whose limits end his session
veth cli2 c0 srv s1
addr cli2 c0 192.0.2.2/24
addr srv s1 192.0.2.1/24
say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
BOB_QUOTA=200000
LL_USER_EXTRA[bob]="data_limit = $BOB_QUOTA
quota_period = \"daily\""
gen_keys eve # not a user: her handshakes fail ("unknown peer")
(umask 077 && openssl rand -hex 32 >"$LL_TMP/webhook.secret")
SRV_HS_PER_IP=10000 # the flood must reach the handshake code, not the limiter
SRV_EXTRA="
[api]
socket = \"$LL_TMP/admin.sock\"
listen = \"127.0.0.1:8443\"

[webhooks]
url = \"http://127.0.0.1:$RECV_PORT/hook\"
secret_file = \"$LL_TMP/webhook.secret\"
timeout = 2
max_queue = $MAX_QUEUE
node = \"e2e-node\"" # [webhooks] stays last: step 5 adds to it
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
write_client_config bob 192.0.2.1:51820 '[]'

start_receiver() {
	local from=0
	[ -f "$LL_TMP/receiver.log" ] && from=$(wc -l <"$LL_TMP/receiver.log")
	spawn receiver srv python3 "$RECEIVER" --port $RECV_PORT \
		--secret-file "$LL_TMP/webhook.secret" "$@"
	wait_for_log receiver '^receiver: listening' 10 "$from"
}

# recv_of TYPE: the receiver's lines for events of TYPE.
recv_of() { grep -E "^recv .* type=$1 " "$(log_of receiver)" || true; }

# stat_of NAME: a webhooks counter from the server's stats line.
stat_of() {
	sed -nE "s/.*webhooks:.* $1=([0-9]+).*/\1/p" <<<"$LL_STATS"
}

# junk COUNT RATE: initiations with eve's key from cli, answering cookies
# (so the server sees a proven source, as it would a real client).
junk() {
	n cli "$LL_UDPJUNK" --to 198.51.100.1:51820 --mode init --count "$1" --rate "$2" \
		--client-key "$LL_TMP/eve.key" --server-key "$(key_of server pub)" \
		--answer-cookies --wait-ms 500
}

# outbox_rows [ro]: the store's outbox, one "id type attempts event-id" line
# per event. The server must be stopped; by default the file is read as
# immutable (no locks, no WAL: after a clean stop there is none), with
# "ro" read-only through the WAL a killed server left (its files exist
# already: nothing is created as root)
outbox_rows() {
	python3 - "$LL_TMP/lostlove.db" "${1:-immutable}" <<-'EOF'
		import json, sqlite3, sys
		mode = "mode=ro" if sys.argv[2] == "ro" else "immutable=1"
		db = sqlite3.connect(f"file:{sys.argv[1]}?{mode}", uri=True)
		for i, t, a, b in db.execute("SELECT id, type, attempts, body FROM outbox ORDER BY id"):
		    print(i, t, a, json.loads(b)["id"])
	EOF
}

no_bad_signatures() {
	if grep -E '^recv .* sig=bad ' "$(log_of receiver)"; then
		fail "a request's signature did not verify (or its body broke the format)"
	fi
}

say "1+2. alice connects: user.connected; the first attempt gets 500, then the retry 200"
start_receiver --fail-first 1
start_server
start_client alice cli
wait_until 15 bash -c "grep -Eq '^recv .* status=200 .* type=user.connected ' '$(log_of receiver)'"
recv_of user.connected
lines=$(recv_of user.connected)
[ "$(wc -l <<<"$lines")" = 2 ] || fail "user.connected should come twice (500, then 200)"
id1=$(sed -nE '1s/.* id=([^ ]+) .*/\1/p' <<<"$lines")
id2=$(sed -nE '2s/.* id=([^ ]+) .*/\1/p' <<<"$lines")
[ -n "$id1" ] && [ "$id1" = "$id2" ] || fail "the retry is not the same event ($id1 / $id2)"
grep -q 'status=500' <<<"$(head -1 <<<"$lines")" || fail "the first attempt was not the one answered 500"
grep -q '"user": "alice"' <<<"$lines" || fail "user.connected does not name alice"
grep -q '"endpoint": "198.51.100.2:' <<<"$lines" || fail "user.connected has no endpoint"
no_bad_signatures

say "2. a handshake with a key the server does not know: auth.failure"
junk 4 10
wait_until 10 bash -c "grep -Eq '^recv .* type=auth.failure ' '$(log_of receiver)'"
recv_of auth.failure | head -3
recv_of auth.failure | grep -q '"address": "198.51.100.2"' ||
	fail "auth.failure does not name the source address"
recv_of auth.failure | grep -q '"reason": "unknown-peer"' || fail "auth.failure does not say unknown-peer"
log_has "$(log_of server)" 'auth failure from 198.51.100.2' ||
	fail "the server logged no fail2ban line for the same failure"
no_bad_signatures

say "2b. bob's limits: over his quota, then expired"
from=$(log_lines receiver)
start_client bob cli2
n cli2 ping -q -c 400 -i 0.005 -s 1200 -W 1 10.8.0.1 || true # the quota cuts it short
wait_until 10 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=user.quota_exceeded '"
wait_until 10 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=user.disconnected .*\"reason\": \"quota\"'"
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=user.(quota_exceeded|disconnected)'
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=user.quota_exceeded' |
	grep -q "\"action\": \"cutoff\", \"limit_bytes\": $BOB_QUOTA, \"used_bytes\": [0-9]*, \"user\": \"bob\"" ||
	fail "user.quota_exceeded does not carry bob's limit and action"
from=$(log_lines receiver)
exp=$(($(date +%s) + 1))
LL_USER_EXTRA[bob]="${LL_USER_EXTRA[bob]}
expires = $(date -u -d "@$exp" +%FT%TZ)"
write_users
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_until 10 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=user.expired .*\"expires_at\": $exp, \"user\": \"bob\"'"
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=user.expired'
stop_clean client-bob
no_bad_signatures

say "2c. the admin API's test event"
from=$(log_lines receiver)
pretty + curl --unix-socket admin.sock -X POST http://lostlove/v1/webhooks/test
code=$(curl -sS -o "$LL_TMP/api.out" -w '%{http_code}' --unix-socket "$LL_TMP/admin.sock" \
	-X POST http://lostlove/v1/webhooks/test)
echo "-> $code $(cat "$LL_TMP/api.out")"
[ "$code" = 202 ] || fail "POST /v1/webhooks/test answered $code"
wait_until 10 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=webhook.test .*\"message\": \"test from uid:0\"'"
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=webhook.test'
code=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$LL_TMP/admin.sock" \
	http://lostlove/v1/webhooks/test)
[ "$code" = 405 ] || fail "GET /v1/webhooks/test answered $code, not 405"
# over TCP with an admin token (made on the socket), as docs/api.md shows
token=$(curl -sS --unix-socket "$LL_TMP/admin.sock" -H 'Content-Type: application/json' \
	-d '{"sub":"hooks","role":"admin","ttl":600}' http://lostlove/v1/tokens | jq -r .token)
[[ $token == *.*.* ]] || fail "no token for the TCP call: $token"
from=$(log_lines receiver)
pretty srv curl -H "Authorization: Bearer TOKEN" -X POST http://127.0.0.1:8443/v1/webhooks/test
code=$(nq srv curl -sS -o "$LL_TMP/api.out" -w '%{http_code}' -H "Authorization: Bearer $token" \
	-X POST http://127.0.0.1:8443/v1/webhooks/test)
echo "-> $code $(cat "$LL_TMP/api.out")"
[ "$code" = 202 ] || fail "POST /v1/webhooks/test over TCP answered $code"
wait_until 10 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=webhook.test .*\"message\": \"test from token:hooks\"'"
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=webhook.test'

say "3. the receiver down: user.disconnected waits in the outbox across a restart"
stop receiver
stop_clean client-alice
wait_for_log server 'user .?alice.? disconnected' 10
stop_clean server
outbox_rows
queued_id=$(outbox_rows | sed -nE 's/^[0-9]+ user.disconnected [0-9]+ (evt_[0-9a-f]+)$/\1/p' | tail -1)
[ -n "$queued_id" ] || fail "user.disconnected is not in the store's outbox after the server stopped"
start_server
start_receiver
wait_until 20 bash -c "grep -Eq '^recv .* status=200 .* type=user.disconnected id=$queued_id ' '$(log_of receiver)'"
recv_of user.disconnected
recv_of user.disconnected | grep -q '"reason": "client"' || fail "the reason is not 'client'"
no_bad_signatures

say "4. a flood of auth failures, the receiver down: the bound holds, traffic flows"
start_client alice cli
wait_until 15 bash -c "[ \$(grep -Ec '^recv .* status=200 .* type=user.connected ' '$(log_of receiver)') -ge 2 ]"
stop receiver
spawn ping-during cli ping -i 0.08 -c 40 10.8.0.1
junk 400 200
server_stats
emitted=$(stat_of emitted)
pending=$(stat_of pending)
dropped=$(($(stat_of dropped_queue_full) + $(stat_of dropped_outbox_full)))
echo "emitted=$emitted pending=$pending dropped=$dropped"
[ "$dropped" -gt 0 ] || fail "the flood dropped no event: the bound was never reached"
[ "$pending" -le $MAX_QUEUE ] || fail "$pending events wait in the outbox (max_queue $MAX_QUEUE)"
wait_pid "$(pid_of ping-during)" 15 || true
stats=$(grep -E 'packets transmitted' "$(log_of ping-during)")
echo "ping during the flood: $stats"
rx=$(awk '{print $4}' <<<"$stats")
[ "${rx:-0}" -ge 38 ] || fail "alice's ping lost more than 5 % during the flood: $stats"
unset "LL_PIDS[ping-during]"
ping_ok cli 10.8.0.1
stop_clean client-alice

say "4b. kill -KILL with $MAX_QUEUE events waiting: after the restart every one arrives"
pretty + kill -KILL server
kill -KILL "$(pid_of server)"
wait "$(pid_of server)" 2>/dev/null || true
unset "LL_PIDS[server]"
# what the killed server left in the outbox (WAL included: read, not immutable)
waiting=$(outbox_rows ro | awk '{print $4}')
echo "$(wc -l <<<"$waiting") event(s) in the outbox after the kill"
[ "$(wc -l <<<"$waiting")" = $MAX_QUEUE ] || fail "the outbox does not hold $MAX_QUEUE events"
from=$(log_lines receiver)
start_server
start_receiver
all_arrived() {
	local id got
	got=$(tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E '^recv .* status=200 ')
	for id in $waiting; do grep -q " id=$id " <<<"$got" || return 1; done
}
wait_until 40 all_arrived
echo "every one of them delivered after the restart"
stop receiver
stop_clean server
rows=$(outbox_rows | wc -l)
echo "outbox after the stop: $rows event(s)"

say "5. https: a receiver whose certificate the server cannot verify gets nothing"
mkcert() {
	local d=$LL_TMP
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=ll-webhook-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj /CN=127.0.0.1 -keyout "$d/recv.key" -out "$d/recv.csr" 2>/dev/null
	openssl x509 -req -in "$d/recv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -out "$d/recv.pem" \
		-extfile <(printf 'subjectAltName=IP:127.0.0.1') 2>/dev/null
	pretty + openssl: a CA and a certificate for 127.0.0.1 it signed
}
mkcert
SRV_EXTRA=${SRV_EXTRA/http:\/\/127.0.0.1:$RECV_PORT/https://127.0.0.1:$RECV_PORT}
write_server_config
grep -E '^url' "$LL_TMP/server.toml"
tls_from=$(log_lines receiver)
start_receiver --tls "$LL_TMP/recv.pem" "$LL_TMP/recv.key"
start_server
junk 2 10
wait_until 15 bash -c "kill -USR1 $(pid_of server); grep -Eq 'webhooks: .* failed=[1-9]' '$(log_of server)'"
grep -E 'webhooks: ' "$(log_of server)" | tail -1 | sed -E 's/.*(webhooks: [^;]*);.*/\1/'
if tail -n "+$((tls_from + 1))" "$(log_of receiver)" | grep -E '^recv '; then
	fail "a request reached the receiver although its certificate cannot be verified"
fi
recv_count=$(grep -Ec '^recv .* status=200 .* type=auth.failure ' "$(log_of receiver)" || true)
stop_clean server
say "   the same receiver, its CA in webhooks.ca_file: delivered"
SRV_EXTRA="$SRV_EXTRA
ca_file = \"$LL_TMP/ca.pem\""
write_server_config
start_server
wait_until 20 bash -c "[ \$(grep -Ec '^recv .* status=200 .* type=auth.failure ' '$(log_of receiver)') -gt $recv_count ]"
grep -E '^recv ' "$(log_of receiver)" | tail -2
no_bad_signatures

say "   alice removed from users.toml, SIGHUP: user.disconnected, reason removed"
from=$(log_lines receiver)
start_client alice cli
wait_until 15 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=user.connected '"
from=$(log_lines receiver)
LL_USERS=()
write_users
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_until 15 bash -c "tail -n +$((from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 .* type=user.disconnected .*\"reason\": \"removed\"'"
tail -n "+$((from + 1))" "$(log_of receiver)" | grep -E 'type=user.disconnected'
stop_clean client-alice
stop_clean server

say "6. a secret file others may read is refused"
chmod 644 "$LL_TMP/webhook.secret"
status=0
out=$(nq srv timeout 20 "$LL_SERVER" -c "$LL_TMP/server.toml" 2>&1) || status=$?
[ "$status" = 1 ] || fail "the server did not refuse a world-readable secret file (status $status)"
grep -E 'secret_file .*chmod 600' <<<"$out" || fail "no error naming the fix: $out"
grep -q Sanitizer <<<"$out" && fail "a sanitizer report on the refused start: $out"
chmod 600 "$LL_TMP/webhook.secret"

pass
