#!/usr/bin/env bash
# failover: transport = "auto" moves one session between UDP and the TLS
# front without a new handshake, under a TCP connection that must survive.
#
#   cli (198.51.100.2) ── srv (198.51.100.1, UDP + TCP 51820) ── inet (203.0.113.2)
#
# A long upload runs from cli to inet through the tunnel (on UDP). Then an
# nftables rule in the client's namespace drops all UDP to and from the
# server: the client must be on TLS within 5 s (measured from the rule),
# and the upload goes on. The rule is removed: the client must come back
# to UDP. The upload's bytes must arrive intact (one TCP connection
# throughout) and the server must have done exactly one handshake.
# Last, a client started while UDP is dropped makes its handshake over
# TLS (after one unanswered message 1 by UDP) and moves to UDP once it
# works.
#
# Usage: failover.sh BUILD_DIR [off|standard|maximum]: the stealth_mode of
# both ends (default off); with stealth the frames carry the session's
# stealth framing as its datagrams do (docs/protocol.md §11.4).
LL_STEALTH=${2:-${LL_STEALTH:-off}}
LL_NAME=failover
[ "$LL_STEALTH" = off ] || LL_NAME=failover_$LL_STEALTH
source "$(dirname "$0")/lib.sh" "$@"

command -v openssl >/dev/null || fail "openssl is needed (scripts/install-deps.sh)"

behind_server

say "certificate and configuration"
front_cert
add_user alice 10.8.0.2 fd00:8::2
SRV_PROTOCOL=both
SRV_EGRESS=s1
if [ "$LL_STEALTH" != off ]; then
	SRV_EXTRA="[obfuscation]
enabled = true
stealth_mode = \"$LL_STEALTH\""
fi
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24"]' \
	"transport = \"auto\"
sni = \"front.test\"

[obfuscation]
stealth_mode = \"$LL_STEALTH\""
start_server
start_client alice cli
ping_ok cli 203.0.113.2 3
log_has "$(log_of client-alice)" 'transport: tls' 0 && fail "the client used TLS while UDP worked"

say "a long upload through the tunnel (on UDP)"
stream_start up cli inet 203.0.113.2 5001 4096 150
wait_until 20 stream_sent_ge up 16

# drop_udp HOOKS: a table dropping the server's UDP in the client's
# namespace; "in": silently, as a censor on the path does (the client's
# datagrams still leave, nothing comes back); "in out": also what the
# client sends (refused at once: the send fails with EPERM).
drop_udp() {
	n cli nft add table inet lltest
	n cli nft add chain inet lltest in '{ type filter hook input priority 0; }'
	n cli nft add rule inet lltest in ip saddr 198.51.100.1 udp sport 51820 counter drop
	if [ "$1" = "in out" ]; then
		n cli nft add chain inet lltest out '{ type filter hook output priority 0; }'
		n cli nft add rule inet lltest out ip daddr 198.51.100.1 udp dport 51820 counter drop
	fi
}

# cycle NAME HOOKS: UDP dropped, the client on TLS within 5 s with the
# upload going on; UDP back, the client on UDP within 10 s.
cycle() {
	local from t mib
	say "$1: UDP dropped in the client's namespace ($2)"
	from=$(log_lines client-alice)
	t=$(now_us)
	drop_udp "$2"
	wait_for_log client-alice '^lostlove-client: transport: tls' 5 "$from"
	LL_TO_TLS=$(since "$t")
	mib=$(stream_sent_mib up)
	wait_until 20 stream_sent_ge up $((mib + 16))
	echo "   the upload goes on over TLS: $mib -> $(stream_sent_mib up) MiB"
	say "$1: UDP back"
	from=$(log_lines client-alice)
	t=$(now_us)
	n cli nft delete table inet lltest
	wait_for_log client-alice '^lostlove-client: transport: udp' 10 "$from"
	LL_TO_UDP=$(since "$t")
	mib=$(stream_sent_mib up)
	wait_until 20 stream_sent_ge up $((mib + 16))
	echo "   back on UDP, the upload goes on: $mib -> $(stream_sent_mib up) MiB"
}

cycle silent "in"
silent="UDP silently dropped -> TLS after ${LL_TO_TLS} s, back -> UDP after ${LL_TO_UDP} s"
cycle refused "in out"
refused="UDP refused locally -> TLS after ${LL_TO_TLS} s, back -> UDP after ${LL_TO_UDP} s"

say "the upload arrived intact over one TCP connection"
stream_finish up
server_stats
grep -Eq 'handshakes ok 1 ' <<<"$LL_STATS" ||
	fail "the session changed transport with a new handshake: $LL_STATS"
grep -Eq 'streams:.* adopted=2( |;|$)' <<<"$LL_STATS" ||
	fail "the server should have taken exactly two streams (one per failover): $LL_STATS"

say "auto with UDP silently dropped from the start: the handshake goes by TLS"
stop_clean client-alice
drop_udp "in"
t=$(now_us)
start_client alice cli
hs_tls=$(since "$t")
wait_for_log client-alice 'transport: tls \(the handshake\)' 2
ping_ok cli 203.0.113.2 3
from=$(log_lines client-alice)
n cli nft delete table inet lltest
wait_for_log client-alice '^lostlove-client: transport: udp' 10 "$from"
ping_ok cli 203.0.113.2 3
echo "summary (stealth $LL_STEALTH): $silent; $refused (limits 5 s and 10 s); $LL_STREAM_MIB MiB intact over one TCP connection, one handshake; with UDP blocked from the start connected over TLS after $hs_tls s (message 1 by UDP once, 5 s)"
pass
