/* Keys and seeds of the worked example in docs/protocol.md (section 9), so
 * that the seed corpus (written by test_worked_example --corpus) holds real
 * messages that authenticate: the fuzzer starts deep inside the handshake.
 * Everything is deterministic, so a crash input reproduces exactly. */
#ifndef LL_FUZZ_COMMON_H
#define LL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "crypto/x25519.h"

#define FUZZ_UNIX_NS	(UINT64_C(1764000000) * UINT64_C(1000000000))
#define FUZZ_CLIENT_IDX 0x3c1e0001u
#define FUZZ_SERVER_IDX 0x5e7e0001u

struct fuzz_keys {
	uint8_t server_priv[32], server_pub[32];
	uint8_t client_priv[32], client_pub[32];
	uint8_t psk[32];
};

static inline void fuzz_example_keys(struct fuzz_keys *k)
{
	memset(k->server_priv, 0x11, 32);
	memset(k->client_priv, 0x22, 32);
	memset(k->psk, 0x33, 32);
	if (x25519_public(k->server_pub, k->server_priv) != 0 ||
	    x25519_public(k->client_pub, k->client_priv) != 0)
		abort();
}

/* The deterministic stream of a side: 0x44 client, 0x55 server. */
static inline struct rng fuzz_rng(struct rng_det *d, uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	rng_det_init(d, seed);
	return rng_det_as_rng(d);
}

#endif
