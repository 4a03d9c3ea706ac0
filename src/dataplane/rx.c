/* The receive path: datagrams from the worker's UDP socket.
 *
 *   from the tunnel -> drop (a client's own packet looped back in)
 *   transport  -> length -> find session by receiver index -> open in
 *                 place -> keepalive | control | IP -> router -> TUN or
 *                 client
 *   init       -> mac1 / cookie check -> per-IP budget (proven or not)
 *                 -> control thread, or a cookie reply (rate-limited)
 *                 (secret and limiters are the server's, shared by workers)
 *   other      -> drop
 *
 * With stealth (docs/protocol.md §12) the type byte is masked: a datagram
 * whose header unmasks to a transport header of a known session takes
 * the transport path; otherwise it is unmasked as a handshake-class
 * message, which must be an init; anything else is dropped as
 * stealth_undecodable. Nothing is answered but a genuine init.
 *
 * Each step returns DP_DROP_NONE or why it dropped the packet; rx_one
 * counts it. Nothing is logged per packet. The whole batch runs inside
 * one RCU read-side critical section, so the sessions found stay valid
 * until the batch is done. */
#include "dataplane/rx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "dataplane/hsq.h"
#include "dataplane/queue.h"
#include "dataplane/session.h"
#include "dataplane/stream.h"
#include "dataplane/worker.h"
#include "crypto/rng.h"
#include "dataplane/router.h"
#include "dataplane/rxcut.h"
#include "protocol/control.h"
#include "util/endian.h"
#include "util/log.h"

#define BATCHES_PER_CALL 8

static void *find_client(void *ctx, const uint8_t *addr, size_t len)
{
	return session_find_addr(ctx, addr, len);
}

/* Seals the inner packet (at TRANSPORT_HEADER_LEN in pkt) for another
 * client: copied into a pool buffer, sealed there and queued. (The
 * receive buffer cannot be handed on: on a GRO socket it holds the
 * datagrams that follow this one.) */
static enum dp_drop forward(struct worker *w, const uint8_t *pkt, struct session *dst, size_t len)
{
	uint8_t *buf;
	struct udp_endpoint to;
	struct udp_local src;
	size_t out_len;
	enum dp_drop d;

	dst = session_current(dst);
	if (!session_may_send(dst))
		return DP_DROP_UNCONFIRMED;
	if (!session_path_budget(dst, len))
		return DP_DROP_PATH_LIMIT;
	if (TRANSPORT_HEADER_LEN + len > w->shared->buf_size)
		return DP_DROP_MALFORMED;
	d = worker_drop_of_charge(session_charge(dst, false, len, w->now_ns));
	if (d != DP_DROP_NONE)
		return d;
	buf = pool_get(&w->pool);
	if (!buf)
		return DP_DROP_NO_BUFFER;
	memcpy(buf + TRANSPORT_HEADER_LEN, pkt + TRANSPORT_HEADER_LEN, len);
	d = dp_drop_of_transport(
	    session_seal(dst, buf, w->shared->buf_size, len, w->now_ns, &to, &src, &out_len));
	if (d != DP_DROP_NONE) {
		pool_put(&w->pool, buf);
		return d;
	}
	worker_send(w, buf, out_len, &to, &src, dst->index);
	return DP_DROP_NONE;
}

/* With offloads the packet waits, in place, for the batch's end
 * (worker_tun_flush), to be merged with the next of its flow. */
static enum dp_drop to_tun(struct worker *w, uint8_t *ip, size_t len)
{
	return tunio_write(&w->tun, ip, len) ? DP_DROP_NONE : DP_DROP_TUN_WRITE;
}

static enum dp_drop rx_ip(struct worker *w, uint8_t *pkt, struct session *s, size_t len)
{
	uint8_t *ip = pkt + TRANSPORT_HEADER_LEN;
	void *dst = NULL;

	enum router_verdict v = router_from_client(&s->addrs, ip, len, w->shared->client_to_client,
						   find_client, w->shared->sessions, &dst);
	enum dp_drop over;

