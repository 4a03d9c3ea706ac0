#!/usr/bin/env bash
# bench/tunnel.sh: the tunnel's throughput, loss, latency and CPU cost, next
# to wireguard-go (Debian's 2022 build and upstream with its offloads),
# OpenVPN and the bare forwarded path, on one machine, in network
# namespaces. Run by hand as root (not in CI):
#
#   bench/tunnel.sh [BUILD_DIR]       # default build-bench-tun, set up as a release build
#
# The client reaches a host *behind* the server, as users do: every tunnel
# packet is forwarded by the server's kernel between its TUN device and s1.
#
#   ┌──── cli ──────────────────┐      ┌──── srv ──────────────┐      ┌── inet ───────────┐
#   │ iperf3 -c, ping           │      │ ll0  10.8.0.1         │      │ iperf3 -s         │
#   │ ll0  10.8.0.2  (LostLove) │      │ wgs  10.9.0.1         │      │                   │
#   │ wgc  10.9.0.2  (wg-go)    │      │ ovs  10.10.0.1        │      │ i0 203.0.113.2/24 │
#   │ ovc  10.10.0.2 (OpenVPN)  │      │ s1   203.0.113.1/24   ├──────┤ 10/8, 198.51.100/ │
#   │ c0   198.51.100.2/24      ├──────┤ s0   198.51.100.1/24  │ veth │ 24 via 203.0.113.1│
#   └───────────────────────────┘ veth └───────────────────────┘      └───────────────────┘
#
# Runs are interleaved: for run in 1..BENCH_RUNS, every path in turn (odd
# runs in the listed order, even runs in reverse, so a drift of the
# machine's state does not favour the paths measured first), each started
# from scratch (only its daemons running) and stopped after. One run of a
# path measures, in this order:
#   - ping RTT through the idle tunnel (100 × 10 ms, average);
#   - single-stream TCP client→server ("up"), and beside it, from its 2nd
#     second on, ping -i 0.01 (loss, average RTT, 99th percentile RTT):
#     the latency interactive traffic sees behind a saturating stream;
#     the sender's TCP retransmits (iperf3's JSON) per 10 s; the CPU
#     seconds both tunnel processes spent (utime+stime of every thread,
#     /proc/PID/stat) per GB of TCP payload; wire bytes per payload byte;
#   - the same server→client ("down", iperf3 -R; the iperf3 server sends
#     and counts the retransmits);
#   - 4-stream TCP up;
#   - UDP up at 500 Mbit/s offered (iperf3 -u -b 500M -l 1380: datagrams
#     that fit the 1420-byte tunnel MTU unfragmented): the rate delivered
#     and the loss, as the receiving iperf3 counts them. Its socket buffers
#     are 4 MB (-w 4M): with the default 208 KB, the receiving iperf3 alone
#     drops datagrams whenever it waits a few ms for a CPU (28 % on the raw
#     path of a loaded 2-CPU machine), which is not the tunnel's loss.
# Every figure is the median of the runs; the noise table gives each
# figure's spread over the runs. Tunnel MTU 1420 everywhere.
#
# Writes the tables to bench/RESULTS.md between the markers of its own
# section (the rest of the file is left as it is) and prints them. The
# time the whole run will take is estimated at the start.
#
# Environment:
#   BENCH_SECONDS   seconds per iperf3 run (default 5; TCP runs add iperf3's
#                   omitted first second, -O 1). At least 2.
#   BENCH_RUNS      interleaved runs (default 3)
#   BENCH_PATHS     space-separated paths (BENCH_ONLY is an older name for
#                   it); "all" is every path below. Default: raw
#                   wireguard-go wireguard-go-upstream openvpn performance
#                   balanced maximum_security stealth-standard
#                   stealth-maximum tls balanced-uring. LostLove paths:
#                     performance, balanced, maximum_security  crypto modes
#                     stealth-standard, stealth-maximum  balanced with
#                       [obfuscation] stealth_mode on both ends
#                       (docs/obfuscation.md, "UDP stealth")
#                     tls, tls-stealth-maximum  balanced over the TLS
#                       front (TCP, WebSocket frames)
#                     balanced-avx512vl-off  balanced with
#                       OPENSSL_ia32cap=":~0x80000000" in both daemons'
#                       environment (docs/dataplane.md, "Tuning")
#                     balanced-ratelimit  the per-user policer on every
#                       packet at a rate never reached
#                   each with the epoll event loop ([performance] io_uring
#                   = false), or with io_uring when the name ends in
#                   "-uring" (balanced-uring, stealth-maximum-uring, ...).
#                   An io_uring path prints "not available" and is not run
#                   when this build does not have the backend (a config
#                   check at the start: the key is refused or warned about
#                   as not supported) or when the server falls back to
#                   epoll at start (the kernel refused io_uring).
#   WG_UPSTREAM     the upstream wireguard-go binary, built with
#                   ../shared/tools/wireguard-go-modern.sh (default
#                   /opt/wg-modern/wireguard-go; the path is skipped with
#                   a note when it is absent)
#   BENCH_NO_WRITE=1  print only, leave bench/RESULTS.md alone
#   BENCH_ESTIMATE_ONLY=1  print what would run and the estimate, run nothing
LL_NAME=tunnel-bench
ROOT=$(realpath "$(dirname "$0")/..")
BUILD=${1:-$ROOT/build-bench-tun}

if [ "$(id -u)" != 0 ]; then
	echo "bench/tunnel.sh: needs root (network namespaces)" >&2
	exit 1
fi

