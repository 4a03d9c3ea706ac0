/* Keccak-f[1600] sponge, FIPS 202.
 *
 * Model: the state is 25 little-endian 64-bit lanes, lane (x, y) at index
 * x + 5y. Input bytes are XORed into the first `rate` bytes of the state,
 * byte i into lane i / 8 at bit 8 * (i % 8); a full block triggers the
 * permutation at once, so `pos < rate` holds between calls while absorbing.
 * Padding (§5.1 pad10*1 plus the §6 domain bits, merged into `suffix`) is
 * applied on the first squeeze, and output is read from the same bytes.
 *
 * Nothing here branches on or indexes by data: only lengths steer control. */
#include "crypto/keccak.h"

#include <string.h>

#include "crypto/ct.h"
#include "util/endian.h"

#define KECCAK_ROUNDS 24

/* ι constants, FIPS 202 Algorithm 5 (rc(t) LFSR) for rounds 0..23. */
static const uint64_t round_constants[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* ρ rotation of lane x + 5y, FIPS 202 Algorithm 2. */
static const uint8_t rho_offsets[KECCAK_STATE_LANES] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static inline uint64_t rol64(uint64_t v, unsigned int n)
{
	/* the mask keeps n == 0 defined (a shift by 64 is not) */
	return v << n | v >> ((64 - n) & 63);
}

/* One round, θ ρ π χ ι fused, from a into e (FIPS 202 §3.2). Output row y
 * is built from the five lanes that π moves into it: π puts lane
 * ((x + 3y) mod 5, x) at (x, y), Algorithm 3. Reading a and writing e keeps
 * every step's input intact without a copy; the caller alternates them. */
static inline void keccak_round(uint64_t e[static KECCAK_STATE_LANES],
				const uint64_t a[static KECCAK_STATE_LANES], uint64_t rc)
{
	uint64_t c[5], d[5], b[5];

	/* θ: column parities, and what each column adds to its lanes */
#pragma GCC unroll 5
	for (int x = 0; x < 5; x++)
		c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma GCC unroll 5
	for (int x = 0; x < 5; x++)
		d[x] = c[(x + 4) % 5] ^ rol64(c[(x + 1) % 5], 1);
#pragma GCC unroll 5
	for (int y = 0; y < 5; y++) {
		/* θ applied, ρ rotation, π placement */
#pragma GCC unroll 5
		for (int x = 0; x < 5; x++) {
			int sx = (x + 3 * y) % 5, src = sx + 5 * x;
			b[x] = rol64(a[src] ^ d[sx], rho_offsets[src]);
		}
		/* χ, the only non-linear step */
#pragma GCC unroll 5
		for (int x = 0; x < 5; x++)
			e[x + 5 * y] = b[x] ^ (~b[(x + 1) % 5] & b[(x + 2) % 5]);
	}
	e[0] ^= rc; /* ι */
}

void keccak_f1600(uint64_t a[static KECCAK_STATE_LANES])
{
	uint64_t e[KECCAK_STATE_LANES];

	for (int round = 0; round < KECCAK_ROUNDS; round += 2) {
		keccak_round(e, a, round_constants[round]);
		keccak_round(a, e, round_constants[round + 1]);
	}
	/* e is the state one round before the output: with it the permutation
	 * could be run back to a secret input. */
	ct_wipe(e, sizeof(e));
}

static void sponge_init(struct keccak_state *st, unsigned int rate, uint8_t suffix)
{
	memset(st->a, 0, sizeof(st->a));
	st->rate = rate;
	st->pos = 0;
	st->suffix = suffix;
	st->squeezing = false;
}

/* Security strength c/2 sets the rate: 1600/8 - 2 * (c/2)/8 bytes (§6). */
void sha3_256_init(struct keccak_state *st)
{
	sponge_init(st, 200 - 2 * SHA3_256_LEN, 0x06);
}

void sha3_512_init(struct keccak_state *st)
{
	sponge_init(st, 200 - 2 * SHA3_512_LEN, 0x06);
}

void shake128_init(struct keccak_state *st)
{
	sponge_init(st, SHAKE128_RATE, 0x1f);
}

void shake256_init(struct keccak_state *st)
{
	sponge_init(st, SHAKE256_RATE, 0x1f);
}

static inline void xor_byte(struct keccak_state *st, unsigned int pos, uint8_t v)
{
	st->a[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

/* XORs n bytes at st->pos; the caller keeps n <= rate - pos. Whole lanes
 * go in at once when pos is lane-aligned. */
static void xor_in(struct keccak_state *st, const uint8_t *in, size_t n)
{
	unsigned int pos = st->pos;

	for (; n > 0 && pos % 8 != 0; n--)
		xor_byte(st, pos++, *in++);
	for (; n >= 8; n -= 8, in += 8, pos += 8)
		st->a[pos / 8] ^= le64_load(in);
	for (; n > 0; n--)
		xor_byte(st, pos++, *in++);
	st->pos = pos;
}

/* Copies n bytes of the state from st->pos out; n <= rate - pos. */
static void read_out(struct keccak_state *st, uint8_t *out, size_t n)
{
	unsigned int pos = st->pos;

	for (; n > 0 && pos % 8 != 0; n--, pos++)
		*out++ = (uint8_t)(st->a[pos / 8] >> (8 * (pos % 8)));
	for (; n >= 8; n -= 8, out += 8, pos += 8)
		le64_store(out, st->a[pos / 8]);
	for (; n > 0; n--, pos++)
		*out++ = (uint8_t)(st->a[pos / 8] >> (8 * (pos % 8)));
	st->pos = pos;
}

void keccak_absorb(struct keccak_state *st, const uint8_t *in, size_t len)
{
	while (len > 0) {
		size_t n = st->rate - st->pos;
		if (n > len)
			n = len;
		xor_in(st, in, n);
		in += n;
		len -= n;
		if (st->pos == st->rate) {
			keccak_f1600(st->a);
			st->pos = 0;
		}
	}
}

/* pad10*1 with the domain bits in front: suffix holds the domain bits and
 * the first 1 of the padding; the final 1 is the top bit of the block. */
static void pad(struct keccak_state *st)
{
	xor_byte(st, st->pos, st->suffix);
	xor_byte(st, st->rate - 1, 0x80);
	keccak_f1600(st->a);
	st->pos = 0;
	st->squeezing = true;
}

void keccak_squeeze(struct keccak_state *st, uint8_t *out, size_t len)
{
	if (!st->squeezing)
		pad(st);
	while (len > 0) {
		if (st->pos == st->rate) {
			keccak_f1600(st->a);
			st->pos = 0;
		}
		size_t n = st->rate - st->pos;
		if (n > len)
			n = len;
		read_out(st, out, n);
		out += n;
		len -= n;
	}
}

void keccak_done(struct keccak_state *st)
{
	ct_wipe(st, sizeof(*st));
}

static void one_shot(struct keccak_state *st, uint8_t *out, size_t out_len, const uint8_t *in,
		     size_t in_len)
{
	keccak_absorb(st, in, in_len);
	keccak_squeeze(st, out, out_len);
	keccak_done(st);
}

void sha3_256(uint8_t ret_digest[static SHA3_256_LEN], const uint8_t *in, size_t len)
{
	struct keccak_state st;
	sha3_256_init(&st);
	one_shot(&st, ret_digest, SHA3_256_LEN, in, len);
}

void sha3_512(uint8_t ret_digest[static SHA3_512_LEN], const uint8_t *in, size_t len)
{
	struct keccak_state st;
	sha3_512_init(&st);
	one_shot(&st, ret_digest, SHA3_512_LEN, in, len);
}

void shake128(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
	struct keccak_state st;
	shake128_init(&st);
	one_shot(&st, out, out_len, in, in_len);
}

void shake256(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
	struct keccak_state st;
	shake256_init(&st);
	one_shot(&st, out, out_len, in, in_len);
}
