/* lostlove-admin's HTTP/1.1 client over the server's Unix socket.
 *
 * Why not libcurl: the admin tool talks to one local socket, sends one
 * request per connection and reads one response the server (our own
 * src/api/httpd.c over libmicrohttpd) writes with a Content-Length. That
 * is a connect, a write and a read to EOF; the response parser below is
 * pure and fuzzed (tests/fuzz/fuzz_uclient.c). The tool runs as root
 * (sudo), so it carries no TLS, proxy, redirect or cookie code it does
 * not use. */
#ifndef LL_ADMIN_UCLIENT_H
#define LL_ADMIN_UCLIENT_H

#include <stddef.h>

#define UCLIENT_RESPONSE_MAX (16u << 20) /* bytes; a QR PNG is a few KiB */

struct uclient_resp {
	int status;	       /* 100..599 */
	char content_type[64]; /* "" when absent */
	char *body;	       /* malloc'd, NUL-terminated (also for binary bodies) */
	size_t len;
};

/* Parses a whole response (everything read until the server closed):
 * status line, headers, body. The body ends at Content-Length when given
 * (bytes beyond are refused), else at the end; chunked transfer coding is
 * decoded. 0, or -EBADMSG when it is not a complete HTTP/1.x response.
 * ret->body is allocated on success only. */
int uclient_parse(const char *buf, size_t len, struct uclient_resp *ret);

/* Sends method target (with body as application/json when body_len > 0)
 * to the socket at path and reads the response, waiting at most
 * timeout_ms in all. 0, or a negative errno: -ENOENT / -ECONNREFUSED /
 * -EACCES from the connect (no server, or no permission), -ETIMEDOUT,
 * -EBADMSG (not HTTP), -EMSGSIZE (over UCLIENT_RESPONSE_MAX). */
int uclient_request(const char *path, const char *method, const char *target, const char *body,
		    size_t body_len, unsigned timeout_ms, struct uclient_resp *ret);

void uclient_resp_free(struct uclient_resp *r);

#endif
