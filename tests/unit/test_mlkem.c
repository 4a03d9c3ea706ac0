/* ML-KEM-768 and its Keccak: the sponge against OpenSSL, the field arithmetic
 * and compression exhaustively against naive formulas, NTT multiplication
 * against schoolbook multiplication, every NIST ACVP case in
 * vectors/ml-kem-768 and every Wycheproof ML-KEM-768 case, then random round
 * trips, implicit rejection and the length and modulus checks.
 *
 * mlkem.c is included to reach its static helpers (STYLE: tests include the
 * .c); the library's copy is then not linked into this binary.
 *
 * Length checks the API leaves to its caller are done here as the protocol
 * does them: a ciphertext must be exactly MLKEM768_CT_LEN bytes and a key
 * seed exactly d || z = 64 bytes, otherwise the input is refused before any
 * ML-KEM function runs. ek and dk lengths go to mlkem768_ek_is_valid and
 * mlkem768_dk_is_valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mlkem.c"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/* xorshift64*: reproducible inputs for the differential tests */
static uint64_t prng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t prng(void)
{
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545f4914f6cdd1dULL;
}

static void prng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng();
}

static int32_t mod_q(int64_t a)
{
	int64_t r = a % MLKEM_Q;
	return (int32_t)(r < 0 ? r + MLKEM_Q : r);
}

/* ---- Keccak against OpenSSL ---------------------------------------------- */

static void openssl_digest(const EVP_MD *md, uint8_t *out, size_t out_len, const uint8_t *in,
			   size_t in_len, bool xof)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, in, in_len), 1);
	if (xof)
		assert_int_equal(EVP_DigestFinalXOF(ctx, out, out_len), 1);
	else
		assert_int_equal(EVP_DigestFinal_ex(ctx, out, &len), 1);
	EVP_MD_CTX_free(ctx);
}

/* Absorbs and squeezes in random pieces, so every alignment of pos is hit. */
static void chunked(void (*init)(struct keccak_state *), uint8_t *out, size_t out_len,
		    const uint8_t *in, size_t in_len)
{
	struct keccak_state st;
	size_t done = 0;
	init(&st);
	while (done < in_len) {
		size_t n = prng() % 200;
		n = n > in_len - done ? in_len - done : n;
		keccak_absorb(&st, in + done, n);
		done += n;
	}
	for (done = 0; done < out_len;) {
		size_t n = prng() % 400;
		n = n > out_len - done ? out_len - done : n;
		keccak_squeeze(&st, out + done, n);
		done += n;
	}
	keccak_done(&st);
}

static void test_keccak_matches_openssl(void **state)
{
	static uint8_t in[1200], out[1100], ref[1100];
	(void)state;
	prng_fill(in, sizeof(in));
	for (size_t len = 0; len <= sizeof(in); len += 1 + len / 8) {
		sha3_256(out, in, len);
		openssl_digest(EVP_sha3_256(), ref, 32, in, len, false);
		assert_memory_equal(out, ref, 32);
		chunked(sha3_512_init, out, 64, in, len);
		openssl_digest(EVP_sha3_512(), ref, 64, in, len, false);
		assert_memory_equal(out, ref, 64);
		size_t out_len = 1 + prng() % sizeof(out);
		chunked(shake128_init, out, out_len, in, len);
		openssl_digest(EVP_shake128(), ref, out_len, in, len, true);
		assert_memory_equal(out, ref, out_len);
		shake256(out, out_len, in, len);
		openssl_digest(EVP_shake256(), ref, out_len, in, len, true);
		assert_memory_equal(out, ref, out_len);
	}
}

/* ---- arithmetic, exhaustive or randomized against naive formulas ---------- */

