/* Base64 key encoding: agreement with a naive reference for random keys,
 * every character class, and strict rejection of malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/keyenc.h"
#include "crypto/rng.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Table-driven reference (fine in a test: nothing here is secret). */
static void naive_encode(char out[45], const uint8_t key[32])
{
	uint8_t padded[33] = {0};
	memcpy(padded, key, 32);
	for (int i = 0; i < 11; i++) {
		uint32_t w = (uint32_t)padded[3 * i] << 16 | (uint32_t)padded[3 * i + 1] << 8 |
			     padded[3 * i + 2];
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = alphabet[(w >> (18 - 6 * j)) & 63];
	}
	out[43] = '=';
	out[44] = '\0';
}

static void test_matches_reference(void **state)
{
	(void)state;
	for (int n = 0; n < 2000; n++) {
		uint8_t key[32], back[32];
		char got[45], want[45];
		assert_int_equal(rng_fill(&rng_system, key, sizeof(key)), 0);
		if (n < 64)
			memset(key, n * 4, sizeof(key)); /* walk every 6-bit value */
		key_to_base64(got, key);
		naive_encode(want, key);
		assert_string_equal(got, want);
		assert_int_equal(key_from_base64(back, got), 0);
		assert_memory_equal(back, key, 32);
	}
}

static void test_known_value(void **state)
{
	(void)state;
	uint8_t key[32];
	char out[45];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	key_to_base64(out, key);
	assert_string_equal(out, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
}

static void test_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    /* 1 */ "",
	    /* 2 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",    /* no '=' */
	    /* 3 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",  /* too long */
	    /* 4 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",   /* low bits set */
	    /* 5 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=",   /* '-' (url-safe) */
	    /* 6 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH h8=",  /* space */
	    /* 7 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=8",   /* '=' inside */
	    /* 8 */ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH\xc3=", /* non-ASCII */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t key[32];
		memset(key, 0xaa, sizeof(key));
		if (key_from_base64(key, bad[i]) != -EINVAL)
			fail_msg("case %zu accepted", i + 1);
		for (int j = 0; j < 32; j++)
			assert_int_equal(key[j], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_reference),
	    cmocka_unit_test(test_known_value),
	    cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests_name("keyenc", tests, NULL, NULL);
}
