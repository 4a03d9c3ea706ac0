/* The user store (storage/store.h, SQLite backend; storage/sync.h): every
 * operation; duplicate names, keys and addresses refused with the store
 * unchanged; bad values refused; migration from an empty file, re-open,
 * and refusal of a newer schema, a file that is no database or a symbolic
 * link; outbox order and backoff; audit paging; 1,000 users; a process
 * killed with SIGKILL loses only what it had not committed and leaves an
 * intact database; two processes adding usage at once lose no byte; rows
 * altered behind the store's back read as CORRUPT; the users.toml sync;
 * the quota period arithmetic across month ends and leap years; devices:
 * keys and addresses unique across users and devices, deleted with
 * their user. Each test
 * gets its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage/store.h"
#include "storage/sync.h"

struct fixture {
	char dir[64];
	char path[96];
	struct store *s;
};

static void rm_db(const char *path)
{
	char p[PATH_MAX + 8];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_err err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/ll-test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/lostlove.db", f->dir);
	if (store_open(f->path, &f->s, &err) != STORE_OK || store_migrate(f->s, &err) != STORE_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	rm_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	struct store_err err;

	store_close(f->s);
	assert_int_equal(store_open(f->path, &f->s, &err), STORE_OK);
}

/* A valid user: name, key from seed, addresses 10.8.x.y / fd00:8::x. */
static void mk_user(struct store_user *u, const char *name, unsigned seed)
{
	store_user_init(u);
	snprintf(u->name, sizeof(u->name), "%s", name);
	memset(u->public_key, 0, 32);
	u->public_key[0] = (uint8_t)(seed >> 8);
	u->public_key[1] = (uint8_t)seed;
	u->public_key[31] = 0x5a;
	u->has_psk = true;
	memset(u->psk, (int)(seed & 0xff) | 1, 32);
	u->has_ipv4 = true;
	u->ipv4[0] = 10;
	u->ipv4[1] = 8;
	u->ipv4[2] = (uint8_t)(seed >> 8);
	u->ipv4[3] = (uint8_t)seed;
	u->has_ipv6 = true;
	memset(u->ipv6, 0, 16);
	u->ipv6[0] = 0xfd;
	u->ipv6[3] = 8;
	u->ipv6[14] = (uint8_t)(seed >> 8);
	u->ipv6[15] = (uint8_t)seed;
}

static int64_t count_users(struct store *s)
{
	struct store_err err;
	int64_t n = -1;

	assert_int_equal(store_user_count(s, &n, &err), STORE_OK);
	return n;
}

static void assert_users_equal(const struct store_user *a, const struct store_user *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->public_key, b->public_key, 32);
	assert_int_equal(a->has_psk, b->has_psk);
	if (a->has_psk)
		assert_memory_equal(a->psk, b->psk, 32);
	assert_int_equal(a->has_ipv4, b->has_ipv4);
	if (a->has_ipv4)
		assert_memory_equal(a->ipv4, b->ipv4, 4);
	assert_int_equal(a->has_ipv6, b->has_ipv6);
	if (a->has_ipv6)
		assert_memory_equal(a->ipv6, b->ipv6, 16);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->expires_at, b->expires_at);
	assert_int_equal(a->expiry_from_first_connect, b->expiry_from_first_connect);
	assert_int_equal(a->first_connected_at, b->first_connected_at);
	assert_int_equal(a->data_limit, b->data_limit);
	assert_int_equal(a->used_up, b->used_up);
	assert_int_equal(a->used_down, b->used_down);
	assert_int_equal(a->quota_period, b->quota_period);
	assert_int_equal(a->quota_day, b->quota_day);
	assert_int_equal(a->quota_action, b->quota_action);
	assert_int_equal(a->throttle_rate, b->throttle_rate);
	assert_int_equal(a->period_start, b->period_start);
	assert_int_equal(a->rate_limit, b->rate_limit);
	assert_int_equal(a->device_limit, b->device_limit);
	assert_string_equal(a->note, b->note);
	assert_int_equal(a->source, b->source);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
}

/* ---- devices ---- */

/* A device of user_id with key/addresses from seed (as mk_user's). */
static void mk_device(struct store_device *d, int64_t user_id, const char *name, unsigned seed)
{
	struct store_user u;

	mk_user(&u, "x", seed);
	memset(d, 0, sizeof(*d));
	d->user_id = user_id;
	snprintf(d->name, sizeof(d->name), "%s", name);
	memcpy(d->public_key, u.public_key, 32);
	d->has_psk = true;
	memcpy(d->psk, u.psk, 32);
	d->has_ipv4 = true;
	memcpy(d->ipv4, u.ipv4, 4);
	d->has_ipv6 = true;
	memcpy(d->ipv6, u.ipv6, 16);
}

static int64_t count_devices(struct store *s, int64_t user_id)
{
	struct store_err err;
	int64_t n = -1;

	assert_int_equal(store_device_count(s, user_id, &n, &err), STORE_OK);
	return n;
}

