/* The TCP front (front.h): accept, PROXY v2, TLS as nginx 1.22 sets it
 * up, the request head with nginx's limits, and what a non-client gets:
 * the byte-for-byte relay to fallback_site or the nginx mimic.
 *
 * One thread, one loop (io/loop.h), every connection a small state
 * machine driven by its socket's readiness and a 50 ms tick for
 * deadlines. Connections are freed at the end of a loop turn (the flush
 * hook), never inside one: a completion later in the same batch may still
 * name a closed connection's op. */
#include "front/front.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "front/mimic.h"
#include "front/proxyv2.h"
#include "front/tlssniff.h"
#include "io/loop.h"

#define FRONT_TICK_MS		50u
#define FRONT_RELAY_BUF		16384u
#define FRONT_LINGER_TIMEOUT_MS 5000u	      /* nginx lingering_timeout */
#define FRONT_LINGER_TIME_MS	30000u	      /* nginx lingering_time */
#define FRONT_ADOPT_KEEP	HTTP_HEAD_MAX /* bytes kept for a later decline */

enum phase {
	PH_PROXY,   /* reading the PROXY v2 header */
	PH_SNIFF,   /* waiting for the first byte */
	PH_TLS,	    /* TLS handshake */
	PH_HEAD,    /* reading the request head */
	PH_ADOPTED, /* the upgrade callback owns it */
	PH_RELAY,   /* proxied to fallback_site */
	PH_MIMIC,   /* answered by the mimic */
	PH_LINGER,  /* lingering close: discarding input until EOF or timeout */
	PH_DEAD,
};

/* One direction of the relay. */
struct pipe {
	uint8_t *buf;
	size_t len, off; /* pending bytes buf[off..len) */
	bool eof;	 /* source finished (FIN or close_notify) */
	bool notify;	 /* the source's end came with a TLS close_notify */
	bool shut;	 /* the end was passed on to the sink */
};

struct front_conn {
	struct front *f;
	struct front_conn *prev, *next, *dead_next;
	enum phase ph;
	int fd;
	struct loop_op op;
	SSL *ssl;
	bool plain_on_tls; /* first byte was not TLS on a TLS listener */
	uint64_t deadline_ns;
	uint64_t linger_end_ns;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char sni[256];

	/* the head and whatever followed it */
	uint8_t *buf;
	size_t len, cap;
	size_t rd; /* adopted: bytes of buf already returned by front_conn_read */
	struct http_parser hp;
	struct http_request req;
	size_t req_start; /* mimic keepalive: where the current request starts */
	uint64_t body_left;

	/* adopted */
	front_io_fn io_fn;
	void *io_ctx;
	bool wrote;
	bool want_write;
	bool declined; /* the callback said no: never offer this connection again */
	bool ka_wait;  /* mimic: idle between requests (keepalive_timeout runs) */
	bool reparse;  /* mimic: parse what was read before reading more */
	bool lost;     /* adopted: read past what a decline could replay */

	/* relay */
	int ufd;
	struct loop_op uop;
	SSL *ussl;
	bool u_connected, u_tls_done, raw;
	struct pipe c2u, u2c;

	/* mimic output */
	uint8_t out[MIMIC_RESPONSE_MAX];
	size_t out_len, out_off;
	bool out_close;
	bool out_linger; /* close by lingering, else at once */
};

struct post {
	struct post *next;
	void (*fn)(void *);
	void *arg;
};

struct front {
	struct front_config cfg;
	char cert[512], key[512];
	bool fb_enabled, fb_tls;
	char fb_host[256];
	struct sockaddr_storage fb_addr;
	socklen_t fb_addr_len;
	SSL_CTX *ctx, *up_ctx;
	struct loop *loop;
	pthread_t thread;
	bool running;
	int listen_fd;
	struct loop_op listen_op;
	bool accepting;
	uint16_t port;
	int post_fd;
	uint64_t post_buf;
	struct loop_op post_op;
	pthread_mutex_t post_mu;
	struct post *posts;
	struct front_conn *conns, *dead;
	unsigned n_conns;
	front_upgrade_fn upg_fn;
	void *upg_ctx;
	struct front_stats st;
	uint64_t boundary; /* the mimic's multipart boundaries (nginx's temp number) */
};

#define STAT_INC(f, field) __atomic_add_fetch(&(f)->st.field, 1, __ATOMIC_RELAXED)

static void conn_on_io(struct loop *l, struct loop_op *op, int res);
static void conn_step(struct front_conn *c, unsigned events);
static void up_on_io(struct loop *l, struct loop_op *op, int res);
static void relay_pump(struct front_conn *c, bool up_event);
static void conn_to_fallback(struct front_conn *c);
static void conn_adopted_arm(struct front_conn *c);

void front_config_defaults(struct front_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_fd = -1;
	cfg->tls = true;
	cfg->max_conns = 1024;
	cfg->header_timeout_ms = 60000;
	cfg->keepalive_timeout_ms = 75000;
	cfg->handshake_timeout_ms = 60000;
	cfg->fallback_idle_ms = 600000;
}

/* ---- deadlines and freeing ---- */

static void conn_deadline(struct front_conn *c, unsigned ms)
{
	c->deadline_ns = ms ? loop_now_ns() + (uint64_t)ms * 1000000u : 0;
}

static void conn_set_events(struct front_conn *c, unsigned events)
{
	if (c->op.events == events)
		return;
	c->op.events = events;
	loop_modify(c->f->loop, &c->op);
}