	/* the sender's policer and data limit, on what it may send anywhere
	 * (the user's uplink): over either, dropped, as a policer does */
	over = v == ROUTER_TO_TUN || v == ROUTER_TO_CLIENT
		   ? worker_drop_of_charge(session_charge(s, true, len, w->now_ns))
		   : DP_DROP_NONE;
	if (over != DP_DROP_NONE)
		return over;
	switch (v) {
	case ROUTER_TO_TUN: {
		/* chaff back to the client before the host can answer */
		unsigned chaff = session_chaff_due(s, ip, len, true, w->now_ns);
		enum dp_drop d = to_tun(w, ip, len);

		worker_chaff(w, s, chaff);
		return d;
	}
	case ROUTER_TO_CLIENT:
		return forward(w, pkt, dst, len);
	case ROUTER_DROP_SPOOFED:
		return DP_DROP_SPOOFED;
	case ROUTER_DROP_C2C:
		return DP_DROP_C2C;
	default:
		return DP_DROP_PLAINTEXT;
	}
}

/* Seals a control message for s and sends it to (to, from): the path it
 * concerns, not necessarily the session's endpoint. Path messages are
 * the same size both ways, so an answer never outgrows its question. */
static enum dp_drop send_control(struct worker *w, struct session *s, const struct control_msg *m,
				 const struct udp_endpoint *to, const struct udp_local *from)
{
	uint8_t *buf = pool_get(&w->pool);
	struct udp_endpoint ignored_to;
	struct udp_local ignored_src;
	size_t len, out_len;
	enum dp_drop d = DP_DROP_SEAL;

	if (!buf)
		return DP_DROP_NO_BUFFER;
	if (control_encode(m, buf + TRANSPORT_HEADER_LEN, 64, &len) == 0)
		d = dp_drop_of_transport(session_seal(s, buf, w->shared->buf_size, len, w->now_ns,
						      &ignored_to, &ignored_src, &out_len));
	if (d != DP_DROP_NONE) {
		pool_put(&w->pool, buf);
		return d;
	}
	worker_send(w, buf, out_len, to, from, s->index);
	return DP_DROP_NONE;
}

/* An authenticated packet moved the endpoint to an unvalidated path:
 * probe it (docs/protocol.md §6.3); a reply validates it, none within
 * SESSION_PROBE_TIMEOUT_S sends the endpoint back. */
static void probe_path(struct worker *w, struct session *s, const struct udp_endpoint *from,
		       const struct udp_local *to)
{
	struct control_msg m = {.type = CONTROL_PATH_PROBE};

	if (session_probe_begin(s, from, to, w->now_ns, m.challenge))
		worker_drop(w, send_control(w, s, &m, from, to));
}

static void log_roam(struct worker *w, const struct session *s, const struct udp_endpoint *from)
{
	char ep[UDP_ENDPOINT_STR_MAX];

	worker_count(&w->stats.roams, 1);
	if (!log_is_enabled(LOG_GROUP_CORE, LOG_LEVEL_DEBUG) ||
	    w->now_ns - w->roam_logged_ns < LL_NS_PER_S)
		return;
	w->roam_logged_ns = w->now_ns; /* one line a second at most */
	log_debug(LOG_GROUP_CORE, "session %08x moved to %s", s->index, udp_endpoint_str(from, ep));
}

/* Control messages from a client (docs/protocol.md §6.3): DISCONNECT
 * (nothing more is sealed with the session; the control thread ends it),
 * a path probe (answered on the path it came by) and a path reply
 * (validates the path if it answers our probe of it). */
