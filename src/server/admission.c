/* Handshake admission on the control thread; the pipeline is in
 * admission.h. One batch:
 *
 *   1. for each queued message 1: consume it (identifies the user and
 *      advances their timestamp), refuse over max_connections, build the
 *      session parameters, write message 2, create the session and put it
 *      in the index table (nothing can use it before message 2 arrives);
 *   2. write the state file once for the batch (group commit);
 *   3. only then hand each session to the registry and send message 2.
 * If the state cannot be written, the batch's sessions are dropped and
 * no response leaves: a timestamp that is not on disk could be replayed
 * after a restart. */
#include "server/admission.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/webhook_event.h"
#include "server/accounting.h"
#include "server/registry.h"
#include "server/server.h"
#include "dataplane/stream.h"
#include "protocol/control.h"
#include "util/endian.h"
#include "crypto/ct.h"
#include "crypto/rng.h"
#include "io/loop.h"
#include "util/log.h"

#define BATCH 16

struct reply {
	struct session *s;
	struct user *user;
	struct hs_item *item;
	size_t len;
	uint8_t msg[RESP_LEN_MAX];
};

/* How long a source that failed without proving its address must prove
 * it (a cookie round trip) before its initiations are processed again. */
#define FAILURE_PENALTY_NS (10 * LL_NS_PER_S)
/* The fail2ban lines: at most AUTH_LOG_PER_S a second (burst
 * AUTH_LOG_BURST); what is cut is counted and reported in one line. */
#define AUTH_LOG_PER_S	   10
#define AUTH_LOG_BURST	   20
#define AUTH_LOG_REPORT_NS (10 * LL_NS_PER_S)

/* A message 1 that passed mac1 and failed here says something about its
 * sender's credentials (or is an attack on them); an internal failure is
 * ours. */
static bool is_auth_failure(enum handshake_result r)
{
	return r != HS_OK && r != HS_E_INTERNAL;
}

/* A token bucket for the fail2ban lines: a flood of failures (from
 * proven sources) must not flood the log. */
static bool auth_log_allowed(struct server *srv, uint64_t now)
{
	const uint64_t cost = LL_NS_PER_S / AUTH_LOG_PER_S, max = cost * AUTH_LOG_BURST;

	if (!srv->auth_log_ns)
		srv->auth_log_credit = max;
	else
		srv->auth_log_credit += now - srv->auth_log_ns;
	srv->auth_log_ns = now;
	if (srv->auth_log_credit > max)
		srv->auth_log_credit = max;
	if (srv->auth_log_credit < cost)
		return false;
	srv->auth_log_credit -= cost;
	return true;
}

void admission_report_suppressed(struct server *srv, uint64_t now)
{
	if (!srv->auth_log_cut || now - srv->auth_log_report_ns < AUTH_LOG_REPORT_NS)
		return;
	log_warn(LOG_GROUP_AUTH,
		 "%" PRIu64 " authentication failure(s) not logged (at most %d a "
		 "second)",
		 srv->auth_log_cut, AUTH_LOG_PER_S);
	srv->auth_log_cut = 0;
	srv->auth_log_report_ns = now;
}

/* auth.failure for the webhooks, from the same proven sources as the
 * fail2ban line but not cut by its rate limit: the webhook queue's bound
 * is the limit there (a flood fills it and the rest is counted). */
static void auth_failure_event(struct server *srv, const struct hs_item *item,
			       enum handshake_result r)
{
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE};

	if (!server_wants(srv, WEBHOOK_AUTH_FAILURE))
		return;
	server_event_endpoint(&item->from, e.addr, sizeof(e.addr), &e.port);
	snprintf(e.reason, sizeof(e.reason), "%s", handshake_result_name(r));
	server_emit(srv, &e);
}

/* A failed message 1. The fail2ban line names its sender only if the
 * sender proved it receives at that address (mac2): anyone can write any
 * source address on an initiation, and a ban must hit the attacker, not
 * the address it forged. An unproven sender is counted, and must prove
 * its address before its next initiation is processed (its unproven
 * budget is emptied: it gets a cookie reply), so a client that keeps
 * failing is logged on its next try, and a forger gets nothing more. */
