#!/usr/bin/env bash
# hostile: junk and floods from an attacker's address while a client uses the
# tunnel. The server must stay up, answer nothing to anything that does not
# prove knowledge of its public key (mac1), never send more bytes than it
# received (no amplification, counted for every attack), rate-limit a flood
# of valid initiations from one address (cookie replies for the unproven,
# drops for the proven budget), name in its fail2ban line only sources that
# proved their address, refuse a far-future timestamp without locking its
# user out (CVE-2021-46873), and keep the tunnel working, during and after.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐      ┌──── atk ─────────┐
#   │ ll0 10.8.0.2/24    │      │ ll0 10.8.0.1/24        │      │ udpjunk          │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │      │                  │
#   └────────────────────┘ veth │ s2 192.0.2.1/24        ├──────┤ a0 192.0.2.2/24  │
#                               │    server :51820       │ veth └──────────────────┘
#                               └────────────────────────┘
#
# udpjunk (tests/e2e/udpjunk.c) counts replies by message type. "mallory" is
# a real account whose keys the attacker holds (the worst case for the rate
# limiter); alice is the client whose tunnel must keep working.
source "$(dirname "$0")/lib.sh" "$@"

attack_setup
add_user eve 10.8.0.10 fd00:8::10
SRV_MAXCONN=2 # alice, and one more user
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
SERVER_PUB=$(key_of server pub)

say "server and client"
start_server
start_client alice cli
ping_ok cli 10.8.0.1
spawn ping-during cli ping -i 0.2 -w 170 10.8.0.1

# junk MODE COUNT RATE [udpjunk args...]: runs udpjunk from the attacker and
# sets REPLIES, TYPE2, TYPE3, SENT.
junk() {
	local mode=$1 count=$2 rate=$3 out
	shift 3
	pretty atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode "$mode" --count "$count" --rate "$rate" "$@"
	out=$(nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode "$mode" --count "$count" \
		--rate "$rate" --wait-ms 1500 --max-seconds 60 "$@")
	echo "$out"
	SENT=$(sed -E 's/.* sent=([0-9]+).*/\1/' <<<"$out")
	REPLIES=$(sed -E 's/.* replies=([0-9]+).*/\1/' <<<"$out")
	TYPE2=$(sed -E 's/.* type2=([0-9]+).*/\1/' <<<"$out")
	TYPE3=$(sed -E 's/.* type3=([0-9]+).*/\1/' <<<"$out")
	local sent_b reply_b
	sent_b=$(sed -E 's/.* sent_bytes=([0-9]+).*/\1/' <<<"$out")
	reply_b=$(sed -E 's/.* reply_bytes=([0-9]+).*/\1/' <<<"$out")
	[ "$reply_b" -le "$sent_b" ] ||
		fail "amplification: the server sent $reply_b bytes in answer to $sent_b ($mode)"
	check_daemons
}

no_reply() {
	[ "$REPLIES" = 0 ] || fail "$1: the server answered $REPLIES of $SENT unauthenticated datagrams"
}

say "max_connections holds within one batch of handshakes"
# two new users' initiations in one burst: one recvmmsg, one admission
# batch; the check at adoption lets only one in (alice holds the other slot)
junk init 2 100000 --seed 13 --server-key "$SERVER_PUB" \
	--client-key "$LL_TMP/mallory.key" --psk "$LL_TMP/mallory.psk" \
	--client-key "$LL_TMP/eve.key" --psk "$LL_TMP/eve.psk"
[ "$TYPE2" = 1 ] || fail "max_connections = 2, alice connected: $TYPE2 of 2 new users were answered"
server_stats
[[ $LL_STATS =~ refused_full\ [1-9] ]] || fail "no handshake counted as refused at max_connections"

say "random datagrams, truncated and oversized messages: no answer"
junk random 3000 1500 --seed 1
no_reply "random datagrams"
junk truncated 1000 500 --seed 2 --client-key "$LL_TMP/mallory.key" --psk "$LL_TMP/mallory.psk" \
	--server-key "$SERVER_PUB"
no_reply "truncated messages"
junk truncated 1000 500 --seed 3
no_reply "truncated headers"
junk oversized 300 150 --seed 4
no_reply "oversized datagrams"

