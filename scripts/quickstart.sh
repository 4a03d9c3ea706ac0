#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine (as root): installs what is
# needed, builds, creates the service user lostlove and a server
# configuration with a generated key (first run only; later runs reuse it),
# runs the server on its embedded SQLite store with the admin API on
# /run/lostlove/admin.sock, adds one user through it (first run) with
# `lostlove-admin add-user`, which prints the user's client configuration,
# lostlove:// URI and QR code, then keeps the server in the foreground
# (Ctrl-C stops it); it drops to lostlove once set up. The binaries are
# installed in PREFIX/bin (/usr/local/bin, on sudo's secure_path), so more
# users are `sudo lostlove-admin add-user NAME` from another terminal.
#
#   sudo scripts/quickstart.sh [--dir DIR] [--endpoint HOST] [--port N] [--user NAME]
#                              [--protocol udp|tcp|both] [--stealth-mode off|standard|maximum]
#                              [--socket PATH] [--prefix PREFIX]
#
# DIR defaults to /etc/lostlove; HOST to this machine's address on its
# default route (what clients must reach; pass --endpoint behind NAT). The
# server it configures hides by default (docs/obfuscation.md): UDP in the
# stealth framing (--stealth-mode, default standard) and the TLS front with
# its nginx mimic on TCP of the same port (--protocol, default both), so the
# client it prints uses transport "auto".
set -euo pipefail
cd "$(dirname "$0")/.."

dir=/etc/lostlove
endpoint=""
port=443
user=user1
protocol=both
stealth=standard
socket=/run/lostlove/admin.sock
prefix=/usr/local
# LL_QUICKSTART_BIN: binaries already built there (tests/e2e/quickstart.sh):
# no package check, no build
bin=${LL_QUICKSTART_BIN:-build/src/cmd}
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--endpoint) endpoint=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--user) user=$2; shift 2 ;;
	--protocol) protocol=$2; shift 2 ;;
	--stealth-mode) stealth=$2; shift 2 ;;
	--socket) socket=$2; shift 2 ;;
	--prefix) prefix=$2; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "quickstart: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

log() { echo "quickstart: $*" >&2; }

case "$protocol" in udp | tcp | both) ;; *) log "--protocol must be udp, tcp or both"; exit 2 ;; esac
case "$stealth" in off | standard | maximum) ;; *) log "--stealth-mode must be off, standard or maximum"; exit 2 ;; esac

build() {
	[ -z "${LL_QUICKSTART_BIN:-}" ] || return 0
	scripts/install-deps.sh >&2
	if [ -d build ]; then meson setup --reconfigure build -Dtest_hooks=false >/dev/null; else meson setup build >/dev/null; fi
	ninja -C build >&2
}

# The three binaries into PREFIX/bin, so `sudo lostlove-admin ...` works as
# typed: sudo's secure_path has /usr/local/bin, not this checkout. Copies
# (what `meson install` does for them), not links: the checkout may move.
install_binaries() {
	local b
	install -d -m 0755 "$prefix/bin"
	for b in lostlove-server lostlove-client lostlove-admin; do
		install -m 0755 "$bin/$b" "$prefix/bin/$b"
	done
	log "installed lostlove-server, lostlove-client and lostlove-admin in $prefix/bin"
}

# The service user the daemons drop to (docs/configuration.md, "The service
# user"): a system account without a home or a shell, and its own group.
service_user() {
	if id -u lostlove >/dev/null 2>&1; then
		return
	fi
	useradd --system --no-create-home --shell /usr/sbin/nologin lostlove
	log "created the system user lostlove"
}

# What the server needs once it is lostlove: to replace lostlove.state in
# DIR (group-writable, sticky: it can replace only its own files) and to
# re-read users.toml on SIGHUP (root:lostlove 0640), and to load the TLS
# front's certificate and key (root:lostlove 0640: the front starts after
# the drop). The key, server.toml and client configurations stay root's
# (0600): they are read before the drop. Only a directory holding a
# server.toml (ours) is changed.
permissions() {
	[ -f "$dir/server.toml" ] || return
	chown root:lostlove "$dir"
	chmod 1770 "$dir"
	for f in users.toml tls.crt tls.key; do
		[ -f "$dir/$f" ] || continue
		chown root:lostlove "$dir/$f"
		chmod 0640 "$dir/$f"
	done
	log "$dir is root:lostlove 1770, users.toml and the TLS pair root:lostlove 0640"
}

default_endpoint() {
	# a route lookup only: nothing is sent
	ip -o route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p'
}

# Writes server.toml and the server key, unless server.toml already
# exists. Users are added through the admin API (below).
configure() {
	if [ -f "$dir/server.toml" ]; then
		log "reusing the configuration in $dir"
		return
	fi
	install -d -m 0700 "$dir"
	umask 077
	sed -e "s/^port = 443/port = $port/" \
	    -e "s/^protocol = \"udp\"/protocol = \"$protocol\"/" \
	    -e 's/^tls_certificate_file = ""/tls_certificate_file = "tls.crt"/' \
	    -e 's/^tls_key_file = ""/tls_key_file = "tls.key"/' \
	    -e "s/^endpoint = \"\"/endpoint = \"$endpoint\"/" \
	    -e "s|^socket = \"/run/lostlove/admin.sock\"|socket = \"$socket\"|" \
	    config/server.toml >"$dir/server.toml"
	if [ "$stealth" = off ]; then
		cp config/obfuscation.toml "$dir/obfuscation.toml"
	else
		sed -e 's/^enabled = false/enabled = true/' \
		    -e "s/^stealth_mode = \"standard\"/stealth_mode = \"$stealth\"/" \
		    config/obfuscation.toml >"$dir/obfuscation.toml"
	fi
	# the TLS front (protocol = "tcp"/"both") needs a certificate: a
	# self-signed one until a real one replaces tls.crt/tls.key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
		-subj "/CN=$endpoint" -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
	lostlove-admin genkey >"$dir/server.key"
	: >"$dir/users.toml"
	log "created $dir (server key, server.toml, an empty users.toml)"
}

build
install_binaries
export PATH="$prefix/bin:$PATH"
[ -n "$endpoint" ] || endpoint=$(default_endpoint)
[ -n "$endpoint" ] || { log "no default route: pass --endpoint HOST"; exit 1; }
service_user
configure
permissions
lostlove-server --check-config -c "$dir/server.toml" >&2

# The server in the background until its admin socket answers, the first
# user added through it (its config, URI and QR code are printed), then the
# server in the foreground.
export LOSTLOVE_ADMIN_SOCKET=$socket
lostlove-server -c "$dir/server.toml" &
server=$!
trap 'kill -TERM $server 2>/dev/null' INT TERM
for _ in $(seq 300); do
	lostlove-admin stats >/dev/null 2>&1 && break
	kill -0 $server 2>/dev/null || { wait $server; exit 1; }
	sleep 0.1
done
if lostlove-admin --json list-users | grep -q "\"name\": \"$user\""; then
	log "user '$user' exists: its configuration again"
	lostlove-admin show-user "$user" | tee "$dir/$user.client.txt"
else
	lostlove-admin add-user "$user" | tee "$dir/$user.client.txt"
fi
log "saved as $dir/$user.client.txt; on the client: the [client] part as client.toml,"
log "then sudo lostlove-client -c client.toml (or lostlove-client --config-uri URI)"
if [ "$socket" = /run/lostlove/admin.sock ]; then
	log "more users: sudo lostlove-admin add-user NAME"
else
	log "more users: sudo lostlove-admin --socket $socket add-user NAME"
fi
wait $server
