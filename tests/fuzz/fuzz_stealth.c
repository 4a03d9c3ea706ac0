/* The stealth receive path (obfuscation/stealth.c) on untrusted bytes:
 * the classification a server or client runs on every datagram (peek as
 * a transport header, look the index up, unmask the counter, open; else
 * unmask as a handshake-class frame), then a packet sealed and masked for
 * real with input-chosen byte flips, which must open if and only if
 * nothing changed. Fixed keys: a crash input reproduces alone.
 *
 * Input: mode (byte 0 % 3) | flips (byte 1 % 4) and their positions
 * (bytes 2..4) | the datagram to classify (rest, also the payload of the
 * sealed one). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "obfuscation/stealth.h"
#include "protocol/transport.h"
#include "util/endian.h"

#define CAP   2048
#define INDEX 0xb2

static const enum cipher_mode modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY, CIPHER_CASCADE};

struct side {
	struct transport a, b;
	struct stealth_tx atx;
	struct stealth_rx brx;
	struct stealth_ctx ctx;
};

static void setup(struct side *s, enum cipher_mode mode, const struct rng *rng)
{
	static const uint8_t pub[32] = {0x42};
	struct transport_keys ka = {.mode = mode, .initiator = true, .remote_index = INDEX};
	struct transport_keys kb = {.mode = mode, .local_index = INDEX};
	struct stealth_keys k;
	size_t tags = cipher_overhead(mode);

	memset(ka.send_secret, 0x5a, 32);
	memset(ka.recv_secret, 0xa5, 32);
	memcpy(kb.send_secret, ka.recv_secret, 32);
	memcpy(kb.recv_secret, ka.send_secret, 32);
	if (stealth_keys_derive(&k, pub) || transport_init(&s->a, &ka, NULL, 1) ||
	    transport_init(&s->b, &kb, NULL, 1) ||
	    stealth_tx_init(&s->atx, STEALTH_MODE_STANDARD, &k, ka.send_secret, 16 + tags,
			    16 + 1420 + tags, rng) ||
	    stealth_rx_init(&s->brx, kb.recv_secret) || stealth_ctx_init(&s->ctx, &k))
		abort();
}

static void teardown(struct side *s)
{
	transport_done(&s->a);
	transport_done(&s->b);
	stealth_tx_done(&s->atx);
	stealth_rx_done(&s->brx);
	stealth_ctx_done(&s->ctx);
}

/* What rx.c's rx_stealth does; true if the datagram was accepted. */
static bool classify(struct side *s, uint8_t *d, size_t len)
{
	uint8_t hdr[8];
	size_t plain, msg_len;

	if (stealth_peek(&s->ctx, d, len, hdr) && le32_load(hdr + 4) == INDEX) {
		if (stealth_rx_unmask(&s->brx, d, len, hdr))
			abort();
		return transport_open(&s->b, d, len, &plain, 1) == TRANSPORT_OK;
	}
	if (stealth_hs_unwrap(&s->ctx, d, len, &msg_len) < 0)
		return false;
	if (msg_len < 1 || msg_len > len - STEALTH_HS_OVERHEAD)
		abort();
	return false; /* a handshake parser comes next: fuzz_handshake_* */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t seed[32] = {7}, *d, pkt[CAP];
	struct rng_det det;
	struct rng rng;
	struct side s;
	size_t n, len, payload, padded;
	unsigned flips;

	if (size < 5)
		return 0;
	rng_det_init(&det, seed);
	rng = rng_det_as_rng(&det);
	setup(&s, modes[data[0] % 3], &rng);
	n = size - 5;
	d = malloc(n ? n : 1); /* exact size: ASan sees any read past it */
	memcpy(d, data + 5, n);
	(void)classify(&s, d, n);
	free(d);

	payload = n < 1000 ? n : 1000;
	memset(pkt, 0, 16);
	memcpy(pkt + 16, data + 5, payload);
	padded = stealth_pad(&s.atx, pkt, CAP, cipher_overhead(modes[data[0] % 3]), payload);
	if (transport_seal(&s.a, pkt, CAP, padded, 1, &len, 1) != TRANSPORT_OK ||
	    stealth_tx_mask(&s.atx, pkt, len))
		abort();
	flips = data[1] % 4;
	for (unsigned i = 0; i < flips && i < 3; i++)
		pkt[data[2 + i] % len] ^= (uint8_t)(1u << (i + 1));
	if (classify(&s, pkt, len) != (flips == 0))
		abort();
	teardown(&s);
	return 0;
}
