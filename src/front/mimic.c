/* The nginx 1.22.1 mimic (mimic.h). Status lines, header order and error
 * page bodies were measured against Debian 12's nginx (tests/e2e/
 * front_parity.sh compares them byte for byte, Date aside). */
#include "front/mimic.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

/* Debian's /var/www/html/index.nginx-debian.html. */
const char mimic_index_html[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<title>Welcome to nginx!</title>\n"
    "<style>\n"
    "html { color-scheme: light dark; }\n"
    "body { width: 35em; margin: 0 auto;\n"
    "font-family: Tahoma, Verdana, Arial, sans-serif; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>Welcome to nginx!</h1>\n"
    "<p>If you see this page, the nginx web server is successfully installed and\n"
    "working. Further configuration is required.</p>\n"
    "\n"
    "<p>For online documentation and support please refer to\n"
    "<a href=\"http://nginx.org/\">nginx.org</a>.<br/>\n"
    "Commercial support is available at\n"
    "<a href=\"http://nginx.com/\">nginx.com</a>.</p>\n"
    "\n"
    "<p><em>Thank you for using nginx.</em></p>\n"
    "</body>\n"
    "</html>\n";
const size_t mimic_index_len = sizeof(mimic_index_html) - 1;

static const char mimic_tail[] = "<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";

struct mimic_status {
	int code;
	const char *line; /* status line text */
	const char *title;
	const char *detail; /* the extra <center> line, or NULL */
};

static const struct mimic_status mimic_statuses[] = {
    {400, "400 Bad Request", "400 Bad Request", NULL},
    {404, "404 Not Found", "404 Not Found", NULL},
    {405, "405 Not Allowed", "405 Not Allowed", NULL},
    {414, "414 Request-URI Too Large", "414 Request-URI Too Large", NULL},
    {494, "400 Bad Request", "400 Request Header Or Cookie Too Large",
     "Request Header Or Cookie Too Large"},
    {MIMIC_PLAIN_ON_TLS, "400 Bad Request", "400 The plain HTTP request was sent to HTTPS port",
     "The plain HTTP request was sent to HTTPS port"},
    {501, "501 Not Implemented", "501 Not Implemented", NULL},
    {505, "505 HTTP Version Not Supported", "505 HTTP Version Not Supported", NULL},
};

void mimic_http_date(char *out, uint64_t unix_s)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", 30);
		return;
	}
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday & 63, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour & 31,
		 tm.tm_min & 63, tm.tm_sec & 63);
}

static const struct mimic_status *mimic_find(int code)
{
	for (size_t i = 0; i < sizeof(mimic_statuses) / sizeof(mimic_statuses[0]); i++)
		if (mimic_statuses[i].code == code)
			return &mimic_statuses[i];
	return &mimic_statuses[0];
}

static size_t mimic_body(char *b, size_t cap, const struct mimic_status *s)
{
	int n;
	if (s->detail)
		n = snprintf(b, cap,
			     "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n"
			     "<center><h1>%s</h1></center>\r\n<center>%s</center>\r\n%s",
			     s->title, s->line, s->detail, mimic_tail);
	else
		n = snprintf(b, cap,
			     "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n"
			     "<center><h1>%s</h1></center>\r\n%s",
			     s->title, s->line, mimic_tail);
	return n < 0 ? 0 : (size_t)n;
}

/* The default site: "/" and the index file itself exist; everything else
 * is 404. The path is judged after nginx's normalization: merged
 * slashes, "." and ".." segments, %-escapes, no query. */
