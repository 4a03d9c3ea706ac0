/* A received UDP message cut into its datagrams, the one receive step
 * both daemons share: on a UDP_GRO socket one message may carry a run of
 * datagrams from one sender, each udp_batch_segment() bytes long but the
 * last; without GRO it is one datagram. The datagrams stay in the
 * message's buffer (opened there, in place).
 *
 *	struct dp_rxcut cut = dp_rxcut_of(b, i, buf);
 *	while (dp_rxcut_next(&cut, &pkt, &len))
 *		...
 *
 * An empty message yields nothing. Pure, inline: no call per datagram. */
#ifndef LL_DATAPLANE_RXCUT_H
#define LL_DATAPLANE_RXCUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/udp.h"

struct dp_rxcut {
	uint8_t *p;
	size_t left, seg;
};

/* Message i of b, received into buf. */
static inline struct dp_rxcut dp_rxcut_of(const struct udp_batch *b, unsigned i, uint8_t *buf)
{
	return (struct dp_rxcut){buf, b->msgs[i].msg_len, udp_batch_segment(b, i)};
}

/* How many datagrams are left (for a caller that drops them all). */
static inline size_t dp_rxcut_count(const struct dp_rxcut *c)
{
	return c->seg ? (c->left + c->seg - 1) / c->seg : 0;
}

/* The next datagram; false when none is left. */
static inline bool dp_rxcut_next(struct dp_rxcut *c, uint8_t **ret_pkt, size_t *ret_len)
{
	size_t n;

	if (c->left == 0 || c->seg == 0)
		return false;
	n = c->left < c->seg ? c->left : c->seg;
	*ret_pkt = c->p;
	*ret_len = n;
	c->p += n;
	c->left -= n;
	return true;
}

#endif