static enum dp_drop rx_control(struct worker *w, struct session *s, const uint8_t *msg, size_t len,
			       const struct udp_endpoint *from, const struct udp_local *to)
{
	struct control_msg m;

	if (control_decode(&m, msg, len) < 0)
		return DP_DROP_CONTROL;
	switch (m.type) {
	case CONTROL_DISCONNECT:
		__atomic_store_n(&s->leaving, 1, __ATOMIC_RELAXED);
		worker_notify(w);
		return DP_DROP_NONE;
	case CONTROL_PATH_PROBE:
		m.type = CONTROL_PATH_REPLY;
		return send_control(w, s, &m, from, to);
	case CONTROL_PATH_REPLY:
		return session_probe_answered(s, m.challenge, from, to, w->now_ns) ? DP_DROP_NONE
										   : DP_DROP_PATH;
	default:
		return DP_DROP_CONTROL; /* CONFIG goes only to clients */
	}
}

static enum dp_drop rx_plain(struct worker *w, uint8_t *pkt, struct session *s, size_t plain_len,
			     const struct udp_endpoint *from, const struct udp_local *to)
{
	const uint8_t *plain = pkt + TRANSPORT_HEADER_LEN;
	size_t inner_len;

	switch (control_classify(plain, plain_len, &inner_len)) {
	case PLAIN_KEEPALIVE:
		return DP_DROP_NONE;
	case PLAIN_IPV4:
	case PLAIN_IPV6:
		return rx_ip(w, pkt, s, inner_len);
	case PLAIN_CONTROL:
		return rx_control(w, s, plain, inner_len, from, to);
	default:
		return DP_DROP_PLAINTEXT;
	}
}

/* hdr: with stealth, the header bytes 0..7 stealth_peek unmasked (the
 * packet's own are still masked); NULL without. */
static enum dp_drop rx_transport(struct worker *w, uint8_t *pkt, size_t len, const uint8_t *hdr,
				 const struct udp_endpoint *from, const struct udp_local *to)
{
	struct session *s;
	unsigned event;
	enum dp_drop d;
	size_t plain_len;

	if (len < TRANSPORT_HEADER_LEN)
		return DP_DROP_MALFORMED;
	/* before the session's lock and the AEAD: nothing this long is ours */
	if (len > w->shared->max_transport)
		return DP_DROP_OVERSIZED;
	s = session_find_index(w->shared->sessions,
			       le32_load((hdr ? hdr : pkt) + TRANSPORT_OFF_RECEIVER));
	if (!s)
		return DP_DROP_UNKNOWN_INDEX;
	d = dp_drop_of_transport(
	    hdr ? session_open_masked(s, pkt, len, hdr, from, to, w->now_ns, &plain_len, &event)
		: session_open(s, pkt, len, from, to, w->now_ns, &plain_len, &event));
	if (d != DP_DROP_NONE)
		return d;
	if (event & SESSION_RX_CONFIRMED)
		worker_notify(w);
	worker_count(&w->stats.rx_packets, 1);
	worker_count(&w->stats.rx_bytes, len);
	if (event & SESSION_RX_NEW_PATH) {
		log_roam(w, s, from);
		probe_path(w, s, from, to);
	}
	return rx_plain(w, pkt, s, plain_len, from, to);
}

/* With stealth, the cookie reply in buf is framed in place: moved
 * behind the nonce and length, padded, never longer than the datagram
 * it answers. Returns the datagram's length, 0 on failure. */
static size_t frame_cookie(struct worker *w, uint8_t *buf, size_t wire_len)
{
	uint8_t reply[COOKIE_REPLY_LEN];
	size_t len = stealth_hs_wire_len(&rng_system, COOKIE_REPLY_LEN, wire_len);

	memcpy(reply, buf, sizeof(reply));
	if (!len || len > w->shared->buf_size ||
	    stealth_hs_wrap(&w->stealth, &rng_system, reply, sizeof(reply), buf, len) < 0)
		return 0;
	return len;
}

/* A cookie reply (52 bytes, smaller than any message 1: no
 * amplification), at most so many per source address and port. */
