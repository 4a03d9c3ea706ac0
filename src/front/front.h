/* The TCP front: what lostlove-server shows on TCP (protocol = "tcp" or
 * "both") to anyone, client or not.
 *
 * The front owns the listening socket, accepting, the PROXY v2 header (when
 * configured), TLS 1.3/1.2 configured as Debian's nginx 1.22 (or plain HTTP
 * behind a CDN), reading the HTTP/1.1 request head with nginx's limits, and
 * everything a non-client sees: the byte-for-byte proxy to fallback_site or
 * the built-in nginx mimic (docs/obfuscation.md, "TLS front").
 *
 * Threads: the front runs its own thread with its own event loop
 * (io/loop.h). TLS handshakes cost a signature each; on the control thread
 * they would delay handshakes, timers and reloads, and on a data-plane
 * worker they would delay packets. Every callback below runs on the front
 * thread, and every front_conn_* function must be called there;
 * front_post() is the one way in from another thread.
 *
 * The tunnel (the wstunnel part) plugs in with one callback: once a
 * complete request head is a WebSocket upgrade (GET, "Upgrade: websocket",
 * Connection containing "upgrade", "Sec-WebSocket-Version: 13", a
 * Sec-WebSocket-Key) the front calls the upgrade callback. It returns
 *   FRONT_ADOPT    the callback owns the connection now: it reads and
 *                  writes with front_conn_read/write (the 101, then frames;
 *                  ws.h is the codec), learns readiness through
 *                  front_conn_set_io, and ends it with front_conn_close or
 *                  front_conn_abort; or, as long as it has written nothing,
 *                  front_conn_decline (e.g. after an asynchronous "no").
 *   FRONT_DECLINE  the connection goes to the fallback / mimic with every
 *                  byte already read, exactly as any other request.
 * With no callback registered every upgrade is declined. */
#ifndef LL_FRONT_FRONT_H
#define LL_FRONT_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "front/http.h"

struct front;
struct front_conn;

enum front_verdict {
	FRONT_DECLINE = 0,
	FRONT_ADOPT = 1,
};

/* head[0..head_len) is the request head (through the blank line) as the
 * client sent it; req's spans are offsets into it. Bytes the client sent
 * after the head are returned first by front_conn_read. head stays valid
 * until the callback returns. */
typedef enum front_verdict (*front_upgrade_fn)(void *ctx, struct front_conn *c, const uint8_t *head,
					       size_t head_len, const struct http_request *req);

/* Events for an adopted connection's I/O callback. */
#define FRONT_EV_READ	 0x1u /* front_conn_read may return data or EOF */
#define FRONT_EV_WRITE	 0x2u /* room to write again (after a short write) */
#define FRONT_EV_TIMEOUT 0x4u /* the deadline set with front_conn_set_deadline passed */

typedef void (*front_io_fn)(void *ctx, struct front_conn *c, unsigned events);

/* What the front serves. Pointers are only read during front_start. */
struct front_config {
	/* Listening address (v4 or v6) and port; fd >= 0 instead adopts an
	 * already bound and listening socket (bound as root, socket
	 * activation): front_stop closes it; a failed front_open leaves it
	 * to the caller. */
	struct sockaddr_storage listen_addr;
	socklen_t listen_len;
	int listen_fd;
	bool tls;		    /* false: plain HTTP behind a TLS-terminating proxy/CDN */
	const char *cert_file;	    /* PEM chain */
	const char *key_file;	    /* PEM private key */
	bool proxy_protocol;	    /* a PROXY v2 header is required before anything */
	const char *fallback_site;  /* "https://host[:port]" / "http://..."; NULL or "" = mimic */
	unsigned max_conns;	    /* concurrent connections, adopted ones included */
	unsigned header_timeout_ms; /* nginx client_header_timeout (60000) */
	unsigned keepalive_timeout_ms; /* nginx keepalive_timeout (75000) */
	unsigned handshake_timeout_ms; /* TLS handshake (nginx: client_header_timeout) */
	unsigned fallback_idle_ms;     /* idle relay to the fallback is cut after this */
};

void front_config_defaults(struct front_config *cfg);

