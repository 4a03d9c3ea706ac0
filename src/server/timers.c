/* Session timers; see timers.h. */
#include "server/timers.h"

#include "server/registry.h"
#include "server/server.h"
#include "io/loop.h"
#include "util/log.h"

#define COVER_MAX_PER_TICK 64 /* per session: 64 full packets a tick at most */

static uint64_t since(uint64_t now, const uint64_t *then)
{
	uint64_t t = __atomic_load_n(then, __ATOMIC_RELAXED);

	return now > t ? now - t : 0;
}

static bool keys_expired(const struct session *s, uint64_t now)
{
	return now - s->transport.birth_ns >= s->transport.limits.reject_after_ns;
}

/* An endpoint moved to a path no probe validated goes back (session.h). */
static void check_path(struct server *srv, struct session *s, uint64_t now)
{
	if (!session_path_tick(s, now))
		return;
	srv->path_reverts++;
	log_debug(LOG_GROUP_CORE, "session %08x: new path not validated, back to the last one",
		  s->index);
}

/* Stealth maximum with cover_traffic_rate: an idle link (nothing sent
 * for a tick) gets cover packets at that rate (docs/protocol.md §12.6). */
static void send_cover(struct server *srv, struct session *s, uint64_t now)
{
	const struct stealth_buckets *b = &s->stealth_tx.buckets;
	uint64_t tick = (uint64_t)TIMERS_TICK_MS * 1000000;
	unsigned n;

	if (!srv->cfg->cover_traffic_rate || !s->stealth ||
	    s->stealth_tx.mode != STEALTH_MODE_MAXIMUM || !b->n || !session_is_confirmed(s))
		return;
	if (since(now, &s->last_tx_ns) < tick) {
		s->cover_credit = 0; /* not idle: real traffic covers it */
		return;
	}
	n = stealth_cover_due(&s->cover_credit, srv->cfg->cover_traffic_rate, tick,
			      b->size[b->n - 1], COVER_MAX_PER_TICK);
	while (n-- > 0 && server_send_cover(srv, s) == 0)
		;
}

static void check(struct server *srv, struct session *s, uint64_t now)
{
	uint64_t idle_ns = (uint64_t)srv->cfg->connection_timeout_s * LL_NS_PER_S;
	uint64_t keepalive_ns = (uint64_t)srv->cfg->keepalive_s * LL_NS_PER_S;

	check_path(srv, s, now);
	if (__atomic_load_n(&s->leaving, __ATOMIC_RELAXED))
		registry_retire(srv, s, 0, "disconnected");
	else if (idle_ns && since(now, &s->last_rx_ns) > idle_ns)
		registry_retire(srv, s, 0, "timed out");
	else if (keys_expired(s, now))
		registry_retire(srv, s, 0, "expired (no rekey)");
	else if (s->in_draining || session_current(s) != s)
		return; /* replaced: nothing more is sent with it */
	else if (keepalive_ns && session_is_confirmed(s) &&
		 since(now, &s->last_tx_ns) >= keepalive_ns)
		(void)server_send_plain(srv, s, NULL, 0);
	else {
		send_cover(srv, s, now);
		registry_tick(srv, s, now);
	}
}

void timers_tick(struct server *srv)
{
	uint64_t now = loop_now_ns();
	struct cds_lfht_iter iter;
	struct session *s;

	registry_promote(srv, now);
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(srv->sessions.by_index, &iter, s, by_index) check(srv, s, now);
	urcu_memb_read_unlock();
}
