#!/usr/bin/env bash
# fingerprint_corpus: N sessions per mode, captured on the wire, judged by
# the censor's tools (research Part 4: P4-T1..T4, P1-T8), compared with the
# verdicts kept in tests/data/captures/expected.txt (P4-T5).
#
#   ┌─ c1 ─────────────┐
#   │ 198.51.100.11    ├──┐   ┌──── srv ────────────────────────────────┐
#   └──────────────────┘  ├───┤ br0 198.51.100.1 :443 (tcpdump on br0)  │
#    ...  c2 .. cK  ──────┘   │ LostLove (UDP, or the TLS front), or    │
#                             │ nginx :443 -> LostLove's front (proxy)  │
#                             │ ll0 10.8.0.1: bulk source and sink      │
#                             └─────────────────────────────────────────┘
#
# Modes: off, standard, maximum (UDP stealth), tls (transport "tls" to the
# front, stealth maximum), proxy (the same through a real nginx that
# terminates TLS and relays the WebSocket, docs/obfuscation.md "Deploying
# behind a CDN or reverse proxy"). K clients (one namespace and one user
# each, K = min(N, LL_CORPUS_PAR = 25)) run a wave of K sessions at once
# until N sessions are done. Every session has:
#   - the handshake (a fresh client process);
#   - pings, then (the mid-flow capture starts here, cut from the full one
#     with editcap -A: its first packet of each session is a data packet)
#     bulk data: LL_CORPUS_KIB (64) KiB up and as much down over TCP;
#   - idle keepalives: 2.5 s of silence with keepalive = 1 s (the capture
#     must show both ends sending in that window);
#   - a roaming event: UDP, the client's outer source port changes (a
#     stateless nftables rewrite, as a NAT rebinding: fingerprint_lib.sh);
#     TLS, the client's TCP connection is killed (ss -K) and it joins its
#     session on a new one from another port, as after a NAT rebinding of
#     a TCP flow; then pings on the new flow.
# The clients' ports are below 40000 before the roaming event and above
# after it (200 ports per wave, so that no two sessions share a flow),
# which is how the verdicts tell a session's first flow from the flow
# after roaming (tests/tools/verdicts.sh). For tls and proxy, a
# baseline capture of curl --http1.1 to nginx (same certificate, same
# address and port) is what the TLS verdicts are compared with.
#
# Usage: fingerprint_corpus.sh BUILD_DIR [N [--reference]]
#   N: sessions per mode (default LL_CORPUS_N, else 100);
#   LL_CORPUS_MODES: the modes to run (default "off standard maximum tls proxy");
#   --reference: run with 8 KiB of bulk (N sessions for off and standard,
#     N/2 for the others), and if every verdict is as expected, replace the
#     reference captures in tests/data/captures/ with this run's (see
#     docs/obfuscation.md, "The session corpus", for when that is
#     legitimate; expected.txt is never written by a script).
# Fails if any verdict differs from tests/data/captures/expected.txt or
# breaks the research's criteria (fv_invariants), if a capture is
# incomplete, if a session lacks a step, or if a mode has fewer than N
# first flows or N flows after roaming.
LL_NAME=fingerprint_corpus
N=${2:-${LL_CORPUS_N:-100}}
REFERENCE=${3:-}
source "$(dirname "$0")/lib.sh" "$1"
source "$(dirname "$0")/fingerprint_lib.sh"