/* add/get/list/delete, lookup by key returns (user, device) */
static void test_device_crud(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b, who;
	struct store_device d, e, got, page[4];
	struct store_device_filter flt = {.limit = 4, .enabled = -1};
	struct store_err err;
	size_t n = 0;

	mk_user(&a, "alice", 1);
	mk_user(&b, "bob", 2);
	assert_int_equal(store_user_create(f->s, &a, 100, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &b, 100, &err), STORE_OK);
	mk_device(&d, a.id, "phone", 11);
	assert_int_equal(store_device_add(f->s, &d, 200, &err), STORE_OK);
	assert_true(d.id > 0);
	assert_int_equal(d.created_at, 200);
	mk_device(&e, a.id, "laptop", 12);
	e.has_psk = false;
	e.has_ipv6 = false;
	assert_int_equal(store_device_add(f->s, &e, 201, &err), STORE_OK);
	/* the same name under another user is another device */
	mk_device(&got, b.id, "phone", 13);
	assert_int_equal(store_device_add(f->s, &got, 202, &err), STORE_OK);

	assert_int_equal(store_device_get(f->s, a.id, "laptop", &got, &err), STORE_OK);
	assert_int_equal(got.id, e.id);
	assert_false(got.has_psk);
	assert_false(got.has_ipv6);
	assert_memory_equal(got.ipv4, e.ipv4, 4);
	assert_int_equal(store_device_get(f->s, b.id, "laptop", &got, &err), STORE_NOT_FOUND);
	assert_int_equal(store_device_get(f->s, a.id, "../x", &got, &err), STORE_NOT_FOUND);

	flt.user_id = a.id;
	assert_int_equal(store_device_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(page[0].name, "phone");
	assert_memory_equal(page[0].psk, d.psk, 32);
	assert_string_equal(page[1].name, "laptop");
	flt.user_id = 0;
	flt.after_id = d.id;
	assert_int_equal(store_device_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 2); /* laptop, bob's phone */

	/* a device's key names its user and the device; a user's, device 0 */
	assert_int_equal(store_key_owner(f->s, d.public_key, &who, &got, &err), STORE_OK);
	assert_string_equal(who.name, "alice");
	assert_int_equal(got.id, d.id);
	assert_string_equal(got.name, "phone");
	assert_int_equal(store_key_owner(f->s, b.public_key, &who, &got, &err), STORE_OK);
	assert_string_equal(who.name, "bob");
	assert_int_equal(got.id, 0);
	mk_user(&who, "nobody", 99);
	assert_int_equal(store_key_owner(f->s, who.public_key, &who, &got, &err), STORE_NOT_FOUND);

	assert_int_equal(store_device_delete(f->s, d.id, &err), STORE_OK);
	assert_int_equal(store_device_delete(f->s, d.id, &err), STORE_NOT_FOUND);
	assert_int_equal(count_devices(f->s, a.id), 1);
	/* its key and address are free again */
	mk_device(&d, b.id, "tablet", 11);
	assert_int_equal(store_device_add(f->s, &d, 300, &err), STORE_OK);
	/* no device without a user */
	mk_device(&d, 9999, "ghost", 30);
	assert_int_equal(store_device_add(f->s, &d, 300, &err), STORE_NOT_FOUND);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
}

/* A key or address is one user's or one device's, across both tables,
 * in every direction; each refusal names who holds it and changes
 * nothing. */
static void test_device_uniqueness(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b, c, got;
	struct store_device d, x;
	struct store_err err;

	mk_user(&a, "alice", 1);
	mk_user(&b, "bob", 2);
	assert_int_equal(store_user_create(f->s, &a, 100, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &b, 100, &err), STORE_OK);
	mk_device(&d, a.id, "phone", 11);
	assert_int_equal(store_device_add(f->s, &d, 200, &err), STORE_OK);

	/* device vs device: name per user, key, ipv4, ipv6 of any user's */
	mk_device(&x, a.id, "phone", 12);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "has a device 'phone'"));
	mk_device(&x, b.id, "other", 12);
	memcpy(x.public_key, d.public_key, 32);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "device 'phone' of user 'alice'"));
	mk_device(&x, b.id, "other", 12);
	memcpy(x.ipv4, d.ipv4, 4);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "ipv4 10.8.0.11"));
	mk_device(&x, b.id, "other", 12);
	memcpy(x.ipv6, d.ipv6, 16);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "ipv6"));

	/* device vs user: bob's key and addresses */
	mk_device(&x, a.id, "other", 12);
	memcpy(x.public_key, b.public_key, 32);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "public key of device 'other' belongs to user 'bob'"));
	mk_device(&x, a.id, "other", 12);
	memcpy(x.ipv4, b.ipv4, 4);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "of device 'other' belongs to user 'bob'"));
	assert_non_null(strstr(err.msg, "ipv4 "));
	mk_device(&x, a.id, "other", 12);
	memcpy(x.ipv6, b.ipv6, 16);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "of device 'other' belongs to user 'bob'"));
	assert_non_null(strstr(err.msg, "ipv6 "));

	/* user vs device: a new user, and an update, taking the device's */
	mk_user(&c, "carol", 3);
	memcpy(c.public_key, d.public_key, 32);
	assert_int_equal(store_user_create(f->s, &c, 300, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "device 'phone' of user 'alice'"));
	mk_user(&c, "carol", 3);
	memcpy(c.ipv4, d.ipv4, 4);
	assert_int_equal(store_user_create(f->s, &c, 300, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "device 'phone' of user 'alice'"));
	mk_user(&c, "carol", 3);
	memcpy(c.ipv4, d.ipv4, 4);
	assert_int_equal(store_user_update(f->s, b.id, &c, STORE_F_IPV4, 300, NULL, &err),
			 STORE_EXISTS);
	assert_non_null(strstr(err.msg, "device 'phone' of user 'alice'"));
	memcpy(c.public_key, d.public_key, 32);
	assert_int_equal(store_user_update(f->s, b.id, &c, STORE_F_PUBLIC_KEY, 300, NULL, &err),
			 STORE_EXISTS);
	memcpy(c.ipv6, d.ipv6, 16);
	assert_int_equal(store_user_update(f->s, b.id, &c, STORE_F_IPV6, 300, NULL, &err),
			 STORE_EXISTS);
	/* an unrelated update of a user with devices still works */
	c.data_limit = 5;
	assert_int_equal(store_user_update(f->s, a.id, &c, STORE_F_DATA_LIMIT, 300, NULL, &err),
			 STORE_OK);

	/* nothing changed */
	assert_int_equal(count_users(f->s), 2);
	assert_int_equal(count_devices(f->s, a.id), 1);
	assert_int_equal(count_devices(f->s, b.id), 0);
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_memory_equal(got.public_key, b.public_key, 32);
	assert_memory_equal(got.ipv4, b.ipv4, 4);

	/* bad values */
	mk_device(&x, a.id, "bad name", 20);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_INVALID);
	mk_device(&x, a.id, "zero", 20);
	memset(x.public_key, 0, 32);
	assert_int_equal(store_device_add(f->s, &x, 200, &err), STORE_INVALID);
	/* device_limit's bound is the store's too */
	c.device_limit = STORE_DEVICE_LIMIT_MAX;
	assert_int_equal(store_user_update(f->s, a.id, &c, STORE_F_DEVICE_LIMIT, 300, NULL, &err),
			 STORE_OK);
	c.device_limit = STORE_DEVICE_LIMIT_MAX + 1;
	assert_int_equal(store_user_update(f->s, a.id, &c, STORE_F_DEVICE_LIMIT, 300, NULL, &err),
			 STORE_INVALID);
}

/* Deleting a user deletes its devices (and frees their keys). */
static void test_device_cascade(void **state)
{
	struct fixture *f = *state;
	struct store_user a, c;
	struct store_device d;
	struct store_err err;

	mk_user(&a, "alice", 1);
	assert_int_equal(store_user_create(f->s, &a, 100, &err), STORE_OK);
	for (unsigned i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "d%u", i);
		mk_device(&d, a.id, name, 10 + i);
		assert_int_equal(store_device_add(f->s, &d, 200, &err), STORE_OK);
	}
	reopen(f); /* foreign keys are per connection: on for every one */
	assert_int_equal(count_devices(f->s, a.id), 3);
	assert_int_equal(store_user_delete(f->s, a.id, &err), STORE_OK);
	assert_int_equal(count_devices(f->s, a.id), 0);
	mk_user(&c, "carol", 10); /* d0's key and addresses */
	assert_int_equal(store_user_create(f->s, &c, 300, &err), STORE_OK);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
}

/* ---- opening, schema, migrations ---- */

static void test_migrate_empty_and_reopen(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	struct store_user u, got;
	struct stat sb;
	char wal[128];
	int64_t v = -1;

	assert_int_equal(store_schema_version(f->s, &v, &err), STORE_OK);
	assert_int_equal(v, store_schema_latest());
	assert_true(v >= 1);
	/* the file holds PSKs: owner only, the WAL too */
	mk_user(&u, "alice", 1);
	assert_int_equal(store_user_create(f->s, &u, 1000, &err), STORE_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* re-open: same version, migrate is a no-op, data kept */
	reopen(f);
	assert_int_equal(store_migrate(f->s, &err), STORE_OK);
	assert_int_equal(store_schema_version(f->s, &v, &err), STORE_OK);
	assert_int_equal(v, store_schema_latest());
	assert_int_equal(store_user_get_by_name(f->s, "alice", &got, &err), STORE_OK);
	assert_users_equal(&u, &got);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
}

static void set_version(const char *path, int64_t v)
{
	sqlite3 *db;
	char sql[96];

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%lld)", (long long)v);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_refuse_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	struct store *s2 = NULL;

	store_close(f->s);
	f->s = NULL;
	set_version(f->path, store_schema_latest() + 1);
	assert_int_equal(store_open(f->path, &s2, &err), STORE_UNSUPPORTED);
	assert_null(s2);
	assert_non_null(strstr(err.msg, "newer than this build"));
	/* the fixture's teardown needs a store: one on a fresh file */
	rm_db(f->path);
	assert_int_equal(store_open(f->path, &f->s, &err), STORE_OK);
}

