/* The client daemon's shell; the model is in client.h and client_sm.h.
 *
 * Sessions. cur is the session in use; after a rekey the previous one is
 * kept as prev for receiving only (docs/protocol.md §8): for
 * CLIENT_PREV_GRACE_S after the server's first packet under cur shows it
 * switched (packets it sealed just before may still be on their way), or
 * CLIENT_PREV_KEEP_S if none comes. While packets still come under prev
 * only, the server has not seen our key confirmation: it is sent again,
 * once a second at most.
 *
 * Buffers. Datagrams are received in batches (recvmmsg) into the slots of
 * a buffer pool; packets read from the TUN device are sealed in place in
 * pool buffers and sent in one sendmmsg at the end of the loop turn.
 * Buffers are sized for any MTU, but the pool is a lazily committed
 * mapping, so only the bytes packets touch cost memory. Handshakes and
 * keepalives use their own small buffer and go out at once. Nothing is
 * allocated per packet.
 *
 * Stealth (docs/protocol.md §12), when client.toml's [obfuscation]
 * stealth_mode is not off: message 1 is framed and padded (in maximum
 * mode after 1-3 junk datagrams), every transport packet is padded to a
 * bucket and its header masked, and what arrives is classified by
 * unmasking: a transport packet of cur or prev, else a framed message 2
 * or cookie reply, else dropped. Each session (cur, prev) has its own
 * stealth state beside its transport.
 *
 * Transports (docs/obfuscation.md, "Client transports"). Every message
 * goes by UDP, or, when on_tls, as a frame of the stream path (a TLS +
 * WebSocket connection to the server's front, client_ws.h). transport =
 * "tls" always uses the stream; "auto" starts on UDP and moves the session
 * (no new handshake) to a stream when UDP stops answering: message 1
 * retried once without an answer, or nothing received for
 * FAILOVER_AFTER_MS after sending while path probes on UDP stay
 * unanswered; the new connection's upgrade request carries a keepalive of
 * the session (docs/protocol.md §11.6). On the stream, a UDP path probe
 * every UDP_RETRY_MS tests UDP; its reply moves the session back. A path
 * probe from the server is answered on the path it came by. */
#include "client/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "client/client_sm.h"
#include "client/client_ws.h"
#include "dataplane/drop.h"
#include "dataplane/rxcut.h"
#include "dataplane/pool.h"
#include "core/sandbox.h"
#include "crypto/ct.h"
#include "crypto/rng.h"
#include "front/upgrade.h"
#include "io/loop.h"
#include "io/rtnl.h"
#include "io/tun.h"
#include "io/udp.h"
#include "network/dns.h"
#include "obfuscation/shaper.h"
#include "obfuscation/stealth.h"
#include "network/route.h"
#include "protocol/control.h"
#include "protocol/handshake.h"
#include "protocol/transport.h"
#include "util/endian.h"
#include "util/log.h"

#define TICK_MS		    250
#define PACKETS_PER_CALL    64
#define CLIENT_PREV_KEEP_S  10
#define CLIENT_PREV_GRACE_S 5
#define DEFAULT_MTU	    1420
#define SOCKET_BUFFER	    (4 << 20)
#define BUF_SIZE	    (TRANSPORT_HEADER_LEN + 65535 + 15 + CIPHER_MAX_OVERHEAD)
/* handshakes, keepalives, control (stealth pads them up to the MTU) */
#define MSG_SIZE	   (TRANSPORT_HEADER_LEN + 9000 + 15 + CIPHER_MAX_OVERHEAD)
#define FRAME_SIZE	   (STEALTH_HS_OVERHEAD + INIT_LEN_KEM + STEALTH_HS_PAD_MAX)
#define POOL_COUNT	   (3 * UDP_BATCH) /* receive slots + send batch + spare */
#define COVER_MAX_PER_TICK 32		   /* full cover packets a tick at most */
/* auto: a UDP probe when nothing came for PROBE_AFTER_MS after a send,
 * every PROBE_GAP_MS; the stream after FAILOVER_AFTER_MS of that */
#define PROBE_AFTER_MS	  700
#define PROBE_GAP_MS	  400
#define FAILOVER_AFTER_MS 2000
#define UDP_RETRY_MS	  2000		     /* on the stream: a UDP probe this often */
#define WS_RETRY_MS	  1000		     /* a lost stream: the next one after this */
#define WS_WARN_GAP_NS	  (30 * LL_NS_PER_S) /* failed connections: one line per 30 s */
_Static_assert(BUF_SIZE >= UDP_GRO_BUF_MIN, "a receive slot holds any GRO message");

/* A session's stealth state: its send buckets and masks, its receive
 * mask, and (maximum) its handshake chaff decisions. */
struct client_stealth {
	struct stealth_tx tx;
	struct stealth_rx rx;
	struct shaper shaper; /* per_flow 0: off */
};

struct client {
	const struct client_config *cfg;
	struct client_sm sm;
	struct handshake_initiator hs;
	struct transport cur, prev;
	bool has_cur, has_prev;
	enum stealth_mode stealth; /* off: today's wire */
	struct stealth_keys stealth_keys;
	struct stealth_ctx stealth_ctx;
	struct client_stealth cur_st, prev_st; /* beside cur and prev */
	uint64_t prev_expiry_ns;
	uint64_t switched_ns;	  /* the server's first packet under cur, 0 = not yet */
	uint64_t confirm_sent_ns; /* our last key confirmation (keepalive under cur) */
	bool mtu_warned;
	struct dns_server dns_tried[DNS_MAX]; /* the pushed DNS servers last applied */
	unsigned n_dns_tried;
	struct udp_endpoint server;
	int udp_fd, tun_fd, signal_fd;
	struct loop *loop;
	struct loop_op udp_op, tun_op, signal_op;
	struct signalfd_siginfo sig_buf;
	char tun_name[IFNAMSIZ];
	struct tun_config tun_applied;
	struct route_state routes;
	bool dns_applied;
	int status;
	uint64_t drops[DP_DROP_COUNT]; /* by reason (dataplane/drop.h) */
	/* statistics (SIGUSR1) */
	uint64_t rx_packets, prev_packets, late_prev_packets, probes_answered, configs;
	uint64_t cover_sent, cover_credit; /* stealth maximum's cover traffic */
	uint64_t chaff_sent;		   /* and its handshake chaff */
	struct pool pool;
	uint8_t *rx_bufs[UDP_BATCH];
	struct udp_batch rx, tx;
	uint8_t msg[MSG_SIZE];
	uint8_t frame[FRAME_SIZE]; /* a framed handshake message, or junk */
	/* the stream path */
	struct upgrade_key up_key;
	struct udp_endpoint tls_server;
	struct client_ws *ws;
	struct loop_op ws_op;
	bool ws_join;	     /* its request carries a keepalive, not message 1 */
	bool ws_dead;	     /* ended inside a callback: freed after it */
	bool on_tls;	     /* messages go by the stream */
	bool h1_only;	     /* the server chose h2 once: offer http/1.1 alone */
	bool rx_tls;	     /* the message being handled came by it */
	uint64_t ws_next_ns; /* no new connection before this */
	uint64_t ws_warned_ns;
	uint64_t udp_probe_ns, lost_ns;
	uint8_t udp_challenge[8];
	uint64_t switches_tls, switches_udp;
};

static void fatal(struct client *c, const char *what, int err)
{
	log_error(LOG_GROUP_CORE, "%s: %s", what, strerror(-err));
	c->status = 1;
	loop_stop(c->loop);
}

static void drop(struct client *c, enum dp_drop d)
{
	c->drops[d]++;
}

/* Session indices and jitter. Without the system's random generator no
 * handshake is safe: the client stops (the loop ends after this turn). */
static uint32_t random32(struct client *c)
{
	uint32_t v = 0;

	if (rng_fill(&rng_system, (uint8_t *)&v, sizeof(v)) < 0)
		fatal(c, "the system random generator failed", -EIO);
	return v;
}

/* ---- the UDP socket ---- */

static void on_udp(struct loop *l, struct loop_op *op, int res);

