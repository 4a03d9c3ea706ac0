/* The daemons' sandbox (DESIGN §7). Both daemons set up, as root, what
 * needs root: the TUN device, the sockets, the firewall; then
 *
 *   sandbox_drop    the process becomes the service user (server.user /
 *                   client.user) and keeps one capability, CAP_NET_ADMIN;
 *   sandbox_filter  a seccomp allow-list of the system calls it still
 *                   makes; any other kills the process (SIGSYS);
 *
 * and only then starts its threads and reads the network.
 *
 * What CAP_NET_ADMIN is still for. Server: removing its nftables table
 * and writing the forwarding sysctls back on exit (/proc/sys/net accepts
 * writes from a holder of CAP_NET_ADMIN in the namespace's user namespace,
 * net_ctl_permissions), and socket buffers beyond net.core.*mem_max.
 * Client: addresses and routes after each handshake, policy rules, the
 * nftables table and src_valid_mark of a full tunnel, SO_MARK on every new
 * socket (roaming), and undoing all of it on exit.
 *
 * Threads. Capabilities, the bounding set, keep-caps and no_new_privs
 * belong to a thread, not the process, and glibc broadcasts
 * setuid/setgid/setgroups to every thread but not capset. So sandbox_drop
 * refuses (-EBUSY) unless the process has exactly one thread; the threads
 * started afterwards (workers, liburcu's call_rcu and hash-table workers)
 * inherit the result. The filter is loaded with TSYNC all the same.
 *
 * Sanitizer builds (ASan): the leak checker ptraces the process at exit
 * from a clone of it. Such builds keep the process dumpable and allow the
 * runtime's calls (sandbox.c); production builds do neither. */
#ifndef LL_CORE_SANDBOX_H
#define LL_CORE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The capabilities kept, as /proc/PID/status shows them: CAP_NET_ADMIN. */
#define SANDBOX_CAPS (UINT64_C(1) << 12)

enum sandbox_profile {
	SANDBOX_SERVER,
	SANDBOX_CLIENT,
};

/* Whom to become. */
struct sandbox_ids {
	bool drop; /* false: user "root" or "": stay root, no sandbox */
	uid_t uid;
	gid_t gid;
};

/* A user or group name the config accepts: up to SANDBOX_NAME_MAX of
 * A-Z a-z 0-9 . _ -, not starting with '-' ("" included). */
#define SANDBOX_NAME_MAX 32
bool sandbox_name_ok(const char *name);

/* Looks up user and group, the values of the keys "<table>.user" and
 * "<table>.group". user "root" or "" means no drop. group "" is the
 * user's own group. Errors (a missing user or group, uid or gid 0 for
 * another name) go to err, naming the key and the fix. 0 or -errno. */
int sandbox_lookup(const char *table, const char *user, const char *group, struct sandbox_ids *ret,
		   char *err, size_t err_len);

/* sandbox_lookup for a daemon's "<table>.user"/"<table>.group", logged:
 * the error, or a warning when the daemon will stay root. 0 or -errno. */
int sandbox_resolve(const char *table, const char *user, const char *group,
		    struct sandbox_ids *ret);

/* Becomes ids->uid/gid with no supplementary groups, keeping exactly
 * SANDBOX_CAPS (effective, permitted, bounding; inheritable and ambient
 * empty); sets no_new_privs and makes the process not dumpable (kept
 * dumpable in sanitizer builds). Checks the result, root included: a
 * setuid(0) must fail. -EBUSY unless single-threaded. */
int sandbox_drop(const struct sandbox_ids *ids, char *err, size_t err_len);

/* Loads the profile's allow-list for every thread; default: kill the
 * process. */
int sandbox_filter(enum sandbox_profile profile, char *err, size_t err_len);
/* The same with extras: SANDBOX_RESOLVER (server) adds what a name lookup
 * needs, for a webhook URL that names a host (sandbox.c, resolver_group). */
#define SANDBOX_RESOLVER 1u
/* SANDBOX_IO_URING (both): io_uring_enter and io_uring_register for the
 * rings made before the filter (io/loop_uring.c); no io_uring_setup. */
#define SANDBOX_IO_URING 2u
int sandbox_filter_with(enum sandbox_profile profile, unsigned extras, char *err, size_t err_len);

/* Whether this is a sanitizer build (dumpable, more system calls). */
bool sandbox_is_sanitizer_build(void);

#endif
