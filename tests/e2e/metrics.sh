#!/usr/bin/env bash
# metrics: /metrics on the real server (monitoring.enable_metrics, bound to
# loopback by default), scraped with curl and checked with promtool, the
# Prometheus project's own checker of the text format. During a transfer the
# packet, byte and per-user counters grow; a burst of junk datagrams and of
# initiations keyed for another server (bad mac1) from an attacker grows the
# drop counters by reason, by exactly what was sent; the port is not
# reachable from the client's or the attacker's namespace (nor through the
# tunnel); oversized, unknown, wrong-method, garbage and too frequent HTTP
# requests get 4xx (JSON bodies where the server answers itself) and the
# server keeps running and scraping; a metrics port taken by another program
# stops the server at start with an error naming it, leaving nothing behind.
# A user's series count what the accounting and the store count: after a
# clean shutdown alice's stored usage equals her last scraped series.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐      ┌──── atk ─────────┐
#   │ ll0 10.8.0.2/24    │      │ ll0 10.8.0.1/24        │      │ udpjunk, curl    │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │      │                  │
#   └────────────────────┘ veth │ s2 192.0.2.1/24        ├──────┤ a0 192.0.2.2/24  │
#                               │ :51820, /metrics on    │ veth └──────────────────┘
#                               │ 127.0.0.1:9100         │
#                               └────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus; scripts/install-deps.sh)"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh)"

METRICS_PORT=9100
URL="http://127.0.0.1:$METRICS_PORT/metrics"

attack_setup
SRV_EXTRA="enable_metrics = true
metrics_port = $METRICS_PORT
metrics_users = 1"
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
write_client_config mallory 192.0.2.1:51820 '[]'
SERVER_PUB=$(key_of server pub)

say "server (metrics on) and client"
start_server
grep -E "metrics: http 127\.0\.0\.1:$METRICS_PORT/metrics" "$(log_of server)" ||
	fail "the server did not say where /metrics listens"
start_client alice cli
ping_ok cli 10.8.0.1

# scrape NAME: GET /metrics from the server's namespace into $LL_TMP/NAME.prom
# (headers in NAME.hdr); the status must be 200 and promtool must accept it.
scrape() {
	local f="$LL_TMP/$1"
	pretty srv curl -sS -D "$1.hdr" -o "$1.prom" "$URL"
	nq srv curl -sS --max-time 5 -D "$f.hdr" -o "$f.prom" "$URL" ||
		fail "curl $URL failed"
	head -n1 "$f.hdr" | grep -q ' 200' || fail "GET /metrics: $(head -n1 "$f.hdr")"
	grep -qi '^content-type: text/plain; version=0.0.4' "$f.hdr" ||
		fail "GET /metrics: not the 0.0.4 text format: $(grep -i content-type "$f.hdr")"
	promtool check metrics <"$f.prom" ||
		fail "promtool check metrics refused the scrape $1 ($f.prom)"
}

# value NAME SERIES: the sample of SERIES (exact text before the value) in
# scrape NAME; fails when absent.
value() {
	local v
	v=$(awk -v s="$2" '$1 == s {print $2}' "$LL_TMP/$1.prom")
	[ -n "$v" ] || fail "scrape $1 has no sample $2"
	echo "$v"
}

say "the first scrape: promtool accepts it; every drop reason is listed"
scrape s0
echo "   $(grep -vc '^#' "$LL_TMP/s0.prom") samples, $(grep -c '^# TYPE' "$LL_TMP/s0.prom") families"
# every reason the workers count (drop.c's names), none left out
reasons=$(sed -nE 's/^ *\[DP_DROP_[A-Z0-9_]+\] = "([a-z0-9_]+)",$/\1/p' \
	"$(dirname "$0")/../../src/dataplane/drop.c" | grep -vx none)
[ "$(wc -w <<<"$reasons")" -ge 25 ] || fail "cannot read the drop reasons from src/dataplane/drop.c"
for reason in $reasons; do
	value s0 "lostlove_drops_total{reason=\"$reason\"}" >/dev/null