static void close_socket(struct client *c)
{
	if (c->udp_fd < 0)
		return;
	(void)loop_cancel(c->loop, &c->udp_op);
	close(c->udp_fd);
	c->udp_fd = -1;
}

/* A fresh socket connected to the server, marked so that a full-tunnel
 * policy rule lets it bypass the tunnel (network/route.h). */
static int open_socket(struct client *c)
{
	struct udp_endpoint any;
	struct udp_options o = {.mark = ROUTE_FWMARK, .gro = true, .buffer_bytes = SOCKET_BUFFER};
	int fd, r;

	close_socket(c);
	(void)udp_endpoint_parse(&any, c->server.sa.sa_family == AF_INET ? "0.0.0.0" : "::", 0);
	r = udp_open(&any, &o, &fd);
	if (r < 0)
		return r;
	if (connect(fd, &c->server.sa, c->server.len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	c->udp_fd = fd;
	c->tx.gso_off = false; /* a new path: try GSO again */
	c->udp_op = (struct loop_op){.kind = LOOP_OP_POLL, .fd = fd, .done = on_udp, .ctx = c};
	return loop_submit(c->loop, &c->udp_op);
}

static void ws_update(struct client *c);

/* One message on the stream (a frame) or by UDP. */
static int send_on(struct client *c, const uint8_t *buf, size_t len, bool tls)
{
	if (tls) {
		int r = c->ws ? client_ws_send(c->ws, buf, len) : -ENOTCONN;
		if (r < 0)
			return r == -EMSGSIZE ? r : -EAGAIN; /* lost: the stream logic recovers */
		ws_update(c);
	} else {
		if (c->udp_fd < 0)
			return -ENOTCONN;
		if (send(c->udp_fd, buf, len, MSG_DONTWAIT) < 0)
			return -errno;
	}
	client_sm_sent(&c->sm, loop_now_ns());
	return 0;
}

static int send_datagram(struct client *c, const uint8_t *buf, size_t len)
{
	return send_on(c, buf, len, c->on_tls);
}

/* ---- the stream path ---- */

static void on_ws(struct loop *l, struct loop_op *op, int res);
static void on_datagram(struct client *c, uint8_t *buf, size_t len);

static void ws_close(struct client *c)
{
	if (!c->ws)
		return;
	(void)loop_cancel(c->loop, &c->ws_op);
	client_ws_free(c->ws);
	c->ws = NULL;
}

/* The loop waits for what the connection needs (POLLOUT only while
 * output waits). */
static void ws_update(struct client *c)
{
	unsigned ev;

	if (!c->ws || c->ws_dead)
		return;
	ev = client_ws_events(c->ws);
	if (ev != c->ws_op.events) {
		c->ws_op.events = ev;
		(void)loop_modify(c->loop, &c->ws_op);
	}
}

/* A new connection whose upgrade request carries msg: message 1, or
 * (join) a sealed keepalive of the current session. */
static int ws_start(struct client *c, const uint8_t *msg, size_t len, bool join)
{
	const struct client_config *cfg = c->cfg;
	uint8_t ip[16];
	bool numeric = inet_pton(AF_INET, cfg->server_host, ip) == 1 ||
		       inet_pton(AF_INET6, cfg->server_host, ip) == 1;
	/* sni: as configured, else the server's name (no SNI for an address,
	 * as browsers do); Host: as configured, else the SNI, else the
	 * server's host (an address, bracketed if IPv6) */
	const char *sni = cfg->sni[0] ? cfg->sni : numeric ? "" : cfg->server_host;
	char host[sizeof(cfg->server_host) + 2];
	struct client_ws_config wc = {
	    .sni = sni,
	    .host = host,
	    .path = cfg->ws_path,
	    .verify = cfg->tls_verify,
	    .mark = ROUTE_FWMARK,
	    .h1_only = c->h1_only,
	    .key = &c->up_key,
	};
	uint16_t port = cfg->tls_port ? cfg->tls_port : cfg->server_port;
	int r;

	if (cfg->http_host[0] || sni[0])
		snprintf(host, sizeof(host), "%s", cfg->http_host[0] ? cfg->http_host : sni);
	else
		snprintf(host, sizeof(host), strchr(cfg->server_host, ':') ? "[%s]" : "%s",
			 cfg->server_host);
	ws_close(c);
	c->tls_server = c->server;
	if (c->tls_server.sa.sa_family == AF_INET)
		c->tls_server.in4.sin_port = htons(port);
	else
		c->tls_server.in6.sin6_port = htons(port);
	r = client_ws_open(&c->ws, &wc, &c->tls_server, msg, len, loop_unix_ns() / LL_NS_PER_S);
	if (r < 0) {
		log_debug(LOG_GROUP_CORE, "cannot open a TLS connection: %s", strerror(-r));
		return r;
	}
	c->ws_join = join;
	c->ws_dead = false;
	c->ws_op = (struct loop_op){.kind = LOOP_OP_POLL,
				    .fd = client_ws_fd(c->ws),
				    .events = client_ws_events(c->ws),
				    .done = on_ws,
				    .ctx = c};
	r = loop_submit(c->loop, &c->ws_op);
	if (r < 0)
		ws_close(c);
	return r;
}

static uint64_t ms_since(uint64_t now, uint64_t then)
{
	return then && now > then ? (now - then) / 1000000 : 0;
}

/* The session's packets go by the stream from now on. */
static void to_tls(struct client *c, uint64_t now)
{
	c->on_tls = true;
	c->switches_tls++;
	log_info(LOG_GROUP_CORE, "transport: tls (%" PRIu64 " ms after the last packet by udp)",
		 ms_since(now, c->lost_ns));
}

/* UDP answered again: back to it; the stream is closed. */
static void to_udp(struct client *c, uint64_t now)
{
	c->on_tls = false;
	c->switches_udp++;
	c->lost_ns = 0;
	if (c->rx_tls)
		c->ws_dead = true; /* inside its callback: closed after it */
	else
		ws_close(c);
	log_info(LOG_GROUP_CORE, "transport: udp (%" PRIu64 " ms after the probe)",
		 ms_since(now, c->udp_probe_ns));
}

static void on_ws_msg(void *ctx, uint8_t *msg, size_t len)
{
	struct client *c = ctx;

	c->rx_tls = true;
	on_datagram(c, msg, len);
	c->rx_tls = false;
}

static void ws_lost(struct client *c, int err)
{
	uint64_t now = loop_now_ns();

	if (c->ws_dead) {
		/* closed on purpose (back on UDP) */
	} else if (client_ws_state(c->ws) != CLIENT_WS_OPEN &&
		   now - c->ws_warned_ns >= WS_WARN_GAP_NS) {
		/* never opened: the operator needs to know why (a certificate,
		 * a proxy), once in a while, not per retry */
		c->ws_warned_ns = now;
		log_warn(LOG_GROUP_CORE, "TLS connection to the server failed: %s",
			 client_ws_error(c->ws));
	} else {
		log_debug(LOG_GROUP_CORE, "TLS connection ended: %s (%s)", client_ws_error(c->ws),
			  strerror(-err));
	}
	ws_close(c);
	c->ws_dead = false;
	c->ws_next_ns = now + (uint64_t)WS_RETRY_MS * 1000000;
	if (err == -EPROTONOSUPPORT && !c->h1_only) {
		c->h1_only = true; /* HTTP/2 carries no WebSocket upgrade (RFC 8441 aside) */
		log_warn(LOG_GROUP_CORE, "the server chose HTTP/2: offering http/1.1 alone");
	}
	if (c->cfg->transport == CLIENT_TRANSPORT_AUTO && c->on_tls &&
	    c->sm.state == CLIENT_CONNECTED) {
		c->on_tls = false; /* try UDP; the failover logic comes back if need be */
		c->lost_ns = now;
	}
}

static void on_ws(struct loop *l, struct loop_op *op, int res)
{
	struct client *c = op->ctx;
	bool opened = false;
	int r;

	(void)l;
	(void)res;
	if (!c->ws)
		return;
	r = client_ws_io(c->ws, on_ws_msg, c, &opened);
	if (opened && c->ws_join && !c->ws_dead)
		to_tls(c, loop_now_ns());
	else if (opened)
		log_info(LOG_GROUP_CORE, "transport: tls (the handshake)");
	if (r < 0 || c->ws_dead)
		ws_lost(c, r < 0 ? r : -ECONNRESET);
	else
		ws_update(c);
}

/* ---- sessions ---- */

/* Maximum stealth: 1-3 datagrams of random bytes and sizes before each
 * message 1, which the server drops unanswered (docs/protocol.md §12.6). */
static void send_junk(struct client *c)
{
	unsigned n = stealth_junk_count(&rng_system);

	for (unsigned i = 0; i < n; i++) {
		size_t len = stealth_junk_len(&rng_system);

		if (len && len <= sizeof(c->frame) && rng_fill(&rng_system, c->frame, len) == 0)
			(void)send_datagram(c, c->frame, len);
	}
}

/* Message 1 as it goes on the wire: framed with stealth, as is without.
 * Returns its length, 0 if it cannot go. */
static size_t frame_init(struct client *c, size_t len, const uint8_t **ret)
{
	size_t wire;

	*ret = c->msg;
	if (c->stealth == STEALTH_MODE_OFF)
		return len;
	wire = stealth_hs_wire_len(&rng_system, len, stealth_hs_own_limit(len));
	if (!wire || wire > sizeof(c->frame) ||
	    stealth_hs_wrap(&c->stealth_ctx, &rng_system, c->msg, len, c->frame, wire) < 0)
		return 0;
	*ret = c->frame;
	return wire;
}

static void send_init(struct client *c)
{
	size_t len;
	const uint8_t *wire;
	enum handshake_result r =
	    handshake_create_init(&c->hs, random32(c) | 1, loop_unix_ns(), loop_now_ns(),
				  &rng_system, c->msg, sizeof(c->msg), &len);
	int err = -EIO;

	if (r != HS_OK) {
		log_error(LOG_GROUP_HS, "cannot create a handshake: %s", handshake_result_name(r));
		return;
	}
	if (c->on_tls && !(c->ws && client_ws_state(c->ws) == CLIENT_WS_OPEN)) {
		err = ws_start(c, c->msg, len, false); /* message 1 as is in the upgrade */
	} else {
		if (c->stealth == STEALTH_MODE_MAXIMUM && !c->on_tls)
			send_junk(c); /* first: it uses c->frame too */
		len = frame_init(c, len, &wire);
		if (len)
			err = send_datagram(c, wire, len);
	}
	if (err < 0)
		log_debug(LOG_GROUP_HS, "cannot send the handshake: %s", strerror(-err));
	client_sm_init_sent(&c->sm, loop_now_ns());
}

static void stealth_done(struct client_stealth *st)
{
	stealth_tx_done(&st->tx);
	stealth_rx_done(&st->rx);
}

static void drop_prev(struct client *c)
{
	if (c->has_prev) {
		transport_done(&c->prev);
		stealth_done(&c->prev_st);
	}
	c->has_prev = false;
}

static void drop_sessions(struct client *c)
{
	if (c->has_cur) {
		transport_done(&c->cur);
		stealth_done(&c->cur_st);
	}
	c->has_cur = false;
	drop_prev(c);
}

/* The state machine went to BACKOFF: say so (a stable line) and stop
 * using the session; the device and routes stay. */
static void backoff_started(struct client *c)
{
	log_info(LOG_GROUP_CORE, "reconnecting in %u ms: %s", c->sm.delay_ms, c->sm.reason);
	/* a server with another stealth_mode drops everything silently */
	if (!strcmp(c->sm.reason, "no answer from the server"))
		log_info(LOG_GROUP_CORE,
			 "no answer: check stealth_mode matches the server (this client: %s)",
			 c->stealth == STEALTH_MODE_OFF	      ? "off"
			 : c->stealth == STEALTH_MODE_MAXIMUM ? "maximum"
							      : "standard");
	drop_sessions(c);
}

static void fail(struct client *c, const char *reason)
{
	if (c->sm.state == CLIENT_BACKOFF)
		return;
	client_sm_fail(&c->sm, loop_now_ns(), reason, random32(c));
	backoff_started(c);
}

static bool is_path_error(int err)
{
	return err == -ENETUNREACH || err == -EADDRNOTAVAIL || err == -EHOSTUNREACH ||
	       err == -ENETDOWN;
}

/* Errors of a send that say nothing about the server: congestion, and
 * ICMP port unreachable (ignored as WireGuard does: anyone can forge it). */
static bool is_transient(int err)
{
	return err == -EAGAIN || err == -ENOBUFS || err == -ECONNREFUSED;
}

static void ws_join(struct client *c, uint64_t now);

static void after_send(struct client *c, int err)
{
	if (err == 0 || is_transient(err))
		return;
	/* auto: UDP refused here (a local firewall, no route): the stream,
	 * at once if the session is up (the failover logic otherwise) */
	if (c->cfg->transport == CLIENT_TRANSPORT_AUTO && !c->on_tls) {
		uint64_t now = loop_now_ns();
		if (c->sm.state == CLIENT_CONNECTED && !c->ws && now >= c->ws_next_ns)
			ws_join(c, now);
		return;
	}
	if (is_path_error(err) && open_socket(c) == 0)
		return; /* our address changed: a new socket, and the server roams */
	fail(c, "cannot send to the server");
}

/* Seals with t (and, with stealth, pads to st's bucket and masks the
 * header), never padding past the tunnel's MTU (docs/protocol.md §10). */
static enum transport_result seal_any(struct client *c, struct transport *t,
				      struct client_stealth *st, uint8_t *buf, size_t cap,
				      size_t plain_len, size_t *ret_len, uint64_t now, bool cover)
{
	size_t tags = cipher_overhead(t->tx.cipher.mode);
	enum transport_result r;

	cap = transport_pad_cap(t, cap, plain_len, c->tun_applied.mtu);
	if (c->stealth == STEALTH_MODE_OFF)
		return transport_seal(t, buf, cap, plain_len, 16, ret_len, now);
	plain_len = cover ? stealth_pad_max(&st->tx, buf, cap, tags, plain_len)
			  : stealth_pad(&st->tx, buf, cap, tags, plain_len);
	r = transport_seal(t, buf, cap, plain_len, 1, ret_len, now);
	if ((r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY) &&
	    stealth_tx_mask(&st->tx, buf, *ret_len) < 0)
		return TRANSPORT_E_INTERNAL;
	return r;
}

static enum transport_result seal_with(struct client *c, struct transport *t,
				       struct client_stealth *st, uint8_t *buf, size_t cap,
				       size_t plain_len, size_t *ret_len, uint64_t now)
{
	return seal_any(c, t, st, buf, cap, plain_len, ret_len, now, false);
}

/* Seals the plaintext at TRANSPORT_HEADER_LEN in buf with cur; false
 * if the packet cannot go (counted, or the session is over). */
static bool seal(struct client *c, uint8_t *buf, size_t cap, size_t plain_len, size_t *ret_len)
{
	uint64_t now = loop_now_ns();
	enum transport_result r;

	if (!c->has_cur) {
		drop(c, DP_DROP_NO_SESSION);
		return false;
	}
	r = seal_with(c, &c->cur, &c->cur_st, buf, cap, plain_len, ret_len, now);
	if (r == TRANSPORT_E_EXPIRED || r == TRANSPORT_E_EXHAUSTED) {
		fail(c, "the session keys expired");
		return false;
	}
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY) {
		drop(c, DP_DROP_SEAL);
		return false;
	}
	if (r == TRANSPORT_OK_REKEY && client_sm_want_rekey(&c->sm, now))
		send_init(c);
	return true;
}

/* Sends plain_len bytes at TRANSPORT_HEADER_LEN in c->msg at once
 * (keepalives, control messages). */
static void send_plain(struct client *c, size_t plain_len)
{
	size_t len;

	if (seal(c, c->msg, sizeof(c->msg), plain_len, &len))
		after_send(c, send_datagram(c, c->msg, len));
}

static void send_control(struct client *c, const struct control_msg *m)
{
	size_t len;

	if (control_encode(m, c->msg + TRANSPORT_HEADER_LEN, 64, &len) == 0)
		send_plain(c, len);
}

/* Sends the batch the TUN path queued: once per loop turn. */
static void flush(struct client *c)
{
	struct udp_batch *b = &c->tx;
	unsigned failed = 0;
	int err = 0;

	if (b->n == 0)
		return;
	if (c->on_tls) {
		for (unsigned i = 0; i < b->n; i++)
			failed += send_on(c, b->iov[i].iov_base, b->iov[i].iov_len, true) < 0;
		for (unsigned i = 0; i < b->n; i++)
			pool_put(&c->pool, b->iov[i].iov_base);
		c->drops[DP_DROP_STREAM] += failed;
		b->n = 0;
		return;
	}
	if (c->udp_fd >= 0)
		failed = udp_send_batch(c->udp_fd, b, &err);
	for (unsigned i = 0; i < b->n; i++)
		pool_put(&c->pool, b->iov[i].iov_base);
	c->drops[DP_DROP_UDP_SEND] += failed;
	if (failed < b->n)
		client_sm_sent(&c->sm, loop_now_ns());
	b->n = 0;
	if (failed)
		after_send(c, -err);
}

/* Queues a sealed pool buffer in the send batch (flushed once per loop
 * turn, or now if it is full). */
static void queue(struct client *c, uint8_t *buf, size_t len)
{
	if (!udp_batch_add(&c->tx, buf, len, &c->server)) {
		flush(c);
		(void)udp_batch_add(&c->tx, buf, len, &c->server);
	}
}

/* Stealth maximum's handshake chaff (obfuscation/shaper.h): how many to
 * send after the inner packet ip, sent (inbound false) or received. */
static unsigned chaff_due(struct client *c, const uint8_t *ip, size_t len, bool inbound)
{
	return shaper_packet(&c->cur_st.shaper, ip, len, inbound ? SHAPER_IN : SHAPER_OUT,
			     loop_now_ns(), &rng_system);
}

/* n chaff packets (keepalives in the largest bucket, as cover traffic)
 * queued after what the batch holds: never ahead of a real packet. */
static void queue_chaff(struct client *c, unsigned n)
{
	for (; n > 0 && c->has_cur; n--) {
		uint8_t *buf = pool_get(&c->pool);
		enum transport_result r;
		size_t len;

		if (!buf)
			return;
		r = seal_any(c, &c->cur, &c->cur_st, buf, BUF_SIZE, 0, &len, loop_now_ns(), true);
		if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY) {
			pool_put(&c->pool, buf);
			return;
		}
		queue(c, buf, len);
		c->chaff_sent++;
	}
}

