/* The crypto primitives' own properties: constant-time helpers, the
 * deterministic rng, X25519 key handling, hashes, the AEAD nonce layout and
 * the transport cipher in its three modes (round trips, forgery rejection,
 * the cascade's two independent layers, re-keying, and no allocation per
 * packet, counted through OpenSSL's allocator hooks). Known answers against
 * external vectors live in test_wycheproof.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/cipher.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "testutil.h"
#include "util/endian.h"

/* ---- allocation counting ------------------------------------------------ */

static size_t alloc_count;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	alloc_count++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	alloc_count++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* ---- helpers -------------------------------------------------------------- */

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static uint8_t *hex_fixed(const char *hex, size_t want_len)
{
	size_t len;
	uint8_t *p = tu_hex(hex, &len);
	assert_int_equal(len, want_len);
	return p;
}

static const uint8_t secret_a[CIPHER_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t secret_b[CIPHER_SECRET_LEN] = {0xb0, 0x0b};
static const enum cipher_mode all_modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY, CIPHER_CASCADE};
#define N_MODES (sizeof(all_modes) / sizeof(all_modes[0]))

/* ---- ct ------------------------------------------------------------------- */

static void test_ct_memeq(void **state)
{
	(void)state;
	uint8_t a[64], b[64];
	fill_pattern(a, sizeof(a), 7);
	memcpy(b, a, sizeof(b));
	assert_true(ct_memeq(a, b, sizeof(a)));
	assert_true(ct_memeq(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_false(ct_memeq(a, b, sizeof(a)));
			b[i] ^= (uint8_t)(1u << bit);
		}
	/* only the first n bytes count */
	b[63] ^= 1;
	assert_true(ct_memeq(a, b, 63));
}

static void test_ct_is_zero(void **state)
{
	(void)state;
	uint8_t z[48] = {0};
	assert_true(ct_is_zero(z, sizeof(z)));
	assert_true(ct_is_zero(z, 0));
	for (size_t i = 0; i < sizeof(z); i++) {
		z[i] = 0x80;
		assert_false(ct_is_zero(z, sizeof(z)));
		z[i] = 0;
	}
}

static void test_ct_cmov(void **state)
{
	(void)state;
	uint8_t dst[33], src[33], orig[33];
	fill_pattern(dst, sizeof(dst), 1);
	fill_pattern(src, sizeof(src), 99);
	memcpy(orig, dst, sizeof(dst));
	ct_cmov(dst, src, sizeof(dst), 0);
	assert_memory_equal(dst, orig, sizeof(dst));
	ct_cmov(dst, src, sizeof(dst), 1);
	assert_memory_equal(dst, src, sizeof(dst));
}

static void test_ct_wipe(void **state)
{
	(void)state;
	uint8_t buf[40];
	fill_pattern(buf, sizeof(buf), 5);
	ct_wipe(buf, sizeof(buf));
	assert_true(ct_is_zero(buf, sizeof(buf)));
	ct_wipe(NULL, 10); /* documented as harmless */
}

/* ---- rng_det -------------------------------------------------------------- */

static void det_stream(const uint8_t seed[static 32], uint8_t *out, const size_t *splits,
		       size_t n_splits)
{
	struct rng_det d;
	rng_det_init(&d, seed);
	struct rng r = rng_det_as_rng(&d);
	for (size_t i = 0; i < n_splits; i++) {
		assert_int_equal(rng_fill(&r, out, splits[i]), 0);
		out += splits[i];
	}
}

static void test_rng_det_split_independent(void **state)
{
	(void)state;
	static const size_t whole[] = {200};
	static const size_t pieces[] = {1, 7, 24, 32, 0, 33, 63, 40};
	static const size_t bytes[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
				       5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
	uint8_t seed[32], a[200], b[200], c[200];
	fill_pattern(seed, sizeof(seed), 42);
	det_stream(seed, a, whole, 1);
	det_stream(seed, b, pieces, sizeof(pieces) / sizeof(pieces[0]));
	det_stream(seed, c, bytes, sizeof(bytes) / sizeof(bytes[0]));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(a, c, sizeof(a));
	/* a different seed gives a different stream */
	seed[0] ^= 1;
	det_stream(seed, b, whole, 1);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* The stream is the one rng.h documents: block i = HMAC(seed, label || LE64(i)). */
static void test_rng_det_matches_spec(void **state)
{
	(void)state;
	static const char label[] = "lostlove det rng";
	static const size_t whole[] = {96};
	uint8_t seed[32], got[96], want[32], ctr[8];
	fill_pattern(seed, sizeof(seed), 3);
	det_stream(seed, got, whole, 1);
	for (uint64_t i = 0; i < 3; i++) {
		le64_store(ctr, i);
		struct iov_c parts[] = {{label, sizeof(label) - 1}, {ctr, sizeof(ctr)}};
		assert_int_equal(hmac_sha256_v(want, seed, sizeof(seed), parts, 2), 0);
		assert_memory_equal(got + 32 * i, want, 32);
	}
}

/* ---- x25519 ----------------------------------------------------------------- */

/* RFC 7748 §6.1. */
static void test_x25519_rfc7748(void **state)
{
	(void)state;
	uint8_t *a =
	    hex_fixed("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", 32);
	uint8_t *a_pub =
	    hex_fixed("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", 32);
	uint8_t *b =
	    hex_fixed("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", 32);
	uint8_t *b_pub =
	    hex_fixed("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", 32);
	uint8_t *k =
	    hex_fixed("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", 32);
	uint8_t out[32];
	assert_int_equal(x25519_public(out, a), 0);
	assert_memory_equal(out, a_pub, 32);
	assert_int_equal(x25519_public(out, b), 0);
	assert_memory_equal(out, b_pub, 32);
	assert_int_equal(x25519_shared(out, a, b_pub), 0);
	assert_memory_equal(out, k, 32);
	assert_int_equal(x25519_shared(out, b, a_pub), 0);
	assert_memory_equal(out, k, 32);
	free(a);
	free(a_pub);
	free(b);
	free(b_pub);
	free(k);
}

static void test_x25519_keygen(void **state)
{
	(void)state;
	uint8_t seed[32] = {9};
	struct rng_det d1, d2;
	rng_det_init(&d1, seed);
	rng_det_init(&d2, seed);
	struct rng r1 = rng_det_as_rng(&d1), r2 = rng_det_as_rng(&d2);
	uint8_t a[32], a_pub[32], b[32], b_pub[32], pub[32], k1[32], k2[32];
	assert_int_equal(x25519_keygen(a, a_pub, &r1), 0);
	/* clamped as RFC 7748 §5 */
	assert_int_equal(a[0] & 7, 0);
	assert_int_equal(a[31] & 0x80, 0);
	assert_int_equal(a[31] & 0x40, 0x40);
	/* public matches private */
	assert_int_equal(x25519_public(pub, a), 0);
	assert_memory_equal(pub, a_pub, 32);
	/* deterministic from the rng */
	assert_int_equal(x25519_keygen(b, b_pub, &r2), 0);
	assert_memory_equal(a, b, 32);
	assert_memory_equal(a_pub, b_pub, 32);
	/* Diffie-Hellman commutes */
	assert_int_equal(x25519_keygen(b, b_pub, &r1), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(x25519_shared(k1, a, b_pub), 0);
	assert_int_equal(x25519_shared(k2, b, a_pub), 0);
	assert_memory_equal(k1, k2, 32);
}

/* ---- hashes ------------------------------------------------------------------ */

static void test_sha256_and_hmac_gather(void **state)
{
	(void)state;
	uint8_t *abc =
	    hex_fixed("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 32);
	uint8_t out[32], whole[32], key[100], msg[300];
	assert_int_equal(sha256(out, "abc", 3), 0);
	assert_memory_equal(out, abc, 32);
	struct iov_c abc_parts[] = {{"a", 1}, {NULL, 0}, {"bc", 2}};
	assert_int_equal(sha256_v(out, abc_parts, 3), 0);
	assert_memory_equal(out, abc, 32);
	/* a gather list hashes like its concatenation, for short and long keys */
	fill_pattern(msg, sizeof(msg), 11);
	fill_pattern(key, sizeof(key), 12);
	static const size_t key_lens[] = {0, 1, 32, 64, 65, 100};
	for (size_t i = 0; i < sizeof(key_lens) / sizeof(key_lens[0]); i++) {
		struct iov_c parts[] = {{msg, 10}, {msg + 10, 0}, {msg + 10, 290}};
		assert_int_equal(hmac_sha256(whole, key, key_lens[i], msg, sizeof(msg)), 0);
		assert_int_equal(hmac_sha256_v(out, key, key_lens[i], parts, 3), 0);
		assert_memory_equal(out, whole, 32);
	}
	free(abc);
}

static void test_hmac_verify_bounds(void **state)
{
	(void)state;
	uint8_t key[32] = {1}, tag[33];
	assert_int_equal(hmac_sha256(tag, key, sizeof(key), "m", 1), 0);
	tag[32] = 0;
	assert_true(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 32));
	assert_true(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 1));
	assert_false(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 0));
	assert_false(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 33));
	tag[31] ^= 1;
	assert_false(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 32));
	assert_true(hmac_sha256_verify(key, sizeof(key), "m", 1, tag, 31));
}

