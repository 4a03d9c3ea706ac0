/* ML-KEM-768, FIPS 203, written from the specification.
 *
 * Model: a polynomial is 256 int16_t coefficients mod q = 3329, held as small
 * signed representatives and brought to [0, q) only where bytes are produced.
 * The NTT is FIPS 203 Algorithms 9 and 10 with Montgomery multiplication
 * (R = 2^16): the twiddles are stored times R, so fqmul(ζR, x) = ζx and a
 * butterfly leaves values as they were. A base-case product (Algorithm 12)
 * comes out times R^-1; keygen cancels that with poly_tomont (times R), and
 * every other product goes through poly_invntt, whose final scaling by
 * R^2/128 both divides by 128 and cancels it.
 *
 * Bounds: int16_t never overflows because every addition chain is short and
 * bounded (noted at each step) and Barrett reduction is applied after the NTT.
 * Coefficients decoded from a key may be any 12-bit value; FIPS 203's
 * ByteDecode12 reduces them mod q, which the modular arithmetic does anyway.
 *
 * Constant time: no branch and no memory index depends on a secret. The only
 * data-dependent branches are SampleNTT's rejection (Algorithm 7) on the
 * public seed ρ and the §7.2 modulus check on the public ek. Compression
 * divides by q with a multiply and a shift (a hardware divide of a secret is
 * variable-time on some CPUs). Decapsulation compares the re-encryption and
 * selects the implicit-rejection key without branching. Every secret
 * intermediate is wiped before return. */
#include "crypto/mlkem.h"

#include <errno.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/keccak.h"
#include "util/endian.h"

/* tests/ct marks d secret, and ρ = G(d || k)[0:32] inherits that, but ρ is
 * public (it is the tail of ek); the ct build defines this to declassify it
 * so that SampleNTT's public rejection branches are not reported. */
#ifndef MLKEM_CT_DECLASSIFY
#define MLKEM_CT_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

enum {
	MLKEM_N = 256,
	MLKEM_Q = 3329,
	MLKEM_K = 3,
	MLKEM_ETA = 2, /* η1 = η2 = 2 for ML-KEM-768 */
	MLKEM_DU = 10,
	MLKEM_DV = 4,
	POLY_BYTES = 384,		      /* ByteEncode12 of one polynomial */
	PVEC_BYTES = MLKEM_K * POLY_BYTES,    /* t̂ in ek, ŝ in dk */
	CT_U_BYTES = MLKEM_K * 32 * MLKEM_DU, /* c1 */
	CT_V_BYTES = 32 * MLKEM_DV,	      /* c2 */
	DK_EK_OFF = PVEC_BYTES,		      /* dk = dk_PKE || ek || H(ek) || z */
	DK_H_OFF = DK_EK_OFF + MLKEM768_EK_LEN,
	DK_Z_OFF = DK_H_OFF + 32,
};

_Static_assert(CT_U_BYTES + CT_V_BYTES == MLKEM768_CT_LEN, "ciphertext layout");
_Static_assert(DK_Z_OFF + 32 == MLKEM768_DK_LEN, "decapsulation key layout");

#define QINV	  (-3327)  /* q^-1 mod 2^16, as a signed 16-bit value */
#define MONT_R2	  1353	   /* R^2 mod q: fqmul(x, R^2) = xR */
#define INVN_R2	  1441	   /* R^2 / 128 mod q, the final scale of NTT^-1 */
#define BARRETT_V 20159	   /* round(2^26 / q) */
#define DIV_Q_MUL 1290168u /* ceil(2^32 / q), see compress() */

struct poly {
	int16_t c[MLKEM_N];
};

struct polyvec {
	struct poly v[MLKEM_K];
};

/* ζ^BitRev7(i) R mod q for ζ = 17, centred (FIPS 203 Appendix A, times R).
 * Entries 64..127 also give the base-case moduli: γ_2i = zetas[64 + i] and
 * γ_2i+1 = -γ_2i. */
