# Shared helpers of the end-to-end scenarios (sourced, not run).
#
# A scenario script does:
#
#   source "$(dirname "$0")/lib.sh" "$@"     # $1 = build directory (or LL_BUILD_DIR)
#   ns_add srv; ns_add cli; veth cli c0 srv s0; ...
#   spawn server srv "$LL_SERVER" -c "$LL_TMP/server.toml"
#   wait_for_log server 'lostlove-server: ready: ' 10
#   ...
#   pass
#
# Every namespace gets the run's unique prefix (ll<pid>-), so runs never
# collide (the scenarios in e2e_side_by_side, tests/e2e/meson.build, run at
# the same time: whatever a scenario creates outside its namespaces and
# $LL_TMP must be unique per run too); all of them, and every process
# started here, are removed on exit (trap cleanup EXIT). Every command that
# changes or probes the topology is printed as "[ns] command" (WireGuard
# tests/netns.sh style). Waits poll a real condition every 0.1 s up to a
# bound in seconds of elapsed time (a deadline, not a count of tries);
# there are no fixed sleeps.
#
# Environment:
#   LL_BUILD_DIR   build directory (when no argument is given)
#   LL_KEEP=1      keep the temporary directory (logs, configs) after the run
#   LL_VERBOSE=1   print the full daemon logs at the end, not only on failure

set -eEu -o pipefail

LL_NAME=${LL_NAME:-$(basename "$0" .sh)}
LL_BUILD_DIR=$(realpath "${1:-${LL_BUILD_DIR:-build}}")
LL_PREFIX="ll$$-"
LL_NETNS=()
declare -A LL_PIDS=()
declare -A LL_LOGS=()
LL_FAILED=0

if [ "$(id -u)" != 0 ]; then
	echo "SKIP $LL_NAME: needs root (network namespaces)"
	exit 77
fi

# The daemons drop to the service user after setting up (docs/dataplane.md,
# "Privileges and sandbox"; server.user and client.user default to it). It
# must exist; the server's state directory (this one: its key is here) must
# be writable by the service group, sticky so that the service can replace
# only files it owns (lostlove.state), not root's; users.toml, re-read on
# SIGHUP, is root:lostlove 0640 (write_users). Keys and client configs stay
# root's, 0600: they are read before the drop.
LL_SERVICE_USER=lostlove
if ! id -u "$LL_SERVICE_USER" >/dev/null 2>&1; then
	echo "[+] useradd --system --no-create-home --shell /usr/sbin/nologin $LL_SERVICE_USER"
	# another run may create it at the same moment: only its absence after is an error
	useradd --system --no-create-home --shell /usr/sbin/nologin "$LL_SERVICE_USER" ||
		id -u "$LL_SERVICE_USER" >/dev/null
fi

LL_TMP=$(mktemp -d "/tmp/lostlove-e2e-$LL_NAME.XXXXXX")
chgrp "$LL_SERVICE_USER" "$LL_TMP"
chmod 1770 "$LL_TMP"

# ---- printing and failing ----

say() { printf '\n== %s\n' "$*"; }

# Prints a command as "[where] cmd args" with arguments quoted when needed,
# then LL_NOTE (e.g. "&> server.log &") if set.
LL_SAFE_ARG='^[]A-Za-z0-9_./:=,@%+[-]+$'
pretty() {
	local where=$1
	shift
	local out="" a
	for a in "$@"; do
		if [[ $a =~ $LL_SAFE_ARG ]]; then
			out+=" $a"
		else
			out+=" $(printf '%q' "$a")"
		fi
	done
	printf '[%s]%s%s\n' "$where" "$out" "${LL_NOTE:+ $LL_NOTE}"
}

fail() {
	echo "FAIL $LL_NAME: $*" >&2
	LL_FAILED=1
	exit 1
}

on_err() {
	echo "FAIL $LL_NAME: line $1: command failed (status $2): $3" >&2
	LL_FAILED=1
}
trap 'on_err $LINENO $? "$BASH_COMMAND"' ERR

# pass: stops every daemon (clients, relays, then servers), each of which must
# exit 0 on SIGTERM, checks the logs for sanitizer reports, prints PASS.
pass() {
	local name kind
	for kind in client relay server; do
		for name in "${!LL_PIDS[@]}"; do
			[[ $name == "$kind"* ]] && stop_clean "$name"
		done
	done
	check_sanitizers
	echo "PASS $LL_NAME"
	exit 0
}

# ---- binaries ----

find_binary() {
	local name=$1 path
	path=$(find "$LL_BUILD_DIR" -maxdepth 4 -type f -perm -u+x -name "$name" -print -quit \
		2>/dev/null)
	if [ -z "$path" ]; then
		echo "FAIL $LL_NAME: $name not found under $LL_BUILD_DIR (build it first)" >&2
		exit 1
	fi
	echo "$path"
}

