#!/usr/bin/env bash
# reference: the regression guard of research P4-T5. The reference
# captures in tests/data/captures/ (a few real sessions per mode, made by
# tests/e2e/fingerprint_corpus.sh --reference) are classified again by the
# censor's tools, and every verdict must be the one in expected.txt, as
# the corpus generator's fresh captures must. A protocol or padding change
# does not change these files, but a change of the tools, of nDPI or of
# tshark that flips a verdict fails here; a wire change that flips one
# fails fingerprint_corpus (same expected file, fresh captures).
#
# Negative control: the stealth-off capture judged as if it were standard
# must differ from standard's expected verdicts (the comparison can fail).
#
# Usage: reference.sh TOOLS_BUILD_DIR [DATA_DIR]
set -euo pipefail

tools=$(realpath "${1:?usage: reference.sh TOOLS_BUILD_DIR [DATA_DIR]}")
src=$(dirname "$(realpath "$0")")
data=$(realpath "${2:-$src/../data/captures}")
source "$src/verdicts.sh"

fv_init "$tools" || exit 1
command -v editcap >/dev/null || {
	echo "FAIL: editcap is missing (scripts/install-deps.sh installs tshark, which has it)" >&2
	exit 1
}
fv_tshark_wg_heuristic || {
	echo "FAIL: tshark's wg heuristic is off: the check would prove nothing" >&2
	exit 1
}
expected=$data/expected.txt
modes=$(grep -Ev '^(#|$)' "$expected" | awk '{print $1}' | uniq)
[ -n "$modes" ] || {
	echo "FAIL: no verdicts in $expected" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for mode in $modes; do
	for f in "$mode.pcap" "$mode.cut"; do
		[ -f "$data/$f" ] || {
			echo "FAIL: $data/$f is missing (fingerprint_corpus.sh --reference makes it)" >&2
			exit 1
		}
	done
	base=""
	[ -f "$data/$mode-base.pcap" ] && base=$data/$mode-base.pcap
	# the mid-flow capture: the full one from the moment its sessions'
	# handshakes were done (as the generator cuts it)
	editcap -F pcap -A "$(cat "$data/$mode.cut")" "$data/$mode.pcap" "$tmp/$mode-mid.pcap"
	fv_mode "$mode" "$data/$mode.pcap" "$tmp/$mode-mid.pcap" "$base" >>"$tmp/got"
done
fv_table "$tmp/got" $modes
grep '^info ' "$tmp/got"
failed=0
fv_invariants "$tmp/got" || failed=1
fv_compare "$expected" "$tmp/got" $modes || failed=1

echo "negative control: off.pcap judged as a standard capture"
fv_mode standard "$data/off.pcap" "$tmp/off-mid.pcap" >"$tmp/control"
if fv_compare "$expected" "$tmp/control" standard >"$tmp/control.diff"; then
	echo "FAIL: the stealth-off capture passes as standard: the comparison proves nothing" >&2
	failed=1
else
	sed 's/^/  /' "$tmp/control.diff"
	echo "  (differs, as it must)"
fi
if [ "$failed" != 0 ]; then
	echo "FAIL: the reference captures' verdicts are not those of $expected" >&2
	exit 1
fi
echo "PASS: $(wc -w <<<"$modes") modes, every verdict as in $expected"