/* ---- the tunnel device, routes and DNS ---- */

static void on_tun(struct loop *l, struct loop_op *op, int res);

static void tun_config_of(const struct client *c, const struct session_params *p,
			  struct tun_config *t)
{
	memset(t, 0, sizeof(*t));
	t->mtu = p->mtu ? p->mtu : DEFAULT_MTU;
	/* an MTU of our own, but none above the server's: it drops longer
	 * datagrams unread (docs/protocol.md §10) */
	if (c->cfg->mtu && c->cfg->mtu < t->mtu)
		t->mtu = c->cfg->mtu;
	t->has_addr4 = p->has_addr4;
	memcpy(t->addr4, p->addr4, 4);
	t->prefix4 = p->prefix4;
	t->has_addr6 = p->has_addr6;
	memcpy(t->addr6, p->addr6, 16);
	t->prefix6 = p->prefix6;
}

/* At start, while root (creating a device needs CAP_NET_ADMIN) and before
 * anything is sent: a new device (IFF_TUN_EXCL), so a second client with
 * the same tun_name stops here instead of stealing the first one's
 * session. It stays down and without addresses until the first handshake
 * (apply_network); the kernel, which owns the name, releases it when the
 * process dies: no stale lock. */
static int open_tun(struct client *c)
{
	int r = tun_open(c->cfg->tun_name, TUN_EXCLUSIVE, c->tun_name, &c->tun_fd);

	if (r == -EBUSY)
		log_error(LOG_GROUP_TUN,
			  "TUN device '%s' exists already: another lostlove-client (or another "
			  "program) uses it; stop it or choose another client.tun_name",
			  c->cfg->tun_name);
	else if (r < 0)
		log_error(LOG_GROUP_TUN, "cannot create TUN device '%s': %s", c->cfg->tun_name,
			  strerror(-r));
	if (r < 0)
		return r;
	c->tun_op =
	    (struct loop_op){.kind = LOOP_OP_POLL, .fd = c->tun_fd, .done = on_tun, .ctx = c};
	return loop_submit(c->loop, &c->tun_op);
}

