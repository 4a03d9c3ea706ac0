/* control_classify and control_decode on untrusted plaintext: the length
 * classify reports must lie inside the input, and a control message that
 * decodes must re-encode to exactly the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/control.h"

static void check_round_trip(const uint8_t *in, size_t len)
{
	static uint8_t out[3 + 65535];
	struct control_msg m;
	size_t out_len;

	if (control_decode(&m, in, len) != 0)
		return;
	if (control_encode(&m, out, sizeof(out), &out_len) != 0 || out_len != len ||
	    memcmp(out, in, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t inner = SIZE_MAX;
	enum plain_kind kind = control_classify(data, size, &inner);

	if (inner > size || (kind == PLAIN_INVALID && inner != 0) ||
	    (kind == PLAIN_IPV4 && inner < 20) || (kind == PLAIN_IPV6 && inner < 40))
		abort();
	if (kind == PLAIN_CONTROL)
		check_round_trip(data, inner);
	/* the decoder on its own, without classify's framing */
	check_round_trip(data, size);
	return 0;
}