static void test_not_a_database(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	struct store *s2 = NULL;
	char p[128];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/junk.db", f->dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database, just text. ", fp);
	fclose(fp);
	assert_int_equal(store_open(p, &s2, &err), STORE_CORRUPT);
	assert_null(s2);
	assert_non_null(strstr(err.msg, "not a LostLove database"));
	rm_db(p);
	/* a symbolic link planted at the path is not followed */
	snprintf(p, sizeof(p), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, p), 0);
	assert_int_equal(store_open(p, &s2, &err), STORE_IO);
	assert_null(s2);
	unlink(p);
	/* a directory that does not exist */
	snprintf(p, sizeof(p), "%s/no/such/dir.db", f->dir);
	assert_int_equal(store_open(p, &s2, &err), STORE_IO);
	assert_non_null(strstr(err.msg, "cannot create"));
}

static void test_open_uris(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	struct store *s2 = NULL;
	char uri[128];

	assert_int_equal(store_open("postgres://u@h/db", &s2, &err), STORE_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "not built yet"));
	assert_non_null(strstr(err.msg, "scale-out"));
	assert_int_equal(store_open("postgresql://h/db", &s2, &err), STORE_UNSUPPORTED);
	assert_int_equal(store_open("mysql://h/db", &s2, &err), STORE_INVALID);
	assert_int_equal(store_open("", &s2, &err), STORE_INVALID);
	assert_int_equal(store_open("sqlite:", &s2, &err), STORE_INVALID);
	assert_null(s2);
	snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
	assert_int_equal(store_open(uri, &s2, &err), STORE_OK);
	assert_int_equal(count_users(s2), 0);
	store_close(s2);
}

/* ---- users ---- */

static void test_user_crud(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	struct store_user u, got, upd, out;

	mk_user(&u, "alice.b-c_1", 7);
	u.has_ipv6 = false;
	u.expires_at = 2000000000;
	u.expiry_from_first_connect = 30 * 86400;
	u.data_limit = 5LL << 30;
	u.quota_period = STORE_PERIOD_DAY_OF_MONTH;
	u.quota_day = 31;
	u.quota_action = STORE_QUOTA_THROTTLE;
	u.throttle_rate = 64000;
	u.rate_limit = 1 << 20;
	u.device_limit = 3;
	snprintf(u.note, sizeof(u.note), "laptop \"quoted\" ünïcode");
	assert_int_equal(store_user_create(f->s, &u, 1000, &err), STORE_OK);
	assert_true(u.id > 0);
	assert_int_equal(u.created_at, 1000);
	assert_int_equal(u.updated_at, 1000);
	assert_int_equal(u.period_start, 1000);

	assert_int_equal(store_user_get_by_id(f->s, u.id, &got, &err), STORE_OK);
	assert_users_equal(&u, &got);
	assert_int_equal(store_user_get_by_name(f->s, u.name, &got, &err), STORE_OK);
	assert_users_equal(&u, &got);
	assert_int_equal(store_user_get_by_key(f->s, u.public_key, &got, &err), STORE_OK);
	assert_users_equal(&u, &got);

	/* partial update: only the masked fields change */
	memset(&upd, 0x7f, sizeof(upd));
	upd.enabled = false;
	upd.rate_limit = 5;
	snprintf(upd.note, sizeof(upd.note), "phone");
	upd.has_psk = false;
	assert_int_equal(
	    store_user_update(f->s, u.id, &upd,
			      STORE_F_ENABLED | STORE_F_RATE_LIMIT | STORE_F_NOTE | STORE_F_PSK,
			      2000, &out, &err),
	    STORE_OK);
	u.enabled = false;
	u.rate_limit = 5;
	snprintf(u.note, sizeof(u.note), "phone");
	u.has_psk = false;
	u.updated_at = 2000;
	assert_int_equal(store_user_get_by_id(f->s, u.id, &got, &err), STORE_OK);
	assert_users_equal(&u, &got);
	assert_int_equal(out.updated_at, 2000);
	/* an unknown mask bit, a missing user */
	assert_int_equal(store_user_update(f->s, u.id, &upd, 1u << 30, 2001, NULL, &err),
			 STORE_INVALID);
	assert_int_equal(store_user_update(f->s, u.id + 99, &upd, STORE_F_NOTE, 2001, NULL, &err),
			 STORE_NOT_FOUND);

	assert_int_equal(store_user_delete(f->s, u.id, &err), STORE_OK);
	assert_int_equal(store_user_get_by_id(f->s, u.id, &got, &err), STORE_NOT_FOUND);
	assert_int_equal(store_user_get_by_name(f->s, u.name, &got, &err), STORE_NOT_FOUND);
	assert_int_equal(store_user_get_by_key(f->s, u.public_key, &got, &err), STORE_NOT_FOUND);
	assert_int_equal(store_user_delete(f->s, u.id, &err), STORE_NOT_FOUND);
	/* ids are never reused */
	mk_user(&got, "again", 8);
	assert_int_equal(store_user_create(f->s, &got, 3000, &err), STORE_OK);
	assert_true(got.id > u.id);
}

static void expect_invalid(struct store *s, const struct store_user *u, const char *what)
{
	struct store_user v = *u;
	struct store_err err;

	assert_int_equal(store_user_create(s, &v, 10, &err), STORE_INVALID);
	if (!strstr(err.msg, what))
		fail_msg("expected '%s' in '%s'", what, err.msg);
}

static void test_user_validation(void **state)
{
	struct fixture *f = *state;
	struct store_user u, base;
	struct store_err err;
	static const char *const bad_names[] = {"", "a b", "a/b", "\xc3\xa4", "a\nb", "x'--"};

	mk_user(&base, "ok", 1);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		u = base;
		snprintf(u.name, sizeof(u.name), "%s", bad_names[i]);
		expect_invalid(f->s, &u, "name");
	}
	u = base;
	memset(u.name, 'a', STORE_NAME_MAX + 1); /* no terminator within the limit */
	expect_invalid(f->s, &u, "name");
	u = base;
	memset(u.name, 'a', STORE_NAME_MAX);
	u.name[STORE_NAME_MAX] = 0; /* exactly the maximum: fine */
	assert_int_equal(store_user_create(f->s, &u, 10, &err), STORE_OK);
	assert_int_equal(store_user_delete(f->s, u.id, &err), STORE_OK);

	u = base;
	memset(u.public_key, 0, 32);
	expect_invalid(f->s, &u, "public_key");
	u = base;
	memset(u.note, 'n', STORE_NOTE_MAX + 1);
	expect_invalid(f->s, &u, "note");
	u = base;
	u.data_limit = -1;
	expect_invalid(f->s, &u, "data_limit");
	u = base;
	u.device_limit = -3;
	expect_invalid(f->s, &u, "device_limit");
	u = base;
	u.quota_period = STORE_PERIOD_DAY_OF_MONTH;
	u.quota_day = 0;
	expect_invalid(f->s, &u, "quota_day");
	u.quota_day = 32;
	expect_invalid(f->s, &u, "quota_day");
	u = base;
	u.quota_day = 5; /* only with day_of_month */
	expect_invalid(f->s, &u, "quota_day");
	u = base;
	u.quota_period = (enum store_period)9;
	expect_invalid(f->s, &u, "quota_period");
	u = base;
	u.quota_action = STORE_QUOTA_THROTTLE;
	expect_invalid(f->s, &u, "throttle_rate");
	u = base;
	u.source = (enum store_source)5;
	expect_invalid(f->s, &u, "source");
	assert_int_equal(count_users(f->s), 0);

	/* an update that would make the user invalid changes nothing */
	u = base;
	assert_int_equal(store_user_create(f->s, &u, 10, &err), STORE_OK);
	base.data_limit = -5;
	assert_int_equal(store_user_update(f->s, u.id, &base, STORE_F_DATA_LIMIT, 11, NULL, &err),
			 STORE_INVALID);
	assert_int_equal(store_user_get_by_id(f->s, u.id, &base, &err), STORE_OK);
	assert_users_equal(&u, &base);
}

