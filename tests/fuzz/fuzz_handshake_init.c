/* Message 1 as the server receives it: cookie_validate on the raw input,
 * then (with mac1 recomputed so the fuzzer gets past it)
 * handshake_consume_init and, on success, handshake_create_response. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "protocol/cookie.h"
#include "protocol/handshake.h"

static struct handshake_peer user;
static struct handshake_responder resp;
static struct cookie_checker checker;
static uint8_t mac1_key[32];

static struct handshake_peer *lookup(void *ctx, const uint8_t pub[static 32])
{
	(void)ctx;
	return memcmp(pub, user.public_key, 32) == 0 ? &user : NULL;
}

static void setup(void)
{
	struct fuzz_keys k;
	struct rng_det d;
	struct rng r = fuzz_rng(&d, 0x66);
	fuzz_example_keys(&k);
	if (handshake_peer_init(&user, k.server_priv, k.client_pub, k.psk) ||
	    handshake_responder_init(&resp, k.server_priv, KEM_OPTIONAL, lookup, NULL) ||
	    cookie_checker_init(&checker, k.server_pub, 0, &r) ||
	    cookie_mac1_key(mac1_key, k.server_pub))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static const uint8_t src[6] = {127, 0, 0, 1, 1, 2};
	uint8_t msg[INIT_LEN_KEM + 64], out[RESP_LEN_MAX];
	struct handshake_pending p;
	struct transport_keys keys;
	struct session_params params = {.mode = CIPHER_CHACHAPOLY};
	struct rng_det d;
	struct rng r = fuzz_rng(&d, 0x55);
	size_t out_len;
	if (!ready++)
		setup();
	(void)cookie_validate(&checker, data, size, src, sizeof(src));
	if (size < 32 || size > sizeof(msg))
		return 0;
	memcpy(msg, data, size);
	if (cookie_mac1(msg + size - 32, mac1_key, msg, size) != 0)
		abort();
	memset(user.last_timestamp, 0, sizeof(user.last_timestamp));
	if (handshake_consume_init(&resp, msg, size, FUZZ_UNIX_NS, &p) != HS_OK)
		return 0;
	(void)handshake_create_response(&resp, &p, &params, FUZZ_SERVER_IDX, &r, out, sizeof(out),
					&out_len, &keys);
	return 0;
}