LL_SERVER=$(find_binary lostlove-server)
LL_CLIENT=$(find_binary lostlove-client)
LL_ADMIN=$(find_binary lostlove-admin)
LL_RELAY=$(find_binary relay)
LL_UDPJUNK=$(find_binary udpjunk)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- namespaces and links ----

# Runs a command on the host, printed.
run() {
	pretty + "$@"
	"$@"
}

# n NS cmd...: runs cmd inside the scenario's namespace NS, printed.
n() {
	local ns=$1
	shift
	pretty "$ns" "$@"
	ip netns exec "$LL_PREFIX$ns" "$@"
}

# Same, not printed (for polling).
nq() {
	local ns=$1
	shift
	ip netns exec "$LL_PREFIX$ns" "$@"
}

ns_add() {
	local ns=$1
	run ip netns add "$LL_PREFIX$ns"
	LL_NETNS+=("$LL_PREFIX$ns")
	n "$ns" ip link set lo up
	# No DAD delay on test links; no router solicitations.
	nq "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
	run ip link add "$2" netns "$LL_PREFIX$1" type veth peer name "$4" netns "$LL_PREFIX$3"
	n "$1" ip link set "$2" up
	n "$3" ip link set "$4" up
}

# addr NS IF ADDR/PREFIX (IPv4 or IPv6)
addr() {
	if [[ $3 == *:* ]]; then
		n "$1" ip addr add "$3" dev "$2" nodad
	else
		n "$1" ip addr add "$3" dev "$2"
	fi
}

