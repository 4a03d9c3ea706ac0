#!/usr/bin/env bash
# basic: a client reaches an internet host through the tunnel, IPv4 and IPv6,
# behind the server's NAT; 200 MiB each way over TCP arrive byte-identical.
#
#   ┌──── cli ────────────┐      ┌──── srv ─────────────────┐      ┌──── inet ──────────┐
#   │ ll0 10.8.0.2/24     │      │ ll0 10.8.0.1/24          │      │                    │
#   │     fd00:8::2/64    │      │     fd00:8::1/64         │      │                    │
#   │ c0 198.51.100.2/24  ├──────┤ s0 198.51.100.1/24       │      │                    │
#   │    2001:db8:c::2/64 │ veth │    2001:db8:c::1/64      │      │                    │
#   └─────────────────────┘      │ s1 203.0.113.1/24 egress ├──────┤ i0 203.0.113.2/24  │
#                                │    2001:db8:1::1/64  NAT │ veth │    2001:db8:1::2/64│
#                                └──────────────────────────┘      └────────────────────┘
#
# The client routes only 203.0.113.0/24 and 2001:db8:1::/64 into the tunnel
# and has no other route there; the internet host has no route back to the
# tunnel prefixes, so every reply proves both the tunnel and the NAT.
#
# Usage: basic.sh BUILD_DIR [MODE]   MODE = performance | balanced | maximum_security
#        (or LL_MODE); LL_E2E_MB = size of each transfer (default 200).
LL_MODE=${2:-${LL_MODE:-balanced}}
LL_NAME=basic_$LL_MODE
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB:-200}

behind_server

say "keys and configuration (mode $LL_MODE)"
add_user alice 10.8.0.2 fd00:8::2
SRV_MODE=$LL_MODE
SRV_EGRESS=s1
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24", "2001:db8:1::/64"]'
n srv "$LL_SERVER" --check-config -c "$LL_TMP/server.toml"

say "server and client"
start_server
start_client alice cli
n cli ip addr show dev ll0
# (Outputs are captured, then matched: "cmd | grep -q" can fail under
# pipefail when grep's early exit kills cmd with SIGPIPE.)
n cli ip route get 203.0.113.2
out=$(nq cli ip route get 203.0.113.2)
grep -q 'dev ll0' <<<"$out" || fail "client does not route 203.0.113.2 into ll0"
n cli ip -6 route get 2001:db8:1::2
out=$(nq cli ip -6 route get 2001:db8:1::2)
grep -q 'dev ll0' <<<"$out" || fail "client does not route 2001:db8:1::2 into ll0"
if nq inet ip route get 10.8.0.2 >/dev/null 2>&1; then
	fail "the internet host has a route to 10.8.0.2: the NAT check would prove nothing"
fi

say "ping through the tunnel"
ping_ok cli 10.8.0.1
ping_ok cli fd00:8::1
ping_ok cli 203.0.113.2
ping_ok cli 2001:db8:1::2

say "TCP, $MB MiB each way, IPv4 then IPv6"
make_data "$LL_TMP/data.bin" "$MB"
transfer_check cli inet receiver 203.0.113.2 5001 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "internet host saw the upload from $LL_XFER_PEER_IP, not the server's egress 203.0.113.1"
up4=$LL_XFER_MBPS
transfer_check inet cli sender 203.0.113.2 5002 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 203.0.113.1 ] ||
	fail "internet host saw the download request from $LL_XFER_PEER_IP, not 203.0.113.1"
down4=$LL_XFER_MBPS
transfer_check cli inet receiver 2001:db8:1::2 5003 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 2001:db8:1::1 ] ||
	fail "internet host saw the IPv6 upload from $LL_XFER_PEER_IP, not the server's egress 2001:db8:1::1"
up6=$LL_XFER_MBPS
transfer_check inet cli sender 2001:db8:1::2 5004 "$LL_TMP/data.bin"
[ "$LL_XFER_PEER_IP" = 2001:db8:1::1 ] ||
	fail "internet host saw the IPv6 download request from $LL_XFER_PEER_IP, not 2001:db8:1::1"
down6=$LL_XFER_MBPS
echo "summary: mode $LL_MODE, $MB MiB: IPv4 up $up4 down $down4, IPv6 up $up6 down $down6 Mbit/s"

say "still alive after the transfers"
ping_ok cli 10.8.0.1 3
pass
