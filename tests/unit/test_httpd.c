/* The HTTP server wrapper (api/httpd.c) on real sockets, TCP on loopback
 * and a Unix socket: routing (prefix with a path boundary, 404, 405 with
 * Allow), bodies (gathered, 413 from Content-Length before the body and
 * for a chunked body that grows past the bound), the per-IP request rate
 * (429), a handler that answers nothing (500), JSON error bodies, the
 * socket file's mode, and the stale socket rules (a dead server's file is
 * replaced, a live server's and a regular file are left alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/httpd.h"

#define MAX_BODY 1000

static void hello(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	const char *q = httpd_query(req, "q"), *h = httpd_header(req, "X-Test");

	(void)ctx;
	res->status = 200;
	res->content_type = "text/plain";
	if (asprintf(&res->body, "hello rest=[%s]%s%s%s%s", req->rest, q ? " q=" : "", q ? q : "",
		     h ? " h=" : "", h ? h : "") > 0)
		res->len = strlen(res->body);
}

static void echo(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	(void)ctx;
	res->status = 200;
	if (asprintf(&res->body, "len=%zu first=%c", req->body_len,
		     req->body_len ? req->body[0] : '-') > 0)
		res->len = strlen(res->body);
}

static void silent(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	(void)ctx;
	(void)req;
	(void)res;
}

static const struct httpd_route routes[] = {
    {"GET", "/hello", hello, NULL},
    {"POST", "/echo", echo, NULL},
    {"PUT", "/echo", echo, NULL},
    {"GET", "/silent", silent, NULL},
};

static struct httpd_config config(void)
{
	return (struct httpd_config){.address = "127.0.0.1",
				     .port = 0,
				     .routes = routes,
				     .n_routes = sizeof(routes) / sizeof(routes[0]),
				     .max_body = MAX_BODY,
				     .max_connections = 16,
				     .timeout_s = 5};
}

static int connect_tcp(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req (one request, Connection: close) and reads the whole answer. */
static void exchange(int fd, const char *req, size_t req_len, char *out, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	for (size_t off = 0; off < req_len; off += (size_t)r) {
		r = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
		if (r <= 0)
			break; /* the server may close early (413): read what it said */
	}
	while (n + 1 < cap && (r = recv(fd, out + n, cap - 1 - n, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int status_of(const char *answer)
{
	int st = 0;
	if (sscanf(answer, "HTTP/1.1 %d", &st) != 1)
		return -1;
	return st;
}

static const char *body_of(const char *answer)
{
	const char *p = strstr(answer, "\r\n\r\n");
	return p ? p + 4 : "";
}

static int get(uint16_t port, const char *method, const char *path, char *out, size_t cap)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 method, path);
	exchange(connect_tcp(port), req, (size_t)n, out, cap);
	return status_of(out);
}

static void test_routes(void **state)
{
	struct httpd h;
	struct httpd_config cfg = config();
	char err[256], ans[4096];
	uint16_t port;

	(void)state;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	port = httpd_port(&h);
	assert_true(port != 0);
	assert_int_equal(httpd_start(&h), 0);
	assert_int_equal(httpd_port(&h), port);

	assert_int_equal(get(port, "GET", "/hello", ans, sizeof(ans)), 200);
	assert_string_equal(body_of(ans), "hello rest=[]");
	assert_non_null(strstr(ans, "Content-Type: text/plain"));
	assert_int_equal(get(port, "GET", "/hello/x/y?q=a%20b&r", ans, sizeof(ans)), 200);
	assert_string_equal(body_of(ans), "hello rest=[/x/y] q=a b");
	assert_int_equal(get(port, "GET", "/hello?r&q", ans, sizeof(ans)), 200);
	assert_string_equal(body_of(ans), "hello rest=[] q=");
	/* a prefix ends at a path boundary */
	assert_int_equal(get(port, "GET", "/hellox", ans, sizeof(ans)), 404);
	assert_string_equal(body_of(ans),
			    "{\"error\":{\"code\":\"not_found\",\"reason\":\"no such path\"}}\n");
	assert_non_null(strstr(ans, "Content-Type: application/json"));
	assert_int_equal(get(port, "DELETE", "/echo", ans, sizeof(ans)), 405);
	assert_non_null(strstr(ans, "Allow: POST, PUT\r\n"));
	assert_non_null(strstr(body_of(ans), "\"code\":\"method_not_allowed\""));
	assert_int_equal(get(port, "GET", "/silent", ans, sizeof(ans)), 500);
	assert_non_null(strstr(body_of(ans), "\"code\":\"internal\""));

	struct httpd_stats st;
	httpd_stats(&h, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.not_found, 1);
	assert_int_equal(st.bad_method, 1);
	httpd_stop(&h);
	httpd_stop(&h); /* twice is harmless */
}

static void test_bodies(void **state)
{
	struct httpd h;
	struct httpd_config cfg = config();
	char err[256], ans[4096], *req, big[MAX_BODY + 1];
	int n;
	uint16_t port;

	(void)state;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	port = httpd_port(&h);
	assert_int_equal(httpd_start(&h), 0);

	/* exactly the bound: taken */
	memset(big, 'a', MAX_BODY);
	big[MAX_BODY] = '\0';
	n = asprintf(&req,
		     "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     MAX_BODY, big);
	exchange(connect_tcp(port), req, (size_t)n, ans, sizeof(ans));
	free(req);
	assert_int_equal(status_of(ans), 200);
	assert_string_equal(body_of(ans), "len=1000 first=a");

	/* announced over the bound by a client that waits: refused before
	 * the body (no "100 Continue") */
	n = asprintf(&req,
		     "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n",
		     MAX_BODY + 1);
	exchange(connect_tcp(port), req, (size_t)n, ans, sizeof(ans));
	free(req);
	assert_int_equal(status_of(ans), 413);
	assert_null(strstr(ans, "100 Continue"));
	assert_non_null(strstr(body_of(ans), "\"code\":\"too_large\""));

	/* announced far over the bound: refused before the body too */
	static const char huge[] = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				   "Content-Length: 5000000\r\n\r\n";
	exchange(connect_tcp(port), huge, sizeof(huge) - 1, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 413);

	/* a little over, sent at once: read, dropped, answered (the client
	 * is not reset while it still sends) */
	n = asprintf(&req,
		     "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Content-Length: %d\r\n\r\n%sb",
		     MAX_BODY + 1, big);
	exchange(connect_tcp(port), req, (size_t)n, ans, sizeof(ans));
	free(req);
	assert_int_equal(status_of(ans), 413);
	assert_non_null(strstr(body_of(ans), "\"code\":\"too_large\""));

	/* an absurd Content-Length */
	static const char absurd[] = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				     "Content-Length: 99999999999999999999999999\r\n\r\n";
	exchange(connect_tcp(port), absurd, sizeof(absurd) - 1, ans, sizeof(ans));
	assert_true(status_of(ans) == 413 || status_of(ans) == 400);

	/* chunked, no length announced, growing past the bound */
	n = asprintf(&req,
		     "PUT /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n"
		     "3e8\r\n%s\r\n3e8\r\n%s\r\n0\r\n\r\n",
		     big, big);
	exchange(connect_tcp(port), req, (size_t)n, ans, sizeof(ans));
	free(req);
	assert_int_equal(status_of(ans), 413);

	/* chunked without end: cut 1 MiB past the bound, unanswered */
	{
		const size_t chunk = 65536, want = (size_t)2 << 20;
		char *p = malloc(100 + want / chunk * (chunk + 16));
		size_t total;

		assert_non_null(p);
		total = (size_t)sprintf(p, "PUT /echo HTTP/1.1\r\nHost: x\r\n"
					   "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t sent = 0; sent < want; sent += chunk) {
			total += (size_t)sprintf(p + total, "%zx\r\n", chunk);
			memset(p + total, 'c', chunk);
			total += chunk;
			total += (size_t)sprintf(p + total, "\r\n");
		}
		exchange(connect_tcp(port), p, total, ans, sizeof(ans));
		free(p);
		assert_int_equal(status_of(ans), -1);
	}

	/* chunked within the bound */
	static const char small[] = "PUT /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n"
				    "3\r\nxyz\r\n2\r\nab\r\n0\r\n\r\n";
	exchange(connect_tcp(port), small, sizeof(small) - 1, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 200);
	assert_string_equal(body_of(ans), "len=5 first=x");

	/* garbage: libmicrohttpd refuses it, the server lives on */
	static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
	exchange(connect_tcp(port), garbage, sizeof(garbage) - 1, ans, sizeof(ans));
	assert_true(status_of(ans) == -1 || (status_of(ans) >= 400 && status_of(ans) < 500));
	assert_int_equal(get(port, "GET", "/hello", ans, sizeof(ans)), 200);

	struct httpd_stats st;
	httpd_stats(&h, &st);
	assert_true(st.too_large >= 5);
	httpd_stop(&h);
}

static void test_rate(void **state)
{
	struct httpd h;
	struct httpd_config cfg = config();
	char err[256], ans[4096];
	uint16_t port;
	int ok = 0, limited = 0;
	double t0;

	(void)state;
	cfg.per_ip_per_s = 1;
	cfg.burst = 3;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	port = httpd_port(&h);
	assert_int_equal(httpd_start(&h), 0);
	t0 = mono_s();
	for (int i = 0; i < 6; i++) {
		int s = get(port, "GET", "/hello", ans, sizeof(ans));
		if (s == 200)
			ok++;
		if (s == 429) {
			limited++;
			assert_non_null(strstr(body_of(ans), "\"code\":\"rate_limited\""));
		}
	}
	/* the burst, and one token a second refilled meanwhile (the six
	 * requests take milliseconds, but seconds under valgrind) */
	assert_in_range(ok, 3, 3 + (int)(mono_s() - t0) + 1);
	assert_true(limited >= 1);
	assert_int_equal(ok + limited, 6);
	httpd_stop(&h);
}

/* Reads until the server closes: true if it did within wait_s seconds
 * (false: still open, the read timed out). */
static bool closed_within(int fd, int wait_s)
{
	struct timeval tv = {.tv_sec = wait_s};
	char buf[256];
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
		;
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

/* Reads one answer's first bytes within wait_s seconds ("" if none). */
static void answer_within(int fd, int wait_s, char *out, size_t cap)
{
	struct timeval tv = {.tv_sec = wait_s};
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = recv(fd, out, cap - 1, 0);
	out[r > 0 ? r : 0] = '\0';
}

/* At most max_connections are served at once: one more waits (in the
 * listen backlog) until one of them ends; an idle connection is closed
 * after timeout_s. */
static void test_limits(void **state)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct httpd h;
	struct httpd_config cfg = config();
	char err[256], ans[4096];
	int a, b, c;
	uint16_t port;

	(void)state;
	cfg.max_connections = 2;
	cfg.timeout_s = 10;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	port = httpd_port(&h);
	assert_int_equal(httpd_start(&h), 0);
	a = connect_tcp(port);
	b = connect_tcp(port);
	c = connect_tcp(port);
	assert_int_equal(send(c, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	answer_within(c, 1, ans, sizeof(ans));
	assert_string_equal(ans, ""); /* two are held: the third waits */
	close(a);
	answer_within(c, 5, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 200); /* one ended: served */
	close(b);
	close(c);
	httpd_stop(&h);

	cfg.max_connections = 16;
	cfg.timeout_s = 1;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	port = httpd_port(&h);
	assert_int_equal(httpd_start(&h), 0);
	a = connect_tcp(port);
	assert_true(closed_within(a, 5)); /* idle: closed by the timeout */
	close(a);
	assert_int_equal(get(port, "GET", "/hello", ans, sizeof(ans)), 200);
	httpd_stop(&h);
}

static void tmp_path(char *buf, size_t cap, const char *what)
{
	snprintf(buf, cap, "/tmp/ll-httpd-%d-%s.sock", (int)getpid(), what);
	unlink(buf);
}

static void test_unix(void **state)
{
	struct httpd h, h2;
	struct httpd_config cfg = config();
	char path[108], err[256], ans[4096];
	struct stat st;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	(void)state;
	tmp_path(path, sizeof(path), "api");
	/* a dead server's socket file */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(lstat(path, &st), 0);

	cfg.unix_path = path;
	cfg.unix_mode = 0600;
	cfg.per_ip_per_s = 1000;
	cfg.burst = 1000;
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(httpd_start(&h), 0);

	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	fd = connect_unix(path);
	assert_true(fd >= 0);
	exchange(fd, req, sizeof(req) - 1, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 200);

	/* a live server's socket is not taken over */
	assert_int_equal(httpd_listen(&h2, &cfg, err, sizeof(err)), -EADDRINUSE);
	assert_int_equal(lstat(path, &st), 0);
	fd = connect_unix(path);
	assert_true(fd >= 0);
	exchange(fd, req, sizeof(req) - 1, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 200);

	httpd_stop(&h);
	assert_int_equal(lstat(path, &st), -1); /* removed at stop */

	/* a regular file is never removed */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(httpd_listen(&h2, &cfg, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
}

/* IPv6: "::1" alone, and "::" taking IPv4 too (dual stack). */
static void test_ipv6(void **state)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct httpd h;
	struct httpd_config cfg = config();
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	char err[256], ans[4096];
	int fd;

	(void)state;
	cfg.address = "::1";
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	assert_int_equal(httpd_start(&h), 0);
	sin6.sin6_port = htons(httpd_port(&h));
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	exchange(fd, req, sizeof(req) - 1, ans, sizeof(ans));
	assert_int_equal(status_of(ans), 200);
	httpd_stop(&h);

	cfg.address = "::";
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), 0);
	assert_int_equal(httpd_start(&h), 0);
	assert_int_equal(get(httpd_port(&h), "GET", "/hello", ans, sizeof(ans)), 200); /* IPv4 */
	httpd_stop(&h);
}

static void test_bad_address(void **state)
{
	struct httpd h;
	struct httpd_config cfg = config();
	char err[256];

	(void)state;
	cfg.address = "localhost";
	assert_int_equal(httpd_listen(&h, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "numeric"));
	httpd_stop(&h);
}

/* curl's view, over TCP and over the Unix socket (--unix-socket): status
 * codes and bodies as a real client gets them. curl must be installed
 * (scripts/install-deps.sh): its absence fails the test. */
static void curl(const char *args, char *out, size_t cap)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 -w ' %%{http_code}' %s", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void test_curl(void **state)
{
	struct httpd tcp, unx;
	struct httpd_config cfg = config();
	char err[256], path[108], args[300], out[4096];

	(void)state;
	if (system("curl --version >/dev/null 2>&1") != 0)
		fail_msg("curl is missing (scripts/install-deps.sh)");
	tmp_path(path, sizeof(path), "curl");
	assert_int_equal(httpd_listen(&tcp, &cfg, err, sizeof(err)), 0);
	cfg.unix_path = path;
	cfg.unix_mode = 0600;
	assert_int_equal(httpd_listen(&unx, &cfg, err, sizeof(err)), 0);
	assert_int_equal(httpd_start(&tcp), 0);
	assert_int_equal(httpd_start(&unx), 0);

	snprintf(args, sizeof(args), "http://127.0.0.1:%u/hello/a", httpd_port(&tcp));
	curl(args, out, sizeof(out));
	assert_string_equal(out, "hello rest=[/a] 200");
	snprintf(args, sizeof(args), "--unix-socket %s -H 'X-Test: yes' http://localhost/hello",
		 path);
	curl(args, out, sizeof(out));
	assert_string_equal(out, "hello rest=[] h=yes 200");
	snprintf(args, sizeof(args), "--unix-socket %s -X POST --data-binary abc http://x/echo",
		 path);
	curl(args, out, sizeof(out));
	assert_string_equal(out, "len=3 first=a 200");
	{
		char big[108];
		FILE *f;
		tmp_path(big, sizeof(big), "body");
		f = fopen(big, "w");
		assert_non_null(f);
		for (int i = 0; i < 5000; i++)
			fputc('z', f);
		fclose(f);
		snprintf(args, sizeof(args), "--unix-socket %s --data-binary @%s http://x/echo",
			 path, big);
		curl(args, out, sizeof(out));
		unlink(big);
	}
	assert_non_null(strstr(out, "\"code\":\"too_large\""));
	assert_non_null(strstr(out, " 413"));
	snprintf(args, sizeof(args), "--unix-socket %s http://x/nope", path);
	curl(args, out, sizeof(out));
	assert_string_equal(
	    out, "{\"error\":{\"code\":\"not_found\",\"reason\":\"no such path\"}}\n 404");
	httpd_stop(&tcp);
	httpd_stop(&unx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes), cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_rate),   cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_unix),   cmocka_unit_test(test_bad_address),
	    cmocka_unit_test(test_ipv6),   cmocka_unit_test(test_curl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
