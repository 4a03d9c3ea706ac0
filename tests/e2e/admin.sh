#!/usr/bin/env bash
# admin: lostlove-admin against a real server, as an operator types it.
# add-user prints a client config, a lostlove:// URI and a QR code; that
# config connects a real client at once; remove-user ends its traffic
# before the command returns (checked within 1 s) and a signed
# user.disconnected webhook (reason "removed") reaches a receiver; every other command
# works, in tables and with --json (before or after the command; every
# --json output is one JSON document to python3, and set-limits, stats NAME
# and GET /v1/users/NAME/stats report the values set); and bad input to every command (unknown
# user, duplicate name, bad key, limits out of range, bad options, the
# server not running) is one line on stderr, exit status 1, and the store
# unchanged; a users.toml user cannot be removed or disabled through the
# API (the file owns it: the next reload would undo it).
#
#   cli 198.51.100.2 ── srv 198.51.100.1 (admin socket in the test's directory)
#
# Usage: admin.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$@"

export LOSTLOVE_ADMIN_SOCKET="$LL_TMP/admin.sock"
RECEIVER="$(dirname "$(realpath "$0")")/webhook_receiver.py"
RECV_PORT=8080

one_link
say "server with the admin socket and webhooks to a receiver, no users"
(umask 077 && openssl rand -hex 32 >"$LL_TMP/webhook.secret")
SRV_EXTRA="[api]
socket = \"$LOSTLOVE_ADMIN_SOCKET\"
endpoint = \"198.51.100.1\"

[webhooks]
url = \"http://127.0.0.1:$RECV_PORT/hook\"
secret_file = \"$LL_TMP/webhook.secret\"
timeout = 2"
add_user tom 10.8.0.50 fd00:8::50 # declared in users.toml: the file owns it
write_server_config
spawn receiver srv python3 "$RECEIVER" --port $RECV_PORT --secret-file "$LL_TMP/webhook.secret"
wait_for_log receiver '^receiver: listening' 10
start_server
DB=$(dirname "$LL_TMP/server.key")/lostlove.db
dump() { sqlite3 "file:$DB?mode=ro" .dump; }

# jcheck WHAT JSON PYEXPR: JSON is one JSON document (python3 json.loads)
# and PYEXPR, over it as d, is true.
jcheck() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[2])
if not eval("(" + sys.argv[3] + ")"):
    sys.exit("%s: not %s in %s" % (sys.argv[1], sys.argv[3], json.dumps(d)[:600]))' "$@" ||
		fail "$1: the JSON check failed"
}

# adm ARGS...: lostlove-admin, its stdout in ADM_OUT; must succeed. With
# --json (before or after the command) the output must be one JSON document.
adm() {
	pretty + lostlove-admin "$@"
	ADM_OUT=$("$LL_ADMIN" "$@" 2>"$LL_TMP/adm.err") ||
		fail "lostlove-admin $* failed: $(cat "$LL_TMP/adm.err")"
	[ ! -s "$LL_TMP/adm.err" ] || fail "lostlove-admin $* wrote to stderr: $(cat "$LL_TMP/adm.err")"
	if [[ " $* " == *" --json "* ]]; then
		jcheck "lostlove-admin $*" "$ADM_OUT" 'True'
	fi
}

# api_get PATH: the API's JSON answer over the socket, as curl sees it.
api_get() {
	curl -sf --unix-socket "$LOSTLOVE_ADMIN_SOCKET" "http://localhost$1" ||
		fail "curl GET $1 failed"
}

# bad ARGS...: must exit 1 with exactly one line on stderr and nothing changed.
bad() {
	local before after st=0 lines
	before=$(dump)
	LL_NOTE="(must fail)" pretty + lostlove-admin "$@"
	"$LL_ADMIN" "$@" >"$LL_TMP/adm.out" 2>"$LL_TMP/adm.err" || st=$?
	[ "$st" = 1 ] || fail "lostlove-admin $* exited $st, not 1"
	lines=$(wc -l <"$LL_TMP/adm.err")
	[ "$lines" = 1 ] || fail "lostlove-admin $* wrote $lines lines to stderr: $(cat "$LL_TMP/adm.err")"
	grep -q '^lostlove-admin: ' "$LL_TMP/adm.err" || fail "unprefixed error: $(cat "$LL_TMP/adm.err")"
	echo "  -> $(cat "$LL_TMP/adm.err")"
	after=$(dump)
	[ "$before" = "$after" ] || fail "lostlove-admin $* changed the store"
}

