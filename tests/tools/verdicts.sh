# The censor's verdicts on captures of LostLove sessions, one line per
# mode, classifier and verdict (sourced, not run). Used by
# tests/e2e/fingerprint_corpus.sh on fresh captures of >= 100 sessions per
# mode, and by tests/tools/reference.sh on the reference captures kept in
# tests/data/captures/: both compare with tests/data/captures/expected.txt,
# so that a wire change that flips a verdict fails (research P4-T5;
# docs/obfuscation.md, "The session corpus").
#
# A capture holds the sessions of one mode on server port 443. A flow is a
# session's first when its client port is below FV_REBOUND_PORT, and a
# flow after a roaming event otherwise: the generator gives clients ports
# below it, and moves them above it when they roam. Verdict lines:
#
#   MODE CHECK VALUE          (judged: compared with expected.txt)
#   info MODE CHECK VALUE     (reported only)
#
# Values are categorical (none/some, label sets, equal/differ), never
# counts, so that a corpus of any size and the small reference captures
# give the same lines.

FV_REBOUND_PORT=40000
FV_PORT=443

# The flows a DPI box must not call a VPN (research P4-T1), as nDPI 4.2
# names them.
FP_BAD_PROTOS='WireGuard|OpenVPN|Tor|TINC|CiscoVPN|HotspotShield'

# nDPI 4.2's dissectors call some flows of uniformly random bytes RTP or
# Skype_Teams: about 6 in 100 (tests/tools/controls.sh measures the base
# rate on 1000 random flows; docs/obfuscation.md). Such a label is folded
# into the group's others while its count stays within the binomial bound
# of that rate (mean + 4 standard deviations + 1): a format whose bytes are
# random gets them by chance, one that makes them every time does not.
# (nDPI names a sub-protocol after a dot: Skype_Teams.SkypeCall.)
FV_RANDOM_LABELS='RTP|Skype_Teams'

# fv_init TOOLS_DIR: the tools built in tests/tools (ndpi_flows, fet,
# xue_rules), and tshark. Returns 1 (with a message) if one is missing.
fv_init() {
	local t
	for t in ndpi_flows fet xue_rules; do
		[ -x "$1/$t" ] || {
			echo "verdicts: $1/$t is not built" >&2
			return 1
		}
	done
	command -v tshark >/dev/null || {
		echo "verdicts: tshark is missing (scripts/install-deps.sh installs it)" >&2
		return 1
	}
	FV_NDPI=$1/ndpi_flows
	FV_FET=$1/fet
	FV_XUE=$1/xue_rules
}

# fv_tshark_wg_heuristic: tshark's wg heuristic must be on, or "no frame
# labelled wg" would prove nothing (research P4-T3's precondition).
fv_tshark_wg_heuristic() {
	local heur
	heur=$(tshark -G heuristic-decodes 2>/dev/null)
	grep -qE '^udp[[:space:]]+wg[[:space:]]+T$' <<<"$heur"
}

# fv_role: reads tool lines naming a flow ("... A:P <-> B:Q ..."), prints
# "first" or "rebound" and the line, by the client's port (the end that is
# not the server's).
fv_role() {
	awk -v sp="$FV_PORT" -v rp="$FV_REBOUND_PORT" '{
		for (i = 1; i < NF; i++) if ($(i + 1) == "<->") break
		a = $i; b = $(i + 2)
		sub(/.*:/, "", a); sub(/.*:/, "", b)
		c = (a == sp) ? b : a
		print ((c + 0 >= rp) ? "rebound" : "first"), $0
	}'
}

# fv_fold: reads labels (one a line), prints the set (sorted, joined by +)
# with base-rate random labels folded as above; "-" when there is none.
fv_fold() {
	awk -v rnd="^($FV_RANDOM_LABELS)(\\.|\$)" '
		{ n++; c[$1]++ }
		END {
			bound = n * 0.06 + 4 * sqrt(n * 0.06 * 0.94) + 1
			for (l in c) if (!(l ~ rnd)) others = 1
			for (l in c) if (!(others && l ~ rnd && c[l] <= bound)) print l
		}' | sort | paste -sd+ | sed 's/^$/-/'
}