static void prefixes_of(const struct client_config *cfg, struct route_prefix *p)
{
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		p[i].family = cfg->routes[i].family;
		memcpy(p[i].addr, cfg->routes[i].addr, 16);
		p[i].len = cfg->routes[i].len;
	}
}

/* At start, before anything is added: what a killed run of a full tunnel
 * left behind (its rules, nftables table) is removed, so that the rules
 * exist once (network/route.h). */
static void sweep_routes(struct client *c)
{
	struct route_prefix p[CONFIG_MAX_ROUTES];
	int r;

	prefixes_of(c->cfg, p);
	r = route_begin(&c->routes, p, c->cfg->n_routes);
	if (r > 0)
		log_info(LOG_GROUP_CORE, "removed %d rule(s)/route(s) left by an earlier run", r);
	else if (r < 0)
		log_warn(LOG_GROUP_CORE, "cannot remove what an earlier run left: %s",
			 strerror(-r));
}

static void apply_routes(struct client *c)
{
	struct route_prefix p[CONFIG_MAX_ROUTES];
	const struct client_config *cfg = c->cfg;
	char err[128] = "";
	int n;

	prefixes_of(cfg, p);
	n = route_apply(&c->routes, (int)if_nametoindex(c->tun_name), p, cfg->n_routes, err,
			sizeof(err));
	if (n != 0)
		log_warn(LOG_GROUP_CORE, "%d routing step(s) failed; first: %s", n, err);
}

/* Through the DNS helper (network/dns.h), once. */
static void apply_dns(struct client *c, const struct session_params *p)
{
	struct dns_server list[DNS_MAX];
	char all[DNS_MAX * INET6_ADDRSTRLEN] = "", text[INET6_ADDRSTRLEN];
	unsigned n = 0;
	size_t len = 0;
	int r;

	for (unsigned i = 0; i < p->n_dns4 && n < DNS_MAX; i++, n++) {
		list[n] = (struct dns_server){.family = AF_INET};
		memcpy(list[n].addr, p->dns4[i], 4);
	}
	for (unsigned i = 0; i < p->n_dns6 && n < DNS_MAX; i++, n++) {
		list[n] = (struct dns_server){.family = AF_INET6};
		memcpy(list[n].addr, p->dns6[i], 16);
	}
	/* once per list: a CONFIG may bring the servers message 2 had no
	 * room for (docs/protocol.md §2.2) */
	if (!c->cfg->use_server_dns || n == 0 ||
	    (n == c->n_dns_tried && memcmp(list, c->dns_tried, n * sizeof(list[0])) == 0))
		return;
	memcpy(c->dns_tried, list, n * sizeof(list[0]));
	c->n_dns_tried = n;
	r = dns_apply(c->tun_name, list, n);
	c->dns_applied = r == 0;
	if (r == 0)
		return;
	/* Names are still resolved by the system's resolver, which may sit on
	 * the local network and so be asked outside the tunnel: a warning,
	 * naming the servers so that they can be set by hand. */
	for (unsigned i = 0; i < n && len < sizeof(all); i++)
		len +=
		    (size_t)snprintf(all + len, sizeof(all) - len, "%s%s", i ? " " : "",
				     inet_ntop(list[i].family, list[i].addr, text, sizeof(text)));
	log_warn(LOG_GROUP_CORE,
		 "DNS servers from the server not applied: %s; the system resolver is unchanged "
		 "(servers: %s)",
		 r == -ENOENT ? "resolvectl (systemd-resolved) not found" : "resolvectl failed",
		 all);
}

/* The first handshake configures the device (created at start, down
 * until now) and adds the routes; later ones change only what the server
 * changed. */
