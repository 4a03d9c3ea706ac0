/* The control thread's session registry; the model is in registry.h.
 *
 * Per user, u->session is the newest session and s->replaces links to
 * the older, confirmed one it will replace (whose successor points back
 * at it, for the data path); at most two sessions per user are linked to
 * it at a time, plus replaced ones still draining. Unconfirmed sessions
 * are on the srv->pending list, replaced ones on srv->draining. */
#include "server/registry.h"

#include <stdio.h>
#include <string.h>

#include "api/webhook_event.h"
#include "server/monitor.h"
#include "server/server.h"
#include "io/loop.h"
#include "protocol/control.h"
#include "util/log.h"

#define PENDING_MAX_AGE_NS ((uint64_t)LL_REKEY_TIMEOUT * 3 * LL_NS_PER_S)
#define DRAIN_NS	   ((uint64_t)SESSION_DRAIN_S * LL_NS_PER_S)
#define CONFIG_SENDS	   3 /* a CONFIG push is repeated (UDP may lose it) */
#define CONFIG_GAP_NS	   LL_NS_PER_S

/* The pending and the draining lists share the link: a session is on one
 * at most (unconfirmed, or replaced). */
static void list_add(struct session **head, struct session *s, bool *flag)
{
	s->next_pending = *head;
	*head = s;
	*flag = true;
}

static void list_del(struct session **head, struct session *s, bool *flag)
{
	for (struct session **p = head; *p; p = &(*p)->next_pending) {
		if (*p == s) {
			*p = s->next_pending;
			break;
		}
	}
	s->next_pending = NULL;
	*flag = false;
}

static void pending_add(struct server *srv, struct session *s)
{
	list_add(&srv->pending, s, &s->in_pending);
}

static void pending_del(struct server *srv, struct session *s)
{
	list_del(&srv->pending, s, &s->in_pending);
}

/* The data path seals with next instead of old once next is confirmed. */
static void link_successor(struct session *old, struct session *next)
{
	if (old)
		__atomic_store_n(&old->successor, next, __ATOMIC_RELEASE);
}

static void log_session(const char *what, struct session *s)
{
	char name[96], dev[96] = "", ep[UDP_ENDPOINT_STR_MAX], src[UDP_ENDPOINT_STR_MAX];
	struct udp_endpoint to;
	struct udp_local from;

	pthread_spin_lock(&s->tx_lock); /* a worker may be roaming it */
	to = s->endpoint;
	from = s->endpoint_src;
	pthread_spin_unlock(&s->tx_lock);
	if (s->device[0])
		log_quote(dev, sizeof(dev), s->device);
	log_info(LOG_GROUP_CORE, "user %s %s, endpoint %s, local %s%s%s",
		 log_quote(name, sizeof(name), s->user_name), what, udp_endpoint_str(&to, ep),
		 udp_local_str(&from, src), dev[0] ? ", device " : "", dev);
}

/* user.connected / user.disconnected for the webhooks: the user's first
 * confirmed session, and the end of its last one. */
static void session_event(struct server *srv, struct session *s, int type, const char *reason)
{
	struct webhook_event e = {.type = (uint8_t)type};
	struct udp_endpoint to;

	if (!server_wants(srv, type))
		return;
	pthread_spin_lock(&s->tx_lock);
	to = s->endpoint;
	pthread_spin_unlock(&s->tx_lock);
	snprintf(e.user, sizeof(e.user), "%s", s->user_name);
	server_event_endpoint(&to, e.addr, sizeof(e.addr), &e.port);
	if (reason)
		snprintf(e.reason, sizeof(e.reason), "%s", reason);
	server_emit(srv, &e);
}

