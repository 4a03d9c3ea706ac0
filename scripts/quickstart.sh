#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine (as root): installs what is
# needed, builds, creates the service user lostlove, a server configuration
# with generated keys and one user (first run only; later runs reuse it),
# prints that user's client configuration, then runs the server in the
# foreground (Ctrl-C stops it); it drops to lostlove once set up.
#
#   sudo scripts/quickstart.sh [--dir DIR] [--endpoint HOST] [--port N] [--user NAME]
#                              [--protocol udp|tcp|both] [--stealth-mode off|standard|maximum]
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
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--endpoint) endpoint=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--user) user=$2; shift 2 ;;
	--protocol) protocol=$2; shift 2 ;;
	--stealth-mode) stealth=$2; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "quickstart: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

log() { echo "quickstart: $*" >&2; }

case "$protocol" in udp | tcp | both) ;; *) log "--protocol must be udp, tcp or both"; exit 2 ;; esac
case "$stealth" in off | standard | maximum) ;; *) log "--stealth-mode must be off, standard or maximum"; exit 2 ;; esac

build() {
	scripts/install-deps.sh >&2
	if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
	ninja -C build >&2
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

# The stealth_mode a client needs for the server's obfuscation file: its
# stealth_mode if enabled, otherwise "off".
stealth_of() {
	local enabled mode
	enabled=$(sed -n 's/^enabled *= *\(true\|false\).*/\1/p' "$1")
	mode=$(sed -n 's/^stealth_mode *= *"\([a-z]*\)".*/\1/p' "$1")
	[ "$enabled" = true ] && echo "${mode:-standard}" || echo off
}

# The client's transport keys when the server also serves its TLS front
# (protocol "tcp" or "both", on the same port over TCP): "tls" for a
# TCP-only server, "auto" (UDP, TLS when UDP is blocked) for both.
client_transport() {
	local proto
	proto=$(sed -n 's/^protocol *= *"\([a-z]*\)".*/\1/p' "$dir/server.toml")
	case "$proto" in
	tcp) echo 'transport = "tls"' ;;
	both) echo 'transport = "auto"' ;;
	*) return 0 ;;
	esac
	cat <<EOT
tls_port = 0                      # the TLS front: TCP on the same port
# sni = "www.example.com"         # the TLS server name (default: the server's host)
# host = "www.example.com"        # the HTTP Host, if it differs (domain fronting)
# path = "/"                      # the WebSocket path a reverse proxy routes on
tls_verify = false                # the tunnel authenticates the server itself
EOT
}

# Writes server.toml, the server key, users.toml with one user and that
# user's client.toml, unless server.toml already exists.
configure() {
	local admin=build/src/cmd/lostlove-admin
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
	"$admin" genkey >"$dir/server.key"
	local server_pub client_priv client_pub psk
	server_pub=$("$admin" pubkey <"$dir/server.key")
	client_priv=$("$admin" genkey)
	client_pub=$(echo "$client_priv" | "$admin" pubkey)
	psk=$("$admin" genpsk)
	cat >"$dir/users.toml" <<EOT
# Users allowed to connect (docs/configuration.md). Reload with: systemctl reload lostlove-server
[[user]]
name = "$user"
public_key = "$client_pub"
psk = "$psk"
ipv4 = "10.8.0.2"
ipv6 = "fd00:8::2"
EOT
	cat >"$dir/$user.client.toml" <<EOT
# LostLove client configuration for "$user": lostlove-client -c $user.client.toml
[client]
server = "$endpoint_str:$port"
server_public_key = "$server_pub"
private_key = "$client_priv"
psk = "$psk"
routes = ["0.0.0.0/0", "::/0"]
$(client_transport)

# must be the server's stealth_mode (obfuscation.toml), or the server stays silent
[obfuscation]
stealth_mode = "$(stealth_of "$dir/obfuscation.toml")"
EOT
	log "created $dir (server key, users.toml with '$user', $user.client.toml)"
}

build
[ -n "$endpoint" ] || endpoint=$(default_endpoint)
[ -n "$endpoint" ] || { log "no default route: pass --endpoint HOST"; exit 1; }
case "$endpoint" in *:*) endpoint_str="[$endpoint]" ;; *) endpoint_str=$endpoint ;; esac
service_user
configure
permissions
build/src/cmd/lostlove-server --check-config -c "$dir/server.toml" >&2

echo "----- client configuration for '$user' ($dir/$user.client.toml) -----"
cat "$dir/$user.client.toml"
echo "----- run it on the client with: sudo lostlove-client -c $user.client.toml -----"
exec build/src/cmd/lostlove-server -c "$dir/server.toml"
