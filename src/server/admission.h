/* Handshake admission on the control thread: the second half of the
 * server's handshake pipeline (docs/protocol.md §8). Workers check mac1,
 * answer cookies under load and apply the per-IP limit, then queue the
 * message (struct hs_item); admission runs handshake_consume_init and
 * handshake_create_response in batches, creates the sessions, persists
 * the accepted timestamps once per batch (group commit) and only then
 * sends the responses. */
#ifndef LL_SERVER_ADMISSION_H
#define LL_SERVER_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "io/udp.h"
#include "protocol/messages.h"

struct server;

/* What a worker hands to the control thread. */
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

/* Takes the waiting handshakes off the queue, at most one batch; returns
 * how many it took (the caller comes back while the queue is not empty). */
unsigned admission_run(struct server *srv);
/* Logs how many fail2ban lines the rate limit cut, at most every 10 s
 * (called from the control thread's timer). */
void admission_report_suppressed(struct server *srv, uint64_t now_ns);

#endif
