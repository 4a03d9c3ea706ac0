/* Replay window (protocol/replay.c): a numbered boundary table, in the
 * manner of WireGuard's selftest/counter.c, and a randomized differential
 * test against a naive reference (a set of seen counters + the window rule).
 *
 * W below is the window: a counter more than W below the highest accepted
 * one is refused even if never seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/replay.h"

#define W    ((uint64_t)LL_REPLAY_WINDOW_BITS - 64)
#define RING ((uint64_t)LL_REPLAY_WINDOW_BITS)
#define DEF  LL_REJECT_AFTER_MESSAGES
#define FAR  (UINT64_C(1) << 40)

enum op { CHECK, RESET };

struct step {
	enum op op;
	uint64_t counter;
	bool accept;
	uint64_t limit;
};

/* One step per line, numbered as in WireGuard's table. */
/* clang-format off */
#define T(c, ok)     {CHECK, (c), (ok), DEF}
#define TL(c, ok, l) {CHECK, (c), (ok), (l)}
#define T_RESET      {RESET, 0, false, 0}

/* The step number is the index + 1; keep the comments in step. */
static const struct step steps[] = {
    /* in order, duplicates, small reorders */
    /*  1 */ T_RESET,
    /*  2 */ T(0, true),
    /*  3 */ T(0, false),
    /*  4 */ T(1, true),
    /*  5 */ T(1, false),
    /*  6 */ T(6, true),
    /*  7 */ T(4, true),
    /*  8 */ T(5, true),
    /*  9 */ T(4, false),
    /* 10 */ T(6, false),
    /* 11 */ T(2, true),
    /* 12 */ T(3, true),
    /* 13 */ T(3, false),
    /* window edge, seen from the top: highest = W + 6 */
    /* 14 */ T(W + 6, true),
    /* 15 */ T(6, false), /* exactly W below, but seen */
    /* 16 */ T(5, false), /* W + 1 below: too old */
    /* 17 */ T(7, true),  /* W - 1 below, unseen */
    /* 18 */ T(7, false),
    /* 19 */ T(W + 5, true), /* just below the top */
    /* 20 */ T(W + 7, true), /* one past the top moves the edge by one */
    /* 21 */ T(7, false),    /* now W below and seen */
    /* 22 */ T(6, false),    /* now W + 1 below */
    /* window edge, unseen counters exactly at and one past it */
    /* 23 */ T_RESET,
    /* 24 */ T(2 * W, true),
    /* 25 */ T(W, true),      /* exactly W below */
    /* 26 */ T(W - 1, false), /* W + 1 below */
    /* 27 */ T(W, false),
    /* 28 */ T(W + 1, true),
    /* 29 */ T(2 * W - 1, true),
    /* 30 */ T(2 * W + 1, true),
    /* 31 */ T(W, false), /* fell out of the window */
    /* 32 */ T(W + 1, false),
    /* 33 */ T(W + 2, true),
    /* jumps far ahead */
    /* 34 */ T_RESET,
    /* 35 */ T(10, true),
    /* 36 */ T(FAR, true),
    /* 37 */ T(10, false),
    /* 38 */ T(11, false), /* never seen, far too old */
    /* 39 */ T(FAR - W, true),
    /* 40 */ T(FAR - W - 1, false),
    /* 41 */ T(FAR - 1, true),
    /* 42 */ T(FAR, false),
    /* 43 */ T(FAR + 1, true),
    /* stale bits of an earlier lap of the ring must be cleared */
    /* 44 */ T_RESET,
    /* 45 */ T(1, true),
    /* 46 */ T(2, true),
    /* 47 */ T(3, true),
    /* 48 */ T(3 + RING, true), /* same ring slot as 3 */
    /* 49 */ T(1 + RING, true), /* same slot as 1: stale bit must be gone */
    /* 50 */ T(2 + RING, true),
    /* 51 */ T(2 + RING, false),
    /* 52 */ T(3 + RING - W, true), /* the oldest counter still inside */
    /* 53 */ T(2 + RING - W, false),
    /* 54 */ T(65 + 2 * RING, true), /* jump by more than a lap, mid-word */
    /* 55 */ T(64 + 2 * RING, true),
    /* 56 */ T(1 + 2 * RING, true),
    /* 57 */ T(3 + 2 * RING, true),
    /* 58 */ T(3 + 2 * RING, false),
    /* advancing by exactly one word and by exactly the ring */
    /* 59 */ T_RESET,
    /* 60 */ T(63, true),
    /* 61 */ T(127, true),
    /* 62 */ T(63, false),
    /* 63 */ T(127 + RING, true),
    /* 64 */ T(127, false),
    /* 65 */ T(63 + RING, true),
    /* 66 */ T(127 + RING - W, true),
    /* 67 */ T(126 + RING - W, false),
    /* the message limit */
    /* 68 */ T_RESET,
    /* 69 */ TL(99, true, 100),
    /* 70 */ TL(100, false, 100),
    /* 71 */ TL(UINT64_MAX, false, 100),
    /* 72 */ TL(98, true, 100),
    /* 73 */ T(DEF - 1, true),
    /* 74 */ T(DEF, false),
    /* 75 */ T(UINT64_MAX, false),
    /* 76 */ T(DEF - 1, false),
    /* 77 */ T(DEF - 1 - W, true),
    /* 78 */ T(DEF - 2 - W, false),
    /* the top of the 64-bit space: no overflow when limit = UINT64_MAX */
    /* 79 */ T_RESET,
    /* 80 */ TL(UINT64_MAX - 1, true, UINT64_MAX),
    /* 81 */ TL(UINT64_MAX, false, UINT64_MAX),
    /* 82 */ TL(UINT64_MAX - 1, false, UINT64_MAX),
    /* 83 */ TL(UINT64_MAX - 1 - W, true, UINT64_MAX),
    /* 84 */ TL(UINT64_MAX - 2 - W, false, UINT64_MAX),
    /* 85 */ TL(0, false, UINT64_MAX),
    /* 86 */ TL(UINT64_MAX - 2, true, UINT64_MAX),
    /* a limit of 0 refuses everything */
    /* 87 */ T_RESET,
    /* 88 */ TL(0, false, 0),
};
/* clang-format on */