SECONDS_PER_RUN=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
DEFAULT_PATHS="raw wireguard-go wireguard-go-upstream openvpn performance balanced maximum_security stealth-standard stealth-maximum tls balanced-uring"
ALL_PATHS="$DEFAULT_PATHS balanced-avx512vl-off balanced-ratelimit tls-stealth-maximum performance-uring maximum_security-uring stealth-standard-uring stealth-maximum-uring tls-uring"
PATHS=${BENCH_PATHS:-${BENCH_ONLY:-$DEFAULT_PATHS}}
[ "$PATHS" = all ] && PATHS=$ALL_PATHS
WG_UPSTREAM=${WG_UPSTREAM:-/opt/wg-modern/wireguard-go}
if ! [[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_RUN" -lt 2 ]; then
	echo "bench/tunnel.sh: BENCH_SECONDS must be a whole number ≥ 2 (found '$SECONDS_PER_RUN')" >&2
	exit 1
fi
if ! [[ $RUNS =~ ^[1-9][0-9]*$ ]]; then
	echo "bench/tunnel.sh: BENCH_RUNS must be a whole number ≥ 1 (found '$RUNS')" >&2
	exit 1
fi

# lostlove_spec PATH: the LostLove settings of a path name, in LLP_MODE,
# LLP_STEALTH (off, standard, maximum), LLP_TRANSPORT (udp, tls),
# LLP_URING (true, false), LLP_IA32CAP and LLP_LIMITS; 1 when PATH is not
# a LostLove path.
lostlove_spec() {
	local base=${1%-uring}
	LLP_URING=false
	[ "$base" != "$1" ] && LLP_URING=true
	LLP_MODE=balanced LLP_STEALTH=off LLP_TRANSPORT=udp LLP_IA32CAP="" LLP_LIMITS=""
	case $base in
	performance | balanced | maximum_security) LLP_MODE=$base ;;
	stealth-standard | stealth-maximum) LLP_STEALTH=${base#stealth-} ;;
	tls) LLP_TRANSPORT=tls ;;
	tls-stealth-maximum) LLP_TRANSPORT=tls LLP_STEALTH=maximum ;;
	# OpenSSL 3.0's ChaCha20-Poly1305 with AVX-512VL hidden from it
	# (docs/dataplane.md, "Tuning"): an operator's choice, not a default
	balanced-avx512vl-off) LLP_IA32CAP=":~0x80000000" ;;
	# the per-user policer on every packet, at a rate never reached
	# (10 GB/s): what the limiter costs the data path
	balanced-ratelimit) LLP_LIMITS="rate_limit_per_user = 10000000000" ;;
	*) return 1 ;;
	esac
	return 0
}

for p in $PATHS; do
	case $p in
	raw | wireguard-go | wireguard-go-upstream | openvpn) ;;
	*) lostlove_spec "$p" || {
		echo "bench/tunnel.sh: unknown path '$p' (known: $ALL_PATHS)" >&2
		exit 1
	} ;;
	esac
done

if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=release
fi
[ -f "$BUILD/build.ninja" ] && ninja -C "$BUILD" >/dev/null
for pkg in iperf3:iperf3 wireguard-go:wireguard-go wg:wireguard-tools openvpn:openvpn; do
	command -v "${pkg%%:*}" >/dev/null || MISSING="${MISSING:-} ${pkg#*:}"
done
if [ -n "${MISSING:-}" ]; then
	echo "installing$MISSING"
	apt-get install -y --no-install-recommends $MISSING >/dev/null
fi

source "$ROOT/tests/e2e/lib.sh" "$BUILD"

FAR=203.0.113.2 # the iperf3 server behind the server
CLK_TCK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(now_us)
SAMPLES="$LL_TMP/samples.tsv" # PATH RUN METRIC VALUE, one line per figure per run
FAILURES="$LL_TMP/failures.txt"
: >"$SAMPLES"
: >"$FAILURES"
declare -A UNAVAILABLE=() # path -> why it is not run

# ---- measurements ----

# cpu_ticks PID...: utime + stime of the processes, in clock ticks.
cpu_ticks() {
	local pid total=0 f
	for pid in "$@"; do
		read -ra f <"/proc/$pid/stat"
		# fields 14 and 15 (1-based) after "pid (comm) state": comm has no spaces here
		total=$((total + f[13] + f[14]))
	done
	echo "$total"
}

# wire_bytes: bytes on the client's outer link, both directions (IP
# packets as the veth counts them: every header, padding, handshakes, ACKs
# and keepalives included).
wire_bytes() {
	local rx tx
	rx=$(nq cli cat /sys/class/net/c0/statistics/rx_bytes)
	tx=$(nq cli cat /sys/class/net/c0/statistics/tx_bytes)
	echo $((rx + tx))
}

# record PATH RUN METRIC VALUE: one sample ("-" or empty: none).
record() {
	[ -n "${4:-}" ] && [ "$4" != - ] || return 0
	echo "$1 $2 $3 $4" >>"$SAMPLES"
}

# failed PATH RUN WHAT: a figure that could not be measured in this run;
# listed under the tables, the median is taken over the other runs.
failed() {
	echo "$1 run $2: $3" | tee -a "$FAILURES" >&2
}

# iperf_json OUT ARGS...: one iperf3 client run from cli to the far host,
# its JSON in OUT; bounded, so that a dead tunnel cannot hang the run.
iperf_json() {
	local out=$1
	shift
	nq cli timeout $((SECONDS_PER_RUN + 20)) iperf3 -c "$FAR" --connect-timeout 5000 \
		-J "$@" >"$out" 2>"$out.err"
}

# iperf_error JSON: what went wrong, for the list of failures.
iperf_error() {
	{
		python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("error", ""))' "$1" 2>/dev/null ||
			head -c 200 "$1"
		head -c 200 "$1.err"
	} | tr '\n' ' '
}

