/* Incremental HTTP/1.1 request-head parser with nginx 1.22's limits and
 * decisions (src/http/ngx_http_parse.c, ngx_http_request.c read, not
 * copied).
 *
 * Pure: bytes in, a verdict out. The front feeds it what it has read so
 * far; the parser says "need more", "complete head of N bytes" or "nginx
 * would answer with status S and close". It also reproduces nginx's
 * buffer arithmetic (client_header_buffer_size 1k, then
 * large_client_header_buffers 4 8k) so that a request line or header line
 * that nginx refuses with 414 / 400 is refused here at the same byte.
 *
 * Every span is an offset into the head the caller passed, so the caller
 * may keep the head in any buffer. */
#ifndef LL_FRONT_HTTP_H
#define LL_FRONT_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* nginx defaults on Debian 12 (nginx 1.22.1). */
#define HTTP_CLIENT_HEADER_BUFFER 1024u
#define HTTP_LARGE_BUFFER_SIZE	  8192u
#define HTTP_LARGE_BUFFER_COUNT	  4u
/* Upper bound of bytes a head can take (1k + 4 * 8k). */
#define HTTP_HEAD_MAX (HTTP_CLIENT_HEADER_BUFFER + HTTP_LARGE_BUFFER_COUNT * HTTP_LARGE_BUFFER_SIZE)
/* Headers whose spans are kept; more are accepted (nginx has no count
 * limit) and reachable with http_find_header. */
#define HTTP_HEADERS_MAX 64u

struct http_span {
	uint32_t off;
	uint32_t len;
};

enum http_method {
	HTTP_M_UNKNOWN = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_MKCOL,
	HTTP_M_COPY,
	HTTP_M_MOVE,
	HTTP_M_OPTIONS,
	HTTP_M_PROPFIND,
	HTTP_M_PROPPATCH,
	HTTP_M_LOCK,
	HTTP_M_UNLOCK,
	HTTP_M_PATCH,
	HTTP_M_TRACE,
	HTTP_M_CONNECT,
};

/* Flags on a complete head. */
#define HTTP_F_WS_UPGRADE                                                                          \
	0x1u /* GET, Upgrade: websocket, Connection has upgrade, version 13, a key */
#define HTTP_F_KEEPALIVE 0x2u  /* the connection stays open after the answer (HTTP/1.1 default) */
#define HTTP_F_HTTP09	 0x4u  /* "GET /" with no version: nginx answers with a bare body */
#define HTTP_F_CHUNKED	 0x8u  /* Transfer-Encoding: chunked */
#define HTTP_F_VIA	 0x10u /* a Via header: nginx (gzip_proxied off) answers uncompressed */

struct http_header {
	struct http_span name;
	struct http_span value;
};

struct http_request {
	enum http_method method;
	struct http_span method_name;
	struct http_span target;
	unsigned version;  /* major * 1000 + minor: 1001 for HTTP/1.1, 9 for 0.9 */
	uint32_t head_len; /* bytes up to and including the blank line */
	unsigned flags;
	struct http_span host;
	struct http_span upgrade;
	struct http_span connection;
	struct http_span ws_key;
	struct http_span ws_version;
	struct http_span ws_protocol;
	struct http_span content_length;
	struct http_span te;			      /* Transfer-Encoding */
	int64_t content_length_n;		      /* -1 when absent */
	struct http_span accept_encoding;	      /* the first one, as nginx keeps it */
	unsigned n_headers;			      /* all headers seen */
	struct http_header headers[HTTP_HEADERS_MAX]; /* the first HTTP_HEADERS_MAX */
};

enum http_result {
	HTTP_NEED_MORE = 0, /* no verdict yet: read more */
	HTTP_COMPLETE,	    /* req filled; req->head_len bytes are the head */
	HTTP_REJECT,	    /* nginx would answer *status and close */
};

/* State carried between calls; http_parser_init per request. */
struct http_parser {
	uint32_t scanned;    /* bytes already examined */
	uint32_t elem_start; /* nginx's "old": start of the request line / header line */
	uint32_t buf_end;    /* nginx: where its current header buffer ends */
	unsigned large_used; /* large buffers allocated so far */
	unsigned state;
	unsigned in_request_line;
	unsigned minor_digits;
	uint32_t name_end, value_start, value_end; /* the header line being read */
	unsigned seen;				   /* unique headers seen (bit per header) */
};

/* Zeroes both: req is filled as parsing goes, so pass the same req to
 * every http_parse call of one request. */
void http_parser_init(struct http_parser *p, struct http_request *req);

/* Examines data[0..len) (the same prefix grows between calls). On
 * HTTP_REJECT *status is the status nginx answers (400, 414, 494 means
 * "400 Request Header Or Cookie Too Large", 505, 501). */
enum http_result http_parse(struct http_parser *p, const uint8_t *data, size_t len,
			    struct http_request *req, int *status);

/* Case-insensitive header lookup over the whole head (also past the
 * first HTTP_HEADERS_MAX): the first match, or -1. */
int http_find_header(const struct http_request *req, const uint8_t *head, const char *name,
		     struct http_span *value);

/* Does a comma-separated header value contain token (case-insensitive)? */
int http_value_has_token(const uint8_t *head, struct http_span value, const char *token);

/* Where the path of a request target t (n bytes) starts: 0 in origin form
 * ("/x"); after scheme://host[:port] in absolute form; n when an absolute
 * target has no path (nginx then serves "/"). */
size_t http_target_path(const uint8_t *t, size_t n);

#endif
