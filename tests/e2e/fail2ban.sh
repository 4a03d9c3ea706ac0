#!/usr/bin/env bash
# fail2ban: the shipped filter (contrib/fail2ban/filter.d/lostlove.conf),
# installed beside Debian's own fail2ban configuration, run by
# fail2ban-regex over the lines the real server logged in this run
# (a policy refusal, user-expired, over-quota or device-limit, is not matched):
#   - a real client whose key the server does not know (unknown-peer), from
#     the client's address;
#   - initiations for an unknown user, from the attacker's IPv4 address,
#     and initiations an hour ahead (timestamp-out-of-window) from its IPv6
#     address, both answering the cookie replies as a real client does;
#   - 300 initiations without a valid mac1 (made for another server): no
#     line at all (they prove nothing about their source);
#   - a normal client's connection and everything else the server says.
# Every auth-failure line carries the source address and the reason; the
# filter matches exactly those lines and captures exactly their
# addresses, the same in syslog form (the file backend behind rsyslog);
# no other line matches, nor lines that embed the phrase elsewhere; and
# fail2ban reads the shipped jail. Then fail2ban-server itself runs the
# shipped jail and action (file backend on a second server's log, the
# test's port): after 3 failures the attacker's address is in its nftables
# set and the attacker's initiations, answered before, get nothing; a
# user still connects; stopping fail2ban removes its table.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐      ┌──── atk ──────────────┐
#   │ alice, then "eve"  │      │ :51820 on ::           │      │ udpjunk               │
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │      │                       │
#   └────────────────────┘ veth │ s2 192.0.2.1/24        ├──────┤ a0 192.0.2.2/24       │
#                               │    2001:db8:2::1/64    │ veth │    2001:db8:2::2/64   │
#                               └────────────────────────┘      └───────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

command -v fail2ban-regex >/dev/null ||
	fail "fail2ban-regex is missing (Debian package fail2ban; scripts/install-deps.sh)"
[ -f /etc/fail2ban/filter.d/common.conf ] ||
	fail "/etc/fail2ban/filter.d/common.conf is missing (Debian package fail2ban)"
CONTRIB=$(realpath "$(dirname "$0")/../../contrib/fail2ban")

attack_setup
addr srv s2 2001:db8:2::1/64
addr atk a0 2001:db8:2::2/64
SRV_BIND="::"
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
gen_keys eve # a key the server does not know
write_client_config eve 198.51.100.1:51820 '[]'
SERVER_PUB=$(key_of server pub)

say "a normal connection"
start_server
start_client alice cli
ping_ok cli 10.8.0.1 3
stop_clean client-alice

say "a real client with a key the server does not know"
spawn client-eve cli "$LL_CLIENT" -c "$LL_TMP/eve.toml"
try_until 20 log_has "$(log_of server)" 'auth failure from 198\.51\.100\.2 port [0-9]+: unknown-peer' ||
	fail "no auth failure logged for eve's unknown key in $LL_WAITED s; the server logged:
$(tail -n 5 "$(log_of server)")"
stop client-eve

junk() {
	pretty atk "$LL_UDPJUNK" "$@"
	nq atk "$LL_UDPJUNK" --wait-ms 400 --max-seconds 20 "$@"
}

say "the attacker: no valid mac1, then an unknown user, then a timestamp an hour ahead over IPv6"
before=$(log_count server 'auth failure')
junk --to 192.0.2.1:51820 --mode init --count 300 --rate 1000 --seed 5
[ "$(log_count server 'auth failure')" = "$before" ] ||
	fail "initiations without a valid mac1 were logged as auth failures"
junk --to 192.0.2.1:51820 --mode init --count 4 --rate 20 --seed 6 --server-key "$SERVER_PUB" \
	--answer-cookies
junk --to '[2001:db8:2::1]:51820' --mode init --count 4 --rate 20 --seed 7 \
	--server-key "$SERVER_PUB" --client-key "$LL_TMP/mallory.key" --psk "$LL_TMP/mallory.psk" \
	--time-offset 3600 --answer-cookies
check_daemons
stop_clean server

LOG=$(log_of server)
say "the server's lines: source address and reason in each"
grep 'auth failure' "$LOG" | sort | uniq -c | sort -rn | head
N=$(log_count server 'auth failure')
bad=$(grep 'auth failure' "$LOG" |
	grep -Evx 'lostlove: auth failure from [0-9a-f.:]+ port [0-9]+: (unknown-peer|timestamp-out-of-window)' || true)
