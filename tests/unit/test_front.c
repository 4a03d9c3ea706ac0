/* The TCP front (front/front.c) in-process on loopback: the mimic's
 * answers over plain HTTP and TLS, the upgrade callback (adopt: the
 * callback talks through front_conn I/O; decline, at once and later:
 * the mimic answers the same head), and hostile clients: a slowloris is
 * cut at the header timeout, an endless header line is refused at
 * nginx's limit with nothing more read, connections beyond
 * max_conns wait in the backlog instead of being served.
 * The byte-for-byte comparison with a real nginx is the e2e test
 * (tests/e2e/front_parity.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "front/front.h"
#include "front/ws.h"

static char cert_path[64], key_path[64];

/* A self-signed P-256 certificate for the test's TLS listener. */
static void make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(cert_path, sizeof(cert_path), "/tmp/ll-front-cert-%d.pem", (int)getpid());
	snprintf(key_path, sizeof(key_path), "/tmp/ll-front-key-%d.pem", (int)getpid());
	FILE *f = fopen(cert_path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static int setup_all(void **state)
{
	(void)state;
	make_cert();
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	unlink(cert_path);
	unlink(key_path);
	return 0;
}

static const char *opt_fallback;
static bool opt_proxy;

static struct front *start(bool tls, unsigned max_conns, unsigned header_ms)
{
	struct front_config fc;
	char err[256];
	front_config_defaults(&fc);
	struct sockaddr_in *sin = (struct sockaddr_in *)&fc.listen_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fc.listen_len = sizeof(*sin);
	fc.tls = tls;
	fc.cert_file = cert_path;
	fc.key_file = key_path;
	fc.max_conns = max_conns;
	fc.header_timeout_ms = header_ms;
	fc.fallback_site = opt_fallback;
	fc.proxy_protocol = opt_proxy;
	struct front *f = front_start(&fc, err, sizeof(err));
	if (!f)
		fprintf(stderr, "front_start: %s\n", err);
	assert_non_null(f);
	return f;
}

static int dial(struct front *f)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(front_port(f)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Reads until EOF or timeout_ms of silence. */
static size_t read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (n < cap - 1 && poll(&p, 1, timeout_ms) == 1) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static void test_mimic_plain(void **state)
{
	(void)state;
	struct front *f = start(false, 16, 2000);
	char buf[8192];
	int fd = dial(f);
	send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n"
		     "Connection: close\r\n\r\n");
	read_all(fd, buf, sizeof(buf), 1000);
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"));
	assert_non_null(strstr(buf, "<title>Welcome to nginx!</title>"));
	assert_non_null(strstr(buf, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));

	fd = dial(f);
	send_str(fd, "get / HTTP/1.1\r\n\r\n");
	read_all(fd, buf, sizeof(buf), 1000);
	close(fd);
	assert_true(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	front_stop(f);
}

/* An SSL client over a connected socket. */
static SSL *tls_client(int fd, SSL_CTX **ctxp)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "example.com");
	assert_int_equal(SSL_connect(s), 1);
	*ctxp = ctx;
	return s;
}

