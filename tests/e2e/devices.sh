#!/usr/bin/env bash
# devices: several devices per user, each its own key and inner address,
# concurrent sessions capped by device_limit (docs/dataplane.md, "Limits"),
# on the real daemons, everything made through the admin API:
#   - API: duplicate device name / another's address refused (409 naming
#     who), a read-only token lists but cannot add, delete or export, every
#     change audited;
#   - alice (device_limit 2) with her own key (device 0) and two devices,
#     phone and laptop: device 0 and phone connect and ping at once;
#   - laptop, the third, is refused while both are live: no message 2
#     (no packet from the server reaches its namespace), the server counts
#     it (stats "device_limit"), logs it, and the client never connects;
#   - with the limit reached, the live devices' rekeys (every 5 s) go on;
#   - device 0 disconnects: laptop now connects, with its own address;
#     sessions name their device, a kick by session id ends one device's;
#   - attacker: laptop (alice's key) sends from bob's inner address: dropped
#     (spoofed), bob's address is not reachable through it;
#   - DELETE of the phone device: its traffic stops within 1 s (ping's
#     own timestamps), its client is told;
#   - quota shared: alice's data_limit is 300 kB; one device's 100 pings
#     of 1000 bytes (206 kB both ways) stay under it, the other device's
#     100 more cross it: alice is cut off, both devices' sessions end;
#     bob (no limits) is untouched.
#
#   cli0 198.51.100.2 ─ s0 ┐
#   cli1 192.0.2.2    ─ s1 ├ srv (API on a Unix socket)
#   cli2 203.0.113.2  ─ s2 ┘
#   cli3 172.16.3.2   ─ s3 ┘ (bob)
source "$(dirname "$0")/lib.sh" "$@"

SOCK="$LL_TMP/admin.sock"

say "topology"
ns_add srv
for i in 0 1 2 3; do ns_add "cli$i"; done
veth cli0 c0 srv s0
veth cli1 c0 srv s1
veth cli2 c0 srv s2
veth cli3 c0 srv s3
addr cli0 c0 198.51.100.2/24
addr srv s0 198.51.100.1/24
addr cli1 c0 192.0.2.2/24
addr srv s1 192.0.2.1/24
addr cli2 c0 203.0.113.2/24
addr srv s2 203.0.113.1/24
addr cli3 c0 172.16.3.2/24
addr srv s3 172.16.3.1/24

say "server: no users.toml users, the API on a Unix socket, a rekey every 5 s"
SRV_ROT_INT=5
SRV_EXTRA="[api]
socket = \"$SOCK\"
listen = \"127.0.0.1:8443\"
endpoint = \"198.51.100.1\""
write_server_config
start_server

api() {
	local method=$1 path=$2 body=${3-}
	local args=(-sS -X "$method" -o "$LL_TMP/api.out" -w '%{http_code}' --unix-socket "$SOCK")
	[ -n "$body" ] && args+=(-H "Content-Type: application/json" --data-binary "$body")
	API_STATUS=$(curl "${args[@]}" "http://localhost$path") || fail "curl $method $path failed"
	API_BODY=$(cat "$LL_TMP/api.out")
	printf '[api] %s %s -> %s %.300s\n' "$method" "$path" "$API_STATUS" "$API_BODY"
}
expect() { [ "$API_STATUS" = "$1" ] || fail "expected HTTP $1, got $API_STATUS: $API_BODY"; }
jget() { jq -r "$1" <<<"$API_BODY"; }

# client_config NAME API_PATH SERVER: the exported config, routed to the
# server's tunnel network only, reaching the server at SERVER.
client_config() {
	api GET "$2?format=toml"
	expect 200
	cp "$LL_TMP/api.out" "$LL_TMP/$1.toml"
	chmod 600 "$LL_TMP/$1.toml"
	sed -i -e 's|^routes = .*|routes = ["10.8.0.0/24"]\ndns = false|' \
		-e "s|^server = .*|server = \"$3:51820\"|" "$LL_TMP/$1.toml"
}

# device_limit_refusals: the server's count (SIGUSR1's stats line).
device_limit_refusals() {
	server_stats >/dev/null
	grep -Eo 'device_limit [0-9]+' <<<"$LL_STATS" | awk '{print $2}'
}

