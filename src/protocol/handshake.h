/* The LostLove handshake: Noise IKpsk2 over X25519, extended with an
 * ephemeral ML-KEM-768 (docs/protocol.md, "Handshake"):
 *
 *   <- s
 *   -> e, es, s, ss, ekem_pk, {timestamp}
 *   <- e, ee, se, ekem_ct, kem, psk, {params}
 *
 * Secure if either X25519 or ML-KEM-768 holds (the KEM secret is mixed into
 * the chaining key before the PSK); the per-user PSK authenticates against a
 * future quantum attacker.
 *
 * Both roles are pure state machines over byte buffers: time, randomness and
 * the user table come in as arguments. The responder keeps no state between
 * message 1 and its response beyond what the caller holds in a
 * struct handshake_pending; the only lasting change is the peer's greatest
 * accepted timestamp, written on success and nowhere else.
 *
 * Server pipeline for a message 1: cookie_validate (cheap; drop on
 * COOKIE_MAC_INVALID, cookie reply under load or on COOKIE_MAC2_BAD), then
 * the per-IP rate limit, then handshake_consume_init, then
 * handshake_create_response. handshake_consume_init must only ever see
 * messages that passed cookie_validate. */
#ifndef LL_PROTOCOL_HANDSHAKE_H
#define LL_PROTOCOL_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mlkem.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "protocol/cookie.h"
#include "protocol/params.h"
#include "protocol/tai64n.h"
#include "protocol/transport.h"

#define HANDSHAKE_PSK_LEN 32

/* Whether a side offers/accepts the ML-KEM part (config: qrl_enabled). */
enum kem_policy {
	KEM_OFF = 0,	  /* client: offer none; server: never encapsulate */
	KEM_OPTIONAL = 1, /* client: offer, accept a classical answer; server: answer in kind */
	KEM_REQUIRED = 2, /* refuse a peer that offers or answers no ML-KEM */
};

/* What one side knows of the other. The responder's table of these is the
 * user table; the initiator has exactly one (the server). */
struct handshake_peer {
	uint8_t public_key[X25519_KEY_LEN];
	uint8_t psk[HANDSHAKE_PSK_LEN];
	uint8_t ss[X25519_KEY_LEN];	    /* DH(own static, peer static), precomputed */
	uint8_t last_timestamp[TAI64N_LEN]; /* responder: greatest accepted; caller persists */
	void *user;			    /* caller's, untouched */
};

/* Precomputes ss. Returns -EINVAL for a low-order peer key. */
int handshake_peer_init(struct handshake_peer *p, const uint8_t own_priv[static X25519_KEY_LEN],
			const uint8_t peer_pub[static X25519_KEY_LEN],
			const uint8_t psk[static HANDSHAKE_PSK_LEN]);
void handshake_peer_done(struct handshake_peer *p);

enum handshake_result {
	HS_OK = 0,
	HS_E_MALFORMED,	   /* length, type, flags or reserved bytes wrong */
	HS_E_UNEXPECTED,   /* response to nothing we sent (index, state) */
	HS_E_MAC,	   /* mac1/mac2 wrong (responses carry no cookie) */
	HS_E_DECRYPT,	   /* an AEAD failed: wrong keys, tampering */
	HS_E_UNKNOWN_PEER, /* static key not in the table */
	HS_E_TIMESTAMP,	   /* outside the +-window: refused, NOT stored */
	HS_E_REPLAY,	   /* timestamp not after the greatest accepted one */
	HS_E_KEM_REQUIRED, /* peer offered/answered no ML-KEM but policy requires it */
	HS_E_KEM_KEY,	   /* encapsulation key fails the FIPS 203 §7.2 check */
	HS_E_PARAMS,	   /* session parameters malformed, out of range or too long */
	HS_E_LOW_ORDER,	   /* an X25519 key of low order: the shared secret is all zero */
	HS_E_INTERNAL,	   /* rng or crypto library failure, buffer too small */
};

const char *handshake_result_name(enum handshake_result r);

/* ---- initiator (client) ---- */

struct handshake_initiator {
	uint8_t static_priv[X25519_KEY_LEN], static_pub[X25519_KEY_LEN];
	struct handshake_peer server;
	enum kem_policy kem;
	struct cookie_maker cookie;
	uint8_t base_ck[32], base_h[32]; /* Noise state after "<- s", fixed per server */
	uint8_t own_mac1_key[32];	 /* verifies mac1 of responses */
	/* the handshake in flight */
	bool pending;
	bool kem_offered;
	uint32_t local_index;
	uint64_t sent_ns; /* monotonic, for retransmission timers */
	uint8_t e_priv[X25519_KEY_LEN], e_pub[X25519_KEY_LEN];
	uint8_t kem_dk[MLKEM768_DK_LEN];
	uint8_t ck[32], h[32];
};

