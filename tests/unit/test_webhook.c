/* Webhooks (api/webhook*.c): the signature against an independent HMAC
 * (Python's hmac module), a receiver's check refusing every tampering, the
 * backoff's bounds, JSON bodies that stay valid whatever a user name
 * holds, the outbox's contract in memory and in the store (its bound; a
 * reopened store keeps what it held), the producer queue's bound and filter,
 * and one delivery to an HTTP server on loopback: signed, 2xx acknowledged,
 * 500 kept for a retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/webhook.h"
#include "api/webhook_event.h"
#include "api/webhook_outbox.h"
#include "api/webhook_store.h"
#include "storage/store.h"

static const uint8_t SECRET[] = "whsec_0123456789abcdef";
#define SECRET_LEN (sizeof(SECRET) - 1)

/* ---- signature ---- */

static void test_sign_vector(void **state)
{
	char sig[WEBHOOK_SIG_MAX];

	(void)state;
	/* python3: hmac.new(b'whsec_0123456789abcdef', b'1700000000.{"a":1}',
	 * hashlib.sha256).hexdigest() */
	assert_int_equal(webhook_sign(sig, SECRET, SECRET_LEN, 1700000000, "{\"a\":1}", 7), 0);
	assert_string_equal(
	    sig,
	    "t=1700000000,v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2");
}

static void test_verify_refuses_tampering(void **state)
{
	const char *body = "{\"type\":\"auth.failure\"}";
	size_t len = strlen(body);
	char sig[WEBHOOK_SIG_MAX], bad[2 * WEBHOOK_SIG_MAX];
	const int64_t t = 1700000000;

	(void)state;
	assert_int_equal(webhook_sign(sig, SECRET, SECRET_LEN, t, body, len), 0);
	assert_true(webhook_verify(sig, SECRET, SECRET_LEN, t + 10, 300, body, len));
	/* another body, another secret, too old, from the future */
	assert_false(webhook_verify(sig, SECRET, SECRET_LEN, t, 300, "{\"type\":\"user.x\"}", 17));
	assert_false(
	    webhook_verify(sig, (const uint8_t *)"another secret 16", 17, t, 300, body, len));
	assert_false(webhook_verify(sig, SECRET, SECRET_LEN, t + 301, 300, body, len));
	assert_false(webhook_verify(sig, SECRET, SECRET_LEN, t - 301, 300, body, len));
	/* the timestamp is inside the MAC: moving it breaks the signature */
	snprintf(bad, sizeof(bad), "t=%lld%s", (long long)t + 1, strchr(sig, ','));
	assert_false(webhook_verify(bad, SECRET, SECRET_LEN, t, 300, body, len));
	/* a flipped hex digit, a short tag, no tag, garbage */
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[strlen(bad) - 1] ^= 1;
	assert_false(webhook_verify(bad, SECRET, SECRET_LEN, t, 300, body, len));
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(sig) - 2, sig);
	assert_false(webhook_verify(bad, SECRET, SECRET_LEN, t, 300, body, len));
	assert_false(webhook_verify("t=1700000000", SECRET, SECRET_LEN, t, 300, body, len));
	assert_false(webhook_verify("", SECRET, SECRET_LEN, t, 300, body, len));
	assert_false(webhook_verify("v1=00,t=1", SECRET, SECRET_LEN, t, 300, body, len));
	/* a rotated secret: two v1 values, either may match */
	snprintf(bad, sizeof(bad), "%s,v1=%064d", sig, 0);
	assert_true(webhook_verify(bad, SECRET, SECRET_LEN, t, 300, body, len));
	snprintf(bad, sizeof(bad), "t=%lld,v1=%064d%s", (long long)t, 0, strchr(sig, ','));
	assert_true(webhook_verify(bad, SECRET, SECRET_LEN, t, 300, body, len));
}

/* ---- backoff ---- */

