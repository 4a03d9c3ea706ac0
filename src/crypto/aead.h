/* AEAD contexts over OpenSSL 3: ChaCha20-Poly1305 (RFC 8439) and AES-256-GCM.
 *
 * A context is keyed once (aead_init) and reused for every packet: sealing
 * and opening only set the nonce, so they allocate nothing. A context is not
 * thread safe; use one per thread. Nonces are 12 bytes, tags 16 bytes. */
#ifndef LL_CRYPTO_AEAD_H
#define LL_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN   32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN   16

enum aead_alg {
	AEAD_CHACHA20_POLY1305 = 1,
	AEAD_AES256_GCM = 2,
};

struct evp_cipher_ctx_st;

struct aead {
	enum aead_alg alg;
	struct evp_cipher_ctx_st *enc;
	struct evp_cipher_ctx_st *dec;
};

/* Returns 0, -EINVAL (unknown alg) or -ENOMEM. On error *a is safe to aead_done. */
int aead_init(struct aead *a, enum aead_alg alg, const uint8_t key[static AEAD_KEY_LEN]);
/* Re-keys an initialised context without allocating. */
int aead_rekey(struct aead *a, const uint8_t key[static AEAD_KEY_LEN]);
/* Wipes and frees; accepts a zeroed or half-initialised context. */
void aead_done(struct aead *a);

/* Encrypts buf[0..len) in place and writes the tag to ret_tag (which may be buf + len).
 * Returns 0 or -EIO. */
int aead_seal(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
	      size_t ad_len, uint8_t *buf, size_t len, uint8_t ret_tag[static AEAD_TAG_LEN]);

/* Decrypts buf[0..len) in place if tag authenticates it. Returns 0, or
 * -EBADMSG on an authentication failure (buf contents are then unspecified). */
int aead_open(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
	      size_t ad_len, uint8_t *buf, size_t len, const uint8_t tag[static AEAD_TAG_LEN]);

/* Builds the protocol nonce from a 64-bit counter: 4 zero bytes || LE64(counter). */
void aead_nonce_from_counter(uint8_t ret_nonce[static AEAD_NONCE_LEN], uint64_t counter);

#endif
