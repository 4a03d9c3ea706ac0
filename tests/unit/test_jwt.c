/* HS256 JWT and strict base64url: a vector from an independent
 * implementation (Python's hmac, base64 and json), round trips, and every
 * forgery the verifier must refuse: alg none or other, wrong typ, extra
 * header keys, padding and '+' '/', non-canonical bits, a flipped MAC,
 * expiry, missing, extra, duplicate and mistyped claims, oversize. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/b64url.h"
#include "api/jwt.h"
#include "server/keyfile.h"
#include "crypto/hmac.h"

static uint8_t secret[32];

/* python3: base64url(hmac.new(bytes(range(32)), h.p, sha256)) over the
 * compact, key-sorted claims below */
static const char vector[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiajEiLCJyb2xlIjoiYWRtaW4iLCJzdWIiOiJh"
    "bGljZSJ9.e4Qk34m0HAn9xmcBZbTZdcY_TQXJHrNIBgfGK-gObzU";

static const struct jwt_claims alice = {"alice", JWT_ROLE_ADMIN, 1700000000, 1700003600, "j1"};

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;
	return 0;
}

/* header.payload signed with secret: what an attacker who knows the key
 * format (but not the key) cannot do, and what a test of the checks after
 * the MAC needs */
static char *sign(const char *header, const char *payload, const uint8_t *key)
{
	static char tok[8192];
	uint8_t mac[32];
	size_t o = 0;
	o += (size_t)b64url_encode(tok, sizeof(tok), (const uint8_t *)header, strlen(header));
	tok[o++] = '.';
	o += (size_t)b64url_encode(tok + o, sizeof(tok) - o, (const uint8_t *)payload,
				   strlen(payload));
	assert_int_equal(hmac_sha256(mac, key, 32, tok, o), 0);
	tok[o++] = '.';
	b64url_encode(tok + o, sizeof(tok) - o, mac, 32);
	return tok;
}

static enum jwt_result verify(const char *tok, int64_t now)
{
	struct jwt_claims c;
	return jwt_verify(secret, tok, strlen(tok), now, &c);
}

static const char good_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char good_payload[] =
    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}";
#define NOW 1700000100

static void test_vector(void **state)
{
	char tok[JWT_MAX_LEN + 1];
	struct jwt_claims c;
	(void)state;
	assert_int_equal(jwt_create(secret, &alice, tok, sizeof(tok)), (int)strlen(vector));
	assert_string_equal(tok, vector);
	assert_int_equal(jwt_verify(secret, vector, strlen(vector), NOW, &c), JWT_OK);
	assert_string_equal(c.sub, "alice");
	assert_string_equal(c.jti, "j1");
	assert_int_equal(c.role, JWT_ROLE_ADMIN);
	assert_int_equal(c.iat, 1700000000);
	assert_int_equal(c.exp, 1700003600);
	/* the helper agrees, and another key order of the header is fine */
	assert_int_equal(verify(sign(good_header, good_payload, secret), NOW), JWT_OK);
	assert_int_equal(
	    verify(sign("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", good_payload, secret), NOW), JWT_OK);
}

static void test_round_trip_jti(void **state)
{
	struct rng_det d;
	uint8_t seed[32] = {7};
	char tok[JWT_MAX_LEN + 1];
	struct jwt_claims c = {"ops@example", JWT_ROLE_READ_ONLY, 100, 200, ""}, back;
	(void)state;
	rng_det_init(&d, seed);
	struct rng r = rng_det_as_rng(&d);
	assert_int_equal(jwt_new_jti(&r, c.jti), 0);
	assert_int_equal(strlen(c.jti), 22);
	assert_true(jwt_create(secret, &c, tok, sizeof(tok)) > 0);
	assert_int_equal(jwt_verify(secret, tok, strlen(tok), 150, &back), JWT_OK);
	assert_string_equal(back.sub, c.sub);
	assert_string_equal(back.jti, c.jti);
	assert_int_equal(back.role, c.role);
	assert_int_equal(back.iat, c.iat);
	assert_int_equal(back.exp, c.exp);
	assert_int_equal(jwt_create(secret, &c, tok, 10), -ENOSPC);
}

