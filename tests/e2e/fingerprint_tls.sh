#!/usr/bin/env bash
# fingerprint_tls: the censor's tools on the TLS front, against the server it
# imitates (research P4-T2, the server's half). The same clients connect to
# LostLove's front (protocol "both", the nginx mimic) and to a real nginx
# 1.22.1 with the same certificate, both on port 443; captures of both are
# judged by nDPI 4.2 (protocol and risk flags per flow), tshark (JA3S), the
# FET rule and the burst measures. What a DPI box flags must be the same for
# both servers, flow by flow.
#
#   ┌──── cli ──────────────┐      ┌──── srv ───────────────────────┐
#   │ c0 198.51.100.2/24    ├──────┤ s0 198.51.100.1 :443 LostLove  │
#   │ ll0 10.8.0.2 (tunnel) │ veth │ ll0 10.8.0.1, nginx :5443      │
#   │                       │      └────────────────────────────────┘
#   │ c1 192.0.2.2/24       ├──────┐ ┌──── web ─────────────────────┐
#   │ curl, openssl s_client│ veth └─┤ w0 192.0.2.1 :443 nginx      │
#   └───────────────────────┘        └──────────────────────────────┘
#
# Clients, in this order, to each server: curl --http1.1 (SNI, ALPN
# http/1.1), curl (ALPN h2 and http/1.1), curl with TLS 1.2 only (so the
# certificate is visible to nDPI), openssl s_client without ALPN (nDPI's
# TLS_NOT_CARRYING_HTTPS, on both or neither), openssl s_client with the
# browser-like offer of lostlove-client.
#
# Then LostLove's own client (transport = "tls") opens its tunnel through
# the front (research P4-T2, the client's half), and joins its session on
# 5 new connections after each is killed: each of its flows must carry
# the risk flags of curl's to nginx (none), each first payload must be
# exempt from the FET rule, and the 4-burst measures of Xue 2024 (P1-T9, P4-T4)
# are reported for it, with an HTTPS fetch through the tunnel (a TLS
# handshake inside the TLS connection) against the curl baseline.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/fingerprint_lib.sh"

for t in tcpdump tshark nginx curl openssl; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh installs it)"
done
NDPI_FLOWS=$(find_binary ndpi_flows)
FET=$(find_binary fet)
XUE=$(find_binary xue_rules)
NAME=www.example.com
JOINS=5

say "topology"
ns_add cli
ns_add srv
ns_add web
veth cli c0 srv s0
veth cli c1 web w0
addr cli c0 198.51.100.2/24
addr srv s0 198.51.100.1/24
addr cli c1 192.0.2.2/24
addr web w0 192.0.2.1/24

say "one certificate for both servers"
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
	-subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" \
	-keyout "$LL_TMP/tls.key" -out "$LL_TMP/tls.crt" 2>/dev/null
# the front loads them after the server became its service user
chgrp "$LL_SERVICE_USER" "$LL_TMP/tls.key" "$LL_TMP/tls.crt"
chmod 640 "$LL_TMP/tls.key"

say "LostLove: protocol both on 443, the nginx mimic"
add_user alice 10.8.0.2 fd00:8::2
SRV_PORT=443
SRV_PROTOCOL=both
SRV_SERVER_EXTRA="tls_certificate_file = \"$LL_TMP/tls.crt\"
tls_key_file = \"$LL_TMP/tls.key\"
"
SRV_OPEN_PORTS='["tcp/5443"]'
write_server_config
write_client_config alice 198.51.100.1:443 '[]' "transport = \"tls\"
sni = \"$NAME\"
host = \"$NAME\""
start_server
wait_for_log server '^lostlove-server: front: tcp ' 5

say "nginx 1.22.1 on 443 with Debian's TLS settings; a second one inside the tunnel"
mkdir -p "$LL_TMP/www"
echo "<html>nginx</html>" >"$LL_TMP/www/index.html"
# nginx_conf NAME LISTEN: fingerprint_lib.sh's, serving $LL_TMP/www
nginx_conf() {
	fp_nginx_conf "$1" "$2" "root $LL_TMP/www;"
}
nginx_conf nginx 443
spawn nginx web nginx -e "$LL_TMP/nginx-error.log" -c "$LL_TMP/nginx.conf"
wait_until 5 tcp_listening web 443

