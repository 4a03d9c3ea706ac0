#!/usr/bin/env bash
# front_proxy: the TCP front behind a load balancer that speaks PROXY
# protocol v2 (server.proxy_protocol = true), on the real server binary:
#   1. a v2 header (IPv4 and IPv6 sources), then TLS: served as usual (the
#      mimic's index page);
#   2. no header (a ClientHello, plain HTTP), a v1 text header, a v2 header
#      with a wrong signature byte or a UDP address block: closed at once
#      without a byte; the bytes were only peeked, so the close is a reset,
#      as from nginx with proxy_protocol (it peeks the same way);
#   3. the refusals are counted (proxy_bad in the stats line) and the
#      server lives on.
#
#   ┌──── cli ──────────────────┐      ┌──── srv ──────────────────┐
#   │ python3 (the "balancer")  │      │ lostlove-server :443      │
#   │ c0 198.51.100.2/24        ├──────┤ s0 198.51.100.1/24        │
#   └───────────────────────────┘ veth └───────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"
one_link
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=example.com -keyout "$LL_TMP/tls.key" -out "$LL_TMP/tls.crt" 2>/dev/null
SRV_PORT=443
SRV_EXTRA="
[obfuscation]
front_header_timeout = 3"
write_server_config
sed -i "s|^protocol = \"udp\"$|protocol = \"both\"\ntls_certificate_file = \"$LL_TMP/tls.crt\"\ntls_key_file = \"$LL_TMP/tls.key\"\nproxy_protocol = true|" \
	"$LL_TMP/server.toml"
grep -q '^proxy_protocol = true$' "$LL_TMP/server.toml" || fail "could not set proxy_protocol"
start_server
wait_for_log server '^lostlove-server: front: tcp ' 5

say "PROXY v2 headers, good and bad"
n cli python3 - 198.51.100.1 <<'EOF' || fail "the front did not handle PROXY v2 as documented"
import socket, ssl, struct, sys
srv = sys.argv[1]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def v2(fam, src, dst, sport, dport):
    if fam == 0x11:
        body = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
    else:
        body = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    body += struct.pack("!HH", sport, dport)
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body

def served(header):
    raw = socket.create_connection((srv, 443), timeout=5)
    raw.sendall(header)
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    s = c.wrap_socket(raw, server_hostname="example.com")
    s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except ssl.SSLError:
        pass
    return data

def refused(payload):
    s = socket.create_connection((srv, 443), timeout=5)
    s.sendall(payload)
    try:
        d = s.recv(100)
    except ConnectionResetError:
        return "RST"
    return "FIN" if d == b"" else "data"

for hdr in (v2(0x11, "192.0.2.7", "198.51.100.1", 40000, 443),
            v2(0x21, "2001:db8::7", "2001:db8::1", 40000, 443)):
    r = served(hdr)
    assert r.startswith(b"HTTP/1.1 200 OK") and b"Welcome to nginx!" in r, r[:80]
hello = ssl.MemoryBIO(), ssl.MemoryBIO()
o = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_bio(hello[0], hello[1], server_hostname="x")
try:
    o.do_handshake()
except ssl.SSLWantReadError:
    pass
bad = {
    "no header, a ClientHello": hello[1].read(),
    "no header, plain HTTP": b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "a v1 header": b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n",
    "a wrong signature byte": b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c" + bytes(12),
    "a UDP address block": SIG + b"\x21\x12\x00\x0c" + bytes(12),
}
for what, payload in bad.items():
    r = refused(payload)
    print("%-26s -> %s" % (what, r))
    assert r == "RST", (what, r)
print("2 served, %d refused without a byte" % len(bad))
EOF
server_stats >/dev/null
grep -Eq "; front:.* proxy_bad=5( |;|$)" <<<"$LL_STATS" || fail "expected proxy_bad=5 in: $LL_STATS"
check_daemons
pass
