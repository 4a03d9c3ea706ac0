/* users.toml → store (sync.h). Backend-neutral: only store.h calls. */
#include "storage/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACTOR "users.toml"

/* The limit keys a users.toml entry gave: the file owns those fields
 * (core/limits.h); the ones it leaves out keep what the API set. */
static void limits_from_config(const struct user_limits *l, struct store_user *u)
{
	static const struct {
		unsigned set;
		uint32_t field;
	} map[] = {{LIMITS_SET_RATE, STORE_F_RATE_LIMIT},
		   {LIMITS_SET_DATA, STORE_F_DATA_LIMIT},
		   {LIMITS_SET_PERIOD, STORE_F_QUOTA_PERIOD},
		   {LIMITS_SET_ACTION, STORE_F_QUOTA_ACTION},
		   {LIMITS_SET_THROTTLE, STORE_F_THROTTLE_RATE},
		   {LIMITS_SET_EXPIRES, STORE_F_EXPIRES_AT},
		   {LIMITS_SET_EXPIRES_AFTER, STORE_F_EXPIRY_FIRST},
		   {LIMITS_SET_DEVICES, STORE_F_DEVICE_LIMIT}};

	u->rate_limit = (int64_t)l->rate;
	u->data_limit = (int64_t)l->data_limit;
	u->quota_period = l->period;
	u->quota_day = l->period == STORE_PERIOD_DAY_OF_MONTH ? l->period_day : 0;
	u->quota_action =
	    l->action == LIMITS_ACTION_THROTTLE ? STORE_QUOTA_THROTTLE : STORE_QUOTA_CUTOFF;
	u->throttle_rate = (int64_t)l->throttle_rate;
	u->expires_at = l->expires;
	u->expiry_from_first_connect = (int64_t)l->expires_after;
	u->device_limit = l->device_limit;
	u->file_fields = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (l->set & map[i].set)
			u->file_fields |= map[i].field;
}

void store_user_from_config(const struct config_user *c, struct store_user *u)
{
	store_user_init(u);
	snprintf(u->name, sizeof(u->name), "%s", c->name);
	memcpy(u->public_key, c->public_key, 32);
	u->has_psk = true;
	memcpy(u->psk, c->psk, 32);
	u->has_ipv4 = c->ipv4.family == 4;
	if (u->has_ipv4)
		memcpy(u->ipv4, c->ipv4.addr, 4);
	u->has_ipv6 = c->ipv6.family == 6;
	if (u->has_ipv6)
		memcpy(u->ipv6, c->ipv6.addr, 16);
	u->enabled = c->enabled;
	u->source = STORE_SOURCE_TOML;
	limits_from_config(&c->limits, u);
}

static enum store_status audit(struct store *s, const char *action, const char *name, int64_t now,
			       struct store_err *err)
{
	struct store_audit a = {.at = now};

	snprintf(a.actor, sizeof(a.actor), "%s", ACTOR);
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target, sizeof(a.target), "user:%s", name);
	return store_audit_append(s, &a, NULL, err);
}

static bool same_toml_fields(const struct store_user *a, const struct store_user *b)
{
	return memcmp(a->public_key, b->public_key, 32) == 0 && a->has_psk == b->has_psk &&
	       (!a->has_psk || memcmp(a->psk, b->psk, 32) == 0) && a->has_ipv4 == b->has_ipv4 &&
	       (!a->has_ipv4 || memcmp(a->ipv4, b->ipv4, 4) == 0) && a->has_ipv6 == b->has_ipv6 &&
	       (!a->has_ipv6 || memcmp(a->ipv6, b->ipv6, 16) == 0) && a->enabled == b->enabled;
}

/* The limit fields the file owns (mask) are equal. */
static bool same_limits(const struct store_user *a, const struct store_user *b, uint32_t mask)
{
	return (!(mask & STORE_F_RATE_LIMIT) || a->rate_limit == b->rate_limit) &&
	       (!(mask & STORE_F_DATA_LIMIT) || a->data_limit == b->data_limit) &&
	       (!(mask & STORE_F_QUOTA_PERIOD) ||
		(a->quota_period == b->quota_period && a->quota_day == b->quota_day)) &&
	       (!(mask & STORE_F_QUOTA_ACTION) || a->quota_action == b->quota_action) &&
	       (!(mask & STORE_F_THROTTLE_RATE) || a->throttle_rate == b->throttle_rate) &&
	       (!(mask & STORE_F_EXPIRES_AT) || a->expires_at == b->expires_at) &&
	       (!(mask & STORE_F_EXPIRY_FIRST) ||
		a->expiry_from_first_connect == b->expiry_from_first_connect) &&
	       (!(mask & STORE_F_DEVICE_LIMIT) || a->device_limit == b->device_limit);
}

/* A clash reported by the store ("public key of 'alice' belongs to user
 * 'bob'") said as the file's problem. */
