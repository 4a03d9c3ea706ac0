#!/usr/bin/env bash
# tun_offload: the server's TUN device with IFF_VNET_HDR (TSO/USO reads cut
# into segments, opened packets coalesced into super-packets for the TUN
# write), then without (performance.tun_offload = false), then with a
# 1280-byte tunnel MTU: every TCP transfer, both ways, IPv4 and IPv6, to the
# server host itself (its TCP stack hands the TUN 64 KiB super-packets and
# takes merged ones) and through it to an internet host (forwarded: merged
# on the way in, segmented again by the kernel), must arrive byte-identical.
# With offloads on, the server's counters must show that super-packets were
# read and written (the path under test was taken), no checksum refused and
# no header refused. Malformed virtio headers cannot be made from outside
# the server host: test_offload and fuzz_offload cover them.
#
# Topology: basic.sh's (cli - srv - inet; NAT on the server).
LL_NAME=tun_offload
source "$(dirname "$0")/lib.sh" "$@"

MB=${LL_E2E_MB_SMALL:-40}

behind_server

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
SRV_EGRESS=s1
write_server_config
write_client_config alice 198.51.100.1:51820 '["203.0.113.0/24", "2001:db8:1::/64"]'
make_data "$LL_TMP/data.bin" "$MB"

# transfers PORT_BASE: six transfers of data.bin, each checked by SHA-256
transfers() {
	local p=$1 f="$LL_TMP/data.bin"
	transfer_check cli srv receiver 10.8.0.1 "$p" "$f"
	transfer_check srv cli sender 10.8.0.1 $((p + 1)) "$f"
	transfer_check cli srv receiver fd00:8::1 $((p + 2)) "$f"
	transfer_check srv cli sender fd00:8::1 $((p + 3)) "$f"
	transfer_check cli inet receiver 203.0.113.2 $((p + 4)) "$f"
	transfer_check inet cli sender 2001:db8:1::2 $((p + 5)) "$f"
}

# offload_counter NAME: a number from the stats line's "offload:" part
offload_counter() {
	local part
	part=$(grep -o 'offload: [^;]*' <<<"$LL_STATS")
	awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$part"
}

say "offloads on (the default)"
start_server
log_has "$(log_of server)" '^lostlove-server: tun offload: csum tso4 tso6' ||
	fail "the server did not log 'tun offload: csum tso4 tso6...': $(grep 'tun offload' "$(log_of server)")"
start_client alice cli
ping_ok cli 10.8.0.1
transfers 5010
server_stats
tso=$(offload_counter tso_read)
segs=$(offload_counter segments)
gro=$(offload_counter gro_written)
merged=$(offload_counter merged)
bad=$(offload_counter csum_bad)
[ -n "$tso" ] && [ "$tso" -gt 0 ] ||
	fail "no super-packet was read from the TUN device (tso_read=$tso): the TSO path was not taken"
[ "$segs" -gt "$tso" ] || fail "segments=$segs for tso_read=$tso: super-packets were not cut"
[ -n "$gro" ] && [ "$gro" -gt 0 ] ||
	fail "no super-packet was written to the TUN device (gro_written=$gro): nothing was coalesced"
[ "$merged" -gt "$gro" ] || fail "merged=$merged for gro_written=$gro"
[ "$bad" = 0 ] || fail "$bad packets had a bad checksum: the tunnel corrupted them, or the check is wrong"
if grep -Eo 'vnet_[a-z_]+=[0-9]+' <<<"$LL_STATS"; then
	fail "the server refused virtio headers the kernel wrote"
fi
echo "offload counters: tso_read $tso segments $segs gro_written $gro merged $merged"

# udp_burst FROM TO DST [gso]: 3,000 datagrams of 1,000 bytes from namespace
# FROM to TO (listening on DST); every one that arrives must be one that was
# sent, whole: a super-packet handed on unsegmented, or cut wrong, or a
# checksum completed wrong (the receiving kernel drops those) would not be
UDPB="$(dirname "$0")/udp_burst.py"
udp_burst() {
	local from=$1 to=$2 dst=$3 out="$LL_TMP/udp-$2-$3.out" pid intact
	rm -f "$out"
	ip netns exec "$LL_PREFIX$to" python3 "$UDPB" recv "$dst" 5201 3000 1000 >"$out" 2>&1 &
	pid=$!
	wait_until 5 grep -q listening "$out"
	n "$from" python3 "$UDPB" send "$dst" 5201 3000 1000 ${4:-}
	wait "$pid" || fail "UDP to $dst: datagrams arrived that were not sent: $(cat "$out")"
	intact=$(awk '/^intact/ {print $2}' "$out")
	echo "   UDP $from -> $dst ${4:-}: $intact of 3000 datagrams arrived intact"
	[ "$intact" -ge 2000 ] || fail "UDP to $dst: only $intact of 3000 datagrams arrived"
}
say "UDP: bursts to the server host (merged when the device took USO), and back"
udp_burst cli srv 10.8.0.1
udp_burst cli srv fd00:8::1
server_stats >/dev/null
tso_before=$(offload_counter tso_read)
# from the server host: partial checksums completed (plain datagrams), and
# with UDP_SEGMENT, USO super-packets cut (when the device took USO)
udp_burst srv cli 10.8.0.2
udp_burst srv cli fd00:8::2 gso
udp_burst srv cli 10.8.0.2 gso
server_stats
if log_has "$(log_of server)" '^lostlove-server: tun offload: .*uso4 uso6'; then
	[ "$(offload_counter gro_written)" -gt "$gro" ] ||
		fail "USO taken, yet no UDP super-packet was written (gro_written stayed $gro)"
	[ "$(offload_counter tso_read)" -gt "$tso_before" ] ||
		fail "USO taken, yet no UDP super-packet was read (tso_read stayed $tso_before)"
fi
[ "$(offload_counter csum_bad)" = 0 ] || fail "UDP datagrams with a bad checksum"
stop_clean client-alice
stop_clean server

say "offloads off (performance.tun_offload = false)"
SRV_EXTRA="[performance]
tun_offload = false"
write_server_config
start_server
log_has "$(log_of server)" '^lostlove-server: tun offload: off \(performance.tun_offload = false\)' ||
	fail "the server did not log 'tun offload: off (performance.tun_offload = false)'"
start_client alice cli
transfers 5020
server_stats
grep -q '; offload: off' <<<"$LL_STATS" || fail "the stats line does not say 'offload: off'"
stop_clean client-alice
stop_clean server

say "offloads on, tunnel MTU 1280: segments of the smallest MTU"
SRV_EXTRA=""
SRV_MTU=1280
write_server_config
start_server
start_client alice cli
tun_mtu=$(nq cli cat /sys/class/net/ll0/mtu)
[ "$tun_mtu" = 1280 ] || fail "client tunnel MTU $tun_mtu, expected the server's 1280"
ping_ok cli 10.8.0.1 3 -s $((tun_mtu - 28)) -M "do"
ping_ok cli fd00:8::1 3 -s $((tun_mtu - 48)) -M "do"
transfers 5030
server_stats
[ "$(offload_counter tso_read)" -gt 0 ] || fail "MTU 1280: no super-packet read"
[ "$(offload_counter csum_bad)" = 0 ] || fail "MTU 1280: packets with a bad checksum"
pass
