#!/usr/bin/env bash
# domain_fronting: the tunnel behind a real nginx that terminates TLS, as a
# CDN or a reverse proxy does (docs/obfuscation.md, "Deploying behind a
# CDN or reverse proxy").
#
#   cli (198.51.100.2) ── srv: nginx 198.51.100.1:443 (TLS) ── LostLove front 127.0.0.1:51820 (plain HTTP)
#                              └── inet (203.0.113.2)
#
# nginx serves front.test (the innocuous name in the SNI) and hidden.test,
# whose /tunnel it proxies, WebSocket upgrade included, to LostLove's front
# in plain-HTTP mode. The client sends SNI front.test and Host hidden.test:
# an observer of the TLS handshake sees only front.test. The client must
# get a tunnel (ping and TCP through it); a browser asking front.test gets
# front.test's page; with tls_verify = true the client refuses the
# self-signed certificate, and takes it once it is a trusted CA; the same
# upgrade with Host front.test gets no tunnel.
LL_NAME=domain_fronting
source "$(dirname "$0")/lib.sh" "$@"

for t in nginx openssl curl; do
	command -v "$t" >/dev/null || fail "$t is needed (scripts/install-deps.sh)"
done

behind_server

say "nginx in front (its own config in the test directory)"
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=front.test -addext "subjectAltName=DNS:front.test,DNS:hidden.test" \
	-keyout "$LL_TMP/front.key" -out "$LL_TMP/front.crt"
mkdir -p "$LL_TMP/nginx"
cat >"$LL_TMP/nginx.conf" <<-EOF
	user root;
	worker_processes 1;
	pid $LL_TMP/nginx/nginx.pid;
	error_log $LL_TMP/nginx/error.log info;
	events { worker_connections 256; }
	http {
	    access_log $LL_TMP/nginx/access.log;
	    client_body_temp_path $LL_TMP/nginx/body;
	    proxy_temp_path $LL_TMP/nginx/proxy;
	    fastcgi_temp_path $LL_TMP/nginx/fastcgi;
	    uwsgi_temp_path $LL_TMP/nginx/uwsgi;
	    scgi_temp_path $LL_TMP/nginx/scgi;
	    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
	    ssl_certificate $LL_TMP/front.crt;
	    ssl_certificate_key $LL_TMP/front.key;
	    server {
	        listen 198.51.100.1:443 ssl default_server;
	        server_name front.test;
	        location / { return 200 "the front page\n"; }
	    }
	    server {
	        listen 198.51.100.1:443 ssl;
	        server_name hidden.test;
	        location /tunnel {
	            proxy_pass http://127.0.0.1:51820;
	            proxy_http_version 1.1;
	            proxy_set_header Upgrade \$http_upgrade;
	            proxy_set_header Connection \$connection_upgrade;
	            proxy_set_header Host \$host;
	            proxy_read_timeout 600s;
	        }
	    }
	}
EOF
spawn nginx srv nginx -c "$LL_TMP/nginx.conf" -g 'daemon off;'
wait_until 5 tcp_listening srv 443

say "LostLove behind it: the front in plain-HTTP mode on 127.0.0.1"
add_user alice 10.8.0.2 fd00:8::2
SRV_BIND=127.0.0.1
SRV_PROTOCOL=tcp
SRV_EGRESS=s1
SRV_SERVER_EXTRA=''
SRV_EXTRA='
[obfuscation]
front_tls = false'
write_server_config
write_client_config alice 198.51.100.1:443 '["203.0.113.0/24"]' \
	'transport = "tls"
sni = "front.test"
host = "hidden.test"
path = "/tunnel"'
start_server

say "a browser asking for front.test gets its page"
out=$(nq cli curl -sk --resolve front.test:443:198.51.100.1 https://front.test/)
[ "$out" = "the front page" ] || fail "front.test answered: $out"

say "the client: SNI front.test, Host hidden.test"
start_client alice cli
ping_ok cli 203.0.113.2
make_data "$LL_TMP/data.bin" 10
transfer_check cli inet receiver 203.0.113.2 5001 "$LL_TMP/data.bin"
transfer_check inet cli sender 203.0.113.2 5002 "$LL_TMP/data.bin"

say "tls_verify: the self-signed certificate is refused, trusted it is taken"
stop_clean client-alice
sed -i 's/^path = "\/tunnel"$/path = "\/tunnel"\ntls_verify = true/' "$LL_TMP/alice.toml"
grep -q '^tls_verify = true' "$LL_TMP/alice.toml" || fail "could not set tls_verify"
spawn client-verify cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
try_until 6 log_has "$(log_of client-verify)" '^lostlove-client: connected: ' 0 &&
	fail "tls_verify = true accepted a certificate no trusted CA signed"
alive client-verify || fail "the client with tls_verify = true died"
log_has "$(log_of client-verify)" 'TLS connection to the server failed: .*certificate verify failed' ||
	fail "the client did not say why it cannot connect: $(tail -n 3 "$(log_of client-verify)")"
echo "   no tunnel in $LL_WAITED s with an untrusted certificate, as expected: $(grep -m1 -o 'TLS connection.*' "$(log_of client-verify)")"
stop client-verify
# (OpenSSL's default verify paths honour SSL_CERT_FILE: the test's CA)
spawn client-trusted cli env SSL_CERT_FILE="$LL_TMP/front.crt" "$LL_CLIENT" -c "$LL_TMP/alice.toml"
wait_for_log client-trusted '^lostlove-client: connected: ' 20
ping_ok cli 203.0.113.2 3
stop_clean client-trusted
sed -i '/^tls_verify = true$/d' "$LL_TMP/alice.toml"

say "the same client with Host front.test: no tunnel"
# (nginx logs an upgraded request when its connection ends)
wait_until 5 grep -q '"GET /tunnel HTTP/1.1" 101 ' "$LL_TMP/nginx/access.log"
sed -i 's/^host = "hidden.test"/host = "front.test"/' "$LL_TMP/alice.toml"
spawn client-alice2 cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
try_until 8 log_has "$(log_of client-alice2)" '^lostlove-client: connected: ' 0 &&
	fail "the client got a tunnel through front.test's own server block"
echo "   no tunnel in $LL_WAITED s, as expected"
stop client-alice2
server_stats
pass