say "alice (device_limit 2, data_limit 300 kB), her phone and laptop; bob"
api POST /v1/users '{"name":"alice","device_limit":2,"data_limit":300000}'
expect 201
[ "$(jget .user.ipv4)" = 10.8.0.2 ] || fail "alice got $(jget .user.ipv4)"
api POST /v1/users '{"name":"bob"}'
expect 201
BOB4=$(jget .user.ipv4)
api POST /v1/users/alice/devices '{"name":"phone"}'
expect 201
PHONE4=$(jget .device.ipv4)
[ "$(jget .device.config_available)" = true ] || fail "no config for phone: $API_BODY"
api POST /v1/users/alice/devices '{"name":"laptop"}'
expect 201
LAPTOP4=$(jget .device.ipv4)
echo "   addresses: alice 10.8.0.2, bob $BOB4, phone $PHONE4, laptop $LAPTOP4"
[ "$(printf '%s\n' 10.8.0.2 "$BOB4" "$PHONE4" "$LAPTOP4" | sort -u | wc -l)" = 4 ] ||
	fail "the pool handed out an address twice"
api POST /v1/users/alice/devices '{"name":"phone"}'
expect 409
api POST /v1/users/bob/devices "{\"name\":\"x\",\"ipv4\":\"$PHONE4\"}"
expect 409
grep -q "device 'phone' of user 'alice'" <<<"$API_BODY" || fail "the conflict names nobody: $API_BODY"
api GET /v1/users/alice/devices
expect 200
[ "$(jget '.devices | length')" = 2 ] || fail "alice should list 2 devices"
[ "$(jget .device_limit)" = 2 ] || fail "alice's device_limit: $API_BODY"
say "lostlove-admin: add-device, list-devices, show-device, remove-device; bad input"
export LOSTLOVE_ADMIN_SOCKET="$SOCK"
DB=$(dirname "$LL_TMP/server.key")/lostlove.db
dump() { sqlite3 "file:$DB?mode=ro" .dump | grep -v '^INSERT INTO audit'; }
adm() {
	pretty + lostlove-admin "$@"
	ADM_OUT=$("$LL_ADMIN" "$@" 2>"$LL_TMP/adm.err") ||
		fail "lostlove-admin $* failed: $(cat "$LL_TMP/adm.err")"
	[ ! -s "$LL_TMP/adm.err" ] || fail "lostlove-admin $* wrote to stderr: $(cat "$LL_TMP/adm.err")"
}
bad() {
	local before after st=0
	before=$(dump)
	LL_NOTE="(must fail)" pretty + lostlove-admin "$@"
	"$LL_ADMIN" "$@" >"$LL_TMP/adm.out" 2>"$LL_TMP/adm.err" || st=$?
	[ "$st" = 1 ] || fail "lostlove-admin $* exited $st, not 1"
	[ "$(wc -l <"$LL_TMP/adm.err")" = 1 ] || fail "lostlove-admin $*: not one line: $(cat "$LL_TMP/adm.err")"
	grep -q '^lostlove-admin: ' "$LL_TMP/adm.err" || fail "unprefixed error: $(cat "$LL_TMP/adm.err")"
	echo "  -> $(cat "$LL_TMP/adm.err")"
	after=$(dump)
	[ "$before" = "$after" ] || fail "lostlove-admin $* changed the store"
}
adm add-device bob tablet
grep -q '^\[client\]' <<<"$ADM_OUT" || fail "add-device printed no config"
grep -q '^lostlove://' <<<"$ADM_OUT" || fail "add-device printed no URI"
grep -q '▀\|▄\|█' <<<"$ADM_OUT" || fail "add-device printed no QR code"
adm --json show-device bob tablet
jq -e '.user == "bob" and .device == "tablet" and (.uri | startswith("lostlove://"))
	and (.config | contains("private_key"))' <<<"$ADM_OUT" >/dev/null ||
	fail "show-device --json: $ADM_OUT"
adm --json add-device bob
jq -e '.device.name == "device1" and .device.config_available' <<<"$ADM_OUT" >/dev/null ||
	fail "add-device without a name: $ADM_OUT"
adm list-devices bob
grep -q '^tablet ' <<<"$ADM_OUT" && grep -q '^device1 ' <<<"$ADM_OUT" ||
	fail "list-devices: $ADM_OUT"
adm --json list-devices bob
[ "$(jq '.devices | length' <<<"$ADM_OUT")" = 2 ] || fail "list-devices --json: $ADM_OUT"
# a device's IPv6 address is taken for a new user too
api POST /v1/users/bob/devices '{"name":"v6","ipv4":"10.8.0.30","ipv6":"fd00:8::1f"}'
expect 201
api POST /v1/users '{"name":"carol","ipv4":"10.8.0.31"}'
expect 201
[ "$(jget .user.ipv6)" != fd00:8::1f ] || fail "carol got the device's IPv6 address"
api DELETE /v1/users/carol
expect 200
adm remove-device bob v6
bad add-device bob tablet
grep -q "has a device 'tablet'" "$LL_TMP/adm.err" || fail "the duplicate is not named"
bad add-device nobody
bad add-device bob x --public-key notakey
bad remove-device bob nosuch
bad show-device bob nosuch
bad list-devices
bad set-limits bob --device-limit 1025
adm set-limits bob --device-limit 1024
adm remove-device bob tablet
adm remove-device bob device1
adm --json list-devices bob
[ "$(jq '.devices | length' <<<"$ADM_OUT")" = 0 ] || fail "bob's devices are not gone: $ADM_OUT"