static void refuse(struct server *srv, const struct hs_item *item, enum handshake_result r)
{
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len;
	uint64_t now = loop_now_ns();

	srv->hs_results[r]++;
	if (!is_auth_failure(r))
		return;
	if (!item->proven) {
		srv->auth_unproven++;
		key_len = udp_endpoint_key(&item->from, key);
		ratelimit_penalize(&srv->hs_unproven, key, key_len - 2, now, FAILURE_PENALTY_NS);
		return;
	}
	auth_failure_event(srv, item, r);
	if (!auth_log_allowed(srv, now)) {
		srv->auth_log_cut++;
		return;
	}
	log_auth_failure(&item->from.sa, handshake_result_name(r));
}

static void copy_prefix(bool *ret_has, uint8_t *addr, uint8_t *ret_len,
			const struct config_prefix *user, const struct config_prefix *pool,
			size_t alen)
{
	*ret_has = user->family != 0;
	if (!*ret_has)
		return;
	memcpy(addr, user->addr, alen);
	*ret_len = pool->len;
}

static void add_dns(struct session_params *p, const struct server_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_dns; i++) {
		const struct config_prefix *d = &cfg->dns[i];
		if (d->family == 4 && p->n_dns4 < PARAMS_MAX_DNS)
			memcpy(p->dns4[p->n_dns4++], d->addr, 4);
		else if (d->family == 6 && p->n_dns6 < PARAMS_MAX_DNS && p->has_addr6)
			memcpy(p->dns6[p->n_dns6++], d->addr, 16);
	}
}

static void build_params(struct session_params *p, const struct server_config *cfg,
			 const struct user *u)
{
	memset(p, 0, sizeof(*p));
	p->mode = cfg->mode;
	copy_prefix(&p->has_addr4, p->addr4, &p->prefix4, &u->cfg.ipv4, &cfg->tun_address, 4);
	if (cfg->enable_ipv6)
		copy_prefix(&p->has_addr6, p->addr6, &p->prefix6, &u->cfg.ipv6, &cfg->tun_address6,
			    16);
	add_dns(p, cfg);
	p->mtu = cfg->mtu;
	p->keepalive_s = cfg->keepalive_s;
	p->rekey_time_s = cfg->key_rotation_interval_s;
	p->update_bytes = cfg->key_rotation_bytes;
}

static void build_limits(struct transport_limits *l, const struct server_config *cfg)
{
	transport_limits_default(l);
	l->key_update_bytes = cfg->key_rotation_bytes;
	if (cfg->key_rotation_interval_s) {
		l->rekey_after_ns = (uint64_t)cfg->key_rotation_interval_s * LL_NS_PER_S;
		l->reject_after_ns =
		    l->rekey_after_ns + (uint64_t)LL_REJECT_AFTER_TIME_EXTRA * LL_NS_PER_S;
	}
}

/* A receiver index no session uses (0 is never handed out), or 0 when
 * the system's random generator fails: then no handshake can be answered
 * safely, and the caller says so. */
static uint32_t fresh_index(struct server *srv)
{
	uint32_t index = 0;
	struct session *taken;

	do {
		if (rng_fill(&rng_system, (uint8_t *)&index, sizeof(index)) < 0)
			return 0;
		urcu_memb_read_lock();
		taken = index ? session_find_index(&srv->sessions, index) : NULL;
		urcu_memb_read_unlock();
	} while (!index || taken);
	return index;
}

/* The whole parameter list, for a CONFIG push once the session is
 * confirmed (message 2 carried only part of it). */
static void keep_config(struct session *s, const struct session_params *full)
{
	size_t len;

	if (params_encode(full, s->config, sizeof(s->config), &len) == 0)
		s->config_len = (uint8_t)len;
}

