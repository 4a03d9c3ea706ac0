/* Xue et al.'s flow-shape rules (tests/tools/xue.c) at their boundaries:
 * the opcode rule's 4..10 distinct values and its "CR/SR never again", the
 * ACK rule's early/late counts, Xue 2024's RT < 2.5 and 300-byte first
 * burst, and the inner-handshake burst shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "xue.h"

/* ops[0] = CR, ops[1] = SR, then values from 2 up to 2 + distinct - 3,
 * repeated: a sequence of n with exactly `distinct` values. */
static void opcodes(uint8_t *ops, size_t n, size_t distinct)
{
	ops[0] = 0x38;
	ops[1] = 0x40;
	for (size_t i = 2; i < n; i++)
		ops[i] = (uint8_t)(0x80 + (i - 2) % (distinct - 2));
}

static void test_opcode_rule(void **state)
{
	uint8_t ops[100];
	(void)state;
	opcodes(ops, 20, 4);
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 1);
	opcodes(ops, 20, 10);
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 1);
	opcodes(ops, 20, 11);
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 0);
	opcodes(ops, 20, 3);
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 0);
	/* the client's or the server's reset opcode comes back: not OpenVPN */
	opcodes(ops, 20, 5);
	ops[19] = 0x38;
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 0);
	ops[19] = 0x40;
	assert_int_equal(xue_opcode_rule(ops, 20, 20), 0);
	/* ... but only within the first N */
	assert_int_equal(xue_opcode_rule(ops, 20, 10), 1);
	/* not enough packets for N */
	assert_int_equal(xue_opcode_rule(ops, 9, 10), -1);
}

static void test_ack_rule(void **state)
{
	uint16_t sizes[100];
	size_t early, late;
	(void)state;
	for (size_t i = 0; i < 100; i++)
		sizes[i] = (uint16_t)(100 + i); /* all different */
	sizes[2] = 50;
	sizes[5] = sizes[9] = 50;
	assert_int_equal(xue_ack_rule(sizes, 100, &early, &late), 0);
	assert_int_equal(early, 2);
	sizes[29] = 50; /* a third, still in the first 30 */
	assert_int_equal(xue_ack_rule(sizes, 100, &early, &late), 1);
	sizes[40] = 50; /* bins 3-4 count for neither side */
	assert_int_equal(xue_ack_rule(sizes, 100, &early, &late), 1);
	sizes[50] = 50; /* one late: not OpenVPN-like */
	assert_int_equal(xue_ack_rule(sizes, 100, &early, &late), 0);
	assert_int_equal(late, 1);
	assert_int_equal(xue_ack_rule(sizes, 99, &early, &late), -1);
}

static void test_https_like(void **state)
{
	struct xue_bursts b = {.b = {299, 5000, 0, 0}, .n = 4};
	(void)state;
	assert_int_equal(xue_https_like(&b), 1); /* RT 2.0 */
	b.n = 5;				 /* RT 2.5 */
	assert_int_equal(xue_https_like(&b), 0);
	b.n = 2;
	b.b[0] = 300;
	assert_int_equal(xue_https_like(&b), 0);
	b.n = 0;
	b.b[0] = 0;
	assert_int_equal(xue_https_like(&b), 0);
}

static void test_tls_in_tls(void **state)
{
	struct xue_bursts b = {.b = {546, 2929, 103, 329}, .n = 6};
	(void)state;
	assert_int_equal(xue_tls_in_tls(&b), 1);
	b.b[2] = 201;
	assert_int_equal(xue_tls_in_tls(&b), 0);
	b.b[2] = 200;
	b.b[1] = 999;
	assert_int_equal(xue_tls_in_tls(&b), 0);
	b.b[1] = 1000;
	b.b[0] = 199;
	assert_int_equal(xue_tls_in_tls(&b), 0);
	b.b[0] = 1001;
	assert_int_equal(xue_tls_in_tls(&b), 0);
	b.b[0] = 1000;
	assert_int_equal(xue_tls_in_tls(&b), 1);
	b.n = 2;
	assert_int_equal(xue_tls_in_tls(&b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opcode_rule),
	    cmocka_unit_test(test_ack_rule),
	    cmocka_unit_test(test_https_like),
	    cmocka_unit_test(test_tls_in_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
