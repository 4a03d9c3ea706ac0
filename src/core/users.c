/* The handshake's user table; see users.h. */
#include "core/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "crypto/ct.h"

static int cmp_user(const void *a, const void *b)
{
	return memcmp(((const struct user *)a)->cfg.public_key,
		      ((const struct user *)b)->cfg.public_key, 32);
}

static int has_duplicate(const struct users *u, char *err, size_t err_len)
{
	for (size_t i = 1; i < u->n; i++) {
		if (cmp_user(&u->v[i - 1], &u->v[i]) == 0) {
			snprintf(err, err_len, "users '%s' and '%s' have the same public key",
				 u->v[i - 1].cfg.name, u->v[i].cfg.name);
			return -EINVAL;
		}
	}
	return 0;
}

/* The peer of c: its DH taken from prev's entry of the same key when
 * there is one (the DH depends on the two keys only), else computed. */
static int peer_of(struct handshake_peer *p, const struct config_user *c, const uint8_t priv[32],
		   const struct users *prev)
{
	const struct user *old = prev ? users_find(prev, c->public_key) : NULL;

	if (!old)
		return handshake_peer_init(p, priv, c->public_key, c->psk);
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, c->public_key, 32);
	memcpy(p->psk, c->psk, 32);
	memcpy(p->ss, old->peer.ss, 32);
	return 0;
}

static int add_user(struct users *u, const struct config_user *c, const uint8_t priv[32],
		    const struct state *st, const struct users *prev, char *err, size_t err_len)
{
	struct user *e = &u->v[u->n];
	const uint8_t *ts = st ? state_get(st, c->public_key) : NULL;

	e->cfg = *c;
	if (peer_of(&e->peer, c, priv, prev) < 0) {
		snprintf(err, err_len, "user '%s': unusable public key", c->name);
		return -EINVAL;
	}
	if (ts)
		memcpy(e->peer.last_timestamp, ts, TAI64N_LEN);
	u->n++;
	return 0;
}

static int build(struct users *ret, const struct config_user *cfg, size_t n,
		 const uint8_t server_priv[static 32], const struct state *st,
		 const struct users *prev, char *err, size_t err_len)
{
	struct users u = {.v = calloc(n ? n : 1, sizeof(struct user))};
	int r = 0;

	if (!u.v)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++)
		if (cfg[i].enabled)
			r = add_user(&u, &cfg[i], server_priv, st, prev, err, err_len);
	if (r == 0) {
		qsort(u.v, u.n, sizeof(*u.v), cmp_user);
		r = has_duplicate(&u, err, err_len);
	}
	if (r < 0) {
		users_free(&u);
		return r;
	}
	for (size_t i = 0; i < u.n; i++)
		u.v[i].peer.user = &u.v[i];
	*ret = u;
	return 0;
}

int users_build(struct users *ret, const struct config_user *cfg, size_t n,
		const uint8_t server_priv[static 32], const struct state *st, char *err,
		size_t err_len)
{
	return build(ret, cfg, n, server_priv, st, NULL, err, err_len);
}

/* The store's limits and usage as the data plane's (core/limits.h). */
static void limits_of_store(const struct store_user *su, struct user_limits *l,
			    struct limits_usage *u)
{
	l->rate = su->rate_limit > 0 ? (uint64_t)su->rate_limit : 0;
	l->rate_set = su->rate_limit > 0; /* 0: the server's rate_limit_per_user */
	l->data_limit = su->data_limit > 0 ? (uint64_t)su->data_limit : 0;
	l->period = (enum limits_period)su->quota_period; /* the same order */
	l->period_day = su->quota_period == STORE_PERIOD_DAY_OF_MONTH ? (uint8_t)su->quota_day : 0;
	l->action = su->quota_action == STORE_QUOTA_THROTTLE ? LIMITS_ACTION_THROTTLE
							     : LIMITS_ACTION_CUTOFF;
	l->throttle_rate = su->throttle_rate > 0 ? (uint64_t)su->throttle_rate : 0;
	l->expires = su->expires_at;
	l->expires_after =
	    su->expiry_from_first_connect > 0 ? (uint64_t)su->expiry_from_first_connect : 0;
	l->device_limit = su->device_limit > 0 ? (uint32_t)su->device_limit : 0;
	u->up = su->used_up > 0 ? (uint64_t)su->used_up : 0;
	u->down = su->used_down > 0 ? (uint64_t)su->used_down : 0;
	u->period_bytes = u->up + u->down;
	u->period_start = su->period_start;
	u->first_connect = su->first_connected_at;
}

