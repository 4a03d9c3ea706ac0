/* The nginx mimic's answers (front/mimic.c), as measured on Debian 12's
 * nginx 1.22.1: the index page and its headers, gzip exactly as nginx
 * compresses it (decompressed back to the page; the bytes themselves are
 * compared with the real nginx by tests/e2e/front_parity.sh), nginx's
 * Accept-Encoding rules, HEAD, HTTP/0.9 and the error pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "front/http.h"
#include "front/mimic.h"

static char out[MIMIC_RESPONSE_MAX + 1];
static uint64_t boundary;

static size_t answer(const char *head, int status, struct mimic_answer *ans)
{
	struct http_parser p;
	struct http_request req;
	int st = 0;
	http_parser_init(&p, &req);
	enum http_result r = http_parse(&p, (const uint8_t *)head, strlen(head), &req, &st);
	assert_true(r != HTTP_NEED_MORE);
	if (r == HTTP_REJECT)
		status = st;
	mimic_answer((uint8_t *)out, &req, (const uint8_t *)head, status, 1764773421, &boundary,
		     ans);
	out[ans->len] = '\0';
	return ans->len;
}

static void test_index(void **state)
{
	(void)state;
	struct mimic_answer a;
	answer("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, &a);
	assert_true(a.keepalive);
	const char *want = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
			   "Date: Wed, 03 Dec 2025 14:50:21 GMT\r\nContent-Type: text/html\r\n"
			   "Content-Length: 615\r\nLast-Modified: Thu, 15 Jun 2023 15:26:20 GMT\r\n"
			   "Connection: keep-alive\r\nETag: \"648b2d9c-267\"\r\n"
			   "Accept-Ranges: bytes\r\n\r\n<!DOCTYPE html>";
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(a.len, strlen(want) - strlen("<!DOCTYPE html>") + 615);
}

/* Dechunks and gunzips the body of out. */
static size_t gunzip_body(char *dst, size_t cap)
{
	char *b = strstr(out, "\r\n\r\n") + 4;
	size_t n = strtoul(b, &b, 16);
	b += 2;
	z_stream z = {0};
	assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = (Bytef *)b;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)dst;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = cap - z.avail_out;
	inflateEnd(&z);
	assert_memory_equal(b + n, "\r\n0\r\n\r\n", 7);
	return len;
}

static void test_gzip(void **state)
{
	(void)state;
	struct mimic_answer a;
	char plain[2048];
	answer("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n", 0, &a);
	const char *want = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
			   "Date: Wed, 03 Dec 2025 14:50:21 GMT\r\nContent-Type: text/html\r\n"
			   "Last-Modified: Thu, 15 Jun 2023 15:26:20 GMT\r\n"
			   "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
			   "ETag: W/\"648b2d9c-267\"\r\nContent-Encoding: gzip\r\n\r\n18d\r\n";
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(gunzip_body(plain, sizeof(plain)), mimic_index_len);
	assert_memory_equal(plain, mimic_index_html, mimic_index_len);

	answer("GET /x HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Encoding: gzip\r\n\r\n72\r\n"));
	assert_true(gunzip_body(plain, sizeof(plain)) == 153);

	/* HEAD: the gzip headers without a body or chunking */
	answer("HEAD / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "ETag: W/"));
	assert_null(strstr(out, "Transfer-Encoding"));
	assert_null(strstr(out, "Content-Length"));
	assert_true(strlen(out) == a.len && strcmp(out + a.len - 4, "\r\n\r\n") == 0);
}

