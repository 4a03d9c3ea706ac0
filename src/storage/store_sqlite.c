/* The SQLite backend (store_sqlite.h). One connection per struct store;
 * statements are prepared once and reused. Every write runs in a
 * transaction of its own (BEGIN IMMEDIATE, so a writer takes the write
 * lock before it reads and never fails half-way on a lock upgrade), or in
 * a savepoint when the caller has opened one with store_begin.
 *
 * Durability (docs/storage.md, "Durability"): WAL with synchronous=NORMAL.
 * A committed transaction is in the WAL before COMMIT returns; NORMAL skips
 * the fsync at each commit and syncs at checkpoints instead. The database
 * can never be corrupted by a crash in this mode; a power loss (not a
 * killed process: the WAL is in the page cache, which survives kill -9)
 * may lose the last transactions before the crash. The usage counters
 * lose at most a flush interval either way, and the price of FULL (an
 * fsync per commit) buys nothing the quota logic needs. */
#include "storage/store_sqlite.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

/* NORMAL (see the head of this file); FULL only to measure what it costs
 * (bench/RESULTS.md: -DSTORE_SQLITE_SYNCHRONOUS='"FULL"'). */
#ifndef STORE_SQLITE_SYNCHRONOUS
#define STORE_SQLITE_SYNCHRONOUS "NORMAL"
#endif

/* ---- schema ---- */

/* Ordered: migration i takes the database from version i to i + 1. Never
 * edit a released one; append a new one (docs/storage.md, "Migrations"). */
static const char *const migrations[] = {
    /* 1: users, usage, outbox, audit, meta */
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),"
    " public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),"
    " psk BLOB CHECK (psk IS NULL OR length(psk) = 32),"
    " ipv4 TEXT UNIQUE,"
    " ipv6 TEXT UNIQUE,"
    " enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),"
    " expires_at INTEGER NOT NULL DEFAULT 0,"
    " expiry_from_first_connect INTEGER NOT NULL DEFAULT 0,"
    " first_connected_at INTEGER NOT NULL DEFAULT 0,"
    " data_limit INTEGER NOT NULL DEFAULT 0,"
    " used_up INTEGER NOT NULL DEFAULT 0,"
    " used_down INTEGER NOT NULL DEFAULT 0,"
    " quota_period TEXT NOT NULL DEFAULT 'none' CHECK (quota_period IN"
    "  ('none', 'daily', 'weekly', 'monthly', 'day_of_month')),"
    " quota_day INTEGER NOT NULL DEFAULT 0,"
    " quota_action TEXT NOT NULL DEFAULT 'cutoff' CHECK (quota_action IN ('cutoff', 'throttle')),"
    " throttle_rate INTEGER NOT NULL DEFAULT 0,"
    " period_start INTEGER NOT NULL DEFAULT 0,"
    " rate_limit INTEGER NOT NULL DEFAULT 0,"
    " device_limit INTEGER NOT NULL DEFAULT 0,"
    " note TEXT NOT NULL DEFAULT '',"
    " source TEXT NOT NULL CHECK (source IN ('api', 'toml')),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " type TEXT NOT NULL,"
    " body BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " next_try INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_due ON outbox (next_try, id);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " detail TEXT NOT NULL);",
    /* 2: devices, more keys of a user (store.h, "devices"). A key or an
     * address is unique across users and devices: UNIQUE within each
     * table, the triggers across them (RAISE: SQLITE_CONSTRAINT_TRIGGER,
     * explained by name_clash/device_clash). */
    "CREATE TABLE devices ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
    " public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),"
    " psk BLOB CHECK (psk IS NULL OR length(psk) = 32),"
    " ipv4 TEXT UNIQUE,"
    " ipv6 TEXT UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (user_id, name));"
    "CREATE TRIGGER devices_unique BEFORE INSERT ON devices"
    " WHEN EXISTS (SELECT 1 FROM users WHERE public_key = NEW.public_key"
    "  OR ipv4 = NEW.ipv4 OR ipv6 = NEW.ipv6)"
    " BEGIN SELECT RAISE(ABORT, 'key or address taken by a user'); END;"
    "CREATE TRIGGER users_unique_insert BEFORE INSERT ON users"
    " WHEN EXISTS (SELECT 1 FROM devices WHERE public_key = NEW.public_key"
    "  OR ipv4 = NEW.ipv4 OR ipv6 = NEW.ipv6)"
    " BEGIN SELECT RAISE(ABORT, 'key or address taken by a device'); END;"
    "CREATE TRIGGER users_unique_update BEFORE UPDATE OF public_key, ipv4, ipv6 ON users"
    " WHEN EXISTS (SELECT 1 FROM devices WHERE public_key = NEW.public_key"
    "  OR ipv4 = NEW.ipv4 OR ipv6 = NEW.ipv6)"
    " BEGIN SELECT RAISE(ABORT, 'key or address taken by a device'); END;",
};
#define N_MIGRATIONS ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

int64_t store_schema_latest(void)
{
	return N_MIGRATIONS;
}

#define USER_COLS                                                                                  \
	"id, name, public_key, psk, ipv4, ipv6, enabled, expires_at, expiry_from_first_connect, "  \
	"first_connected_at, data_limit, used_up, used_down, quota_period, quota_day, "            \
	"quota_action, throttle_rate, period_start, rate_limit, device_limit, note, source, "      \
	"created_at, updated_at"
/* The 21 settable columns, bound as ?1..?21 (bind_user), then created_at,
 * updated_at as ?22, ?23. */
#define USER_SET_COLS                                                                              \
	"name, public_key, psk, ipv4, ipv6, enabled, expires_at, expiry_from_first_connect, "      \
	"first_connected_at, data_limit, used_up, used_down, quota_period, quota_day, "            \
	"quota_action, throttle_rate, period_start, rate_limit, device_limit, note, source, "      \
	"created_at, updated_at"

#define DEVICE_COLS "id, user_id, name, public_key, psk, ipv4, ipv6, created_at"

