/* Incremental HTTP/1.1 request-head parser (http.h), following nginx
 * 1.22.1's decisions byte for byte where a prober can see them: which
 * byte makes the request invalid (400 at once, before the head is
 * complete), which header is refused at the line that carries it
 * (duplicate Host, bad Host, duplicate unique header), and when its
 * header buffers run out (414 in the request line, 400 "Request Header
 * Or Cookie Too Large" in the headers). Written from reading
 * ngx_http_parse.c and ngx_http_request.c, not copied. */
#include "front/http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum {
	/* request line */
	RL_START = 0,
	RL_METHOD,
	RL_SP_BEFORE_URI,
	RL_SCHEMA,
	RL_SCHEMA_SLASH,
	RL_SCHEMA_SLASH2,
	RL_HOST_START,
	RL_HOST,
	RL_HOST_LITERAL,
	RL_PORT,
	RL_URI,
	RL_HTTP09,
	RL_H,
	RL_HT,
	RL_HTT,
	RL_HTTP,
	RL_MAJOR1,
	RL_MAJOR,
	RL_MINOR1,
	RL_MINOR,
	RL_SP_AFTER,
	RL_ALMOST,
	/* header lines */
	H_START = 100,
	H_NAME,
	H_SP_BEFORE_VALUE,
	H_VALUE,
	H_SP_AFTER_VALUE,
	H_ALMOST,
	H_HEAD_ALMOST,
};

/* What a byte does to the parse: keep going, the element (request line
 * or header line) is complete, the head is complete, or refuse. */
enum step {
	STEP_MORE,
	STEP_LINE_DONE,
	STEP_HEAD_DONE,
	STEP_BAD,
};

/* Headers nginx refuses to see twice (ngx_http_process_unique_header_line
 * and Host). */
static const char *const http_unique[] = {
    "host",	     "if-modified-since", "if-unmodified-since",
    "if-match",	     "if-none-match",	  "content-length",
    "content-range", "if-range",	  "transfer-encoding",
    "expect",	     "authorization",
};
#define HTTP_N_UNIQUE (sizeof(http_unique) / sizeof(http_unique[0]))

static const struct {
	const char *name;
	enum http_method m;
} http_methods[] = {
    {"GET", HTTP_M_GET},	   {"HEAD", HTTP_M_HEAD},	    {"POST", HTTP_M_POST},
    {"PUT", HTTP_M_PUT},	   {"DELETE", HTTP_M_DELETE},	    {"MKCOL", HTTP_M_MKCOL},
    {"COPY", HTTP_M_COPY},	   {"MOVE", HTTP_M_MOVE},	    {"OPTIONS", HTTP_M_OPTIONS},
    {"PROPFIND", HTTP_M_PROPFIND}, {"PROPPATCH", HTTP_M_PROPPATCH}, {"LOCK", HTTP_M_LOCK},
    {"UNLOCK", HTTP_M_UNLOCK},	   {"PATCH", HTTP_M_PATCH},	    {"TRACE", HTTP_M_TRACE},
    {"CONNECT", HTTP_M_CONNECT},
};

void http_parser_init(struct http_parser *p, struct http_request *req)
{
	memset(p, 0, sizeof(*p));
	memset(req, 0, sizeof(*req));
	p->buf_end = HTTP_CLIENT_HEADER_BUFFER;
	p->in_request_line = 1;
	p->state = RL_START;
	req->content_length_n = -1;
}

static enum http_method http_method_of(const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strlen(http_methods[i].name) == n && memcmp(http_methods[i].name, m, n) == 0)
			return http_methods[i].m;
	return HTTP_M_UNKNOWN;
}

static struct http_span span(uint32_t a, uint32_t b)
{
	return (struct http_span){a, b - a};
}

