#!/usr/bin/env bash
# privdrop: both daemons run as the service user lostlove once set up, with
# CAP_NET_ADMIN only, no_new_privs and a seccomp filter, in every thread
# (docs/dataplane.md, "Privileges and sandbox"); and everything that comes
# after the drop still works:
#   1. /proc/PID/task/*/status of the server (every thread) and the client:
#      Uid and Gid all the service user's, no supplementary groups, CapEff
#      = CapPrm = CapBnd = 0x1000 (CAP_NET_ADMIN), CapInh = CapAmb = 0,
#      NoNewPrivs 1, Seccomp 2; the client's DNS helper is root, unfiltered;
#   2. a handshake after the drop is persisted: lostlove.state, written by
#      the service user, holds alice's timestamp;
#   3. SIGHUP re-reads users.toml (root:lostlove 0640, no "readable by
#      others" warning) and the user it adds connects;
#   4. the client's DNS goes through its helper: resolvectl (a fake one,
#      overlaid on /usr/bin in the client's own mount namespace) runs as
#      root, by absolute path, with an empty environment, and is reverted
#      on exit;
#   5. SIGTERM: the client removes its full tunnel's rules, routes, nft
#      table and src_valid_mark; the server its nftables table and the
#      forwarding sysctls it changed (both sides byte-identical to before);
#   6. refusals with a clear error and status 1: a missing service user
#      (the key and the useradd command named), and a state directory the
#      service user cannot write (the fix named);
#   7. user = "root" keeps root and no filter, with a warning.
#
#   ┌──── cli ──────────────────┐      ┌──── srv ──────────────────┐      ┌──── cli2 ──────────┐
#   │ alice, full tunnel        │      │ server :51820             │      │ bob (after SIGHUP) │
#   │ ll0 10.8.0.2/24           │      │ ll0 10.8.0.1/24           │      │ ll0 10.8.0.3/24    │
#   │ c0 198.51.100.2/24        ├──────┤ s0 198.51.100.1/24        │      │                    │
#   │ mount ns: fake resolvectl │ veth │ s1 203.0.113.1/24         ├──────┤ c0 203.0.113.2/24  │
#   └───────────────────────────┘      └───────────────────────────┘ veth └────────────────────┘
source "$(dirname "$0")/lib.sh" "$@"

CAPS=0000000000001000 # CAP_NET_ADMIN, sandbox.h SANDBOX_CAPS
UID_SVC=$(id -u "$LL_SERVICE_USER")
GID_SVC=$(id -g "$LL_SERVICE_USER")

say "topology"
one_link
ns_add cli2
veth srv s1 cli2 c0
addr srv s1 203.0.113.1/24
addr cli2 c0 203.0.113.2/24

say "keys and configuration"
add_user alice 10.8.0.2 fd00:8::2
write_server_config
write_client_config alice 198.51.100.1:51820 '["0.0.0.0/0", "::/0"]'
sed -i 's/^dns = false$/dns = true/' "$LL_TMP/alice.toml"
grep -q '^dns = true$' "$LL_TMP/alice.toml" || fail "could not set dns = true in alice.toml"
gen_keys bob # added to users.toml later, by SIGHUP
write_client_config bob 203.0.113.1:51820 '["10.8.0.0/24"]'
run ls -ld "$LL_TMP" "$LL_TMP/users.toml" "$LL_TMP/server.key"

# A fake resolvectl, overlaid on /usr/bin in the client's mount namespace
# only: it records who ran it, how, and with what environment.
mkdir "$LL_TMP/fakebin"
cat >"$LL_TMP/fakebin/resolvectl" <<EOF
#!/bin/sh
echo "uid=\$(/usr/bin/id -u) argv0=\$0 args=\$*" >>"$LL_TMP/resolvectl.log"
/usr/bin/env | /usr/bin/sort | /usr/bin/sed 's/^/env: /' >>"$LL_TMP/resolvectl.log"
EOF
chmod 755 "$LL_TMP/fakebin/resolvectl"