enum stmt_id {
	ST_VERSION,
	ST_USER_INSERT,
	ST_USER_BY_ID,
	ST_USER_BY_NAME,
	ST_USER_BY_KEY,
	ST_USER_BY_IPV4,
	ST_USER_BY_IPV6,
	ST_USER_LIST,
	ST_USER_COUNT,
	ST_USER_UPDATE,
	ST_USER_DELETE,
	ST_DEVICE_INSERT,
	ST_DEVICE_GET,
	ST_DEVICE_BY_KEY,
	ST_DEVICE_BY_IPV4,
	ST_DEVICE_BY_IPV6,
	ST_DEVICE_LIST,
	ST_DEVICE_COUNT,
	ST_DEVICE_DELETE,
	ST_USAGE_ADD,
	ST_USAGE_ADD_KEY,
	ST_USAGE_RESET,
	ST_OUTBOX_COUNT,
	ST_OUTBOX_INSERT,
	ST_OUTBOX_PEEK,
	ST_OUTBOX_ACK,
	ST_OUTBOX_FAILED,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_VERSION] = "SELECT coalesce(max(version), 0) FROM schema_version",
    [ST_USER_INSERT] = "INSERT INTO users (" USER_SET_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		       "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
		       "?23)",
    [ST_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_BY_KEY] = "SELECT " USER_COLS " FROM users WHERE public_key = ?1",
    [ST_USER_BY_IPV4] = "SELECT " USER_COLS " FROM users WHERE ipv4 = ?1",
    [ST_USER_BY_IPV6] = "SELECT " USER_COLS " FROM users WHERE ipv6 = ?1",
    [ST_USER_LIST] = "SELECT " USER_COLS " FROM users WHERE id > ?1"
		     " AND (?2 IS NULL OR instr(name, ?2) > 0)"
		     " AND (?3 < 0 OR enabled = ?3)"
		     " AND (?4 IS NULL OR source = ?4)"
		     " ORDER BY id LIMIT ?5",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_USER_UPDATE] = "UPDATE users SET name = ?1, public_key = ?2, psk = ?3, ipv4 = ?4, "
		       "ipv6 = ?5, enabled = ?6, expires_at = ?7, expiry_from_first_connect = ?8, "
		       "first_connected_at = ?9, data_limit = ?10, used_up = ?11, used_down = ?12, "
		       "quota_period = ?13, quota_day = ?14, quota_action = ?15, "
		       "throttle_rate = ?16, period_start = ?17, rate_limit = ?18, "
		       "device_limit = ?19, note = ?20, source = ?21, created_at = ?22, "
		       "updated_at = ?23 WHERE id = ?24",
    [ST_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [ST_DEVICE_INSERT] = "INSERT INTO devices (user_id, name, public_key, psk, ipv4, ipv6, "
			 "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices WHERE user_id = ?1 AND name = ?2",
    [ST_DEVICE_BY_KEY] = "SELECT " DEVICE_COLS " FROM devices WHERE public_key = ?1",
    [ST_DEVICE_BY_IPV4] = "SELECT " DEVICE_COLS " FROM devices WHERE ipv4 = ?1",
    [ST_DEVICE_BY_IPV6] = "SELECT " DEVICE_COLS " FROM devices WHERE ipv6 = ?1",
    [ST_DEVICE_LIST] = "SELECT d.id, d.user_id, d.name, d.public_key, d.psk, d.ipv4, d.ipv6, "
		       "d.created_at FROM devices d JOIN users u ON u.id = d.user_id"
		       " WHERE d.id > ?1 AND (?2 = 0 OR d.user_id = ?2)"
		       " AND (?3 < 0 OR u.enabled = ?3) ORDER BY d.id LIMIT ?4",
    [ST_DEVICE_COUNT] = "SELECT count(*) FROM devices WHERE user_id = ?1",
    [ST_DEVICE_DELETE] = "DELETE FROM devices WHERE id = ?1",
    /* saturating: SQLite turns an overflowing integer sum into a REAL */
    [ST_USAGE_ADD] = "UPDATE users SET"
		     " used_up = CASE WHEN used_up > 9223372036854775807 - ?2"
		     "  THEN 9223372036854775807 ELSE used_up + ?2 END,"
		     " used_down = CASE WHEN used_down > 9223372036854775807 - ?3"
		     "  THEN 9223372036854775807 ELSE used_down + ?3 END"
		     " WHERE id = ?1",
    [ST_USAGE_ADD_KEY] = "UPDATE users SET"
			 " used_up = CASE WHEN used_up > 9223372036854775807 - ?2"
			 "  THEN 9223372036854775807 ELSE used_up + ?2 END,"
			 " used_down = CASE WHEN used_down > 9223372036854775807 - ?3"
			 "  THEN 9223372036854775807 ELSE used_down + ?3 END"
			 " WHERE public_key = ?1",
    [ST_USAGE_RESET] = "UPDATE users SET used_up = 0, used_down = 0, period_start = ?2"
		       " WHERE id = ?1",
    [ST_OUTBOX_COUNT] = "SELECT count(*) FROM outbox",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox (type, body, created_at, next_try) "
			 "VALUES (?1, ?2, ?3, ?3)",
    [ST_OUTBOX_PEEK] = "SELECT id, type, body, created_at, next_try, attempts FROM outbox"
		       " WHERE next_try <= ?1 ORDER BY id LIMIT ?2",
    [ST_OUTBOX_ACK] = "DELETE FROM outbox WHERE id = ?1",
    [ST_OUTBOX_FAILED] = "UPDATE outbox SET attempts = attempts + 1, next_try = ?2 WHERE id = ?1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (at, actor, action, target, detail) "
			"VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_AUDIT_LIST] = "SELECT id, at, actor, action, target, detail FROM audit"
		      " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int depth; /* open transaction + savepoints */
};

static struct sqlite_store *S(struct store *s)
{
	return (struct sqlite_store *)s;
}

/* ---- errors ---- */

/* The status a failed helper left in err (err may be NULL inside). */
#define ERR_CODE(err) ((err) ? (err)->code : STORE_IO)

static enum store_status map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return STORE_CORRUPT;
	case SQLITE_CONSTRAINT:
		/* the triggers guard uniqueness across users and devices */
		return (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
			rc == SQLITE_CONSTRAINT_TRIGGER)
			   ? STORE_EXISTS
			   : STORE_INVALID;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return STORE_INVALID;
	default:
		return STORE_IO;
	}
}

static enum store_status db_fail(struct sqlite_store *s, int rc, struct store_err *err,
				 const char *what)
{
	return store_fail(err, map_rc(rc), "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
}

/* ---- statements and transactions ---- */

static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id, struct store_err *err)
{
	int rc;

	if (!s->st[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&s->st[id], NULL);
		if (rc != SQLITE_OK) {
			db_fail(s, rc, err, "prepare");
			return NULL;
		}
	}
	return s->st[id];
}

static void done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static enum store_status exec(struct sqlite_store *s, const char *sql, struct store_err *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? STORE_OK : db_fail(s, rc, err, sql);
}

static enum store_status tx_begin(struct sqlite_store *s, struct store_err *err)
{
	enum store_status r = exec(s, s->depth ? "SAVEPOINT sp" : "BEGIN IMMEDIATE", err);

	if (r == STORE_OK)
		s->depth++;
	return r;
}

