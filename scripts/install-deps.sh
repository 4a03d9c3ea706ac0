#!/usr/bin/env bash
# Installs what LostLove needs to build and test on Debian 12 (run as root).
# Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config
	libssl-dev libcmocka-dev libjansson-dev libcurl4-openssl-dev
	valgrind clang libclang-rt-14-dev clang-format
	python3 python3-cryptography
	libnftables-dev liburcu-dev libmnl-dev libcap-ng-dev libseccomp-dev liburing-dev
	iproute2 nftables iputils-ping netcat-openbsd socat procps kmod zlib1g-dev iperf3
	libndpi-dev libndpi-bin libpcap-dev tshark tcpdump nginx curl openssl
	libqrencode-dev libmicrohttpd-dev zbar-tools
	libsqlite3-dev sqlite3
	# promtool (bookworm ships it only in the prometheus package, 96 MB; its
	# service is not used) and fail2ban-regex, for the metrics and fail2ban tests
	prometheus fail2ban
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
