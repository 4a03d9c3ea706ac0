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
    {412, "412 Precondition Failed", "412 Precondition Failed", NULL},
    {414, "414 Request-URI Too Large", "414 Request-URI Too Large", NULL},
    {416, "416 Requested Range Not Satisfiable", "416 Requested Range Not Satisfiable", NULL},
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
	size_t i = http_target_path(t, n);
	if (i >= n && n)
		return 1; /* no path: "/" */
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

int64_t mimic_parse_http_time(const uint8_t *v, size_t len)
{
	static const unsigned mday[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	enum { RFC822 = 1, RFC850, ISOC } fmt = 0;
	/* a NUL-padded copy: nginx reads its NUL-terminated value past the
	 * checked lengths in places, and so may this */
	uint8_t b[64] = {0};
	if (len >= sizeof(b) - 8)
		len = sizeof(b) - 8;
	memcpy(b, v, len);
	const uint8_t *p = b, *end = b + len;
	for (; p < end; p++) {
		if (*p == ',')
			break;
		if (*p == ' ') {
			fmt = ISOC;
			break;
		}
	}
	for (p++; p < end && *p == ' '; p++)
		;
	if (end - p < 18)
		return -1;
#define D(c) ((c) >= '0' && (c) <= '9')
	unsigned day = 0, year = 0, hour, min, sec;
	int month;
	if (fmt != ISOC) {
		if (!D(p[0]) || !D(p[1]))
			return -1;
		day = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
		p += 2;
		if (*p == ' ') {
			if (end - p < 18)
				return -1;
			fmt = RFC822;
		} else if (*p == '-') {
			fmt = RFC850;
		} else {
			return -1;
		}
		p++;
	}
	switch (*p) {
	case 'J':
		month = p[1] == 'a' ? 0 : p[2] == 'n' ? 5 : 6;
		break;
	case 'F':
		month = 1;
		break;
	case 'M':
		month = p[2] == 'r' ? 2 : 4;
		break;
	case 'A':
		month = p[1] == 'p' ? 3 : 7;
		break;
	case 'S':
		month = 8;
		break;
	case 'O':
		month = 9;
		break;
	case 'N':
		month = 10;
		break;
	case 'D':
		month = 11;
		break;
	default:
		return -1;
	}
	p += 3;
	if ((fmt == RFC822 && *p != ' ') || (fmt == RFC850 && *p != '-'))
		return -1;
	p++;
	if (fmt == RFC822) {
		if (!D(p[0]) || !D(p[1]) || !D(p[2]) || !D(p[3]))
			return -1;
		year = (unsigned)(p[0] - '0') * 1000 + (unsigned)(p[1] - '0') * 100 +
		       (unsigned)(p[2] - '0') * 10 + (unsigned)(p[3] - '0');
		p += 4;
	} else if (fmt == RFC850) {
		if (!D(p[0]) || !D(p[1]))
			return -1;
		year = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
		year += year < 70 ? 2000 : 1900;
		p += 2;
	}
	if (fmt == ISOC) {
		if (*p == ' ')
			p++;
		if (!D(*p))
			return -1;
		day = (unsigned)(*p++ - '0');
		if (*p != ' ') {
			if (!D(*p))
				return -1;
			day = day * 10 + (unsigned)(*p++ - '0');
		}
		if (end - p < 14)
			return -1;
	}
	if (*p++ != ' ' || !D(p[0]) || !D(p[1]))
		return -1;
	hour = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	p += 2;
	if (*p++ != ':' || !D(p[0]) || !D(p[1]))
		return -1;
	min = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	p += 2;
	if (*p++ != ':' || !D(p[0]) || !D(p[1]))
		return -1;
	sec = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	if (fmt == ISOC) {
		p += 2;
		if (*p++ != ' ' || !D(p[0]) || !D(p[1]) || !D(p[2]) || !D(p[3]))
			return -1;
		year = (unsigned)(p[0] - '0') * 1000 + (unsigned)(p[1] - '0') * 100 +
		       (unsigned)(p[2] - '0') * 10 + (unsigned)(p[3] - '0');
	}
#undef D
	if (hour > 23 || min > 59 || sec > 59)
		return -1;
	if (day == 29 && month == 1) {
		if ((year & 3) || (year % 100 == 0 && year % 400 != 0))
			return -1;
	} else if (day > mday[month]) {
		return -1;
	}
	/* Gauss' formula from March 1, 1 BC, as nginx */
	if (--month <= 0) {
		month += 12;
		year -= 1;
	}
	uint64_t days = 365ull * year + year / 4 - year / 100 + year / 400 +
			(uint64_t)(367 * month / 12) - 30 + day - 1;
	return (int64_t)((days - 719527 + 31 + 28) * 86400 + hour * 3600 + min * 60 + sec);
}

static bool mimic_header(const struct http_request *req, const uint8_t *head, const char *name,
			 struct http_span *v)
{
	return http_find_header(req, head, name, v) == 0;
}

static const char mimic_etag[] = "\"648b2d9c-267\""; /* MIMIC_INDEX_MTIME - index length */

/* nginx's ngx_http_test_if_match: "*", or a list holding the ETag (weak
 * comparison for If-None-Match). */
static bool mimic_etag_match(const uint8_t *v, size_t len, bool weak)
{
	if (len == 1 && v[0] == '*')
		return true;
	const uint8_t *start = v, *end = v + len;
	size_t el = sizeof(mimic_etag) - 1;
	while (start < end) {
		if (weak && end - start > 2 && start[0] == 'W' && start[1] == '/')
			start += 2;
		if (el > (size_t)(end - start))
			return false;
		if (memcmp(start, mimic_etag, el) == 0) {
			start += el;
			while (start < end && (*start == ' ' || *start == '\t'))
				start++;
			if (start == end || *start == ',')
				return true;
		}
		while (start < end && *start != ',')
			start++;
		while (start < end && (*start == ' ' || *start == '\t' || *start == ','))
			start++;
	}
	return false;
}

/* nginx's not_modified filter on a 200: 412, 304 or 0 (serve). */
static int mimic_conditional(const struct http_request *req, const uint8_t *head)
{
	struct http_span v;
	if (mimic_header(req, head, "if-unmodified-since", &v) &&
	    !(mimic_parse_http_time(head + v.off, v.len) >= MIMIC_INDEX_MTIME))
		return 412;
	if (mimic_header(req, head, "if-match", &v) &&
	    !mimic_etag_match(head + v.off, v.len, false))
		return 412;
	struct http_span ims, inm;
	bool has_ims = mimic_header(req, head, "if-modified-since", &ims);
	bool has_inm = mimic_header(req, head, "if-none-match", &inm);
	if (!has_ims && !has_inm)
		return 0;
	if (has_ims && mimic_parse_http_time(head + ims.off, ims.len) != MIMIC_INDEX_MTIME)
		return 0; /* if_modified_since exact */
	if (has_inm && !mimic_etag_match(head + inm.off, inm.len, true))
		return 0;
	return 304;
}

#define MIMIC_RANGES_MAX 256

struct mimic_range {
	size_t start, end; /* [start, end) */
};

/* nginx's ngx_http_range_parse over a body of n bytes: the ranges (> 0),
 * 0 to serve the whole body (declined), -1 for 416. */
static int mimic_ranges(const uint8_t *v, size_t len, size_t n, struct mimic_range *r)
{
	char b[8200];
	if (len - 6 >= sizeof(b))
		return 0; /* more ranges than this mimic answers: served whole */
	memcpy(b, v + 6, len - 6);
	b[len - 6] = '\0';
	const char *p = b;
	int count = 0;
	uint64_t size = 0;
	const uint64_t cutoff = INT64_MAX / 10, cutlim = INT64_MAX % 10;
	for (;;) {
		uint64_t start = 0, end = 0;
		bool suffix = false;
		while (*p == ' ')
			p++;
		if (*p != '-') {
			if (*p < '0' || *p > '9')
				return -1;
			while (*p >= '0' && *p <= '9') {
				if (start >= cutoff &&
				    (start > cutoff || (uint64_t)(*p - '0') > cutlim))
					return -1;
				start = start * 10 + (uint64_t)(*p++ - '0');
			}
			while (*p == ' ')
				p++;
			if (*p++ != '-')
				return -1;
			while (*p == ' ')
				p++;
			if (*p == ',' || *p == '\0') {
				end = n;
				goto found;
			}
		} else {
			suffix = true;
			p++;
		}
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (end >= cutoff && (end > cutoff || (uint64_t)(*p - '0') > cutlim))
				return -1;
			end = end * 10 + (uint64_t)(*p++ - '0');
		}
		while (*p == ' ')
			p++;
		if (*p != ',' && *p != '\0')
			return -1;
		if (suffix) {
			start = end < n ? n - end : 0;
			end = n - 1;
		}
		end = end >= n ? n : end + 1;
	found:
		if (start < end) {
			if (count == MIMIC_RANGES_MAX)
				return 0;
			r[count++] = (struct mimic_range){(size_t)start, (size_t)end};
			size += end - start;
		} else if (start == 0) {
			return 0;
		}
		if (*p++ != ',')
			break;
	}
	if (count == 0)
		return -1;
	return size > n ? 0 : count;
}

