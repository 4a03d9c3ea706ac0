/* The backend-neutral half of the store: opening by URI, validation of
 * every value before a backend sees it, the enum names, and the quota
 * period arithmetic. See store.h. */
#include "storage/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_sqlite.h"

enum store_status store_fail(struct store_err *err, enum store_status code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static void clear_err(struct store_err *err)
{
	if (err) {
		err->code = STORE_OK;
		err->msg[0] = 0;
	}
}

const char *store_status_name(enum store_status s)
{
	static const char *const names[] = {
	    [STORE_OK] = "OK",
	    [STORE_NOT_FOUND] = "NOT_FOUND",
	    [STORE_EXISTS] = "EXISTS",
	    [STORE_INVALID] = "INVALID",
	    [STORE_BUSY] = "BUSY",
	    [STORE_IO] = "IO",
	    [STORE_CORRUPT] = "CORRUPT",
	    [STORE_FULL] = "FULL",
	    [STORE_UNSUPPORTED] = "UNSUPPORTED",
	};
	if ((unsigned)s < sizeof(names) / sizeof(names[0]) && names[s])
		return names[s];
	return "UNKNOWN";
}

/* ---- enum names ---- */

static const char *const action_names[] = {"cutoff", "throttle"};
static const char *const source_names[] = {"api", "toml"};

static int parse_name(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *store_quota_action_name(enum store_quota_action a)
{
	return (unsigned)a < 2 ? action_names[a] : "?";
}

int store_quota_action_parse(const char *s)
{
	return parse_name(action_names, 2, s);
}

const char *store_source_name(enum store_source s)
{
	return (unsigned)s < 2 ? source_names[s] : "?";
}

int store_source_parse(const char *s)
{
	return parse_name(source_names, 2, s);
}

/* ---- users: defaults and validation ---- */

void store_user_init(struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->enabled = true;
	u->quota_period = STORE_PERIOD_NONE;
	u->quota_action = STORE_QUOTA_CUTOFF;
	u->source = STORE_SOURCE_API;
}

const char *store_user_name_check(const char *n)
{
	size_t len = strnlen(n, STORE_NAME_MAX + 1);

	if (len == 0 || len > STORE_NAME_MAX)
		return "must be 1..63 characters long";
	if (n[0] == '.' || n[0] == '-')
		return "must not start with '.' or '-'";
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return "may hold only letters A-Z a-z, digits and . _ -";
	}
	return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static enum store_status check_numbers(const struct store_user *u, struct store_err *err)
{
	const struct {
		const char *name;
		int64_t v;
	} nums[] = {
	    {"expires_at", u->expires_at},
	    {"expiry_from_first_connect", u->expiry_from_first_connect},
	    {"first_connected_at", u->first_connected_at},
	    {"data_limit", u->data_limit},
	    {"used_up", u->used_up},
	    {"used_down", u->used_down},
	    {"throttle_rate", u->throttle_rate},
	    {"period_start", u->period_start},
	    {"rate_limit", u->rate_limit},
	    {"device_limit", u->device_limit},
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (nums[i].v < 0)
			return store_fail(err, STORE_INVALID, "%s: must not be negative",
					  nums[i].name);
	return STORE_OK;
}

static enum store_status check_quota(const struct store_user *u, struct store_err *err)
{
	if ((unsigned)u->quota_period > STORE_PERIOD_DAY_OF_MONTH)
		return store_fail(err, STORE_INVALID, "quota_period: unknown");
	if (u->quota_period == STORE_PERIOD_DAY_OF_MONTH && (u->quota_day < 1 || u->quota_day > 31))
		return store_fail(err, STORE_INVALID, "quota_day: must be 1..31 for day_of_month");
	if (u->quota_period != STORE_PERIOD_DAY_OF_MONTH && u->quota_day != 0)
		return store_fail(err, STORE_INVALID, "quota_day: only for day_of_month");
	if ((unsigned)u->quota_action > STORE_QUOTA_THROTTLE)
		return store_fail(err, STORE_INVALID, "quota_action: unknown");
	if (u->quota_action == STORE_QUOTA_THROTTLE && u->throttle_rate == 0)
		return store_fail(err, STORE_INVALID,
				  "throttle_rate: must be > 0 with quota_action throttle");
	return STORE_OK;
}

enum store_status store_user_validate(const struct store_user *u, struct store_err *err)
{
	enum store_status r;

	clear_err(err);
	const char *why = store_user_name_check(u->name);
	if (why)
		return store_fail(err, STORE_INVALID, "name: %s", why);
	if (all_zero(u->public_key, 32))
		return store_fail(err, STORE_INVALID, "public_key: all zero");
	if (strnlen(u->note, STORE_NOTE_MAX + 1) > STORE_NOTE_MAX)
		return store_fail(err, STORE_INVALID, "note: longer than %d bytes", STORE_NOTE_MAX);
	if ((unsigned)u->source > STORE_SOURCE_TOML)
		return store_fail(err, STORE_INVALID, "source: unknown");
	r = check_numbers(u, err);
	if (r == STORE_OK && u->device_limit > STORE_DEVICE_LIMIT_MAX)
		r = store_fail(err, STORE_INVALID, "device_limit: must be 0..%d",
			       STORE_DEVICE_LIMIT_MAX);
	if (r == STORE_OK)
		r = check_quota(u, err);
	return r;
}

void store_user_apply(struct store_user *dst, const struct store_user *src, uint32_t mask)
{
	if (mask & STORE_F_NAME)
		memcpy(dst->name, src->name, sizeof(dst->name));
	if (mask & STORE_F_PUBLIC_KEY)
		memcpy(dst->public_key, src->public_key, 32);
	if (mask & STORE_F_PSK) {
		dst->has_psk = src->has_psk;
		memcpy(dst->psk, src->psk, 32);
	}
	if (mask & STORE_F_IPV4) {
		dst->has_ipv4 = src->has_ipv4;
		memcpy(dst->ipv4, src->ipv4, 4);
	}
	if (mask & STORE_F_IPV6) {
		dst->has_ipv6 = src->has_ipv6;
		memcpy(dst->ipv6, src->ipv6, 16);
	}
	if (mask & STORE_F_ENABLED)
		dst->enabled = src->enabled;
	if (mask & STORE_F_EXPIRES_AT)
		dst->expires_at = src->expires_at;
	if (mask & STORE_F_EXPIRY_FIRST)
		dst->expiry_from_first_connect = src->expiry_from_first_connect;
	if (mask & STORE_F_FIRST_CONNECTED)
		dst->first_connected_at = src->first_connected_at;
	if (mask & STORE_F_DATA_LIMIT)
		dst->data_limit = src->data_limit;
	if (mask & STORE_F_QUOTA_PERIOD) {
		dst->quota_period = src->quota_period;
		dst->quota_day = src->quota_day;
	}
	if (mask & STORE_F_QUOTA_ACTION)
		dst->quota_action = src->quota_action;
	if (mask & STORE_F_THROTTLE_RATE)
		dst->throttle_rate = src->throttle_rate;
	if (mask & STORE_F_RATE_LIMIT)
		dst->rate_limit = src->rate_limit;
	if (mask & STORE_F_DEVICE_LIMIT)
		dst->device_limit = src->device_limit;
	if (mask & STORE_F_NOTE)
		memcpy(dst->note, src->note, sizeof(dst->note));
	if (mask & STORE_F_SOURCE)
		dst->source = src->source;
}

/* ---- opening ---- */

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

enum store_status store_open(const char *uri, struct store **ret, struct store_err *err)
{
	clear_err(err);
	*ret = NULL;
	if (!uri || !*uri)
		return store_fail(err, STORE_INVALID, "store: empty database path");
	if (has_prefix(uri, "postgres://") || has_prefix(uri, "postgresql://"))
		return store_fail(
		    err, STORE_UNSUPPORTED,
		    "store: PostgreSQL is not built yet: it arrives with the scale-out "
		    "issue; use a SQLite path");
	if (has_prefix(uri, "sqlite:"))
		uri += strlen("sqlite:");
	else if (strstr(uri, "://"))
		return store_fail(err, STORE_INVALID,
				  "store: unknown database URI scheme in '%.64s'", uri);
	if (!*uri)
		return store_fail(err, STORE_INVALID, "store: empty database path");
	return store_sqlite_open(uri, ret, err);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

/* ---- dispatch (validation first, so every backend gets checked values) ---- */

enum store_status store_migrate(struct store *s, struct store_err *err)
{
	clear_err(err);
	return s->ops->migrate(s, err);
}

enum store_status store_schema_version(struct store *s, int64_t *ret, struct store_err *err)
{
	clear_err(err);
	return s->ops->schema_version(s, ret, err);
}

enum store_status store_integrity_check(struct store *s, struct store_err *err)
{
	clear_err(err);
	return s->ops->integrity_check(s, err);
}

enum store_status store_begin(struct store *s, struct store_err *err)
{
	clear_err(err);
	return s->ops->begin(s, err);
}

enum store_status store_commit(struct store *s, struct store_err *err)
{
	clear_err(err);
	return s->ops->commit(s, err);
}

void store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

enum store_status store_user_create(struct store *s, struct store_user *u, int64_t now,
				    struct store_err *err)
{
	enum store_status r = store_user_validate(u, err);

	if (r != STORE_OK)
		return r;
	if (now < 0)
		return store_fail(err, STORE_INVALID, "time: negative");
	return s->ops->user_create(s, u, now, err);
}

enum store_status store_user_get_by_id(struct store *s, int64_t id, struct store_user *ret,
				       struct store_err *err)
{
	clear_err(err);
	return s->ops->user_get_by_id(s, id, ret, err);
}

enum store_status store_user_get_by_name(struct store *s, const char *name, struct store_user *ret,
					 struct store_err *err)
{
	clear_err(err);
	/* only the charset and length: a user stored before the rule refused a
	 * leading '.' or '-' stays reachable (to rename or delete it) */
	size_t len = strnlen(name, STORE_NAME_MAX + 1);
	if (len == 0 || len > STORE_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		len)
		return store_fail(err, STORE_NOT_FOUND, "no user '%.64s'", name);
	return s->ops->user_get_by_name(s, name, ret, err);
}

enum store_status store_user_get_by_key(struct store *s, const uint8_t key[32],
					struct store_user *ret, struct store_err *err)
{
	clear_err(err);
	return s->ops->user_get_by_key(s, key, ret, err);
}

enum store_status store_user_list(struct store *s, const struct store_user_filter *f,
				  struct store_user *ret, size_t *n, struct store_err *err)
{
	clear_err(err);
	*n = 0;
	if (f->limit < 1 || f->limit > STORE_PAGE_MAX)
		return store_fail(err, STORE_INVALID, "limit: must be 1..%d", STORE_PAGE_MAX);
	if (f->after_id < 0)
		return store_fail(err, STORE_INVALID, "after: negative");
	if (f->name_contains && strlen(f->name_contains) > STORE_NAME_MAX)
		return STORE_OK; /* no name contains something longer than a name */
	return s->ops->user_list(s, f, ret, n, err);
}

enum store_status store_user_count(struct store *s, int64_t *ret, struct store_err *err)
{
	clear_err(err);
	return s->ops->user_count(s, ret, err);
}

enum store_status store_user_update(struct store *s, int64_t id, const struct store_user *vals,
				    uint32_t mask, int64_t now, struct store_user *ret,
				    struct store_err *err)
{
	clear_err(err);
	if (mask & ~(uint32_t)STORE_F_ALL)
		return store_fail(err, STORE_INVALID, "update: unknown field");
	return s->ops->user_update(s, id, vals, mask, now, ret, err);
}

enum store_status store_user_delete(struct store *s, int64_t id, struct store_err *err)
{
	clear_err(err);
	return s->ops->user_delete(s, id, err);
}

enum store_status store_device_validate(const struct store_device *d, struct store_err *err)
{
	const char *why;

	clear_err(err);
	if ((why = store_user_name_check(d->name)))
		return store_fail(err, STORE_INVALID, "device name: %s", why);
	if (all_zero(d->public_key, 32))
		return store_fail(err, STORE_INVALID, "public_key: all zero");
	return STORE_OK;
}

enum store_status store_device_add(struct store *s, struct store_device *d, int64_t now,
				   struct store_err *err)
{
	enum store_status r = store_device_validate(d, err);

	if (r != STORE_OK)
		return r;
	if (now < 0)
		return store_fail(err, STORE_INVALID, "time: negative");
	return s->ops->device_add(s, d, now, err);
}

enum store_status store_device_get(struct store *s, int64_t user_id, const char *name,
				   struct store_device *ret, struct store_err *err)
{
	clear_err(err);
	if (store_user_name_check(name))
		return store_fail(err, STORE_NOT_FOUND, "no device '%.64s'", name);
	return s->ops->device_get(s, user_id, name, ret, err);
}

enum store_status store_device_list(struct store *s, const struct store_device_filter *f,
				    struct store_device *ret, size_t *n, struct store_err *err)
{
	clear_err(err);
	*n = 0;
	if (f->limit < 1 || f->limit > STORE_PAGE_MAX)
		return store_fail(err, STORE_INVALID, "limit: must be 1..%d", STORE_PAGE_MAX);
	if (f->after_id < 0 || f->user_id < 0)
		return store_fail(err, STORE_INVALID, "after: negative");
	return s->ops->device_list(s, f, ret, n, err);
}

enum store_status store_device_count(struct store *s, int64_t user_id, int64_t *ret,
				     struct store_err *err)
{
	clear_err(err);
	return s->ops->device_count(s, user_id, ret, err);
}

enum store_status store_device_delete(struct store *s, int64_t id, struct store_err *err)
{
	clear_err(err);
	return s->ops->device_delete(s, id, err);
}

enum store_status store_key_owner(struct store *s, const uint8_t key[32], struct store_user *user,
				  struct store_device *dev, struct store_err *err)
{
	struct store_device scratch;

	clear_err(err);
	return s->ops->key_owner(s, key, user, dev ? dev : &scratch, err);
}

enum store_status store_usage_add(struct store *s, const struct store_usage_delta *d, size_t n,
				  int64_t now, size_t *applied, struct store_err *err)
{
	clear_err(err);
	if (applied)
		*applied = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i].up < 0 || d[i].down < 0)
			return store_fail(err, STORE_INVALID, "usage: negative bytes for user %lld",
					  (long long)d[i].user_id);
	if (n == 0)
		return STORE_OK;
	return s->ops->usage_add(s, d, n, now, applied, err);
}

enum store_status store_usage_add_by_key(struct store *s, const struct store_usage_key_delta *d,
					 size_t n, int64_t now, size_t *applied,
					 struct store_err *err)
{
	clear_err(err);
	if (applied)
		*applied = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i].up < 0 || d[i].down < 0)
			return store_fail(err, STORE_INVALID, "usage: negative bytes");
	if (n == 0)
		return STORE_OK;
	return s->ops->usage_add_by_key(s, d, n, now, applied, err);
}

