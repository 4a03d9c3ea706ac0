/* Inner-IP router (dataplane/router.c): a numbered table of packets from a
 * client that owns 10.8.0.2 and fd00:8::2, to the host, to other clients
 * (with client_to_client on and off), with spoofed sources and broken
 * headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dataplane/router.h"

static const uint8_t other4[4] = {10, 8, 0, 3};
static const uint8_t other6[16] = {0xfd, 0, 0, 8, [15] = 3};
static int peer_token;

/* The table has one other client, 10.8.0.3 / fd00:8::3. */
static void *lookup(void *ctx, const uint8_t *addr, size_t len)
{
	(void)ctx;
	if ((len == 4 && memcmp(addr, other4, 4) == 0) ||
	    (len == 16 && memcmp(addr, other6, 16) == 0))
		return &peer_token;
	return NULL;
}

struct case_ {
	int version; /* 4, 6, or 0: raw bytes below */
	uint8_t src_last, dst_last;
	size_t len;
	bool c2c;
	enum router_verdict verdict;
};

static size_t build(uint8_t *pkt, const struct case_ *c)
{
	memset(pkt, 0, 64);
	if (c->version == 4) {
		pkt[0] = 0x45;
		memcpy(pkt + 12, (uint8_t[]){10, 8, 0, c->src_last}, 4);
		memcpy(pkt + 16, (uint8_t[]){10, 8, 0, c->dst_last}, 4);
	} else if (c->version == 6) {
		pkt[0] = 0x60;
		memcpy(pkt + 8, (uint8_t[]){0xfd, 0, 0, 8}, 4);
		pkt[23] = c->src_last;
		memcpy(pkt + 24, (uint8_t[]){0xfd, 0, 0, 8}, 4);
		pkt[39] = c->dst_last;
	}
	return c->len;
}

/* clang-format off */
static const struct case_ cases[] = {
	/*  1 */ {4, 2, 1, 20, false, ROUTER_TO_TUN},
	/*  2 */ {4, 2, 99, 60, false, ROUTER_TO_TUN},
	/*  3 */ {4, 3, 1, 20, false, ROUTER_DROP_SPOOFED},   /* another client's source */
	/*  4 */ {4, 7, 1, 20, true, ROUTER_DROP_SPOOFED},
	/*  5 */ {4, 2, 3, 20, false, ROUTER_DROP_C2C},
	/*  6 */ {4, 2, 3, 20, true, ROUTER_TO_CLIENT},
	/*  7 */ {4, 2, 1, 19, false, ROUTER_DROP_MALFORMED}, /* short header */
	/*  8 */ {6, 2, 1, 40, false, ROUTER_TO_TUN},
	/*  9 */ {6, 3, 1, 40, false, ROUTER_DROP_SPOOFED},
	/* 10 */ {6, 2, 3, 40, false, ROUTER_DROP_C2C},
	/* 11 */ {6, 2, 3, 40, true, ROUTER_TO_CLIENT},
	/* 12 */ {6, 2, 1, 39, false, ROUTER_DROP_MALFORMED},
	/* 13 */ {0, 0, 0, 40, false, ROUTER_DROP_MALFORMED}, /* version 0 */
	/* 14 */ {0, 0, 0, 0, false, ROUTER_DROP_MALFORMED},  /* empty */
};
/* clang-format on */

static void test_table(void **state)
{
	struct router_owned own = {.has4 = true, .has6 = true, .addr4 = {10, 8, 0, 2}};
	uint8_t pkt[64];

	(void)state;
	memcpy(own.addr6, (uint8_t[]){0xfd, 0, 0, 8, [15] = 2}, 16);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *dst = NULL;
		size_t len = build(pkt, &cases[i]);
		enum router_verdict v =
		    router_from_client(&own, pkt, len, cases[i].c2c, lookup, NULL, &dst);
		if (v != cases[i].verdict)
			fail_msg("case %zu: got %s, want %s", i + 1, router_verdict_name(v),
				 router_verdict_name(cases[i].verdict));
		if (v == ROUTER_TO_CLIENT)
			assert_ptr_equal(dst, &peer_token);
	}
}

/* A client without an IPv6 address may not send IPv6 at all. */
static void test_no_ipv6(void **state)
{
	struct router_owned own = {.has4 = true, .addr4 = {10, 8, 0, 2}};
	struct case_ c = {6, 2, 1, 40, false, ROUTER_DROP_SPOOFED};
	uint8_t pkt[64];
	void *dst;

	(void)state;
	build(pkt, &c);
	assert_int_equal(router_from_client(&own, pkt, 40, false, lookup, NULL, &dst),
			 ROUTER_DROP_SPOOFED);
}

static void test_addrs(void **state)
{
	uint8_t pkt[64];
	const uint8_t *src, *dst;
	struct case_ c4 = {4, 2, 1, 20, false, 0};

	(void)state;
	build(pkt, &c4);
	assert_int_equal(router_addrs(pkt, 20, &src, &dst), 4);
	assert_ptr_equal(src, pkt + 12);
	assert_ptr_equal(dst, pkt + 16);
	assert_true(router_addrs(pkt, 19, &src, &dst) < 0);
}

/* The loop guard's predicate: client pools 10.8.0.0/22 and fd00:8::/64. */
static void test_in_pool(void **state)
{
	struct router_pools p = {.has4 = true,
				 .net4 = {10, 8, 0, 1},
				 .len4 = 22,
				 .has6 = true,
				 .net6 = {0xfd, 0, 0, 8, [15] = 1},
				 .len6 = 64};
	static const struct {
		uint8_t addr[16];
		size_t len;
		bool in;
	} pool_cases[] = {
	    /* 1 */ {{10, 8, 0, 2}, 4, true},
	    /* 2 */ {{10, 8, 3, 255}, 4, true}, /* last of the /22 */
	    /* 3 */ {{10, 8, 4, 0}, 4, false},	/* first past it */
	    /* 4 */ {{10, 9, 0, 2}, 4, false},
	    /* 5 */ {{198, 51, 100, 2}, 4, false},
	    /* 6 */ {{0xfd, 0, 0, 8, [15] = 2}, 16, true},
	    /* 7 */ {{0xfd, 0, 0, 8, 0, 0, 0, 0, 0xff, [15] = 2}, 16, true},
	    /* 8 */ {{0xfd, 0, 0, 9, [15] = 2}, 16, false},
	    /* 9 */ {{[10] = 0xff, [11] = 0xff, 10, 8, 1, 1}, 16, true}, /* v4-mapped */
	    /* 10 */ {{[10] = 0xff, [11] = 0xff, 192, 0, 2, 1}, 16, false},
	    /* 11 */ {{10, 8, 0, 2}, 0, false}, /* no address */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pool_cases) / sizeof(pool_cases[0]); i++)
		if (router_in_pool(&p, pool_cases[i].addr, pool_cases[i].len) != pool_cases[i].in)
			fail_msg("case %zu", i + 1);
	p.has6 = false; /* enable_ipv6 = false: no IPv6 pool */
	assert_false(router_in_pool(&p, pool_cases[5].addr, 16));
	p.len4 = 32; /* a single address */
	assert_true(router_in_pool(&p, p.net4, 4));
	assert_false(router_in_pool(&p, pool_cases[0].addr, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_no_ipv6),
	    cmocka_unit_test(test_addrs),
	    cmocka_unit_test(test_in_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
