/* The control thread's command handlers; see srvcmd.h. */
#include "server/srvcmd.h"

#include "api/webhook_event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/registry.h"
#include "server/server.h"
#include "dataplane/stream.h"
#include "io/loop.h"
#include "protocol/control.h"

#define TAKE_BATCH 16

static uint64_t since_ns(uint64_t now, const uint64_t *then)
{
	uint64_t t = __atomic_load_n(then, __ATOMIC_RELAXED);

	return now > t ? now - t : 0;
}

static void describe(const struct session *s, struct srvcmd_session *d, uint64_t now_ns,
		     uint64_t now_unix_ns)
{
	struct session *m = (struct session *)s; /* the locks only */
	struct udp_endpoint ep;

	memset(d, 0, sizeof(*d));
	d->id = s->conn_id;
	d->index = s->index;
	snprintf(d->user, sizeof(d->user), "%s", s->user_name);
	snprintf(d->device, sizeof(d->device), "%s", s->device);
	pthread_spin_lock(&m->tx_lock); /* a worker may be roaming it */
	ep = s->endpoint;
	pthread_spin_unlock(&m->tx_lock);
	d->stream = stream_is(&ep);
	if (d->stream)
		snprintf(d->endpoint, sizeof(d->endpoint), "tcp:%llu",
			 (unsigned long long)stream_id_of(&ep));
	else
		udp_endpoint_str(&ep, d->endpoint);
	if (s->addrs.has4)
		inet_ntop(AF_INET, s->addrs.addr4, d->addr4, sizeof(d->addr4));
	if (s->addrs.has6)
		inet_ntop(AF_INET6, s->addrs.addr6, d->addr6, sizeof(d->addr6));
	d->confirmed = session_is_confirmed(s);
	d->rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
	d->tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
	d->started_unix = (now_unix_ns - since_ns(now_ns, &s->conn_started_ns)) / LL_NS_PER_S;
	d->idle_ms = since_ns(now_ns, &s->last_rx_ns) / 1000000;
}

/* The session to show for u: the confirmed one while a newer one waits
 * for its first packet, else the newest. */
static const struct session *shown(const struct user *u)
{
	const struct session *s = u->session;

	return s && !session_is_confirmed(s) && s->replaces ? s->replaces : s;
}

static void list_sessions(struct server *srv, struct cmdq_cmd *c)
{
	uint64_t now = loop_now_ns(), unix_now = loop_unix_ns();
	struct srvcmd_sessions *r;
	size_t n = 0;

	r = malloc(sizeof(*r) + (srv->connected + 1) * sizeof(r->v[0]));
	if (!r) {
		c->status = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < srv->users.n && n <= srv->connected; i++) {
		const struct user *u = &srv->users.v[i];
		if (!u->session || (c->name[0] && strcmp(u->cfg.name, c->name) != 0))
			continue;
		describe(shown(u), &r->v[n++], now, unix_now);
	}
	r->n = n;
	c->result = r;
	c->count = n;
}

/* The user's own entry (its devices' entries share its name). */
static struct user *user_by_name(struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->users.n; i++)
		if (strcmp(srv->users.v[i].cfg.name, name) == 0)
			return srv->users.v[i].owner;
	return NULL;
}

static struct user *user_by_conn(struct server *srv, uint64_t id)
{
	for (size_t i = 0; i < srv->users.n; i++) {
		struct user *u = &srv->users.v[i];
		if (u->session && u->session->conn_id == id)
			return u;
	}
	return NULL;
}

/* Ends every session of entry e (one key); its client is told it was
 * kicked. */
static unsigned kick(struct server *srv, struct user *e)
{
	unsigned n = 0;

	while (e->session) {
		registry_retire(srv, e->session, DISCONNECT_KICKED, "kicked by an administrator");
		n++;
	}
	return n;
}

static void kick_cmd(struct server *srv, struct cmdq_cmd *c)
{
	struct user *u;
	unsigned n = 0;

	if (c->kind != CMDQ_KICK_USER) { /* one connection: one device */
		u = user_by_conn(srv, c->id);
		if (u)
			n = kick(srv, u);
	} else if ((u = user_by_name(srv, c->name))) { /* a user: every device */
		for (struct user *e = u; e; e = e->next_device)
			n += kick(srv, e);
	}
	if (!n) {
		c->status = -ENOENT;
		return;
	}
	c->count = n;
}

static void stats_cmd(struct server *srv, struct cmdq_cmd *c)
{
	struct srvcmd_stats *r = calloc(1, sizeof(*r));
	struct worker_stats st = {0};

	if (!r) {
		c->status = -ENOMEM;
		return;
	}
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_stats_add(&srv->workers[i], &st);
	r->uptime_s = (loop_now_ns() - srv->started_ns) / LL_NS_PER_S;
	r->users = srv->users.n;
	r->connected = srv->connected;
	r->sessions = srv->sessions.count;
	r->rx_packets = st.rx_packets;
	r->rx_bytes = st.rx_bytes;
	r->tx_packets = st.tx_packets;
	r->tx_bytes = st.tx_bytes;
	r->handshakes_ok = srv->hs_results[HS_OK];
	for (int i = HS_OK + 1; i < SERVER_HS_RESULTS; i++)
		r->handshakes_failed += srv->hs_results[i];
	r->handshakes_refused_full = srv->hs_refused_full;
	for (int d = DP_DROP_NONE + 1; d < DP_DROP_COUNT; d++)
		r->drops += st.drops[d];
	pthread_mutex_lock(&srv->cmds.lock);
	r->cmd_timeouts = srv->cmds.timeouts;
	r->cmd_refused = srv->cmds.refused;
	pthread_mutex_unlock(&srv->cmds.lock);
	c->result = r;
}

/* A webhook.test event: -ENOTCONN without webhooks, -EAGAIN when the
 * queue is full or the type is filtered out. */
static void webhook_test_cmd(struct server *srv, struct cmdq_cmd *c)
{
	struct webhook_event e = {.type = WEBHOOK_TEST};

	if (!srv->webhook) {
		c->status = -ENOTCONN;
		return;
	}
	snprintf(e.reason, sizeof(e.reason), "test from %.27s", c->name[0] ? c->name : "admin");
	c->status = server_wants(srv, WEBHOOK_TEST) && server_emit_queued(srv, &e) ? 0 : -EAGAIN;
}

static void run_one(struct server *srv, struct cmdq_cmd *c)
{
	c->status = 0;
	switch (c->kind) {
	case CMDQ_HEALTH:
		c->count = srv->sessions.count;
		break;
	case CMDQ_STATS:
		stats_cmd(srv, c);
		break;
	case CMDQ_SESSIONS:
		list_sessions(srv, c);
		break;
	case CMDQ_KICK_SESSION:
	case CMDQ_KICK_USER:
		kick_cmd(srv, c);
		break;
	case CMDQ_RELOAD:
		c->status = server_reload_users(srv);
		c->count = srv->users.n;
		break;
	case CMDQ_WEBHOOK_TEST:
		webhook_test_cmd(srv, c);
		break;
	default:
		c->status = -EINVAL;
	}
}

void srvcmd_run(struct server *srv)
{
	struct cmdq_cmd *batch[TAKE_BATCH];
	size_t n;

	while ((n = cmdq_take(&srv->cmds, batch, TAKE_BATCH)) > 0)
		for (size_t i = 0; i < n; i++) {
			run_one(srv, batch[i]);
			cmdq_reply(&srv->cmds, batch[i]);
		}
}
