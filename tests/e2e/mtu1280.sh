#!/usr/bin/env bash
# mtu1280: the outer path is IPv6 with the minimum MTU, 1280, on both veth
# ends. Message 1 (1348 bytes of UDP payload, 1396 on the wire) and message 2
# (≈ 1300) do not fit: the sending kernels must fragment them (IPv6 fragments
# are made by the sender only). The tunnel must still come up and carry
# traffic, including inner packets as large as the tunnel MTU.
#
#   ┌──── cli ──────────────────┐            ┌──── srv ──────────────────┐
#   │ ll0 10.8.0.2/24           │            │ ll0 10.8.0.1/24           │
#   │     fd00:8::2/64          │            │     fd00:8::1/64          │
#   │ c0 2001:db8:c::2/64       ├────────────┤ s0 2001:db8:c::1/64       │
#   │    mtu 1280               │ veth, IPv6 │    mtu 1280, server on [::]│
#   └───────────────────────────┘   only     └───────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB_SMALL:-40}

say "topology"
ns_add cli
ns_add srv
veth cli c0 srv s0
n cli ip link set c0 mtu 1280
n srv ip link set s0 mtu 1280
addr cli c0 2001:db8:c::2/64
addr srv s0 2001:db8:c::1/64
ping_ok cli 2001:db8:c::1 2

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_BIND="::"
write_server_config
write_client_config alice '[2001:db8:c::1]:51820' '[]'

frag_created() { nq "$1" awk '$1 == "Ip6FragCreates" {print $2}' /proc/net/snmp6; }
frag_oks() { nq "$1" awk '$1 == "Ip6ReasmOKs" {print $2}' /proc/net/snmp6; }
frag_fails() { nq "$1" awk '$1 == "Ip6FragFails" {print $2}' /proc/net/snmp6; }

say "server and client"
start_server
spawn client-alice cli "$LL_CLIENT" -c "$LL_TMP/alice.toml"
if ! try_until 40 log_has "$(log_of client-alice)" '^lostlove-client: connected: '; then
	check_daemons
	fail "no handshake over the 1280-MTU IPv6 path within 40 s.
  client: Ip6FragCreates=$(frag_created cli) Ip6FragFails=$(frag_fails cli) Ip6ReasmOKs=$(frag_oks cli)
  server: Ip6FragCreates=$(frag_created srv) Ip6FragFails=$(frag_fails srv) Ip6ReasmOKs=$(frag_oks srv)
  (FragFails > 0: the sender refused to fragment, e.g. IPV6_DONTFRAG or PMTUDISC_DO on its socket)
  client log: $(tail -n 5 "$(log_of client-alice)")
  server log: $(tail -n 5 "$(log_of server)")"
fi
# (Reassembly in the server is done by nftables' conntrack defrag when the
# firewall is loaded, which Ip6ReasmOKs does not count.)
echo "handshake done: the client made $(frag_created cli) IPv6 fragments, the server" \
	"$(frag_created srv); reassembled by the stack: server $(frag_oks srv), client $(frag_oks cli)"
n cli ip link show dev ll0 | grep -o 'mtu [0-9]*'
tun_mtu=$(nq cli cat /sys/class/net/ll0/mtu)

say "ping, small and as large as the tunnel MTU"
ping_ok cli 10.8.0.1
ping_ok cli fd00:8::1
ping_ok cli 10.8.0.1 3 -s $((tun_mtu - 28)) -M "do"
ping_ok cli fd00:8::1 3 -s $((tun_mtu - 48)) -M "do"

say "TCP, $MB MiB each way"
stream_start up cli srv 10.8.0.1 5001 "$MB"
wait_until 120 stream_sent_ge up "$MB"
stream_finish up
stream_start down srv cli fd00:8::2 5002 "$MB"
wait_until 120 stream_sent_ge down "$MB"
stream_finish down
echo "summary: tunnel MTU $tun_mtu over an outer MTU of 1280;" \
	"fragments made: client $(frag_created cli), server $(frag_created srv)"
pass
