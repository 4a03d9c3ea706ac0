/* The request-head parser (front/http.c) against nginx 1.22.1's decisions,
 * each case measured on the real nginx (Debian 12 package): where a head
 * is refused and with which status, what a complete head carries, and
 * nginx's header-buffer arithmetic (1k, then 4 x 8k) at its boundaries.
 * Every case is also fed one byte at a time: the verdict must not depend
 * on how the bytes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/http.h"

struct hcase {
	const char *text;
	enum http_result want;
	int status;	/* for REJECT */
	unsigned flags; /* for COMPLETE: flags that must be set */
};

static const struct hcase cases[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_COMPLETE, 0, HTTP_F_KEEPALIVE},
    {"GET / HTTP/1.0\r\n\r\n", HTTP_COMPLETE, 0, 0},
    {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_COMPLETE, 0, 0},
    {"GET /\r\n", HTTP_COMPLETE, 0, HTTP_F_HTTP09},
    {"POST /\r\n", HTTP_REJECT, 400, 0},
    {"get / HTTP/1.1\r\n", HTTP_REJECT, 400, 0},
    {"GET / HTTP/1.1\r\n\r\n", HTTP_REJECT, 400, 0}, /* no Host */
    {"GET / HTTP/2.0\r\n", HTTP_REJECT, 505, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", HTTP_REJECT, 400, 0},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n", HTTP_REJECT, 400, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_REJECT, 501, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", HTTP_REJECT, 400, 0},
    {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REJECT, 405, 0},
    {"GET /../ HTTP/1.1\r\n", HTTP_REJECT, 400, 0},
    {"GET /%zz HTTP/1.1\r\n", HTTP_REJECT, 400, 0},
    {"GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_COMPLETE, 0, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\nbadline\r\nX@Y: 1\r\n\r\n", HTTP_COMPLETE, 0, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nbad line\r\n", HTTP_REJECT, 400, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\n\x01: x\r\n", HTTP_REJECT, 400, 0},
    {"\x16\x03\x01\x02\x00\x01", HTTP_REJECT, 400, 0},
    {"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     HTTP_COMPLETE, 0, HTTP_F_WS_UPGRADE},
};

static enum http_result run(const char *t, size_t n, size_t step, struct http_request *req,
			    int *status)
{
	struct http_parser p;
	enum http_result r = HTTP_NEED_MORE;
	http_parser_init(&p, req);
	for (size_t have = step; r == HTTP_NEED_MORE; have += step) {
		if (have > n)
			have = n;
		r = http_parse(&p, (const uint8_t *)t, have, req, status);
		if (have == n)
			break;
	}
	return r;
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 1; step <= 1000; step += 999) {
			struct http_request req;
			int status = 0;
			enum http_result r =
			    run(cases[i].text, strlen(cases[i].text), step, &req, &status);
			if (r != cases[i].want || (r == HTTP_REJECT && status != cases[i].status) ||
			    (r == HTTP_COMPLETE && (req.flags & cases[i].flags) != cases[i].flags))
				fail_msg("case %zu (step %zu): result %d status %d flags %x", i,
					 step, r, status, req.flags);
		}
	}
}

static void test_upgrade_fields(void **state)
{
	(void)state;
	const char *t = cases[sizeof(cases) / sizeof(cases[0]) - 1].text;
	struct http_request req;
	int status;
	assert_int_equal(run(t, strlen(t), 1000, &req, &status), HTTP_COMPLETE);
	assert_int_equal(req.method, HTTP_M_GET);
	assert_int_equal(req.version, 1001);
	assert_int_equal(req.head_len, strlen(t));
	assert_int_equal(req.ws_key.len, 24);
	assert_memory_equal(t + req.ws_key.off, "dGhlIHNhbXBsZSBub25jZQ==", 24);
	assert_memory_equal(t + req.target.off, "/chat", 5);
	struct http_span v;
	assert_int_equal(http_find_header(&req, (const uint8_t *)t, "sec-websocket-version", &v),
			 0);
	assert_memory_equal(t + v.off, "13", 2);
	/* no version 13, no key: not an upgrade */
	const char *u = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
			"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: x\r\n\r\n";
	assert_int_equal(run(u, strlen(u), 1000, &req, &status), HTTP_COMPLETE);
	assert_false(req.flags & HTTP_F_WS_UPGRADE);
}

/* Request line of n bytes of target: nginx answers 414 once the line
 * no longer fits one 8k large buffer. */
static int line_verdict(size_t target_len, size_t *at)
{
	size_t n = target_len + 64;
	char *t = malloc(n);
	int len = snprintf(t, n, "GET /");
	memset(t + len, 'a', target_len);
	len += (int)target_len;
	len += snprintf(t + len, n - (size_t)len, " HTTP/1.1\r\nHost: a\r\n\r\n");
	struct http_parser p;
	struct http_request req;
	int status = 0;
	http_parser_init(&p, &req);
	enum http_result r = http_parse(&p, (const uint8_t *)t, (size_t)len, &req, &status);
	*at = p.scanned;
	free(t);
	return r == HTTP_REJECT ? status : 0;
}

static void test_limits(void **state)
{
	(void)state;
	size_t at;
	/* "GET /" + k + " HTTP/1.1\r\n": the line is k + 16 bytes; it must be
	 * complete (through its LF) within the 8k buffer (measured: k = 8176
	 * is answered, 8177 is 414) */
	assert_int_equal(line_verdict(8192 - 16, &at), 0);
	assert_int_equal(line_verdict(8192 - 15, &at), 414);
	assert_int_equal(at, 8192);
	assert_int_equal(line_verdict(100000, &at), 414);
	assert_int_equal(at, 8192); /* refused at nginx's byte: nothing more read */

	/* a header line of 8k: 400 Request Header Or Cookie Too Large */
	char *t = malloc(40000);
	int len = snprintf(t, 40000, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(t + len, 'b', 20000);
	struct http_parser p;
	struct http_request req;
	int status = 0;
	http_parser_init(&p, &req);
	assert_int_equal(http_parse(&p, (const uint8_t *)t, (size_t)len + 20000, &req, &status),
			 HTTP_REJECT);
	assert_int_equal(status, 494);
	assert_true(p.scanned <= HTTP_HEAD_MAX);

	/* many 7k headers: 4 large buffers, then refused (nginx: 494) */
	len = snprintf(t, 40000, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 5; i++) {
		len += snprintf(t + len, 40000 - (size_t)len, "X%d: ", i);
		memset(t + len, 'c', 7000);
		len += 7000;
		len += snprintf(t + len, 40000 - (size_t)len, "\r\n");
	}
	len += snprintf(t + len, 40000 - (size_t)len, "\r\n");
	http_parser_init(&p, &req);
	assert_int_equal(http_parse(&p, (const uint8_t *)t, (size_t)len, &req, &status),
			 HTTP_REJECT);
	assert_int_equal(status, 494);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_upgrade_fields),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