enum store_status store_usage_reset(struct store *s, int64_t id, int64_t period_start, int64_t now,
				    struct store_err *err)
{
	clear_err(err);
	if (period_start < 0)
		return store_fail(err, STORE_INVALID, "period_start: negative");
	return s->ops->usage_reset(s, id, period_start, now, err);
}

enum store_status store_outbox_enqueue(struct store *s, const char *type, const char *body,
				       size_t body_len, int64_t now, int64_t max_events,
				       int64_t *ret_id, struct store_err *err)
{
	size_t tl = type ? strnlen(type, STORE_EVENT_TYPE_MAX + 1) : 0;

	clear_err(err);
	if (tl == 0 || tl > STORE_EVENT_TYPE_MAX)
		return store_fail(err, STORE_INVALID, "event type: must be 1..%d characters",
				  STORE_EVENT_TYPE_MAX);
	if (body_len > STORE_EVENT_BODY_MAX || (body_len && !body))
		return store_fail(err, STORE_INVALID, "event body: longer than %d bytes",
				  STORE_EVENT_BODY_MAX);
	if (max_events < 1)
		return store_fail(err, STORE_INVALID, "outbox bound: must be >= 1");
	return s->ops->outbox_enqueue(s, type, body ? body : "", body_len, now, max_events, ret_id,
				      err);
}

