/* MAC1, MAC2 and cookie replies: the DoS shield in front of the handshake
 * (the WireGuard scheme, with HMAC-SHA256 in place of keyed BLAKE2s).
 *
 *   mac1_key   = SHA-256("mac1----" || receiver's static public key)
 *   cookie_key = SHA-256("cookie--" || receiver's static public key)
 *   mac1   = HMAC(mac1_key, msg[0 .. len-32])[0..16]
 *   mac2   = HMAC(cookie,   msg[0 .. len-16])[0..16], or 16 zero bytes
 *   cookie = HMAC(secret, source address bytes)[0..16]; secret rotates every
 *            LL_COOKIE_SECRET_MAX_AGE s (current and previous are accepted)
 *
 * Only a sender who knows the server's public key produces a valid mac1, so
 * the server answers nothing to anyone else. Under load a message also needs
 * a valid mac2, which proves the sender receives at its source address; a
 * message without one gets a cookie reply (52 bytes, smaller than any
 * handshake message: no amplification). A nonzero mac2 that does not verify
 * also gets a cookie reply, so a client whose cookie went stale recovers. */
#ifndef LL_PROTOCOL_COOKIE_H
#define LL_PROTOCOL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"
#include "protocol/messages.h"

struct cookie_checker {
	uint8_t mac1_key[32];
	uint8_t cookie_key[32];
	uint8_t secret[32], prev_secret[32];
	bool has_prev;
	uint64_t secret_birth_ns; /* monotonic */
};

enum cookie_mac_state {
	COOKIE_MAC_INVALID, /* bad length or mac1: drop silently */
	COOKIE_MAC1_ONLY,   /* mac1 good, mac2 all zero */
	COOKIE_MAC2_BAD,    /* mac1 good, mac2 nonzero but wrong: send a cookie reply */
	COOKIE_MAC2_OK,	    /* both good */
};

/* Keys the checker for messages sent to own_pub; draws the first secret. */
int cookie_checker_init(struct cookie_checker *c, const uint8_t own_pub[static 32], uint64_t now_ns,
			const struct rng *rng);
/* Rotates the secret when it is older than LL_COOKIE_SECRET_MAX_AGE. */
int cookie_checker_tick(struct cookie_checker *c, uint64_t now_ns, const struct rng *rng);
void cookie_checker_done(struct cookie_checker *c);

/* Checks the macs at the end of a handshake message of len bytes (len >= 32)
 * received from src (opaque address bytes, e.g. IP || port). */
enum cookie_mac_state cookie_validate(const struct cookie_checker *c, const uint8_t *msg,
				      size_t len, const uint8_t *src, size_t src_len);

/* Writes a COOKIE_REPLY_LEN cookie reply to msg (the message that lacked a
 * good mac2; its sender index is the reply's receiver index). */
int cookie_reply_create(const struct cookie_checker *c, uint8_t ret_reply[static COOKIE_REPLY_LEN],
			const uint8_t *msg, size_t len, uint32_t receiver_index, const uint8_t *src,
			size_t src_len, const struct rng *rng);

/* The sending side: adds mac1/mac2 to outgoing messages, keeps a received cookie. */
struct cookie_maker {
	uint8_t mac1_key[32];
	uint8_t cookie_key[32];
	uint8_t cookie[MSG_COOKIE_LEN];
	bool has_cookie;
	uint64_t cookie_birth_ns;
	uint8_t last_mac1[MSG_MAC_LEN]; /* AAD of the cookie reply we may receive */
	bool has_last_mac1;
};

/* peer_pub is the static public key of the receiver of our messages. */
int cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[static 32]);
void cookie_maker_done(struct cookie_maker *m);
/* Fills the last 32 bytes of msg: mac1, and mac2 if a cookie younger than
 * LL_COOKIE_CLIENT_MAX_AGE is held (else zeros). */
int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);
/* Decrypts a cookie reply (already matched to us by its receiver index).
 * Returns 0, -EINVAL (malformed / nothing sent) or -EBADMSG (forged). */
int cookie_maker_consume(struct cookie_maker *m, const uint8_t *reply, size_t len, uint64_t now_ns);

/* mac1 alone, for a receiver that keys it itself (the server answering a
 * client, whose public key it learns from message 1). */
int cookie_mac1_key(uint8_t ret_key[static 32], const uint8_t pub[static 32]);
int cookie_mac1(uint8_t ret_mac[static MSG_MAC_LEN], const uint8_t key[static 32],
		const uint8_t *msg, size_t len);

#endif
