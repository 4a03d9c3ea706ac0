/* What /metrics shows (docs/metrics.md lists every metric): a snapshot of
 * the server's counters, and the pure function that turns it into the
 * Prometheus text (api/prom.h). Collecting the snapshot is monitor.c's. */
#ifndef LL_SERVER_METRICS_H
#define LL_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/httpd.h"
#include "api/webhook.h"
#include "server/server.h"
#include "dataplane/stream.h"
#include "dataplane/worker.h"
#include "front/front.h"
#include "front/upgrade.h"

/* One user's bytes since the server started (server's view: rx from the
 * client, tx to it). */
/* The user label of the users past the cap: no user name has '(' */
#define METRICS_OTHER_USER "(other)"

struct metrics_user {
	char name[64];
	uint64_t rx, tx;
};

/* Per-user bytes with a bounded number of series (docs/metrics.md, "Per
 * user"): the first max user names to carry traffic get a series each, for
 * the life of the ledger; the rest are summed in "(other)". A cap, not a
 * top N: every series only grows. Not thread safe (monitor.c locks). */
struct metrics_ledger {
	struct metrics_user *v; /* max entries */
	size_t n, max;
	bool has_other;
	uint64_t other_rx, other_tx;
};

#define METRICS_SLOT_NONE  0 /* a session's series not looked up yet */
#define METRICS_SLOT_OTHER (-1)

int metrics_ledger_init(struct metrics_ledger *l, size_t max);
void metrics_ledger_free(struct metrics_ledger *l);
/* Adds rx/tx bytes to name's series. *slot caches which series a session
 * feeds (METRICS_SLOT_NONE the first time: looked up, or given one). */
void metrics_ledger_add(struct metrics_ledger *l, const char *name, int32_t *slot, uint64_t rx,
			uint64_t tx);

struct metrics_snapshot {
	/* the control thread's, copied on its tick */
	uint64_t users;	    /* in the user table (enabled) */
	uint64_t connected; /* users with a session */
	uint64_t sessions;  /* sessions, pending and draining included */
	uint64_t hs_results[SERVER_HS_RESULTS];
	uint64_t hs_refused_full, auth_unproven, src_refused, path_reverts, cover_sent;
	uint64_t acct_expired, acct_quota, acct_refused; /* per-user limits (accounting.c) */
	uint64_t acct_device_refused;			 /* device_limit (admission.c) */
	/* the workers', summed at the scrape */
	struct worker_stats w;
	/* the TCP front's and its stream paths', when the server has them */
	bool has_front;
	struct front_stats front;
	bool has_streams;
	uint64_t upgrades[UPGRADE_RESULT_COUNT];
	uint64_t streams[STREAM_C_COUNT];
	/* the webhook thread's, when [webhooks] url is set */
	bool has_webhook;
	struct webhook_stats webhook;
	/* the metrics endpoint's own */
	struct httpd_stats http;
	/* per-user bytes: at most the configured number of users by name,
	 * the rest summed in "other" (has_other) */
	const struct metrics_user *users_v;
	size_t n_users;
	bool has_other;
	uint64_t other_rx, other_tx;
};

/* The exposition text (malloc'd, *len bytes), or NULL (out of memory, or
 * a metric name the formatter refused: a bug the unit test catches). */
char *metrics_render(const struct metrics_snapshot *s, size_t *len);

#endif
