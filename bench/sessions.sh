#!/usr/bin/env bash
# bench/sessions.sh: the server with 10,000 sessions (issue 12, "10,000
# sessions"; docs/performance.md explains the figures). Run by hand as root
# (not in CI; tests/e2e/many_sessions.sh is the short CI version):
#
#   bench/sessions.sh [BUILD_DIR]     # default build-bench, set up as a release build
#
#   ┌──── lg ─────────────────────┐      ┌──── srv ─────────────┐      ┌── sink ──────────┐
#   │ bench-loadgen: N sessions   │      │ lostlove-server      │      │ k1 10.201.0.2/24 │
#   │ l0 198.18.0.2/15 and A      │      │ ll0 10.8.0.1/16      │      │ (not forwarding: │
#   │ addresses from 198.18.1.0   ├──────┤ s0 198.18.0.1/15     │      │  counts, drops)  │
#   │ (one UDP socket a session)  │ veth │ k0 10.201.0.1/24     ├──────┤                  │
#   └─────────────────────────────┘      │ 10.200.0.0/24 via k1 │ veth └──────────────────┘
#                                        └──────────────────────┘
#
# The load generator (bench/loadgen.c) does in one process what N real
# clients do with stealth off: real hybrid handshakes (X25519 + ML-KEM-768,
# mac1; mac2 after a cookie reply), key confirmation, keepalives, data. Its
# users are deterministic, so it writes the server's users.toml itself.
# Session i sends from address i mod A of the A on l0 (and a port of its
# own): with A = 512 an address has about 20 sessions and the sweep's
# fastest offer stays under the per-IP handshake limit, which keeps its
# default (20/s, burst 5) and is attacked on purpose at the end.
#
# It measures, printing each step and a table at the end:
#   1. RSS of the server (VmRSS, smaps_rollup Rss/Anonymous): started with
#      the N users, with 1 session, with N sessions; bytes per session;
#   2. the control thread's CPU while idle with 1 and with N sessions (its
#      0.5 s timer scans every session);
#   3. the server's CPU time per packet (utime+stime of every thread from
#      /proc/PID/stat) for DATA_PPS transport packets a second over
#      DATA_SECONDS, all to one session and spread over all N, and how many
#      arrived in the sink namespace (its veth's rx_packets);
#   4. handshakes: offered vs completed per second at increasing offered
#      rates (RATES, STEP_SECONDS each, rekeys of the N sessions in turn),
#      the control thread's CPU share meanwhile, until completions stop
#      following the offer; a perf profile of the control thread at the
#      last step (PERF=0: none);
#   5. attacks: handshakes from one address far over the per-IP limit;
#      a flood of bogus initiations (valid mac1, unknown keys) and of junk
#      beside the N sessions, with legitimate rekeys going on; then every
#      session pings through its tunnel.
#
# Environment: SESSIONS (10000), ADDRS (512), RATES ("250 500 1000 2000
# 4000"), STEP_SECONDS (10), ESTABLISH_RATE (1000), DATA_PPS (20000),
# DATA_SECONDS (10), IDLE_SECONDS (10), SIZE (512, inner packet bytes),
# WORKERS (0 = all CPUs), FLOOD_RATE (2000 bogus initiations/s), PERF (1),
# RECORD=1 writes the table to bench/RESULTS.md ("10,000 sessions").
LL_NAME=sessions-bench
ROOT=$(realpath "$(dirname "$0")/..")
BUILD=${1:-$ROOT/build-bench}

if [ "$(id -u)" != 0 ]; then
	echo "bench/sessions.sh: needs root (network namespaces)" >&2
	exit 1
fi
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=release
fi
[ -f "$BUILD/build.ninja" ] && ninja -C "$BUILD" src/cmd/lostlove-server src/cmd/lostlove-client src/cmd/lostlove-admin \
	tests/e2e/relay bench/bench-loadgen tests/e2e/udpjunk >/dev/null

source "$ROOT/tests/e2e/lib.sh" "$BUILD"