enum store_status store_outbox_peek(struct store *s, int64_t now, size_t max,
				    struct store_event *ret, size_t *n, struct store_err *err)
{
	clear_err(err);
	*n = 0;
	if (max == 0)
		return STORE_OK;
	return s->ops->outbox_peek(s, now, max, ret, n, err);
}

void store_events_free(struct store_event *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].body);
		v[i].body = NULL;
	}
}

enum store_status store_outbox_ack(struct store *s, int64_t id, struct store_err *err)
{
	clear_err(err);
	return s->ops->outbox_ack(s, id, err);
}

enum store_status store_outbox_failed(struct store *s, int64_t id, int64_t next_try,
				      struct store_err *err)
{
	clear_err(err);
	return s->ops->outbox_failed(s, id, next_try, err);
}

enum store_status store_outbox_count(struct store *s, int64_t *ret, struct store_err *err)
{
	clear_err(err);
	return s->ops->outbox_count(s, ret, err);
}

static bool field_ok(const char *f, size_t max)
{
	return strnlen(f, max + 1) <= max;
}

enum store_status store_audit_append(struct store *s, const struct store_audit *a, int64_t *ret_id,
				     struct store_err *err)
{
	clear_err(err);
	if (!field_ok(a->actor, STORE_AUDIT_FIELD_MAX) ||
	    !field_ok(a->action, STORE_AUDIT_FIELD_MAX) ||
	    !field_ok(a->target, STORE_AUDIT_FIELD_MAX) ||
	    !field_ok(a->detail, STORE_AUDIT_DETAIL_MAX))
		return store_fail(err, STORE_INVALID, "audit: a field is too long");
	if (!a->action[0])
		return store_fail(err, STORE_INVALID, "audit: empty action");
	return s->ops->audit_append(s, a, ret_id, err);
}