static void test_accept_encoding_rules(void **state)
{
	(void)state;
	static const struct {
		const char *ae;
		int gzip;
	} cases[] = {
	    {"gzip", 1},	  {"GZIP", 1},	   {"deflate, gzip", 1}, {"gzip;q=0.5", 1},
	    {"gzip; q=1", 1},	  {"gzip;q=0", 0}, {"gzip;q=0.000", 0},	 {"gzip;q=1.0001", 0},
	    {"x-gzip", 0},	  {"gzipx", 0},	   {"gzip;level=1", 0},	 {"br", 0},
	    {"identity,gzip", 1}, {"gzip,", 1},	   {"gzi", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char head[256];
		struct mimic_answer a;
		snprintf(head, sizeof(head),
			 "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: %s\r\n\r\n", cases[i].ae);
		answer(head, 0, &a);
		if ((strstr(out, "Content-Encoding: gzip") != NULL) != cases[i].gzip)
			fail_msg("Accept-Encoding: %s: gzip %d expected", cases[i].ae,
				 cases[i].gzip);
	}
	struct mimic_answer a;
	/* no gzip for HTTP/1.0, behind a Via, or for a 405 */
	answer("GET / HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", 0, &a);
	assert_null(strstr(out, "gzip"));
	answer("GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 p\r\nAccept-Encoding: gzip\r\n\r\n", 0, &a);
	assert_null(strstr(out, "gzip"));
	answer("POST / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "405 Not Allowed"));
	assert_null(strstr(out, "Content-Encoding"));
}

static void test_errors_and_09(void **state)
{
	(void)state;
	struct mimic_answer a;
	answer("get / HTTP/1.1\r\n", 0, &a);
	assert_non_null(strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_false(a.keepalive);
	assert_true(a.lingering);
	answer("GET /\r\n", 0, &a);
	assert_true(strncmp(out, "<!DOCTYPE html>", 15) == 0);
	assert_int_equal(a.len, mimic_index_len);
	answer("GET / HTTP/1.1\r\nHost: a\r\n\r\n", MIMIC_PLAIN_ON_TLS, &a);
	assert_non_null(
	    strstr(out, "<center>The plain HTTP request was sent to HTTPS port</center>"));
	answer("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n", 494, &a);
	assert_non_null(strstr(out, "<title>400 Request Header Or Cookie Too Large</title>"));
}

/* Conditional requests and ranges, each case measured on nginx 1.22.1. */
static void test_conditional_and_ranges(void **state)
{
	(void)state;
	struct mimic_answer a;
	answer("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\", W/\"648b2d9c-267\"\r\n\r\n", 0,
	       &a);
	assert_string_equal(out, "HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\n"
				 "Date: Wed, 03 Dec 2025 14:50:21 GMT\r\n"
				 "Last-Modified: Thu, 15 Jun 2023 15:26:20 GMT\r\n"
				 "Connection: keep-alive\r\nETag: \"648b2d9c-267\"\r\n\r\n");
	answer("GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Thu Jun 15 15:26:20 2023\r\n\r\n",
	       0, &a);
	assert_non_null(strstr(out, "304 Not Modified"));
	answer(
	    "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Thu, 15 Jun 2023 15:26:21 GMT\r\n\r\n",
	    0, &a);
	assert_non_null(strstr(out, "200 OK"));
	answer("GET / HTTP/1.1\r\nHost: a\r\nIf-Match: \"x\"\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "412 Precondition Failed\r\n"));
	assert_non_null(strstr(out, "Connection: keep-alive\r\n")); /* says so, and closes */
	assert_false(a.keepalive);

	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "HTTP/1.1 206 Partial Content\r\n"));
	assert_non_null(strstr(
	    out, "ETag: \"648b2d9c-267\"\r\nContent-Range: bytes 0-9/615\r\n\r\n<!DOCTYPE "));
	assert_true(a.keepalive);
	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1,5-6\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "Content-Type: multipart/byteranges; "
				    "boundary=00000000000000000001\r\nContent-Length: 198\r\n"));
	assert_non_null(strstr(out,
			       "\r\n\r\n\r\n--00000000000000000001\r\nContent-Type: text/html\r\n"
			       "Content-Range: bytes 0-1/615\r\n\r\n<!\r\n--"));
	assert_true(strcmp(out + a.len - 28, "\r\n--00000000000000000001--\r\n") == 0);
	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=700-800\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "416 Requested Range Not Satisfiable\r\n"));
	assert_non_null(strstr(out, "Connection: keep-alive\r\nContent-Range: bytes */615\r\n"));
	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: items=0-1\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "Accept-Ranges: bytes\r\n"));
	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nIf-Range: \"nope\"\r\n\r\n", 0,
	       &a);
	assert_non_null(strstr(out, "200 OK"));
	/* ranges of the whole page in two overlapping parts: declined */
	answer("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-400,300-614\r\n\r\n", 0, &a);
	assert_non_null(strstr(out, "200 OK"));
}

static void test_http_time(void **state)
{
	(void)state;
	static const char *const same[] = {
	    "Thu, 15 Jun 2023 15:26:20 GMT", "Xyz, 15 Jun 2023 15:26:20 UTC",
	    "Thursday, 15-Jun-23 15:26:20 GMT", "Thu Jun 15 15:26:20 2023"};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		assert_int_equal(mimic_parse_http_time((const uint8_t *)same[i], strlen(same[i])),
				 MIMIC_INDEX_MTIME);
	static const char *const bad[] = {"",
					  "garbage",
					  "Thu, 31 Jun 2023 15:26:20 GMT",
					  "Thu, 15 Jun 2023 24:00:00 GMT",
					  "Thu, 15 Jun 2023",
					  "Thu, 29 Feb 2023 00:00:00 GMT"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mimic_parse_http_time((const uint8_t *)bad[i], strlen(bad[i])),
				 -1);
	assert_int_equal(
	    mimic_parse_http_time((const uint8_t *)"Thu, 01 Jan 1970 00:00:00 GMT", 29), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_gzip),
	    cmocka_unit_test(test_accept_encoding_rules),
	    cmocka_unit_test(test_errors_and_09),
	    cmocka_unit_test(test_conditional_and_ranges),
	    cmocka_unit_test(test_http_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