/* user.disconnected's reason, from why a session is retired. */
static const char *disconnect_reason(uint8_t reason, const char *why)
{
	switch (reason) {
	case DISCONNECT_SHUTDOWN:
		return "shutdown";
	case DISCONNECT_EXPIRED:
		return "expired";
	case DISCONNECT_QUOTA:
		return "quota";
	case DISCONNECT_KICKED:
		return why && !strcmp(why, "removed by a reload") ? "removed" : "kicked";
	}
	if (!why)
		return "ended";
	if (!strcmp(why, "disconnected"))
		return "client";
	if (!strcmp(why, "timed out"))
		return "timeout";
	if (!strcmp(why, "expired (no rekey)"))
		return "rekey";
	return "ended";
}

void registry_adopt(struct server *srv, struct user *u, struct session *s)
{
	struct session *keep = u->session;

	/* a rekey keeps the connection the admin sees */
	s->conn_id = keep ? keep->conn_id : ++srv->conn_ids;
	s->conn_started_ns = keep ? keep->conn_started_ns : s->created_ns;
	if (keep && !session_is_confirmed(keep)) {
		/* a retransmitted or repeated handshake: the newer one wins */
		struct session *older = keep->replaces;
		keep->replaces = NULL;
		link_successor(older, NULL);
		registry_retire(srv, keep, 0, NULL);
		keep = older;
	}
	s->replaces = keep;
	link_successor(keep, s);
	if (!keep)
		session_publish_addrs(&srv->sessions, s);
	if (!u->session)
		srv->connected++;
	u->session = s;
	pending_add(srv, s);
}

static void unlink_user(struct server *srv, struct session *s);

/* A replaced session: nothing is sealed with it any more (its successor
 * is confirmed), but it keeps receiving what the client sealed before it
 * switched, for SESSION_DRAIN_S. */
static void drain(struct server *srv, struct session *old, uint64_t now_ns)
{
	unlink_user(srv, old);
	old->drain_until_ns = now_ns + DRAIN_NS;
	list_add(&srv->draining, old, &old->in_draining);
}

/* The session parameters message 2 could not carry (a classical
 * handshake: DNS servers), in a CONFIG, CONFIG_SENDS times. */
/* The CONFIG message carrying s's whole parameter list into msg; its
 * length, 0 if it cannot be encoded. */
static size_t encode_config(const struct session *s, uint8_t *msg, size_t cap)
{
	struct control_msg m = {
	    .type = CONTROL_CONFIG, .config = s->config, .config_len = s->config_len};
	size_t len = 0;

	return control_encode(&m, msg, cap, &len) == 0 ? len : 0;
}

static void push_config(struct server *srv, struct session *s, uint64_t now_ns)
{
	uint8_t msg[3 + MSG_PARAMS_MAX];
	size_t len;

	if (!s->config_len || s->config_sends >= CONFIG_SENDS || now_ns < s->config_next_ns)
		return;
	len = encode_config(s, msg, sizeof(msg));
	if (len)
		(void)server_send_plain(srv, s, msg, len);
	s->config_sends++;
	s->config_next_ns = now_ns + CONFIG_GAP_NS;
}

static void promote(struct server *srv, struct session *s, uint64_t now_ns)
{
	struct session *old = s->replaces;

	pending_del(srv, s);
	session_publish_addrs(&srv->sessions, s);
	s->replaces = NULL;
	if (old) {
		drain(srv, old, now_ns);
		log_debug(LOG_GROUP_HS, "session %08x replaces %08x", s->index, old->index);
	} else {
		log_session("connected", s);
		session_event(srv, s, WEBHOOK_USER_CONNECTED, NULL);
	}
	push_config(srv, s, now_ns);
}

void registry_promote(struct server *srv, uint64_t now_ns)
{
	struct session *next;

	for (struct session *s = srv->pending; s; s = next) {
		next = s->next_pending;
		if (session_is_confirmed(s))
			promote(srv, s, now_ns);
		else if (now_ns - s->created_ns > PENDING_MAX_AGE_NS)
			registry_retire(srv, s, 0, NULL);
	}
	for (struct session *s = srv->draining; s; s = next) {
		next = s->next_pending;
		if (now_ns >= s->drain_until_ns)
			registry_retire(srv, s, 0, NULL);
	}
}