[ -z "$bad" ] || fail "auth failure lines not in the documented form: $bad"
want_hosts=$(printf '%s\n' 198.51.100.2 192.0.2.2 2001:db8:2::2 | sort)
got_hosts=$(sed -nE 's/^lostlove: auth failure from (\S+) port .*/\1/p' "$LOG" | sort -u)
[ "$got_hosts" = "$want_hosts" ] || fail "the server named $(echo $got_hosts), expected $(echo $want_hosts)"
grep -q '^lostlove: auth failure from 2001:db8:2::2 port [0-9]*: timestamp-out-of-window$' "$LOG" ||
	fail "no timestamp-out-of-window line for the IPv6 attacker"

# fail2ban's configuration with the shipped filter and jail installed
F2B="$LL_TMP/fail2ban"
run cp -r /etc/fail2ban "$F2B"
run cp "$CONTRIB/filter.d/lostlove.conf" "$F2B/filter.d/"
run cp "$CONTRIB/jail.d/lostlove.conf" "$F2B/jail.d/"

# regex FILE: fail2ban-regex with the installed filter; sets MATCHED, MISSED
regex() {
	local out
	pretty + fail2ban-regex -c fail2ban "$(basename "$1")" lostlove
	out=$(fail2ban-regex -c "$F2B" "$1" lostlove) || fail "fail2ban-regex failed on $1: $out"
	MATCHED=$(sed -nE 's/^Lines: [0-9]+ lines, [0-9]+ ignored, ([0-9]+) matched, ([0-9]+) missed.*/\1/p' <<<"$out")
	MISSED=$(sed -nE 's/^Lines: [0-9]+ lines, [0-9]+ ignored, ([0-9]+) matched, ([0-9]+) missed.*/\2/p' <<<"$out")
	[ -n "$MATCHED" ] || fail "no result line from fail2ban-regex: $out"
	echo "   $(grep '^Lines:' <<<"$out")"
}

# hosts FILE: the addresses the filter captures (<HOST>), one per match
hosts() {
	fail2ban-regex -c "$F2B" --out ip "$1" lostlove
}

say "fail2ban-regex over the server's log: exactly the $N auth-failure lines, their addresses"
regex "$LOG"
[ "$MATCHED" = "$N" ] || fail "the filter matched $MATCHED lines, the server logged $N auth failures"
[ "$MISSED" = "$(($(wc -l <"$LOG") - N))" ] || fail "unexpected missed count $MISSED"
captured=$(hosts "$LOG" | sort)
logged=$(sed -nE 's/^lostlove: auth failure from (\S+) port .*/\1/p' "$LOG" | sort)
echo "$captured" | uniq -c | sed 's/^/   captured /'
[ "$captured" = "$logged" ] || fail "captured hosts differ from the logged ones:
captured: $(echo $captured)
logged:   $(echo $logged)"

say "the same lines as rsyslog writes them (the file backend)"
awk '{print "Dec  3 18:00:00 vpn lostlove-server[4242]: " $0}' "$LOG" >"$LL_TMP/syslog"
regex "$LL_TMP/syslog"
[ "$MATCHED" = "$N" ] || fail "in syslog form the filter matched $MATCHED lines of $N"
[ "$(hosts "$LL_TMP/syslog" | sort)" = "$logged" ] || fail "in syslog form other hosts were captured"

say "no other line matches"
grep -hv 'auth failure from' "$LOG" "$(log_of client-alice)" "$(log_of client-eve)" >"$LL_TMP/normal.log"
echo "   $(wc -l <"$LL_TMP/normal.log") normal lines of the server and the clients"
[ "$(wc -l <"$LL_TMP/normal.log")" -ge 10 ] || fail "too few normal lines to mean anything"
regex "$LL_TMP/normal.log"
[ "$MATCHED" = 0 ] || fail "the filter matched $MATCHED normal lines: $(hosts "$LL_TMP/normal.log")"
# made-up lines that carry the phrase where the server's line does not:
# inside another message, with more after the reason, a non-address, a
# reason of two words
cat >"$LL_TMP/crafted.log" <<-'EOF'
	lostlove-server: front: sni "lostlove: auth failure from 203.0.113.66 port 1: unknown-peer"
	lostlove-server: user "x lostlove: auth failure from 203.0.113.66 port 1: bad-mac" removed
	lostlove: auth failure from 203.0.113.66 port 1: unknown-peer and more
	lostlove: auth failure from 203.0.113.66 port 1: unknown peer
	lostlove: auth failure from ? port 0: unknown-peer
	lostlove: auth failure from 203.0.113.66: unknown-peer
	Dec  3 18:00:00 vpn sshd[1]: lostlove: auth failure from 203.0.113.66 port 1: unknown-peer
EOF
regex "$LL_TMP/crafted.log"
[ "$MATCHED" = 0 ] || fail "the filter matched $MATCHED crafted lines: $(hosts "$LL_TMP/crafted.log")"