static void test_backoff_bounds(void **state)
{
	int64_t step = WEBHOOK_BACKOFF_BASE_S;

	(void)state;
	for (unsigned a = 1; a <= 40; a++) {
		int64_t lo = webhook_backoff(a, 0), hi = webhook_backoff(a, UINT32_MAX);

		/* equal jitter: within [step/2, step], and never 0 */
		assert_true(lo >= 1);
		assert_int_equal(lo, step / 2);
		assert_true(hi <= step && hi >= lo);
		for (uint32_t r = 0; r < 5000; r += 97) {
			int64_t d = webhook_backoff(a, r * 2654435761u);
			assert_true(d >= step / 2 && d <= step);
		}
		step = step * 2 > WEBHOOK_BACKOFF_CAP_S ? WEBHOOK_BACKOFF_CAP_S : step * 2;
	}
	assert_int_equal(webhook_backoff(1, 0), 2);
	assert_int_equal(webhook_backoff(1, 2), 4);
	assert_int_equal(webhook_backoff(1, 3), 2); /* 3 mod 3 */
	/* the cap holds and nothing overflows */
	assert_true(webhook_backoff(UINT32_MAX, UINT32_MAX) <= WEBHOOK_BACKOFF_CAP_S);
	assert_true(webhook_backoff(UINT32_MAX, 0) == WEBHOOK_BACKOFF_CAP_S / 2);
	assert_true(webhook_backoff(0, 0) >= 1);
}

/* ---- the sandbox's question ---- */

/* Saying "numeric" for a URL libcurl would resolve would kill the server
 * (SIGSYS, no resolver in its filter): each case as libcurl reads it. */
static void test_url_names_host(void **state)
{
	static const struct {
		const char *url;
		bool name;
	} cases[] = {
	    {"http://127.0.0.1:8080/hook", false},
	    {"https://192.0.2.10/h?x=1", false},
	    {"http://[2001:db8::1]:8443/h", false},
	    {"http://[::1]/", false},
	    {"http://user:pw@127.0.0.1/", false},
	    {"http://hooks.example.com/h", true},
	    {"https://localhost:8443/", true},
	    {"http://127.0.0.1.evil.example/", true},
	    {"http://127.0.0.1:80@evil.example/", true}, /* user "127.0.0.1", password "80" */
	    {"http://evil.example#@127.0.0.1/", true},	 /* '@' in the fragment */
	    {"http://evil.example/@127.0.0.1/", true},	 /* '@' in the path */
	    {"http://evil.example?@127.0.0.1/", true},	 /* '@' in the query */
	    {"http://a@b@127.0.0.1/", false},		 /* libcurl refuses host "b@127.0.0.1" */
	    {"http://2130706433/", true},		 /* not dotted: left to the resolver */
	    {"http:///x", true},
	    {"no scheme", true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].url);
		assert_int_equal(webhook_url_names_host(cases[i].url), cases[i].name);
	}
}

/* ---- JSON ---- */

static json_t *parse_body(const struct webhook_event *e, const char *node)
{
	char *body = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *root;

	assert_int_equal(webhook_event_json(e, "evt_00", node, &body, &len), 0);
	assert_int_equal(strlen(body), len);
	assert_null(strchr(body, '\n')); /* one line: the outbox log relies on it */
	root = json_loads(body, 0, &jerr);
	assert_non_null(root);
	free(body);
	return root;
}

static void test_json_escaping(void **state)
{
	struct webhook_event e = {.type = WEBHOOK_USER_CONNECTED, .time = 1764787200, .port = 443};
	json_t *root, *data;

	(void)state;
	snprintf(e.user, sizeof(e.user), "a\"b\\c\nd\x01</script>");
	snprintf(e.addr, sizeof(e.addr), "2001:db8::1");
	root = parse_body(&e, "node \"1\"");
	assert_string_equal(json_string_value(json_object_get(root, "type")), "user.connected");
	assert_string_equal(json_string_value(json_object_get(root, "time")),
			    "2025-12-03T18:40:00Z");
	assert_string_equal(json_string_value(json_object_get(root, "node")), "node \"1\"");
	assert_string_equal(json_string_value(json_object_get(root, "id")), "evt_00");
	data = json_object_get(root, "data");
	assert_string_equal(json_string_value(json_object_get(data, "user")),
			    "a\"b\\c\nd\x01</script>");
	assert_string_equal(json_string_value(json_object_get(data, "endpoint")),
			    "[2001:db8::1]:443");
	json_decref(root);

	/* bytes that are not UTF-8 cannot break the body */
	snprintf(e.user, sizeof(e.user), "bad\xff\xfe utf8");
	root = parse_body(&e, "n");
	data = json_object_get(root, "data");
	assert_string_equal(json_string_value(json_object_get(data, "user")),
			    "bad\xef\xbf\xbd\xef\xbf\xbd utf8");
	json_decref(root);
}