static struct session *make_session(struct server *srv, const struct user *u,
				    const struct session_params *p, struct transport_keys *keys,
				    const struct hs_item *item)
{
	struct transport_limits limits;
	struct session *s;

	struct udp_endpoint stream_ep;
	const struct udp_endpoint *path = &item->from;

	if (item->stream) { /* the session's first path is the stream */
		stream_endpoint(&stream_ep, item->stream);
		path = &stream_ep;
	}
	build_limits(&limits, srv->cfg);
	s = session_new(keys, &limits, path, &item->to, loop_now_ns());
	if (!s)
		return NULL;
	s->mtu = p->mtu;
	s->addrs.has4 = p->has_addr4;
	memcpy(s->addrs.addr4, p->addr4, 4);
	s->addrs.has6 = p->has_addr6;
	memcpy(s->addrs.addr6, p->addr6, 16);
	memcpy(s->user_key, u->cfg.public_key, 32); /* this key's entry: a device's, maybe */
	s->acct = u->owner->acct; /* the user's policers and counters, whichever device */
	snprintf(s->user_name, sizeof(s->user_name), "%s", u->cfg.name);
	snprintf(s->device, sizeof(s->device), "%s", u->device);
	if (session_stealth_init(s, srv->shared.stealth, &srv->shared.stealth_keys, keys) < 0 ||
	    session_shaper_init(s, srv->shared.stealth == STEALTH_MODE_MAXIMUM
				       ? srv->cfg->handshake_chaff
				       : 0) < 0 ||
	    session_add_index(&srv->sessions, s) < 0) {
		session_free(s);
		return NULL;
	}
	return s;
}

/* Message 2 and the session for an accepted message 1. Message 2 never
 * outgrows message 1: what of the parameters does not fit (the DNS
 * servers, after a classical message 1) follows in a CONFIG. */
static int respond(struct server *srv, struct handshake_pending *p, struct reply *out)
{
	struct user *u = p->peer->user;
	struct session_params full, params;
	struct transport_keys keys;
	enum handshake_result r;
	uint32_t index = fresh_index(srv);
	bool cut = false;
	int ret = 0;

	if (!index) {
		log_error(LOG_GROUP_HS, "the system random generator failed: handshake refused");
		srv->hs_results[HS_E_INTERNAL]++;
		ret = -EIO;
		goto out;
	}
	build_params(&full, srv->cfg, u);
	if (params_fit(&full, handshake_params_budget(&srv->responder, p), &params, &cut) < 0) {
		srv->hs_results[HS_E_PARAMS]++;
		ret = -EMSGSIZE;
		goto out;
	}
	r = handshake_create_response(&srv->responder, p, &params, index, &rng_system, out->msg,
				      sizeof(out->msg), &out->len, &keys);
	srv->hs_results[r]++;
	if (r != HS_OK) {
		ret = -EPROTO;
		goto out;
	}
	out->user = u;
	out->s = make_session(srv, u, &params, &keys, out->item);
	if (!out->s)
		ret = -ENOMEM;
	else if (cut)
		keep_config(out->s, &full);
out:
	ct_wipe(&keys, sizeof(keys));
	return ret;
}

static bool at_capacity(const struct server *srv, const struct user *u)
{
	return !u->session && srv->cfg->max_connections &&
	       srv->connected >= srv->cfg->max_connections;
}

/* Refused handshakes are counted; the operator hears of it once a minute
 * at most, not once per refused client. */
static void warn_full(struct server *srv)
{
	uint64_t now = loop_now_ns();

	srv->hs_refused_full++;
	if (srv->full_warned_ns && now - srv->full_warned_ns < 60 * LL_NS_PER_S)
		return;
	srv->full_warned_ns = now;
	log_warn(LOG_GROUP_HS, "max_connections (%u) reached: refusing new users",
		 srv->cfg->max_connections);
}

