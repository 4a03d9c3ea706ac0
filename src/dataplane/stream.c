/* Stream paths; the model is in stream.h. */
#include "dataplane/stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auth/ratelimit.h"
#include "dataplane/hsq.h"
#include "dataplane/queue.h"
#include "crypto/ct.h"
#include "crypto/rng.h"
#include "front/front.h"
#include "front/upgrade.h"
#include "front/ws.h"
#include "io/loop.h"
#include "dataplane/router.h"
#include "protocol/cookie.h"

/* How long admission may take before the request goes to the fallback
 * (it is normally a few ms; a state file on a slow disk is the worst). */
#define ADMISSION_DEADLINE_MS 5000
/* The nonces of accepted upgrade requests (docs/protocol.md §11.3). */
#define REPLAY_CAPACITY 16384
#define INBUF		(2 * (WS_HEADER_MAX + STREAM_PKT_MAX))
#define OUTBUF		(64 * 1024)

enum sconn_state { SC_FREE, SC_PENDING, SC_OPEN };

/* A record in a ring: length (2, host order) then the message. */
#define REC_HEAD 2

struct slot {
	pthread_mutex_t lock;
	uint64_t id;   /* lock: 0 = free */
	uint8_t *ring; /* lock */
	size_t head, used;
	bool dirty; /* lock: the front thread has something to drain */
	/* front thread only */
	struct stream_hub *hub;
	enum sconn_state state;
	struct front_conn *conn;
	char key_b64[UPGRADE_KEY_B64_LEN + 1];
	uint8_t in[INBUF];
	size_t in_len;
	uint8_t out[OUTBUF];
	size_t out_off, out_len;
	bool closing; /* a close frame is queued: close when written */
};

struct stream_hub {
	struct stream_hub_config cfg;
	struct front *front;
	struct slot *slots;
	uint64_t next_id; /* front thread */
	struct upgrade_key key;
	struct upgrade_replay *replay; /* front thread */
	struct cookie_checker cookies; /* front thread */
	uint64_t upgrade_results[UPGRADE_RESULT_COUNT];
	uint64_t counts[STREAM_C_COUNT];
	int wake; /* atomic: a drain is posted */
};

static const char *const count_names[STREAM_C_COUNT] = {
    [STREAM_C_UPGRADES] = "upgrades",	[STREAM_C_LOOP] = "loop",
    [STREAM_C_FULL] = "full",		[STREAM_C_MAC1] = "mac1",
    [STREAM_C_RATELIMIT] = "ratelimit", [STREAM_C_HS_QUEUE] = "hs_queue",
    [STREAM_C_BAD_MSG] = "bad_msg",	[STREAM_C_ADOPTED] = "adopted",
    [STREAM_C_REFUSED] = "refused",	[STREAM_C_TIMEOUT] = "timeout",
    [STREAM_C_RX_FRAMES] = "rx_frames", [STREAM_C_RX_INBOX] = "rx_inbox_full",
    [STREAM_C_RX_BAD] = "rx_bad",	[STREAM_C_TX_PACKETS] = "tx_packets",
    [STREAM_C_TX_GONE] = "tx_gone",	[STREAM_C_TX_FULL] = "tx_full",
    [STREAM_C_CLOSED] = "closed",
};

const char *stream_count_name(enum stream_count c)
{
	return (unsigned)c < STREAM_C_COUNT ? count_names[c] : "?";
}

static void count(struct stream_hub *h, enum stream_count c)
{
	__atomic_fetch_add(&h->counts[c], 1, __ATOMIC_RELAXED);
}

void stream_hub_counts(const struct stream_hub *h, uint64_t out[STREAM_C_COUNT])
{
	for (unsigned i = 0; i < STREAM_C_COUNT; i++)
		out[i] = __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
}

void stream_hub_upgrades(const struct stream_hub *h, uint64_t *out)
{
	for (unsigned i = 0; i < UPGRADE_RESULT_COUNT; i++)
		out[i] = __atomic_load_n(&h->upgrade_results[i], __ATOMIC_RELAXED);
}

