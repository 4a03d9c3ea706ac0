/* The built-in imitation of Debian 12's nginx 1.22.1 with its default
 * site: the bytes it answers a request (or a refused request head) with.
 * Pure: the time is passed in. The I/O around it (keepalive, timeouts,
 * lingering close) is front.c's; docs/obfuscation.md lists what was
 * measured and what is known to differ. */
#ifndef LL_FRONT_MIMIC_H
#define LL_FRONT_MIMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "front/http.h"

/* A status the parser does not produce: plain HTTP on the TLS port. */
#define MIMIC_PLAIN_ON_TLS 497
/* Modification time served for the index page (Last-Modified, ETag). */
#define MIMIC_INDEX_MTIME 1686842780 /* Thu, 15 Jun 2023 15:26:20 GMT */
/* An answer's bytes at most: a multipart range answer of many small
 * ranges is the largest; one that would not fit is served whole (200). */
#define MIMIC_RESPONSE_MAX 16384u

extern const char mimic_index_html[];
extern const size_t mimic_index_len;

struct mimic_answer {
	size_t len;	/* bytes in out */
	bool keepalive; /* the connection stays open for another request */
	bool lingering; /* close by lingering (nginx: error responses) */
};

/* Answer to a request head. status 0: req is a complete head to serve;
 * otherwise the status the parser (or the front) decided: 400, 414, 494,
 * 501, 505, 405, MIMIC_PLAIN_ON_TLS. req/head may be NULL for statuses
 * decided before a head. out holds MIMIC_RESPONSE_MAX bytes. *boundary is
 * nginx's counter of multipart boundaries (start at 0, keep it per
 * process): a multipart range answer takes the next number. */
void mimic_answer(uint8_t *out, const struct http_request *req, const uint8_t *head, int status,
		  uint64_t unix_s, uint64_t *boundary, struct mimic_answer *ans);

/* nginx's ngx_parse_http_time: RFC 1123, RFC 850 and asctime dates, -1 if
 * none (weekday and zone are not checked, as nginx does not). */
int64_t mimic_parse_http_time(const uint8_t *v, size_t len);

/* "Thu, 03 Dec 2026 15:20:21 GMT" (29 bytes + NUL; out holds 32). */
void mimic_http_date(char *out, uint64_t unix_s);

#endif