static int apply_network(struct client *c, const struct session_params *p)
{
	struct tun_config t;
	bool first = c->tun_applied.mtu == 0; /* never 0 once applied */
	int r;

	tun_config_of(c, p, &t);
	if (!first && memcmp(&t, &c->tun_applied, sizeof(t)) == 0)
		return 0;
	if (!first)
		(void)tun_unconfigure(c->tun_name, &c->tun_applied);
	r = tun_configure(c->tun_name, &t);
	if (r < 0)
		return r;
	c->tun_applied = t;
	if (first)
		apply_routes(c);
	apply_dns(c, p);
	return 0;
}

static void log_connected(const struct session_params *p)
{
	char addr[INET6_ADDRSTRLEN] = "";

	if (p->has_addr4)
		inet_ntop(AF_INET, p->addr4, addr, sizeof(addr));
	else if (p->has_addr6)
		inet_ntop(AF_INET6, p->addr6, addr, sizeof(addr));
	log_info(LOG_GROUP_CORE, "connected: %s/%u", addr, p->has_addr4 ? p->prefix4 : p->prefix6);
}

/* ---- receiving ---- */

static void limits_of(const struct session_params *p, struct transport_limits *l)
{
	uint32_t rekey = p->rekey_time_s ? p->rekey_time_s : LL_REKEY_AFTER_TIME;

	transport_limits_default(l);
	l->key_update_bytes = p->update_bytes;
	l->rekey_after_ns = (uint64_t)rekey * LL_NS_PER_S;
	l->reject_after_ns = (uint64_t)(rekey + LL_REJECT_AFTER_TIME_EXTRA) * LL_NS_PER_S;
}

/* A new session's stealth state: the session's bucket table (the
 * server's, from the session's MTU: stealth_table_rng), cut at this
 * client's own MTU if that is lower. */
static int stealth_init(struct client *c, struct client_stealth *st,
			const struct transport_keys *keys, const struct session_params *p)
{
	size_t tags = cipher_overhead(keys->mode);
	size_t mtu = p->mtu ? p->mtu : DEFAULT_MTU;
	struct rng_det det;
	struct rng table;
	int r;

	memset(st, 0, sizeof(*st));
	if (c->stealth == STEALTH_MODE_OFF)
		return 0;
	r = stealth_table_rng(&det, keys->send_secret); /* the initiator sends with T_i2r */
	table = rng_det_as_rng(&det);
	if (r == 0)
		r = stealth_tx_init(&st->tx, c->stealth, &c->stealth_keys, keys->send_secret,
				    TRANSPORT_HEADER_LEN + tags, TRANSPORT_HEADER_LEN + mtu + tags,
				    &table);
	ct_wipe(&det, sizeof(det));
	if (r == 0 && c->cfg->mtu && c->cfg->mtu < mtu)
		stealth_buckets_clamp(&st->tx.buckets, TRANSPORT_HEADER_LEN + c->cfg->mtu + tags);
	if (r == 0)
		r = stealth_rx_init(&st->rx, keys->recv_secret);
	if (r == 0 && c->stealth == STEALTH_MODE_MAXIMUM)
		r = shaper_init(&st->shaper, c->cfg->handshake_chaff, &rng_system);
	if (r < 0)
		stealth_done(st);
	return r;
}

/* The new session becomes cur; the old one stays for receiving. */
static int install(struct client *c, const struct transport_keys *keys,
		   const struct session_params *p, uint64_t now)
{
	struct transport_limits limits;

	limits_of(p, &limits);
	drop_prev(c);
	c->has_prev = c->has_cur;
	if (c->has_cur) {
		c->prev = c->cur;
		c->prev_st = c->cur_st;
	}
	c->prev_expiry_ns = now + (uint64_t)CLIENT_PREV_KEEP_S * LL_NS_PER_S;
	c->switched_ns = 0;
	c->has_cur = false;
	if (stealth_init(c, &c->cur_st, keys, p) < 0)
		return -ENOMEM;
	c->has_cur = transport_init(&c->cur, keys, &limits, now) == 0;
	if (!c->has_cur)
		stealth_done(&c->cur_st);
	return c->has_cur ? 0 : -ENOMEM;
}

static void on_response(struct client *c, const uint8_t *msg, size_t len)
{
	struct transport_keys keys;
	struct session_params p;
	uint64_t now = loop_now_ns();
	enum handshake_result hr = handshake_consume_response(&c->hs, msg, len, &keys, &p);
	int r;

	if (hr != HS_OK) {
		drop(c, DP_DROP_HANDSHAKE);
		log_debug(LOG_GROUP_HS, "handshake response refused: %s",
			  handshake_result_name(hr));
		goto out;
	}
	r = install(c, &keys, &p, now);
	if (r == 0)
		r = apply_network(c, &p);
	if (r < 0) {
		fatal(c, "cannot set up the tunnel", r);
		goto out;
	}
	log_connected(&p);
	if (c->cfg->mtu > p.mtu && p.mtu && !c->mtu_warned) {
		log_warn(LOG_GROUP_CORE, "mtu %u is above the server's %u: using %u", c->cfg->mtu,
			 p.mtu, p.mtu);
		c->mtu_warned = true;
	}
	client_sm_established(&c->sm, now, p.keepalive_s, p.rekey_time_s);
	send_plain(c, 0); /* key confirmation */
	c->confirm_sent_ns = now;
out:
	ct_wipe(&keys, sizeof(keys));
}

static void on_cookie(struct client *c, const uint8_t *msg, size_t len)
{
	if (handshake_consume_cookie(&c->hs, msg, len, loop_now_ns()) != HS_OK) {
		drop(c, DP_DROP_HANDSHAKE);
		return;
	}
	log_debug(LOG_GROUP_HS, "cookie received: the server is under load");
	send_init(c); /* now with mac2 */
}

static struct transport *session_for(struct client *c, uint32_t index, uint64_t now)
{
	if (c->has_cur && c->cur.local_index == index)
		return &c->cur;
	if (c->has_prev && c->prev.local_index == index && now < c->prev_expiry_ns)
		return &c->prev;
	return NULL;
}

static void on_disconnect(struct client *c, uint8_t reason)
{
	static const char *const reasons[] = {
	    [DISCONNECT_SHUTDOWN] = "the server is shutting down",
	    [DISCONNECT_KICKED] = "the server removed this user",
	    [DISCONNECT_EXPIRED] = "the account expired",
	    [DISCONNECT_QUOTA] = "the data limit is reached",
	};

	fail(c, reason < sizeof(reasons) / sizeof(reasons[0]) && reasons[reason]
		    ? reasons[reason]
		    : "the server disconnected");
}

/* The same tunnel addresses as the session's: a CONFIG may change the
 * MTU, DNS and timers, never who we are. */
static bool same_addresses(const struct client *c, const struct session_params *p)
{
	struct tun_config t;

	tun_config_of(c, p, &t);
	return t.has_addr4 == c->tun_applied.has_addr4 && t.has_addr6 == c->tun_applied.has_addr6 &&
	       memcmp(t.addr4, c->tun_applied.addr4, 4) == 0 &&
	       t.prefix4 == c->tun_applied.prefix4 &&
	       memcmp(t.addr6, c->tun_applied.addr6, 16) == 0 &&
	       t.prefix6 == c->tun_applied.prefix6;
}

/* A path reply sealed with t, even if t is the previous session (which
 * otherwise only receives): nothing else goes out under it. */
static void send_path_reply(struct client *c, struct transport *t, const struct control_msg *m)
{
	size_t plain, len;
	enum transport_result r = TRANSPORT_E_INTERNAL;
	bool on_tls = c->on_tls;

	if (t == &c->cur) {
		c->on_tls = c->rx_tls; /* on the path the probe came by */
		send_control(c, m);
		c->on_tls = on_tls;
		return;
	}
	if (control_encode(m, c->msg + TRANSPORT_HEADER_LEN, 64, &plain) == 0)
		r = seal_with(c, t, &c->prev_st, c->msg, sizeof(c->msg), plain, &len,
			      loop_now_ns());
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY) {
		drop(c, DP_DROP_SEAL);
		return;
	}
	after_send(c, send_on(c, c->msg, len, c->rx_tls));
}

