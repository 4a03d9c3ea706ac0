/* Stealth maximum's handshake shaper (obfuscation/shaper.c,
 * docs/protocol.md §12.6): the flow key reads both directions of a
 * connection alike and refuses what it cannot read; young flows start at
 * a SYN (TCP) or a first packet (UDP) and end after SHAPER_YOUNG_PACKETS;
 * the per-flow and per-second budgets hold against any traffic, hostile
 * included; the young-flow table stays bounded and evicts as documented;
 * the decisions are a function of the rng and the clock; the shaper never
 * writes the packets it reads (it holds nothing, so it cannot reorder).
 *
 * Randomness is the deterministic generator of crypto/rng.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "obfuscation/shaper.h"

#define S_NS 1000000000ull

static struct rng_det det;
static struct rng rng;

static void rng_seed(uint8_t b)
{
	uint8_t seed[32];

	memset(seed, b, sizeof(seed));
	rng_det_init(&det, seed);
	rng = rng_det_as_rng(&det);
}

/* An IPv4 TCP (proto 6) or UDP (17) packet of 60 bytes. */
static size_t pkt4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, uint8_t tcp_flags)
{
	memset(p, 0, 60);
	p[0] = 0x45;
	p[3] = 60;
	p[8] = 64;
	p[9] = proto;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	if (proto == 6) {
		p[32] = 0x50;
		p[33] = tcp_flags;
	}
	return 60;
}

#define SYN    0x02
#define ACK    0x10
#define SYNACK 0x12
#define CLI    0x0a080002u
#define SRV    0xcb007102u

static size_t tcp(uint8_t *p, bool from_client, uint16_t cport, uint8_t flags)
{
	return from_client ? pkt4(p, 6, CLI, SRV, cport, 443, flags)
			   : pkt4(p, 6, SRV, CLI, 443, cport, flags);
}

static void test_flow_key(void **state)
{
	uint8_t a[80], b[80];
	bool start;
	uint32_t ka, kb;

	(void)state;
	tcp(a, true, 40000, SYN);
	tcp(b, false, 40000, SYNACK);
	ka = shaper_flow_key(7, a, 60, &start);
	assert_true(start);
	kb = shaper_flow_key(7, b, 60, &start);
	assert_false(start); /* a SYN-ACK starts nothing */
	assert_int_not_equal(ka, 0);
	assert_int_equal(ka, kb);				     /* both directions: one flow */
	assert_int_not_equal(shaper_flow_key(8, a, 60, &start), ka); /* keyed by the seed */
	tcp(b, true, 40001, SYN);
	assert_int_not_equal(shaper_flow_key(7, b, 60, &start), ka);

	/* IPv6 TCP: its own key, both directions alike */
	memset(a, 0, sizeof(a));
	a[0] = 0x60;
	a[6] = 6;
	a[8] = 0x20;
	a[24] = 0x20;
	a[39] = 1;
	a[40] = 0x9c;
	a[43] = 0xbb;
	a[53] = SYN;
	memcpy(b, a, sizeof(a));
	memcpy(b + 8, a + 24, 16);
	memcpy(b + 24, a + 8, 16);
	b[40] = a[42];
	b[41] = a[43];
	b[42] = a[40];
	b[43] = a[41];
	b[53] = SYNACK;
	ka = shaper_flow_key(7, a, 60, &start);
	assert_true(start);
	assert_int_not_equal(ka, 0);
	assert_int_equal(shaper_flow_key(7, b, 60, &start), ka);

	/* what is not read: ICMP, a later fragment, a short or bad header */
	pkt4(a, 1, CLI, SRV, 0, 0, 0);
	assert_int_equal(shaper_flow_key(7, a, 60, &start), 0);
	tcp(a, true, 40000, SYN);
	a[7] = 1; /* fragment offset 8 */
	assert_int_equal(shaper_flow_key(7, a, 60, &start), 0);
	tcp(a, true, 40000, SYN);
	assert_int_equal(shaper_flow_key(7, a, 33, &start), 0); /* no TCP flags byte */
	assert_int_equal(shaper_flow_key(7, a, 19, &start), 0);
	a[0] = 0x44; /* IHL 16 bytes */
	assert_int_equal(shaper_flow_key(7, a, 60, &start), 0);
	a[0] = 0x55;
	assert_int_equal(shaper_flow_key(7, a, 20, &start), 0);
}

