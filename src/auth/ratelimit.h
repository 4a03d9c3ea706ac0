/* Per-source-IP token buckets for handshake processing (WireGuard
 * ratelimiter.c): rate tokens per second, burst at most. It sits behind
 * the cookie check, so a source cannot spoof its way into someone else's
 * bucket once the server is under load. IPv6 sources are limited per /64
 * (one subscriber usually owns a whole /64).
 *
 * One limiter serves the whole server: SO_REUSEPORT shards datagrams over
 * the workers by 4-tuple, so a source that spreads its initiations over
 * many ports reaches every worker, and per-worker buckets would let it
 * through at N times the rate. ratelimit_allow is thread safe.
 *
 * Fixed memory: a table of `size` entries allocated at init, in buckets of
 * RATELIMIT_WAYS entries; a source hashes to one bucket, and a new source
 * evicts the least recently seen entry of its bucket, so memory stays
 * bounded under a flood of sources (an evicted source starts with a full
 * bucket again: bounded, not exact).
 *
 * Locking: lock striping. RATELIMIT_STRIPES (64) mutexes, each on its own
 * cache line; bucket b is guarded by mutex b % stripes, held for a lookup
 * and a few additions. Workers limiting different sources rarely meet on a
 * lock; a flood from one source serialises on one mutex, which is what
 * limiting one source means. Measured with bench/ratelimit.c (figures in
 * bench/RESULTS.md; 2-vCPU VM shared with other load, release build, CPU
 * ns per call): no lock 4, uncontended mutex 14, spinlock 8; two or four
 * threads on one source, mutex 14-60, spinlock 16-340 (a thread preempted
 * inside a spinlock makes the others spin out their time slice: workers
 * often outnumber idle CPUs, so no spinlocks). One mutex for the whole
 * table measured the same as 64 stripes on 2 vCPUs; the stripes are kept
 * because they cost 4 KiB and, with more cores, spare every worker's
 * initiations one shared cache line. Either way the lock is small beside
 * what surrounds it: cookie_validate's HMAC before it (0.3-0.9 µs) and a
 * handshake after it (a few hundred µs).
 *
 * Time: callers pass their own monotonic clock readings, sampled per batch,
 * so one thread's "now" may be a little older than the last one recorded;
 * an entry's time never moves backwards, so no interval is credited twice. */
#ifndef LL_AUTH_RATELIMIT_H
#define LL_AUTH_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_WAYS 4 /* entries a source can use */

struct ratelimit_entry {
	uint64_t prefix[2]; /* IPv4: [addr, 0]; IPv6: [first 64 bits, 1] */
	uint64_t last_ns;   /* 0 = free */
	uint64_t credit_ns; /* tokens, in nanoseconds of refill time */
};

struct ratelimit_lock; /* a mutex alone on its cache line */

struct ratelimit {
	struct ratelimit_entry *table;
	struct ratelimit_lock *locks;
	size_t bucket_mask; /* buckets - 1, buckets a power of two */
	size_t lock_mask;   /* stripes - 1, stripes a power of two <= buckets */
	uint64_t cost_ns, max_ns;
	uint64_t seed;
};

/* per_s == 0 disables the limit. size (entries, at least RATELIMIT_WAYS)
 * is rounded up to a power of two. Not thread safe (nor is _done). */
int ratelimit_init(struct ratelimit *rl, size_t size, uint32_t per_s, uint32_t burst,
		   uint64_t seed);
void ratelimit_done(struct ratelimit *rl);

/* key is an IP address (4 or 16 bytes: the source is the IPv4 address or
 * the IPv6 /64), or an address followed by a big-endian port (6 or 18
 * bytes, as udp_endpoint_key gives: the source is the address, or /64,
 * and the port). A limiter should be used with one kind of key. Takes one
 * token: true if there was one. Thread safe. */
bool ratelimit_allow(struct ratelimit *rl, const uint8_t *key, size_t key_len, uint64_t now_ns);
/* Empties key's bucket and keeps it empty for penalty_ns (then it refills
 * at the usual rate): a source that failed authentication must prove its
 * address before it is served again. Thread safe. */
void ratelimit_penalize(struct ratelimit *rl, const uint8_t *key, size_t key_len, uint64_t now_ns,
			uint64_t penalty_ns);

#endif
