/* Why the data path dropped a packet: one reason list for both daemons
 * (the server's workers and the client), one counter per reason. The
 * packet paths return DP_DROP_NONE or the reason and their caller counts
 * it; nothing is logged per packet. The names are stable: they are the
 * server's /metrics labels (lostlove_drops_total{reason=...}) and the
 * words of both daemons' SIGUSR1 stats lines. Some reasons only one side
 * can meet (a client receives no handshake initiation, a server no
 * message 2); each says so. */
#ifndef LL_DATAPLANE_DROP_H
#define LL_DATAPLANE_DROP_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/transport.h"

enum dp_drop {
	DP_DROP_NONE = 0,      /* not dropped */
	DP_DROP_TRUNCATED,     /* datagram larger than a buffer */
	DP_DROP_TUNNELLED,     /* came through the tunnel: TUN ifindex or a pool source */
	DP_DROP_OVERSIZED,     /* transport datagram longer than the MTU allows */
	DP_DROP_BAD_TYPE,      /* unknown or unexpected message type */
	DP_DROP_MALFORMED,     /* wrong length or header */
	DP_DROP_MAC1,	       /* handshake without a valid mac1 */
	DP_DROP_RATELIMIT,     /* per-IP handshake limit of a proven (mac2) source */
	DP_DROP_COOKIE_LIMIT,  /* per-source limit of cookie replies */
	DP_DROP_HS_QUEUE_FULL, /* control thread behind */
	DP_DROP_UNKNOWN_INDEX, /* no session has this receiver index */
	DP_DROP_AUTH,	       /* AEAD failure */
	DP_DROP_REPLAY,	       /* counter seen or too old */
	DP_DROP_EXPIRED,       /* key past reject-after-time / counter limit */
	DP_DROP_PLAINTEXT,     /* plaintext neither IP, control nor keepalive */
	DP_DROP_CONTROL,       /* control message malformed, or not for this side */
	DP_DROP_PATH,	       /* path reply answering no outstanding probe */
	DP_DROP_PATH_LIMIT,    /* 3x what an unvalidated path sent us already went there */
	DP_DROP_SPOOFED,       /* inner source is not the client's address */
	DP_DROP_C2C,	       /* to another client, client_to_client off */
	DP_DROP_NO_SESSION,   /* TUN packet no session seals: to an address no client holds; client:
				 not connected */
	DP_DROP_UNCONFIRMED,  /* session not confirmed yet, or its client left */
	DP_DROP_TUN_WRITE,    /* TUN queue full or write error */
	DP_DROP_UDP_SEND,     /* sendmmsg refused it (client: also the stream path's send) */
	DP_DROP_NO_BUFFER,    /* pool empty */
	DP_DROP_SEAL,	      /* seal failed (internal) */
	DP_DROP_STEALTH,      /* stealth: neither a transport packet nor a handshake */
	DP_DROP_STREAM,	      /* for a stream path that is closed or full */
	DP_DROP_RATE_LIMIT,   /* over its user's rate (core/limits.h: a policer) */
	DP_DROP_QUOTA,	      /* its user's data limit is spent (cut off at the next tick) */
	DP_DROP_FQ_OVERLIMIT, /* fair queue full: from its fattest flow (dataplane/fq.h) */
	DP_DROP_FQ_CODEL,     /* waited in the fair queue too long (CoDel), not ECN-capable */
	DP_DROP_HANDSHAKE,    /* client: a message 2 or cookie reply refused */
	DP_DROP_COUNT,
};

const char *dp_drop_name(enum dp_drop d);

/* The reason a failed transport_open/transport_seal result stands for
 * (DP_DROP_NONE for the two successes). */
enum dp_drop dp_drop_of_transport(enum transport_result r);

/* Appends " name=count" for every non-zero counter of drops (an array of
 * DP_DROP_COUNT) to buf at *pos, as far as it fits: the stats lines. */
void dp_drop_format(const uint64_t *drops, char *buf, size_t cap, size_t *pos);

#endif
