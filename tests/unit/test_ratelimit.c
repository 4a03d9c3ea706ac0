/* Per-IP handshake limiter (auth/ratelimit.c): burst then refusal, the
 * refill rate, IPv6 per /64, independence of sources, eviction under a
 * flood of sources keeping memory bounded, the disabled limiter, clocks
 * that disagree a little, and one limiter shared by threads (the workers
 * a source reaches from many ports) granting no more than one source's
 * rate in total. Time is a fake clock passed in, never read. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "auth/ratelimit.h"

#define S  UINT64_C(1000000000)
#define T0 (1000 * S)

static const uint8_t ip_a[4] = {192, 0, 2, 1}, ip_b[4] = {192, 0, 2, 2};

static void test_burst_and_refill(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 10, 5, 42), 0);
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_allow(&rl, ip_a, 4, T0));
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0));
	assert_true(ratelimit_allow(&rl, ip_b, 4, T0)); /* another source */
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + S / 10 - 1));
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0 + S / 10)); /* 10/s: one per 100 ms */
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + S / 10));
	/* a long pause refills to the burst, not beyond */
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_allow(&rl, ip_a, 4, T0 + 100 * S));
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + 100 * S));
	ratelimit_done(&rl);
}

static void test_ipv6_prefix(void **state)
{
	struct ratelimit rl;
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
		b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, [7] = 1};

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 1, 1, 42), 0);
	assert_true(ratelimit_allow(&rl, a, 16, T0));
	assert_false(ratelimit_allow(&rl, b, 16, T0)); /* same /64 */
	assert_true(ratelimit_allow(&rl, c, 16, T0));  /* another /64 */
	ratelimit_done(&rl);
}

/* 100000 sources through 64 slots: every new one gets its burst. */
static void test_flood(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 1, 1, 42), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		uint8_t ip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		assert_true(ratelimit_allow(&rl, ip, 4, T0 + i));
	}
	ratelimit_done(&rl);
}

static void test_disabled(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 0, 5, 42), 0);
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimit_allow(&rl, ip_a, 4, T0));
	ratelimit_done(&rl);
}

/* A worker whose clock reading is older than another's: the interval in
 * between is credited once, not again when the clock catches up. */
static void test_clock_skew(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 10, 1, 42), 0);
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0));
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0 + S / 10));
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + S / 20)); /* older reading */
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + S / 10 + S / 20));
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0 + 2 * S / 10));
	ratelimit_done(&rl);
}

/* Sources sharing a bucket: the least recently seen one is evicted and
 * starts again with a full burst; the others keep their state. */
static void test_bucket_lru(void **state)
{
	struct ratelimit rl;
	uint8_t ip[RATELIMIT_WAYS + 1][4];

	(void)state;
	/* one bucket: every source lands in it */
	assert_int_equal(ratelimit_init(&rl, RATELIMIT_WAYS, 1, 1, 42), 0);
	for (int i = 0; i <= RATELIMIT_WAYS; i++) {
		memcpy(ip[i], (uint8_t[]){10, 0, 0, (uint8_t)(i + 1)}, 4);
		if (i < RATELIMIT_WAYS) {
			assert_true(ratelimit_allow(&rl, ip[i], 4, T0 + (uint64_t)i));
			assert_false(ratelimit_allow(&rl, ip[i], 4, T0 + (uint64_t)i));
		}
	}
	/* source 0 is the oldest: the newcomer takes its entry */
	assert_true(ratelimit_allow(&rl, ip[RATELIMIT_WAYS], 4, T0 + 10));
	for (int i = 1; i < RATELIMIT_WAYS; i++)
		assert_false(ratelimit_allow(&rl, ip[i], 4, T0 + 11));
	assert_true(ratelimit_allow(&rl, ip[0], 4, T0 + 12)); /* forgotten: full again */
	ratelimit_done(&rl);
}

#define THREADS	   4
#define ROUNDS	   10 /* a missing lock shows in some rounds, not in every one */
#define STEPS	   40
#define CALLS	   1000
#define HS_RATE	   10000
#define HS_BURST   2000	    /* above a step's refill: the cap never binds after the start */
#define STEP_NS	   (S / 10) /* 1000 tokens per step, contended by 4000 calls */
#define TOKEN_NS   (S / HS_RATE)
#define SKEW_NS	   (S / 1000)
#define WORKERS_IP ((const uint8_t[4]){203, 0, 113, 7})

struct hammer {
	pthread_t thread;
	struct ratelimit *rl;
	pthread_barrier_t *step;
	unsigned id;
	uint64_t skew_ns; /* this thread's clock is id * skew_ns behind */
	unsigned allowed;
};

/* One worker: at each step of the fake clock, CALLS initiations from one
 * address (from the worker's own ports: the limiter sees only the IP). */
static void *hammer(void *arg)
{
	struct hammer *h = arg;

	for (uint64_t step = 0; step < STEPS; step++) {
		uint64_t now = T0 + step * STEP_NS - h->id * h->skew_ns;
		pthread_barrier_wait(h->step);
		for (int i = 0; i < CALLS; i++)
			h->allowed += ratelimit_allow(h->rl, WORKERS_IP, 4, now);
	}
	return NULL;
}