static enum store_status clash(struct store_err *err, const struct store_user *w)
{
	char msg[STORE_ERR_LEN];

	if (err->code != STORE_EXISTS)
		return err->code;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return store_fail(err, STORE_EXISTS, "users.toml user '%s': %s", w->name, msg);
}

static enum store_status sync_one(struct store *s, const struct store_user *w, int64_t now,
				  struct store_sync_stats *st, struct store_err *err)
{
	struct store_user cur, v = *w;
	enum store_status r = store_user_get_by_name(s, w->name, &cur, err);

	v.source = STORE_SOURCE_TOML;
	if (r == STORE_NOT_FOUND) {
		r = store_user_create(s, &v, now, err);
		if (r != STORE_OK)
			return clash(err, w);
		st->created++;
		return audit(s, "user.create", w->name, now, err);
	}
	if (r != STORE_OK)
		return r;
	if (cur.source != STORE_SOURCE_TOML)
		return store_fail(
		    err, STORE_EXISTS,
		    "users.toml user '%s' clashes with API user '%s' (id %lld): rename "
		    "one of them",
		    w->name, cur.name, (long long)cur.id);
	if (same_toml_fields(&cur, &v) && same_limits(&cur, &v, w->file_fields)) {
		st->unchanged++;
		return STORE_OK;
	}
	r = store_user_update(s, cur.id, &v, STORE_SYNC_FIELDS | w->file_fields, now, NULL, err);
	if (r != STORE_OK)
		return clash(err, w);
	st->updated++;
	return audit(s, "user.update", w->name, now, err);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted pointers to want's names; STORE_INVALID on a duplicate. */
static enum store_status sorted_names(const struct store_user *want, size_t n, const char ***ret,
				      struct store_err *err)
{
	const char **v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return store_fail(err, STORE_IO, "sync: out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = want[i].name;
	qsort(v, n, sizeof(*v), cmp_name);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1], v[i]) == 0) {
			store_fail(err, STORE_INVALID, "users.toml: user '%s' is listed twice",
				   v[i]);
			free(v);
			return STORE_INVALID;
		}
	}
	*ret = v;
	return STORE_OK;
}

static enum store_status retire(struct store *s, const struct store_user *u,
				enum store_sync_removed removed, int64_t now,
				struct store_sync_stats *st, struct store_err *err)
{
	struct store_user off = {.enabled = false};
	enum store_status r;

	if (removed == STORE_SYNC_DELETE) {
		r = store_user_delete(s, u->id, err);
		st->deleted += r == STORE_OK;
		return r == STORE_OK ? audit(s, "user.delete", u->name, now, err) : r;
	}
	if (!u->enabled)
		return STORE_OK;
	off.enabled = false;
	r = store_user_update(s, u->id, &off, STORE_F_ENABLED, now, NULL, err);
	st->disabled += r == STORE_OK;
	return r == STORE_OK ? audit(s, "user.disable", u->name, now, err) : r;
}

/* The toml users of the store that want no longer names. */
static enum store_status retire_missing(struct store *s, const char **names, size_t n,
					enum store_sync_removed removed, int64_t now,
					struct store_sync_stats *st, struct store_err *err)
{
	struct store_user_filter f = {.limit = 256, .enabled = -1, .source = STORE_SOURCE_TOML};
	struct store_user *page = calloc(f.limit, sizeof(*page));
	enum store_status r = STORE_OK;
	size_t got;

	if (!page)
		return store_fail(err, STORE_IO, "sync: out of memory");
	do {
		r = store_user_list(s, &f, page, &got, err);
		for (size_t i = 0; r == STORE_OK && i < got; i++) {
			const char *key = page[i].name;
			if (!bsearch(&key, names, n, sizeof(*names), cmp_name))
				r = retire(s, &page[i], removed, now, st, err);
		}
		if (got)
			f.after_id = page[got - 1].id;
	} while (r == STORE_OK && got == f.limit);
	free(page);
	return r;
}

enum store_status store_sync_toml(struct store *s, const struct store_user *want, size_t n,
				  enum store_sync_removed removed, int64_t now,
				  struct store_sync_stats *stats, struct store_err *err)
{
	struct store_sync_stats st = {0};
	const char **names = NULL;
	enum store_status r;

	r = sorted_names(want, n, &names, err);
	if (r != STORE_OK)
		return r;
	r = store_begin(s, err);
	for (size_t i = 0; r == STORE_OK && i < n; i++)
		r = sync_one(s, &want[i], now, &st, err);
	if (r == STORE_OK)
		r = retire_missing(s, names, n, removed, now, &st, err);
	free(names);
	if (r != STORE_OK) {
		store_rollback(s);
		return r;
	}
	r = store_commit(s, err);
	if (r == STORE_OK && stats)
		*stats = st;
	return r;
}
