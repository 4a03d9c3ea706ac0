#!/usr/bin/env bash
# store: the server's users come from its SQLite store (docs/storage.md),
# into which users.toml is synced, on the real server, sandboxed:
#   1. at start lostlove.db appears beside the key, mode 0600, the service
#      user's; users.toml's alice is in it with source 'toml';
#   2. a user written into the store by another hand (carol, source 'api',
#      as the admin API will) connects after SIGHUP: the handshake's table
#      is built from the store, not from users.toml;
#   3. users.toml naming carol too is refused on SIGHUP with both named;
#      the running users and the store stay as they were;
#   4. alice leaves users.toml: SIGHUP removes her row and ends her
#      session; carol (api) is untouched and still connected;
#   5. kill -KILL, then PRAGMA integrity_check is ok and a restarted server
#      lets carol in again (the store outlived the process);
#   6. refusals, exit 1 with the reason: a store of a newer schema; a
#      postgres:// database (not built yet).
#
#   ┌──── cli ──────────────┐      ┌──── srv ──────────────────┐      ┌──── cli2 ──────────┐
#   │ alice (users.toml)    │      │ server :51820             │      │ carol (store, api) │
#   │ ll0 10.8.0.2/24       │      │ ll0 10.8.0.1/24           │      │ ll0 10.8.0.4/24    │
#   │ c0 198.51.100.2/24    ├──────┤ s0 198.51.100.1/24        │      │                    │
#   └───────────────────────┘ veth │ s1 203.0.113.1/24         ├──────┤ c0 203.0.113.2/24  │
#                                  └───────────────────────────┘ veth └────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

command -v sqlite3 >/dev/null || fail "sqlite3 is missing (scripts/install-deps.sh installs it)"

DB="$LL_TMP/lostlove.db"
q() { sqlite3 -batch -noheader "$DB" "$@"; }
hex_of() { base64 -d <"$LL_TMP/$1.$2" | od -An -tx1 -v | tr -d ' \n'; }

one_link
ns_add cli2
veth srv s1 cli2 c0
addr srv s1 203.0.113.1/24
addr cli2 c0 203.0.113.2/24

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 198.51.100.1:51820 '["10.8.0.0/24"]'
gen_keys carol
write_client_config carol 203.0.113.1:51820 '["10.8.0.0/24"]'

say "check 1: the store at start"
start_server
wait_for_log server "store: $DB \(sqlite, schema 2\)" 1
wait_for_log server "store: users.toml: 1 added, 0 changed, 0 removed" 1
run ls -l "$DB"
[ "$(stat -c '%a %U' "$DB")" = "600 $LL_SERVICE_USER" ] ||
	fail "lostlove.db should be 0600 and the service user's: $(ls -l "$DB")"
run q "SELECT name, source, enabled, ipv4 FROM users"
[ "$(q "SELECT name || ' ' || source || ' ' || ipv4 FROM users")" = "alice toml 10.8.0.2" ] ||
	fail "the store should hold alice (toml) only"
start_client alice cli
ping_ok cli 10.8.0.1

say "check 2: a user of the store alone (source api) connects after SIGHUP"
run q "INSERT INTO users (name, public_key, psk, ipv4, enabled, source, created_at, updated_at)
	VALUES ('carol', X'$(hex_of carol pub)', X'$(hex_of carol psk)', '10.8.0.4', 1, 'api', 1, 1)"
from=$(log_lines server)
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_for_log server 'reloaded users: 2 enabled' 10 "$from"
start_client carol cli2
ping_ok cli2 10.8.0.1

say "check 3: users.toml naming an API user is refused, both named"
LL_USERS+=("carol 10.8.0.5 fd00:8::5")
write_users
before=$(q "SELECT group_concat(name || source || ipv4 || updated_at, ',') FROM users")
from=$(log_lines server)
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_for_log server "reload failed \(users.toml user 'carol' clashes with API user 'carol' \(id [0-9]+\): rename one of them\); keeping the current users" 10 "$from"
[ "$(q "SELECT group_concat(name || source || ipv4 || updated_at, ',') FROM users")" = "$before" ] ||
	fail "a refused sync changed the store: $before -> $(q 'SELECT * FROM users')"
ping_ok cli 10.8.0.1
ping_ok cli2 10.8.0.1

say "check 4: alice leaves users.toml: her row and her session go, carol stays"
LL_USERS=()
write_users
from=$(log_lines server)
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_for_log server 'reloaded users: 1 enabled, 1 session\(s\) ended' 10 "$from"
log_has "$(log_of server)" 'store: users.toml: 0 added, 0 changed, 1 removed' ||
	fail "the server did not report alice's removal from the store"
[ "$(q "SELECT group_concat(name || ' ' || source) FROM users")" = "carol api" ] ||
	fail "the store should hold carol (api) only: $(q 'SELECT name, source FROM users')"
[ "$(q "SELECT count(*) FROM audit WHERE actor = 'users.toml' AND action = 'user.delete' AND target = 'user:alice'")" = 1 ] ||
	fail "alice's removal is not in the audit log: $(q 'SELECT * FROM audit')"
ping_fails cli 10.8.0.1
ping_ok cli2 10.8.0.1

say "check 5: kill -KILL; the store is intact and carol comes back"
stop client-carol
stop server KILL
[ "$LL_STATUS" = 137 ] || fail "the server's exit status after SIGKILL is $LL_STATUS, expected 137"
run q "PRAGMA integrity_check"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after kill -9: $(q 'PRAGMA integrity_check')"
start_server
start_client carol cli2
ping_ok cli2 10.8.0.1
stop_clean client-carol
stop_clean server

say "check 6: refusals"
# expect_refusal WHAT REGEX CMD...: CMD exits 1 and says REGEX.
expect_refusal() {
	local what=$1 regex=$2 out status=0
	shift 2
	pretty srv "$@"
	out=$(nq srv timeout 20 "$@" 2>&1) || status=$?
	echo "$out" | grep -E 'error' || true
	[ "$status" = 1 ] || fail "$what: exit status $status, expected 1; output:
$out"
	grep -Eq -- "$regex" <<<"$out" || fail "$what: no line matching /$regex/ in:
$out"
}
cp "$DB" "$LL_TMP/newer.db"
sqlite3 "$LL_TMP/newer.db" "INSERT INTO schema_version VALUES (99)"
sed "s|^\[server\]$|[storage]\ndatabase = \"$LL_TMP/newer.db\"\n[server]|" "$LL_TMP/server.toml" >"$LL_TMP/newer.toml"
expect_refusal "a store of a newer schema" \
	"^lostlove-server: error: store: database schema version 99 is newer than this build knows \(2\): upgrade lostlove, or restore the backup taken before the upgrade" \
	"$LL_SERVER" -c "$LL_TMP/newer.toml"
sed 's|^\[server\]$|[storage]\ndatabase = "postgres://lostlove@db/lostlove"\n[server]|' "$LL_TMP/server.toml" >"$LL_TMP/pg.toml"
expect_refusal "a PostgreSQL database" \
	"key 'storage.database': PostgreSQL is not built yet: it arrives with the scale-out issue; use a SQLite path" \
	"$LL_SERVER" -c "$LL_TMP/pg.toml"

pass
