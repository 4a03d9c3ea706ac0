/* The client's end of a stream path: one TCP + TLS + WebSocket connection
 * to the server's TLS front (docs/protocol.md §11), nonblocking, driven
 * by the client's event loop.
 *
 *   CONNECT --TCP up--> TLS --handshake done--> REQUEST (the upgrade with
 *   message 1 or a joining transport packet in its token) --> WAIT_101
 *   --101 with our accept--> OPEN: binary frames both ways.
 * Anything else (a refused connection, a TLS failure, a 200 or 404 from
 * the fallback, a close) ends it: client_ws_io returns < 0 and the caller
 * frees it and decides what next. A server that selects h2 by ALPN ends
 * it with -EPROTONOSUPPORT: the WebSocket upgrade is HTTP/1.1's, so the
 * caller retries offering http/1.1 alone (h1_only).
 *
 * The ClientHello is as close to Chrome's as OpenSSL 3.0 allows
 * (docs/obfuscation.md, "Client transports"). The certificate is not
 * checked unless cfg->verify: the tunnel authenticates the server inside
 * (Noise IK with its static key), so a self-signed certificate works. */
#ifndef LL_CLIENT_CLIENT_WS_H
#define LL_CLIENT_CLIENT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/udp.h"

struct client_ws;
struct upgrade_key;

struct client_ws_config {
	const char *sni;  /* NULL or "": no SNI */
	const char *host; /* the HTTP Host */
	const char *path;
	bool verify;   /* check the chain against the system CAs and the name sni */
	uint32_t mark; /* SO_MARK, 0 = none (lets a full tunnel's rule bypass it) */
	bool h1_only;  /* ALPN http/1.1 alone (a server chose h2 before) */
	const struct upgrade_key *key;
};

enum client_ws_state {
	CLIENT_WS_CONNECT,
	CLIENT_WS_TLS,
	CLIENT_WS_REQUEST,
	CLIENT_WS_WAIT_101,
	CLIENT_WS_OPEN,
};

/* Starts connecting to to; msg (message 1, or a sealed transport packet
 * that joins the session) goes in the upgrade request. */
int client_ws_open(struct client_ws **ret, const struct client_ws_config *cfg,
		   const struct udp_endpoint *to, const uint8_t *msg, size_t len,
		   uint64_t now_unix_s);
void client_ws_free(struct client_ws *w);

int client_ws_fd(const struct client_ws *w);
enum client_ws_state client_ws_state(const struct client_ws *w);
/* The events to wait for (POLLIN, and POLLOUT while something waits). */
unsigned client_ws_events(const struct client_ws *w);

/* Called for each message a binary frame carried (in place; the buffer
 * is the connection's until the callback returns). */
typedef void (*client_ws_msg_fn)(void *ctx, uint8_t *msg, size_t len);

/* Does what the socket allows: connect, handshake, request, reading the
 * 101 and frames, writing what is queued. Returns 0, or a negative errno
 * once the connection is over (then only client_ws_free). *ret_opened is
 * set when this call saw the 101. */
int client_ws_io(struct client_ws *w, client_ws_msg_fn fn, void *ctx, bool *ret_opened);

/* Queues one message as a masked binary frame (OPEN only). -EAGAIN when
 * not open or the output is full (the packet is dropped: the caller
 * counts it), -EMSGSIZE. Written by the next client_ws_io, or at once. */
int client_ws_send(struct client_ws *w, const uint8_t *msg, size_t len);

/* A line for the log about the connection's failure, if any. */
const char *client_ws_error(const struct client_ws *w);

#endif