static int is_alpha(uint8_t c)
{
	c |= 0x20;
	return c >= 'a' && c <= 'z';
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* A URI byte nginx refuses outright. */
static int uri_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

/* The request target ends: CR/LF mean HTTP/0.9, space a version follows. */
static unsigned rl_uri_end(struct http_request *req, uint32_t at, uint8_t c, enum step *st)
{
	req->target.len = at - req->target.off;
	if (c == ' ')
		return RL_HTTP09;
	req->version = 9;
	if (c == '\n')
		*st = STEP_LINE_DONE;
	return RL_ALMOST;
}

static enum step rl_byte(struct http_parser *p, struct http_request *req, const uint8_t *d,
			 uint32_t at, int *status)
{
	uint8_t c = d[at];
	enum step st = STEP_MORE;
	*status = 400;
	switch (p->state) {
	case RL_START:
		p->elem_start = at;
		if (c == '\r' || c == '\n')
			break;
		if ((c < 'A' || c > 'Z') && c != '_' && c != '-')
			return STEP_BAD;
		req->method_name.off = at;
		p->state = RL_METHOD;
		break;
	case RL_METHOD:
		if (c == ' ') {
			req->method_name.len = at - req->method_name.off;
			req->method =
			    http_method_of(d + req->method_name.off, req->method_name.len);
			p->state = RL_SP_BEFORE_URI;
		} else if ((c < 'A' || c > 'Z') && c != '_' && c != '-') {
			return STEP_BAD;
		}
		break;
	case RL_SP_BEFORE_URI:
		if (c == '/') {
			req->target.off = at;
			p->state = RL_URI;
		} else if (is_alpha(c)) {
			req->target.off = at;
			p->state = RL_SCHEMA;
		} else if (c != ' ') {
			return STEP_BAD;
		}
		break;
	case RL_SCHEMA:
		if (c == ':')
			p->state = RL_SCHEMA_SLASH;
		else if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
			return STEP_BAD;
		break;
	case RL_SCHEMA_SLASH:
	case RL_SCHEMA_SLASH2:
		if (c != '/')
			return STEP_BAD;
		p->state = p->state == RL_SCHEMA_SLASH ? RL_SCHEMA_SLASH2 : RL_HOST_START;
		break;
	case RL_HOST_START:
		if (c == '[') {
			p->state = RL_HOST_LITERAL;
			break;
		}
		p->state = RL_HOST;
		/* fall through */
	case RL_HOST:
		if (is_alpha(c) || is_digit(c) || c == '.' || c == '-')
			break;
		/* fall through */
	case RL_PORT:
		if (p->state == RL_PORT && is_digit(c))
			break;
		if (c == ':' && p->state == RL_HOST) {
			p->state = RL_PORT;
		} else if (c == '/' || c == '?') {
			p->state = RL_URI;
		} else if (c == ' ') {
			req->target.len = at - req->target.off;
			p->state = RL_HTTP09;
		} else {
			return STEP_BAD;
		}
		break;
	case RL_HOST_LITERAL:
		if (c == ']')
			p->state = RL_HOST;
		else if (!is_alpha(c) && !is_digit(c) && c != ':' && c != '.' && c != '-' &&
			 c != '_' && c != '~' && c != '%' && c != '!' && c != '$' && c != '&' &&
			 c != '\'' && c != '(' && c != ')' && c != '*' && c != '+' && c != ',' &&
			 c != ';' && c != '=')
			return STEP_BAD;
		break;
	case RL_URI:
		if (c == ' ' || c == '\r' || c == '\n')
			p->state = rl_uri_end(req, at, c, &st);
		else if (uri_ctl(c))
			return STEP_BAD;
		break;
	case RL_HTTP09:
		if (c == ' ')
			break;
		if (c == 'H') {
			p->state = RL_H;
			break;
		}
		if (c != '\r' && c != '\n')
			return STEP_BAD;
		req->version = 9;
		if (c == '\n')
			st = STEP_LINE_DONE;
		p->state = RL_ALMOST;
		break;
	case RL_H:
	case RL_HT:
	case RL_HTT:
	case RL_HTTP: {
		static const char want[] = "TTP/";
		if (c != (uint8_t)want[p->state - RL_H])
			return STEP_BAD;
		p->state++;
		break;
	}
	case RL_MAJOR1:
		if (c < '1' || c > '9')
			return STEP_BAD;
		if (c > '1') {
			*status = 505;
			return STEP_BAD;
		}
		req->version = 1000;
		p->state = RL_MAJOR;
		break;
	case RL_MAJOR:
		if (c == '.') {
			p->state = RL_MINOR1;
			break;
		}
		if (!is_digit(c))
			return STEP_BAD;
		*status = 505; /* any second digit makes the major > 1 */
		return STEP_BAD;
	case RL_MINOR1:
		if (!is_digit(c))
			return STEP_BAD;
		req->version += (unsigned)(c - '0');
		p->minor_digits = 1;
		p->state = RL_MINOR;
		break;
	case RL_MINOR:
		if (c == '\r') {
			p->state = RL_ALMOST;
		} else if (c == '\n') {
			st = STEP_LINE_DONE;
		} else if (c == ' ') {
			p->state = RL_SP_AFTER;
		} else if (!is_digit(c) || req->version % 1000 > 99) {
			return STEP_BAD;
		} else {
			req->version = 1000 + (req->version % 1000) * 10 + (unsigned)(c - '0');
		}
		break;
	case RL_SP_AFTER:
		if (c == '\r')
			p->state = RL_ALMOST;
		else if (c == '\n')
			st = STEP_LINE_DONE;
		else if (c != ' ')
			return STEP_BAD;
		break;
	case RL_ALMOST:
		if (c != '\n')
			return STEP_BAD;
		st = STEP_LINE_DONE;
		break;
	}
	return st;
}

/* nginx's lowcase[] table: the bytes a header name may hold. */
static int h_name_char(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || c == '-';
}

static enum step h_byte(struct http_parser *p, uint8_t c, uint32_t at, unsigned *invalid)
{
	switch (p->state) {
	case H_START:
		p->elem_start = at;
		*invalid = 0;
		if (c == '\r') {
			p->state = H_HEAD_ALMOST;
			break;
		}
		if (c == '\n')
			return STEP_HEAD_DONE;
		p->state = H_NAME;
		if (h_name_char(c))
			break;
		if (c <= 0x20 || c == 0x7f || c == ':')
			return STEP_BAD;
		*invalid = 1; /* '_' and other bytes: the line is ignored */
		break;
	case H_NAME:
		if (h_name_char(c))
			break;
		if (c == ':') {
			p->name_end = at;
			p->state = H_SP_BEFORE_VALUE;
		} else if (c == '\r' || c == '\n') {
			p->name_end = p->value_start = p->value_end = at;
			p->state = H_ALMOST;
			if (c == '\n')
				return STEP_LINE_DONE;
		} else if (c <= 0x20 || c == 0x7f) {
			return STEP_BAD;
		} else {
			*invalid = 1;
		}
		break;
	case H_SP_BEFORE_VALUE:
		if (c == ' ')
			break;
		if (c == '\0')
			return STEP_BAD;
		p->value_start = p->value_end = at;
		if (c == '\r' || c == '\n') {
			p->state = H_ALMOST;
			return c == '\n' ? STEP_LINE_DONE : STEP_MORE;
		}
		p->state = H_VALUE;
		break;
	case H_VALUE:
	case H_SP_AFTER_VALUE:
		if (c == '\0')
			return STEP_BAD;
		if (c == '\r' || c == '\n') {
			if (p->state == H_VALUE)
				p->value_end = at;
			p->state = H_ALMOST;
			return c == '\n' ? STEP_LINE_DONE : STEP_MORE;
		}
		if (c == ' ') {
			if (p->state == H_VALUE)
				p->value_end = at;
			p->state = H_SP_AFTER_VALUE;
		} else {
			p->state = H_VALUE;
		}
		break;
	case H_ALMOST:
		if (c == '\n')
			return STEP_LINE_DONE;
		if (c != '\r')
			return STEP_BAD;
		break;
	case H_HEAD_ALMOST:
		if (c == '\n')
			return STEP_HEAD_DONE;
		return STEP_BAD;
	}
	return STEP_MORE;
}

static int span_ieq(const uint8_t *d, struct http_span s, const char *lit)
{
	return s.len == strlen(lit) && strncasecmp((const char *)d + s.off, lit, s.len) == 0;
}

/* nginx's ngx_http_validate_host: no empty labels, no '/', '\\' or
 * control bytes, not empty once a trailing dot and port are gone. */
static int http_host_valid(const uint8_t *h, size_t n)
{
	size_t dot = n, host_len = n;
	int state = 0; /* 0 usual, 1 literal, 2 rest */
	for (size_t i = 0; i < n; i++) {
		uint8_t c = h[i];
		if (c == '.') {
			if (i > 0 && dot == i - 1)
				return 0;
			dot = i;
		} else if (c == ':') {
			if (state == 0) {
				host_len = i;
				state = 2;
			}
		} else if (c == '[') {
			if (i == 0)
				state = 1;
		} else if (c == ']') {
			if (state == 1) {
				host_len = i + 1;
				state = 2;
			}
		} else if (c == '/' || c == '\\' || c <= 0x20 || c == 0x7f) {
			return 0;
		}
	}
	if (host_len > 0 && dot == host_len - 1)
		host_len--;
	return host_len != 0;
}

/* nginx's ngx_atoof: digits only, no sign, no overflow. */
static int64_t http_atoof(const uint8_t *s, size_t n)
{
	int64_t v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]) || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* nginx normalizes the path (ngx_http_parse_complex_uri) as soon as the
 * request line is read: a bad %-escape or a ".." above the root is a 400.
 * Segments are judged decoded; the query (after '?') is not looked at. */
