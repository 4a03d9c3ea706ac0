/* Keyed masks for the stealth layer (obfuscation/stealth.h), over
 * OpenSSL 3 EVP: a ChaCha20 keystream (RFC 8439, block counter 0) under
 * a fixed key and a per-message nonce, and single AES-128 blocks under a
 * fixed key (QUIC-style header protection, RFC 9001 §5.4.3).
 *
 * Like aead.h: a context is keyed once and reused, so a call allocates
 * nothing; a context is not thread safe (one per thread, or one per
 * lock). Contexts are wiped and freed by the _done functions, which
 * accept a zeroed or half-initialised context. */
#ifndef LL_CRYPTO_MASK_H
#define LL_CRYPTO_MASK_H

#include <stddef.h>
#include <stdint.h>

#define MASK_STREAM_KEY_LEN   32
#define MASK_STREAM_NONCE_LEN 12
#define MASK_BLOCK_KEY_LEN    16
#define MASK_BLOCK_LEN	      16

struct evp_cipher_ctx_st;

struct mask_stream {
	struct evp_cipher_ctx_st *ctx;
};

struct mask_block {
	struct evp_cipher_ctx_st *ctx;
};

/* Returns 0 or -ENOMEM. */
int mask_stream_init(struct mask_stream *m, const uint8_t key[static MASK_STREAM_KEY_LEN]);
void mask_stream_done(struct mask_stream *m);
/* Starts the keystream of nonce at block counter 0. Returns 0 or -EIO. */
int mask_stream_start(struct mask_stream *m, const uint8_t nonce[static MASK_STREAM_NONCE_LEN]);
/* XORs the next len bytes of the keystream into buf (in place). */
int mask_stream_xor(struct mask_stream *m, uint8_t *buf, size_t len);

int mask_block_init(struct mask_block *m, const uint8_t key[static MASK_BLOCK_KEY_LEN]);
void mask_block_done(struct mask_block *m);
/* out = AES-128(key, in). Returns 0 or -EIO. */
int mask_block_encrypt(struct mask_block *m, const uint8_t in[static MASK_BLOCK_LEN],
		       uint8_t out[static MASK_BLOCK_LEN]);

#endif
