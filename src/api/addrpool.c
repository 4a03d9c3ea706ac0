/* Tunnel addresses for the API's users; see addrpool.h. */
#include "api/addrpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int bit_of(const uint8_t *a, size_t i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

bool addrpool_is_host(const struct config_prefix *p, const uint8_t *a, size_t len)
{
	size_t bits = len * 8;
	bool zero = true, ones = true;

	if (p->family != (len == 4 ? 4 : 6) || p->len >= bits)
		return false;
	for (size_t i = 0; i < p->len; i++)
		if (bit_of(a, i) != bit_of(p->addr, i))
			return false;
	if (memcmp(a, p->addr, len) == 0)
		return false; /* the server's */
	for (size_t i = p->len; i < bits; i++) {
		zero &= !bit_of(a, i);
		ones &= bit_of(a, i);
	}
	return !zero && !(len == 4 && ones);
}

/* p's network with host number h in its host bits (h < 2^host bits). */
static void with_host(const struct config_prefix *p, uint32_t h, uint8_t out[16])
{
	memcpy(out, p->addr, 16);
	for (size_t i = p->len; i < 128; i++)
		out[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	for (int i = 0; i < 4; i++)
		out[15 - i] |= (uint8_t)(h >> (8 * i));
}

/* The host number of a (inside p), or UINT32_MAX when it is beyond the
 * first ADDRPOOL_HOSTS_MAX or outside p. */
static uint32_t host_of(const struct config_prefix *p, const uint8_t a[16])
{
	uint32_t h = 0;

	if (!addrpool_is_host(p, a, 16))
		return UINT32_MAX;
	for (size_t i = p->len; i < 128; i++) {
		if (i < 128 - 16 && bit_of(a, i))
			return UINT32_MAX; /* a host bit above the first 65536 */
		if (i >= 128 - 16)
			h = h << 1 | (uint32_t)bit_of(a, i);
	}
	return h < ADDRPOOL_HOSTS_MAX ? h : UINT32_MAX;
}

int addrpool_pick6(const struct config_prefix *p6, uint32_t want, const uint8_t (*used)[16],
		   size_t n, uint8_t out[16])
{
	unsigned host_bits = p6->family == 6 && p6->len < 128 ? 128u - p6->len : 0;
	uint32_t hosts = host_bits >= 16 ? ADDRPOOL_HOSTS_MAX : 1u << host_bits;
	uint8_t *taken, a[16];
	int r = -ENOSPC;

	if (host_bits < 2)
		return -EINVAL;
	taken = calloc(hosts / 8 + 1, 1);
	if (!taken)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = host_of(p6, used[i]);
		if (h < hosts)
			taken[h / 8] |= (uint8_t)(1u << (h % 8));
	}
	/* the IPv4 host's number first, then the lowest free one */
	for (uint64_t k = 0; k <= hosts && r != 0; k++) {
		uint32_t h = k == 0 ? want : (uint32_t)(k - 1);
		if (h >= hosts || (taken[h / 8] & (1u << (h % 8))))
			continue;
		with_host(p6, h, a);
		if (addrpool_is_host(p6, a, 16)) {
			memcpy(out, a, 16);
			r = 0;
		}
	}
	free(taken);
	return r;
}
