/* Prometheus text exposition (api/prom.c): the exact text of families,
 * samples and histograms (cumulative buckets, +Inf equal to _count),
 * escaping of label values and HELP text, the shortest number text, and
 * the names it refuses (a counter without _total, a label "le", a
 * reserved or malformed name, bounds not increasing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/prom.h"

static void test_counter_and_labels(void **state)
{
	struct prom_buf b;
	const struct prom_label l[] = {{"reason", "mac1"}, {"worker", "0"}};
	char *text;
	size_t len;

	(void)state;
	prom_init(&b);
	prom_family(&b, "lostlove_drops_total", PROM_COUNTER, "Datagrams dropped, by reason.");
	prom_sample(&b, "lostlove_drops_total", l, 2, 18446744073709551615ull);
	prom_sample(&b, "lostlove_drops_total", NULL, 0, 0);
	text = prom_take(&b, &len);
	assert_non_null(text);
	assert_string_equal(text, "# HELP lostlove_drops_total Datagrams dropped, by reason.\n"
				  "# TYPE lostlove_drops_total counter\n"
				  "lostlove_drops_total{reason=\"mac1\",worker=\"0\"} "
				  "18446744073709551615\n"
				  "lostlove_drops_total 0\n");
	assert_int_equal(len, strlen(text));
	free(text);
}

static void test_escaping(void **state)
{
	struct prom_buf b;
	const struct prom_label l[] = {{"user", "a\\b\"c\nd}e,f=g"}};

	(void)state;
	prom_init(&b);
	prom_family(&b, "x_bytes_total", PROM_COUNTER, "line one\nline \\two \"quoted\"");
	prom_sample(&b, "x_bytes_total", l, 1, 7);
	assert_int_equal(b.err, 0);
	assert_string_equal(b.p, "# HELP x_bytes_total line one\\nline \\\\two \"quoted\"\n"
				 "# TYPE x_bytes_total counter\n"
				 "x_bytes_total{user=\"a\\\\b\\\"c\\nd}e,f=g\"} 7\n");
	prom_free(&b);
}

static void test_histogram(void **state)
{
	struct prom_buf b;
	const double bounds[] = {1e-06, 2e-06, 0.004};
	const uint64_t counts[] = {3, 0, 5, 2};
	const struct prom_label l[] = {{"path", "udp"}};

	(void)state;
	prom_init(&b);
	prom_family(&b, "t_seconds", PROM_HISTOGRAM, "Time.");
	prom_histogram(&b, "t_seconds", l, 1, bounds, 3, counts, 0.0125);
	prom_histogram(&b, "t_seconds", NULL, 0, bounds, 0, counts, 0);
	assert_int_equal(b.err, 0);
	assert_string_equal(b.p, "# HELP t_seconds Time.\n"
				 "# TYPE t_seconds histogram\n"
				 "t_seconds_bucket{path=\"udp\",le=\"1e-06\"} 3\n"
				 "t_seconds_bucket{path=\"udp\",le=\"2e-06\"} 3\n"
				 "t_seconds_bucket{path=\"udp\",le=\"0.004\"} 8\n"
				 "t_seconds_bucket{path=\"udp\",le=\"+Inf\"} 10\n"
				 "t_seconds_sum{path=\"udp\"} 0.0125\n"
				 "t_seconds_count{path=\"udp\"} 10\n"
				 "t_seconds_bucket{le=\"+Inf\"} 3\n"
				 "t_seconds_sum 0\n"
				 "t_seconds_count 3\n");
	prom_free(&b);
}

static void test_reals(void **state)
{
	char s[PROM_REAL_MAX];

	(void)state;
	prom_format_real(s, 0.1);
	assert_string_equal(s, "0.1");
	prom_format_real(s, 1.0 / 3);
	assert_true(strtod(s, NULL) == 1.0 / 3);
	prom_format_real(s, 8.192e-3);
	assert_string_equal(s, "0.008192");
	prom_format_real(s, INFINITY);
	assert_string_equal(s, "+Inf");
	prom_format_real(s, -INFINITY);
	assert_string_equal(s, "-Inf");
	prom_format_real(s, NAN);
	assert_string_equal(s, "NaN");
	prom_format_real(s, 123456789.0);
	assert_string_equal(s, "123456789");
}

static void expect_invalid(void (*fn)(struct prom_buf *))
{
	struct prom_buf b;

	prom_init(&b);
	fn(&b);
	assert_int_equal(b.err, -EINVAL);
	assert_non_null(b.bad);
	assert_true(b.len == 0);
	{
		size_t len;
		assert_null(prom_take(&b, &len));
	}
}

static void bad_counter_suffix(struct prom_buf *b)
{
	prom_family(b, "lostlove_drops", PROM_COUNTER, "x");
}
static void bad_gauge_suffix(struct prom_buf *b)
{
	prom_family(b, "lostlove_sessions_total", PROM_GAUGE, "x");
}
static void bad_metric_name(struct prom_buf *b)
{
	prom_sample(b, "9lives", NULL, 0, 1);
}
static void bad_metric_char(struct prom_buf *b)
{
	prom_sample(b, "a-b", NULL, 0, 1);
}
static void bad_label_le(struct prom_buf *b)
{
	const struct prom_label l[] = {{"le", "1"}};
	prom_sample(b, "a", l, 1, 1);
}
static void bad_label_reserved(struct prom_buf *b)
{
	const struct prom_label l[] = {{"__name__", "1"}};
	prom_sample(b, "a", l, 1, 1);
}
static void bad_label_colon(struct prom_buf *b)
{
	const struct prom_label l[] = {{"a:b", "1"}};
	prom_sample(b, "a", l, 1, 1);
}
static void bad_bounds(struct prom_buf *b)
{
	const double bounds[] = {1, 1};
	const uint64_t counts[] = {0, 0, 0};
	prom_histogram(b, "h", NULL, 0, bounds, 2, counts, 0);
}
static void bad_bound_inf(struct prom_buf *b)
{
	const double bounds[] = {1, INFINITY};
	const uint64_t counts[] = {0, 0, 0};
	prom_histogram(b, "h", NULL, 0, bounds, 2, counts, 0);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_invalid(bad_counter_suffix);
	expect_invalid(bad_gauge_suffix);
	expect_invalid(bad_metric_name);
	expect_invalid(bad_metric_char);
	expect_invalid(bad_label_le);
	expect_invalid(bad_label_reserved);
	expect_invalid(bad_label_colon);
	expect_invalid(bad_bounds);
	expect_invalid(bad_bound_inf);
	assert_true(prom_valid_metric_name("lostlove:x_total"));
	assert_false(prom_valid_label_name("a:b"));
	assert_false(prom_valid_metric_name(""));
}

/* An error is sticky: what follows it writes nothing. */
static void test_sticky_error(void **state)
{
	struct prom_buf b;

	(void)state;
	prom_init(&b);
	prom_sample(&b, "ok", NULL, 0, 1);
	prom_sample(&b, "not ok", NULL, 0, 1);
	prom_sample(&b, "ok2", NULL, 0, 1);
	assert_int_equal(b.err, -EINVAL);
	assert_string_equal(b.bad, "not ok");
	assert_string_equal(b.p, "ok 1\n");
	prom_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_and_labels), cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_histogram),	       cmocka_unit_test(test_reals),
	    cmocka_unit_test(test_refusals),	       cmocka_unit_test(test_sticky_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
