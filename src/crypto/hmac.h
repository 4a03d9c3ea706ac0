/* SHA-256, HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) over OpenSSL 3.
 *
 * The SHA-256 implementation is fetched once per process (not per call), and
 * every function wipes its intermediate key material. */
#ifndef LL_CRYPTO_HMAC_H
#define LL_CRYPTO_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* A gather list: hash functions take several pieces so callers never copy
 * into a temporary buffer (Noise's MixHash(h || data)). */
struct iov_c {
	const void *base;
	size_t len;
};

/* out = SHA-256(parts[0] || ... || parts[n-1]). Returns 0 or -ENOMEM/-EIO. */
int sha256_v(uint8_t out[static SHA256_LEN], const struct iov_c *parts, size_t n);
int sha256(uint8_t out[static SHA256_LEN], const void *data, size_t len);

/* out = HMAC-SHA256(key, parts...). Any key length. */
int hmac_sha256_v(uint8_t out[static SHA256_LEN], const uint8_t *key, size_t key_len,
		  const struct iov_c *parts, size_t n);
int hmac_sha256(uint8_t out[static SHA256_LEN], const uint8_t *key, size_t key_len,
		const void *data, size_t len);

/* Constant-time check of a possibly truncated tag (1 <= tag_len <= 32). */
bool hmac_sha256_verify(const uint8_t *key, size_t key_len, const void *data, size_t len,
			const uint8_t *tag, size_t tag_len);

/* HKDF-Extract and HKDF-Expand (RFC 5869). Expand allows out_len <= 255*32. */
int hkdf_sha256_extract(uint8_t ret_prk[static SHA256_LEN], const uint8_t *salt, size_t salt_len,
			const uint8_t *ikm, size_t ikm_len);
int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[static SHA256_LEN],
		       const uint8_t *info, size_t info_len);
/* Extract then Expand. Returns -EINVAL if out_len > 255*32. */
int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
		const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif
