/* The HTTP server wrapper: see httpd.h. */
#include "api/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/errbuf.h"

#define LISTEN_BACKLOG	   64
#define LIMITER_ENTRIES	   4096
#define CONTENT_TYPE_JSON  "application/json"
#define MHD_MEMORY_LIMIT   (32 * 1024) /* request line and headers (MHD answers 431/414 beyond) */
#define CONTENT_LENGTH_MAX 20	       /* digits */
/* Bytes over the bound read and dropped before a 413 (see announced_body) */
#define HTTPD_DISCARD_MAX (1024 * 1024)

/* One request being read. */
struct req {
	uint8_t *body;
	size_t len, cap;
	bool too_big;	/* over the bound: the rest is dropped, the answer is 413 */
	size_t dropped; /* bytes dropped so far */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* ---- JSON error bodies ---- */

static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

void httpd_error(struct httpd_response *res, unsigned status, const char *code, const char *reason)
{
	char c[128], r[512];
	char *body;
	int n;

	json_escape(c, sizeof(c), code);
	json_escape(r, sizeof(r), reason);
	free(res->body);
	*res = (struct httpd_response){.status = status};
	n = asprintf(&body, "{\"error\":{\"code\":\"%s\",\"reason\":\"%s\"}}\n", c, r);
	if (n < 0)
		return; /* an empty 'status' answer */
	res->body = body;
	res->len = (size_t)n;
}

/* ---- answering ---- */

static enum MHD_Result send_response(struct MHD_Connection *conn, struct httpd_response *res,
				     const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	if (res->status == 0)
		httpd_error(res, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
			    "the handler gave no answer");
	r = MHD_create_response_from_buffer(res->len, res->body ? res->body : (char *)"",
					    res->body ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(res->body);
		return MHD_NO; /* MHD closes the connection */
	}
	res->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				res->content_type ? res->content_type : CONTENT_TYPE_JSON);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ok = MHD_queue_response(conn, res->status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
				  const char *reason, const char *allow)
{
	struct httpd_response res = {0};

	httpd_error(&res, status, code, reason);
	return send_response(conn, &res, allow);
}

/* ---- routing ---- */

static bool prefix_matches(const char *prefix, const char *path, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(prefix, path, n) != 0)
		return false;
	if (path[n] != '\0' && path[n] != '/' && !(n > 0 && prefix[n - 1] == '/'))
		return false;
	*rest = path + n;
	return true;
}

/* The route for method and path; NULL with *allow listing the methods the
 * path has ("" if none: 404). */
static const struct httpd_route *route_find(const struct httpd *h, const char *method,
					    const char *path, const char **rest, char *allow,
					    size_t allow_len)
{
	size_t used = 0;

	allow[0] = '\0';
	for (size_t i = 0; i < h->cfg.n_routes; i++) {
		const struct httpd_route *r = &h->cfg.routes[i];
		const char *tail;
		if (!prefix_matches(r->prefix, path, &tail))
			continue;
		if (strcmp(r->method, method) == 0) {
			*rest = tail;
			return r;
		}
		if (!strstr(allow, r->method) && used + strlen(r->method) + 3 < allow_len)
			used += (size_t)snprintf(allow + used, allow_len - used, "%s%s",
						 used ? ", " : "", r->method);
	}
	return NULL;
}

/* ---- the request bound and rate ---- */

/* The limiter's key: the IPv4 address (also when mapped into IPv6), the
 * IPv6 address (limited per /64), or one key for every local caller of
 * the Unix socket. */
static size_t peer_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(key, a->s6_addr + 12, 4);
			return 4;
		}
		memcpy(key, a->s6_addr, 16);
		return 16;
	}
	memset(key, 0, 4);
	return 4;
}

static const struct sockaddr *peer_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci ? ci->client_addr : NULL;
}

static bool rate_allowed(struct httpd *h, struct MHD_Connection *conn)
{
	uint8_t key[16];
	size_t len;

	if (!h->limiter_on)
		return true;
	len = peer_key(peer_of(conn), key);
	return ratelimit_allow(&h->limiter, key, len, now_ns());
}

/* What the head says of a body over the bound. */
enum announced { BODY_FITS, BODY_DISCARD, BODY_REFUSE };