static void test_hkdf_bounds(void **state)
{
	(void)state;
	static uint8_t out[255 * 32 + 1];
	uint8_t prk[32] = {7}, first[40];
	assert_int_equal(hkdf_sha256_expand(out, 255 * 32, prk, NULL, 0), 0);
	assert_int_equal(hkdf_sha256_expand(out, 255 * 32 + 1, prk, NULL, 0), -EINVAL);
	assert_int_equal(hkdf_sha256(out, 255 * 32 + 1, NULL, 0, prk, 32, NULL, 0), -EINVAL);
	/* a shorter output is a prefix of a longer one */
	assert_int_equal(hkdf_sha256_expand(first, sizeof(first), prk, (const uint8_t *)"i", 1), 0);
	assert_int_equal(hkdf_sha256_expand(out, 100, prk, (const uint8_t *)"i", 1), 0);
	assert_memory_equal(first, out, sizeof(first));
}

/* ---- aead ------------------------------------------------------------------- */

static void test_aead_nonce_layout(void **state)
{
	(void)state;
	static const uint8_t want[AEAD_NONCE_LEN] = {0,	   0,	 0,    0,    0x08, 0x07,
						     0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	uint8_t nonce[AEAD_NONCE_LEN];
	aead_nonce_from_counter(nonce, 0x0102030405060708ull);
	assert_memory_equal(nonce, want, sizeof(want));
	aead_nonce_from_counter(nonce, 0);
	assert_true(ct_is_zero(nonce, sizeof(nonce)));
}

static void test_aead_bad_alg_and_badmsg(void **state)
{
	(void)state;
	struct aead a;
	uint8_t key[AEAD_KEY_LEN] = {0}, nonce[AEAD_NONCE_LEN] = {0}, buf[20] = {0}, tag[16];
	assert_int_equal(aead_init(&a, (enum aead_alg)99, key), -EINVAL);
	aead_done(&a);
	aead_done(&a); /* idempotent */
	assert_int_equal(aead_init(&a, AEAD_AES256_GCM, key), 0);
	assert_int_equal(aead_seal(&a, nonce, NULL, 0, buf, sizeof(buf), tag), 0);
	tag[0] ^= 1;
	assert_int_equal(aead_open(&a, nonce, NULL, 0, buf, sizeof(buf), tag), -EBADMSG);
	aead_done(&a);
}

/* ---- cipher ------------------------------------------------------------------ */

static void test_cipher_overhead_and_names(void **state)
{
	(void)state;
	struct cipher c;
	assert_int_equal(cipher_overhead(CIPHER_AES256GCM), 16);
	assert_int_equal(cipher_overhead(CIPHER_CHACHAPOLY), 16);
	assert_int_equal(cipher_overhead(CIPHER_CASCADE), 32);
	assert_int_equal(cipher_overhead((enum cipher_mode)0), 0);
	assert_true(CIPHER_MAX_OVERHEAD >= cipher_overhead(CIPHER_CASCADE));
	assert_string_equal(cipher_mode_name(CIPHER_AES256GCM), "performance");
	assert_string_equal(cipher_mode_name(CIPHER_CHACHAPOLY), "balanced");
	assert_string_equal(cipher_mode_name(CIPHER_CASCADE), "maximum_security");
	assert_null(cipher_mode_name((enum cipher_mode)7));
	assert_int_equal(cipher_init(&c, (enum cipher_mode)7, secret_a), -EINVAL);
	cipher_done(&c);
}

static void test_cipher_round_trip(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 1, 15, 16, 17, 1420, 65535};
	uint8_t ad[13];
	fill_pattern(ad, sizeof(ad), 77);
	uint8_t *plain = malloc(65535), *buf = malloc(65535 + CIPHER_MAX_OVERHEAD);
	fill_pattern(plain, 65535, 3);
	for (size_t m = 0; m < N_MODES; m++) {
		struct cipher tx, rx;
		size_t over = cipher_overhead(all_modes[m]);
		assert_int_equal(cipher_init(&tx, all_modes[m], secret_a), 0);
		assert_int_equal(cipher_init(&rx, all_modes[m], secret_a), 0);
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t n = lens[i];
			uint64_t ctr = 1000 + i;
			memcpy(buf, plain, n);
			assert_int_equal(cipher_seal(&tx, ctr, ad, sizeof(ad), buf, n), 0);
			if (n >= 16) /* encrypted, not copied */
				assert_memory_not_equal(buf, plain, 16);
			assert_int_equal(cipher_open(&rx, ctr, ad, sizeof(ad), buf, n + over), 0);
			assert_memory_equal(buf, plain, n);
			/* no associated data at all */
			assert_int_equal(cipher_seal(&tx, ctr, NULL, 0, buf, n), 0);
			assert_int_equal(cipher_open(&rx, ctr, NULL, 0, buf, n + over), 0);
			assert_memory_equal(buf, plain, n);
		}
		/* shorter than the tags is refused before any crypto */
		assert_int_equal(cipher_open(&rx, 0, NULL, 0, buf, over - 1), -EINVAL);
		cipher_done(&tx);
		cipher_done(&rx);
	}
	free(plain);
	free(buf);
}