static void test_duplicates_leave_store_unchanged(void **state)
{
	struct fixture *f = *state;
	struct store_user alice, bob, x, got;
	struct store_err err;

	mk_user(&alice, "alice", 1);
	mk_user(&bob, "bob", 2);
	assert_int_equal(store_user_create(f->s, &alice, 10, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &bob, 10, &err), STORE_OK);

	x = bob;
	snprintf(x.name, sizeof(x.name), "alice");
	mk_user(&x, "alice", 3);
	assert_int_equal(store_user_create(f->s, &x, 11, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "name 'alice' is taken"));
	mk_user(&x, "carol", 3);
	memcpy(x.public_key, alice.public_key, 32);
	assert_int_equal(store_user_create(f->s, &x, 11, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "public key of 'carol' belongs to user 'alice'"));
	mk_user(&x, "carol", 3);
	memcpy(x.ipv4, bob.ipv4, 4);
	assert_int_equal(store_user_create(f->s, &x, 11, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "ipv4 10.8.0.2 of 'carol' belongs to user 'bob'"));
	mk_user(&x, "carol", 3);
	memcpy(x.ipv6, bob.ipv6, 16);
	assert_int_equal(store_user_create(f->s, &x, 11, &err), STORE_EXISTS);
	assert_non_null(strstr(err.msg, "ipv6 fd00:8::2 of 'carol' belongs to user 'bob'"));
	assert_int_equal(count_users(f->s), 2);

	/* updates into a clash: bob stays bob */
	x = alice;
	assert_int_equal(store_user_update(f->s, bob.id, &x, STORE_F_NAME, 12, NULL, &err),
			 STORE_EXISTS);
	assert_int_equal(store_user_update(f->s, bob.id, &x, STORE_F_PUBLIC_KEY, 12, NULL, &err),
			 STORE_EXISTS);
	assert_non_null(strstr(err.msg, "belongs to user 'alice'"));
	assert_int_equal(
	    store_user_update(f->s, bob.id, &x, STORE_F_IPV4 | STORE_F_NOTE, 12, NULL, &err),
	    STORE_EXISTS);
	assert_int_equal(store_user_get_by_id(f->s, bob.id, &got, &err), STORE_OK);
	assert_users_equal(&bob, &got);
	assert_int_equal(store_user_get_by_id(f->s, alice.id, &got, &err), STORE_OK);
	assert_users_equal(&alice, &got);
	/* no address at all is not a clash: two users without IPv6 */
	mk_user(&x, "dave", 4);
	x.has_ipv6 = false;
	assert_int_equal(store_user_create(f->s, &x, 13, &err), STORE_OK);
	mk_user(&x, "erin", 5);
	x.has_ipv6 = false;
	assert_int_equal(store_user_create(f->s, &x, 13, &err), STORE_OK);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
}

static void test_list_paging_and_filters(void **state)
{
	struct fixture *f = *state;
	struct store_user u, page[10];
	struct store_user_filter flt = {.limit = 10, .enabled = -1, .source = -1};
	struct store_err err;
	char name[32];
	size_t n, total = 0;
	int64_t last = 0;

	for (unsigned i = 1; i <= 25; i++) {
		snprintf(name, sizeof(name), "%s%02u", i % 5 == 0 ? "team-" : "user", i);
		mk_user(&u, name, i);
		u.enabled = i % 3 != 0;
		u.source = i % 4 == 0 ? STORE_SOURCE_TOML : STORE_SOURCE_API;
		assert_int_equal(store_user_create(f->s, &u, i, &err), STORE_OK);
	}
	do {
		assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
		for (size_t i = 0; i < n; i++) {
			assert_true(page[i].id > last);
			last = page[i].id;
		}
		total += n;
		if (n)
			flt.after_id = page[n - 1].id;
	} while (n == flt.limit);
	assert_int_equal(total, 25);

	flt.after_id = 0;
	flt.name_contains = "team-";
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_non_null(strstr(page[i].name, "team-"));
	flt.name_contains = "%"; /* no wildcard meaning */
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 0);
	flt.name_contains = NULL;
	flt.enabled = 0;
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 8); /* 3, 6, ..., 24 */
	for (size_t i = 0; i < n; i++)
		assert_false(page[i].enabled);
	flt.enabled = -1;
	flt.source = STORE_SOURCE_TOML;
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 6); /* 4, 8, ..., 24 */
	flt.enabled = 1;
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_OK);
	assert_int_equal(n, 4); /* not 12, 24 */

	flt.limit = 0;
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_INVALID);
	flt.limit = STORE_PAGE_MAX + 1;
	assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_INVALID);
}

/* ---- usage ---- */

static void test_usage_batches(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b, got;
	struct store_err err;
	struct store *s2;
	size_t applied = 99;

	mk_user(&a, "a", 1);
	mk_user(&b, "b", 2);
	assert_int_equal(store_user_create(f->s, &a, 10, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &b, 10, &err), STORE_OK);
	{
		struct store_usage_delta d[] = {
		    {a.id, 100, 1000}, {b.id, 5, 7}, {a.id + b.id + 50, 1, 1}, {a.id, 1, 2}};
		assert_int_equal(store_usage_add(f->s, d, 4, 20, &applied, &err), STORE_OK);
		assert_int_equal(applied, 3); /* the missing user is skipped */
	}
	assert_int_equal(store_user_get_by_id(f->s, a.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 101);
	assert_int_equal(got.used_down, 1002);
	assert_int_equal(got.updated_at, 10); /* usage is not an admin change */
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 5);
	assert_int_equal(got.used_down, 7);

	/* a negative delta refuses the whole batch */
	{
		struct store_usage_delta d[] = {{a.id, 1, 1}, {b.id, -1, 0}};
		assert_int_equal(store_usage_add(f->s, d, 2, 21, &applied, &err), STORE_INVALID);
	}
	assert_int_equal(store_user_get_by_id(f->s, a.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 101);

	/* two connections adding alternately lose nothing */
	assert_int_equal(store_open(f->path, &s2, &err), STORE_OK);
	for (int i = 0; i < 50; i++) {
		struct store_usage_delta d = {b.id, 1, 2};
		assert_int_equal(store_usage_add(i % 2 ? s2 : f->s, &d, 1, 30, NULL, &err),
				 STORE_OK);
	}
	store_close(s2);
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 55);
	assert_int_equal(got.used_down, 107);

	/* counters saturate instead of wrapping (or turning into floats) */
	{
		struct store_usage_delta d = {b.id, INT64_MAX, INT64_MAX - 100};
		assert_int_equal(store_usage_add(f->s, &d, 1, 40, NULL, &err), STORE_OK);
		assert_int_equal(store_usage_add(f->s, &d, 1, 40, NULL, &err), STORE_OK);
	}
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, INT64_MAX);
	assert_int_equal(got.used_down, INT64_MAX);

	/* by public key: the same increments; an unknown key is skipped */
	{
		struct store_usage_key_delta k[2] = {{.up = 10, .down = 20}, {.up = 1, .down = 1}};
		memcpy(k[0].public_key, a.public_key, 32);
		memset(k[1].public_key, 0xee, 32);
		assert_int_equal(store_usage_add_by_key(f->s, k, 2, 41, &applied, &err), STORE_OK);
		assert_int_equal(applied, 1);
		k[1].down = -1;
		assert_int_equal(store_usage_add_by_key(f->s, k, 2, 41, &applied, &err),
				 STORE_INVALID);
	}
	assert_int_equal(store_user_get_by_id(f->s, a.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 111);
	assert_int_equal(got.used_down, 1022);

	/* period roll-over */
	assert_int_equal(store_usage_reset(f->s, b.id, 86400, 86401, &err), STORE_OK);
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 0);
	assert_int_equal(got.used_down, 0);
	assert_int_equal(got.period_start, 86400);
	assert_int_equal(store_usage_reset(f->s, 9999, 1, 1, &err), STORE_NOT_FOUND);
	assert_int_equal(store_usage_reset(f->s, b.id, -1, 1, &err), STORE_INVALID);
	/* first connection is a settable field */
	got.first_connected_at = 5555;
	assert_int_equal(
	    store_user_update(f->s, b.id, &got, STORE_F_FIRST_CONNECTED, 50, NULL, &err), STORE_OK);
	assert_int_equal(store_user_get_by_id(f->s, b.id, &got, &err), STORE_OK);
	assert_int_equal(got.first_connected_at, 5555);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	struct store_user a, b, c, got;
	struct store_err err;

	mk_user(&a, "a", 1);
	mk_user(&b, "b", 1); /* a's key */
	mk_user(&c, "c", 3);
	assert_int_equal(store_begin(f->s, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &a, 10, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &b, 10, &err), STORE_EXISTS);
	assert_int_equal(store_commit(f->s, &err), STORE_OK);
	assert_int_equal(count_users(f->s), 1);

	assert_int_equal(store_begin(f->s, &err), STORE_OK);
	assert_int_equal(store_user_create(f->s, &c, 10, &err), STORE_OK);
	assert_int_equal(store_user_delete(f->s, a.id, &err), STORE_OK);
	store_rollback(f->s);
	assert_int_equal(store_user_get_by_name(f->s, "c", &got, &err), STORE_NOT_FOUND);
	assert_int_equal(store_user_get_by_name(f->s, "a", &got, &err), STORE_OK);
	assert_int_equal(store_commit(f->s, &err), STORE_INVALID); /* none open */
}

