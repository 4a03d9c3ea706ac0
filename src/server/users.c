/* The handshake's user table; see users.h. */
#include "server/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/state.h"
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

/* What makes an entry a device: its name and its user's key. */
struct device_src {
	char name[CONFIG_NAME_MAX]; /* "" for a user's own key */
	uint8_t owner_key[32];
};

static int add_user(struct users *u, const struct config_user *c, const struct device_src *dev,
		    const uint8_t priv[32], const struct state *st, const struct users *prev,
		    char *err, size_t err_len)
{
	struct user *e = &u->v[u->n];
	const uint8_t *ts = st ? state_get(st, c->public_key) : NULL;

	e->cfg = *c;
	memcpy(e->owner_key, dev && dev->name[0] ? dev->owner_key : c->public_key, 32);
	if (dev)
		memcpy(e->device, dev->name, sizeof(e->device));
	if (peer_of(&e->peer, c, priv, prev) < 0) {
		if (e->device[0])
			snprintf(err, err_len, "device '%s' of user '%s': unusable public key",
				 e->device, c->name);
		else
			snprintf(err, err_len, "user '%s': unusable public key", c->name);
		return -EINVAL;
	}
	if (ts)
		memcpy(e->peer.last_timestamp, ts, TAI64N_LEN);
	u->n++;
	return 0;
}

/* Points every entry at its owner and chains each user's devices. */
static void link_owners(struct users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		u->v[i].peer.user = &u->v[i];
		u->v[i].owner = &u->v[i];
		u->v[i].next_device = NULL;
	}
	for (size_t i = 0; i < u->n; i++) {
		struct user *e = &u->v[i], *o;
		if (!e->device[0] || !(o = users_find(u, e->owner_key)) || o->device[0])
			continue; /* the store's callers keep only devices of kept users */
		e->owner = o;
		e->next_device = o->next_device;
		o->next_device = e;
	}
}

static int build(struct users *ret, const struct config_user *cfg, const struct device_src *dev,
		 size_t n, const uint8_t server_priv[static 32], const struct state *st,
		 const struct users *prev, char *err, size_t err_len)
{
	struct users u = {.v = calloc(n ? n : 1, sizeof(struct user))};
	int r = 0;

	if (!u.v)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++)
		if (cfg[i].enabled)
			r = add_user(&u, &cfg[i], dev ? &dev[i] : NULL, server_priv, st, prev, err,
				     err_len);
	if (r == 0) {
		qsort(u.v, u.n, sizeof(*u.v), cmp_user);
		r = has_duplicate(&u, err, err_len);
	}
	if (r < 0) {
		users_free(&u);
		return r;
	}
	link_owners(&u);
	*ret = u;
	return 0;
}

int users_build(struct users *ret, const struct config_user *cfg, size_t n,
		const uint8_t server_priv[static 32], const struct state *st, char *err,
		size_t err_len)
{
	return build(ret, cfg, NULL, n, server_priv, st, NULL, err, err_len);
}

/* The store's limits and usage as the data plane's (core/limits.h). */
static void limits_of_store(const struct store_user *su, struct user_limits *l,
			    struct limits_usage *u)
{
	l->rate = su->rate_limit > 0 ? (uint64_t)su->rate_limit : 0;
	l->rate_set = su->rate_limit > 0; /* 0: the server's rate_limit_per_user */
	l->data_limit = su->data_limit > 0 ? (uint64_t)su->data_limit : 0;
	l->period = su->quota_period;
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

/* A growing array of configured entries (not realloc: the old copy
 * holds PSKs, wiped before it is freed), with their device sources. */
struct entries {
	struct config_user *v;
	struct device_src *dev;
	int64_t *ids; /* the store's user id of each (a device's: its user's) */
	size_t n, cap;
};

static struct config_user *entries_add(struct entries *e, int64_t id)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct config_user *v = calloc(cap, sizeof(*v));
		struct device_src *dev = calloc(cap, sizeof(*dev));
		int64_t *ids = calloc(cap, sizeof(*ids));
		if (!v || !dev || !ids) {
			free(v);
			free(dev);
			free(ids);
			return NULL;
		}
		if (e->v) {
			memcpy(v, e->v, e->cap * sizeof(*v));
			memcpy(dev, e->dev, e->cap * sizeof(*dev));
			memcpy(ids, e->ids, e->cap * sizeof(*ids));
			ct_wipe(e->v, e->cap * sizeof(*v));
		}
		free(e->v);
		free(e->dev);
		free(e->ids);
		e->v = v;
		e->dev = dev;
		e->ids = ids;
		e->cap = cap;
	}
	e->ids[e->n] = id;
	memset(&e->dev[e->n], 0, sizeof(e->dev[0]));
	return &e->v[e->n++];
}