/* Every single-bit change of ciphertext, tags or associated data, and a
 * wrong counter, is rejected as a forgery. */
static void check_forgeries(enum cipher_mode mode)
{
	enum { N = 37, AD = 9 };
	struct cipher c;
	size_t total = N + cipher_overhead(mode);
	uint8_t sealed[N + CIPHER_MAX_OVERHEAD], work[N + CIPHER_MAX_OVERHEAD], ad[AD];
	fill_pattern(sealed, N, 21);
	fill_pattern(ad, AD, 22);
	assert_int_equal(cipher_init(&c, mode, secret_a), 0);
	assert_int_equal(cipher_seal(&c, 5, ad, AD, sealed, N), 0);
	for (size_t bit = 0; bit < total * 8; bit++) {
		memcpy(work, sealed, total);
		work[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cipher_open(&c, 5, ad, AD, work, total), -EBADMSG);
	}
	for (size_t bit = 0; bit < AD * 8; bit++) {
		memcpy(work, sealed, total);
		ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cipher_open(&c, 5, ad, AD, work, total), -EBADMSG);
		ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	static const uint64_t wrong[] = {4, 6, 5 | (1ull << 63), 0};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		memcpy(work, sealed, total);
		assert_int_equal(cipher_open(&c, wrong[i], ad, AD, work, total), -EBADMSG);
	}
	memcpy(work, sealed, total); /* the untouched packet still opens */
	assert_int_equal(cipher_open(&c, 5, ad, AD, work, total), 0);
	cipher_done(&c);
}

