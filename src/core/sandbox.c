/* The daemons' sandbox; the model is in sandbox.h.
 *
 * Capabilities through raw prctl/capset rather than libcap-ng: the drop
 * is eight system calls whose order matters (bounding set while
 * CAP_SETPCAP is still there, groups and gid while CAP_SETGID is, keep-caps
 * across the uid change, then the final sets), each failure is reported
 * by the step and its errno, and nothing is left to a library's
 * thread-local view of the capabilities. */
#include "core/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/errbuf.h"
#include "util/log.h"

/* AddressSanitizer (GCC says so with a macro, clang with a feature). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER 1
#endif
#endif
#ifndef SANITIZER
#define SANITIZER 0
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CREATE_HINT  "useradd --system --no-create-home --shell /usr/sbin/nologin"

bool sandbox_is_sanitizer_build(void)
{
	return SANITIZER;
}

/* ---- whom to become ---- */

bool sandbox_name_ok(const char *name)
{
	size_t n =
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	return name[n] == '\0' && n <= SANDBOX_NAME_MAX && name[0] != '-';
}

static bool is_root_name(const char *name)
{
	return name[0] == '\0' || strcmp(name, "root") == 0;
}

static int lookup_user(const char *table, const char *user, struct passwd *pw, char *buf,
		       size_t len, char *err, size_t err_len)
{
	struct passwd *found = NULL;
	int r = getpwnam_r(user, pw, buf, len, &found);

	if (r != 0)
		return errbuf_set(err, err_len, -r, "%s.user: cannot look up '%s': %s", table, user,
				  strerror(r));
	if (!found)
		return errbuf_set(
		    err, err_len, -ENOENT,
		    "%s.user: no user '%s' on this host; create it with '" CREATE_HINT
		    " %s', or set %s.user = \"root\" to run without dropping privileges",
		    table, user, user, table);
	if (pw->pw_uid == 0)
		return errbuf_set(
		    err, err_len, -EINVAL,
		    "%s.user: '%s' has uid 0; name an unprivileged user (or \"root\" to run "
		    "without dropping privileges)",
		    table, user);
	return 0;
}

static int lookup_group(const char *table, const char *group, gid_t *ret, char *err, size_t err_len)
{
	struct group gr, *found = NULL;
	char buf[4096];
	int r = getgrnam_r(group, &gr, buf, sizeof(buf), &found);

	if (r != 0)
		return errbuf_set(err, err_len, -r, "%s.group: cannot look up '%s': %s", table,
				  group, strerror(r));
	if (!found)
		return errbuf_set(err, err_len, -ENOENT,
				  "%s.group: no group '%s' on this host; create it with 'groupadd "
				  "--system %s' (useradd --system creates the user's own group)",
				  table, group, group);
	if (gr.gr_gid == 0)
		return errbuf_set(
		    err, err_len, -EINVAL,
		    "%s.group: '%s' is gid 0, root's group; name the service's own group", table,
		    group);
	*ret = gr.gr_gid;
	return 0;
}

int sandbox_lookup(const char *table, const char *user, const char *group, struct sandbox_ids *ret,
		   char *err, size_t err_len)
{
	struct passwd pw;
	char buf[4096];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (is_root_name(user))
		return 0;
	r = lookup_user(table, user, &pw, buf, sizeof(buf), err, err_len);
	if (r < 0)
		return r;
	ret->uid = pw.pw_uid;
	ret->gid = pw.pw_gid;
	if (group[0] != '\0')
		r = lookup_group(table, group, &ret->gid, err, err_len);
	else if (ret->gid == 0)
		r = errbuf_set(
		    err, err_len, -EINVAL,
		    "%s.user: '%s' has gid 0 as its group; set %s.group to the service's "
		    "own group",
		    table, user, table);
	ret->drop = r == 0;
	return r;
}

/* ---- the drop ---- */

/* The number of threads of this process (/proc/self/status). */
static int thread_count(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int cap_sets(uint64_t *ret_eff, uint64_t *ret_prm, uint64_t *ret_inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*ret_eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*ret_prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*ret_inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
	    {.effective = (uint32_t)caps, .permitted = (uint32_t)caps},
	    {.effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32)},
	};

	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* Drops every capability but caps from the bounding set (needs
 * CAP_SETPCAP: before the uid changes). EINVAL ends the list. */
