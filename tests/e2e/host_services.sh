#!/usr/bin/env bash
# host_services: what a client reaches on the server itself (the firewall's
# input chain), and forwarding that leaves the server's router
# advertisements alone.
#
#   ┌──── cli ────────────┐      ┌──── srv ──────────────────────┐      ┌──── inet ────────────┐
#   │ ll0 10.8.0.2/24     │      │ ll0 10.8.0.1/24  fd00:8::1/64 │      │                      │
#   │     fd00:8::2/64    │      │   :22 tcp (0.0.0.0)           │      │ lo 2001:db8:ff::2    │
#   │ c0 198.51.100.2/24  ├──────┤ s0 198.51.100.1/24            │      │    (off-link: only   │
#   │    2001:db8:c::2/64 │ veth │    2001:db8:c::1/64           │      │     by the RA route) │
#   └─────────────────────┘      │ s1 203.0.113.1/24   egress    ├──────┤ i0 203.0.113.2/24    │
#                                │    2001:db8:1::1/64 NAT       │ veth │    2001:db8:1::2/64  │
#                                │    accept_ra = 1: its IPv6    │      │    sends router      │
#                                │    default route is an RA's   │      │    advertisements    │
#                                └───────────────────────────────┘      └──────────────────────┘
#
# 1. Nothing opened (the default: tunnel_open_ports = []): from the
#    tunnel, TCP 22 on the server's tunnel address and on its outer address
#    fails and the input chain's final drop counts it; ping 10.8.0.1 and
#    fd00:8::1 work; DNS (UDP and TCP 53) to 10.8.0.1, the pushed resolver,
#    arrives; UDP to the server's own port 51820, at 10.8.0.1 and at
#    198.51.100.1, is dropped by the routing-loop wall (its counter grows).
#    From outside the tunnel (cli's c0 to 198.51.100.1:22) everything works:
#    the host's own traffic is untouched.
# 2. tunnel_open_ports = ["tcp/22", "udp/51820"]: TCP 22 works from the
#    tunnel to both addresses and from outside; the wall still drops UDP to
#    51820, though the operator listed it.
# 3. Forwarding (both runs): net.ipv4.ip_forward stays 0, forwarding is on
#    for ll0 and s1 only; IPv6 by force_forwarding on ll0 and s1 where the
#    kernel has it (Linux 6.17), else by the global switch with s1's
#    accept_ra turned from 1 to 2. Either way srv keeps the default route
#    inet's advertisement gave it, still takes new advertisements, and the
#    client reaches 2001:db8:ff::2 (only routable by that route) and
#    203.0.113.2 through the tunnel. After SIGTERM every sysctl is back to
#    what it was. (The fallback on a kernel that has force_forwarding is
#    firewall.sh's, through firewall_tool.)
source "$(dirname "$0")/lib.sh" "$@"

PORT=51820

behind_server
addr inet lo 2001:db8:ff::2/128
# A host that takes its IPv6 default route from router advertisements: the
# state a global forwarding switch would break.
n srv sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
n srv sysctl -qw net.ipv6.conf.default.accept_ra=1 net.ipv6.conf.s1.accept_ra=1
# inet is the router: its neighbour advertisements must say so, or srv
# drops the default route through it (a "router" that turned host).
n inet sysctl -qw net.ipv6.conf.all.forwarding=1

# send_ra: one router advertisement from inet's i0 (default router, 1800 s).
send_ra() {
	LL_NOTE="(default router, lifetime 1800 s)" pretty inet python3 -c '<router advertisement to ff02::1>' i0
	nq inet python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
s.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex(sys.argv[1])))' i0
}
ra_route() {
	local out
	out=$(nq srv ip -6 route show default proto ra dev s1)
	[ -n "$out" ]
}
send_ra
wait_until 5 ra_route
n srv ip -6 route show default

