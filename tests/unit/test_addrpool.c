/* api/addrpool: the IPv6 address of a user the API creates lies inside
 * network.tun_address6 whatever its length (/64, /112, /120; the old
 * pairing overwrote bytes 12-15 of the server's address and left a /120
 * pool), pairs with the IPv4 host when it can, and a full pool is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/addrpool.h"

static struct config_prefix pool(const char *s)
{
	struct config_prefix p;
	assert_int_equal(config_prefix_parse(s, &p), 0);
	return p;
}

static void expect_addr(const uint8_t a[16], const char *want)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, a, s, sizeof(s));
	if (strcmp(s, want))
		fail_msg("got %s, want %s", s, want);
}

static void test_pairs_with_ipv4_host(void **state)
{
	static const struct {
		const char *pool;
		uint32_t host;
		const char *want;
	} cases[] = {
	    {"fd00:8::1/64", 9, "fd00:8::9"},
	    {"fd00:8::1/112", 9, "fd00:8::9"},
	    {"fd00:8::1/120", 9, "fd00:8::9"},
	    /* the server's address has host bits beyond the last 32: /64 keeps
	     * the prefix, clears them (the old code kept bytes 8-11) */
	    {"fd00:8:0:1:aaaa:bbbb:cccc:1/64", 9, "fd00:8:0:1::9"},
	    /* /120 over a server address whose byte 14 is set: the old code
	     * wrote the host into bytes 12-15 and left the pool */
	    {"fd00:8::1:2301/120", 9, "fd00:8::1:2309"},
	    {"fd00:8::1:2301/120", 0x1234, "fd00:8::1:2302"}, /* does not fit: lowest free */
	};
	uint8_t out[16];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_prefix p = pool(cases[i].pool);
		print_message("%s host %u\n", cases[i].pool, cases[i].host);
		assert_int_equal(addrpool_pick6(&p, cases[i].host, NULL, 0, out), 0);
		expect_addr(out, cases[i].want);
		assert_true(addrpool_is_host(&p, out, 16));
	}
}

static void test_skips_taken_and_server(void **state)
{
	struct config_prefix p = pool("fd00:8::1/112");
	uint8_t used[3][16], out[16];
	(void)state;
	inet_pton(AF_INET6, "fd00:8::2", used[0]);
	inet_pton(AF_INET6, "fd00:8::3", used[1]);
	inet_pton(AF_INET6, "2001:db8::4", used[2]); /* outside: ignored */
	/* the IPv4 host 2 is taken: the lowest free, not ::0 nor the server's ::1 */
	assert_int_equal(addrpool_pick6(&p, 2, (const uint8_t(*)[16])used, 3, out), 0);
	expect_addr(out, "fd00:8::4");
	/* host 1 is the server's */
	assert_int_equal(addrpool_pick6(&p, 1, (const uint8_t(*)[16])used, 3, out), 0);
	expect_addr(out, "fd00:8::4");
}

/* A /120 has 254 user addresses (not ::0, not the server's ::1; an IPv6
 * pool has no broadcast: ::ff is a host): all taken, the next is refused. */
static void test_full_pool(void **state)
{
	struct config_prefix p = pool("fd00:8::1/120");
	uint8_t(*used)[16] = calloc(256, 16);
	uint8_t out[16];
	size_t n = 0;
	(void)state;
	assert_non_null(used);
	for (;;) {
		int r = addrpool_pick6(&p, 0, (const uint8_t(*)[16])used, n, out);
		if (r == -ENOSPC)
			break;
		assert_int_equal(r, 0);
		assert_true(addrpool_is_host(&p, out, 16));
		for (size_t i = 0; i < n; i++)
			assert_memory_not_equal(used[i], out, 16);
		memcpy(used[n++], out, 16);
		assert_true(n <= 255);
	}
	assert_int_equal(n, 254);
	free(used);
}

static void test_is_host(void **state)
{
	struct config_prefix p4 = pool("10.8.0.1/24"), p6 = pool("fd00:8::1/120");
	uint8_t a[16];
	(void)state;
	inet_pton(AF_INET, "10.8.0.2", a);
	assert_true(addrpool_is_host(&p4, a, 4));
	inet_pton(AF_INET, "10.8.0.1", a); /* the server's */
	assert_false(addrpool_is_host(&p4, a, 4));
	inet_pton(AF_INET, "10.8.0.255", a); /* broadcast */
	assert_false(addrpool_is_host(&p4, a, 4));
	inet_pton(AF_INET, "10.8.1.2", a);
	assert_false(addrpool_is_host(&p4, a, 4));
	inet_pton(AF_INET6, "fd00:8::ff", a);
	assert_true(addrpool_is_host(&p6, a, 16));
	inet_pton(AF_INET6, "fd00:8::100", a); /* beyond the /120 */
	assert_false(addrpool_is_host(&p6, a, 16));
	inet_pton(AF_INET6, "fd00:8::", a);
	assert_false(addrpool_is_host(&p6, a, 16));
	assert_false(addrpool_is_host(&p4, a, 16)); /* family */
	struct config_prefix tiny = pool("fd00:8::1/127");
	assert_int_equal(addrpool_pick6(&tiny, 0, NULL, 0, a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pairs_with_ipv4_host),
	    cmocka_unit_test(test_skips_taken_and_server),
	    cmocka_unit_test(test_full_pool),
	    cmocka_unit_test(test_is_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
