/* Stream paths: WebSocket connections of the TLS front that carry a
 * session (docs/protocol.md §11), glued to the UDP data plane.
 *
 * A stream path is named by a struct udp_endpoint of family
 * STREAM_FAMILY holding the stream's id (ids are never reused), so the
 * session's path rules (roaming, probes, the 3x limit, revert) apply to
 * it unchanged: an authenticated packet from a stream moves the endpoint
 * to it, one from UDP moves it back.
 *
 * Threads.
 *   front thread   owns the connections: the upgrade callback checks the
 *                  token (front/upgrade.h) and hands message 1 (or a
 *                  joining transport packet) to the control thread's
 *                  handshake queue; it reads frames and hands transport
 *                  packets to a worker's inbox (queue.h), and writes what
 *                  is queued for a stream as frames.
 *   control thread admission answers (stream_accept / stream_refuse) and
 *                  sends keepalives, CONFIG and probes (stream_send).
 *   workers        open inbox packets with the UDP receive path (rx.c,
 *                  tagged with the stream's endpoint), and seal for a
 *                  stream endpoint as for UDP: worker_send hands the packet
 *                  to stream_send.
 * stream_send never blocks on a connection: it copies the packet into the
 * stream's bounded ring (a mutex held for one memcpy) and wakes the front
 * thread; a full ring or a closed stream drops the packet and counts it.
 * A closed connection is a path gone: the session lives on, and the
 * client's next packet (UDP or another connection) moves it. */
#ifndef LL_DATAPLANE_STREAM_H
#define LL_DATAPLANE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/udp.h"

/* Not an address family the kernel knows: a udp_endpoint naming a stream. */
#define STREAM_FAMILY 0x4c4c
/* Largest message a stream carries (message 1 with ML-KEM is the largest
 * thing a client sends before the MTU matters; transport packets are
 * bounded by the server's max_transport, at most this). */
#define STREAM_PKT_MAX 2048

static inline void stream_endpoint(struct udp_endpoint *ep, uint64_t id)
{
	memset(ep, 0, sizeof(*ep));
	ep->sa.sa_family = STREAM_FAMILY;
	memcpy(&ep->in6.sin6_addr, &id, sizeof(id));
	ep->len = sizeof(ep->in6);
}

static inline bool stream_is(const struct udp_endpoint *ep)
{
	return ep->sa.sa_family == STREAM_FAMILY;
}

static inline uint64_t stream_id_of(const struct udp_endpoint *ep)
{
	uint64_t id;
	memcpy(&id, &ep->in6.sin6_addr, sizeof(id));
	return id;
}

/* A packet from a stream, for a worker's inbox. */
struct stream_pkt {
	uint64_t id;
	struct udp_endpoint peer; /* the connection's (for message 1's guards) */
	uint16_t len;
	uint8_t data[STREAM_PKT_MAX];
};

/* Why a stream's packet was not sent or taken; counted per reason. */
enum stream_count {
	STREAM_C_UPGRADES,   /* upgrade requests offered by the front */
	STREAM_C_LOOP,	     /* from a client's tunnel address: declined */
	STREAM_C_FULL,	     /* no free stream slot: declined */
	STREAM_C_MAC1,	     /* message 1 without a valid mac1: declined */
	STREAM_C_RATELIMIT,  /* per-IP handshake limit: declined */
	STREAM_C_HS_QUEUE,   /* handshake queue full: declined */
	STREAM_C_BAD_MSG,    /* token held neither message 1 nor transport */
	STREAM_C_ADOPTED,    /* answered with 101 */
	STREAM_C_REFUSED,    /* admission said no: declined to the fallback */
	STREAM_C_TIMEOUT,    /* admission did not answer in time: declined */
	STREAM_C_RX_FRAMES,  /* binary frames received */
	STREAM_C_RX_INBOX,   /* dropped: the worker's inbox was full */
	STREAM_C_RX_BAD,     /* frames closing the connection (protocol error) */
	STREAM_C_TX_PACKETS, /* packets queued for a stream */
	STREAM_C_TX_GONE,    /* dropped: the stream is closed */
	STREAM_C_TX_FULL,    /* dropped: the stream's ring is full */
	STREAM_C_CLOSED,     /* connections ended */
	STREAM_C_COUNT,
};

struct front;
struct queue;
struct ratelimit;
struct cookie_secrets;
struct router_pools;
struct upgrade_request;

struct stream_hub_config {
	const uint8_t *server_pub; /* 32 bytes */
	unsigned max_streams;
	size_t ring_bytes; /* per stream, to the client */
	struct queue *hs_queue;
	struct queue *inboxes; /* one per worker */
	unsigned n_inboxes;
	struct ratelimit *hs_proven;
	struct cookie_secrets *cookie;
	const struct router_pools *pools;
	const char *server_header; /* "nginx/1.22.1", or NULL for none */
	bool stealth; /* the session's wire format is stealth's (docs/protocol.md §12) */
};

struct stream_hub;

struct stream_hub *stream_hub_new(const struct stream_hub_config *cfg);
/* Registers the upgrade callback with the front (before connections). */
void stream_hub_attach(struct stream_hub *h, struct front *f);
/* After front_stop (no callback runs any more). */
void stream_hub_free(struct stream_hub *h);

/* Any thread: queue a sealed message for stream id (copied). 0, or
 * -EPIPE (closed), -ENOBUFS (ring full); counted either way. */
int stream_send(struct stream_hub *h, uint64_t id, const uint8_t *msg, size_t len);
/* Control thread: message 1 or the joining packet of stream id was
 * accepted; msg (message 2) or NULL (a join) follows the 101. On a stream
 * already open, msg is sent as a frame (a rekey). */
void stream_accept(struct stream_hub *h, uint64_t id, const uint8_t *msg, size_t len);
/* Control thread: refused; a stream still waiting goes to the fallback. */
void stream_refuse(struct stream_hub *h, uint64_t id);

void stream_hub_counts(const struct stream_hub *h, uint64_t out[STREAM_C_COUNT]);
/* Upgrade requests by result (front/upgrade.h, enum upgrade_result). */
void stream_hub_upgrades(const struct stream_hub *h, uint64_t *out);
const char *stream_count_name(enum stream_count c);

#endif
