/* Session parameter TLVs: decode, and whatever decodes must re-encode and
 * decode to the same value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/messages.h"
#include "protocol/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_params p, q;
	uint8_t buf[4 * MSG_PARAMS_MAX];
	size_t len;
	if (params_decode(&p, data, size) != 0)
		return 0;
	if (params_encode(&p, buf, sizeof(buf), &len) != 0 || params_decode(&q, buf, len) != 0 ||
	    memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	return 0;
}