done
[ "$(value s0 'lostlove_users_connected')" = 1 ] || fail "alice is connected, the gauge says otherwise"
[ "$(value s0 'lostlove_handshakes_total{result="ok"}')" -ge 1 ] || fail "no successful handshake counted"
grep -q '^lostlove_batch_duration_seconds_bucket{path="udp_rx",le="+Inf"}' "$LL_TMP/s0.prom" ||
	fail "no processing-time histogram"

say "during a transfer the packet, byte and per-user counters grow"
stream_start up cli srv 10.8.0.1 5001 64
wait_until 20 stream_sent_ge up 8
scrape s1
wait_until 20 stream_sent_ge up 24
sleep 0.6 # one control tick: the per-user series are credited on it
scrape s2
stream_finish up
for series in 'lostlove_packets_total{direction="rx"}' 'lostlove_bytes_total{direction="rx"}' \
	'lostlove_packets_total{direction="tx"}' 'lostlove_bytes_total{direction="tx"}' \
	'lostlove_user_bytes_total{user="alice",direction="rx"}' \
	'lostlove_batch_duration_seconds_count{path="udp_rx"}'; do
	a=$(value s1 "$series")
	b=$(value s2 "$series")
	echo "   $series: $a -> $b"
	[ "$b" -gt "$a" ] || fail "$series did not grow during the transfer ($a -> $b)"
done
rx1=$(value s1 'lostlove_bytes_total{direction="rx"}')
rx2=$(value s2 'lostlove_bytes_total{direction="rx"}')
[ $((rx2 - rx1)) -ge $((8 * 1048576)) ] ||
	fail "at least 16 MiB went up between the scrapes, rx bytes grew by $((rx2 - rx1))"

say "a second user past metrics_users = 1: counted in user=\"(other)\""
start_client mallory atk
ping_ok atk 10.8.0.1 5
sleep 0.6 # a control tick
scrape s2b
stop_clean client-mallory
other=$(value s2b 'lostlove_user_bytes_total{user="(other)",direction="rx"}')
echo "   (other) rx $other"
[ "$other" -gt 0 ] || fail "mallory's bytes are not in user=\"(other)\""
! grep -q 'user="mallory"' "$LL_TMP/s2b.prom" || fail "mallory got a series past the cap of 1"
[ "$(grep -c '^lostlove_user_bytes_total{' "$LL_TMP/s2b.prom")" = 4 ] ||
	fail "expected alice's and (other)'s two series each: $(grep '^lostlove_user_bytes_total{' "$LL_TMP/s2b.prom")"
[ "$(value s2b 'lostlove_user_bytes_total{user="alice",direction="rx"}')" -ge \
	"$(value s2 'lostlove_user_bytes_total{user="alice",direction="rx"}')" ] || fail "alice's series went down"

say "junk and bad-mac1 initiations from the attacker: drops counted by reason, exactly"
scrape s3
nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode init --count 300 --rate 1000 --seed 5 \
	--wait-ms 300
nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode random --count 2000 --rate 4000 --seed 1 \
	--wait-ms 300
check_daemons
scrape s4
mac1=$(($(value s4 'lostlove_drops_total{reason="mac1"}') - $(value s3 'lostlove_drops_total{reason="mac1"}')))
inval=$(($(value s4 'lostlove_invalid_handshakes_total{stage="mac1"}') - $(value s3 'lostlove_invalid_handshakes_total{stage="mac1"}')))
echo "   mac1 drops +$mac1, invalid handshakes (mac1) +$inval"
[ "$mac1" = 300 ] || fail "300 initiations keyed for another server: the mac1 drop counter grew by $mac1"
[ "$inval" = 300 ] || fail "300 initiations keyed for another server: invalid handshakes (mac1) grew by $inval"
all3=$(grep '^lostlove_drops_total{' "$LL_TMP/s3.prom" | awk '{s += $2} END {print s}')
all4=$(grep '^lostlove_drops_total{' "$LL_TMP/s4.prom" | awk '{s += $2} END {print s}')
echo "   all drops +$((all4 - all3)) for 2300 hostile datagrams"
# each random datagram is dropped once (some by mac1 too: type 1 with a
# random mac); nothing else was sent meanwhile but alice's keepalives
[ $((all4 - all3)) -ge 2300 ] && [ $((all4 - all3)) -le 2310 ] ||
	fail "2300 hostile datagrams, the drop counters grew by $((all4 - all3))"
