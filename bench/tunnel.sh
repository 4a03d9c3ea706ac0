#!/usr/bin/env bash
# bench/tunnel.sh: the tunnel's throughput, latency and CPU cost, next to
# wireguard-go (Debian's 2022 build and upstream with its offloads), OpenVPN
# and the bare forwarded path, on one machine, in network namespaces. Run
# by hand as root (not in CI):
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
# For each path, one at a time (only its daemons running): single-stream TCP
# client→server ("up") and server→client ("down", iperf3 -R), 4-stream TCP
# up, ping round trip, and the CPU seconds the tunnel processes (both ends)
# spent per GB of TCP payload moved (utime+stime from /proc/PID/stat, which
# counts every thread, before/after each single-stream run). Every figure is
# the median of 3 runs. Tunnel MTU 1420 everywhere.
#
# Writes the tables to bench/RESULTS.md between the markers of its own
# section (the rest of the file is left as it is) and prints them.
#
# Environment: BENCH_SECONDS (per iperf3 run, default 10), BENCH_RUNS (3),
# BENCH_ONLY (space-separated subset of: raw performance balanced
# maximum_security balanced-avx512vl-off balanced-ratelimit
# stealth-standard stealth-maximum wireguard-go wireguard-go-upstream
# openvpn), WG_UPSTREAM (the upstream
# wireguard-go binary, built with ../shared/tools/wireguard-go-modern.sh;
# default /opt/wg-modern/wireguard-go; the path is skipped with a note when
# it is absent),
# BENCH_NO_WRITE=1 (print only). balanced-avx512vl-off is balanced with
# OPENSSL_ia32cap=":~0x80000000" in both daemons' environment.
# stealth-standard and stealth-maximum are balanced with [obfuscation]
# stealth_mode on both ends (docs/obfuscation.md, "UDP stealth"): the cost
# of the masks and the padding to size buckets.
LL_NAME=tunnel-bench
ROOT=$(realpath "$(dirname "$0")/..")
BUILD=${1:-$ROOT/build-bench-tun}

if [ "$(id -u)" != 0 ]; then
	echo "bench/tunnel.sh: needs root (network namespaces)" >&2
	exit 1
fi
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

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}
PATHS=${BENCH_ONLY:-raw performance balanced maximum_security balanced-avx512vl-off stealth-standard stealth-maximum tls tls-stealth-maximum wireguard-go wireguard-go-upstream openvpn}
WG_UPSTREAM=${WG_UPSTREAM:-/opt/wg-modern/wireguard-go}
FAR=203.0.113.2 # the iperf3 server behind the server
CLK_TCK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$LL_TMP/results.tsv"
: >"$RESULTS"

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

