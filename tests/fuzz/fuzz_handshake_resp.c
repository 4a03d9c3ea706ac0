/* Message 2 and cookie replies as the client receives them, against the
 * handshake in flight of the worked example (so the seed message 2 opens
 * completely); mac1 is recomputed so the fuzzer reaches the Noise
 * processing and the session parameter decoder. */
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
	struct fuzz_keys k;
	uint8_t msg[INIT_LEN_KEM];
	size_t len;
	struct rng_det d;
	struct rng r = fuzz_rng(&d, 0x44);
	fuzz_example_keys(&k);
	if (handshake_initiator_init(&client, k.client_priv, k.server_pub, k.psk, KEM_OPTIONAL) ||
	    cookie_mac1_key(own_mac1_key, k.client_pub) ||
	    handshake_create_init(&client, FUZZ_CLIENT_IDX, FUZZ_UNIX_NS, 0, &r, msg, sizeof(msg),
				  &len) != HS_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct handshake_initiator saved;
	uint8_t msg[RESP_LEN_MAX + 64];
	struct transport_keys keys;
	struct session_params params;
	if (!ready++) {
		setup();
		saved = client;
	}
	if (size >= 1 && data[0] == MSG_COOKIE_REPLY) {
		(void)handshake_consume_cookie(&client, data, size, 0);
	} else if (size >= 32 && size <= sizeof(msg)) {
		memcpy(msg, data, size);
		if (cookie_mac1(msg + size - 32, own_mac1_key, msg, size) != 0)
			abort();
		(void)handshake_consume_response(&client, msg, size, &keys, &params);
	}
	client = saved; /* the same handshake in flight for every input */
	return 0;
}