# fv_ndpi MODE CAP PCAP: nDPI 4.2 on every packet and on the first 25 of
# each flow (as ndpiReader), with guessing and without (-d): the label
# sets of first and rebound flows; any VPN label is collected in
# $FV_TMP/vpn.
fv_ndpi() {
	local mode=$1 cap=$2 pcap=$3 d m out roles
	for m in "" 24; do
		for d in "" -d; do
			out=$("$FV_NDPI" $d ${m:+-m $m} -p $FV_PORT "$pcap" | grep '^flow ' || true)
			grep -E " (proto|master|app)=([^ ]*\.)?($FP_BAD_PROTOS)[ .]" <<<"$out" |
				sed "s/^/$cap${d:- guess}${m:+ m$m}: /" >>"$FV_TMP/vpn" || true
			roles=$(fv_role <<<"$out")
			echo "info $mode ndpi.$cap.${d:+no}guess${m:+.m$m} labels" \
				$(sed -E 's/^([a-z]+) .* proto=([^ ]*) .*/\1:\2/' <<<"$roles" | sort | uniq -c | awk '{print $2 "=" $1}')
			echo "$mode ndpi.$cap.${d:+no}guess${m:+.m$m}" \
				"first=$(grep '^first ' <<<"$roles" | sed -E 's/.* proto=([^ ]*) .*/\1/' | fv_fold)" \
				"rebound=$(grep '^rebound ' <<<"$roles" | sed -E 's/.* proto=([^ ]*) .*/\1/' | fv_fold)"
		done
	done
}

# fv_tshark MODE CAP PCAP: is any frame labelled wg or openvpn (P4-T3).
fv_tshark() {
	local protos wg ovpn
	protos=$(tshark -r "$3" -T fields -e frame.protocols 2>/dev/null)
	wg=$(grep -c ':wg' <<<"$protos" || true)
	ovpn=$(grep -c ':openvpn' <<<"$protos" || true)
	echo "$1 tshark.$2 wg=$([ "$wg" = 0 ] && echo none || echo some)" \
		"openvpn=$([ "$ovpn" = 0 ] && echo none || echo some)"
	echo "info $1 tshark.$2.frames total=$(grep -c . <<<"$protos") wg=$wg openvpn=$ovpn"
}

# fv_risks PCAP: each TLS flow's risk set, one a line ("first|rebound
# SET"). TLS_FATAL_ALERT is left out: nDPI 4.2 reads the level byte of
# every alert record, also of an encrypted one, whose first byte is
# ciphertext: one connection in 256 gets it by chance, to any server
# (fingerprint_tls.sh).
fv_risks() {
	"$FV_NDPI" -p $FV_PORT "$1" | grep '^flow ' | fv_role |
		sed -E 's/^([a-z]+) .* risks=([^ ]*).*/\1 \2/; s/,?TLS_FATAL_ALERT//; s/ ,/ /; s/ $/ none/'
}

# fv_fet MODE PCAP: the fully-encrypted-traffic rule on each flow's first
# client payload: exempt=all, or blocked=most (>= 90 %, a random payload
# is exempt by chance now and then), or mixed. Judged for TLS (P4-T4); on
# UDP it is reported only (a TCP rule: research P1-T1), as the share
# exempt varies from run to run (the plain format's transport packets are
# exempt by their low popcount when small).
fv_fet() {
	local out flows exempt blocked v judged=""
	out=$("$FV_FET" -p $FV_PORT "$2" | grep '^summary ')
	read -r flows exempt blocked < <(sed -E 's/summary flows=([0-9]+) exempt=([0-9]+) blocked=([0-9]+)/\1 \2 \3/' <<<"$out")
	if [ "$flows" = 0 ]; then
		v=none
	elif [ "$exempt" = "$flows" ]; then
		v=exempt=all
	elif [ $((blocked * 10)) -ge $((flows * 9)) ]; then
		v=blocked=most
	else
		v=mixed
	fi
	case $1 in tls | proxy) ;; *) judged="info " ;; esac
	echo "$judged$1 fet.full $v"
	echo "info $1 fet.full flows=$flows exempt=$exempt blocked=$blocked"
}

# fv_pct A B: A/B in percent, one decimal.
fv_pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'; }

