/* base64url without padding (RFC 4648 §5), strict: the JWT and the
 * lostlove:// URI carry keys and MACs in it.
 *
 * Strict means one text per byte string: only A-Z a-z 0-9 '-' '_', no '=',
 * no '+' or '/', no whitespace, a length that is not 1 mod 4, and the unused
 * low bits of the last character zero. Both directions run in time that
 * depends on the length only (no table indexed by a byte), because the URI
 * carries the client's private key and PSK. */
#ifndef LL_CRYPTO_B64URL_H
#define LL_CRYPTO_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes (without the NUL). */
static inline size_t b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Writes b64url_len(n) characters and a NUL into out (out_len >= that + 1).
 * Returns the length, or -ENOSPC. */
int b64url_encode(char *out, size_t out_len, const uint8_t *in, size_t n);

/* Decodes exactly len characters. Returns the byte count, or -EINVAL for a
 * text that is not strict base64url, or -ENOSPC when out is too small. */
int b64url_decode(uint8_t *out, size_t out_len, const char *in, size_t len);

#endif