/* clang-format off */
static const int16_t zetas[128] = {
	-1044, -758, -359, -1517, 1493, 1422, 287, 202,
	-171, 622, 1577, 182, 962, -1202, -1474, 1468,
	573, -1325, 264, 383, -829, 1458, -1602, -130,
	-681, 1017, 732, 608, -1542, 411, -205, -1571,
	1223, 652, -552, 1015, -1293, 1491, -282, -1544,
	516, -8, -320, -666, -1618, -1162, 126, 1469,
	-853, -90, -271, 830, 107, -1421, -247, -951,
	-398, 961, -1508, -725, 448, -1065, 677, -1275,
	-1103, 430, 555, 843, -1251, 871, 1550, 105,
	422, 587, 177, -235, -291, -460, 1574, 1653,
	-246, 778, 1159, -147, -777, 1483, -602, 1119,
	-1590, 644, -872, 349, 418, 329, -156, -75,
	817, 1097, 603, 610, 1322, -1285, -1465, 384,
	-1215, -136, 1218, -1335, -874, 220, -1187, -1659,
	-1185, -1530, -1278, 794, -1510, -854, -870, 478,
	-108, -308, 996, 991, 958, -1460, 1522, 1628,
};
/* clang-format on */

/* ---- arithmetic mod q ---- */

/* aR^-1 mod q, in (-q, q), for |a| < q 2^15. t = a q^-1 mod 2^16 makes
 * a - tq a multiple of 2^16, so the shift divides exactly. */
static inline int16_t montgomery_reduce(int32_t a)
{
	int16_t t = (int16_t)((int16_t)a * QINV);
	return (int16_t)((a - (int32_t)t * MLKEM_Q) >> 16);
}

/* montgomery_reduce(ab), written with the high halves of two products:
 * ab - tq is (hi(ab) - hi(tq)) 2^16 because both low halves are equal. This
 * form runs faster, and it is how SIMD Kyber code computes it. */
static inline int16_t fqmul(int16_t a, int16_t b)
{
	int32_t ab = (int32_t)a * b;
	int16_t t = (int16_t)((int16_t)ab * QINV);
	return (int16_t)((ab >> 16) - (((int32_t)t * MLKEM_Q) >> 16));
}

/* The representative of a mod q in [-(q-1)/2, (q-1)/2]: subtract round(a/q) q,
 * with the division done as a multiply by 2^26/q. */
static inline int16_t barrett_reduce(int16_t a)
{
	int16_t t = (int16_t)((BARRETT_V * a + (1 << 25)) >> 26);
	return (int16_t)(a - t * MLKEM_Q);
}

/* a mod q in [0, q), for any int16_t a: add q when the reduced value is
 * negative, using the sign as a mask. */
static inline int16_t to_canonical(int16_t a)
{
	a = barrett_reduce(a);
	return (int16_t)(a + ((a >> 15) & MLKEM_Q));
}

/* ---- polynomials ---- */

static void poly_reduce(struct poly *p)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		p->c[i] = barrett_reduce(p->c[i]);
}

/* Callers keep |a + b| < 2^15 (noted where called). */
static void poly_add(struct poly *r, const struct poly *a, const struct poly *b)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

static void poly_sub(struct poly *r, const struct poly *a, const struct poly *b)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

static void poly_tomont(struct poly *p)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		p->c[i] = fqmul(p->c[i], MONT_R2);
}

/* NTT, Algorithm 9. Input |c| < q; each of the 7 layers adds less than q,
 * so |c| < 8q < 2^15 before the final Barrett reduction. */
static void poly_ntt(struct poly *p)
{
	unsigned int i = 1;

	for (unsigned int len = 128; len >= 2; len >>= 1) {
		for (unsigned int start = 0; start < MLKEM_N; start += 2 * len) {
			int16_t zeta = zetas[i++];
			for (unsigned int j = start; j < start + len; j++) {
				int16_t t = fqmul(zeta, p->c[j + len]);
				p->c[j + len] = (int16_t)(p->c[j] - t);
				p->c[j] = (int16_t)(p->c[j] + t);
			}
		}
	}
	poly_reduce(p);
}