static void test_reductions(void **state)
{
	(void)state;
	for (int32_t a = INT16_MIN; a <= INT16_MAX; a++) {
		int16_t r = barrett_reduce((int16_t)a);
		assert_true(r >= -(MLKEM_Q - 1) / 2 && r <= (MLKEM_Q - 1) / 2);
		assert_int_equal(mod_q(r), mod_q(a));
		assert_int_equal(to_canonical((int16_t)a), mod_q(a));
	}
	for (int i = 0; i < 1000000; i++) {
		int32_t a = (int32_t)(prng() % ((2u * MLKEM_Q << 15) - 1)) - ((MLKEM_Q << 15) - 1);
		int16_t r = montgomery_reduce(a);
		assert_true(r > -MLKEM_Q && r < MLKEM_Q);
		assert_int_equal(mod_q((int64_t)r * 65536), mod_q(a));
		int16_t x = (int16_t)prng(), y = (int16_t)(prng() % MLKEM_Q - MLKEM_Q / 2);
		assert_int_equal(fqmul(x, y), montgomery_reduce((int32_t)x * y));
	}
}

static int32_t pow_mod_q(int32_t base, unsigned int e)
{
	int64_t r = 1;
	for (; e > 0; e--)
		r = r * base % MLKEM_Q;
	return (int32_t)r;
}

/* zetas[i] = 17^BitRev7(i) R mod q, centred; gammas γ_i = 17^(2 BitRev7(i) + 1)
 * (FIPS 203 Appendix A) are ±zetas[64 + i / 2]. */
static void test_zeta_table(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 128; i++) {
		unsigned int rev = 0;
		for (unsigned int b = 0; b < 7; b++)
			rev |= ((i >> b) & 1) << (6 - b);
		assert_int_equal(mod_q(zetas[i]), mod_q((int64_t)pow_mod_q(17, rev) * 65536));
		assert_true(zetas[i] >= -(MLKEM_Q - 1) / 2 && zetas[i] <= (MLKEM_Q - 1) / 2);
		int16_t gamma = (int16_t)(i % 2 ? -zetas[64 + i / 2] : zetas[64 + i / 2]);
		assert_int_equal(mod_q(gamma), mod_q((int64_t)pow_mod_q(17, 2 * rev + 1) * 65536));
	}
	assert_int_equal(((int64_t)QINV * MLKEM_Q) & 0xffff, 1);
	assert_int_equal(MONT_R2, mod_q((int64_t)65536 * 65536));
	assert_int_equal(mod_q((int64_t)INVN_R2 * 128), mod_q((int64_t)65536 * 65536));
	assert_int_equal(BARRETT_V, ((1 << 26) + MLKEM_Q / 2) / MLKEM_Q);
	assert_int_equal(DIV_Q_MUL, ((1ULL << 32) + MLKEM_Q - 1) / MLKEM_Q);
}

static void test_compress_exhaustive(void **state)
{
	static const unsigned int ds[] = {1, 4, 10, 11};
	(void)state;
	for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		unsigned int d = ds[k];
		for (uint32_t x = 0; x < MLKEM_Q; x++) {
			/* round half up of 2^d x / q, by integer division */
			uint32_t naive = (((x << d) * 2 + MLKEM_Q) / (2 * MLKEM_Q)) % (1u << d);
			assert_int_equal(compress((uint16_t)x, d), naive);
		}
		for (uint32_t y = 0; y < (1u << d); y++) {
			uint32_t naive = (y * MLKEM_Q * 2 + (1u << d)) / (2u << d);
			assert_int_equal(decompress((uint16_t)y, d), naive);
		}
	}
}

static void naive_mul(int32_t r[MLKEM_N], const struct poly *a, const struct poly *b)
{
	int64_t acc[MLKEM_N] = {0};
	for (int i = 0; i < MLKEM_N; i++)
		for (int j = 0; j < MLKEM_N; j++) {
			int64_t p = (int64_t)a->c[i] * b->c[j];
			/* X^256 = -1 */
			if (i + j < MLKEM_N)
				acc[i + j] += p;
			else
				acc[i + j - MLKEM_N] -= p;
		}
	for (int i = 0; i < MLKEM_N; i++)
		r[i] = mod_q(acc[i]);
}

/* NTT^-1(NTT(a) ∘ NTT(b)) against schoolbook multiplication mod X^256 + 1,
 * including NTT-domain operands with raw 12-bit values >= q (as decoded
 * from an unchecked key). */
