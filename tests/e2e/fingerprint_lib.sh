# Helpers of the fingerprint scenarios (sourced after lib.sh, not run):
# the captures the censor's tools are applied to, and the NAT rebinding
# that makes a session's flow first seen mid-session. Used by
# fingerprint.sh and fingerprint_corpus.sh. The verdicts themselves are
# tests/tools/verdicts.sh (FP_BAD_PROTOS, fv_*), shared with the check of
# the reference captures.

source "$(dirname "${BASH_SOURCE[0]}")/../tools/verdicts.sh"

# fp_require_tools TOOL...: each must be installed (a missing one fails,
# it does not skip: scripts/install-deps.sh installs them all).
fp_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh installs it)"
	done
}

# fp_capture NAME NS IFACE FILTER...: tcpdump on IFACE in NS into
# $LL_TMP/NAME.pcap, whole packets (-s 1600: the links' MTU is 1500), with
# a 64 MiB buffer (-B, KiB) that holds a whole run, so that tcpdump falling
# behind on a busy machine loses nothing (the kernel's ring has one slot
# per snap length: -s 0 would leave 256 of them). --immediate-mode: each
# packet is read as it comes, so none is still in the ring when tcpdump is
# stopped. -Z root: the files are in LL_TMP. Stop it with
# "stop tcpdump-NAME INT" (or fp_capture_stop NAME), then
# fp_capture_complete NAME. With FP_PACKET_BUFFERED=1, each packet is
# written to the file as it is read (-U), which fp_capture_stop needs.
fp_capture() {
	local name=$1 ns=$2 ifc=$3 ub=()
	shift 3
	[ "${FP_PACKET_BUFFERED:-0}" = 1 ] && ub=(-U)
	spawn "tcpdump-$name" "$ns" tcpdump -i "$ifc" -n -s 1600 -B 65536 --immediate-mode -Z root \
		"${ub[@]}" -w "$LL_TMP/$name.pcap" "$@"
	wait_for_log "tcpdump-$name" "listening on $ifc" 10
}

