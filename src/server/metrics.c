/* The /metrics text from a snapshot: see metrics.h. Pure. */
#include "server/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/prom.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NS_PER_S     1e9

/* A family of one unlabelled sample. */
static void single(struct prom_buf *b, const char *name, enum prom_type type, const char *help,
		   uint64_t v)
{
	prom_family(b, name, type, help);
	prom_sample(b, name, NULL, 0, v);
}

static void labelled(struct prom_buf *b, const char *name, const char *label, const char *value,
		     uint64_t v)
{
	const struct prom_label l = {label, value};
	prom_sample(b, name, &l, 1, v);
}

static void sessions(struct prom_buf *b, const struct metrics_snapshot *s)
{
	single(b, "lostlove_users", PROM_GAUGE, "Enabled users in the user table.", s->users);
	single(b, "lostlove_users_connected", PROM_GAUGE, "Users with a session.", s->connected);
	single(b, "lostlove_sessions", PROM_GAUGE,
	       "Sessions, those not yet confirmed and those replaced but still draining included.",
	       s->sessions);
}

static void handshakes(struct prom_buf *b, const struct metrics_snapshot *s)
{
	prom_family(b, "lostlove_handshakes_total", PROM_COUNTER,
		    "Handshake initiations the control thread processed, by result.");
	for (int r = HS_OK; r < SERVER_HS_RESULTS; r++)
		labelled(b, "lostlove_handshakes_total", "result",
			 handshake_result_name((enum handshake_result)r), s->hs_results[r]);
	single(b, "lostlove_handshake_initiations_total", PROM_COUNTER,
	       "Handshake initiations with a valid mac1 the workers saw.", s->w.initiations);
	single(b, "lostlove_handshakes_queued_total", PROM_COUNTER,
	       "Handshake initiations queued for the control thread.", s->w.handshakes_queued);
	single(b, "lostlove_cookie_replies_total", PROM_COUNTER,
	       "Cookie replies sent (load, or a source over its budget).", s->w.cookie_replies);
	single(b, "lostlove_handshakes_refused_full_total", PROM_COUNTER,
	       "New users refused at max_connections.", s->hs_refused_full);
	single(b, "lostlove_auth_failures_unproven_total", PROM_COUNTER,
	       "Failed handshakes from sources that did not prove their address (no fail2ban "
	       "line).",
	       s->auth_unproven);
}

static void traffic(struct prom_buf *b, const struct metrics_snapshot *s)
{
	prom_family(b, "lostlove_packets_total", PROM_COUNTER,
		    "Transport packets: rx opened from clients, tx datagrams sent to them.");
	labelled(b, "lostlove_packets_total", "direction", "rx", s->w.rx_packets);
	labelled(b, "lostlove_packets_total", "direction", "tx", s->w.tx_packets);
	prom_family(b, "lostlove_bytes_total", PROM_COUNTER,
		    "Bytes of those packets: rx opened from clients, tx sent to them.");
	labelled(b, "lostlove_bytes_total", "direction", "rx", s->w.rx_bytes);
	labelled(b, "lostlove_bytes_total", "direction", "tx", s->w.tx_bytes);
	prom_family(b, "lostlove_drops_total", PROM_COUNTER,
		    "Packets dropped by the workers, by reason (docs/metrics.md).");
	for (int d = DP_DROP_NONE + 1; d < DP_DROP_COUNT; d++)
		labelled(b, "lostlove_drops_total", "reason", dp_drop_name((enum dp_drop)d),
			 s->w.drops[d]);
	single(b, "lostlove_roams_total", PROM_COUNTER, "Session endpoints moved to a new path.",
	       s->w.roams);
	single(b, "lostlove_path_reverts_total", PROM_COUNTER,
	       "Endpoints sent back: their new path was never validated.", s->path_reverts);
	single(b, "lostlove_src_refused_total", PROM_COUNTER,
	       "Datagrams sent from any address: their source address was gone.",
	       s->w.src_refused + s->src_refused);
	single(b, "lostlove_cover_packets_total", PROM_COUNTER,
	       "Cover packets sent (stealth maximum, cover_traffic_rate).", s->cover_sent);
	single(b, "lostlove_chaff_packets_total", PROM_COUNTER,
	       "Handshake chaff packets sent (stealth maximum, handshake_chaff).", s->w.chaff);
}

static void batch_times(struct prom_buf *b, const struct metrics_snapshot *s)
{
	static const uint64_t bounds_ns[WORKER_BATCH_BUCKETS] = WORKER_BATCH_BOUNDS_NS;
	static const char *const paths[WORKER_BATCH_PATHS] = {
	    [WORKER_BATCH_UDP_RX] = "udp_rx", [WORKER_BATCH_TUN_TX] = "tun_tx"};
	double bounds[WORKER_BATCH_BUCKETS];

	for (size_t i = 0; i < WORKER_BATCH_BUCKETS; i++)
		bounds[i] = (double)bounds_ns[i] / NS_PER_S;
	prom_family(b, "lostlove_batch_duration_seconds", PROM_HISTOGRAM,
		    "Time a worker spent on one batch: udp_rx a recvmmsg batch (open, route, TUN "
		    "writes), tun_tx the TUN reads and seals of one wake-up.");
	for (int p = 0; p < WORKER_BATCH_PATHS; p++) {
		const struct prom_label l = {"path", paths[p]};
		prom_histogram(b, "lostlove_batch_duration_seconds", &l, 1, bounds,
			       WORKER_BATCH_BUCKETS, s->w.batch_hist[p],
			       (double)s->w.batch_ns[p] / NS_PER_S);
	}
}