/* Our path probe on UDP (auto): its reply says UDP works. */
static void send_udp_probe(struct client *c, uint64_t now)
{
	struct control_msg m = {.type = CONTROL_PATH_PROBE};
	size_t plain, len;

	if (!c->has_cur || rng_fill(&rng_system, m.challenge, sizeof(m.challenge)) < 0 ||
	    control_encode(&m, c->msg + TRANSPORT_HEADER_LEN, 64, &plain) < 0 ||
	    !seal(c, c->msg, sizeof(c->msg), plain, &len))
		return;
	memcpy(c->udp_challenge, m.challenge, sizeof(c->udp_challenge));
	c->udp_probe_ns = now;
	(void)send_on(c, c->msg, len, false);
}

static void on_path_reply(struct client *c, const struct control_msg *m)
{
	if (c->rx_tls || !c->udp_probe_ns ||
	    !ct_memeq(m->challenge, c->udp_challenge, sizeof(c->udp_challenge))) {
		drop(c, DP_DROP_PATH);
		return;
	}
	if (c->on_tls && c->cfg->transport == CLIENT_TRANSPORT_AUTO)
		to_udp(c, loop_now_ns());
	c->udp_probe_ns = 0;
}

/* CONFIG: the whole parameter list of the session (docs/protocol.md
 * §6.3), pushed when message 2 could not carry it all. */
static void on_config(struct client *c, const struct control_msg *m)
{
	struct session_params p;
	int r;

	if (params_decode(&p, m->config, m->config_len) < 0 || p.mode != c->cur.tx.cipher.mode ||
	    !same_addresses(c, &p)) {
		drop(c, DP_DROP_CONTROL);
		return;
	}
	c->configs++;
	limits_of(&p, &c->cur.limits);
	client_sm_set_timers(&c->sm, p.keepalive_s, p.rekey_time_s);
	r = apply_network(c, &p);
	if (r < 0)
		log_warn(LOG_GROUP_CORE, "cannot apply the server's configuration: %s",
			 strerror(-r));
	apply_dns(c, &p);
}

/* Control messages from the server (docs/protocol.md §6.3) on session t. */
static void on_control(struct client *c, struct transport *t, const uint8_t *msg, size_t len)
{
	struct control_msg m;

	if (control_decode(&m, msg, len) < 0) {
		drop(c, DP_DROP_CONTROL);
		return;
	}
	switch (m.type) {
	case CONTROL_DISCONNECT:
		on_disconnect(c, m.reason);
		break;
	case CONTROL_CONFIG:
		if (t == &c->cur)
			on_config(c, &m);
		else
			drop(c, DP_DROP_CONTROL);
		break;
	case CONTROL_PATH_PROBE:
		/* the server checks we receive where our packets come from; the
		 * reply goes on the session the probe came on (it may be the
		 * previous one), or the server cannot match it */
		m.type = CONTROL_PATH_REPLY;
		send_path_reply(c, t, &m);
		c->probes_answered++;
		break;
	case CONTROL_PATH_REPLY:
		on_path_reply(c, &m);
		break;
	default:
		drop(c, DP_DROP_CONTROL);
	}
}

static void deliver(struct client *c, struct transport *t, const uint8_t *plain, size_t plain_len)
{
	unsigned chaff;
	size_t inner;

	switch (control_classify(plain, plain_len, &inner)) {
	case PLAIN_KEEPALIVE:
		break;
	case PLAIN_IPV4:
	case PLAIN_IPV6:
		/* chaff back to the server before the host can answer */
		chaff = t == &c->cur ? chaff_due(c, plain, inner, true) : 0;
		if (c->tun_fd < 0 || write(c->tun_fd, plain, inner) != (ssize_t)inner)
			drop(c, DP_DROP_TUN_WRITE);
		queue_chaff(c, chaff);
		break;
	case PLAIN_CONTROL:
		on_control(c, t, plain, inner);
		break;
	default:
		drop(c, DP_DROP_PLAINTEXT);
	}
}

/* A packet opened under t: which session the server uses now. */
static void note_session(struct client *c, struct transport *t, uint64_t now)
{
	if (t == &c->cur) {
		if (c->has_prev && !c->switched_ns) {
			c->switched_ns = now; /* the server switched */
			if (c->prev_expiry_ns > now + (uint64_t)CLIENT_PREV_GRACE_S * LL_NS_PER_S)
				c->prev_expiry_ns =
				    now + (uint64_t)CLIENT_PREV_GRACE_S * LL_NS_PER_S;
		}
		return;
	}
	c->prev_packets++;
	if (c->switched_ns) {
		c->late_prev_packets++; /* sealed before the switch, or a server bug */
	} else if (now - c->confirm_sent_ns >= LL_NS_PER_S) {
		send_plain(c, 0); /* our key confirmation did not arrive */
		c->confirm_sent_ns = now;
	}
}

static void on_transport(struct client *c, uint8_t *pkt, size_t len)
{
	uint64_t now = loop_now_ns();
	struct transport *t;
	size_t plain_len;

	enum dp_drop d;

	if (len < TRANSPORT_HEADER_LEN) {
		drop(c, DP_DROP_MALFORMED);
		return;
	}
	t = session_for(c, le32_load(pkt + TRANSPORT_OFF_RECEIVER), now);
	if (!t) {
		drop(c, DP_DROP_UNKNOWN_INDEX);
		return;
	}
	d = dp_drop_of_transport(transport_open(t, pkt, len, &plain_len, now));
	if (d != DP_DROP_NONE) {
		drop(c, d);
		return;
	}
	client_sm_received(&c->sm, now);
	c->rx_packets++;
	note_session(c, t, now);
	deliver(c, t, pkt + TRANSPORT_HEADER_LEN, plain_len);
}

/* The stealth state of the session t is (cur or prev). */
static struct client_stealth *stealth_of(struct client *c, const struct transport *t)
{
	return t == &c->cur ? &c->cur_st : &c->prev_st;
}

/* A stealth datagram (see the top of the file). */
static void on_stealth_datagram(struct client *c, uint8_t *buf, size_t len)
{
	uint8_t hdr[8];
	struct transport *t;
	size_t msg_len;

	if (stealth_peek(&c->stealth_ctx, buf, len, hdr)) {
		t = session_for(c, le32_load(hdr + TRANSPORT_OFF_RECEIVER), loop_now_ns());
		if (t) {
			if (stealth_rx_unmask(&stealth_of(c, t)->rx, buf, len, hdr) == 0)
				on_transport(c, buf, len);
			else
				drop(c, DP_DROP_STEALTH);
			return;
		}
	}
	if (stealth_hs_unwrap(&c->stealth_ctx, buf, len, &msg_len) < 0) {
		drop(c, DP_DROP_STEALTH);
		return;
	}
	buf += STEALTH_HS_OVERHEAD;
	if (buf[0] == MSG_HANDSHAKE_RESP)
		on_response(c, buf, msg_len);
	else if (buf[0] == MSG_COOKIE_REPLY)
		on_cookie(c, buf, msg_len);
	else
		drop(c, DP_DROP_BAD_TYPE);
}

static void on_datagram(struct client *c, uint8_t *buf, size_t len)
{
	if (c->stealth != STEALTH_MODE_OFF) {
		on_stealth_datagram(c, buf, len);
		return;
	}
	if (len < MSG_HEADER_LEN) {
		drop(c, DP_DROP_MALFORMED);
		return;
	}
	switch (buf[0]) {
	case MSG_HANDSHAKE_RESP:
		on_response(c, buf, len);
		break;
	case MSG_COOKIE_REPLY:
		on_cookie(c, buf, len);
		break;
	case MSG_TRANSPORT:
		on_transport(c, buf, len);
		break;
	default:
		drop(c, DP_DROP_BAD_TYPE);
	}
}

/* Message i: one datagram or, with UDP_GRO, a run of them from the same
 * sender, each udp_batch_segment() long but the last. */