size_t http_target_path(const uint8_t *t, size_t n)
{
	if (!n || t[0] == '/')
		return 0;
	const uint8_t *s = memchr(t, '/', n); /* absolute form: skip scheme://host[:port] */
	size_t i = s ? (size_t)(s - t) + 2 : n;
	const uint8_t *q = i < n ? memchr(t + i, '/', n - i) : NULL;
	return q ? (size_t)(q - t) : n;
}

static int http_path_ok(const uint8_t *t, size_t n)
{
	size_t i = http_target_path(t, n);
	if (i >= n && n)
		return 1; /* no path: "/" */
	const uint8_t *qm = memchr(t + i, '?', n - i);
	if (qm)
		n = (size_t)(qm - t);
	int depth = 0;
	size_t seglen = 0;
	unsigned dots = 0; /* the segment so far is all dots: how many */
	for (; i <= n; i++) {
		uint8_t c = '/';
		if (i < n) {
			c = t[i];
			if (c == '%') {
				if (i + 2 >= n || hexval(t[i + 1]) < 0 || hexval(t[i + 2]) < 0)
					return 0;
				c = (uint8_t)(hexval(t[i + 1]) * 16 + hexval(t[i + 2]));
				i += 2;
			}
		}
		if (c == '/') {
			if (seglen == 2 && dots == 2) {
				if (--depth < 0)
					return 0;
			} else if (seglen > 0 && !(seglen == 1 && dots == 1)) {
				depth++;
			}
			seglen = 0;
			dots = 0;
		} else {
			if (c == '.' && dots == seglen)
				dots++;
			seglen++;
		}
	}
	return 1;
}

