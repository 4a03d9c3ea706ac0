#!/usr/bin/env bash
# controls: every censor's tool fires on what it must detect (positive
# controls on synthetic captures from gen_pcaps.py) and stays quiet on
# uniformly random traffic (negative control), so that no check of
# tests/e2e/fingerprint.sh can pass vacuously. ndpi_flows is cross-checked
# against Debian's ndpiReader on every capture. A missing tool (tshark,
# ndpiReader, python3) fails: scripts/install-deps.sh installs them.
#
# Usage: controls.sh TOOLS_BUILD_DIR
set -euo pipefail

tools=$(realpath "${1:?usage: controls.sh TOOLS_BUILD_DIR}")
src=$(dirname "$(realpath "$0")")
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=1
}

for t in python3 ndpiReader tshark; do
	command -v "$t" >/dev/null || {
		echo "FAIL: $t is missing (scripts/install-deps.sh installs it)" >&2
		exit 1
	}
done
for t in ndpi_flows fet pcap_stats xue_rules; do
	[ -x "$tools/$t" ] || {
		echo "FAIL: $tools/$t not built" >&2
		exit 1
	}
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/gen_pcaps.py" "$tmp"

# field FIELD LINE: the value of FIELD=... in a tool's output line
field() { sed -nE "s/.* $1=([^ ]*).*/\1/p" <<<"$2"; }

# ndpiReader's protocol for the single flow of a capture (with or without -d)
reader_proto() {
	local out
	out=$(ndpiReader "$@" -v 2 2>/dev/null)
	grep -E '^\s+[0-9]+\s+(UDP|TCP) ' <<<"$out" | grep -o '\[proto: [^]]*\]' |
		sed -E 's/\[proto: [0-9.]+\/(.*)\]/\1/'
}

# expect_ndpi PCAP PROTO [RISK|-] [NO_RISK]: both ways (guessing on, -d),
# ndpi_flows says PROTO for the capture's one flow, with RISK among its
# risks and NO_RISK not; ndpiReader agrees on the protocol.
expect_ndpi() {
	local pcap=$tmp/$1 want=$2 risk=${3:--} norisk=${4:-} d line got mine theirs
	for d in "" -d; do
		line=$("$tools/ndpi_flows" $d "$pcap" | grep '^flow ')
		echo "ndpi_flows $d $1: $line"
		[ "$(wc -l <<<"$line")" = 1 ] || fail "$1: expected one flow"
		got=$(field proto "$line")
		[ "$got" = "$want" ] || fail "$1 ($d): ndpi_flows says $got, not $want"
		if [ "$risk" != - ] && [[ ",$(field risks "$line")," != *",$risk,"* ]]; then
			fail "$1 ($d): risk $risk not raised"
		fi
		if [ -n "$norisk" ] && [[ ",$(field risks "$line")," == *",$norisk,"* ]]; then
			fail "$1 ($d): risk $norisk raised"
		fi
		theirs=$(reader_proto $d -i "$pcap")
		mine=$got
		[ "$theirs" = "$mine" ] || fail "$1 ($d): ndpiReader says $theirs, ndpi_flows $mine"
	done
}

echo "== nDPI 4.2 (ndpi_flows, cross-checked with ndpiReader)"
expect_ndpi wireguard.pcap WireGuard
expect_ndpi openvpn_fast.pcap OpenVPN
expect_ndpi openvpn.pcap OpenVPN
expect_ndpi tls_noalpn.pcap TLS TLS_NOT_CARRYING_HTTPS
expect_ndpi tls_alpn.pcap TLS - TLS_NOT_CARRYING_HTTPS
expect_ndpi random.pcap Unknown

# The base rate on random bytes (what stealth traffic looks like): never
# a VPN; now and then a dissector's loose match (RTP's first byte 0x80 or
# 0xa0, version 2, a valid payload type). Printed for docs/obfuscation.md.
out=$("$tools/ndpi_flows" -p 443 "$tmp/randflows.pcap")
labels=$(grep '^flow ' <<<"$out" | sed -E 's/.* proto=([^ ]*) .* confidence=([^ ]*) .*/\1 (\2)/' |
	sort | uniq -c | sort -rn)
