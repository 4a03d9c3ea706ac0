/* Per-user limits, the pure part; see limits.h. */
#include "core/limits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DAY_S	     86400
#define NS_PER_S     1000000000ull
#define DURATION_MAX (100ull * 366 * DAY_S)

/* The calendar is storage/period.h's (one implementation). */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t limits_unix_of(int year, int month, int day, int hour, int minute, int second)
{
	return store_days_from_civil(year, month, day) * DAY_S + hour * 3600 + minute * 60 + second;
}

void limits_format_rfc3339(int64_t t, char buf[static LIMITS_RFC3339_LEN])
{
	int64_t days = floor_div(t, DAY_S), y;
	unsigned rem = (unsigned)(t - days * DAY_S);
	int m, d;

	if (!t) {
		buf[0] = '\0';
		return;
	}
	store_civil_from_days(days, &y, &m, &d);
	snprintf(buf, LIMITS_RFC3339_LEN, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(y < 0 ? 0 : y % 10000), (unsigned)m % 13, (unsigned)d % 32,
		 rem / 3600 % 24, rem / 60 % 60, rem % 60);
}

/* ---- periods ---- */

static bool is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

int limits_period_parse(const char *s, size_t len, enum store_period *ret, uint8_t *ret_day)
{
	unsigned day = 0;

	*ret_day = 0;
	if (is_word(s, len, "none"))
		*ret = STORE_PERIOD_NONE;
	else if (is_word(s, len, "daily"))
		*ret = STORE_PERIOD_DAILY;
	else if (is_word(s, len, "weekly"))
		*ret = STORE_PERIOD_WEEKLY;
	else if (is_word(s, len, "monthly"))
		*ret = STORE_PERIOD_MONTHLY;
	else if (is_word(s, len, "day_of_month"))
		*ret = STORE_PERIOD_DAY_OF_MONTH; /* the day comes from quota_day */
	else if (len >= 5 && len <= 6 && memcmp(s, "day:", 4) == 0) {
		for (size_t i = 4; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			day = day * 10 + (unsigned)(s[i] - '0');
		}
		if (day < 1 || day > 31 || (len == 6 && s[4] == '0'))
			return -EINVAL;
		*ret = STORE_PERIOD_DAY_OF_MONTH;
		*ret_day = (uint8_t)day;
	} else
		return -EINVAL;
	return 0;
}

void limits_period_format(enum store_period p, uint8_t day, char *buf, size_t len)
{
	(void)day; /* quota_day carries it */
	snprintf(buf, len, "%s",
		 (unsigned)p <= STORE_PERIOD_DAY_OF_MONTH ? store_period_name(p) : "none");
}

/* ---- RFC 3339 and durations ---- */

/* n digits at s[*pos] into *ret. */
static bool digits(const char *s, size_t len, size_t *pos, unsigned n, int *ret)
{
	int v = 0;

	if (*pos + n > len)
		return false;
	for (unsigned i = 0; i < n; i++) {
		char c = s[*pos + i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*pos += n;
	*ret = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *pos, const char *any)
{
	if (*pos >= len || !strchr(any, s[*pos]) || s[*pos] == '\0')
		return false;
	(*pos)++;
	return true;
}

/* "Z", or "+HH:MM" / "-HH:MM": minutes east of UTC. */
static bool parse_offset(const char *s, size_t len, size_t *pos, int *ret)
{
	int sign, h, m;

	if (*pos < len && (s[*pos] == 'Z' || s[*pos] == 'z')) {
		(*pos)++;
		*ret = 0;
		return true;
	}
	if (*pos >= len || (s[*pos] != '+' && s[*pos] != '-'))
		return false;
	sign = s[(*pos)++] == '-' ? -1 : 1;
	if (!digits(s, len, pos, 2, &h) || !expect(s, len, pos, ":") ||
	    !digits(s, len, pos, 2, &m) || h > 23 || m > 59)
		return false;
	*ret = sign * (h * 60 + m);
	return true;
}

int limits_parse_rfc3339(const char *s, size_t len, int64_t *ret)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, off = 0;
	size_t pos = 0;
	int64_t t;

	if (!digits(s, len, &pos, 4, &y) || !expect(s, len, &pos, "-") ||
	    !digits(s, len, &pos, 2, &mo) || !expect(s, len, &pos, "-") ||
	    !digits(s, len, &pos, 2, &d) || !expect(s, len, &pos, "Tt ") ||
	    !digits(s, len, &pos, 2, &h) || !expect(s, len, &pos, ":") ||
	    !digits(s, len, &pos, 2, &mi) || !expect(s, len, &pos, ":") ||
	    !digits(s, len, &pos, 2, &sec))
		return -EINVAL;
	if (pos < len && s[pos] == '.') {
		size_t first = ++pos;
		while (pos < len && pos - first < 9 && s[pos] >= '0' && s[pos] <= '9')
			pos++;
		if (pos == first)
			return -EINVAL;
	}
	if (!parse_offset(s, len, &pos, &off) || pos != len)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > store_days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;
	t = limits_unix_of(y, mo, d, h, mi, sec) - (int64_t)off * 60;
	if (t <= 0)
		return -EINVAL; /* 0 means "never" */
	*ret = t;
	return 0;
}

int limits_parse_duration(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0, unit = 1;
	size_t i = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > DURATION_MAX)
			return -EINVAL;
	}
	if (i == 0 || len - i > 1)
		return -EINVAL;
	if (i < len) {
		switch (s[i]) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = DAY_S;
			break;
		case 'w':
			unit = 7 * DAY_S;
			break;
		default:
			return -EINVAL;
		}
	}
	if (v > DURATION_MAX / unit)
		return -EINVAL;
	*ret = v * unit;
	return 0;
}