static int mimic_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int mimic_path_is_index(const uint8_t *t, size_t n)
{
	size_t i = 0;
	if (n && t[0] != '/') { /* absolute form: scheme://host[:port]/path */
		const uint8_t *s = memchr(t, '/', n);
		i = s ? (size_t)(s - t) + 2 : n;
		const uint8_t *q = i < n ? memchr(t + i, '/', n - i) : NULL;
		if (!q)
			return 1;
		i = (size_t)(q - t);
	}
	static const char file[] = "index.nginx-debian.html";
	char seg[sizeof(file) + 1];
	size_t sl = 0;
	int depth = 0, is_file = 0, seg_long = 0;
	for (;; i++) {
		int end = i >= n || t[i] == '?' || t[i] == '#';
		uint8_t c = end ? '/' : t[i];
		if (!end && c == '%' && i + 2 < n && mimic_hex(t[i + 1]) >= 0 &&
		    mimic_hex(t[i + 2]) >= 0) {
			c = (uint8_t)(mimic_hex(t[i + 1]) * 16 + mimic_hex(t[i + 2]));
			i += 2;
		}
		if (c == '/') {
			if (sl == 0 && !seg_long) {
				/* empty segment: merged */
			} else if (!seg_long && sl == 1 && seg[0] == '.') {
			} else if (!seg_long && sl == 2 && seg[0] == '.' && seg[1] == '.') {
				depth = depth > 0 ? depth - 1 : 0;
				is_file = 0;
			} else {
				depth++;
				is_file = !seg_long && sl == sizeof(file) - 1 &&
					  memcmp(seg, file, sl) == 0;
			}
			if (end) {
				/* "/index.nginx-debian.html/" is a directory that does not exist */
				int trailing = i > 0 && i <= n && t[i - 1] == '/';
				return depth == 0 || (depth == 1 && is_file && !trailing);
			}
			if (depth > 1 || (depth == 1 && !is_file))
				return 0;
			sl = 0;
			seg_long = 0;
		} else if (sl < sizeof(seg)) {
			seg[sl++] = (char)c;
		} else {
			seg_long = 1;
		}
	}
}

static size_t mimic_put(uint8_t *out, size_t at, const char *fmt_result, size_t n)
{
	if (at + n > MIMIC_RESPONSE_MAX)
		n = MIMIC_RESPONSE_MAX - at;
	memcpy(out + at, fmt_result, n);
	return at + n;
}

/* What the default site answers a complete, accepted head. */
static int mimic_route(const struct http_request *req, const uint8_t *head)
{
	int exists = mimic_path_is_index(head + req->target.off, req->target.len);
	if (req->method == HTTP_M_GET || req->method == HTTP_M_HEAD)
		return exists ? 200 : 404;
	return exists ? 405 : 404;
}

/* nginx's ngx_http_gzip_quantity: "q=0", "q=0.000" refuse; up to 3
 * decimals; anything malformed refuses too. */
static unsigned mimic_gzip_quantity(const uint8_t *p, const uint8_t *last)
{
	uint8_t c = *p++;
	if (c != '0' && c != '1')
		return 0;
	unsigned q = (unsigned)(c - '0') * 100, n = 0;
	if (p == last)
		return q;
	c = *p++;
	if (c == ',' || c == ' ')
		return q;
	if (c != '.')
		return 0;
	while (p < last) {
		c = *p++;
		if (c == ',' || c == ' ')
			break;
		if (c < '0' || c > '9')
			return 0;
		q += (unsigned)(c - '0');
		n++;
	}
	return q > 100 || n > 3 ? 0 : q;
}

/* nginx's ngx_http_gzip_accept_encoding: a "gzip" token at the start or
 * after ',' or ' ', then the end, ',', or ";q=" with a non-zero value. */
static bool mimic_accepts_gzip(const uint8_t *v, size_t len)
{
	const uint8_t *start = v, *last = v + len, *p = NULL;
	if (len >= 5 && memcmp(v, "gzip,", 5) == 0)
		return true;
	for (;;) {
		p = NULL;
		for (const uint8_t *x = start; x + 4 <= last; x++)
			if (strncasecmp((const char *)x, "gzip", 4) == 0) {
				p = x;
				break;
			}
		if (!p)
			return false;
		if (p == v || p[-1] == ',' || p[-1] == ' ')
			break;
		start = p + 4;
	}
	for (p += 4; p < last;) {
		uint8_t c = *p++;
		if (c == ',')
			return true;
		if (c == ' ')
			continue;
		if (c != ';')
			return false;
		while (p < last) {
			c = *p++;
			if (c == ' ')
				continue;
			if (c != 'q' && c != 'Q')
				return false;
			if (p + 2 > last || *p++ != '=')
				return false;
			return mimic_gzip_quantity(p, last) != 0;
		}
		return true;
	}
	return true;
}

/* Debian's nginx.conf says "gzip on" with every other gzip_* at its
 * default: HTTP/1.1 and later, no Via (gzip_proxied off), text/html, 200
 * and 404 here (403 too, which the default site never answers). */
static bool mimic_gzip_ok(const struct http_request *req, const uint8_t *head)
{
	if (!req || req->version < 1001 || (req->flags & HTTP_F_VIA))
		return false;
	if (req->accept_encoding.len < 4)
		return false;
	return mimic_accepts_gzip(head + req->accept_encoding.off, req->accept_encoding.len);
}

