/* Tunnel addresses for the users the API creates: which addresses are a
 * pool's host addresses, and a free IPv6 host address inside the pool.
 *
 * Pure (no store, no I/O): the caller passes the addresses in use, so the
 * choice is unit-tested for any prefix length (tests/unit/test_addrpool.c). */
#ifndef LL_API_ADDRPOOL_H
#define LL_API_ADDRPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Host numbers above this are never handed out (the first 65536 hosts of a
 * pool; a /64 has more than anyone needs). */
#define ADDRPOOL_HOSTS_MAX 65536u

/* true if a (len 4 or 16 bytes) is a host address of pool p usable by a
 * user: inside the prefix, not the server's own address, not the all-zero
 * host (network / subnet-router anycast), not the IPv4 broadcast. */
bool addrpool_is_host(const struct config_prefix *p, const uint8_t *a, size_t len);

/* A free IPv6 host address of pool p6 (family 6) into out: the host
 * number `want` (the user's IPv4 host, so 10.8.0.9 pairs with ...::9) when
 * it fits in p6's host bits and is free, else the lowest free one. used
 * holds the n addresses taken (any, inside the pool or not). 0, -EINVAL
 * (p6 not an IPv6 pool), or -ENOSPC (no free host address). */
int addrpool_pick6(const struct config_prefix *p6, uint32_t want, const uint8_t (*used)[16],
		   size_t n, uint8_t out[16]);

#endif