say "add-user alice: config, URI and QR code"
adm add-user alice
echo "$ADM_OUT" | head -20
grep -q '^\[client\]' <<<"$ADM_OUT" || fail "add-user printed no config"
uri=$(grep -m1 '^lostlove://' <<<"$ADM_OUT") || fail "add-user printed no lostlove:// URI"
grep -q '▀\|▄\|█' <<<"$ADM_OUT" || fail "add-user printed no QR code"
# the config: from [client] to the line before the URI's comment
sed -n '/^\[client\]/,/^# or import this URI:/p' <<<"$ADM_OUT" | sed '$d' >"$LL_TMP/alice.toml"
chmod 600 "$LL_TMP/alice.toml"
n cli "$LL_CLIENT" --dump-config -c "$LL_TMP/alice.toml" >/dev/null
# route only the tunnel's network in the test namespace; no DNS changes
sed -i 's|^routes = .*|routes = ["10.8.0.0/24"]\ndns = false|' "$LL_TMP/alice.toml"

say "the printed config connects"
start_client alice cli
ping_ok cli 10.8.0.1 3

say "list-users, show-user, sessions, stats, --json"
adm list-users
echo "$ADM_OUT"
grep -q '^alice .*10\.8\.0\.2' <<<"$ADM_OUT" || fail "list-users: no alice at 10.8.0.2"
adm --json list-users
jq -e '[.users[].name] | index("alice") != null' <<<"$ADM_OUT" >/dev/null || fail "--json list-users: $ADM_OUT"
adm show-user alice
[ "$(grep -m1 '^lostlove://' <<<"$ADM_OUT")" = "$uri" ] || fail "show-user gives another URI"
adm sessions
echo "$ADM_OUT"
grep -q ' alice ' <<<"$ADM_OUT" || fail "sessions: no alice"
adm --json sessions
sid=$(jq -r '.sessions[0].id' <<<"$ADM_OUT")
adm stats
echo "$ADM_OUT"
grep -q '1 connected' <<<"$ADM_OUT" || fail "stats: $ADM_OUT"
adm stats --json # --json after the command
jcheck "stats --json" "$ADM_OUT" 'd["connected"] == 1 and d["sessions"] == 1'
adm stats alice
echo "$ADM_OUT"
adm --json set-limits alice --data-limit 10G --rate-limit 10M --device-limit 2 --expires 2099-01-01 \
	--expires-after 30d --quota-period monthly --note "from the test"
# what set-limits answers, what the API stores, what stats reports: the values set
want='u["data_limit"] == 10737418240 and u["rate_limit"] == 10485760 and u["device_limit"] == 2
and u["expires_at"] == 4070908800 and u["expires_after_first_connect"] == 2592000
and u["quota_period"] == "monthly" and u["note"] == "from the test"'
jcheck "set-limits --json" "$ADM_OUT" "(lambda u: $want)(d['user'])"
jcheck "GET /v1/users/alice" "$(api_get /v1/users/alice)" "(lambda u: $want)(d['user'])"
adm stats alice --json
stats_cli=$ADM_OUT
stats_api=$(api_get /v1/users/alice/stats)
for s in "$stats_cli" "$stats_api"; do
	jcheck "stats alice" "$s" 'd["name"] == "alice" and d["data_limit"] == 10737418240 and
d["quota_period"] == "monthly" and type(d["used_up"]) is int and d["used_up"] >= 0 and
type(d["used_down"]) is int and d["used_down"] >= 0 and len(d["sessions"]) == 1'
done
adm --json show-user alice
jcheck "show-user --json" "$ADM_OUT" 'd["name"] == "alice" and d["uri"].startswith("lostlove://")'
adm --json add-user erin # one document: the user, its config and its URI
jcheck "add-user --json" "$ADM_OUT" 'sorted(d) == ["config", "uri", "user"] and
d["user"]["name"] == "erin" and "[client]" in d["config"] and d["uri"].startswith("lostlove://")'
adm remove-user erin
adm reload
adm kick "$sid"
ping_ok cli 10.8.0.1 3 # kicked, not banned: back
adm token create --sub ci --role read-only --ttl 600
[[ $ADM_OUT == *.*.* ]] || fail "token create: $ADM_OUT"
adm audit
echo "$ADM_OUT" | tail -5

say "a users.toml user: listed; its limits and note are the API's"
adm list-users
grep -q '^tom .*10\.8\.0\.50' <<<"$ADM_OUT" || fail "list-users: no tom from users.toml"
adm set-limits tom --note "limits from the API" --data-limit 1G