/* per_flow = 0 is off: nothing, ever. */
static void test_off(void **state)
{
	struct shaper s;
	uint8_t p[64];

	(void)state;
	rng_seed(1);
	assert_int_equal(shaper_init(&s, 0, &rng), 0);
	for (unsigned i = 0; i < 100; i++) {
		tcp(p, true, (uint16_t)(1000 + i), SYN);
		assert_int_equal(shaper_packet(&s, p, 60, SHAPER_OUT, i, &rng), 0);
	}
	assert_int_equal(s.chaff, 0);
}

/* A TCP handshake and more: chaff only for the first SHAPER_YOUNG_PACKETS
 * packets, at most SHAPER_PER_PACKET after each, at most per_flow in all;
 * a flow first seen mid-stream (no SYN) gets none. */
static void test_young_flow_budget(void **state)
{
	struct shaper s;
	uint8_t p[64];
	unsigned total = 0, max_one = 0, hist[SHAPER_PER_PACKET + 1] = {0};

	(void)state;
	for (uint8_t seed = 0; seed < 64; seed++) {
		rng_seed(seed);
		assert_int_equal(shaper_init(&s, 5, &rng), 0);
		total = 0;
		tcp(p, true, 50000, SYN);
		total += shaper_packet(&s, p, 60, SHAPER_OUT, S_NS, &rng);
		for (unsigned i = 1; i < 40; i++) {
			unsigned n;

			tcp(p, i % 2 == 0, 50000, i == 1 ? SYNACK : ACK);
			n = shaper_packet(&s, p, 60, i % 2 ? SHAPER_IN : SHAPER_OUT,
					  S_NS + i * 1000, &rng);
			if (i >= SHAPER_YOUNG_PACKETS)
				assert_int_equal(n, 0);
			max_one = n > max_one ? n : max_one;
			hist[n]++;
			total += n;
		}
		assert_true(total <= 5);
		assert_int_equal(s.chaff, total);
		/* mid-stream: an unknown flow without SYN */
		tcp(p, true, 50001, ACK);
		for (unsigned i = 0; i < 20; i++)
			assert_int_equal(shaper_packet(&s, p, 60, SHAPER_OUT, 2 * S_NS, &rng), 0);
	}
	assert_int_equal(max_one, SHAPER_PER_PACKET);
	for (unsigned k = 0; k <= SHAPER_PER_PACKET; k++)
		assert_true(hist[k] > 0); /* counts are drawn, not fixed */
}

/* However many flows start, the chaff granted by time t stays within
 * SHAPER_RATE * (1 + t) (the credit starts at, and never exceeds, one
 * second's worth), and what a budget refuses is counted. */