static void test_ntt_multiplication(void **state)
{
	static struct polyvec va, vb;
	struct poly a, b, r;
	int32_t ref[MLKEM_N];
	(void)state;
	for (int iter = 0; iter < 50; iter++) {
		for (int i = 0; i < MLKEM_N; i++) {
			a.c[i] = (int16_t)(prng() % (2 * MLKEM_Q - 1)) - (MLKEM_Q - 1);
			b.c[i] = (int16_t)(prng() % MLKEM_Q);
		}
		naive_mul(ref, &a, &b);
		memset(&va, 0, sizeof(va));
		memset(&vb, 0, sizeof(vb));
		va.v[iter % MLKEM_K] = a;
		vb.v[iter % MLKEM_K] = b;
		polyvec_ntt(&va);
		polyvec_ntt(&vb);
		if (iter % 2) /* same values mod q, as unreduced 12-bit values */
			for (int i = 0; i < MLKEM_N; i++) {
				int16_t *c = &va.v[iter % MLKEM_K].c[i];
				int32_t v = mod_q(*c);
				*c = (int16_t)(v + MLKEM_Q < 4096 && prng() % 2 ? v + MLKEM_Q : v);
			}
		polyvec_dot(&r, &va, &vb);
		poly_invntt(&r);
		for (int i = 0; i < MLKEM_N; i++)
			assert_int_equal(to_canonical(r.c[i]), ref[i]);
	}
}

static void test_encode_roundtrip(void **state)
{
	static const unsigned int ds[] = {1, 4, 10, 12};
	struct poly p, back;
	uint8_t buf[POLY_BYTES];
	(void)state;
	for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		for (int i = 0; i < MLKEM_N; i++)
			p.c[i] = (int16_t)(prng() % (1u << ds[k]));
		poly_encode(buf, &p, ds[k]);
		poly_decode(&back, buf, ds[k]);
		assert_memory_equal(&p, &back, sizeof(p));
		/* bit 0 of the first coefficient is bit 0 of byte 0 */
		assert_int_equal(buf[0] & 1, p.c[0] & 1);
	}
}

/* ---- NIST ACVP vectors (vectors/ml-kem-768, all six files) -------------------------- */

typedef bool (*kv_check_fn)(size_t n, char **names, char **values);

struct kv_run {
	kv_check_fn check;
	size_t passed, failed;
};

/* A named hex field of the case; a field the file lacks fails the test. */
static uint8_t *kv_hex(size_t n, char **names, char **values, const char *name, size_t *len)
{
	const char *v = tu_kv_get(n, names, values, name);
	if (!v)
		fail_msg("vector case without field %s", name);
	return tu_hex(v, len);
}

static bool kv_result_pass(size_t n, char **names, char **values)
{
	const char *v = tu_kv_get(n, names, values, "result");
	if (!v)
		fail_msg("vector case without result");
	return strcmp(v, "pass") == 0;
}

static bool nist_keygen(size_t n, char **names, char **values)
{
	size_t dl, zl, el, kl;
	uint8_t *d = kv_hex(n, names, values, "d", &dl), *z = kv_hex(n, names, values, "z", &zl);
	uint8_t *ek = kv_hex(n, names, values, "ek", &el),
		*dk = kv_hex(n, names, values, "dk", &kl);
	uint8_t got_ek[MLKEM768_EK_LEN], got_dk[MLKEM768_DK_LEN];
	bool ok = dl == 32 && zl == 32 && el == sizeof(got_ek) && kl == sizeof(got_dk);
	if (ok) {
		mlkem768_keygen_internal(got_ek, got_dk, d, z);
		ok = memcmp(got_ek, ek, el) == 0 && memcmp(got_dk, dk, kl) == 0;
	}
	free(d);
	free(z);
	free(ek);
	free(dk);
	return ok;
}

static bool nist_encap(size_t n, char **names, char **values)
{
	size_t el, ml, cl, kl;
	uint8_t *ek = kv_hex(n, names, values, "ek", &el), *m = kv_hex(n, names, values, "m", &ml);
	uint8_t *c = kv_hex(n, names, values, "c", &cl), *k = kv_hex(n, names, values, "k", &kl);
	uint8_t got_c[MLKEM768_CT_LEN], got_k[MLKEM768_SS_LEN];
	bool ok =
	    mlkem768_ek_is_valid(ek, el) && ml == 32 && cl == sizeof(got_c) && kl == sizeof(got_k);
	if (ok)
		ok = mlkem768_encaps_internal(got_c, got_k, ek, m) == 0 &&
		     memcmp(got_c, c, cl) == 0 && memcmp(got_k, k, kl) == 0;
	free(ek);
	free(m);
	free(c);
	free(k);
	return ok;
}

