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
# With stealth_mode "standard" on both ends, so the URI carries it.
source "$(dirname "$0")/lib.sh" "$@"

command -v zbarimg >/dev/null || fail "zbarimg is missing (apt-get install zbar-tools)"

one_link

say "keys and configuration (stealth_mode standard)"
add_user alice 10.8.0.2 fd00:8::2
SRV_EXTRA="[obfuscation]
enabled = true
stealth_mode = \"standard\""
write_server_config
write_client_config alice 198.51.100.1:51820 '["10.8.0.0/24"]' "
[obfuscation]
stealth_mode = \"standard\""
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
