/* The usage writer (server/usage_writer.h) over a real SQLite store wrapped
 * to fail or stall on demand: failed writes are retried and nothing is
 * lost (batches merged while the store refuses), a period reset in a
 * newer batch discards the older bytes as the store would, the sink
 * returns while the writer is stuck in the store, and a stop drains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/usage_writer.h"
#include "storage/store.h"

/* ---- a store that fails its first N increments, or stalls ---- */

struct flaky {
	struct store base;
	struct store *real;
	int fail_adds; /* this many usage_add_by_key calls fail */
	int adds;      /* calls seen */
	bool stall;    /* usage_add_by_key waits until cleared */
	bool stalled;  /* it is waiting */
	pthread_mutex_t lock;
};

static struct flaky *F(struct store *s)
{
	return (struct flaky *)s;
}

static void fl_close(struct store *s)
{
	store_close(F(s)->real);
	pthread_mutex_destroy(&F(s)->lock);
	free(s);
}

static enum store_status fl_get_by_key(struct store *s, const uint8_t key[32],
				       struct store_user *ret, struct store_err *err)
{
	return store_user_get_by_key(F(s)->real, key, ret, err);
}

static enum store_status fl_update(struct store *s, int64_t id, const struct store_user *vals,
				   uint32_t mask, int64_t now, struct store_user *ret,
				   struct store_err *err)
{
	return store_user_update(F(s)->real, id, vals, mask, now, ret, err);
}

static enum store_status fl_reset(struct store *s, int64_t id, int64_t period_start, int64_t now,
				  struct store_err *err)
{
	return store_usage_reset(F(s)->real, id, period_start, now, err);
}

static enum store_status fl_add(struct store *s, const struct store_usage_key_delta *d, size_t n,
				int64_t now, size_t *applied, struct store_err *err)
{
	struct flaky *f = F(s);
	bool fail;

	pthread_mutex_lock(&f->lock);
	f->adds++;
	fail = f->fail_adds > 0;
	if (fail)
		f->fail_adds--;
	while (f->stall) {
		f->stalled = true;
		pthread_mutex_unlock(&f->lock);
		usleep(1000);
		pthread_mutex_lock(&f->lock);
	}
	f->stalled = false;
	pthread_mutex_unlock(&f->lock);
	if (fail) {
		err->code = STORE_BUSY;
		snprintf(err->msg, sizeof(err->msg), "database is locked (test)");
		return STORE_BUSY;
	}
	return store_usage_add_by_key(f->real, d, n, now, applied, err);
}

static const struct store_ops flaky_ops = {
    .name = "flaky",
    .close = fl_close,
    .user_get_by_key = fl_get_by_key,
    .user_update = fl_update,
    .usage_add_by_key = fl_add,
    .usage_reset = fl_reset,
};

/* ---- fixture ---- */

struct fixture {
	char dir[64];
	char path[96];
	struct store *check; /* the test's own connection */
	struct flaky *fl;    /* the writer's, owned by it */
	struct usage_writer *w;
};

static int64_t fixed_now(void)
{
	return 1000;
}

static void mk_user(struct store_user *u, const char *name, unsigned seed)
{
	store_user_init(u);
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->public_key[0] = (uint8_t)seed;
	u->public_key[31] = 0x5a;
	u->has_ipv4 = true;
	u->ipv4[0] = 10;
	u->ipv4[1] = 8;
	u->ipv4[3] = (uint8_t)seed;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_err err;
	struct store_user u;

	snprintf(f->dir, sizeof(f->dir), "/tmp/ll-test-uw-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/lostlove.db", f->dir);
	if (store_open(f->path, &f->check, &err) != STORE_OK ||
	    store_migrate(f->check, &err) != STORE_OK)
		return -1;
	mk_user(&u, "alice", 1);
	u.period_start = 500;
	if (store_user_create(f->check, &u, 500, &err) != STORE_OK)
		return -1;
	mk_user(&u, "bob", 2);
	u.period_start = 500;
	if (store_user_create(f->check, &u, 500, &err) != STORE_OK)
		return -1;
	f->fl = calloc(1, sizeof(*f->fl));
	f->fl->base.ops = &flaky_ops;
	pthread_mutex_init(&f->fl->lock, NULL);
	if (store_open(f->path, &f->fl->real, &err) != STORE_OK)
		return -1;
	f->w = usage_writer_new(&f->fl->base, fixed_now);
	if (!f->w || usage_writer_start(f->w) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX];

	usage_writer_free(f->w);
	store_close(f->check);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void rec(struct usage_record *r, unsigned seed, uint64_t up, uint64_t down)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), seed == 1 ? "alice" : "bob");
	r->key[0] = (uint8_t)seed;
	r->key[31] = 0x5a;
	r->up = up;
	r->down = down;
	r->total.period_start = 500;
}

