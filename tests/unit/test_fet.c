/* The fully-encrypted-traffic rule (tests/tools/fet.c) at the boundaries of
 * research/censorship.md P1-T1: popcount 3.4 / 4.6 exempt and 3.41 / 4.59
 * not; 5 vs 6 printable leading bytes; 50 % vs 51 % printable; runs of 20
 * vs 21 (and nDPI's threshold of 20); TLS and HTTP prefixes.
 *
 * Each payload is built from 0xF0 (4 set bits, not printable), so it is
 * "fully encrypted" unless the bytes under test change that: a case that
 * should be blocked is blocked by every rule, and one that should be
 * exempt is exempt by exactly the rule under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fet.h"

#define N 100

static uint8_t buf[N];

static void base(void)
{
	memset(buf, 0xf0, sizeof(buf));
}

static unsigned judge(size_t len, size_t run_min)
{
	struct fet_result r;
	return fet_check(buf, len, run_min, &r);
}

static void test_baseline_blocked(void **state)
{
	(void)state;
	base();
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);
	assert_int_equal(judge(N, FET_RUN_NDPI), 0);
}

static void test_empty(void **state)
{
	(void)state;
	assert_int_equal(judge(0, FET_RUN_PAPER), FET_EMPTY);
}

/* 0x80 has 1 bit, 0xe0 3, 0xf0 4, 0xf8 5: none printable. */
static void test_popcount_boundaries(void **state)
{
	(void)state;
	/* exactly 3.4: 4 x 4 bits + 1 bit over 5 bytes = 17/5 */
	memcpy(buf, "\xf0\xf0\xf0\xf0\x80", 5);
	assert_int_equal(judge(5, FET_RUN_PAPER), FET_EX1_POPCOUNT);
	/* exactly 4.6: 3 x 5 + 2 x 4 = 23 bits over 5 bytes */
	memcpy(buf, "\xf8\xf8\xf8\xf0\xf0", 5);
	assert_int_equal(judge(5, FET_RUN_PAPER), FET_EX1_POPCOUNT);
	/* 3.41: 59 x 3 + 41 x 4 = 341 bits over 100 bytes */
	base();
	memset(buf, 0xe0, 59);
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);
	/* 3.39: one bit fewer is exempt again */
	buf[99] = 0xe0; /* 60 x 3 + 40 x 4 = 340 = 3.40 */
	assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX1_POPCOUNT);
	/* 4.59: 59 x 5 + 41 x 4 = 459 bits */
	base();
	memset(buf, 0xf8, 59);
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);
	buf[99] = 0xf8; /* 460 = 4.60 */
	assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX1_POPCOUNT);
}

/* 'U' (0x55) is printable with 4 set bits: the popcount stays 4.0. */
static void test_printable_prefix(void **state)
{
	(void)state;
	base();
	memset(buf, 'U', 5);
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);
	memset(buf, 'U', 6);
	assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX2_PREFIX);
}

static void test_printable_fraction(void **state)
{
	(void)state;
	/* 50 of 100: N P N P ... (no prefix, runs of 1) */
	base();
	for (size_t i = 1; i < N; i += 2)
		buf[i] = 'U';
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);
	/* 51 of 100: the same with one more printable byte (a run of 3) */
	buf[98] = 'U';
	assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX3_PRINTABLE);
}

static void test_printable_run(void **state)
{
	(void)state;
	base();
	memset(buf + 10, 'U', 20);
	assert_int_equal(judge(N, FET_RUN_PAPER), 0);	       /* paper: > 20 */
	assert_int_equal(judge(N, FET_RUN_NDPI), FET_EX4_RUN); /* nDPI: >= 20 */
	memset(buf + 10, 'U', 21);
	assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX4_RUN);
	assert_int_equal(judge(N, FET_RUN_NDPI), FET_EX4_RUN);
}

/* Lengths given: some prefixes hold a zero byte. */
struct prefix {
	const char *bytes;
	size_t len;
};
#define P(s)                                                                                       \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

static void test_protocol_prefixes(void **state)
{
	static const struct prefix exempt[] = {
	    P("\x16\x03\x01"), P("\x16\x03\x03"), P("\x17\x03\x03"),
	    P("\x16\x03\x00"), P("\x17\x03\x0f"), P("GET "),
	    P("PUT "),	       P("POST "),	  P("HEAD "),
	};
	static const struct prefix not_exempt[] = {
	    P("\x15\x03\x03"), P("\x18\x03\x01"), P("\x16\x02\x01"),
	    P("\x16\x03\x10"), P("GET\xf0"),	  P("DELETE "),
	};
	(void)state;
	for (size_t i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++) {
		base();
		memcpy(buf, exempt[i].bytes, exempt[i].len);
		assert_int_equal(judge(N, FET_RUN_PAPER), FET_EX5_PROTOCOL);
	}
	for (size_t i = 0; i < sizeof(not_exempt) / sizeof(not_exempt[0]); i++) {
		base();
		memcpy(buf, not_exempt[i].bytes, not_exempt[i].len);
		/* "DELETE " is 7 printable bytes: exempt by Ex2, not Ex5 */
		assert_int_equal(judge(N, FET_RUN_PAPER) & FET_EX5_PROTOCOL, 0);
	}
}

static void test_exemptions_text(void **state)
{
	char t[64];
	(void)state;
	fet_exemptions_text(0, t, sizeof(t));
	assert_string_equal(t, "none");
	fet_exemptions_text(FET_EX1_POPCOUNT | FET_EX5_PROTOCOL, t, sizeof(t));
	assert_string_equal(t, "Ex1,Ex5");
	fet_exemptions_text(FET_EX2_PREFIX | FET_EX3_PRINTABLE, t, 5);
	assert_string_equal(t, "Ex2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_baseline_blocked),	cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_popcount_boundaries), cmocka_unit_test(test_printable_prefix),
	    cmocka_unit_test(test_printable_fraction),	cmocka_unit_test(test_printable_run),
	    cmocka_unit_test(test_protocol_prefixes),	cmocka_unit_test(test_exemptions_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