/* NTT^-1, Algorithm 10, also multiplied by R: the input is always a sum of
 * base-case products, which carries R^-1, so the output is plain. Input and
 * output |c| < q: sums are Barrett-reduced at every layer and differences go
 * through fqmul, so every layer starts below q again. */
static void poly_invntt(struct poly *p)
{
	unsigned int i = 127;

	for (unsigned int len = 2; len <= 128; len <<= 1) {
		for (unsigned int start = 0; start < MLKEM_N; start += 2 * len) {
			int16_t zeta = zetas[i--];
			for (unsigned int j = start; j < start + len; j++) {
				int16_t t = p->c[j];
				p->c[j] = barrett_reduce((int16_t)(t + p->c[j + len]));
				p->c[j + len] = fqmul(zeta, (int16_t)(p->c[j + len] - t));
			}
		}
	}
	for (unsigned int j = 0; j < MLKEM_N; j++)
		p->c[j] = fqmul(p->c[j], INVN_R2);
}

/* BaseCaseMultiply, Algorithm 12, added to acc without reduction:
 * (a0 + a1 X)(b0 + b1 X) mod (X^2 - γ), with γ given times R. */
static inline void basecase_acc(int32_t acc[2], const int16_t a[2], const int16_t b[2],
				int16_t gamma)
{
	acc[0] += (int32_t)a[0] * b[0] + (int32_t)fqmul(a[1], b[1]) * gamma;
	acc[1] += (int32_t)a[0] * b[1] + (int32_t)a[1] * b[0];
}

/* r = Σ_k a_k ∘ b_k (MultiplyNTTs, Algorithm 11, summed over the vector), times
 * R^-1, |r| < q. a may hold any 12-bit values, b must be NTT output (|b| <=
 * (q-1)/2): each k adds less than 2^12 q to an accumulator, so the sum over
 * k = 3 stays below the q 2^15 that montgomery_reduce accepts. */
static void polyvec_dot(struct poly *r, const struct polyvec *a, const struct polyvec *b)
{
	for (unsigned int i = 0; i < MLKEM_N; i += 4) {
		int16_t gamma = zetas[64 + i / 4];
		int32_t acc[4] = {0, 0, 0, 0};
		for (unsigned int k = 0; k < MLKEM_K; k++) {
			basecase_acc(acc, &a->v[k].c[i], &b->v[k].c[i], gamma);
			basecase_acc(acc + 2, &a->v[k].c[i + 2], &b->v[k].c[i + 2],
				     (int16_t)-gamma);
		}
		for (unsigned int j = 0; j < 4; j++)
			r->c[i + j] = montgomery_reduce(acc[j]);
	}
}

static void polyvec_ntt(struct polyvec *v)
{
	for (unsigned int k = 0; k < MLKEM_K; k++)
		poly_ntt(&v->v[k]);
}

/* ---- encoding and compression (§4.2.1) ---- */

/* ByteEncode_d, Algorithm 5: coefficients in [0, 2^d), packed little-endian
 * bit by bit. Only d steers the loop. */
static void poly_encode(uint8_t *out, const struct poly *p, unsigned int d)
{
	uint32_t acc = 0;
	unsigned int bits = 0;

	for (unsigned int i = 0; i < MLKEM_N; i++) {
		acc |= (uint32_t)(uint16_t)p->c[i] << bits;
		for (bits += d; bits >= 8; bits -= 8) {
			*out++ = (uint8_t)acc;
			acc >>= 8;
		}
	}
}

/* ByteDecode_d, Algorithm 6, without the final reduction mod q for d = 12
 * (see the model comment): coefficients are the raw d-bit values. */
static void poly_decode(struct poly *p, const uint8_t *in, unsigned int d)
{
	uint32_t acc = 0, mask = (1u << d) - 1;
	unsigned int bits = 0;

	for (unsigned int i = 0; i < MLKEM_N; i++) {
		for (; bits < d; bits += 8)
			acc |= (uint32_t)*in++ << bits;
		p->c[i] = (int16_t)(acc & mask);
		acc >>= d;
		bits -= d;
	}
}