static void test_alg(void **state)
{
	static const char *const bad[] = {
	    "{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"None\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"HS256\",\"typ\":\"jwt\"}",
	    "{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
	    "{\"alg\":\"HS256\"}",
	    "{\"typ\":\"JWT\"}",
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"b64\"]}",
	    "{\"alg\":[\"HS256\"],\"typ\":\"JWT\"}",
	    "{\"alg\":\"HS256\\u0000\",\"typ\":\"JWT\"}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* even correctly signed: the header alone decides */
		char *t = sign(bad[i], good_payload, secret);
		enum jwt_result r = verify(t, NOW);
		if (r != JWT_BAD_HEADER && r != JWT_MALFORMED)
			fail_msg("header %s: %s", bad[i], jwt_result_name(r));
	}
	/* the classic alg:none token with an empty signature */
	char tok[512];
	size_t o = (size_t)b64url_encode(tok, sizeof(tok), (const uint8_t *)bad[0], strlen(bad[0]));
	tok[o++] = '.';
	o += (size_t)b64url_encode(tok + o, sizeof(tok) - o, (const uint8_t *)good_payload,
				   strlen(good_payload));
	strcpy(tok + o, ".");
	assert_int_not_equal(verify(tok, NOW), JWT_OK);
	/* a duplicate header key is malformed */
	assert_int_equal(verify(sign("{\"alg\":\"HS256\",\"alg\":\"HS256\",\"typ\":\"JWT\"}",
				     good_payload, secret),
				NOW),
			 JWT_MALFORMED);
}

static void test_signature(void **state)
{
	uint8_t other[32];
	char tok[sizeof(vector)];
	(void)state;
	memset(other, 0xa5, sizeof(other));
	assert_int_equal(verify(sign(good_header, good_payload, other), NOW), JWT_BAD_SIGNATURE);
	/* every single-character change of the payload or MAC fails */
	const char *p = strchr(vector, '.') + 1;
	for (size_t i = (size_t)(p - vector); i < strlen(vector); i++) {
		if (vector[i] == '.')
			continue;
		memcpy(tok, vector, sizeof(vector));
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(verify(tok, NOW), JWT_OK);
	}
	/* the last MAC character holds 4 bits and 2 unused ones: setting an
	 * unused bit decodes to the same MAC but is not the canonical text */
	memcpy(tok, vector, sizeof(vector));
	assert_int_equal(tok[sizeof(vector) - 2], 'U'); /* value 20 = 0b010100 */
	tok[sizeof(vector) - 2] = 'V';			/* 21: an unused bit set */
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
}

static void test_base64_strict(void **state)
{
	char tok[sizeof(vector) + 8];
	(void)state;
	/* padding */
	snprintf(tok, sizeof(tok), "%s=", vector);
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
	/* '+' and '/' for '-' and '_' (the vector's MAC has both) */
	memcpy(tok, vector, sizeof(vector));
	*strrchr(tok, '_') = '/';
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
	memcpy(tok, vector, sizeof(vector));
	*strrchr(tok, '-') = '+';
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
	/* a fourth part, an empty part, whitespace, no dots */
	snprintf(tok, sizeof(tok), "%s.AA", vector);
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
	assert_int_equal(verify(strchr(vector, '.'), NOW), JWT_MALFORMED);
	assert_int_equal(verify("a.b", NOW), JWT_MALFORMED);
	assert_int_equal(verify("", NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), " %s", vector);
	assert_int_equal(verify(tok, NOW), JWT_MALFORMED);
	/* b64url itself: lengths 1 mod 4, trailing bits */
	uint8_t b[8];
	assert_int_equal(b64url_decode(b, sizeof(b), "QQ", 2), 1);
	assert_int_equal(b[0], 'A');
	assert_int_equal(b64url_decode(b, sizeof(b), "QR", 2), -EINVAL);
	assert_int_equal(b64url_decode(b, sizeof(b), "QUFB", 4), 3);
	assert_int_equal(b64url_decode(b, sizeof(b), "QUFBQ", 5), -EINVAL);
	assert_int_equal(b64url_decode(b, sizeof(b), "QQ==", 4), -EINVAL);
	assert_int_equal(b64url_decode(b, 0, "QQ", 2), -ENOSPC);
}