/* ---- outbox ---- */

static void test_outbox_order_and_backoff(void **state)
{
	struct fixture *f = *state;
	struct store_event ev[8];
	struct store_err err;
	int64_t id[4], cnt;
	size_t n;
	const char body[] = "{\"event\":\"user.connected\",\"user\":\"alice\"}";

	for (int i = 0; i < 3; i++)
		assert_int_equal(store_outbox_enqueue(f->s, "user.connected", body, strlen(body),
						      100 + i, 3, &id[i], &err),
				 STORE_OK);
	assert_true(id[0] < id[1] && id[1] < id[2]);
	/* the bound holds: the fourth is refused, nothing queued */
	assert_int_equal(store_outbox_enqueue(f->s, "user.expired", "{}", 2, 103, 3, &id[3], &err),
			 STORE_FULL);
	assert_int_equal(store_outbox_count(f->s, &cnt, &err), STORE_OK);
	assert_int_equal(cnt, 3);

	assert_int_equal(store_outbox_peek(f->s, 99, 8, ev, &n, &err), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_outbox_peek(f->s, 101, 8, ev, &n, &err), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].id, id[0]);
	assert_int_equal(ev[1].id, id[1]);
	assert_string_equal(ev[0].type, "user.connected");
	assert_int_equal(ev[0].body_len, strlen(body));
	assert_string_equal(ev[0].body, body);
	assert_int_equal(ev[0].created_at, 100);
	assert_int_equal(ev[0].attempts, 0);
	store_events_free(ev, n);

	/* the first fails: backed off to 200, the others go ahead of it */
	assert_int_equal(store_outbox_failed(f->s, id[0], 200, &err), STORE_OK);
	assert_int_equal(store_outbox_peek(f->s, 150, 8, ev, &n, &err), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].id, id[1]);
	assert_int_equal(ev[1].id, id[2]);
	store_events_free(ev, n);
	assert_int_equal(store_outbox_ack(f->s, id[1], &err), STORE_OK);
	assert_int_equal(store_outbox_ack(f->s, id[1], &err), STORE_NOT_FOUND);
	assert_int_equal(store_outbox_failed(f->s, id[1], 1, &err), STORE_NOT_FOUND);

	/* a restart keeps the queue */
	reopen(f);
	assert_int_equal(store_outbox_peek(f->s, 1000, 1, ev, &n, &err), STORE_OK);
	assert_int_equal(n, 1); /* max respected */
	assert_int_equal(ev[0].id, id[0]);
	assert_int_equal(ev[0].attempts, 1);
	assert_int_equal(ev[0].next_try, 200);
	store_events_free(ev, n);
	assert_int_equal(store_outbox_count(f->s, &cnt, &err), STORE_OK);
	assert_int_equal(cnt, 2);
	/* room again */
	assert_int_equal(store_outbox_enqueue(f->s, "user.expired", NULL, 0, 300, 3, &id[3], &err),
			 STORE_OK);
	assert_int_equal(store_outbox_peek(f->s, 1000, 8, ev, &n, &err), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ev[2].id, id[3]);
	assert_int_equal(ev[2].body_len, 0);
	assert_string_equal(ev[2].body, "");
	store_events_free(ev, n);

	assert_int_equal(store_outbox_enqueue(f->s, "", "{}", 2, 1, 10, NULL, &err), STORE_INVALID);
	assert_int_equal(store_outbox_enqueue(f->s, "0123456789012345678901234567890123", "{}", 2,
					      1, 10, NULL, &err),
			 STORE_INVALID);
	assert_int_equal(
	    store_outbox_enqueue(f->s, "t", "{}", STORE_EVENT_BODY_MAX + 1, 1, 10, NULL, &err),
	    STORE_INVALID);
	assert_int_equal(store_outbox_enqueue(f->s, "t", "{}", 2, 1, 0, NULL, &err), STORE_INVALID);
}

/* ---- audit ---- */

static void test_audit_paging(void **state)
{
	struct fixture *f = *state;
	struct store_audit a = {0}, page[10];
	struct store_err err;
	int64_t id, before = 0, expect = 25;
	size_t n;

	for (int i = 1; i <= 25; i++) {
		a.at = 1000 + i;
		snprintf(a.actor, sizeof(a.actor), "api:admin");
		snprintf(a.action, sizeof(a.action), "user.create");
		snprintf(a.target, sizeof(a.target), "user:u%d", i);
		snprintf(a.detail, sizeof(a.detail), "{\"n\":%d}", i);
		assert_int_equal(store_audit_append(f->s, &a, &id, &err), STORE_OK);
		assert_int_equal(id, i);
	}
	for (int p = 0; p < 3; p++) {
		assert_int_equal(store_audit_list(f->s, before, 10, page, &n, &err), STORE_OK);
		assert_int_equal(n, p < 2 ? 10 : 5);
		for (size_t i = 0; i < n; i++, expect--) {
			char t[32];
			assert_int_equal(page[i].id, expect);
			assert_int_equal(page[i].at, 1000 + expect);
			snprintf(t, sizeof(t), "user:u%lld", (long long)expect);
			assert_string_equal(page[i].target, t);
			assert_string_equal(page[i].actor, "api:admin");
		}
		before = page[n - 1].id;
	}
	assert_int_equal(store_audit_list(f->s, before, 10, page, &n, &err), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_audit_list(f->s, 0, 0, page, &n, &err), STORE_INVALID);
	a.action[0] = 0;
	assert_int_equal(store_audit_append(f->s, &a, NULL, &err), STORE_INVALID);
	memset(a.action, 'x', sizeof(a.action)); /* unterminated within the bound */
	assert_int_equal(store_audit_append(f->s, &a, NULL, &err), STORE_INVALID);
}

/* ---- meta ---- */