static void polyvec_encode12(uint8_t out[static PVEC_BYTES], const struct polyvec *v)
{
	for (unsigned int k = 0; k < MLKEM_K; k++)
		poly_encode(out + k * POLY_BYTES, &v->v[k], 12);
}

static void polyvec_decode12(struct polyvec *v, const uint8_t in[static PVEC_BYTES])
{
	for (unsigned int k = 0; k < MLKEM_K; k++)
		poly_decode(&v->v[k], in + k * POLY_BYTES, 12);
}

/* Compress_d, eq. (4.7): round(2^d x / q) mod 2^d for x in [0, q), which is
 * floor((2^d x + (q-1)/2) / q) as q is odd. The quotient is taken as
 * (y ceil(2^32/q)) >> 32; the error is below 1/q for every y < 2^23, so it is
 * exact for all d <= 11 (test_mlkem checks every x for d = 1, 4, 10, 11). */
static inline uint16_t compress(uint16_t x, unsigned int d)
{
	uint64_t y = ((uint64_t)x << d) + (MLKEM_Q - 1) / 2;
	return (uint16_t)(((y * DIV_Q_MUL) >> 32) & ((1u << d) - 1));
}

/* Decompress_d, eq. (4.8): round(q y / 2^d), no division needed. */
static inline uint16_t decompress(uint16_t y, unsigned int d)
{
	return (uint16_t)(((uint32_t)y * MLKEM_Q + (1u << (d - 1))) >> d);
}

/* In place: any int16_t coefficients to Compress_d of their value mod q. */
static void poly_compress(struct poly *p, unsigned int d)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		p->c[i] = (int16_t)compress((uint16_t)to_canonical(p->c[i]), d);
}

static void poly_decompress(struct poly *p, unsigned int d)
{
	for (unsigned int i = 0; i < MLKEM_N; i++)
		p->c[i] = (int16_t)decompress((uint16_t)p->c[i], d);
}

static void polyvec_canonical(struct polyvec *v)
{
	for (unsigned int k = 0; k < MLKEM_K; k++)
		for (unsigned int i = 0; i < MLKEM_N; i++)
			v->v[k].c[i] = to_canonical(v->v[k].c[i]);
}

/* ---- sampling ---- */

/* Accepts 12-bit candidates below q from buf into c[n..), Algorithm 7 lines
 * 5-13. The candidates come from the public ρ. While two more fit, each is
 * stored and kept only by advancing n, which spares the CPU a hard-to-predict
 * branch per candidate; the last coefficient takes the first of d1, d2 that
 * is below q, as the specification does. */
static unsigned int rej_uniform(int16_t *c, unsigned int n, const uint8_t *buf, size_t len)
{
	for (size_t pos = 0; pos + 3 <= len && n < MLKEM_N; pos += 3) {
		uint16_t d1 = (uint16_t)(buf[pos] | (buf[pos + 1] & 0x0f) << 8);
		uint16_t d2 = (uint16_t)(buf[pos + 1] >> 4 | buf[pos + 2] << 4);
		if (n < MLKEM_N - 1) {
			c[n] = (int16_t)d1;
			n += d1 < MLKEM_Q;
			c[n] = (int16_t)d2;
			n += d2 < MLKEM_Q;
		} else if (d1 < MLKEM_Q) {
			c[n++] = (int16_t)d1;
		} else if (d2 < MLKEM_Q) {
			c[n++] = (int16_t)d2;
		}
	}
	return n;
}

/* SampleNTT(ρ || j || i), Algorithm 7. Three SHAKE128 blocks nearly always
 * suffice; more are squeezed one at a time (168 is a multiple of 3, so no
 * candidate straddles two squeezes). */