static int http_unique_index(const uint8_t *d, struct http_span name)
{
	for (size_t i = 0; i < HTTP_N_UNIQUE; i++)
		if (span_ieq(d, name, http_unique[i]))
			return (int)i;
	return -1;
}

/* A complete header line: keep it, and refuse what nginx refuses at this
 * line (a second Host or unique header, an invalid Host). */
static int h_line(struct http_parser *p, struct http_request *req, const uint8_t *d)
{
	struct http_header h = {span(p->elem_start, p->name_end),
				span(p->value_start, p->value_end)};
	if (p->value_end < p->value_start)
		h.value.len = 0;
	int u = http_unique_index(d, h.name);
	if (u >= 0) {
		if (p->seen & (1u << u))
			return 400;
		p->seen |= 1u << u;
	}
	if (req->n_headers < HTTP_HEADERS_MAX)
		req->headers[req->n_headers] = h;
	req->n_headers++;
	if (span_ieq(d, h.name, "host")) {
		if (!http_host_valid(d + h.value.off, h.value.len))
			return 400;
		req->host = h.value;
	} else if (span_ieq(d, h.name, "upgrade")) {
		if (req->upgrade.len == 0)
			req->upgrade = h.value;
	} else if (span_ieq(d, h.name, "connection")) {
		if (req->connection.len == 0)
			req->connection = h.value;
	} else if (span_ieq(d, h.name, "sec-websocket-key")) {
		req->ws_key = h.value;
	} else if (span_ieq(d, h.name, "sec-websocket-version")) {
		req->ws_version = h.value;
	} else if (span_ieq(d, h.name, "sec-websocket-protocol")) {
		req->ws_protocol = h.value;
	} else if (span_ieq(d, h.name, "content-length")) {
		req->content_length = h.value;
	} else if (span_ieq(d, h.name, "accept-encoding")) {
		if (req->accept_encoding.len == 0 && req->accept_encoding.off == 0)
			req->accept_encoding = h.value;
	} else if (span_ieq(d, h.name, "via")) {
		req->flags |= HTTP_F_VIA;
	} else if (span_ieq(d, h.name, "transfer-encoding")) {
		req->flags |= HTTP_F_CHUNKED;
		req->te = h.value;
	}
	return 0;
}