static void test_json_types(void **state)
{
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE, .time = 0, .port = 5555};
	char *body = NULL;
	size_t len;
	json_t *root, *data;

	(void)state;
	snprintf(e.addr, sizeof(e.addr), "192.0.2.7");
	snprintf(e.reason, sizeof(e.reason), "unknown_peer");
	root = parse_body(&e, "n");
	data = json_object_get(root, "data");
	assert_string_equal(json_string_value(json_object_get(data, "address")), "192.0.2.7");
	assert_int_equal(json_integer_value(json_object_get(data, "port")), 5555);
	assert_string_equal(json_string_value(json_object_get(data, "reason")), "unknown_peer");
	json_decref(root);

	e = (struct webhook_event){
	    .type = WEBHOOK_USER_QUOTA_EXCEEDED, .used = 1LL << 40, .limit = 1LL << 40};
	snprintf(e.user, sizeof(e.user), "bob");
	snprintf(e.reason, sizeof(e.reason), "cutoff");
	root = parse_body(&e, "n");
	data = json_object_get(root, "data");
	assert_int_equal(json_integer_value(json_object_get(data, "used_bytes")), 1LL << 40);
	assert_string_equal(json_string_value(json_object_get(data, "action")), "cutoff");
	json_decref(root);

	e.type = WEBHOOK_TYPE_COUNT;
	assert_int_equal(webhook_event_json(&e, "evt_00", "n", &body, &len), -EINVAL);
	assert_null(body);

	for (int t = 0; t < WEBHOOK_TYPE_COUNT; t++)
		assert_int_equal(webhook_type_parse(webhook_type_name(t)), t);
	assert_int_equal(webhook_type_parse("user.*"), -1);
	assert_null(webhook_type_name(WEBHOOK_TYPE_COUNT));
}

/* ---- the outbox ---- */

static void enqueue(struct webhook_outbox *o, const char *body, int64_t now, int64_t *id)
{
	assert_int_equal(
	    webhook_outbox_enqueue(o, "user.connected", body, strlen(body), now, 100, id), 0);
}

static int64_t count_of(struct webhook_outbox *o)
{
	int64_t n = -1;

	assert_int_equal(webhook_outbox_count(o, &n), 0);
	return n;
}

/* The operations every backend must keep (the store's will too). */
static void outbox_contract(struct webhook_outbox *o)
{
	struct webhook_outbox_event ev[4];
	int64_t a, b, c;
	size_t n;

	enqueue(o, "{\"n\":1}", 100, &a);
	enqueue(o, "{\"n\":2}", 101, &b);
	enqueue(o, "{\"n\":3}", 102, &c);
	assert_true(a < b && b < c);
	/* due at their enqueue time, oldest first */
	assert_int_equal(webhook_outbox_peek(o, 101, 4, ev, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].id, a);
	assert_string_equal(ev[0].body, "{\"n\":1}");
	assert_string_equal(ev[1].type, "user.connected");
	webhook_outbox_events_free(ev, n);
	/* a failed attempt moves it later and counts it */
	assert_int_equal(webhook_outbox_failed(o, a, 200), 0);
	assert_int_equal(webhook_outbox_peek(o, 150, 4, ev, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].id, b);
	webhook_outbox_events_free(ev, n);
	assert_int_equal(webhook_outbox_ack(o, b), 0);
	assert_int_equal(webhook_outbox_ack(o, b), -ENOENT);
	assert_int_equal(webhook_outbox_failed(o, b, 1), -ENOENT);
	assert_int_equal(count_of(o), 2);
	/* the bound */
	assert_int_equal(webhook_outbox_enqueue(o, "x", "{}", 2, 103, 2, NULL), -ENOSPC);
	/* refused input */
	assert_int_equal(webhook_outbox_enqueue(o, "", "{}", 2, 103, 0, NULL), -EINVAL);
	assert_int_equal(webhook_outbox_enqueue(o, "a b", "{}", 2, 103, 0, NULL), -EINVAL);
	assert_int_equal(webhook_outbox_enqueue(o, "x", "{\0}", 3, 103, 0, NULL), -EINVAL);
	assert_int_equal(webhook_outbox_sync(o), 0);
}

static void test_outbox_memory(void **state)
{
	struct webhook_outbox *o = webhook_outbox_memory();

	(void)state;
	assert_non_null(o);
	outbox_contract(o);
	webhook_outbox_close(o);
}

/* A fresh, migrated SQLite store in a temporary directory. */
static struct store *open_store(const char *dir)
{
	char path[PATH_MAX];
	struct store *s = NULL;
	struct store_err err;