static struct slot *slot_of(struct stream_hub *h, uint64_t id)
{
	return &h->slots[id % h->cfg.max_streams];
}

/* ---- the front thread: writing ---- */

static void conn_end(struct stream_hub *h, struct slot *s, bool abort_it);

/* Appends bytes to the connection's output; false if they do not fit. */
static bool out_put(struct slot *s, const void *a, size_t alen, const void *b, size_t blen)
{
	if (s->out_off && s->out_len + alen + blen > OUTBUF) {
		memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	if (s->out_len + alen + blen > OUTBUF)
		return false;
	memcpy(s->out + s->out_len, a, alen);
	if (blen)
		memcpy(s->out + s->out_len + alen, b, blen);
	s->out_len += alen + blen;
	return true;
}

/* A server frame (unmasked); false if it does not fit now. */
static bool out_frame(struct slot *s, uint8_t opcode, const uint8_t *payload, size_t len)
{
	uint8_t hdr[WS_HEADER_MAX];
	size_t hl = ws_build_header(hdr, true, opcode, NULL, len);

	return out_put(s, hdr, hl, payload, len);
}

/* Moves records from the ring into the output while they fit. */
static void take_ring(struct slot *s, size_t ring_bytes)
{
	pthread_mutex_lock(&s->lock);
	while (s->used >= REC_HEAD) {
		uint8_t rec[STREAM_PKT_MAX];
		uint16_t len;
		for (size_t i = 0; i < REC_HEAD; i++)
			((uint8_t *)&len)[i] = s->ring[(s->head + i) % ring_bytes];
		if (OUTBUF - (s->out_len - s->out_off) < WS_HEADER_MAX + len)
			break;
		for (size_t i = 0; i < len; i++)
			rec[i] = s->ring[(s->head + REC_HEAD + i) % ring_bytes];
		s->head = (s->head + REC_HEAD + len) % ring_bytes;
		s->used -= REC_HEAD + len;
		(void)out_frame(s, WS_OP_BINARY, rec, len);
	}
	s->dirty = s->used > 0;
	pthread_mutex_unlock(&s->lock);
}

/* Writes what is pending; false if the connection ended. */
static bool flush_out(struct stream_hub *h, struct slot *s)
{
	for (;;) {
		if (s->state == SC_OPEN && !s->closing)
			take_ring(s, h->cfg.ring_bytes);
		if (s->out_off == s->out_len) {
			s->out_off = s->out_len = 0;
			if (s->closing) {
				conn_end(h, s, false);
				return false;
			}
			return true;
		}
		ssize_t n = front_conn_write(s->conn, s->out + s->out_off, s->out_len - s->out_off);
		if (n == -EAGAIN)
			return true; /* FRONT_EV_WRITE comes */
		if (n < 0) {
			conn_end(h, s, true);
			return false;
		}
		s->out_off += (size_t)n;
	}
}

static void drain_all(void *arg)
{
	struct stream_hub *h = arg;

	__atomic_store_n(&h->wake, 0, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < h->cfg.max_streams; i++) {
		struct slot *s = &h->slots[i];
		if (s->state == SC_OPEN && __atomic_load_n(&s->dirty, __ATOMIC_RELAXED))
			(void)flush_out(h, s);
	}
}

int stream_send(struct stream_hub *h, uint64_t id, const uint8_t *msg, size_t len)
{
	struct slot *s = slot_of(h, id);
	size_t rb = h->cfg.ring_bytes;
	uint16_t l16 = (uint16_t)len;
	int r = 0;

	if (len > STREAM_PKT_MAX) {
		count(h, STREAM_C_TX_FULL);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&s->lock);
	if (s->id != id || !s->ring) {
		r = -EPIPE;
	} else if (rb - s->used < REC_HEAD + len) {
		r = -ENOBUFS;
	} else {
		size_t tail = (s->head + s->used) % rb;
		for (size_t i = 0; i < REC_HEAD; i++)
			s->ring[(tail + i) % rb] = ((uint8_t *)&l16)[i];
		tail = (tail + REC_HEAD) % rb;
		size_t first = len < rb - tail ? len : rb - tail;
		memcpy(s->ring + tail, msg, first);
		memcpy(s->ring, msg + first, len - first);
		s->used += REC_HEAD + len;
		s->dirty = true;
	}
	pthread_mutex_unlock(&s->lock);
	count(h, r == 0 ? STREAM_C_TX_PACKETS : r == -EPIPE ? STREAM_C_TX_GONE : STREAM_C_TX_FULL);
	if (r == 0 && h->front && !__atomic_exchange_n(&h->wake, 1, __ATOMIC_SEQ_CST) &&
	    front_post(h->front, drain_all, h) < 0)
		__atomic_store_n(&h->wake, 0, __ATOMIC_SEQ_CST);
	return r;
}

/* ---- the front thread: slots ---- */

static struct slot *slot_open(struct stream_hub *h, struct front_conn *c)
{
	for (unsigned tries = 0; tries < h->cfg.max_streams; tries++) {
		uint64_t id = ++h->next_id;
		struct slot *s = slot_of(h, id);
		uint8_t *ring;
		if (s->state != SC_FREE)
			continue;
		ring = malloc(h->cfg.ring_bytes);
		if (!ring)
			return NULL;
		pthread_mutex_lock(&s->lock);
		s->id = id;
		s->ring = ring;
		s->head = s->used = 0;
		s->dirty = false;
		pthread_mutex_unlock(&s->lock);
		s->state = SC_PENDING;
		s->conn = c;
		s->in_len = s->out_off = s->out_len = 0;
		s->closing = false;
		return s;
	}
	return NULL;
}

static void slot_close(struct slot *s)
{
	uint8_t *ring;

	pthread_mutex_lock(&s->lock);
	s->id = 0;
	ring = s->ring;
	s->ring = NULL;
	s->used = 0;
	s->dirty = false;
	pthread_mutex_unlock(&s->lock);
	free(ring);
	s->state = SC_FREE;
	s->conn = NULL;
}

static void conn_end(struct stream_hub *h, struct slot *s, bool abort_it)
{
	struct front_conn *c = s->conn;

	front_conn_set_io(c, NULL, NULL);
	slot_close(s);
	count(h, STREAM_C_CLOSED);
	if (abort_it)
		front_conn_abort(c);
	else
		front_conn_close(c);
}

static uint64_t slot_id(struct stream_hub *h, struct slot *s)
{
	uint64_t id;

	(void)h;
	pthread_mutex_lock(&s->lock);
	id = s->id;
	pthread_mutex_unlock(&s->lock);
	return id;
}

/* To the fallback with every byte read (nothing was written). */
static void decline(struct stream_hub *h, struct slot *s, enum stream_count why)
{
	struct front_conn *c = s->conn;

	count(h, why);
	front_conn_set_io(c, NULL, NULL);
	front_conn_set_deadline(c, 0);
	slot_close(s);
	if (front_conn_decline(c) < 0)
		front_conn_abort(c);
}

/* ---- the front thread: reading ---- */

static void peer_of(struct front_conn *c, struct udp_endpoint *ep);

static void to_worker(struct stream_hub *h, struct slot *s, uint64_t id, const uint8_t *p,
		      size_t len)
{
	static __thread struct stream_pkt pkt;

	pkt.id = id;
	peer_of(s->conn, &pkt.peer);
	pkt.len = (uint16_t)len;
	memcpy(pkt.data, p, len);
	if (queue_push(&h->cfg.inboxes[id % h->cfg.n_inboxes], &pkt) < 0)
		count(h, STREAM_C_RX_INBOX);
}

/* Message 1 or (join) a transport packet of the upgrade's token. */
static bool hs_push(struct stream_hub *h, uint64_t id, const struct udp_endpoint *peer,
		    const uint8_t *msg, size_t len, bool join)
{
	static __thread struct hs_item item;

	memset(&item, 0, sizeof(item));
	item.from = *peer;
	item.stream = id;
	item.join = join;
	item.proven = true; /* a TCP connection proves its address */
	/* message 2 may be framed as large as any answer (stealth) */
	item.wire_len = UINT16_MAX;
	item.len = (uint16_t)len;
	memcpy(item.msg, msg, len);
	return queue_push(h->cfg.hs_queue, &item) == 0;
}

static void peer_of(struct front_conn *c, struct udp_endpoint *ep)
{
	socklen_t len = 0;
	const struct sockaddr *sa = front_conn_peer(c, &len);

	memset(ep, 0, sizeof(*ep));
	if (sa && len <= sizeof(ep->in6)) {
		memcpy(&ep->sa, sa, len);
		ep->len = len;
	}
}

static bool is_init(const uint8_t *msg, size_t len)
{
	return msg[0] == MSG_HANDSHAKE_INIT && (len == INIT_LEN_KEM || len == INIT_LEN_CLASSIC);
}

/* The cheap guards of the UDP path, for a message 1 from a stream. */
static enum stream_count init_guards(struct stream_hub *h, const struct udp_endpoint *peer,
				     const uint8_t *msg, size_t len)
{
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len = udp_endpoint_key(peer, key);

	if (cookie_validate(&h->cookies, msg, len, key, key_len) == COOKIE_MAC_INVALID)
		return STREAM_C_MAC1;
	if (!ratelimit_allow(h->cfg.hs_proven, key, key_len - 2, loop_now_ns()))
		return STREAM_C_RATELIMIT;
	return STREAM_C_COUNT;
}

/* One binary frame of an open stream: a transport packet for a worker, or
 * a message 1 (a rekey) for admission. */
/* One binary frame of an open stream: to a worker, whose receive path
 * takes it as a datagram of the session's wire format (rx.c). */
static void on_binary(struct stream_hub *h, struct slot *s, const uint8_t *p, size_t len)
{
	count(h, STREAM_C_RX_FRAMES);
	to_worker(h, s, slot_id(h, s), p, len);
}

/* Handles the frame at the start of s->in; returns its length, 0 if not
 * complete, -1 if the connection is to end. */
static long one_frame(struct stream_hub *h, struct slot *s)
{
	struct ws_frame f;
	enum ws_result r = ws_parse_header(s->in, s->in_len, true, STREAM_PKT_MAX, &f);
	uint8_t *payload;

	if (r == WS_NEED_MORE || (r == WS_OK && s->in_len < f.header_len + f.payload_len))
		return 0;
	if (r != WS_OK || !f.fin)
		return -1;
	payload = s->in + f.header_len;
	ws_mask(payload, (size_t)f.payload_len, f.mask, 0);
	switch (f.opcode) {
	case WS_OP_BINARY:
		on_binary(h, s, payload, (size_t)f.payload_len);
		break;
	case WS_OP_PING:
		(void)out_frame(s, WS_OP_PONG, payload, (size_t)f.payload_len);
		break;
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE: {
		uint8_t body[2];
		size_t bl = ws_build_close(body, WS_CLOSE_NORMAL, NULL);
		(void)out_frame(s, WS_OP_CLOSE, body, bl);
		s->closing = true;
		break;
	}
	default:
		return -1;
	}
	return (long)(f.header_len + f.payload_len);
}

static void read_frames(struct stream_hub *h, struct slot *s)
{
	for (;;) {
		ssize_t n = front_conn_read(s->conn, s->in + s->in_len, sizeof(s->in) - s->in_len);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			conn_end(h, s, n < 0);
			return;
		}
		s->in_len += (size_t)n;
		for (;;) {
			long used = one_frame(h, s);
			if (used < 0) {
				count(h, STREAM_C_RX_BAD);
				conn_end(h, s, true);
				return;
			}
			if (used == 0)
				break;
			memmove(s->in, s->in + used, s->in_len - (size_t)used);
			s->in_len -= (size_t)used;
			if (s->closing)
				break;
		}
		if (s->closing)
			break;
	}
	(void)flush_out(h, s);
}