static void entries_free(struct entries *e)
{
	if (e->v)
		ct_wipe(e->v, e->cap * sizeof(*e->v));
	free(e->v);
	free(e->dev);
	free(e->ids);
	memset(e, 0, sizeof(*e));
}

/* The entry of user id among the first n (users come in ascending ids). */
static const struct config_user *entry_of(const struct entries *e, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->ids[mid] == id)
			return &e->v[mid];
		if (e->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The enabled, routable users of the store as configured entries. */
static int store_users(struct store *s, struct entries *e, size_t *skipped, char *err,
		       size_t err_len)
{
	struct store_user_filter f = {.limit = 256, .enabled = 1, .source = -1};
	struct store_user *page = calloc(f.limit, sizeof(*page));
	size_t got = 0;
	struct store_err serr;
	int r = page ? 0 : -ENOMEM;

	while (r == 0) {
		if (store_user_list(s, &f, page, &got, &serr) != STORE_OK) {
			snprintf(err, err_len, "store: %s", serr.msg);
			r = -EIO;
			break;
		}
		for (size_t i = 0; r == 0 && i < got; i++) {
			struct config_user *c;
			if (!page[i].has_ipv4) {
				(*skipped)++;
				continue;
			}
			if (!(c = entries_add(e, page[i].id)))
				r = -ENOMEM;
			else
				users_config_of(&page[i], c);
		}
		if (got < f.limit)
			break;
		f.after_id = page[got - 1].id;
	}
	if (page)
		ct_wipe(page, f.limit * sizeof(*page));
	free(page);
	return r;
}

/* A device as an entry: its user's name, limits and usage, its own key,
 * PSK and addresses. */
static void device_config_of(const struct store_device *d, const struct config_user *owner,
			     struct config_user *c, struct device_src *src)
{
	*c = *owner;
	memcpy(c->public_key, d->public_key, 32);
	memset(c->psk, 0, 32);
	if (d->has_psk)
		memcpy(c->psk, d->psk, 32);
	memset(&c->ipv4, 0, sizeof(c->ipv4));
	c->ipv4.family = 4;
	c->ipv4.len = 32;
	memcpy(c->ipv4.addr, d->ipv4, 4);
	memset(&c->ipv6, 0, sizeof(c->ipv6));
	if (d->has_ipv6) {
		c->ipv6.family = 6;
		c->ipv6.len = 128;
		memcpy(c->ipv6.addr, d->ipv6, 16);
	}
	snprintf(src->name, sizeof(src->name), "%s", d->name);
	memcpy(src->owner_key, owner->public_key, 32);
}

/* The devices of the users in e (enabled, routable) appended to e. */
static int store_devices(struct store *s, struct entries *e, size_t *skipped, char *err,
			 size_t err_len)
{
	struct store_device_filter f = {.limit = 256, .enabled = 1};
	struct store_device *page = calloc(f.limit, sizeof(*page));
	size_t got = 0, users = e->n;
	struct store_err serr;
	int r = page ? 0 : -ENOMEM;

	while (r == 0) {
		if (store_device_list(s, &f, page, &got, &serr) != STORE_OK) {
			snprintf(err, err_len, "store: %s", serr.msg);
			r = -EIO;
			break;
		}
		for (size_t i = 0; r == 0 && i < got; i++) {
			const struct config_user *owner = entry_of(e, users, page[i].user_id);
			struct config_user *c;
			if (!owner || !page[i].has_ipv4) {
				(*skipped)++;
				continue;
			}
			if (!(c = entries_add(e, page[i].user_id))) {
				r = -ENOMEM;
				break;
			}
			/* entries_add may have moved owner */
			owner = entry_of(e, users, page[i].user_id);
			device_config_of(&page[i], owner, c, &e->dev[e->n - 1]);
		}
		if (got < f.limit)
			break;
		f.after_id = page[got - 1].id;
	}
	if (page)
		ct_wipe(page, f.limit * sizeof(*page));
	free(page);
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
	struct entries e = {0};
	size_t skip = 0;
	int r = store_users(s, &e, &skip, err, err_len);

	if (r == 0)
		r = store_devices(s, &e, &skip, err, err_len);
	if (r == 0)
		r = build(ret, e.v, e.dev, e.n, server_priv, st, prev, err, err_len);
	entries_free(&e);
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

unsigned users_live_sessions(const struct user *owner)
{
	unsigned n = 0;

	for (const struct user *e = owner; e; e = e->next_device)
		n += e->session != NULL;
	return n;
}

bool users_device_allowed(const struct user *e)
{
	uint32_t limit = e->owner->cfg.limits.device_limit;

	return e->session || !limit || users_live_sessions(e->owner) < limit;
}

struct handshake_peer *users_lookup(void *ctx, const uint8_t key[static 32])
{
	struct user *e = users_find(ctx, key);

	return e ? &e->peer : NULL;
}