/* The head is complete: nginx's ngx_http_process_request_header checks. */
static int http_head_checks(struct http_request *req, const uint8_t *d, unsigned seen)
{
	if (!(seen & 1u) && req->version > 1000)
		return 400;
	if (req->content_length.len || (seen & (1u << 5))) {
		req->content_length_n =
		    http_atoof(d + req->content_length.off, req->content_length.len);
		if (req->content_length_n < 0)
			return 400;
	}
	if (req->flags & HTTP_F_CHUNKED) {
		if (req->version < 1001)
			return 400;
		if (!span_ieq(d, req->te, "chunked"))
			return 501;
		if (seen & (1u << 5))
			return 400;
	}
	if (req->method == HTTP_M_CONNECT || req->method == HTTP_M_TRACE)
		return 405;
	return 0;
}

static void http_set_flags(struct http_request *req, const uint8_t *d)
{
	int keep = req->version >= 1001;
	if (req->connection.len) {
		if (http_value_has_token(d, req->connection, "close"))
			keep = 0;
		else if (http_value_has_token(d, req->connection, "keep-alive"))
			keep = 1;
	}
	if (keep)
		req->flags |= HTTP_F_KEEPALIVE;
	if (req->method == HTTP_M_GET && req->version >= 1001 && req->upgrade.len &&
	    http_value_has_token(d, req->upgrade, "websocket") && req->connection.len &&
	    http_value_has_token(d, req->connection, "upgrade") &&
	    span_ieq(d, req->ws_version, "13") && req->ws_key.len)
		req->flags |= HTTP_F_WS_UPGRADE;
}

/* nginx's header buffers (ngx_http_alloc_large_header_buffer): when the
 * current buffer is full and the head is not, a new 8k buffer takes the
 * element being read; it must fit whole, and there are 4 of them. */
static int http_buffer_full(struct http_parser *p, uint32_t pos)
{
	int mid = p->in_request_line ? p->state != RL_START : p->state != H_START;
	if (p->in_request_line && !mid) { /* only CRLFs so far: reuse the buffer */
		p->buf_end = pos + HTTP_CLIENT_HEADER_BUFFER;
		return 0;
	}
	if (mid && pos - p->elem_start >= HTTP_LARGE_BUFFER_SIZE)
		return -1;
	if (p->large_used >= HTTP_LARGE_BUFFER_COUNT)
		return -1;
	p->large_used++;
	p->buf_end = (mid ? p->elem_start : pos) + HTTP_LARGE_BUFFER_SIZE;
	return 0;
}

static enum http_result http_line_done(struct http_parser *p, struct http_request *req,
				       const uint8_t *d, uint32_t at, int *status)
{
	if (p->in_request_line) {
		if (req->version == 9 && req->method != HTTP_M_GET) {
			*status = 400;
			return HTTP_REJECT;
		}
		if (!http_path_ok(d + req->target.off, req->target.len)) {
			*status = 400;
			return HTTP_REJECT;
		}
		if (req->version == 9) {
			req->flags |= HTTP_F_HTTP09;
			req->head_len = at + 1;
			return HTTP_COMPLETE;
		}
		p->in_request_line = 0;
		p->state = H_START;
		return HTTP_NEED_MORE;
	}
	p->state = H_START;
	return HTTP_NEED_MORE;
}