# tcp_figures JSON: "Mbit/s bytes retransmits-per-10s": the rate received
# after the omitted first second (-O 1, TCP's ramp), the payload bytes of
# the whole run, that second included (the CPU and wire counters read
# around the run count it too), and the sender's retransmits (in -R mode
# iperf3's server is the sender and reports them) per 10 s.
tcp_figures() {
	python3 - "$1" <<-'EOF'
		import json, sys
		j = json.load(open(sys.argv[1]))
		if "error" in j:
		    sys.exit("iperf3: " + j["error"])
		s, r = j["end"]["sum_sent"], j["end"]["sum_received"]
		total = sum(i["sum"]["bytes"] for i in j["intervals"])
		retr = s.get("retransmits")
		per10 = "-" if retr is None or s["seconds"] <= 0 else "%.1f" % (retr * 10 / s["seconds"])
		print("%.1f %d %s" % (r["bits_per_second"] / 1e6, total, per10))
	EOF
}

# udp_figures JSON: "delivered-Mbit/s loss-%", as the receiver counted them.
udp_figures() {
	python3 - "$1" <<-'EOF'
		import json, sys
		j = json.load(open(sys.argv[1]))
		if "error" in j:
		    sys.exit("iperf3: " + j["error"])
		r = j["end"]["sum_received"] if "sum_received" in j["end"] else j["end"]["sum"]
		print("%.1f %.3f" % (r["bits_per_second"] / 1e6, r["lost_percent"]))
	EOF
}

# ping_figures COUNT: COUNT echo requests 10 ms apart through the tunnel;
# prints "loss-% avg-ms p99-ms" (RTTs of the replies received; "-" when
# none came back).
ping_figures() {
	{ nq cli ping -n -i 0.01 -W 1 -c "$1" "$FAR" 2>&1 || true; } | python3 -c '
import math, re, sys
text = sys.stdin.read()
rtts = sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", text))
m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
if not m or int(m.group(1)) == 0:
    print("- - -"); sys.exit()
tx, rx = int(m.group(1)), int(m.group(2))
loss = 100.0 * (tx - rx) / tx
if not rtts:
    print("%.2f - -" % loss); sys.exit()
p99 = rtts[max(0, math.ceil(0.99 * len(rtts)) - 1)]
print("%.2f %.3f %.3f" % (loss, sum(rtts) / len(rtts), p99))'
}