static void poly_sample_ntt(struct poly *p, const uint8_t rho[static 32], uint8_t j, uint8_t i)
{
	struct keccak_state xof;
	uint8_t seed[34], buf[3 * SHAKE128_RATE];
	unsigned int n;

	memcpy(seed, rho, 32);
	seed[32] = j;
	seed[33] = i;
	shake128_init(&xof);
	keccak_absorb(&xof, seed, sizeof(seed));
	keccak_squeeze(&xof, buf, sizeof(buf));
	n = rej_uniform(p->c, 0, buf, sizeof(buf));
	while (n < MLKEM_N) {
		keccak_squeeze(&xof, buf, SHAKE128_RATE);
		n = rej_uniform(p->c, n, buf, SHAKE128_RATE);
	}
	/* xof and buf derive from the public ρ only: nothing to wipe */
}

/* Row i of Â holds Â[i][j] = SampleNTT(ρ || j || i) (Algorithm 13 line 6);
 * transposed, row i holds Â[j][i], which is what Algorithm 14 multiplies. */
static void matrix_expand(struct polyvec a[static MLKEM_K], const uint8_t rho[static 32],
			  bool transposed)
{
	for (uint8_t i = 0; i < MLKEM_K; i++)
		for (uint8_t j = 0; j < MLKEM_K; j++)
			poly_sample_ntt(&a[i].v[j], rho, transposed ? i : j, transposed ? j : i);
}

/* SamplePolyCBD_2(PRF_2(s, nonce)), Algorithm 8 with PRF = SHAKE256(s || N)
 * of 64η bytes (eq. 4.3). Each coefficient takes 4 bits, b0 + b1 - b2 - b3;
 * (t & 0x55..) + ((t >> 1) & 0x55..) sums every bit pair at once. */
static void poly_sample_cbd(struct poly *p, const uint8_t s[static 32], uint8_t nonce)
{
	uint8_t in[33], buf[64 * MLKEM_ETA];

	memcpy(in, s, 32);
	in[32] = nonce;
	shake256(buf, sizeof(buf), in, sizeof(in));
	for (unsigned int i = 0; i < MLKEM_N / 8; i++) {
		uint32_t t = le32_load(buf + 4 * i);
		uint32_t sums = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
		for (unsigned int j = 0; j < 8; j++) {
			int16_t x = (int16_t)((sums >> (4 * j)) & 3);
			int16_t y = (int16_t)((sums >> (4 * j + 2)) & 3);
			p->c[8 * i + j] = (int16_t)(x - y);
		}
	}
	ct_wipe(in, sizeof(in));
	ct_wipe(buf, sizeof(buf));
}

static void polyvec_sample_cbd(struct polyvec *v, const uint8_t s[static 32], uint8_t nonce)
{
	for (uint8_t k = 0; k < MLKEM_K; k++)
		poly_sample_cbd(&v->v[k], s, (uint8_t)(nonce + k));
}

/* ---- K-PKE (§5) ---- */

/* K-PKE.KeyGen, Algorithm 13: ek = t̂ || ρ, dk_PKE = ŝ. */
static void pke_keygen(uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk_pke[static PVEC_BYTES],
		       const uint8_t d[static MLKEM768_SEED_LEN])
{
	uint8_t g_in[33], rho_sigma[64];
	const uint8_t *rho = rho_sigma, *sigma = rho_sigma + 32;
	struct polyvec a[MLKEM_K], s, e, t;

	/* (ρ, σ) = G(d || k) */
	memcpy(g_in, d, 32);
	g_in[32] = MLKEM_K;
	sha3_512(rho_sigma, g_in, sizeof(g_in));
	MLKEM_CT_DECLASSIFY(rho, 32);
	matrix_expand(a, rho, false);
	polyvec_sample_cbd(&s, sigma, 0);
	polyvec_sample_cbd(&e, sigma, MLKEM_K);
	polyvec_ntt(&s);
	polyvec_ntt(&e);
	/* t̂ = Â ∘ ŝ + ê: |tomont| < q plus |ê| <= (q-1)/2 */
	for (unsigned int i = 0; i < MLKEM_K; i++) {
		polyvec_dot(&t.v[i], &a[i], &s);
		poly_tomont(&t.v[i]);
		poly_add(&t.v[i], &t.v[i], &e.v[i]);
	}
	polyvec_canonical(&t);
	polyvec_canonical(&s);
	polyvec_encode12(ek, &t);
	memcpy(ek + PVEC_BYTES, rho, 32);
	polyvec_encode12(dk_pke, &s);

	ct_wipe(g_in, sizeof(g_in));
	ct_wipe(rho_sigma, sizeof(rho_sigma));
	ct_wipe(&s, sizeof(s));
	ct_wipe(&e, sizeof(e));
	ct_wipe(&t, sizeof(t));
}