static void on_message(struct client *c, unsigned i)
{
	struct dp_rxcut cut = dp_rxcut_of(&c->rx, i, c->rx_bufs[i]);
	uint8_t *pkt;
	size_t len;

	if (udp_batch_truncated(&c->rx, i)) {
		drop(c, DP_DROP_TRUNCATED);
		return;
	}
	while (dp_rxcut_next(&cut, &pkt, &len))
		on_datagram(c, pkt, len);
}

static void on_udp(struct loop *l, struct loop_op *op, int res)
{
	struct client *c = op->ctx;
	int n = UDP_BATCH;

	(void)l;
	(void)res;
	for (int round = 0; round < 4 && n == UDP_BATCH && c->udp_fd >= 0; round++) {
		n = udp_recv_batch(c->udp_fd, &c->rx, c->rx_bufs, BUF_SIZE);
		for (int i = 0; i < n; i++)
			on_message(c, (unsigned)i);
	}
}

/* ---- sending ---- */

/* Reads one packet from the TUN device into a pool buffer, seals it in
 * place and queues it; false when there is nothing (more) to read. */
static bool tun_one(struct client *c)
{
	size_t room = BUF_SIZE - TRANSPORT_HEADER_LEN - 15 - CIPHER_MAX_OVERHEAD, len;
	uint8_t *buf = pool_get(&c->pool);
	unsigned chaff;
	ssize_t n;

	if (!buf) {
		flush(c);
		buf = pool_get(&c->pool);
		if (!buf)
			return false;
	}
	n = read(c->tun_fd, buf + TRANSPORT_HEADER_LEN, room);
	/* decided on the plaintext (sealing is in place), sent after it */
	chaff =
	    n > 0 && c->has_cur ? chaff_due(c, buf + TRANSPORT_HEADER_LEN, (size_t)n, false) : 0;
	if (n <= 0 || !seal(c, buf, BUF_SIZE, (size_t)n, &len)) {
		pool_put(&c->pool, buf);
		return n > 0;
	}
	queue(c, buf, len);
	queue_chaff(c, chaff);
	return true;
}

static void on_tun(struct loop *l, struct loop_op *op, int res)
{
	struct client *c = op->ctx;

	(void)l;
	(void)res;
	for (int i = 0; i < PACKETS_PER_CALL; i++)
		if (!tun_one(c))
			break;
}

static void on_flush(struct loop *l, void *ctx)
{
	(void)l;
	flush(ctx);
}

/* ---- transports ---- */

/* A connection that joins the current session: its request carries a
 * keepalive sealed with it (docs/protocol.md §11.6). */
static void ws_join(struct client *c, uint64_t now)
{
	uint8_t pkt[UPGRADE_MSG_MAX]; /* as on UDP (stealth pads it), within a token */
	size_t len;
	enum transport_result r;

	c->ws_next_ns = now + (uint64_t)WS_RETRY_MS * 1000000;
	if (!c->has_cur)
		return;
	r = seal_with(c, &c->cur, &c->cur_st, pkt, sizeof(pkt), 0, &len, now);
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return;
	if (!c->lost_ns)
		c->lost_ns = now;
	(void)ws_start(c, pkt, len, true);
}

/* auto on UDP: nothing received since a send for a while, probes
 * unanswered: the stream. */
static void auto_on_udp(struct client *c, uint64_t now)
{
	uint64_t rx = c->sm.last_rx_ns, tx = c->sm.last_tx_ns;
	uint64_t quiet = now > rx ? (now - rx) / 1000000 : 0;

	if (c->ws || tx <= rx || quiet < PROBE_AFTER_MS)
		return;
	if (!c->lost_ns)
		c->lost_ns = rx;
	if (quiet >= FAILOVER_AFTER_MS) {
		if (now >= c->ws_next_ns)
			ws_join(c, now);
	} else if (ms_since(now, c->udp_probe_ns) >= PROBE_GAP_MS || !c->udp_probe_ns) {
		send_udp_probe(c, now);
	}
}

static void transports_tick(struct client *c, uint64_t now)
{
	enum client_transport t = c->cfg->transport;

	if (t == CLIENT_TRANSPORT_UDP || c->sm.state != CLIENT_CONNECTED)
		return;
	if (c->on_tls && !c->ws && now >= c->ws_next_ns) {
		if (t == CLIENT_TRANSPORT_TLS)
			ws_join(c, now); /* the stream was lost: a new one */
		else
			c->on_tls = false;
		return;
	}
	if (t != CLIENT_TRANSPORT_AUTO)
		return;
	if (!c->on_tls)
		auto_on_udp(c, now);
	else if (ms_since(now, c->udp_probe_ns) >= UDP_RETRY_MS || !c->udp_probe_ns)
		send_udp_probe(c, now);
}

/* ---- timers and signals ---- */

/* A new round of handshakes: look the server up again (its address may
 * have changed) and start from a new socket. */
static int new_round(struct client *c)
{
	int r = udp_endpoint_resolve(&c->server, c->cfg->server_host, c->cfg->server_port);

	if (r < 0) {
		log_warn(LOG_GROUP_CORE, "cannot resolve %s", c->cfg->server_host);
		return r;
	}
	return open_socket(c);
}

static void act(struct client *c, unsigned actions)
{
	if (actions & CLIENT_ACT_BACKOFF) {
		backoff_started(c);
		return;
	}
	if ((actions & CLIENT_ACT_NEW_SOCKET) && open_socket(c) < 0) {
		fail(c, "cannot open a new socket");
		return;
	}
	if (actions & CLIENT_ACT_NEW_SOCKET)
		ws_close(c); /* a stale stream too: message 1 opens a new one */
	/* auto: message 1 went unanswered by UDP once; the stream */
	if ((actions & CLIENT_ACT_SEND_INIT) && c->cfg->transport == CLIENT_TRANSPORT_AUTO &&
	    c->sm.state == CLIENT_CONNECTING && !c->on_tls)
		c->on_tls = c->sm.attempts >= 2;
	if ((actions & CLIENT_ACT_SEND_INIT) && c->cfg->transport == CLIENT_TRANSPORT_AUTO &&
	    c->sm.state == CLIENT_CONNECTING && c->sm.attempts == 1)
		c->on_tls = false; /* a new round starts on UDP */
	if ((actions & CLIENT_ACT_SEND_INIT) && c->sm.state == CLIENT_CONNECTING &&
	    c->sm.attempts == 1 && new_round(c) < 0) {
		fail(c, "cannot reach the server");
		return;
	}
	if (actions & CLIENT_ACT_SEND_INIT)
		send_init(c);
	if (actions & CLIENT_ACT_KEEPALIVE)
		send_plain(c, 0);
}

/* Stealth maximum with cover_traffic_rate: an idle link (nothing sent
 * for a tick) gets keepalives padded to the largest bucket at that rate
 * (docs/protocol.md §12.6). */
static void send_cover(struct client *c, uint64_t now)
{
	const struct stealth_buckets *b = &c->cur_st.tx.buckets;
	uint64_t tick = (uint64_t)TICK_MS * 1000000;
	unsigned n;
	size_t len;

	if (c->stealth != STEALTH_MODE_MAXIMUM || !c->cfg->cover_traffic_rate || !c->has_cur ||
	    c->sm.state != CLIENT_CONNECTED || !b->n)
		return;
	if (now - c->sm.last_tx_ns < tick) {
		c->cover_credit = 0; /* not idle: real traffic covers it */
		return;
	}
	n = stealth_cover_due(&c->cover_credit, c->cfg->cover_traffic_rate, tick, b->size[b->n - 1],
			      COVER_MAX_PER_TICK);
	for (; n > 0; n--) {
		enum transport_result r =
		    seal_any(c, &c->cur, &c->cur_st, c->msg, sizeof(c->msg), 0, &len, now, true);

		if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
			return;
		after_send(c, send_datagram(c, c->msg, len));
		c->cover_sent++;
	}
}

static void on_tick(struct loop *l, void *ctx)
{
	struct client *c = ctx;
	uint64_t now = loop_now_ns();

	(void)l;
	if (now >= c->prev_expiry_ns)
		drop_prev(c);
	act(c, client_sm_tick(&c->sm, now, random32(c)));
	send_cover(c, now);
	transports_tick(c, now);
}