static void test_time(void **state)
{
	(void)state;
	assert_int_equal(verify(vector, 1700003599), JWT_OK);
	assert_int_equal(verify(vector, 1700003600), JWT_EXPIRED);
	assert_int_equal(verify(vector, INT64_MAX), JWT_EXPIRED);
	assert_int_equal(verify(vector, 1700000000 - JWT_SKEW_S), JWT_OK);
	assert_int_equal(verify(vector, 1700000000 - JWT_SKEW_S - 1), JWT_NOT_YET_VALID);
}

static void test_claims(void **state)
{
	static const char *const bad[] = {
	    /* missing each */
	    "{\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600}",
	    /* extra, duplicate */
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":"
	    "\"j1\",\"nbf\":0}",
	    "{\"sub\":\"alice\",\"sub\":\"root\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":"
	    "1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"read-only\",\"role\":\"admin\",\"iat\":1700000000,"
	    "\"exp\":1700003600,\"jti\":\"j1\"}",
	    /* types and values */
	    "{\"sub\":\"alice\",\"role\":\"root\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":\"1700000000\",\"exp\":1700003600,\"jti\":"
	    "\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600.0,\"jti\":"
	    "\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700000000,\"jti\":\"j1\"}",
	    "{\"sub\":\"alice\",\"role\":\"admin\",\"iat\":-1,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":\"a b\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":\"j1\"}",
	    "{\"sub\":[\"alice\"],\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700003600,\"jti\":"
	    "\"j1\"}",
	    "[\"alice\",\"admin\",1700000000,1700003600,\"j1\"]",
	    "not json",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum jwt_result r = verify(sign(good_header, bad[i], secret), NOW);
		if (r != JWT_BAD_CLAIMS)
			fail_msg("payload %s: %s", bad[i], jwt_result_name(r));
	}
	struct jwt_claims c = alice;
	char tok[JWT_MAX_LEN + 1];
	c.exp = c.iat;
	assert_int_equal(jwt_create(secret, &c, tok, sizeof(tok)), -EINVAL);
	c = alice;
	c.role = (enum jwt_role)7;
	assert_int_equal(jwt_create(secret, &c, tok, sizeof(tok)), -EINVAL);
}

static void test_oversize(void **state)
{
	static char big[JWT_MAX_LEN + 2];
	(void)state;
	memset(big, 'A', JWT_MAX_LEN + 1);
	assert_int_equal(jwt_verify(secret, big, JWT_MAX_LEN + 1, NOW, NULL), JWT_TOO_LONG);
	/* a correctly signed token just over the bound, made by padding the
	 * header with spaces, is refused before anything is decoded */
	char header[4000];
	snprintf(header, sizeof(header), "{\"alg\":\"HS256\",%*s\"typ\":\"JWT\"}", 2950, "");
	char *t = sign(header, good_payload, secret);
	assert_true(strlen(t) > JWT_MAX_LEN);
	assert_int_equal(verify(t, NOW), JWT_TOO_LONG);
}

/* The secret lives in a key file made like the server's: 0600, 32 bytes. */
static void test_secret_file(void **state)
{
	char dir[] = "/tmp/test_jwt.XXXXXX", path[64], err[128];
	uint8_t a[32], b[32];
	bool created, loose;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.key", dir);
	assert_int_equal(keyfile_load_or_create(path, a, &created, &loose, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keyfile_load_or_create(path, b, &created, &loose, err, sizeof(err)), 0);
	assert_false(created);
	assert_false(loose);
	assert_memory_equal(a, b, 32);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),	  cmocka_unit_test(test_round_trip_jti),
	    cmocka_unit_test(test_alg),		  cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_base64_strict), cmocka_unit_test(test_time),
	    cmocka_unit_test(test_claims),	  cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_secret_file),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
