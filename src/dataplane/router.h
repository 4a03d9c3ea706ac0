/* The inner-IP router of the server's receive path: where a packet that
 * came out of a client's tunnel may go.
 *
 *   source address != an address the server assigned to that client
 *                         -> drop (anti-spoofing: a client speaks only for
 *                            its own addresses)
 *   destination is another client's address
 *                         -> that client, if client_to_client; else drop
 *   anything else         -> the TUN device (the host routes it)
 *
 * Pure: the caller supplies the lookup of a client by address (the
 * session table) and gets back the verdict and the destination. */
#ifndef LL_DATAPLANE_ROUTER_H
#define LL_DATAPLANE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tunnel addresses a client owns. */
struct router_owned {
	bool has4, has6;
	uint8_t addr4[4];
	uint8_t addr6[16];
};

/* Finds the client owning addr (4 or 16 bytes); NULL if none. */
typedef void *(*router_lookup_fn)(void *ctx, const uint8_t *addr, size_t len);

enum router_verdict {
	ROUTER_TO_TUN,
	ROUTER_TO_CLIENT,
	ROUTER_DROP_MALFORMED, /* not a whole IPv4/IPv6 header */
	ROUTER_DROP_SPOOFED,   /* source is not the client's */
	ROUTER_DROP_C2C,       /* to another client, client_to_client off */
};

/* Source and destination of an IP packet, pointing into pkt; the address
 * length (4 or 16) is returned, or -EINVAL. */
int router_addrs(const uint8_t *pkt, size_t len, const uint8_t **ret_src, const uint8_t **ret_dst);

/* Decides for a packet from the client owning `own`. *ret_client is the
 * destination client for ROUTER_TO_CLIENT. */
enum router_verdict router_from_client(const struct router_owned *own, const uint8_t *pkt,
				       size_t len, bool client_to_client, router_lookup_fn lookup,
				       void *ctx, void **ret_client);

const char *router_verdict_name(enum router_verdict v);

/* The prefixes the server hands clients their tunnel addresses from. */
struct router_pools {
	bool has4, has6;
	uint8_t net4[4], len4;
	uint8_t net6[16], len6;
};

/* True if addr (4 or 16 bytes; an IPv4-mapped IPv6 address counts as
 * IPv4) lies in a client pool. The server's receive path refuses outer
 * datagrams from such a source: only a packet a client sent through the
 * tunnel has one (the anti-spoofing check above makes every inner source
 * a client's own address), and answering it would loop (docs/dataplane.md,
 * "Routing loops"). */
bool router_in_pool(const struct router_pools *p, const uint8_t *addr, size_t len);

#endif
