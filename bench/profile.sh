#!/usr/bin/env bash
# bench/profile.sh: where the tunnel's time goes, for docs/performance.md's
# "Profile before" and "Profile after". Run by hand as root (not in CI):
#
#   bench/profile.sh [BUILD_DIR]   # default build-bench-prof: release, frame pointers
#
# bench/tunnel.sh's topology (the client reaching an iperf3 server behind
# the LostLove server, forwarded by the server's kernel), one LostLove mode,
# and for each direction a single-stream TCP run (up: client→server; down:
# server→client, iperf3 -R) with `perf record -g` attached to the server
# and to the client for its seconds after the first (TCP's ramp). Each
# recording gives, in the output directory:
#
#   {server,client}-{up,down}.data       perf's recording
#   {server,client}-{up,down}.txt        perf report --stdio, flat (self time
#                                        per symbol, no call graph), ≥ 0.3 %
#   {server,client}-{up,down}.dso.txt    the same per shared object
#                                        (kernel, libcrypto, lostlove-*, libc)
#   {server,client}-{up,down}.graph.txt  perf report --stdio with call graphs
#                                        (children), ≥ 2 %: who calls the kernel
#   summary.txt                          the machine, its load (uptime), the
#                                        throughput while recording, and the
#                                        top of each flat report
#
# Samples are of the cpu-clock software event: this VM has no hardware PMU
# (perf stat -e cycles: "not supported"), and cpu-clock samples on-CPU time
# at the given frequency, which is what the question needs. Call graphs use
# frame pointers: the build keeps them (-fno-omit-frame-pointer); Debian's
# libcrypto and libc have none, so stacks through them are cut short, but
# self time per symbol is exact either way. Time the kernel spends for the
# daemons in softirq context on another task's CPU (the forwarding between
# ll0 and s1 runs partly there) is not in these recordings.
#
# Environment: PROFILE_SECONDS (recorded seconds per direction, default 10),
# PROFILE_MODE (crypto mode, default balanced), PROFILE_FREQ (samples per
# second, default 1999), PROFILE_OUT (output directory, default
# BUILD_DIR/profile-YYYYmmdd-HHMMSS), PROFILE_TOP (symbols per report in
# summary.txt, default 25), PROFILE_LABEL (what summary.txt says was
# profiled; default this tree's commit: set it when BUILD_DIR was built
# from another tree, e.g. an older commit's `git archive`).
LL_NAME=profile
ROOT=$(realpath "$(dirname "$0")/..")
BUILD=${1:-$ROOT/build-bench-prof}

if [ "$(id -u)" != 0 ]; then
	echo "bench/profile.sh: needs root (network namespaces, perf attaching to the daemons)" >&2
	exit 1
fi
command -v perf >/dev/null || apt-get install -y --no-install-recommends linux-perf >/dev/null
command -v iperf3 >/dev/null || apt-get install -y --no-install-recommends iperf3 >/dev/null
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=release -Dc_args=-fno-omit-frame-pointer
fi
# the daemons and what lib.sh needs; everything when those targets moved
ninja -C "$BUILD" src/cmd/lostlove-server src/cmd/lostlove-client src/cmd/lostlove-admin \
	tests/e2e/relay tests/e2e/udpjunk >/dev/null 2>&1 || ninja -C "$BUILD" >/dev/null

source "$ROOT/tests/e2e/lib.sh" "$BUILD"

SECS=${PROFILE_SECONDS:-10}
MODE=${PROFILE_MODE:-balanced}
FREQ=${PROFILE_FREQ:-1999}
TOP=${PROFILE_TOP:-25}
OUT=${PROFILE_OUT:-$BUILD/profile-$(date -u +%Y%m%d-%H%M%S)}
FAR=203.0.113.2
mkdir -p "$OUT"

# The recorder must sample here: a failure says why, instead of an empty
# report later.
perf record -e cpu-clock -F "$FREQ" -g -o "$LL_TMP/probe.data" -- true >/dev/null 2>"$LL_TMP/probe.err" ||
	fail "perf cannot record here: $(cat "$LL_TMP/probe.err")"

behind_server
enable_forwarding srv
n inet ip route add 10.0.0.0/8 via 203.0.113.1
spawn iperf3 inet iperf3 -s
wait_until 5 tcp_listening inet 5201
add_user alice 10.8.0.2 fd00:8::2