/* Valid and implicit-rejection cases alike must give k; seed-format cases
 * must also re-derive dk from (d, z). */
static bool nist_decap(size_t n, char **names, char **values)
{
	size_t dkl, cl, kl, dl, zl;
	uint8_t *dk = kv_hex(n, names, values, "dk", &dkl), *c = kv_hex(n, names, values, "c", &cl);
	uint8_t *k = kv_hex(n, names, values, "k", &kl);
	uint8_t *d = kv_hex(n, names, values, "d", &dl), *z = kv_hex(n, names, values, "z", &zl);
	const char *format = tu_kv_get(n, names, values, "keyFormat");
	uint8_t got_k[MLKEM768_SS_LEN], ek[MLKEM768_EK_LEN], dk2[MLKEM768_DK_LEN];
	bool ok = mlkem768_dk_is_valid(dk, dkl) && cl == MLKEM768_CT_LEN && kl == sizeof(got_k);
	if (ok) {
		mlkem768_decaps(got_k, c, dk);
		ok = memcmp(got_k, k, kl) == 0;
	}
	if (ok && format && strcmp(format, "seed") == 0) {
		ok = dl == 32 && zl == 32;
		if (ok) {
			mlkem768_keygen_internal(ek, dk2, d, z);
			ok = memcmp(dk2, dk, sizeof(dk2)) == 0;
		}
	}
	free(dk);
	free(c);
	free(k);
	free(d);
	free(z);
	return ok;
}

static bool nist_dkcheck(size_t n, char **names, char **values)
{
	size_t len;
	uint8_t *dk = kv_hex(n, names, values, "dk", &len);
	bool ok = mlkem768_dk_is_valid(dk, len) == kv_result_pass(n, names, values);
	free(dk);
	return ok;
}

/* The accept/reject verdict, and for a 1184-byte key Encaps agrees. */
static bool nist_ekcheck(size_t n, char **names, char **values)
{
	size_t len;
	uint8_t *ek = kv_hex(n, names, values, "ek", &len);
	uint8_t m[32] = {1}, c[MLKEM768_CT_LEN], k[MLKEM768_SS_LEN];
	bool pass = kv_result_pass(n, names, values);
	bool ok = mlkem768_ek_is_valid(ek, len) == pass;
	if (ok && len == MLKEM768_EK_LEN)
		ok = (mlkem768_encaps_internal(c, k, ek, m) == 0) == pass;
	free(ek);
	return ok;
}

/* Every case must fail, and only the modulus check can catch it. */
static bool nist_ekcheck_modulus(size_t n, char **names, char **values)
{
	size_t len;
	uint8_t *ek = kv_hex(n, names, values, "ek", &len);
	uint8_t m[32] = {2}, c[MLKEM768_CT_LEN], k[MLKEM768_SS_LEN], zero[MLKEM768_CT_LEN] = {0};
	bool ok = !kv_result_pass(n, names, values) && len == MLKEM768_EK_LEN &&
		  !mlkem768_ek_is_valid(ek, len) &&
		  mlkem768_encaps_internal(c, k, ek, m) == -EINVAL &&
		  memcmp(c, zero, sizeof(c)) == 0 && memcmp(k, zero, sizeof(k)) == 0;
	free(ek);
	return ok;
}

static void kv_case(void *ctx, size_t n, char **names, char **values)
{
	struct kv_run *run = ctx;
	if (run->check(n, names, values)) {
		run->passed++;
		return;
	}
	run->failed++;
	const char *vs = tu_kv_get(n, names, values, "vs"),
		   *id = tu_kv_get(n, names, values, "tcId");
	printf("  FAILED: vs = %s, tcId = %s\n", vs ? vs : "?", id ? id : "?");
}