# expect_sandboxed NAME PID: every thread of PID as the service user, with
# exactly CAP_NET_ADMIN, no_new_privs and a seccomp filter.
expect_sandboxed() {
	local name=$1 pid=$2 task status n=0 key want got
	for task in /proc/"$pid"/task/*; do
		status=$(cat "$task/status")
		for key in Uid Gid Groups CapEff CapPrm CapBnd CapInh CapAmb NoNewPrivs Seccomp; do
			case $key in
			Uid) want="$UID_SVC $UID_SVC $UID_SVC $UID_SVC" ;;
			Gid) want="$GID_SVC $GID_SVC $GID_SVC $GID_SVC" ;;
			Groups) want="" ;;
			CapEff | CapPrm | CapBnd) want=$CAPS ;;
			CapInh | CapAmb) want=0000000000000000 ;;
			NoNewPrivs) want=1 ;;
			Seccomp) want=2 ;;
			esac
			got=$(awk -v k="$key:" '$1 == k { $1 = ""; sub(/^ /, ""); gsub(/\t/, " "); print }' <<<"$status")
			[ "$got" = "$want" ] ||
				fail "$name thread ${task##*/} ($(awk '$1 == "Name:" {print $2}' <<<"$status")): $key is '$got', expected '$want'"
		done
		n=$((n + 1))
	done
	echo "   $name (pid $pid): $n thread(s), each Uid/Gid $UID_SVC/$GID_SVC, no groups, CapEff/CapPrm/CapBnd $CAPS, NoNewPrivs 1, Seccomp 2"
}

say "the server drops its privileges"
ns_snapshot srv >"$LL_TMP/srv-before.txt"
start_server
wait_for_log server "running as user $LL_SERVICE_USER \(uid $UID_SVC, gid $GID_SVC\) with CAP_NET_ADMIN only, system calls filtered" 5
if log_has "$(log_of server)" 'readable by every user'; then
	fail "users.toml (root:$LL_SERVICE_USER 0640) drew the 'readable by others' warning"
fi
n srv nft list table inet lostlove >/dev/null

say "the client, full tunnel and DNS, drops its privileges"
ns_snapshot cli >"$LL_TMP/cli-before.txt"
export LL_LEAK=do-not-inherit # must not reach resolvectl
spawn client-alice cli unshare -m sh -c \
	"mount -t overlay overlay -o lowerdir=$LL_TMP/fakebin:/usr/bin /usr/bin && exec $LL_CLIENT -c $LL_TMP/alice.toml"
unset LL_LEAK
wait_for_log client-alice '^lostlove-client: connected: ' 30
wait_for_log client-alice "running as uid $UID_SVC, gid $GID_SVC with CAP_NET_ADMIN only" 1
ping_ok cli 10.8.0.1

say "check 1: /proc status of every thread"
expect_sandboxed server "$(pid_of server)"
expect_sandboxed client-alice "$(pid_of client-alice)"
helper=$(pgrep -P "$(pid_of client-alice)" -x lostlove-client || true)
[ -n "$helper" ] || fail "the client has no DNS helper child"
run grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "/proc/$helper/status"
[ "$(awk '$1 == "Uid:" {print $2}' "/proc/$helper/status")" = 0 ] &&
	[ "$(awk '$1 == "Seccomp:" {print $2}' "/proc/$helper/status")" = 0 ] ||
	fail "the DNS helper (pid $helper) should be root and unfiltered: it runs resolvectl"

say "check 2: alice's handshake, after the drop, is on disk"
run ls -l "$LL_TMP/lostlove.state"
[ "$(stat -c %U "$LL_TMP/lostlove.state")" = "$LL_SERVICE_USER" ] ||
	fail "lostlove.state is not the service user's: $(ls -l "$LL_TMP/lostlove.state")"
grep -q "^$(key_of alice pub) [0-9a-f]\{24\}\$" "$LL_TMP/lostlove.state" ||
	fail "lostlove.state holds no timestamp for alice: $(cat "$LL_TMP/lostlove.state")"

say "check 3: SIGHUP adds bob, who connects"
LL_USERS+=("bob 10.8.0.3 fd00:8::3")
write_users
run ls -l "$LL_TMP/users.toml"
from=$(log_lines server)
pretty + kill -HUP server
kill -HUP "$(pid_of server)"
wait_for_log server 'reloaded users: 2 enabled' 10 "$from"
start_client bob cli2
ping_ok cli2 10.8.0.1
grep -q "^$(key_of bob pub) [0-9a-f]\{24\}\$" "$LL_TMP/lostlove.state" ||
	fail "lostlove.state holds no timestamp for bob: $(cat "$LL_TMP/lostlove.state")"
expect_sandboxed server "$(pid_of server)" # the reload and the new session's threads too

say "check 4: DNS through the helper"
wait_until 10 grep -q 'args=domain ll0 ~\.' "$LL_TMP/resolvectl.log"
cat "$LL_TMP/resolvectl.log"
grep -qx 'uid=0 argv0=/usr/bin/resolvectl args=dns ll0 10.8.0.1' "$LL_TMP/resolvectl.log" ||
	fail "resolvectl was not run as root by absolute path with 'dns ll0 10.8.0.1'"
