/* dataplane/rxcut.h: a received message cut into its datagrams, as both
 * daemons' receive paths do (a GRO run, a single datagram, an empty one). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "dataplane/rxcut.h"

static uint8_t buf[65536];

/* Cuts message 0 of a batch of msg_len bytes and GRO segment seg (0: no
 * GRO); the lengths into lens, returns how many. */
static size_t cut(size_t msg_len, uint16_t seg, size_t *lens, size_t max)
{
	static struct udp_batch b;
	struct dp_rxcut c;
	uint8_t *pkt, *expect = buf;
	size_t n = 0, len, count;

	memset(&b, 0, sizeof(b));
	b.msgs[0].msg_len = (unsigned)msg_len;
	b.seg[0] = seg;
	c = dp_rxcut_of(&b, 0, buf);
	count = dp_rxcut_count(&c);
	while (dp_rxcut_next(&c, &pkt, &len)) {
		assert_true(n < max);
		assert_ptr_equal(pkt, expect); /* in place, back to back */
		expect += len;
		lens[n++] = len;
	}
	assert_int_equal(count, n);
	return n;
}

static void test_gro_run(void **state)
{
	size_t lens[64];

	(void)state;
	assert_int_equal(cut(3000, 1200, lens, 64), 3);
	assert_int_equal(lens[0], 1200);
	assert_int_equal(lens[1], 1200);
	assert_int_equal(lens[2], 600); /* the last may be shorter */
	assert_int_equal(cut(2400, 1200, lens, 64), 2);
	assert_int_equal(lens[1], 1200);
	assert_int_equal(cut(65535, 1024, lens, 64), 64);
	assert_int_equal(lens[63], 65535 - 63 * 1024);
}

static void test_single_and_empty(void **state)
{
	size_t lens[4];

	(void)state;
	assert_int_equal(cut(1420, 0, lens, 4), 1);
	assert_int_equal(lens[0], 1420);
	assert_int_equal(cut(1, 0, lens, 4), 1);
	assert_int_equal(cut(0, 0, lens, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gro_run),
	    cmocka_unit_test(test_single_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