static void tx_rollback(struct sqlite_store *s)
{
	if (s->depth == 0)
		return;
	s->depth--;
	if (s->depth)
		sqlite3_exec(s->db, "ROLLBACK TO sp; RELEASE sp", NULL, NULL, NULL);
	else
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static enum store_status tx_commit(struct sqlite_store *s, struct store_err *err)
{
	enum store_status r;

	if (s->depth == 0)
		return store_fail(err, STORE_INVALID, "store: commit without a transaction");
	r = exec(s, s->depth > 1 ? "RELEASE sp" : "COMMIT", err);
	if (r != STORE_OK) {
		tx_rollback(s);
		return r;
	}
	s->depth--;
	return STORE_OK;
}

/* Ends the transaction of one call: commit when r is OK, else roll back. */
static enum store_status tx_end(struct sqlite_store *s, enum store_status r, struct store_err *err)
{
	if (r == STORE_OK)
		return tx_commit(s, err);
	tx_rollback(s);
	return r;
}

/* Steps a statement that returns no rows (or whose rows are ignored). */
static enum store_status step_done(struct sqlite_store *s, sqlite3_stmt *st, struct store_err *err,
				   const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, sqlite3_extended_errcode(s->db), err, what);
	return STORE_OK;
}

static enum store_status step_int(struct sqlite_store *s, sqlite3_stmt *st, int64_t *ret,
				  struct store_err *err, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return db_fail(s, rc, err, what);
	*ret = sqlite3_column_int64(st, 0);
	return STORE_OK;
}

/* ---- schema version and migration ---- */

static enum store_status read_version(struct sqlite_store *s, int64_t *ret, struct store_err *err)
{
	sqlite3_stmt *st;
	enum store_status r;
	int rc, exists;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				" AND name = 'schema_version'",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "read the schema version");
	rc = sqlite3_step(st);
	exists = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (exists < 0)
		return db_fail(s, rc, err, "read the schema version");
	if (!exists) {
		*ret = 0;
		return STORE_OK;
	}
	st = stmt(s, ST_VERSION, err);
	if (!st)
		return err ? err->code : STORE_IO;
	r = step_int(s, st, ret, err, "read the schema version");
	done(st);
	return r;
}

static enum store_status refuse_newer(int64_t v, struct store_err *err)
{
	return store_fail(err, STORE_UNSUPPORTED,
			  "database schema version %lld is newer than this build knows (%lld): "
			  "upgrade lostlove, or restore the backup taken before the upgrade",
			  (long long)v, (long long)N_MIGRATIONS);
}

/* One migration in one transaction; re-reads the version under the write
 * lock, so two processes migrating at once apply each step once. */
static enum store_status migrate_one(struct sqlite_store *s, int64_t to, struct store_err *err)
{
	enum store_status r = tx_begin(s, err);
	int64_t v = 0;
	char sql[64];

	if (r != STORE_OK)
		return r;
	r = read_version(s, &v, err);
	if (r == STORE_OK && v >= to)
		return tx_end(s, STORE_OK, err);
	if (r == STORE_OK && v != to - 1)
		r = store_fail(err, STORE_CORRUPT, "schema version %lld, expected %lld",
			       (long long)v, (long long)(to - 1));
	if (r == STORE_OK)
		r = exec(s, migrations[to - 1], err);
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%lld)", (long long)to);
	if (r == STORE_OK)
		r = exec(s, sql, err);
	return tx_end(s, r, err);
}

static enum store_status sq_migrate(struct store *base, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	enum store_status r;
	int64_t v;

	if (s->depth)
		return store_fail(err, STORE_INVALID, "store: migrate inside a transaction");
	r = read_version(s, &v, err);
	if (r != STORE_OK)
		return r;
	if (v > N_MIGRATIONS)
		return refuse_newer(v, err);
	for (int64_t to = v + 1; to <= N_MIGRATIONS && r == STORE_OK; to++)
		r = migrate_one(s, to, err);
	return r;
}

static enum store_status sq_schema_version(struct store *base, int64_t *ret, struct store_err *err)
{
	return read_version(S(base), ret, err);
}

static enum store_status sq_integrity(struct store *base, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	enum store_status r = STORE_OK;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(s, rc, err, "integrity_check");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		r = db_fail(s, rc, err, "integrity_check");
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		r = store_fail(err, STORE_CORRUPT, "integrity_check: %s",
			       (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r;
}

static enum store_status sq_begin(struct store *base, struct store_err *err)
{
	return tx_begin(S(base), err);
}

static enum store_status sq_commit(struct store *base, struct store_err *err)
{
	return tx_commit(S(base), err);
}

static void sq_rollback(struct store *base)
{
	tx_rollback(S(base));
}

/* ---- users: rows ---- */

static void bind_addr(sqlite3_stmt *st, int i, int af, bool has, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (has && inet_ntop(af, a, buf, sizeof(buf)))
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_user(sqlite3_stmt *st, const struct store_user *u)
{
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, u->public_key, 32, SQLITE_STATIC);
	if (u->has_psk)
		sqlite3_bind_blob(st, 3, u->psk, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	bind_addr(st, 4, AF_INET, u->has_ipv4, u->ipv4);
	bind_addr(st, 5, AF_INET6, u->has_ipv6, u->ipv6);
	sqlite3_bind_int(st, 6, u->enabled);
	sqlite3_bind_int64(st, 7, u->expires_at);
	sqlite3_bind_int64(st, 8, u->expiry_from_first_connect);
	sqlite3_bind_int64(st, 9, u->first_connected_at);
	sqlite3_bind_int64(st, 10, u->data_limit);
	sqlite3_bind_int64(st, 11, u->used_up);
	sqlite3_bind_int64(st, 12, u->used_down);
	sqlite3_bind_text(st, 13, store_period_name(u->quota_period), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, u->quota_day);
	sqlite3_bind_text(st, 15, store_quota_action_name(u->quota_action), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 16, u->throttle_rate);
	sqlite3_bind_int64(st, 17, u->period_start);
	sqlite3_bind_int64(st, 18, u->rate_limit);
	sqlite3_bind_int64(st, 19, u->device_limit);
	sqlite3_bind_text(st, 20, u->note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 21, store_source_name(u->source), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 22, u->created_at);
	sqlite3_bind_int64(st, 23, u->updated_at);
}

static bool read_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
	    (size_t)sqlite3_column_bytes(st, col) != len)
		return false;
	memcpy(out, sqlite3_column_blob(st, col), len);
	return true;
}

static bool read_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t len = t ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (!t || len >= size)
		return false;
	memcpy(out, t, len);
	out[len] = 0;
	return true;
}

static bool read_addr(sqlite3_stmt *st, int col, int af, bool *has, uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	*has = sqlite3_column_type(st, col) != SQLITE_NULL;
	if (!*has)
		return true;
	return read_text(st, col, buf, sizeof(buf)) && inet_pton(af, buf, a) == 1;
}

