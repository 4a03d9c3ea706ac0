/* The usage writer thread; the contract is in usage_writer.h. */
#include "server/usage_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/store.h"
#include "util/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* One user's usage not yet in the store. Older and newer entries of the
 * same key merge (pend_merge): a period reset in the newer one discards
 * the older bytes, as the store's reset would. */
struct pend {
	uint8_t key[32];
	char name[CONFIG_NAME_MAX];
	uint64_t up, down;
	bool reset; /* reset the period to period_start first */
	int64_t period_start;
	int64_t first; /* first connection to record (0: none) */
};

struct pend_table {
	struct pend *v;
	size_t n, cap;
};

struct usage_writer {
	struct store *store;
	int64_t (*now)(void);
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* CLOCK_MONOTONIC */
	/* under lock */
	struct pend_table pending;
	bool stop;
	struct usage_writer_stats st;
};

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- the pending table (memory only: under the lock) ---- */

static struct pend *pend_find(struct pend_table *t, const uint8_t key[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(t->v[i].key, key, 32))
			return &t->v[i];
	return NULL;
}

/* older := older followed by newer */
static void pend_merge(struct pend *older, const struct pend *newer)
{
	if (newer->reset) {
		older->reset = true;
		older->period_start = newer->period_start;
		older->up = newer->up;
		older->down = newer->down;
	} else {
		older->up += newer->up;
		older->down += newer->down;
	}
	if (newer->first)
		older->first = newer->first;
	memcpy(older->name, newer->name, sizeof(older->name));
}

/* Appends e, or merges it as the newer into the entry of its key. false
 * when out of memory (the caller keeps e). */