[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || fail "N must be a number of sessions: '$N'"
[ -z "$REFERENCE" ] || [ "$REFERENCE" = --reference ] || fail "unknown argument '$REFERENCE'"
MODES=${LL_CORPUS_MODES:-off standard maximum tls proxy}
KIB=${LL_CORPUS_KIB:-64}
PAR=${LL_CORPUS_PAR:-25}
if [ -n "$REFERENCE" ]; then
	# small files (kept in git): 8 KiB each way, one wave, so that the
	# mid-flow capture is the full one cut at one moment (MODE.cut)
	KIB=${LL_CORPUS_KIB:-8}
	((N <= PAR)) || fail "--reference takes at most $PAR sessions (one wave)"
	[ "$MODES" = "off standard maximum tls proxy" ] || fail "--reference makes every mode's captures"
fi
((PAR > N)) && PAR=$N
((PAR <= 200)) || fail "LL_CORPUS_PAR is at most 200 (the ports of a wave)"
DATA_DIR=$(realpath "$(dirname "$0")/../data/captures")
EXPECTED=$DATA_DIR/expected.txt
PORT=443
NAME=www.example.com
fp_require_tools tcpdump tshark editcap mergecap nginx curl openssl socat
fv_init "$(dirname "$(find_binary ndpi_flows)")" || fail "the censor's tools are missing"
fp_tshark_wg_heuristic
[ -f "$EXPECTED" ] || fail "$EXPECTED is missing"
FP_PACKET_BUFFERED=1 # fp_capture_stop: tcpdump reads all before it stops

say "topology: $PAR client namespaces on a bridge in srv"
ns_add srv
n srv ip link add br0 type bridge
n srv ip link set br0 up
addr srv br0 198.51.100.1/24
fp_no_gso srv br0
for ((i = 1; i <= PAR; i++)); do
	ns_add "c$i"
	veth "c$i" c0 srv "p$i"
	n srv ip link set "p$i" master br0
	addr "c$i" c0 "198.51.100.$((10 + i))/24"
	fp_no_gso "c$i" c0
	fp_no_gso srv "p$i"
	add_user "u$i" "10.8.0.$((10 + i))" "fd00:8::$((10 + i))"
done

say "one certificate for the front, nginx and the baseline"
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
	-subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME,DNS:front.test,DNS:hidden.test" \
	-keyout "$LL_TMP/tls.key" -out "$LL_TMP/tls.crt" 2>/dev/null
chgrp "$LL_SERVICE_USER" "$LL_TMP/tls.key" "$LL_TMP/tls.crt"
chmod 640 "$LL_TMP/tls.key"
make_data "$LL_TMP/bulk.bin" 1
head -c $((KIB * 1024)) "$LL_TMP/bulk.bin" >"$LL_TMP/bulk.dat"
rm -f "$LL_TMP/bulk.bin"

# nginx_conf PROXY(0|1): nginx 1.22.1 on 198.51.100.1:443 (fingerprint_lib.sh);
# with 1, hidden.test's /tunnel is relayed, WebSocket upgrade included, to
# LostLove's plain-HTTP front (as in domain_fronting.sh).
nginx_conf() {
	local relay=""
	[ "$1" = 1 ] && relay='map $http_upgrade $connection_upgrade { default upgrade; "" close; }
	    server {
	        listen 198.51.100.1:443 ssl;
	        server_name hidden.test;
	        location /tunnel {
	            proxy_pass http://127.0.0.1:51820;
	            proxy_http_version 1.1;
	            proxy_set_header Upgrade $http_upgrade;
	            proxy_set_header Connection $connection_upgrade;
	            proxy_set_header Host $host;
	            proxy_read_timeout 600s;
	        }
	    }'
	fp_nginx_conf nginx 198.51.100.1:443 'location / { return 200 "the front page\n"; }' "$relay"
}

# baseline SNI: curl --http1.1 to nginx, B connections (P4-T2's baseline).
baseline() {
	local b=$((N < 5 ? 5 : N > 20 ? 20 : N)) i
	fp_capture "$mode-base" srv br0 tcp port $PORT
	for ((i = 1; i <= b; i++)); do
		nq "c$(((i - 1) % PAR + 1))" curl -sk --http1.1 --resolve "$1:443:198.51.100.1" \
			-o /dev/null "https://$1/" || fail "curl to nginx failed"
	done
	echo "   $b connections of curl --http1.1 to nginx ($1)"
	fp_capture_stop "$mode-base"
	fp_capture_complete "$mode-base"
}

# configure MODE: server and client configurations of a mode.
configure() {
	local cli="" i
	SRV_PORT=$PORT SRV_BIND=0.0.0.0 SRV_PROTOCOL=udp SRV_SERVER_EXTRA="" SRV_EXTRA=""
	SRV_KEEPALIVE=1
	SRV_EGRESS=br0
	SRV_MAXCONN=$((PAR + 16))
	SRV_HS_PER_IP=100
	case $1 in
	standard | maximum)
		SRV_EXTRA=$'\n[obfuscation]\nenabled = true\nstealth_mode = "'$1'"'
		cli=$'\n[obfuscation]\nstealth_mode = "'$1'"'
		;;
	tls)
		SRV_PROTOCOL=both
		SRV_SERVER_EXTRA="tls_certificate_file = \"$LL_TMP/tls.crt\"