static void test_cipher_forgeries(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_MODES; m++)
		check_forgeries(all_modes[m]);
}

static void subkey(uint8_t key[static AEAD_KEY_LEN], const uint8_t *secret, const char *label)
{
	assert_int_equal(
	    hkdf_sha256_expand(key, AEAD_KEY_LEN, secret, (const uint8_t *)label, strlen(label)),
	    0);
}

/* The single modes use the documented subkey: sealing with the cipher equals
 * sealing with a bare AEAD keyed by HKDF-Expand(secret, label, 32). */
static void check_single_mode_key(enum cipher_mode mode, enum aead_alg alg, const char *label)
{
	struct cipher c;
	struct aead a;
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], x[40 + 16], y[40 + 16];
	fill_pattern(x, 40, 1);
	memcpy(y, x, 40);
	subkey(key, secret_a, label);
	assert_int_equal(cipher_init(&c, mode, secret_a), 0);
	assert_int_equal(aead_init(&a, alg, key), 0);
	assert_int_equal(cipher_seal(&c, 77, (const uint8_t *)"ad", 2, x, 40), 0);
	aead_nonce_from_counter(nonce, 77);
	assert_int_equal(aead_seal(&a, nonce, (const uint8_t *)"ad", 2, y, 40, y + 40), 0);
	assert_memory_equal(x, y, sizeof(x));
	aead_done(&a);
	cipher_done(&c);
}

