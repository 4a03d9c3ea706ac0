/* The command channel (server/cmdq.c): an answered call hands back status
 * and result; a full queue refuses at once; a caller that times out never
 * sees a late answer and leaks nothing (whether its command was still
 * queued or already taken); close answers the queued commands and refuses
 * later ones; many callers against one consumer, some giving up, lose,
 * duplicate and leak nothing (ASan and valgrind run this). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/cmdq.h"

static bool is_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

struct caller {
	struct cmdq *q;
	struct cmdq_cmd *c;
	unsigned timeout_ms;
	int r;
};

static void *call_thread(void *arg)
{
	struct caller *k = arg;

	k->r = cmdq_call(k->q, k->c, k->timeout_ms);
	return NULL;
}

/* Takes one command, waiting for it to arrive (up to 2 s). */
static struct cmdq_cmd *take_one(struct cmdq *q)
{
	struct cmdq_cmd *c = NULL;

	for (int i = 0; i < 2000 && !cmdq_take(q, &c, 1); i++) {
		struct pollfd p = {.fd = q->wake_fd, .events = POLLIN};
		(void)poll(&p, 1, 1);
	}
	return c;
}

static void test_answered(void **state)
{
	struct cmdq q;
	struct caller k = {.q = &q, .timeout_ms = 5000};
	struct cmdq_cmd *got;
	pthread_t t;

	(void)state;
	assert_int_equal(cmdq_init(&q, 4), 0);
	assert_false(is_readable(q.wake_fd));
	k.c = cmdq_cmd_new(CMDQ_SESSIONS);
	assert_non_null(k.c);
	strcpy(k.c->name, "alice");
	assert_int_equal(pthread_create(&t, NULL, call_thread, &k), 0);
	got = take_one(&q);
	assert_ptr_equal(got, k.c);
	assert_int_equal(got->kind, CMDQ_SESSIONS);
	assert_string_equal(got->name, "alice");
	got->status = -ENOENT;
	got->count = 7;
	got->result = strdup("answer");
	cmdq_reply(&q, got);
	pthread_join(t, NULL);
	assert_int_equal(k.r, 0);
	assert_int_equal(k.c->status, -ENOENT);
	assert_int_equal(k.c->count, 7);
	assert_string_equal(k.c->result, "answer");
	cmdq_cmd_put(&q, k.c); /* frees the result too */
	assert_false(is_readable(q.wake_fd));
	cmdq_done(&q);
}

static void test_full_refuses(void **state)
{
	struct cmdq q;
	struct caller k[3];
	struct cmdq_cmd *extra, *got;
	pthread_t t[3];

	(void)state;
	assert_int_equal(cmdq_init(&q, 3), 0);
	for (int i = 0; i < 3; i++) {
		k[i] = (struct caller){.q = &q, .timeout_ms = 5000, .c = cmdq_cmd_new(CMDQ_HEALTH)};
		assert_int_equal(pthread_create(&t[i], NULL, call_thread, &k[i]), 0);
	}
	/* wait until all three are queued */
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&q.lock);
		size_t n = q.count;
		pthread_mutex_unlock(&q.lock);
		if (n == 3)
			break;
		usleep(1000);
	}
	extra = cmdq_cmd_new(CMDQ_HEALTH);
	assert_int_equal(cmdq_call(&q, extra, 1000), -EAGAIN);
	assert_int_equal(q.refused, 1);
	cmdq_cmd_put(&q, extra);
	for (int i = 0; i < 3; i++) {
		got = take_one(&q);
		assert_non_null(got);
		got->count = 1;
		cmdq_reply(&q, got);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(k[i].r, 0);
		assert_int_equal(k[i].c->count, 1);
		cmdq_cmd_put(&q, k[i].c);
	}
	cmdq_done(&q);
}

/* Nobody takes it: the caller gives up; the control thread later never
 * sees it. */
static void test_timeout_while_queued(void **state)
{
	struct cmdq q;
	struct cmdq_cmd *c, *got = NULL;

	(void)state;
	assert_int_equal(cmdq_init(&q, 2), 0);
	c = cmdq_cmd_new(CMDQ_STATS);
	assert_int_equal(cmdq_call(&q, c, 20), -ETIMEDOUT);
	assert_int_equal(q.timeouts, 1);
	cmdq_cmd_put(&q, c);
	assert_int_equal(cmdq_take(&q, &got, 1), 0); /* skipped, and freed */
	assert_null(got);
	assert_false(is_readable(q.wake_fd));
	cmdq_done(&q);
}

/* Taken, the caller gives up before the answer: the answer (and its
 * result) is discarded whichever side lets go last. */
