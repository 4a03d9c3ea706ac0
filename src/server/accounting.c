/* Per-user accounting and limits in the running server; the model is in
 * accounting.h. Control thread only, but for acct_add_tail. */
#include "server/accounting.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server/admission.h"
#include "server/monitor.h"
#include "server/registry.h"
#include "server/server.h"
#include "io/loop.h"
#include "protocol/control.h"
#include "util/log.h"

static usage_sink_fn sink_fn;
static void *sink_ctx;

void server_set_usage_sink(usage_sink_fn fn, void *ctx)
{
	sink_fn = fn;
	sink_ctx = ctx;
}

int64_t accounting_now(const struct server *srv)
{
	return (int64_t)(loop_unix_ns() / LL_NS_PER_S) + srv->clock_offset_s;
}

/* ---- one user ---- */

static struct acct *acct_new(const struct config_user *c)
{
	size_t size = (sizeof(struct acct) + 63) / 64 * 64;
	struct acct *a = aligned_alloc(64, size);

	if (!a)
		return NULL;
	memset(a, 0, size);
	a->budget = ACCT_UNLIMITED;
	memcpy(a->key, c->public_key, 32);
	snprintf(a->name, sizeof(a->name), "%s", c->name);
	a->limits = c->limits;
	a->usage = c->usage; /* what the store counted before this run */
	a->flushed_period = a->usage.period_start;
	a->flushed_first = a->usage.first_connect;
	return a;
}

static void acct_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct acct, rcu));
}

/* The policers follow the state: the user's rate, the throttle, or none. */
static void apply_rate(struct server *srv, struct acct *a)
{
	uint64_t rate = limits_effective_rate(&a->limits, srv->cfg->rate_limit_per_user, a->state);

	if (rate == a->rate && (a->up.ns_per_byte != 0) == (rate != 0))
		return;
	a->rate = rate;
	limits_bucket_set(&a->up, rate, 0);
	limits_bucket_set(&a->down, rate, 0);
}

/* The data path's budget for a cut-off (accounting.h): set when the
 * period or the limit changes, never in between (the workers spend it;
 * setting it from the folded count, a tick behind them, would hand the
 * last tick's bytes out twice). */
static void apply_budget(struct acct *a)
{
	const struct user_limits *l = &a->limits;
	int64_t left;

	if (!l->data_limit || l->action != LIMITS_ACTION_CUTOFF) {
		a->budget_limit = 0;
		__atomic_store_n(&a->budget, ACCT_UNLIMITED, __ATOMIC_RELAXED);
		return;
	}
	if (a->budget_limit == l->data_limit && a->budget_period == a->usage.period_start)
		return;
	a->budget_limit = l->data_limit;
	a->budget_period = a->usage.period_start;
	left = l->data_limit > a->usage.period_bytes
		   ? (int64_t)(l->data_limit - a->usage.period_bytes)
		   : 0;
	__atomic_store_n(&a->budget, left, __ATOMIC_RELAXED);
}

static void fold(struct acct *a, uint64_t up, uint64_t down)
{
	a->usage.up += up;
	a->usage.down += down;
	a->usage.period_bytes += up + down;
	a->flush_up += up;
	a->flush_down += down;
	a->mon_up += up;
	a->mon_down += down;
}

static void fold_tail(struct acct *a)
{
	uint64_t up = __atomic_exchange_n(&a->tail_up, 0, __ATOMIC_RELAXED);
	uint64_t down = __atomic_exchange_n(&a->tail_down, 0, __ATOMIC_RELAXED);

	if (up || down)
		fold(a, up, down);
}

static void fold_session(struct session *s)
{
	uint64_t up = __atomic_load_n(&s->up_bytes, __ATOMIC_RELAXED);
	uint64_t down = __atomic_load_n(&s->down_bytes, __ATOMIC_RELAXED);

	if (!s->acct)
		return;
	fold(s->acct, up - s->seen_up, down - s->seen_down);
	s->seen_up = up;
	s->seen_down = down;
}

/* ---- flushing ---- */