static void test_cipher_subkeys(void **state)
{
	(void)state;
	check_single_mode_key(CIPHER_AES256GCM, AEAD_AES256_GCM, "lostlove aes256gcm");
	check_single_mode_key(CIPHER_CHACHAPOLY, AEAD_CHACHA20_POLY1305,
			      "lostlove chacha20poly1305");
}

/* The cascade really is two layers under independent keys: peeling the
 * outer ChaCha20-Poly1305 layer by hand with its own subkey leaves the inner
 * AES-256-GCM ciphertext and tag (not the plaintext), which the AES subkey
 * then opens. */
static void test_cipher_cascade_layers(void **state)
{
	(void)state;
	enum { N = 100 };
	struct cipher c;
	struct aead outer, inner;
	uint8_t plain[N], buf[N + 32], k_aes[32], k_chacha[32], nonce[AEAD_NONCE_LEN];
	fill_pattern(plain, N, 8);
	memcpy(buf, plain, N);
	assert_int_equal(cipher_init(&c, CIPHER_CASCADE, secret_a), 0);
	assert_int_equal(cipher_seal(&c, 9, (const uint8_t *)"hdr", 3, buf, N), 0);
	subkey(k_aes, secret_a, "lostlove aes256gcm");
	subkey(k_chacha, secret_a, "lostlove chacha20poly1305");
	assert_memory_not_equal(k_aes, k_chacha, 32);
	assert_memory_not_equal(k_aes, secret_a, 32);
	aead_nonce_from_counter(nonce, 9);
	assert_int_equal(aead_init(&outer, AEAD_CHACHA20_POLY1305, k_chacha), 0);
	assert_int_equal(aead_init(&inner, AEAD_AES256_GCM, k_aes), 0);
	/* outer layer: covers inner ciphertext || inner tag, tag last */
	assert_int_equal(
	    aead_open(&outer, nonce, (const uint8_t *)"hdr", 3, buf, N + 16, buf + N + 16), 0);
	assert_memory_not_equal(buf, plain, N);
	/* inner layer: what is left is a complete AES-GCM packet */
	assert_int_equal(aead_open(&inner, nonce, (const uint8_t *)"hdr", 3, buf, N, buf + N), 0);
	assert_memory_equal(buf, plain, N);
	aead_done(&outer);
	aead_done(&inner);
	cipher_done(&c);
}

