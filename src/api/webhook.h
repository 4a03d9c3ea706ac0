/* Webhooks: signed JSON events POSTed to an operator's URL, with retries,
 * through a persistent outbox (docs/webhooks.md).
 *
 * Threads. The server's control thread (the producer) calls webhook_emit:
 * the event is filtered by type and copied into a bounded queue under a
 * mutex held for one memcpy; a full queue drops it and counts it. Nothing
 * on the producer side allocates, formats, writes a file or waits on the
 * network. Workers never call it.
 *
 * The webhook thread (webhook_start) owns everything else: it moves queued
 * events into the outbox (the JSON body and its id are made here, then the
 * batch is fsync'd), and delivers the outbox's due events one at a time
 * with libcurl's multi interface, so it can keep draining the queue, and
 * stop at once, while a receiver is slow. A 2xx answer removes the event;
 * anything else (another status, a refused connection, a timeout) schedules
 * it again after webhook_backoff; an event older than max_age is dropped
 * and counted. At stop, what is still queued goes into the outbox first,
 * so a clean shutdown loses nothing and the next start delivers it.
 *
 * Setup order, for the sandbox (core/sandbox.c): webhook_new while the
 * process is root and single-threaded (curl_global_init is not thread
 * safe; the secret file may be root's), webhook_start after the privilege
 * drop like every other thread. */
#ifndef LL_API_WEBHOOK_H
#define LL_API_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/webhook_event.h"
#include "api/webhook_outbox.h"

#define WEBHOOK_URL_MAX	   512
#define WEBHOOK_SECRET_MAX 256
#define WEBHOOK_NODE_MAX   64

struct webhook_config {
	const char *url; /* http:// or https:// */
	const uint8_t *secret;
	size_t secret_len;
	uint32_t events;     /* 1 << enum webhook_type */
	uint32_t timeout_s;  /* a delivery's total time; connecting gets at most half */
	uint32_t max_queue;  /* bound of the queue, and of the outbox */
	uint32_t max_age_s;  /* an undelivered event is dropped after this */
	const char *node;    /* the "node" of every event */
	bool tls_verify;     /* https: the peer's certificate and name (default on) */
	const char *ca_file; /* "" = the system's CA bundle */
};

/* Why an event was dropped (webhook_stats.dropped). */
enum webhook_drop {
	WEBHOOK_DROP_QUEUE_FULL,  /* the producer queue was full */
	WEBHOOK_DROP_OUTBOX_FULL, /* max_queue events already waited in the outbox */
	WEBHOOK_DROP_EXPIRED,	  /* undelivered for max_age */
	WEBHOOK_DROP_ERROR,	  /* it could not be written (body, outbox I/O) */
	WEBHOOK_DROP_COUNT,
};
const char *webhook_drop_name(enum webhook_drop d);

struct webhook_stats {
	uint64_t emitted;   /* accepted into the queue */
	uint64_t delivered; /* acknowledged with a 2xx */
	uint64_t failed;    /* attempts that did not get a 2xx */
	uint64_t dropped[WEBHOOK_DROP_COUNT];
	uint64_t pending; /* in the outbox, at the last look */
};

struct webhook;

/* Copies cfg. NULL on failure, with err set. Events emitted before
 * webhook_start wait in the queue. */
struct webhook *webhook_new(const struct webhook_config *cfg, char *err, size_t err_len);
/* Starts the webhook thread on outbox, which it owns from here on (closed
 * by webhook_free, even on failure): the server's opens the thread's own
 * store connection after the privilege drop. 0 or a negative errno. */
int webhook_start(struct webhook *w, struct webhook_outbox *outbox);
/* Producer side (one thread: the control thread). Stamps nothing: the
 * caller fills e (time included). false if filtered out or dropped. */
bool webhook_emit(struct webhook *w, const struct webhook_event *e);
/* Whether a type passes the events filter (to skip building an event). */
bool webhook_wants(const struct webhook *w, enum webhook_type t);
/* Stops the thread after moving what is queued into the outbox; an
 * attempt in flight is abandoned (it is tried again at the next start). */
void webhook_stop(struct webhook *w);
void webhook_free(struct webhook *w);
/* A snapshot of the counters (any thread). */
void webhook_stats(const struct webhook *w, struct webhook_stats *ret);

#endif
