#!/usr/bin/env bash
# tls_tunnel: the tunnel through the TLS front (docs/protocol.md §11), and
# what a censor's replay of the client's upgrade request gets.
#
#   cli (198.51.100.2, .3) ── srv (198.51.100.1, TCP+UDP 51820) ── inet (203.0.113.2)
#
# 1. A client with transport = "tls" (UDP to the server dropped in its
#    namespace, so nothing can go around) reaches the host behind the
#    server: ping and a 20 MiB TCP transfer each way; then a rekey runs
#    over the same connection; then the connection is killed (ss -K) and
#    a new one joins the session without a handshake.
# 2. The client's genuine upgrade request, captured by a recording
#    TLS-terminating relay (socat: it decrypts and re-encrypts, as a
#    censor's TLS interception box would) between a second client and the
#    server, is replayed over fresh TLS connections: after 0.3 s, 1 s and
#    20 s, from another address, and after a server restart; then the
#    IMC 2020 byte-changed variants R2-R5. Each reply must be the reply to
#    the same request with a random token (the front's fallback, here the
#    nginx mimic; Date aside), never a 101, and no session may appear;
#    the genuine client's session goes on meanwhile.
LL_NAME=tls_tunnel
source "$(dirname "$0")/lib.sh" "$@"

need() { command -v "$1" >/dev/null || fail "$1 is needed (scripts/install-deps.sh)"; }
need openssl
need socat
need python3

behind_server
addr cli c0 198.51.100.3/24

say "certificate (self-signed, front.test) and configuration"
front_cert
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
SRV_PROTOCOL=both
SRV_EGRESS=s1
# the front's port opened to the tunnel on purpose: the loop wall still holds
SRV_OPEN_PORTS='["tcp/5000-5099", "tcp/51820"]'
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]' \
	'transport = "tls"
sni = "front.test"
path = "/chat"'
# bob goes through the recording relay on 198.51.100.2:8443
write_client_config bob 198.51.100.2:51820 '["203.0.113.0/24"]' \
	'transport = "tls"
tls_port = 8443
sni = "front.test"
host = "front.test"
path = "/chat"'
sed -i "s/log_level = \"info\"/log_level = \"${LL_CLIENT_LOG:-info}\"/" "$LL_TMP/alice.toml" "$LL_TMP/bob.toml"
start_server

say "alice: UDP to the server is dropped; transport tls only"
n cli nft add table inet lltest
n cli nft add chain inet lltest out '{ type filter hook output priority 0; }'
n cli nft add rule inet lltest out ip daddr 198.51.100.1 udp dport 51820 counter drop
start_client alice cli
nq cli ping -c 2 -W 1 203.0.113.2 || true
server_stats
kill -USR1 "$(pid_of client-alice)"; sleep 0.5; tail -n 3 "$(log_of client-alice)"
ping_ok cli 203.0.113.2
make_data "$LL_TMP/data.bin" 20
transfer_check cli inet receiver 203.0.113.2 5001 "$LL_TMP/data.bin"
transfer_check inet cli sender 203.0.113.2 5002 "$LL_TMP/data.bin"
out=$(nq cli nft list chain inet lltest out)
grep -Eq 'counter packets 0 ' <<<"$out" &&
	echo "   (no UDP was even tried)" || echo "   (UDP tried and dropped: $(grep -Eo 'packets [0-9]+' <<<"$out"))"
say "the front is not reachable through the tunnel, even opened (a stream path would loop)"
if nq cli timeout 3 bash -c 'exec 3<>/dev/tcp/10.8.0.1/51820' 2>/dev/null; then
	fail "a TCP connection to the front through the tunnel (10.8.0.1:51820) was accepted"
fi
echo "   10.8.0.1:51820 through the tunnel: no connection, as expected"

say "a rekey over the open connection (message 1 and 2 as frames)"
kill -USR2 "$(pid_of client-alice)"
# (server_stats in a subshell would lose LL_STATS: poll by hand)
for _ in $(seq 50); do
	server_stats >/dev/null
	grep -Eq 'handshakes ok 2 ' <<<"$LL_STATS" && break
	sleep 0.2