int handshake_initiator_init(struct handshake_initiator *hs,
			     const uint8_t static_priv[static X25519_KEY_LEN],
			     const uint8_t server_pub[static X25519_KEY_LEN],
			     const uint8_t psk[static HANDSHAKE_PSK_LEN], enum kem_policy kem);
/* Wipes all key material. */
void handshake_initiator_done(struct handshake_initiator *hs);

/* Writes a new message 1 (replacing any handshake in flight). unix_ns is the
 * wall clock (timestamp), mono_ns the monotonic one (cookie age). */
enum handshake_result handshake_create_init(struct handshake_initiator *hs, uint32_t local_index,
					    uint64_t unix_ns, uint64_t mono_ns,
					    const struct rng *rng, uint8_t *out, size_t cap,
					    size_t *ret_len);

/* Consumes message 2. On HS_OK, fills the session keys and parameters and
 * ends the handshake in flight; on any error nothing changes. */
enum handshake_result handshake_consume_response(struct handshake_initiator *hs, const uint8_t *msg,
						 size_t len, struct transport_keys *ret_keys,
						 struct session_params *ret_params);

/* Consumes a cookie reply for the handshake in flight; the next message 1
 * carries mac2. */
enum handshake_result handshake_consume_cookie(struct handshake_initiator *hs, const uint8_t *msg,
					       size_t len, uint64_t mono_ns);

/* ---- responder (server) ---- */

typedef struct handshake_peer *(*handshake_lookup_fn)(
    void *ctx, const uint8_t public_key[static X25519_KEY_LEN]);

struct handshake_responder {
	uint8_t static_priv[X25519_KEY_LEN], static_pub[X25519_KEY_LEN];
	enum kem_policy kem;
	uint8_t base_ck[32], base_h[32]; /* Noise state after "<- s" */
	uint64_t timestamp_window_ns; /* accepted |timestamp - now|; default LL_TIMESTAMP_WINDOW */
	handshake_lookup_fn lookup;
	void *lookup_ctx;
};

int handshake_responder_init(struct handshake_responder *r,
			     const uint8_t static_priv[static X25519_KEY_LEN], enum kem_policy kem,
			     handshake_lookup_fn lookup, void *lookup_ctx);
void handshake_responder_done(struct handshake_responder *r);

/* Everything message 1 established, held by the caller until it answers. */
struct handshake_pending {
	struct handshake_peer *peer; /* borrowed from the lookup */
	uint32_t remote_index;
	bool kem;
	uint8_t e_remote[X25519_KEY_LEN];
	uint8_t ek[MLKEM768_EK_LEN];
	uint8_t ck[32], h[32];
	uint8_t timestamp[TAI64N_LEN];
};

/* Authenticates message 1 (macs already checked by cookie_validate) and
 * identifies its sender. On HS_OK the peer's last_timestamp is advanced to
 * the message's; on any error nothing changes. unix_ns is the wall clock. */
enum handshake_result handshake_consume_init(const struct handshake_responder *r,
					     const uint8_t *msg, size_t len, uint64_t unix_ns,
					     struct handshake_pending *ret);

/* Writes message 2 for a pending handshake with the given session
 * parameters and fills the session keys (mode = params->mode). The session
 * is confirmed only when the first transport packet from the initiator
 * opens: until then the responder must not send data. Wipes *p. */
enum handshake_result handshake_create_response(const struct handshake_responder *r,
						struct handshake_pending *p,
						const struct session_params *params,
						uint32_t local_index, const struct rng *rng,
						uint8_t *out, size_t cap, size_t *ret_len,
						struct transport_keys *ret_keys);

void handshake_pending_clear(struct handshake_pending *p);

/* Length of message 1 / message 2 for the given options. */
size_t handshake_init_len(bool kem);
size_t handshake_response_len(bool kem, size_t params_len);
/* The longest session parameter list the response to p may carry:
 * message 2 is never longer than the message 1 it answers (the server
 * never amplifies), and never more than MSG_PARAMS_MAX. 56 bytes for a
 * classical message 1, 152 with ML-KEM. */
size_t handshake_params_budget(const struct handshake_responder *r,
			       const struct handshake_pending *p);

#endif