static int limit_bounding(uint64_t caps)
{
	for (int cap = 0; cap < 64; cap++) {
		if (caps & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return errno == EINVAL ? 0 : -errno;
	}
	return 0;
}

/* The identity change proper, in the order the kernel needs. */
static int change_ids(const struct sandbox_ids *ids, char *err, size_t err_len)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return errbuf_set(err, err_len, -errno, "cannot clear the ambient capabilities: %s",
				  strerror(errno));
	if (limit_bounding(SANDBOX_CAPS) < 0)
		return errbuf_set(err, err_len, -errno, "cannot limit the bounding set: %s",
				  strerror(errno));
	if (setgroups(0, NULL) < 0)
		return errbuf_set(err, err_len, -errno, "cannot clear the supplementary groups: %s",
				  strerror(errno));
	if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
		return errbuf_set(err, err_len, -errno, "cannot change to gid %u: %s",
				  (unsigned)ids->gid, strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return errbuf_set(err, err_len, -errno, "cannot keep capabilities: %s",
				  strerror(errno));
	if (setresuid(ids->uid, ids->uid, ids->uid) < 0)
		return errbuf_set(err, err_len, -errno, "cannot change to uid %u: %s",
				  (unsigned)ids->uid, strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return errbuf_set(err, err_len, -errno, "cannot reset keep-caps: %s",
				  strerror(errno));
	if (set_caps(SANDBOX_CAPS) < 0)
		return errbuf_set(err, err_len, -errno, "cannot set the capabilities: %s",
				  strerror(errno));
	return 0;
}

/* What must hold afterwards; a failure here is a bug or a kernel that
 * did not do what it said. */
static int check_dropped(const struct sandbox_ids *ids, char *err, size_t err_len)
{
	uint64_t eff = 0, prm = 0, inh = 0;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (cap_sets(&eff, &prm, &inh) < 0 || eff != SANDBOX_CAPS || prm != SANDBOX_CAPS ||
	    inh != 0)
		return errbuf_set(err, err_len, -EPERM,
				  "capabilities not as expected after the drop");
	if (getresuid(&ru, &eu, &su) < 0 || ru != ids->uid || eu != ids->uid || su != ids->uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != ids->gid || eg != ids->gid || sg != ids->gid ||
	    getgroups(0, NULL) != 0)
		return errbuf_set(err, err_len, -EPERM, "ids not as expected after the drop");
	if (setuid(0) == 0 || errno != EPERM)
		return errbuf_set(err, err_len, -EPERM, "root could be regained after the drop");
	return 0;
}

int sandbox_drop(const struct sandbox_ids *ids, char *err, size_t err_len)
{
	int n = thread_count(), r;

	if (n != 1)
		return errbuf_set(err, err_len, -EBUSY,
				  "privileges must be dropped while the process has one thread (it "
				  "has %d)",
				  n);
	r = change_ids(ids, err, err_len);
	if (r == 0)
		r = check_dropped(ids, err, err_len);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = errbuf_set(err, err_len, -errno, "cannot set no_new_privs: %s",
			       strerror(errno));
	/* the uid change already cleared it; a sanitizer build needs it back
	 * for the leak checker's ptrace */
	if (r == 0 && prctl(PR_SET_DUMPABLE, SANITIZER, 0, 0, 0) < 0)
		r = errbuf_set(err, err_len, -errno, "cannot set the dumpable flag: %s",
			       strerror(errno));
	return r;
}

/* ---- the system-call filter ---- */

#define SRV  (1u << SANDBOX_SERVER)
#define CLI  (1u << SANDBOX_CLIENT)
#define BOTH (SRV | CLI)

/* The allow-list, by who needs what: the system calls both daemons made
 * after the drop in strace -f of the whole e2e suite (docs/dataplane.md,
 * "Privileges and sandbox", says how), plus the few that paths the suite
 * does not reach need, each named. */
struct call_group {
	unsigned profiles;
	const int *nr;
	size_t n;
};

#define GROUP(profiles, ...)                                                                       \
	{                                                                                          \
		profiles, (const int[]){__VA_ARGS__},                                              \
		    sizeof((const int[]){__VA_ARGS__}) / sizeof(int)                               \
	}

static const struct call_group groups[] = {
    /* memory: glibc malloc (brk, mmap'd chunks, mremap on realloc of
     * one, trimming), thread stacks and guard pages, OpenSSL */
    GROUP(BOTH, SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	  SCMP_SYS(mprotect), SCMP_SYS(madvise)),
    /* threads (clone: add_clone) and their locks: pthread, the urcu-memb
     * flavour's membarrier; exit of a thread and of the process */
    GROUP(BOTH, SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(membarrier),
	  SCMP_SYS(sched_yield), SCMP_SYS(exit), SCMP_SYS(exit_group)),
    /* signals: masks around thread creation, glibc's handlers, the
     * SIGUSR1 handler's return; abort() (tgkill of itself), so that a
     * failed assertion still dies of SIGABRT */
    GROUP(BOTH, SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	  SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill)),
    /* waiting: liburcu's call_rcu thread polls nothing for 10 ms,
     * libnftables selects on its netlink socket; sleeps */
    GROUP(BOTH, SCMP_SYS(poll), SCMP_SYS(pselect6), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep)),
    /* clocks: the vDSO's fallbacks (a clock source it cannot read) */
    GROUP(BOTH, SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday)),
    /* the event loops: epoll, eventfd/signalfd/TUN reads and writes,
     * logging to stderr; with TUN offloads a read is a readv (header,
     * buffer, overflow) and a coalesced write a writev */
    GROUP(BOTH, SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl), SCMP_SYS(read), SCMP_SYS(write),
	  SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close), SCMP_SYS(fcntl)),
    /* datagrams; netlink (libnftables, rtnetlink; sockets: add_sockets) */
    GROUP(BOTH, SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	  SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	  SCMP_SYS(bind), SCMP_SYS(getsockname)),
    /* files: users.toml on SIGHUP; the state file (a new temporary file,
     * fsync, rename, fsync of the directory); sysctls under /proc/sys/net;
     * libnftables' /etc/iproute2 tables; the *at forms for libcs that use
     * only those */
    GROUP(BOTH, SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
	  SCMP_SYS(fsync), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	  SCMP_SYS(unlink), SCMP_SYS(unlinkat)),
    /* the firewall asks which capabilities it has before nftables calls */
    GROUP(BOTH, SCMP_SYS(capget)),
    /* randomness: OpenSSL's DRBG reseeds from getrandom */
    GROUP(BOTH, SCMP_SYS(getrandom)),
    /* glibc's qsort_r (the users' duplicate check on reload) asks
     * sysconf(_SC_PHYS_PAGES) for sorts of more than 1 KiB: not reached
     * by the suite's few users */
    GROUP(BOTH, SCMP_SYS(sysinfo)),
    /* the client: a new connected socket per path; the DNS helper reaped
     * at exit; the name lookup of its server by getaddrinfo, which the
     * suite (numeric addresses) never makes: nscd's socket, then glibc's
     * resolver (uname for the host name in res_init; ppoll on some libcs;
     * writev for a query over TCP after a truncated answer) */
    GROUP(CLI, SCMP_SYS(connect), SCMP_SYS(wait4), SCMP_SYS(uname), SCMP_SYS(ppoll),
	  SCMP_SYS(writev)),
    /* the server's TCP front (src/front/): accepting, half-closing, and a
     * connection to fallback_site per proxied visitor (socket: add_sockets);
     * it starts after the drop (a thread), so it makes its event loop then */
    GROUP(SRV, SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(shutdown), SCMP_SYS(epoll_create1),
	  SCMP_SYS(eventfd2)),
    /* the user store (src/storage/: SQLite in WAL mode, opened before the
     * drop) on SIGHUP and at exit: pages read and written at offsets, the
     * WAL synced and truncated at checkpoints, SQLite's owner check
     * (geteuid) and its test for a -wal file (access); found by strace of
     * bench-store */
    GROUP(SRV, SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	  SCMP_SYS(geteuid), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2)),
    /* the server's webhook thread (api/webhook.c): libcurl connects with
     * the front's calls above (an IPv4/IPv6 stream socket, connect, poll),
     * then asks the socket for its peer's address (getpeername), which it
     * keeps as the connection's primary IP */
    GROUP(SRV, SCMP_SYS(getpeername)),
};