static void test_meta(void **state)
{
	struct fixture *f = *state;
	struct store_err err;
	char buf[16], big[5000];

	assert_int_equal(store_meta_get(f->s, "server_id", buf, sizeof(buf), &err),
			 STORE_NOT_FOUND);
	assert_int_equal(store_meta_set(f->s, "server_id", "node-1", &err), STORE_OK);
	assert_int_equal(store_meta_get(f->s, "server_id", buf, sizeof(buf), &err), STORE_OK);
	assert_string_equal(buf, "node-1");
	assert_int_equal(store_meta_set(f->s, "server_id", "node-2", &err), STORE_OK);
	assert_int_equal(store_meta_get(f->s, "server_id", buf, sizeof(buf), &err), STORE_OK);
	assert_string_equal(buf, "node-2");
	assert_int_equal(store_meta_set(f->s, "server_id", "0123456789abcdefXYZ", &err), STORE_OK);
	assert_int_equal(store_meta_get(f->s, "server_id", buf, sizeof(buf), &err), STORE_INVALID);
	assert_int_equal(store_meta_set(f->s, "", "x", &err), STORE_INVALID);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(store_meta_set(f->s, "k", big, &err), STORE_INVALID);
}

/* ---- scale ---- */

static void test_thousand_users(void **state)
{
	struct fixture *f = *state;
	struct store_user_filter flt = {.limit = STORE_PAGE_MAX, .enabled = -1, .source = -1};
	struct store_user u, *all = calloc(STORE_PAGE_MAX, sizeof(*all));
	struct store_err err;
	char name[32];
	size_t n;

	assert_non_null(all);
	assert_int_equal(store_begin(f->s, &err), STORE_OK);
	for (unsigned i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "batch%u", i);
		mk_user(&u, name, i + 1);
		assert_int_equal(store_user_create(f->s, &u, 1, &err), STORE_OK);
	}
	assert_int_equal(store_commit(f->s, &err), STORE_OK);
	for (unsigned i = 500; i < 1000; i++) { /* one transaction each */
		snprintf(name, sizeof(name), "single%u", i);
		mk_user(&u, name, i + 1);
		assert_int_equal(store_user_create(f->s, &u, 1, &err), STORE_OK);
	}
	assert_int_equal(count_users(f->s), 1000);
	assert_int_equal(store_user_list(f->s, &flt, all, &n, &err), STORE_OK);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_user_delete(f->s, all[i].id, &err), STORE_OK);
	assert_int_equal(count_users(f->s), 0);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
	free(all);
}

/* ---- kill safety ---- */

/* A child writes, commits, then opens a second transaction and dies by
 * SIGKILL inside it, without closing anything. */
static void child_then_kill(const char *path)
{
	struct store *s;
	struct store_err err;
	struct store_user u;
	struct store_usage_delta d;

	if (store_open(path, &s, &err) != STORE_OK)
		_exit(2);
	mk_user(&u, "committed", 1);
	if (store_user_create(s, &u, 10, &err) != STORE_OK)
		_exit(3);
	d = (struct store_usage_delta){u.id, 1234, 5678};
	if (store_usage_add(s, &d, 1, 11, NULL, &err) != STORE_OK)
		_exit(4);
	if (store_begin(s, &err) != STORE_OK)
		_exit(5);
	mk_user(&u, "uncommitted", 2);
	if (store_user_create(s, &u, 12, &err) != STORE_OK)
		_exit(6);
	d.down = 1;
	store_usage_add(s, &d, 1, 13, NULL, &err);
	kill(getpid(), SIGKILL);
	_exit(7);
}

static void test_kill_safety(void **state)
{
	struct fixture *f = *state;
	struct store_user got;
	struct store_err err;
	int status;
	pid_t pid;

	store_close(f->s);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_then_kill(f->path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	assert_int_equal(store_open(f->path, &f->s, &err), STORE_OK);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
	assert_int_equal(store_user_get_by_name(f->s, "committed", &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 1234);
	assert_int_equal(got.used_down, 5678);
	assert_int_equal(store_user_get_by_name(f->s, "uncommitted", &got, &err), STORE_NOT_FOUND);
	assert_int_equal(count_users(f->s), 1);
}

/* Two processes add usage at the same time, each in its own transactions:
 * the busy timeout queues them and no increment is lost. */
static void adder(const char *path, int64_t id, int n)
{
	struct store *s;
	struct store_err err;
	struct store_usage_delta d = {id, 1, 3};

	if (store_open(path, &s, &err) != STORE_OK)
		_exit(2);
	for (int i = 0; i < n; i++)
		if (store_usage_add(s, &d, 1, 1, NULL, &err) != STORE_OK)
			_exit(3);
	store_close(s);
	_exit(0);
}

static void test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	struct store_user u, got;
	struct store_err err;
	pid_t pid[2];
	int status;

	mk_user(&u, "shared", 1);
	assert_int_equal(store_user_create(f->s, &u, 1, &err), STORE_OK);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0)
			adder(f->path, u.id, 200);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(store_user_get_by_id(f->s, u.id, &got, &err), STORE_OK);
	assert_int_equal(got.used_up, 400);
	assert_int_equal(got.used_down, 1200);
}

/* A row altered behind the store's back (CHECK constraints switched off):
 * read as CORRUPT with the row named, never a crash or a half-read user. */
static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_tampered_rows(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	    "UPDATE users SET public_key = X'0102' WHERE name = 'victim'",
	    "UPDATE users SET psk = 'text' WHERE name = 'victim'",
	    "UPDATE users SET ipv4 = '10.8.0.999' WHERE name = 'victim'",
	    "UPDATE users SET ipv6 = 'fd00::/64' WHERE name = 'victim'",
	    "UPDATE users SET quota_period = 'yearly' WHERE name = 'victim'",
	    "UPDATE users SET source = 'admin' WHERE name = 'victim'",
	    "UPDATE users SET note = zeroblob(2000) WHERE name = 'victim'",
	};
	struct store_user u, page[4];
	struct store_user_filter flt = {.limit = 4, .enabled = -1, .source = -1};
	struct store_err err;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_user(&u, "victim", 1);
		assert_int_equal(store_user_create(f->s, &u, 1, &err), STORE_OK);
		tamper(f->path, bad[i]);
		assert_int_equal(store_user_get_by_id(f->s, u.id, page, &err), STORE_CORRUPT);
		assert_non_null(strstr(err.msg, "malformed"));
		assert_int_equal(store_user_list(f->s, &flt, page, &n, &err), STORE_CORRUPT);
		assert_int_equal(store_user_delete(f->s, u.id, &err), STORE_OK);
	}
	/* an event type too long for its buffer */
	assert_int_equal(store_outbox_enqueue(f->s, "t", "{}", 2, 1, 10, NULL, &err), STORE_OK);
	tamper(f->path, "UPDATE outbox SET type = hex(zeroblob(40))");
	{
		struct store_event ev[2];
		assert_int_equal(store_outbox_peek(f->s, 5, 2, ev, &n, &err), STORE_CORRUPT);
		assert_int_equal(n, 0);
	}
}

/* ---- users.toml sync ---- */

static void cfg_user(struct config_user *c, const char *name, unsigned seed, bool enabled)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->public_key[0] = (uint8_t)seed;
	c->public_key[31] = 0xc3;
	memset(c->psk, (int)seed, 32);
	c->ipv4.family = 4;
	c->ipv4.len = 32;
	c->ipv4.addr[0] = 10;
	c->ipv4.addr[1] = 9;
	c->ipv4.addr[3] = (uint8_t)seed;
	c->enabled = enabled;
}