# fv_bursts MODE PCAP BASELINE: the 4-burst check after the TLS handshake
# (P4-T4, xue_rules' tls_in_tls) and Xue 2024's https_like, LostLove's
# flows against curl's to nginx: the flag rate may exceed the baseline's
# by at most 1 percentage point.
fv_bursts() {
	local ll base n f h bn bf bh
	ll=$("$FV_XUE" -p $FV_PORT "$2" | grep '^tls ' || true)
	base=$("$FV_XUE" -p $FV_PORT "$3" | grep '^tls ' || true)
	n=$(grep -c . <<<"$ll" || true)
	f=$(grep -c 'tls_in_tls=yes' <<<"$ll" || true)
	h=$(grep -c 'https_like=yes' <<<"$ll" || true)
	bn=$(grep -c . <<<"$base" || true)
	bf=$(grep -c 'tls_in_tls=yes' <<<"$base" || true)
	bh=$(grep -c 'https_like=yes' <<<"$base" || true)
	if [ "$n" = 0 ] || [ "$bn" = 0 ]; then
		echo "$1 bursts.tls_in_tls no-flows"
	elif awk -v a="$f" -v n="$n" -v b="$bf" -v m="$bn" 'BEGIN { exit !(100 * a / n <= 100 * b / m + 1) }'; then
		echo "$1 bursts.tls_in_tls within_baseline+1pp"
	else
		echo "$1 bursts.tls_in_tls above_baseline+1pp"
	fi
	echo "info $1 bursts.tls_in_tls $f/$n=$(fv_pct "$f" "$n")% baseline $bf/$bn=$(fv_pct "$bf" "$bn")%"
	echo "info $1 bursts.https_like $h/$n=$(fv_pct "$h" "$n")% baseline $bh/$bn=$(fv_pct "$bh" "$bn")%"
}

# fv_xue MODE FULL MID: Xue 2022's opcode rule (N = 20..100) on every UDP
# flow of both captures, and the ACK rule on the sessions' first flows from
# their start (the rule locates a connection's third packet: on flows first
# seen mid-way it is reported only).
fv_xue() {
	local full mid op ack_first ack_other
	full=$("$FV_XUE" -p $FV_PORT "$2" | grep '^xue ' | fv_role || true)
	mid=$("$FV_XUE" -p $FV_PORT "$3" | grep '^xue ' | fv_role || true)
	op=$(cat <<<"$full"$'\n'"$mid" | grep -c ' opcode_flagged=1 ' || true)
	ack_first=$(grep '^first ' <<<"$full" | grep -c ' ack_flagged=1$' || true)
	ack_other=$( (grep '^rebound ' <<<"$full" || true; cat <<<"$mid") | grep -c ' ack_flagged=1$' || true)
	echo "$1 xue.opcode $([ "$op" = 0 ] && echo none || echo some)"
	# The plain format's keepalive is always 32 bytes, and it is often the
	# third payload: a session idle in its first seconds (keepalive = 1 s)
	# meets the rule (4 of 100 first flows in one run, 0 in another). Its
	# verdict depends on timing, so for off it is reported only.
	[ "$1" = off ] && echo -n "info "
	echo "$1 xue.ack.first $([ "$ack_first" = 0 ] && echo none || echo some)"
	echo "info $1 xue.flows full=$(grep -c '^first ' <<<"$full" || true)+$(grep -c '^rebound ' <<<"$full" || true) mid=$(grep -c . <<<"$mid" || true)" \
		"ack_first_flagged=$ack_first ack_not_judged_flagged=$ack_other"
}

# fv_mode MODE FULL MID [BASELINE]: every verdict line of one mode. MODE
# off|standard|maximum: UDP; tls|proxy: TCP, with BASELINE the capture of
# curl's connections to nginx (same certificate, same port).
fv_mode() {
	local mode=$1 full=$2 mid=$3 base=${4:-} roles first rebound ll bl
	FV_TMP=$(mktemp -d)
	: >"$FV_TMP/vpn"
	roles=$("$FV_NDPI" -p $FV_PORT "$full" | grep '^flow ' | fv_role || true)
	first=$(grep -c '^first ' <<<"$roles" || true)
	rebound=$(grep -c '^rebound ' <<<"$roles" || true)
	echo "info $mode flows first=$first rebound=$rebound mid=$("$FV_NDPI" -p $FV_PORT "$mid" | grep -c '^flow ' || true)"
	fv_ndpi "$mode" full "$full"
	fv_ndpi "$mode" mid "$mid"
	if [ -s "$FV_TMP/vpn" ]; then
		echo "$mode ndpi.vpn_label some"
		sed -n "1,5s/^/info $mode ndpi.vpn_label /p" "$FV_TMP/vpn"
	else
		echo "$mode ndpi.vpn_label none"
	fi
	fv_tshark "$mode" full "$full"
	fv_tshark "$mode" mid "$mid"
	fv_fet "$mode" "$full"
	case $mode in
	tls | proxy)
		ll=$(fv_risks "$full" | awk '{print $2}')
		bl=$(fv_risks "$base" | awk '{print $2}')
		if [ "$(sort -u <<<"$ll")" = "$(sort -u <<<"$bl")" ] && [ "$(sort -u <<<"$bl" | wc -l)" = 1 ]; then
			echo "$mode ndpi.risks equal_to_baseline:$(head -n1 <<<"$bl")"
		else
			echo "$mode ndpi.risks differ"
		fi
		ll=$(sort <<<"$ll" | uniq -c | awk '{print $2 "(" $1 ")"}' | paste -sd' ')
		bl=$(sort <<<"$bl" | uniq -c | awk '{print $2 "(" $1 ")"}' | paste -sd' ')
		echo "info $mode ndpi.risks lostlove $ll; baseline $bl"
		fv_bursts "$mode" "$full" "$base"
		;;
	*) fv_xue "$mode" "$full" "$mid" ;;
	esac
	rm -rf "$FV_TMP"
}