/* A handshake of a key without a live session, its user at device_limit
 * live sessions: no message 2 (as for any refusal), counted, and logged
 * at most once a minute per user — as an authentication refusal with the
 * one-word reason "device-limit" when the source proved its address,
 * else naming the user. Not evicting the oldest device: see
 * docs/dataplane.md, "Limits". */
static bool device_refused(struct server *srv, struct user *u, const struct hs_item *item)
{
	struct user *o = u->owner;
	uint64_t now = loop_now_ns();
	char name[96];

	if (users_device_allowed(u))
		return false;
	srv->acct_device_refused++;
	if (o->device_refused_ns && now - o->device_refused_ns < 60 * LL_NS_PER_S)
		return true;
	o->device_refused_ns = now;
	if (item->proven)
		log_auth_failure(&item->from.sa, "device-limit");
	else
		log_info(LOG_GROUP_AUTH, "handshake of user %s refused: device-limit (%u live)",
			 log_quote(name, sizeof(name), o->cfg.name), users_live_sessions(o));
	return true;
}

static int admit(struct server *srv, struct hs_item *item, struct reply *out)
{
	struct handshake_pending p;
	enum handshake_result r =
	    handshake_consume_init(&srv->responder, item->msg, item->len, loop_unix_ns(), &p);
	struct user *u;
	int ret;

	if (r != HS_OK) {
		refuse(srv, item, r);
		return -EACCES;
	}
	u = p.peer->user;
	(void)state_update(&srv->state, u->cfg.public_key, p.timestamp);
	if (!accounting_admit(srv, u, item) || /* expired or cut off: no message 2 */
	    device_refused(srv, u, item)) {
		handshake_pending_clear(&p);
		return -EACCES;
	}
	if (at_capacity(srv, u)) {
		warn_full(srv);
		handshake_pending_clear(&p);
		return -EUSERS;
	}
	out->item = item;
	ret = respond(srv, &p, out);
	handshake_pending_clear(&p);
	return ret;
}

/* With stealth, message 2 framed (docs/protocol.md §12.2) into buf: no
 * longer than the datagram of the message 1 it answers. Returns the
 * datagram's length, 0 on failure. */
static size_t frame_reply(struct server *srv, const struct reply *rp, uint8_t *buf, size_t cap)
{
	size_t len = stealth_hs_wire_len(&rng_system, rp->len, rp->item->wire_len);

	if (!len || len > cap ||
	    stealth_hs_wrap(&srv->stealth, &rng_system, rp->msg, rp->len, buf, len) < 0)
		return 0;
	return len;
}

/* From the address message 1 came to, on the socket that received it;
 * or after the 101 on the stream that carried it. */
static void send_reply(struct server *srv, const struct reply *rp)
{
	int fd = srv->workers[rp->item->worker % srv->n_workers].udp_fd;
	uint8_t framed[STEALTH_HS_OVERHEAD + RESP_LEN_MAX + STEALTH_HS_PAD_MAX];
	const uint8_t *msg = rp->msg;
	size_t len = rp->len;
	bool src_refused = false;
	int r = -EIO;

	if (srv->shared.stealth) {
		msg = framed;
		len = frame_reply(srv, rp, framed, sizeof(framed));
	}
	if (rp->item->stream) { /* a frame carries what a datagram would */
		if (len)
			stream_accept(srv->shared.streams, rp->item->stream, msg, len);
		else
			stream_refuse(srv->shared.streams, rp->item->stream);
		return;
	}
	if (len)
		r = udp_send_from(fd, msg, len, &rp->item->from, &rp->item->to, &src_refused);

	if (src_refused) {
		srv->src_refused++;
		session_forget_src(rp->s, &rp->item->to);
	}
	if (r < 0)
		log_debug(LOG_GROUP_HS, "cannot send handshake response: %s", strerror(-r));
}