say "initiations with a wrong server key (bad mac1): no answer"
junk init 300 150 --seed 5
no_reply "initiations keyed for another server"

say "initiations from an unknown user: no handshake response; named once proven"
from=$(log_lines server)
junk init 10 5 --seed 6 --server-key "$SERVER_PUB"
[ "$TYPE2" = 0 ] || fail "the server sent $TYPE2 handshake responses to an unknown user"
[ "$REPLIES" = "$TYPE3" ] || fail "unexpected reply types to an unknown user's initiations"
[ "$TYPE3" -ge 1 ] || fail "after a failure from an unproven source, no cookie reply asked it to prove its address"
unproven_lines=$(tail -n +$((from + 1)) "$(log_of server)")
! grep -q 'auth failure from' <<<"$unproven_lines" ||
	fail "the server named a source that never proved its address: $(grep -m1 'auth failure' <<<"$unproven_lines")"
junk init 10 5 --seed 6 --server-key "$SERVER_PUB" --answer-cookies
[ "$TYPE2" = 0 ] || fail "the server sent $TYPE2 handshake responses to an unknown user"
try_until 5 log_has "$(log_of server)" 'auth failure from 192\.0\.2\.2 port [0-9]+: unknown-peer' "$from" ||
	fail "no 'auth failure from 192.0.2.2 port N: unknown-peer' in the server log; it logged:
$(tail -n +$((from + 1)) "$(log_of server)" | tail -n 5)"
lines=$(tail -n +$((from + 1)) "$(log_of server)") # (grep -m would SIGPIPE tail)
grep -m 3 'auth failure' <<<"$lines"

say "a far-future timestamp is refused and does not lock the user out"
from=$(log_lines server)
junk init 3 3 --seed 7 --server-key "$SERVER_PUB" --client-key "$LL_TMP/alice.key" \
	--psk "$LL_TMP/alice.psk" --time-offset 3600 --answer-cookies
[ "$TYPE2" = 0 ] || fail "the server answered an initiation timestamped one hour ahead"
try_until 5 log_has "$(log_of server)" 'auth failure from 192\.0\.2\.2 port [0-9]+: timestamp-out-of-window' "$from" ||
	fail "no 'timestamp-out-of-window' auth failure for a timestamp one hour ahead; the server logged:
$(tail -n +$((from + 1)) "$(log_of server)" | tail -n 5)"

say "a flood of valid initiations from one address is rate-limited"
from=$(log_lines server)
junk init 1500 500 --seed 8 --server-key "$SERVER_PUB" --client-key "$LL_TMP/mallory.key" \
	--psk "$LL_TMP/mallory.psk"
echo "flood: $SENT initiations in ~3 s, $TYPE2 handshake responses, $TYPE3 cookie replies" \
	"(limit $SRV_HS_PER_IP/s per IP)"
# ≤ 3 s at 20/s plus a burst: far below what was sent.
[ "$TYPE2" -le $((SENT / 10)) ] ||
	fail "the server answered $TYPE2 of $SENT initiations from one address: not rate-limited"
[ "$((TYPE2 + TYPE3))" -ge 1 ] ||
	fail "the server answered none of $SENT valid initiations (expected some responses or cookie replies)"
server_stats
# an unproven source over its budget gets cookie replies, themselves limited
[[ $LL_STATS =~ cookie_limit=[1-9] ]] ||
	fail "the server's counters show no cookie-reply limit after a flood of $SENT initiations from one address"

say "the same flood answering cookies, from 16 ports: the proven budget limits it"
junk init 1500 500 --seed 9 --server-key "$SERVER_PUB" --client-key "$LL_TMP/mallory.key" \
	--psk "$LL_TMP/mallory.psk" --answer-cookies --ports 16
echo "flood: $SENT initiations, $TYPE2 handshake responses, $TYPE3 cookie replies"
[ "$TYPE2" -le $((SENT / 10)) ] ||
	fail "the server answered $TYPE2 of $SENT initiations from one address: not rate-limited"
server_stats
[[ $LL_STATS =~ ratelimit=[1-9] ]] ||
	fail "the server's counters show no ratelimit drops after a flood of proven initiations"

attack_aftermath attack
pass
