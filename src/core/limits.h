/* Per-user limits: what a user may use (struct user_limits, filled today
 * from users.toml, later from the store) and the pure logic the server
 * applies them with. Nothing here reads a clock, a file or a socket: the
 * time is passed in (monotonic ns for the rate buckets, Unix seconds for
 * quota periods and expiry), so every rule is table-tested.
 *
 *   rate limit  a policer per user and direction: a token bucket kept as
 *               GCRA (one atomic "theoretical arrival time" word, one CAS
 *               per packet), shared by every worker and every session of
 *               the user; a packet over the rate is dropped
 *   quota       bytes up + down per period (none, daily, weekly, monthly,
 *               or from a day of the month), then cut-off or throttle
 *   expiry      a fixed instant, or a duration from the first connection
 *   devices     concurrent sessions per user (see docs/dataplane.md,
 *               "Limits": one key is one address is one session today)
 *
 * Calendar periods are in UTC. */
#ifndef LL_CORE_LIMITS_H
#define LL_CORE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/period.h"

enum limits_action {
	LIMITS_ACTION_CUTOFF = 0, /* sessions end, handshakes refused until the period rolls over */
	LIMITS_ACTION_THROTTLE,	  /* the rate drops to throttle_rate until then */
};

/* What one user may use. Zero is "no limit" for every field, so a
 * zeroed struct limits nothing. */
struct user_limits {
	uint64_t rate;		  /* bytes/s, each direction; 0 = none */
	bool rate_set;		  /* rate is this user's (else: the server default) */
	uint64_t data_limit;	  /* bytes up + down per period; 0 = none */
	enum store_period period; /* storage/period.h */
	uint8_t period_day;	  /* STORE_PERIOD_DAY_OF_MONTH: 1..31 */
	enum limits_action action;
	uint64_t throttle_rate; /* bytes/s once over the quota with LIMITS_ACTION_THROTTLE */
	int64_t expires;	/* Unix seconds; 0 = never */
	uint64_t expires_after; /* seconds from the first connection; 0 = never */
	uint32_t device_limit;	/* concurrent sessions; 0 = none */
	unsigned set;		/* LIMITS_SET_*: the keys a users.toml entry gave (the store
				 * keeps the others' values, set through the API) */
};

enum {
	LIMITS_SET_RATE = 1u << 0,
	LIMITS_SET_DATA = 1u << 1,
	LIMITS_SET_PERIOD = 1u << 2,
	LIMITS_SET_ACTION = 1u << 3,
	LIMITS_SET_THROTTLE = 1u << 4,
	LIMITS_SET_EXPIRES = 1u << 5,
	LIMITS_SET_EXPIRES_AFTER = 1u << 6,
	LIMITS_SET_DEVICES = 1u << 7,
};

/* What a user used, and since when; kept by the server, fed back by a
 * store across restarts. */
struct limits_usage {
	uint64_t up, down;     /* bytes, all time */
	uint64_t period_bytes; /* bytes up + down in the current period */
	int64_t period_start;  /* Unix s; 0 = not started yet */
	int64_t first_connect; /* Unix s of the first session; 0 = never connected */
};

/* ---- quota periods ---- */

/* The store's names (storage/period.h: "none", "daily", "weekly",
 * "monthly", "day_of_month", whose day is users.toml's quota_day, *ret_day
 * 0), or the alias "day:N" (N 1..31: day_of_month on day N). 0 or
 * -EINVAL. */
int limits_period_parse(const char *s, size_t len, enum store_period *ret, uint8_t *ret_day);
/* The store's name of p, into buf (at least 13 bytes); the day is not
 * part of it (quota_day). */
void limits_period_format(enum store_period p, uint8_t day, char *buf, size_t len);

/* ---- expiry and durations ---- */

/* RFC 3339 date-time with an offset ("2027-01-31T23:59:59Z",
 * "2027-01-31T23:59:59.5+02:00") into Unix seconds (fraction dropped).
 * Untrusted input (the API will hand it on): strict, bounded. 0 or
 * -EINVAL. */
int limits_parse_rfc3339(const char *s, size_t len, int64_t *ret);
/* The inverse, "2027-01-31T23:59:59Z"; "" for 0 (never). */
#define LIMITS_RFC3339_LEN 21
void limits_format_rfc3339(int64_t t, char buf[static LIMITS_RFC3339_LEN]);
/* Civil date-time (UTC) to Unix seconds; year 1970..9999. */
int64_t limits_unix_of(int year, int month, int day, int hour, int minute, int second);
/* "3600", "90s", "45m", "12h", "30d", "2w" into seconds (at most 100
 * years). 0 or -EINVAL. */
int limits_parse_duration(const char *s, size_t len, uint64_t *ret);

/* ---- what the control thread decides ---- */

enum limits_state {
	LIMITS_OK = 0,
	LIMITS_EXPIRED,	  /* past expires or expires_after the first connection */
	LIMITS_CUT_OFF,	  /* quota used up, action cut-off */
	LIMITS_THROTTLED, /* quota used up, action throttle */
};

const char *limits_state_name(enum limits_state s);

/* Starts a new period when now is past the current one's start: the
 * period's bytes go back to 0. True if it rolled over (or started). */
bool limits_roll(struct limits_usage *u, const struct user_limits *l, int64_t now);
/* The user's state at now (after limits_roll). */
enum limits_state limits_check(const struct user_limits *l, const struct limits_usage *u,
			       int64_t now);
/* The rate the data plane applies in state st (bytes/s, 0 = none): the
 * user's (or default_rate when the user has none set), or throttle_rate
 * when throttled. */
uint64_t limits_effective_rate(const struct user_limits *l, uint64_t default_rate,
			       enum limits_state st);

/* ---- the policer ---- */

/* GCRA (the virtual-scheduling form of a token bucket): tat is the
 * instant the bucket would be full again if nothing more came; a packet
 * of len bytes costs len / rate seconds and passes if tat minus the
 * burst is not in the future. One 64-bit word changes per packet, with a
 * compare-and-swap, so any number of workers share one bucket with no
 * lock and no share to rebalance. Rate and burst are written by the
 * control thread (relaxed: a packet racing a change sees either). */
struct limits_bucket {
	uint64_t tat;	      /* atomic: theoretical arrival time, monotonic ns */
	uint64_t ns_per_byte; /* atomic: cost of a byte in ns << LIMITS_FP; 0 = no limit */
	uint64_t burst_ns;    /* atomic: the burst as time (burst bytes at the rate) */
};

#define LIMITS_FP 16 /* fixed-point fraction bits of ns_per_byte */
/* The burst a rate gets: LIMITS_BURST_MS of traffic at the rate, at
 * least LIMITS_BURST_MIN bytes. A policer's burst decides what TCP gets
 * through it: each time the bucket runs dry a whole window's tail is
 * dropped, and a short burst makes that frequent (measured through the
 * tunnel at 2 MB/s: 50 ms gave TCP 27 % of the rate, 500 ms 96-100 %,
 * the rest being headers; tests/e2e/limits_rate.sh). Router vendors
 * advise 1-1.5 s of traffic for TCP policers for the same reason. */
#define LIMITS_BURST_MS	 500
#define LIMITS_BURST_MIN (64 * 1024)

/* Sets the rate (bytes/s; 0 = no limit) and its burst (bytes; 0 = the
 * default for the rate). */
void limits_bucket_set(struct limits_bucket *b, uint64_t rate, uint64_t burst);
/* May a packet of len bytes pass at now? Charges it if so. */
bool limits_bucket_take(struct limits_bucket *b, size_t len, uint64_t now_ns);

#endif
