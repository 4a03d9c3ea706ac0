/* The user store: users, their usage counters, the webhook outbox, the
 * audit log and a little server metadata, behind a backend-neutral
 * interface (docs/storage.md). SQLite is the default backend
 * (store_sqlite.c); PostgreSQL, for several nodes sharing one database,
 * arrives with the scale-out issue and fits the same vtable.
 *
 * Rules every backend keeps, so callers and tests do not depend on one:
 * - No backend type leaks through: ids are int64, keys are bytes,
 *   addresses are bytes, enums are ours.
 * - Time is an input. Every call that stamps a row takes `now` (unix
 *   seconds) from its caller; nothing in here reads a clock, so tests and
 *   the quota logic can drive time.
 * - No logging. A call returns an enum store_status and, when it is not
 *   STORE_OK, a one-line message in struct store_err naming what failed.
 * - A failed call changes nothing (each call is one transaction, or a
 *   savepoint inside the caller's store_begin/store_commit).
 * - A struct store is one connection: not shared between threads at once.
 *   Threads that need the store open their own (SQLite in WAL mode lets
 *   readers run beside one writer; writers wait up to a busy timeout). */
#ifndef LL_STORAGE_STORE_H
#define LL_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/period.h"

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,   /* no such user / event / key */
	STORE_EXISTS,	   /* duplicate name, public key or address */
	STORE_INVALID,	   /* a value out of its bounds; a bad URI */
	STORE_BUSY,	   /* the database stayed locked past the busy timeout */
	STORE_IO,	   /* the file system or the server failed */
	STORE_CORRUPT,	   /* not a database, or a malformed one */
	STORE_FULL,	   /* the outbox is at its bound (the event is dropped) */
	STORE_UNSUPPORTED, /* a backend not built; a schema newer than this build */
};

#define STORE_ERR_LEN 256
struct store_err {
	enum store_status code;
	char msg[STORE_ERR_LEN];
};

/* "NOT_FOUND", ... for logs and the API. */
const char *store_status_name(enum store_status s);

/* Sets err (if not NULL) to code and a printf-formatted message; returns
 * code. The one error writer every store module shares. */
