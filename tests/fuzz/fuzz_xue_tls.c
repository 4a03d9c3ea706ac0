/* The TLS record walker of the censor's burst check (tests/tools/xue.c) on
 * arbitrary TCP payloads: the input is a list of segments, each a control
 * byte (bit 0: direction, bit 1: resend the previous sequence number), a
 * length byte and that many payload bytes. The bursts may never count more
 * bytes than were fed after the handshake. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xue_tls t = {0};
	uint32_t seq[2] = {1000, 5000}, prev[2] = {1000, 5000};
	size_t fed = 0, counted = 0;

	while (size >= 2) {
		int dir = data[0] & 1, resend = data[0] & 2;
		size_t len = data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		xue_tls_feed(&t, dir, resend ? prev[dir] : seq[dir], data, len);
		fed += len;
		if (!resend) {
			prev[dir] = seq[dir];
			seq[dir] += (uint32_t)len;
		}
		data += len;
		size -= len;
	}
	for (int i = 0; i < 4; i++)
		counted += t.bursts.b[i];
	if (counted > fed || (t.bursts.n > 0 && !t.hs_done))
		abort();
	return 0;
}