say "a read-only token lists devices, cannot add, delete or export one"
api POST /v1/tokens '{"sub":"dash","role":"read-only"}'
expect 201
RO=$(jget .token)
ro() {
	API_STATUS=$(nq srv curl -sS -X "$1" -o "$LL_TMP/api.out" -w '%{http_code}' \
		-H "Authorization: Bearer $RO" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "http://127.0.0.1:8443$2") || fail "curl $1 $2 failed"
	API_BODY=$(cat "$LL_TMP/api.out")
	printf '[ro] %s %s -> %s %.200s\n' "$1" "$2" "$API_STATUS" "$API_BODY"
}
ro GET /v1/users/alice/devices
expect 200
ro GET /v1/users/alice/devices/phone/config
expect 403
ro POST /v1/users/alice/devices '{"name":"sneaky"}'
expect 403
ro DELETE /v1/users/alice/devices/phone
expect 403
api GET /v1/users/alice/devices
[ "$(jget '.devices | length')" = 2 ] || fail "a read-only token changed alice's devices"

client_config alice /v1/users/alice/config 198.51.100.1
client_config phone /v1/users/alice/devices/phone/config 192.0.2.1
client_config laptop /v1/users/alice/devices/laptop/config 203.0.113.1
client_config bob /v1/users/bob/config 172.16.3.1

say "device 0 and phone connect and ping at once"
start_client alice cli0
start_client phone cli1
log_has "$(log_of client-phone)" "connected: ${PHONE4//./\\.}/" ||
	fail "phone did not get its own address $PHONE4"
ping_ok cli0 10.8.0.1 20 &
p0=$!
ping_ok cli1 10.8.0.1 20
wait "$p0" || fail "device 0's ping failed while the phone's ran"

say "the third device is refused: no answer, counted, never connected"
before=$(device_limit_refusals)
command -v tcpdump >/dev/null || fail "tcpdump is needed (scripts/install-deps.sh)"
(nq cli2 timeout 8 tcpdump -n -i c0 -w "$LL_TMP/laptop.pcap" udp 2>/dev/null || true) &
capture=$!
sleep 0.5
spawn client-laptop cli2 "$LL_CLIENT" -c "$LL_TMP/laptop.toml"
refused_more() { [ "$(device_limit_refusals)" -gt "$before" ]; }
try_until 10 refused_more || fail "the server counted no device_limit refusal in $LL_WAITED s"
wait "$capture" || true
after=$(device_limit_refusals)
echo "   device_limit refusals: $before -> $after"
[ "$after" -gt "$before" ] || fail "no device_limit refusal counted"
[ -s "$LL_TMP/laptop.pcap" ] || fail "tcpdump wrote no capture"
sent=$(tcpdump -n -r "$LL_TMP/laptop.pcap" 'src 203.0.113.2' 2>/dev/null | wc -l)
got=$(tcpdump -n -r "$LL_TMP/laptop.pcap" 'src 203.0.113.1' 2>/dev/null | wc -l)
echo "   UDP datagrams: laptop -> server $sent, server -> laptop $got"
[ "$sent" -ge 1 ] || fail "the capture saw no handshake from the laptop"
[ "$got" = 0 ] || fail "the server answered the refused device ($got datagrams)"
log_has "$(log_of client-laptop)" '^lostlove-client: connected: ' &&
	fail "the third device connected past device_limit 2"
log_has "$(log_of server)" 'refused: device-limit|auth failure from .*: device-limit' ||
	fail "the refusal was not logged"

say "with the limit reached, the live devices' rekeys go on"
r0=$(log_count client-alice '^lostlove-client: connected: ')
r1=$(log_count client-phone '^lostlove-client: connected: ')
wait_until 15 sh -c "[ \$(grep -c '^lostlove-client: connected: ' '$(log_of client-alice)') -gt $r0 ] &&
	[ \$(grep -c '^lostlove-client: connected: ' '$(log_of client-phone)') -gt $r1 ]"
ping_ok cli0 10.8.0.1 3
ping_ok cli1 10.8.0.1 3

say "device 0 disconnects: the laptop now connects, with its own address"
stop client-laptop
stop_clean client-alice
start_client laptop cli2
log_has "$(log_of client-laptop)" "connected: ${LAPTOP4//./\\.}/" ||
	fail "laptop did not get its own address $LAPTOP4"
