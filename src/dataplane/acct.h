/* The per-user account as the data path sees it (server/accounting.h has
 * the model: the control thread creates, folds and decides; this is what
 * every worker touches per packet). One struct acct per user, shared by
 * all the user's sessions: its two policers, its period budget, and the
 * tails of freed sessions. The control thread's fields live in the same
 * struct (one allocation, one RCU lifetime) but the data path reads none
 * of them. */
#ifndef LL_DATAPLANE_ACCT_H
#define LL_DATAPLANE_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>

#include "config/config.h"
#include "core/limits.h"

struct acct {
	/* the data path's: one cache line per policer */
	struct limits_bucket up __attribute__((aligned(64)));
	struct limits_bucket down __attribute__((aligned(64)));
	/* atomic: bytes left in the period before a cut-off, spent by the
	 * workers packet by packet (exact, not a tick late); ACCT_UNLIMITED
	 * when there is no data limit or the action is a throttle */
	int64_t budget __attribute__((aligned(64)));
	/* atomic: bytes of sessions freed since the last fold */
	uint64_t tail_up __attribute__((aligned(64)));
	uint64_t tail_down;
	struct rcu_head rcu;
	/* control thread */
	uint8_t key[32];
	char name[CONFIG_NAME_MAX];
	struct user_limits limits;
	struct limits_usage usage;
	uint64_t flush_up, flush_down; /* counted since the last flush */
	uint64_t mon_up, mon_down;     /* counted since the last credit to /metrics */
	int32_t mon_slot;	       /* its series in the metrics ledger (metrics.h) */
	int64_t flushed_period;	       /* usage.period_start as the last flush said it */
	int64_t flushed_first;	       /* usage.first_connect as the last flush said it */
	enum limits_state state;
	uint64_t rate;	       /* what the policers apply now (0: none) */
	uint64_t budget_limit; /* the data_limit the budget was set for (0: none) */
	int64_t budget_period; /* and the period start */
	bool refusal_logged;
};

#define ACCT_UNLIMITED INT64_MAX

/* What the data path decides for a packet (session_charge). */
enum acct_verdict { ACCT_PASS = 0, ACCT_OVER_RATE, ACCT_OVER_QUOTA };

/* Spends len bytes of the user's period budget: false once it is spent
 * (the packet that empties it passes). A relaxed load when there is no
 * budget, one atomic subtraction when there is. Any thread. */
static inline bool acct_spend(struct acct *a, size_t len)
{
	if (__atomic_load_n(&a->budget, __ATOMIC_RELAXED) == ACCT_UNLIMITED)
		return true;
	return __atomic_sub_fetch(&a->budget, (int64_t)len, __ATOMIC_RELAXED) + (int64_t)len > 0;
}

/* For session.c's free callback: bytes a worker counted after the last
 * fold. Any thread. */
static inline void acct_add_tail(struct acct *a, uint64_t up, uint64_t down)
{
	__atomic_fetch_add(&a->tail_up, up, __ATOMIC_RELAXED);
	__atomic_fetch_add(&a->tail_down, down, __ATOMIC_RELAXED);
}

#endif
