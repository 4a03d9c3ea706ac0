/* Bounded MPSC queue (dataplane/queue.c): FIFO order across wrap-around, a
 * full queue refusing, the wake eventfd, and several producer threads
 * against one consumer losing and duplicating nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/queue.h"

struct item {
	uint32_t producer, seq;
	uint8_t pad[40];
};

static bool is_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void test_fifo_and_full(void **state)
{
	struct queue q;
	struct item it = {0}, out[8];

	(void)state;
	assert_int_equal(queue_init(&q, 4, sizeof(struct item)), 0);
	assert_false(is_readable(q.wake_fd));
	for (uint32_t round = 0; round < 3; round++) { /* wraps around */
		for (uint32_t i = 0; i < 4; i++) {
			it.seq = round * 10 + i;
			assert_int_equal(queue_push(&q, &it), 0);
		}
		assert_true(is_readable(q.wake_fd));
		assert_int_equal(queue_push(&q, &it), -ENOSPC);
		assert_int_equal(queue_len(&q), 4);
		assert_int_equal(queue_pop(&q, out, 3), 3);
		assert_int_equal(queue_pop(&q, out + 3, 8), 1);
		for (uint32_t i = 0; i < 4; i++)
			assert_int_equal(out[i].seq, round * 10 + i);
		assert_int_equal(queue_pop(&q, out, 8), 0);
	}
	queue_done(&q);
	queue_done(&q); /* twice is harmless */
}

static void test_init_invalid(void **state)
{
	struct queue q;

	(void)state;
	assert_int_equal(queue_init(&q, 0, 8), -EINVAL);
	assert_int_equal(queue_init(&q, 8, 0), -EINVAL);
	queue_done(&q);
}

enum { PRODUCERS = 4, PER_PRODUCER = 2000 };

struct producer {
	struct queue *q;
	uint32_t id;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct item it = {.producer = p->id};

	for (uint32_t i = 0; i < PER_PRODUCER;) {
		it.seq = i;
		if (queue_push(p->q, &it) == 0)
			i++;
		else
			sched_yield(); /* full: let the consumer run (valgrind serialises threads)
					*/
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct queue q;
	struct producer ps[PRODUCERS];
	pthread_t th[PRODUCERS];
	uint32_t next[PRODUCERS] = {0}, got = 0;
	struct item out[16];

	(void)state;
	assert_int_equal(queue_init(&q, 64, sizeof(struct item)), 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		ps[i] = (struct producer){&q, i};
		assert_int_equal(pthread_create(&th[i], NULL, produce, &ps[i]), 0);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		size_t n = queue_pop(&q, out, 16);
		for (size_t i = 0; i < n; i++) { /* per producer, in order */
			assert_int_equal(out[i].seq, next[out[i].producer]);
			next[out[i].producer]++;
		}
		got += (uint32_t)n;
		if (n == 0)
			sched_yield();
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	queue_done(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_full),
	    cmocka_unit_test(test_init_invalid),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
