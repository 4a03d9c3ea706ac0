/* The handshake queue: how the data path hands handshakes to the control
 * plane. The data path owns it (the item and the queue's shape); the
 * server's admission (server/admission.c) consumes it. Producers are the
 * workers (a message 1 that passed mac1 and the per-IP budget, by UDP or
 * in a stream's frame) and the stream hub (an upgrade request's message 1
 * or joining packet); one consumer, the control thread. A full queue
 * refuses: the producer counts DP_DROP_HS_QUEUE_FULL. */
#ifndef LL_DATAPLANE_HSQ_H
#define LL_DATAPLANE_HSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/queue.h"
#include "io/udp.h"
#include "protocol/messages.h"

/* One handshake message and where it came from. */
struct hs_item {
	struct udp_endpoint from;
	struct udp_local to; /* the local address it came to: answers leave from it */
	uint16_t worker;     /* whose socket answers */
	/* 0: it came by UDP. Otherwise the stream (dataplane/stream.h) that
	 * carried it, in its upgrade request or as a frame; from is then the
	 * connection's peer, for the limiter and the log, and msg may also be
	 * a transport packet joining an existing session. */
	uint64_t stream;
	uint16_t len;
	uint16_t wire_len; /* of the datagram (stealth: answers are no longer) */
	bool proven;	   /* a valid mac2: the sender receives at its address */
	bool join;	   /* stream: msg is a transport packet joining its session */
	bool answered;	   /* admission's: a stream's request was answered */
	uint8_t msg[INIT_LEN_KEM];
};

/* A queue of capacity struct hs_item. 0 or a negative errno. */
static inline int hsq_init(struct queue *q, size_t capacity)
{
	return queue_init(q, capacity, sizeof(struct hs_item));
}

#endif
