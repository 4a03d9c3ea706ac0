/* The WebSocket upgrade request that carries handshake message 1 through
 * the TLS front, and its 101 answer (docs/protocol.md §11, "Carriage over
 * TLS + WebSocket"). Pure: time, nonces and the Date string are passed in.
 *
 * To anyone without the server's static public key the request is an
 * ordinary browser WebSocket upgrade with one session cookie. The cookie
 * value is the token:
 *
 *   token = masked_time (8) || mac (16) || masked_msg (32..1348 bytes)
 *   mac   = HMAC(mac_key, nonce || masked_time || masked_msg)[0..16]
 *
 * where nonce is the 16 bytes the Sec-WebSocket-Key encodes and the mask
 * is a keystream drawn from the server public key and the nonce. The
 * server checks, in this order and stopping at the first failure: the
 * request's shape (upgrade_parse), the mac (one HMAC, constant-time
 * compare) and the time window (upgrade_verify), the nonce against the
 * replay cache (upgrade_replay_insert); only then message 1 goes to the
 * normal handshake admission. A request failing any of them is given to
 * the fallback like any other request. */
#ifndef LL_FRONT_UPGRADE_H
#define LL_FRONT_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/messages.h"

#define UPGRADE_NONCE_LEN 16
#define UPGRADE_MAC_LEN	  16
#define UPGRADE_TIME_LEN  8
/* The message a token carries: message 1 (148 or 1348 bytes) to start a
 * session, or one transport packet (at least 32 bytes) of an existing
 * session to add this connection as a path (docs/protocol.md §11.6). */
#define UPGRADE_MSG_MIN 32
#define UPGRADE_MSG_MAX INIT_LEN_KEM
/* Accepted |request time - server time|, seconds. The handshake's own
 * timestamp has the same bound (LL_TIMESTAMP_WINDOW). */
#define UPGRADE_WINDOW_S 30
/* The Sec-WebSocket-Key value: base64 of the nonce (24 characters). */
#define UPGRADE_KEY_B64_LEN 24
/* The Sec-WebSocket-Accept value (base64 of a SHA-1, 28 characters). */
#define UPGRADE_ACCEPT_LEN 28
/* Longest request head the server considers (as nginx's header buffers:
 * a request line or header line is at most 8 KiB). */
#define UPGRADE_LINE_MAX 8192
#define UPGRADE_HEAD_MAX 16384
/* The cookie that carries the token. */
#define UPGRADE_COOKIE_NAME "sid"

/* Keys derived from the server's static public key; anyone who holds it
 * (every client) can make a token, nobody else can. */
struct upgrade_key {
	uint8_t mac[32];
	uint8_t mask[32];
};

int upgrade_key_derive(struct upgrade_key *k, const uint8_t server_pub[static 32]);

enum upgrade_result {
	UPGRADE_OK = 0,
	UPGRADE_E_SHAPE,      /* not a well-formed HTTP/1.1 WebSocket upgrade */
	UPGRADE_E_NO_TOKEN,   /* a WebSocket upgrade without our cookie */
	UPGRADE_E_TOKEN,      /* cookie of the wrong length or encoding */
	UPGRADE_E_MAC,	      /* token mac does not verify */
	UPGRADE_E_TIME,	      /* request time outside +-UPGRADE_WINDOW_S */
	UPGRADE_E_REPLAY,     /* nonce already seen within the window */
	UPGRADE_E_CACHE_FULL, /* replay cache full: refused, not forgotten */
	UPGRADE_E_INTERNAL,
	UPGRADE_RESULT_COUNT,
};

const char *upgrade_result_name(enum upgrade_result r);

/* What the server reads out of a request head. */
struct upgrade_request {
	uint8_t nonce[UPGRADE_NONCE_LEN];
	char key_b64[UPGRADE_KEY_B64_LEN + 1]; /* as received, for the accept */
	uint8_t token[UPGRADE_TIME_LEN + UPGRADE_MAC_LEN + UPGRADE_MSG_MAX];
	size_t token_len;
	/* filled by upgrade_verify */
	uint64_t time_s;
	uint8_t msg[UPGRADE_MSG_MAX];
	size_t msg_len;
};

/* Client: writes the request head (ending in an empty line) into buf.
 * nonce: 16 fresh random bytes; now_s: Unix time. -ENOSPC if cap is too
 * small, -EINVAL on a host or path that would break the head. */
int upgrade_request_write(char *buf, size_t cap, size_t *ret_len, const struct upgrade_key *k,
			  const char *host, const char *path, const uint8_t nonce[static 16],
			  uint64_t now_s, const uint8_t *msg, size_t msg_len);

/* Server, step 1: the head's shape (len bytes up to and including the
 * empty line). Header names are case-insensitive; a header that must be
 * single (Host, Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version,
 * Cookie) may not repeat. */
enum upgrade_result upgrade_parse(const uint8_t *head, size_t len, struct upgrade_request *out);
/* Server, step 2: the mac, then the time window; fills time_s and msg. */
enum upgrade_result upgrade_verify(const struct upgrade_key *k, struct upgrade_request *r,
				   uint64_t now_s);

/* The replay cache: nonces of verified requests, each kept until its
 * request time leaves the window. Bounded: capacity live nonces at most;
 * when full it refuses new ones (a forgotten nonce could be replayed). */
struct upgrade_replay;

struct upgrade_replay *upgrade_replay_new(size_t capacity, const uint8_t hash_key[static 16]);
void upgrade_replay_free(struct upgrade_replay *c);
/* UPGRADE_OK and the nonce is now remembered, UPGRADE_E_REPLAY, or
 * UPGRADE_E_CACHE_FULL. */
enum upgrade_result upgrade_replay_insert(struct upgrade_replay *c,
					  const uint8_t nonce[static UPGRADE_NONCE_LEN],
					  uint64_t time_s, uint64_t now_s);
size_t upgrade_replay_count(struct upgrade_replay *c, uint64_t now_s);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
int upgrade_accept(char out[static UPGRADE_ACCEPT_LEN + 1], const char *key_b64);

/* Server: the 101 answer. server_name (e.g. "nginx/1.22.1") and date (an
 * IMF-fixdate) are written as Server and Date headers when not NULL. */
int upgrade_response_write(char *buf, size_t cap, size_t *ret_len, const char *key_b64,
			   const char *server_name, const char *date);
/* Client: is this head (up to and including its empty line) a 101 that
 * accepts our key? 0, or -EPROTO. */
int upgrade_response_check(const uint8_t *head, size_t len, const char *key_b64);

/* Both: the length of the head at the start of buf (through the first
 * empty line), 0 if not complete yet, -E2BIG past UPGRADE_HEAD_MAX. */
long upgrade_head_len(const uint8_t *buf, size_t len);

/* base64 (RFC 4648 §4) of 16 bytes, for the Sec-WebSocket-Key. */
void upgrade_key_b64(char out[static UPGRADE_KEY_B64_LEN + 1], const uint8_t nonce[static 16]);

#endif
