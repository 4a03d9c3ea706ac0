/* Wycheproof vectors through the project's own wrappers (not through
 * OpenSSL directly): x25519_shared, aead_seal/aead_open, hkdf_sha256,
 * hmac_sha256 and hmac_sha256_verify.
 *
 * Policy per result: "valid" must succeed with the expected output,
 * "invalid" must be refused, "acceptable" (only X25519 here) must follow
 * LostLove's policy: an all-zero shared secret is refused, anything else is
 * accepted as computed and must match. AEAD groups with parameters LostLove
 * never uses (AES-128/192 keys, nonces other than 96 bits, tags other than
 * 128 bits) are counted as skipped. A missing vectors directory fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "testutil.h"

struct tally {
	const char *file;
	size_t passed, failed, skipped;
	char skip_reason[160];
};

/* Records one case; reports the first few failures by tcId. */
static void record(struct tally *t, const json_t *tc, bool ok)
{
	if (ok) {
		t->passed++;
		return;
	}
	if (t->failed++ < 20)
		fprintf(stderr, "%s: tcId %lld (%s) failed\n", t->file,
			(long long)json_integer_value(json_object_get(tc, "tcId")),
			json_string_value(json_object_get(tc, "result")));
}

static void report(const struct tally *t)
{
	printf("wycheproof %s: %zu passed, %zu failed", t->file, t->passed, t->failed);
	if (t->skipped)
		printf(", %zu skipped (%s)", t->skipped, t->skip_reason);
	printf("\n");
	fflush(stdout);
	assert_int_equal(t->failed, 0);
	assert_true(t->passed > 0);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s)
		fail_msg("vector field %s missing", key);
	return s;
}

static long long num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("vector field %s missing", key);
	return json_integer_value(v);
}

/* A case's hex field decoded into a new buffer. */
static uint8_t *hexf(const json_t *tc, const char *key, size_t *ret_len)
{
	return tu_hex(str(tc, key), ret_len);
}

static bool is_result(const json_t *tc, const char *result)
{
	return strcmp(str(tc, "result"), result) == 0;
}

/* Calls fn on every test case of every group for which use_group is true;
 * the others are counted as skipped. */
typedef bool (*case_fn)(const json_t *group, const json_t *tc);
typedef bool (*group_fn)(const json_t *group);

static void run_file(struct tally *t, case_fn fn, group_fn use_group)
{
	json_t *root = tu_wycheproof_load(t->file);
	const json_t *groups = json_object_get(root, "testGroups");
	assert_true(json_array_size(groups) > 0);
	size_t gi, ti;
	const json_t *g, *tc;
	json_array_foreach(groups, gi, g)
	{
		const json_t *tests = json_object_get(g, "tests");
		if (use_group && !use_group(g)) {
			t->skipped += json_array_size(tests);
			continue;
		}
		json_array_foreach(tests, ti, tc)
		{
			record(t, tc, fn(g, tc));
		}
	}
	json_decref(root);
}

/* ---- X25519 ------------------------------------------------------------ */

static bool x25519_case(const json_t *group, const json_t *tc)
{
	(void)group;
	size_t priv_len, pub_len, want_len;
	uint8_t *priv = hexf(tc, "private", &priv_len);
	uint8_t *pub = hexf(tc, "public", &pub_len);
	uint8_t *want = hexf(tc, "shared", &want_len);
	uint8_t got[X25519_KEY_LEN];
	bool ok = false;
	if (priv_len != X25519_KEY_LEN || pub_len != X25519_KEY_LEN) {
		/* our API takes fixed-size keys: a wrong size cannot be valid */
		ok = !is_result(tc, "valid");
		goto out;
	}
	memset(got, 0xaa, sizeof(got));
	int r = x25519_shared(got, priv, pub);
	bool zero = want_len == X25519_KEY_LEN && ct_is_zero(want, want_len);
	if (is_result(tc, "invalid"))
		ok = r != 0;
	else if (zero) /* LostLove policy: refused, output zeroed */
		ok = is_result(tc, "acceptable") && r == -EINVAL && ct_is_zero(got, sizeof(got));
	else /* valid, or acceptable with a non-zero secret: must match */
		ok = r == 0 && want_len == X25519_KEY_LEN && memcmp(got, want, want_len) == 0;
out:
	free(priv);
	free(pub);
	free(want);
	return ok;
}

