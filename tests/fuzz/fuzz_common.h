/* Fixed, deterministic keys for the fuzz targets: each target builds its
 * peers once from constant seeds, so a crash input reproduces exactly. */
#ifndef LL_FUZZ_COMMON_H
#define LL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "crypto/x25519.h"

static inline struct rng fuzz_rng(struct rng_det *d, uint8_t tag)
{
	uint8_t seed[32];
	memset(seed, tag, sizeof(seed));
	rng_det_init(d, seed);
	return rng_det_as_rng(d);
}

static inline void fuzz_keypair(uint8_t priv[32], uint8_t pub[32], uint8_t tag)
{
	struct rng_det d;
	struct rng r = fuzz_rng(&d, tag);
	if (x25519_keygen(priv, pub, &r) != 0)
		abort();
}

#endif
