/* lostlove-admin's HTTP client; see uclient.h. */
#include "admin/uclient.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void uclient_resp_free(struct uclient_resp *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* The end of the line starting at p (the CR of its CRLF, or of a bare
 * LF), or NULL if no line end comes before end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return NULL;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

static const char *next_line(const char *eol, const char *end)
{
	return *eol == '\r' && eol + 1 < end ? eol + 2 : eol + 1;
}

/* Decimal, at most 18 digits, nothing else. -1 if not. */
static int64_t parse_dec(const char *p, const char *end)
{
	int64_t v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end || end - p > 18)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static int64_t parse_hex(const char *p, const char *end)
{
	int64_t v = 0;
	int n = 0;

	for (; p < end && *p != ';'; p++, n++) {
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
						 : -1;
		if (d < 0 || n >= 15)
			return -1;
		v = v * 16 + d;
	}
	return n ? v : -1;
}

struct head {
	int status;
	int64_t content_length; /* -1: none */
	bool chunked;
	char content_type[64];
};

static bool header_is(const char *p, const char *colon, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(colon - p) == n && strncasecmp(p, name, n) == 0;
}

static int parse_header(struct head *h, const char *p, const char *eol)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p)), *v;

	if (!colon || colon == p)
		return -EBADMSG;
	v = colon + 1;
	while (v < eol && (*v == ' ' || *v == '\t'))
		v++;
	if (header_is(p, colon, "content-length")) {
		int64_t n = parse_dec(v, eol);
		if (n < 0 || (h->content_length >= 0 && n != h->content_length))
			return -EBADMSG;
		h->content_length = n;
	} else if (header_is(p, colon, "transfer-encoding")) {
		h->chunked = (size_t)(eol - v) >= 7 && strncasecmp(eol - 7, "chunked", 7) == 0;
		if (!h->chunked)
			return -EBADMSG;
	} else if (header_is(p, colon, "content-type")) {
		size_t n = (size_t)(eol - v);
		if (n >= sizeof(h->content_type))
			n = sizeof(h->content_type) - 1;
		memcpy(h->content_type, v, n);
		h->content_type[n] = '\0';
	}
	return 0;
}

/* Status line and headers; *body_at the first byte after them. */
static int parse_head(const char *buf, const char *end, struct head *h, const char **body_at)
{
	const char *p = buf, *eol = line_end(p, end);
	int r;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ')
		return -EBADMSG;
	h->status = (int)parse_dec(p + 9, p + 12);
	if (h->status < 100 || h->status > 599 || (eol > p + 12 && p[12] != ' '))
		return -EBADMSG;
	for (p = next_line(eol, end);; p = next_line(eol, end)) {
		if (p >= end || !(eol = line_end(p, end)))
			return -EBADMSG;
		if (eol == p)
			break;
		if ((r = parse_header(h, p, eol)) < 0)
			return r;
	}
	*body_at = next_line(eol, end);
	return 0;
}

static int take_body(struct uclient_resp *ret, const char *p, size_t n)
{
	ret->body = malloc(n + 1);
	if (!ret->body)
		return -ENOMEM;
	memcpy(ret->body, p, n);
	ret->body[n] = '\0';
	ret->len = n;
	return 0;
}

/* Decodes chunks into a fresh buffer. */
static int dechunk(struct uclient_resp *ret, const char *p, const char *end)
{
	char *out = malloc((size_t)(end - p) + 1);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (;;) {
		const char *eol = line_end(p, end);
		int64_t size = eol ? parse_hex(p, eol) : -1;
		if (size < 0 || (p = next_line(eol, end)) > end || size > end - p)
			goto bad;
		if (size == 0)
			break; /* trailers, if any, are ignored */
		memcpy(out + n, p, (size_t)size);
		n += (size_t)size;
		p += size;
		eol = line_end(p, end);
		if (eol != p)
			goto bad;
		p = next_line(eol, end);
	}
	out[n] = '\0';
	ret->body = out;
	ret->len = n;
	return 0;
bad:
	free(out);
	return -EBADMSG;
}

int uclient_parse(const char *buf, size_t len, struct uclient_resp *ret)
{
	const char *end = buf + len, *body;
	struct head h;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_head(buf, end, &h, &body);
	if (r < 0)
		return r;
	if (body > end)
		body = end;
	ret->status = h.status;
	memcpy(ret->content_type, h.content_type, sizeof(ret->content_type));
	if (h.chunked)
		return dechunk(ret, body, end);
	if (h.content_length >= 0 && h.content_length != end - body)
		return -EBADMSG; /* cut short, or trailing bytes */
	return take_body(ret, body, (size_t)(end - body));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	uint64_t now = now_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, char **ret, size_t *ret_len, uint64_t deadline)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got;
		if (n == cap) {
			char *nb = cap >= UCLIENT_RESPONSE_MAX ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				r = cap >= UCLIENT_RESPONSE_MAX ? -EMSGSIZE : -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (got == 0)
			break;
		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
				break;
			continue;
		}
		if (got < 0) {
			r = -errno;
			break;
		}
		n += (size_t)got;
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int uclient_request(const char *path, const char *method, const char *target, const char *body,
		    size_t body_len, unsigned timeout_ms, struct uclient_resp *ret)
{
	uint64_t deadline = now_ms() + timeout_ms;
	char head[1024], *raw = NULL;
	size_t raw_len = 0;
	int fd, n, r;

	memset(ret, 0, sizeof(*ret));
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lostlove-admin\r\n"
		     "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
		     method, target, body_len ? "Content-Type: application/json\r\n" : "",
		     body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	fd = connect_unix(path);
	if (fd < 0)
		return fd;
	r = send_all(fd, head, (size_t)n, deadline);
	if (r == 0 && body_len)
		r = send_all(fd, body, body_len, deadline);
	if (r == 0)
		r = read_all(fd, &raw, &raw_len, deadline);
	close(fd);
	if (r == 0)
		r = uclient_parse(raw, raw_len, ret);
	free(raw);
	return r;
}
