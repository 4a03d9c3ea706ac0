/* The censor's tools' frame decoder (tests/tools/capture.c) and the FET rule
 * (fet.c) on arbitrary frames: the first input byte picks the link type.
 * Whatever decodes must point inside the frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture.h"
#include "fet.h"

static const int dlts[] = {CAPTURE_DLT_EN10MB, CAPTURE_DLT_RAW, CAPTURE_DLT_LINUX_SLL,
			   CAPTURE_DLT_IPV4, CAPTURE_DLT_IPV6};

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_pkt pkt;
	struct fet_result r;

	if (size < 1)
		return 0;
	if (capture_decode(dlts[data[0] % 5], data + 1, size - 1, &pkt) != 0)
		return 0;
	if (!inside(pkt.l3, pkt.l3_len, data + 1, size - 1))
		abort();
	if (pkt.payload && !inside(pkt.payload, pkt.payload_len, data + 1, size - 1))
		abort();
	if (pkt.payload)
		fet_check(pkt.payload, pkt.payload_len, FET_RUN_PAPER, &r);
	return 0;
}