static enum upgrade_result check_token(struct stream_hub *h, const uint8_t *head, size_t len,
				       struct upgrade_request *r)
{
	uint64_t now_s = loop_unix_ns() / LL_NS_PER_S;
	enum upgrade_result res = upgrade_parse(head, len, r);

	if (res == UPGRADE_OK)
		res = upgrade_verify(&h->key, r, now_s);
	if (res == UPGRADE_OK)
		res = upgrade_replay_insert(h->replay, r->nonce, r->time_s, now_s);
	__atomic_fetch_add(&h->upgrade_results[res], 1, __ATOMIC_RELAXED);
	return res;
}

static bool from_tunnel(struct stream_hub *h, const struct udp_endpoint *peer)
{
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	size_t key_len = udp_endpoint_key(peer, key);

	return router_in_pool(h->cfg.pools, key, key_len - 2);
}

static void on_io(void *ctx, struct front_conn *c, unsigned events)
{
	struct slot *s = ctx;
	struct stream_hub *h = s->hub;

	(void)c;
	if (s->state == SC_PENDING) {
		/* the client waits for the answer; only the deadline matters */
		if (events & FRONT_EV_TIMEOUT)
			decline(h, s, STREAM_C_TIMEOUT);
		return;
	}
	if (events & FRONT_EV_READ) {
		read_frames(h, s);
		return; /* it flushed, or the connection ended */
	}
	if (events & FRONT_EV_WRITE)
		(void)flush_out(h, s);
}