# tcp_single NAME RUN DIR PID...: one single-stream TCP run (DIR up or
# down) with ping beside it, CPU and wire counters around it.
tcp_single() {
	local name=$1 run=$2 dir=$3
	shift 3
	local pids=("$@") args=() t0 t1 w0 w1 ipid st=0 mbit bytes retr cpu=- loss avg p99 out
	local json="$LL_TMP/iperf-$dir.json"
	[ "$dir" = down ] && args=(-R)
	[ ${#pids[@]} -gt 0 ] && t0=$(cpu_ticks "${pids[@]}")
	w0=$(wire_bytes)
	iperf_json "$json" -t "$SECONDS_PER_RUN" -O 1 "${args[@]}" &
	ipid=$!
	# ping from the stream's 2nd second (after its ramp) to its end
	sleep 1
	read -r loss avg p99 < <(ping_figures $(((SECONDS_PER_RUN - 1) * 100 + 50)))
	wait "$ipid" || st=$?
	w1=$(wire_bytes)
	if [ "$st" != 0 ] || ! out=$(tcp_figures "$json" 2>&1); then
		failed "$name" "$run" "TCP $dir: iperf3 failed (status $st): $(iperf_error "$json")"
		return 0
	fi
	read -r mbit bytes retr <<<"$out"
	if [ ${#pids[@]} -gt 0 ]; then
		t1=$(cpu_ticks "${pids[@]}")
		cpu=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v b="$bytes" \
			'BEGIN {printf "%.2f", (t / hz) / (b / 1e9)}')
		record "$name" "$run" "cpu_$dir" "$cpu"
	fi
	record "$name" "$run" "tcp_$dir" "$mbit"
	record "$name" "$run" "retr_$dir" "$retr"
	record "$name" "$run" "wire_$dir" "$(awk -v w="$((w1 - w0))" -v b="$bytes" 'BEGIN {printf "%.4f", w / b}')"
	record "$name" "$run" "lping_${dir}_loss" "$loss"
	record "$name" "$run" "lping_${dir}_avg" "$avg"
	record "$name" "$run" "lping_${dir}_p99" "$p99"
	printf '   %-30s TCP %-4s %6.0f Mbit/s  retr/10s %-6s cpu %-5s s/GB  ping under load: loss %s %%, avg %s ms, p99 %s ms\n' \
		"$name" "$dir" "$mbit" "$retr" "$cpu" "$loss" "$avg" "$p99"
}

# measure_once NAME RUN PID...: every figure of one path, once.
measure_once() {
	local name=$1 run=$2
	shift 2
	local pids=("$@") json="$LL_TMP/iperf.json" loss avg p99 mbit bytes retr st out
	if ! try_until 10 nq cli ping -c 1 -W 1 "$FAR"; then
		failed "$name" "$run" "$FAR does not answer through the tunnel: nothing measured"
		return 0
	fi
	read -r loss avg p99 < <(ping_figures 100)
	record "$name" "$run" rtt_idle "$avg"
	printf '   %-30s ping idle avg %s ms (loss %s %%)\n' "$name" "$avg" "$loss"
	tcp_single "$name" "$run" up "${pids[@]}"
	tcp_single "$name" "$run" down "${pids[@]}"
	st=0
	iperf_json "$json" -t "$SECONDS_PER_RUN" -O 1 -P 4 || st=$?
	if [ "$st" = 0 ] && out=$(tcp_figures "$json" 2>&1); then
		read -r mbit bytes retr <<<"$out"
		record "$name" "$run" tcp_p4 "$mbit"
		printf '   %-30s TCP up×4 %6.0f Mbit/s\n' "$name" "$mbit"
	else
		failed "$name" "$run" "TCP up×4: iperf3 failed (status $st): $(iperf_error "$json")"
	fi
	st=0
	iperf_json "$json" -t "$SECONDS_PER_RUN" -u -b 500M -l 1380 -w 4M || st=$?
	if [ "$st" = 0 ] && out=$(udp_figures "$json" 2>&1); then
		read -r mbit loss <<<"$out"
		record "$name" "$run" udp_mbit "$mbit"
		record "$name" "$run" udp_loss "$loss"
		printf '   %-30s UDP 500M offered: %6.0f Mbit/s delivered, loss %s %%\n' "$name" "$mbit" "$loss"
	else
		failed "$name" "$run" "UDP 500M: iperf3 failed (status $st): $(iperf_error "$json")"
	fi
}

# ---- the paths: *_up starts one (PATH_PIDS: its processes at both ends),
# ---- *_down stops it and leaves nothing behind

raw_up() {
	PATH_PIDS=()
	n cli ip route add 203.0.113.0/24 via 198.51.100.1
}
raw_down() { n cli ip route del 203.0.113.0/24 via 198.51.100.1; }

# The TLS front's certificate: self-signed, readable by the service user
# the server becomes before it loads it.
make_front_cert() {
	run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=front.test -keyout "$LL_TMP/front.key" -out "$LL_TMP/front.crt"
	run chgrp "$LL_SERVICE_USER" "$LL_TMP/front.key" "$LL_TMP/front.crt"
	run chmod 640 "$LL_TMP/front.key"
}

# lostlove_configs URING: server.toml, users.toml and alice.toml for the
# settings lostlove_spec left in LLP_*, with [performance] io_uring = URING
# on the server (and on the client when its configuration has the key).
lostlove_configs() {
	local uring=$1 client_extra=""
	SRV_PROTOCOL=udp
	SRV_SERVER_EXTRA=""
	if [ "$LLP_TRANSPORT" = tls ]; then
		[ -f "$LL_TMP/front.crt" ] || make_front_cert
		SRV_PROTOCOL=tcp
		SRV_SERVER_EXTRA="tls_certificate_file = \"$LL_TMP/front.crt\"
tls_key_file = \"$LL_TMP/front.key\""
		client_extra='transport = "tls"
sni = "front.test"
path = "/chat"'
	fi
	SRV_MODE=$LLP_MODE
	SRV_LOG=info
	SRV_FIREWALL=none
	SRV_WORKERS=0
	SRV_ROT_INT=120
	SRV_LIMITS_EXTRA=$LLP_LIMITS
	SRV_EXTRA="[obfuscation]
enabled = $([ "$LLP_STEALTH" = off ] && echo false || echo true)
stealth_mode = \"$LLP_STEALTH\"
[performance]
io_uring = $uring"
	write_server_config
	local uring_client="" uring_table=""
	case ${CLIENT_URING_KEY:-} in
	client) uring_client="io_uring = $uring" ;;
	performance) uring_table="[performance]
io_uring = $uring" ;;
	esac
	write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]' "$uring_client
$client_extra
[obfuscation]
stealth_mode = \"$LLP_STEALTH\"
$uring_table"
}

# uring_check: whether this build has the io_uring backend, asked of the
# binaries' own configuration check (never assumed): a server.toml with
# [performance] io_uring = true must load without an error or a
# "not yet supported" warning on that key. Sets URING_MISSING (why not;
# empty when it has it) and CLIENT_URING_KEY (where the client takes the
# key: "performance" for a [performance] table, "client" for [client];
# empty when its configuration check refuses both).
uring_check() {
	local out st=0
	lostlove_spec balanced
	CLIENT_URING_KEY=""
	lostlove_configs true >/dev/null
	out=$("$LL_SERVER" --check-config -c "$LL_TMP/server.toml" 2>&1) || st=$?
	URING_MISSING=""
	if [ "$st" != 0 ] || grep -Ei 'io_uring.*(not yet|unknown|error)' <<<"$out" >/dev/null; then
		URING_MISSING="not available: lostlove-server --check-config: $(grep -i -m1 io_uring <<<"$out" |
			sed 's/^[^ ]*: key/key/' || echo "status $st")"
		return 0
	fi
	# the client's key, where it has one: only then is it set there
	local where
	for where in performance client; do
		CLIENT_URING_KEY=$where
		lostlove_configs true >/dev/null
		st=0
		out=$("$LL_CLIENT" --check-config -c "$LL_TMP/alice.toml" 2>&1) || st=$?
		[ "$st" = 0 ] && ! grep -Ei 'io_uring|performance' <<<"$out" >/dev/null && return 0
	done
	CLIENT_URING_KEY=""
}

