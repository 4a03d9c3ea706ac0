#!/usr/bin/env bash
# two_clients: two users connected at once, each with its own inner address;
# both reach the internet host at the same time; they cannot reach each
# other (client_to_client = false, the default), and can once the server is
# restarted with client_to_client = true.
#
#   ┌──── cli1 ───────────┐      ┌──── srv ─────────────────┐      ┌──── inet ─────────┐
#   │ ll0 10.8.0.2/24     │      │ ll0 10.8.0.1/24          │      │                   │
#   │     fd00:8::2/64    │      │     fd00:8::1/64         │      │                   │
#   │ c0 198.51.100.2/24  ├──────┤ s0 198.51.100.1/24       │      │                   │
#   └─────────────────────┘ veth │                          │      │                   │
#   ┌──── cli2 ───────────┐      │                          │      │                   │
#   │ ll0 10.8.0.3/24     │      │                          │      │                   │
#   │     fd00:8::3/64    │      │                          │      │                   │
#   │ c0 192.0.2.2/24     ├──────┤ s2 192.0.2.1/24          │      │                   │
#   └─────────────────────┘ veth │ s1 203.0.113.1/24 egress ├──────┤ i0 203.0.113.2/24 │
#                                │ default via 203.0.113.2  │ veth └───────────────────┘
#                                └──────────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB_SMALL:-40}

say "topology"
ns_add cli1
ns_add cli2
ns_add srv
ns_add inet
veth cli1 c0 srv s0
veth cli2 c0 srv s2
veth srv s1 inet i0
addr cli1 c0 198.51.100.2/24
addr cli2 c0 192.0.2.2/24
addr srv s0 198.51.100.1/24
addr srv s2 192.0.2.1/24
addr srv s1 203.0.113.1/24
addr inet i0 203.0.113.2/24
# egress_interface is left empty: the server must find s1 from its default route.
n srv ip route add default via 203.0.113.2
SRV_EGRESS=""

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
add_user bob 10.8.0.3 fd00:8::3
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]'
write_client_config bob 192.0.2.1:51820 '["203.0.113.0/24"]'

say "server and both clients"
start_server
start_client alice cli1
start_client bob cli2
log_has "$(log_of client-alice)" 'connected: 10\.8\.0\.2/' ||
	fail "alice did not get 10.8.0.2: $(grep connected "$(log_of client-alice)")"
log_has "$(log_of client-bob)" 'connected: 10\.8\.0\.3/' ||
	fail "bob did not get 10.8.0.3: $(grep connected "$(log_of client-bob)")"

say "each client reaches the server and the internet host"
ping_ok cli1 10.8.0.1
ping_ok cli2 10.8.0.1
ping_ok cli1 fd00:8::1
ping_ok cli2 fd00:8::1
ping_ok cli1 203.0.113.2
ping_ok cli2 203.0.113.2

say "both at once: $MB MiB each, concurrently"
stream_start alice cli1 inet 203.0.113.2 5001 "$MB"
stream_start bob cli2 inet 203.0.113.2 5002 "$MB"
wait_until 120 stream_sent_ge alice "$MB"
wait_until 120 stream_sent_ge bob "$MB"
stream_finish alice
stream_finish bob

say "client to client is blocked by default"
ping_fails cli1 10.8.0.3
ping_fails cli2 10.8.0.2
ping_fails cli1 fd00:8::3
ping_fails cli2 fd00:8::2
ping_ok cli1 10.8.0.1 3

say "client_to_client = true: restart the server, reconnect the clients"
stop_clean client-alice
stop_clean client-bob
stop_clean server
SRV_C2C=true
write_server_config
start_server
start_client alice cli1
start_client bob cli2
ping_ok cli1 10.8.0.3
ping_ok cli2 10.8.0.2
ping_ok cli1 fd00:8::3
pass