static void test_nist_vectors(void **state)
{
	static const struct {
		const char *file;
		kv_check_fn check;
	} files[] = {
	    {"ml-kem-768-keygen.txt", nist_keygen},
	    {"ml-kem-768-encap.txt", nist_encap},
	    {"ml-kem-768-decap.txt", nist_decap},
	    {"ml-kem-768-dkcheck.txt", nist_dkcheck},
	    {"ml-kem-768-ekcheck.txt", nist_ekcheck},
	    {"ml-kem-768-ekcheck-modulus-derived.txt", nist_ekcheck_modulus},
	};
	size_t passed = 0, failed = 0;
	bool empty = false;
	char rel[256];
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct kv_run run = {.check = files[i].check};
		snprintf(rel, sizeof(rel), "ml-kem-768/%s", files[i].file);
		size_t cases = tu_kv_file_foreach(tu_vector_path(rel), kv_case, &run);
		printf("%s: %zu passed, %zu failed\n", files[i].file, run.passed, run.failed);
		if (cases == 0) {
			printf("  FAILED: %s has no cases\n", files[i].file);
			empty = true;
		}
		passed += run.passed;
		failed += run.failed;
	}
	printf("ml-kem-768 vectors: %zu passed, %zu failed\n", passed, failed);
	assert_false(empty);
	assert_int_equal(failed, 0);
}

/* ---- Wycheproof --------------------------------------------------------------- */

enum outcome {
	OUT_MATCH,    /* accepted, and the output is the expected one */
	OUT_MISMATCH, /* accepted, but a wrong output (or nothing to compare) */
	OUT_REFUSED,  /* refused by a length or validity check */
};

typedef enum outcome (*wp_case_fn)(json_t *test);

/* A hex field of a test, or NULL (and *len = 0) when the field is absent. */
static uint8_t *wp_hex(json_t *test, const char *name, size_t *len)
{
	const char *v = json_string_value(json_object_get(test, name));
	*len = 0;
	return v ? tu_hex(v, len) : NULL;
}

static bool eq(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	return want && got_len == want_len && memcmp(got, want, want_len) == 0;
}

/* MLKEMTest: seed = d || z, keygen must give ek, decaps of c must give K. */
static enum outcome wp_keygen_decaps(json_t *t)
{
	size_t sl, el, cl, kl;
	uint8_t *seed = wp_hex(t, "seed", &sl), *ek = wp_hex(t, "ek", &el);
	uint8_t *c = wp_hex(t, "c", &cl), *k = wp_hex(t, "K", &kl);
	uint8_t got_ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], got_k[MLKEM768_SS_LEN];
	enum outcome out = OUT_REFUSED;
	if (sl == 2 * MLKEM768_SEED_LEN && cl == MLKEM768_CT_LEN) {
		mlkem768_keygen_internal(got_ek, dk, seed, seed + MLKEM768_SEED_LEN);
		mlkem768_decaps(got_k, c, dk);
		out = (!ek || eq(got_ek, sizeof(got_ek), ek, el)) && eq(got_k, sizeof(got_k), k, kl)
			  ? OUT_MATCH
			  : OUT_MISMATCH;
	}
	free(seed);
	free(ek);
	free(c);
	free(k);
	return out;
}

/* MLKEMEncapsTest: ek (checked per §7.2 with its length) and m give c and K. */
static enum outcome wp_encaps(json_t *t)
{
	size_t el, ml, cl, kl;
	uint8_t *ek = wp_hex(t, "ek", &el), *m = wp_hex(t, "m", &ml);
	uint8_t *c = wp_hex(t, "c", &cl), *k = wp_hex(t, "K", &kl);
	uint8_t got_c[MLKEM768_CT_LEN], got_k[MLKEM768_SS_LEN];
	enum outcome out = OUT_REFUSED;
	bool valid = mlkem768_ek_is_valid(ek, el);
	/* encaps must refuse on its own what ek_is_valid refuses at this length */
	if (el == MLKEM768_EK_LEN && ml == MLKEM768_SEED_LEN) {
		int ret = mlkem768_encaps_internal(got_c, got_k, ek, m);
		if ((ret == 0) != valid)
			out = OUT_MISMATCH;
		else if (ret == 0)
			out = eq(got_c, sizeof(got_c), c, cl) && eq(got_k, sizeof(got_k), k, kl)
				  ? OUT_MATCH
				  : OUT_MISMATCH;
	} else if (valid) {
		out = OUT_MISMATCH;
	}
	free(ek);
	free(m);
	free(c);
	free(k);
	return out;
}