lostlove_up() {
	local name=$1 from
	lostlove_spec "$name"
	lostlove_configs "$LLP_URING"
	[ -n "$LLP_IA32CAP" ] && export OPENSSL_ia32cap=$LLP_IA32CAP
	from=0
	[ -f "$LL_TMP/server.log" ] && from=$(wc -l <"$LL_TMP/server.log")
	start_server server srv
	start_client alice cli
	unset OPENSSL_ia32cap
	PATH_PIDS=("$(pid_of server)" "$(pid_of client-alice)")
	# asked for io_uring, the server may still have fallen back to epoll
	# (the kernel or a container refused the ring): then this is not an
	# io_uring path, and it is not run again
	if [ "$LLP_URING" = true ] &&
		log_has "$LL_TMP/server.log" 'io_uring.*(refused|unavailable|not available|fall)|event loop: epoll' "$from"; then
		UNAVAILABLE[$name]="not available: the server fell back to epoll: $(tail -n "+$((from + 1))" "$LL_TMP/server.log" |
			grep -Ei -m1 'io_uring|event loop')"
	fi
}
lostlove_down() {
	stop_clean client-alice
	stop_clean server
}

# wireguard-go (Debian's by default): WG_BIN and WG_NAME pick the binary.
wg_keys() {
	local k="$LL_TMP/wg"
	[ -f "$k-s.key" ] && return 0
	wg genkey >"$k-s.key" && wg pubkey <"$k-s.key" >"$k-s.pub"
	wg genkey >"$k-c.key" && wg pubkey <"$k-c.key" >"$k-c.pub"
}
wg_up() {
	local bin=$1 k="$LL_TMP/wg"
	wg_keys
	export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
	spawn wg-srv srv "$bin" -f wgs
	spawn wg-cli cli "$bin" -f wgc
	wait_until 10 test -S /var/run/wireguard/wgs.sock
	wait_until 10 test -S /var/run/wireguard/wgc.sock
	n srv wg set wgs listen-port 51900 private-key "$k-s.key" \
		peer "$(cat "$k-c.pub")" allowed-ips 10.9.0.2/32
	n cli wg set wgc private-key "$k-c.key" \
		peer "$(cat "$k-s.pub")" allowed-ips 10.9.0.0/24,203.0.113.0/24 endpoint 198.51.100.1:51900
	n srv ip addr add 10.9.0.1/24 dev wgs
	n cli ip addr add 10.9.0.2/24 dev wgc
	n srv ip link set wgs mtu 1420 up
	n cli ip link set wgc mtu 1420 up
	n cli ip route add 203.0.113.0/24 dev wgc
	PATH_PIDS=("$(pid_of wg-srv)" "$(pid_of wg-cli)")
}
wg_down() {
	stop wg-cli
	stop wg-srv
	gone_device cli wgc
	gone_device srv wgs
}

# A stopped daemon's TUN device (and its routes) can outlive the process
# by a moment; the next path must not find them.
gone_device() {
	wait_until 5 bash -c "! ip netns exec $LL_PREFIX$1 ip link show $2 >/dev/null 2>&1"
}

make_openvpn_pki() {
	local d="$LL_TMP/pki" who
	[ -f "$d/client.crt" ] && return 0
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=bench-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=$who" -keyout "$d/$who.key" -out "$d/$who.csr" 2>/dev/null
		printf 'extendedKeyUsage = %s\nkeyUsage = digitalSignature\n' \
			"$([ $who = server ] && echo serverAuth || echo clientAuth)" >"$d/$who.ext"
		openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -extfile "$d/$who.ext" -out "$d/$who.crt" 2>/dev/null
	done
	pretty + openssl "(a CA and a server and a client certificate, P-256, in pki/)"
}

openvpn_up() {
	local d="$LL_TMP/pki" common from_srv=0 from_cli=0
	make_openvpn_pki
	[ -f "$LL_TMP/ovpn-srv.log" ] && from_srv=$(log_lines ovpn-srv)
	[ -f "$LL_TMP/ovpn-cli.log" ] && from_cli=$(log_lines ovpn-cli)
	common=(--proto udp --dev-type tun --topology p2p --tun-mtu 1420 --data-ciphers AES-256-GCM
		--disable-dco --ca "$d/ca.crt" --dh none --verb 3 --ping 10)
	spawn ovpn-srv srv openvpn "${common[@]}" --dev ovs --lport 1194 --tls-server \
		--cert "$d/server.crt" --key "$d/server.key" --ifconfig 10.10.0.1 10.10.0.2
	spawn ovpn-cli cli openvpn "${common[@]}" --dev ovc --remote 198.51.100.1 1194 --nobind \
		--tls-client --remote-cert-tls server --cert "$d/client.crt" --key "$d/client.key" \
		--ifconfig 10.10.0.2 10.10.0.1 --route 203.0.113.0 255.255.255.0
	wait_for_log ovpn-cli 'Initialization Sequence Completed' 30 "$from_cli"
	wait_for_log ovpn-srv 'Initialization Sequence Completed' 30 "$from_srv"
	PATH_PIDS=("$(pid_of ovpn-srv)" "$(pid_of ovpn-cli)")
}
openvpn_down() {
	stop ovpn-cli
	stop ovpn-srv
	gone_device cli ovc
	gone_device srv ovs
}

# path_name PATH: the name in the tables.
path_name() {
	case $1 in
	raw | wireguard-go | wireguard-go-upstream | openvpn) echo "$1" ;;
	*) echo "lostlove-$1" ;;
	esac
}

# bench_path PATH RUN: starts the path, measures it once, stops it.
bench_path() {
	local p=$1 run=$2 name kind
	name=$(path_name "$p")
	case $p in
	raw) kind=raw ;;
	wireguard-go | wireguard-go-upstream | openvpn) kind=${p%-upstream} ;;
	*) kind=lostlove ;;
	esac
	say "$name, run $run of $RUNS"
	case $kind in
	raw) raw_up ;;
	wireguard-go) wg_up "$([ "$p" = wireguard-go ] && echo wireguard-go || echo "$WG_UPSTREAM")" ;;
	openvpn) openvpn_up ;;
	lostlove) lostlove_up "$p" ;;
	esac
	if [ -n "${UNAVAILABLE[$p]:-}" ]; then
		echo "   $name: ${UNAVAILABLE[$p]}"
	else
		measure_once "$name" "$run" "${PATH_PIDS[@]}"
	fi
	case $kind in
	raw) raw_down ;;
	wireguard-go) wg_down ;;
	openvpn) openvpn_down ;;
	lostlove) lostlove_down ;;
	esac
}