# cut_within_1s ARGS...: under a ping every 50 ms, lostlove-admin ARGS
# must stop alice's traffic: no reply later than 1 s after it began (ping
# -D stamps each reply with the wall clock).
cut_within_1s() {
	local ping_pid t0 t1 last
	# not through nq: $! must be ping itself (ip netns exec execs it), or
	# the kill below would leave it running, writing into the next log
	ip netns exec "${LL_PREFIX}cli" ping -D -i 0.05 -W 1 10.8.0.1 >"$LL_TMP/ping.log" 2>&1 &
	ping_pid=$!
	try_until 5 grep -q 'bytes from' "$LL_TMP/ping.log" || fail "no ping reply before $*"
	t0=$(date +%s.%N)
	adm "$@"
	t1=$(date +%s.%N)
	sleep 1.5
	kill "$ping_pid" 2>/dev/null || true
	wait "$ping_pid" 2>/dev/null || true
	last=$(grep 'bytes from' "$LL_TMP/ping.log" | tail -n1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
	echo "$* ran from $t0 to $t1; the last reply came at $last"
	[ -n "$last" ] || fail "no time-stamped reply in the ping log: $(tail -n 5 "$LL_TMP/ping.log")"
	awk -v a="$t0" -v b="$last" 'BEGIN { exit !(b - a < 1.0) }' ||
		fail "a reply came $(awk -v a="$t0" -v b="$last" 'BEGIN { print b - a }') s after $* began"
	ping_fails cli 10.8.0.1
}

say "disable: alice's traffic stops within 1 s; enable lets her back in"
cut_within_1s disable alice
adm enable alice
ping_ok cli 10.8.0.1 3

say "bad input: one line on stderr, exit 1, the store unchanged"
bad remove-user nobody
bad remove-user tom # users.toml's: removed there, or the reload brings it back
bad disable tom
bad show-user nobody
bad enable nobody
bad disable nobody
bad set-limits nobody --data-limit 1G
bad stats nobody
bad kick nobody
bad kick 987654
bad add-user alice
bad add-user carol --public-key not-a-key
bad add-user carol --public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
bad add-user 'bad name'
bad add-user
bad add-user carol dave
bad add-user carol --colour red
bad set-limits alice --device-limit 70000
bad set-limits alice --data-limit -5
bad set-limits alice --data-limit lots
bad set-limits alice --expires tomorrow
bad set-limits alice --quota-period hourly
bad set-limits alice
bad token create
bad token create --sub x --role root
bad token revoke
bad list-users extra
bad sessions extra
bad reload extra
bad audit extra
bad frobnicate # an unknown command: exit 1 and one line, like every other error
bad
bad add-user carol --expires-after soon
bad set-limits alice --expires-after 5y
bad --socket "$LL_TMP/nothing.sock" stats
grep -q "cannot reach lostlove-server at $LL_TMP/nothing.sock: is it running?" "$LL_TMP/adm.err" ||
	fail "not running: $(cat "$LL_TMP/adm.err")"

say "remove-user: alice's traffic stops within 1 s"
recv_from=$(log_lines receiver)
cut_within_1s remove-user alice
adm list-users
grep -q '^alice ' <<<"$ADM_OUT" && fail "alice still listed"
# the receiver checks the signature (sig=ok) and answers 200
wait_until 10 bash -c "tail -n +$((recv_from + 1)) '$(log_of receiver)' | grep -Eq '^recv .* status=200 sig=ok type=user.disconnected .*\"reason\": \"removed\", \"user\": \"alice\"'"
tail -n "+$((recv_from + 1))" "$(log_of receiver)" | grep -E 'type=user.disconnected'

say "no [api] endpoint and a wildcard bind_address: add-user refuses before creating"
stop_clean server
sed -i '/^endpoint = "198.51.100.1"$/d' "$LL_TMP/server.toml"
grep -q '^endpoint = ' "$LL_TMP/server.toml" && fail "could not remove [api] endpoint"
start_server
bad add-user carol # bad: exit 1, one line, the store unchanged
grep -q '\[api\] endpoint' "$LL_TMP/adm.err" || fail "the refusal names no [api] endpoint"
adm --json list-users
jq -e '[.users[].name] | index("carol") == null' <<<"$ADM_OUT" >/dev/null || fail "carol exists"
gen_keys dave # a client with its own key needs no export: created
adm add-user dave --public-key "$(key_of dave pub)"
grep -q 'the client holds its own private key' <<<"$ADM_OUT" || fail "add-user dave: $ADM_OUT"

say "add-user --psk-file FILE|-: the PSK never in argv"
gen_keys frank
bad add-user frank --public-key "$(key_of frank pub)" --psk-file "$LL_TMP/no-such.psk"
bad add-user frank --public-key "$(key_of frank pub)" --psk-file "$LL_TMP/frank.pub" --psk "$(key_of frank psk)"
printf 'not a key\n' >"$LL_TMP/junk.psk"
bad add-user frank --public-key "$(key_of frank pub)" --psk-file "$LL_TMP/junk.psk"
pretty + lostlove-admin --json add-user frank --public-key ... --psk-file - "<frank.psk"
ADM_OUT=$("$LL_ADMIN" --json add-user frank --public-key "$(key_of frank pub)" --psk-file - <"$LL_TMP/frank.psk") ||
	fail "add-user --psk-file - failed"
jcheck "add-user frank --json" "$ADM_OUT" 'd["user"]["has_psk"] and d["config"] is None and d["uri"] is None'
gen_keys gina
adm add-user gina --public-key "$(key_of gina pub)" --psk-file "$LL_TMP/gina.psk"

pass
