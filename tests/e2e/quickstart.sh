#!/usr/bin/env bash
# quickstart: the README's quick start, as written, with the binaries of
# this build: scripts/quickstart.sh configures a server (the embedded
# SQLite store, stealth standard, the TLS front on the same port, the admin
# socket), starts it, and adds the first user with lostlove-admin add-user,
# which prints a client config, a lostlove:// URI and a QR code; that config,
# unchanged (a full tunnel, transport auto), connects a real client; the
# script installed the binaries (here in a scratch prefix instead of
# /usr/local), and a second user added with plain `lostlove-admin add-user`
# from that PATH, as an operator types it, connects as well, through its URI.
#
#   cli 198.51.100.2 ── srv 198.51.100.1 (default route via cli)
#
# Usage: quickstart.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$@"

SRC=$(realpath "$(dirname "$0")/../..")
QS="$LL_TMP/qs"
SOCK="$LL_TMP/admin.sock"
PREFIX="$LL_TMP/prefix"

one_link
n srv ip route add default via 198.51.100.2

say "scripts/quickstart.sh (no package check, no build: this build's binaries)"
LL_NOTE="&> quickstart.log &" pretty srv scripts/quickstart.sh --dir "$QS" --endpoint 198.51.100.1 \
	--port 4443 --user alice --socket "$SOCK" --prefix "$PREFIX"
LL_LOGS[quickstart]="$LL_TMP/quickstart.log"
LL_QUICKSTART_BIN="$(dirname "$LL_SERVER")" ip netns exec "${LL_PREFIX}srv" \
	"$SRC/scripts/quickstart.sh" --dir "$QS" --endpoint 198.51.100.1 --port 4443 --user alice \
	--socket "$SOCK" --prefix "$PREFIX" >"$LL_TMP/quickstart.log" 2>&1 &
LL_PIDS[quickstart]=$!
wait_for_log quickstart '^quickstart: more users: ' 60
grep -q '^user alice added: 10\.8\.0\.2' "$LL_TMP/quickstart.log" || fail "no 'user alice added'"
grep -q '^lostlove://' "$LL_TMP/quickstart.log" || fail "no lostlove:// URI printed"
grep -q '▀\|▄' "$LL_TMP/quickstart.log" || fail "no QR code printed"
grep -q '^transport = "auto"' "$LL_TMP/quickstart.log" || fail "the client is not on transport auto"
grep -q '^stealth_mode = "standard"' "$LL_TMP/quickstart.log" || fail "the client has no stealth"

say "alice's printed config, as is, connects (full tunnel)"
sed -n '/^\[client\]/,/^# or import this URI:/p' "$QS/alice.client.txt" | sed '$d' >"$LL_TMP/alice.toml"
chmod 600 "$LL_TMP/alice.toml"
start_client alice cli
ping_ok cli 10.8.0.1 3

say "lostlove-admin add-user bob, from PATH; bob connects with his URI"
for b in lostlove-server lostlove-client lostlove-admin; do
	[ -x "$PREFIX/bin/$b" ] || fail "quickstart.sh did not install $b in $PREFIX/bin"
done
export PATH="$PREFIX/bin:$PATH"
[ "$(command -v lostlove-admin)" = "$PREFIX/bin/lostlove-admin" ] ||
	fail "lostlove-admin on PATH is $(command -v lostlove-admin), not the installed one"
LL_NOTE="(PATH=$PREFIX/bin:...)" pretty + lostlove-admin add-user bob
out=$(LOSTLOVE_ADMIN_SOCKET="$SOCK" lostlove-admin add-user bob)
uri=$(grep -m1 '^lostlove://' <<<"$out") || fail "add-user bob printed no URI"
ns_add cli2
veth cli2 d0 srv s2
addr cli2 d0 198.51.101.2/24
addr srv s2 198.51.101.1/24
n cli2 ip route add 198.51.100.0/24 via 198.51.101.1
n srv sysctl -qw net.ipv4.ip_forward=1
spawn client-bob cli2 "$LL_CLIENT" --config-uri "$uri"
wait_for_log client-bob '^lostlove-client: connected: ' 30
ping_ok cli2 10.8.0.1 3

pass