say "policy refusals of a known user (expired, over quota, a device too many) are not banned"
# the server's exact line for them (server/accounting.c; limits_quota.sh
# sees it from the real server); beside them attacker lines, which must
# still match: the filter is not simply broken
cat >"$LL_TMP/policy.log" <<-'EOF'
	lostlove: auth failure from 203.0.113.70 port 40000: user-expired
	lostlove: auth failure from 203.0.113.71 port 40001: over-quota
	lostlove: auth failure from 2001:db8::72 port 40002: over-quota
	lostlove: auth failure from 203.0.113.75 port 40005: device-limit
	lostlove: auth failure from 203.0.113.73 port 40003: unknown-peer
	lostlove: auth failure from 203.0.113.74 port 40004: over-quota-x
EOF
regex "$LL_TMP/policy.log"
[ "$MATCHED" = 2 ] || fail "over the policy lines the filter matched $MATCHED, not the 2 attacker lines"
[ "$(hosts "$LL_TMP/policy.log" | sort | tr '\n' ' ')" = "203.0.113.73 203.0.113.74 " ] ||
	fail "the filter captured $(hosts "$LL_TMP/policy.log" | tr '\n' ' '), not only 203.0.113.73 and .74"

say "fail2ban reads the shipped jail"
jail=$(fail2ban-client -c "$F2B" -d 2>&1) || fail "fail2ban-client -d: $jail"
grep -F "['add', 'lostlove', 'systemd']" <<<"$jail" || fail "no jail 'lostlove' on the systemd backend"
grep -F "['set', 'lostlove', 'addjournalmatch', '_SYSTEMD_UNIT=lostlove-server.service']" <<<"$jail" ||
	fail "the jail does not read lostlove-server.service's journal"
grep -F "['set', 'lostlove', 'maxretry', 5]" <<<"$jail"
grep -qF "['blocktype', 'drop']" <<<"$jail" || fail "the jail's action does not drop silently"
say "fail2ban itself, with the shipped jail and action, bans the attacker from the server's port"
# the jail as shipped, pointed at this run: the file backend (no journald
# here) on a new server's log, whose lines carry no date; the test port;
# the stock sshd jail off; fail2ban's own files in the run's directory
rm -f "$F2B/jail.d/defaults-debian.conf"
cat >"$F2B/jail.d/zz-e2e.local" <<-EOF
	[lostlove]
	backend = polling
	logpath = $LL_TMP/server2.log
	datepattern = {NONE}
	port = 51820
	maxretry = 3
EOF
cat >"$F2B/fail2ban.local" <<-EOF
	[Definition]
	dbfile = :memory:
	logtarget = $LL_TMP/fail2ban-server.log
EOF
SOCK="$LL_TMP/f2b.sock"
start_server server2
spawn f2b srv fail2ban-server -f -x -c "$F2B" -s "$SOCK" -p "$LL_TMP/f2b.pid" --loglevel INFO
f2b_status() { nq srv fail2ban-client -c "$F2B" -s "$SOCK" status lostlove 2>/dev/null; }
try_until 15 f2b_status ||
	fail "fail2ban did not start the jail: $(tail -n 5 "$LL_TMP/fail2ban-server.log" "$(log_of f2b)")"
# before the ban the attacker is answered (cookie replies)
out=$(junk --to 192.0.2.1:51820 --mode init --count 2 --rate 20 --seed 8 --server-key "$SERVER_PUB" \
	--answer-cookies)
echo "$out"
[[ $out =~ \ type3=[1-9] ]] || fail "before any ban the attacker got no cookie reply: $out"
for seed in 9 10; do
	junk --to 192.0.2.1:51820 --mode init --count 2 --rate 20 --seed $seed \
		--server-key "$SERVER_PUB" --answer-cookies
done
banned() { f2b_status | grep -q 'Banned IP list:.*192\.0\.2\.2'; }
try_until 15 banned || fail "fail2ban did not ban 192.0.2.2 after $(log_count server2 'auth failure from 192') failures:
$(f2b_status)
$(grep -i lostlove "$LL_TMP/fail2ban-server.log" | tail -n 5)"
f2b_status
n srv nft list table inet f2b-table
out=$(junk --to 192.0.2.1:51820 --mode init --count 3 --rate 20 --seed 11 --server-key "$SERVER_PUB" \
	--answer-cookies)
echo "$out"
[[ $out =~ \ replies=0\  ]] || fail "banned, the attacker still got answers: $out"
# the ban is the attacker's address on the server's port only: alice connects
start_client alice cli
ping_ok cli 10.8.0.1 3
n srv fail2ban-client -c "$F2B" -s "$SOCK" stop
wait_pid "$(pid_of f2b)" 10 || fail "fail2ban-server did not stop"
unset "LL_PIDS[f2b]"
! nq srv nft list table inet f2b-table >/dev/null 2>&1 || fail "fail2ban left its nftables table"
pass
