/* Plaintext classification and control messages (protocol/control.c): a
 * numbered classification table (keepalives, IPv4/IPv6 at and around their
 * length limits, padding, control types), then encode/decode round trips
 * and malformed control messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "protocol/control.h"

#define BUF 128

struct case_ {
	const char *name;
	uint8_t bytes[BUF];
	size_t len;
	enum plain_kind kind;
	size_t inner;
};

/* IPv4 header start: version 4, IHL ihl; total length big-endian at 2. */
#define V4(ihl, tot_hi, tot_lo) (0x40 | (ihl)), 0, (tot_hi), (tot_lo)
/* IPv6 header start: version 6; payload length big-endian at 4. */
#define V6(pl_hi, pl_lo) 0x60, 0, 0, 0, (pl_hi), (pl_lo)

static const struct case_ cases[] = {
    /*  1 */ {"empty", {0}, 0, PLAIN_KEEPALIVE, 0},
    /*  2 */ {"one zero byte", {0}, 1, PLAIN_KEEPALIVE, 0},
    /*  3 */ {"sixteen zero bytes", {0}, 16, PLAIN_KEEPALIVE, 0},
    /*  4 */ {"zeros then a one", {[15] = 1}, 16, PLAIN_INVALID, 0},
    /*  5 */ {"ipv4 minimal", {V4(5, 0, 20)}, 20, PLAIN_IPV4, 20},
    /*  6 */ {"ipv4 shorter than a header", {V4(5, 0, 20)}, 19, PLAIN_INVALID, 0},
    /*  7 */ {"ipv4 total 19", {V4(5, 0, 19)}, 20, PLAIN_INVALID, 0},
    /*  8 */ {"ipv4 total beyond len", {V4(5, 0, 21)}, 20, PLAIN_INVALID, 0},
    /*  9 */ {"ipv4 oversized total", {V4(5, 0xff, 0xff)}, 64, PLAIN_INVALID, 0},
    /* 10 */ {"ipv4 with payload", {V4(5, 0, 28), [27] = 0xaa}, 28, PLAIN_IPV4, 28},
    /* 11 */ {"ipv4 zero padding", {V4(5, 0, 28), [27] = 0xaa}, 48, PLAIN_IPV4, 28},
    /* 12 */ {"ipv4 nonzero padding", {V4(5, 0, 28), [40] = 1}, 48, PLAIN_INVALID, 0},
    /* 13 */ {"ipv4 IHL 15, total 60", {V4(15, 0, 60)}, 60, PLAIN_IPV4, 60},
    /* 14 */ {"ipv4 total below IHL*4", {V4(15, 0, 56)}, 60, PLAIN_INVALID, 0},
    /* 15 */ {"ipv4 IHL 4", {V4(4, 0, 20)}, 20, PLAIN_INVALID, 0},
    /* 16 */ {"ipv4 IHL 0", {V4(0, 0, 20)}, 20, PLAIN_INVALID, 0},
    /* 17 */ {"ipv6 minimal", {V6(0, 0)}, 40, PLAIN_IPV6, 40},
    /* 18 */ {"ipv6 shorter than a header", {V6(0, 0)}, 39, PLAIN_INVALID, 0},
    /* 19 */ {"ipv6 with payload", {V6(0, 8), [47] = 0xaa}, 48, PLAIN_IPV6, 48},
    /* 20 */ {"ipv6 payload beyond len", {V6(0, 9)}, 48, PLAIN_INVALID, 0},
    /* 21 */ {"ipv6 oversized payload", {V6(0xff, 0xff)}, 64, PLAIN_INVALID, 0},
    /* 22 */ {"ipv6 zero padding", {V6(0, 8)}, 64, PLAIN_IPV6, 48},
    /* 23 */ {"ipv6 nonzero padding", {V6(0, 8), [63] = 0x80}, 64, PLAIN_INVALID, 0},
    /* 24 */ {"version 5", {0x55}, 20, PLAIN_INVALID, 0},
    /* 25 */ {"version 15", {0xf0}, 40, PLAIN_INVALID, 0},
    /* 26 */ {"version 1", {0x10}, 40, PLAIN_INVALID, 0},
    /* 27 */ {"disconnect", {0x01, 0x03}, 2, PLAIN_CONTROL, 2},
    /* 28 */ {"disconnect padded", {0x01, 0x03}, 16, PLAIN_CONTROL, 2},
    /* 29 */ {"disconnect truncated", {0x01}, 1, PLAIN_INVALID, 0},
    /* 30 */ {"disconnect bad padding", {0x01, 0x03, 0x01}, 16, PLAIN_INVALID, 0},
    /* 31 */ {"config", {0x02, 0x02, 0x00, 'h', 'i'}, 5, PLAIN_CONTROL, 5},
    /* 32 */ {"config padded", {0x02, 0x02, 0x00, 'h', 'i'}, 32, PLAIN_CONTROL, 5},
    /* 33 */ {"config body truncated", {0x02, 0x02, 0x00, 'h'}, 4, PLAIN_INVALID, 0},
    /* 34 */ {"config length truncated", {0x02, 0x02}, 2, PLAIN_INVALID, 0},
    /* 35 */ {"config length oversized", {0x02, 0xff, 0xff}, 64, PLAIN_INVALID, 0},
    /* 36 */ {"path probe", {0x03, 1, 2, 3, 4, 5, 6, 7, 8}, 9, PLAIN_CONTROL, 9},
    /* 37 */ {"path reply padded", {0x04, 1, 2, 3, 4, 5, 6, 7, 8}, 16, PLAIN_CONTROL, 9},
    /* 38 */ {"path probe truncated", {0x03, 1, 2, 3, 4, 5, 6, 7}, 8, PLAIN_INVALID, 0},
    /* 39 */ {"path reply bad padding", {0x04, [9] = 1}, 10, PLAIN_INVALID, 0},
    /* 40 */ {"control type 5", {0x05, 0}, 16, PLAIN_INVALID, 0},
    /* 41 */ {"control type 0x0f", {0x0f}, 16, PLAIN_INVALID, 0},
    /* 42 */ {"zero then control byte", {0x00, 0x01, 0x03}, 3, PLAIN_INVALID, 0},
    /* 43 */ {"disconnect with zero reason", {0x01, 0x00}, 2, PLAIN_CONTROL, 2},
};

