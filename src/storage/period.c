/* Quota periods: the one implementation (see period.h). Pure. */
#include "storage/period.h"

#include <string.h>

const char *const store_period_names[] = {"none",    "daily",	     "weekly",
					  "monthly", "day_of_month", NULL};

const char *store_period_name(enum store_period p)
{
	return (unsigned)p < 5 ? store_period_names[p] : "?";
}

int store_period_parse(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (s && strcmp(s, store_period_names[i]) == 0)
			return i;
	return -1;
}

/* ---- quota periods (UTC civil calendar) ---- */

#define DAY 86400

/* Days since 1970-01-01 of a proleptic Gregorian date, and back: the
 * era-based civil calendar arithmetic (400-year eras of 146097 days, years
 * starting in March so the leap day comes last) that H. Hinnant describes
 * in "chrono-Compatible Low-Level Date Algorithms". */
int64_t store_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void store_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int store_days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* The boundary of (y, m) for a monthly period on `day` (1 for MONTHLY). */
static int64_t month_boundary(int64_t y, int m, int day)
{
	int dim = store_days_in_month(y, m);

	return store_days_from_civil(y, m, day < dim ? day : dim) * DAY;
}

static void month_step(int64_t *y, int *m, int by)
{
	*m += by;
	if (*m > 12) {
		*m -= 12;
		(*y)++;
	} else if (*m < 1) {
		*m += 12;
		(*y)--;
	}
}

static int64_t monthly_floor(int day, int64_t t)
{
	int64_t y, b;
	int m, d;

	store_civil_from_days(floor_div(t, DAY), &y, &m, &d);
	b = month_boundary(y, m, day);
	if (b <= t)
		return b;
	month_step(&y, &m, -1);
	return month_boundary(y, m, day);
}

static int64_t monthly_next(int day, int64_t t)
{
	int64_t y, b;
	int m, d;

	store_civil_from_days(floor_div(t, DAY), &y, &m, &d);
	b = month_boundary(y, m, day);
	if (b > t)
		return b;
	month_step(&y, &m, 1);
	return month_boundary(y, m, day);
}

int64_t store_period_floor(enum store_period p, int day, int64_t t)
{
	/* 1970-01-01 was a Thursday: Mondays are 4 days after an epoch week */
	const int64_t monday = 4 * DAY;

	switch (p) {
	case STORE_PERIOD_DAILY:
		return floor_div(t, DAY) * DAY;
	case STORE_PERIOD_WEEKLY:
		return floor_div(t - monday, 7 * DAY) * 7 * DAY + monday;
	case STORE_PERIOD_MONTHLY:
		return monthly_floor(1, t);
	case STORE_PERIOD_DAY_OF_MONTH:
		return monthly_floor(day < 1 ? 1 : day > 31 ? 31 : day, t);
	case STORE_PERIOD_NONE:
	default:
		return INT64_MIN;
	}
}

int64_t store_period_next(enum store_period p, int day, int64_t t)
{
	switch (p) {
	case STORE_PERIOD_DAILY:
		return store_period_floor(p, day, t) + DAY;
	case STORE_PERIOD_WEEKLY:
		return store_period_floor(p, day, t) + 7 * DAY;
	case STORE_PERIOD_MONTHLY:
		return monthly_next(1, t);
	case STORE_PERIOD_DAY_OF_MONTH:
		return monthly_next(day < 1 ? 1 : day > 31 ? 31 : day, t);
	case STORE_PERIOD_NONE:
	default:
		return INT64_MAX;
	}
}

bool store_period_due(enum store_period p, int day, int64_t period_start, int64_t now,
		      int64_t *new_start)
{
	if (p == STORE_PERIOD_NONE || now < store_period_next(p, day, period_start))
		return false;
	if (new_start)
		*new_start = store_period_floor(p, day, now);
	return true;
}
