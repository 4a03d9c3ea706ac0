/* Packet buffer pool (dataplane/pool.c): sizes and alignment, exhaustion,
 * LIFO reuse, and a randomized get/put run against a naive set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/pool.h"

static void test_init_invalid(void **state)
{
	struct pool p;

	(void)state;
	assert_int_equal(pool_init(&p, 0, 64), -EINVAL);
	assert_int_equal(pool_init(&p, 4, 0), -EINVAL);
	assert_int_equal(pool_init(&p, SIZE_MAX / 2, 4096), -EINVAL);
	pool_done(&p);
	pool_done(NULL);
}

static void test_exhaust_and_reuse(void **state)
{
	struct pool p;
	uint8_t *bufs[8];

	(void)state;
	assert_int_equal(pool_init(&p, 8, 1500), 0);
	assert_int_equal(p.size, 1536); /* rounded up to 64 */
	for (int i = 0; i < 8; i++) {
		bufs[i] = pool_get(&p);
		assert_non_null(bufs[i]);
		assert_int_equal((uintptr_t)bufs[i] % 64, 0);
		memset(bufs[i], i, p.size); /* each is writable, whole */
	}
	assert_null(pool_get(&p));
	assert_int_equal(pool_available(&p), 0);
	pool_put(&p, bufs[3]);
	assert_ptr_equal(pool_get(&p), bufs[3]); /* LIFO: the warm one */
	for (int i = 0; i < 8; i++)
		pool_put(&p, bufs[i]);
	assert_int_equal(pool_available(&p), 8);
	pool_done(&p);
}

/* Buffers never overlap and never come out twice while in use. */
static void test_random(void **state)
{
	enum { N = 64 };
	struct pool p;
	uint8_t *out[N];
	size_t n_out = 0;

	(void)state;
	srand(7);
	assert_int_equal(pool_init(&p, N, 100), 0);
	for (int step = 0; step < 20000; step++) {
		if (n_out < N && (n_out == 0 || rand() % 2)) {
			uint8_t *b = pool_get(&p);
			assert_non_null(b);
			for (size_t i = 0; i < n_out; i++)
				assert_true(b + p.size <= out[i] || out[i] + p.size <= b);
			out[n_out++] = b;
		} else {
			size_t k = (size_t)rand() % n_out;
			pool_put(&p, out[k]);
			out[k] = out[--n_out];
		}
		assert_int_equal(pool_available(&p), N - n_out);
	}
	pool_done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_invalid),
	    cmocka_unit_test(test_exhaust_and_reuse),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