/* Steps 1-4 of docs/protocol.md §11.3 here, then step 5 on the control
 * thread. Everything refused is declined: the fallback answers it. */
static enum front_verdict on_upgrade(void *ctx, struct front_conn *c, const uint8_t *head,
				     size_t head_len, const struct http_request *req)
{
	struct stream_hub *h = ctx;
	static __thread struct upgrade_request r;
	struct udp_endpoint peer;
	enum stream_count why = STREAM_C_COUNT;
	struct slot *s;
	bool join;

	(void)req;
	count(h, STREAM_C_UPGRADES);
	peer_of(c, &peer);
	if (from_tunnel(h, &peer)) {
		count(h, STREAM_C_LOOP);
		return FRONT_DECLINE;
	}
	if (check_token(h, head, head_len, &r) != UPGRADE_OK)
		return FRONT_DECLINE;
	/* message 1 travels as is in the token (the token masks it); a
	 * joining packet in the session's wire format (masked with stealth) */
	join = !is_init(r.msg, r.msg_len);
	if (!join)
		why = init_guards(h, &peer, r.msg, r.msg_len);
	else if (!h->cfg.stealth && r.msg[0] != MSG_TRANSPORT)
		why = STREAM_C_BAD_MSG;
	if (why != STREAM_C_COUNT) {
		count(h, why);
		return FRONT_DECLINE;
	}
	s = slot_open(h, c);
	if (!s) {
		count(h, STREAM_C_FULL);
		return FRONT_DECLINE;
	}
	memcpy(s->key_b64, r.key_b64, sizeof(s->key_b64));
	if (!hs_push(h, slot_id(h, s), &peer, r.msg, r.msg_len, join)) {
		slot_close(s);
		count(h, STREAM_C_HS_QUEUE);
		return FRONT_DECLINE;
	}
	front_conn_set_io(c, on_io, s);
	front_conn_set_deadline(c, ADMISSION_DEADLINE_MS);
	return FRONT_ADOPT;
}

