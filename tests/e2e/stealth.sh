#!/usr/bin/env bash
# stealth: [obfuscation] stealth_mode on both ends (docs/protocol.md §12).
# The tunnel carries a ping and a TCP transfer to a host behind the server;
# in standard mode also across a rekey and a roaming move. A capture on the
# server's link must show no UDP payload of a forbidden size (64, 80, 92,
# 112, 148), no payload starting like a plain header, and nothing from the
# server before the client's genuine message 1 (tests/e2e/stealth_pcap.py).
# Maximum mode: the junk before message 1 is dropped and counted, and with
# cover_traffic_rate both ends send cover packets while the tunnel idles.
#
#   ┌──── cli ─────────────────────────┐      ┌──── srv ───────────────┐      ┌── inet ──────────┐
#   │ client -> 127.0.0.1:51821 relay ─┼──────┤ s0 198.51.100.1 :51820 ├──────┤ i0 203.0.113.2   │
#   │ ll0 10.8.0.2   c0 198.51.100.2/.3│ veth │ s1 203.0.113.1 NAT     │ veth │                  │
#   └──────────────────────────────────┘      └────────────────────────┘      └──────────────────┘
#
# The relay (tests/e2e/relay.c) only forwards; on SIGUSR2 it moves its
# upstream socket to the other address and a new port (the roaming move).
# Usage: stealth.sh BUILD_DIR [standard|maximum]   (default standard)
LL_STEALTH=${2:-${LL_STEALTH:-standard}}
LL_NAME=stealth_$LL_STEALTH
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB:-20}
PCAP_CHECK="$(dirname "$0")/stealth_pcap.py"

behind_server
addr cli c0 198.51.100.3/24

say "keys and configuration (stealth_mode $LL_STEALTH)"
add_user alice 10.8.0.2 fd00:8::2
SRV_EGRESS=s1
COVER=0
[ "$LL_STEALTH" = maximum ] && COVER=20000
SRV_EXTRA="[obfuscation]
enabled = true
stealth_mode = \"$LL_STEALTH\"
cover_traffic_rate = $COVER"
write_server_config
write_client_config alice 127.0.0.1:51821 '["203.0.113.0/24"]' "
[obfuscation]
stealth_mode = \"$LL_STEALTH\"
cover_traffic_rate = $COVER"
n srv "$LL_SERVER" --check-config -c "$LL_TMP/server.toml"

say "capture on the server's link"
command -v tcpdump >/dev/null || fail "tcpdump is missing (scripts/install-deps.sh installs it)"
# The server sends runs of datagrams as one GSO packet (UDP_SEGMENT) that a
# veth passes on whole; one segment at most makes the kernel split them
# before the capture sees them, as a censor on a real link would.
n srv ip link set dev s0 gso_max_segs 1
spawn tcpdump srv tcpdump -i s0 -U -n -s 2048 -w "$LL_TMP/stealth.pcap" udp port 51820
wait_for_log tcpdump 'listening on' 10

say "server, relay, client"
start_server
wait_for_log server 'stealth framing: '"$LL_STEALTH" 5
spawn relay cli "$LL_RELAY" --listen 127.0.0.1:51821 --to 198.51.100.1:51820 \
	--from 198.51.100.2,198.51.100.3
wait_for_log relay '^relay: ready' 5
start_client alice cli

say "ping and a $MB MiB transfer to the host behind the server"
ping_ok cli 10.8.0.1
ping_ok cli 203.0.113.2
make_data "$LL_TMP/data.bin" "$MB"
transfer_check cli inet receiver 203.0.113.2 5001 "$LL_TMP/data.bin"
transfer_check inet cli sender 203.0.113.2 5002 "$LL_TMP/data.bin"

if [ "$LL_STEALTH" = standard ]; then
	say "rekey: a new handshake (SIGUSR2), then the tunnel still works"
	from=$(log_lines client-alice)
	kill -USR2 "$(pid_of client-alice)"
	wait_for_log client-alice '^lostlove-client: connected: ' 15 "$from"
	ping_ok cli 203.0.113.2

	say "roaming: the client's outer address and port move"
	from=$(log_lines relay)
	kill -USR2 "$(pid_of relay)"
	wait_for_log relay 'upstream now' 5 "$from"
	ping_ok cli 203.0.113.2
	transfer_check cli inet receiver 203.0.113.2 5003 "$LL_TMP/data.bin"
	server_stats
	[[ $LL_STATS =~ roams\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
		fail "the server did not follow the move: $LL_STATS"
	[[ $LL_STATS =~ path_reverts\ 0 ]] || fail "the move was undone (probe unanswered): $LL_STATS"
fi

if [ "$LL_STEALTH" = maximum ]; then
	say "maximum: 2 s idle, cover traffic both ways"
	sleep 2
	server_stats
	[[ $LL_STATS =~ cover\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 4 ] ||
		fail "the server sent no cover traffic on the idle link: $LL_STATS"
	from=$(log_lines client-alice)
	kill -USR1 "$(pid_of client-alice)"
	wait_for_log client-alice 'stats: ' 5 "$from"
	stats=$(tail -n +$((from + 1)) "$(log_of client-alice)" | grep -m1 'stats: ')
	echo "$stats"
	[[ $stats =~ cover\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 4 ] ||
		fail "the client sent no cover traffic on the idle link: $stats"
	ping_ok cli 203.0.113.2
	say "maximum: the junk before message 1 was dropped and counted"
	[[ $LL_STATS =~ stealth_undecodable=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
		fail "no junk counted as stealth_undecodable: $LL_STATS"
fi

say "the capture: sizes, masking, nothing before message 1"
stop tcpdump INT
python3 "$PCAP_CHECK" "$LL_TMP/stealth.pcap" 198.51.100.1 51820 "$LL_STEALTH" ||
	fail "the capture shows a fingerprint (above)"
pass
