/* libFuzzer target for core/limits' text parsers, which the admin API will
 * hand request fields to: RFC 3339 date-times, durations and quota
 * periods. Checks what must hold of any input:
 *  - nothing is read past size (the input is copied to an exact-size
 *    buffer, so ASan sees an overread);
 *  - an accepted date-time is after 1970, and formatting it in UTC and
 *    parsing that again gives the same instant;
 *  - an accepted duration is at most 100 years;
 *  - an accepted period formats back to text that parses to the same;
 *  - the period start of an accepted period at the parsed instant is not
 *    after it.
 * A broken invariant aborts, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	char again[LIMITS_RFC3339_LEN], name[16];
	enum store_period p, p2;
	uint8_t day, day2;
	uint64_t d;
	int64_t t, t2;

	if (!s)
		return 0;
	memcpy(s, data, size);
	if (limits_parse_rfc3339(s, size, &t) == 0) {
		check(t > 0);
		limits_format_rfc3339(t, again);
		check(limits_parse_rfc3339(again, strlen(again), &t2) == 0 && t2 == t);
	}
	if (limits_parse_duration(s, size, &d) == 0)
		check(d <= 100ull * 366 * 86400);
	if (limits_period_parse(s, size, &p, &day) == 0) {
		limits_period_format(p, day, name, sizeof(name));
		check(limits_period_parse(name, strlen(name), &p2, &day2) == 0 && p2 == p &&
		      (day2 == day || (p == STORE_PERIOD_DAY_OF_MONTH && day2 == 0)));
		check(store_period_floor(p, day, 1800000000) <= 1800000000);
	}
	free(s);
	return 0;
}