void users_config_of(const struct store_user *su, struct config_user *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", su->name);
	memcpy(c->public_key, su->public_key, 32);
	if (su->has_psk)
		memcpy(c->psk, su->psk, 32);
	if (su->has_ipv4) {
		c->ipv4.family = 4;
		c->ipv4.len = 32;
		memcpy(c->ipv4.addr, su->ipv4, 4);
	}
	if (su->has_ipv6) {
		c->ipv6.family = 6;
		c->ipv6.len = 128;
		memcpy(c->ipv6.addr, su->ipv6, 16);
	}
	c->enabled = su->enabled;
	limits_of_store(su, &c->limits, &c->usage);
}

/* The enabled, routable users of the store as configured users (*ret
 * allocated, wiped and freed by the caller). */
static int store_users(struct store *s, struct config_user **ret, size_t *n, size_t *skipped,
		       char *err, size_t err_len)
{
	struct store_user_filter f = {.limit = 256, .enabled = 1, .source = -1};
	struct store_user *page = calloc(f.limit, sizeof(*page));
	struct config_user *v = NULL, *grown;
	size_t got = 0, cap = 0;
	struct store_err serr;
	int r = page ? 0 : -ENOMEM;

	*n = *skipped = 0;
	while (r == 0) {
		if (store_user_list(s, &f, page, &got, &serr) != STORE_OK) {
			snprintf(err, err_len, "store: %s", serr.msg);
			r = -EIO;
			break;
		}
		for (size_t i = 0; r == 0 && i < got; i++) {
			if (!page[i].has_ipv4) {
				(*skipped)++;
				continue;
			}
			if (*n == cap) { /* not realloc: the old copy holds PSKs */
				grown = calloc(cap ? 2 * cap : 64, sizeof(*v));
				if (!grown) {
					r = -ENOMEM;
					break;
				}
				if (v) {
					memcpy(grown, v, cap * sizeof(*v));
					ct_wipe(v, cap * sizeof(*v));
					free(v);
				}
				v = grown;
				cap = cap ? 2 * cap : 64;
			}
			users_config_of(&page[i], &v[(*n)++]);
		}
		if (got < f.limit)
			break;
		f.after_id = page[got - 1].id;
	}
	if (page)
		ct_wipe(page, f.limit * sizeof(*page));
	free(page);
	*ret = v;
	return r;
}

int users_build_from_store(struct users *ret, struct store *s, const uint8_t server_priv[static 32],
			   const struct state *st, size_t *skipped, char *err, size_t err_len)
{
	return users_rebuild_from_store(ret, s, server_priv, st, NULL, skipped, err, err_len);
}

int users_rebuild_from_store(struct users *ret, struct store *s,
			     const uint8_t server_priv[static 32], const struct state *st,
			     const struct users *prev, size_t *skipped, char *err, size_t err_len)
{
	struct config_user *v = NULL;
	size_t n = 0, skip = 0;
	int r = store_users(s, &v, &n, &skip, err, err_len);

	if (r == 0)
		r = build(ret, v, n, server_priv, st, prev, err, err_len);
	if (v)
		ct_wipe(v, n * sizeof(*v));
	free(v);
	if (skipped)
		*skipped = skip;
	return r;
}

void users_free(struct users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		handshake_peer_done(&u->v[i].peer);
	if (u->v)
		ct_wipe(u->v, u->n * sizeof(*u->v));
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

struct user *users_find(const struct users *u, const uint8_t key[static 32])
{
	struct user probe;

	memcpy(probe.cfg.public_key, key, 32);
	return bsearch(&probe, u->v, u->n, sizeof(*u->v), cmp_user);
}

struct handshake_peer *users_lookup(void *ctx, const uint8_t key[static 32])
{
	struct user *e = users_find(ctx, key);

	return e ? &e->peer : NULL;
}