# ---- report ----

# report: the tables, from the samples (medians over the runs, spreads).
report() {
	python3 - "$SAMPLES" "$FAILURES" "$MEASURED_NAMES" "$RUNS" <<-'EOF'
		import statistics, sys
		samples, failures, names, runs = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
		vals = {}
		for line in open(samples):
		    path, run, metric, value = line.split()
		    vals.setdefault((path, metric), []).append(float(value))

		def med(p, m):
		    v = vals.get((p, m))
		    return statistics.median(v) if v else None

		def fmt(v, f):
		    return "—" if v is None else f % v

		def cell(p, m, f):
		    return fmt(med(p, m), f)

		def row(cells):
		    print("| " + " | ".join(cells) + " |")

		print("| path | TCP up, 1 stream (Mbit/s) | TCP down, 1 stream | TCP up, 4 streams"
		      " | TCP retransmits per 10 s up | down | CPU s/GB up | CPU s/GB down"
		      " | wire bytes per payload byte up | down |")
		print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for p in names:
		    row([p, cell(p, "tcp_up", "%.0f"), cell(p, "tcp_down", "%.0f"), cell(p, "tcp_p4", "%.0f"),
		         cell(p, "retr_up", "%.0f"), cell(p, "retr_down", "%.0f"),
		         cell(p, "cpu_up", "%.2f"), cell(p, "cpu_down", "%.2f"),
		         cell(p, "wire_up", "%.4f"), cell(p, "wire_down", "%.4f")])
		print()
		print("| path | UDP 500 Mbit/s offered: delivered (Mbit/s) | UDP loss (%) | ping idle (ms)"
		      " | ping under TCP up: loss (%) | avg (ms) | p99 (ms)"
		      " | ping under TCP down: loss (%) | avg (ms) | p99 (ms) |")
		print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for p in names:
		    row([p, cell(p, "udp_mbit", "%.0f"), cell(p, "udp_loss", "%.2f"), cell(p, "rtt_idle", "%.3f"),
		         cell(p, "lping_up_loss", "%.1f"), cell(p, "lping_up_avg", "%.2f"), cell(p, "lping_up_p99", "%.2f"),
		         cell(p, "lping_down_loss", "%.1f"), cell(p, "lping_down_avg", "%.2f"),
		         cell(p, "lping_down_p99", "%.2f")])

		# the noise: spread over the runs, (max - min) in % of the median;
		# loss and retransmit counts, often 0, as min–max
		SPREAD = [("tcp_up", "TCP up"), ("tcp_down", "TCP down"), ("tcp_p4", "TCP up ×4"),
		          ("cpu_up", "CPU/GB up"), ("cpu_down", "CPU/GB down"), ("udp_mbit", "UDP delivered"),
		          ("rtt_idle", "ping idle"), ("lping_up_avg", "ping under TCP up")]
		RANGE = [("retr_up", "retransmits up", "%.0f"), ("retr_down", "retransmits down", "%.0f"),
		         ("udp_loss", "UDP loss %", "%.2f"), ("lping_up_loss", "ping loss under TCP up %", "%.1f"),
		         ("lping_down_loss", "ping loss under TCP down %", "%.1f")]
		print()
		print("Noise: each figure's spread over the %d runs, (max − min) in %% of the median;"
		      " counts and losses as min–max:" % runs)
		print()
		print("| path | runs | " + " | ".join(l for _, l in SPREAD) + " | " + " | ".join(l for _, l, _ in RANGE) + " |")
		print("|---|--:|" + "--:|" * (len(SPREAD) + len(RANGE)))
		spreads = []
		for p in names:
		    n = max([len(vals.get((p, m), [])) for m, _ in SPREAD] + [0])
		    cells = [p, str(n)]
		    for m, label in SPREAD:
		        v = vals.get((p, m))
		        if not v or len(v) < 2 or statistics.median(v) <= 0:
		            cells.append("—")
		            continue
		        s = 100 * (max(v) - min(v)) / statistics.median(v)
		        spreads.append((s, p, label))
		        cells.append("%.0f %%" % s)
		    for m, label, f in RANGE:
		        v = vals.get((p, m))
		        cells.append("—" if not v else (f % min(v)) + "–" + (f % max(v)))
		    row(cells)
		if spreads:
		    tput = sorted(s for s, _, l in spreads)
		    worst = max(spreads)
		    print()
		    print("This run's noise: median spread %.0f %% over those figures; the largest %.0f %% (%s, %s)."
		          % (statistics.median(tput), worst[0], worst[1], worst[2]))

		lostlove = [p for p in names if p.startswith("lostlove-")]

		def ratio(a, b, m):
		    x, y = med(a, m), med(b, m)
		    return "—" if x is None or y is None or y <= 0 else "%.2f×" % (x / y)

		for base in ("wireguard-go", "wireguard-go-upstream"):
		    if med(base, "tcp_up") is None or not lostlove:
		        continue
		    print()
		    print("Ratios to %s (throughput: higher is better; CPU per GB: lower is better):" % base)
		    print()
		    print("| LostLove path | TCP up | TCP down | TCP up ×4 | CPU/GB up | CPU/GB down |")
		    print("|---|--:|--:|--:|--:|--:|")
		    for p in lostlove:
		        row([p[len("lostlove-"):]] + [ratio(p, base, m) for m in ("tcp_up", "tcp_down", "tcp_p4", "cpu_up", "cpu_down")])

		# the targets of issue 12, for LostLove balanced (each event loop measured)
		UP, OVPN = "wireguard-go-upstream", "openvpn"

		def judge(v, ok, f):
		    if v is None:
		        return "—"
		    return (f % v) + (" ✓" if ok(v) else " ✗")

		def div(a, b):
		    return None if a is None or b is None or b <= 0 else a / b

		def worst(p, ms):
		    v = [med(p, m) for m in ms]
		    return None if None in v else max(v)

		def le_ref(p, m):
		    a, b = med(p, m), med(UP, m)
		    if a is None or b is None:
		        return "—"
		    return "%.1f vs %.1f %s" % (a, b, "✓" if a <= b else "✗")

		targets = [p for p in ("lostlove-balanced", "lostlove-balanced-uring") if med(p, "tcp_up") is not None]
		if targets:
		    print()
		    print("Targets (issue 12; ✓ met, ✗ not met, — not measured in this run):")
		    print()
		    print("| target | " + " | ".join(p[len("lostlove-"):] for p in targets) + " |")
		    print("|---|" + "--:|" * len(targets))
		    T = [
		        ("TCP up, 1 stream ÷ upstream wireguard-go's ≥ 2×",
		         lambda p: judge(div(med(p, "tcp_up"), med(UP, "tcp_up")), lambda v: v >= 2, "%.2f×")),
		        ("TCP down, 1 stream ÷ upstream wireguard-go's ≥ 2×",
		         lambda p: judge(div(med(p, "tcp_down"), med(UP, "tcp_down")), lambda v: v >= 2, "%.2f×")),
		        ("TCP up, 4 streams ÷ 1 stream ≥ 1×",
		         lambda p: judge(div(med(p, "tcp_p4"), med(p, "tcp_up")), lambda v: v >= 1, "%.2f×")),
		        ("CPU per GB up ≤ 3 s", lambda p: judge(med(p, "cpu_up"), lambda v: v <= 3, "%.2f s")),
		        ("CPU per GB down ≤ 3 s", lambda p: judge(med(p, "cpu_down"), lambda v: v <= 3, "%.2f s")),
		        ("TCP retransmits per 10 s up ≤ upstream wireguard-go's", lambda p: le_ref(p, "retr_up")),
		        ("TCP retransmits per 10 s down ≤ upstream wireguard-go's", lambda p: le_ref(p, "retr_down")),
		        ("UDP 500 Mbit/s offered: loss < 1 %", lambda p: judge(med(p, "udp_loss"), lambda v: v < 1, "%.2f %%")),
		        ("ping RTT idle ÷ OpenVPN's ≤ 1×",
		         lambda p: judge(div(med(p, "rtt_idle"), med(OVPN, "rtt_idle")), lambda v: v <= 1, "%.2f×")),
		        ("ping loss under a TCP stream < 1 % (worse direction)",
		         lambda p: judge(worst(p, ["lping_up_loss", "lping_down_loss"]), lambda v: v < 1, "%.1f %%")),
		        ("ping RTT under a TCP stream ≤ 5 ms (average, worse direction)",
		         lambda p: judge(worst(p, ["lping_up_avg", "lping_down_avg"]), lambda v: v <= 5, "%.2f ms")),
		        ("(ping RTT under a TCP stream, p99, worse direction)",
		         lambda p: fmt(worst(p, ["lping_up_p99", "lping_down_p99"]), "%.2f ms")),
		    ]
		    for label, f in T:
		        row([label] + [f(p) for p in targets])

		fails = open(failures).read().strip()
		if fails:
		    print()
		    print("Not measured (the medians above are over the other runs):")
		    print()
		    for l in fails.splitlines():
		        print("- " + l)
	EOF
}

