/* Randomness as an explicit input.
 *
 * Pure code (handshake, key generation) never calls a global RNG: it takes a
 * struct rng, so production passes rng_system and tests and the worked example
 * of docs/protocol.md pass a deterministic generator. */
#ifndef LL_CRYPTO_RNG_H
#define LL_CRYPTO_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef int (*rng_fill_fn)(void *ctx, uint8_t *out, size_t len);

struct rng {
	rng_fill_fn fill; /* returns 0 or a negative errno */
	void *ctx;
};

/* The operating system CSPRNG through OpenSSL RAND_bytes. */
extern const struct rng rng_system;

static inline int rng_fill(const struct rng *r, uint8_t *out, size_t len)
{
	return r->fill(r->ctx, out, len);
}

/* Deterministic generator for tests and worked examples only.
 * Output stream: block i (32 bytes) = HMAC-SHA256(seed, "lostlove det rng" || LE64(i)),
 * concatenated; each fill consumes the next bytes of that stream. */
struct rng_det {
	uint8_t seed[32];
	uint64_t block;
	uint8_t buf[32];
	size_t used; /* bytes of buf already handed out; 32 = empty */
};

void rng_det_init(struct rng_det *d, const uint8_t seed[static 32]);
/* A struct rng reading from d (borrowed; d must outlive the result's use). */
struct rng rng_det_as_rng(struct rng_det *d);

#endif
