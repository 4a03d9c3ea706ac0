/* A small HTTP server over libmicrohttpd for /metrics and the admin API.
 *
 * What it adds to libmicrohttpd: a listening socket the caller opens while
 * it still has privileges (a TCP address and port, or a Unix socket path
 * with a file mode; a stale socket file left by a dead server is removed,
 * a live one or any other file is not), a route table (method and path
 * prefix to a handler), the request body gathered up to a hard bound
 * (413 beyond it: at once, from the head, for a client that waits for
 * "100 Continue" or announces more than 1 MiB over the bound; otherwise
 * after reading and dropping the rest, so that the client, still
 * sending, is not reset before it reads the answer; a body without a
 * length that goes 1 MiB past the bound is cut: the connection is
 * closed), a per-IP request rate bound (429), the connection limit
 * (past it, connections wait in the listen backlog until one ends) and
 * the per-connection idle timeout, and JSON error bodies
 * {"error":{"code":"...","reason":"..."}} for 404, 405, 413, 429 and 500.
 *
 * Threads. One thread of its own (libmicrohttpd's internal polling thread
 * over epoll) accepts, reads and answers every connection; handlers run on
 * it. One thread rather than one per connection: the connection limit
 * bounds memory, not threads, and a scrape or an admin call is short. A
 * handler must not block for long (it delays the other connections), and
 * it never runs on a data-plane worker: whatever it reads from the data
 * plane it reads without locks the workers take.
 *
 * Order of use in a daemon: httpd_listen (as root, before the sandbox:
 * the port may be privileged, the socket file's directory root's),
 * httpd_start after the sandbox (it starts a thread, and the privilege
 * drop needs a single thread), httpd_stop at shutdown. */
#ifndef LL_API_HTTPD_H
#define LL_API_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/ratelimit.h"

struct MHD_Daemon;
struct MHD_Connection;

struct httpd_request {
	const char *method;
	const char *path; /* decoded, without the query string */
	const char *rest; /* path after the route's prefix ("" or "/...") */
	const uint8_t *body;
	size_t body_len;
	const struct sockaddr *peer; /* AF_UNIX for the Unix socket */
	struct MHD_Connection *conn; /* for httpd_header */
};

/* What a handler answers. body is malloc'd (or NULL) and owned by the
 * server once the handler returns. A handler that leaves status 0 gets a
 * 500. */
struct httpd_response {
	unsigned status;
	const char *content_type; /* a static string; NULL: application/json */
	char *body;
	size_t len;
};

typedef void (*httpd_handler_fn)(void *ctx, const struct httpd_request *req,
				 struct httpd_response *res);

/* A route: method ("GET", ...) and path prefix. A prefix matches the path
 * itself and the paths below it ("/users" matches "/users" and
 * "/users/alice", not "/usersx"). The first route whose prefix and method
 * match is taken; a path some route matches with another method is a 405
 * naming the methods it has (Allow). */
struct httpd_route {
	const char *method;
	const char *prefix;
	httpd_handler_fn fn;
	void *ctx;
};

struct httpd_config {
	/* TCP: a numeric IPv4/IPv6 address and a port (0: any free one), or,
	 * with unix_path set, a Unix socket there with mode unix_mode */
	const char *address;
	uint16_t port;
	const char *unix_path;
	unsigned unix_mode;
	const struct httpd_route *routes; /* borrowed: live until httpd_stop */
	size_t n_routes;
	size_t max_body;	  /* bytes; larger bodies get 413 */
	unsigned max_connections; /* served at once; more wait in the backlog */
	unsigned timeout_s;	  /* an idle connection is closed after it */
	uint32_t per_ip_per_s;	  /* requests per source address (IPv6 /64) a second; 0: none */
	uint32_t burst;		  /* of that bound */
};

/* Counters (relaxed atomics, any thread). */
struct httpd_stats {
	uint64_t requests;   /* dispatched to a handler */
	uint64_t not_found;  /* 404 */
	uint64_t bad_method; /* 405 */
	uint64_t too_large;  /* 413 */
	uint64_t limited;    /* 429 */
};

struct httpd {
	struct httpd_config cfg;
	char unix_path[108]; /* what httpd_stop removes, "" for none */
	int fd;		     /* the listening socket until httpd_start hands it over */
	struct MHD_Daemon *mhd;
	struct ratelimit limiter;
	bool limiter_on;
	struct httpd_stats st;
};

/* Opens, binds and listens (no thread). 0, or a negative errno with a
 * message in err. */
int httpd_listen(struct httpd *h, const struct httpd_config *cfg, char *err, size_t err_len);
/* The bound TCP port (after httpd_listen). */
uint16_t httpd_port(const struct httpd *h);
/* Starts the server's thread. 0 or a negative errno. */
int httpd_start(struct httpd *h);
/* Stops the thread, closes the socket, removes the socket file. Safe on
 * a zeroed struct and after a failed listen. */
void httpd_stop(struct httpd *h);
void httpd_stats(const struct httpd *h, struct httpd_stats *out);

/* A header of the request, or NULL. */
const char *httpd_header(const struct httpd_request *req, const char *name);
/* An argument of the query string (decoded; "" for "?name"), or NULL. */
const char *httpd_query(const struct httpd_request *req, const char *name);
/* Fills res with a JSON error body {"error":{"code":..,"reason":..}}
 * (strings escaped). */
void httpd_error(struct httpd_response *res, unsigned status, const char *code, const char *reason);

#endif