	snprintf(path, sizeof(path), "%s/lostlove.db", dir);
	assert_int_equal(store_open(path, &s, &err), STORE_OK);
	assert_int_equal(store_migrate(s, &err), STORE_OK);
	return s;
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = {"lostlove.db", "lostlove.db-wal", "lostlove.db-shm"};
	char path[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The server's outbox: the store's table, through the adapter; what it
 * holds survives closing and reopening (a restart). */
static void test_outbox_store(void **state)
{
	struct webhook_outbox_event ev[4];
	char dir[] = "/tmp/test_webhook.XXXXXX", path[PATH_MAX], err[256];
	struct webhook_outbox *o;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	o = webhook_outbox_over_store(open_store(dir));
	assert_non_null(o);
	outbox_contract(o); /* leaves ids 1 (failed once, due at 200) and 3 */
	webhook_outbox_close(o);

	snprintf(path, sizeof(path), "sqlite:%s/lostlove.db", dir);
	assert_int_equal(webhook_outbox_store(path, &o, err, sizeof(err)), 0);
	assert_int_equal(count_of(o), 2);
	assert_int_equal(webhook_outbox_peek(o, 1000, 4, ev, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].id, 1);
	assert_int_equal(ev[0].attempts, 1);
	assert_int_equal(ev[0].next_try, 200);
	assert_int_equal(ev[0].created_at, 100);
	assert_string_equal(ev[0].type, "user.connected");
	assert_string_equal(ev[1].body, "{\"n\":3}");
	webhook_outbox_events_free(ev, n);
	webhook_outbox_close(o);
	/* a store that cannot be opened is an error with a message */
	assert_true(webhook_outbox_store("postgres://db/x", &o, err, sizeof(err)) < 0);
	assert_null(o);
	assert_true(err[0] != '\0');
	remove_dir(dir);
}

/* ---- the producer queue ---- */

static struct webhook *new_webhook(const char *url, uint32_t events, uint32_t max_queue)
{
	struct webhook_config cfg = {.url = url,
				     .secret = SECRET,
				     .secret_len = SECRET_LEN,
				     .events = events,
				     .timeout_s = 5,
				     .max_queue = max_queue,
				     .max_age_s = 86400,
				     .node = "test",
				     .tls_verify = true};
	char err[256] = "";
	struct webhook *w = webhook_new(&cfg, err, sizeof(err));

	assert_non_null(w);
	return w;
}

static void test_queue_bound_and_filter(void **state)
{
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE, .time = 1};
	struct webhook_stats st;
	struct webhook *w = new_webhook("http://127.0.0.1:9/",
					WEBHOOK_ALL_EVENTS & ~(1u << WEBHOOK_USER_CONNECTED), 4);

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_true(webhook_emit(w, &e));
	for (int i = 0; i < 10; i++)
		assert_false(webhook_emit(w, &e)); /* full: refused at once, never waits */
	e.type = WEBHOOK_USER_CONNECTED;
	assert_false(webhook_emit(w, &e)); /* filtered: not a drop */
	assert_false(webhook_wants(w, WEBHOOK_USER_CONNECTED));
	assert_true(webhook_wants(w, WEBHOOK_USER_DISCONNECTED));
	webhook_stats(w, &st);
	assert_int_equal(st.emitted, 4);
	assert_int_equal(st.dropped[WEBHOOK_DROP_QUEUE_FULL], 10);
	webhook_free(w);
}

static void test_config_refused(void **state)
{
	struct webhook_config cfg = {.url = "ftp://x/",
				     .secret = SECRET,
				     .secret_len = SECRET_LEN,
				     .events = 1,
				     .timeout_s = 5,
				     .max_queue = 4};
	char err[256] = "";

	(void)state;
	assert_null(webhook_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "http"));
	cfg.url = "http://127.0.0.1/";
	cfg.secret_len = 8;
	assert_null(webhook_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "secret"));
}

/* ---- one delivery on loopback ---- */

struct receiver {
	int fd;
	uint16_t port;
	int status[2]; /* answers to the first and second request */
	char body[2][1024];
	char sig[2][256];
	int got;
};

