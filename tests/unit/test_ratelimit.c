/* Per-IP handshake limiter (auth/ratelimit.c): burst then refusal, the
 * refill rate, IPv6 per /64, independence of sources, eviction under a
 * flood of sources keeping memory bounded, and the disabled limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_and_refill),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