static void user_sample(struct prom_buf *b, const char *user, uint64_t rx, uint64_t tx)
{
	struct prom_label l[2] = {{"user", user}, {"direction", "rx"}};

	prom_sample(b, "lostlove_user_bytes_total", l, 2, rx);
	l[1].value = "tx";
	prom_sample(b, "lostlove_user_bytes_total", l, 2, tx);
}

static void users(struct prom_buf *b, const struct metrics_snapshot *s)
{
	prom_family(
	    b, "lostlove_user_bytes_total", PROM_COUNTER,
	    "Inner bytes forwarded from (rx) and to (tx) a user since the server started, as "
	    "the accounting and the store count them; the first monitoring.metrics_users users to carry traffic have a series "
	    "each, the rest are summed in user=\"(other)\".");
	for (size_t i = 0; i < s->n_users; i++)
		user_sample(b, s->users_v[i].name, s->users_v[i].rx, s->users_v[i].tx);
	if (s->has_other)
		user_sample(b, METRICS_OTHER_USER, s->other_rx, s->other_tx);
}

/* What a censor's probing looks like from here (docs/metrics.md,
 * "Censorship telemetry"): each is also in the families above, gathered
 * by what it means. */
static void censorship(struct prom_buf *b, const struct metrics_snapshot *s)
{
	uint64_t hs_bad = 0, up_bad = 0;

	for (int r = HS_OK + 1; r < SERVER_HS_RESULTS; r++)
		if (r != HS_E_INTERNAL && r != HS_E_REPLAY)
			hs_bad += s->hs_results[r];
	for (int r = UPGRADE_OK + 1; r < UPGRADE_RESULT_COUNT; r++)
		if (r != UPGRADE_E_INTERNAL && r != UPGRADE_E_REPLAY && r != UPGRADE_E_SHAPE &&
		    r != UPGRADE_E_NO_TOKEN)
			up_bad += s->upgrades[r];
	prom_family(b, "lostlove_invalid_handshakes_total", PROM_COUNTER,
		    "Handshakes that failed a check, by where: mac1 (a datagram or frame without a "
		    "valid mac1: not ours, or a probe), handshake (message 1 refused after mac1), "
		    "upgrade (a WebSocket upgrade token refused).");
	labelled(b, "lostlove_invalid_handshakes_total", "stage", "mac1",
		 s->w.drops[DP_DROP_MAC1] + s->streams[STREAM_C_MAC1]);
	labelled(b, "lostlove_invalid_handshakes_total", "stage", "handshake", hs_bad);
	labelled(b, "lostlove_invalid_handshakes_total", "stage", "upgrade", up_bad);
	prom_family(b, "lostlove_replays_total", PROM_COUNTER,
		    "Replays refused: handshake (a message 1 timestamp already seen), upgrade (an "
		    "upgrade nonce already seen), transport (a packet counter already seen).");
	labelled(b, "lostlove_replays_total", "kind", "handshake", s->hs_results[HS_E_REPLAY]);
	labelled(b, "lostlove_replays_total", "kind", "upgrade", s->upgrades[UPGRADE_E_REPLAY]);
	labelled(b, "lostlove_replays_total", "kind", "transport", s->w.drops[DP_DROP_REPLAY]);
	prom_family(
	    b, "lostlove_probes_answered_total", PROM_COUNTER,
	    "TCP connections that were not a tunnel and were answered as the cover site: by "
	    "the fallback_site relay or by the built-in nginx mimic.");
	labelled(b, "lostlove_probes_answered_total", "by", "fallback", s->front.to_fallback);
	labelled(b, "lostlove_probes_answered_total", "by", "mimic", s->front.to_mimic);
	single(b, "lostlove_stealth_drops_total", PROM_COUNTER,
	       "Datagrams that were neither a stealth transport packet nor a stealth handshake "
	       "(stealth on): silence is the answer.",
	       s->w.drops[DP_DROP_STEALTH]);
}

static void front(struct prom_buf *b, const struct metrics_snapshot *s)
{
	const uint64_t *v = (const uint64_t *)&s->front;

	prom_family(b, "lostlove_front_connections_total", PROM_COUNTER,
		    "TCP front connections by event (front.h, struct front_stats).");
	for (size_t i = 0; i < FRONT_STATS_N; i++)
		if (v + i != &s->front.active)
			labelled(b, "lostlove_front_connections_total", "event", front_stat_name(i),
				 v[i]);
	single(b, "lostlove_front_connections_active", PROM_GAUGE,
	       "TCP front connections open now.", s->front.active);
}

