/* The server daemon: startup, the control thread, reload and shutdown.
 *
 * Threads. The calling thread becomes the control thread: it owns the
 * configuration, the user table, the state file, the session registry
 * (every change to the session tables) and the timers, and runs its own
 * event loop over a signalfd (TERM/INT stop, HUP reloads users), an
 * eventfd that a SIGUSR1 handler writes (log statistics), the handshake
 * queue and the workers' notify eventfd.
 * The N workers (worker.h) run the data plane and never block on it.
 * The handshake guards are one for the whole server, shared with the
 * workers through struct worker_shared: the per-IP handshake limiter
 * (thread safe, auth/ratelimit.h) and the cookie secret, which the control
 * thread's timer rotates and workers read lock-free (protocol/cookie.h).
 *
 * The struct is shared by the control-thread modules (admission.c,
 * registry.c, timers.c); workers see only struct worker_shared. */
#ifndef LL_SERVER_SERVER_H
#define LL_SERVER_SERVER_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "config/config.h"
#include "server/cmdq.h"
#include "dataplane/queue.h"
#include "dataplane/session.h"
#include "server/state.h"
#include "server/users.h"
#include "dataplane/worker.h"
#include "network/firewall.h"
#include "protocol/handshake.h"

struct loop;
struct webhook;
struct usage_writer;
struct webhook_event;

/* Handshake outcomes counted on the control thread, by handshake_result. */
#define SERVER_HS_RESULTS (HS_E_INTERNAL + 1)

struct front;
struct monitor;

struct server {
	const struct server_config *cfg; /* borrowed from the caller */
	uint8_t priv[32], pub[32];
	struct users users;  /* built from the store's enabled users */
	struct store *store; /* the user store (storage/store.h); users.toml synced in */
	struct usage_writer *usage_writer; /* usage into the store (server/usage_writer.h) */
	struct state state;
	struct handshake_responder responder;
	struct session_table sessions;
	struct queue hs_queue;
	struct ratelimit hs_proven, hs_unproven, cookie_limit; /* in shared */
	struct cookie_secrets cookie; /* shared.cookie; rotated by on_tick */
	struct worker_shared shared;
	struct stealth_ctx stealth; /* the control thread's (message 2) */
	struct worker *workers;
	unsigned n_workers;
	char tun_name[IFNAMSIZ];
	int tun_fd; /* queue 0 until worker 0 takes it */
	struct firewall fw;
	bool fw_up;
	/* the TCP front and its stream paths (protocol "tcp"/"both") */
	struct front *front;
	int front_fd;		      /* its listening socket until it starts */
	struct stream_hub *streams;   /* shared.streams */
	struct queue *stream_inboxes; /* one per worker; shared.stream_inboxes */
	struct monitor *monitor;      /* /metrics (monitor.h), NULL when off */
	/* control loop */
	struct loop *loop;
	int signal_fd, stats_fd;
	struct loop_op signal_op, hs_op, notify_op, stats_op;
	struct signalfd_siginfo sig_buf;
	uint64_t hs_buf, notify_buf, stats_buf;
	unsigned ticks;
	uint64_t started_ns; /* monotonic: the ready line */
	/* commands from other threads (the admin API; server/cmdq.h) */
	struct cmdq cmds;
	struct loop_op cmd_op;
	uint64_t cmd_buf;
	uint64_t conn_ids;		  /* the last connection id given (registry_adopt) */
	const struct server_addon *addon; /* NULL: none */
	void *addon_state;		  /* the addon's */
	bool addon_opened;
	/* registry (registry.c) */
	struct session *pending;  /* unconfirmed sessions, via next_pending */
	struct session *draining; /* replaced sessions still receiving */
	unsigned connected;	  /* users with a session */
	uint64_t hs_results[SERVER_HS_RESULTS];
	uint64_t hs_refused_full; /* max_connections reached */
	uint64_t src_refused;	  /* sent from any address: the session's source was gone */
	uint64_t path_reverts;	  /* endpoints sent back: their new path was never validated */
	uint64_t cover_sent;	  /* cover packets (stealth maximum, cover_traffic_rate) */
	uint64_t full_warned_ns;
	/* authentication failures (admission.c) */
	uint64_t auth_unproven; /* from sources that did not prove their address */
	uint64_t auth_log_cut;	/* fail2ban lines cut by the rate limit, not yet reported */
	uint64_t auth_log_credit, auth_log_ns, auth_log_report_ns;
	/* webhooks (api/webhook.h): NULL when [webhooks] url is "" */
	struct webhook *webhook;
	/* per-user limits and accounting (accounting.c) */
	int64_t clock_offset_s;	      /* added to the wall clock (a test build's SIGUSR2) */
	int64_t clock_step_s;	      /* what one SIGUSR2 adds (LOSTLOVE_TEST_CLOCK_STEP) */
	uint64_t acct_flushed_ns;     /* the last usage batch */
	uint64_t acct_expired;	      /* users that expired */
	uint64_t acct_quota;	      /* users cut off or throttled at their data limit */
	uint64_t acct_refused;	      /* handshakes refused: user expired or cut off */
	uint64_t acct_device_refused; /* handshakes refused: device_limit live sessions */
};

