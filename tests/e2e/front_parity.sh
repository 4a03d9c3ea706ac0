#!/usr/bin/env bash
# front_parity: to a censor's active prober, LostLove's TCP front is the
# nginx it imitates (docs/obfuscation.md, "TLS front", "Fallback and nginx
# mimic"). A real nginx 1.22.1 from the distribution runs beside the server
# with its own config and prefix (Debian's default http block, the default
# site, client_header_timeout 5s) on :8443; LostLove runs on :443 with the
# same certificate and front_header_timeout = 5. From another namespace
# tests/e2e/prober.py sends one battery (silence, a FIN, random payloads of
# the GFW's NR1/NR2 lengths and others, ClientHellos with and without SNI,
# eight mutated ones, HTTP over TLS: GET/HEAD/POST, bad and lower-case
# methods, HTTP/2 and 0.9, huge request line and header, half a request
# then silence, pipelining, a WebSocket upgrade with no valid token, plain
# HTTP on the TLS port) to both at once and requires, probe by probe, the
# same reply (Date aside; TLS records by type and length), the same first
# close (FIN, RST, close_notify, bare EOF, none within 6 s) and the same
# close time ±250 ms:
#   1. LostLove with that nginx as fallback_site vs nginx alone;
#   2. TLS layer: protocol, cipher, group, ALPN, session tickets and
#      resumption in TLS 1.2 and 1.3 (openssl s_client) and JA3S (tshark,
#      of curl's and s_client's handshakes) identical;
#   3. close thresholds (Frolov: 4096 bytes, doubled, then binary search)
#      identical: of an unfinished request line, and of a TLS record that
#      announces 16 KiB;
#   4. the built-in mimic (no fallback_site) vs the same nginx: the battery
#      and the threshold again;
#   5. bounded: 220 silent connections at once (more than
#      front_max_connections = 200): the extra ones wait in the backlog; a
#      real visitor behind them is answered when the header timeout frees
#      the slots; the server closes the silent ones, and none is left open
#      once the prober is gone.
#
#   ┌──── cli ──────────────────┐      ┌──── srv ─────────────────────────┐
#   │ prober.py, curl, openssl, │      │ lostlove-server :443 (tcp front) │
#   │ tcpdump                   │      │ nginx :8443 (fallback + witness) │
#   │ c0 198.51.100.2/24        ├──────┤ s0 198.51.100.1/24               │
#   └───────────────────────────┘ veth └──────────────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

PROBER="$(dirname "$0")/prober.py"
for tool in nginx tshark tcpdump curl openssl python3; do
	command -v "$tool" >/dev/null ||
		fail "$tool is missing: scripts/install-deps.sh installs it (a missing tool fails, it does not skip)"
done
INDEX=/var/www/html/index.nginx-debian.html
[ -f "$INDEX" ] || fail "$INDEX is missing (the nginx package's default page)"
LL_NGINX=$(command -v nginx)
MIMIC_MTIME=1686842780 # front/mimic.h MIMIC_INDEX_MTIME

one_link
SRV=198.51.100.1

say "certificate and nginx"
# RSA: its signatures have one length, so TLS 1.3's encrypted
# CertificateVerify record is the same size on every handshake (ECDSA's
# DER signatures vary by a byte or two).
run openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=example.com -keyout "$LL_TMP/tls.key" -out "$LL_TMP/tls.crt" 2>/dev/null
NGX=$LL_TMP/nginx
mkdir -p "$NGX/html" "$NGX/logs" "$NGX/tmp"
cp "$INDEX" "$NGX/html/"
touch -d "@$MIMIC_MTIME" "$NGX/html/index.nginx-debian.html"
chgrp -R "$LL_SERVICE_USER" "$NGX"
chmod -R g+rX "$NGX"
# Debian 12's /etc/nginx/nginx.conf http block and sites-available/default,
# with a TLS listener and the short header timeout both sides share.
cat >"$NGX/nginx.conf" <<EOF
user $LL_SERVICE_USER $LL_SERVICE_USER;
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log info;
events { worker_connections 768; }
http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
	ssl_prefer_server_ciphers on;
	access_log off;
	gzip on;
	client_header_timeout 5s;
	client_body_temp_path $NGX/tmp;
	proxy_temp_path $NGX/tmp;
	fastcgi_temp_path $NGX/tmp;
	uwsgi_temp_path $NGX/tmp;
	scgi_temp_path $NGX/tmp;
	server {
		listen 8443 ssl default_server;
		ssl_certificate $LL_TMP/tls.crt;
		ssl_certificate_key $LL_TMP/tls.key;
		root $NGX/html;
		index index.html index.htm index.nginx-debian.html;
		server_name _;
		location / {
			try_files \$uri \$uri/ =404;
		}
	}
}
EOF
spawn nginx srv "$LL_NGINX" -p "$NGX/" -c "$NGX/nginx.conf"
wait_until 10 tcp_listening srv 8443

# front_config MODE: server.toml with the TCP front, fallback or mimic.
front_config() {
	SRV_PORT=443
	SRV_EXTRA="
[obfuscation]
disguise_as = \"nginx\"
fallback_site = \"$1\"
front_header_timeout = 5
front_max_connections = 200"
	write_server_config
	sed -i "s|^protocol = \"udp\"$|protocol = \"both\"\ntls_certificate_file = \"$LL_TMP/tls.crt\"\ntls_key_file = \"$LL_TMP/tls.key\"|" \
		"$LL_TMP/server.toml"
	grep -q '^protocol = "both"$' "$LL_TMP/server.toml" || fail "could not set protocol = both"
}