/* u and v of Algorithm 14 lines 18-21, from ŷ. */
static void pke_encrypt_uv(struct polyvec *u, struct poly *v,
			   const uint8_t ek[static MLKEM768_EK_LEN], const struct polyvec *y_hat)
{
	struct polyvec at[MLKEM_K], t_hat;

	polyvec_decode12(&t_hat, ek);
	matrix_expand(at, ek + PVEC_BYTES, true);
	/* u = NTT^-1(Â^T ∘ ŷ) */
	for (unsigned int i = 0; i < MLKEM_K; i++) {
		polyvec_dot(&u->v[i], &at[i], y_hat);
		poly_invntt(&u->v[i]);
	}
	/* v = NTT^-1(t̂^T ∘ ŷ) */
	polyvec_dot(v, &t_hat, y_hat);
	poly_invntt(v);
}

/* K-PKE.Encrypt(ek, m, r), Algorithm 14. */
static void pke_encrypt(uint8_t c[static MLKEM768_CT_LEN], const uint8_t ek[static MLKEM768_EK_LEN],
			const uint8_t m[static 32], const uint8_t r[static 32])
{
	struct polyvec y, e1, u;
	struct poly e2, mu, v;

	polyvec_sample_cbd(&y, r, 0);
	polyvec_sample_cbd(&e1, r, MLKEM_K);
	poly_sample_cbd(&e2, r, 2 * MLKEM_K);
	polyvec_ntt(&y);
	pke_encrypt_uv(&u, &v, ek, &y);
	/* u += e1; v += e2 + μ with μ = Decompress_1(ByteDecode_1(m)):
	 * |v| < q + 2 + (q+1)/2 */
	for (unsigned int i = 0; i < MLKEM_K; i++)
		poly_add(&u.v[i], &u.v[i], &e1.v[i]);
	poly_decode(&mu, m, 1);
	poly_decompress(&mu, 1);
	poly_add(&v, &v, &e2);
	poly_add(&v, &v, &mu);
	/* c1 = ByteEncode_du(Compress_du(u)), c2 = ByteEncode_dv(Compress_dv(v)) */
	for (unsigned int i = 0; i < MLKEM_K; i++) {
		poly_compress(&u.v[i], MLKEM_DU);
		poly_encode(c + i * 32 * MLKEM_DU, &u.v[i], MLKEM_DU);
	}
	poly_compress(&v, MLKEM_DV);
	poly_encode(c + CT_U_BYTES, &v, MLKEM_DV);

	ct_wipe(&y, sizeof(y));
	ct_wipe(&e1, sizeof(e1));
	ct_wipe(&u, sizeof(u));
	ct_wipe(&e2, sizeof(e2));
	ct_wipe(&mu, sizeof(mu));
	ct_wipe(&v, sizeof(v));
}

