/* The client's DNS servers for its tunnel link, through systemd-resolved
 * (`resolvectl dns LINK ADDR...` and `resolvectl domain LINK ~.` so every
 * name goes to them). Without resolvectl nothing is changed and the
 * caller says so: editing /etc/resolv.conf behind a resolver's back is
 * worse than saying "not applied".
 *
 * The client runs as an unprivileged user under a system-call filter that
 * allows no new process (core/sandbox.h), and a child would inherit both.
 * So resolvectl is run by a helper forked while the client is still root,
 * before the drop; it keeps root and has no filter, and does nothing else:
 *
 *   client ── socketpair (SEQPACKET) ──> helper ── posix_spawn ──> resolvectl
 *
 * A request is one fixed-size struct: an operation (apply, revert), the
 * interface name, up to DNS_MAX binary addresses. The helper validates
 * every field again (the name must be the one it was started for; the
 * family and count in range), formats the addresses itself (inet_ntop),
 * and runs resolvectl by absolute path, found in a fixed list of system
 * directories (never $PATH), with an empty environment, stdin on
 * /dev/null, default signal dispositions and mask. It answers with a
 * status and exits when the client's end closes (its exit or its death).
 * It holds no key of the client's: dns_helper_start's in_child wipes them
 * first. One helper per process (module state). */
#ifndef LL_NETWORK_DNS_H
#define LL_NETWORK_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX 8

/* A DNS server address: family AF_INET (4 bytes of addr) or AF_INET6. */
struct dns_server {
	int family;
	uint8_t addr[16];
};

/* The absolute path of resolvectl, or NULL when none of the system
 * directories has it. */
const char *dns_resolvectl_path(void);

/* Forks the helper for interface ifname; in_child(ctx) runs in it first
 * (wipe secrets there). -ENOENT without resolvectl (no helper is started:
 * dns_apply then says -ENOENT), or a negative errno. */
int dns_helper_start(const char *ifname, void (*in_child)(void *ctx), void *ctx);
/* Closes the client's end (the helper exits) and reaps the helper. */
void dns_helper_stop(void);

/* -ENOENT when resolvectl is not installed, -EIO when it failed, -EINVAL
 * for a request the helper refused. */
int dns_apply(const char *ifname, const struct dns_server *servers, unsigned n);
/* Undoes dns_apply (resolvectl revert LINK). */
void dns_revert(const char *ifname);

#endif