static void streams(struct prom_buf *b, const struct metrics_snapshot *s)
{
	prom_family(b, "lostlove_upgrades_total", PROM_COUNTER,
		    "WebSocket upgrades offered to the tunnel, by the token check's result.");
	for (int r = 0; r < UPGRADE_RESULT_COUNT; r++)
		labelled(b, "lostlove_upgrades_total", "result",
			 upgrade_result_name((enum upgrade_result)r), s->upgrades[r]);
	prom_family(b, "lostlove_stream_events_total", PROM_COUNTER,
		    "Stream paths (the tunnel over the TLS front), by event (dataplane/stream.h).");
	for (int c = 0; c < STREAM_C_COUNT; c++)
		labelled(b, "lostlove_stream_events_total", "event",
			 stream_count_name((enum stream_count)c), s->streams[c]);
}

static void limits(struct prom_buf *b, const struct metrics_snapshot *s)
{
	static const char *const name = "lostlove_user_limit_events_total";

	prom_family(b, name, PROM_COUNTER,
		    "Per-user limits applied: expired (a user's expiry passed), quota (cut off or "
		    "throttled at the data limit), handshake_refused (a handshake of an expired or "
		    "cut-off user), device_limit (a handshake of a device beyond the user's "
		    "device_limit live sessions).");
	labelled(b, name, "event", "expired", s->acct_expired);
	labelled(b, name, "event", "quota", s->acct_quota);
	labelled(b, name, "event", "handshake_refused", s->acct_refused);
	labelled(b, name, "event", "device_limit", s->acct_device_refused);
}

static void webhooks(struct prom_buf *b, const struct metrics_snapshot *s)
{
	const struct webhook_stats *w = &s->webhook;

	prom_family(b, "lostlove_webhook_events_total", PROM_COUNTER,
		    "Webhook events: emitted (queued), delivered (acknowledged with a 2xx).");
	labelled(b, "lostlove_webhook_events_total", "outcome", "emitted", w->emitted);
	labelled(b, "lostlove_webhook_events_total", "outcome", "delivered", w->delivered);
	single(b, "lostlove_webhook_attempts_failed_total", PROM_COUNTER,
	       "Delivery attempts that did not get a 2xx (retried with backoff).", w->failed);
	prom_family(b, "lostlove_webhook_dropped_total", PROM_COUNTER,
		    "Webhook events dropped, by reason (api/webhook.h).");
	for (int d = 0; d < WEBHOOK_DROP_COUNT; d++)
		labelled(b, "lostlove_webhook_dropped_total", "reason",
			 webhook_drop_name((enum webhook_drop)d), w->dropped[d]);
	single(b, "lostlove_webhook_pending", PROM_GAUGE,
	       "Events waiting in the outbox, as the webhook thread last saw it.", w->pending);
}

static void http(struct prom_buf *b, const struct metrics_snapshot *s)
{
	static const char *const name = "lostlove_metrics_requests_total";

	prom_family(b, name, PROM_COUNTER, "Requests to this endpoint, by answer.");
	labelled(b, name, "code", "200", s->http.requests);
	labelled(b, name, "code", "404", s->http.not_found);
	labelled(b, name, "code", "405", s->http.bad_method);
	labelled(b, name, "code", "413", s->http.too_large);
	labelled(b, name, "code", "429", s->http.limited);
}

int metrics_ledger_init(struct metrics_ledger *l, size_t max)
{
	*l = (struct metrics_ledger){.max = max};
	l->v = calloc(max ? max : 1, sizeof(*l->v));
	return l->v ? 0 : -ENOMEM;
}

void metrics_ledger_free(struct metrics_ledger *l)
{
	free(l->v);
	*l = (struct metrics_ledger){0};
}

static int32_t ledger_slot(struct metrics_ledger *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return (int32_t)i + 1;
	if (l->n == l->max)
		return METRICS_SLOT_OTHER;
	snprintf(l->v[l->n].name, sizeof(l->v[0].name), "%s", name);
	return (int32_t)++l->n;
}

void metrics_ledger_add(struct metrics_ledger *l, const char *name, int32_t *slot, uint64_t rx,
			uint64_t tx)
{
	if (!rx && !tx)
		return; /* a user gets a series once it carries traffic */
	if (*slot == METRICS_SLOT_NONE)
		*slot = ledger_slot(l, name);
	if (*slot == METRICS_SLOT_OTHER) {
		l->has_other = true;
		l->other_rx += rx;
		l->other_tx += tx;
		return;
	}
	l->v[*slot - 1].rx += rx;
	l->v[*slot - 1].tx += tx;
}

char *metrics_render(const struct metrics_snapshot *s, size_t *len)
{
	struct prom_buf b;

	prom_init(&b);
	sessions(&b, s);
	handshakes(&b, s);
	traffic(&b, s);
	batch_times(&b, s);
	users(&b, s);
	censorship(&b, s);
	if (s->has_front)
		front(&b, s);
	if (s->has_streams)
		streams(&b, s);
	limits(&b, s);
	if (s->has_webhook)
		webhooks(&b, s);
	http(&b, s);
	return prom_take(&b, len);
}