/* ---- answers from the control thread ---- */

struct answer {
	struct stream_hub *hub;
	uint64_t id;
	bool accept;
	size_t len;
	uint8_t msg[];
};

static void http_date(char *buf, size_t cap)
{
	time_t now = (time_t)(loop_unix_ns() / LL_NS_PER_S);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The 101 (and message 2 as the first frame) on a waiting stream. */
static void open_stream(struct stream_hub *h, struct slot *s, const struct answer *a)
{
	char head[512], date[64];
	size_t len;

	http_date(date, sizeof(date));
	if (upgrade_response_write(head, sizeof(head), &len, s->key_b64, h->cfg.server_header,
				   date) < 0) {
		decline(h, s, STREAM_C_REFUSED);
		return;
	}
	front_conn_set_deadline(s->conn, 0);
	s->state = SC_OPEN;
	count(h, STREAM_C_ADOPTED);
	(void)out_put(s, head, len, NULL, 0);
	if (a->len)
		(void)out_frame(s, WS_OP_BINARY, a->msg, a->len);
	if (flush_out(h, s))
		read_frames(h, s); /* anything the client sent meanwhile */
}

static void on_answer(void *arg)
{
	struct answer *a = arg;
	struct stream_hub *h = a->hub;
	struct slot *s = slot_of(h, a->id);

	if (s->state == SC_FREE || slot_id(h, s) != a->id) {
		free(a);
		return; /* the connection ended meanwhile */
	}
	if (s->state == SC_PENDING && !a->accept)
		decline(h, s, STREAM_C_REFUSED);
	else if (s->state == SC_PENDING)
		open_stream(h, s, a);
	else if (a->accept && a->len && out_frame(s, WS_OP_BINARY, a->msg, a->len))
		(void)flush_out(h, s); /* message 2 of a rekey */
	free(a);
}

static void post_answer(struct stream_hub *h, uint64_t id, bool accept, const uint8_t *msg,
			size_t len)
{
	struct answer *a = malloc(sizeof(*a) + len);

	if (!a)
		return; /* the deadline declines it */
	a->hub = h;
	a->id = id;
	a->accept = accept;
	a->len = len;
	if (len)
		memcpy(a->msg, msg, len);
	if (!h->front || front_post(h->front, on_answer, a) < 0)
		free(a);
}

void stream_accept(struct stream_hub *h, uint64_t id, const uint8_t *msg, size_t len)
{
	post_answer(h, id, true, msg, msg ? len : 0);
}

void stream_refuse(struct stream_hub *h, uint64_t id)
{
	post_answer(h, id, false, NULL, 0);
}

/* ---- life ---- */

struct stream_hub *stream_hub_new(const struct stream_hub_config *cfg)
{
	struct stream_hub *h = calloc(1, sizeof(*h));
	uint8_t hk[16];

	if (!h)
		return NULL;
	h->cfg = *cfg;
	h->slots = calloc(cfg->max_streams, sizeof(*h->slots));
	if (!h->slots || rng_fill(&rng_system, hk, sizeof(hk)) < 0)
		goto fail;
	for (unsigned i = 0; i < cfg->max_streams; i++) {
		pthread_mutex_init(&h->slots[i].lock, NULL);
		h->slots[i].hub = h;
	}
	h->replay = upgrade_replay_new(REPLAY_CAPACITY, hk);
	if (!h->replay || upgrade_key_derive(&h->key, cfg->server_pub) < 0 ||
	    cookie_checker_init_shared(&h->cookies, cfg->server_pub, cfg->cookie) < 0)
		goto fail;
	return h;
fail:
	stream_hub_free(h);
	return NULL;
}

void stream_hub_attach(struct stream_hub *h, struct front *f)
{
	h->front = f;
	front_set_upgrade(f, on_upgrade, h);
}

void stream_hub_free(struct stream_hub *h)
{
	if (!h)
		return;
	if (h->slots) {
		for (unsigned i = 0; i < h->cfg.max_streams; i++) {
			free(h->slots[i].ring);
			pthread_mutex_destroy(&h->slots[i].lock);
		}
		free(h->slots);
	}
	upgrade_replay_free(h->replay);
	cookie_checker_done(&h->cookies);
	ct_wipe(&h->key, sizeof(h->key));
	free(h);
}