static void test_x25519(void **state)
{
	(void)state;
	struct tally t = {.file = "x25519_test.json"};
	run_file(&t, x25519_case, NULL);
	report(&t);
}

/* An explicit low-order point: whatever the private key, the shared secret
 * with a point of order 8 (and with u = 0, u = 1) is all zero, and
 * x25519_shared must refuse it and zero its output. */
static void test_x25519_low_order_refused(void **state)
{
	(void)state;
	static const char *const low_order[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	};
	uint8_t priv[X25519_KEY_LEN], pub[X25519_KEY_LEN], out[X25519_KEY_LEN];
	assert_int_equal(x25519_keygen(priv, pub, &rng_system), 0);
	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		size_t len;
		uint8_t *point = tu_hex(low_order[i], &len);
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(x25519_shared(out, priv, point), -EINVAL);
		assert_true(ct_is_zero(out, sizeof(out)));
		free(point);
	}
	/* and a normal peer is accepted: the refusal is not unconditional */
	uint8_t priv2[X25519_KEY_LEN], pub2[X25519_KEY_LEN];
	assert_int_equal(x25519_keygen(priv2, pub2, &rng_system), 0);
	assert_int_equal(x25519_shared(out, priv, pub2), 0);
	assert_false(ct_is_zero(out, sizeof(out)));
}

/* ---- AEAD -------------------------------------------------------------- */

/* LostLove uses 256-bit keys, 96-bit nonces and 128-bit tags only. */
static bool aead_group_used(const json_t *g)
{
	return num(g, "keySize") == 256 && num(g, "ivSize") == 96 && num(g, "tagSize") == 128;
}

struct aead_case {
	uint8_t *key, *iv, *aad, *msg, *ct, *tag;
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
};

static void aead_case_load(struct aead_case *c, const json_t *tc)
{
	c->key = hexf(tc, "key", &c->key_len);
	c->iv = hexf(tc, "iv", &c->iv_len);
	c->aad = hexf(tc, "aad", &c->aad_len);
	c->msg = hexf(tc, "msg", &c->msg_len);
	c->ct = hexf(tc, "ct", &c->ct_len);
	c->tag = hexf(tc, "tag", &c->tag_len);
}

static void aead_case_free(struct aead_case *c)
{
	free(c->key);
	free(c->iv);
	free(c->aad);
	free(c->msg);
	free(c->ct);
	free(c->tag);
}

/* Seals msg and compares with ct || tag. */
static bool seal_matches(struct aead *a, const struct aead_case *c)
{
	uint8_t tag[AEAD_TAG_LEN];
	uint8_t *buf = malloc(c->msg_len + 1);
	memcpy(buf, c->msg, c->msg_len);
	bool ok = aead_seal(a, c->iv, c->aad, c->aad_len, buf, c->msg_len, tag) == 0 &&
		  c->ct_len == c->msg_len && memcmp(buf, c->ct, c->ct_len) == 0 &&
		  memcmp(tag, c->tag, AEAD_TAG_LEN) == 0;
	free(buf);
	return ok;
}

/* Opens ct || tag: returns aead_open's result, and whether the plaintext
 * equals msg through ret_same. */
static int open_case(struct aead *a, const struct aead_case *c, bool *ret_same)
{
	uint8_t *buf = malloc(c->ct_len + 1);
	memcpy(buf, c->ct, c->ct_len);
	int r = aead_open(a, c->iv, c->aad, c->aad_len, buf, c->ct_len, c->tag);
	*ret_same = c->ct_len == c->msg_len && memcmp(buf, c->msg, c->msg_len) == 0;
	free(buf);
	return r;
}

static bool aead_case(enum aead_alg alg, const json_t *tc)
{
	struct aead_case c;
	struct aead a = {0};
	bool ok = false, same;
	aead_case_load(&c, tc);
	if (c.key_len != AEAD_KEY_LEN || c.iv_len != AEAD_NONCE_LEN || c.tag_len != AEAD_TAG_LEN)
		goto out; /* cannot happen in a used group: a vector file error */
	if (aead_init(&a, alg, c.key) != 0)
		goto out;
	if (is_result(tc, "valid"))
		ok = seal_matches(&a, &c) && open_case(&a, &c, &same) == 0 && same;
	else /* invalid: a modified tag or ciphertext must be rejected */
		ok = open_case(&a, &c, &same) == -EBADMSG;
out:
	aead_done(&a);
	aead_case_free(&c);
	return ok;
}