static void test_rate_budget(void **state)
{
	struct shaper s;
	uint8_t p[64];
	uint64_t now = 5 * S_NS;
	unsigned total = 0;

	(void)state;
	rng_seed(2);
	assert_int_equal(shaper_init(&s, SHAPER_PER_FLOW_MAX + 100, &rng), 0);
	assert_int_equal(s.per_flow, SHAPER_PER_FLOW_MAX);
	for (unsigned i = 0; i < 2000; i++) /* a SYN flood at one instant */
		total += shaper_packet(&s, p, tcp(p, true, (uint16_t)(1024 + i), SYN), SHAPER_IN,
				       now, &rng);
	assert_int_equal(total, SHAPER_RATE);
	assert_true(s.refused > 0);
	/* a clock that steps back earns nothing, nor does coming back to it */
	memset(s.flow, 0, sizeof(s.flow));
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(shaper_packet(&s, p, tcp(p, true, (uint16_t)(3000 + i), SYN),
					       SHAPER_OUT, now - 4 * S_NS, &rng),
				 0);
	memset(s.flow, 0, sizeof(s.flow));
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(shaper_packet(&s, p, tcp(p, true, (uint16_t)(3200 + i), SYN),
					       SHAPER_OUT, now, &rng),
				 0);
	/* then, once the flood's SYNs no longer hold their slots, 10 ms apart
	 * for 4 s, 4 short connections each time (each ends its youth, so its
	 * slot is free for the next SYN) */
	now += SHAPER_FLOW_TTL_NS;
	total = 0; /* the credit is one second's worth again */
	for (unsigned t = 1; t <= 400; t++) {
		for (unsigned i = 0; i < 4; i++) {
			uint16_t port = (uint16_t)(4000 + t * 4 + i);

			for (unsigned k = 0; k <= SHAPER_YOUNG_PACKETS; k++)
				total += shaper_packet(
				    &s, p, tcp(p, k % 2 == 0, port, k ? ACK : SYN),
				    k % 2 ? SHAPER_IN : SHAPER_OUT, now + t * (S_NS / 100), &rng);
		}
		assert_true(total <= SHAPER_RATE + (uint64_t)SHAPER_RATE * t / 100);
	}
	assert_true(total >= SHAPER_RATE * 4); /* the rate is granted, not just capped */
	/* a long quiet spell refills one second's worth, no more */
	now += 100 * S_NS;
	total = 0;
	for (unsigned i = 0; i < 500; i++)
		total += shaper_packet(&s, p, tcp(p, true, (uint16_t)(20000 + i), SYN), SHAPER_OUT,
				       now, &rng);
	assert_int_equal(total, SHAPER_RATE);
}

/* The same rng stream and clock give the same decisions. */
static void test_deterministic(void **state)
{
	struct shaper a, b;
	uint8_t p[64];
	struct rng_det d2;
	struct rng r2;
	uint8_t seed[32];

	(void)state;
	rng_seed(3);
	memset(seed, 3, sizeof(seed));
	rng_det_init(&d2, seed);
	r2 = rng_det_as_rng(&d2);
	assert_int_equal(shaper_init(&a, 8, &rng), 0);
	assert_int_equal(shaper_init(&b, 8, &r2), 0);
	assert_int_equal(a.seed, b.seed);
	for (unsigned i = 0; i < 3000; i++) {
		uint16_t port = (uint16_t)(30000 + (i * 7919) % 300);
		uint8_t flags = i % 5 == 0 ? SYN : ACK;
		uint64_t now = S_NS + (uint64_t)i * 3000000;

		tcp(p, i % 3 != 0, port, flags);
		assert_int_equal(shaper_packet(&a, p, 60, SHAPER_OUT, now, &rng),
				 shaper_packet(&b, p, 60, SHAPER_OUT, now, &r2));
	}
	assert_int_equal(a.chaff, b.chaff);
	assert_true(a.chaff > 0);
}

/* The table holds SHAPER_FLOWS entries. A new UDP flow does not take the
 * slot of a live young flow, but does once that one is past
 * SHAPER_FLOW_TTL_NS; a SYN takes the slot of a flow no longer young. */