/* A webhook URL that names a host (not a numeric address): libcurl's
 * threaded resolver, a thread per lookup woken through a socket pair,
 * running glibc's getaddrinfo: /etc/hosts and the NSS modules (files:
 * allowed above), nscd or systemd-resolved over a Unix socket, DNS over
 * UDP (connect, send, poll or ppoll, FIONREAD) and over TCP after a
 * truncated answer (writev), uname for res_init's host name. Only loaded
 * with SANDBOX_RESOLVER: a server with a numeric webhook URL, or none,
 * still has no datagram socket of its own making. */
static const struct call_group resolver_group =
    GROUP(SRV, SCMP_SYS(socketpair), SCMP_SYS(uname), SCMP_SYS(ppoll), SCMP_SYS(writev));

/* The io_uring event loop (io/loop_uring.c): its rings are made before
 * the filter, restricted to poll, read and cancel, and enabled by the
 * thread that runs each (io_uring_register ENABLE_RINGS, once), then
 * waited on (io_uring_enter). No io_uring_setup: no new, unrestricted
 * ring after the drop. Only with SANDBOX_IO_URING. */
static const struct call_group uring_group =
    GROUP(BOTH, SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register));

#if SANITIZER
/* AddressSanitizer's runtime (found the same way: the ASan build under a
 * logging filter, over the e2e suite and a deliberate use after free):
 * each new thread's alternate signal stack and CPU set; at exit
 * LeakSanitizer clones a tracer (add_clone) that lists /proc/self/task
 * (open, getdents), watches its parent and ptraces every thread while
 * the process waits for it (prctl PR_SET_PTRACER; the process stays
 * dumpable); a report reads /proc/self/exe and asks whether stderr is a
 * terminal (add_ioctls), and symbolizes in-process. */