enum store_status store_fail(struct store_err *err, enum store_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- users ---- */

#define STORE_NAME_MAX 63   /* characters; store_user_name_check() */
#define STORE_NOTE_MAX 1024 /* bytes */

enum store_quota_action {
	STORE_QUOTA_CUTOFF,   /* at the data limit the user's sessions end */
	STORE_QUOTA_THROTTLE, /* ... or go on at throttle_rate bytes/s */
};

enum store_source {
	STORE_SOURCE_API,  /* made through the admin API; users.toml sync never touches it */
	STORE_SOURCE_TOML, /* declared in users.toml; the sync owns it */
};

struct store_user {
	int64_t id; /* assigned by the store, never reused */
	char name[STORE_NAME_MAX + 1];
	uint8_t public_key[32];
	bool has_psk;
	uint8_t psk[32];
	bool has_ipv4;
	uint8_t ipv4[4];
	bool has_ipv6;
	uint8_t ipv6[16];
	bool enabled;
	int64_t expires_at;		   /* unix seconds; 0 = never */
	int64_t expiry_from_first_connect; /* seconds after first_connected_at; 0 = not used */
	int64_t first_connected_at;	   /* 0 = never connected */
	int64_t data_limit;		   /* bytes per period (up + down); 0 = none */
	int64_t used_up, used_down;	   /* bytes in the current period */
	enum store_period quota_period;
	int quota_day; /* 1..31 for STORE_PERIOD_DAY_OF_MONTH, else 0 */
	enum store_quota_action quota_action;
	int64_t throttle_rate; /* bytes/s once throttled */
	int64_t period_start;  /* when the current period began */
	int64_t rate_limit;    /* bytes/s; 0 = the server's default */
	int64_t device_limit;  /* concurrent sessions; 0 = unlimited */
	char note[STORE_NOTE_MAX + 1];
	enum store_source source;
	int64_t created_at, updated_at;
	/* store_sync_toml only, never stored: the limit fields (STORE_F_*)
	 * the users.toml entry gave, which the file then owns too */
	uint32_t file_fields;
};

/* Fields of a partial update (store_user_update's mask). */
enum {
	STORE_F_NAME = 1u << 0,
	STORE_F_PUBLIC_KEY = 1u << 1,
	STORE_F_PSK = 1u << 2, /* has_psk + psk */
	STORE_F_IPV4 = 1u << 3,
	STORE_F_IPV6 = 1u << 4,
	STORE_F_ENABLED = 1u << 5,
	STORE_F_EXPIRES_AT = 1u << 6,
	STORE_F_EXPIRY_FIRST = 1u << 7,
	STORE_F_FIRST_CONNECTED = 1u << 8,
	STORE_F_DATA_LIMIT = 1u << 9,
	STORE_F_QUOTA_PERIOD = 1u << 10, /* quota_period + quota_day */
	STORE_F_QUOTA_ACTION = 1u << 11,
	STORE_F_THROTTLE_RATE = 1u << 12,
	STORE_F_RATE_LIMIT = 1u << 13,
	STORE_F_DEVICE_LIMIT = 1u << 14,
	STORE_F_NOTE = 1u << 15,
	STORE_F_SOURCE = 1u << 16,
	STORE_F_ALL = (1u << 17) - 1,
};

/* A user with every field at its default (enabled, no limits, source api). */
void store_user_init(struct store_user *u);
/* The one user-name rule, shared by the store, users.toml (config_server.c)
 * and the admin API (api/json.c): 1..STORE_NAME_MAX of A-Z a-z 0-9 . _ -,
 * not starting with '.' or '-' (a name is a URL path segment, part of a
 * file name and a shell word: "-rf" or ".." must not be one). NULL when
 * valid, else why not (a static string). */
const char *store_user_name_check(const char *name);
/* Checks every field's bounds: name charset and length, note length, a
 * non-zero key, quota_day for the period, non-negative numbers. */
enum store_status store_user_validate(const struct store_user *u, struct store_err *err);
/* Copies the fields of mask from src to dst. */
void store_user_apply(struct store_user *dst, const struct store_user *src, uint32_t mask);

/* List filter; keyset paging: pass the last id of a page as after_id. */
struct store_user_filter {
	int64_t after_id;	   /* 0 = from the start (ids ascend) */
	size_t limit;		   /* at most this many (1..STORE_PAGE_MAX) */
	const char *name_contains; /* NULL = any */
	int enabled;		   /* -1 any, 0 disabled, 1 enabled */
	int source;		   /* -1 any, else an enum store_source */
};
#define STORE_PAGE_MAX 1000

/* ---- devices ----
 * A device is one more key of a user (docs/storage.md, "Devices"): its
 * own public key, PSK and inner addresses, the user's limits and usage.
 * The user's own key and addresses are its device 0, never a row here. A
 * public key, an IPv4 and an IPv6 address belong to one user or device
 * across both tables. Deleting a user deletes its devices. */

#define STORE_DEVICE_LIMIT_MAX 1024 /* device_limit's bound, everywhere */
#define STORE_DEVICES_MAX      1024 /* devices per user, beyond device 0 */

struct store_device {
	int64_t id; /* assigned by the store, never reused; 0 = device 0 */
	int64_t user_id;
	char name[STORE_NAME_MAX + 1]; /* unique per user; the charset of user names */
	uint8_t public_key[32];
	bool has_psk;
	uint8_t psk[32];
	bool has_ipv4;
	uint8_t ipv4[4];
	bool has_ipv6;
	uint8_t ipv6[16];
	int64_t created_at;
};

/* List filter (keyset paging as store_user_filter). */
struct store_device_filter {
	int64_t after_id;
	size_t limit;	 /* 1..STORE_PAGE_MAX */
	int64_t user_id; /* 0 = any user */
	int enabled;	 /* -1 any, else only devices of users with enabled = this */
};

/* Name charset and length, a non-zero key. */
enum store_status store_device_validate(const struct store_device *d, struct store_err *err);

/* ---- usage ---- */

struct store_usage_delta {
	int64_t user_id;
	int64_t up, down; /* bytes to add, >= 0 */
};

/* The same, for a caller that knows users by public key (the handshake's
 * table): no id lookup before a flush. */
struct store_usage_key_delta {
	uint8_t public_key[32];
	int64_t up, down; /* bytes to add, >= 0 */
};

/* ---- outbox (webhook events) ---- */

#define STORE_EVENT_TYPE_MAX 32
struct store_event {
	int64_t id; /* ascending in enqueue order */
	char type[STORE_EVENT_TYPE_MAX + 1];
	char *body; /* owned, NUL-terminated; store_events_free */
	size_t body_len;
	int64_t created_at;
	int64_t next_try;
	int64_t attempts;
};
#define STORE_EVENT_BODY_MAX 65536
void store_events_free(struct store_event *v, size_t n);

/* ---- audit ---- */

#define STORE_AUDIT_FIELD_MAX  128
#define STORE_AUDIT_DETAIL_MAX 1024
struct store_audit {
	int64_t id; /* ascending in append order */
	int64_t at;
	char actor[STORE_AUDIT_FIELD_MAX + 1];	/* "api:admin", "users.toml", ... */
	char action[STORE_AUDIT_FIELD_MAX + 1]; /* "user.create", ... */
	char target[STORE_AUDIT_FIELD_MAX + 1]; /* "user:alice" */
	char detail[STORE_AUDIT_DETAIL_MAX + 1];
};

/* ---- the backend interface ---- */

struct store;

struct store_ops {
	const char *name; /* "sqlite" */
	void (*close)(struct store *s);
	enum store_status (*migrate)(struct store *s, struct store_err *err);
	enum store_status (*schema_version)(struct store *s, int64_t *ret, struct store_err *err);
	enum store_status (*integrity_check)(struct store *s, struct store_err *err);
	enum store_status (*begin)(struct store *s, struct store_err *err);
	enum store_status (*commit)(struct store *s, struct store_err *err);
	void (*rollback)(struct store *s);

	enum store_status (*user_create)(struct store *s, struct store_user *u, int64_t now,
					 struct store_err *err);
	enum store_status (*user_get_by_id)(struct store *s, int64_t id, struct store_user *ret,
					    struct store_err *err);
	enum store_status (*user_get_by_name)(struct store *s, const char *name,
					      struct store_user *ret, struct store_err *err);
	enum store_status (*user_get_by_key)(struct store *s, const uint8_t key[32],
					     struct store_user *ret, struct store_err *err);
	enum store_status (*user_list)(struct store *s, const struct store_user_filter *f,
				       struct store_user *ret, size_t *n, struct store_err *err);
	enum store_status (*user_count)(struct store *s, int64_t *ret, struct store_err *err);
	enum store_status (*user_update)(struct store *s, int64_t id, const struct store_user *vals,
					 uint32_t mask, int64_t now, struct store_user *ret,
					 struct store_err *err);
	enum store_status (*user_delete)(struct store *s, int64_t id, struct store_err *err);

	enum store_status (*device_add)(struct store *s, struct store_device *d, int64_t now,
					struct store_err *err);
	enum store_status (*device_get)(struct store *s, int64_t user_id, const char *name,
					struct store_device *ret, struct store_err *err);
	enum store_status (*device_list)(struct store *s, const struct store_device_filter *f,
					 struct store_device *ret, size_t *n,
					 struct store_err *err);
	enum store_status (*device_count)(struct store *s, int64_t user_id, int64_t *ret,
					  struct store_err *err);
	enum store_status (*device_delete)(struct store *s, int64_t id, struct store_err *err);
	enum store_status (*key_owner)(struct store *s, const uint8_t key[32],
				       struct store_user *user, struct store_device *dev,
				       struct store_err *err);

	enum store_status (*usage_add)(struct store *s, const struct store_usage_delta *d, size_t n,
				       int64_t now, size_t *applied, struct store_err *err);
	enum store_status (*usage_add_by_key)(struct store *s,
					      const struct store_usage_key_delta *d, size_t n,
					      int64_t now, size_t *applied, struct store_err *err);
	enum store_status (*usage_reset)(struct store *s, int64_t id, int64_t period_start,
					 int64_t now, struct store_err *err);

	enum store_status (*outbox_enqueue)(struct store *s, const char *type, const char *body,
					    size_t body_len, int64_t now, int64_t max_events,
					    int64_t *ret_id, struct store_err *err);
	enum store_status (*outbox_peek)(struct store *s, int64_t now, size_t max,
					 struct store_event *ret, size_t *n, struct store_err *err);
	enum store_status (*outbox_ack)(struct store *s, int64_t id, struct store_err *err);
	enum store_status (*outbox_failed)(struct store *s, int64_t id, int64_t next_try,
					   struct store_err *err);
	enum store_status (*outbox_count)(struct store *s, int64_t *ret, struct store_err *err);

	enum store_status (*audit_append)(struct store *s, const struct store_audit *a,
					  int64_t *ret_id, struct store_err *err);
	enum store_status (*audit_list)(struct store *s, int64_t before_id, size_t limit,
					struct store_audit *ret, size_t *n, struct store_err *err);

	enum store_status (*meta_get)(struct store *s, const char *key, char *buf, size_t len,
				      struct store_err *err);
	enum store_status (*meta_set)(struct store *s, const char *key, const char *value,
				      struct store_err *err);
};

/* Backends embed this first. */
struct store {
	const struct store_ops *ops;
};

/* Opens the store named by uri: "sqlite:PATH" or a plain path (SQLite; the
 * file is created mode 0600 if missing), "postgres://..." or
 * "postgresql://..." (STORE_UNSUPPORTED until the scale-out issue). A
 * database whose schema is newer than this build knows is refused
 * (STORE_UNSUPPORTED). Does not migrate: call store_migrate. */
enum store_status store_open(const char *uri, struct store **ret, struct store_err *err);
void store_close(struct store *s);

/* Applies every migration the database lacks, each in its own
 * transaction; a no-op when current. */
enum store_status store_migrate(struct store *s, struct store_err *err);
/* The schema version this build writes. */
int64_t store_schema_latest(void);
enum store_status store_schema_version(struct store *s, int64_t *ret, struct store_err *err);
/* The backend's own consistency check (SQLite: PRAGMA integrity_check). */
enum store_status store_integrity_check(struct store *s, struct store_err *err);

/* Groups several calls into one transaction (nestable: inner calls take
 * savepoints). A failed call inside leaves the transaction open and
 * unchanged by that call; the caller commits or rolls back. */
enum store_status store_begin(struct store *s, struct store_err *err);
enum store_status store_commit(struct store *s, struct store_err *err);
void store_rollback(struct store *s);

/* Validates u, sets id, created_at = updated_at = now and, when u's
 * period_start is 0, period_start = now. STORE_EXISTS names the field
 * (name, public key, ipv4, ipv6) that clashed. */
enum store_status store_user_create(struct store *s, struct store_user *u, int64_t now,
				    struct store_err *err);
enum store_status store_user_get_by_id(struct store *s, int64_t id, struct store_user *ret,
				       struct store_err *err);
enum store_status store_user_get_by_name(struct store *s, const char *name, struct store_user *ret,
					 struct store_err *err);
enum store_status store_user_get_by_key(struct store *s, const uint8_t key[32],
					struct store_user *ret, struct store_err *err);
/* Up to f->limit users matching f, ids ascending, into ret (room for
 * f->limit); *n the count returned. */
enum store_status store_user_list(struct store *s, const struct store_user_filter *f,
				  struct store_user *ret, size_t *n, struct store_err *err);
enum store_status store_user_count(struct store *s, int64_t *ret, struct store_err *err);
/* Sets the fields of mask to vals' (validated as a whole user), updated_at
 * = now; the user as stored after in ret (may be NULL). Usage counters and
 * timestamps other than first_connected_at are not updatable here. */
enum store_status store_user_update(struct store *s, int64_t id, const struct store_user *vals,
				    uint32_t mask, int64_t now, struct store_user *ret,
				    struct store_err *err);
enum store_status store_user_delete(struct store *s, int64_t id, struct store_err *err);

/* Validates d, sets id and created_at = now. STORE_NOT_FOUND without the
 * user; STORE_EXISTS naming who holds the name (per user), the key or an
 * address (a user or a device of any user); STORE_INVALID past
 * STORE_DEVICES_MAX devices. */
enum store_status store_device_add(struct store *s, struct store_device *d, int64_t now,
				   struct store_err *err);
/* The device of user_id named name. */
enum store_status store_device_get(struct store *s, int64_t user_id, const char *name,
				   struct store_device *ret, struct store_err *err);
/* Up to f->limit devices matching f, ids ascending; as store_user_list. */
enum store_status store_device_list(struct store *s, const struct store_device_filter *f,
				    struct store_device *ret, size_t *n, struct store_err *err);
enum store_status store_device_count(struct store *s, int64_t user_id, int64_t *ret,
				     struct store_err *err);
enum store_status store_device_delete(struct store *s, int64_t id, struct store_err *err);
/* Who holds key: its user, and the device (dev->id 0 when it is the
 * user's own key). dev may be NULL. */
enum store_status store_key_owner(struct store *s, const uint8_t key[32], struct store_user *user,
				  struct store_device *dev, struct store_err *err);

/* Adds every delta in one transaction (atomic increments: concurrent
 * writers never lose a byte). Deltas of users deleted meanwhile are
 * skipped; *applied (may be NULL) counts those that landed. */
enum store_status store_usage_add(struct store *s, const struct store_usage_delta *d, size_t n,
				  int64_t now, size_t *applied, struct store_err *err);
/* store_usage_add by public key; deltas of keys no user holds (deleted,
 * or given a new key meanwhile) are skipped and not counted in *applied. */
enum store_status store_usage_add_by_key(struct store *s, const struct store_usage_key_delta *d,
					 size_t n, int64_t now, size_t *applied,
					 struct store_err *err);
/* Period roll-over: used_up = used_down = 0, period_start as given. */
enum store_status store_usage_reset(struct store *s, int64_t id, int64_t period_start, int64_t now,
				    struct store_err *err);

/* Queues an event (type 1..32 characters, body up to STORE_EVENT_BODY_MAX
 * bytes) due at now. STORE_FULL when max_events are already queued. */
enum store_status store_outbox_enqueue(struct store *s, const char *type, const char *body,
				       size_t body_len, int64_t now, int64_t max_events,
				       int64_t *ret_id, struct store_err *err);
/* Up to max events due at now (next_try <= now), oldest first; bodies are
 * allocated: store_events_free(ret, *n). Peeking changes nothing. */
enum store_status store_outbox_peek(struct store *s, int64_t now, size_t max,
				    struct store_event *ret, size_t *n, struct store_err *err);
/* Delivered: removes the event. */
enum store_status store_outbox_ack(struct store *s, int64_t id, struct store_err *err);
/* Not delivered: attempts + 1, due again at next_try (the caller's backoff). */
enum store_status store_outbox_failed(struct store *s, int64_t id, int64_t next_try,
				      struct store_err *err);
enum store_status store_outbox_count(struct store *s, int64_t *ret, struct store_err *err);

/* Appends a record (a->id is ignored; the new id in *ret_id, may be NULL). */
enum store_status store_audit_append(struct store *s, const struct store_audit *a, int64_t *ret_id,
				     struct store_err *err);
/* Newest first: up to limit records with id < before_id (0 = from the
 * newest). Page on with the last id returned. */
enum store_status store_audit_list(struct store *s, int64_t before_id, size_t limit,
				   struct store_audit *ret, size_t *n, struct store_err *err);

/* Server key/value metadata (keys 1..64 bytes, values up to 4096). */
enum store_status store_meta_get(struct store *s, const char *key, char *buf, size_t len,
				 struct store_err *err);
enum store_status store_meta_set(struct store *s, const char *key, const char *value,
				 struct store_err *err);

/* ---- pure helpers ---- */

/* Names as stored and shown: "cutoff", "throttle"; "api", "toml"
 * (periods: storage/period.h). Parsers return -1
 * on an unknown name. */
const char *store_quota_action_name(enum store_quota_action a);
int store_quota_action_parse(const char *s);
const char *store_source_name(enum store_source s);
int store_source_parse(const char *s);

#endif
