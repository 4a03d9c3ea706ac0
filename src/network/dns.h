/* The client's DNS servers for its tunnel link, through systemd-resolved
 * (`resolvectl dns LINK ADDR...` and `resolvectl domain LINK ~.` so every
 * name goes to them). Without resolvectl nothing is changed and the
 * caller says so: editing /etc/resolv.conf behind a resolver's back is
 * worse than saying "not applied". */
#ifndef LL_NETWORK_DNS_H
#define LL_NETWORK_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX 8

/* Addresses as text ("10.8.0.1", "fd00::1"). -ENOENT when resolvectl is
 * not installed, -EIO when it failed. */
int dns_apply(const char *ifname, const char *const servers[], unsigned n);
/* Undoes dns_apply (resolvectl revert LINK). */
void dns_revert(const char *ifname);

#endif