start_front() {
	start_server
	wait_for_log server '^lostlove-server: front: tcp ' 5
	wait_until 5 tcp_listening srv 443
}

parity() {
	local what=$1
	say "parity: $what vs nginx"
	n cli python3 "$PROBER" parity "$SRV:443" "$SRV:8443" | tee "$LL_TMP/parity-$what.txt" ||
		fail "$what answers probes differently from nginx (see above)"
}

threshold() {
	local what=$1 out
	say "close threshold: $what vs nginx"
	out=$(nq cli python3 "$PROBER" threshold "$SRV:443" "$SRV:8443") ||
		fail "close thresholds differ: $out"
	echo "$out"
}

# ---- 1. fallback ----
front_config "https://127.0.0.1:8443"
start_front
parity fallback

# ---- 2. TLS layer ----
say "TLS layer: openssl s_client and JA3S"
a=$(nq cli python3 "$PROBER" tlsinfo "$SRV:443")
b=$(nq cli python3 "$PROBER" tlsinfo "$SRV:8443")
echo "lostlove: $a"
echo "nginx:    $b"
[ "$a" = "$b" ] || fail "TLS parameters differ"
grep -q '"tickets": 2' <<<"$a" || fail "expected nginx's two TLS 1.3 session tickets: $a"
grep -q '"alpn": "http/1.1"' <<<"$a" || fail "expected ALPN http/1.1: $a"
grep -q '"resumed12": "Reused", "resumed13": "Reused"' <<<"$a" ||
	fail "expected sessions resumed by ticket in TLS 1.2 and 1.3, as nginx: $a"
spawn tcpdump cli tcpdump --immediate-mode -Z root -i c0 -U -w "$LL_TMP/tls.pcap" "tcp port 443 or tcp port 8443"
wait_until 5 test -s "$LL_TMP/tcpdump.log"
for port in 443 8443; do
	nq cli curl -sk --http1.1 -o /dev/null "https://$SRV:$port/" || fail "curl :$port failed"
	nq cli curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "https://$SRV:$port/" ||
		fail "curl TLS 1.2 :$port failed"
	nq cli openssl s_client -connect "$SRV:$port" -servername example.com </dev/null >/dev/null 2>&1 ||
		fail "openssl s_client :$port failed"
	nq cli openssl s_client -connect "$SRV:$port" -tls1_2 </dev/null >/dev/null 2>&1 ||
		fail "openssl s_client -tls1_2 :$port failed"
done
sleep 0.5 # tcpdump -U has written every packet; this only lets it drain
stop tcpdump INT
ja3s() { tshark -r "$LL_TMP/tls.pcap" -Y "tls.handshake.type == 2 && tcp.srcport == $1" \
	-T fields -e tls.handshake.ja3s 2>/dev/null | tr '\n' ' '; }
j443=$(ja3s 443)
j8443=$(ja3s 8443)
echo "JA3S lostlove: $j443"
echo "JA3S nginx:    $j8443"
[ "$(wc -w <<<"$j443")" = 4 ] || fail "expected 4 ServerHellos from LostLove, got: $j443"
[ "$j443" = "$j8443" ] || fail "JA3S differ"

# ---- 3. close thresholds ----
threshold fallback
say "close threshold of a TLS record announcing 16 KiB: LostLove vs nginx"
out=$(nq cli python3 "$PROBER" threshold --tls "$SRV:443" "$SRV:8443") ||
	fail "TLS close thresholds differ: $out"
echo "$out"

# ---- 4. the mimic ----
stop_clean server
front_config ""
start_front
parity mimic
threshold mimic

# ---- 5. bounded under many connections ----
say "220 silent connections (front_max_connections = 200)"
n cli python3 - "$SRV" <<'EOF' || fail "the front did not stay bounded"
import socket, ssl, sys, time
srv = sys.argv[1]
held = [socket.create_connection((srv, 443)) for _ in range(220)]
t0 = time.monotonic()
# a real visitor, behind 20 others in the backlog: answered once the
# header timeout (5 s) frees the slots, not before
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c.check_hostname = False
c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection((srv, 443), timeout=20), server_hostname="example.com")
s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
reply = s.recv(100)
waited = time.monotonic() - t0
assert reply.startswith(b"HTTP/1.1 200 OK"), reply
assert 4.5 < waited < 7, waited
# the 200 accepted first were closed by the server's header timeout
closed = 0
for h in held:
    h.settimeout(max(0.05, t0 + 6.5 - time.monotonic()))
    try:
        if h.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print("visitor answered after %.1f s; %d of 220 silent connections closed by the server "
      "within 6.5 s" % (waited, closed))
assert closed >= 200, closed
EOF
check_daemons
# what probers got is counted (the stats line, SIGUSR1)
server_stats >/dev/null
for key in accepted not_tls tls_failed to_mimic http_rejected timeouts; do
	grep -Eq "; front:.* $key=[1-9]" <<<"$LL_STATS" || fail "no front counter $key in: $LL_STATS"
done
grep -Eq "; front:.* to_fallback=" <<<"$LL_STATS" && fail "to_fallback counted with the mimic"
no_front_conns() { [ "$(nq srv ss -Htn state established "sport = :443" | wc -l)" = 0 ]; }
# the prober's sockets closed as it exited: the server closes its side
try_until 5 no_front_conns || fail "connections left open on :443 after $LL_WAITED s:
$(nq srv ss -Htn state established "sport = :443" | head)"
pass