static void test_classify_table(void **state)
{
	(void)state;
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		size_t inner = 12345;
		enum plain_kind kind = control_classify(c->bytes, c->len, &inner);
		if (kind != c->kind || inner != c->inner) {
			fprintf(stderr, "classify %zu (%s): kind %d inner %zu, want %d %zu\n",
				i + 1, c->name, kind, inner, c->kind, c->inner);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A maximal IPv4 packet (64 KiB - 1) and an IPv6 jumbo-free maximum. */
static void test_classify_large(void **state)
{
	(void)state;
	static uint8_t buf[40 + 65535 + 100];
	size_t inner;

	memset(buf, 0, sizeof(buf));
	buf[0] = 0x45, buf[2] = 0xff, buf[3] = 0xff;
	assert_int_equal(control_classify(buf, 65535, &inner), PLAIN_IPV4);
	assert_int_equal(inner, 65535);
	assert_int_equal(control_classify(buf, 65535 + 100, &inner), PLAIN_IPV4);
	assert_int_equal(inner, 65535);
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x60, buf[4] = 0xff, buf[5] = 0xff;
	assert_int_equal(control_classify(buf, sizeof(buf), &inner), PLAIN_IPV6);
	assert_int_equal(inner, 40 + 65535);
	assert_int_equal(control_classify(buf, 40 + 65534, &inner), PLAIN_INVALID);
}

/* Encodes m, checks the classification of the result, decodes it back. */
static void round_trip(const struct control_msg *m, size_t want_len)
{
	uint8_t buf[600];
	size_t len = 0, inner = 0;
	struct control_msg back;

	assert_int_equal(control_encode(m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, want_len);
	assert_int_equal(control_classify(buf, len, &inner), PLAIN_CONTROL);
	assert_int_equal(inner, len);
	assert_int_equal(control_decode(&back, buf, len), 0);
	assert_int_equal(back.type, m->type);
	assert_int_equal(back.reason, m->reason);
	assert_memory_equal(back.challenge, m->challenge, CONTROL_CHALLENGE_LEN);
	assert_int_equal(back.config_len, m->config_len);
	if (m->config_len) {
		assert_ptr_equal(back.config, buf + 3);
		assert_memory_equal(back.config, m->config, m->config_len);
	}
	/* one byte short must not encode */
	assert_int_equal(control_encode(m, buf, len - 1, &len), -ENOSPC);
}

static void test_round_trip(void **state)
{
	(void)state;
	static uint8_t config[MSG_PARAMS_MAX];
	for (size_t i = 0; i < sizeof(config); i++)
		config[i] = (uint8_t)(i * 7 + 1);

	round_trip(&(struct control_msg){.type = CONTROL_DISCONNECT, .reason = DISCONNECT_QUOTA},
		   2);
	round_trip(&(struct control_msg){.type = CONTROL_CONFIG, .config = config, .config_len = 1},
		   4);
	round_trip(&(struct control_msg){.type = CONTROL_CONFIG,
					 .config = config,
					 .config_len = MSG_PARAMS_MAX},
		   3 + MSG_PARAMS_MAX);
	round_trip(&(struct control_msg){.type = CONTROL_PATH_PROBE,
					 .challenge = {1, 2, 3, 4, 5, 6, 7, 0xff}},
		   9);
	round_trip(&(struct control_msg){.type = CONTROL_PATH_REPLY,
					 .challenge = {0xde, 0xad, 0xbe, 0xef}},
		   9);
}

static void test_encode_invalid(void **state)
{
	(void)state;
	uint8_t buf[1024], config[MSG_PARAMS_MAX + 1] = {1};
	size_t len = 99;

	struct control_msg bad[] = {
	    {.type = CONTROL_PADDING},
	    {.type = (enum control_type)5},
	    {.type = CONTROL_CONFIG, .config = NULL, .config_len = 4},
	    {.type = CONTROL_CONFIG, .config = config, .config_len = 0},
	    {.type = CONTROL_CONFIG, .config = config, .config_len = MSG_PARAMS_MAX + 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(control_encode(&bad[i], buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(len, 99);
}

static void test_decode_malformed(void **state)
{
	(void)state;
	static uint8_t big[3 + MSG_PARAMS_MAX + 1];
	struct {
		const char *name;
		uint8_t bytes[16];
		size_t len;
	} bad[] = {
	    {"empty", {0}, 0},
	    {"padding type", {0x00, 0x00}, 2},
	    {"unknown type", {0x05, 0x00}, 2},
	    {"ip packet", {0x45, 0x00}, 2},
	    {"disconnect short", {0x01}, 1},
	    {"disconnect long", {0x01, 0x01, 0x00}, 3},
	    {"config no length", {0x02, 0x01}, 2},
	    {"config empty", {0x02, 0x00, 0x00}, 3},
	    {"config short", {0x02, 0x03, 0x00, 'a', 'b'}, 5},
	    {"config long", {0x02, 0x01, 0x00, 'a', 'b'}, 5},
	    {"probe short", {0x03, 1, 2, 3, 4, 5, 6, 7}, 8},
	    {"reply long", {0x04, 1, 2, 3, 4, 5, 6, 7, 8, 0}, 10},
	};
	struct control_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&m, 0xa5, sizeof(m));
		if (control_decode(&m, bad[i].bytes, bad[i].len) != -EINVAL)
			fail_msg("decode accepted %s", bad[i].name);
		assert_null(m.config); /* nothing half-filled on failure */
	}
	/* a config longer than MSG_PARAMS_MAX but internally consistent */
	big[0] = CONTROL_CONFIG;
	big[1] = (uint8_t)((MSG_PARAMS_MAX + 1) & 0xff);
	big[2] = (uint8_t)((MSG_PARAMS_MAX + 1) >> 8);
	assert_int_equal(control_decode(&m, big, sizeof(big)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_table),   cmocka_unit_test(test_classify_large),
	    cmocka_unit_test(test_round_trip),	     cmocka_unit_test(test_encode_invalid),
	    cmocka_unit_test(test_decode_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
