/* Keccak-f[1600] and the FIPS 202 functions ML-KEM needs: SHA3-256 (H),
 * SHA3-512 (G), SHAKE128 (XOF), SHAKE256 (PRF, J).
 *
 * The sponge absorbs and squeezes incrementally, in pieces of any length:
 * ML-KEM's matrix expansion squeezes SHAKE128 block by block until enough
 * samples are accepted, which OpenSSL 3.0 cannot do. A state is used in two
 * phases: absorb, then squeeze (the first squeeze pads); absorbing after a
 * squeeze is a contract violation. States hold secrets when their input does:
 * end them with keccak_done, which wipes. */
#ifndef LL_CRYPTO_KECCAK_H
#define LL_CRYPTO_KECCAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA3_256_LEN	   32
#define SHA3_512_LEN	   64
#define SHAKE128_RATE	   168
#define SHAKE256_RATE	   136
#define KECCAK_STATE_LANES 25

struct keccak_state {
	uint64_t a[KECCAK_STATE_LANES];
	unsigned int rate; /* bytes per block: 200 - 2 * security bytes */
	unsigned int pos;  /* bytes of the current block absorbed or squeezed */
	uint8_t suffix;	   /* domain bits and first pad bit: 0x06 SHA3, 0x1f SHAKE */
	bool squeezing;
};

/* The permutation, FIPS 202 §3.3 (24 rounds of θ ρ π χ ι). */
void keccak_f1600(uint64_t a[static KECCAK_STATE_LANES]);

void sha3_256_init(struct keccak_state *st);
void sha3_512_init(struct keccak_state *st);
void shake128_init(struct keccak_state *st);
void shake256_init(struct keccak_state *st);
void keccak_absorb(struct keccak_state *st, const uint8_t *in, size_t len);
/* Pads on the first call; later calls continue the output stream. For the
 * SHA3 functions squeeze exactly the digest length once. */
void keccak_squeeze(struct keccak_state *st, uint8_t *out, size_t len);
/* Wipes the state. */
void keccak_done(struct keccak_state *st);

/* One-shot forms; they wipe their internal state. */
void sha3_256(uint8_t ret_digest[static SHA3_256_LEN], const uint8_t *in, size_t len);
void sha3_512(uint8_t ret_digest[static SHA3_512_LEN], const uint8_t *in, size_t len);
void shake128(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len);
void shake256(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len);

#endif
