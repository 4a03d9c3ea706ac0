/* Logging helpers (util/log.c): quoting of user-supplied strings, address
 * formatting for the fail2ban line (IPv4-mapped IPv6 shown as IPv4), and
 * level/group filtering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "util/log.h"

static void test_quote(void **state)
{
	static const struct {
		const char *in, *out;
		size_t cap;
	} cases[] = {
	    {"alice", "\"alice\"", 64},
	    {"", "\"\"", 64},
	    {"a\"b\\c", "\"a\\\"b\\\\c\"", 64},
	    {"x\ny\x7f", "\"x\\x0ay\\x7f\"", 64},
	    {"abcdefghijklmnop", "\"abcdefghij...\"", 16},
	    {"abc", "", 5},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_quote(buf, cases[i].cap, cases[i].in);
		assert_string_equal(buf, cases[i].out);
		assert_true(strlen(buf) < cases[i].cap);
	}
}

static void test_format_addr(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(51820)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	char buf[LOG_ADDR_MAX];
	unsigned port;

	(void)state;
	inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
	log_format_addr(buf, &port, (struct sockaddr *)&in);
	assert_string_equal(buf, "192.0.2.7");
	assert_int_equal(port, 51820);
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &in6.sin6_addr);
	log_format_addr(buf, &port, (struct sockaddr *)&in6);
	assert_string_equal(buf, "198.51.100.9");
	assert_int_equal(port, 443);
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	log_format_addr(buf, &port, (struct sockaddr *)&in6);
	assert_string_equal(buf, "2001:db8::1");
}

static void test_levels(void **state)
{
	enum log_group g;

	(void)state;
	log_set_level(LOG_LEVEL_INFO);
	assert_true(log_is_enabled(LOG_GROUP_HS, LOG_LEVEL_WARN));
	assert_false(log_is_enabled(LOG_GROUP_HS, LOG_LEVEL_DEBUG));
	log_set_level(LOG_LEVEL_DEBUG);
	assert_true(log_is_enabled(LOG_GROUP_HS, LOG_LEVEL_DEBUG));
	log_set_group(LOG_GROUP_HS, false);
	assert_false(log_is_enabled(LOG_GROUP_HS, LOG_LEVEL_DEBUG));
	assert_true(log_is_enabled(LOG_GROUP_HS, LOG_LEVEL_INFO)); /* only debug is per group */
	assert_int_equal(log_group_from_name("udp", &g), 0);
	assert_int_equal(g, LOG_GROUP_UDP);
	assert_true(log_group_from_name("nope", &g) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test(test_format_addr),
	    cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