N=${SESSIONS:-10000}
A=${ADDRS:-512}
RATES=${RATES:-250 500 1000 2000 4000}
STEP_SECONDS=${STEP_SECONDS:-10}
ESTABLISH_RATE=${ESTABLISH_RATE:-1000}
DATA_PPS=${DATA_PPS:-20000}
DATA_SECONDS=${DATA_SECONDS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-10}
SIZE=${SIZE:-512}
FLOOD_RATE=${FLOOD_RATE:-2000}
LG=$LL_BUILD_DIR/bench/bench-loadgen
UDPJUNK=$LL_BUILD_DIR/tests/e2e/udpjunk
CLK_TCK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TABLE="$LL_TMP/table.md"
: >"$TABLE"
[ -x "$LG" ] || fail "no $LG: build bench/bench-loadgen"
[ -x "$UDPJUNK" ] || fail "no $UDPJUNK: build tests/e2e/udpjunk"

# ---- measurements ----

# ticks PID [TID]: utime + stime of the process (every thread), or of one thread.
ticks() {
	local f
	if [ -n "${2:-}" ]; then
		read -ra f <"/proc/$1/task/$2/stat"
	else
		read -ra f <"/proc/$1/stat"
	fi
	echo $((f[13] + f[14]))
}

# status_kb PID FIELD: a field of /proc/PID/status (VmRSS, VmHWM), in kB.
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# rollup_kb PID FIELD: a field of /proc/PID/smaps_rollup (Rss, Anonymous), in kB.
rollup_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }

# perf_top FILE: the symbols with the most self time in a perf recording.
perf_top() {
	perf report -i "$1" --stdio --no-children --sort symbol --percent-limit 1.5 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 25
}

sink_rx() { nq sink cat /sys/class/net/k1/statistics/rx_packets; }


# memory LABEL: the server's RSS now, as a table row; sets MEM_RSS (kB).
memory() {
	local pid rss anon
	pid=$(pid_of server)
	rss=$(status_kb "$pid" VmRSS)
	anon=$(rollup_kb "$pid" Anonymous)
	MEM_RSS=$rss
	printf '   RSS %s: VmRSS %s kB, Rss %s kB, Anonymous %s kB\n' "$1" "$rss" \
		"$(rollup_kb "$pid" Rss)" "$anon"
	echo "$1|$rss|$anon" >>"$LL_TMP/memory"
}

# ---- the load generator, driven through a FIFO ----

lg_start() {
	mkfifo "$LL_TMP/lg.in"
	exec {LG_FD}<>"$LL_TMP/lg.in"
	LL_LOGS[loadgen]=$LL_TMP/loadgen.log
	: >"$LL_TMP/loadgen.log"
	LL_NOTE="< lg.in &> loadgen.log &" pretty lg "$LG" run --server 198.18.0.1:51820 \
		--server-key server.pub --count "$N" --src 198.18.1.0 --src-count "$A" --size "$SIZE"
	ip netns exec "${LL_PREFIX}lg" "$LG" run --server 198.18.0.1:51820 \
		--server-key "$LL_TMP/server.pub" --count "$N" --src 198.18.1.0 --src-count "$A" \
		--size "$SIZE" <&"$LG_FD" >>"$LL_TMP/loadgen.log" 2>&1 &
	LL_PIDS[loadgen]=$!
	wait_for_log loadgen '^ready ' 60
}

# lg COMMAND... [--within S]: sends a command, waits for its result line
# (default bound: 600 s), which LG_RESULT holds; fails on "result error".
lg() {
	local from within=600
	if [ "${*: -2:1}" = --within ]; then
		within=${*: -1}
		set -- "${@:1:$#-2}"
	fi
	from=$(log_lines loadgen)
	pretty lg "$*"
	echo "$*" >&"$LG_FD"
	wait_for_log loadgen '^result ' "$within" "$from" >/dev/null ||
		fail "loadgen: no result for '$*' in $within s"
	LG_RESULT=$(tail -n +$((from + 1)) "$LL_TMP/loadgen.log" | grep -m1 '^result ')
	echo "   $LG_RESULT"
	[[ $LG_RESULT != "result error"* ]] || fail "loadgen: $LG_RESULT"
}

# field NAME: the value of NAME=... in LG_RESULT.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$LG_RESULT"; }

# stat_field NAME: a counter from the server's stats line (LL_STATS), "NAME=v" or "NAME v".
stat_field() { grep -oE "(^| )$1[= ][0-9]+" <<<"$LL_STATS" | grep -oE '[0-9]+$' || echo 0; }

# ---- steps ----