struct mimic_reply {
	const char *line; /* status line text */
	int code;
	bool index; /* the index page: Last-Modified, ETag */
	bool gzip;
	bool head_only;
	bool keepalive;
	const void *body;
	size_t body_len;
	const char *ctype;  /* Content-Type, "text/html" unless multipart */
	char crange[64];    /* Content-Range header value, or "" */
	char ctype_buf[80]; /* a multipart Content-Type */
	char err_body[512]; /* the 416 page */
	bool accept_ranges; /* "Accept-Ranges: bytes" (range filter passed) */
};

#define H(...) (n += snprintf(h + n, sizeof(h) - (size_t)n, __VA_ARGS__))

/* Headers in nginx's order (ngx_http_header_filter's fixed ones, then the
 * list in the order the filters pushed: ETag, Accept-Ranges or
 * Content-Range, Content-Encoding), then the body as nginx sends it. */
static size_t mimic_emit(uint8_t *out, const struct mimic_reply *r, const char *date)
{
	char h[768];
	uint8_t gz[1024];
	size_t gzlen = 0;
	int n = 0;
	H("HTTP/1.1 %s\r\nServer: nginx/1.22.1\r\nDate: %s\r\n", r->line, date);
	bool gzip = r->gzip && (gzlen = mimic_gzip(r->body, r->body_len, gz, sizeof(gz))) > 0;
	if (r->code != 304)
		H("Content-Type: %s\r\n", r->ctype ? r->ctype : "text/html");
	if (!gzip && r->code != 304)
		H("Content-Length: %zu\r\n", r->body_len);
	if (r->index) {
		char lm[32];
		mimic_http_date(lm, MIMIC_INDEX_MTIME);
		H("Last-Modified: %s\r\n", lm);
	}
	if (gzip && !r->head_only)
		H("Transfer-Encoding: chunked\r\n");
	H("Connection: %s\r\n", r->keepalive ? "keep-alive" : "close");
	if (r->index)
		H("ETag: %s%s\r\n", gzip ? "W/" : "", mimic_etag);
	if (r->accept_ranges && !gzip)
		H("Accept-Ranges: bytes\r\n");
	if (r->crange[0])
		H("Content-Range: %s\r\n", r->crange);
	if (gzip)
		H("Content-Encoding: gzip\r\n");
	H("\r\n");
	size_t at = mimic_put(out, 0, h, n < 0 ? 0 : (size_t)n);
	if (r->head_only || r->code == 304)
		return at;
	if (!gzip)
		return mimic_put(out, at, r->body, r->body_len);
	/* one chunk: nginx's gzip output fits one buffer */
	n = snprintf(h, sizeof(h), "%zx\r\n", gzlen);
	at = mimic_put(out, at, h, (size_t)n);
	at = mimic_put(out, at, (const char *)gz, gzlen);
	return mimic_put(out, at, "\r\n0\r\n\r\n", 7);
}
#undef H