static void test_cipher_rekey(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_MODES; m++) {
		struct cipher tx, fresh_b, old_a;
		size_t over = cipher_overhead(all_modes[m]);
		uint8_t buf[64 + CIPHER_MAX_OVERHEAD], copy[sizeof(buf)];
		assert_int_equal(cipher_init(&tx, all_modes[m], secret_a), 0);
		assert_int_equal(cipher_init(&old_a, all_modes[m], secret_a), 0);
		assert_int_equal(cipher_init(&fresh_b, all_modes[m], secret_b), 0);
		assert_int_equal(cipher_rekey(&tx, secret_b), 0);
		fill_pattern(buf, 64, 4);
		assert_int_equal(cipher_seal(&tx, 1, NULL, 0, buf, 64), 0);
		memcpy(copy, buf, sizeof(buf));
		/* the old key no longer opens it, a fresh context on the new key does */
		assert_int_equal(cipher_open(&old_a, 1, NULL, 0, copy, 64 + over), -EBADMSG);
		assert_int_equal(cipher_open(&fresh_b, 1, NULL, 0, buf, 64 + over), 0);
		/* and rekeying back restores the first key */
		assert_int_equal(cipher_rekey(&tx, secret_a), 0);
		fill_pattern(buf, 64, 4);
		assert_int_equal(cipher_seal(&tx, 2, NULL, 0, buf, 64), 0);
		assert_int_equal(cipher_open(&old_a, 2, NULL, 0, buf, 64 + over), 0);
		cipher_done(&tx);
		cipher_done(&old_a);
		cipher_done(&fresh_b);
	}
}

/* The per-packet path allocates nothing: 1000 seals and opens per mode after
 * init, and aead_rekey, go through OpenSSL's allocator zero times. */
static void test_cipher_no_allocation(void **state)
{
	(void)state;
	static uint8_t buf[1420 + CIPHER_MAX_OVERHEAD];
	uint8_t ad[16] = {1}, key[AEAD_KEY_LEN] = {2};
	for (size_t m = 0; m < N_MODES; m++) {
		struct cipher tx, rx;
		size_t over = cipher_overhead(all_modes[m]);
		assert_int_equal(cipher_init(&tx, all_modes[m], secret_a), 0);
		assert_int_equal(cipher_init(&rx, all_modes[m], secret_a), 0);
		size_t before = alloc_count;
		for (uint64_t i = 0; i < 1000; i++) {
			assert_int_equal(cipher_seal(&tx, i, ad, sizeof(ad), buf, 1420), 0);
			assert_int_equal(cipher_open(&rx, i, ad, sizeof(ad), buf, 1420 + over), 0);
		}
		buf[0] ^= 1; /* failed opens too */
		assert_int_equal(cipher_open(&rx, 0, ad, sizeof(ad), buf, 1420 + over), -EBADMSG);
		if (all_modes[m] != CIPHER_CHACHAPOLY)
			assert_int_equal(aead_rekey(&tx.aes, key), 0);
		if (all_modes[m] != CIPHER_AES256GCM)
			assert_int_equal(aead_rekey(&tx.chacha, key), 0);
		assert_int_equal(alloc_count - before, 0);
		cipher_done(&tx);
		cipher_done(&rx);
	}
	/* the counter does see OpenSSL's allocations (the check can fail) */
	size_t before = alloc_count;
	struct cipher c;
	assert_int_equal(cipher_init(&c, CIPHER_CASCADE, secret_a), 0);
	assert_true(alloc_count > before);
	cipher_done(&c);
}

int main(void)
{
	/* before any OpenSSL call, or OpenSSL refuses the hooks */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL allocated earlier\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ct_memeq),
	    cmocka_unit_test(test_ct_is_zero),
	    cmocka_unit_test(test_ct_cmov),
	    cmocka_unit_test(test_ct_wipe),
	    cmocka_unit_test(test_rng_det_split_independent),
	    cmocka_unit_test(test_rng_det_matches_spec),
	    cmocka_unit_test(test_x25519_rfc7748),
	    cmocka_unit_test(test_x25519_keygen),
	    cmocka_unit_test(test_sha256_and_hmac_gather),
	    cmocka_unit_test(test_hmac_verify_bounds),
	    cmocka_unit_test(test_hkdf_bounds),
	    cmocka_unit_test(test_aead_nonce_layout),
	    cmocka_unit_test(test_aead_bad_alg_and_badmsg),
	    cmocka_unit_test(test_cipher_overhead_and_names),
	    cmocka_unit_test(test_cipher_round_trip),
	    cmocka_unit_test(test_cipher_forgeries),
	    cmocka_unit_test(test_cipher_subkeys),
	    cmocka_unit_test(test_cipher_cascade_layers),
	    cmocka_unit_test(test_cipher_rekey),
	    cmocka_unit_test(test_cipher_no_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