say "captures on the client's two links"
for ifc in c0 c1; do
	spawn "tcpdump-$ifc" cli tcpdump -i $ifc -n -s 0 -B 16384 --immediate-mode -Z root -w "$LL_TMP/$ifc.pcap" tcp port 443
	wait_for_log "tcpdump-$ifc" "listening on $ifc" 10
done

# The ClientHello lostlove-client sends (src/client/client_ws.c: Chrome's
# offer as far as OpenSSL 3.0 can say it), made by openssl s_client so that
# nginx, which never meets the client, can be asked the same question. Its own JA3 differs from the client's
# (OpenSSL adds and orders extensions per call site): the offer, not the
# fingerprint.
BROWSER_LIKE=(-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
	-cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA
	-groups X25519:P-256:P-384 -alpn h2,http/1.1 -status -no_etm)

# clients IP: the same five connections, in the same order
clients() {
	local ip=$1
	local r=(--resolve "$NAME:443:$ip")
	n cli curl -sk --http1.1 "${r[@]}" -o /dev/null -w '%{http_code} %{http_version}\n' "https://$NAME/"
	n cli curl -sk "${r[@]}" -o /dev/null -w '%{http_code} %{http_version}\n' "https://$NAME/"
	n cli curl -sk --tlsv1.2 --tls-max 1.2 "${r[@]}" -o /dev/null -w '%{http_code}\n' "https://$NAME/"
	n cli timeout 10 openssl s_client -connect "$ip:443" -servername "$NAME" </dev/null >/dev/null 2>&1 || true
	n cli timeout 10 openssl s_client -connect "$ip:443" -servername "$NAME" "${BROWSER_LIKE[@]}" \
		</dev/null >/dev/null 2>&1 || true
}
say "clients to LostLove"
clients 198.51.100.1
say "clients to nginx"
clients 192.0.2.1
say "LostLove's client over TLS; an HTTPS fetch through its tunnel"
start_client alice cli
ping_ok cli 10.8.0.1 3
nginx_conf inner 10.8.0.1:5443
spawn nginx-inner srv nginx -e "$LL_TMP/inner-error.log" -c "$LL_TMP/inner.conf"
wait_until 5 tcp_listening srv 5443
n cli curl -sk --http1.1 --resolve "$NAME:5443:10.8.0.1" -o /dev/null -w '%{http_code}\n' \
	"https://$NAME:5443/"
say "$JOINS more connections: each killed (ss -K), the client joins its session on a new one"
for ((i = 1; i <= JOINS; i++)); do
	nq cli ss -K -t dst 198.51.100.1 dport = 443 >/dev/null
	ping_ok cli 10.8.0.1 2 >/dev/null
done
stop_clean client-alice
stop tcpdump-c0 INT
stop tcpdump-c1 INT
for ifc in c0 c1; do
	log=$(cat "$(log_of "tcpdump-$ifc")")
	got=$(sed -nE 's/^([0-9]+) packets captured$/\1/p' <<<"$log")
	seen=$(sed -nE 's/^([0-9]+) packets received by filter$/\1/p' <<<"$log")
	[ -n "$got" ] && [ "$got" = "$seen" ] && grep -q '^0 packets dropped by kernel$' <<<"$log" ||
		fail "the capture on $ifc is incomplete: $log"
done

say "nDPI 4.2: protocol and risks, flow by flow, LostLove vs nginx"
# TLS_FATAL_ALERT is left out: nDPI 4.2 reads the level byte of every alert
# record, also of an encrypted one (curl's close_notify after a TLS 1.2
# session), whose first byte is ciphertext: one connection in 256 gets it
# by chance, to either server. Plaintext alerts are compared with tshark.
verdicts() {
	"$NDPI_FLOWS" -p 443 "$LL_TMP/$1.pcap" | grep '^flow ' |
		sed -E 's/^flow [^ ]+ [^ ]+ <-> [^ ]+ packets=[0-9/]+ //; s/ guessed=[a-z]+ confidence=[^ ]+//' |
		sed -E 's/,?TLS_FATAL_ALERT//; s/risks=,/risks=/; s/risks=$/risks=none/'
}
all=$(verdicts c0)
ll=$(head -n 5 <<<"$all")
tunnel=$(tail -n +6 <<<"$all")
ngx=$(verdicts c1)
printf 'LostLove:\n%s\nnginx:\n%s\nLostLove client:\n%s\n' "$ll" "$ngx" "$tunnel"
[ "$(wc -l <<<"$all")" = $((6 + JOINS)) ] ||
	fail "expected $((6 + JOINS)) TLS flows to LostLove, nDPI saw $(wc -l <<<"$all")"