# Every sysctl setup may touch, one "path=value" a line.
sysctls() {
	nq srv sh -c 'cd /proc/sys/net && for f in ipv4/ip_forward ipv4/conf/*/forwarding \
		ipv6/conf/*/forwarding ipv6/conf/*/force_forwarding ipv6/conf/*/accept_ra; do
		[ -e "$f" ] && echo "$f=$(cat "$f")"; done'
}
sysctl_is() {
	local v
	v=$(nq srv cat "/proc/sys/net/$1")
	[ "$v" = "$2" ] || fail "net/$1 is $v, not $2 ${3:-}"
}
before=$(sysctls)
FORCE=0
[ -e /proc/sys/net/ipv6/conf/all/force_forwarding ] && FORCE=1
echo "kernel $(uname -r): force_forwarding $([ $FORCE = 1 ] && echo present || echo absent)"

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_PORT=$PORT
SRV_EGRESS=s1
SRV_DNS='["10.8.0.1"]'
# server_config_with_ports TOML_ARRAY: server.toml with that
# tunnel_open_ports (lib.sh's SRV_OPEN_PORTS; where lib.sh does not write
# the key, it goes into [network] here: SRV_EXTRA would land in [monitoring]).
server_config_with_ports() {
	SRV_OPEN_PORTS=$1
	write_server_config
	if ! grep -q '^tunnel_open_ports = ' "$LL_TMP/server.toml"; then
		sed -i "/^egress_interface = /a tunnel_open_ports = $1" "$LL_TMP/server.toml"
	fi
	pretty + write server.toml "(tunnel_open_ports = $1)"
	n srv "$LL_SERVER" --check-config -c "$LL_TMP/server.toml" >/dev/null
}
server_config_with_ports '[]'
write_client_config alice 198.51.100.1:$PORT \
	'["203.0.113.0/24", "2001:db8:1::/64", "2001:db8:ff::/64"]'

# Listeners on the server host: TCP 22 on every address (outer and tunnel).
LL_NOTE="&" pretty srv socat TCP-LISTEN:22,reuseaddr,fork SYSTEM:'echo sshd-here'
ip netns exec "${LL_PREFIX}srv" socat TCP-LISTEN:22,reuseaddr,fork SYSTEM:'echo sshd-here' &
LL_PIDS[listen22]=$!
wait_until 5 tcp_listening srv 22

# tcp22 NS DST [BINDTODEVICE]: the greeting of the listener on DST:22.
tcp22() {
	local opt=",connect-timeout=2"
	[ -n "${3:-}" ] && opt+=",so-bindtodevice=$3"
	nq "$1" socat -T 2 -u "TCP4:$2:22$opt" STDOUT 2>/dev/null
}
tcp22_ok() {
	pretty "$1" socat -u "TCP4:$2:22${3:+,so-bindtodevice=$3}" STDOUT
	[ "$(tcp22 "$@")" = sshd-here ] || fail "TCP 22 on $2 from $1 ${3:+through $3 }failed"
	echo "sshd-here"
}
tcp22_fails() {
	LL_NOTE="(must fail)" pretty "$1" socat -u "TCP4:$2:22${3:+,so-bindtodevice=$3}" STDOUT
	if tcp22 "$@" >/dev/null; then
		fail "TCP 22 on $2 from $1 ${3:+through $3 }was reached, but it must be blocked"
	fi
	echo "no connection, as expected"
}

# counted RULE: packets the input rule with that text (before "counter") counted.
counted() {
	local chain
	chain=$(nq srv nft list chain inet lostlove input)
	sed -n "s|^\t*$1 counter packets \([0-9]*\) .*|\1|p" <<<"$chain"
}
WALL="iifname \"ll0\" udp dport $PORT"
LAST="iifname \"ll0\""
counted_above() { [ "$(counted "$1")" -gt "$2" ]; }

# udp_through_tunnel DST PORT: one datagram from cli into the tunnel.
udp_through_tunnel() {
	pretty cli socat -u - "UDP4-SENDTO:$1:$2,so-bindtodevice=ll0"
	echo probe | nq cli socat -u - "UDP4-SENDTO:$1:$2,so-bindtodevice=ll0"
}

# The loop wall drops UDP to the server's port at either address.
check_loop_wall() {
	local dst was
	for dst in 10.8.0.1 198.51.100.1; do
		was=$(counted "$WALL")
		udp_through_tunnel "$dst" "$PORT"
		wait_until 5 counted_above "$WALL" "$was"
		echo "loop wall: $dst:$PORT counted $(counted "$WALL") (was $was)"
	done
}

