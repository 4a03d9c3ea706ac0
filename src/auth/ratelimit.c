/* Per-IP token buckets shared by all workers; see ratelimit.h. */
#include "auth/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef RATELIMIT_STRIPES
#define RATELIMIT_STRIPES 64 /* a power of two */
#endif
#define CACHE_LINE 64
#define NS_PER_S   UINT64_C(1000000000)

struct ratelimit_lock {
	_Alignas(CACHE_LINE) pthread_mutex_t mutex;
};

static size_t next_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static void destroy_locks(struct ratelimit_lock *locks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pthread_mutex_destroy(&locks[i].mutex);
	free(locks);
}

static int init_locks(struct ratelimit *rl, size_t stripes)
{
	rl->locks = aligned_alloc(CACHE_LINE, stripes * sizeof(*rl->locks));
	if (!rl->locks)
		return -ENOMEM;
	for (size_t i = 0; i < stripes; i++) {
		int r = pthread_mutex_init(&rl->locks[i].mutex, NULL);
		if (r != 0) {
			destroy_locks(rl->locks, i);
			rl->locks = NULL;
			return -r;
		}
	}
	rl->lock_mask = stripes - 1;
	return 0;
}

int ratelimit_init(struct ratelimit *rl, size_t size, uint32_t per_s, uint32_t burst, uint64_t seed)
{
	size_t n, buckets, stripes;
	int r;

	memset(rl, 0, sizeof(*rl));
	if (per_s == 0)
		return 0;
	if (size < RATELIMIT_WAYS || size > (SIZE_MAX >> 2) / sizeof(*rl->table))
		return -EINVAL;
	n = next_pow2(size);
	buckets = n / RATELIMIT_WAYS;
	stripes = buckets < RATELIMIT_STRIPES ? buckets : RATELIMIT_STRIPES;
	rl->table = calloc(n, sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	r = init_locks(rl, stripes);
	if (r < 0) {
		free(rl->table);
		rl->table = NULL;
		return r;
	}
	rl->bucket_mask = buckets - 1;
	rl->cost_ns = NS_PER_S / per_s;
	rl->max_ns = rl->cost_ns * (burst ? burst : 1);
	rl->seed = seed | 1;
	return 0;
}

void ratelimit_done(struct ratelimit *rl)
{
	if (!rl)
		return;
	if (rl->locks)
		destroy_locks(rl->locks, rl->lock_mask + 1);
	free(rl->table);
	memset(rl, 0, sizeof(*rl));
}

/* The entry key: the IPv4 address or the IPv6 /64, and in the second
 * word a tag (family, with or without port) and the port. */
static void make_prefix(uint64_t ret[2], const uint8_t *key, size_t key_len)
{
	uint32_t v4 = 0;
	bool v6 = key_len >= 16;
	uint64_t port =
	    key_len == 6 || key_len == 18 ? (uint64_t)key[key_len - 2] << 8 | key[key_len - 1] : 0;

	if (!v6) {
		memcpy(&v4, key, 4);
		ret[0] = v4;
	} else {
		memcpy(&ret[0], key, 8);
	}
	ret[1] = port << 8 | (uint64_t)v6 | (key_len == 6 || key_len == 18 ? 2 : 0);
}

/* A keyed multiply-xorshift mix: the seed is random per process, so a
 * sender cannot aim many sources at one bucket. */
static size_t hash(const struct ratelimit *rl, const uint64_t prefix[2])
{
	uint64_t h = (prefix[0] ^ rl->seed) * UINT64_C(0x9e3779b97f4a7c15);

	h ^= h >> 29;
	h = (h ^ prefix[1] ^ (rl->seed >> 7)) * UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return (size_t)h;
}

/* The entry of prefix in its bucket, or a free / least recently used one
 * to take over. Called with the bucket's lock held. */
static struct ratelimit_entry *find(struct ratelimit_entry *bucket, const uint64_t prefix[2])
{
	struct ratelimit_entry *victim = NULL;

	for (size_t i = 0; i < RATELIMIT_WAYS; i++) {
		struct ratelimit_entry *e = &bucket[i];
		if (e->last_ns && e->prefix[0] == prefix[0] && e->prefix[1] == prefix[1])
			return e;
		if (!victim || e->last_ns < victim->last_ns)
			victim = e;
	}
	victim->prefix[0] = prefix[0];
	victim->prefix[1] = prefix[1];
	victim->last_ns = 0;
	return victim;
}

/* Refills e up to now (never moving its time backwards) and takes a token. */
static bool take(const struct ratelimit *rl, struct ratelimit_entry *e, uint64_t now_ns)
{
	if (now_ns == 0)
		now_ns = 1;
	if (e->last_ns == 0) {
		e->credit_ns = rl->max_ns;
		e->last_ns = now_ns;
	} else if (now_ns > e->last_ns) {
		e->credit_ns += now_ns - e->last_ns;
		e->last_ns = now_ns;
	}
	if (e->credit_ns > rl->max_ns)
		e->credit_ns = rl->max_ns;
	if (e->credit_ns < rl->cost_ns)
		return false;
	e->credit_ns -= rl->cost_ns;
	return true;
}

/* Empties e and keeps it empty for penalty_ns: its time is moved ahead,
 * and take() credits nothing until the clock passes it. */
static bool empty(const struct ratelimit *rl, struct ratelimit_entry *e, uint64_t now_ns,
		  uint64_t penalty_ns)
{
	uint64_t until = now_ns + penalty_ns;

	(void)rl;
	e->credit_ns = 0;
	if (until > e->last_ns)
		e->last_ns = until ? until : 1;
	return true;
}

typedef bool (*entry_fn)(const struct ratelimit *rl, struct ratelimit_entry *e, uint64_t now_ns,
			 uint64_t arg);

static bool take_fn(const struct ratelimit *rl, struct ratelimit_entry *e, uint64_t now_ns,
		    uint64_t arg)
{
	(void)arg;
	return take(rl, e, now_ns);
}

/* Runs fn on key's entry under its bucket's lock. */
static bool with_entry(struct ratelimit *rl, const uint8_t *key, size_t key_len, uint64_t now_ns,
		       entry_fn fn, uint64_t arg)
{
	uint64_t prefix[2];
	size_t b;
	pthread_mutex_t *lock;
	bool ok;

	make_prefix(prefix, key, key_len);
	b = hash(rl, prefix) & rl->bucket_mask;
	lock = &rl->locks[b & rl->lock_mask].mutex;
	pthread_mutex_lock(lock);
	ok = fn(rl, find(&rl->table[b * RATELIMIT_WAYS], prefix), now_ns, arg);
	pthread_mutex_unlock(lock);
	return ok;
}

bool ratelimit_allow(struct ratelimit *rl, const uint8_t *key, size_t key_len, uint64_t now_ns)
{
	return !rl->table || with_entry(rl, key, key_len, now_ns, take_fn, 0);
}

void ratelimit_penalize(struct ratelimit *rl, const uint8_t *key, size_t key_len, uint64_t now_ns,
			uint64_t penalty_ns)
{
	if (rl->table)
		(void)with_entry(rl, key, key_len, now_ns, empty, penalty_ns);
}
