/* Message 2 (and cookie replies) as the client receives them, against a
 * handshake in flight; mac1 is recomputed so the fuzzer reaches the Noise
 * processing and the parameter decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "protocol/cookie.h"
#include "protocol/handshake.h"

static struct handshake_initiator client;
static uint8_t own_mac1_key[32];

static void setup(void)
{
	uint8_t spriv[32], spub[32], cpriv[32], cpub[32], psk[32] = {7}, msg[INIT_LEN_KEM];
	size_t len;
	struct rng_det d;
	struct rng r = fuzz_rng(&d, 5);
	fuzz_keypair(spriv, spub, 1);
	fuzz_keypair(cpriv, cpub, 2);
	if (handshake_initiator_init(&client, cpriv, spub, psk, KEM_OPTIONAL) ||
	    cookie_mac1_key(own_mac1_key, cpub) ||
	    handshake_create_init(&client, 0x01020304, UINT64_C(1764000000000000000), 0, &r, msg,
				  sizeof(msg), &len) != HS_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t msg[RESP_LEN_MAX + 64];
	struct transport_keys keys;
	struct session_params params;
	if (!ready++)
		setup();
	struct handshake_initiator saved = client;
	if (size >= 1 && data[0] == MSG_COOKIE_REPLY) {
		(void)handshake_consume_cookie(&client, data, size, 0);
		client = saved;
		return 0;
	}
	if (size < 32 || size > sizeof(msg))
		return 0;
	memcpy(msg, data, size);
	if (cookie_mac1(msg + size - 32, own_mac1_key, msg, size) != 0)
		abort();
	(void)handshake_consume_response(&client, msg, size, &keys, &params);
	client = saved; /* keep the same handshake in flight for every input */
	return 0;
}