/* K-PKE.Decrypt(dk_PKE, c), Algorithm 15. */
static void pke_decrypt(uint8_t ret_m[static 32], const uint8_t dk_pke[static PVEC_BYTES],
			const uint8_t c[static MLKEM768_CT_LEN])
{
	struct polyvec u, s_hat;
	struct poly v, w;

	/* u' = Decompress_du(ByteDecode_du(c1)), v' likewise from c2 */
	for (unsigned int i = 0; i < MLKEM_K; i++) {
		poly_decode(&u.v[i], c + i * 32 * MLKEM_DU, MLKEM_DU);
		poly_decompress(&u.v[i], MLKEM_DU);
	}
	poly_decode(&v, c + CT_U_BYTES, MLKEM_DV);
	poly_decompress(&v, MLKEM_DV);
	/* w = v' - NTT^-1(ŝ^T ∘ NTT(u')): |w| < 2q */
	polyvec_decode12(&s_hat, dk_pke);
	polyvec_ntt(&u);
	polyvec_dot(&w, &s_hat, &u);
	poly_invntt(&w);
	poly_sub(&w, &v, &w);
	/* m = ByteEncode_1(Compress_1(w)) */
	poly_compress(&w, 1);
	poly_encode(ret_m, &w, 1);

	ct_wipe(&s_hat, sizeof(s_hat));
	ct_wipe(&w, sizeof(w));
}

/* ---- ML-KEM (§6, §7) ---- */

/* §7.2 modulus check: ByteEncode12(ByteDecode12(t̂)) differs from t̂ exactly
 * when some 12-bit value is not below q (ByteDecode12 reduces it). ek is
 * public, the early return is fine. */
static bool ek_modulus_ok(const uint8_t ek[static MLKEM768_EK_LEN])
{
	struct poly p;

	for (unsigned int k = 0; k < MLKEM_K; k++) {
		poly_decode(&p, ek + k * POLY_BYTES, 12);
		for (unsigned int i = 0; i < MLKEM_N; i++)
			if (p.c[i] >= MLKEM_Q)
				return false;
	}
	return true;
}

bool mlkem768_ek_is_valid(const uint8_t *ek, size_t len)
{
	return len == MLKEM768_EK_LEN && ek_modulus_ok(ek);
}

/* §7.3 hash check: the H(ek) stored in dk matches the ek stored in dk. */
bool mlkem768_dk_is_valid(const uint8_t *dk, size_t len)
{
	uint8_t h[SHA3_256_LEN];

	if (len != MLKEM768_DK_LEN)
		return false;
	sha3_256(h, dk + DK_EK_OFF, MLKEM768_EK_LEN);
	return ct_memeq(h, dk + DK_H_OFF, sizeof(h));
}

/* ML-KEM.KeyGen_internal, Algorithm 16: dk = dk_PKE || ek || H(ek) || z. */
void mlkem768_keygen_internal(uint8_t ret_ek[static MLKEM768_EK_LEN],
			      uint8_t ret_dk[static MLKEM768_DK_LEN],
			      const uint8_t d[static MLKEM768_SEED_LEN],
			      const uint8_t z[static MLKEM768_SEED_LEN])
{
	pke_keygen(ret_ek, ret_dk, d);
	memcpy(ret_dk + DK_EK_OFF, ret_ek, MLKEM768_EK_LEN);
	sha3_256(ret_dk + DK_H_OFF, ret_ek, MLKEM768_EK_LEN);
	memcpy(ret_dk + DK_Z_OFF, z, MLKEM768_SEED_LEN);
}

/* ML-KEM.KeyGen, Algorithm 19: d then z from the rng. */
int mlkem768_keygen(uint8_t ret_ek[static MLKEM768_EK_LEN], uint8_t ret_dk[static MLKEM768_DK_LEN],
		    const struct rng *rng)
{
	uint8_t dz[2 * MLKEM768_SEED_LEN];
	int ret = rng_fill(rng, dz, sizeof(dz));

	if (ret != 0) {
		memset(ret_ek, 0, MLKEM768_EK_LEN);
		memset(ret_dk, 0, MLKEM768_DK_LEN);
		goto out;
	}
	mlkem768_keygen_internal(ret_ek, ret_dk, dz, dz + MLKEM768_SEED_LEN);
out:
	ct_wipe(dz, sizeof(dz));
	return ret;
}

/* ML-KEM.Encaps_internal, Algorithm 17, after the §7.2 modulus check (the
 * length half of §7.2 is the fixed-size parameter). */