static const struct call_group sanitizer_group = GROUP(
    BOTH, SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity), SCMP_SYS(prctl), SCMP_SYS(getppid),
    SCMP_SYS(open), SCMP_SYS(getdents), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(readlink));
#endif

static int add_group(scmp_filter_ctx ctx, const struct call_group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, g->nr[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* clone only for threads: glibc's pthread_create tries clone3 first,
 * whose flags sit in memory a filter cannot read, so clone3 answers
 * ENOSYS and glibc falls back to clone, where CLONE_THREAD is an
 * argument. No fork, no new process. (LeakSanitizer's tracer is a clone
 * without CLONE_THREAD: sanitizer builds allow any clone.) */
static int add_clone(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);

	if (r < 0)
		return r;
	if (SANITIZER)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0);
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* Sockets by family: netlink for both (nftables, rtnetlink); the client
 * also IPv4/IPv6 (its tunnel socket, DNS lookups) and Unix (the name
 * service: nscd, systemd-resolved); the server IPv4/IPv6 stream sockets
 * only, the front's connections to fallback_site (no new datagram socket). */
static int add_sockets(scmp_filter_ctx ctx, enum sandbox_profile p)
{
	static const int client_families[] = {AF_INET, AF_INET6, AF_UNIX};
	static const int server_families[] = {AF_INET, AF_INET6};
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				 SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));

	for (size_t i = 0; i < ARRAY_LEN(server_families) && r == 0 && p == SANDBOX_SERVER; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)server_families[i]),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));

	for (size_t i = 0; i < ARRAY_LEN(client_families) && r == 0 && p == SANDBOX_CLIENT; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)client_families[i]));
	return r;
}

/* ioctl by request: the client's SIOCGIFINDEX (if_nametoindex of its
 * TUN device, for routes) and FIONREAD (glibc's DNS resolver); in
 * sanitizer builds TCGETS (isatty of stderr, for a report's colours). */
static int add_ioctls(scmp_filter_ctx ctx, enum sandbox_profile p)
{
	static const unsigned long client[] = {SIOCGIFINDEX, FIONREAD};
	int r = 0;

	for (size_t i = 0; i < ARRAY_LEN(client) && r == 0 && p == SANDBOX_CLIENT; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)client[i]));
	if (r == 0 && SANITIZER)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS));
	return r;
}