tls_key_file = \"$LL_TMP/tls.key\""
		SRV_EXTRA=$'\n[obfuscation]\nenabled = true\nstealth_mode = "maximum"'
		cli="transport = \"tls\"
sni = \"$NAME\"
host = \"$NAME\""$'\n[obfuscation]\nstealth_mode = "maximum"'
		;;
	proxy)
		SRV_BIND=127.0.0.1 SRV_PORT=51820 SRV_PROTOCOL=tcp
		SRV_EXTRA=$'\n[obfuscation]\nenabled = true\nstealth_mode = "maximum"\nfront_tls = false'
		cli='transport = "tls"
sni = "front.test"
host = "hidden.test"
path = "/tunnel"'$'\n[obfuscation]\nstealth_mode = "maximum"'
		;;
	esac
	write_server_config
	for ((i = 1; i <= PAR; i++)); do
		write_client_config "u$i" 198.51.100.1:$PORT '[]' "$cli" >/dev/null
	done
}

# session_rest I MODE W: one session's bulk, idle, roaming event and pings,
# run in the background (no fail: it returns 1 and says why).
session_rest() {
	local i=$1 mode=$2 w=$3 ns="c$1" got out t
	local ex=(ip netns exec "$LL_PREFIX$ns")
	"${ex[@]}" timeout 60 socat -u "OPEN:$LL_TMP/bulk.dat" TCP4:10.8.0.1:5001 ||
		{ echo "session $i: bulk up failed"; return 1; }
	got=$("${ex[@]}" timeout 60 socat -u TCP4:10.8.0.1:5002 - | wc -c)
	[ "$got" = $((KIB * 1024)) ] || { echo "session $i: bulk down got $got bytes"; return 1; }
	# idle: no traffic from either side but the keepalives (every second);
	# the window is checked in the capture (keepalives_seen)
	echo "198.51.100.$((10 + i)) $(date +%s.%N)" >"$LL_TMP/idle-$i"
	sleep 2.5
	echo "$(date +%s.%N)" >>"$LL_TMP/idle-$i"
	if [ "$mode" = tls ] || [ "$mode" = proxy ]; then
		"${ex[@]}" sysctl -qw net.ipv4.ip_local_port_range="$((40000 + 200 * (w - 1))) $((40199 + 200 * (w - 1)))"
		"${ex[@]}" ss -K -t dst 198.51.100.1 dport = :$PORT >/dev/null
	else
		# (a failure here exits this background job only: its status says so)
		fp_rebind_start "$ns" 198.51.100.1 $PORT
		fp_rebind "$ns" 198.51.100.1 $PORT "$FP_CPORT" $((40000 + 200 * (w - 1) + i))
	fi
	# the session goes on from the new flow (for TLS, once the client has
	# joined it on its new connection)
	for ((t = 0; t < 100; t++)); do
		"${ex[@]}" ping -c 1 -W 1 10.8.0.1 >/dev/null 2>&1 && break
	done
	out=$("${ex[@]}" ping -c 30 -i 0.01 -W 2 10.8.0.1 2>&1) || true
	got=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out")
	[ "${got:-0}" -ge 25 ] || { echo "session $i: after roaming, ${got:-0} of 30 pings answered"; return 1; }
	[ "$mode" = tls ] || [ "$mode" = proxy ] || fp_rebind_end "$ns"
}