# fp_capture_stop NAME: once the traffic is over, tcpdump may still have
# packets in the kernel's ring to read (on a loaded machine, many); SIGINT
# would drop them. Waits (up to 10 s) until the file (FP_PACKET_BUFFERED)
# has not grown for half a second, then stops tcpdump.
fp_capture_stop() {
	local f="$LL_TMP/$1.pcap" last=-1 size same=0 end
	end=$(($(now_us) + 10000000))
	while (($(now_us) < end)) && ((same < 5)); do
		size=$(stat -c %s "$f")
		if [ "$size" = "$last" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		last=$size
		sleep 0.1
	done
	stop "tcpdump-$1" INT
}

# fp_capture_complete NAME: a capture that lost packets fails the test: it
# would not be what was on the wire.
fp_capture_complete() {
	local log got seen dropped
	log=$(cat "$(log_of "tcpdump-$1")")
	got=$(sed -nE 's/^([0-9]+) packets captured$/\1/p' <<<"$log")
	seen=$(sed -nE 's/^([0-9]+) packets received by filter$/\1/p' <<<"$log")
	dropped=$(sed -nE 's/^([0-9]+) packets dropped by kernel$/\1/p' <<<"$log")
	[ -n "$got" ] && [ -n "$seen" ] && [ -n "$dropped" ] || fail "tcpdump-$1 did not report its counts: $log"
	# A keepalive arriving while tcpdump stops is counted but not read:
	# up to 3 such packets at the very end are allowed, nothing else.
	[ "$dropped" = 0 ] && [ $((seen - got)) -le 3 ] ||
		fail "the $1 capture is incomplete: $got packets captured of $seen, $dropped dropped"
}

# fp_no_gso NS IFACE...: what a censor sees is what leaves the NIC. The
# daemons send runs of datagrams as one UDP_SEGMENT (GSO) message, which a
# veth passes on unsegmented (tcpdump would see 46 KB "datagrams"); a real
# NIC, or the kernel for one without UDP segmentation offload, cuts it up
# first. One segment per GSO packet makes the kernel do that here, before
# the capture tap.
fp_no_gso() {
	local ns=$1 ifc
	shift
	for ifc in "$@"; do
		n "$ns" ip link set dev "$ifc" gso_max_segs 1
	done
}

# fp_nginx_conf NAME LISTEN BODY [MORE]: $LL_TMP/NAME.conf, an nginx 1.22.1
# in the foreground with Debian's TLS settings (its nginx.conf: all TLS
# versions, server ciphers preferred) and the certificate $LL_TMP/tls.crt
# (key tls.key); its default server on LISTEN has BODY (e.g. "root DIR;"),
# MORE is added to the http block (more server blocks). Run it with
# nginx -e $LL_TMP/NAME-error.log -c $LL_TMP/NAME.conf.
fp_nginx_conf() {
	local name=$1
	mkdir -p "$LL_TMP/$name-body" "$LL_TMP/$name-proxy"
	cat >"$LL_TMP/$name.conf" <<-CONF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $LL_TMP/$name.pid;
		error_log $LL_TMP/$name-error.log;
		events { worker_connections 512; }
		http {
		    include /etc/nginx/mime.types;
		    default_type application/octet-stream;
		    access_log off;
		    client_body_temp_path $LL_TMP/$name-body;
		    proxy_temp_path $LL_TMP/$name-proxy;
		    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
		    ssl_prefer_server_ciphers on;
		    server {
		        listen $2 ssl default_server;
		        ssl_certificate $LL_TMP/tls.crt;
		        ssl_certificate_key $LL_TMP/tls.key;
		        server_name _;
		        $3
		    }
		    ${4:-}
		}
	CONF
}

# NAT rebinding. A stateless rewrite in the client's namespace (nftables,
# no conntrack) moves its outer source port, as a NAT that rebinds does:
# each new port is a new flow to a censor, first seen mid-session, while
# the IP header stays the client kernel's own. The server follows the
# client (roaming).
#
# fp_rebind_start NS SERVER_IP PORT: finds the client's UDP port to
# SERVER_IP:PORT (FP_CPORT) and creates the (empty) rewrite table.
fp_rebind_start() {
	local ns=$1 out
	out=$(nq "$ns" ss -Hun "dst $2 and dport = :$3")
	FP_CPORT=$(awk '{print $(NF - 1)}' <<<"$out" | sed -E 's/.*:([0-9]+)$/\1/' | head -n1)
	[[ $FP_CPORT =~ ^[0-9]+$ ]] || fail "cannot find the client's UDP port in $ns: $out"
	n "$ns" nft add table ip rebind
	n "$ns" nft add chain ip rebind out "{ type filter hook output priority raw; }"
	n "$ns" nft add chain ip rebind in "{ type filter hook prerouting priority raw; }"
}

# fp_rebind NS SERVER_IP PORT CLIENT_PORT NEW_PORT: from now on the
# client's datagrams leave from NEW_PORT (and the answers come back to it).
fp_rebind() {
	local ns=$1 srv=$2 port=$3 cport=$4 new=$5
	nq "$ns" nft flush chain ip rebind out
	nq "$ns" nft flush chain ip rebind in
	nq "$ns" nft add rule ip rebind out ip daddr "$srv" udp sport "$cport" udp dport "$port" \
		notrack udp sport set "$new"
	nq "$ns" nft add rule ip rebind in ip saddr "$srv" udp sport "$port" udp dport "$new" \
		notrack udp dport set "$cport"
}

fp_rebind_end() {
	n "$1" nft delete table ip rebind
}

# fp_tshark_wg_heuristic: research P4-T3's precondition (verdicts.sh).
fp_tshark_wg_heuristic() {
	fv_tshark_wg_heuristic || fail "tshark's wg heuristic is off: the check would prove nothing"
}