static unsigned hammer_total(uint64_t skew_ns)
{
	struct ratelimit rl;
	pthread_barrier_t step;
	struct hammer h[THREADS];
	unsigned total = 0;

	assert_int_equal(ratelimit_init(&rl, 8192, HS_RATE, HS_BURST, 42), 0);
	assert_int_equal(pthread_barrier_init(&step, NULL, THREADS), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		h[i] = (struct hammer){.rl = &rl, .step = &step, .id = i, .skew_ns = skew_ns};
		assert_int_equal(pthread_create(&h[i].thread, NULL, hammer, &h[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(h[i].thread, NULL), 0);
		total += h[i].allowed;
	}
	pthread_barrier_destroy(&step);
	ratelimit_done(&rl);
	return total;
}

/* THREADS workers, one address: rate x time + burst in total, not per
 * worker. Every step offers far more calls than there are tokens, so the
 * total is exactly the bound: no token lost, none granted twice. */
static void test_shared_threads(void **state)
{
	unsigned bound = HS_BURST + (unsigned)((STEPS - 1) * STEP_NS / TOKEN_NS);

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		unsigned total = hammer_total(0);
		if (total != bound)
			print_message("round %d: %u threads x %u calls: %u allowed (bound %u)\n",
				      round, THREADS, STEPS * CALLS, total, bound);
		assert_true(total <= bound);
		assert_int_equal(total, bound);
	}
}

/* The same with each worker's clock a little behind the previous one's:
 * at least the time the slowest clock covered, at most the time the
 * fastest one covered, plus the burst. */
static void test_shared_threads_skewed(void **state)
{
	uint64_t span = (STEPS - 1) * STEP_NS;
	unsigned lo = HS_BURST + (unsigned)(span / TOKEN_NS),
		 hi = HS_BURST + (unsigned)((span + (THREADS - 1) * SKEW_NS) / TOKEN_NS);

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		unsigned total = hammer_total(SKEW_NS);
		if (total < lo || total > hi)
			print_message("round %d, skewed clocks: %u allowed (bounds %u..%u)\n",
				      round, total, lo, hi);
		assert_true(total <= hi);
		assert_true(total >= lo);
	}
}

/* Keys with a port: each address and port has its own bucket (cookie
 * replies); without, every port of an address shares one. */
static void test_port_keys(void **state)
{
	struct ratelimit rl;
	const uint8_t a1[] = {198, 51, 100, 7, 0x10, 0x00}, a2[] = {198, 51, 100, 7, 0x10, 0x01};
	uint8_t v6a[18] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1, 0x10, 0x00}, v6b[18];

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 1, 1, 42), 0);
	assert_true(ratelimit_allow(&rl, a1, 6, T0));
	assert_false(ratelimit_allow(&rl, a1, 6, T0));
	assert_true(ratelimit_allow(&rl, a2, 6, T0)); /* another port */
	assert_true(ratelimit_allow(&rl, a1, 4, T0)); /* the address alone: another key */
	assert_false(ratelimit_allow(&rl, a2, 4, T0));
	assert_true(ratelimit_allow(&rl, v6a, 18, T0));
	memcpy(v6b, v6a, 18);
	v6b[15] = 2; /* same /64 and port */
	assert_false(ratelimit_allow(&rl, v6b, 18, T0));
	v6b[17] = 1; /* another port */
	assert_true(ratelimit_allow(&rl, v6b, 18, T0));
	ratelimit_done(&rl);
}

/* A penalty empties the bucket and keeps it empty for its duration, then
 * the bucket refills at the usual rate; other sources are untouched. */
static void test_penalty(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 10, 5, 42), 0);
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0));
	ratelimit_penalize(&rl, ip_a, 4, T0, 10 * S);
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + 5 * S));
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + 10 * S));
	assert_false(ratelimit_allow(&rl, ip_a, 4, T0 + 10 * S + S / 10 - 1));
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0 + 10 * S + S / 10));
	assert_true(ratelimit_allow(&rl, ip_b, 4, T0 + S)); /* not ip_b */
	/* a penalty of an unknown source still holds */
	ratelimit_penalize(&rl, ip_b, 4, T0 + 2 * S, S);
	assert_false(ratelimit_allow(&rl, ip_b, 4, T0 + 2 * S + S / 2));
	ratelimit_done(&rl);
	assert_int_equal(ratelimit_init(&rl, 64, 0, 5, 42), 0); /* disabled: a no-op */
	ratelimit_penalize(&rl, ip_a, 4, T0, S);
	assert_true(ratelimit_allow(&rl, ip_a, 4, T0));
	ratelimit_done(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_and_refill),
	    cmocka_unit_test(test_port_keys),
	    cmocka_unit_test(test_penalty),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_disabled),
	    cmocka_unit_test(test_clock_skew),
	    cmocka_unit_test(test_bucket_lru),
	    cmocka_unit_test(test_shared_threads),
	    cmocka_unit_test(test_shared_threads_skewed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
