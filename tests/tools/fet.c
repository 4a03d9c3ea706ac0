/* The fully-encrypted-traffic rule: see fet.h. The thresholds are compared
 * in integers (bits * 5 against 17 or 23 times the length) so that the
 * boundaries 3.4 and 4.6 are exact, as the unit tests require. */
#include "fet.h"

#include <stdio.h>
#include <string.h>

static int printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int protocol_prefix(const uint8_t *p, size_t len)
{
	static const char *const http[] = {"GET ", "PUT ", "POST ", "HEAD "};
	/* TLS record header: handshake or application data, major version 3.
	 * The paper's byte-2 range is 0x00-0x09; its simulator accepts up to
	 * 0x0f. The wider one is used: it exempts more, so a flow we judge
	 * "blocked" is blocked by either. */
	if (len >= 3 && (p[0] == 0x16 || p[0] == 0x17) && p[1] == 0x03 && p[2] <= 0x0f)
		return 1;
	for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
		size_t n = strlen(http[i]);
		if (len >= n && memcmp(p, http[i], n) == 0)
			return 1;
	}
	return 0;
}

unsigned fet_check(const uint8_t *p, size_t len, size_t run_min, struct fet_result *r)
{
	size_t run = 0;
	int in_prefix = 1;

	memset(r, 0, sizeof(*r));
	r->len = len;
	if (len == 0) {
		r->exempt_by = FET_EMPTY;
		return r->exempt_by;
	}
	for (size_t i = 0; i < len; i++) {
		r->popcount += (size_t)__builtin_popcount(p[i]);
		if (printable(p[i])) {
			r->printable++;
			run++;
			if (run > r->longest_run)
				r->longest_run = run;
			if (in_prefix)
				r->prefix++;
		} else {
			run = 0;
			in_prefix = 0;
		}
	}
	if (r->popcount * 5 <= len * 17 || r->popcount * 5 >= len * 23)
		r->exempt_by |= FET_EX1_POPCOUNT;
	if (r->prefix >= 6)
		r->exempt_by |= FET_EX2_PREFIX;
	if (r->printable * 2 > len)
		r->exempt_by |= FET_EX3_PRINTABLE;
	if (r->longest_run >= run_min)
		r->exempt_by |= FET_EX4_RUN;
	if (protocol_prefix(p, len))
		r->exempt_by |= FET_EX5_PROTOCOL;
	return r->exempt_by;
}

void fet_exemptions_text(unsigned exempt_by, char *buf, size_t len)
{
	static const char *const names[] = {"Ex1", "Ex2", "Ex3", "Ex4", "Ex5", "empty"};
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;
		if (!(exempt_by & (1u << i)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* whole names only */
			return;
		}
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "none");
}
