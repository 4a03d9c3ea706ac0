/* Per-user accounting and limits in the running server (the rules are
 * core/limits.h; this is where they meet the sessions).
 *
 * One struct acct per configured user, shared by all of the user's
 * sessions (the current one, the one it replaces, draining ones): its two
 * policers, one per direction, are what every worker charges, so a user
 * gets its rate once, whichever workers its flows hash to, whichever path
 * (UDP, a TLS stream, a new port after roaming) a session uses, and
 * across new handshakes (a fresh session does not bring a fresh bucket).
 *
 * Bytes. Workers add the inner bytes they forward to per-session counters
 * (relaxed atomic adds on the session they already hold: no lock, no
 * shared per-user cache line beyond the policer). The control thread, on
 * its accounting tick (TIMERS_TICK_MS), folds each session's growth into
 * its user's usage, decides (quota roll-over, cut-off, throttle, expiry)
 * and acts: sessions end, the policers change rate. What a worker counts
 * after the control thread's last fold of a session that is ending is
 * added to the user by the session's RCU free callback (no reader holds it
 * by then), so no counted byte is lost; at shutdown the workers stop, every
 * callback runs (rcu_barrier), then the last fold and the last flush.
 *
 * Metrics. The same folded bytes feed /metrics' per-user series
 * (monitor_credit after each tick's fold): lostlove_user_bytes_total, the
 * store's usage and the limits count the same bytes.
 *
 * Storage. Usage leaves through a flush callback (server_set_usage_sink),
 * never from the packet path: every ACCT_FLUSH_S and at shutdown, one
 * batch of the users whose counters moved. The server's sink is
 * server/usage_writer.h (a thread with its own store connection: a failed
 * write is retried, never dropped; shutdown drains it).
 *
 * The struct the workers charge, and what they do with it, is
 * dataplane/acct.h (the data path includes nothing of server/).
 *
 * Lifetime. The control thread creates and frees accts; a user removed by
 * a reload has its sessions ended first, then its acct is freed after an
 * RCU grace period queued after theirs (liburcu runs a thread's call_rcu
 * callbacks in order), so a session's free callback always finds it. */
#ifndef LL_SERVER_ACCOUNTING_H
#define LL_SERVER_ACCOUNTING_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>

#include "config/config.h"
#include "core/limits.h"
#include "dataplane/acct.h"

#define ACCT_FLUSH_S 10 /* usage batches leave at least this often */

/* One user's usage in a flush batch. */
struct usage_record {
	char name[CONFIG_NAME_MAX];
	uint8_t key[32];
	uint64_t up, down;	   /* bytes since the previous batch */
	struct limits_usage total; /* all-time and period totals, first connection */
	enum limits_state state;
	bool new_period; /* total.period_start moved: reset the period's counters
			  * before adding up/down (which may straddle the roll-over) */
	bool new_first;	 /* total.first_connect is new */
};

/* Receives a batch of n records (n may be 0 for the final one); final is
 * true once, at shutdown, after every counted byte is in. Runs on the
 * control thread: it must not block for long (hand the batch to a
 * writer). */
typedef void (*usage_sink_fn)(void *ctx, const struct usage_record *v, size_t n, bool final);

struct server;
struct session;
struct user;
struct users;
struct hs_item;

/* Where usage batches go (the store); call before server_run. NULL: they
 * are logged at debug level only. */
void server_set_usage_sink(usage_sink_fn fn, void *ctx);

/* The control thread's wall clock for periods and expiry (Unix s): the
 * system's, plus what a test build's SIGUSR2 added (server.c). */
int64_t accounting_now(const struct server *srv);

/* Gives every user of u an acct (startup). 0 or -ENOMEM. */
int accounting_init(struct server *srv, struct users *u);
/* Reload: moves each user's acct to its entry in fresh (same public key)
 * with the new limits, creates the new users' and frees the removed
 * users' (after a last flush), whose sessions registry_rebind ended.
 * 0 or -ENOMEM (then fresh is left without accts: the caller keeps the old
 * table). */
int accounting_rebind(struct server *srv, struct users *fresh);
/* After registry_rebind: the accts left in old (the previous table)
 * are removed users': flushed, then freed after an RCU grace period. */
void accounting_release(struct server *srv, struct users *old);
/* The tick: fold, decide, act (cut-off and expiry end sessions),
 * flush when due. */
void accounting_tick(struct server *srv);
/* May the user of entry u (its own key or a device's) get a session now?
 * False (counted, logged once per episode) if expired or cut off. from: message 1's sender, proven:
 * it proved its address (only then is it named in the log). */
bool accounting_admit(struct server *srv, struct user *u, const struct hs_item *item);
/* A session of u was adopted: the first connection starts
 * expires_after_first_connect. */
void accounting_connected(struct server *srv, struct user *u);
/* Shutdown, after the workers stopped and every RCU callback ran: the
 * last fold and the final flush. */
void accounting_done(struct server *srv);
/* Frees every acct of u (teardown; no session may be left). */
void accounting_free_all(struct users *u);

#endif