setup() {
	say "topology: lg ($A source addresses) - srv - sink"
	ns_add lg
	ns_add srv
	ns_add sink
	veth lg l0 srv s0
	addr srv s0 198.18.0.1/15
	addr lg l0 198.18.0.2/15
	python3 -c 'import ipaddress, sys
base = ipaddress.ip_address("198.18.1.0")
for k in range(int(sys.argv[1])):
    print("address add %s/15 dev l0" % (base + k))' "$A" >"$LL_TMP/addrs.batch"
	n lg ip -batch "$LL_TMP/addrs.batch"
	veth srv k0 sink k1
	addr srv k0 10.201.0.1/24
	addr sink k1 10.201.0.2/24
	n srv ip route add 10.200.0.0/24 via 10.201.0.2
	enable_forwarding srv

	say "server: $N users"
	SRV_ADDR4=10.8.0.1/16
	SRV_IPV6=false
	SRV_FIREWALL=none
	SRV_WORKERS=${WORKERS:-0}
	SRV_MAXCONN=$N
	SRV_ROT_INT=3600 # no rekeys of their own during the run
	SRV_CONN_TIMEOUT=300
	SRV_HS_PER_IP=20 # the default
	SRV_LOG=info
	write_server_config
	if [ -n "${STATE_DIR:-}" ]; then
		# the key, and so lostlove.state and the store beside it, in STATE_DIR
		STATE_HOME=$(mktemp -d "$STATE_DIR/lostlove-sessions.XXXXXX")
		chgrp "$LL_SERVICE_USER" "$STATE_HOME"
		chmod 1770 "$STATE_HOME"
		cp -p "$LL_TMP/server.key" "$STATE_HOME/server.key"
		sed -i "s#^\(\s*private_key_file = \).*#\1\"$STATE_HOME/server.key\"#" "$LL_TMP/server.toml"
		trap 'status=$?; rm -rf "$STATE_HOME"; (exit $status); cleanup' EXIT
		echo "   state file and store in $STATE_HOME ($(stat -f -c %T "$STATE_HOME"))"
	fi
	pretty + "$LG" users --count "$N" ">" users.toml
	"$LG" users --count "$N" >"$LL_TMP/users.toml"
	local t0
	t0=$(now_us)
	spawn server srv "$LL_SERVER" -c "$LL_TMP/server.toml"
	wait_for_log server '^lostlove-server: ready: udp ' 300
	START_S=$(awk -v d="$(($(now_us) - t0))" 'BEGIN {printf "%.1f", d / 1e6}')
	echo "   ready after $START_S s"
	SRV_PID=$(pid_of server)
	CTL_TID=$SRV_PID # the control thread is the main thread
}

# idle_ctl LABEL: the control thread's CPU over IDLE_SECONDS of no command.
idle_ctl() {
	local t0 t1 all0 all1
	sleep 1
	t0=$(ticks "$SRV_PID" "$CTL_TID")
	all0=$(ticks "$SRV_PID")
	sleep "$IDLE_SECONDS"
	t1=$(ticks "$SRV_PID" "$CTL_TID")
	all1=$(ticks "$SRV_PID")
	IDLE_CTL=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.2f", 100 * t / hz / s}')
	IDLE_ALL=$(awk -v t=$((all1 - all0)) -v hz="$CLK_TCK" -v s="$IDLE_SECONDS" 'BEGIN {printf "%.2f", 100 * t / hz / s}')
	echo "   idle, $1: control thread ${IDLE_CTL} % of a CPU, server ${IDLE_ALL} %"
	echo "$1|$IDLE_CTL|$IDLE_ALL" >>"$LL_TMP/idle"
}

# data LABEL SESSIONS: DATA_PPS packets a second for DATA_SECONDS over SESSIONS sessions.
data() {
	local label=$1 sessions=$2 t0 t1 k0 k1 sent got cpu
	server_stats >/dev/null
	local before=$LL_STATS
	k0=$(sink_rx)
	t0=$(ticks "$SRV_PID")
	lg data "$DATA_PPS" "$DATA_SECONDS" "$sessions" --within $((DATA_SECONDS + 60))
	sleep 0.5 # the last packets through the server
	t1=$(ticks "$SRV_PID")
	k1=$(sink_rx)
	sent=$(field sent)
	got=$((k1 - k0))
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", t / hz}')
	server_stats >/dev/null
	echo "   $label: sent $sent, arrived in sink $got, server CPU $cpu s," \
		"$(awk -v c="$cpu" -v n="$got" 'BEGIN {printf "%.2f", n ? 1e6 * c / n : 0}') µs/packet," \
		"loadgen CPU $(field lg_cpu_s) s"
	echo "$label|$sent|$got|$cpu|$(field lg_cpu_s)" >>"$LL_TMP/data"
	echo "   drops before: $(sed -n 's/.*drops:\([^;]*\);.*/\1/p' <<<"$before")"
	echo "   drops after:  $(sed -n 's/.*drops:\([^;]*\);.*/\1/p' <<<"$LL_STATS")"
}