/* MLKEMKeyGen: seed = d || z gives ek and dk. */
static enum outcome wp_keygen(json_t *t)
{
	size_t sl, el, dl;
	uint8_t *seed = wp_hex(t, "seed", &sl), *ek = wp_hex(t, "ek", &el),
		*dk = wp_hex(t, "dk", &dl);
	uint8_t got_ek[MLKEM768_EK_LEN], got_dk[MLKEM768_DK_LEN];
	enum outcome out = OUT_REFUSED;
	if (sl == 2 * MLKEM768_SEED_LEN) {
		mlkem768_keygen_internal(got_ek, got_dk, seed, seed + MLKEM768_SEED_LEN);
		out = eq(got_ek, sizeof(got_ek), ek, el) && eq(got_dk, sizeof(got_dk), dk, dl)
			  ? OUT_MATCH
			  : OUT_MISMATCH;
	}
	free(seed);
	free(ek);
	free(dk);
	return out;
}

/* MLKEMDecapsValidationTest with a "semi-expanded" key: the 2400-byte FIPS 203
 * dk (ŝ in NTT form, expanded from the seed, but Â still to be expanded from
 * ρ; the seed-only form is what mlkem_768_test.json calls the private key).
 * That is our dk layout, so the given ek must sit at dk[1152:2336]. */
static enum outcome wp_semi_expanded(json_t *t)
{
	size_t dl, cl, el, kl;
	uint8_t *dk = wp_hex(t, "dk", &dl), *c = wp_hex(t, "c", &cl);
	uint8_t *ek = wp_hex(t, "ek", &el), *k = wp_hex(t, "K", &kl);
	uint8_t got_k[MLKEM768_SS_LEN];
	enum outcome out = OUT_REFUSED;
	if (mlkem768_dk_is_valid(dk, dl) && cl == MLKEM768_CT_LEN) {
		mlkem768_decaps(got_k, c, dk);
		out = eq(dk + DK_EK_OFF, MLKEM768_EK_LEN, ek, el) && eq(got_k, sizeof(got_k), k, kl)
			  ? OUT_MATCH
			  : OUT_MISMATCH;
	}
	free(dk);
	free(c);
	free(ek);
	free(k);
	return out;
}

static bool wp_verdict(const char *result, enum outcome out)
{
	if (strcmp(result, "valid") == 0)
		return out == OUT_MATCH;
	if (strcmp(result, "invalid") == 0)
		return out == OUT_REFUSED;
	return out != OUT_MISMATCH; /* acceptable: either, but never a wrong answer */
}

/* Runs every ML-KEM-768 test of a file; groups of other parameter sets are
 * counted as skipped by name (none in the files used here). */
static size_t wp_run(const char *file, wp_case_fn fn)
{
	json_t *root = tu_wycheproof_load(file), *group, *test;
	size_t gi, ti, passed = 0, failed = 0, skipped = 0;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group)
	{
		json_t *tests = json_object_get(group, "tests");
		const char *set = json_string_value(json_object_get(group, "parameterSet"));
		if (!set || strcmp(set, "ML-KEM-768") != 0) {
			printf("  skipped group %zu (%s): %zu tests\n", gi, set ? set : "?",
			       json_array_size(tests));
			skipped += json_array_size(tests);
			continue;
		}
		json_array_foreach(tests, ti, test)
		{
			const char *result = json_string_value(json_object_get(test, "result"));
			if (result && wp_verdict(result, fn(test))) {
				passed++;
				continue;
			}
			failed++;
			printf("  FAILED: tcId %lld (%s)\n",
			       (long long)json_integer_value(json_object_get(test, "tcId")),
			       json_string_value(json_object_get(test, "comment")));
		}
	}
	printf("wycheproof %s: %zu passed, %zu failed", file, passed, failed);
	if (skipped)
		printf(", %zu skipped", skipped);
	printf("\n");
	json_decref(root);
	if (passed == 0)
		printf("  FAILED: %s has no applicable cases\n", file);
	return passed == 0 ? failed + 1 : failed;
}