static bool read_enum(sqlite3_stmt *st, int col, int (*parse)(const char *), int *out)
{
	*out = parse((const char *)sqlite3_column_text(st, col));
	return *out >= 0;
}

static bool read_user_fields(sqlite3_stmt *st, struct store_user *u)
{
	int period = 0, action = 0, source = 0;
	bool ok;

	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	ok = read_text(st, 1, u->name, sizeof(u->name)) && read_blob(st, 2, u->public_key, 32);
	u->has_psk = sqlite3_column_type(st, 3) != SQLITE_NULL;
	ok = ok && (!u->has_psk || read_blob(st, 3, u->psk, 32));
	ok = ok && read_addr(st, 4, AF_INET, &u->has_ipv4, u->ipv4);
	ok = ok && read_addr(st, 5, AF_INET6, &u->has_ipv6, u->ipv6);
	u->enabled = sqlite3_column_int(st, 6) != 0;
	u->expires_at = sqlite3_column_int64(st, 7);
	u->expiry_from_first_connect = sqlite3_column_int64(st, 8);
	u->first_connected_at = sqlite3_column_int64(st, 9);
	u->data_limit = sqlite3_column_int64(st, 10);
	u->used_up = sqlite3_column_int64(st, 11);
	u->used_down = sqlite3_column_int64(st, 12);
	ok = ok && read_enum(st, 13, store_period_parse, &period);
	u->quota_day = sqlite3_column_int(st, 14);
	ok = ok && read_enum(st, 15, store_quota_action_parse, &action);
	u->throttle_rate = sqlite3_column_int64(st, 16);
	u->period_start = sqlite3_column_int64(st, 17);
	u->rate_limit = sqlite3_column_int64(st, 18);
	u->device_limit = sqlite3_column_int64(st, 19);
	ok = ok && read_text(st, 20, u->note, sizeof(u->note));
	ok = ok && read_enum(st, 21, store_source_parse, &source);
	u->created_at = sqlite3_column_int64(st, 22);
	u->updated_at = sqlite3_column_int64(st, 23);
	u->quota_period = (enum store_period)period;
	u->quota_action = (enum store_quota_action)action;
	u->source = (enum store_source)source;
	return ok;
}

static enum store_status read_user(struct sqlite_store *s, sqlite3_stmt *st, struct store_user *u,
				   struct store_err *err)
{
	if (!read_user_fields(st, u))
		return store_fail(err, STORE_CORRUPT, "sqlite: user row %lld is malformed",
				  (long long)sqlite3_column_int64(st, 0));
	(void)s;
	return STORE_OK;
}

/* Runs a one-user SELECT whose parameters are bound. */
static enum store_status get_one(struct sqlite_store *s, sqlite3_stmt *st, struct store_user *ret,
				 struct store_err *err, const char *what)
{
	int rc = sqlite3_step(st);
	enum store_status r;

	if (rc == SQLITE_ROW)
		r = read_user(s, st, ret, err);
	else if (rc == SQLITE_DONE)
		r = store_fail(err, STORE_NOT_FOUND, "no user %s", what);
	else
		r = db_fail(s, rc, err, "read user");
	done(st);
	return r;
}

static enum store_status sq_get_by_id(struct store *base, int64_t id, struct store_user *ret,
				      struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_USER_BY_ID, err);
	char what[40];

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "with id %lld", (long long)id);
	return get_one(s, st, ret, err, what);
}

static enum store_status sq_get_by_name(struct store *base, const char *name,
					struct store_user *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_USER_BY_NAME, err);
	char what[STORE_NAME_MAX + 8];

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	snprintf(what, sizeof(what), "'%s'", name);
	return get_one(s, st, ret, err, what);
}

static enum store_status sq_get_by_key(struct store *base, const uint8_t key[32],
				       struct store_user *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_USER_BY_KEY, err);

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
	return get_one(s, st, ret, err, "with that public key");
}

/* ---- devices: rows ---- */

static bool read_device(sqlite3_stmt *st, struct store_device *d)
{
	bool ok;

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	d->user_id = sqlite3_column_int64(st, 1);
	ok = read_text(st, 2, d->name, sizeof(d->name)) && read_blob(st, 3, d->public_key, 32);
	d->has_psk = sqlite3_column_type(st, 4) != SQLITE_NULL;
	ok = ok && (!d->has_psk || read_blob(st, 4, d->psk, 32));
	ok = ok && read_addr(st, 5, AF_INET, &d->has_ipv4, d->ipv4);
	ok = ok && read_addr(st, 6, AF_INET6, &d->has_ipv6, d->ipv6);
	d->created_at = sqlite3_column_int64(st, 7);
	return ok;
}

/* Runs a one-device SELECT whose parameters are bound. */
static enum store_status get_device(struct sqlite_store *s, sqlite3_stmt *st,
				    struct store_device *ret, struct store_err *err,
				    const char *what)
{
	int rc = sqlite3_step(st);
	enum store_status r;

	if (rc == SQLITE_ROW)
		r = read_device(st, ret)
			? STORE_OK
			: store_fail(err, STORE_CORRUPT, "sqlite: device row %lld is malformed",
				     (long long)sqlite3_column_int64(st, 0));
	else if (rc == SQLITE_DONE)
		r = store_fail(err, STORE_NOT_FOUND, "no device %s", what);
	else
		r = db_fail(s, rc, err, "read device");
	done(st);
	return r;
}

/* The device holding a key (ST_DEVICE_BY_KEY) or an address (BY_IPV4/6:
 * text), and its user's name; false if none. */
static bool device_holding(struct sqlite_store *s, enum stmt_id id, const void *v, size_t len,
			   struct store_device *d, char *user, size_t user_len)
{
	sqlite3_stmt *st = stmt(s, id, NULL);
	struct store_user owner;

	if (!st)
		return false;
	if (id == ST_DEVICE_BY_KEY)
		sqlite3_bind_blob(st, 1, v, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	if (get_device(s, st, d, NULL, "") != STORE_OK)
		return false;
	st = stmt(s, ST_USER_BY_ID, NULL);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, d->user_id);
	if (get_one(s, st, &owner, NULL, "") != STORE_OK)
		snprintf(owner.name, sizeof(owner.name), "?");
	snprintf(user, user_len, "%s", owner.name);
	return true;
}