static void stored(struct fixture *f, unsigned seed, int64_t *up, int64_t *down, int64_t *period)
{
	struct store_err err;
	struct store_user u;
	uint8_t key[32] = {0};

	key[0] = (uint8_t)seed;
	key[31] = 0x5a;
	assert_int_equal(store_user_get_by_key(f->check, key, &u, &err), STORE_OK);
	*up = u.used_up;
	*down = u.used_down;
	if (period)
		*period = u.period_start;
}

/* ---- tests ---- */

/* The store refuses the first three writes: the batches put meanwhile
 * merge, the writer retries, and the totals are exact after the drain. */
static void test_failed_writes_retried(void **state)
{
	struct fixture *f = *state;
	struct usage_writer_stats st;
	struct usage_record r[2];
	int64_t up, down;

	f->fl->fail_adds = 3;
	for (int i = 0; i < 20; i++) {
		rec(&r[0], 1, 100, 1);
		rec(&r[1], 2, 7, 3000);
		usage_writer_put(f->w, r, 2, false);
		usleep(20000);
	}
	usage_writer_put(f->w, r, 0, true);
	usage_writer_stop(f->w);
	usage_writer_stats(f->w, &st);
	assert_true(st.failures >= 3);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.pending, 0);
	stored(f, 1, &up, &down, NULL);
	assert_int_equal(up, 2000);
	assert_int_equal(down, 20);
	stored(f, 2, &up, &down, NULL);
	assert_int_equal(up, 140);
	assert_int_equal(down, 60000);
}

/* Older bytes still pending when a newer batch resets the period are the
 * old period's: the store ends with the new period's bytes only. */
static void test_reset_discards_older(void **state)
{
	struct fixture *f = *state;
	struct usage_record r;
	int64_t up, down, period;

	f->fl->fail_adds = 1000; /* nothing lands until the reset is queued */
	rec(&r, 1, 5000, 5000);
	usage_writer_put(f->w, &r, 1, false);
	usleep(50000);
	rec(&r, 1, 7, 9);
	r.new_period = true;
	r.total.period_start = 86900;
	usage_writer_put(f->w, &r, 1, false);
	rec(&r, 1, 1, 1);
	r.total.period_start = 86900;
	usage_writer_put(f->w, &r, 1, false);
	pthread_mutex_lock(&f->fl->lock);
	f->fl->fail_adds = 0;
	pthread_mutex_unlock(&f->fl->lock);
	usage_writer_stop(f->w);
	stored(f, 1, &up, &down, &period);
	assert_int_equal(period, 86900);
	assert_int_equal(up, 8);
	assert_int_equal(down, 10);
}

/* The sink never waits for the store: with the writer stuck inside a
 * write, puts return and are written once it comes back. */
static void test_put_never_waits_on_store(void **state)
{
	struct fixture *f = *state;
	struct usage_record r;
	int64_t up, down;
	bool stalled = false;

	f->fl->stall = true;
	rec(&r, 2, 1, 1);
	usage_writer_put(f->w, &r, 1, false);
	for (int i = 0; i < 2000 && !stalled; i++) {
		usleep(1000);
		pthread_mutex_lock(&f->fl->lock);
		stalled = f->fl->stalled;
		pthread_mutex_unlock(&f->fl->lock);
	}
	assert_true(stalled);
	for (int i = 0; i < 1000; i++)
		usage_writer_put(f->w, &r, 1, false); /* would hang here if put waited */
	pthread_mutex_lock(&f->fl->lock);
	f->fl->stall = false;
	pthread_mutex_unlock(&f->fl->lock);
	usage_writer_stop(f->w);
	stored(f, 2, &up, &down, NULL);
	assert_int_equal(up, 1001);
	assert_int_equal(down, 1001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failed_writes_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_discards_older, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_never_waits_on_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