enum http_result http_parse(struct http_parser *p, const uint8_t *data, size_t len,
			    struct http_request *req, int *status)
{
	if (len > HTTP_HEAD_MAX + 1)
		len = HTTP_HEAD_MAX + 1;
	while (p->scanned < len) {
		uint32_t at = p->scanned++;
		unsigned invalid = 0;
		enum step st = p->in_request_line ? rl_byte(p, req, data, at, status)
						  : h_byte(p, data[at], at, &invalid);
		if (invalid)
			p->minor_digits |= 0x100; /* this header line is ignored */
		if (st == STEP_BAD) {
			if (!p->in_request_line)
				*status = 400;
			return HTTP_REJECT;
		}
		if (st == STEP_LINE_DONE) {
			if (!p->in_request_line && !(p->minor_digits & 0x100)) {
				int s = h_line(p, req, data);
				if (s) {
					*status = s;
					return HTTP_REJECT;
				}
			}
			p->minor_digits &= ~0x100u;
			enum http_result r = http_line_done(p, req, data, at, status);
			if (r != HTTP_NEED_MORE)
				return r;
		} else if (st == STEP_HEAD_DONE) {
			req->head_len = at + 1;
			int s = http_head_checks(req, data, p->seen);
			http_set_flags(req, data);
			if (s) {
				*status = s;
				return HTTP_REJECT;
			}
			return HTTP_COMPLETE;
		}
		if (p->scanned == p->buf_end && http_buffer_full(p, p->scanned) < 0) {
			*status = p->in_request_line ? 414 : 494;
			return HTTP_REJECT;
		}
	}
	return HTTP_NEED_MORE;
}

int http_find_header(const struct http_request *req, const uint8_t *head, const char *name,
		     struct http_span *value)
{
	size_t n = req->n_headers < HTTP_HEADERS_MAX ? req->n_headers : HTTP_HEADERS_MAX;
	for (size_t i = 0; i < n; i++) {
		if (span_ieq(head, req->headers[i].name, name)) {
			*value = req->headers[i].value;
			return 0;
		}
	}
	if (req->n_headers <= HTTP_HEADERS_MAX)
		return -1;
	/* Past the kept ones: rescan the lines after the last kept header. */
	struct http_span last = req->headers[HTTP_HEADERS_MAX - 1].value;
	size_t pos = last.off + last.len;
	size_t nl = strlen(name);
	while (pos < req->head_len) {
		const uint8_t *eol = memchr(head + pos, '\n', req->head_len - pos);
		if (!eol)
			break;
		size_t ls = pos;
		pos = (size_t)(eol - head) + 1;
		if (ls + nl + 1 > (size_t)(eol - head) || head[ls + nl] != ':' ||
		    strncasecmp((const char *)head + ls, name, nl) != 0 ||
		    ls == last.off + last.len)
			continue;
		size_t vs = ls + nl + 1, ve = (size_t)(eol - head);
		while (vs < ve && head[vs] == ' ')
			vs++;
		while (ve > vs && (head[ve - 1] == '\r' || head[ve - 1] == ' '))
			ve--;
		*value = (struct http_span){(uint32_t)vs, (uint32_t)(ve - vs)};
		return 0;
	}
	return -1;
}

/* nginx matches Connection/Upgrade tokens loosely (ngx_strcasestrn); a
 * client that wants the tunnel sends them plainly, so here a token is a
 * comma-separated element, spaces and tabs trimmed. */
int http_value_has_token(const uint8_t *head, struct http_span value, const char *token)
{
	size_t tl = strlen(token);
	size_t i = value.off, end = (size_t)value.off + value.len;
	while (i < end) {
		while (i < end && (head[i] == ' ' || head[i] == '\t' || head[i] == ','))
			i++;
		size_t s = i;
		while (i < end && head[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (head[e - 1] == ' ' || head[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp((const char *)head + s, token, tl) == 0)
			return 1;
	}
	return 0;
}
