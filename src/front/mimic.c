/* The nginx 1.22.1 mimic (mimic.h). Status lines, header order and error
 * page bodies were measured against Debian 12's nginx (tests/e2e/
 * front_parity.sh compares them byte for byte, Date aside). */
#include "front/mimic.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

static size_t mimic_headers(uint8_t *out, const char *line, const char *date, size_t clen,
			    bool keepalive, bool index)
{
	char h[512];
	int n;
	if (index) {
		char lm[32];
		mimic_http_date(lm, MIMIC_INDEX_MTIME);
		n = snprintf(h, sizeof(h),
			     "HTTP/1.1 %s\r\nServer: nginx/1.22.1\r\nDate: %s\r\n"
			     "Content-Type: text/html\r\nContent-Length: %zu\r\n"
			     "Last-Modified: %s\r\nConnection: %s\r\nETag: \"%llx-%zx\"\r\n"
			     "Accept-Ranges: bytes\r\n\r\n",
			     line, date, clen, lm, keepalive ? "keep-alive" : "close",
			     (unsigned long long)MIMIC_INDEX_MTIME, clen);
	} else {
		n = snprintf(
		    h, sizeof(h),
		    "HTTP/1.1 %s\r\nServer: nginx/1.22.1\r\nDate: %s\r\n"
		    "Content-Type: text/html\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
		    line, date, clen, keepalive ? "keep-alive" : "close");
	}
	return mimic_put(out, 0, h, n < 0 ? 0 : (size_t)n);
}

/* What the default site answers a complete, accepted head. */
static int mimic_route(const struct http_request *req, const uint8_t *head)
{
	int exists = mimic_path_is_index(head + req->target.off, req->target.len);
	if (req->method == HTTP_M_GET || req->method == HTTP_M_HEAD)
		return exists ? 200 : 404;
	return exists ? 405 : 404;
}

void mimic_answer(uint8_t *out, const struct http_request *req, const uint8_t *head, int status,
		  uint64_t unix_s, struct mimic_answer *ans)
{
	char date[32];
	char body[512];
	mimic_http_date(date, unix_s);
	memset(ans, 0, sizeof(*ans));
	bool http09 = req && (req->flags & HTTP_F_HTTP09);
	bool head_only = req && req->method == HTTP_M_HEAD;
	int code = status;
	if (status == 0) {
		code = mimic_route(req, head);
		ans->keepalive =
		    (req->flags & HTTP_F_KEEPALIVE) && !http09 && !(req->flags & HTTP_F_CHUNKED);
	}
	ans->lingering = !ans->keepalive;
	if (code == 200) {
		size_t at = 0;
		if (!http09)
			at = mimic_headers(out, "200 OK", date, mimic_index_len, ans->keepalive,
					   true);
		if (!head_only || http09)
			at = mimic_put(out, at, mimic_index_html, mimic_index_len);
		ans->len = at;
		return;
	}
	const struct mimic_status *s = mimic_find(code);
	size_t blen = mimic_body(body, sizeof(body), s);
	size_t at = 0;
	if (!http09)
		at = mimic_headers(out, s->line, date, blen, ans->keepalive, false);
	if (!head_only || http09)
		at = mimic_put(out, at, body, blen);
	ans->len = at;
}