/* Which device, if any, holds u's key or an address of u. */
static enum store_status device_clash(struct sqlite_store *s, const char *who, const uint8_t *key,
				      const uint8_t *v4, const uint8_t *v6, struct store_err *err)
{
	struct store_device d;
	char owner[STORE_NAME_MAX + 1], a[INET6_ADDRSTRLEN];

	if (device_holding(s, ST_DEVICE_BY_KEY, key, 32, &d, owner, sizeof(owner)))
		return store_fail(err, STORE_EXISTS,
				  "public key of '%s' belongs to device '%s' of user '%s'", who,
				  d.name, owner);
	if (v4 && inet_ntop(AF_INET, v4, a, sizeof(a)) &&
	    device_holding(s, ST_DEVICE_BY_IPV4, a, 0, &d, owner, sizeof(owner)))
		return store_fail(err, STORE_EXISTS,
				  "ipv4 %s of '%s' belongs to device '%s' of user '%s'", a, who,
				  d.name, owner);
	if (v6 && inet_ntop(AF_INET6, v6, a, sizeof(a)) &&
	    device_holding(s, ST_DEVICE_BY_IPV6, a, 0, &d, owner, sizeof(owner)))
		return store_fail(err, STORE_EXISTS,
				  "ipv6 %s of '%s' belongs to device '%s' of user '%s'", a, who,
				  d.name, owner);
	return STORE_OK;
}

/* Whether a user other than self (0: none; ids start at 1) holds v: a
 * 32-byte key for ST_USER_BY_KEY, else text (a name or an address). */
static bool user_holding(struct sqlite_store *s, enum stmt_id id, const void *v, int64_t self,
			 struct store_user *u)
{
	sqlite3_stmt *st = stmt(s, id, NULL);

	if (!st)
		return false;
	if (id == ST_USER_BY_KEY)
		sqlite3_bind_blob(st, 1, v, 32, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	return get_one(s, st, u, NULL, "") == STORE_OK && u->id != self;
}

/* Which user other than self holds key or an address (v4/v6 may be
 * NULL); who names the claimant in the message ("'bob'", "device 'phone'").
 * The user-side twin of device_clash, for users and devices alike. */
static enum store_status user_clash(struct sqlite_store *s, const char *who, int64_t self,
				    const uint8_t *key, const uint8_t *v4, const uint8_t *v6,
				    struct store_err *err)
{
	struct store_user o;
	char a[INET6_ADDRSTRLEN];

	if (user_holding(s, ST_USER_BY_KEY, key, self, &o))
		return store_fail(err, STORE_EXISTS, "public key of %s belongs to user '%s'", who,
				  o.name);
	if (v4 && inet_ntop(AF_INET, v4, a, sizeof(a)) &&
	    user_holding(s, ST_USER_BY_IPV4, a, self, &o))
		return store_fail(err, STORE_EXISTS, "ipv4 %s of %s belongs to user '%s'", a, who,
				  o.name);
	if (v6 && inet_ntop(AF_INET6, v6, a, sizeof(a)) &&
	    user_holding(s, ST_USER_BY_IPV6, a, self, &o))
		return store_fail(err, STORE_EXISTS, "ipv6 %s of %s belongs to user '%s'", a, who,
				  o.name);
	return STORE_OK;
}

/* After a UNIQUE failure: which field clashed, and with whom. */
static enum store_status name_clash(struct sqlite_store *s, const struct store_user *u,
				    struct store_err *err)
{
	struct store_user other;
	char who[STORE_NAME_MAX + 3];

	if (user_holding(s, ST_USER_BY_NAME, u->name, u->id, &other))
		return store_fail(err, STORE_EXISTS, "name '%s' is taken (user id %lld)", u->name,
				  (long long)other.id);
	snprintf(who, sizeof(who), "'%s'", u->name);
	if (user_clash(s, who, u->id, u->public_key, u->has_ipv4 ? u->ipv4 : NULL,
		       u->has_ipv6 ? u->ipv6 : NULL, err) != STORE_OK)
		return STORE_EXISTS;
	if (device_clash(s, u->name, u->public_key, u->has_ipv4 ? u->ipv4 : NULL,
			 u->has_ipv6 ? u->ipv6 : NULL, err) != STORE_OK)
		return STORE_EXISTS;
	return store_fail(err, STORE_EXISTS, "user '%s': %s", u->name, sqlite3_errmsg(s->db));
}

/* Steps an INSERT/UPDATE of u; a UNIQUE failure is explained. */
static enum store_status write_user(struct sqlite_store *s, sqlite3_stmt *st,
				    const struct store_user *u, struct store_err *err)
{
	int rc = sqlite3_step(st);
	int xrc = sqlite3_extended_errcode(s->db);
	enum store_status r;

	if (rc == SQLITE_DONE)
		r = STORE_OK;
	else
		r = db_fail(s, xrc, err, "write user");
	done(st);
	if (r == STORE_EXISTS)
		r = name_clash(s, u, err);
	return r;
}

static enum store_status sq_user_create(struct store *base, struct store_user *u, int64_t now,
					struct store_err *err)
{
	struct sqlite_store *s = S(base);
	struct store_user v = *u;
	enum store_status r;
	sqlite3_stmt *st;

	v.id = 0;
	v.created_at = v.updated_at = now;
	if (v.period_start == 0)
		v.period_start = now;
	r = tx_begin(s, err);
	if (r != STORE_OK)
		return r;
	st = stmt(s, ST_USER_INSERT, err);
	if (!st)
		return tx_end(s, ERR_CODE(err), err);
	bind_user(st, &v);
	r = write_user(s, st, &v, err);
	v.id = sqlite3_last_insert_rowid(s->db);
	r = tx_end(s, r, err);
	if (r == STORE_OK)
		*u = v;
	return r;
}

static enum store_status sq_user_list(struct store *base, const struct store_user_filter *f,
				      struct store_user *ret, size_t *n, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_USER_LIST, err);
	enum store_status r = STORE_OK;
	int rc = SQLITE_DONE;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, f->after_id);
	if (f->name_contains)
		sqlite3_bind_text(st, 2, f->name_contains, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->enabled < 0 ? -1 : f->enabled != 0);
	if (f->source >= 0)
		sqlite3_bind_text(st, 4, store_source_name((enum store_source)f->source), -1,
				  SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)f->limit);
	while (r == STORE_OK && *n < f->limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = read_user(s, st, &ret[*n], err)) == STORE_OK)
			(*n)++;
	if (r == STORE_OK && *n < f->limit && rc != SQLITE_DONE)
		r = db_fail(s, rc, err, "list users");
	done(st);
	return r;
}

static enum store_status sq_user_count(struct store *base, int64_t *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_USER_COUNT, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	r = step_int(s, st, ret, err, "count users");
	done(st);
	return r;
}

static enum store_status update_in_tx(struct sqlite_store *s, int64_t id,
				      const struct store_user *vals, uint32_t mask, int64_t now,
				      struct store_user *cur, struct store_err *err)
{
	enum store_status r = sq_get_by_id(&s->base, id, cur, err);
	sqlite3_stmt *st;

