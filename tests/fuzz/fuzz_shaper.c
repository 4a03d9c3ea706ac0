/* Stealth maximum's handshake shaper (obfuscation/shaper.c) on untrusted
 * inner packets: what a peer or the host writes into the tunnel. The
 * input is a sequence of packets, each read with a length the input
 * chooses (so every truncation is tried, in an exact-size copy: a read
 * past it is a sanitizer error), fed with input-chosen directions and
 * clock steps. Invariants checked after each: the shaper never writes the
 * packet, never grants more than SHAPER_PER_PACKET at once, and its
 * totals stay within the per-second budget. Fixed seed: a crash input
 * reproduces alone.
 *
 * Input: records of [len (1 byte) | flags (1 byte: bit 0 direction, bits
 * 1..7 clock step in ms) | len bytes of packet], until the input ends. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "obfuscation/shaper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = {0x5a};
	struct rng_det det;
	struct rng rng;
	struct shaper s;
	uint64_t now = 1000000000ull, start = now, total = 0;

	rng_det_init(&det, seed);
	rng = rng_det_as_rng(&det);
	if (shaper_init(&s, SHAPER_PER_FLOW_DEFAULT, &rng) != 0)
		abort();
	while (size >= 2) {
		size_t len = data[0];
		uint8_t flags = data[1];
		uint8_t *pkt;
		unsigned n;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		now += (uint64_t)(flags >> 1) * 1000000;
		pkt = malloc(len ? len : 1);
		if (!pkt)
			abort();
		memcpy(pkt, data, len);
		n = shaper_packet(&s, pkt, len, flags & 1 ? SHAPER_IN : SHAPER_OUT, now, &rng);
		if (n > SHAPER_PER_PACKET || memcmp(pkt, data, len) != 0)
			abort();
		free(pkt);
		total += n;
		/* one second's worth at the start, then SHAPER_RATE per second */
		if (total != s.chaff ||
		    total > SHAPER_RATE + (now - start) * SHAPER_RATE / 1000000000ull + 1)
			abort();
		data += len;
		size -= len;
	}
	return 0;
}