# profile_data SESSIONS: the same load again for 6 s under perf (not
# during the measured run: sampling costs the server CPU too).
profile_data() {
	local out="$LL_TMP/perf-data-$1" perf_pid
	[ "${PERF:-1}" = 1 ] && command -v perf >/dev/null || return 0
	perf record -q -g -p "$SRV_PID" -o "$out.data" -- sleep 4 >/dev/null 2>&1 &
	perf_pid=$!
	lg data "$DATA_PPS" 6 "$1" --within 60
	wait "$perf_pid" || true
	perf_top "$out.data" >"$out.txt"
}

# sweep: handshakes at increasing offered rates.
sweep() {
	local r c0 c1 a0 a1 count ctl all perf_pid=""
	local last
	last=$(awk '{print $NF}' <<<"$RATES")
	for r in $RATES; do
		count=$((r * STEP_SECONDS))
		if [ "${PERF:-1}" = 1 ] && [ "$r" = "$last" ] && command -v perf >/dev/null; then
			perf record -q -g -t "$CTL_TID" -o "$LL_TMP/perf.data" -- \
				sleep $((STEP_SECONDS > 4 ? STEP_SECONDS - 2 : 2)) >/dev/null 2>&1 &
			perf_pid=$!
		fi
		c0=$(ticks "$SRV_PID" "$CTL_TID")
		a0=$(ticks "$SRV_PID")
		lg hs "$count" "$r" --within $((STEP_SECONDS + 120))
		c1=$(ticks "$SRV_PID" "$CTL_TID")
		a1=$(ticks "$SRV_PID")
		ctl=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v s="$(field seconds)" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
		all=$(awk -v t=$((a1 - a0)) -v hz="$CLK_TCK" -v s="$(field seconds)" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
		echo "$r $(field window_sent_per_s) $(field window_done_per_s) $(field sent) $(field done)" \
			"$(field lost) $(field replaced) $(field cookies) $(field lat_p50_ms) $(field lat_p99_ms)" \
			"$ctl $all $(awk -v c="$(field lg_cpu_s)" -v s="$(field seconds)" 'BEGIN {printf "%.0f", 100 * c / s}')" \
			>>"$LL_TMP/sweep"
		if [ -n "$perf_pid" ]; then
			wait "$perf_pid" || true
			perf_top "$LL_TMP/perf.data" >"$LL_TMP/perf.txt"
		fi
		# completions no longer follow the offer: stop climbing
		if awk -v s="$(field window_sent_per_s)" -v d="$(field window_done_per_s)" \
			'BEGIN {exit !(d < 0.9 * s)}'; then
			echo "   completions stopped following the offer at $r/s"
			break
		fi
	done
}

# attack_one_address: handshakes from address 0 only, ten times its limit.
attack_one_address() {
	local secs=5 rate=200
	server_stats >/dev/null
	local rl0 ck0
	rl0=$(stat_field ratelimit)
	ck0=$(stat_field cookies)
	lg hs $((rate * secs)) "$rate" 0 --within $((secs + 60))
	server_stats >/dev/null
	ONE_ADDR="offered $(field sent) in $(field seconds) s from one address: completed $(field done), lost $(field lost) + replaced $(field replaced); server: ratelimit drops +$(($(stat_field ratelimit) - rl0)), cookie replies +$(($(stat_field cookies) - ck0))"
	echo "   $ONE_ADDR"
}

# attack_flood: bogus initiations and junk beside the sessions, legitimate
# rekeys meanwhile; then every session pings.
attack_flood() {
	local secs=10 junk_pid init_pid
	server_stats >/dev/null
	local before=$LL_STATS
	spawn flood-init lg "$UDPJUNK" --to 198.18.0.1:51820 --mode init \
		--server-key "$(key_of server pub)" --rate "$FLOOD_RATE" --count $((FLOOD_RATE * secs)) \
		--ports 256 --max-seconds $((secs + 20))
	spawn flood-junk lg "$UDPJUNK" --to 198.18.0.1:51820 --mode random \
		--rate 20000 --count $((20000 * secs)) --ports 64 --max-seconds $((secs + 20))
	lg hs $((100 * secs)) 100 --within $((secs + 60))
	FLOOD_HS="legitimate rekeys at 100/s during the flood: sent $(field sent), completed $(field done), lost $(field lost), cookies $(field cookies), p99 $(field lat_p99_ms) ms"
	echo "   $FLOOD_HS"
	wait_pid "$(pid_of flood-init)" $((secs + 30)) || true
	wait_pid "$(pid_of flood-junk)" $((secs + 30)) || true
	echo "   $(tail -n1 "$(log_of flood-init)")"
	echo "   $(tail -n1 "$(log_of flood-junk)")"
	server_stats >/dev/null
	FLOOD_STATS="server: handshakes failed $(($(stat_field failed) - $(LL_STATS=$before stat_field failed))), mac1 drops +$(($(stat_field mac1) - $(LL_STATS=$before stat_field mac1))), ratelimit +$(($(stat_field ratelimit) - $(LL_STATS=$before stat_field ratelimit))), cookies +$(($(stat_field cookies) - $(LL_STATS=$before stat_field cookies))), sessions $(sed -n 's/.*sessions \([0-9]*\),.*/\1/p' <<<"$LL_STATS")"
	echo "   $FLOOD_STATS"
	lg ping 5000 10 --within 120
	FLOOD_PING="after the flood, every session pings through its tunnel: $(field replied) of $(field sent) replied ($(field not_established) not established)"
	echo "   $FLOOD_PING"
}

# ---- the table ----

report() {
	echo "| step | figure |"
	echo "|---|---|"
	echo "| server start with $N users | $START_S s to \"ready\" |"
	while IFS='|' read -r label rss anon; do
		echo "| RSS, $label | $rss kB (anonymous $anon kB) |"
	done <"$LL_TMP/memory"
	awk -F'|' -v n="$N" 'NR == 2 {one = $2} NR == 3 {printf "| RSS per session (N vs 1) | %.0f bytes |\n", ($2 - one) * 1024 / (n - 1)}' "$LL_TMP/memory"
	while IFS='|' read -r label ctl all; do
		echo "| idle, $label: control thread / whole server | $ctl % / $all % of a CPU |"
	done <"$LL_TMP/idle"
	echo "| establishing $((N - 1)) sessions | $ESTABLISH |"
	[ -f "$LL_TMP/data" ] && while IFS='|' read -r label sent got cpu lgcpu; do
		echo "| $DATA_PPS pkt/s × $DATA_SECONDS s, $label | sent $sent, delivered $got, server CPU $cpu s = $(awk -v c="$cpu" -v n="$got" 'BEGIN {printf "%.2f", n ? 1e6 * c / n : 0}') µs per delivered packet |"
	done <"$LL_TMP/data"
	local f
	for f in "$LL_TMP"/perf-data-*.txt; do
		[ -s "$f" ] || continue
		echo
		echo "Server, data at $DATA_PPS pkt/s over ${f##*perf-data-} session(s) (perf, every thread, self time, symbols ≥ 1.5 %):" | sed 's/\.txt / /'
		echo
		echo '```'
		cat "$f"
		echo '```'
	done
	[ -f "$LL_TMP/sweep" ] || return 0
	echo
	echo "| offered /s | sent /s | completed /s | sent | completed | lost | replaced | cookies | p50 ms | p99 ms | control thread % | server % | loadgen % |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	while read -r r s d sent done lost repl ck p50 p99 ctl all lgc; do
		echo "| $r | $s | $d | $sent | $done | $lost | $repl | $ck | $p50 | $p99 | $ctl | $all | $lgc |"
	done <"$LL_TMP/sweep"
	if [ -s "$LL_TMP/perf.txt" ]; then
		echo
		echo "Control thread at the last step (perf, self time, symbols ≥ 1.5 %):"
		echo
		echo '```'
		cat "$LL_TMP/perf.txt"
		echo '```'
	fi
	[ -n "${ONE_ADDR:-}" ] || return 0
	echo
	echo "- per-IP limit: $ONE_ADDR"
	echo "- flood ($FLOOD_RATE bogus initiations/s with valid mac1 from 256 ports of one address, 20,000 junk datagrams/s, 10 s): $FLOOD_HS; $FLOOD_STATS"
	echo "- $FLOOD_PING"
}

machine() {
	local commit buildtype
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	buildtype=$(meson introspect --buildoptions "$BUILD" 2>/dev/null | python3 -c \
		'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' \
		2>/dev/null || echo unknown)
	echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) CPUs," \
		"Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- LostLove $commit, build type $buildtype, worker_threads = ${WORKERS:-0}, balanced," \
		"hybrid handshakes (qrl_enabled), stealth off, firewall none;" \
		"state file and store on $(stat -f -c %T "${STATE_HOME:-$LL_TMP}") (${STATE_DIR:-/tmp})"
	echo "- command: \`bench/sessions.sh\` (SESSIONS=$N ADDRS=$A RATES=\"$RATES\" STEP_SECONDS=$STEP_SECONDS" \
		"DATA_PPS=$DATA_PPS DATA_SECONDS=$DATA_SECONDS SIZE=$SIZE)"
	echo "- load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

write_results() {
	local file="$ROOT/bench/RESULTS.md" section="$LL_TMP/section.md"
	{
		echo "<!-- bench/sessions.sh $VARIANT: begin (this section is rewritten by each run) -->"
		echo "## 10,000 sessions (bench/sessions.sh), state file on $VARIANT"
		echo
		machine
		echo
		cat "$TABLE"
		echo
		echo "What the figures mean, and what limits each: docs/performance.md, \"10,000 sessions\"."
		echo "<!-- bench/sessions.sh $VARIANT: end -->"
	} >"$section"
	cat "$section"
	[ "${RECORD:-0}" = 1 ] || return 0
	if grep -q "<!-- bench/sessions.sh $VARIANT: begin" "$file"; then
		python3 - "$file" "$section" "$VARIANT" <<-'EOF'
			import re, sys
			path, sec, v = sys.argv[1], open(sys.argv[2]).read().rstrip("\n"), re.escape(sys.argv[3])
			text = open(path).read()
			text = re.sub(r"<!-- bench/sessions.sh " + v + r": begin.*?<!-- bench/sessions.sh " + v + r": end -->", lambda m: sec, text, flags=re.S)
			open(path, "w").write(text)
		EOF
	else
		{ echo; cat "$section"; } >>"$file"
	fi
	echo "written to $file"
}

# ---- main ----

# STEPS (default: all of them) picks what runs after the sessions are up.
STEPS=${STEPS:-data sweep attacks}
step() { [[ " $STEPS " == *" $1 "* ]]; }

setup
say "memory and idle cost"
sleep 2
memory "started, $N users, no session"
lg_start
lg hs 1 1
[ "$(field done)" = 1 ] || fail "the first session did not complete"
sleep 1
memory "1 session"
idle_ctl "1 session"

if step data; then
	say "per-packet cost, 1 session"
	data "1 session" 1
	profile_data 1
fi

say "$((N - 1)) more sessions at $ESTABLISH_RATE/s"
lg hs $((N - 1)) "$ESTABLISH_RATE" --within $((N / ESTABLISH_RATE + 120))
ESTABLISH="$(field done) of $(field sent) completed at $ESTABLISH_RATE/s offered (lost $(field lost), cookies $(field cookies), p99 $(field lat_p99_ms) ms)"
lg stats
if [ "$(field established)" != "$N" ]; then
	# the rest, slowly: every figure below is for N sessions
	lg hs "$N" 100 --within $((N / 100 + 120))
	lg stats
	[ "$(field established)" = "$N" ] || fail "only $(field established) of $N sessions established"
fi
sleep 2
memory "$N sessions"
idle_ctl "$N sessions"

if step data; then
	say "per-packet cost, $N sessions"
	data "$N sessions" "$N"
	profile_data "$N"
fi

if step sweep; then
	say "handshake rate: $RATES /s offered, $STEP_SECONDS s each"
	sweep
fi

if step attacks; then
	say "attack: one address over its handshake limit"
	attack_one_address
	say "attack: a flood beside the $N sessions"
	attack_flood
fi

alive server || fail "the server died"
VARIANT=$([ "$(stat -f -c %T "${STATE_HOME:-$LL_TMP}")" = tmpfs ] && echo tmpfs || echo disk)
say "results"
report >"$TABLE"
write_results
lg quit --within 5 || true
check_sanitizers
echo "DONE $LL_NAME"
