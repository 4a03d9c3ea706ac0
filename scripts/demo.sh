#!/usr/bin/env bash
# Demo (as root): a client in one network namespace reaches a host behind
# the server, through the LostLove tunnel and the server's NAT.
#
#   ┌──── cli ────────────┐      ┌──── srv ─────────────────┐      ┌──── inet ──────────┐
#   │ ll0 10.8.0.2/24     │      │ ll0 10.8.0.1/24          │      │                    │
#   │ c0 198.51.100.2/24  ├──────┤ s0 198.51.100.1/24       │      │                    │
#   └─────────────────────┘ veth │ s1 203.0.113.1/24 egress ├──────┤ i0 203.0.113.2/24  │
#                                └──────────────────────────┘ veth └────────────────────┘
#
#   sudo scripts/demo.sh [BUILD_DIR]     (default: build; builds it if missing)
#   LL_DEMO_HOLD=1 keeps everything up until Enter, to try commands yourself.
# Everything it creates (namespaces, processes, temp files) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ ! -x "$build/src/cmd/lostlove-server" ]; then
	scripts/install-deps.sh
	[ -d "$build" ] || meson setup "$build"
	ninja -C "$build"
fi
LL_NAME=demo
source tests/e2e/lib.sh "$build"

say "three hosts: a client, the server, and a host on the server's side"
ns_add cli
ns_add srv
ns_add inet
veth cli c0 srv s0
veth srv s1 inet i0
addr cli c0 198.51.100.2/24
addr srv s0 198.51.100.1/24
addr srv s1 203.0.113.1/24
addr inet i0 203.0.113.2/24

say "keys (lostlove-admin genkey/pubkey/genpsk) and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_EGRESS=s1
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]'
cat "$LL_TMP/server.toml"

say "start the server, then the client"
start_server
start_client alice cli
n cli ip route get 203.0.113.2

say "the client pings the host behind the server"
n cli ping -c 3 -i 0.2 203.0.113.2

say "the host sees the server's address (NAT), not the client's tunnel address"
make_data "$LL_TMP/hello.bin" 1
transfer_check cli inet receiver 203.0.113.2 8080 "$LL_TMP/hello.bin"
echo "the host saw the connection come from $LL_XFER_PEER_IP"

if [ "${LL_DEMO_HOLD:-0}" = 1 ]; then
	say "up: try e.g.  ip netns exec ${LL_PREFIX}cli ping 203.0.113.2   (Enter ends the demo)"
	read -r _
fi
pass