static bool chacha_case(const json_t *group, const json_t *tc)
{
	(void)group;
	return aead_case(AEAD_CHACHA20_POLY1305, tc);
}

static bool aes_case(const json_t *group, const json_t *tc)
{
	(void)group;
	return aead_case(AEAD_AES256_GCM, tc);
}

static void test_chacha20_poly1305(void **state)
{
	(void)state;
	struct tally t = {.file = "chacha20_poly1305_test.json"};
	snprintf(t.skip_reason, sizeof(t.skip_reason), "nonce sizes other than 96 bits");
	run_file(&t, chacha_case, aead_group_used);
	report(&t);
}

static void test_aes_gcm(void **state)
{
	(void)state;
	struct tally t = {.file = "aes_gcm_test.json"};
	snprintf(t.skip_reason, sizeof(t.skip_reason),
		 "AES-128/192 keys or IV sizes other than 96 bits");
	run_file(&t, aes_case, aead_group_used);
	report(&t);
}

/* ---- HKDF and HMAC ----------------------------------------------------- */

static bool hkdf_case(const json_t *group, const json_t *tc)
{
	(void)group;
	size_t ikm_len, salt_len, info_len, okm_len;
	uint8_t *ikm = hexf(tc, "ikm", &ikm_len);
	uint8_t *salt = hexf(tc, "salt", &salt_len);
	uint8_t *info = hexf(tc, "info", &info_len);
	uint8_t *okm = hexf(tc, "okm", &okm_len);
	size_t size = (size_t)num(tc, "size");
	uint8_t *out = malloc(size + 1);
	int r = hkdf_sha256(out, size, salt, salt_len, ikm, ikm_len, info, info_len);
	bool ok;
	if (is_result(tc, "valid"))
		ok = r == 0 && okm_len == size && memcmp(out, okm, size) == 0;
	else /* the invalid cases ask for more than 255 * 32 bytes */
		ok = r == -EINVAL;
	free(ikm);
	free(salt);
	free(info);
	free(okm);
	free(out);
	return ok;
}

static void test_hkdf(void **state)
{
	(void)state;
	struct tally t = {.file = "hkdf_sha256_test.json"};
	run_file(&t, hkdf_case, NULL);
	report(&t);
}

/* Valid: the computed MAC starts with the (possibly truncated) tag and
 * verify accepts it. Invalid: verify refuses. */
static bool hmac_case(const json_t *group, const json_t *tc)
{
	size_t key_len, msg_len, tag_len;
	uint8_t *key = hexf(tc, "key", &key_len);
	uint8_t *msg = hexf(tc, "msg", &msg_len);
	uint8_t *tag = hexf(tc, "tag", &tag_len);
	uint8_t mac[SHA256_LEN];
	bool ok = false;
	if ((size_t)num(group, "tagSize") / 8 != tag_len) {
		/* a tag whose length differs from the group's is a malformed case */
		ok = !is_result(tc, "valid") &&
		     !hmac_sha256_verify(key, key_len, msg, msg_len, tag, tag_len);
		goto out;
	}
	bool verified = hmac_sha256_verify(key, key_len, msg, msg_len, tag, tag_len);
	if (is_result(tc, "valid"))
		ok = hmac_sha256(mac, key, key_len, msg, msg_len) == 0 &&
		     memcmp(mac, tag, tag_len) == 0 && verified;
	else
		ok = !verified;
out:
	free(key);
	free(msg);
	free(tag);
	return ok;
}

static void test_hmac(void **state)
{
	(void)state;
	struct tally t = {.file = "hmac_sha256_test.json"};
	run_file(&t, hmac_case, NULL);
	report(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_x25519),
	    cmocka_unit_test(test_x25519_low_order_refused),
	    cmocka_unit_test(test_chacha20_poly1305),
	    cmocka_unit_test(test_aes_gcm),
	    cmocka_unit_test(test_hkdf),
	    cmocka_unit_test(test_hmac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