/* Reads one request (head and Content-Length body) and answers. */
static void serve_one(struct receiver *r, int c)
{
	char buf[8192], *p, *end;
	size_t len = 0, want;
	char answer[256];
	int i = r->got;

	for (;;) {
		ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		p = strcasestr(buf, "\r\nContent-Length: ");
		assert_non_null(p);
		want = (size_t)atoi(p + 18);
		if (len >= (size_t)(end + 4 - buf) + want)
			break;
	}
	p = strcasestr(buf, "\r\nX-LostLove-Signature: ");
	assert_non_null(p);
	snprintf(r->sig[i], sizeof(r->sig[i]), "%.*s", (int)strcspn(p + 24, "\r"), p + 24);
	snprintf(r->body[i], sizeof(r->body[i]), "%.*s", (int)want, end + 4);
	/* a 3xx points back here: followed, it would be a second request */
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 %d X\r\nLocation: http://127.0.0.1:%u/elsewhere\r\n"
		 "Content-Length: 2\r\n\r\nok",
		 r->status[i], r->port);
	assert_true(write(c, answer, strlen(answer)) > 0);
	r->got++;
}

static void *receiver_run(void *arg)
{
	struct receiver *r = arg;

	while (r->got < 2) {
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			break;
		serve_one(r, c);
		close(c);
	}
	return NULL;
}

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void wait_for(const struct webhook *w, uint64_t delivered, uint64_t failed)
{
	struct webhook_stats st;

	for (int i = 0; i < 1000; i++) {
		webhook_stats(w, &st);
		if (st.delivered >= delivered && st.failed >= failed)
			return;
		usleep(10000);
	}
	fail_msg("no delivery within 10 s");
}

static void test_delivery(void **state)
{
	struct receiver r = {.status = {200, 500}};
	struct webhook_event e = {.type = WEBHOOK_USER_CONNECTED, .time = 1764787200};
	struct webhook_outbox *o = webhook_outbox_memory();
	struct webhook_stats st;
	struct webhook *w;
	pthread_t th;
	char url[64];
	uint16_t port;
	int64_t pending = -1;

	(void)state;
	r.fd = listen_loopback(&port);
	r.port = port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	assert_int_equal(pthread_create(&th, NULL, receiver_run, &r), 0);
	w = new_webhook(url, WEBHOOK_ALL_EVENTS, 16);
	assert_int_equal(webhook_start(w, o), 0);
	snprintf(e.user, sizeof(e.user), "alice");
	assert_true(webhook_emit(w, &e));
	wait_for(w, 1, 0);
	e.type = WEBHOOK_AUTH_FAILURE;
	assert_true(webhook_emit(w, &e));
	wait_for(w, 1, 1);
	webhook_stop(w);
	pthread_join(th, NULL);
	close(r.fd);

	assert_int_equal(r.got, 2);
	for (int i = 0; i < 2; i++)
		assert_true(webhook_verify(r.sig[i], SECRET, SECRET_LEN, (int64_t)time(NULL), 300,
					   r.body[i], strlen(r.body[i])));
	assert_non_null(strstr(r.body[0], "\"type\":\"user.connected\""));
	assert_non_null(strstr(r.body[0], "\"user\":\"alice\""));
	assert_non_null(strstr(r.body[1], "\"type\":\"auth.failure\""));
	/* the 2xx one is gone, the 500 one waits for its retry */
	webhook_stats(w, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.pending, 1);
	assert_int_equal(webhook_outbox_count(o, &pending), 0);
	assert_int_equal(pending, 1);
	webhook_free(w);
}

/* A 3xx is a failed attempt: redirects are not followed (the receiver
 * would see a second request, and answer it 200). */
static void test_redirect_not_followed(void **state)
{
	struct receiver r = {.status = {302, 200}};
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE, .time = 1};
	struct webhook_stats st = {0};
	struct webhook *w;
	pthread_t th;
	char url[64];

	(void)state;
	r.fd = listen_loopback(&r.port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", r.port);
	assert_int_equal(pthread_create(&th, NULL, receiver_run, &r), 0);
	w = new_webhook(url, WEBHOOK_ALL_EVENTS, 16);
	assert_int_equal(webhook_start(w, webhook_outbox_memory()), 0);
	assert_true(webhook_emit(w, &e));
	for (int i = 0; i < 1000 && !st.failed && !st.delivered; i++) {
		usleep(10000);
		webhook_stats(w, &st);
	}
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.delivered, 0);
	webhook_free(w);
	shutdown(r.fd, SHUT_RDWR); /* the receiver thread's accept returns */
	pthread_join(th, NULL);
	close(r.fd);
	assert_int_equal(r.got, 1);
}

/* A receiver that never answers (a listening socket nobody accepts on:
 * the kernel completes the connection, then nothing): while that attempt
 * hangs, emitted events still reach the outbox (the thread is not stuck in
 * the transfer), and a stop does not wait for the attempt's timeout. */
