/* /metrics: see monitor.h. */
#include "server/monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "api/httpd.h"
#include "server/accounting.h"
#include "server/metrics.h"
#include "server/users.h"
#include "server/server.h"
#include "dataplane/session.h"
#include "util/log.h"

/* The endpoint's bounds: Prometheus scrapes every few seconds with a
 * GET; nothing here needs a body, many connections, or patience. */
#define MON_MAX_BODY	 1024
#define MON_MAX_CONNS	 16
#define MON_TIMEOUT_S	 10
#define MON_PER_IP_PER_S 20
#define MON_BURST	 40
#define MON_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct monitor {
	struct httpd http;
	struct httpd_route route; /* GET /metrics */
	bool running;
	pthread_mutex_t lock;
	/* under lock: the control thread's figures as of its last tick */
	struct metrics_snapshot ctl;
	struct metrics_ledger users;
};

/* ---- the control thread's side ---- */

void monitor_credit(struct server *srv, struct users *u)
{
	struct monitor *m = srv->monitor;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < u->n; i++) {
		struct acct *a = u->v[i].acct;
		if (!a || (!a->mon_up && !a->mon_down))
			continue;
		metrics_ledger_add(&m->users, a->name, &a->mon_slot, a->mon_up, a->mon_down);
		a->mon_up = a->mon_down = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

static void copy_control(struct monitor *m, const struct server *srv)
{
	struct metrics_snapshot *c = &m->ctl;

	c->users = srv->users.n;
	c->connected = srv->connected;
	c->sessions = srv->sessions.count;
	memcpy(c->hs_results, srv->hs_results, sizeof(c->hs_results));
	c->hs_refused_full = srv->hs_refused_full;
	c->auth_unproven = srv->auth_unproven;
	c->src_refused = srv->src_refused;
	c->path_reverts = srv->path_reverts;
	c->cover_sent = srv->cover_sent;
	c->acct_expired = srv->acct_expired;
	c->acct_quota = srv->acct_quota;
	c->acct_refused = srv->acct_refused;
	c->acct_device_refused = srv->acct_device_refused;
}

void monitor_tick(struct server *srv)
{
	struct monitor *m = srv->monitor;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	copy_control(m, srv);
	pthread_mutex_unlock(&m->lock);
}

/* ---- the HTTP thread's side ---- */

static void collect_live(struct server *srv, struct metrics_snapshot *snap)
{
	struct monitor *m = srv->monitor;

	memset(&snap->w, 0, sizeof(snap->w));
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_stats_add(&srv->workers[i], &snap->w);
	snap->has_front = srv->front != NULL;
	if (srv->front)
		front_stats(srv->front, &snap->front);
	snap->has_streams = srv->streams != NULL;
	if (srv->streams) {
		stream_hub_upgrades(srv->streams, snap->upgrades);
		stream_hub_counts(srv->streams, snap->streams);
	}
	snap->has_webhook = srv->webhook != NULL;
	if (srv->webhook)
		webhook_stats(srv->webhook, &snap->webhook);
	httpd_stats(&m->http, &snap->http);
}

static void on_metrics(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	struct server *srv = ctx;
	struct monitor *m = srv->monitor;
	struct metrics_snapshot snap;

	if (req->rest[0]) { /* /metrics/anything */
		httpd_error(res, 404, "not_found", "no such path");
		return;
	}
	pthread_mutex_lock(&m->lock);
	snap = m->ctl;
	collect_live(srv, &snap);
	snap.users_v = m->users.v;
	snap.n_users = m->users.n;
	snap.has_other = m->users.has_other;
	snap.other_rx = m->users.other_rx;
	snap.other_tx = m->users.other_tx;
	res->body = metrics_render(&snap, &res->len); /* reads users under the lock */
	pthread_mutex_unlock(&m->lock);
	if (!res->body) {
		httpd_error(res, 500, "internal", "cannot build the metrics text");
		return;
	}
	res->status = 200;
	res->content_type = MON_CONTENT_TYPE;
}

int monitor_listen(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct monitor *m;
	struct httpd_config hc;
	char err[256] = "";
	int r;

	if (!cfg->enable_metrics)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (metrics_ledger_init(&m->users, cfg->metrics_users) < 0 ||
	    pthread_mutex_init(&m->lock, NULL) != 0) {
		metrics_ledger_free(&m->users);
		free(m);
		return -ENOMEM;
	}
	srv->monitor = m;
	m->route = (struct httpd_route){"GET", "/metrics", on_metrics, srv};
	hc = (struct httpd_config){.address = cfg->metrics_address,
				   .port = cfg->metrics_port,
				   .routes = &m->route,
				   .n_routes = 1,
				   .max_body = MON_MAX_BODY,
				   .max_connections = MON_MAX_CONNS,
				   .timeout_s = MON_TIMEOUT_S,
				   .per_ip_per_s = MON_PER_IP_PER_S,
				   .burst = MON_BURST};
	r = httpd_listen(&m->http, &hc, err, sizeof(err));
	if (r < 0)
		log_error(LOG_GROUP_CORE,
			  "metrics: %s (monitoring.metrics_address, monitoring.metrics_port)", err);
	return r;
}

int monitor_start(struct server *srv)
{
	struct monitor *m = srv->monitor;
	int r;

	if (!m)
		return 0;
	monitor_tick(srv); /* a scrape before the first tick sees the start */
	r = httpd_start(&m->http);
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "metrics: cannot start the HTTP server: %s",
			  strerror(-r));
		return r;
	}
	m->running = true;
	log_info(LOG_GROUP_CORE, "metrics: http %s:%u/metrics", srv->cfg->metrics_address,
		 httpd_port(&m->http));
	return 0;
}

void monitor_stop(struct server *srv)
{
	if (srv->monitor)
		httpd_stop(&srv->monitor->http);
}

void monitor_free(struct server *srv)
{
	struct monitor *m = srv->monitor;

	if (!m)
		return;
	httpd_stop(&m->http);
	pthread_mutex_destroy(&m->lock);
	metrics_ledger_free(&m->users);
	free(m);
	srv->monitor = NULL;
}
