/* The client's TLS + WebSocket connection; see client_ws.h. */
#include "client/client_ws.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dataplane/stream.h"
#include "crypto/rng.h"
#include "front/upgrade.h"
#include "front/ws.h"

#define OUT_CAP (256 * 1024)
#define IN_CAP	(UPGRADE_HEAD_MAX + 2 * (WS_HEADER_MAX + STREAM_PKT_MAX))

struct client_ws {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	enum client_ws_state state;
	char key_b64[UPGRADE_KEY_B64_LEN + 1];
	bool want_write; /* TLS asked for it */
	size_t out_off, out_len, in_len;
	char err[160];
	uint8_t out[OUT_CAP];
	uint8_t in[IN_CAP];
};

/* Chrome 131's offer, in its order, as far as OpenSSL 3.0 can say it:
 * no GREASE, no X25519MLKEM768, no compress_certificate, ALPS or ECH,
 * and OpenSSL orders the extensions itself (docs/obfuscation.md). */
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:"
    "AES256-SHA";
static const char groups[] = "X25519:P-256:P-384";
static const char sigalgs[] = "ECDSA+SHA256:rsa_pss_rsae_sha256:RSA+SHA256:ECDSA+SHA384:"
			      "rsa_pss_rsae_sha384:RSA+SHA384:rsa_pss_rsae_sha512:RSA+SHA512";