static void test_wycheproof(void **state)
{
	size_t failed = 0;
	(void)state;
	failed += wp_run("mlkem_768_test.json", wp_keygen_decaps);
	failed += wp_run("mlkem_768_encaps_test.json", wp_encaps);
	failed += wp_run("mlkem_768_keygen_seed_test.json", wp_keygen);
	failed += wp_run("mlkem_768_semi_expanded_decaps_test.json", wp_semi_expanded);
	assert_int_equal(failed, 0);
}

/* ---- properties ------------------------------------------------------------------ */

struct keypair {
	uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
};

static void test_random_round_trips(void **state)
{
	struct keypair kp;
	uint8_t ct[MLKEM768_CT_LEN], ss[MLKEM768_SS_LEN], ss2[MLKEM768_SS_LEN];
	uint8_t j_in[32 + MLKEM768_CT_LEN], k_bar[32];
	(void)state;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(mlkem768_keygen(kp.ek, kp.dk, &rng_system), 0);
		assert_true(mlkem768_ek_is_valid(kp.ek, sizeof(kp.ek)));
		assert_true(mlkem768_dk_is_valid(kp.dk, sizeof(kp.dk)));
		assert_int_equal(mlkem768_encaps(ct, ss, kp.ek, &rng_system), 0);
		mlkem768_decaps(ss2, ct, kp.dk);
		assert_memory_equal(ss, ss2, sizeof(ss));

		/* one flipped bit anywhere: the implicit-rejection key J(z || c') */
		size_t pos = (size_t)(prng() % sizeof(ct));
		ct[pos] ^= (uint8_t)(1u << (prng() % 8));
		mlkem768_decaps(ss2, ct, kp.dk);
		memcpy(j_in, kp.dk + DK_Z_OFF, 32);
		memcpy(j_in + 32, ct, sizeof(ct));
		shake256(k_bar, sizeof(k_bar), j_in, sizeof(j_in));
		assert_memory_equal(ss2, k_bar, sizeof(k_bar));
		assert_memory_not_equal(ss2, ss, sizeof(ss));
	}
}

/* keygen draws d then z: the same stream through keygen_internal agrees. */
static void test_rng_order(void **state)
{
	static const uint8_t seed[32] = {7};
	struct rng_det det;
	struct rng r;
	struct keypair a, b;
	uint8_t dz[64], m[32], ct_a[MLKEM768_CT_LEN], ct_b[MLKEM768_CT_LEN], ss_a[32], ss_b[32];
	(void)state;
	rng_det_init(&det, seed);
	r = rng_det_as_rng(&det);
	assert_int_equal(mlkem768_keygen(a.ek, a.dk, &r), 0);
	assert_int_equal(mlkem768_encaps(ct_a, ss_a, a.ek, &r), 0);
	rng_det_init(&det, seed);
	assert_int_equal(rng_fill(&r, dz, sizeof(dz)), 0);
	assert_int_equal(rng_fill(&r, m, sizeof(m)), 0);
	mlkem768_keygen_internal(b.ek, b.dk, dz, dz + 32);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(mlkem768_encaps_internal(ct_b, ss_b, b.ek, m), 0);
	assert_memory_equal(ct_a, ct_b, sizeof(ct_a));
	assert_memory_equal(ss_a, ss_b, sizeof(ss_a));
}

static int failing_fill(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	memset(out, 0xaa, len);
	return -EIO;
}

static void test_rng_failure(void **state)
{
	static const struct rng broken = {.fill = failing_fill};
	static const uint8_t zero[MLKEM768_DK_LEN];
	struct keypair kp;
	uint8_t ct[MLKEM768_CT_LEN], ss[MLKEM768_SS_LEN];
	(void)state;
	memset(&kp, 0xff, sizeof(kp));
	assert_int_equal(mlkem768_keygen(kp.ek, kp.dk, &broken), -EIO);
	assert_memory_equal(kp.ek, zero, sizeof(kp.ek));
	assert_memory_equal(kp.dk, zero, sizeof(kp.dk));
	assert_int_equal(mlkem768_keygen(kp.ek, kp.dk, &rng_system), 0);
	memset(ss, 0xff, sizeof(ss));
	assert_int_equal(mlkem768_encaps(ct, ss, kp.ek, &broken), -EIO);
	assert_memory_equal(ct, zero, sizeof(ct));
	assert_memory_equal(ss, zero, sizeof(ss));
}

