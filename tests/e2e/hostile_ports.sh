#!/usr/bin/env bash
# hostile_ports: one address floods valid initiations from many source ports
# while a client uses the tunnel. The server's UDP sockets are SO_REUSEPORT
# shards, one per worker, chosen by 4-tuple hash, so the flood reaches every
# worker; the per-IP handshake limit (handshakes_per_ip_per_s) must still hold
# for the address as a whole, not per worker, and alice's tunnel must keep
# working.
#
#   ┌──── cli ───────────┐      ┌──── srv ───────────────┐      ┌──── atk ──────────┐
#   │ ll0 10.8.0.2/24    │      │ ll0 10.8.0.1/24        │      │ udpjunk --ports 64│
#   │ c0 198.51.100.2/24 ├──────┤ s0 198.51.100.1/24     │      │                   │
#   └────────────────────┘ veth │ s2 192.0.2.1/24        ├──────┤ a0 192.0.2.2/24   │
#                               │ :51820, 4 workers      │ veth └───────────────────┘
#                               └────────────────────────┘
#
# "mallory" is a real account whose keys the attacker holds, so every
# initiation passes mac1 and reaches the limiter (the worst case). Figures:
# udpjunk's replies by type, and the server's counters (SIGUSR1 "stats:"
# line: handshakes ok/failed, cookie-limit drops, initiations per worker).
source "$(dirname "$0")/lib.sh" "$@"

PORTS=64
FLOOD=2000     # initiations
FLOOD_RATE=400 # per second: 5 s of flood
WAIT_MS=1500   # udpjunk listens this long after its last send
BURST=5        # HS_LIMIT_BURST in src/server/server.c

attack_setup
SRV_WORKERS=4
write_server_config
write_client_config alice 198.51.100.1:51820 '[]'
SERVER_PUB=$(key_of server pub)

say "server (4 workers) and client"
start_server
start_client alice cli
ping_ok cli 10.8.0.1
spawn ping-during cli ping -i 0.2 -w 170 10.8.0.1

# counters STATS_LINE: sets HS (handshakes consumed, ok + failed), CL
# (initiations over the cookie-reply limit) and PER_WORKER (initiations
# with a good mac1, per worker).
counters() {
	local ok failed
	ok=$(sed -E 's/.*handshakes ok ([0-9]+) failed ([0-9]+).*/\1/' <<<"$1")
	failed=$(sed -E 's/.*handshakes ok ([0-9]+) failed ([0-9]+).*/\2/' <<<"$1")
	HS=$((ok + failed))
	CL=$(sed -nE 's/.* cookie_limit=([0-9]+).*/\1/p' <<<"$1")
	CL=${CL:-0}
	PER_WORKER=$(sed -nE 's/.*initiations per worker: ([0-9 ]+)$/\1/p' <<<"$1")
	[ -n "$PER_WORKER" ] || fail "no 'initiations per worker' in the server's stats line"
}

server_stats
counters "$LL_STATS"
HS0=$HS CL0=$CL
read -r -a PW0 <<<"$PER_WORKER"

say "a flood of valid initiations from one address, $PORTS source ports"
pretty atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode init --count $FLOOD --rate $FLOOD_RATE \
	--ports $PORTS --seed 9 --client-key mallory.key --psk mallory.psk --server-key "$SERVER_PUB"
t0=$(date +%s%N)
out=$(nq atk "$LL_UDPJUNK" --to 192.0.2.1:51820 --mode init --count $FLOOD --rate $FLOOD_RATE \
	--ports $PORTS --wait-ms $WAIT_MS --max-seconds 60 --seed 9 --server-key "$SERVER_PUB" \
	--client-key "$LL_TMP/mallory.key" --psk "$LL_TMP/mallory.psk")
t1=$(date +%s%N)
echo "$out"
check_daemons
SENT=$(sed -E 's/.* sent=([0-9]+).*/\1/' <<<"$out")
TYPE2=$(sed -E 's/.* type2=([0-9]+).*/\1/' <<<"$out")
TYPE3=$(sed -E 's/.* type3=([0-9]+).*/\1/' <<<"$out")
# the flood lasted the run minus the listening at the end
flood_ms=$(((t1 - t0) / 1000000 - WAIT_MS))
[ "$flood_ms" -gt 0 ] || flood_ms=1
# one address: the rate over the flood plus one burst, for all workers
# together; one limiter per worker would allow up to 4 times that. 250 ms
# (5 tokens) to spare: the server may still be reading the last initiations
# from its sockets after udpjunk sent them
ALLOWED_MAX=$(((SRV_HS_PER_IP * (flood_ms + 250) + 999) / 1000 + BURST))

server_stats
counters "$LL_STATS"
read -r -a PW1 <<<"$PER_WORKER"
reached=0
spread=""
for i in "${!PW1[@]}"; do
	d=$((PW1[i] - ${PW0[i]:-0}))
	spread+=" $d"
	[ "$d" -gt 0 ] && reached=$((reached + 1))
done
hs=$((HS - HS0))
cl=$((CL - CL0))
echo "flood: $SENT initiations from 1 address and $PORTS ports in $flood_ms ms;" \
	"initiations per worker:$spread"
echo "answers: $TYPE2 handshake responses + $TYPE3 cookie replies;" \
	"server: $hs handshakes let through, $cl over the cookie-reply limit;" \
	"limit $SRV_HS_PER_IP/s + burst $BURST = at most $ALLOWED_MAX"

[ "$reached" -ge 2 ] ||
	fail "the flood reached $reached worker(s) (per worker:$spread): nothing shared was tested"
# The handshake budget is per address, whatever the port or worker; the
# initiations over it are unproven and get cookie replies (52 bytes for
# 1348: no amplification), limited per address and port, or nothing.
[ "$TYPE2" -le "$ALLOWED_MAX" ] ||
	fail "the server answered $TYPE2 of $SENT initiations from one address with a handshake" \
		"(at most $ALLOWED_MAX at $SRV_HS_PER_IP/s): the limit is not per address"
# alice may have handshaken meanwhile (one every 2 min at most): +1
[ "$hs" -le $((ALLOWED_MAX + 1)) ] ||
	fail "$hs handshakes got past the limiter during a flood from one address" \
		"(at most $ALLOWED_MAX at $SRV_HS_PER_IP/s)"
[ "$TYPE2" -ge 1 ] ||
	fail "the server answered none of mallory's $SENT valid initiations (expected about $ALLOWED_MAX)"
[ $((TYPE3 + cl)) -ge $((SENT - ALLOWED_MAX)) ] ||
	fail "only $TYPE3 cookie replies and $cl cookie-limit drops for $SENT initiations of which" \
		"at most $ALLOWED_MAX may be handshakes"

attack_aftermath flood
pass