# iperf DST ARGS...: prints "bits_per_second bytes": the rate received
# after the omitted first second (-O 1, TCP's ramp), and the payload bytes
# of the whole run, that second included, since the CPU and wire counters
# read around the run count it too.
iperf() {
	local dst=$1
	shift
	nq cli iperf3 -c "$dst" -t "$SECONDS_PER_RUN" -O 1 -J "$@" |
		python3 -c 'import json, sys
j = json.load(sys.stdin)
rate = j["end"]["sum_received"]["bits_per_second"]
total = sum(i["sum"]["bytes"] for i in j["intervals"])
print("%.0f %d" % (rate, total))'
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

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# measure NAME DST PID...: every figure for one path, RUNS times; appends
# "NAME metric median" lines to $RESULTS.
measure() {
	local name=$1 dst=$2
	shift 2
	local pids=("$@") dir r bps bytes t0 t1 cpu w0 w1
	say "$name: $RUNS × ${SECONDS_PER_RUN} s per figure"
	try_until 10 nq cli ping -c 1 -W 1 "$dst" || fail "$name: $dst does not answer"
	for dir in up down; do
		: >"$LL_TMP/$name.$dir" && : >"$LL_TMP/$name.$dir.cpu" && : >"$LL_TMP/$name.$dir.wire"
		for ((r = 0; r < RUNS; r++)); do
			local args=()
			[ "$dir" = down ] && args=(-R)
			[ ${#pids[@]} -gt 0 ] && t0=$(cpu_ticks "${pids[@]}")
			w0=$(wire_bytes)
			read -r bps bytes < <(iperf "$dst" "${args[@]}")
			w1=$(wire_bytes)
			echo "$bps" >>"$LL_TMP/$name.$dir"
			awk -v w="$((w1 - w0))" -v b="$bytes" 'BEGIN {printf "%.4f\n", w / b}' >>"$LL_TMP/$name.$dir.wire"
			if [ ${#pids[@]} -gt 0 ]; then
				t1=$(cpu_ticks "${pids[@]}")
				cpu=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v b="$bytes" \
					'BEGIN {printf "%.2f", (t / hz) / (b / 1e9)}')
				echo "$cpu" >>"$LL_TMP/$name.$dir.cpu"
			fi
			printf '   %-17s TCP %-4s %8.0f Mbit/s  cpu %s s/GB\n' "$name" "$dir" \
				"$(awk -v b="$bps" 'BEGIN {print b / 1e6}')" "${cpu:--}"
		done
		echo "$name tcp_$dir $(median <"$LL_TMP/$name.$dir")" >>"$RESULTS"
		echo "$name wire_$dir $(median <"$LL_TMP/$name.$dir.wire")" >>"$RESULTS"
		[ ${#pids[@]} -gt 0 ] &&
			echo "$name cpu_$dir $(median <"$LL_TMP/$name.$dir.cpu")" >>"$RESULTS"
	done
	: >"$LL_TMP/$name.p4"
	for ((r = 0; r < RUNS; r++)); do
		read -r bps bytes < <(iperf "$dst" -P 4)
		echo "$bps" >>"$LL_TMP/$name.p4"
		printf '   %-17s TCP up×4 %8.0f Mbit/s\n' "$name" "$(awk -v b="$bps" 'BEGIN {print b / 1e6}')"
	done
	echo "$name tcp_p4 $(median <"$LL_TMP/$name.p4")" >>"$RESULTS"
	: >"$LL_TMP/$name.rtt"
	for ((r = 0; r < RUNS; r++)); do
		nq cli ping -q -c 100 -i 0.01 "$dst" | awk -F/ '/^rtt/ {print $5}' >>"$LL_TMP/$name.rtt"
	done
	echo "$name rtt_ms $(median <"$LL_TMP/$name.rtt")" >>"$RESULTS"
	printf '   %-17s ping avg %s ms (median of %s × 100)\n' "$name" "$(median <"$LL_TMP/$name.rtt")" "$RUNS"
}

# ---- the paths ----

bench_raw() {
	n cli ip route add 203.0.113.0/24 via 198.51.100.1
	measure raw "$FAR"
	n cli ip route del 203.0.113.0/24 via 198.51.100.1
}

# bench_lostlove MODE [NAME [STEALTH [TRANSPORT]]]: NAME defaults to
# lostlove-MODE; STEALTH (standard, maximum) turns stealth_mode on at both
# ends; TRANSPORT tls runs the session over the TLS front (TCP, WebSocket
# frames; docs/obfuscation.md) instead of UDP; the environment
# (OPENSSL_ia32cap for the tuned path) reaches both daemons.
bench_lostlove() {
	local mode=$1 name=${2:-lostlove-$1} stealth=${3:-off} transport=${4:-udp} client_extra=""
	SRV_PROTOCOL=udp
	SRV_SERVER_EXTRA=""
	if [ "$transport" = tls ]; then
		[ -f "$LL_TMP/front.crt" ] || make_front_cert
		SRV_PROTOCOL=tcp
		SRV_SERVER_EXTRA="tls_certificate_file = \"$LL_TMP/front.crt\"
tls_key_file = \"$LL_TMP/front.key\""
		client_extra='transport = "tls"
sni = "front.test"
path = "/chat"'
	fi
	SRV_MODE=$mode
	SRV_LOG=info
	SRV_FIREWALL=none
	SRV_WORKERS=0
	SRV_ROT_INT=120
	SRV_EXTRA="[obfuscation]
enabled = $([ "$stealth" = off ] && echo false || echo true)
stealth_mode = \"$stealth\""
	write_server_config
	write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]' "$client_extra
[obfuscation]
stealth_mode = \"$stealth\""
	start_server server-$mode srv
	start_client alice cli
	measure "$name" "$FAR" "$(pid_of server-$mode)" "$(pid_of client-alice)"
	stop_clean client-alice
	stop_clean server-$mode
}

# The TLS front's certificate: self-signed, readable by the service user
# the server becomes before it loads it.
make_front_cert() {
	run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=front.test -keyout "$LL_TMP/front.key" -out "$LL_TMP/front.crt"
	run chgrp "$LL_SERVICE_USER" "$LL_TMP/front.key" "$LL_TMP/front.crt"
	run chmod 640 "$LL_TMP/front.key"
}

# bench_wireguard_go [BINARY NAME]: Debian's wireguard-go by default.
bench_wireguard_go() {
	local bin=${1:-wireguard-go} name=${2:-wireguard-go} k="$LL_TMP/wg"
	wg genkey >"$k-s.key" && wg pubkey <"$k-s.key" >"$k-s.pub"
	wg genkey >"$k-c.key" && wg pubkey <"$k-c.key" >"$k-c.pub"
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
	measure "$name" "$FAR" "$(pid_of wg-srv)" "$(pid_of wg-cli)"
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

bench_wireguard_go_upstream() {
	if [ ! -x "$WG_UPSTREAM" ]; then
		say "wireguard-go-upstream: $WG_UPSTREAM missing (build it with ../shared/tools/wireguard-go-modern.sh); skipped"
		return 0
	fi
	bench_wireguard_go "$WG_UPSTREAM" wireguard-go-upstream
}

make_openvpn_pki() {
	local d="$LL_TMP/pki" who
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

bench_openvpn() {
	local d="$LL_TMP/pki" common
	make_openvpn_pki
	common=(--proto udp --dev-type tun --topology p2p --tun-mtu 1420 --data-ciphers AES-256-GCM
		--disable-dco --ca "$d/ca.crt" --dh none --verb 3 --ping 10)
	spawn ovpn-srv srv openvpn "${common[@]}" --dev ovs --lport 1194 --tls-server \
		--cert "$d/server.crt" --key "$d/server.key" --ifconfig 10.10.0.1 10.10.0.2
	spawn ovpn-cli cli openvpn "${common[@]}" --dev ovc --remote 198.51.100.1 1194 --nobind \
		--tls-client --remote-cert-tls server --cert "$d/client.crt" --key "$d/client.key" \
		--ifconfig 10.10.0.2 10.10.0.1 --route 203.0.113.0 255.255.255.0
	wait_for_log ovpn-cli 'Initialization Sequence Completed' 30
	wait_for_log ovpn-srv 'Initialization Sequence Completed' 30
	measure openvpn "$FAR" "$(pid_of ovpn-srv)" "$(pid_of ovpn-cli)"
	stop ovpn-cli
	stop ovpn-srv
}

# ---- report ----

get() { awk -v n="$1" -v m="$2" '$1 == n && $2 == m {print $3}' "$RESULTS"; }
mbit() { local v; v=$(get "$1" "$2"); [ -n "$v" ] && awk -v b="$v" 'BEGIN {printf "%.0f", b / 1e6}' || echo "—"; }
ratio() {
	local a b
	a=$(get "$1" "$3") b=$(get "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "—"}' ||
		echo "—"
}

report() {
	local name cols
	echo "| path | TCP up, 1 stream (Mbit/s) | TCP down, 1 stream | TCP up, 4 streams | ping RTT (ms) | CPU s/GB up | CPU s/GB down | wire bytes per payload byte up | down |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
	for name in $(awk '!seen[$1]++ {print $1}' "$RESULTS"); do
		[ -n "$(get "$name" tcp_up)" ] || continue
		echo "| $name | $(mbit "$name" tcp_up) | $(mbit "$name" tcp_down) | $(mbit "$name" tcp_p4) |" \
			"$(get "$name" rtt_ms) | $(get "$name" cpu_up || true) | $(get "$name" cpu_down || true) |" \
			"$(get "$name" wire_up) | $(get "$name" wire_down) |" |
			sed 's/|  |/| — |/g; s/|  |/| — |/g'
	done
	local base
	for base in wireguard-go wireguard-go-upstream; do
		[ -n "$(get "$base" tcp_up)" ] && grep -q '^lostlove-' "$RESULTS" || continue
		echo
		echo "Ratios to $base (throughput: higher is better; CPU per GB: lower is better):"
		echo
		echo "| LostLove mode | TCP up | TCP down | TCP up ×4 | CPU/GB up | CPU/GB down |"
		echo "|---|--:|--:|--:|--:|--:|"
		for name in $(awk '$1 ~ /^lostlove-/ && !seen[$1]++ {print $1}' "$RESULTS"); do
			echo "| ${name#lostlove-} | $(ratio "$name" "$base" tcp_up) | $(ratio "$name" "$base" tcp_down) |" \
				"$(ratio "$name" "$base" tcp_p4) | $(ratio "$name" "$base" cpu_up) | $(ratio "$name" "$base" cpu_down) |"
		done
	done
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
		"worker_threads = 0 (all CPUs), firewall none, log_level info"
	local upstream="upstream wireguard-go: not built"
	[ -x "$WG_UPSTREAM" ] && upstream="upstream $("$WG_UPSTREAM" --version | head -n1) (offloads)"
	echo "- $(wireguard-go --version | head -n1) (Debian), $upstream, $(openvpn --version | head -n1 | cut -d' ' -f1-2)" \
		"(AES-256-GCM, TLS, --disable-dco), $(iperf3 --version | head -n1 | cut -d' ' -f1-2)"
	echo "- command: \`bench/tunnel.sh\` (BENCH_SECONDS=$SECONDS_PER_RUN, BENCH_RUNS=$RUNS);" \
		"medians of $RUNS runs of ${SECONDS_PER_RUN} s (iperf3 -O 1), ping: 100 × 10 ms, averaged"
	echo "- load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

write_results() {
	local file="$ROOT/bench/RESULTS.md" section="$LL_TMP/section.md"
	{
		echo "<!-- bench/tunnel.sh: begin (this section is rewritten by each run) -->"
		echo "## Tunnel: throughput, latency, CPU (bench/tunnel.sh)"
		echo
		machine
		echo
		report
		echo
		echo "CPU s/GB: utime+stime of both tunnel processes (server and client) per 10^9 bytes"
		echo "of TCP payload moved, during the single-stream runs (iperf3's omitted first second"
		echo "counted on both sides of the division; tables before 2026-12-03 divided by the bytes"
		echo "after it and read about 10 % high). Both ends, iperf3 and the"
		echo "tunnel share the machine's CPUs, so throughput is bounded by the whole"
		echo "machine, not by one side. Target (issue \"A working VPN\"): LostLove single-stream"
		echo "TCP ≥ 2× wireguard-go both ways, ≤ half its CPU per GB."
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

behind_server
enable_forwarding srv
n inet ip route add 10.0.0.0/8 via 203.0.113.1      # the tunnels' client addresses
n inet ip route add 198.51.100.0/24 via 203.0.113.1 # the raw path's
spawn iperf3 inet iperf3 -s
wait_until 5 tcp_listening inet 5201
add_user alice 10.8.0.2 fd00:8::2

for p in $PATHS; do
	case $p in
	raw) bench_raw ;;
	performance | balanced | maximum_security) bench_lostlove "$p" ;;
	balanced-avx512vl-off)
		# OpenSSL 3.0's ChaCha20-Poly1305 with AVX-512VL hidden from it
		# (docs/dataplane.md, "Tuning"): an operator's choice, not a default
		OPENSSL_ia32cap=":~0x80000000" bench_lostlove balanced "lostlove-$p"
		;;
	stealth-standard | stealth-maximum) bench_lostlove balanced "lostlove-$p" "${p#stealth-}" ;;
	balanced-ratelimit)
		# the per-user policer on every packet, at a rate never reached
		# (10 GB/s): what the limiter costs the data path
		SRV_LIMITS_EXTRA="rate_limit_per_user = 10000000000" bench_lostlove balanced "lostlove-$p"
		;;
	tls) bench_lostlove balanced "lostlove-$p" off tls ;;
	tls-stealth-maximum) bench_lostlove balanced "lostlove-$p" maximum tls ;;
	wireguard-go) bench_wireguard_go ;;
	wireguard-go-upstream) bench_wireguard_go_upstream ;;
	openvpn) bench_openvpn ;;
	*) fail "unknown path $p" ;;
	esac
done

say "results"
write_results
stop iperf3
check_sanitizers
echo "DONE $LL_NAME"
