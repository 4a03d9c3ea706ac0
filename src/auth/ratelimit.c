/* Per-IP token buckets; see ratelimit.h. */
#include "auth/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PROBES	 4
#define NS_PER_S UINT64_C(1000000000)

int ratelimit_init(struct ratelimit *rl, size_t size, uint32_t per_s, uint32_t burst, uint64_t seed)
{
	size_t n = 1;

	memset(rl, 0, sizeof(*rl));
	if (per_s == 0)
		return 0;
	if (size < PROBES || size > (SIZE_MAX >> 1) / sizeof(*rl->table))
		return -EINVAL;
	while (n < size)
		n <<= 1;
	rl->table = calloc(n, sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	rl->mask = n - 1;
	rl->cost_ns = NS_PER_S / per_s;
	rl->max_ns = rl->cost_ns * (burst ? burst : 1);
	rl->seed = seed | 1;
	return 0;
}

void ratelimit_done(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->table);
	memset(rl, 0, sizeof(*rl));
}

static void make_prefix(uint64_t ret[2], const uint8_t *ip, size_t ip_len)
{
	uint32_t v4 = 0;

	if (ip_len == 4) {
		memcpy(&v4, ip, 4);
		ret[0] = v4;
		ret[1] = 0;
	} else {
		memcpy(&ret[0], ip, 8);
		ret[1] = 1;
	}
}

/* A keyed multiply-xorshift mix: the seed is random per process, so a
 * sender cannot aim many sources at one group of slots. */
static size_t hash(const struct ratelimit *rl, const uint64_t prefix[2])
{
	uint64_t h = (prefix[0] ^ rl->seed) * UINT64_C(0x9e3779b97f4a7c15);

	h ^= h >> 29;
	h = (h ^ prefix[1] ^ (rl->seed >> 7)) * UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return (size_t)h;
}

/* The entry of prefix, or a free / least recently used one to take over. */
static struct ratelimit_entry *find(struct ratelimit *rl, const uint64_t prefix[2])
{
	size_t h = hash(rl, prefix);
	struct ratelimit_entry *victim = NULL;

	for (size_t i = 0; i < PROBES; i++) {
		struct ratelimit_entry *e = &rl->table[(h + i) & rl->mask];
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

bool ratelimit_allow(struct ratelimit *rl, const uint8_t *ip, size_t ip_len, uint64_t now_ns)
{
	uint64_t prefix[2];
	struct ratelimit_entry *e;

	if (!rl->table)
		return true;
	make_prefix(prefix, ip, ip_len);
	e = find(rl, prefix);
	if (e->last_ns == 0)
		e->credit_ns = rl->max_ns;
	else if (now_ns > e->last_ns)
		e->credit_ns += now_ns - e->last_ns;
	if (e->credit_ns > rl->max_ns)
		e->credit_ns = rl->max_ns;
	e->last_ns = now_ns ? now_ns : 1;
	if (e->credit_ns < rl->cost_ns)
		return false;
	e->credit_ns -= rl->cost_ns;
	return true;
}