	if (r != STORE_OK)
		return r;
	store_user_apply(cur, vals, mask);
	cur->updated_at = now;
	r = store_user_validate(cur, err);
	if (r != STORE_OK)
		return r;
	st = stmt(s, ST_USER_UPDATE, err);
	if (!st)
		return ERR_CODE(err);
	bind_user(st, cur);
	sqlite3_bind_int64(st, 24, id);
	return write_user(s, st, cur, err);
}

static enum store_status sq_user_update(struct store *base, int64_t id,
					const struct store_user *vals, uint32_t mask, int64_t now,
					struct store_user *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	struct store_user cur;
	enum store_status r = tx_begin(s, err);

	if (r != STORE_OK)
		return r;
	r = tx_end(s, update_in_tx(s, id, vals, mask, now, &cur, err), err);
	if (r == STORE_OK && ret)
		*ret = cur;
	return r;
}

/* Runs a one-row write keyed by id (?1), with an optional second integer
 * (?2) for the statements that take one; NOT_FOUND when no row changed.
 * One place for the prepare/bind/step/changes dance of every such write. */
static enum store_status write_by_id(struct sqlite_store *s, enum stmt_id which, int64_t id,
				     const int64_t *arg2, struct store_err *err, const char *what)
{
	sqlite3_stmt *st = stmt(s, which, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, id);
	if (arg2)
		sqlite3_bind_int64(st, 2, *arg2);
	r = step_done(s, st, err, what);
	done(st);
	if (r == STORE_OK && sqlite3_changes(s->db) == 0)
		r = store_fail(err, STORE_NOT_FOUND, "%s: no id %lld", what, (long long)id);
	return r;
}

static enum store_status sq_user_delete(struct store *base, int64_t id, struct store_err *err)
{
	return write_by_id(S(base), ST_USER_DELETE, id, NULL, err, "delete user");
}

/* ---- devices ---- */

/* After a failed device INSERT: who holds the name, the key or an
 * address (a user, or a device of any user). */
static enum store_status device_add_clash(struct sqlite_store *s, const struct store_device *d,
					  const char *owner, struct store_err *err)
{
	struct store_device other;
	sqlite3_stmt *st = stmt(s, ST_DEVICE_GET, NULL);
	char who[STORE_NAME_MAX + 10];

	if (st) {
		sqlite3_bind_int64(st, 1, d->user_id);
		sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
		if (get_device(s, st, &other, NULL, "") == STORE_OK)
			return store_fail(err, STORE_EXISTS, "user '%s' has a device '%s' already",
					  owner, d->name);
	}
	snprintf(who, sizeof(who), "device '%s'", d->name);
	if (user_clash(s, who, 0, d->public_key, d->has_ipv4 ? d->ipv4 : NULL,
		       d->has_ipv6 ? d->ipv6 : NULL, err) != STORE_OK)
		return STORE_EXISTS;
	if (device_clash(s, d->name, d->public_key, d->has_ipv4 ? d->ipv4 : NULL,
			 d->has_ipv6 ? d->ipv6 : NULL, err) != STORE_OK)
		return STORE_EXISTS;
	return store_fail(err, STORE_EXISTS, "device '%s': %s", d->name, sqlite3_errmsg(s->db));
}

static enum store_status device_count_in(struct sqlite_store *s, int64_t user_id, int64_t *ret,
					 struct store_err *err)
{
	sqlite3_stmt *st = stmt(s, ST_DEVICE_COUNT, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, user_id);
	r = step_int(s, st, ret, err, "count devices");
	done(st);
	return r;
}

static enum store_status device_insert(struct sqlite_store *s, struct store_device *d,
				       struct store_err *err)
{
	struct store_user u;
	sqlite3_stmt *st = stmt(s, ST_USER_BY_ID, err);
	enum store_status r;
	int64_t n = 0;
	int xrc;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, d->user_id);
	r = get_one(s, st, &u, err, "for the device");
	if (r == STORE_OK)
		r = device_count_in(s, d->user_id, &n, err);
	if (r == STORE_OK && n >= STORE_DEVICES_MAX)
		r = store_fail(err, STORE_INVALID, "user '%s' has %d devices already", u.name,
			       STORE_DEVICES_MAX);
	if (r != STORE_OK || !(st = stmt(s, ST_DEVICE_INSERT, err)))
		return r != STORE_OK ? r : ERR_CODE(err);
	sqlite3_bind_int64(st, 1, d->user_id);
	sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, d->public_key, 32, SQLITE_STATIC);
	if (d->has_psk)
		sqlite3_bind_blob(st, 4, d->psk, 32, SQLITE_STATIC);
	bind_addr(st, 5, AF_INET, d->has_ipv4, d->ipv4);
	bind_addr(st, 6, AF_INET6, d->has_ipv6, d->ipv6);
	sqlite3_bind_int64(st, 7, d->created_at);
	r = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : STORE_IO;
	xrc = sqlite3_extended_errcode(s->db);
	if (r != STORE_OK)
		r = db_fail(s, xrc, err, "add device");
	done(st);
	if (r == STORE_EXISTS)
		r = device_add_clash(s, d, u.name, err);
	if (r == STORE_OK)
		d->id = sqlite3_last_insert_rowid(s->db);
	return r;
}

static enum store_status sq_device_add(struct store *base, struct store_device *d, int64_t now,
				       struct store_err *err)
{
	struct sqlite_store *s = S(base);
	struct store_device v = *d;
	enum store_status r = tx_begin(s, err);

	if (r != STORE_OK)
		return r;
	v.id = 0;
	v.created_at = now;
	r = tx_end(s, device_insert(s, &v, err), err);
	if (r == STORE_OK)
		*d = v;
	memset(&v, 0, sizeof(v)); /* a PSK */
	return r;
}

static enum store_status sq_device_get(struct store *base, int64_t user_id, const char *name,
				       struct store_device *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_DEVICE_GET, err);
	char what[STORE_NAME_MAX + 8];

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	snprintf(what, sizeof(what), "'%s'", name);
	return get_device(s, st, ret, err, what);
}

static enum store_status sq_device_list(struct store *base, const struct store_device_filter *f,
					struct store_device *ret, size_t *n, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_DEVICE_LIST, err);
	enum store_status r = STORE_OK;
	int rc = SQLITE_DONE;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, f->after_id);
	sqlite3_bind_int64(st, 2, f->user_id);
	sqlite3_bind_int(st, 3, f->enabled < 0 ? -1 : f->enabled != 0);
	sqlite3_bind_int64(st, 4, (int64_t)f->limit);
	while (r == STORE_OK && *n < f->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_device(st, &ret[*n]))
			(*n)++;
		else
			r = store_fail(err, STORE_CORRUPT, "sqlite: device row %lld is malformed",
				       (long long)sqlite3_column_int64(st, 0));
	}
	if (r == STORE_OK && *n < f->limit && rc != SQLITE_DONE)
		r = db_fail(s, rc, err, "list devices");
	done(st);
	return r;
}