/* Something that runs beside the server on threads of its own (the admin
 * API, src/api/api.h), without the core depending on it: open runs as
 * root before the privilege drop (sockets, files), start after the
 * sandbox is up (threads inherit it), stop first at shutdown, after the
 * command channel is closed (server/cmdq.h) so nothing waits on the control
 * thread any more. open and start return 0 or a negative errno (logged by
 * the addon); stop is called whenever open was. */
struct server_addon {
	int (*open)(struct server *srv);
	int (*start)(struct server *srv);
	void (*stop)(struct server *srv);
};

/* Runs the server with cfg until SIGTERM/SIGINT, with the addon (may be
 * NULL). Returns the process exit status: 0 after a clean shutdown, 1 if
 * startup failed (logged). */
int server_run(const struct server_config *cfg, const struct server_addon *addon);

/* Seals plain[0..len) for s and sends it from the control thread
 * (keepalives, control messages; at most SERVER_PLAIN_MAX bytes: a
 * CONFIG with the longest parameter list). 0 or a negative errno. */
#define SERVER_PLAIN_MAX (3 + MSG_PARAMS_MAX)
#define SERVER_MTU_MAX	 9000 /* network.mtu's bound */
int server_send_plain(struct server *srv, struct session *s, const uint8_t *plain, size_t len);
/* Sends one cover packet to s (stealth maximum: a keepalive padded to
 * the largest bucket). 0 or a negative errno. */
int server_send_cover(struct server *srv, struct session *s);

/* Rebuilds the handshake's user table (SIGHUP, and the API's reload);
 * on any error the current table stays, and the error is logged.
 * 0 or a negative errno. */
int server_reload_users(struct server *srv);
/* Hands e to the webhook thread, stamped with the time now; never blocks
 * (a full queue drops and counts). A no-op without webhooks. Control
 * thread only. */
void server_emit(struct server *srv, struct webhook_event *e);
/* The same; false if it was filtered out or dropped (or no webhooks). */
bool server_emit_queued(struct server *srv, struct webhook_event *e);
/* user.quota_exceeded and user.expired, for the limits' enforcement on
 * the control thread (docs/webhooks.md): action is "cutoff" or
 * "throttle"; expires_at unix seconds. */
void server_emit_quota_exceeded(struct server *srv, const char *user, int64_t used, int64_t limit,
				const char *action);
void server_emit_expired(struct server *srv, const char *user, int64_t expires_at);
/* Whether events of this type are wanted (to skip building one). */
bool server_wants(const struct server *srv, int webhook_type);
/* The numeric address and port of ep for an event; "" for a stream path. */
void server_event_endpoint(const struct udp_endpoint *ep, char *addr, size_t len, uint16_t *port);

/* Logs one line of statistics (SIGUSR1, and at debug level on exit). */
void server_log_stats(struct server *srv);

#endif