/* prctl by option: the server's HTTP thread (libmicrohttpd, /metrics)
 * names itself with PR_SET_NAME ("MHD-single"; a thread's comm, nothing
 * more). Sanitizer builds allow every prctl already. */
static int add_prctl(scmp_filter_ctx ctx, enum sandbox_profile p)
{
	if (SANITIZER || p != SANDBOX_SERVER)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)PR_SET_NAME));
}

/* The calls the data path makes per packet or per batch (a TUN read and
 * write per packet, a recvmmsg/sendmmsg per batch, the loop's wait): the
 * filter runs on every system call, so these are tested first. */
static const int hot[] = {
    SCMP_SYS(read),	SCMP_SYS(write),      SCMP_SYS(recvmmsg),
    SCMP_SYS(sendmmsg), SCMP_SYS(epoll_wait), SCMP_SYS(sendmsg),
    SCMP_SYS(futex),	SCMP_SYS(readv),      SCMP_SYS(writev),
};

/* A binary tree over the syscall numbers (libseccomp >= 2.5) rather than
 * a chain of ~70 comparisons, with the hot calls first: the filter runs
 * on every call, and the data path makes one per packet each way until
 * the TUN device is batched (the data-path issue). */
static int speed_up(scmp_filter_ctx ctx)
{
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	for (size_t i = 0; i < ARRAY_LEN(hot) && r == 0; i++)
		r = seccomp_syscall_priority(ctx, hot[i], 255);
	return r;
}

/* The server's name resolution for a webhook URL (resolver_group): Unix
 * sockets (nscd, systemd-resolved), datagram sockets (DNS), FIONREAD. */
static int add_resolver(scmp_filter_ctx ctx)
{
	static const int families[] = {AF_INET, AF_INET6};
	int r = add_group(ctx, &resolver_group);

	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	for (size_t i = 0; i < ARRAY_LEN(families) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)FIONREAD));
	return r;
}

static int build(scmp_filter_ctx ctx, enum sandbox_profile p, unsigned extras)
{
	unsigned bit = 1u << p;
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);

	for (size_t i = 0; i < ARRAY_LEN(groups) && r == 0; i++)
		if (groups[i].profiles & bit)
			r = add_group(ctx, &groups[i]);
#if SANITIZER
	if (r == 0)
		r = add_group(ctx, &sanitizer_group);
#endif
	if (r == 0)
		r = add_clone(ctx);
	if (r == 0)
		r = add_sockets(ctx, p);
	if (r == 0)
		r = add_ioctls(ctx, p);
	if (r == 0 && p == SANDBOX_SERVER && (extras & SANDBOX_RESOLVER))
		r = add_resolver(ctx);
	if (r == 0 && (extras & SANDBOX_IO_URING))
		r = add_group(ctx, &uring_group);
	if (r == 0)
		r = add_prctl(ctx, p);
	if (r == 0)
		r = speed_up(ctx);
	return r;
}

int sandbox_filter(enum sandbox_profile profile, char *err, size_t err_len)
{
	return sandbox_filter_with(profile, 0, err, err_len);
}

int sandbox_filter_with(enum sandbox_profile profile, unsigned extras, char *err, size_t err_len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return errbuf_set(err, err_len, -ENOMEM, "cannot create the system-call filter");
	r = build(ctx, profile, extras);
	if (r < 0)
		errbuf_set(err, err_len, r, "cannot build the system-call filter: %s",
			   strerror(-r));
	else if ((r = seccomp_load(ctx)) < 0)
		errbuf_set(err, err_len, r, "cannot load the system-call filter: %s", strerror(-r));
	seccomp_release(ctx);
	return r;
}

int sandbox_resolve(const char *table, const char *user, const char *group, struct sandbox_ids *ret)
{
	char err[512];
	int r = sandbox_lookup(table, user, group, ret, err, sizeof(err));

	if (r < 0)
		log_error(LOG_GROUP_CORE, "%s", err);
	else if (!ret->drop)
		log_warn(LOG_GROUP_CORE,
			 "%s.user = \"%s\": running as root with every capability and no "
			 "system-call filter; set user = \"lostlove\" (docs/configuration.md)",
			 table, user);
	return r;
}
