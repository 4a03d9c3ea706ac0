/* lostlove-admin's HTTP response parser (src/admin/uclient.c): whatever
 * the socket returns, it must not read past the input, and an accepted
 * response's body must lie within it (its length at most the input's). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/uclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uclient_resp r;
	/* a copy of exactly size bytes: ASan sees any over-read */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (uclient_parse(buf, size, &r) == 0) {
		if (r.len > size || r.body[r.len] != '\0' || r.status < 100 || r.status > 599)
			abort();
		uclient_resp_free(&r);
	} else if (r.body) {
		abort();
	}
	free(buf);
	return 0;
}
