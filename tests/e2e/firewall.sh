#!/usr/bin/env bash
# e2e: network/firewall.c in three network namespaces, never the host's.
#
#   llfw-client-PID             llfw-server-PID                      llfw-inet-PID
#  +-------------------+      +-------------------------------+      +-------------------+
#  | cl0 10.8.0.2/32   |------| lltun0 10.8.0.1/24   mtu 1380 |      |                   |
#  |     10.9.0.2/32   |      |        fd00:8::1/64           |      |                   |
#  |     fd00:8::2/128 |      | eg0    192.0.2.1/24           |------| in0 192.0.2.2/24  |
#  | default via       |      |        2001:db8::1/64         |      |     2001:db8::2/64|
#  |   10.8.0.1,       |      |        accept_ra = 1          |      | lo 2001:db8:ff::2 |
#  |   fd00:8::1       |      | default via 192.0.2.2,        |      | IPv6 router: its  |
#  +-------------------+      |   IPv6: the RA's (from in0)   |      |   advertisements  |
#                             | lo: IPv6 forwarding = 1       |      | socat listeners:  |
#                             +-------------------------------+      | :9000 (v4, v6),   |
#                                                                    | :9001 (v4)        |
#                                                                    +-------------------+
#
# lltun0 stands in for the VPN TUN device (a veth: the firewall only sees an
# interface name). The "internet" has no route back to the client pools, so a
# client reaches it only if the server masquerades; the listeners echo the
# peer address they saw, which must be the server's egress address. The
# tunnel's smaller MTU makes MSS clamping visible: both ends would use 1460
# (no TCP timestamps, so "mss" in ss is the peer's MSS) unless the SYN and
# the SYN-ACK are each clamped to 1380 - 40 ("rt mtu" is the smaller of the
# route MTUs towards both ends). The server learns its IPv6 default route
# from inet's router advertisements, as a SLAAC host does; 2001:db8:ff::2 is
# reachable only through it. lo's IPv6 forwarding stands for an interface
# the administrator made a router.
#
# Checks: the table loads (egress found from the default route), loading it
# again replaces it identically (stale table of a crashed run), forwarding
# is enabled on lltun0 and eg0 only (net.ipv4.ip_forward stays 0, and IPv4
# forwarding is decided by the interface a packet arrives on: either one
# off, and the client is cut off), IPv4 and IPv6 masquerade, MSS clamping
# both ways, the anti-spoof and tun->tun drops count packets, teardown
# removes the table (and is fine when it is absent), a held setup puts
# every sysctl back on teardown, bad interface names and a missing
# CAP_NET_ADMIN are rejected before anything is loaded. IPv6 forwarding
# both ways, where the kernel has force_forwarding (Linux 6.17) and by the
# global switch (--ip6-global, the only way before): the route learnt from
# advertisements survives and new ones are still taken, the TUN's accept_ra
# is never raised, and teardown restores everything (lo's forwarding too,
# which the global switch overwrites).
#
# Usage: firewall.sh BUILD_DIR    (root; exits 77 = skipped otherwise)
set -euo pipefail

build=${1:?usage: firewall.sh BUILD_DIR}
tool=$build/tests/e2e/firewall_tool

if [ "$(id -u)" != 0 ]; then
	echo "firewall.sh: needs root (network namespaces, nftables): skipped"
	exit 77
fi
for cmd in ip nft socat ss ping setpriv; do
	command -v "$cmd" >/dev/null || {
		echo "firewall.sh: $cmd not found (install iproute2, nftables, socat, iputils-ping, util-linux)" >&2
		exit 1
	}
done
[ -x "$tool" ] || {
	echo "firewall.sh: $tool not built" >&2
	exit 1
}

C=llfw-client-$$
S=llfw-server-$$
I=llfw-inet-$$
pids=()