static size_t tls_read_all(SSL *s, char *buf, size_t cap)
{
	size_t n = 0;
	int r;
	while (n < cap - 1 && (r = SSL_read(s, buf + n, (int)(cap - 1 - n))) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

static void test_mimic_tls(void **state)
{
	(void)state;
	struct front *f = start(true, 16, 2000);
	char buf[8192];
	SSL_CTX *ctx;
	int fd = dial(f);
	SSL *s = tls_client(fd, &ctx);
	assert_string_equal(SSL_get_version(s), "TLSv1.3");
	const char *req = "HEAD / HTTP/1.0\r\n\r\n";
	SSL_write(s, req, (int)strlen(req));
	tls_read_all(s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_null(strstr(buf, "<html>")); /* HEAD: no body */
	SSL_free(s);
	SSL_CTX_free(ctx);
	close(fd);

	/* plain HTTP on the TLS port: nginx's own 400 */
	fd = dial(f);
	send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	read_all(fd, buf, sizeof(buf), 1000);
	close(fd);
	assert_non_null(strstr(buf, "The plain HTTP request was sent to HTTPS port"));
	front_stop(f);
}

/* IPv6: the front listens on ::1 and sees the client's v6 address. */
static void test_ipv6(void **state)
{
	(void)state;
	struct front_config fc;
	char err[256], buf[2048];
	front_config_defaults(&fc);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&fc.listen_addr;
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_loopback;
	fc.listen_len = sizeof(*s6);
	fc.tls = false;
	struct front *f = front_start(&fc, err, sizeof(err));
	if (!f)
		fail_msg("front on [::1]: %s (the e2e suite needs IPv6 too)", err);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6,
				  .sin6_port = htons(front_port(f)),
				  .sin6_addr = in6addr_loopback};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	read_all(fd, buf, sizeof(buf), 1000);
	assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	close(fd);
	front_stop(f);
}

/* ---- the upgrade callback ---- */

struct upg {
	enum front_verdict verdict;
	int calls;
	bool later_decline;
	struct front_conn *held;
	char key[WS_KEY_LEN + 1];
};

static void upg_io(void *ctx, struct front_conn *c, unsigned events)
{
	(void)ctx;
	if (!(events & FRONT_EV_READ))
		return;
	uint8_t b[256];
	ssize_t r = front_conn_read(c, b, sizeof(b));
	if (r == 0 || (r < 0 && r != -EAGAIN)) {
		front_conn_close(c);
		return;
	}
	if (r < 0)
		return;
	/* echo one masked frame back unmasked */
	struct ws_frame fr;
	if (ws_parse_header(b, (size_t)r, true, 125, &fr) != WS_OK ||
	    fr.header_len + fr.payload_len > (size_t)r) {
		front_conn_abort(c);
		return;
	}
	uint8_t *p = b + fr.header_len;
	ws_mask(p, (size_t)fr.payload_len, fr.mask, 0);
	uint8_t out[WS_HEADER_MAX + 125];
	size_t hl = ws_build_header(out, true, fr.opcode, NULL, fr.payload_len);
	memcpy(out + hl, p, (size_t)fr.payload_len);
	front_conn_write(c, out, hl + (size_t)fr.payload_len);
}

static enum front_verdict upg_cb(void *ctx, struct front_conn *c, const uint8_t *head,
				 size_t head_len, const struct http_request *req)
{
	struct upg *u = ctx;
	(void)head_len;
	u->calls++;
	assert_true(req->flags & HTTP_F_WS_UPGRADE);
	if (u->verdict == FRONT_DECLINE)
		return FRONT_DECLINE;
	if (u->later_decline) {
		u->held = c;
		return FRONT_ADOPT;
	}
	char accept[WS_ACCEPT_LEN + 1];
	assert_int_equal(ws_accept_key(head + req->ws_key.off, req->ws_key.len, accept), 0);
	char resp[256];
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			 accept);
	assert_int_equal(front_conn_write(c, resp, (size_t)n), n);
	front_conn_set_io(c, upg_io, u);
	return FRONT_ADOPT;
}

static void later_decline(void *arg)
{
	struct upg *u = arg;
	assert_int_equal(front_conn_decline(u->held), 0);
}

static const char upgrade_req[] =
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

static void test_upgrade_adopt(void **state)
{
	(void)state;
	struct front *f = start(false, 16, 2000);
	struct upg u = {.verdict = FRONT_ADOPT};
	front_set_upgrade(f, upg_cb, &u);
	int fd = dial(f);
	/* the head and the first frame in one write: the frame must reach the
	 * callback through front_conn_read */
	uint8_t msg[512];
	size_t n = strlen(upgrade_req);
	memcpy(msg, upgrade_req, n);
	static const uint8_t frame[] = {0x82,	 0x85,	  1,	   2,	    3,	    4,
					'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1};
	memcpy(msg + n, frame, sizeof(frame));
	assert_int_equal(send(fd, msg, n + sizeof(frame), 0), (ssize_t)(n + sizeof(frame)));
	char buf[1024];
	size_t got = read_all(fd, buf, sizeof(buf), 1000);
	assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
	const char *end = strstr(buf, "\r\n\r\n") + 4;
	assert_int_equal(got - (size_t)(end - buf), 7);
	assert_memory_equal(end, "\x82\x05hello", 7);
	assert_int_equal(u.calls, 1);
	close(fd);
	struct front_stats st;
	front_stats(f, &st);
	assert_int_equal(st.adopted, 1);
	front_stop(f);
}

/* Declined at once or later: the mimic answers the head as nginx would
 * (a GET of a missing path: 404), with no trace of the callback. */
static void test_upgrade_decline(void **state)
{
	(void)state;
	for (int later = 0; later < 2; later++) {
		struct front *f = start(false, 16, 2000);
		struct upg u = {.verdict = later ? FRONT_ADOPT : FRONT_DECLINE,
				.later_decline = later};
		front_set_upgrade(f, upg_cb, &u);
		int fd = dial(f);
		send_str(fd, upgrade_req);
		if (later) {
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
			assert_int_equal(front_post(f, later_decline, &u), 0);
		}
		char buf[2048];
		read_all(fd, buf, sizeof(buf), 1000);
		if (strncmp(buf, "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n", 46) != 0)
			fail_msg("later=%d got [%.200s]", later, buf);
		assert_int_equal(u.calls, 1);
		close(fd);
		struct front_stats st;
		front_stats(f, &st);
		assert_int_equal(st.declined, 1);
		front_stop(f);
	}
}

/* ---- hostile clients ---- */

static void test_slowloris_cut(void **state)
{
	(void)state;
	struct front *f = start(false, 16, 300);
	int fd = dial(f);
	send_str(fd, "GET / HTTP/1.1\r\nHo");
	char buf[256];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* one byte every 100 ms does not extend nginx's header timeout */
	for (int i = 0; i < 10; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (send(fd, "s", 1, MSG_NOSIGNAL) < 0)
			break;
	}
	size_t n = read_all(fd, buf, sizeof(buf), 2000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(n, 0); /* closed without an answer */
	close(fd);
	struct front_stats st;
	front_stats(f, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.active, 0);
	front_stop(f);
}

static void test_huge_header_bounded(void **state)
{
	(void)state;
	struct front *f = start(false, 16, 5000);
	int fd = dial(f);
	send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	char junk[4096];
	memset(junk, 'a', sizeof(junk));
	size_t sent = 0;
	/* keep sending: the front must answer at nginx's limit, not buffer on */
	for (int i = 0; i < 64; i++) {
		ssize_t r = send(fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r <= 0)
			break;
		sent += (size_t)r;
	}
	char buf[4096];
	read_all(fd, buf, sizeof(buf), 1000);
	assert_non_null(strstr(buf, "<title>400 Request Header Or Cookie Too Large</title>"));
	assert_true(sent >= 8192);
	close(fd);
	front_stop(f);
}

static void test_max_conns(void **state)
{
	(void)state;
	struct front *f = start(false, 2, 5000);
	int a = dial(f), b = dial(f), c = dial(f); /* c waits in the backlog */
	send_str(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	char buf[2048];
	assert_int_equal(read_all(c, buf, sizeof(buf), 300), 0);
	struct front_stats st;
	front_stats(f, &st);
	assert_int_equal(st.active, 2);
	close(a); /* a slot frees: c is accepted and answered */
	assert_true(read_all(c, buf, sizeof(buf), 1000) > 0);
	assert_true(strncmp(buf, "HTTP/1.1 200 OK", 15) == 0);
	close(b);
	close(c);
	front_stop(f);
}

/* ---- the relay to fallback_site ---- */

/* A plain TCP "fallback" on loopback, driven by the test. */
static int fb_listen(uint16_t *port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 8), 0);
	getsockname(l, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return l;
}

static int fb_accept(int l)
{
	struct pollfd p = {.fd = l, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	return accept(l, NULL, NULL);
}

/* What the next read on fd sees within 2 s: bytes ("data"), "FIN", "RST". */
static const char *next_event(int fd, char *buf, size_t cap, size_t *n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	*n = 0;
	if (poll(&p, 1, 2000) != 1)
		return "none";
	ssize_t r = recv(fd, buf, cap, 0);
	if (r > 0) {
		*n = (size_t)r;
		return "data";
	}
	return r == 0 ? "FIN" : (errno == ECONNRESET ? "RST" : "error");
}

static void rst_close(int fd)
{
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Plain HTTP on the TLS port goes raw to the fallback; then each close is
 * mirrored: the client's FIN is a FIN to the fallback (whose answer still
 * comes back), the fallback's FIN a FIN to the client; a reset on either
 * side resets the other. */
static void test_relay_mirrors_closes(void **state)
{
	(void)state;
	uint16_t port;
	int l = fb_listen(&port);
	char url[64], buf[4096];
	size_t n;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	opt_fallback = url;
	struct front *f = start(true, 16, 5000);

	/* client FIN -> fallback FIN; fallback answers, then FIN -> client FIN */
	int c = dial(f);
	send_str(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	int u = fb_accept(l);
	assert_string_equal(next_event(u, buf, sizeof(buf), &n), "data");
	assert_int_equal(n, 27);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
	shutdown(c, SHUT_WR);
	assert_string_equal(next_event(u, buf, sizeof(buf), &n), "FIN");
	send_str(u, "HTTP/1.1 400 Bad Request\r\n\r\n");
	assert_string_equal(next_event(c, buf, sizeof(buf), &n), "data");
	close(u);
	assert_string_equal(next_event(c, buf, sizeof(buf), &n), "FIN");
	close(c);

	/* client RST -> fallback RST */
	c = dial(f);
	send_str(c, "garbage");
	u = fb_accept(l);
	assert_string_equal(next_event(u, buf, sizeof(buf), &n), "data");
	rst_close(c);
	assert_string_equal(next_event(u, buf, sizeof(buf), &n), "RST");
	close(u);

	/* fallback RST -> client RST */
	c = dial(f);
	send_str(c, "garbage");
	u = fb_accept(l);
	assert_string_equal(next_event(u, buf, sizeof(buf), &n), "data");
	rst_close(u);
	assert_string_equal(next_event(c, buf, sizeof(buf), &n), "RST");
	close(c);

	struct front_stats st;
	front_stats(f, &st);
	assert_int_equal(st.to_fallback, 3);
	assert_int_equal(st.not_tls, 3);
	front_stop(f);
	close(l);
	opt_fallback = NULL;
}

/* A declined upgrade reaches the fallback byte for byte, the head and the
 * frame that followed it in the same write included; so does a head bigger
 * than the relay's buffer. */
static void test_relay_declined_bytes(void **state)
{
	(void)state;
	uint16_t port;
	int l = fb_listen(&port);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	opt_fallback = url;
	struct front *f = start(false, 16, 5000);
	struct upg u = {.verdict = FRONT_DECLINE};
	front_set_upgrade(f, upg_cb, &u);

	char msg[30000];
	size_t hl = strlen(upgrade_req);
	memcpy(msg, upgrade_req, hl);
	memcpy(msg + hl, "\x82\x81\x01\x02\x03\x04x", 7);
	int c = dial(f);
	assert_int_equal(send(c, msg, hl + 7, 0), (ssize_t)(hl + 7));
	int s = fb_accept(l);
	char got[40000];
	size_t n = read_all(s, got, sizeof(got), 500);
	assert_int_equal(n, hl + 7);
	assert_memory_equal(got, msg, hl + 7);
	assert_int_equal(u.calls, 1);
	close(s);
	close(c);

	/* a 20 KiB GET head (under nginx's 8k-per-line limits) */
	size_t at = (size_t)snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 4; i++) {
		at += (size_t)snprintf(msg + at, sizeof(msg) - at, "X%d: ", i);
		memset(msg + at, 'y', 5000);
		at += 5000;
		at += (size_t)snprintf(msg + at, sizeof(msg) - at, "\r\n");
	}
	at += (size_t)snprintf(msg + at, sizeof(msg) - at, "\r\n");
	c = dial(f);
	assert_int_equal(send(c, msg, at, 0), (ssize_t)at);
	s = fb_accept(l);
	n = read_all(s, got, sizeof(got), 500);
	assert_int_equal(n, at);
	assert_memory_equal(got, msg, at);
	/* and the relay still moves bytes afterwards, both ways */
	send_str(c, "more");
	assert_int_equal(read_all(s, got, sizeof(got), 300), 4);
	send_str(s, "answer");
	assert_int_equal(read_all(c, got, sizeof(got), 300), 6);
	close(s);
	close(c);
	front_stop(f);
	close(l);
	opt_fallback = NULL;
}

/* ---- PROXY protocol v2 ---- */

static enum front_verdict peer_cb(void *ctx, struct front_conn *c, const uint8_t *head,
				  size_t head_len, const struct http_request *req)
{
	(void)head;
	(void)head_len;
	(void)req;
	socklen_t len;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)front_conn_peer(c, &len);
	*(uint32_t *)ctx = len == sizeof(*sin) ? ntohl(sin->sin_addr.s_addr) : 0;
	return FRONT_DECLINE;
}

static void test_proxy_v2(void **state)
{
	(void)state;
	opt_proxy = true;
	struct front *f = start(false, 16, 5000);
	uint32_t peer = 0;
	front_set_upgrade(f, peer_cb, &peer);
	/* 192.0.2.7:4000 -> 198.51.100.1:443 */
	static const uint8_t pp[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
				     0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 192,  0,    2,	   7,
				     198,  51,	 100,  1,    0x0f, 0xa0, 0x01, 0xbb};
	char msg[1024], buf[2048];
	memcpy(msg, pp, sizeof(pp));
	memcpy(msg + sizeof(pp), upgrade_req, strlen(upgrade_req));
	int c = dial(f);
	assert_int_equal(send(c, msg, sizeof(pp) + strlen(upgrade_req), 0),
			 (ssize_t)(sizeof(pp) + strlen(upgrade_req)));
	read_all(c, buf, sizeof(buf), 1000);
	assert_true(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_int_equal(peer, 0xc0000207);
	close(c);

	/* no header: closed without a byte; a broken one likewise */
	static const char *const bad[] = {"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
					  "\r\n\r\n\x01\r\nQUIT\n!\x11\x00\x0c"};
	for (size_t i = 0; i < 2; i++) {
		c = dial(f);
		send_str(c, bad[i]);
		assert_int_equal(read_all(c, buf, sizeof(buf), 1000), 0);
		close(c);
	}
	struct front_stats st;
	front_stats(f, &st);
	assert_int_equal(st.proxy_bad, 2);
	front_stop(f);
	opt_proxy = false;
}

/* 3000 pipelined requests in one stream: every one answered, in order,
 * without the stack growing with the stream (nginx answers them too). */
static void test_pipelined_flood(void **state)
{
	(void)state;
	struct front *f = start(false, 16, 5000);
	static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t n = 3000, len = n * (sizeof(req) - 1);
	char *all = malloc(len + 64);
	for (size_t i = 0; i < n; i++)
		memcpy(all + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	strcpy(all + len, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	len += strlen(all + len);
	int fd = dial(f);
	size_t sent = 0, got = 0, answers = 0;
	char buf[65536];
	char tail[32] = "";
	/* send and read at once: the answers are far bigger than the socket
	 * buffers; the last request says close, so the end is the server's FIN */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
		assert_int_equal(poll(&p, 1, 3000), 1);
		if ((p.revents & POLLOUT) && sent < len) {
			ssize_t r = send(fd, all + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
			if (r <= 0)
				break;
			buf[r] = '\0';
			got += (size_t)r;
			for (char *q = buf; (q = strstr(q, "HTTP/1.1 ")) != NULL; q += 9)
				answers++;
			size_t k = (size_t)r < sizeof(tail) - 1 ? (size_t)r : sizeof(tail) - 1;
			memcpy(tail, buf + r - k, k);
			tail[k] = '\0';
		}
	}
	/* status lines split across reads are not counted: at least all but a few */
	assert_true(answers + 64 >= n + 1);
	assert_true(got > (n + 1) * 100); /* whole error pages, not status lines alone */
	assert_non_null(strstr(tail, "</html>"));
	free(all);
	close(fd);
	front_stop(f);
}

/* ---- random hostile streams ---- */

/* Pieces a hostile stream is cut from: valid beginnings, broken ones,
 * TLS-looking bytes, PROXY-looking bytes, and noise. */
static const char *const pieces[] = {
    "GET / HTTP/1.1\r\n",
    "Host: a\r\n",
    "\r\n",
    "GET /",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\n",
    "Connection: keep-alive\r\n",
    "Accept-Encoding: gzip\r\n",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "\r\n\r\n\x00\r\nQUIT\n",
    "\x00\xff\x80",
    "Transfer-Encoding: chunked\r\n",
    "X: ",
    "GET /\r\n",
    "hello",
};

static uint32_t xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* 400 connections of random pieces, random bytes, random write splits and
 * random ends (FIN, RST, or just left open), 8 at a time, against the
 * mimic on plain HTTP and on TLS: the front answers or closes each one,
 * never crashes, and once the header timeout has passed holds none. */
/* A hostile fallback for the relay: reads what comes, and answers and
 * closes (FIN or RST) or just closes, at random. */
struct fake_fb {
	int l;
	volatile int stop;
	pthread_t th;
	uint32_t seed;
	unsigned served;
};

static void *fake_fb_run(void *arg)
{
	struct fake_fb *fb = arg;
	struct pollfd p[65];
	int n = 0;
	p[0] = (struct pollfd){.fd = fb->l, .events = POLLIN};
	while (!fb->stop) {
		if (poll(p, (nfds_t)n + 1, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 64) {
			int c = accept(fb->l, NULL, NULL);
			if (c >= 0) {
				p[++n] = (struct pollfd){.fd = c, .events = POLLIN};
				fb->served++;
			}
		}
		for (int i = 1; i <= n; i++) {
			if (!p[i].revents)
				continue;
			char b[4096];
			ssize_t r = recv(p[i].fd, b, sizeof(b), 0);
			uint32_t x = xs(&fb->seed) % 4;
			if (r > 0 && x == 0)
				continue; /* keep reading */
			if (r > 0 && x == 1)
				(void)!send(p[i].fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28,
					    MSG_NOSIGNAL);
			if (x == 2)
				rst_close(p[i].fd);
			else
				close(p[i].fd);
			p[i--] = p[n--];
		}
	}
	for (int i = 1; i <= n; i++)
		close(p[i].fd);
	return NULL;
}

static void random_streams(bool tls, bool relay)
{
	struct fake_fb fb = {.seed = 0x2545f491u};
	char url[64];
	if (relay) {
		uint16_t port;
		fb.l = fb_listen(&port);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
		opt_fallback = url;
		assert_int_equal(pthread_create(&fb.th, NULL, fake_fb_run, &fb), 0);
	}
	struct front *f = start(tls, 64, 300);
	/* fixed, so a failure repeats; LL_FRONT_SEED explores others */
	const char *env = getenv("LL_FRONT_SEED");
	uint32_t seed = env   ? (uint32_t)strtoul(env, NULL, 0) | 1u
			: tls ? 0x9e3779b9u
			      : 0x85ebca6bu;
	for (int round = 0; round < 50; round++) {
		int fds[8];
		for (int i = 0; i < 8; i++) {
			fds[i] = dial(f);
			char buf[4096];
			size_t n = 0;
			int parts = (int)(xs(&seed) % 8);
			for (int k = 0; k < parts && n < sizeof(buf) - 256; k++) {
				if (xs(&seed) % 4 == 0) {
					size_t r = xs(&seed) % 200;
					for (size_t j = 0; j < r; j++)
						buf[n++] = (char)xs(&seed);
				} else {
					const char *p = pieces[xs(&seed) % (sizeof(pieces) /
									    sizeof(pieces[0]))];
					size_t pl = strlen(p) ? strlen(p) : 1;
					memcpy(buf + n, p, pl);
					n += pl;
				}
			}
			for (size_t off = 0; off < n;) {
				size_t k = 1 + xs(&seed) % (n - off);
				if (send(fds[i], buf + off, k, MSG_NOSIGNAL | MSG_DONTWAIT) <= 0)
					break;
				off += k;
			}
		}
		for (int i = 0; i < 8; i++) {
			char junk[8192];
			(void)read_all(fds[i], junk, sizeof(junk), 5);
			switch (xs(&seed) % 3) {
			case 0:
				shutdown(fds[i], SHUT_WR);
				close(fds[i]);
				break;
			case 1:
				rst_close(fds[i]);
				break;
			default:
				close(fds[i]);
				break;
			}
		}
	}
	/* every connection ends within the header timeout (+ lingering) */
	struct front_stats st;
	for (int i = 0; i < 100; i++) {
		front_stats(f, &st);
		if (st.active == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	front_stats(f, &st);
	assert_int_equal(st.accepted, 400);
	assert_int_equal(st.active, 0);
	if (relay) {
		fb.stop = 1;
		pthread_join(fb.th, NULL);
		close(fb.l);
		assert_true(fb.served > 0);
		front_stop(f);
		return;
	}
	/* and it still serves */
	int fd = dial(f);
	char buf[2048];
	if (!tls) {
		send_str(fd, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
		read_all(fd, buf, sizeof(buf), 1000);
		assert_true(strncmp(buf, "HTTP/1.1 200 OK", 15) == 0);
	}
	close(fd);
	front_stop(f);
}

static void test_random_streams_plain(void **state)
{
	(void)state;
	random_streams(false, false);
}

static void test_random_streams_relay(void **state)
{
	(void)state;
	random_streams(true, true);
}

static void test_random_streams_tls(void **state)
{
	(void)state;
	random_streams(true, false);
}

/* A failed test leaves by longjmp: the next one starts from defaults. */
static int reset_opts(void **state)
{
	(void)state;
	opt_fallback = NULL;
	opt_proxy = false;
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, reset_opts)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_mimic_plain),	  T(test_mimic_tls),	      T(test_ipv6),
	    T(test_upgrade_adopt),	  T(test_upgrade_decline),    T(test_slowloris_cut),
	    T(test_huge_header_bounded),  T(test_max_conns),	      T(test_relay_mirrors_closes),
	    T(test_relay_declined_bytes), T(test_proxy_v2),	      T(test_pipelined_flood),
	    T(test_random_streams_plain), T(test_random_streams_tls), T(test_random_streams_relay),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
