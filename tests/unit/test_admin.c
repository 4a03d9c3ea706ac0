/* lostlove-admin's pure parts: the HTTP response parser of its Unix
 * socket client (src/admin/uclient.c) on good and broken responses, and
 * the command line's sizes and times (src/admin/commands.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/uclient.h"

static int parse(const char *s, struct uclient_resp *r)
{
	return uclient_parse(s, strlen(s), r);
}

static void test_parse_good(void **state)
{
	struct uclient_resp r;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			       "Content-Length: 2\r\n\r\n{}",
			       &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	assert_int_equal(r.len, 2);
	assert_string_equal(r.body, "{}");
	uclient_resp_free(&r);
	/* no length: to the end; a bare LF; HTTP/1.0 */
	assert_int_equal(parse("HTTP/1.0 404 Not Found\nX: y\n\nabc", &r), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "abc");
	assert_string_equal(r.content_type, "");
	uclient_resp_free(&r);
	/* chunked */
	assert_int_equal(parse("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
			       &r),
			 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.len, 5);
	assert_string_equal(r.body, "abcde");
	uclient_resp_free(&r);
	/* an empty body */
	assert_int_equal(parse("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", &r), 0);
	assert_int_equal(r.len, 0);
	uclient_resp_free(&r);
}

static void test_parse_bad(void **state)
{
	static const char *bad[] = {
	    "",
	    "HTTP/1.1 200 OK",				      /* no end of head */
	    "HTTP/1.1 200 OK\r\n",			      /* no end of head */
	    "HTTP/2 200 OK\r\n\r\n",			      /* not 1.x */
	    "HTTP/1.1 20 OK\r\n\r\n",			      /* status */
	    "HTTP/1.1 999 OK\r\n\r\n",			      /* status */
	    "HTTP/1.1 200x\r\n\r\n",			      /* status */
	    "SSH-2.0-OpenSSH\r\n\r\n",			      /* not HTTP */
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", /* cut short */
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", /* trailing bytes */
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",	 /* short chunk */
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",	 /* size */
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", /* no CRLF */
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",	 /* no last */
	};
	struct uclient_resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i], &r);
		if (ret != -EBADMSG)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		assert_null(r.body);
	}
}

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {
	    {"0", 0},
	    {"1500", 1500},
	    {"10K", 10240},
	    {"1M", 1048576},
	    {"1.5G", 1610612736LL},
	    {"2T", 2199023255552LL},
	    {"3GiB", 3221225472LL},
	    {"4MB", 4194304},
	};
	static const char *bad[] = {"",	 "-1",	 "+1",	"1X",  "1Gx", "1GiBs",
				    "G", "1e30", "nan", "inf", "1 G", "9P"};
	long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(admin_parse_size(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (admin_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("size '%s' accepted", bad[i]);
}

static void test_times(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(admin_parse_time("never", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(admin_parse_time("1700000000", &v), 0);
	assert_int_equal(v, 1700000000);
	assert_int_equal(admin_parse_time("2027-01-01", &v), 0);
	assert_int_equal(v, 1798761600);
	assert_int_equal(admin_parse_time("2027-01-01T12:30:00Z", &v), 0);
	assert_int_equal(v, 1798761600 + 12 * 3600 + 30 * 60);
	/* the same parser as users.toml: offsets and fractions */
	assert_int_equal(admin_parse_time("2027-01-01T14:30:00.5+02:00", &v), 0);
	assert_int_equal(v, 1798761600 + 12 * 3600 + 30 * 60);
	assert_int_equal(admin_parse_time("2027-02-29", &v), -EINVAL);
	assert_int_equal(admin_parse_time("2028-02-29", &v), 0);
	assert_int_equal(admin_parse_time("", &v), -EINVAL);
	assert_int_equal(admin_parse_time("tomorrow", &v), -EINVAL);
	assert_int_equal(admin_parse_time("2027-13-01", &v), -EINVAL);
	assert_int_equal(admin_parse_time("2027-01-01T12:30:00", &v), -EINVAL);
	assert_int_equal(admin_parse_time("2027-01-01x", &v), -EINVAL);
	assert_int_equal(admin_parse_time("-5", &v), -EINVAL);
	assert_int_equal(admin_parse_time("12345678901234", &v), -EINVAL);
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {{"never", 0},     {"0", 0},	       {"3600", 3600},
		    {"90s", 90},      {"15m", 900},    {"12h", 43200},
		    {"30d", 2592000}, {"2w", 1209600}, {"104249991374d", 9007199254713600LL}};
	static const char *const bad[] = {
	    "",	    "d",  "30x",  "30dd",	   "-5",	   "1.5d",
	    "30 d", "+1", "0x10", "104249991375d", "9999999999999"};
	long long v;
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(admin_parse_duration(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (admin_parse_duration(bad[i], &v) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),	   cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_sizes),	   cmocka_unit_test(test_times),
	    cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