static enum store_status sq_device_count(struct store *base, int64_t user_id, int64_t *ret,
					 struct store_err *err)
{
	return device_count_in(S(base), user_id, ret, err);
}

static enum store_status sq_device_delete(struct store *base, int64_t id, struct store_err *err)
{
	return write_by_id(S(base), ST_DEVICE_DELETE, id, NULL, err, "delete device");
}

static enum store_status sq_key_owner(struct store *base, const uint8_t key[32],
				      struct store_user *user, struct store_device *dev,
				      struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st;
	enum store_status r = sq_get_by_key(base, key, user, NULL);

	memset(dev, 0, sizeof(*dev));
	if (r == STORE_OK) {
		dev->user_id = user->id;
		memcpy(dev->public_key, user->public_key, 32);
		return STORE_OK;
	}
	if (!(st = stmt(s, ST_DEVICE_BY_KEY, err)))
		return ERR_CODE(err);
	sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
	r = get_device(s, st, dev, err, "or user with that public key");
	if (r == STORE_OK)
		r = sq_get_by_id(base, dev->user_id, user, err);
	return r;
}

/* ---- usage ---- */

static enum store_status sq_usage_add(struct store *base, const struct store_usage_delta *d,
				      size_t n, int64_t now, size_t *applied, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	enum store_status r = tx_begin(s, err);
	sqlite3_stmt *st = r == STORE_OK ? stmt(s, ST_USAGE_ADD, err) : NULL;
	size_t ok = 0;

	(void)now; /* usage is not an admin change: updated_at stays */
	if (r != STORE_OK)
		return r;
	if (!st)
		return tx_end(s, ERR_CODE(err), err);
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		sqlite3_bind_int64(st, 1, d[i].user_id);
		sqlite3_bind_int64(st, 2, d[i].up);
		sqlite3_bind_int64(st, 3, d[i].down);
		r = step_done(s, st, err, "add usage");
		done(st);
		ok += r == STORE_OK && sqlite3_changes(s->db) == 1;
	}
	r = tx_end(s, r, err);
	if (r == STORE_OK && applied)
		*applied = ok;
	return r;
}

static enum store_status sq_usage_add_by_key(struct store *base,
					     const struct store_usage_key_delta *d, size_t n,
					     int64_t now, size_t *applied, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	enum store_status r = tx_begin(s, err);
	sqlite3_stmt *st = r == STORE_OK ? stmt(s, ST_USAGE_ADD_KEY, err) : NULL;
	size_t ok = 0;

	(void)now;
	if (r != STORE_OK)
		return r;
	if (!st)
		return tx_end(s, ERR_CODE(err), err);
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		sqlite3_bind_blob(st, 1, d[i].public_key, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, d[i].up);
		sqlite3_bind_int64(st, 3, d[i].down);
		r = step_done(s, st, err, "add usage");
		done(st);
		ok += r == STORE_OK && sqlite3_changes(s->db) == 1;
	}
	r = tx_end(s, r, err);
	if (r == STORE_OK && applied)
		*applied = ok;
	return r;
}

static enum store_status sq_usage_reset(struct store *base, int64_t id, int64_t period_start,
					int64_t now, struct store_err *err)
{
	(void)now;
	return write_by_id(S(base), ST_USAGE_RESET, id, &period_start, err, "reset usage");
}

/* ---- outbox ---- */

static enum store_status enqueue_in_tx(struct sqlite_store *s, const char *type, const char *body,
				       size_t len, int64_t now, int64_t max, int64_t *ret_id,
				       struct store_err *err)
{
	sqlite3_stmt *st = stmt(s, ST_OUTBOX_COUNT, err);
	enum store_status r;
	int64_t count = 0;

	if (!st)
		return ERR_CODE(err);
	r = step_int(s, st, &count, err, "count events");
	done(st);
	if (r != STORE_OK)
		return r;
	if (count >= max)
		return store_fail(err, STORE_FULL, "outbox: %lld events queued (the bound)",
				  (long long)count);
	st = stmt(s, ST_OUTBOX_INSERT, err);
	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	r = step_done(s, st, err, "queue event");
	done(st);
	if (r == STORE_OK && ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

static enum store_status sq_outbox_enqueue(struct store *base, const char *type, const char *body,
					   size_t len, int64_t now, int64_t max, int64_t *ret_id,
					   struct store_err *err)
{
	struct sqlite_store *s = S(base);
	enum store_status r = tx_begin(s, err);

	if (r != STORE_OK)
		return r;
	return tx_end(s, enqueue_in_tx(s, type, body, len, now, max, ret_id, err), err);
}

static bool read_event(sqlite3_stmt *st, struct store_event *e)
{
	size_t len = (size_t)sqlite3_column_bytes(st, 2);
	const void *b = sqlite3_column_blob(st, 2);

	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	if (!read_text(st, 1, e->type, sizeof(e->type)))
		return false;
	e->body = malloc(len + 1);
	if (!e->body)
		return false;
	if (len)
		memcpy(e->body, b, len);
	e->body[len] = 0;
	e->body_len = len;
	e->created_at = sqlite3_column_int64(st, 3);
	e->next_try = sqlite3_column_int64(st, 4);
	e->attempts = sqlite3_column_int64(st, 5);
	return true;
}

static enum store_status sq_outbox_peek(struct store *base, int64_t now, size_t max,
					struct store_event *ret, size_t *n, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_OUTBOX_PEEK, err);
	enum store_status r = STORE_OK;
	int rc = SQLITE_DONE;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!read_event(st, &ret[*n])) {
			free(ret[*n].body);
			r = store_fail(err, STORE_CORRUPT, "outbox: malformed event");
			break;
		}
		(*n)++;
	}
	if (r == STORE_OK && *n < max && rc != SQLITE_DONE)
		r = db_fail(s, rc, err, "peek events");
	done(st);
	if (r != STORE_OK) {
		store_events_free(ret, *n);
		*n = 0;
	}
	return r;
}

static enum store_status sq_outbox_ack(struct store *base, int64_t id, struct store_err *err)
{
	return write_by_id(S(base), ST_OUTBOX_ACK, id, NULL, err, "ack event");
}

static enum store_status sq_outbox_failed(struct store *base, int64_t id, int64_t next_try,
					  struct store_err *err)
{
	return write_by_id(S(base), ST_OUTBOX_FAILED, id, &next_try, err, "event attempt");
}