grep '^lostlove_drops_total{' "$LL_TMP/s4.prom" | awk '$2 > 0'

say "the metrics port is loopback only: not from the client, the attacker or the tunnel"
for target in cli:198.51.100.1 cli:10.8.0.1 atk:192.0.2.1; do
	ns=${target%%:*} ip=${target#*:}
	pretty "$ns" curl --max-time 2 "http://$ip:$METRICS_PORT/metrics"
	if nq "$ns" curl -sS --max-time 2 -o /dev/null "http://$ip:$METRICS_PORT/metrics" 2>/dev/null; then
		fail "/metrics answered from namespace $ns at $ip"
	fi
done
nq srv ss -Hltn "sport = :$METRICS_PORT"
[ "$(nq srv ss -Hltn "sport = :$METRICS_PORT" | awk '{print $4}')" = "127.0.0.1:$METRICS_PORT" ] ||
	fail "the metrics socket is not bound to 127.0.0.1 alone"

# http_status ARGS...: the status code curl got for one request to the
# metrics port (000: no HTTP answer).
http_status() {
	nq srv curl -s --max-time 5 -o "$LL_TMP/http.body" -w '%{http_code}' "$@" || true
}

say "bad HTTP requests: 4xx, JSON bodies; the server lives on"
st=$(http_status "http://127.0.0.1:$METRICS_PORT/nothing")
echo "   GET /nothing: $st $(cat "$LL_TMP/http.body")"
[ "$st" = 404 ] && grep -q '"code":"not_found"' "$LL_TMP/http.body" || fail "GET /nothing: $st"
st=$(http_status "http://127.0.0.1:$METRICS_PORT/metrics/x")
[ "$st" = 404 ] || fail "GET /metrics/x: $st"
st=$(http_status -X POST --data x "$URL")
echo "   POST /metrics: $st $(cat "$LL_TMP/http.body")"
[ "$st" = 405 ] && grep -q '"code":"method_not_allowed"' "$LL_TMP/http.body" || fail "POST /metrics: $st"
head -c 1048576 /dev/zero >"$LL_TMP/big.bin"
st=$(http_status -X POST --data-binary "@$LL_TMP/big.bin" "$URL")
echo "   POST of 1 MiB: $st $(cat "$LL_TMP/http.body")"
[ "$st" = 413 ] && grep -q '"code":"too_large"' "$LL_TMP/http.body" || fail "POST of 1 MiB: $st"
head -c 65536 /dev/zero >"$LL_TMP/mid.bin"
st=$(http_status -H 'Expect:' -X POST --data-binary "@$LL_TMP/mid.bin" "$URL")
echo "   POST of 64 KiB, sent at once (no Expect): $st"
[ "$st" = 413 ] || fail "POST of 64 KiB without Expect: $st"
st=$(http_status -H "X-Big: $(head -c 65536 /dev/zero | tr '\0' a)" "$URL")
echo "   a 64 KiB header: $st"
[[ $st == 4[0-9][0-9] ]] || fail "a 64 KiB header: $st"
# raw bytes on a connection the sender keeps open until it is answered or
# closed (a half-close would make the server drop the request unanswered)
raw_http() {
	nq srv python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data = b""
try:
    while len(data) < 256:
        d = s.recv(256)
        if not d:
            break
        data += d
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode("latin-1"))
' "$METRICS_PORT" "$1"
}
# requests in HTTP's shape but broken: a 4xx (505 for the version)
for junk in 'GET /metrics HTTP/9.9\r\n\r\n' \
	'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
	"GET /$(head -c 40000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n"; do
	reply=$(raw_http "$junk")
	echo "   $(head -c 50 <<<"$junk"): ${reply:-(closed)}"
	[[ $reply == "HTTP/1.1 4"* ]] || [[ $reply == "HTTP/1.1 505"* ]] ||
		fail "broken request '$(head -c 60 <<<"$junk")' got '${reply:-no answer}'"