static const unsigned char alpn[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_h1[] = "\x08http/1.1";

static int fail(struct client_ws *w, int err, const char *what)
{
	unsigned long e = ERR_get_error();

	if (!w->err[0]) {
		if (e)
			snprintf(w->err, sizeof(w->err), "%s: %s", what,
				 ERR_reason_error_string(e));
		else
			snprintf(w->err, sizeof(w->err), "%s", what);
	}
	ERR_clear_error();
	return err;
}

const char *client_ws_error(const struct client_ws *w)
{
	return w->err[0] ? w->err : "closed";
}

/* The system's CAs: the bundle and the hashed directory (or
 * SSL_CERT_FILE / SSL_CERT_DIR), as SSL_CTX_set_default_verify_paths
 * would, but without OpenSSL 3's store loader, which lists the directory
 * (getdents64, outside the client's system-call filter); the hashed
 * lookup opens one file by name when a chain needs it. */
static bool load_cas(SSL_CTX *ctx)
{
	const char *file = getenv(X509_get_default_cert_file_env());
	const char *dir = getenv(X509_get_default_cert_dir_env());
	bool any;

	any = SSL_CTX_load_verify_file(ctx, file ? file : X509_get_default_cert_file()) == 1;
	any |= SSL_CTX_load_verify_dir(ctx, dir ? dir : X509_get_default_cert_dir()) == 1;
	ERR_clear_error(); /* one of them may well be missing */
	return any;
}

static SSL_CTX *make_ctx(const struct client_ws_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, tls13_suites) ||
	    !SSL_CTX_set_cipher_list(ctx, tls12_ciphers) ||
	    !SSL_CTX_set1_groups_list(ctx, groups) || !SSL_CTX_set1_sigalgs_list(ctx, sigalgs) ||
	    SSL_CTX_set_alpn_protos(ctx, cfg->h1_only ? alpn_h1 : alpn,
				    cfg->h1_only ? sizeof(alpn_h1) - 1 : sizeof(alpn) - 1) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Chrome offers no encrypt_then_mac, and BoringSSL pads a hello of
	 * 256..511 bytes to 512 as OpenSSL's TLSEXT_PADDING does */
	SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_TLSEXT_PADDING);
	if (cfg->verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (!load_cas(ctx)) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

static int make_ssl(struct client_ws *w, const struct client_ws_config *cfg)
{
	w->ctx = make_ctx(cfg);
	if (!w->ctx)
		return fail(w, -EIO, "TLS setup");
	w->ssl = SSL_new(w->ctx);
	if (!w->ssl || !SSL_set_fd(w->ssl, w->fd))
		return fail(w, -EIO, "TLS setup");
	/* Chrome asks for OCSP stapling and SCTs */
	SSL_set_tlsext_status_type(w->ssl, TLSEXT_STATUSTYPE_ocsp);
	if (cfg->sni && cfg->sni[0] && !SSL_set_tlsext_host_name(w->ssl, cfg->sni))
		return fail(w, -EIO, "TLS server name");
	if (cfg->verify && cfg->sni && cfg->sni[0] && !SSL_set1_host(w->ssl, cfg->sni))
		return fail(w, -EIO, "TLS host check");
	SSL_set_connect_state(w->ssl);
	return 0;
}

static int tcp_connect(struct client_ws *w, const struct client_ws_config *cfg,
		       const struct udp_endpoint *to)
{
	int one = 1;

	w->fd = socket(to->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return fail(w, -errno, "socket");
	if (cfg->mark && setsockopt(w->fd, SOL_SOCKET, SO_MARK, &cfg->mark, sizeof(cfg->mark)) < 0)
		return fail(w, -errno, "SO_MARK");
	(void)setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(w->fd, &to->sa, to->len) < 0 && errno != EINPROGRESS)
		return fail(w, -errno, "connect");
	return 0;
}

int client_ws_open(struct client_ws **ret, const struct client_ws_config *cfg,
		   const struct udp_endpoint *to, const uint8_t *msg, size_t len,
		   uint64_t now_unix_s)
{
	struct client_ws *w = calloc(1, sizeof(*w));
	uint8_t nonce[UPGRADE_NONCE_LEN];
	int r;

	if (!w)
		return -ENOMEM;
	w->fd = -1;
	r = rng_fill(&rng_system, nonce, sizeof(nonce));
	if (r == 0)
		r = upgrade_request_write((char *)w->out, OUT_CAP, &w->out_len, cfg->key, cfg->host,
					  cfg->path, nonce, now_unix_s, msg, len);
	upgrade_key_b64(w->key_b64, nonce);
	if (r == 0)
		r = tcp_connect(w, cfg, to);
	if (r == 0)
		r = make_ssl(w, cfg);
	if (r < 0) {
		client_ws_free(w);
		return r;
	}
	w->state = CLIENT_WS_CONNECT;
	*ret = w;
	return 0;
}

void client_ws_free(struct client_ws *w)
{
	if (!w)
		return;
	if (w->ssl)
		SSL_free(w->ssl);
	if (w->ctx)
		SSL_CTX_free(w->ctx);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int client_ws_fd(const struct client_ws *w)
{
	return w->fd;
}

enum client_ws_state client_ws_state(const struct client_ws *w)
{
	return w->state;
}

unsigned client_ws_events(const struct client_ws *w)
{
	bool out = w->state == CLIENT_WS_CONNECT || w->want_write ||
		   ((w->state == CLIENT_WS_REQUEST || w->state == CLIENT_WS_OPEN) &&
		    w->out_off < w->out_len);

	return POLLIN | (out ? POLLOUT : 0);
}

/* 1 done, 0 would block, < 0 failed. */
static int step_connect(struct client_ws *w)
{
	struct pollfd p = {.fd = w->fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return fail(w, -err, strerror(err));
	w->state = CLIENT_WS_TLS;
	return 1;
}

/* The result of an SSL call that did not succeed: 0 would block. */
static int ssl_wait(struct client_ws *w, int r, const char *what)
{
	switch (SSL_get_error(w->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		w->want_write = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		w->want_write = true;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return fail(w, -ECONNRESET, "the server closed the connection");
	case SSL_ERROR_SYSCALL:
		return fail(w, errno ? -errno : -ECONNRESET, what);
	default:
		return fail(w, -EPROTO, what);
	}
}

static int step_tls(struct client_ws *w)
{
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	int r = SSL_do_handshake(w->ssl);

	if (r != 1)
		return ssl_wait(w, r, "TLS handshake");
	w->want_write = false;
	SSL_get0_alpn_selected(w->ssl, &sel, &sel_len);
	if (sel_len == 2 && memcmp(sel, "h2", 2) == 0)
		return fail(w, -EPROTONOSUPPORT, "the server chose HTTP/2");
	w->state = CLIENT_WS_REQUEST;
	return 1;
}

/* Writes the output; 1 when all is written, 0 would block. */
static int write_out(struct client_ws *w)
{
	while (w->out_off < w->out_len) {
		int r = SSL_write(w->ssl, w->out + w->out_off, (int)(w->out_len - w->out_off));
		if (r <= 0)
			return ssl_wait(w, r, "TLS write");
		w->want_write = false;
		w->out_off += (size_t)r;
	}
	w->out_off = w->out_len = 0;
	return 1;
}

/* Reads what TLS has; 1 read something, 0 nothing now. */
static int read_in(struct client_ws *w)
{
	int r;

	if (w->in_len == IN_CAP)
		return fail(w, -EPROTO, "oversized message from the server");
	r = SSL_read(w->ssl, w->in + w->in_len, (int)(IN_CAP - w->in_len));
	if (r <= 0)
		return ssl_wait(w, r, "TLS read");
	w->in_len += (size_t)r;
	return 1;
}

static void consume(struct client_ws *w, size_t n)
{
	memmove(w->in, w->in + n, w->in_len - n);
	w->in_len -= n;
}

static int step_101(struct client_ws *w, bool *opened)
{
	long head = upgrade_head_len(w->in, w->in_len);

	if (head < 0)
		return fail(w, -EPROTO, "oversized answer to the upgrade");
	if (head == 0) {
		int r = read_in(w);
		return r <= 0 ? r : 1;
	}
	if (upgrade_response_check(w->in, (size_t)head, w->key_b64) < 0)
		return fail(w, -ECONNREFUSED, "the server did not take the upgrade");
	consume(w, (size_t)head);
	w->state = CLIENT_WS_OPEN;
	*opened = true;
	return 1;
}

static int queue_frame(struct client_ws *w, uint8_t opcode, const uint8_t *p, size_t len)
{
	uint8_t mask[4], hdr[WS_HEADER_MAX];
	size_t hl;

	if (w->out_off && w->out_len + WS_HEADER_MAX + len > OUT_CAP) {
		memmove(w->out, w->out + w->out_off, w->out_len - w->out_off);
		w->out_len -= w->out_off;
		w->out_off = 0;
	}
	if (w->out_len + WS_HEADER_MAX + len > OUT_CAP)
		return -EAGAIN;
	if (rng_fill(&rng_system, mask, sizeof(mask)) < 0)
		return -EIO;
	hl = ws_build_header(hdr, true, opcode, mask, len);
	memcpy(w->out + w->out_len, hdr, hl);
	memcpy(w->out + w->out_len + hl, p, len);
	ws_mask(w->out + w->out_len + hl, len, mask, 0);
	w->out_len += hl + len;
	return 0;
}

/* The frames in the input; < 0 ends the connection. */
static int frames(struct client_ws *w, client_ws_msg_fn fn, void *ctx)
{
	for (;;) {
		struct ws_frame f;
		enum ws_result r = ws_parse_header(w->in, w->in_len, false, STREAM_PKT_MAX, &f);
		if (r == WS_NEED_MORE || (r == WS_OK && w->in_len < f.header_len + f.payload_len))
			return 0;
		if (r != WS_OK || !f.fin)
			return fail(w, -EPROTO, "bad frame from the server");
		uint8_t *p = w->in + f.header_len;
		size_t len = (size_t)f.payload_len;
		switch (f.opcode) {
		case WS_OP_BINARY:
			fn(ctx, p, len);
			break;
		case WS_OP_PING:
			(void)queue_frame(w, WS_OP_PONG, p, len);
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE:
			return fail(w, -ECONNRESET, "the server closed the WebSocket");
		default:
			return fail(w, -EPROTO, "unexpected frame from the server");
		}
		consume(w, f.header_len + len);
	}
}

static int step_open(struct client_ws *w, client_ws_msg_fn fn, void *ctx)
{
	int r = frames(w, fn, ctx);

	if (r < 0)
		return r;
	r = write_out(w);
	if (r < 0)
		return r;
	r = read_in(w);
	return r; /* 1: more to parse */
}

int client_ws_io(struct client_ws *w, client_ws_msg_fn fn, void *ctx, bool *ret_opened)
{
	int r = 1;

	*ret_opened = false;
	for (int rounds = 0; r > 0 && rounds < 64; rounds++) {
		switch (w->state) {
		case CLIENT_WS_CONNECT:
			r = step_connect(w);
			break;
		case CLIENT_WS_TLS:
			r = step_tls(w);
			break;
		case CLIENT_WS_REQUEST:
			r = write_out(w);
			if (r > 0)
				w->state = CLIENT_WS_WAIT_101;
			break;
		case CLIENT_WS_WAIT_101:
			r = step_101(w, ret_opened);
			break;
		case CLIENT_WS_OPEN:
			r = step_open(w, fn, ctx);
			break;
		}
	}
	if (r >= 0 && w->state == CLIENT_WS_OPEN)
		r = frames(w, fn, ctx); /* what the last read brought */
	return r < 0 ? r : 0;
}

int client_ws_send(struct client_ws *w, const uint8_t *msg, size_t len)
{
	int r;

	if (len > STREAM_PKT_MAX)
		return -EMSGSIZE;
	if (w->state != CLIENT_WS_OPEN)
		return -EAGAIN;
	r = queue_frame(w, WS_OP_BINARY, msg, len);
	if (r == 0 && !w->want_write && write_out(w) < 0)
		return -EPIPE; /* client_ws_io reports it */
	return r;
}