/* Ends a connection: close_notify when asked and the handshake is done,
 * RST when abort. The memory goes at the end of the loop turn. */
static void conn_finish(struct front_conn *c, bool notify, bool abort_)
{
	struct front *f = c->f;
	if (c->ph == PH_DEAD)
		return;
	loop_cancel(f->loop, &c->op);
	if (c->ssl) {
		if (notify && !abort_ && SSL_is_init_finished(c->ssl))
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (abort_) {
		struct linger lg = {1, 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	if (c->ufd >= 0) {
		loop_cancel(f->loop, &c->uop);
		if (c->ussl)
			SSL_free(c->ussl);
		c->ussl = NULL;
		if (abort_) {
			struct linger lg = {1, 0};
			setsockopt(c->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c->ufd);
		c->ufd = -1;
	}
	c->ph = PH_DEAD;
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead_next = f->dead;
	f->dead = c;
	f->n_conns--;
	__atomic_sub_fetch(&f->st.active, 1, __ATOMIC_RELAXED);
	if (!f->accepting && f->n_conns < f->cfg.max_conns &&
	    loop_submit(f->loop, &f->listen_op) == 0)
		f->accepting = true;
}

static void front_flush(struct loop *l, void *ctx)
{
	struct front *f = ctx;
	(void)l;
	while (f->dead) {
		struct front_conn *c = f->dead;
		f->dead = c->dead_next;
		free(c->buf);
		free(c->c2u.buf);
		free(c->u2c.buf);
		free(c);
	}
}

/* ---- raw I/O over TLS or plain ---- */

/* > 0 bytes, 0 EOF, -EAGAIN, or another negative errno. *notify tells a
 * TLS close_notify from a bare FIN. */
static ssize_t io_read(SSL *ssl, int fd, void *b, size_t n, bool *want_write, bool *notify)
{
	if (!ssl) {
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN
											 : -errno;
		return r;
	}
	ERR_clear_error();
	int r = SSL_read(ssl, b, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (r > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		if (want_write)
			*want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		if (notify)
			*notify = (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
		return 0;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : 0;
	default:
		/* a bare EOF shows as an SSL error when unexpected EOFs are not ignored */
		if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return 0;
		return -EPROTO;
	}
}

static ssize_t io_write(SSL *ssl, int fd, const void *b, size_t n, bool *want_read)
{
	if (!ssl) {
		ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN
											 : -errno;
		return r;
	}
	ERR_clear_error();
	int r = SSL_write(ssl, b, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (r > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_WANT_READ:
		if (want_read)
			*want_read = true;
		return -EAGAIN;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -EPIPE;
	default:
		return -EPROTO;
	}
}

/* Reads what is available into c->buf (growing it up to limit). */
static ssize_t conn_fill(struct front_conn *c, size_t limit)
{
	if (c->len >= limit)
		return -ENOBUFS;
	if (c->cap < limit && c->cap - c->len < 4096) {
		size_t ncap = c->cap ? c->cap * 2 : 4096;
		if (ncap > limit)
			ncap = limit;
		uint8_t *nb = realloc(c->buf, ncap);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = ncap;
	}
	size_t room = (c->cap < limit ? c->cap : limit) - c->len;
	ssize_t r = io_read(c->ssl, c->fd, c->buf + c->len, room, NULL, NULL);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

/* ---- TLS contexts ---- */

/* nginx acknowledges SNI (an empty server_name in the ServerHello) because
 * it has a servername callback that returns OK for one server block;
 * without a callback OpenSSL would not. Same answer here. */
static int front_servername(SSL *s, int *ad, void *arg)
{
	(void)s;
	(void)ad;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

/* ALPN: nginx without http2 offers "http/1.1" only and refuses a client
 * that offers ALPN without it (no_application_protocol alert). */
static int front_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
		      const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char srv[] = "\x08http/1.1";
	(void)s;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, srv, sizeof(srv) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* The SSL_CTX nginx 1.22.1 builds on Debian 12 with the distribution's
 * nginx.conf (ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3,
 * ssl_prefer_server_ciphers on) and every other ssl_* at its default:
 * ciphers HIGH:!aNULL:!MD5, ecdh curve auto (OpenSSL's group list), no
 * dhparam, session tickets on with OpenSSL's own keys, session cache
 * "none" (pretends to cache, stores nothing), timeout 300 s, read ahead.
 * OpenSSL 3's default security level still refuses TLS 1.0/1.1, exactly
 * as it does under nginx. docs/obfuscation.md lists it. */
static SSL_CTX *front_server_ctx(const struct front *f, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
				     SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS | SSL_OP_SINGLE_DH_USE |
				     SSL_OP_NO_COMPRESSION | SSL_OP_NO_ANTI_REPLAY |
				     SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN |
				  SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!MD5") != 1) {
		snprintf(err, errlen, "cipher list refused");
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR |
						SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_cache_size(ctx, 1);
	SSL_CTX_set_timeout(ctx, 300);
	static const unsigned char sid_ctx[] = "lostlove-front";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, front_servername);
	SSL_CTX_set_alpn_select_cb(ctx, front_alpn, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, errlen, "cannot load certificate chain %s", f->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "cannot load private key %s (or it does not match)", f->key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* To the fallback: any certificate (it is the operator's own site, often
 * reached by address), but a real TLS client otherwise. Unexpected EOFs
 * are not ignored so that a bare FIN can be told from close_notify and
 * mirrored as such. */
static SSL_CTX *front_upstream_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	return ctx;
}

/* ---- fallback URL ---- */

static int front_parse_fallback(struct front *f, const char *url, char *err, size_t errlen)
{
	const char *p;
	uint16_t port;
	if (strncmp(url, "https://", 8) == 0) {
		f->fb_tls = true;
		p = url + 8;
		port = 443;
	} else if (strncmp(url, "http://", 7) == 0) {
		f->fb_tls = false;
		p = url + 7;
		port = 80;
	} else {
		snprintf(err, errlen, "fallback_site must start with https:// or http://");
		return -1;
	}
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof(f->fb_host)) {
		snprintf(err, errlen, "fallback_site has no host");
		return -1;
	}
	memcpy(f->fb_host, p, hl);
	f->fb_host[hl] = '\0';
	if (p[hl] == ':') {
		char *end;
		long v = strtol(p + hl + 1, &end, 10);
		if (v < 1 || v > 65535 || (*end && *end != '/')) {
			snprintf(err, errlen, "fallback_site has a bad port");
			return -1;
		}
		port = (uint16_t)v;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	int r = getaddrinfo(f->fb_host, ps, &hints, &ai);
	if (r != 0 || !ai) {
		snprintf(err, errlen, "fallback_site host %s: %s", f->fb_host, gai_strerror(r));
		return -1;
	}
	memcpy(&f->fb_addr, ai->ai_addr, ai->ai_addrlen);
	f->fb_addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	f->fb_enabled = true;
	return 0;
}

/* ---- the relay to fallback_site ---- */

static int pipe_alloc(struct pipe *p)
{
	p->buf = malloc(FRONT_RELAY_BUF);
	return p->buf ? 0 : -ENOMEM;
}

static void relay_abort(struct front_conn *c)
{
	conn_finish(c, false, true);
}

/* Starts the relay with what was read so far (c->buf[0..len)) pending to
 * the fallback. raw: the client's bytes are still in the kernel (only
 * peeked) and go unencrypted to the fallback's port. */
static void relay_start(struct front_conn *c, bool raw)
{
	struct front *f = c->f;
	c->raw = raw;
	if (pipe_alloc(&c->c2u) < 0 || pipe_alloc(&c->u2c) < 0)
		goto fail;
	/* the bytes already read go first */
	if (c->len > FRONT_RELAY_BUF) {
		free(c->c2u.buf);
		c->c2u.buf = c->buf;
		c->buf = NULL;
	} else if (c->len) {
		memcpy(c->c2u.buf, c->buf, c->len);
	}
	c->c2u.len = c->len;
	c->c2u.off = 0;
	c->len = 0;
	c->ufd = socket(f->fb_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0)
		goto fail;
	int one = 1;
	setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->ufd, (struct sockaddr *)&f->fb_addr, f->fb_addr_len) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	c->uop = (struct loop_op){
	    .kind = LOOP_OP_POLL, .fd = c->ufd, .done = up_on_io, .ctx = c, .events = POLLOUT};
	if (loop_submit(f->loop, &c->uop) < 0)
		goto fail;
	c->ph = PH_RELAY;
	conn_deadline(c, f->cfg.fallback_idle_ms);
	STAT_INC(f, to_fallback);
	conn_set_events(c, LOOP_POLL_NONE); /* the client waits for the connect */
	return;
fail:
	STAT_INC(f, fallback_connect_failed);
	/* nothing to relay to: look like a server that went away */
	conn_finish(c, false, true);
}

/* The upstream TCP connect and TLS handshake. 1 ready, 0 not yet, -1 failed. */
static int relay_upstream_ready(struct front_conn *c, bool up_event)
{
	struct front *f = c->f;
	if (!c->u_connected) {
		if (!up_event)
			return 0; /* connect() still in progress */
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			STAT_INC(f, fallback_connect_failed);
			return -1;
		}
		c->u_connected = true;
		if (f->fb_tls && !c->raw) {
			c->ussl = SSL_new(f->up_ctx);
			if (!c->ussl)
				return -1;
			SSL_set_fd(c->ussl, c->ufd);
			SSL_set_tlsext_host_name(c->ussl, f->fb_host);
		}
	}
	if (c->ussl && !c->u_tls_done) {
		ERR_clear_error();
		int r = SSL_connect(c->ussl);
		if (r == 1) {
			c->u_tls_done = true;
			return 1;
		}
		int e = SSL_get_error(c->ussl, r);
		if (e == SSL_ERROR_WANT_READ) {
			c->uop.events = POLLIN;
			loop_modify(f->loop, &c->uop);
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->uop.events = POLLOUT;
			loop_modify(f->loop, &c->uop);
			return 0;
		}
		STAT_INC(f, fallback_connect_failed);
		return -1;
	}
	return 1;
}

/* Moves bytes from src into p while there is room. 1 progress, 0 none,
 * -1 reset/error on src. */
static int pipe_in(struct pipe *p, SSL *ssl, int fd)
{
	int prog = 0;
	if (p->off == p->len)
		p->off = p->len =
		    0; /* drained: room again (the first fill may exceed the buffer) */
	while (!p->eof && p->len < FRONT_RELAY_BUF) {
		if (p->off == p->len)
			p->off = p->len = 0;
		bool notify = false;
		ssize_t r =
		    io_read(ssl, fd, p->buf + p->len, FRONT_RELAY_BUF - p->len, NULL, &notify);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return -1;
		prog = 1;
		if (r == 0) {
			p->eof = true;
			p->notify = notify || !ssl;
			break;
		}
		p->len += (size_t)r;
	}
	return prog;
}

/* Writes p's pending bytes to the sink; once drained after the source's
 * end, passes the end on: close_notify (if the source sent one and the
 * sink is TLS) and a FIN. 1 progress, 0 none, -1 error. */
static int pipe_out(struct pipe *p, SSL *ssl, int fd)
{
	int prog = 0;
	while (p->off < p->len) {
		ssize_t r = io_write(ssl, fd, p->buf + p->off, p->len - p->off, NULL);
		if (r == -EAGAIN)
			return prog;
		if (r < 0)
			return -1;
		p->off += (size_t)r;
		prog = 1;
	}
	if (p->eof && !p->shut) {
		if (ssl && p->notify)
			SSL_shutdown(ssl);
		shutdown(fd, SHUT_WR);
		p->shut = true;
		prog = 1;
	}
	return prog;
}

static void relay_pump(struct front_conn *c, bool up_event)
{
	struct front *f = c->f;
	int r = relay_upstream_ready(c, up_event);
	if (r < 0) {
		relay_abort(c);
		return;
	}
	if (r == 0)
		return;
	int prog;
	do {
		prog = 0;
		int a = pipe_in(&c->c2u, c->raw ? NULL : c->ssl, c->fd);
		int b = pipe_out(&c->c2u, c->ussl, c->ufd);
		int d = pipe_in(&c->u2c, c->ussl, c->ufd);
		int e = pipe_out(&c->u2c, c->raw ? NULL : c->ssl, c->fd);
		if (a < 0 || b < 0 || d < 0 || e < 0) {
			/* a reset on either side is a reset on the other */
			relay_abort(c);
			return;
		}
		prog = a | b | d | e;
	} while (prog);
	if (c->c2u.shut && c->u2c.shut) {
		conn_finish(c, false, false);
		return;
	}
	conn_deadline(c, f->cfg.fallback_idle_ms);
	unsigned ce = 0, ue = 0;
	if (!c->c2u.eof && c->c2u.len < FRONT_RELAY_BUF)
		ce |= POLLIN;
	if (c->u2c.off < c->u2c.len)
		ce |= POLLOUT;
	if (!c->u2c.eof && c->u2c.len < FRONT_RELAY_BUF)
		ue |= POLLIN;
	if (c->c2u.off < c->c2u.len)
		ue |= POLLOUT;
	conn_set_events(c, ce);
	if (c->uop.events != ue) {
		c->uop.events = ue;
		loop_modify(f->loop, &c->uop);
	}
}

static void up_on_io(struct loop *l, struct loop_op *op, int res)
{
	struct front_conn *c = op->ctx;
	(void)l;
	(void)res;
	if (c->ph != PH_RELAY)
		return;
	relay_pump(c, true);
}

/* ---- the mimic ---- */

static void mimic_flush_out(struct front_conn *c);

static void mimic_respond(struct front_conn *c, int status)
{
	struct front *f = c->f;
	struct mimic_answer ans;
	/* a head refused before its version was read gets an HTTP/1.x answer */
	const struct http_request *req = status == 0 || c->req.version ? &c->req : NULL;
	mimic_answer(c->out, req, c->buf + c->req_start, status, loop_unix_ns() / 1000000000u,
		     &c->f->boundary, &ans);
	c->out_len = ans.len;
	c->out_off = 0;
	c->out_close = !ans.keepalive;
	/* nginx lingers after an answer when bytes it has read are left
	 * unparsed (or for a too long header line); a 414 for the request
	 * line, or an error at the last byte read, closes at once: a client
	 * still sending gets a reset */
	c->out_linger = status == 494 || (status != 414 && c->hp.scanned < c->len - c->req_start) ||
			(status == 0 && !ans.keepalive);
	c->ph = PH_MIMIC;
	STAT_INC(f, to_mimic);
	if (status)
		STAT_INC(f, http_rejected);
	if (ans.keepalive) {
		/* the body (Content-Length) is read and dropped before the next head */
		c->body_left = c->req.content_length_n > 0 ? (uint64_t)c->req.content_length_n : 0;
	}
	mimic_flush_out(c);
}

/* nginx's lingering close: close_notify and FIN at once, then read and
 * drop what the client still sends for up to 5 s of silence (30 s in
 * all), so that its late bytes are not answered with a reset. */
static void mimic_linger(struct front_conn *c)
{
	if (c->ssl && SSL_is_init_finished(c->ssl))
		SSL_shutdown(c->ssl);
	shutdown(c->fd, SHUT_WR);
	c->ph = PH_LINGER;
	c->linger_end_ns = loop_now_ns() + (uint64_t)FRONT_LINGER_TIME_MS * 1000000u;
	conn_deadline(c, FRONT_LINGER_TIMEOUT_MS);
	conn_set_events(c, POLLIN);
}

static void mimic_next_request(struct front_conn *c);

static void mimic_flush_out(struct front_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t r = io_write(c->plain_on_tls ? NULL : c->ssl, c->fd, c->out + c->out_off,
				     c->out_len - c->out_off, NULL);
		if (r == -EAGAIN) {
			conn_set_events(c, POLLOUT);
			return;
		}
		if (r < 0) {
			conn_finish(c, false, false);
			return;
		}
		c->out_off += (size_t)r;
	}
	if (c->out_close) {
		if (c->out_linger)
			mimic_linger(c);
		else
			conn_finish(c, true, false); /* close_notify, then close */
		return;
	}
	mimic_next_request(c);
}

/* ---- the request head ---- */

static void head_complete(struct front_conn *c);

static void conn_head_reset(struct front_conn *c)
{
	http_parser_init(&c->hp, &c->req);
}

/* Parses c->buf from c->req_start. Returns true when a decision was made. */
static bool head_parse(struct front_conn *c)
{
	struct front *f = c->f;
	int status = 0;
	enum http_result r =
	    http_parse(&c->hp, c->buf + c->req_start, c->len - c->req_start, &c->req, &status);
	if (r == HTTP_NEED_MORE) {
		/* nothing but a GET can be a tunnel: hand the rest over early,
		 * so the fallback sees the bytes as they come */
		if (f->fb_enabled && c->req.method_name.len && c->req.method != HTTP_M_GET) {
			conn_to_fallback(c);
			return true;
		}
		return false;
	}
	if (r == HTTP_REJECT) {
		if (f->fb_enabled)
			conn_to_fallback(c);
		else
			mimic_respond(c, status);
		return true;
	}
	head_complete(c);
	return true;
}

static void head_complete(struct front_conn *c)
{
	struct front *f = c->f;
	bool upgrade =
	    (c->req.flags & HTTP_F_WS_UPGRADE) && !c->plain_on_tls && f->upg_fn && !c->declined;
	if (!upgrade) {
		if (f->fb_enabled)
			conn_to_fallback(c);
		else
			mimic_respond(c, c->plain_on_tls ? MIMIC_PLAIN_ON_TLS : 0);
		return;
	}
	STAT_INC(f, upgrades_offered);
	c->ph = PH_ADOPTED;
	c->rd = c->req.head_len;
	conn_deadline(c, 0);
	enum front_verdict v = f->upg_fn(f->upg_ctx, c, c->buf, c->req.head_len, &c->req);
	if (c->ph != PH_ADOPTED)
		return; /* closed or declined inside the callback */
	if (v == FRONT_DECLINE) {
		STAT_INC(f, declined);
		c->declined = true;
		c->ph = PH_HEAD;
		conn_to_fallback(c);
		return;
	}
	STAT_INC(f, adopted);
	conn_adopted_arm(c);
}

static void conn_to_fallback(struct front_conn *c)
{
	struct front *f = c->f;
	if (f->fb_enabled) {
		relay_start(c, false);
		return;
	}
	/* the mimic answers the complete head it has, or keeps reading */
	c->req_start = 0;
	conn_head_reset(c);
	c->ph = PH_HEAD;
	if (!head_parse(c))
		conn_set_events(c, POLLIN);
}

static void mimic_next_request(struct front_conn *c)
{
	struct front *f = c->f;
	/* drop the answered head (and body bytes already here) */
	size_t used = c->req_start + c->req.head_len;
	if (used > c->len)
		used = c->len;
	size_t skip = c->body_left < c->len - used ? (size_t)c->body_left : c->len - used;
	used += skip;
	c->body_left -= skip;
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	c->req_start = 0;
	conn_head_reset(c);
	c->ph = PH_HEAD;
	/* nginx: keepalive_timeout while idle; client_header_timeout again
	 * from the next request's first bytes (or at once if pipelined) */
	c->ka_wait = c->len == 0;
	conn_deadline(c, c->ka_wait ? f->cfg.keepalive_timeout_ms : f->cfg.header_timeout_ms);
	/* the next request is parsed on the next loop turn, not here: a
	 * stream of pipelined requests must not become a recursion as deep
	 * as the stream is long. Bytes already read, or waiting inside TLS
	 * where the socket no longer signals them, are why it comes back at
	 * once (the socket is writable). */
	c->reparse = true;
	conn_set_events(c, POLLIN | POLLOUT);
}

/* ---- the connection's state machine ---- */

static void conn_read_proxy(struct front_conn *c)
{
	struct front *f = c->f;
	uint8_t b[PP2_HDR_LEN + PP2_MAX_LEN];
	ssize_t n = recv(c->fd, b, sizeof(b), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	struct pp2_info pi;
	enum pp2_result r = n > 0 ? pp2_parse(b, (size_t)n, &pi) : PP2_BAD;
	if (r == PP2_NEED_MORE)
		return;
	if (r == PP2_BAD || recv(c->fd, b, pi.header_len, 0) != (ssize_t)pi.header_len) {
		/* as HAProxy and nginx do: no valid header, no service */
		STAT_INC(f, proxy_bad);
		conn_finish(c, false, false);
		return;
	}
	if (!pi.local && pi.addr_len) {
		memcpy(&c->peer, &pi.src, pi.addr_len);
		c->peer_len = pi.addr_len;
	}
	c->ph = PH_SNIFF;
	conn_step(c, POLLIN);
}

static void conn_sniff(struct front_conn *c)
{
	struct front *f = c->f;
	uint8_t b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_finish(c, false, n < 0);
		return;
	}
	if (!f->cfg.tls) {
		c->ph = PH_HEAD;
		conn_step(c, POLLIN);
		return;
	}
	if (tls_sniff(&b, 1) == TLS_SNIFF_PLAIN) {
		STAT_INC(f, not_tls);
		c->plain_on_tls = true;
		if (f->fb_enabled) {
			relay_start(c, true);
			return;
		}
		c->ph = PH_HEAD;
		conn_step(c, POLLIN);
		return;
	}
	c->ssl = SSL_new(f->ctx);
	if (!c->ssl) {
		conn_finish(c, false, true);
		return;
	}
	SSL_set_fd(c->ssl, c->fd);
	c->ph = PH_TLS;
	conn_step(c, POLLIN);
}

static void conn_tls(struct front_conn *c)
{
	struct front *f = c->f;
	ERR_clear_error();
	int r = SSL_accept(c->ssl);
	if (r == 1) {
		const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		if (sni)
			snprintf(c->sni, sizeof(c->sni), "%s", sni);
		c->ph = PH_HEAD;
		conn_step(c, POLLIN);
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		conn_set_events(c, POLLIN);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		conn_set_events(c, POLLOUT);
		return;
	}
	/* OpenSSL has sent its alert; nginx closes right after, as here */
	STAT_INC(f, tls_failed);
	SSL_free(c->ssl);
	c->ssl = NULL;
	conn_finish(c, false, false);
}

static void conn_head(struct front_conn *c)
{
	if (c->reparse) {
		c->reparse = false;
		if (c->len > c->req_start && c->body_left == 0 && head_parse(c))
			return;
	}
	for (;;) {
		/* read no further than nginx's current header buffer: what is
		 * left in the kernel when it answers decides FIN or RST */
		ssize_t r = conn_fill(c, c->req_start + c->hp.buf_end);
		if (r == -EAGAIN)
			break;
		if (r == 0 || (r < 0 && r != -ENOBUFS)) {
			/* the client went away mid-head: nginx closes, no answer */
			conn_finish(c, false, r < 0);
			return;
		}
		if (c->ka_wait) {
			c->ka_wait = false;
			conn_deadline(c, c->f->cfg.header_timeout_ms);
		}
		if (c->body_left) {
			size_t avail = c->len - c->req_start;
			size_t k = c->body_left < avail ? (size_t)c->body_left : avail;
			memmove(c->buf, c->buf + k, c->len - k);
			c->len -= k;
			c->body_left -= k;
			continue;
		}
		if (head_parse(c))
			return;
		if (r == -ENOBUFS)
			break;
	}
	if (c->ph == PH_HEAD)
		conn_set_events(c, POLLIN);
}

static void conn_linger(struct front_conn *c)
{
	uint8_t b[4096];
	for (;;) {
		ssize_t r = recv(c->fd, b, sizeof(b), 0);
		if (r > 0) {
			conn_deadline(c, FRONT_LINGER_TIMEOUT_MS);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_finish(c, false, false);
		return;
	}
}

/* Bytes the callback can read without the socket saying so: left in the
 * head buffer, or decrypted and waiting inside TLS. */
static bool conn_buffered(const struct front_conn *c)
{
	return c->rd < c->len || (c->ssl && SSL_pending(c->ssl) > 0);
}

static void conn_adopted_arm(struct front_conn *c)
{
	/* a writable socket wakes us at once: the way to come back for
	 * buffered bytes on a level-triggered loop */
	bool out = c->want_write || (c->io_fn && conn_buffered(c));
	conn_set_events(c, POLLIN | (out ? POLLOUT : 0));
}

static void conn_adopted(struct front_conn *c, unsigned events)
{
	unsigned ev = 0;
	if ((events & (POLLIN | POLLERR | POLLHUP)) || conn_buffered(c))
		ev |= FRONT_EV_READ;
	if ((events & POLLOUT) && c->want_write) {
		c->want_write = false;
		ev |= FRONT_EV_WRITE;
	}
	if (!ev || !c->io_fn)
		return;
	c->io_fn(c->io_ctx, c, ev);
	if (c->ph == PH_ADOPTED)
		conn_adopted_arm(c);
}

static void conn_step(struct front_conn *c, unsigned events)
{
	switch (c->ph) {
	case PH_PROXY:
		conn_read_proxy(c);
		break;
	case PH_SNIFF:
		conn_sniff(c);
		break;
	case PH_TLS:
		conn_tls(c);
		break;
	case PH_HEAD:
		conn_head(c);
		break;
	case PH_ADOPTED:
		conn_adopted(c, events);
		break;
	case PH_RELAY:
		if (events & POLLERR) {
			relay_abort(c); /* the client reset: so does the fallback's side */
			break;
		}
		relay_pump(c, false);
		break;
	case PH_MIMIC:
		mimic_flush_out(c);
		break;
	case PH_LINGER:
		conn_linger(c);
		break;
	case PH_DEAD:
		break;
	}
}

static void conn_on_io(struct loop *l, struct loop_op *op, int res)
{
	struct front_conn *c = op->ctx;
	(void)l;
	conn_step(c, res > 0 ? (unsigned)res : POLLERR);
}

/* ---- accept, tick, posts ---- */

static void front_accept(struct loop *l, struct loop_op *op, int res)
{
	struct front *f = op->ctx;
	(void)res;
	for (int i = 0; i < 64; i++) {
		if (f->n_conns >= f->cfg.max_conns) {
			/* nginx stops accepting when worker_connections are used up;
			 * the kernel's backlog holds the rest */
			loop_cancel(l, &f->listen_op);
			f->accepting = false;
			STAT_INC(f, refused_full);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(f->listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct front_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->f = f;
		c->fd = fd;
		c->ufd = -1;
		c->peer = ss;
		c->peer_len = sl;
		c->ph = f->cfg.proxy_protocol ? PH_PROXY : PH_SNIFF;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_head_reset(c);
		c->op =
		    (struct loop_op){.kind = LOOP_OP_POLL, .fd = fd, .done = conn_on_io, .ctx = c};
		if (loop_submit(l, &c->op) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = f->conns;
		if (f->conns)
			f->conns->prev = c;
		f->conns = c;
		f->n_conns++;
		__atomic_add_fetch(&f->st.active, 1, __ATOMIC_RELAXED);
		STAT_INC(f, accepted);
		/* nginx's client_header_timeout runs from accept through the TLS
		 * handshake and the whole head */
		conn_deadline(c, f->cfg.header_timeout_ms);
	}
}

static void front_tick(struct loop *l, void *ctx)
{
	struct front *f = ctx;
	uint64_t now = loop_now_ns();
	(void)l;
	struct front_conn *next;
	for (struct front_conn *c = f->conns; c; c = next) {
		next = c->next;
		if (c->ph == PH_LINGER && now >= c->linger_end_ns) {
			conn_finish(c, false, false);
			continue;
		}
		if (!c->deadline_ns || now < c->deadline_ns)
			continue;
		c->deadline_ns = 0;
		if (c->ph == PH_ADOPTED) {
			if (c->io_fn)
				c->io_fn(c->io_ctx, c, FRONT_EV_TIMEOUT);
			continue;
		}
		if (c->ph != PH_LINGER)
			STAT_INC(f, timeouts);
		/* nginx: waiting for a request (after the handshake or between
		 * keepalive requests) ends with close_notify; a timeout inside
		 * the handshake or a started head ends without (c->timedout) */
		bool notify = c->ph == PH_HEAD && c->ssl && c->len == c->req_start;
		conn_finish(c, notify, false);
	}
}

static void front_run_posts(struct loop *l, struct loop_op *op, int res)
{
	struct front *f = op->ctx;
	(void)l;
	(void)res;
	pthread_mutex_lock(&f->post_mu);
	struct post *p = f->posts;
	f->posts = NULL;
	pthread_mutex_unlock(&f->post_mu);
	/* run in submission order */
	struct post *rev = NULL;
	while (p) {
		struct post *n = p->next;
		p->next = rev;
		rev = p;
		p = n;
	}
	while (rev) {
		struct post *n = rev->next;
		rev->fn(rev->arg);
		free(rev);
		rev = n;
	}
}

int front_post(struct front *f, void (*fn)(void *arg), void *arg)
{
	struct post *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&f->post_mu);
	p->next = f->posts;
	f->posts = p;
	pthread_mutex_unlock(&f->post_mu);
	uint64_t one = 1;
	(void)!write(f->post_fd, &one, sizeof(one));
	return 0;
}

static void *front_thread(void *arg)
{
	struct front *f = arg;
	loop_run(f->loop);
	return NULL;
}

static int front_listen(struct front *f, char *err, size_t errlen)
{
	if (f->cfg.listen_fd >= 0) {
		f->listen_fd = f->cfg.listen_fd;
	} else {
		f->listen_fd = socket(f->cfg.listen_addr.ss_family,
				      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (f->listen_fd < 0 ||
		    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(f->listen_fd, (struct sockaddr *)&f->cfg.listen_addr, f->cfg.listen_len) <
			0 ||
		    listen(f->listen_fd, 511) < 0) {
			snprintf(err, errlen, "TCP listen: %s", strerror(errno));
			return -1;
		}
	}
	fcntl(f->listen_fd, F_SETFL, fcntl(f->listen_fd, F_GETFL) | O_NONBLOCK);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(f->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		f->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void front_free(struct front *f)
{
	if (!f)
		return;
	while (f->conns)
		conn_finish(f->conns, false, true);
	front_flush(NULL, f);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->post_fd >= 0)
		close(f->post_fd);
	while (f->posts) {
		struct post *n = f->posts->next;
		free(f->posts);
		f->posts = n;
	}
	loop_free(f->loop);
	SSL_CTX_free(f->ctx);
	SSL_CTX_free(f->up_ctx);
	pthread_mutex_destroy(&f->post_mu);
	free(f);
}

int front_run(struct front *f)
{
	int r = pthread_create(&f->thread, NULL, front_thread, f);
	if (r != 0)
		return -r;
	f->running = true;
	return 0;
}

struct front *front_start(const struct front_config *cfg, char *err, size_t errlen)
{
	struct front *f = front_open(cfg, err, errlen);
	if (f && front_run(f) < 0) {
		snprintf(err, errlen, "cannot start the front thread");
		front_stop(f);
		return NULL;
	}
	return f;
}

struct front *front_open(const struct front_config *cfg, char *err, size_t errlen)
{
	struct front *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	f->listen_fd = -1;
	f->post_fd = -1;
	pthread_mutex_init(&f->post_mu, NULL);
	if (!f->cfg.max_conns)
		f->cfg.max_conns = 1;
	snprintf(f->cert, sizeof(f->cert), "%s", cfg->cert_file ? cfg->cert_file : "");
	snprintf(f->key, sizeof(f->key), "%s", cfg->key_file ? cfg->key_file : "");
	f->cfg.cert_file = f->cert;
	f->cfg.key_file = f->key;
	f->cfg.fallback_site = NULL;
	if (cfg->fallback_site && cfg->fallback_site[0] &&
	    front_parse_fallback(f, cfg->fallback_site, err, errlen) < 0)
		goto fail;
	if (cfg->tls && !(f->ctx = front_server_ctx(f, err, errlen)))
		goto fail;
	if (!(f->up_ctx = front_upstream_ctx())) {
		snprintf(err, errlen, "SSL_CTX_new (client) failed");
		goto fail;
	}
	if (front_listen(f, err, errlen) < 0)
		goto fail;
	f->loop = loop_new();
	f->post_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!f->loop || f->post_fd < 0) {
		snprintf(err, errlen, "front loop: %s", strerror(errno));
		goto fail;
	}
	f->listen_op = (struct loop_op){
	    .kind = LOOP_OP_POLL, .fd = f->listen_fd, .done = front_accept, .ctx = f};
	f->post_op = (struct loop_op){.kind = LOOP_OP_READ,
				      .fd = f->post_fd,
				      .buf = &f->post_buf,
				      .len = sizeof(f->post_buf),
				      .done = front_run_posts,
				      .ctx = f};
	if (loop_submit(f->loop, &f->listen_op) < 0 || loop_submit(f->loop, &f->post_op) < 0) {
		snprintf(err, errlen, "front loop: cannot watch sockets");
		goto fail;
	}
	f->accepting = true;
	loop_set_tick(f->loop, FRONT_TICK_MS, front_tick, f);
	loop_set_flush(f->loop, front_flush, f);
	return f;
fail:
	if (cfg->listen_fd >= 0)
		f->listen_fd = -1; /* the caller's */
	front_free(f);
	return NULL;
}

void front_set_upgrade(struct front *f, front_upgrade_fn fn, void *ctx)
{
	f->upg_fn = fn;
	f->upg_ctx = ctx;
}

void front_stop(struct front *f)
{
	if (!f)
		return;
	if (f->running) {
		loop_stop(f->loop);
		pthread_join(f->thread, NULL);
	}
	front_free(f);
}

void front_stats(const struct front *f, struct front_stats *out)
{
	const uint64_t *src = (const uint64_t *)&f->st;
	uint64_t *dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const char *front_stat_name(size_t i)
{
	static const char *const names[] = {
	    "accepted",
	    "refused_full",
	    "proxy_bad",
	    "tls_failed",
	    "not_tls",
	    "to_fallback",
	    "to_mimic",
	    "upgrades_offered",
	    "adopted",
	    "declined",
	    "http_rejected",
	    "timeouts",
	    "fallback_connect_failed",
	    "active",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == FRONT_STATS_N,
		       "a name for every front counter");
	return i < FRONT_STATS_N ? names[i] : NULL;
}

uint16_t front_port(const struct front *f)
{
	return f->port;
}

/* ---- a connection, for the upgrade callback ---- */

ssize_t front_conn_read(struct front_conn *c, void *buf, size_t len)
{
	if (c->ph != PH_ADOPTED)
		return -EINVAL;
	if (c->rd < c->len) {
		size_t k = c->len - c->rd < len ? c->len - c->rd : len;
		memcpy(buf, c->buf + c->rd, k);
		c->rd += k;
		if (c->wrote && c->rd == c->len)
			c->rd = c->len = 0; /* nothing to keep once committed */
		return (ssize_t)k;
	}
	if (!c->wrote && c->len < FRONT_ADOPT_KEEP) {
		/* keep what is read until the first write: a decline replays it */
		ssize_t r = conn_fill(c, FRONT_ADOPT_KEEP);
		if (r <= 0)
			return r;
		return front_conn_read(c, buf, len);
	}
	bool ww = false;
	ssize_t r = io_read(c->ssl, c->fd, buf, len, &ww, NULL);
	if (ww)
		c->want_write = true;
	if (r > 0 && !c->wrote)
		c->lost = true; /* past FRONT_ADOPT_KEEP: a decline could not replay it */
	return r;
}

ssize_t front_conn_write(struct front_conn *c, const void *buf, size_t len)
{
	if (c->ph != PH_ADOPTED)
		return -EINVAL;
	c->wrote = true;
	ssize_t r = io_write(c->ssl, c->fd, buf, len, NULL);
	if (r == -EAGAIN || (r >= 0 && (size_t)r < len)) {
		c->want_write = true;
		conn_set_events(c, POLLIN | POLLOUT);
	}
	return r;
}

void front_conn_set_io(struct front_conn *c, front_io_fn fn, void *ctx)
{
	c->io_fn = fn;
	c->io_ctx = ctx;
	if (c->ph == PH_ADOPTED)
		conn_adopted_arm(c); /* bytes may already wait after the head */
}

void front_conn_set_deadline(struct front_conn *c, unsigned ms)
{
	conn_deadline(c, ms);
}

void front_conn_close(struct front_conn *c)
{
	conn_finish(c, true, false);
}

void front_conn_abort(struct front_conn *c)
{
	conn_finish(c, false, true);
}

int front_conn_decline(struct front_conn *c)
{
	if (c->ph != PH_ADOPTED || c->wrote || c->lost)
		return -EINVAL;
	STAT_INC(c->f, declined);
	c->declined = true;
	c->io_fn = NULL;
	c->ph = PH_HEAD;
	conn_deadline(c, c->f->cfg.header_timeout_ms);
	conn_to_fallback(c);
	return 0;
}

const struct sockaddr *front_conn_peer(const struct front_conn *c, socklen_t *len)
{
	if (len)
		*len = c->peer_len;
	return (const struct sockaddr *)&c->peer;
}

const char *front_conn_sni(const struct front_conn *c)
{
	return c->sni[0] ? c->sni : NULL;
}

bool front_conn_is_tls(const struct front_conn *c)
{
	return c->ssl != NULL;
}