echo "ndpi_flows on 1000 random UDP flows to port 443:"
echo "$labels"
if grep -Eq ' proto=([^ ]*\.)?(WireGuard|OpenVPN|Tor|TINC|CiscoVPN|HotspotShield)[ .]' <<<"$out"; then
	fail "nDPI labels a flow of random bytes as a VPN: the e2e VPN check would not be about LostLove"
fi
[ "$(grep -c '^flow .* proto=Unknown ' <<<"$out")" -ge 900 ] ||
	fail "nDPI labels more than 10 % of random flows: $labels"
# flow by flow against ndpiReader, which dissects a UDP flow's first 25
# packets only (ndpi_flows -m 24); with every packet nDPI labels a few more
for d in "" -d; do
	mine=$("$tools/ndpi_flows" $d -m 24 "$tmp/randflows.pcap" | grep '^flow ' |
		sed -E 's/^flow UDP [^ ]+:([0-9]+) <-> .* proto=([^ ]*) .*/\1 \2/' | sort)
	theirs=$(ndpiReader $d -i "$tmp/randflows.pcap" -v 2 2>/dev/null | grep -E '^\s+[0-9]+\s+UDP ' |
		sed -E 's/.*UDP [^ ]+:([0-9]+) <-> [^ ]+ \[proto: [0-9.]+\/([^]]*)\].*/\1 \2/' | sort)
	[ "$(wc -l <<<"$mine")" = 1000 ] && [ "$mine" = "$theirs" ] ||
		fail "ndpi_flows -m 24 $d and ndpiReader $d disagree on the random flows: $(diff <(echo "$theirs") <(echo "$mine") | head -n 6)"
done
echo "ndpi_flows -m 24 and ndpiReader agree on each of the 1000 random flows"
# ndpiReader's limit is "> 24 packets", tested after counting the packet it
# then still dissects: the 25th decides too (a stealth capture met it)
for d in "" -d; do
	mine=$("$tools/ndpi_flows" $d -m 24 "$tmp/edge25.pcap" | grep '^flow ' |
		sed -E 's/^flow UDP [^ ]+:([0-9]+) <-> .* proto=([^ ]*) .*/\1 \2/' | paste -sd,)
	theirs=$(ndpiReader $d -i "$tmp/edge25.pcap" -v 2 2>/dev/null | grep -E '^\s+[0-9]+\s+UDP ' |
		sed -E 's/.*UDP [^ ]+:([0-9]+) <-> [^ ]+ \[proto: [0-9.]+\/([^]]*)\].*/\1 \2/' | sort | paste -sd,)
	[ "$theirs" = "21001 RTP,21002 RTP,21003 Unknown" ] ||
		fail "edge25.pcap ($d): ndpiReader says $theirs, the control expects RTP at packets 24 and 25 only"
	[ "$mine" = "$theirs" ] || fail "edge25.pcap ($d): ndpi_flows -m 24 says $mine, ndpiReader $theirs"
done
echo "ndpi_flows -m 24 and ndpiReader agree on where a flow's dissection ends (packet 25)"

echo "== tshark heuristics (P4-T3)"
heur=$(tshark -G heuristic-decodes 2>/dev/null)
grep -qE '^udp[[:space:]]+wg[[:space:]]+T$' <<<"$heur" ||
	fail "tshark's wg heuristic on UDP is not enabled: the wg checks would prove nothing"
protos=$(tshark -r "$tmp/wireguard.pcap" -T fields -e frame.protocols 2>/dev/null)
[ "$(grep -c ':wg' <<<"$protos")" = "$(wc -l <<<"$protos")" ] ||
	fail "tshark does not label every frame of wireguard.pcap wg: $(sort <<<"$protos" | uniq -c)"
protos=$(tshark -r "$tmp/random.pcap" -T fields -e frame.protocols 2>/dev/null)
if grep -qE ':(wg|openvpn)' <<<"$protos"; then
	fail "tshark labels random.pcap wg or openvpn"
