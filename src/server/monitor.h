/* /metrics: the server's side of it (docs/metrics.md).
 *
 * Who reads what. A scrape runs on the HTTP server's own thread
 * (api/httpd.h), never on a worker or the control thread:
 *   - the workers' counters it reads live, with relaxed loads of the
 *     per-worker counters each worker alone writes (summed at the scrape,
 *     as SIGUSR1's statistics line does): no lock a worker takes;
 *   - the front's and the stream paths' counters likewise (atomics);
 *   - what the control thread owns (handshake results, sessions, users,
 *     per-user bytes) it reads from a copy the control thread refreshes on
 *     its 0.5 s tick under a mutex only the two of them take (so those
 *     figures are up to 0.5 s old).
 *
 * Per-user bytes, bounded. They are the accounting's (server/accounting.h):
 * the inner bytes forwarded from (rx) and to (tx) the user, what the store
 * and the quota count, not the sessions' wire bytes (which include
 * keepalives and packets dropped later). After each fold the control
 * thread credits every user's bytes since the last credit to its series
 * (monitor_credit). The first monitoring.metrics_users user names to carry
 * traffic get a series each, for the life of the process; later users'
 * bytes go to user="(other)". Sticky slots keep every series a true
 * counter (a "top N" whose members change would make "other" go down,
 * which Prometheus reads as a counter reset). */
#ifndef LL_SERVER_MONITOR_H
#define LL_SERVER_MONITOR_H

struct server;
struct session;

/* Binds monitoring.metrics_address:metrics_port (as root, before the
 * sandbox) when enable_metrics is on. 0 or a negative errno (logged). */
int monitor_listen(struct server *srv);
/* Starts the HTTP thread (after the sandbox and the workers). */
int monitor_start(struct server *srv);
/* The control thread's tick: refreshes the copy a scrape reads. */
void monitor_tick(struct server *srv);
/* The control thread, after the accounting's fold: each user's bytes
 * since the last credit to its series. */
struct users;
void monitor_credit(struct server *srv, struct users *u);
/* Stops the HTTP thread (first thing at shutdown). */
void monitor_stop(struct server *srv);
/* Frees the rest (last thing). */
void monitor_free(struct server *srv);

#endif