# keepalives_seen PCAP K: in each session's idle window (idle-I: its
# address, start, end), both ends sent at least one packet after the first
# half second (the bulk's last segments and TCP's teardown come before).
keepalives_seen() {
	local pcap=$1 k=$2 i ip t0 t1 out
	out=$(tshark -r "$pcap" -T fields -e frame.time_epoch -e ip.src -e ip.dst 2>/dev/null)
	for ((i = 1; i <= k; i++)); do
		read -r ip t0 t1 < <(paste -sd' ' "$LL_TMP/idle-$i")
		awk -v ip="$ip" -v t0="$t0" -v t1="$t1" '
			$1 >= t0 + 0.5 && $1 <= t1 { if ($2 == ip) up++; if ($3 == ip) down++ }
			END { exit !(up && down) }' <<<"$out" ||
			fail "session $i ($ip) of $pcap: no keepalive both ways in its idle window"
	done
}

# wave MODE W K: K sessions at once, captured into MODE-wW.pcap and cut
# into MODE-wW-mid.pcap.
wave() {
	local mode=$1 w=$2 k=$3 i from mid_start pids=() bad=0 filter=udp
	[ "$mode" = tls ] || [ "$mode" = proxy ] && filter=tcp
	fp_capture "$mode-w$w" srv br0 $filter port $PORT
	for ((i = 1; i <= k; i++)); do
		nq "c$i" sysctl -qw net.ipv4.ip_local_port_range="$((20000 + 200 * (w - 1))) $((20199 + 200 * (w - 1)))"
		from=0
		[ -f "$LL_TMP/client-u$i.log" ] && from=$(log_lines "client-u$i")
		echo "$from" >"$LL_TMP/from-$i"
		spawn "client-u$i" "c$i" "$LL_CLIENT" -c "$LL_TMP/u$i.toml" >/dev/null
	done
	for ((i = 1; i <= k; i++)); do
		wait_until 30 log_has "$(log_of "client-u$i")" '^lostlove-client: connected: ' "$(cat "$LL_TMP/from-$i")"
	done
	for ((i = 1; i <= k; i++)); do
		nq "c$i" ping -c 3 -i 0.05 -W 2 10.8.0.1 >"$LL_TMP/ping-$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=1; done
	[ "$bad" = 0 ] || fail "a session's first pings were not all answered: $(cat "$LL_TMP"/ping-*)"
	mid_start=$(date +%s.%N)
	pids=()
	for ((i = 1; i <= k; i++)); do
		session_rest "$i" "$mode" "$w" >"$LL_TMP/rest-$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=1; done
	[ "$bad" = 0 ] || fail "wave $w of $mode: $(cat "$LL_TMP"/rest-*)"
	for ((i = 1; i <= k; i++)); do
		stop_clean "client-u$i"
	done
	fp_capture_stop "$mode-w$w"
	fp_capture_complete "$mode-w$w"
	keepalives_seen "$LL_TMP/$mode-w$w.pcap" "$k"
	echo "$mid_start" >"$LL_TMP/$mode-w$w.cut"
	editcap -F pcap -A "$mid_start" "$LL_TMP/$mode-w$w.pcap" "$LL_TMP/$mode-w$w-mid.pcap"
}