int mlkem768_encaps_internal(uint8_t ret_ct[static MLKEM768_CT_LEN],
			     uint8_t ret_ss[static MLKEM768_SS_LEN],
			     const uint8_t ek[static MLKEM768_EK_LEN],
			     const uint8_t m[static MLKEM768_SEED_LEN])
{
	uint8_t g_in[64], kr[64];

	if (!ek_modulus_ok(ek)) {
		memset(ret_ct, 0, MLKEM768_CT_LEN);
		memset(ret_ss, 0, MLKEM768_SS_LEN);
		return -EINVAL;
	}
	/* (K, r) = G(m || H(ek)) */
	memcpy(g_in, m, 32);
	sha3_256(g_in + 32, ek, MLKEM768_EK_LEN);
	sha3_512(kr, g_in, sizeof(g_in));
	/* c = K-PKE.Encrypt(ek, m, r) */
	pke_encrypt(ret_ct, ek, m, kr + 32);
	memcpy(ret_ss, kr, MLKEM768_SS_LEN);

	ct_wipe(g_in, sizeof(g_in));
	ct_wipe(kr, sizeof(kr));
	return 0;
}

/* ML-KEM.Encaps, Algorithm 20. */
int mlkem768_encaps(uint8_t ret_ct[static MLKEM768_CT_LEN], uint8_t ret_ss[static MLKEM768_SS_LEN],
		    const uint8_t ek[static MLKEM768_EK_LEN], const struct rng *rng)
{
	uint8_t m[MLKEM768_SEED_LEN];
	int ret = rng_fill(rng, m, sizeof(m));

	if (ret != 0) {
		memset(ret_ct, 0, MLKEM768_CT_LEN);
		memset(ret_ss, 0, MLKEM768_SS_LEN);
		goto out;
	}
	ret = mlkem768_encaps_internal(ret_ct, ret_ss, ek, m);
out:
	ct_wipe(m, sizeof(m));
	return ret;
}

/* J(z || c) = SHAKE256(z || c, 32), §4.1 eq. (4.4). */
static void kdf_j(uint8_t ret[static 32], const uint8_t z[static 32],
		  const uint8_t c[static MLKEM768_CT_LEN])
{
	struct keccak_state st;

	shake256_init(&st);
	keccak_absorb(&st, z, 32);
	keccak_absorb(&st, c, MLKEM768_CT_LEN);
	keccak_squeeze(&st, ret, 32);
	keccak_done(&st);
}

/* ML-KEM.Decaps_internal, Algorithm 18. */
void mlkem768_decaps(uint8_t ret_ss[static MLKEM768_SS_LEN],
		     const uint8_t ct[static MLKEM768_CT_LEN],
		     const uint8_t dk[static MLKEM768_DK_LEN])
{
	const uint8_t *ek_pke = dk + DK_EK_OFF, *h = dk + DK_H_OFF, *z = dk + DK_Z_OFF;
	uint8_t g_in[64], kr[64], k_bar[32], ct2[MLKEM768_CT_LEN];
	uint8_t reject;

	/* m' = K-PKE.Decrypt(dk_PKE, c) */
	pke_decrypt(g_in, dk, ct);
	/* (K', r') = G(m' || h) */
	memcpy(g_in + 32, h, 32);
	sha3_512(kr, g_in, sizeof(g_in));
	/* K̄ = J(z || c) */
	kdf_j(k_bar, z, ct);
	/* c' = K-PKE.Encrypt(ek_PKE, m', r'); if c != c', K' = K̄ */
	pke_encrypt(ct2, ek_pke, g_in, kr + 32);
	reject = (uint8_t)(1 ^ ct_memeq(ct, ct2, MLKEM768_CT_LEN));
	ct_cmov(kr, k_bar, MLKEM768_SS_LEN, reject);
	memcpy(ret_ss, kr, MLKEM768_SS_LEN);

	ct_wipe(g_in, sizeof(g_in));
	ct_wipe(kr, sizeof(kr));
	ct_wipe(k_bar, sizeof(k_bar));
	ct_wipe(ct2, sizeof(ct2));
	ct_wipe(&reject, sizeof(reject));
}