# fv_compare EXPECTED GOT MODE...: the judged lines of each MODE in GOT
# must be those in EXPECTED; prints the differences, returns 1 if any.
fv_compare() {
	local expected=$1 got=$2 mode bad=0 want have
	shift 2
	for mode in "$@"; do
		want=$(grep -E "^$mode " "$expected" | sed -E 's/[[:space:]]+/ /g; s/ $//' || true)
		have=$(grep -E "^$mode " "$got" | sed -E 's/[[:space:]]+/ /g; s/ $//' || true)
		if [ -z "$want" ]; then
			echo "no expected verdicts for mode $mode in $expected"
			bad=1
		elif [ "$want" != "$have" ]; then
			echo "verdicts of mode $mode differ from $expected:"
			diff <(echo "$want") <(echo "$have") | sed -n 's/^[<>] /  &/p' |
				sed 's/^  < /  expected: /; s/^  > /  got:      /'
			bad=1
		fi
	done
	return $bad
}

# fv_table FILE MODE...: the judged verdicts as one table, a row per
# check, a column per mode.
fv_table() {
	local file=$1
	shift
	awk -v modes="$*" '
		BEGIN { m = split(modes, ms, " ") }
		$1 != "info" {
			v = $3; for (i = 4; i <= NF; i++) v = v " " $i
			if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 }
			cell[$2, $1] = v
		}
		END {
			printf "%-26s", "check"
			for (j = 1; j <= m; j++) printf " | %-31s", ms[j]
			printf "\n"
			for (i = 1; i <= k; i++) {
				printf "%-26s", order[i]
				for (j = 1; j <= m; j++) {
					c = cell[order[i], ms[j]]
					printf " | %-31s", (c == "" ? "n/a" : c)
				}
				printf "\n"
			}
		}' "$file"
}

# fv_invariants FILE: the research's acceptance criteria (Part 4, P1-T8) on
# the judged lines of FILE, whatever expected.txt says: editing the
# expected file cannot make a VPN label or a risk acceptable. Prints what
# breaks them, returns 1 if anything does.
fv_invariants() {
	local f=$1 bad=0 mode line
	fv_need() {
		grep -qxE "$1" "$f" || {
			echo "acceptance: no line /$1/ in the verdicts (research $2)"
			bad=1
		}
	}
	for mode in $(awk '$1 != "info" {print $1}' "$f" | sort -u); do
		fv_need "$mode xue\.opcode none|$mode ndpi\.risks .*" "P1-T8: Xue's opcode rule flags no flow"
		[ "$mode" = off ] && continue # the plain format: recorded (docs/protocol.md §10.1)
		fv_need "$mode xue\.ack\.first none|$mode ndpi\.risks .*" "P1-T8: Xue's ACK rule flags no session"
		fv_need "$mode ndpi\.vpn_label none" "P4-T1: no VPN label"
		fv_need "$mode tshark\.full wg=none openvpn=none" "P4-T3"
		fv_need "$mode tshark\.mid wg=none openvpn=none" "P4-T3"
		case $mode in
		standard | maximum)
			while read -r line; do
				[[ $line =~ \ first=Unknown\ rebound=Unknown$ ]] || {
					echo "acceptance: P4-T1: stealth flows are Unknown: $line"
					bad=1
				}
			done < <(grep -E "^$mode ndpi\.(full|mid)\." "$f")
			;;
		*)
			fv_need "$mode ndpi\.risks equal_to_baseline:.*" "P4-T2: the risks of curl to nginx"
			if grep -E "^$mode ndpi\.risks " "$f" |
				grep -E 'TLS_NOT_CARRYING_HTTPS|TLS_MISSING_SNI|TLS_UNCOMMON_ALPN|KNOWN_PROTOCOL_ON_NON_STANDARD_PORT'; then
				echo "acceptance: P4-T2: a risk a browser's connection would not raise"
				bad=1
			fi
			fv_need "$mode fet\.full exempt=all" "P4-T4/P1-T1: every first TLS payload exempt"
			fv_need "$mode bursts\.tls_in_tls within_baseline\+1pp" "P4-T4: flag rate <= baseline + 1 pp"
			;;
		esac
	done
	unset -f fv_need
	return $bad
}