static enum store_status sq_outbox_count(struct store *base, int64_t *ret, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_OUTBOX_COUNT, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	r = step_int(s, st, ret, err, "count events");
	done(st);
	return r;
}

/* ---- audit ---- */

static enum store_status sq_audit_append(struct store *base, const struct store_audit *a,
					 int64_t *ret_id, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_AUDIT_INSERT, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, a->at);
	sqlite3_bind_text(st, 2, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->detail, -1, SQLITE_STATIC);
	r = step_done(s, st, err, "append audit");
	done(st);
	if (r == STORE_OK && ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

static bool read_audit(sqlite3_stmt *st, struct store_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->at = sqlite3_column_int64(st, 1);
	return read_text(st, 2, a->actor, sizeof(a->actor)) &&
	       read_text(st, 3, a->action, sizeof(a->action)) &&
	       read_text(st, 4, a->target, sizeof(a->target)) &&
	       read_text(st, 5, a->detail, sizeof(a->detail));
}

static enum store_status sq_audit_list(struct store *base, int64_t before_id, size_t limit,
				       struct store_audit *ret, size_t *n, struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_AUDIT_LIST, err);
	enum store_status r = STORE_OK;
	int rc = SQLITE_DONE;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_int64(st, 1, before_id ? before_id : INT64_MAX);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!read_audit(st, &ret[*n])) {
			r = store_fail(err, STORE_CORRUPT, "audit: malformed record");
			break;
		}
		(*n)++;
	}
	if (r == STORE_OK && *n < limit && rc != SQLITE_DONE)
		r = db_fail(s, rc, err, "list audit");
	done(st);
	return r;
}

/* ---- meta ---- */

static enum store_status sq_meta_get(struct store *base, const char *key, char *buf, size_t len,
				     struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_META_GET, err);
	enum store_status r;
	int rc;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = store_fail(err, STORE_NOT_FOUND, "meta: no key '%s'", key);
	else if (rc != SQLITE_ROW)
		r = db_fail(s, rc, err, "meta get");
	else if (!read_text(st, 0, buf, len))
		r = store_fail(err, STORE_INVALID, "meta: value of '%s' does not fit", key);
	else
		r = STORE_OK;
	done(st);
	return r;
}

static enum store_status sq_meta_set(struct store *base, const char *key, const char *value,
				     struct store_err *err)
{
	struct sqlite_store *s = S(base);
	sqlite3_stmt *st = stmt(s, ST_META_SET, err);
	enum store_status r;

	if (!st)
		return ERR_CODE(err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = step_done(s, st, err, "meta set");
	done(st);
	return r;
}

/* ---- open / close ---- */

static void sq_close(struct store *base)
{
	struct sqlite_store *s = S(base);

	while (s->depth)
		tx_rollback(s);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,
    .integrity_check = sq_integrity,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_create = sq_user_create,
    .user_get_by_id = sq_get_by_id,
    .user_get_by_name = sq_get_by_name,
    .user_get_by_key = sq_get_by_key,
    .user_list = sq_user_list,
    .user_count = sq_user_count,
    .user_update = sq_user_update,
    .user_delete = sq_user_delete,
    .device_add = sq_device_add,
    .device_get = sq_device_get,
    .device_list = sq_device_list,
    .device_count = sq_device_count,
    .device_delete = sq_device_delete,
    .key_owner = sq_key_owner,
    .usage_add = sq_usage_add,
    .usage_add_by_key = sq_usage_add_by_key,
    .usage_reset = sq_usage_reset,
    .outbox_enqueue = sq_outbox_enqueue,
    .outbox_peek = sq_outbox_peek,
    .outbox_ack = sq_outbox_ack,
    .outbox_failed = sq_outbox_failed,
    .outbox_count = sq_outbox_count,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
};

/* SQLite creates a missing file with the process umask (0644 typically);
 * the store holds PSKs, so the file is made 0600 first. The WAL and shared
 * memory files take the database file's mode. */
static enum store_status create_private(const char *path, struct store_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		return STORE_OK;
	}
	if (errno == EEXIST)
		return STORE_OK;
	return store_fail(err, STORE_IO, "store: cannot create %s: %s", path, strerror(errno));
}

static enum store_status pragma(struct sqlite_store *s, const char *sql, const char *want,
				struct store_err *err)
{
	sqlite3_stmt *st;
	enum store_status r = STORE_OK;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(s, sqlite3_extended_errcode(s->db), err, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s, sqlite3_extended_errcode(s->db), err, sql);
	else if (want &&
		 (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), want) != 0))
		r = store_fail(err, STORE_IO, "sqlite: %s did not answer %s", sql, want);
	sqlite3_finalize(st);
	return r;
}

static enum store_status configure(struct sqlite_store *s, struct store_err *err)
{
	enum store_status r;
	int64_t v = 0;

	sqlite3_busy_timeout(s->db, STORE_SQLITE_BUSY_MS);
	sqlite3_extended_result_codes(s->db, 1);
	/* WAL: readers (the API, lostlove-admin) never block the writer */
	r = pragma(s, "PRAGMA journal_mode = WAL", "wal", err);
	if (r == STORE_OK)
		r = pragma(s, "PRAGMA synchronous = " STORE_SQLITE_SYNCHRONOUS, NULL, err);
	if (r == STORE_OK)
		r = pragma(s, "PRAGMA foreign_keys = ON", NULL, err);
	/* sorts and statement journals in memory: no temporary files, which a
	 * sandboxed server would have to create in a directory of its own */
	if (r == STORE_OK)
		r = pragma(s, "PRAGMA temp_store = MEMORY", NULL, err);
	if (r == STORE_OK)
		r = read_version(s, &v, err);
	if (r == STORE_OK && v > N_MIGRATIONS)
		r = refuse_newer(v, err);
	return r;
}

enum store_status store_sqlite_open(const char *path, struct store **ret, struct store_err *err)
{
	struct sqlite_store *s;
	enum store_status r;
	int rc;

	r = create_private(path, err);
	if (r != STORE_OK)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return store_fail(err, STORE_IO, "store: out of memory");
	s->base.ops = &sqlite_ops;
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		r = store_fail(err, map_rc(rc) == STORE_CORRUPT ? STORE_CORRUPT : STORE_IO,
			       "store: cannot open %s: %s", path,
			       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	else
		r = configure(s, err);
	if (r != STORE_OK) {
		if (r == STORE_CORRUPT && err)
			snprintf(err->msg, sizeof(err->msg), "store: %s is not a LostLove database",
				 path);
		sq_close(&s->base);
		return r;
	}
	*ret = &s->base;
	return STORE_OK;
}