done
grep -Eq 'handshakes ok 2 ' <<<"$LL_STATS" || fail "no second handshake 10 s after SIGUSR2: $LL_STATS"
ping_ok cli 203.0.113.2 3
server_stats
grep -Eq 'streams:.* adopted=1( |;|$)' <<<"$LL_STATS" ||
	fail "the server should show exactly one adopted stream (the rekey on it): $LL_STATS"

say "the connection is killed: a new one joins the session, no handshake"
n cli ss -K -t dst 198.51.100.1 dport = 51820
ping_ok cli 203.0.113.2 3
server_stats
grep -Eq 'handshakes ok 2 ' <<<"$LL_STATS" || fail "the client made a new handshake: $LL_STATS"
grep -Eq 'streams:.* adopted=2( |;|$)' <<<"$LL_STATS" ||
	fail "the server should have taken a second stream (the join): $LL_STATS"
stop_clean client-alice

# probe NAME FILE SRC: sends FILE over a fresh TLS connection from SRC
# (SNI front.test) and stores the normalised reply (Date removed) in
# $LL_TMP/NAME.reply; also the reply to the same request with a random
# token ($LL_TMP/NAME.control). Both must be equal and neither a 101.
probe() {
	local name=$1 file=$2 src=$3
	LL_NOTE="(reply -> $name.reply)" pretty cli python3 tls_probe "$file" "$src"
	ip netns exec "$LL_PREFIX"cli python3 - "$file" "$src" "$LL_TMP/$name" <<-'EOF'
		import os, re, socket, ssl, sys, base64
		path, src, out = sys.argv[1:4]
		req = open(path, 'rb').read()
		def random_token(r):
		    m = re.search(rb'(Cookie: [^\r]*sid=)([A-Za-z0-9_-]+)', r)
		    if not m:
		        return r
		    tok = base64.urlsafe_b64encode(os.urandom(len(m.group(2)) * 3 // 4 + 1))
		    tok = tok.rstrip(b'=')[:len(m.group(2))]
		    return r[:m.start(2)] + tok + r[m.end(2):]
		def ask(r):
		    ctx = ssl.create_default_context()
		    ctx.check_hostname = False
		    ctx.verify_mode = ssl.CERT_NONE
		    s = socket.create_connection(('198.51.100.1', 51820), timeout=5,
		                                 source_address=(src, 0))
		    t = ctx.wrap_socket(s, server_hostname='front.test')
		    t.sendall(r)
		    t.settimeout(3)
		    got = b''
		    try:
		        while True:
		            b = t.recv(65536)
		            if not b:
		                break
		            got += b
		            end = got.find(b'\r\n\r\n')
		            if end < 0:
		                continue
		            m = re.search(rb'\r\nContent-Length: *([0-9]+)', got[:end], re.I)
		            chunked = re.search(rb'\r\nTransfer-Encoding: *chunked', got[:end], re.I)
		            if (got.startswith(b'HTTP/1.1 101') or
		                    (m and len(got) >= end + 4 + int(m.group(1))) or
		                    (chunked and got.endswith(b'\r\n0\r\n\r\n'))):
		                break
		    except (socket.timeout, ssl.SSLError, ConnectionResetError):
		        pass
		    t.close()
		    return re.sub(rb'\r\nDate: [^\r]*', b'', got)
		open(out + '.reply', 'wb').write(ask(req))
		open(out + '.control', 'wb').write(ask(random_token(req)))
	EOF
	local first
	first=$(head -n1 "$LL_TMP/$name.reply" | tr -d '\r')
	echo "   $name: '$first', $(stat -c %s "$LL_TMP/$name.reply") bytes"
	[ -s "$LL_TMP/$name.reply" ] || fail "$name: no reply at all (the fallback answers every request)"
	grep -q '^HTTP/1.1 101' "$LL_TMP/$name.reply" && fail "$name: the server answered 101 to a replay"
	cmp -s "$LL_TMP/$name.reply" "$LL_TMP/$name.control" ||
		fail "$name: the reply differs from the reply to a random token:
$(diff <(tr -d '\r' <"$LL_TMP/$name.reply") <(tr -d '\r' <"$LL_TMP/$name.control") | head)"
}

# handshakes: completed handshakes in the last stats line (a session
# made from a replay would be one more)
handshakes() { grep -Eo 'handshakes ok [0-9]+' <<<"$LL_STATS" | awk '{print $3}'; }

say "bob through a recording TLS relay (the censor's capture)"
cap="$LL_TMP/relay.rec"
spawn relay cli socat -r "$cap" \
	"OPENSSL-LISTEN:8443,bind=198.51.100.2,reuseaddr,fork,cert=$LL_TMP/front.crt,key=$LL_TMP/front.key,verify=0" \
	"OPENSSL:198.51.100.1:51820,verify=0,snihost=front.test"
wait_until 5 tcp_listening cli 8443
server_stats
before=$(handshakes)
start_client bob cli
t_cap=$(now_us) # the request went out just before "connected"
python3 - "$cap" "$LL_TMP/genuine.req" <<-'EOF'
	import sys
	data = open(sys.argv[1], 'rb').read()
	end = data.find(b'\r\n\r\n')
	assert data.startswith(b'GET /chat HTTP/1.1\r\n') and end > 0, data[:200]
	open(sys.argv[2], 'wb').write(data[:end + 4])
EOF
echo "   captured: $(head -c 60 "$LL_TMP/genuine.req" | tr -d '\r' | head -n1), $(stat -c %s "$LL_TMP/genuine.req") bytes"

# replay_at S NAME SRC: the genuine request again, S seconds after the
# capture (the delays are the censor's, IMC 2020: the sleeps are the test)
replay_at() {
	local left=$(($(seconds_us "$1") - ($(now_us) - t_cap)))
	[ "$left" -gt 0 ] && sleep "$(awk -v u="$left" 'BEGIN{printf "%.3f", u/1e6}')"
	echo "   replay $(since "$t_cap") s after the capture, from $3"
	probe "$2" "$LL_TMP/genuine.req" "$3"
}

say "replays of the genuine request, bob's session still up"
replay_at 0.3 r1-0.3s 198.51.100.2
replay_at 1 r1-1s 198.51.100.2
replay_at 1 r1-other-address 198.51.100.3
ping_ok cli 203.0.113.2 3 # bob's session is unaffected
server_stats
[ "$(handshakes)" = $((before + 1)) ] || fail "a replay completed a handshake: $LL_STATS"
grep -Eq 'upgrades:.* replay=3' <<<"$LL_STATS" ||
	fail "the server did not count the 3 replays as replays (nonce cache): $LL_STATS"
stop_clean client-bob
stop relay

say "after a server restart (the nonce cache is gone; the user's timestamp is not)"
stop_clean server
start_server
probe r1-restart "$LL_TMP/genuine.req" 198.51.100.2
server_stats
grep -Eq 'sessions 0,.*handshakes ok 0 ' <<<"$LL_STATS" ||
	fail "the replay after the restart completed a handshake"
grep -Eq 'streams:.* refused=1' <<<"$LL_STATS" ||
	fail "the restarted server should have refused the replay at admission (persisted timestamp): $LL_STATS"
replay_at 20 r1-20s 198.51.100.2 # within the token's 30 s window
server_stats
grep -Eq 'sessions 0,.*handshakes ok 0 ' <<<"$LL_STATS" ||
	fail "the replay after 20 s completed a handshake"

say "byte-changed replays (IMC 2020 R2-R5)"
python3 - "$LL_TMP/genuine.req" "$LL_TMP" <<-'EOF'
	import sys
	req = bytearray(open(sys.argv[1], 'rb').read())
	for name, idx in (('R2', [0]), ('R3', list(range(8)) + [62, 63]), ('R4', [16]), ('R5', [6, 16])):
	    r = bytearray(req)
	    for i in idx:
	        r[i] ^= 0x01
	    open('%s/%s.req' % (sys.argv[2], name), 'wb').write(r)
EOF
for v in R2 R3 R4 R5; do
	probe "$v" "$LL_TMP/$v.req" 198.51.100.2
done

say "alice still gets in"
start_client alice cli
ping_ok cli 203.0.113.2 3
pass