/* nginx's range filter on a 200 of the index (not gzipped, HTTP/1.0+):
 * 206 with one range or a multipart body, 416, or the whole page with
 * Accept-Ranges. mp holds the multipart body. */
static void mimic_apply_range(const struct http_request *req, const uint8_t *head,
			      struct mimic_reply *r, uint8_t *mp, size_t mpcap, uint64_t *boundary)
{
	struct http_span v, ir;
	r->accept_ranges = true;
	if (!mimic_header(req, head, "range", &v) || v.len < 7 ||
	    strncasecmp((const char *)head + v.off, "bytes=", 6) != 0)
		return;
	if (mimic_header(req, head, "if-range", &ir)) {
		const uint8_t *x = head + ir.off;
		if (ir.len >= 2 && x[ir.len - 1] == '"') {
			if (ir.len != sizeof(mimic_etag) - 1 || memcmp(x, mimic_etag, ir.len) != 0)
				return;
		} else if (mimic_parse_http_time(x, ir.len) != MIMIC_INDEX_MTIME) {
			return;
		}
	}
	struct mimic_range rg[MIMIC_RANGES_MAX];
	int k = mimic_ranges(head + v.off, v.len, r->body_len, rg);
	if (k == 0)
		return;
	r->accept_ranges = false;
	if (k < 0) {
		const struct mimic_status *s = mimic_find(416);
		r->code = 416;
		r->line = s->line;
		r->index = false;
		r->body = r->err_body;
		r->body_len = mimic_body(r->err_body, sizeof(r->err_body), s);
		snprintf(r->crange, sizeof(r->crange), "bytes */%zu", mimic_index_len);
		return;
	}
	r->code = 206;
	r->line = "206 Partial Content";
	const uint8_t *src = r->body;
	if (k == 1) {
		snprintf(r->crange, sizeof(r->crange), "bytes %zu-%zu/%zu", rg[0].start,
			 rg[0].end - 1, mimic_index_len);
		r->body = src + rg[0].start;
		r->body_len = rg[0].end - rg[0].start;
		return;
	}
	uint64_t b = ++*boundary;
	size_t at = 0;
	for (int i = 0; i < k; i++) {
		int n =
		    snprintf((char *)mp + at, mpcap - at,
			     "\r\n--%020llu\r\nContent-Type: text/html\r\n"
			     "Content-Range: bytes %zu-%zu/%zu\r\n\r\n",
			     (unsigned long long)b, rg[i].start, rg[i].end - 1, mimic_index_len);
		if (n < 0 || at + (size_t)n + (rg[i].end - rg[i].start) + 64 > mpcap)
			goto whole;
		at += (size_t)n;
		memcpy(mp + at, src + rg[i].start, rg[i].end - rg[i].start);
		at += rg[i].end - rg[i].start;
	}
	at += (size_t)snprintf((char *)mp + at, mpcap - at, "\r\n--%020llu--\r\n",
			       (unsigned long long)b);
	snprintf(r->ctype_buf, sizeof(r->ctype_buf), "multipart/byteranges; boundary=%020llu",
		 (unsigned long long)b);
	r->ctype = r->ctype_buf;
	r->body = mp;
	r->body_len = at;
	return;
whole:
	/* too many parts for this mimic's buffer: the whole page instead */
	r->code = 200;
	r->line = "200 OK";
	r->accept_ranges = true;
}

