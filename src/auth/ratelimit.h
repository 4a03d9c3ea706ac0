/* Per-source-IP token buckets for handshake processing (WireGuard
 * ratelimiter.c): rate tokens per second, burst at most. It sits behind
 * the cookie check, so a source cannot spoof its way into someone else's
 * bucket once the server is under load. IPv6 sources are limited per /64
 * (one subscriber usually owns a whole /64).
 *
 * Fixed memory: a table of `size` entries allocated at init; a new source
 * evicts the least recently seen of the few entries its hash can use, so
 * memory stays bounded under a flood of sources (an evicted source starts
 * with a full bucket again: bounded, not exact). Not thread safe: one per
 * data-plane worker. */
#ifndef LL_AUTH_RATELIMIT_H
#define LL_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit_entry {
	uint64_t prefix[2]; /* IPv4: [addr, 0]; IPv6: [first 64 bits, 1] */
	uint64_t last_ns;   /* 0 = free */
	uint64_t credit_ns; /* tokens, in nanoseconds of refill time */
};

struct ratelimit {
	struct ratelimit_entry *table;
	size_t mask; /* size - 1, size a power of two */
	uint64_t cost_ns, max_ns;
	uint64_t seed;
};

/* per_s == 0 disables the limit. size is rounded up to a power of two. */
int ratelimit_init(struct ratelimit *rl, size_t size, uint32_t per_s, uint32_t burst,
		   uint64_t seed);
void ratelimit_done(struct ratelimit *rl);

/* ip is 4 or 16 bytes. Takes one token: true if there was one. */
bool ratelimit_allow(struct ratelimit *rl, const uint8_t *ip, size_t ip_len, uint64_t now_ns);

#endif