static void flush(struct server *srv, const struct users *users, bool final)
{
	struct usage_record batch[64];
	size_t n = 0;

	for (size_t i = 0; i < users->n; i++) {
		struct acct *a = users->v[i].acct;
		if (!a ||
		    (!a->flush_up && !a->flush_down && a->flushed_period == a->usage.period_start &&
		     a->flushed_first == a->usage.first_connect))
			continue;
		struct usage_record *r = &batch[n++];
		memcpy(r->name, a->name, sizeof(r->name));
		memcpy(r->key, a->key, 32);
		r->up = a->flush_up;
		r->down = a->flush_down;
		r->total = a->usage;
		r->state = a->state;
		r->new_period = a->flushed_period != a->usage.period_start;
		r->new_first = a->flushed_first != a->usage.first_connect;
		a->flushed_period = a->usage.period_start;
		a->flushed_first = a->usage.first_connect;
		a->flush_up = a->flush_down = 0;
		log_debug(LOG_GROUP_CORE, "usage of %s: +%" PRIu64 " up, +%" PRIu64 " down",
			  a->name, r->up, r->down);
		if (n == sizeof(batch) / sizeof(batch[0])) {
			if (sink_fn)
				sink_fn(sink_ctx, batch, n, false);
			n = 0;
		}
	}
	if (sink_fn && (n || final))
		sink_fn(sink_ctx, batch, n, final);
	srv->acct_flushed_ns = loop_now_ns();
}

/* ---- decisions ---- */

static void log_state(struct server *srv, const struct acct *a, enum limits_state was)
{
	char name[96];

	(void)srv;
	log_quote(name, sizeof(name), a->name);
	switch (a->state) {
	case LIMITS_EXPIRED:
		log_info(LOG_GROUP_CORE, "user %s expired: sessions ended, handshakes refused",
			 name);
		break;
	case LIMITS_CUT_OFF:
		log_info(LOG_GROUP_CORE,
			 "user %s reached its data limit (%" PRIu64 " of %" PRIu64
			 " bytes): cut off until the period rolls over",
			 name, a->usage.period_bytes, a->limits.data_limit);
		break;
	case LIMITS_THROTTLED:
		log_info(LOG_GROUP_CORE,
			 "user %s reached its data limit (%" PRIu64 " of %" PRIu64
			 " bytes): throttled to %" PRIu64 " bytes/s",
			 name, a->usage.period_bytes, a->limits.data_limit, a->rate);
		break;
	case LIMITS_OK:
		log_info(LOG_GROUP_CORE, "user %s: limits lifted (%s before)", name,
			 limits_state_name(was));
		break;
	}
}

/* Ends every session of u, on every key (its own and its devices'): the
 * current one, the one it replaces, and replaced ones still draining
 * (they still receive). */
static void end_sessions(struct server *srv, struct user *u, uint8_t reason, const char *why)
{
	struct session *next;

	for (struct user *e = u; e; e = e->next_device)
		while (e->session)
			registry_retire(srv, e->session, reason, why);
	for (struct session *d = srv->draining; d; d = next) {
		next = d->next_pending;
		if (d->acct == u->acct)
			registry_retire(srv, d, 0, NULL);
	}
}

static void enforce(struct server *srv, struct user *u)
{
	struct acct *a = u->acct;

	if (a->state == LIMITS_EXPIRED)
		end_sessions(srv, u, DISCONNECT_EXPIRED, "expired");
	else if (a->state == LIMITS_CUT_OFF)
		end_sessions(srv, u, DISCONNECT_QUOTA, "over its data limit");
}

/* Counted, and the webhook events (docs/webhooks.md). */
static void notify(struct server *srv, const struct acct *a)
{
	int64_t at = a->limits.expires;

	if (a->state == LIMITS_EXPIRED) {
		srv->acct_expired++;
		if (!at || (a->limits.expires_after && a->usage.first_connect &&
			    a->usage.first_connect + (int64_t)a->limits.expires_after < at))
			at = a->usage.first_connect + (int64_t)a->limits.expires_after;
		server_emit_expired(srv, a->name, at);
	} else if (a->state != LIMITS_OK) {
		srv->acct_quota++;
		server_emit_quota_exceeded(srv, a->name, (int64_t)a->usage.period_bytes,
					   (int64_t)a->limits.data_limit,
					   a->state == LIMITS_THROTTLED ? "throttle" : "cutoff");
	}
}

static void evaluate(struct server *srv, struct user *u, int64_t now)
{
	struct acct *a = u->acct;
	enum limits_state was = a->state;

	(void)limits_roll(&a->usage, &a->limits, now);
	a->state = limits_check(&a->limits, &a->usage, now);
	apply_rate(srv, a);
	apply_budget(a);
	if (a->state != was) {
		a->refusal_logged = false;
		log_state(srv, a, was);
		notify(srv, a);
	}
	enforce(srv, u);
}

void accounting_tick(struct server *srv)
{
	int64_t now = accounting_now(srv);
	struct cds_lfht_iter iter;
	struct session *s;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(srv->sessions.by_index, &iter, s, by_index) fold_session(s);
	urcu_memb_read_unlock();
	for (size_t i = 0; i < srv->users.n; i++) {
		struct user *u = &srv->users.v[i];
		if (!u->acct)
			continue;
		fold_tail(u->acct);
		evaluate(srv, u, now);
	}
	monitor_credit(srv, &srv->users);
	if (loop_now_ns() - srv->acct_flushed_ns >= (uint64_t)ACCT_FLUSH_S * LL_NS_PER_S)
		flush(srv, &srv->users, false);
}

