#!/usr/bin/env bash
# client_uri: a user's configuration handed over as a lostlove:// URI and
# as its QR code connects a real client (docs/client-uri.md):
#   client.toml -> `lostlove-admin uri` and `lostlove-admin qr --png`
#   -> zbarimg reads the PNG -> the same URI
#   -> `lostlove-client --config-uri -` (URI on stdin) connects, pings;
#   `lostlove-admin uri-to-config` rebuilds a client.toml that passes
#   `lostlove-client --check-config` and connects too;
#   a URI whose psk or key was changed does not connect, and a malformed
#   one is refused with exit 1 and a message naming the problem.
# With stealth_mode "standard" on both ends, so the URI carries it; and a
# second user, bob, whose URI says transport "tls" with an SNI, Host and
# path: with UDP to the server dropped, his scanned URI connects through
# the server's TLS front.
source "$(dirname "$0")/lib.sh" "$@"

for t in zbarimg openssl nft; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh; zbarimg: zbar-tools)"
done

one_link

say "keys and configuration (stealth_mode standard; the TLS front on the same port)"
front_cert
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
SRV_PROTOCOL=both
SRV_OPEN_PORTS='["tcp/51820"]'
SRV_EXTRA="[obfuscation]
enabled = true
stealth_mode = \"standard\""
write_server_config
write_client_config alice 198.51.100.1:51820 '["10.8.0.0/24"]' "
[obfuscation]
stealth_mode = \"standard\""
write_client_config bob 198.51.100.1:51820 '["10.8.0.0/24"]' 'transport = "tls"
sni = "front.test"
host = "front.test"
path = "/chat"
[obfuscation]
stealth_mode = "standard"'
start_server

say "client.toml -> URI, and -> QR code (PNG) -> zbarimg -> the same URI"
uri=$("$LL_ADMIN" uri "$LL_TMP/alice.toml" alice) || fail "lostlove-admin uri failed"
pretty + lostlove-admin uri alice.toml alice "-> ${uri:0:60}..."
case $uri in
lostlove://*@198.51.100.1:51820/\?*stealth_mode=standard*\#alice) ;;
*) fail "unexpected URI: $uri" ;;
esac
run "$LL_ADMIN" qr "$LL_TMP/alice.toml" alice --png "$LL_TMP/alice.png"
[ "$(stat -c %a "$LL_TMP/alice.png")" = 600 ] || fail "the PNG (it holds keys) is not 0600"
scanned=$(zbarimg --quiet --raw "$LL_TMP/alice.png" 2>/dev/null) || fail "zbarimg read no QR code"
[ "$scanned" = "$uri" ] || fail "zbarimg read '$scanned', not the URI '$uri'"
echo "zbarimg read the URI back"
(umask 077 && printf '%s\n' "$scanned" >"$LL_TMP/alice.uri")
"$LL_ADMIN" qr "$LL_TMP/alice.toml" alice >"$LL_TMP/alice.qr.txt" || fail "lostlove-admin qr failed"
echo "terminal rendering: $(wc -l <"$LL_TMP/alice.qr.txt") lines of half blocks"

say "the client connects with the scanned URI (on stdin)"
spawn client-alice cli bash -c "exec '$LL_CLIENT' --config-uri - <'$LL_TMP/alice.uri'"
wait_for_log client-alice '^lostlove-client: connected: 10\.8\.0\.2/' 30
ping_ok cli 10.8.0.1
stop_clean client-alice

say "uri-to-config: a client.toml that --check-config accepts and that connects"
(umask 077 && "$LL_ADMIN" uri-to-config <"$LL_TMP/alice.uri" >"$LL_TMP/alice-uri.toml") ||
	fail "uri-to-config failed"
out=$("$LL_CLIENT" --check-config -c "$LL_TMP/alice-uri.toml" 2>&1) ||
	fail "--check-config refused the rebuilt config: $out"
[ -z "$out" ] || fail "--check-config printed problems: $out"
grep -q '^# LostLove client configuration for alice$' "$LL_TMP/alice-uri.toml" ||
	fail "no label comment in the rebuilt config"