machine() {
	local commit
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$ROOT" status --porcelain -- src meson.build 2>/dev/null)" ] ||
		commit="$commit + uncommitted changes under src/"
	echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) CPUs," \
		"Linux $(uname -r), $(date -u +%Y-%m-%d)"
	local buildtype
	buildtype=$(meson introspect --buildoptions "$BUILD" 2>/dev/null | python3 -c \
		'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' \
		2>/dev/null || echo unknown)
	echo "- LostLove $commit, build type $buildtype," \
		"worker_threads = 0 (all CPUs), firewall none, log_level info;" \
		"io_uring: ${URING_MISSING:-available (the -uring paths; the others run epoll)}"
	local upstream="upstream wireguard-go: not built"
	[ -x "$WG_UPSTREAM" ] && upstream="upstream $("$WG_UPSTREAM" --version | head -n1) (offloads)"
	echo "- $(wireguard-go --version | head -n1) (Debian), $upstream, $(openvpn --version | head -n1 | cut -d' ' -f1-2)" \
		"(AES-256-GCM, TLS, --disable-dco), $(iperf3 --version | head -n1 | cut -d' ' -f1-2)"
	local env="BENCH_SECONDS=$SECONDS_PER_RUN BENCH_RUNS=$RUNS"
	[ "$PATHS" = "$DEFAULT_PATHS" ] || env="$env BENCH_PATHS=\"$PATHS\""
	echo "- command: \`$env bench/tunnel.sh\`; medians of $RUNS interleaved runs," \
		"${SECONDS_PER_RUN} s per iperf3 run (TCP: plus the omitted first second, -O 1);" \
		"took $(since "$T_START") s"
	echo "- load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	local p
	for p in $PATHS; do
		[ -n "${UNAVAILABLE[$p]:-}" ] && echo "- $(path_name "$p"): ${UNAVAILABLE[$p]}"
	done
	return 0
}