/* Numbered boundaries of the two key checks. */
static void test_key_checks(void **state)
{
	static struct keypair kp;
	static uint8_t big[MLKEM768_DK_LEN + 1];
	static const struct {
		size_t len;
		bool ek_ok, dk_ok;
	} lens[] = {
	    /* 1 */ {0, false, false},
	    /* 2 */ {MLKEM768_EK_LEN - 1, false, false},
	    /* 3 */ {MLKEM768_EK_LEN, true, false},
	    /* 4 */ {MLKEM768_EK_LEN + 1, false, false},
	    /* 5 */ {MLKEM768_DK_LEN - 1, false, false},
	    /* 6 */ {MLKEM768_DK_LEN, false, true},
	    /* 7 */ {MLKEM768_DK_LEN + 1, false, false},
	};
	uint8_t ct[MLKEM768_CT_LEN], ss[MLKEM768_SS_LEN], m[32] = {3};
	(void)state;
	assert_int_equal(mlkem768_keygen(kp.ek, kp.dk, &rng_system), 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(big, kp.ek, sizeof(kp.ek));
		assert_int_equal(mlkem768_ek_is_valid(big, lens[i].len), lens[i].ek_ok);
		memcpy(big, kp.dk, sizeof(kp.dk));
		assert_int_equal(mlkem768_dk_is_valid(big, lens[i].len), lens[i].dk_ok);
	}
	/* coefficient 1 = q - 1 is fine, q is not (bytes 1-2 hold it, high 12 bits) */
	kp.ek[1] = (uint8_t)((kp.ek[1] & 0x0f) | ((MLKEM_Q - 1) & 0x0f) << 4);
	kp.ek[2] = (uint8_t)((MLKEM_Q - 1) >> 4);
	assert_true(mlkem768_ek_is_valid(kp.ek, sizeof(kp.ek)));
	kp.ek[1] = (uint8_t)((kp.ek[1] & 0x0f) | (MLKEM_Q & 0x0f) << 4);
	kp.ek[2] = (uint8_t)(MLKEM_Q >> 4);
	assert_false(mlkem768_ek_is_valid(kp.ek, sizeof(kp.ek)));
	assert_int_equal(mlkem768_encaps_internal(ct, ss, kp.ek, m), -EINVAL);
	assert_int_equal(mlkem768_encaps(ct, ss, kp.ek, &rng_system), -EINVAL);
	/* a changed embedded ek or H(ek) or fails the dk check; a changed z does not */
	kp.dk[DK_Z_OFF] ^= 1;
	assert_true(mlkem768_dk_is_valid(kp.dk, sizeof(kp.dk)));
	kp.dk[DK_H_OFF + 31] ^= 0x80;
	assert_false(mlkem768_dk_is_valid(kp.dk, sizeof(kp.dk)));
	kp.dk[DK_H_OFF + 31] ^= 0x80;
	kp.dk[DK_EK_OFF + 5] ^= 1;
	assert_false(mlkem768_dk_is_valid(kp.dk, sizeof(kp.dk)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keccak_matches_openssl),
	    cmocka_unit_test(test_reductions),
	    cmocka_unit_test(test_zeta_table),
	    cmocka_unit_test(test_compress_exhaustive),
	    cmocka_unit_test(test_ntt_multiplication),
	    cmocka_unit_test(test_encode_roundtrip),
	    cmocka_unit_test(test_nist_vectors),
	    cmocka_unit_test(test_wycheproof),
	    cmocka_unit_test(test_random_round_trips),
	    cmocka_unit_test(test_rng_order),
	    cmocka_unit_test(test_rng_failure),
	    cmocka_unit_test(test_key_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