cleanup() {
	local rc=$?
	set +e
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Anything still running inside our namespaces was started here (a
	# listener's child, say); it would keep a deleted namespace alive.
	for ns in "$C" "$S" "$I"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$rc" = 0 ]; then echo "firewall.sh: PASS"; else echo "firewall.sh: FAIL ($rc)"; fi
	exit "$rc"
}
trap cleanup EXIT

PS4='+ firewall.sh:${LINENO}: '
set -x

fail() {
	set +x
	echo "firewall.sh: FAILED: $*" >&2
	exit 1
}

s() { ip netns exec "$S" "$@"; }
c() { ip netns exec "$C" "$@"; }
i() { ip netns exec "$I" "$@"; }

# Waits (up to 5 s of elapsed time, a deadline however long each try takes)
# until a command succeeds: a real condition, not a sleep.
wait_for() {
	local start=${EPOCHREALTIME//[!0-9]/} now
	until "$@"; do
		now=${EPOCHREALTIME//[!0-9]/}
		[ $((now - start)) -lt 5000000 ] ||
			fail "timed out after $(((now - start) / 100000 / 10)).$(((now - start) / 100000 % 10)) s (limit 5 s) waiting for: $*"
		sleep 0.1
	done
}

# Every sysctl setup may touch, one "path=value" a line.
sysctls() {
	s sh -c 'cd /proc/sys/net && for f in ipv4/ip_forward ipv4/conf/*/forwarding \
		ipv6/conf/*/forwarding ipv6/conf/*/force_forwarding ipv6/conf/*/accept_ra; do
		[ -e "$f" ] && echo "$f=$(cat "$f")"; done'
}
sysctl_is() {
	local v
	v=$(s cat "/proc/sys/net/$1")
	[ "$v" = "$2" ] || fail "net/$1 is $v, not $2 ${3:-}"
}
# Writes back the values of a sysctls() snapshot that differ now (writing an
# IPv6 forwarding 1, even unchanged, would purge the routes learnt from
# advertisements).
sysctls_restore() {
	local line now
	now=$(sysctls)
	while IFS= read -r line; do
		grep -qxF "$line" <<<"$now" || s sh -c "echo ${line#*=} >/proc/sys/net/${line%%=*}"
	done <<<"$1"
}
FORCE=0
[ -e /proc/sys/net/ipv6/conf/all/force_forwarding ] && FORCE=1
# The IPv6 state while a setup holds, by the way it took (force or global).
forwarding_on() {
	sysctl_is ipv4/ip_forward 0 "(global: must stay off)"
	sysctl_is ipv4/conf/lltun0/forwarding 1
	sysctl_is ipv4/conf/eg0/forwarding 1
	sysctl_is ipv4/conf/lo/forwarding 0
	if [ "$1" = force ]; then
		sysctl_is ipv6/conf/all/forwarding 0 "(force_forwarding needs no global switch)"
		sysctl_is ipv6/conf/lltun0/force_forwarding 1
		sysctl_is ipv6/conf/eg0/force_forwarding 1
		sysctl_is ipv6/conf/eg0/accept_ra 1
	else
		sysctl_is ipv6/conf/all/forwarding 1
		sysctl_is ipv6/conf/eg0/accept_ra 2 "(must keep taking advertisements)"
		sysctl_is ipv6/conf/default/accept_ra 2
		sysctl_is ipv6/conf/lltun0/accept_ra 1 "(the TUN must never take a client's)"
	fi
	ra_route || fail "the route learnt from router advertisements is gone"
}
# One router advertisement from inet's in0 (default router, 1800 s).
send_ra() {
	i python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
s.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex("in0")))'
}
ra_route() {
	local r
	r=$(s ip -6 route show default proto ra dev eg0)
	[ -n "$r" ]
}
# Advertisements are still taken: the route comes back after a new one.
ra_taken() {
	s ip -6 route del default proto ra dev eg0
	send_ra
	wait_for ra_route
}
# (Outputs are captured, then matched: "cmd | grep -q" can fail under
# pipefail when grep's early exit kills cmd with SIGPIPE.)
has_table() {
	local t
	t=$(s nft list tables)
	grep -qx 'table inet lostlove' <<<"$t"
}
# Packets counted by the rule whose text (before "counter") is $1.
counted() { s nft list chain inet lostlove forward | sed -n "s|^\t*$1 counter packets \([0-9]*\) .*|\1|p"; }

# --- topology -------------------------------------------------------------
for ns in "$C" "$S" "$I"; do
	ip netns add "$ns"
	# No duplicate address detection: addresses are usable at once.
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_timestamps=0
done
ip -n "$C" link add cl0 type veth peer name lltun0 netns "$S"
ip -n "$S" link add eg0 type veth peer name in0 netns "$I"

c ip addr add 10.8.0.2/32 dev cl0
c ip addr add 10.9.0.2/32 dev cl0
c ip addr add fd00:8::2/128 dev cl0 nodad
c ip link set cl0 up
c ip route add 10.8.0.1/32 dev cl0
c ip route add default via 10.8.0.1 dev cl0
c ip -6 route add fd00:8::1/128 dev cl0
c ip -6 route add default via fd00:8::1 dev cl0

s ip addr add 10.8.0.1/24 dev lltun0
s ip addr add fd00:8::1/64 dev lltun0 nodad
s ip addr add 192.0.2.1/24 dev eg0
s ip addr add 2001:db8::1/64 dev eg0 nodad
s ip link set lltun0 mtu 1380 up
s ip link set eg0 up
s ip route add default via 192.0.2.2
# Reverse-path filtering would hide the spoofed packets from our rule.
s sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lltun0.rp_filter=0

i ip addr add 192.0.2.2/24 dev in0
i ip addr add 2001:db8::2/64 dev in0 nodad
i ip addr add 2001:db8:ff::2/128 dev lo nodad
i ip link set in0 up
# inet is a router: its neighbour advertisements say so (the server would
# drop the default route through a "router" that turned host).
i sysctl -q -w net.ipv6.conf.all.forwarding=1

# A new namespace copies init_net's forwarding (net.core.devconf_inherit_init_net
# = 0), so a host that forwards (a router, Docker, a VPN running on it) hands
# it on: start from "off" explicitly, so that turning it on and back is seen.
s sysctl -q -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
s sysctl -q -w net.ipv6.conf.default.accept_ra=1 net.ipv6.conf.eg0.accept_ra=1 \
	net.ipv6.conf.lltun0.accept_ra=1 net.ipv6.conf.lo.forwarding=1
send_ra
wait_for ra_route
s ip -6 route show default
before=$(sysctls)

# --- bad input: rejected, nothing loaded ------------------------------------
pool=(--pool4 10.8.0.0/24 --pool6 fd00:8::/64)
for bad in 'lltun0";flush' 'a b' '' 'toolongname12345678' '..'; do
	if err=$(s "$tool" setup --tun "$bad" "${pool[@]}" 2>&1); then
		fail "tun name '$bad' accepted"
	fi
	grep -q 'tun_name' <<<"$err" || fail "no message for '$bad'"
done
! s "$tool" setup --tun lltun0 --egress 'eg0"' "${pool[@]}" || fail "bad egress accepted"
! s "$tool" setup --tun nosuch0 "${pool[@]}" || fail "missing TUN device accepted"
if err=$(s setpriv --bounding-set -net_admin --inh-caps -net_admin "$tool" setup --tun lltun0 "${pool[@]}" 2>&1); then
	fail "setup without CAP_NET_ADMIN succeeded"
fi
grep -q 'CAP_NET_ADMIN needed (Operation not permitted)' <<<"$err" || fail "no EPERM message"
! has_table || fail "a rejected setup left a table"
[ "$(sysctls)" = "$before" ] || fail "a rejected setup changed sysctls"

# --- setup, and setup again over the "stale" table -------------------------
s "$tool" setup --tun lltun0 "${pool[@]}"
has_table || fail "no table after setup"
first=$(s nft list table inet lostlove)
grep -q 'oifname "eg0" ip saddr 10.8.0.0/24 masquerade' <<<"$first" ||
	fail "egress not resolved to eg0"
s "$tool" setup --tun lltun0 "${pool[@]}"
[ "$(s nft list table inet lostlove)" = "$first" ] || fail "second setup differs"
[ "$(s nft list tables | grep -c lostlove)" = 1 ] || fail "more than one table"
forwarding_on "$([ $FORCE = 1 ] && echo force || echo global)"

# --- masquerade -------------------------------------------------------------
# Background processes are started without the i() wrapper so that $! is
# the process itself (ip netns exec execs it), which cleanup kills.
ip netns exec "$I" socat TCP4-LISTEN:9000,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"' &
pids+=($!)
ip netns exec "$I" socat TCP6-LISTEN:9000,ipv6only=1,reuseaddr,fork SYSTEM:'echo "$SOCAT_PEERADDR"' &
pids+=($!)
wait_for eval '[ "$(i ss -Hltn "sport = :9000" | wc -l)" = 2 ]'

seen4=$(c socat -T 5 -u TCP4:192.0.2.2:9000,connect-timeout=5 STDOUT)
[ "$seen4" = 192.0.2.1 ] || fail "IPv4 peer seen as '$seen4', not the egress address"
seen6=$(c socat -T 5 -u 'TCP6:[2001:db8::2]:9000,connect-timeout=5' STDOUT)
[ "$seen6" = '[2001:0db8:0000:0000:0000:0000:0000:0001]' ] ||
	fail "IPv6 peer seen as '$seen6', not the egress address"
c ping -c 1 -W 2 2001:db8:ff::2 || fail "no IPv6 through the route learnt from advertisements"

# --- IPv4 forwarding is decided by the interface a packet arrives on --------
# (ip_forward is 0: only lltun0's and eg0's own switches carry the traffic.)
for ifc in lltun0 eg0; do
	s sysctl -q -w "net.ipv4.conf.$ifc.forwarding=0"
	! c socat -T 2 -u TCP4:192.0.2.2:9000,connect-timeout=2 STDOUT ||
		fail "forwarded with $ifc's forwarding off"
	s sysctl -q -w "net.ipv4.conf.$ifc.forwarding=1"
done
[ "$(c socat -T 5 -u TCP4:192.0.2.2:9000,connect-timeout=5 STDOUT)" = 192.0.2.1 ] ||
	fail "IPv4 not forwarded again"

# --- MSS clamping: SYN out of the tunnel, SYN-ACK into it --------------------
# The listener reports its own view, then holds the connection until the
# client closes, so that the client's socket can be inspected meanwhile.
# (socat's address syntax: no quotes or parentheses inside SYSTEM:, "\:" for ":".)
ip netns exec "$I" socat TCP4-LISTEN:9001,reuseaddr SYSTEM:'ss -Htni state established sport = \:9001 | grep -ow mss\:[0-9]*; cat >/dev/null' &
pids+=($!)
wait_for eval '[ "$(i ss -Hltn "sport = :9001" | wc -l)" = 1 ]'
coproc conn { ip netns exec "$C" socat -T 10 - TCP4:192.0.2.2:9001,connect-timeout=5; }
pids+=("$conn_PID")
conn_pid=$conn_PID
read -r -t 10 inet_mss <&"${conn[0]}" || fail "no answer on :9001"
[ "$inet_mss" = mss:1340 ] || fail "client SYN not clamped: internet side has $inet_mss"
client_mss=$(c ss -Htni state established dport = :9001 | grep -ow 'mss:[0-9]*')
[ "$client_mss" = mss:1340 ] || fail "SYN-ACK not clamped: client side has $client_mss"
eval "exec ${conn[1]}>&-"
wait "$conn_pid" || fail "connection to :9001 did not end cleanly"

# --- drops: spoofed source, client to client --------------------------------
! c ping -c 1 -W 1 -I 10.9.0.2 192.0.2.2 || fail "spoofed ping answered"
[ "$(counted 'iifname "lltun0" ip saddr != 10.8.0.0/24')" -ge 1 ] || fail "spoof not counted"
! c ping -c 1 -W 1 10.8.0.3 || fail "client-to-client ping answered"
[ "$(counted 'iifname "lltun0" oifname "lltun0"')" -ge 1 ] || fail "tun->tun not counted"

# --- teardown (after a "crash": no sysctl state) ----------------------------
s "$tool" teardown
! has_table || fail "table left after teardown"
s "$tool" teardown
! c socat -T 2 -u TCP4:192.0.2.2:9000,connect-timeout=2 STDOUT || fail "reached without NAT"
[ "$(sysctls)" != "$before" ] || fail "a crashed run's forwarding was undone: by whom?"
sysctls_restore "$before"
[ "$(sysctls)" = "$before" ] || fail "cannot restore the sysctls by hand"

# --- held setups: teardown puts every sysctl back ----------------------------
# run_held MODE ARGS...: firewall_tool run, the checks of MODE (force or
# global) while it holds, then EOF: everything as before.
run_held() {
	local mode=$1 line
	shift
	coproc fw { ip netns exec "$S" "$tool" run --tun lltun0 --egress eg0 "${pool[@]}" "$@"; }
	pids+=("$fw_PID")
	read -r -t 10 line <&"${fw[0]}" || fail "firewall_tool run did not start"
	[ "$line" = ready ] || fail "firewall_tool run said '$line'"
	forwarding_on "$mode"
	ra_taken
	c ping -c 1 -W 2 2001:db8:ff::2 || fail "no IPv6 forwarding ($mode)"
	[ "$(c socat -T 5 -u TCP4:192.0.2.2:9000,connect-timeout=5 STDOUT)" = 192.0.2.1 ] ||
		fail "no IPv4 forwarding ($mode)"
	chain=$(s nft list chain inet lostlove forward)
	fw_pid=$fw_PID
	eval "exec ${fw[1]}>&-"
	wait "$fw_pid" || fail "firewall_tool run failed"
	[ "$(sysctls)" = "$before" ] || fail "sysctls not restored ($mode):
$(diff <(echo "$before") <(sysctls))"
	ra_route || fail "the route learnt from advertisements is gone after teardown ($mode)"
	! has_table || fail "table left after run"
}
auto=global
[ $FORCE = 0 ] || auto=force
run_held $auto --client-to-client
grep -q 'iifname "lltun0" oifname "lltun0" counter packets [0-9]* bytes [0-9]* accept' <<<"$chain" ||
	fail "client_to_client not accepted"
# The fallback of kernels before 6.17, on this one too.
[ $FORCE = 0 ] || run_held global --ip6-global
