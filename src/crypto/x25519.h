/* X25519 (RFC 7748) through OpenSSL 3 EVP. */
#ifndef LL_CRYPTO_X25519_H
#define LL_CRYPTO_X25519_H

#include <stdint.h>

#include "crypto/rng.h"

#define X25519_KEY_LEN 32

/* Generates a private key (clamped as RFC 7748 §5) and its public key. */
int x25519_keygen(uint8_t ret_priv[static X25519_KEY_LEN], uint8_t ret_pub[static X25519_KEY_LEN],
		  const struct rng *rng);

/* Public key of a private key. Returns 0 or -EINVAL. */
int x25519_public(uint8_t ret_pub[static X25519_KEY_LEN],
		  const uint8_t priv[static X25519_KEY_LEN]);

/* Shared secret. Returns -EINVAL when the result is all zero (a low-order
 * peer key): Noise and RFC 7748 §6.1 say to abort then. On error ret_shared
 * is zeroed. */
int x25519_shared(uint8_t ret_shared[static X25519_KEY_LEN],
		  const uint8_t priv[static X25519_KEY_LEN],
		  const uint8_t peer_pub[static X25519_KEY_LEN]);

#endif
