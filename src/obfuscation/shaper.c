/* Stealth maximum's handshake shaper: see shaper.h and docs/protocol.md
 * §12.6 ("Handshake chaff"). */
#include "obfuscation/shaper.h"

#include <string.h>

#define NS_PER_S   1000000000ull
#define CREDIT_MAX ((uint64_t)SHAPER_RATE * NS_PER_S) /* one second's worth */

int shaper_init(struct shaper *s, unsigned per_flow, const struct rng *rng)
{
	memset(s, 0, sizeof(*s));
	s->per_flow = per_flow > SHAPER_PER_FLOW_MAX ? SHAPER_PER_FLOW_MAX : per_flow;
	return rng_fill(rng, (uint8_t *)&s->seed, sizeof(s->seed));
}

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u; /* FNV-1a */
	return h;
}

/* One end of the flow: address then port, as the hash reads it. */
struct endpoint {
	uint8_t b[18];
	size_t len;
};

static void endpoint_of(struct endpoint *e, const uint8_t *addr, size_t alen, const uint8_t *port)
{
	memcpy(e->b, addr, alen);
	memcpy(e->b + alen, port, 2);
	e->len = alen + 2;
}

uint32_t shaper_flow_key(uint32_t seed, const uint8_t *ip, size_t len, bool *ret_start)
{
	struct endpoint a, b;
	const struct endpoint *lo = &a, *hi = &b;
	size_t hl, alen;
	uint8_t proto;
	const uint8_t *src;
	uint32_t h = 2166136261u ^ seed;

	*ret_start = false;
	if (len >= 20 && ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (hl < 20 || (((size_t)ip[6] << 8 | ip[7]) & 0x1fff))
			return 0; /* a bad header, or a fragment without the ports */
		proto = ip[9];
		src = ip + 12;
		alen = 4;
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		hl = 40; /* extension headers: next header is not TCP/UDP, not shaped */
		proto = ip[6];
		src = ip + 8;
		alen = 16;
	} else {
		return 0;
	}
	if (proto == 6 && len >= hl + 14)
		*ret_start = (ip[hl + 13] & 0x12) == 0x02; /* SYN without ACK */
	else if (proto == 17 && len >= hl + 4)
		*ret_start = true; /* any packet may start a UDP flow (see shaper_packet) */
	else
		return 0;
	endpoint_of(&a, src, alen, ip + hl);
	endpoint_of(&b, src + alen, alen, ip + hl + 2);
	if (memcmp(a.b, b.b, a.len) > 0) {
		lo = &b;
		hi = &a;
	}
	h = mix(h, &proto, 1);
	h = mix(h, lo->b, lo->len);
	h = mix(h, hi->b, hi->len);
	return h ? h : 1;
}

static void refill(struct shaper *s, uint64_t now_ns)
{
	uint64_t elapsed;

	if (!s->started) {
		s->started = true;
		s->credit = CREDIT_MAX;
	} else if (now_ns > s->last_ns) {
		elapsed = now_ns - s->last_ns;
		if (elapsed > NS_PER_S)
			elapsed = NS_PER_S;
		s->credit += elapsed * SHAPER_RATE;
		if (s->credit > CREDIT_MAX)
			s->credit = CREDIT_MAX;
	}
	if (now_ns > s->last_ns)
		s->last_ns = now_ns; /* a clock that steps back earns nothing */
}

/* May a flow that starts with this packet take slot f? A free slot, or an
 * occupant past its time; a TCP SYN (a real start, not a long-lived UDP
 * flow coming back to a slot it lost) also one no longer young. */
static bool may_take(const struct shaper_flow *f, bool udp, uint64_t now_ns)
{
	if (!f->tag || now_ns - f->born_ns >= SHAPER_FLOW_TTL_NS)
		return true;
	return !udp && f->packets >= SHAPER_YOUNG_PACKETS;
}

/* The young flow this packet belongs to (installing it if it starts
 * one), or NULL. */
static struct shaper_flow *young_flow(struct shaper *s, const uint8_t *ip, size_t len,
				      uint64_t now_ns)
{
	bool start, udp;
	uint32_t key = shaper_flow_key(s->seed, ip, len, &start);
	struct shaper_flow *f = &s->flow[key % SHAPER_FLOWS];

	if (!key)
		return NULL;
	udp = (ip[0] >> 4 == 4 ? ip[9] : ip[6]) == 17;
	if (f->tag != key || (start && !udp)) { /* a SYN re-arms its own flow too */
		if (!start || (f->tag != key && !may_take(f, udp, now_ns)))
			return NULL;
		*f = (struct shaper_flow){.tag = key, .born_ns = now_ns};
	}
	if (f->packets >= SHAPER_YOUNG_PACKETS)
		return NULL;
	f->packets++;
	return f;
}

unsigned shaper_packet(struct shaper *s, const uint8_t *ip, size_t len, enum shaper_dir dir,
		       uint64_t now_ns, const struct rng *rng)
{
	struct shaper_flow *f;
	unsigned want, grant, left;
	uint8_t r;

	(void)dir; /* both directions draw alike: the effect differs (shaper.h) */
	if (!s->per_flow)
		return 0;
	f = young_flow(s, ip, len, now_ns);
	if (!f)
		return 0;
	refill(s, now_ns);
	if (rng_fill(rng, &r, 1) < 0)
		return 0;
	want = (unsigned)((r * (SHAPER_PER_PACKET + 1u)) >> 8); /* 0..SHAPER_PER_PACKET */
	left = s->per_flow > f->chaff ? s->per_flow - f->chaff : 0;
	grant = want < left ? want : left;
	if (grant > s->credit / NS_PER_S)
		grant = (unsigned)(s->credit / NS_PER_S);
	s->credit -= (uint64_t)grant * NS_PER_S;
	s->refused += want - grant;
	s->chaff += grant;
	f->chaff = (uint8_t)(f->chaff + grant);
	return grant;
}
