/* Session parameter TLVs: round trips, and a strict decoder for untrusted input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/messages.h"
#include "protocol/params.h"

static struct session_params full(void)
{
	struct session_params p = {
	    .mode = CIPHER_CASCADE,
	    .has_addr4 = true,
	    .addr4 = {10, 8, 0, 2},
	    .prefix4 = 24,
	    .has_addr6 = true,
	    .addr6 = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
	    .prefix6 = 64,
	    .n_dns4 = 4,
	    .dns4 = {{1, 1, 1, 1}, {8, 8, 8, 8}, {9, 9, 9, 9}, {10, 8, 0, 1}},
	    .n_dns6 = 4,
	    .mtu = 1420,
	    .keepalive_s = 25,
	    .rekey_time_s = 600,
	    .update_bytes = 5000000,
	};
	for (int i = 0; i < 4; i++)
		p.dns6[i][15] = (uint8_t)(i + 1);
	return p;
}

static void test_round_trip_full(void **state)
{
	(void)state;
	struct session_params in = full(), out;
	uint8_t buf[MSG_PARAMS_MAX];
	size_t len;
	assert_int_equal(params_encode(&in, buf, sizeof(buf), &len), 0);
	/* the largest parameter set still fits, so message 2 stays below message 1 */
	assert_true(len <= MSG_PARAMS_MAX);
	assert_int_equal(params_decode(&out, buf, len), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void test_minimal(void **state)
{
	(void)state;
	const uint8_t only_cipher[] = {PARAMS_T_CIPHER, 1, CIPHER_CHACHAPOLY};
	struct session_params p;
	assert_int_equal(params_decode(&p, only_cipher, sizeof(only_cipher)), 0);
	assert_int_equal(p.mode, CIPHER_CHACHAPOLY);
	assert_false(p.has_addr4);
	/* nothing at all: the cipher is mandatory */
	assert_int_equal(params_decode(&p, only_cipher, 0), -EINVAL);
}

/* Numbered table of hostile inputs, each must be refused. */
static void test_rejects(void **state)
{
	(void)state;
	static const struct {
		uint8_t bytes[24];
		size_t len;
	} bad[] = {
	    /* 1 */ {{PARAMS_T_CIPHER, 1, 0}, 3},			 /* unknown mode 0 */
	    /* 2 */ {{PARAMS_T_CIPHER, 1, 4}, 3},			 /* unknown mode 4 */
	    /* 3 */ {{PARAMS_T_CIPHER, 2, 1, 0}, 4},			 /* wrong length */
	    /* 4 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_CIPHER, 1, 1}, 6}, /* duplicate */
	    /* 5 */ {{PARAMS_T_CIPHER, 1, 1, 0x7f, 0}, 5},		 /* unknown critical */
	    /* 6 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_ADDR4, 5, 10, 0, 0, 2, 33}, 10}, /* /33 */
	    /* 7 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_MTU, 2, 0x10, 0x00}, 7},	       /* MTU 16 */
	    /* 8 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_REKEY_TIME, 4, 4, 0, 0, 0}, 9},  /* 4 s */
	    /* 9 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_MTU, 2, 0x05}, 6}, /* truncated value */
	    /* 10 */ {{PARAMS_T_CIPHER, 1, 1, PARAMS_T_MTU}, 4},	 /* truncated header */
	    /* 11 */ {{PARAMS_T_CIPHER}, 1},				 /* lone type */
	    /* 12 */ {{0x80, 5, 0}, 3},					 /* optional overruns */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct session_params p;
		memset(&p, 0xaa, sizeof(p));
		if (params_decode(&p, bad[i].bytes, bad[i].len) != -EINVAL)
			fail_msg("case %zu accepted", i + 1);
		struct session_params zero = {0};
		assert_memory_equal(&p, &zero, sizeof(p)); /* nothing half-filled */
	}
}

static void test_optional_skipped(void **state)
{
	(void)state;
	const uint8_t in[] = {0x90, 3, 1, 2, 3, PARAMS_T_CIPHER, 1, 1, 0xff, 0};
	struct session_params p;
	assert_int_equal(params_decode(&p, in, sizeof(in)), 0);
	assert_int_equal(p.mode, CIPHER_AES256GCM);
}

static void test_dns_limit(void **state)
{
	(void)state;
	uint8_t in[3 + 6 * 5];
	size_t n = 0;
	in[n++] = PARAMS_T_CIPHER, in[n++] = 1, in[n++] = 2;
	for (int i = 0; i < 5; i++) {
		in[n++] = PARAMS_T_DNS4, in[n++] = 4;
		memset(in + n, i, 4);
		n += 4;
	}
	struct session_params p;
	assert_int_equal(params_decode(&p, in, n - 6), 0);
	assert_int_equal(p.n_dns4, 4);
	assert_int_equal(params_decode(&p, in, n), -EINVAL);
}

static void test_every_truncation(void **state)
{
	(void)state;
	struct session_params in = full(), out;
	uint8_t buf[MSG_PARAMS_MAX];
	size_t len;
	assert_int_equal(params_encode(&in, buf, sizeof(buf), &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		int r = params_decode(&out, buf, cut);
		/* a cut on a TLV boundary is a valid shorter list; any other is refused */
		if (r == 0) {
			uint8_t again[MSG_PARAMS_MAX];
			size_t again_len;
			assert_int_equal(params_encode(&out, again, sizeof(again), &again_len), 0);
		} else {
			assert_int_equal(r, -EINVAL);
		}
	}
}

static void test_encode_space_and_invalid(void **state)
{
	(void)state;
	struct session_params p = full();
	uint8_t buf[MSG_PARAMS_MAX];
	size_t len;
	assert_int_equal(params_encode(&p, buf, 10, &len), -ENOSPC);
	p.mode = 9;
	assert_int_equal(params_encode(&p, buf, sizeof(buf), &len), -EINVAL);
	p = full();
	p.mtu = 1200; /* below the IPv6 minimum while an IPv6 address is set */
	assert_int_equal(params_encode(&p, buf, sizeof(buf), &len), -EINVAL);
}

/* params_fit leaves out DNS servers, the last IPv6 one first, until the
 * list fits; everything else always fits the classical budget of 56. */
static void test_fit(void **state)
{
	struct session_params in = full(), out;
	size_t len;
	bool cut;

	(void)state;
	assert_int_equal(params_fit(&in, MSG_PARAMS_MAX, &out, &cut), 0);
	assert_false(cut);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_int_equal(params_fit(&in, 56, &out, &cut), 0);
	assert_true(cut);
	assert_int_equal(out.n_dns6, 0);
	assert_int_equal(out.n_dns4, 0); /* 53 + 6 > 56 */
	assert_int_equal(params_encoded_len(&out, &len), 0);
	assert_int_equal(len, 53);
	in.update_bytes = 0; /* 43: one IPv4 server fits, two do not */
	assert_int_equal(params_fit(&in, 56, &out, &cut), 0);
	assert_true(cut);
	assert_int_equal(out.n_dns4, 2);
	assert_memory_equal(out.dns4[1], in.dns4[1], 4);
	assert_true(out.dns4[2][0] == 0 && out.dns6[0][15] == 0); /* left out: wiped */
	assert_int_equal(params_fit(&in, 10, &out, &cut), -ENOSPC);
	in.mode = (enum cipher_mode)99;
	assert_int_equal(params_fit(&in, 56, &out, &cut), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_full),
	    cmocka_unit_test(test_fit),
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_optional_skipped),
	    cmocka_unit_test(test_dns_limit),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_encode_space_and_invalid),
	};
	return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