# The server namespace routes between its TUN and the outside (the host's
# job on a real server: install.sh enables it).
enable_forwarding() {
	n "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# ---- processes ----

# spawn NAME NS cmd...: starts cmd in NS in the background, output to
# $LL_TMP/NAME.log; NAME is then used by stop/alive/wait_for_log.
spawn() {
	local name=$1 ns=$2
	shift 2
	local log="$LL_TMP/$name.log"
	LL_LOGS[$name]=$log
	: >>"$log"
	LL_NOTE="&> $name.log &" pretty "$ns" "$@"
	ip netns exec "$LL_PREFIX$ns" "$@" >>"$log" 2>&1 &
	LL_PIDS[$name]=$!
}

alive() {
	local pid=${LL_PIDS[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

pid_of() { echo "${LL_PIDS[$1]}"; }

# Fails the test if any daemon ("server*", "client*", "relay*") has died.
check_daemons() {
	local name
	for name in "${!LL_PIDS[@]}"; do
		case $name in server* | client* | relay*) ;; *) continue ;; esac
		if ! alive "$name"; then
			local status=0
			wait "${LL_PIDS[$name]}" 2>/dev/null || status=$?
			unset "LL_PIDS[$name]"
			fail "$name exited unexpectedly (status $status); last lines of its log:
$(tail -n 30 "${LL_LOGS[$name]}")"
		fi
	done
}

# ---- clocks and deadlines ----
#
# Every bound below is in seconds of elapsed time, however long each try of
# the awaited command takes (a "ping -W 1" try takes a second: counting
# tries would stretch a 10 s bound to almost two minutes). The last try may
# end after the deadline by at most its own duration.

# now_us: microseconds since the epoch (bash's clock: no fork per call).
now_us() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		echo "${EPOCHREALTIME//[!0-9]/}"
	else
		echo $(($(date +%s%N) / 1000))
	fi
}

# seconds_us S: S seconds ("10", "0.5") in microseconds.
seconds_us() {
	local s=$1 frac=0
	if [[ $s == *.* ]]; then
		frac=${s#*.}000000
		frac=$((10#${frac:0:6}))
		s=${s%%.*}
	fi
	echo $((10#${s:-0} * 1000000 + frac))
}

# since START_US: seconds elapsed since START_US, one decimal ("10.3").
since() {
	local d=$(($(now_us) - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

# poll TIMEOUT_S CHECK_DAEMONS(0|1) cmd...: runs cmd every 0.1 s until it
# succeeds (0) or TIMEOUT_S seconds have passed (1); LL_WAITED is how long
# it took, in seconds.
poll() {
	local timeout=$1 daemons=$2 start end
	shift 2
	start=$(now_us)
	end=$((start + $(seconds_us "$timeout")))
	while :; do
		if "$@" >/dev/null 2>&1; then
			LL_WAITED=$(since "$start")
			return 0
		fi
		[ "$daemons" = 0 ] || check_daemons
		(($(now_us) < end)) || break
		sleep 0.1
	done
	LL_WAITED=$(since "$start")
	return 1
}

# gone PID TIMEOUT_S: waits until the process has exited; 1 if it still
# runs after TIMEOUT_S seconds.
gone() {
	local pid=$1 end
	end=$(($(now_us) + $(seconds_us "$2")))
	while kill -0 "$pid" 2>/dev/null; do
		(($(now_us) < end)) || return 1
		sleep 0.1
	done
	return 0
}

# stop NAME [SIGNAL]: signals the process, waits (≤ 10 s, then SIGKILL) and
# returns its exit status in LL_STATUS.
stop() {
	local name=$1 sig=${2:-TERM} pid=${LL_PIDS[$1]:-} start
	LL_STATUS=0
	[ -n "$pid" ] || return 0
	pretty + kill "-$sig" "$name"
	start=$(now_us)
	kill "-$sig" "$pid" 2>/dev/null || true
	if ! gone "$pid" 10; then
		echo "$name did not exit within $(since "$start") s of SIG$sig (limit 10 s): killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		LL_STATUS=137
	fi
	wait "$pid" 2>/dev/null || LL_STATUS=$?
	unset "LL_PIDS[$name]"
	return 0
}

# stop_clean NAME: SIGTERM, and the process must exit with status 0.
stop_clean() {
	stop "$1"
	[ "$LL_STATUS" = 0 ] || fail "$1 exited with status $LL_STATUS on SIGTERM; log tail:
$(tail -n 20 "${LL_LOGS[$1]}")"
}

# ---- waiting on real conditions ----

# wait_until TIMEOUT_S cmd...: polls cmd every 0.1 s for up to TIMEOUT_S
# seconds; fails the test on timeout, or when a daemon dies meanwhile.
wait_until() {
	local timeout=$1
	shift
	poll "$timeout" 1 "$@" ||
		fail "timed out after $LL_WAITED s (limit $timeout s) waiting for: $*"
}

# try_until TIMEOUT_S cmd...: like wait_until but returns 1 instead of
# failing (LL_WAITED says how long it tried).
try_until() {
	local timeout=$1
	shift
	poll "$timeout" 0 "$@"
}

# wait_pid PID TIMEOUT_S: waits for a child; kills it after TIMEOUT_S (then
# returns 124), else returns its status.
wait_pid() {
	local pid=$1 timeout=$2 start
	start=$(now_us)
	if ! gone "$pid" "$timeout"; then
		echo "process $pid still running after $(since "$start") s (limit $timeout s): killing it" >&2
		kill -KILL $(ps -o pid= --ppid "$pid") 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 124
	fi
	local status=0
	wait "$pid" || status=$?
	return "$status"
}

log_of() { echo "${LL_LOGS[$1]:-$1}"; }

# Lines in a log so far (pass it as FROM to wait_for_log to see only new lines).
log_lines() { wc -l <"$(log_of "$1")"; }

log_has() {
	local file=$1 regex=$2 from=${3:-0} lines
	# Read whole first: grep -q ending early would kill tail (SIGPIPE),
	# and under pipefail the pipeline would fail though the line is there.
	lines=$(tail -n "+$((from + 1))" "$file")
	grep -Eq -- "$regex" <<<"$lines"
}

# log_count NAME REGEX: number of matching lines.
log_count() { grep -Ec -- "$2" "$(log_of "$1")" || true; }

# wait_for_log NAME|FILE REGEX TIMEOUT_S [FROM_LINE]
wait_for_log() {
	local file
	file=$(log_of "$1")
	printf '[+] wait ≤ %s s for /%s/ in %s\n' "$3" "$2" "$(basename "$file")"
	wait_until "$3" log_has "$file" "$2" "${4:-0}"
}

# ---- keys and configuration ----

# gen_keys NAME: $LL_TMP/NAME.key (private), NAME.pub, and NAME.psk.
gen_keys() {
	local k="$LL_TMP/$1"
	(umask 077 && "$LL_ADMIN" genkey >"$k.key")
	"$LL_ADMIN" pubkey <"$k.key" >"$k.pub"
	(umask 077 && "$LL_ADMIN" genpsk >"$k.psk")
	LL_NOTE="-> $1.key $1.pub $1.psk ($(cat "$k.pub"))" pretty + lostlove-admin genkey/pubkey/genpsk
}

key_of() { tr -d '\n' <"$LL_TMP/$1.$2"; }

# Server settings; scenarios change these before write_server_config.
SRV_BIND=0.0.0.0
SRV_PORT=51820
SRV_TUN=ll0
SRV_ADDR4=10.8.0.1/24
SRV_ADDR6=fd00:8::1/64
SRV_IPV6=true
SRV_MTU=1420
SRV_DNS='["10.8.0.1"]'
SRV_C2C=false
SRV_FIREWALL=nftables
SRV_EGRESS=s0 # every topology gives the server an s0; "" = from the default route
SRV_MODE=balanced
SRV_QRL=true
SRV_ROT_INT=120
SRV_ROT_BYTES=0
SRV_TS_WINDOW=30
SRV_CONN_TIMEOUT=180
SRV_KEEPALIVE=25
SRV_HS_PER_IP=20
SRV_WORKERS=2
SRV_MAXCONN=${LL_MAXCONN:-64}
SRV_LOG=info
SRV_EXTRA=""
SRV_PROTOCOL=udp
SRV_SERVER_EXTRA="" # more lines of [server] (e.g. the TLS certificate)
SRV_LIMITS_EXTRA="" # more lines of [limits] (e.g. rate_limit_per_user)
# The server's input chain drops what clients send to the server host itself
# (docs/configuration.md, tunnel_open_ports); the scenarios' listeners on
# its tunnel address are opened: the transfers' 50xx ports, and
# iperf3 in bench/tunnel.sh.
SRV_OPEN_PORTS='["tcp/5000-5099", "tcp/5201", "udp/5201"]'
LL_USERS=()
# Per user: more lines of its [[user]] table (limits), and enabled = false.
declare -A LL_USER_EXTRA=()
declare -A LL_USER_ENABLED=()

# add_user NAME IPV4 IPV6: generates the user's keys; listed in users.toml.
add_user() {
	gen_keys "$1"
	LL_USERS+=("$1 $2 $3")
}

write_users() {
	local u name v4 v6
	: >"$LL_TMP/users.toml"
	for u in "${LL_USERS[@]}"; do
		read -r name v4 v6 <<<"$u"
		cat >>"$LL_TMP/users.toml" <<-EOF
			[[user]]
			name = "$name"
			public_key = "$(key_of "$name" pub)"
			psk = "$(key_of "$name" psk)"
			ipv4 = "$v4"
			ipv6 = "$v6"
			enabled = ${LL_USER_ENABLED[$name]:-true}
			${LL_USER_EXTRA[$name]:-}

		EOF
	done
	chgrp "$LL_SERVICE_USER" "$LL_TMP/users.toml"
	chmod 640 "$LL_TMP/users.toml"
}

# write_server_config: $LL_TMP/server.toml and users.toml from SRV_* and
# LL_USERS; the server key is $LL_TMP/server.key (generated on first call).
write_server_config() {
	[ -f "$LL_TMP/server.key" ] || gen_keys server
	write_users
	# the admin API listens on /run/lostlove/admin.sock unless told
	# otherwise: off here unless the scenario configures it (SRV_EXTRA), so
	# parallel runs, several servers of one scenario and a real server on
	# this machine do not fight over that one path
	local api_default=""
	[[ "$SRV_EXTRA" == *"[api]"* ]] || api_default="[api]
socket = \"\""
	# LL_IO_URING=1 or 0 (scripts/test.sh: one e2e run each): the
	# workers' event loop; unset: the default
	local perf=""
	if [ -n "${LL_IO_URING:-}" ] && [[ "$SRV_EXTRA" != *"[performance]"* ]]; then
		perf="[performance]
io_uring = $([ "$LL_IO_URING" = 1 ] && echo true || echo false)"
	fi
	cat >"$LL_TMP/server.toml" <<-EOF
		[server]
		bind_address = "$SRV_BIND"
		port = $SRV_PORT
		protocol = "$SRV_PROTOCOL"
		$SRV_SERVER_EXTRA
		max_connections = $SRV_MAXCONN
		worker_threads = $SRV_WORKERS
		private_key_file = "$LL_TMP/server.key"
		users_file = "$LL_TMP/users.toml"

		[network]
		tun_name = "$SRV_TUN"
		tun_address = "$SRV_ADDR4"
		tun_address6 = "$SRV_ADDR6"
		mtu = $SRV_MTU
		enable_ipv6 = $SRV_IPV6
		dns = $SRV_DNS
		client_to_client = $SRV_C2C
		firewall = "$SRV_FIREWALL"
		egress_interface = "$SRV_EGRESS"
		tunnel_open_ports = $SRV_OPEN_PORTS

		[crypto]
		mode = "$SRV_MODE"
		ecc_enabled = true
		qrl_enabled = $SRV_QRL
		key_rotation_interval = $SRV_ROT_INT
		key_rotation_bytes = $SRV_ROT_BYTES
		timestamp_window = $SRV_TS_WINDOW

		[limits]
		connection_timeout = $SRV_CONN_TIMEOUT
		keepalive = $SRV_KEEPALIVE
		handshakes_per_ip_per_s = $SRV_HS_PER_IP
		$SRV_LIMITS_EXTRA

		$perf
		$api_default
		[monitoring]
		log_level = "$SRV_LOG"
		$SRV_EXTRA
	EOF
	pretty + write server.toml "(mode=$SRV_MODE c2c=$SRV_C2C rotation=${SRV_ROT_INT}s/${SRV_ROT_BYTES}B users=${#LL_USERS[@]})"
}

# write_client_config NAME SERVER ROUTES_TOML [EXTRA]: $LL_TMP/NAME.toml for
# user NAME, e.g. write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]'
write_client_config() {
	local name=$1 server=$2 routes=$3
	cat >"$LL_TMP/$name.toml" <<-EOF
		[client]
		server = "$server"
		server_public_key = "$(key_of server pub)"
		private_key = "$(key_of "$name" key)"
		psk = "$(key_of "$name" psk)"
		tun_name = "ll0"
		routes = $routes
		dns = false
		qrl_enabled = true
		log_level = "info"
		${4:-}
	EOF
	chmod 600 "$LL_TMP/$name.toml"
	pretty + write "$name.toml" "(server=$server routes=$routes)"
}

start_server() {
	local name=${1:-server} ns=${2:-srv}
	local from=0
	[ -f "$LL_TMP/$name.log" ] && from=$(wc -l <"$LL_TMP/$name.log")
	spawn "$name" "$ns" "$LL_SERVER" -c "$LL_TMP/server.toml"
	wait_for_log "$name" '^lostlove-server: ready: udp ' 20 "$from"
	check_event_loop "$name" "$from"
}

# check_event_loop NAME FROM: with LL_IO_URING set (and the info line
# logged), the server's workers run the backend asked for: a refused
# io_uring fails the run rather than testing epoll twice.
check_event_loop() {
	local want
	case "${LL_IO_URING:-}" in
	1) want='event loop: io_uring$' ;;
	0) want='event loop: epoll$' ;;
	*) return 0 ;;
	esac
	[[ "$SRV_LOG" == info || "$SRV_LOG" == debug ]] || return 0
	[[ "$SRV_EXTRA" != *"[performance]"* ]] || return 0
	log_has "$(log_of "$1")" "$want" "$2" || fail "server $1: no '$want' in its log"
}

# start_client NAME NS: the client of user NAME in namespace NS, waits until
# it reports the connection.
start_client() {
	local name=$1 ns=$2
	local from=0
	[ -f "$LL_TMP/client-$name.log" ] && from=$(wc -l <"$LL_TMP/client-$name.log")
	spawn "client-$name" "$ns" "$LL_CLIENT" -c "$LL_TMP/$name.toml"
	wait_for_log "client-$name" '^lostlove-client: connected: ' 30 "$from"
}

# server_stats [NAME]: asks the server for its counters (SIGUSR1) and prints
# the "stats:" line; LL_STATS holds it.
server_stats() {
	local name=${1:-server} from
	from=$(log_lines "$name")
	pretty + kill -USR1 "$name"
	kill -USR1 "$(pid_of "$name")"
	if ! try_until 5 log_has "$(log_of "$name")" 'stats: ' "$from"; then
		alive "$name" || fail "$name died on SIGUSR1 (documented as 'logs statistics');" \
			"status $(wait "$(pid_of "$name")" 2>/dev/null || echo $?)"
		fail "$name logged no 'stats:' line in $LL_WAITED s after SIGUSR1 (limit 5 s)"
	fi
	LL_STATS=$(tail -n +$((from + 1)) "$(log_of "$name")")
	LL_STATS=$(grep -m1 'stats: ' <<<"$LL_STATS")
	echo "$LL_STATS"
}

# ---- traffic ----

# ping_ok NS DEST [COUNT [PING_ARGS...]]: COUNT echo requests must all be
# answered. The first reply is awaited (≤ 10 s of trying, each try waiting
# 1 s for its reply) so a path that is still settling is not a loss.
ping_ok() {
	local ns=$1 dst=$2 count=${3:-5} out
	shift $(($# < 3 ? $# : 3))
	pretty "$ns" ping -c "$count" "$@" "$dst"
	try_until 10 nq "$ns" ping -c 1 -W 1 "$@" "$dst" ||
		fail "no reply from $dst (ns $ns, ping $*) in $LL_WAITED s of trying (limit 10 s)"
	out=$(nq "$ns" ping -c "$count" -i 0.1 -W 2 "$@" "$dst" 2>&1) ||
		fail "ping $* $dst from $ns lost packets: $(echo "$out" | grep -E 'transmitted|rtt')"
	echo "$out" | grep -E 'transmitted|rtt'
}

# ping_fails NS DEST: no echo reply may come back.
ping_fails() {
	local ns=$1 dst=$2
	LL_NOTE="(must fail)" pretty "$ns" ping -c 3 -i 0.2 -W 1 "$dst"
	if nq "$ns" ping -c 3 -i 0.2 -W 1 "$dst" >/dev/null 2>&1; then
		fail "ping $dst from $ns got a reply, but it must be blocked"
	fi
	echo "no reply, as expected"
}

# one_link: the basic topology, cli (198.51.100.2) and srv (198.51.100.1)
# on one veth link (c0 - s0).
one_link() {
	say "topology"
	ns_add cli
	ns_add srv
	veth cli c0 srv s0
	addr cli c0 198.51.100.2/24
	addr srv s0 198.51.100.1/24
}

# front_cert: a self-signed certificate for front.test for the server's TLS
# front, readable by the service user (the front loads it after the server
# became that user), and the [server] lines naming it (SRV_SERVER_EXTRA).
front_cert() {
	run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=front.test -keyout "$LL_TMP/front.key" -out "$LL_TMP/front.crt"
	run chgrp "$LL_SERVICE_USER" "$LL_TMP/front.key" "$LL_TMP/front.crt"
	run chmod 640 "$LL_TMP/front.key"
	SRV_SERVER_EXTRA="tls_certificate_file = \"$LL_TMP/front.crt\"
tls_key_file = \"$LL_TMP/front.key\"
"
}

# behind_server: a client reaching a host behind the server, as users do:
# cli (198.51.100.2, 2001:db8:c::2) - srv (s0 .1 / ::1, s1 203.0.113.1,
# 2001:db8:1::1) - inet (203.0.113.2, 2001:db8:1::2).
behind_server() {
	say "topology"
	ns_add cli
	ns_add srv
	ns_add inet
	veth cli c0 srv s0
	veth srv s1 inet i0
	addr cli c0 198.51.100.2/24
	addr cli c0 2001:db8:c::2/64
	addr srv s0 198.51.100.1/24
	addr srv s0 2001:db8:c::1/64
	addr srv s1 203.0.113.1/24
	addr srv s1 2001:db8:1::1/64
	addr inet i0 203.0.113.2/24
	addr inet i0 2001:db8:1::2/64
}

# attack_setup: the hostile scenarios' hosts and accounts. cli (alice,
# 198.51.100.2) and atk (192.0.2.2, its own link) both reach srv; mallory
# is a real account whose keys the attacker holds (the worst case for the
# rate limiter); the per-IP handshake limit is 20/s. The caller writes the
# configs (after any SRV_* of its own) and starts the daemons.
attack_setup() {
	one_link
	ns_add atk
	veth srv s2 atk a0
	addr srv s2 192.0.2.1/24
	addr atk a0 192.0.2.2/24
	say "keys and configuration"
	add_user alice 10.8.0.2 fd00:8::2
	add_user mallory 10.8.0.9 fd00:8::9
	SRV_HS_PER_IP=20
}

# attack_aftermath WHAT: after an attack_setup scenario's attack (WHAT
# names it in messages): alice's background ping (spawned as ping-during)
# lost at most 5 %, and she then reconnects from scratch and pings.
attack_aftermath() {
	local stats tx rx
	say "the tunnel kept working during the $1"
	stop ping-during INT
	stats=$(grep -E 'packets transmitted' "$(log_of ping-during)")
	echo "ping during the $1: $stats"
	tx=$(awk '{print $1}' <<<"$stats")
	rx=$(awk '{print $4}' <<<"$stats")
	[ -n "$tx" ] && [ "$tx" -gt 0 ] || fail "the background ping reported nothing"
	[ $((rx * 100)) -ge $((tx * 95)) ] ||
		fail "alice's ping lost $((tx - rx)) of $tx packets during the $1 (> 5 %)"
	say "and after: alice reconnects from scratch (not locked out) and pings"
	stop_clean client-alice
	start_client alice cli
	ping_ok cli 10.8.0.1
}

# canon_ip ADDR: the canonical text form (socat prints IPv6 addresses expanded).
canon_ip() {
	python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$1" 2>/dev/null ||
		echo "$1"
}

# make_data FILE MB: random bytes; prints nothing, sets FILE.sha256.
make_data() {
	run dd if=/dev/urandom of="$1" bs=1M count="$2" status=none
	sha256sum <"$1" | cut -d' ' -f1 >"$1.sha256"
}

tcp_listening() {
	local out
	out=$(nq "$1" ss -Hltn "sport = :$2")
	grep -q LISTEN <<<"$out"
}

# transfer_check SENDER_NS RECEIVER_NS LISTENER(sender|receiver) DST_IP PORT FILE [TIMEOUT]
#
# Moves FILE over one TCP connection from SENDER_NS to RECEIVER_NS and checks
# the SHA-256 of what arrived. The connection is opened by the client side:
# LISTENER says which end listens (the other one connects to DST_IP:PORT).
# Sets LL_XFER_MBPS, LL_XFER_PEER (address:port the listener saw) and
# LL_XFER_PEER_IP (that address, canonical).
transfer_check() {
	local snd=$1 rcv=$2 listener=$3 dst=$4 port=$5 file=$6 timeout=${7:-150}
	local fam=TCP4 lfam=TCP4-LISTEN host=$dst
	if [[ $dst == *:* ]]; then
		fam=TCP6 lfam=TCP6-LISTEN host="[$dst]"
	fi
	local out="$LL_TMP/xfer-$port.sha256" llog="$LL_TMP/xfer-$port.listener.log"
	local mb want got t0 t1
	mb=$(($(stat -c %s "$file") / 1048576))
	want=$(cat "$file.sha256")
	rm -f "$out" "$llog"
	if [ "$listener" = receiver ]; then
		LL_NOTE="| sha256sum &" pretty "$rcv" socat -d -d -u "$lfam:$port,reuseaddr" -
		(ip netns exec "$LL_PREFIX$rcv" timeout "$timeout" socat -d -d -u \
			"$lfam:$port,reuseaddr" - 2>"$llog" | sha256sum | cut -d' ' -f1 >"$out") &
		LL_PIDS[xfer-$port]=$!
		wait_until 5 tcp_listening "$rcv" "$port"
		t0=$(date +%s.%N)
		n "$snd" timeout "$timeout" socat -u "OPEN:$file" "$fam:$host:$port" ||
			fail "sending $mb MB to $dst:$port from $snd failed or timed out"
	else
		LL_NOTE="&" pretty "$snd" socat -d -d -u "OPEN:$file" "$lfam:$port,reuseaddr"
		ip netns exec "$LL_PREFIX$snd" timeout "$timeout" socat -d -d -u "OPEN:$file" \
			"$lfam:$port,reuseaddr" 2>"$llog" &
		LL_PIDS[xfer-$port]=$!
		wait_until 5 tcp_listening "$snd" "$port"
		t0=$(date +%s.%N)
		LL_NOTE="| sha256sum" pretty "$rcv" socat -u "$fam:$host:$port" -
		(ip netns exec "$LL_PREFIX$rcv" timeout "$timeout" socat -u "$fam:$host:$port" - |
			sha256sum | cut -d' ' -f1 >"$out") ||
			fail "receiving $mb MB from $dst:$port in $rcv failed or timed out"
	fi
	local status=0
	wait "${LL_PIDS[xfer-$port]}" || status=$?
	unset "LL_PIDS[xfer-$port]"
	t1=$(date +%s.%N)
	[ "$status" = 0 ] || fail "the listening socat on port $port failed (status $status): $(tail -n 3 "$llog")"
	got=$(cat "$out")
	LL_XFER_PEER=$(grep -m1 -Eo 'accepting connection from AF=[0-9]+ [^ ]+' "$llog" |
		awk '{print $NF}')
	LL_XFER_PEER_IP=$(canon_ip "$(sed -E 's/^\[?(.*[^]])\]?:[0-9]+$/\1/' <<<"$LL_XFER_PEER")")
	LL_XFER_MBPS=$(awk -v mb="$mb" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.1f", mb*8.388608/(t1-t0)}')
	if [ "$got" != "$want" ]; then
		fail "$mb MB from $snd to $rcv over $dst:$port arrived corrupted or truncated:
  sent sha256     $want
  received sha256 $got"
	fi
	echo "   $mb MiB $snd -> $rcv via $dst:$port: sha256 equal, ${LL_XFER_MBPS} Mbit/s, listener saw $LL_XFER_PEER_IP"
}

# ---- open-ended streams (run until the scenario says stop) ----
#
# stream_start ID SND RCV DST PORT [MAX_MIB] [TIMEOUT_S]: RCV listens on PORT;
# SND connects to DST:PORT and sends a 4 MiB random chunk over and over until
# stream_finish (or MAX_MIB, default 4096, or TIMEOUT_S, default 170).
# stream_sent_mib ID prints how much has been handed to the socket so far.
# stream_finish ID checks the SHA-256 of everything received against what
# was sent.

LL_CHUNK_MIB=4

stream_start() {
	local id=$1 snd=$2 rcv=$3 dst=$4 port=$5 max=${6:-4096} timeout=${7:-170}
	local fam=TCP4 lfam=TCP4-LISTEN host=$dst s="$LL_TMP/stream-$id"
	if [[ $dst == *:* ]]; then
		fam=TCP6 lfam=TCP6-LISTEN host="[$dst]"
	fi
	[ -f "$LL_TMP/chunk.dat" ] ||
		run dd if=/dev/urandom of="$LL_TMP/chunk.dat" bs=1M count=$LL_CHUNK_MIB status=none
	rm -f "$s".*
	LL_NOTE="| sha256sum &" pretty "$rcv" socat -u "$lfam:$port,reuseaddr" -
	(ip netns exec "$LL_PREFIX$rcv" timeout "$timeout" socat -u "$lfam:$port,reuseaddr" - \
		2>"$s.rcv.log" | sha256sum | cut -d' ' -f1 >"$s.got") &
	LL_PIDS[stream-$id-rcv]=$!
	wait_until 5 tcp_listening "$rcv" "$port"
	LL_NOTE="(4 MiB chunks until told to stop) &" pretty "$snd" socat -u - "$fam:$host:$port"
	(
		set +eE
		trap - ERR
		for ((i = 1; i <= max / LL_CHUNK_MIB; i++)); do
			[ -e "$s.stop" ] && break
			cat "$LL_TMP/chunk.dat" || break
			echo "$i" >"$s.count"
		done | ip netns exec "$LL_PREFIX$snd" timeout "$timeout" socat -u - "$fam:$host:$port" \
			2>"$s.snd.log"
	) &
	LL_PIDS[stream-$id-snd]=$!
}

stream_sent_mib() {
	local c=0
	[ -f "$LL_TMP/stream-$1.count" ] && c=$(cat "$LL_TMP/stream-$1.count")
	echo $((c * LL_CHUNK_MIB))
}

stream_sent_ge() { [ "$(stream_sent_mib "$1")" -ge "$2" ]; }

stream_finish() {
	local id=$1 s="$LL_TMP/stream-$1" snd=0 rcv=0 count want got i
	touch "$s.stop"
	wait_pid "${LL_PIDS[stream-$id-snd]}" 60 || snd=$?
	wait_pid "${LL_PIDS[stream-$id-rcv]}" 30 || rcv=$?
	unset "LL_PIDS[stream-$id-snd]" "LL_PIDS[stream-$id-rcv]"
	count=$(cat "$s.count" 2>/dev/null || echo 0)
	[ "$snd" = 0 ] || fail "stream $id: the sender failed (status $snd) after $((count * LL_CHUNK_MIB)) MiB: $(tail -n 3 "$s.snd.log")"
	[ "$rcv" = 0 ] || fail "stream $id: the receiver failed (status $rcv): $(tail -n 3 "$s.rcv.log")"
	want=$(for ((i = 0; i < count; i++)); do cat "$LL_TMP/chunk.dat"; done | sha256sum | cut -d' ' -f1)
	got=$(cat "$s.got")
	[ "$got" = "$want" ] || fail "stream $id: $((count * LL_CHUNK_MIB)) MiB sent, but what arrived differs:
  sent sha256     $want
  received sha256 $got"
	LL_STREAM_MIB=$((count * LL_CHUNK_MIB))
	echo "   stream $id: $LL_STREAM_MIB MiB, sha256 equal"
}

# ns_snapshot NS: what a daemon may change in a namespace and must undo
# (rules, routes, links, addresses, nftables, net sysctls), for a
# before/after comparison.
ns_snapshot() {
	local ns=$1
	echo "## ip rule"
	nq "$ns" ip rule
	echo "## ip -6 rule"
	nq "$ns" ip -6 rule
	echo "## ip route show table all"
	nq "$ns" ip route show table all
	echo "## ip -6 route show table all"
	nq "$ns" ip -6 route show table all
	echo "## ip link"
	nq "$ns" ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//'
	echo "## ip addr"
	nq "$ns" ip -o addr show | sed -E 's/^[0-9]+: //; s/ valid_lft.*//'
	echo "## nft list ruleset"
	nq "$ns" nft list ruleset
	echo "## sysctl net."
	# Counters and per-boot values that change by themselves are left out.
	nq "$ns" sysctl -a -r '^net\.' 2>/dev/null |
		grep -Ev '^net\.netfilter\.nf_conntrack_count |^net\.ipv[46]\.route\.gc_|stable_secret' |
		sort
}

# ---- teardown ----

check_sanitizers() {
	local f
	for f in "$LL_TMP"/*.log; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$f"; then
			echo "FAIL $LL_NAME: sanitizer report in $(basename "$f"):" >&2
			grep -E -A 30 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$f" |
				head -n 60 >&2
			LL_FAILED=1
			exit 1
		fi
	done
}

dump_logs() {
	local name
	for name in "${!LL_LOGS[@]}"; do
		printf '\n---- %s (last 40 lines of %s) ----\n' "$name" "${LL_LOGS[$name]}"
		tail -n 40 "${LL_LOGS[$name]}"
	done
}

cleanup() {
	local status=$? name pid ns p
	set +eE
	trap - ERR
	[ "$status" != 0 ] && LL_FAILED=1
	for name in "${!LL_PIDS[@]}"; do
		pid=${LL_PIDS[$name]}
		kill -TERM "$pid" 2>/dev/null
	done
	for name in "${!LL_PIDS[@]}"; do
		pid=${LL_PIDS[$name]}
		gone "$pid" 5
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Anything still running in our namespaces was started by this script.
	for ns in "${LL_NETNS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "${LL_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$LL_FAILED" != 0 ] || [ "${LL_VERBOSE:-0}" = 1 ]; then
		dump_logs
	fi
	if [ "${LL_KEEP:-0}" = 1 ] || [ "$LL_FAILED" != 0 ]; then
		echo "logs and configs kept in $LL_TMP"
		# Data files are large and worthless after the run.
		rm -f "$LL_TMP"/*.bin "$LL_TMP"/*.dat
	else
		rm -rf "$LL_TMP"
	fi
	exit "$status"
}
trap cleanup EXIT