static bool pend_add(struct pend_table *t, const struct pend *e)
{
	struct pend *p = pend_find(t, e->key);

	if (p) {
		pend_merge(p, e);
		return true;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct pend *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return false;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *e;
	return true;
}

/* Failed entries (older) go back in front of what came meanwhile. */
static void pend_requeue(struct usage_writer *w, struct pend_table *failed)
{
	for (size_t i = 0; i < failed->n; i++) {
		struct pend *p = pend_find(&w->pending, failed->v[i].key);
		if (p) {
			struct pend merged = failed->v[i];
			pend_merge(&merged, p);
			*p = merged;
		} else if (!pend_add(&w->pending, &failed->v[i])) {
			w->st.lost++; /* out of memory: nothing else can hold it */
		}
	}
	failed->n = 0;
}

/* ---- the sink (control thread) ---- */

void usage_writer_put(void *ctx, const struct usage_record *v, size_t n, bool final)
{
	struct usage_writer *w = ctx;

	(void) final; /* usage_writer_stop follows it */
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n; i++) {
		struct pend e = {0};
		memcpy(e.key, v[i].key, 32);
		memcpy(e.name, v[i].name, sizeof(e.name));
		e.up = v[i].up;
		e.down = v[i].down;
		e.reset = v[i].new_period;
		e.period_start = v[i].total.period_start;
		e.first = v[i].new_first ? v[i].total.first_connect : 0;
		if (!e.up && !e.down && !e.reset && !e.first)
			continue;
		if (!pend_add(&w->pending, &e))
			w->st.lost++;
	}
	w->st.pending = w->pending.n;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* ---- the writer thread ---- */

enum mark_result { MARK_OK, MARK_GONE, MARK_FAIL };

/* The period reset and the first connection of e (each idempotent, so a
 * retry may repeat them); cleared in e once they landed. */
static enum mark_result write_marks(struct usage_writer *w, struct pend *e, int64_t now)
{
	struct store_user u, vals = {0};
	struct store_err serr;
	enum store_status r;

	if (!e->reset && !e->first)
		return MARK_OK;
	r = store_user_get_by_key(w->store, e->key, &u, &serr);
	if (r == STORE_NOT_FOUND)
		return MARK_GONE; /* deleted, or a new key, meanwhile */
	if (r != STORE_OK)
		return MARK_FAIL;
	if (e->reset && u.period_start != e->period_start &&
	    store_usage_reset(w->store, u.id, e->period_start, now, &serr) != STORE_OK)
		return MARK_FAIL;
	e->reset = false;
	vals.first_connected_at = e->first;
	if (e->first && !u.first_connected_at &&
	    store_user_update(w->store, u.id, &vals, STORE_F_FIRST_CONNECTED, now, NULL, &serr) !=
		STORE_OK)
		return MARK_FAIL;
	e->first = 0;
	return MARK_OK;
}

/* Writes batch; what did not land goes to failed. The increments are one
 * transaction: all of them land or none. */
static bool write_batch(struct usage_writer *w, struct pend_table *batch, struct pend_table *failed)
{
	struct store_usage_key_delta *d = calloc(batch->n ? batch->n : 1, sizeof(*d));
	struct pend_table sent = {0};
	struct store_err serr = {0};
	int64_t now = w->now();
	size_t m = 0;
	bool ok = true;

	if (!d)
		goto all_failed;
	sent.v = calloc(batch->n ? batch->n : 1, sizeof(*sent.v));
	if (!sent.v)
		goto all_failed;
	for (size_t i = 0; i < batch->n; i++) {
		struct pend *e = &batch->v[i];
		switch (write_marks(w, e, now)) {
		case MARK_GONE:
			continue;
		case MARK_FAIL:
			ok = false;
			failed->v[failed->n++] = *e;
			continue;
		case MARK_OK:
			break;
		}
		if (!e->up && !e->down)
			continue;
		memcpy(d[m].public_key, e->key, 32);
		d[m].up = e->up > INT64_MAX ? INT64_MAX : (int64_t)e->up;
		d[m].down = e->down > INT64_MAX ? INT64_MAX : (int64_t)e->down;
		sent.v[m++] = *e;
	}
	if (m && store_usage_add_by_key(w->store, d, m, now, NULL, &serr) != STORE_OK) {
		ok = false;
		for (size_t i = 0; i < m; i++)
			failed->v[failed->n++] = sent.v[i];
	}
	free(sent.v);
	free(d);
	return ok;
all_failed:
	free(d);
	for (size_t i = 0; i < batch->n; i++)
		failed->v[failed->n++] = batch->v[i];
	return false;
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void *writer_main(void *arg)
{
	struct usage_writer *w = arg;
	struct pend_table batch = {0}, failed = {0};
	struct timespec drain_until = {0}, retry_at;
	long backoff = 0; /* ms; 0: the last write landed */

	pthread_mutex_lock(&w->lock);
	for (;;) {
		if (backoff) { /* wait out the backoff; a stop cuts it short */
			deadline_in(&retry_at, backoff);
			while (!w->stop && !past(&retry_at))
				pthread_cond_timedwait(&w->wake, &w->lock, &retry_at);
		}
		while (!w->pending.n && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop && !drain_until.tv_sec)
			deadline_in(&drain_until, USAGE_WRITER_DRAIN_S * 1000L);
		if (!w->pending.n)
			break; /* stopped and drained */
		if (w->stop && backoff && past(&drain_until)) {
			w->st.lost += w->pending.n;
			log_error(LOG_GROUP_CORE,
				  "store: usage of %zu user(s) lost: the store refused it for %d s "
				  "at shutdown",
				  w->pending.n, USAGE_WRITER_DRAIN_S);
			w->pending.n = 0;
			break;
		}
		/* take the table; the control thread fills a fresh one */
		struct pend_table t = batch;
		batch = w->pending;
		w->pending = t;
		w->pending.n = 0;
		w->st.pending = 0;
		pthread_mutex_unlock(&w->lock);

		bool oom = false, ok;
		if (failed.cap < batch.n) {
			struct pend *v = realloc(failed.v, batch.n * sizeof(*v));
			if (v) {
				failed.v = v;
				failed.cap = batch.n;
			} else
				oom = true;
		}
		ok = !oom && write_batch(w, &batch, &failed);

		pthread_mutex_lock(&w->lock);
		w->st.writes++;
		if (!ok) {
			w->st.failures++;
			if (!backoff)
				log_warn(LOG_GROUP_CORE,
					 "store: usage of %zu user(s) not written yet: retrying",
					 oom ? batch.n : failed.n);
			pend_requeue(w, oom ? &batch : &failed);
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
		} else {
			if (backoff)
				log_info(LOG_GROUP_CORE, "store: usage written again");
			backoff = 0;
		}
		failed.n = 0;
		batch.n = 0;
		w->st.pending = w->pending.n;
	}
	pthread_mutex_unlock(&w->lock);
	free(batch.v);
	free(failed.v);
	return NULL;
}

/* ---- lifetime ---- */

struct usage_writer *usage_writer_new(struct store *s, int64_t (*now)(void))
{
	struct usage_writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w)
		return NULL;
	w->store = s;
	w->now = now ? now : wall_now;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	return w;
}

int usage_writer_start(struct usage_writer *w)
{
	int r = pthread_create(&w->thread, NULL, writer_main, w);

	if (r)
		return -r;
	w->started = true;
	return 0;
}

void usage_writer_stop(struct usage_writer *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void usage_writer_free(struct usage_writer *w)
{
	if (!w)
		return;
	usage_writer_stop(w);
	if (w->store)
		store_close(w->store);
	free(w->pending.v);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void usage_writer_stats(struct usage_writer *w, struct usage_writer_stats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	st->pending = w->pending.n;
	pthread_mutex_unlock(&w->lock);
}
