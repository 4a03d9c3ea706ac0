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
 * also gets a cookie reply, so a client whose cookie went stale recovers.
 *
 * A server has one secret for all its data-plane workers (struct
 * cookie_secrets), so a cookie made by any worker validates at any other:
 * the kernel picks the worker by 4-tuple hash, which a change in the set of
 * sockets reshuffles. Each worker checks through its own cookie_checker
 * view of it. One thread rotates it (the control thread's timer); readers
 * take a consistent copy of the current and previous secrets through a
 * sequence lock (the same lock-free scheme as the kernel's seqlock): no
 * lock, no allocation, and a retry only if they meet the few stores of a
 * rotation, once every LL_COOKIE_SECRET_MAX_AGE s (a rotating thread
 * preempted inside them makes readers wait until it runs again). The secrets are words
 * accessed atomically (relaxed) inside the sequence, so there is no data
 * race even in a reader that retries; the previous secret is overwritten in
 * place when it expires, and every copy a reader takes is wiped after use. */
#ifndef LL_PROTOCOL_COOKIE_H
#define LL_PROTOCOL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"
#include "protocol/messages.h"

/* The server's cookie secrets. seq is even while they are stable and odd
 * during a rotation; every field is read and written with __atomic builtins
 * once the secrets are shared. */
struct cookie_secrets {
	uint32_t seq;
	uint32_t has_prev;
	uint64_t words[8]; /* current secret (32 bytes), then the previous one */
	uint64_t birth_ns; /* of the current secret, monotonic */
};

/* Draws the first secret. Not thread safe (nor is _done, which wipes). */
int cookie_secrets_init(struct cookie_secrets *s, uint64_t now_ns, const struct rng *rng);
/* Rotates the secret when it is older than LL_COOKIE_SECRET_MAX_AGE: the
 * current one becomes the previous one (still accepted), the previous one
 * is overwritten. Safe against concurrent readers and against another
 * thread ticking at the same time (one of them rotates). */
int cookie_secrets_tick(struct cookie_secrets *s, uint64_t now_ns, const struct rng *rng);
void cookie_secrets_done(struct cookie_secrets *s);

/* A receiver's view: its keys, and either secrets of its own or a server's
 * shared ones. A checker may be copied; shared secrets must outlive it. */
struct cookie_checker {
	uint8_t mac1_key[32];
	uint8_t cookie_key[32];
	struct cookie_secrets *shared; /* NULL: own */
	struct cookie_secrets own;
};

enum cookie_mac_state {
	COOKIE_MAC_INVALID, /* bad length or mac1: drop silently */
	COOKIE_MAC1_ONLY,   /* mac1 good, mac2 all zero */
	COOKIE_MAC2_BAD,    /* mac1 good, mac2 nonzero but wrong: send a cookie reply */
	COOKIE_MAC2_OK,	    /* both good */
};

/* Keys the checker for messages sent to own_pub, with a secret of its own
 * (drawn here): for a single thread, tests and tools. */
int cookie_checker_init(struct cookie_checker *c, const uint8_t own_pub[static 32], uint64_t now_ns,
			const struct rng *rng);
/* Keys the checker for messages sent to own_pub, over shared secrets: one
 * per data-plane worker, all over the server's one cookie_secrets. */
int cookie_checker_init_shared(struct cookie_checker *c, const uint8_t own_pub[static 32],
			       struct cookie_secrets *shared);
/* cookie_secrets_tick on the checker's secrets (own or shared). */
int cookie_checker_tick(struct cookie_checker *c, uint64_t now_ns, const struct rng *rng);
/* Wipes the checker and its own secrets; shared ones are left alone. */
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