/* Counters, read with front_stats (any thread; relaxed atomics). */
struct front_stats {
	uint64_t accepted;
	uint64_t refused_full;	   /* max_conns reached: closed at once */
	uint64_t proxy_bad;	   /* PROXY v2 header missing or invalid */
	uint64_t tls_failed;	   /* handshake failed or timed out */
	uint64_t not_tls;	   /* first bytes not a ClientHello on the TLS port */
	uint64_t to_fallback;	   /* connections handed to fallback_site */
	uint64_t to_mimic;	   /* connections answered by the built-in mimic */
	uint64_t upgrades_offered; /* upgrade heads passed to the callback */
	uint64_t adopted;
	uint64_t declined;
	uint64_t http_rejected; /* heads nginx would refuse (400/414/...) */
	uint64_t timeouts;	/* header / keepalive / idle timeouts */
	uint64_t fallback_connect_failed;
	uint64_t active; /* current connections */
};

/* front_open + front_run. *err gets a message for the log on failure.
 * Returns NULL on failure. */
struct front *front_start(const struct front_config *cfg, char *err, size_t errlen);
/* The part that needs privileges, no thread yet: binds the port, loads the
 * certificate, resolves fallback_site. A daemon opens before it drops
 * privileges (which needs a single thread) and runs after. */
struct front *front_open(const struct front_config *cfg, char *err, size_t errlen);
/* Starts the front thread: connections are accepted from now on. 0 or a
 * negative errno. */
int front_run(struct front *f);
/* Registers the upgrade callback; call before front_start's thread sees a
 * connection (i.e. right after front_start, or use front_post). */
void front_set_upgrade(struct front *f, front_upgrade_fn fn, void *ctx);
/* Stops the thread, closes every connection (adopted ones are aborted
 * after their I/O callback gets no further call), frees. */
void front_stop(struct front *f);
void front_stats(const struct front *f, struct front_stats *out);
/* The counters as an array, in struct order, with names for logs:
 * front_stat_name(i) for i < FRONT_STATS_N, or NULL past the end. */
#define FRONT_STATS_N (sizeof(struct front_stats) / sizeof(uint64_t))
const char *front_stat_name(size_t i);
/* The bound port (useful with port 0 in tests). */
uint16_t front_port(const struct front *f);

/* Runs fn(arg) on the front thread soon. Thread safe. 0 or -ENOMEM. */
int front_post(struct front *f, void (*fn)(void *arg), void *arg);

/* --- a connection, on the front thread only --- */

/* Reads decrypted bytes: > 0 count, 0 = the peer closed its side (FIN or
 * TLS close_notify), -EAGAIN, or another negative errno (reset, TLS
 * error). Bytes after the head come first. */
ssize_t front_conn_read(struct front_conn *c, void *buf, size_t len);
/* Writes (encrypting under TLS): bytes taken (may be short), -EAGAIN, or
 * a negative errno. A short write or -EAGAIN arms FRONT_EV_WRITE. */
ssize_t front_conn_write(struct front_conn *c, const void *buf, size_t len);
/* Readiness callback for an adopted connection (NULL to stop). */
void front_conn_set_io(struct front_conn *c, front_io_fn fn, void *ctx);
/* FRONT_EV_TIMEOUT after ms (0 clears). One deadline per connection. */
void front_conn_set_deadline(struct front_conn *c, unsigned ms);
/* Graceful end: TLS close_notify, then FIN. The connection is freed; c is
 * invalid after the call. */
void front_conn_close(struct front_conn *c);
/* Abort: RST (SO_LINGER 0). c is invalid after the call. */
void front_conn_abort(struct front_conn *c);
/* Hands an adopted connection that has written nothing to the fallback /
 * mimic with every byte read so far (the head and what followed, including
 * bytes the callback already read: up to nginx's 33 KiB head limit in
 * all). -EINVAL if it wrote or read past that; c is invalid after a 0
 * return. */
int front_conn_decline(struct front_conn *c);
/* The client's address: the one in the PROXY v2 header when configured. */
const struct sockaddr *front_conn_peer(const struct front_conn *c, socklen_t *len);
/* SNI the client sent (NULL when none or plain HTTP). */
const char *front_conn_sni(const struct front_conn *c);
bool front_conn_is_tls(const struct front_conn *c);

#endif
