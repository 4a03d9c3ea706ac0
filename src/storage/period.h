/* Quota periods: the one vocabulary and the one arithmetic every part
 * uses (the store's rows, users.toml, the API, lostlove-admin and the
 * limits in the data plane). Pure: no I/O, no clock (times are passed in).
 * Here in storage/ so that both the store and core/limits reach it
 * without the store depending on core. */
#ifndef LL_STORAGE_PERIOD_H
#define LL_STORAGE_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

enum store_period {
	STORE_PERIOD_NONE,	   /* the counters never reset */
	STORE_PERIOD_DAILY,	   /* at 00:00 UTC */
	STORE_PERIOD_WEEKLY,	   /* at Monday 00:00 UTC */
	STORE_PERIOD_MONTHLY,	   /* on the 1st, 00:00 UTC */
	STORE_PERIOD_DAY_OF_MONTH, /* on day quota_day (1..31; clamped to the month's last) */
};

/* "none", "daily", "weekly", "monthly", "day_of_month" (with quota_day);
 * the parser returns -1 on an unknown name. */
const char *store_period_name(enum store_period p);
/* The same names in enum order, NULL-terminated (the API's field table). */
extern const char *const store_period_names[];
int store_period_parse(const char *s);

/* Period roll-over (UTC calendar; docs/storage.md, "Quota periods").
 * store_period_floor: the latest period boundary <= t.
 * store_period_next: the first boundary > t; INT64_MAX for NONE.
 * A user whose period began at period_start is due a reset once
 * now >= store_period_next(p, day, period_start); the new period_start is
 * store_period_floor(p, day, now), so a long downtime resets once.
 * day is 1..31 for DAY_OF_MONTH (in a shorter month, its last day). */
int64_t store_period_floor(enum store_period p, int day, int64_t t);
int64_t store_period_next(enum store_period p, int day, int64_t t);
/* true (and *new_start) when the period that began at period_start has
 * ended by now. */
bool store_period_due(enum store_period p, int day, int64_t period_start, int64_t now,
		      int64_t *new_start);

/* The proleptic Gregorian calendar in UTC: days since 1970-01-01 of a date
 * and back (m 1..12, d 1..31), and a month's length. */
int64_t store_days_from_civil(int64_t y, int m, int d);
void store_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
int store_days_in_month(int64_t y, int m);

#endif