static void test_timeout_while_taken(void **state)
{
	for (int order = 0; order < 2; order++) {
		struct cmdq q;
		struct caller k = {.q = &q, .timeout_ms = 30};
		struct cmdq_cmd *got;
		pthread_t t;

		(void)state;
		assert_int_equal(cmdq_init(&q, 2), 0);
		k.c = cmdq_cmd_new(CMDQ_SESSIONS);
		assert_int_equal(pthread_create(&t, NULL, call_thread, &k), 0);
		got = take_one(&q);
		assert_non_null(got);
		pthread_join(t, NULL);
		assert_int_equal(k.r, -ETIMEDOUT);
		got->result = malloc(100);
		if (order == 0) {
			cmdq_cmd_put(&q, k.c); /* the caller first */
			cmdq_reply(&q, got);   /* frees */
		} else {
			cmdq_reply(&q, got);
			cmdq_cmd_put(&q, k.c); /* frees */
		}
		cmdq_done(&q);
	}
}

static void test_close(void **state)
{
	struct cmdq q;
	struct caller k = {.q = &q, .timeout_ms = 5000};
	struct cmdq_cmd *late;
	pthread_t t;

	(void)state;
	assert_int_equal(cmdq_init(&q, 2), 0);
	k.c = cmdq_cmd_new(CMDQ_RELOAD);
	assert_int_equal(pthread_create(&t, NULL, call_thread, &k), 0);
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&q.lock);
		size_t n = q.count;
		pthread_mutex_unlock(&q.lock);
		if (n == 1)
			break;
		usleep(1000);
	}
	cmdq_close(&q);
	pthread_join(t, NULL);
	assert_int_equal(k.r, 0);
	assert_int_equal(k.c->status, -ESHUTDOWN);
	cmdq_cmd_put(&q, k.c);
	late = cmdq_cmd_new(CMDQ_HEALTH);
	assert_int_equal(cmdq_call(&q, late, 1000), -ESHUTDOWN);
	cmdq_cmd_put(&q, late);
	cmdq_done(&q);
}

static void test_init_invalid(void **state)
{
	struct cmdq q;

	(void)state;
	assert_int_equal(cmdq_init(&q, 0), -EINVAL);
	cmdq_close(&q); /* harmless on a channel never set up */
	cmdq_done(&q);
}

/* Many callers, one consumer answering each with its own id; some callers
 * give up at once. Every answer that arrives is the caller's own. */
#define N_CALLERS 8
#define N_CALLS	  200

struct storm {
	struct cmdq *q;
	unsigned seed;
	int answered, timed_out, refused;
};

static void *storm_caller(void *arg)
{
	struct storm *s = arg;

	for (int i = 0; i < N_CALLS; i++) {
		struct cmdq_cmd *c = cmdq_cmd_new(CMDQ_KICK_SESSION);
		unsigned timeout = (rand_r(&s->seed) % 4 == 0) ? 0 : 2000;
		int r;

		c->id = (uint64_t)(uintptr_t)c;
		r = cmdq_call(s->q, c, timeout);
		if (r == 0) {
			assert_int_equal(c->count, c->id);
			assert_int_equal(*(uint64_t *)c->result, c->id);
			s->answered++;
		} else if (r == -ETIMEDOUT) {
			s->timed_out++;
		} else {
			assert_int_equal(r, -EAGAIN);
			s->refused++;
		}
		cmdq_cmd_put(s->q, c);
	}
	return NULL;
}

static volatile int storm_done;

static void *storm_consumer(void *arg)
{
	struct cmdq *q = arg;
	struct cmdq_cmd *batch[8];

	while (!__atomic_load_n(&storm_done, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = q->wake_fd, .events = POLLIN};
		size_t n;

		(void)poll(&p, 1, 5);
		n = cmdq_take(q, batch, 8);
		for (size_t i = 0; i < n; i++) {
			uint64_t *res = malloc(sizeof(*res));
			*res = batch[i]->id;
			batch[i]->result = res;
			batch[i]->count = batch[i]->id;
			cmdq_reply(q, batch[i]);
		}
	}
	return NULL;
}

static void test_storm(void **state)
{
	struct cmdq q;
	struct storm s[N_CALLERS];
	pthread_t callers[N_CALLERS], consumer;
	int answered = 0;

	(void)state;
	assert_int_equal(cmdq_init(&q, 16), 0);
	storm_done = 0;
	assert_int_equal(pthread_create(&consumer, NULL, storm_consumer, &q), 0);
	for (int i = 0; i < N_CALLERS; i++) {
		s[i] = (struct storm){.q = &q, .seed = (unsigned)i + 1};
		assert_int_equal(pthread_create(&callers[i], NULL, storm_caller, &s[i]), 0);
	}
	for (int i = 0; i < N_CALLERS; i++) {
		pthread_join(callers[i], NULL);
		answered += s[i].answered;
		assert_int_equal(s[i].answered + s[i].timed_out + s[i].refused, N_CALLS);
	}
	__atomic_store_n(&storm_done, 1, __ATOMIC_RELEASE);
	pthread_join(consumer, NULL);
	assert_true(answered > 0);
	cmdq_done(&q); /* frees what the consumer never took */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answered),
	    cmocka_unit_test(test_full_refuses),
	    cmocka_unit_test(test_timeout_while_queued),
	    cmocka_unit_test(test_timeout_while_taken),
	    cmocka_unit_test(test_close),
	    cmocka_unit_test(test_init_invalid),
	    cmocka_unit_test(test_storm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