results=$LL_TMP/verdicts.txt
: >"$results"
t_all=$(now_us)
for mode in $MODES; do
	nm=$N
	# the reference captures of the modes with maximum's chaff (about 140
	# KB a session) hold half as many sessions
	[ -n "$REFERENCE" ] && [ "$mode" != off ] && [ "$mode" != standard ] && nm=$(((N + 1) / 2))
	say "mode $mode: $nm sessions, $PAR at a time"
	t_mode=$(now_us)
	configure "$mode"
	case $mode in
	tls)
		nginx_conf 0
		spawn nginx srv nginx -e "$LL_TMP/nginx-error.log" -c "$LL_TMP/nginx.conf"
		wait_until 5 tcp_listening srv 443
		baseline "$NAME"
		stop nginx
		;;
	proxy)
		nginx_conf 1
		spawn nginx srv nginx -e "$LL_TMP/nginx-error.log" -c "$LL_TMP/nginx.conf"
		wait_until 5 tcp_listening srv 443
		baseline front.test
		;;
	esac
	start_server
	# K clients connect at once: socat's default backlog (5) would overflow
	# into SYN cookies, and a connection whose ACK then meets a full accept
	# queue hangs for good (the server keeps no state to retransmit from)
	spawn sink srv socat -u TCP4-LISTEN:5001,bind=10.8.0.1,fork,reuseaddr,backlog=256 OPEN:/dev/null
	spawn source srv socat -U TCP4-LISTEN:5002,bind=10.8.0.1,fork,reuseaddr,backlog=256 "OPEN:$LL_TMP/bulk.dat"
	wait_until 5 tcp_listening srv 5001
	wait_until 5 tcp_listening srv 5002
	waves=()
	for ((done_ = 0, w = 1; done_ < nm; w++)); do
		k=$((nm - done_ < PAR ? nm - done_ : PAR))
		wave "$mode" "$w" "$k"
		waves+=("$w")
		done_=$((done_ + k))
	done
	echo "   $nm sessions in ${#waves[@]} waves"
	stop sink
	stop source
	stop_clean server
	[ "$mode" = proxy ] && stop nginx
	full=() mid=()
	for w in "${waves[@]}"; do
		full+=("$LL_TMP/$mode-w$w.pcap")
		mid+=("$LL_TMP/$mode-w$w-mid.pcap")
	done
	mergecap -F pcap -a -w "$LL_TMP/$mode.pcap" "${full[@]}"
	mergecap -F pcap -a -w "$LL_TMP/$mode-mid.pcap" "${mid[@]}"
	say "mode $mode: the verdicts ($(since "$t_mode") s so far)"
	fv_mode "$mode" "$LL_TMP/$mode.pcap" "$LL_TMP/$mode-mid.pcap" \
		"$([ -f "$LL_TMP/$mode-base.pcap" ] && echo "$LL_TMP/$mode-base.pcap")" | tee -a "$results"
	read -r first rebound < <(sed -nE "s/^info $mode flows first=([0-9]+) rebound=([0-9]+) .*/\1 \2/p" "$results")
	[ "$first" -ge "$nm" ] && [ "$rebound" -ge "$nm" ] ||
		fail "$mode: $first first flows and $rebound after roaming, expected $nm of each"
	echo "   $mode: $(ls -l "$LL_TMP/$mode.pcap" | awk '{print $5}') bytes captured; $(since "$t_mode") s"
done

say "verdicts: $N sessions per mode ($(since "$t_all") s)"
fv_table "$results" $MODES
grep '^info ' "$results"
bad=""
fv_invariants "$results" || bad="a verdict breaks the research's acceptance criteria; "
fv_compare "$EXPECTED" "$results" $MODES || bad+="the verdicts differ from $EXPECTED"
[ -z "$bad" ] || fail "$bad (above)"
if [ "$REFERENCE" = --reference ]; then
	say "replacing the reference captures in $DATA_DIR"
	for mode in $MODES; do
		cp "$LL_TMP/$mode.pcap" "$DATA_DIR/$mode.pcap"
		cp "$LL_TMP/$mode-w1.cut" "$DATA_DIR/$mode.cut"
		[ -f "$LL_TMP/$mode-base.pcap" ] && editcap -F pcap "$LL_TMP/$mode-base.pcap" "$DATA_DIR/$mode-base.pcap"
	done
	ls -l "$DATA_DIR"
fi
pass