/* nginx's gzip filter: zlib level 1 (gzip_comp_level), zlib's own gzip
 * wrapper, and the window and memory level shrunk to the body's size
 * (ngx_http_gzip_filter_memory). 0 if zlib fails. */
static size_t mimic_gzip(const void *in, size_t n, uint8_t *out, size_t cap)
{
	int wbits = 15, memlevel = 8;
	while ((long)n < (1L << (wbits - 1)) - 262) {
		wbits--;
		memlevel--;
	}
	if (memlevel < 1)
		memlevel = 1;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, wbits + 16, memlevel, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int r = deflate(&z, Z_FINISH);
	size_t len = cap - z.avail_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? len : 0;
}

struct mimic_reply {
	const char *line; /* status line text */
	bool index;	  /* the index page: Last-Modified, ETag, Accept-Ranges */
	bool gzip;
	bool head_only;
	bool keepalive;
	const void *body;
	size_t body_len;
};

/* Headers in nginx's order (ngx_http_header_filter, then the gzip and
 * chunked filters' changes), then the body as nginx sends it. */
static size_t mimic_emit(uint8_t *out, const struct mimic_reply *r, const char *date)
{
	char h[768];
	uint8_t gz[1024];
	size_t gzlen = 0;
	int n = snprintf(
	    h, sizeof(h),
	    "HTTP/1.1 %s\r\nServer: nginx/1.22.1\r\nDate: %s\r\nContent-Type: text/html\r\n",
	    r->line, date);
	bool gzip = r->gzip && (gzlen = mimic_gzip(r->body, r->body_len, gz, sizeof(gz))) > 0;
	if (!gzip)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Length: %zu\r\n", r->body_len);
	if (r->index) {
		char lm[32];
		mimic_http_date(lm, MIMIC_INDEX_MTIME);
		n += snprintf(h + n, sizeof(h) - (size_t)n, "Last-Modified: %s\r\n", lm);
	}
	if (gzip && !r->head_only)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "Transfer-Encoding: chunked\r\n");
	n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: %s\r\n",
		      r->keepalive ? "keep-alive" : "close");
	if (r->index)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "ETag: %s\"%llx-%zx\"\r\n",
			      gzip ? "W/" : "", (unsigned long long)MIMIC_INDEX_MTIME,
			      mimic_index_len);
	if (r->index && !gzip)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "Accept-Ranges: bytes\r\n");
	if (gzip)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Encoding: gzip\r\n");
	n += snprintf(h + n, sizeof(h) - (size_t)n, "\r\n");
	size_t at = mimic_put(out, 0, h, n < 0 ? 0 : (size_t)n);
	if (r->head_only)
		return at;
	if (!gzip)
		return mimic_put(out, at, r->body, r->body_len);
	/* one chunk: nginx's gzip output fits one buffer */
	n = snprintf(h, sizeof(h), "%zx\r\n", gzlen);
	at = mimic_put(out, at, h, (size_t)n);
	at = mimic_put(out, at, (const char *)gz, gzlen);
	return mimic_put(out, at, "\r\n0\r\n\r\n", 7);
}

void mimic_answer(uint8_t *out, const struct http_request *req, const uint8_t *head, int status,
		  uint64_t unix_s, struct mimic_answer *ans)
{
	char date[32];
	char body[512];
	mimic_http_date(date, unix_s);
	memset(ans, 0, sizeof(*ans));
	bool http09 = req && (req->flags & HTTP_F_HTTP09);
	int code = status;
	if (status == 0) {
		code = mimic_route(req, head);
		ans->keepalive =
		    (req->flags & HTTP_F_KEEPALIVE) && !http09 && !(req->flags & HTTP_F_CHUNKED);
	}
	ans->lingering = !ans->keepalive;
	struct mimic_reply r = {.head_only = req && req->method == HTTP_M_HEAD,
				.keepalive = ans->keepalive};
	if (code == 200) {
		r.line = "200 OK";
		r.index = true;
		r.body = mimic_index_html;
		r.body_len = mimic_index_len;
	} else {
		const struct mimic_status *s = mimic_find(code);
		r.line = s->line;
		r.body = body;
		r.body_len = mimic_body(body, sizeof(body), s);
	}
	if (http09) { /* HTTP/0.9: the bare body */
		ans->len = mimic_put(out, 0, r.body, r.body_len);
		return;
	}
	r.gzip = (code == 200 || code == 404) && mimic_gzip_ok(req, head);
	ans->len = mimic_emit(out, &r, date);
}