static void sync_cfg(struct store *s, const struct config_user *c, size_t n,
		     enum store_sync_removed rm, int64_t now, struct store_sync_stats *st,
		     enum store_status expect, struct store_err *err)
{
	struct store_user w[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		store_user_from_config(&c[i], &w[i]);
	assert_int_equal(store_sync_toml(s, w, n, rm, now, st, err), expect);
}

static void test_sync_toml(void **state)
{
	struct fixture *f = *state;
	struct config_user c[4];
	struct store_user api, got, lim = {0};
	struct store_sync_stats st;
	struct store_audit au[16];
	struct store_err err;
	size_t n;

	mk_user(&api, "carol", 0x300);
	assert_int_equal(store_user_create(f->s, &api, 1, &err), STORE_OK);

	cfg_user(&c[0], "alice", 1, true);
	cfg_user(&c[1], "bob", 2, true);
	c[1].ipv6.family = 6;
	c[1].ipv6.len = 128;
	c[1].ipv6.addr[0] = 0xfd;
	c[1].ipv6.addr[15] = 2;
	sync_cfg(f->s, c, 2, STORE_SYNC_DISABLE, 100, &st, STORE_OK, &err);
	assert_int_equal(st.created, 2);
	assert_int_equal(store_user_get_by_name(f->s, "bob", &got, &err), STORE_OK);
	assert_int_equal(got.source, STORE_SOURCE_TOML);
	assert_true(got.has_psk);
	assert_memory_equal(got.psk, c[1].psk, 32);
	assert_true(got.has_ipv4);
	assert_int_equal(got.ipv4[3], 2);
	assert_true(got.has_ipv6);
	assert_int_equal(got.ipv6[15], 2);
	assert_int_equal(got.created_at, 100);

	/* limits set through the API on a toml user survive syncs */
	lim.data_limit = 1000;
	assert_int_equal(store_user_update(f->s, got.id, &lim, STORE_F_DATA_LIMIT, 101, NULL, &err),
			 STORE_OK);
	sync_cfg(f->s, c, 2, STORE_SYNC_DISABLE, 102, &st, STORE_OK, &err);
	assert_int_equal(st.unchanged, 2);
	assert_int_equal(st.created + st.updated + st.disabled + st.deleted, 0);
	/* a limit key the file writes is the file's; the others stay the API's */
	c[1].limits.rate = 5000;
	c[1].limits.set = LIMITS_SET_RATE;
	sync_cfg(f->s, c, 2, STORE_SYNC_DISABLE, 102, &st, STORE_OK, &err);
	assert_int_equal(st.updated, 1);
	assert_int_equal(store_user_get_by_name(f->s, "bob", &got, &err), STORE_OK);
	assert_int_equal(got.rate_limit, 5000);
	assert_int_equal(got.data_limit, 1000);
	sync_cfg(f->s, c, 2, STORE_SYNC_DISABLE, 102, &st, STORE_OK, &err);
	assert_int_equal(st.unchanged, 2);

	/* bob's key changes; alice leaves the file: disabled, kept */
	c[1].public_key[0] = 0x22;
	sync_cfg(f->s, &c[1], 1, STORE_SYNC_DISABLE, 103, &st, STORE_OK, &err);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.disabled, 1);
	assert_int_equal(store_user_get_by_name(f->s, "bob", &got, &err), STORE_OK);
	assert_int_equal(got.public_key[0], 0x22);
	assert_int_equal(got.data_limit, 1000);
	assert_int_equal(store_user_get_by_name(f->s, "alice", &got, &err), STORE_OK);
	assert_false(got.enabled);
	/* alice back: enabled again */
	sync_cfg(f->s, c, 2, STORE_SYNC_DISABLE, 104, &st, STORE_OK, &err);
	assert_int_equal(st.updated, 1);
	assert_int_equal(store_user_get_by_name(f->s, "alice", &got, &err), STORE_OK);
	assert_true(got.enabled);
	/* the API user was never touched */
	assert_int_equal(store_user_get_by_name(f->s, "carol", &got, &err), STORE_OK);
	assert_users_equal(&api, &got);

	/* clashes with the API user: errors naming both, nothing changed */
	cfg_user(&c[2], "carol", 9, true);
	sync_cfg(f->s, c, 3, STORE_SYNC_DELETE, 105, &st, STORE_EXISTS, &err);
	assert_non_null(strstr(err.msg, "users.toml user 'carol' clashes with API user 'carol'"));
	cfg_user(&c[2], "dave", 9, true);
	memcpy(c[2].public_key, api.public_key, 32);
	sync_cfg(f->s, c, 3, STORE_SYNC_DELETE, 105, &st, STORE_EXISTS, &err);
	assert_non_null(strstr(err.msg, "users.toml user 'dave'"));
	assert_non_null(strstr(err.msg, "belongs to user 'carol'"));
	cfg_user(&c[2], "dave", 9, true);
	memcpy(c[2].ipv4.addr, c[0].ipv4.addr, 4); /* two toml users, one address */
	sync_cfg(f->s, c, 3, STORE_SYNC_DELETE, 105, &st, STORE_EXISTS, &err);
	assert_non_null(strstr(err.msg, "belongs to user 'alice'"));
	cfg_user(&c[2], "alice", 9, true);
	sync_cfg(f->s, c, 3, STORE_SYNC_DELETE, 105, &st, STORE_INVALID, &err);
	assert_non_null(strstr(err.msg, "listed twice"));
	assert_int_equal(count_users(f->s), 3);
	assert_int_equal(store_user_get_by_name(f->s, "dave", &got, &err), STORE_NOT_FOUND);

	/* delete policy: an empty file removes the toml users, not carol */
	sync_cfg(f->s, c, 0, STORE_SYNC_DELETE, 106, &st, STORE_OK, &err);
	assert_int_equal(st.deleted, 2);
	assert_int_equal(count_users(f->s), 1);
	assert_int_equal(store_user_get_by_name(f->s, "carol", &got, &err), STORE_OK);

	/* every change is in the audit log, newest first */
	assert_int_equal(store_audit_list(f->s, 0, 16, au, &n, &err), STORE_OK);
	assert_int_equal(n, 8); /* 2 create, 2 update, disable, update, 2 delete */
	assert_string_equal(au[0].action, "user.delete");
	assert_string_equal(au[0].actor, "users.toml");
	assert_string_equal(au[n - 1].action, "user.create");
	assert_string_equal(au[n - 1].target, "user:alice");
}

/* ---- quota periods ---- */

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	return (int64_t)timegm(&tm);
}