/* ---- admission ---- */

bool accounting_admit(struct server *srv, struct user *e, const struct hs_item *item)
{
	struct user *u = e->owner; /* limits are the user's, whichever device */
	struct acct *a = u->acct;

	if (!a)
		return true;
	fold_tail(a);
	evaluate(srv, u, accounting_now(srv)); /* exact at this instant, not at the last tick */
	if (a->state != LIMITS_EXPIRED && a->state != LIMITS_CUT_OFF)
		return true;
	srv->acct_refused++;
	/* once per episode: a client retries every few seconds. The
	 * fail2ban line names only a source that proved its address (see
	 * admission.c); otherwise the user is named without one. */
	if (!a->refusal_logged) {
		/* one word each: the fail2ban filter matches a fixed word
		 * and deliberately not these (contrib/fail2ban) */
		const char *why = a->state == LIMITS_EXPIRED ? "user-expired" : "over-quota";
		char name[96];

		a->refusal_logged = true;
		if (item->proven)
			log_auth_failure(&item->from.sa, why);
		else
			log_info(LOG_GROUP_AUTH, "handshake of user %s refused: %s",
				 log_quote(name, sizeof(name), a->name), why);
	}
	return false;
}

void accounting_connected(struct server *srv, struct user *e)
{
	struct user *u = e->owner;

	if (u->acct && !u->acct->usage.first_connect)
		u->acct->usage.first_connect = accounting_now(srv);
}

/* ---- the table ---- */

int accounting_init(struct server *srv, struct users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		if (u->v[i].owner != &u->v[i])
			continue; /* a device: its user's acct counts */
		u->v[i].acct = acct_new(&u->v[i].cfg);
		if (!u->v[i].acct)
			return -ENOMEM;
		u->v[i].acct->state = LIMITS_OK;
		(void)limits_roll(&u->v[i].acct->usage, &u->v[i].acct->limits, accounting_now(srv));
		apply_rate(srv, u->v[i].acct);
	}
	return 0;
}

int accounting_rebind(struct server *srv, struct users *fresh)
{
	for (size_t i = 0; i < fresh->n; i++) {
		struct user *nu = &fresh->v[i];
		struct user *old = users_find(&srv->users, nu->cfg.public_key);
		if (nu->owner != nu)
			continue; /* a device: its user's acct counts */
		if (old && old->acct) {
			nu->acct = old->acct;
			old->acct = NULL;
			nu->acct->limits = nu->cfg.limits;
			snprintf(nu->acct->name, sizeof(nu->acct->name), "%s", nu->cfg.name);
			continue;
		}
		nu->acct = acct_new(&nu->cfg);
		if (!nu->acct)
			goto fail;
		(void)limits_roll(&nu->acct->usage, &nu->acct->limits, accounting_now(srv));
		apply_rate(srv, nu->acct);
	}
	return 0;
fail:
	/* give the moved ones back; free the new ones (never published) */
	for (size_t i = 0; i < fresh->n; i++) {
		struct user *nu = &fresh->v[i];
		struct user *old = users_find(&srv->users, nu->cfg.public_key);
		if (!nu->acct)
			continue;
		if (old && !old->acct) {
			old->acct = nu->acct;
			old->acct->limits = old->cfg.limits;
		} else
			free(nu->acct);
		nu->acct = NULL;
	}
	return -ENOMEM;
}

/* The users left in the old table after a rebind are gone: their last
 * usage leaves in a flush, then their accts are freed after their
 * sessions' callbacks (queued before: registry_rebind ended them). */
void accounting_release(struct server *srv, struct users *old)
{
	for (size_t i = 0; i < old->n; i++)
		if (old->v[i].acct)
			fold_tail(old->v[i].acct);
	monitor_credit(srv, old);
	flush(srv, old, false);
	for (size_t i = 0; i < old->n; i++) {
		if (old->v[i].acct)
			urcu_memb_call_rcu(&old->v[i].acct->rcu, acct_free_rcu);
		old->v[i].acct = NULL;
	}
}

void accounting_done(struct server *srv)
{
	for (size_t i = 0; i < srv->users.n; i++)
		if (srv->users.v[i].acct)
			fold_tail(srv->users.v[i].acct);
	flush(srv, &srv->users, true);
}

void accounting_free_all(struct users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].acct);
		u->v[i].acct = NULL;
	}
}