# the client's half of P4-T2: each of its flows is judged as curl's to nginx
[ "$(sort -u <<<"$tunnel")" = "$(sed -n 2p <<<"$ngx")" ] ||
	fail "nDPI judges LostLove's client flows ($(sort -u <<<"$tunnel" | paste -sd';')) unlike curl's to nginx ($(sed -n 2p <<<"$ngx"))"
[ "$ll" = "$ngx" ] || fail "nDPI judges LostLove's TLS flows differently from nginx's:
$(diff <(echo "$ngx") <(echo "$ll"))"
# the three curl flows and the browser-like hello: SNI and a common ALPN, port 443
if sed -n '1,3p;5p' <<<"$ll" | grep -E 'TLS_NOT_CARRYING_HTTPS|TLS_MISSING_SNI|TLS_UNCOMMON_ALPN|KNOWN_PROTOCOL_ON_NON_STANDARD_PORT'; then
	fail "a curl flow raises a risk that a browser's would not"
fi
# positive control on real traffic: the client without ALPN raises it on both
sed -n 4p <<<"$ll" | grep -q 'TLS_NOT_CARRYING_HTTPS' ||
	fail "openssl s_client without ALPN did not raise TLS_NOT_CARRYING_HTTPS: the risk check proves nothing"

say "tshark: JA3S, flow by flow"
ja3s() {
	tshark -r "$LL_TMP/$1.pcap" -Y 'tls.handshake.type == 2' -T fields -e tls.handshake.ja3s 2>/dev/null
}
ll=$(ja3s c0)
ngx=$(ja3s c1)
printf 'LostLove: %s\nnginx:    %s\n' "$(paste -sd' ' <<<"$ll")" "$(paste -sd' ' <<<"$ngx")"
[ "$(wc -l <<<"$ll")" = $((6 + JOINS)) ] && [ -n "$(head -n1 <<<"$ll")" ] ||
	fail "expected $((6 + JOINS)) ServerHellos from LostLove"
[ "$(head -n 5 <<<"$ll")" = "$ngx" ] || fail "LostLove's JA3S differ from nginx's"
# what the front answers LostLove's own client is what nginx answers the
# same offer (the browser-like hello)
[ "$(tail -n +6 <<<"$ll" | sort -u)" = "$(sed -n 5p <<<"$ngx")" ] ||
	fail "the front's JA3S to LostLove's client differ from nginx's to the browser-like hello"
tshark -r "$LL_TMP/c0.pcap" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.ja3 \
	-e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str 2>/dev/null |
	sed -e '1s/^/curl --http1.1:   /' -e '2s/^/curl:             /' -e '3s/^/curl TLS 1.2:     /' \
		-e '4s/^/openssl s_client: /' -e '5s/^/browser-like:     /' -e '6,$s/^/LostLove client:  /' | uniq -c
echo "(JA3, SNI and ALPN of each ClientHello: reported only)"


alerts() {
	tshark -r "$LL_TMP/$1.pcap" -Y tls.alert_message.level -T fields \
		-e tls.alert_message.level -e tls.alert_message.desc 2>/dev/null
}
[ "$(alerts c0)" = "$(alerts c1)" ] ||
	fail "plaintext TLS alerts differ: LostLove '$(alerts c0 | paste -sd' ')', nginx '$(alerts c1 | paste -sd' ')'"

say "FET and bursts (report)"
for ifc in c0 c1; do
	out=$("$FET" -p 443 "$LL_TMP/$ifc.pcap")
	echo "$out"
	grep -Eq 'summary flows=([0-9]+) exempt=\1 blocked=0' <<<"$out" || fail "a first TLS payload is not exempt from the FET rule"
	"$XUE" -p 443 "$LL_TMP/$ifc.pcap"
done
out=$("$XUE" -p 443 "$LL_TMP/c0.pcap" | grep '^tls ' | tail -n +6)
echo "LostLove client's flows (the first, then the joins; Xue 2024: https_like = RT < 2.5 and first burst < 300):"
echo "$out"
pass
