/* Constant-time check of crypto/b64url (the lostlove:// URI carries the
 * client's private key and PSK in it), by the technique of ct_mlkem.c:
 * the key bytes and the key text are marked undefined for valgrind
 * memcheck, so a branch or a table index on them fails the run. Only the
 * validity of a decoded text is declassified (B64URL_CT_DECLASSIFY): the
 * caller answers it anyway. ct_mlkem's --leaky-selfcheck proves this
 * harness can fail. */
#include <valgrind/memcheck.h>

#define B64URL_CT_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#include "crypto/b64url.c"

#include <stdio.h>

#define SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

int main(void)
{
	uint8_t key[32], back[32];
	char text[64];
	int failures = 0;

	for (int seed = 0; seed < 64; seed++) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(seed * 37 + i * 11);
		SECRET(key, sizeof(key));
		int n = b64url_encode(text, sizeof(text), key, sizeof(key));
		PUBLIC(key, sizeof(key));
		/* the text is the key: decode it as a secret too */
		SECRET(text, 43);
		int m = b64url_decode(back, sizeof(back), text, 43);
		PUBLIC(text, sizeof(text));
		PUBLIC(back, sizeof(back));
		if (n != 43 || m != 32 || memcmp(key, back, 32) != 0) {
			fprintf(stderr, "ct_b64url: round trip failed for seed %d\n", seed);
			failures++;
		}
	}
	printf("ct_b64url: %s\n", failures ? "FAILED"
					   : "encode and decode of 64 keys ran on "
					     "secrets without a secret-dependent branch or index");
	return failures ? 1 : 0;
}