enum store_status store_audit_list(struct store *s, int64_t before_id, size_t limit,
				   struct store_audit *ret, size_t *n, struct store_err *err)
{
	clear_err(err);
	*n = 0;
	if (limit < 1 || limit > STORE_PAGE_MAX)
		return store_fail(err, STORE_INVALID, "limit: must be 1..%d", STORE_PAGE_MAX);
	if (before_id < 0)
		return store_fail(err, STORE_INVALID, "before: negative");
	return s->ops->audit_list(s, before_id, limit, ret, n, err);
}

#define META_KEY_MAX   64
#define META_VALUE_MAX 4096

enum store_status store_meta_get(struct store *s, const char *key, char *buf, size_t len,
				 struct store_err *err)
{
	size_t kl = strnlen(key, META_KEY_MAX + 1);

	clear_err(err);
	if (kl == 0 || kl > META_KEY_MAX)
		return store_fail(err, STORE_INVALID, "meta key: must be 1..%d bytes",
				  META_KEY_MAX);
	return s->ops->meta_get(s, key, buf, len, err);
}

enum store_status store_meta_set(struct store *s, const char *key, const char *value,
				 struct store_err *err)
{
	size_t kl = strnlen(key, META_KEY_MAX + 1);

	clear_err(err);
	if (kl == 0 || kl > META_KEY_MAX)
		return store_fail(err, STORE_INVALID, "meta key: must be 1..%d bytes",
				  META_KEY_MAX);
	if (strnlen(value, META_VALUE_MAX + 1) > META_VALUE_MAX)
		return store_fail(err, STORE_INVALID, "meta value: longer than %d bytes",
				  META_VALUE_MAX);
	return s->ops->meta_set(s, key, value, err);
}