void mimic_answer(uint8_t *out, const struct http_request *req, const uint8_t *head, int status,
		  uint64_t unix_s, uint64_t *boundary, struct mimic_answer *ans)
{
	char date[32];
	char body[512];
	uint8_t mp[MIMIC_RESPONSE_MAX - 1024]; /* a multipart body */
	mimic_http_date(date, unix_s);
	memset(ans, 0, sizeof(*ans));
	bool http09 = req && (req->flags & HTTP_F_HTTP09);
	int code = status;
	if (status == 0) {
		code = mimic_route(req, head);
		ans->keepalive =
		    (req->flags & HTTP_F_KEEPALIVE) && !http09 && !(req->flags & HTTP_F_CHUNKED);
		if (code == 200 && !http09) {
			int c = mimic_conditional(req, head);
			code = c ? c : code;
		}
	}
	ans->lingering = !ans->keepalive;
	struct mimic_reply r = {.code = code,
				.head_only = req && req->method == HTTP_M_HEAD,
				.keepalive = ans->keepalive};
	/* measured: a 412 says keep-alive, and nginx closes all the same (a
	 * 416 keeps the connection) */
	if (code == 412)
		ans->keepalive = false;
	if (code == 200 || code == 304) {
		r.line = code == 200 ? "200 OK" : "304 Not Modified";
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
	if (code == 200 && !r.gzip)
		mimic_apply_range(req, head, &r, mp, sizeof(mp), boundary);
	ans->len = mimic_emit(out, &r, date);
}
