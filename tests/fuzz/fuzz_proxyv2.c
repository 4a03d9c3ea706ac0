/* PROXY v2 headers: a header that parses has a length within the input and
 * the cap, and every prefix of it is "need more". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "front/proxyv2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp2_info pi;
	enum pp2_result r = pp2_parse(data, size, &pi);
	if (r != PP2_OK)
		return 0;
	if (pi.header_len > size || pi.header_len > PP2_HDR_LEN + PP2_MAX_LEN)
		abort();
	for (size_t k = 0; k < pi.header_len; k++)
		if (pp2_parse(data, k, &pi) != PP2_NEED_MORE)
			abort();
	return 0;
}