ping_ok cli2 10.8.0.1 5
ping_ok cli1 10.8.0.1 3

say "sessions name their device; a kick by session id ends that device's only"
api GET /v1/users/alice/sessions
[ "$(jq -r '[.sessions[].device] | sort | join(",")' <<<"$API_BODY")" = laptop,phone ] ||
	fail "alice's sessions should be the laptop's and the phone's: $API_BODY"
phone_id=$(jq -r '.sessions[] | select(.device == "phone") | .id' <<<"$API_BODY")
from=$(log_lines client-phone)
api DELETE "/v1/sessions/$phone_id"
expect 200
[ "$(jget .sessions_ended)" = 1 ] || fail "the kick ended $(jget .sessions_ended) sessions, not 1"
wait_for_log client-phone 'the server removed this user' 5 "$from"
ping_ok cli2 10.8.0.1 3
wait_for_log client-phone '^lostlove-client: connected: ' 15 "$from"

say "attacker: alice's laptop sends from bob's address: dropped"
start_client bob cli3
n cli2 ip addr add "$BOB4/32" dev ll0
spoofed() {
	server_stats >/dev/null
	{ grep -Eo 'spoofed=[0-9]+' <<<"$LL_STATS" || echo spoofed=0; } | cut -d= -f2
}
s0=$(spoofed)
pretty cli2 ping -c 3 -I "$BOB4" 10.8.0.1 "(must fail)"
if nq cli2 ping -c 3 -i 0.2 -W 1 -I "$BOB4" 10.8.0.1; then
	fail "alice's laptop reached the server from bob's address"
fi
s1=$(spoofed)
echo "   spoofed drops: ${s0:-0} -> ${s1:-0}"
[ "${s1:-0}" -ge $((${s0:-0} + 3)) ] || fail "the server did not drop the 3 spoofed pings as spoofed"
n cli2 ip addr del "$BOB4/32" dev ll0
ping_ok cli3 10.8.0.1 3

say "DELETE the phone device: its traffic stops within 1 s"
(ip netns exec "${LL_PREFIX}cli1" timeout 6 ping -D -n -i 0.05 -W 1 10.8.0.1 \
	>"$LL_TMP/ping-phone.log" 2>&1 || true) &
LL_PIDS[ping-phone]=$!
sleep 1
t0=$(date +%s.%N)
api DELETE /v1/users/alice/devices/phone
expect 200
[ "$(jget .applied)" = true ] || fail "the control thread did not take the delete"
wait_pid "${LL_PIDS[ping-phone]}" 10 || true
unset "LL_PIDS[ping-phone]"
last=$(grep 'bytes from' "$LL_TMP/ping-phone.log" | tail -n 1 | grep -Eo '^\[[0-9.]+\]' | tr -d '[]')
[ -n "$last" ] || fail "the phone's ping got no reply at all"
late=$(python3 -c "print(round($last - $t0, 3))")
echo "   the phone's last reply $late s after the DELETE was sent (limit 1 s)"
python3 -c "import sys; sys.exit(0 if $late <= 1.0 else 1)" ||
	fail "the phone's traffic went on $late s after its device was deleted"
wait_for_log client-phone 'the server removed this user' 5
api GET /v1/users/alice/devices
[ "$(jget '.devices | length')" = 1 ] || fail "alice should list 1 device now"
api GET '/v1/audit?limit=100'
for a in device.create device.config device.delete; do
	jq -e --arg a "$a" '[.audit[] | select(.action == $a and (.target | startswith("alice/")))] | length > 0' \
		<<<"$API_BODY" >/dev/null || fail "no $a entry in the audit log"
done

say "quota shared: laptop alone stays under alice's 300 kB, device 0 crosses it"
start_client alice cli0
out=$(nq cli2 ping -c 100 -i 0.01 -s 1000 -W 1 10.8.0.1 2>&1) ||
	fail "the laptop's 100 pings lost packets: $out"
sleep 1
log_has "$(log_of server)" 'user "alice" reached its data limit' &&
	fail "one device's 206 kB cut alice off (limit 300 kB)"
from=$(log_lines server)
nq cli0 ping -c 100 -i 0.01 -s 1000 -W 1 10.8.0.1 >/dev/null 2>&1 || true
wait_for_log server 'user "alice" reached its data limit' 3 "$from"
grep -E 'user "alice" reached its data limit' "$(log_of server)" | tail -n1
wait_for_log client-laptop 'the data limit is reached' 3
wait_for_log client-alice 'the data limit is reached' 3
ping_ok cli3 10.8.0.1 3

stop client-laptop
stop client-alice
stop client-phone
stop client-bob
stop_clean server
pass
