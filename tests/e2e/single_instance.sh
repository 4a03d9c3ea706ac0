#!/usr/bin/env bash
# single_instance: a second daemon that would share what the first one owns
# refuses to start, with a clear error and exit status 1, and the first one
# is not disturbed (its client keeps pinging through it):
#   1. a second server with the same configuration: the state directory's
#      lock ("another lostlove-server holds DIR (pid N)", N the first's);
#   2. a second server with its own state directory on the same port: the
#      port probe ("UDP 0.0.0.0:51820 is in use by another process"), and
#      the same with a specific address inside the first's wildcard;
#   3. a second server with its own directory and port on the same TUN
#      name: IFF_TUN_EXCL ("TUN device 'll0' exists already");
#   4. a second client with the same tun_name: refused before it sends
#      anything (the server sees no second handshake), and the first keeps
#      its tunnel.
#
#   ┌──── cli ─────────────────────┐      ┌──── srv ──────────────────────┐
#   │ lostlove-client (alice)      │      │ lostlove-server :51820, ll0   │
#   │ ll0 10.8.0.2/24              │      │ ll0 10.8.0.1/24               │
#   │ second client: refused       │      │ second servers: refused       │
#   │ c0 198.51.100.2/24           ├──────┤ s0 198.51.100.1/24            │
#   └──────────────────────────────┘ veth └───────────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

one_link

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'

say "the first server and its client"
start_server
start_client alice cli
ping_ok cli 10.8.0.1 3
first=$(pid_of server)

# other_config NAME SED_SCRIPT: $LL_TMP/NAME/server.toml, the first one's
# with its own state directory (key and users copied there) and SED_SCRIPT
# applied. (A refused server stops before it would drop privileges: the
# directory needs nothing more.)
other_config() {
	local dir="$LL_TMP/$1"
	mkdir "$dir"
	cp -p "$LL_TMP/server.key" "$LL_TMP/users.toml" "$dir/"
	sed -e "s|$LL_TMP/server.key|$dir/server.key|" -e "s|$LL_TMP/users.toml|$dir/users.toml|" \
		-e "$2" "$LL_TMP/server.toml" >"$dir/server.toml"
	pretty + write "$1/server.toml" "($2)"
}

# refused NS WHAT REGEX CMD...: CMD must exit 1, saying REGEX, within 20 s.
refused() {
	local ns=$1 what=$2 regex=$3 out status=0
	shift 3
	LL_NOTE="(must be refused: $what)" pretty "$ns" "$@"
	out=$(nq "$ns" timeout 20 "$@" 2>&1) || status=$?
	grep -E 'error' <<<"$out" || true
	[ "$status" = 1 ] || fail "$what: exit status $status, expected 1; output:
$out"
	grep -Eq -- "$regex" <<<"$out" || fail "$what: no line matching /$regex/ in:
$out"
	log_has "$(log_of server)" 'stopping' && fail "$what: the first server stopped"
	alive server || fail "$what: the first server died"
	[ "$(pid_of server)" = "$first" ] || fail "$what: the first server changed"
	ping_ok cli 10.8.0.1 3
}

say "1: the same configuration"
refused srv "the same configuration" \
	"^lostlove-server: error: another lostlove-server holds $LL_TMP \(pid $first\)\$" \
	"$LL_SERVER" -c "$LL_TMP/server.toml"

say "2: its own state directory, the same port"
other_config port 's/^tun_name = .*/tun_name = "ll1"/'
refused srv "the same port" \
	'^lostlove-server: error: UDP 0\.0\.0\.0:51820 is in use by another process$' \
	"$LL_SERVER" -c "$LL_TMP/port/server.toml"
other_config port_addr 's/^tun_name = .*/tun_name = "ll1"/; s/^bind_address = .*/bind_address = "198.51.100.1"/'
refused srv "the same port on an address inside the first's wildcard" \
	'^lostlove-server: error: UDP 198\.51\.100\.1:51820 is in use by another process$' \
	"$LL_SERVER" -c "$LL_TMP/port_addr/server.toml"

say "3: its own state directory and port, the same TUN name"
other_config tun 's/^port = .*/port = 51821/'
refused srv "the same TUN name" \
	"^lostlove-server: error: TUN device 'll0' exists already: another lostlove-server \(or another program\) uses it" \
	"$LL_SERVER" -c "$LL_TMP/tun/server.toml"
n srv ip -br link show ll1 2>/dev/null && fail "a refused server left its TUN device ll1 behind"
n srv nft list table inet lostlove >/dev/null # the first one's, still there

say "4: a second client with the same tun_name"
handshakes=$(log_count server 'user "alice" connected')
refused cli "the same tun_name" \
	"^lostlove-client: error: TUN device 'll0' exists already: another lostlove-client \(or another program\) uses it" \
	"$LL_CLIENT" -c "$LL_TMP/alice.toml"
[ "$(log_count server 'user "alice" connected')" = "$handshakes" ] ||
	fail "the refused client reached the server (a new session for alice)"
alive client-alice || fail "the first client died"
log_has "$(log_of client-alice)" 'reconnecting' && fail "the first client lost its session"
ping_ok cli 10.8.0.1 5
pass