fi
# tshark has no OpenVPN heuristic: only port 1194 (or -d) makes it decode it
protos=$(tshark -r "$tmp/openvpn.pcap" -d udp.port==34569,openvpn -T fields -e frame.protocols 2>/dev/null)
grep -q ':openvpn' <<<"$protos" || fail "tshark -d ...,openvpn does not label openvpn.pcap"

echo "== FET rule (P1-T1) on first payloads"
out=$("$tools/fet" "$tmp/tls_noalpn.pcap")
echo "$out"
grep -q 'verdict=exempt exempt=.*Ex5' <<<"$out" || fail "a TLS ClientHello is not exempt by Ex5"
out=$("$tools/fet" "$tmp/random.pcap")
echo "$out"
grep -q 'summary flows=1 exempt=0 blocked=1' <<<"$out" || fail "a random first payload is not blocked"

echo "== per-position statistics (pcap_stats)"
out=$("$tools/pcap_stats" -p 34570 "$tmp/random.pcap")
echo "$out"
grep -q 'summary flows=1 flagged_positions=0 forbidden_sizes=0 ip_flags=0 ' <<<"$out" ||
	fail "pcap_stats flags uniformly random traffic"
[ "$(grep -c '^dir 0 .* tested=[1-9]' <<<"$out")" = 2 ] || fail "pcap_stats tested no position"
out=$("$tools/pcap_stats" -p 34570 "$tmp/constant.pcap")
echo "$out"
for dir in c2s s2c; do
	for pos in 0 1 2 3; do
		grep -q "^FLAG 0 $dir position $pos constant" <<<"$out" ||
			fail "constant position $pos ($dir) not flagged"
	done
	grep -q "^FLAG 0 $dir position 4 low-entropy" <<<"$out" ||
		fail "low-entropy position 4 ($dir) not flagged"
	grep -q "^FLAG 0 $dir size 92 count=200" <<<"$out" || fail "forbidden size 92 ($dir) not flagged"
	[ "$(grep -c "^FLAG 0 $dir position" <<<"$out")" = 5 ] ||
		fail "pcap_stats flags more than positions 0-4 ($dir)"
done
out=$("$tools/pcap_stats" "$tmp/wireguard.pcap")
grep -q 'FLAG 0 a2b size 148 count=1' <<<"$out" || fail "WireGuard's 148-byte initiation not flagged"
out=$("$tools/pcap_stats" "$tmp/iphygiene.pcap")
echo "$out"
for what in "dscp nonzero" "ecn nonzero" "ttl varies" "df varies"; do
	grep -q "^FLAG 0 a2b $what" <<<"$out" || fail "pcap_stats misses: $what"
done

echo "== Xue 2022 OpenVPN rules, Xue 2024 bursts (xue_rules)"
out=$("$tools/xue_rules" "$tmp/openvpn.pcap")
echo "$out"
grep -q 'summary flows=1 opcode_flagged=1 ack_flagged=1 ' <<<"$out" ||
	fail "the opcode or ACK rule misses the OpenVPN-shaped flow"
out=$("$tools/xue_rules" "$tmp/random.pcap")
echo "$out"
grep -q 'summary flows=1 opcode_flagged=0 ack_flagged=0 ' <<<"$out" ||
	fail "the opcode or ACK rule (N >= 20) fires on random payloads"
out=$("$tools/xue_rules" "$tmp/tlsintls.pcap")
echo "$out"
grep -q ' https_like=no tls_in_tls=yes$' <<<"$out" || fail "the TLS-in-TLS shape is not flagged"
out=$("$tools/xue_rules" "$tmp/https.pcap")
echo "$out"
grep -q ' bursts=195,6005,0,0(n=2) rt=1.0 https_like=yes tls_in_tls=no$' <<<"$out" ||
	fail "a plain HTTPS request/response is not https_like, or is flagged TLS-in-TLS"

[ "$failed" = 0 ] || exit 1
echo "PASS censor_controls"