write_results() {
	local file="$ROOT/bench/RESULTS.md" section="$LL_TMP/section.md"
	{
		echo "<!-- bench/tunnel.sh: begin (this section is rewritten by each run) -->"
		echo "## Tunnel: throughput, loss, latency, CPU (bench/tunnel.sh)"
		echo
		machine
		echo
		report
		echo
		echo "CPU s/GB: utime+stime of both tunnel processes (server and client) per 10^9 bytes"
		echo "of TCP payload moved, during the single-stream runs (iperf3's omitted first second"
		echo "counted on both sides of the division). Both ends, iperf3 and the"
		echo "tunnel share the machine's CPUs, so throughput is bounded by the whole"
		echo "machine, not by one side."
		echo
		echo "TCP retransmits: the sender's (iperf3's JSON; in the down runs the iperf3 server"
		echo "sends), after the omitted first second, per 10 s. UDP: iperf3 -u -b 500M -l 1380 -w 4M,"
		echo "the rate and loss the receiving iperf3 counted. Ping under TCP: ping -i 0.01"
		echo "through the tunnel from the single-stream run's 2nd second to its end; average and"
		echo "99th percentile of the replies' RTT, loss of the requests."
		echo
		echo "Wire bytes per payload byte: bytes on the client's outer link (c0, both directions,"
		echo "IP packets with every header, padding, handshake, ACK and keepalive) per byte of TCP"
		echo "payload iperf3 received, during the single-stream runs: what each path's framing,"
		echo "padding and transport cost on the wire. The veth counts the raw path's TCP"
		echo "segmentation-offload super-packets as sent, so its TCP/IP headers barely show."
		echo "<!-- bench/tunnel.sh: end -->"
	} >"$section"
	cat "$section"
	[ "${BENCH_NO_WRITE:-0}" = 1 ] && return 0
	if [ -f "$file" ] && grep -q '<!-- bench/tunnel.sh: begin' "$file"; then
		python3 - "$file" "$section" <<-'EOF'
			import re, sys
			path, sec = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
			text = open(path).read()
			text = re.sub(r"<!-- bench/tunnel.sh: begin.*?<!-- bench/tunnel.sh: end -->", lambda m: sec, text, flags=re.S)
			open(path, "w").write(text)
		EOF
	else
		{ [ -f "$file" ] && echo; cat "$section"; } >>"$file"
	fi
	echo "written to $file"
}

# ---- main ----

add_user alice 10.8.0.2 fd00:8::2

say "what runs"
uring_check
RUN_PATHS=()
for p in $PATHS; do
	if [[ $p == *-uring ]] && [ -n "$URING_MISSING" ]; then
		UNAVAILABLE[$p]=$URING_MISSING
	elif [ "$p" = wireguard-go-upstream ] && [ ! -x "$WG_UPSTREAM" ]; then
		UNAVAILABLE[$p]="not available: $WG_UPSTREAM missing (build it with ../shared/tools/wireguard-go-modern.sh)"
	fi
	if [ -n "${UNAVAILABLE[$p]:-}" ]; then
		echo "   $(path_name "$p"): ${UNAVAILABLE[$p]}"
	else
		RUN_PATHS+=("$p")
	fi
done
[ ${#RUN_PATHS[@]} -gt 0 ] || fail "no path to measure"

# The estimate: per path and run, three TCP runs of S + 1 s, a UDP run of
# S s, 1 s of idle ping, and what iperf3's connections, the tunnel's start
# and its stop take (measured here: ~4 s for LostLove and wireguard-go,
# ~8 s for OpenVPN's TLS handshake, ~1 s for the raw path).
est=0
for p in "${RUN_PATHS[@]}"; do
	case $p in raw) o=1 ;; openvpn) o=8 ;; *) o=4 ;; esac
	est=$((est + 4 * SECONDS_PER_RUN + 4 + o))
done
est=$((est * RUNS))
echo "   ${#RUN_PATHS[@]} paths × $RUNS runs × ${SECONDS_PER_RUN} s per iperf3 run:" \
	"about $((est / 60)) min $((est % 60)) s (load average now: $LOAD_START)"
[ "${BENCH_ESTIMATE_ONLY:-0}" = 1 ] && exit 0

behind_server
enable_forwarding srv
n inet ip route add 10.0.0.0/8 via 203.0.113.1      # the tunnels' client addresses
n inet ip route add 198.51.100.0/24 via 203.0.113.1 # the raw path's
spawn iperf3 inet iperf3 -s
wait_until 5 tcp_listening inet 5201

for ((run = 1; run <= RUNS; run++)); do
	order=("${RUN_PATHS[@]}")
	if ((run % 2 == 0)); then
		order=()
		for ((i = ${#RUN_PATHS[@]} - 1; i >= 0; i--)); do order+=("${RUN_PATHS[i]}"); done
	fi
	for p in "${order[@]}"; do
		[ -n "${UNAVAILABLE[$p]:-}" ] && continue
		bench_path "$p" "$run"
	done
done

MEASURED_NAMES=""
for p in "${RUN_PATHS[@]}"; do
	[ -n "${UNAVAILABLE[$p]:-}" ] || MEASURED_NAMES="$MEASURED_NAMES $(path_name "$p")"
done

say "results"
write_results
stop iperf3
check_sanitizers
echo "DONE $LL_NAME in $(since "$T_START") s (estimated $est s)"