static void test_boundary_table(void **state)
{
	(void)state;
	struct replay r;
	unsigned failures = 0;

	replay_init(&r);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		if (s->op == RESET) {
			replay_init(&r);
			continue;
		}
		uint64_t limit = s->limit;
		bool peek = replay_is_new(&r, s->counter, limit);
		bool got = replay_check(&r, s->counter, limit);
		if (got != s->accept || peek != got) {
			fprintf(stderr,
				"replay step %zu: counter %llu: got %d (peek %d), want %d\n", i + 1,
				(unsigned long long)s->counter, got, peek, s->accept);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* replay_is_new must not record anything. */
static void test_is_new_records_nothing(void **state)
{
	(void)state;
	struct replay r, before;

	replay_init(&r);
	assert_true(replay_check(&r, 5, DEF));
	before = r;
	for (uint64_t c = 0; c < 3 * RING; c += 7)
		(void)replay_is_new(&r, c, DEF);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_true(replay_is_new(&r, 6, DEF));
	assert_true(replay_check(&r, 6, DEF));
	assert_false(replay_is_new(&r, 6, DEF));
}

/* ---- differential test ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#define SPACE (UINT64_C(1) << 24)

struct naive {
	uint8_t *seen; /* one byte per counter in [0, SPACE) */
	bool any;
	uint64_t highest;
	uint64_t recent[16]; /* the last accepted counters, to replay */
	unsigned n_recent;
};

static bool naive_check(struct naive *n, uint64_t c, uint64_t limit)
{
	if (c >= limit || n->seen[c])
		return false;
	if (n->any && c < n->highest && n->highest - c > W)
		return false;
	n->seen[c] = 1;
	n->recent[n->n_recent++ % 16] = c;
	if (!n->any || c > n->highest)
		n->highest = c;
	n->any = true;
	return true;
}

/* Mostly around the window's lower edge and inside it (reorders, the edge
 * itself), often the next few counters or a replay of a recent one,
 * sometimes anywhere below (mostly too old), rarely a jump ahead of up to
 * three laps of the ring. */
static uint64_t next_counter(uint64_t *rng, const struct naive *n)
{
	uint64_t x = splitmix(rng), top = n->highest, r = x >> 16;
	unsigned kind = (unsigned)(x & 0x3ff);

	if (kind == 0)
		return top + 1 + r % (3 * RING);
	if (kind < 32)
		return r % (top + 1);
	if (kind < 256)
		return top + 1 + r % 4;
	if (kind < 512)
		return n->recent[r % 16];
	uint64_t back = r % (W + 80);
	return back > top ? r % (top + 1) : top - back;
}

static void test_differential(void **state)
{
	(void)state;
	uint64_t seed = UINT64_C(0x6c6f73746c6f7665), rng = seed;
	uint64_t limit = SPACE - 1000, accepted = 0;
	struct naive n = {.seen = calloc(SPACE, 1)};
	struct replay r;

	assert_non_null(n.seen);
	replay_init(&r);
	for (long i = 0; i < 1000000; i++) {
		uint64_t c = next_counter(&rng, &n);
		if (c >= SPACE)
			c = SPACE - 1 - (c % 2000);
		bool peek = replay_is_new(&r, c, limit);
		bool got = replay_check(&r, c, limit);
		bool want = naive_check(&n, c, limit);
		if (got != want || peek != want) {
			fprintf(stderr, "seed %llx step %ld counter %llu: got %d peek %d want %d\n",
				(unsigned long long)seed, i, (unsigned long long)c, got, peek,
				want);
			fail();
		}
		accepted += want;
	}
	/* the mix must have exercised both outcomes a lot */
	fprintf(stderr, "differential: %llu of 1000000 accepted, highest %llu\n",
		(unsigned long long)accepted, (unsigned long long)n.highest);
	assert_true(accepted > 100000 && accepted < 900000);
	free(n.seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boundary_table),
	    cmocka_unit_test(test_is_new_records_nothing),
	    cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