spawn client-alice cli "$LL_CLIENT" -c "$LL_TMP/alice-uri.toml"
wait_for_log client-alice '^lostlove-client: connected: 10\.8\.0\.2/' 30
ping_ok cli 10.8.0.1 3
stop_clean client-alice

say "a URI with another psk is refused by the server (the client never connects)"
other=$("$LL_ADMIN" genpsk | tr '+/' '-_' | tr -d '=\n')
bad=$(sed -E "s/([?&]psk=)[A-Za-z0-9_-]{43}/\1$other/" <<<"$uri")
[ "$bad" != "$uri" ] || fail "could not change the psk in the URI"
(umask 077 && printf '%s\n' "$bad" >"$LL_TMP/bad.uri")
spawn client-bad cli bash -c "exec '$LL_CLIENT' --config-uri - <'$LL_TMP/bad.uri'"
sleep 5
alive client-bad || fail "the client with a wrong psk exited: $(tail -n 5 "$(log_of client-bad)")"
! log_has "$(log_of client-bad)" 'connected: ' || fail "a URI with a wrong psk connected"
echo "no connection in 5 s, as expected"
stop client-bad

say "bob: UDP to the server dropped; his URI (transport tls, sni, host, path) via QR connects over TLS"
n cli nft add table inet lltest
n cli nft add chain inet lltest out '{ type filter hook output priority 0; }'
n cli nft add rule inet lltest out ip daddr 198.51.100.1 udp dport 51820 counter drop
buri=$("$LL_ADMIN" uri "$LL_TMP/bob.toml" bob) || fail "lostlove-admin uri failed for bob"
case $buri in
*transport=tls*sni=front.test*host=front.test*path=/chat*) ;;
*) fail "bob's URI lacks the TLS settings: $buri" ;;
esac
run "$LL_ADMIN" qr "$LL_TMP/bob.toml" bob --png "$LL_TMP/bob.png"
scanned=$(zbarimg --quiet --raw "$LL_TMP/bob.png" 2>/dev/null) || fail "zbarimg read no QR code"
[ "$scanned" = "$buri" ] || fail "zbarimg read '$scanned', not bob's URI"
(umask 077 && printf '%s\n' "$scanned" >"$LL_TMP/bob.uri")
spawn client-bob cli bash -c "exec '$LL_CLIENT' --config-uri - <'$LL_TMP/bob.uri'"
wait_for_log client-bob '^lostlove-client: connected: 10\.8\.0\.3/' 30
ping_ok cli 10.8.0.1
server_stats
grep -Eq 'streams:.* adopted=1( |;|$)' <<<"$LL_STATS" ||
	fail "the server should show bob's one stream adopted by the TLS front: $LL_STATS"
dropped=$(nq cli nft list chain inet lltest out | grep -o 'packets [0-9]*' | head -n 1)
echo "UDP to the server dropped meanwhile: $dropped"
stop_clean client-bob

say "malformed URIs: exit 1, one message naming the problem"
expect_refused() {
	local uri=$1 want=$2 out status=0
	out=$("$LL_CLIENT" --check-config --config-uri "$uri" 2>&1) || status=$?
	[ "$status" = 1 ] || fail "status $status for $uri (want 1): $out"
	grep -qF -- "$want" <<<"$out" || fail "for $uri: no '$want' in: $out"
	echo "refused: $want"
}
base=${uri%%#*} # without the label: what follows '#' is the label, not the query
expect_refused "${uri/lostlove:/https:}" "must start with lostlove://"
expect_refused "${uri/:51820/}" "port is missing"
expect_refused "$base&user=root" "user: not carried by a URI"
expect_refused "$base&psk=x" "psk: given twice"
expect_refused "${uri/stealth_mode=standard/stealth_mode=loud}" "key 'obfuscation.stealth_mode'"
expect_refused "$base&sni=a%0Ab" "control character"

check_daemons
stop_clean server
pass