if grep -E '^env: ' "$LL_TMP/resolvectl.log" | grep -Ev '^env: (PWD|SHLVL|_)=' | grep -q .; then
	fail "resolvectl inherited an environment: $(grep '^env: ' "$LL_TMP/resolvectl.log")"
fi

say "check 5: SIGTERM undoes everything, after the drop"
stop_clean client-alice
grep -q 'args=revert ll0' "$LL_TMP/resolvectl.log" || fail "the client's DNS was not reverted on exit"
gone "$helper" 5 || fail "the DNS helper (pid $helper) outlived the client"
ns_snapshot cli >"$LL_TMP/cli-after.txt"
diff -u "$LL_TMP/cli-before.txt" "$LL_TMP/cli-after.txt" >"$LL_TMP/cli.diff" ||
	fail "the client left changes behind (- before, + after):
$(cat "$LL_TMP/cli.diff")"
echo "   client: ip rules, routes of all tables, nft ruleset, net.* sysctls as before it started"
stop_clean client-bob
stop_clean server
ns_snapshot srv >"$LL_TMP/srv-after.txt"
diff -u "$LL_TMP/srv-before.txt" "$LL_TMP/srv-after.txt" >"$LL_TMP/srv.diff" ||
	fail "the server left changes behind (- before, + after):
$(cat "$LL_TMP/srv.diff")"
echo "   server: nftables table gone, net.* sysctls (forwarding) as before it started"

say "check 6: refusals"
# expect_refusal WHAT REGEX CMD...: CMD exits 1 and says REGEX.
expect_refusal() {
	local what=$1 regex=$2 out status=0
	shift 2
	pretty srv "$@"
	out=$(nq srv timeout 20 "$@" 2>&1) || status=$?
	echo "$out" | grep -E 'error' || true
	[ "$status" = 1 ] || fail "$what: exit status $status, expected 1; output:
$out"
	grep -Eq -- "$regex" <<<"$out" || fail "$what: no line matching /$regex/ in:
$out"
}
sed 's/^\[server\]$/[server]\nuser = "ll-no-such-user"/' "$LL_TMP/server.toml" >"$LL_TMP/nouser.toml"
expect_refusal "a missing service user" \
	"^lostlove-server: error: server\.user: no user 'll-no-such-user' on this host; create it with 'useradd --system --no-create-home --shell /usr/sbin/nologin ll-no-such-user'" \
	"$LL_SERVER" -c "$LL_TMP/nouser.toml"
sed 's/^\[client\]$/[client]\nuser = "ll-no-such-user"/' "$LL_TMP/bob.toml" >"$LL_TMP/nouser-client.toml"
expect_refusal "a missing service user (client)" \
	"^lostlove-client: error: client\.user: no user 'll-no-such-user' on this host; create it with 'useradd" \
	"$LL_CLIENT" -c "$LL_TMP/nouser-client.toml"
mkdir -m 0700 "$LL_TMP/closed"
cp -p "$LL_TMP/server.key" "$LL_TMP/users.toml" "$LL_TMP/closed/"
sed "s|$LL_TMP/server.key|$LL_TMP/closed/server.key|; s|$LL_TMP/users.toml|$LL_TMP/closed/users.toml|" \
	"$LL_TMP/server.toml" >"$LL_TMP/closed/server.toml"
expect_refusal "a state directory the service user cannot write" \
	"^lostlove-server: error: $LL_TMP/closed: user $LL_SERVICE_USER cannot write this directory, where it replaces lostlove\.state: 'chgrp $LL_SERVICE_USER $LL_TMP/closed && chmod 1770 $LL_TMP/closed'" \
	"$LL_SERVER" -c "$LL_TMP/closed/server.toml"
n srv nft list tables
if nq srv nft list table inet lostlove >/dev/null 2>&1; then
	fail "the refused server left its nftables table behind"
fi

say "check 7: user = \"root\" keeps root, and says so"
sed 's/^\[server\]$/[server]\nuser = "root"/' "$LL_TMP/server.toml" >"$LL_TMP/root.toml"
spawn server-root srv "$LL_SERVER" -c "$LL_TMP/root.toml"
wait_for_log server-root '^lostlove-server: ready: udp ' 20
wait_for_log server-root '^lostlove-server: warning: server\.user = "root": running as root with every capability and no system-call filter' 1
run grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "/proc/$(pid_of server-root)/status"
[ "$(awk '$1 == "Uid:" {print $2}' "/proc/$(pid_of server-root)/status")" = 0 ] &&
	[ "$(awk '$1 == "Seccomp:" {print $2}' "/proc/$(pid_of server-root)/status")" = 0 ] ||
	fail "with user = \"root\" the server should stay root, unfiltered"
stop_clean server-root
pass