static enum dp_drop send_cookie(struct worker *w, const uint8_t *msg, size_t len, size_t wire_len,
				const struct udp_endpoint *from, const struct udp_local *to,
				const uint8_t *key, size_t key_len)
{
	size_t out_len = COOKIE_REPLY_LEN;
	uint8_t *buf;

	if (!ratelimit_allow(w->shared->cookie_limit, key, key_len, w->now_ns))
		return DP_DROP_COOKIE_LIMIT;
	buf = pool_get(&w->pool);
	if (!buf)
		return DP_DROP_NO_BUFFER;
	if (cookie_reply_create(&w->cookies, buf, msg, len, le32_load(msg + INIT_OFF_SENDER), key,
				key_len, &rng_system) < 0 ||
	    (w->shared->stealth && !(out_len = frame_cookie(w, buf, wire_len)))) {
		pool_put(&w->pool, buf);
		return DP_DROP_SEAL;
	}
	worker_count(&w->stats.cookie_replies, 1);
	worker_send(w, buf, out_len, from, to, 0);
	return DP_DROP_NONE;
}

static bool under_load(const struct queue *q)
{
	return queue_len(q) > q->capacity / 2;
}

/* Hands a message 1 (item filled but for the message) to admission. */
static enum dp_drop push_handshake(struct worker *w, struct hs_item *item, const uint8_t *msg,
				   size_t len)
{
	item->len = (uint16_t)len;
	memcpy(item->msg, msg, len);
	if (queue_push(w->shared->hs_queue, item) < 0)
		return DP_DROP_HS_QUEUE_FULL;
	worker_count(&w->stats.handshakes_queued, 1);
	return DP_DROP_NONE;
}

static enum dp_drop queue_handshake(struct worker *w, const uint8_t *msg, size_t len,
				    size_t wire_len, const struct udp_endpoint *from,
				    const struct udp_local *to, bool proven)
{
	struct hs_item item;

	item.proven = proven;
	item.wire_len = (uint16_t)(wire_len < UINT16_MAX ? wire_len : UINT16_MAX);
	item.answered = false;
	item.join = false;
	item.stream = 0; /* by UDP */
	item.from = *from;
	item.to = *to;
	item.worker = (uint16_t)w->id;
	return push_handshake(w, &item, msg, len);
}

/* The cheap checks of docs/protocol.md §4 and §8 before any public-key
 * work. A source that proved its address (a valid mac2) spends a budget
 * of its own: initiations spoofed with a client's address drain only the
 * unproven budget of that address, and an unproven initiation over it is
 * answered with a cookie, so the real owner of the address still gets in,
 * one round trip later.
 *
 * With stealth a cookie reply is sent only under load. A cookie reply
 * proves to whoever sent the message 1 that a server is there, and
 * anyone can replay a captured genuine message 1 (its mac1 is valid):
 * at the penalty's second replay, or from another address (mac2 bad),
 * it would get an answer. Over its budget, such a source is dropped
 * silently instead (docs/protocol.md §12.5). */
static enum dp_drop rx_init(struct worker *w, const uint8_t *msg, size_t len, size_t wire_len,
			    const struct udp_endpoint *from, const struct udp_local *to)
{
	const struct worker_shared *sh = w->shared;
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len = udp_endpoint_key(from, key);
	enum cookie_mac_state macs;

	if (len != INIT_LEN_KEM && len != INIT_LEN_CLASSIC)
		return DP_DROP_MALFORMED;
	macs = cookie_validate(&w->cookies, msg, len, key, key_len);
	if (macs == COOKIE_MAC_INVALID)
		return DP_DROP_MAC1;
	worker_count(&w->stats.initiations, 1);
	if (macs == COOKIE_MAC2_OK)
		return ratelimit_allow(sh->hs_proven, key, key_len - 2, w->now_ns)
			   ? queue_handshake(w, msg, len, wire_len, from, to, true)
			   : DP_DROP_RATELIMIT;
	if (sh->stealth && !under_load(sh->hs_queue))
		return ratelimit_allow(sh->hs_unproven, key, key_len - 2, w->now_ns)
			   ? queue_handshake(w, msg, len, wire_len, from, to, false)
			   : DP_DROP_RATELIMIT;
	if (macs == COOKIE_MAC2_BAD || under_load(sh->hs_queue) ||
	    !ratelimit_allow(sh->hs_unproven, key, key_len - 2, w->now_ns))
		return send_cookie(w, msg, len, wire_len, from, to, key, key_len);
	return queue_handshake(w, msg, len, wire_len, from, to, false);
}