/* ---- decisions ---- */

const char *limits_state_name(enum limits_state s)
{
	switch (s) {
	case LIMITS_OK:
		return "ok";
	case LIMITS_EXPIRED:
		return "expired";
	case LIMITS_CUT_OFF:
		return "quota exhausted";
	case LIMITS_THROTTLED:
		return "throttled";
	}
	return "?";
}

bool limits_roll(struct limits_usage *u, const struct user_limits *l, int64_t now)
{
	int64_t start;

	if (l->period == STORE_PERIOD_NONE)
		return false; /* one period, forever */
	start = store_period_floor(l->period, l->period_day, now);
	/* a clock stepping back does not reopen a period already counted */
	if (start <= u->period_start)
		return false;
	u->period_start = start;
	u->period_bytes = 0;
	return true;
}

static bool is_expired(const struct user_limits *l, const struct limits_usage *u, int64_t now)
{
	if (l->expires && now >= l->expires)
		return true;
	return l->expires_after && u->first_connect &&
	       (uint64_t)(now - u->first_connect) >= l->expires_after;
}

enum limits_state limits_check(const struct user_limits *l, const struct limits_usage *u,
			       int64_t now)
{
	if (is_expired(l, u, now))
		return LIMITS_EXPIRED;
	if (l->data_limit && u->period_bytes >= l->data_limit)
		return l->action == LIMITS_ACTION_THROTTLE ? LIMITS_THROTTLED : LIMITS_CUT_OFF;
	return LIMITS_OK;
}

uint64_t limits_effective_rate(const struct user_limits *l, uint64_t default_rate,
			       enum limits_state st)
{
	uint64_t rate = l->rate_set ? l->rate : default_rate;

	if (st == LIMITS_THROTTLED && l->throttle_rate && (!rate || l->throttle_rate < rate))
		return l->throttle_rate;
	return rate;
}

/* ---- the policer ---- */

void limits_bucket_set(struct limits_bucket *b, uint64_t rate, uint64_t burst)
{
	uint64_t npb = 0, burst_ns = 0;

	if (rate) {
		if (!burst) {
			burst = rate / (1000 / LIMITS_BURST_MS);
			if (burst < LIMITS_BURST_MIN)
				burst = LIMITS_BURST_MIN;
		}
		npb = (uint64_t)(((unsigned __int128)NS_PER_S << LIMITS_FP) / rate);
		if (!npb)
			npb = 1; /* above ~65 TB/s: as good as none, but still a limit */
		burst_ns = (uint64_t)((unsigned __int128)burst * NS_PER_S / rate);
	}
	if (__atomic_load_n(&b->ns_per_byte, __ATOMIC_RELAXED) == npb &&
	    __atomic_load_n(&b->burst_ns, __ATOMIC_RELAXED) == burst_ns)
		return;
	__atomic_store_n(&b->burst_ns, burst_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&b->ns_per_byte, npb, __ATOMIC_RELAXED);
	/* a new rate starts with a full bucket: no debt carried over */
	__atomic_store_n(&b->tat, 0, __ATOMIC_RELAXED);
}

bool limits_bucket_take(struct limits_bucket *b, size_t len, uint64_t now_ns)
{
	uint64_t npb = __atomic_load_n(&b->ns_per_byte, __ATOMIC_RELAXED);
	uint64_t burst, tat, next;

	if (!npb)
		return true;
	burst = __atomic_load_n(&b->burst_ns, __ATOMIC_RELAXED);
	tat = __atomic_load_n(&b->tat, __ATOMIC_RELAXED);
	do {
		uint64_t base = tat > now_ns ? tat : now_ns;
		if (base - now_ns > burst)
			return false;
		next = base + (uint64_t)(((unsigned __int128)len * npb) >> LIMITS_FP);
	} while (!__atomic_compare_exchange_n(&b->tat, &tat, next, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}