static void test_period_fixed_dates(void **state)
{
	int64_t t = utc(2024, 3, 10, 15, 0, 0), ns; /* a Sunday */

	(void)state;
	assert_int_equal(store_period_floor(STORE_PERIOD_DAILY, 0, t), utc(2024, 3, 10, 0, 0, 0));
	assert_int_equal(store_period_next(STORE_PERIOD_DAILY, 0, t), utc(2024, 3, 11, 0, 0, 0));
	assert_int_equal(store_period_floor(STORE_PERIOD_WEEKLY, 0, t), utc(2024, 3, 4, 0, 0, 0));
	assert_int_equal(store_period_next(STORE_PERIOD_WEEKLY, 0, t), utc(2024, 3, 11, 0, 0, 0));
	/* a boundary is its own floor, and the next one is a period later */
	t = utc(2024, 3, 11, 0, 0, 0);
	assert_int_equal(store_period_floor(STORE_PERIOD_WEEKLY, 0, t), t);
	assert_int_equal(store_period_next(STORE_PERIOD_WEEKLY, 0, t), utc(2024, 3, 18, 0, 0, 0));
	/* month and year ends */
	t = utc(2023, 12, 31, 23, 59, 59);
	assert_int_equal(store_period_next(STORE_PERIOD_MONTHLY, 0, t), utc(2024, 1, 1, 0, 0, 0));
	assert_int_equal(store_period_floor(STORE_PERIOD_MONTHLY, 0, t), utc(2023, 12, 1, 0, 0, 0));
	assert_int_equal(store_period_next(STORE_PERIOD_DAILY, 0, t), utc(2024, 1, 1, 0, 0, 0));
	/* day 31 in February, leap and not, and in a 30-day month */
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 1, 31, 0, 0, 0)),
	    utc(2024, 2, 29, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2023, 1, 31, 0, 0, 0)),
	    utc(2023, 2, 28, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 2, 29, 0, 0, 0)),
	    utc(2024, 3, 31, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 3, 31, 0, 0, 0)),
	    utc(2024, 4, 30, 0, 0, 0));
	assert_int_equal(
	    store_period_floor(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 3, 15, 12, 0, 0)),
	    utc(2024, 2, 29, 0, 0, 0));
	/* day 29: leap years by the century rules (2000 leap, 2100 not) */
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 29, utc(2000, 1, 29, 0, 0, 0)),
	    utc(2000, 2, 29, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 29, utc(2100, 1, 29, 0, 0, 0)),
	    utc(2100, 2, 28, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 29, utc(2100, 2, 28, 0, 0, 0)),
	    utc(2100, 3, 29, 0, 0, 0));
	/* day 15 just before and at the boundary */
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 15, utc(2024, 6, 14, 23, 59, 59)),
	    utc(2024, 6, 15, 0, 0, 0));
	assert_int_equal(
	    store_period_next(STORE_PERIOD_DAY_OF_MONTH, 15, utc(2024, 6, 15, 0, 0, 0)),
	    utc(2024, 7, 15, 0, 0, 0));
	/* before 1970 */
	assert_int_equal(store_period_floor(STORE_PERIOD_DAILY, 0, -1), -86400);
	assert_int_equal(store_period_floor(STORE_PERIOD_MONTHLY, 0, -1),
			 utc(1969, 12, 1, 0, 0, 0));

	/* due: not before the boundary, at it; a long downtime resets once */
	ns = 0;
	assert_false(store_period_due(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 1, 31, 0, 0, 0),
				      utc(2024, 2, 28, 23, 59, 59), &ns));
	assert_true(store_period_due(STORE_PERIOD_DAY_OF_MONTH, 31, utc(2024, 1, 31, 0, 0, 0),
				     utc(2024, 2, 29, 0, 0, 0), &ns));
	assert_int_equal(ns, utc(2024, 2, 29, 0, 0, 0));
	assert_true(store_period_due(STORE_PERIOD_MONTHLY, 0, utc(2023, 1, 1, 0, 0, 0),
				     utc(2024, 6, 15, 8, 0, 0), &ns));
	assert_int_equal(ns, utc(2024, 6, 1, 0, 0, 0));
	/* a period that began mid-day (the user was created then) */
	assert_false(store_period_due(STORE_PERIOD_DAILY, 0, utc(2024, 6, 15, 8, 0, 0),
				      utc(2024, 6, 15, 23, 0, 0), &ns));
	assert_true(store_period_due(STORE_PERIOD_DAILY, 0, utc(2024, 6, 15, 8, 0, 0),
				     utc(2024, 6, 16, 0, 0, 0), &ns));
	assert_false(store_period_due(STORE_PERIOD_NONE, 0, 0, INT64_MAX - 1, &ns));
	assert_int_equal(store_period_next(STORE_PERIOD_NONE, 0, 5), INT64_MAX);
}

/* Every boundary is midnight UTC on the right weekday or day of month,
 * floor(t) <= t < next(t), and nothing lies between: checked against the
 * C library's calendar for times from 1900 to 2300. */
static void test_period_properties(void **state)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		int64_t t, lo, hi;
		enum store_period p = (enum store_period)(1 + i % 4);
		int day = p == STORE_PERIOD_DAY_OF_MONTH ? 1 + (int)(x % 31) : 0;
		struct tm tm;
		time_t tt;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (int64_t)(x % (400ULL * 365 * 86400)) + utc(1900, 1, 1, 0, 0, 0);
		lo = store_period_floor(p, day, t);
		hi = store_period_next(p, day, t);
		assert_true(lo <= t && t < hi);
		assert_int_equal(store_period_next(p, day, lo), hi);
		assert_int_equal(store_period_floor(p, day, hi), hi);
		assert_int_equal(store_period_floor(p, day, hi - 1), lo);
		tt = (time_t)hi;
		gmtime_r(&tt, &tm);
		assert_int_equal(tm.tm_hour + tm.tm_min + tm.tm_sec, 0);
		if (p == STORE_PERIOD_WEEKLY) {
			assert_int_equal(tm.tm_wday, 1);
			assert_int_equal(hi - lo, 7 * 86400);
		} else if (p == STORE_PERIOD_DAILY) {
			assert_int_equal(hi - lo, 86400);
		} else {
			int y = tm.tm_year + 1900, m = tm.tm_mon;
			int last =
			    dim[m] + (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
			int want = p == STORE_PERIOD_MONTHLY ? 1 : (day < last ? day : last);
			assert_int_equal(tm.tm_mday, want);
			assert_true(hi - lo >= 28 * 86400 && hi - lo <= 31 * 86400);
		}
	}
}

static void test_names(void **state)
{
	(void)state;
	for (int p = 0; p <= STORE_PERIOD_DAY_OF_MONTH; p++)
		assert_int_equal(store_period_parse(store_period_name((enum store_period)p)), p);
	assert_int_equal(store_period_parse("yearly"), -1);
	assert_int_equal(store_period_parse(NULL), -1);
	assert_int_equal(store_quota_action_parse("throttle"), STORE_QUOTA_THROTTLE);
	assert_int_equal(store_source_parse("toml"), STORE_SOURCE_TOML);
	assert_string_equal(store_status_name(STORE_EXISTS), "EXISTS");
	assert_string_equal(store_status_name((enum store_status)77), "UNKNOWN");
}

/* A database of schema 1 (migration 2 undone by hand) with a user:
 * migrate takes it to 2, the user kept, devices usable. */
static void test_migrate_1_to_2(void **state)
{
	struct fixture *f = *state;
	struct store_user a, got;
	struct store_device d;
	struct store_err err;
	int64_t v = 0;

	mk_user(&a, "alice", 1);
	assert_int_equal(store_user_create(f->s, &a, 100, &err), STORE_OK);
	store_close(f->s);
	tamper(f->path, "DROP TRIGGER devices_unique; DROP TRIGGER users_unique_insert;"
			"DROP TRIGGER users_unique_update; DROP TABLE devices;"
			"DELETE FROM schema_version WHERE version = 2");
	assert_int_equal(store_open(f->path, &f->s, &err), STORE_OK);
	assert_int_equal(store_schema_version(f->s, &v, &err), STORE_OK);
	assert_int_equal(v, 1);
	assert_int_equal(store_migrate(f->s, &err), STORE_OK);
	assert_int_equal(store_schema_version(f->s, &v, &err), STORE_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_user_get_by_name(f->s, "alice", &got, &err), STORE_OK);
	assert_users_equal(&a, &got);
	mk_device(&d, a.id, "phone", 11);
	assert_int_equal(store_device_add(f->s, &d, 200, &err), STORE_OK);
	assert_int_equal(store_integrity_check(f->s, &err), STORE_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_migrate_empty_and_reopen),
	    T(test_refuse_newer_schema),
	    T(test_not_a_database),
	    T(test_open_uris),
	    T(test_user_crud),
	    T(test_user_validation),
	    T(test_duplicates_leave_store_unchanged),
	    T(test_list_paging_and_filters),
	    T(test_usage_batches),
	    T(test_transactions),
	    T(test_outbox_order_and_backoff),
	    T(test_audit_paging),
	    T(test_meta),
	    T(test_thousand_users),
	    T(test_kill_safety),
	    T(test_concurrent_writers),
	    T(test_tampered_rows),
	    T(test_sync_toml),
	    T(test_device_crud),
	    T(test_device_uniqueness),
	    T(test_device_cascade),
	    T(test_migrate_1_to_2),
	    cmocka_unit_test(test_period_fixed_dates),
	    cmocka_unit_test(test_period_properties),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
