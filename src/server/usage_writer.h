/* The usage sink (server/accounting.h) into the store, off the control
 * thread.
 *
 * Why: a store write can wait (SQLite's busy timeout is 5 s while another
 * connection holds the lock), and the control thread answers handshakes;
 * and a batch that failed to land must not be dropped (the store is what
 * the quota counts from after a restart).
 *
 * How: usage_writer_put (the control thread's sink) merges a batch into
 * a pending table keyed by public key under a mutex held only for memory
 * work, never for I/O, and wakes the writer thread, which swaps the table
 * out and writes it on its own store connection (storage/store.h: one
 * connection per thread). A write that fails is merged back in front of
 * what came meanwhile and retried with a backoff (100 ms doubling to 5 s):
 * nothing counted is lost while the process lives. The table holds one
 * entry per user with pending usage, so its size is bounded by the number
 * of users whatever the store does. usage_writer_stop drains it: the
 * final batch is written (retried for up to USAGE_WRITER_DRAIN_S) before
 * the thread ends. */
#ifndef LL_SERVER_USAGE_WRITER_H
#define LL_SERVER_USAGE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/accounting.h"

#define USAGE_WRITER_DRAIN_S 10 /* a stop retries a failing final write this long */

struct store;
struct usage_writer;

/* A writer over s, which it owns (closed by usage_writer_free). now: the
 * wall clock for updated_at (NULL: time()). NULL on ENOMEM. */
struct usage_writer *usage_writer_new(struct store *s, int64_t (*now)(void));
/* Starts the thread. 0 or a negative errno. */
int usage_writer_start(struct usage_writer *w);
/* The usage_sink_fn (ctx: the writer). Never blocks on I/O. */
void usage_writer_put(void *ctx, const struct usage_record *v, size_t n, bool final);
/* Drains (see above) and joins the thread. */
void usage_writer_stop(struct usage_writer *w);
/* Stops if started, closes the store, frees. NULL is fine. */
void usage_writer_free(struct usage_writer *w);

/* Counters (any thread). */
struct usage_writer_stats {
	uint64_t writes, failures; /* store transactions tried, and failed */
	uint64_t lost;		   /* records given up at the end of a failing drain */
	size_t pending;		   /* users with usage not yet written */
};
void usage_writer_stats(struct usage_writer *w, struct usage_writer_stats *st);

#endif