/* A body announced over the bound is refused before it is read when the
 * client waits for it (Expect: 100-continue) or when it is very large;
 * otherwise it is read and dropped first, up to HTTPD_DISCARD_MAX: a
 * server that answers and closes while the client is still sending makes
 * the kernel reset the connection, and the client may lose the answer. */
static enum announced announced_body(const struct httpd *h, struct MHD_Connection *conn)
{
	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	char *end;
	unsigned long long v;

	if (!cl)
		return BODY_FITS; /* chunked: counted as it comes */
	if (strlen(cl) > CONTENT_LENGTH_MAX)
		return BODY_REFUSE;
	errno = 0;
	v = strtoull(cl, &end, 10);
	if (errno != 0)
		return BODY_REFUSE;
	if (v <= h->cfg.max_body)
		return BODY_FITS;
	if (expect || v - h->cfg.max_body > HTTPD_DISCARD_MAX)
		return BODY_REFUSE;
	return BODY_DISCARD;
}

static void take_body(const struct httpd *h, struct req *rq, const char *data, size_t len)
{
	if (rq->too_big) {
		rq->dropped += len;
		return;
	}
	if (len > h->cfg.max_body - rq->len) {
		rq->too_big = true;
		rq->dropped = rq->len + len;
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
		return;
	}
	if (rq->len + len > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 1024;
		while (cap < rq->len + len)
			cap *= 2;
		if (cap > h->cfg.max_body)
			cap = h->cfg.max_body;
		uint8_t *p = realloc(rq->body, cap);
		if (!p) {
			rq->too_big = true; /* answered as 413: nothing is half-taken */
			return;
		}
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, len);
	rq->len += len;
}

static enum MHD_Result dispatch(struct httpd *h, struct MHD_Connection *conn, const char *method,
				const char *path, struct req *rq)
{
	char allow[128];
	const char *rest = "";
	const struct httpd_route *r = route_find(h, method, path, &rest, allow, sizeof(allow));
	struct httpd_response res = {0};
	struct httpd_request q = {.method = method,
				  .path = path,
				  .rest = rest,
				  .body = rq->body,
				  .body_len = rq->len,
				  .peer = peer_of(conn),
				  .conn = conn};

	if (!r && allow[0]) {
		count(&h->st.bad_method);
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
				  "this path does not take that method", allow);
	}
	if (!r) {
		count(&h->st.not_found);
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such path", NULL);
	}
	count(&h->st.requests);
	r->fn(r->ctx, &q, &res);
	return send_response(conn, &res, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct httpd *h = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) { /* the head is in: decide before any body is read */
		if (!rate_allowed(h, conn)) {
			count(&h->st.limited);
			return send_error(conn, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
					  "too many requests from this address", NULL);
		}
		enum announced a = announced_body(h, conn);
		if (a == BODY_REFUSE) {
			count(&h->st.too_large);
			return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
					  "the request body is over the bound", NULL);
		}
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->too_big = a == BODY_DISCARD; /* read, dropped, then 413 */
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_len) {
		take_body(h, rq, upload, *upload_len);
		*upload_len = 0;
		if (rq->dropped > h->cfg.max_body + HTTPD_DISCARD_MAX) {
			count(&h->st.too_large);
			return MHD_NO; /* a body without end: closed, unanswered */
		}
		return MHD_YES;
	}
	if (rq->too_big) {
		count(&h->st.too_large);
		return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				  "the request body is over the bound", NULL);
	}
	return dispatch(h, conn, method, url, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)why;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* ---- the listening socket ---- */

static int listen_tcp(struct httpd *h, char *err, size_t err_len)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int one = 1, zero = 0;
	const char *a = h->cfg.address;

	if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(h->cfg.port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(h->cfg.port);
		len = sizeof(*in6);
	} else {
		return errbuf_set(err, err_len, -EINVAL,
				  "'%s' is not a numeric IPv4 or IPv6 address", a);
	}
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		return errbuf_set(err, err_len, -errno, "socket: %s", strerror(errno));
	(void)setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* "::" takes IPv4 too */
		(void)setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(h->fd, (struct sockaddr *)&ss, len) < 0)
		return errbuf_set(err, err_len, -errno, "bind %s port %u: %s", a, h->cfg.port,
				  strerror(errno));
	if (listen(h->fd, LISTEN_BACKLOG) < 0)
		return errbuf_set(err, err_len, -errno, "listen: %s", strerror(errno));
	return 0;
}