done
# bytes with no request line at all: libmicrohttpd 0.9.75 closes the
# connection without a byte (nginx would say 400); nothing else may come
for junk in '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n' \
	'\x00\xff\xfe \x01 HTTP/1.1\r\n\r\n' 'GARBAGE\r\n\r\n'; do
	reply=$(raw_http "$junk")
	echo "   $(head -c 50 <<<"$junk"): ${reply:-(closed)}"
	[ -z "$reply" ] || [[ $reply == "HTTP/1.1 4"* ]] ||
		fail "garbage '$(head -c 60 <<<"$junk")' got '$reply'"
done
check_daemons
# a flood of scrapes from one address (one curl, one kept-alive connection,
# 120 requests): the per-IP bound (20/s, burst 40) answers 429
urls=$(for i in $(seq 120); do printf -- '-o /dev/null %s ' "$URL"; done)
# shellcheck disable=SC2086
codes=$(nq srv curl -s --max-time 20 -w '%{http_code}\n' $urls | sort | uniq -c)
echo "$codes" | sed 's/^/   /'
n429=$(awk '$2 == 429 {print $1}' <<<"$codes")
[ "${n429:-0}" -ge 40 ] || fail "120 scrapes at once from one address: ${n429:-0} limited (429), expected most past the burst of 40"
check_daemons
sleep 1.2 # the limiter refills
scrape s5
[ "$(value s5 'lostlove_metrics_requests_total{code="413"}')" -ge 1 ] || fail "413 not counted"
[ "$(value s5 'lostlove_metrics_requests_total{code="429"}')" -ge 1 ] || fail "429 not counted"
ping_ok cli 10.8.0.1 3

say "one per-user count: alice's series equal the store's usage after the final flush"
sleep 0.6 # a control tick: the last pings are credited
scrape s6
stop_clean server
db=$(find "$LL_TMP" -maxdepth 2 -name lostlove.db | head -n 1)
[ -n "$db" ] || fail "no lostlove.db under $LL_TMP"
read -r sup sdown < <(python3 - "$db" <<'PY'
import sqlite3, sys
print(*sqlite3.connect(sys.argv[1]).execute(
    "select used_up, used_down from users where name = 'alice'").fetchone())
PY
)
mrx=$(value s6 'lostlove_user_bytes_total{user="alice",direction="rx"}')
mtx=$(value s6 'lostlove_user_bytes_total{user="alice",direction="tx"}')
echo "   /metrics rx $mrx tx $mtx; store up $sup down $sdown"
[ "$mrx" -gt 0 ] || fail "alice's series is empty: nothing to compare"
[ "$mrx" = "$sup" ] && [ "$mtx" = "$sdown" ] ||
	fail "alice: /metrics says rx $mrx tx $mtx, the store up $sup down $sdown"

say "the metrics port taken by another program: the server refuses to start, and says why"
spawn squatter srv socat TCP4-LISTEN:$METRICS_PORT,bind=127.0.0.1,reuseaddr,fork -
wait_until 5 tcp_listening srv "$METRICS_PORT"
status=0
out=$(nq srv timeout 20 "$LL_SERVER" -c "$LL_TMP/server.toml" 2>&1) || status=$?
grep -E 'error' <<<"$out" || true
[ "$status" = 1 ] || fail "started with its metrics port taken: exit status $status; output: $out"
grep -Eq "error: metrics: bind 127\.0\.0\.1 port $METRICS_PORT: Address already in use \(monitoring\.metrics_address, monitoring\.metrics_port\)" <<<"$out" ||
	fail "no error naming the metrics address and port: $out"
! nq srv ip link show ll0 >/dev/null 2>&1 || fail "the refused server left its TUN device"
! nq srv nft list table inet lostlove >/dev/null 2>&1 || fail "the refused server left its firewall"
pass