static void test_table_bounded_evicts(void **state)
{
	struct shaper s;
	uint8_t p[64], q[64];
	unsigned used = 0;
	uint16_t port, other = 0;
	bool start;
	uint32_t key, okey;

	(void)state;
	rng_seed(4);
	assert_int_equal(shaper_init(&s, 8, &rng), 0);
	assert_int_equal(sizeof(s.flow) / sizeof(s.flow[0]), SHAPER_FLOWS);
	for (unsigned i = 0; i < 1000; i++)
		(void)shaper_packet(&s, p, tcp(p, true, (uint16_t)(2000 + i), SYN), SHAPER_OUT,
				    S_NS, &rng);
	for (unsigned i = 0; i < SHAPER_FLOWS; i++)
		used += s.flow[i].tag != 0;
	assert_true(used <= SHAPER_FLOWS && used > SHAPER_FLOWS / 2);

	/* a UDP flow whose slot a young TCP flow holds */
	assert_int_equal(shaper_init(&s, 8, &rng), 0);
	tcp(p, true, 443, SYN);
	key = shaper_flow_key(s.seed, p, 60, &start);
	for (port = 1; port; port++) {
		pkt4(q, 17, CLI, SRV, port, 53, 0);
		okey = shaper_flow_key(s.seed, q, 60, &start);
		if (okey != key && okey % SHAPER_FLOWS == key % SHAPER_FLOWS) {
			other = port;
			break;
		}
	}
	assert_int_not_equal(other, 0);
	(void)shaper_packet(&s, p, 60, SHAPER_OUT, S_NS, &rng);
	assert_int_equal(s.flow[key % SHAPER_FLOWS].tag, key);
	(void)shaper_packet(&s, q, 60, SHAPER_OUT, S_NS + 1, &rng);
	assert_int_equal(s.flow[key % SHAPER_FLOWS].tag, key); /* kept */
	(void)shaper_packet(&s, q, 60, SHAPER_OUT, S_NS + SHAPER_FLOW_TTL_NS, &rng);
	assert_int_equal(s.flow[key % SHAPER_FLOWS].tag, okey); /* past its time: evicted */
	assert_int_equal(s.flow[key % SHAPER_FLOWS].packets, 1);

	/* the UDP flow stops being young; a SYN may take its slot at once */
	for (unsigned i = 0; i < SHAPER_YOUNG_PACKETS; i++)
		(void)shaper_packet(&s, q, 60, SHAPER_IN, S_NS + SHAPER_FLOW_TTL_NS + 2, &rng);
	(void)shaper_packet(&s, p, 60, SHAPER_OUT, S_NS + SHAPER_FLOW_TTL_NS + 3, &rng);
	assert_int_equal(s.flow[key % SHAPER_FLOWS].tag, key);
	/* and the old UDP flow, coming back, does not take it from a young one */
	(void)shaper_packet(&s, q, 60, SHAPER_OUT, S_NS + SHAPER_FLOW_TTL_NS + 4, &rng);
	assert_int_equal(s.flow[key % SHAPER_FLOWS].tag, key);
}

/* Random bytes of every length, as a peer or the host could write them:
 * read only within len (ASan), never written, budgets still hold. */
static void test_hostile_packets(void **state)
{
	struct shaper s;
	uint8_t p[128], copy[128];
	uint64_t total = 0;

	(void)state;
	rng_seed(5);
	assert_int_equal(shaper_init(&s, 8, &rng), 0);
	for (unsigned i = 0; i < 20000; i++) {
		size_t len = i % 97;
		uint8_t *buf;

		assert_int_equal(rng_fill(&rng, p, sizeof(p)), 0);
		p[0] = (uint8_t)((i & 1 ? 0x40 : 0x60) | (p[0] & 0x0f));
		if (i % 4 == 0)
			p[9] = 17, p[6] = 17, p[0] = (uint8_t)((p[0] & 0xf0) | 5);
		memcpy(copy, p, sizeof(p));
		buf = len ? malloc(len) : NULL; /* exact size: ASan sees any read past len */
		if (len)
			memcpy(buf, p, len);
		total += shaper_packet(&s, buf ? buf : p, len, i & 2 ? SHAPER_IN : SHAPER_OUT,
				       S_NS + i * 1000ull, &rng);
		if (len)
			assert_memory_equal(buf, copy, len);
		free(buf);
	}
	assert_int_equal(total, s.chaff);
	assert_true(total <= SHAPER_RATE + SHAPER_RATE * 20000ull * 1000 / S_NS + 1);
	assert_true(total > 0); /* random UDP headers do start flows */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flow_key),	      cmocka_unit_test(test_off),
	    cmocka_unit_test(test_young_flow_budget), cmocka_unit_test(test_rate_budget),
	    cmocka_unit_test(test_deterministic),     cmocka_unit_test(test_table_bounded_evicts),
	    cmocka_unit_test(test_hostile_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