/* A socket file at path: a live server's (refused), a dead one's (removed:
 * nothing accepts on it), or something else (refused, never removed). */
static int clear_stale(const char *path, char *err, size_t err_len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT
			   ? 0
			   : errbuf_set(err, err_len, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return errbuf_set(err, err_len, -EEXIST,
				  "%s exists and is not a socket: not removed", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errbuf_set(err, err_len, -errno, "socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	r = r == 0 ? -EADDRINUSE : -errno;
	close(fd);
	if (r == -EADDRINUSE)
		return errbuf_set(err, err_len, r, "%s: a running server listens there", path);
	if (r != -ECONNREFUSED)
		return errbuf_set(err, err_len, r, "%s: %s", path, strerror(-r));
	if (unlink(path) < 0 && errno != ENOENT)
		return errbuf_set(err, err_len, -errno, "cannot remove stale %s: %s", path,
				  strerror(errno));
	return 0;
}

static int listen_unix(struct httpd *h, char *err, size_t err_len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = h->cfg.unix_path;
	size_t n = strlen(path);
	int r;

	if (n == 0 || n >= sizeof(sun.sun_path) || n >= sizeof(h->unix_path))
		return errbuf_set(err, err_len, -ENAMETOOLONG,
				  "socket path '%s' is empty or too long", path);
	r = clear_stale(path, err, err_len);
	if (r < 0)
		return r;
	memcpy(sun.sun_path, path, n + 1);
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		return errbuf_set(err, err_len, -errno, "socket: %s", strerror(errno));
	if (bind(h->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return errbuf_set(err, err_len, -errno, "bind %s: %s", path, strerror(errno));
	memcpy(h->unix_path, path, n + 1);
	/* the mode is set before listen: nobody can connect in between */
	if (chmod(path, h->cfg.unix_mode) < 0)
		return errbuf_set(err, err_len, -errno, "chmod %s: %s", path, strerror(errno));
	if (listen(h->fd, LISTEN_BACKLOG) < 0)
		return errbuf_set(err, err_len, -errno, "listen: %s", strerror(errno));
	return 0;
}

int httpd_listen(struct httpd *h, const struct httpd_config *cfg, char *err, size_t err_len)
{
	int r;

	*h = (struct httpd){.cfg = *cfg, .fd = -1};
	if (cfg->per_ip_per_s) {
		r = ratelimit_init(&h->limiter, LIMITER_ENTRIES, cfg->per_ip_per_s,
				   cfg->burst ? cfg->burst : 1, (uint64_t)now_ns());
		if (r < 0)
			return errbuf_set(err, err_len, r, "rate limiter: %s", strerror(-r));
		h->limiter_on = true;
	}
	r = cfg->unix_path ? listen_unix(h, err, err_len) : listen_tcp(h, err, err_len);
	if (r < 0)
		httpd_stop(h);
	return r;
}

uint16_t httpd_port(const struct httpd *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = h->fd;

	if (h->mhd) {
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
		return di ? di->port : 0;
	}
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int httpd_start(struct httpd *h)
{
	/* epoll in libmicrohttpd's own thread; the inter-thread channel
	 * (an eventfd) lets httpd_stop wake it */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;

	if (h->fd < 0)
		return -EBADF;
	h->mhd =
	    MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->cfg.max_connections,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->cfg.timeout_s,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MHD_MEMORY_LIMIT,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (!h->mhd)
		return -EIO;
	h->fd = -1; /* libmicrohttpd's now: MHD_stop_daemon closes it */
	return 0;
}

void httpd_stop(struct httpd *h)
{
	if (h->mhd) {
		MHD_stop_daemon(h->mhd); /* joins its thread, closes the listening socket */
		h->mhd = NULL;
	}
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	if (h->unix_path[0]) {
		(void)unlink(h->unix_path);
		h->unix_path[0] = '\0';
	}
	if (h->limiter_on) {
		ratelimit_done(&h->limiter);
		h->limiter_on = false;
	}
}

void httpd_stats(const struct httpd *h, struct httpd_stats *out)
{
	const uint64_t *src = (const uint64_t *)&h->st;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const char *httpd_header(const struct httpd_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_query(const struct httpd_request *req, const char *name)
{
	const char *v;

	if (!MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
					   NULL))
		return NULL;
	return v ? v : "";
}
