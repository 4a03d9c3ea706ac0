/* The transport cipher of one direction in one of the three modes of
 * DESIGN §3, keyed from a 32-byte traffic secret.
 *
 *   CIPHER_AES256GCM   ("performance")       one AES-256-GCM pass
 *   CIPHER_CHACHAPOLY  ("balanced")          one ChaCha20-Poly1305 pass
 *   CIPHER_CASCADE     ("maximum_security")  AES-256-GCM inside ChaCha20-Poly1305,
 *                                            independent keys, two tags
 *
 * Subkeys: k = HKDF-Expand(secret, label, 32) with label "lostlove aes256gcm"
 * or "lostlove chacha20poly1305" (docs/protocol.md, key schedule). Both passes
 * use the same nonce (4 zero bytes || LE64(counter)) under different keys and
 * the same associated data. Keyed once, then sealing allocates nothing. */
#ifndef LL_CRYPTO_CIPHER_H
#define LL_CRYPTO_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"

enum cipher_mode {
	CIPHER_AES256GCM = 1,
	CIPHER_CHACHAPOLY = 2,
	CIPHER_CASCADE = 3,
};

#define CIPHER_SECRET_LEN   32
#define CIPHER_MAX_OVERHEAD (2 * AEAD_TAG_LEN)

struct cipher {
	enum cipher_mode mode;
	struct aead aes;    /* used by AES256GCM and CASCADE (inner) */
	struct aead chacha; /* used by CHACHAPOLY and CASCADE (outer) */
};

/* Bytes added to a plaintext: 16, or 32 for the cascade. 0 for an unknown mode. */
size_t cipher_overhead(enum cipher_mode mode);
/* "performance", "balanced", "maximum_security"; NULL for an unknown mode. */
const char *cipher_mode_name(enum cipher_mode mode);

int cipher_init(struct cipher *c, enum cipher_mode mode,
		const uint8_t secret[static CIPHER_SECRET_LEN]);
/* Re-keys from a new secret (same mode), reusing the AEAD contexts. The
 * HKDF step allocates inside OpenSSL 3.0 (every digest start does), so this
 * belongs to key updates (once per key_update_bytes), never to every packet. */
int cipher_rekey(struct cipher *c, const uint8_t secret[static CIPHER_SECRET_LEN]);
void cipher_done(struct cipher *c);

/* Seals buf[0..len) in place and appends the tag(s): buf must have room for
 * len + cipher_overhead(mode) bytes. Returns 0 or -EIO. */
int cipher_seal(struct cipher *c, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *buf,
		size_t len);
/* Opens buf[0..len) (ciphertext with its tags) in place; the plaintext is
 * buf[0..len - overhead). Returns 0, -EBADMSG (forgery) or -EINVAL (len < overhead). */
int cipher_open(struct cipher *c, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *buf,
		size_t len);

#endif
