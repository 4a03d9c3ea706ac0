/* The client's routes through its TUN device, and how they are undone.
 *
 * A listed prefix gets a route through the TUN device in the main table.
 * A default route (0.0.0.0/0 or ::/0) is done the way wg-quick does it,
 * so the tunnel's own UDP packets still leave by the real default route:
 *
 *   ip rule add not fwmark M table T            (everything unmarked -> T)
 *   ip rule add table main suppress_prefixlength 0
 *                                                (but keep the main
 *                                                 table's specific routes)
 *   ip route add default dev TUN table T
 *
 * and the client's UDP socket carries SO_MARK M, so it uses the main
 * table and keeps working when the client roams. The server's answers
 * carry no mark, though, and their source's unmarked route is the tunnel:
 * strict reverse-path filtering would drop them. So, as wg-quick does, an
 * nftables table (network/firewall.h) copies M from the socket's packets
 * to their conntrack entry and back onto the answers, and for IPv4
 * net.ipv4.conf.all.src_valid_mark=1 makes the filter use that mark.
 *
 * struct route_state records what was installed; route_remove undoes
 * exactly that, src_valid_mark included when it was 0 (and is harmless
 * to call twice). */
#ifndef LL_NETWORK_ROUTE_H
#define LL_NETWORK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_FWMARK 0x4c4c /* "LL"; also the table number */
#define ROUTE_MAX    64

/* A destination prefix; family 4 or 6. */
struct route_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
};

struct route_state {
	int ifindex;
	struct route_prefix installed[ROUTE_MAX];
	unsigned n_installed;
	bool default4, default6; /* rules + table route in place */
	bool marks;		 /* the nftables table is loaded */
	bool set_src_valid_mark; /* it was 0: route_remove puts it back */
};

/* Installs routes for prefixes through ifindex (and, with a default
 * route, the marks table). A failing step is reported in err (the first
 * failure) and skipped; returns the number of failures, or a negative
 * errno when nothing could be done. */
int route_apply(struct route_state *st, int ifindex, const struct route_prefix *prefixes,
		unsigned n, char *err, size_t err_len);
void route_remove(struct route_state *st);

#endif