SRV_MODE=$MODE
SRV_FIREWALL=none
SRV_WORKERS=0
SRV_EXTRA=""
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]'
start_server server srv
start_client alice cli
ping_ok cli "$FAR" 3

# profile_dir DIR: one single-stream run with both daemons recorded.
profile_dir() {
	local dir=$1 args=() ipid who
	[ "$dir" = down ] && args=(-R)
	say "TCP $dir: perf record -g of the server and the client, $SECS s"
	nq cli iperf3 -c "$FAR" -t $((SECS + 2)) -O 1 -J "${args[@]}" >"$OUT/iperf-$dir.json" &
	ipid=$!
	sleep 1 # TCP's ramp: not recorded
	for who in server client-alice; do
		local tag=${who%-alice}
		LL_NOTE="&" pretty + perf record -e cpu-clock -F "$FREQ" -g -p "$who" -o "$tag-$dir.data" -- sleep "$SECS"
		perf record -e cpu-clock -F "$FREQ" -g -p "$(pid_of "$who")" -o "$OUT/$tag-$dir.data" \
			-- sleep "$SECS" >"$OUT/$tag-$dir.record.log" 2>&1 &
		LL_PIDS[perf-$tag]=$!
	done
	for who in server client; do
		wait_pid "${LL_PIDS[perf-$who]}" $((SECS + 30)) ||
			fail "perf record of the $who failed: $(tail -n 3 "$OUT/$who-$dir.record.log")"
		unset "LL_PIDS[perf-$who]"
	done
	wait_pid "$ipid" $((SECS + 30)) || fail "iperf3 ($dir) failed: $(head -c 300 "$OUT/iperf-$dir.json")"
	for who in server client; do
		local d="$OUT/$who-$dir"
		perf report -i "$d.data" --stdio --no-children -g none --sort dso,symbol \
			--percent-limit 0.3 >"$d.txt" 2>/dev/null
		perf report -i "$d.data" --stdio --no-children -g none --sort dso >"$d.dso.txt" 2>/dev/null
		perf report -i "$d.data" --stdio --children --percent-limit 2 >"$d.graph.txt" 2>/dev/null
	done
}

mbit_of() {
	python3 -c 'import json, sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' "$1"
}

profile_dir up
profile_dir down
stop_clean client-alice
stop_clean server
stop iperf3

# top FILE N: the first N symbol lines of a flat report, headers dropped.
top() { awk -v n="$2" '/^ +[0-9.]+%/ {print; if (++c >= n) exit}' "$1"; }

# entry_points DATA: the share of the samples under each of the data path's
# system calls and its own seal/open (perf's "children": the function and
# everything it calls): which syscall the kernel's time is spent in.
ENTRY='__GI___libc_write|__libc_write|read|__GI___libc_read|__libc_read|__recvmmsg|__sendmmsg|__libc_sendmsg|__sendmsg|__libc_recvmsg|epoll_wait|io_uring_enter|__io_uring_[a-z_]+|transport_seal|transport_open|__schedule'
entry_points() {
	perf report -i "$1" --stdio --children -g none --sort symbol 2>/dev/null |
		grep -E "\] ($ENTRY) +" | awk '{printf "    %8s  %s\n", $1, $4}'
}

{
	echo "bench/profile.sh: LostLove ${PROFILE_LABEL:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}," \
		"mode $MODE, single-stream TCP through the tunnel, $SECS s recorded per direction"
	echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) CPUs, Linux $(uname -r)"
	echo "load: $(uptime)"
	echo "perf: $(perf --version), event cpu-clock at $FREQ Hz, call graphs by frame pointer"
	for dir in up down; do
		echo
		echo "==== TCP $dir: $(mbit_of "$OUT/iperf-$dir.json") Mbit/s while recorded"
		for who in server client; do
			echo
			echo "-- $who, by shared object:"
			top "$OUT/$who-$dir.dso.txt" 6
			echo "-- $who, under each system call (write/read: the TUN device;"
			echo "   recvmmsg/sendmmsg: the UDP socket; __schedule: waiting and wakeups):"
			entry_points "$OUT/$who-$dir.data"
			echo "-- $who, top $TOP symbols (self time):"
			top "$OUT/$who-$dir.txt" "$TOP"
		done
	done
} >"$OUT/summary.txt"
cat "$OUT/summary.txt"
echo
echo "reports in $OUT"
check_sanitizers
echo "DONE $LL_NAME"