# Forwarding is on for ll0 and s1 only, the RA route survives and new
# advertisements are still taken; IPv6 and IPv4 cross the server.
check_forwarding() {
	n srv ip -6 route show default
	sysctl_is ipv4/ip_forward 0 "(global: must stay off)"
	sysctl_is ipv4/conf/ll0/forwarding 1
	sysctl_is ipv4/conf/s1/forwarding 1
	sysctl_is ipv4/conf/s0/forwarding 0 "(not an interface the tunnel needs)"
	if [ $FORCE = 1 ]; then
		sysctl_is ipv6/conf/all/forwarding 0 "(force_forwarding needs no global switch)"
		sysctl_is ipv6/conf/ll0/force_forwarding 1
		sysctl_is ipv6/conf/s1/force_forwarding 1
		sysctl_is ipv6/conf/s1/accept_ra 1
	else
		sysctl_is ipv6/conf/all/forwarding 1
		sysctl_is ipv6/conf/s1/accept_ra 2 "(must keep taking advertisements)"
		sysctl_is ipv6/conf/default/accept_ra 2
		sysctl_is ipv6/conf/ll0/accept_ra 1 "(the TUN must never take a client's)"
	fi
	ra_route || fail "srv lost the default route of the router advertisement"
	n srv ip -6 route del default proto ra dev s1
	send_ra
	wait_until 5 ra_route
	echo "a new advertisement was taken"
	ping_ok cli 2001:db8:ff::2 3
	ping_ok cli 203.0.113.2 3
}

check_restored() {
	local now
	now=$(sysctls)
	[ "$now" = "$before" ] || fail "sysctls not restored after $1:
$(diff <(echo "$before") <(echo "$now"))"
	ra_route || fail "srv lost the default route of the router advertisement after $1"
	echo "every sysctl is back"
}

say "run 1: nothing opened to the tunnel"
start_server
start_client alice cli
n srv nft list chain inet lostlove input
check_forwarding

say "ping and DNS to the server through the tunnel work"
ping_ok cli 10.8.0.1 3
ping_ok cli fd00:8::1 3
spawn dns-udp srv socat -u UDP4-RECV:53,bind=10.8.0.1 STDOUT
LL_NOTE="&" pretty srv socat TCP4-LISTEN:53,bind=10.8.0.1,reuseaddr,fork SYSTEM:'echo dns-tcp'
ip netns exec "${LL_PREFIX}srv" socat TCP4-LISTEN:53,bind=10.8.0.1,reuseaddr,fork \
	SYSTEM:'echo dns-tcp' &
LL_PIDS[dns-tcp]=$!
wait_until 5 tcp_listening srv 53
dns_arrived() { log_has "$(log_of dns-udp)" '^dns-query$'; }
n cli sh -c 'echo dns-query | socat -u - UDP4-SENDTO:10.8.0.1:53'
wait_until 5 dns_arrived
echo "the UDP query arrived"
n cli socat -T 2 -u TCP4:10.8.0.1:53,connect-timeout=2 STDOUT
[ "$(nq cli socat -T 2 -u TCP4:10.8.0.1:53,connect-timeout=2 STDOUT)" = dns-tcp ] ||
	fail "DNS over TCP to 10.8.0.1 did not get through"

say "TCP 22 on the server is closed to the tunnel, open outside it"
dropped=$(counted "$LAST")
tcp22_fails cli 10.8.0.1
tcp22_fails cli 198.51.100.1 ll0
[ "$(counted "$LAST")" -gt "$dropped" ] || fail "the input chain's final drop counted nothing"
echo "final drop counted $(counted "$LAST") (was $dropped)"
tcp22_ok cli 198.51.100.1
tcp22_ok srv 10.8.0.1

say "the routing-loop wall"
check_loop_wall

say "SIGTERM: sysctls restored"
stop_clean client-alice
stop_clean server
check_restored "the first run"

say "run 2: tunnel_open_ports = [\"tcp/22\", \"udp/$PORT\"]"
server_config_with_ports "[\"tcp/22\", \"udp/$PORT\"]"
start_server
start_client alice cli
n srv nft list chain inet lostlove input
tcp22_ok cli 10.8.0.1
tcp22_ok cli 198.51.100.1 ll0
tcp22_ok cli 198.51.100.1
check_loop_wall
check_forwarding
ping_ok cli 10.8.0.1 3

say "SIGTERM: sysctls restored"
stop_clean client-alice
stop_clean server
check_restored "the second run"
tcp22_ok cli 198.51.100.1
pass