void registry_tick(struct server *srv, struct session *s, uint64_t now_ns)
{
	push_config(srv, s, now_ns);
}

static void send_disconnect(struct server *srv, struct session *s, uint8_t reason)
{
	struct control_msg m = {.type = CONTROL_DISCONNECT, .reason = reason};
	uint8_t msg[8];
	size_t len;

	if (control_encode(&m, msg, sizeof(msg), &len) == 0)
		(void)server_send_plain(srv, s, msg, len);
}

/* Unlinks s from its user: the user falls back to the session s was
 * going to replace, if any. */
static void unlink_user(struct server *srv, struct session *s)
{
	struct user *u = users_find(&srv->users, s->user_key);

	if (!u)
		return;
	if (u->session == s) {
		u->session = s->replaces;
		link_successor(s->replaces, NULL);
		if (!u->session)
			srv->connected--;
	} else if (u->session && u->session->replaces == s) {
		u->session->replaces = NULL;
	}
	s->replaces = NULL;
}

void registry_retire(struct server *srv, struct session *s, uint8_t reason, const char *why)
{
	/* a replaced session's keys may be gone at the client already */
	if (reason && session_is_confirmed(s) && !s->in_draining && session_current(s) == s)
		send_disconnect(srv, s, reason);
	if (why)
		log_session(why, s);
	if (!s->in_draining) {
		struct user *u = users_find(&srv->users, s->user_key);
		/* the user's last session, announced as connected (promoted) */
		bool last = u && u->session == s && !s->replaces && !s->in_pending;

		unlink_user(srv, s);
		if (last)
			session_event(srv, s, WEBHOOK_USER_DISCONNECTED,
				      disconnect_reason(reason, why));
	}
	/* a session s replaced may still be draining: it must not keep a
	 * pointer to s once s is freed */
	for (struct session *d = srv->draining; d; d = d->next_pending)
		if (d->successor == s)
			link_successor(d, NULL);
	if (s->in_pending)
		pending_del(srv, s);
	if (s->in_draining)
		list_del(&srv->draining, s, &s->in_draining);
	session_remove(&srv->sessions, s);
}

void registry_retire_all(struct server *srv, uint8_t reason)
{
	struct cds_lfht_iter iter;
	struct session *s;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(srv->sessions.by_index, &iter, s, by_index)
	    registry_retire(srv, s, reason, NULL);
	urcu_memb_read_unlock();
}

static bool same_prefix(const struct config_prefix *a, const struct config_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

/* A session stays across a reload only if what it was built from stays:
 * its key's PSK and addresses, and its user (whose acct it points to, and
 * which moves by the user's own key: accounting_rebind). */
static bool same_user(const struct user *a, const struct user *b)
{
	return memcmp(a->cfg.psk, b->cfg.psk, 32) == 0 && same_prefix(&a->cfg.ipv4, &b->cfg.ipv4) &&
	       same_prefix(&a->cfg.ipv6, &b->cfg.ipv6) &&
	       memcmp(a->owner->cfg.public_key, b->owner->cfg.public_key, 32) == 0;
}

unsigned registry_rebind(struct server *srv, struct users *fresh)
{
	unsigned ended = 0;

	for (size_t i = 0; i < srv->users.n; i++) {
		struct user *u = &srv->users.v[i];
		struct user *nu = users_find(fresh, u->cfg.public_key);
		if (!u->session)
			continue;
		if (nu && same_user(u, nu)) {
			nu->session = u->session;
			u->session = NULL;
			continue;
		}
		while (u->session) {
			registry_retire(srv, u->session, DISCONNECT_KICKED, "removed by a reload");
			ended++;
		}
	}
	/* replaced sessions receive nothing more from a user who may be gone */
	while (srv->draining)
		registry_retire(srv, srv->draining, 0, NULL);
	return ended;
}
