/* Base64 encoding of 32-byte keys (44 characters, one '=' of padding), as
 * WireGuard writes them, in constant time: no branch or table index depends
 * on the key bytes, so encoding a private key leaks nothing through timing
 * or the cache. */
#ifndef LL_CRYPTO_KEYENC_H
#define LL_CRYPTO_KEYENC_H

#include <stdint.h>

#define KEY_LEN	       32
#define KEY_BASE64_LEN 44 /* without the terminating NUL */

/* Writes 44 characters and a NUL. */
void key_to_base64(char ret[static KEY_BASE64_LEN + 1], const uint8_t key[static KEY_LEN]);

/* Decodes exactly 44 characters of standard base64 ending in '='; the unused
 * low bits of the last character must be zero. Returns 0, or -EINVAL
 * (ret_key is then zeroed). */
int key_from_base64(uint8_t ret_key[static KEY_LEN], const char *b64);

#endif