/* Step 2 and 3 of the batch (see the top of the file). */
static void commit(struct server *srv, struct reply *replies, unsigned n)
{
	int r = state_save(&srv->state);

	if (r < 0) {
		log_error(LOG_GROUP_HS, "cannot write %s: %s; refusing %u handshake(s)",
			  srv->state.path, strerror(-r), n);
		for (unsigned i = 0; i < n; i++)
			session_remove(&srv->sessions, replies[i].s);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		/* again at adoption: new users earlier in this batch count now */
		if (at_capacity(srv, replies[i].user)) {
			warn_full(srv);
			session_remove(&srv->sessions, replies[i].s);
			continue;
		}
		if (device_refused(srv, replies[i].user, replies[i].item)) {
			session_remove(&srv->sessions, replies[i].s);
			continue;
		}
		registry_adopt(srv, replies[i].user, replies[i].s);
		accounting_connected(srv, replies[i].user);
		send_reply(srv, &replies[i]);
		replies[i].item->answered = true;
	}
}

/* The new stream path of a joined session is unvalidated: probed over
 * it, as rx.c probes a new UDP path (docs/protocol.md §6.3). */
static void probe_stream(struct server *srv, struct session *s, const struct udp_endpoint *path,
			 uint64_t now)
{
	struct control_msg m = {.type = CONTROL_PATH_PROBE};
	uint8_t plain[64];
	size_t len;

	if (session_probe_begin(s, path, NULL, now, m.challenge) &&
	    control_encode(&m, plain, sizeof(plain), &len) == 0)
		(void)server_send_plain(srv, s, plain, len);
}

/* A transport packet that a new stream's upgrade request carried
 * (docs/protocol.md §11.6): if it opens under its session, the stream is
 * a path of that session, which moves there (newest packet) and probes
 * it; else the stream goes to the fallback. */
static bool admit_join(struct server *srv, const struct hs_item *item)
{
	struct udp_endpoint path;
	struct session *s;
	uint8_t pkt[INIT_LEN_KEM], hdr[8];
	bool hdr_ok;
	size_t plain_len;
	unsigned event = 0;
	enum transport_result r = TRANSPORT_E_INDEX;
	uint64_t now = loop_now_ns();

	if (item->len < TRANSPORT_HEADER_LEN)
		return false;
	memcpy(pkt, item->msg, item->len);
	stream_endpoint(&path, item->stream);
	/* with stealth the packet is masked as it would be on UDP */
	hdr_ok = srv->shared.stealth && stealth_peek(&srv->stealth, pkt, item->len, hdr);
	urcu_memb_read_lock();
	s = session_find_index(&srv->sessions,
			       le32_load((hdr_ok ? hdr : pkt) + TRANSPORT_OFF_RECEIVER));
	if (s)
		r = hdr_ok ? session_open_masked(s, pkt, item->len, hdr, &path, NULL, now,
						 &plain_len, &event)
		    : srv->shared.stealth
			? TRANSPORT_E_INDEX
			: session_open(s, pkt, item->len, &path, NULL, now, &plain_len, &event);
	if (r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY) {
		stream_accept(srv->shared.streams, item->stream, NULL, 0);
		if (event & SESSION_RX_CONFIRMED)
			registry_promote(srv, now);
		if (event & SESSION_RX_NEW_PATH)
			probe_stream(srv, s, &path, now);
	}
	urcu_memb_read_unlock();
	return r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY;
}

unsigned admission_run(struct server *srv)
{
	struct hs_item items[BATCH];
	struct reply replies[BATCH];
	unsigned n = (unsigned)queue_pop(&srv->hs_queue, items, BATCH), ok = 0;

	for (unsigned i = 0; i < n; i++) {
		items[i].answered = false;
		if (items[i].stream && items[i].join)
			items[i].answered = admit_join(srv, &items[i]);
		else if (admit(srv, &items[i], &replies[ok]) == 0)
			ok++;
	}
	if (ok)
		commit(srv, replies, ok);
	/* a stream whose request was refused anywhere above is declined */
	for (unsigned i = 0; i < n; i++)
		if (items[i].stream && !items[i].answered)
			stream_refuse(srv->shared.streams, items[i].stream);
	ct_wipe(replies, sizeof(replies));
	return n;
}
