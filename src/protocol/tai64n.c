#include "protocol/tai64n.h"

#include <errno.h>
#include <string.h>

#include "util/endian.h"

#define TAI64_UNIX_EPOCH (UINT64_C(0x4000000000000000) + 10)
#define NS_PER_S	 UINT64_C(1000000000)

void tai64n_encode(uint8_t ret[static TAI64N_LEN], uint64_t unix_ns)
{
	be64_store(ret, TAI64_UNIX_EPOCH + unix_ns / NS_PER_S);
	be32_store(ret + 8, (uint32_t)(unix_ns % NS_PER_S));
}

int tai64n_decode(const uint8_t in[static TAI64N_LEN], uint64_t *ret_unix_ns)
{
	uint64_t label = be64_load(in);
	uint32_t nanos = be32_load(in + 8);
	if (label < TAI64_UNIX_EPOCH || nanos >= NS_PER_S)
		return -EINVAL;
	uint64_t secs = label - TAI64_UNIX_EPOCH;
	if (secs > (UINT64_MAX - nanos) / NS_PER_S)
		return -EINVAL;
	*ret_unix_ns = secs * NS_PER_S + nanos;
	return 0;
}

bool tai64n_is_after(const uint8_t a[static TAI64N_LEN], const uint8_t b[static TAI64N_LEN])
{
	return memcmp(a, b, TAI64N_LEN) > 0;
}