/* SIGUSR1, second line: the queues packets wait in outside the client,
 * as the server's statistics give them: the TUN device's ring and the
 * UDP socket's buffers, with what the kernel dropped for want of room. */
static void log_queues(const struct client *c)
{
	struct rtnl_link_queue q = {0};
	struct udp_queue u = {0};
	unsigned ifindex = if_nametoindex(c->tun_name);

	if (ifindex)
		(void)rtnl_link_queue((int)ifindex, &q);
	if (c->udp_fd >= 0)
		(void)udp_queue_info(c->udp_fd, &u);
	log_info(LOG_GROUP_CORE,
		 "queues: tun txqueuelen %" PRIu32 " tx_dropped %" PRIu64 " rx_dropped %" PRIu64
		 ", udp rcvbuf %" PRIu32 " sndbuf %" PRIu32 " drops %" PRIu32,
		 q.txqlen, q.tx_dropped, q.rx_dropped, u.rcvbuf, u.sndbuf, u.drops);
}

/* SIGUSR1: one line of counters; the drops by reason as the server's
 * line lists them (dataplane/drop.h). */
static void log_stats(const struct client *c)
{
	char reasons[DP_DROP_COUNT * 32] = "";
	size_t pos = 0;
	uint64_t drops = 0;

	for (int d = DP_DROP_NONE + 1; d < DP_DROP_COUNT; d++)
		drops += c->drops[d];
	dp_drop_format(c->drops, reasons, sizeof(reasons), &pos);
	log_info(LOG_GROUP_CORE,
		 "stats: rx %" PRIu64 " pkt (under the previous session %" PRIu64
		 ", of which after the switch %" PRIu64 "), drops %" PRIu64
		 ", path probes answered %" PRIu64 ", configs %" PRIu64 ", cover %" PRIu64
		 ", chaff %" PRIu64 ", transport %s, switches to tls %" PRIu64 ", to udp %" PRIu64
		 "; drops:%s",
		 c->rx_packets, c->prev_packets, c->late_prev_packets, drops, c->probes_answered,
		 c->configs, c->cover_sent, c->chaff_sent, c->on_tls ? "tls" : "udp",
		 c->switches_tls, c->switches_udp, reasons);
	log_queues(c);
}

static void on_signal(struct loop *l, struct loop_op *op, int res)
{
	struct client *c = op->ctx;

	if (res != (int)sizeof(c->sig_buf))
		return;
	switch (c->sig_buf.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_info(LOG_GROUP_CORE, "stopping (%s)", strsignal((int)c->sig_buf.ssi_signo));
		loop_stop(l);
		break;
	case SIGUSR1:
		log_stats(c);
		break;
	case SIGUSR2: /* a new handshake now (the old keys keep working meanwhile) */
		act(c, client_sm_want_rekey(&c->sm, loop_now_ns()));
		break;
	}
}

/* ---- lifecycle ---- */

static int setup(struct client *c)
{
	const struct client_config *cfg = c->cfg;
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	c->loop = loop_new();
	if (c->signal_fd < 0 || !c->loop)
		return -errno;
	c->signal_op = (struct loop_op){
	    LOOP_OP_READ, c->signal_fd, &c->sig_buf, sizeof(c->sig_buf), on_signal, c, 0};
	r = loop_submit(c->loop, &c->signal_op);
	if (r == 0 && cfg->stealth_mode != STEALTH_OFF) {
		c->stealth = cfg->stealth_mode == STEALTH_MAXIMUM ? STEALTH_MODE_MAXIMUM
								  : STEALTH_MODE_STANDARD;
		r = stealth_keys_derive(&c->stealth_keys, cfg->server_public_key);
		if (r == 0)
			r = stealth_ctx_init(&c->stealth_ctx, &c->stealth_keys);
	}
	if (r == 0)
		r = handshake_initiator_init(&c->hs, cfg->private_key, cfg->server_public_key,
					     cfg->psk, cfg->kem);
	if (r == 0)
		r = pool_init(&c->pool, POOL_COUNT, BUF_SIZE);
	for (unsigned i = 0; i < UDP_BATCH && r == 0; i++)
		c->rx_bufs[i] = pool_get(&c->pool);
	loop_set_tick(c->loop, TICK_MS, on_tick, c);
	loop_set_flush(c->loop, on_flush, c);
	client_sm_init(&c->sm, cfg->keepalive_s);
	if (r == 0)
		r = upgrade_key_derive(&c->up_key, cfg->server_public_key);
	c->on_tls = cfg->transport == CLIENT_TRANSPORT_TLS;
	return r;
}

static void teardown(struct client *c)
{
	if (c->has_cur) {
		struct control_msg m = {.type = CONTROL_DISCONNECT, .reason = DISCONNECT_CLIENT};
		send_control(c, &m);
	}
	drop_sessions(c);
	route_remove(&c->routes);
	if (c->dns_applied)
		dns_revert(c->tun_name);
	dns_helper_stop();
	if (c->tun_fd >= 0)
		close(c->tun_fd);
	ws_close(c);
	close_socket(c);
	loop_free(c->loop);
	if (c->signal_fd >= 0)
		close(c->signal_fd);
	handshake_initiator_done(&c->hs);
	stealth_ctx_done(&c->stealth_ctx);
	stealth_keys_wipe(&c->stealth_keys);
	pool_done(&c->pool);
}

/* ---- privileges ---- */

/* The DNS helper's first act: it keeps none of the client's keys. Its
 * memory is a copy, so the client's own config is untouched. */
static void forget_secrets(void *ctx)
{
	struct client *c = ctx;
	struct client_config *cfg = (struct client_config *)c->cfg; /* not const in main */

	ct_wipe(cfg->private_key, sizeof(cfg->private_key));
	ct_wipe(cfg->psk, sizeof(cfg->psk));
	handshake_initiator_done(&c->hs);
}

/* Forked while still root (network/dns.h); without resolvectl there is
 * none, and apply_dns warns when the server pushes servers. */
static int start_dns_helper(struct client *c)
{
	int r;

	if (!c->cfg->use_server_dns)
		return 0;
	r = dns_helper_start(c->tun_name, forget_secrets, c);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot start the DNS helper: %s", strerror(-r));
	return r;
}

/* Everything that needs root is done (the device, the sweep, the
 * helper): the client becomes its service user, then the filter. */
static int enter_sandbox(const struct sandbox_ids *ids)
{
	char err[256];
	int r;

	if (!ids->drop)
		return 0;
	r = sandbox_drop(ids, err, sizeof(err));
	if (r == 0)
		r = sandbox_filter(SANDBOX_CLIENT, err, sizeof(err));
	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot drop privileges: %s", err);
	else
		log_info(LOG_GROUP_CORE,
			 "running as uid %u, gid %u with CAP_NET_ADMIN only, system calls filtered",
			 (unsigned)ids->uid, (unsigned)ids->gid);
	return r;
}

/* Start-up, in order: the service user looked up, signals and loop, the
 * TUN device (one client per name), the sweep of a crashed run's rules,
 * the DNS helper, the privilege drop and the filter. */
static int start(struct client *c)
{
	struct sandbox_ids ids;
	int r = sandbox_resolve("client", c->cfg->user, c->cfg->group, &ids);

	if (r == 0) {
		r = setup(c);
		if (r < 0)
			log_error(LOG_GROUP_CORE, "cannot start: %s", strerror(-r));
	}
	if (r == 0)
		r = open_tun(c);
	if (r == 0) {
		sweep_routes(c);
		r = start_dns_helper(c);
	}
	if (r == 0)
		r = enter_sandbox(&ids);
	return r;
}

int client_run(const struct client_config *cfg)
{
	struct client *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return 1;
	c->cfg = cfg;
	c->udp_fd = c->tun_fd = c->signal_fd = -1;
	r = start(c);
	if (r < 0) {
		c->status = 1;
	} else {
		act(c, client_sm_start(&c->sm, loop_now_ns()));
		r = loop_run(c->loop);
		if (r < 0)
			c->status = 1;
	}
	teardown(c);
	r = c->status;
	ct_wipe(c, sizeof(*c));
	free(c);
	return r;
}