static void test_slow_receiver_does_not_stall(void **state)
{
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE, .time = 1};
	struct webhook_stats st = {0};
	struct webhook *w;
	struct timespec t0, t1;
	char url[64];
	uint16_t port;
	int fd = listen_loopback(&port);

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	w = new_webhook(url, WEBHOOK_ALL_EVENTS, 64);
	assert_int_equal(webhook_start(w, webhook_outbox_memory()), 0);
	assert_true(webhook_emit(w, &e)); /* its attempt hangs */
	usleep(200000);
	for (int i = 0; i < 10; i++)
		assert_true(webhook_emit(w, &e));
	for (int i = 0; i < 300 && st.pending < 11; i++) {
		usleep(10000);
		webhook_stats(w, &st);
	}
	assert_int_equal(st.pending, 11);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.failed, 0); /* still in flight (timeout 5 s) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	webhook_stop(w);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* not a speed claim: the attempt's 5 s timeout was not waited for */
	assert_true(t1.tv_sec - t0.tv_sec < 4);
	webhook_stats(w, &st);
	assert_int_equal(st.failed, 0);
	webhook_free(w);
	close(fd);
}

/* A receiver that never answers: the attempt ends at timeout (1 s here)
 * and counts as failed; the event stays for its retry. */
static void test_timeout_is_a_failure(void **state)
{
	struct webhook_event e = {.type = WEBHOOK_AUTH_FAILURE, .time = 1};
	struct webhook_stats st = {0};
	struct webhook_config cfg = {.secret = SECRET,
				     .secret_len = SECRET_LEN,
				     .events = WEBHOOK_ALL_EVENTS,
				     .timeout_s = 1,
				     .max_queue = 4,
				     .max_age_s = 86400,
				     .node = "test"};
	struct webhook *w;
	char url[64], err[256];
	uint16_t port;
	int fd = listen_loopback(&port);

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
	cfg.url = url;
	w = webhook_new(&cfg, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(webhook_start(w, webhook_outbox_memory()), 0);
	assert_true(webhook_emit(w, &e));
	for (int i = 0; i < 500 && !st.failed; i++) {
		usleep(10000);
		webhook_stats(w, &st);
	}
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.pending, 1);
	webhook_free(w);
	close(fd);
}

/* An event older than max_age is dropped and counted, never sent. */
static void test_expired_dropped(void **state)
{
	struct webhook_outbox *o = webhook_outbox_memory();
	struct webhook_stats st = {0};
	struct webhook *w;
	struct webhook_config cfg = {.url = "http://127.0.0.1:9/",
				     .secret = SECRET,
				     .secret_len = SECRET_LEN,
				     .events = WEBHOOK_ALL_EVENTS,
				     .timeout_s = 5,
				     .max_queue = 4,
				     .max_age_s = 60,
				     .node = "test"};
	char err[256];
	int64_t left = -1;

	(void)state;
	/* queued 61 s ago (a server that was down for a while) */
	assert_int_equal(
	    webhook_outbox_enqueue(o, "auth.failure", "{}", 2, (int64_t)time(NULL) - 61, 4, NULL),
	    0);
	w = webhook_new(&cfg, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(webhook_start(w, o), 0);
	for (int i = 0; i < 500 && !st.dropped[WEBHOOK_DROP_EXPIRED]; i++) {
		usleep(10000);
		webhook_stats(w, &st);
	}
	webhook_stop(w);
	webhook_stats(w, &st);
	assert_int_equal(st.dropped[WEBHOOK_DROP_EXPIRED], 1);
	assert_int_equal(st.failed, 0); /* no attempt was made */
	assert_int_equal(webhook_outbox_count(o, &left), 0);
	assert_int_equal(left, 0);
	webhook_free(w);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_vector),
	    cmocka_unit_test(test_verify_refuses_tampering),
	    cmocka_unit_test(test_backoff_bounds),
	    cmocka_unit_test(test_url_names_host),
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_json_types),
	    cmocka_unit_test(test_outbox_memory),
	    cmocka_unit_test(test_outbox_store),
	    cmocka_unit_test(test_queue_bound_and_filter),
	    cmocka_unit_test(test_config_refused),
	    cmocka_unit_test(test_delivery),
	    cmocka_unit_test(test_redirect_not_followed),
	    cmocka_unit_test(test_slow_receiver_does_not_stall),
	    cmocka_unit_test(test_timeout_is_a_failure),
	    cmocka_unit_test(test_expired_dropped),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