/* A stealth datagram (see the top of the file): a transport packet of a
 * known session, or a handshake-class message that is an init. */
static enum dp_drop rx_stealth(struct worker *w, uint8_t *pkt, size_t len,
			       const struct udp_endpoint *from, const struct udp_local *to)
{
	uint8_t hdr[8];
	size_t msg_len;

	if (stealth_peek(&w->stealth, pkt, len, hdr) &&
	    session_find_index(w->shared->sessions, le32_load(hdr + TRANSPORT_OFF_RECEIVER)))
		return rx_transport(w, pkt, len, hdr, from, to);
	if (stealth_hs_unwrap(&w->stealth, pkt, len, &msg_len) < 0 ||
	    pkt[STEALTH_HS_OVERHEAD] != MSG_HANDSHAKE_INIT)
		return DP_DROP_STEALTH;
	return rx_init(w, pkt + STEALTH_HS_OVERHEAD, msg_len, len, from, to);
}

/* A datagram from the client at from, sent to our local address to
 * (family 0 when the socket is bound to one address). */
static enum dp_drop rx_one(struct worker *w, uint8_t *pkt, size_t len,
			   const struct udp_endpoint *from, const struct udp_local *to)
{
	if (w->shared->stealth)
		return rx_stealth(w, pkt, len, from, to);
	if (len < MSG_HEADER_LEN)
		return DP_DROP_MALFORMED;
	switch (pkt[0]) {
	case MSG_TRANSPORT:
		return rx_transport(w, pkt, len, NULL, from, to);
	case MSG_HANDSHAKE_INIT:
		return rx_init(w, pkt, len, len, from, to);
	default:
		return DP_DROP_BAD_TYPE;
	}
}

/* Message i came through our own tunnel: it arrived on the TUN device
 * (known on a wildcard bind, from pktinfo), or its source is a client's
 * tunnel address (the only sources the TUN device carries, whatever the
 * bind). Authenticating it would move the session's endpoint into the
 * tunnel, where every packet for the client would be sealed, routed back
 * into the TUN device and sealed again, forever (docs/dataplane.md,
 * "Routing loops"). */
static bool is_tunnelled(const struct worker *w, unsigned i)
{
	const struct udp_batch *b = &w->rx;
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len;

	if (w->shared->tun_ifindex && b->locals[i].ifindex == w->shared->tun_ifindex)
		return true;
	key_len = udp_endpoint_key(&b->peers[i], key);
	return router_in_pool(&w->shared->pools, key, key_len - 2);
}

/* Message i: one datagram, or on the GRO socket several of one sender,
 * each udp_batch_segment() long but the last. */
static void rx_message(struct worker *w, unsigned i)
{
	const struct udp_batch *b = &w->rx;
	struct dp_rxcut cut = dp_rxcut_of(b, i, w->rx_bufs[i]);
	uint8_t *pkt;
	size_t len;

	if (udp_batch_truncated(b, i)) {
		worker_drop(w, DP_DROP_TRUNCATED);
		return;
	}
	if (is_tunnelled(w, i)) {
		worker_count(&w->stats.drops[DP_DROP_TUNNELLED],
			     dp_rxcut_count(&cut) ? dp_rxcut_count(&cut) : 1);
		return;
	}
	while (dp_rxcut_next(&cut, &pkt, &len))
		worker_drop(w, rx_one(w, pkt, len, &b->peers[i], &b->locals[i]));
}

void rx_udp_ready(struct worker *w)
{
	for (int round = 0; round < BATCHES_PER_CALL; round++) {
		int n = udp_recv_batch(w->udp_fd, &w->rx, w->rx_bufs, WORKER_RX_BUF);
		if (n <= 0)
			return;
		w->now_ns = loop_now_ns();
		urcu_memb_read_lock();
		for (unsigned i = 0; i < (unsigned)n; i++)
			rx_message(w, i);
		urcu_memb_read_unlock();
		worker_tun_flush(w); /* before the slots are received into again */
		worker_batch_time(w, WORKER_BATCH_UDP_RX, loop_now_ns() - w->now_ns);
		if (n < UDP_BATCH)
			return;
	}
}

/* A message 1 in a frame of an open stream (a rekey): the UDP path's
 * guards, mac1 and the proven (a TCP connection proves its address)
 * per-IP budget, then the handshake queue tagged with the stream, whose
 * answer goes back on it. */
static enum dp_drop stream_init(struct worker *w, const uint8_t *msg, size_t len, size_t wire_len,
				const struct stream_pkt *p)
{
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len = udp_endpoint_key(&p->peer, key);
	struct hs_item item;

	if (len != INIT_LEN_KEM && len != INIT_LEN_CLASSIC)
		return DP_DROP_MALFORMED;
	if (cookie_validate(&w->cookies, msg, len, key, key_len) == COOKIE_MAC_INVALID)
		return DP_DROP_MAC1;
	worker_count(&w->stats.initiations, 1);
	if (!ratelimit_allow(w->shared->hs_proven, key, key_len - 2, w->now_ns))
		return DP_DROP_RATELIMIT;
	memset(&item, 0, sizeof(item));
	item.proven = true;
	item.stream = p->id;
	item.from = p->peer;
	item.wire_len = (uint16_t)wire_len;
	return push_handshake(w, &item, msg, len);
}

/* One frame's message, in the session's wire format as on UDP: a
 * transport packet, or a message 1 (rekey); nothing else. */
static enum dp_drop rx_stream_one(struct worker *w, struct stream_pkt *p)
{
	static const struct udp_local no_local;
	struct udp_endpoint from;
	uint8_t hdr[8];
	size_t msg_len;

	stream_endpoint(&from, p->id);
	if (w->shared->stealth) {
		if (stealth_peek(&w->stealth, p->data, p->len, hdr) &&
		    session_find_index(w->shared->sessions,
				       le32_load(hdr + TRANSPORT_OFF_RECEIVER)))
			return rx_transport(w, p->data, p->len, hdr, &from, &no_local);
		if (stealth_hs_unwrap(&w->stealth, p->data, p->len, &msg_len) < 0 ||
		    p->data[STEALTH_HS_OVERHEAD] != MSG_HANDSHAKE_INIT)
			return DP_DROP_STEALTH;
		return stream_init(w, p->data + STEALTH_HS_OVERHEAD, msg_len, p->len, p);
	}
	if (p->len < MSG_HEADER_LEN)
		return DP_DROP_MALFORMED;
	switch (p->data[0]) {
	case MSG_TRANSPORT:
		return rx_transport(w, p->data, p->len, NULL, &from, &no_local);
	case MSG_HANDSHAKE_INIT:
		return stream_init(w, p->data, p->len, p->len, p);
	default:
		return DP_DROP_BAD_TYPE;
	}
}

/* Messages a stream carried (dataplane/stream.h): the front thread checked
 * only the framing, so they take the receive path of a datagram, with the
 * stream's endpoint as their source; the UDP-only tunnel check on the
 * datagram's source does not apply (the front refused connections from a
 * tunnel address). */
void rx_stream_ready(struct worker *w)
{
	struct queue *in = &w->shared->stream_inboxes[w->id];
	uint64_t one = 1;

	for (int round = 0; round < BATCHES_PER_CALL; round++) {
		size_t n = queue_pop(in, w->stream_buf, WORKER_STREAM_BATCH);
		if (n == 0)
			return;
		w->now_ns = loop_now_ns();
		urcu_memb_read_lock();
		for (size_t i = 0; i < n; i++)
			worker_drop(w, rx_stream_one(w, &w->stream_buf[i]));
		urcu_memb_read_unlock();
		worker_tun_flush(w);
		if (n < WORKER_STREAM_BATCH)
			return;
	}
	(void)!write(in->wake_fd, &one, sizeof(one)); /* more: come back next turn */
}
