/* The worker's fair queue (dataplane/fq.c), attacked: a sparse flow's
 * packet leaves before a bulk flow's backlog; flows that all hash together
 * lose nothing and keep their order; CoDel drops only after a whole
 * interval above target, and marks ECN-capable packets (checksum kept)
 * instead; the limits drop from the fattest flow, never the small ones;
 * nothing is allocated after fq_init (malloc, calloc and realloc are
 * wrapped and counted); every buffer comes back exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/fq.h"

/* ---- allocation counting (-Wl,--wrap=..., tests/unit/meson.build) ---- */

static unsigned allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
	allocs++;
	return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

/* ---- packets: a fixed set of buffers, each owned by the test or the queue ---- */

#define NBUF 4096
#define MS   1000000ull

static uint8_t bufs[NBUF][1500];
static int owner[NBUF]; /* 0 test, 1 queue, 2 released */
static unsigned released;

static int buf_index(const uint8_t *b)
{
	ptrdiff_t i = (b - &bufs[0][0]) / (ptrdiff_t)sizeof(bufs[0]);

	assert_true(i >= 0 && i < NBUF);
	assert_ptr_equal(b, bufs[i]);
	return (int)i;
}

static void on_release(void *ctx, uint8_t *buf)
{
	int i = buf_index(buf);

	(void)ctx;
	assert_int_equal(owner[i], 1); /* released once, and only what the queue held */
	owner[i] = 2;
	released++;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4 packet of len bytes in buffer i: proto, ports, ECN bits. */
static uint8_t *ip4(int i, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t len, uint8_t ecn)
{
	uint8_t *p = bufs[i];
	uint16_t c;

	memset(p, 0, len);
	p[0] = 0x45;
	p[1] = ecn;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, (uint8_t[]){10, 8, 0, 2}, 4);
	memcpy(p + 16, (uint8_t[]){203, 0, 113, 2}, 4);
	c = csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	owner[i] = 1;
	return p;
}

static struct fq_params params(uint32_t flows, uint32_t limit)
{
	return (struct fq_params){.flows = flows,
				  .limit = limit,
				  .quantum = 1500,
				  .target_ns = FQ_TARGET_NS,
				  .interval_ns = FQ_INTERVAL_NS,
				  .key = {0x0123456789abcdefull, 0xfedcba9876543210ull},
				  .release = on_release};
}

static int reset(void **state)
{
	(void)state;
	memset(owner, 0, sizeof(owner));
	released = 0;
	return 0;
}

/* Dequeues one packet: its buffer index, -1 when empty. */
static int take(struct fq *q, uint64_t now)
{
	uint8_t *b;
	uint16_t off, len;
	int i;

	if (!fq_dequeue(q, now, &b, &off, &len))
		return -1;
	i = buf_index(b);
	assert_int_equal(owner[i], 1);
	owner[i] = 0;
	assert_int_equal(off, 0);
	return i;
}

static void test_init_invalid(void **state)
{
	struct fq q;
	struct fq_params p = params(16, 16);

	(void)state;
	p.flows = 0;
	assert_int_equal(fq_init(&q, &p), -EINVAL);
	p = params(16, 0);
	assert_int_equal(fq_init(&q, &p), -EINVAL);
	p = params(16, 16);
	p.target_ns = p.interval_ns;
	assert_int_equal(fq_init(&q, &p), -EINVAL);
	p = params(16, 16);
	p.release = NULL;
	assert_int_equal(fq_init(&q, &p), -EINVAL);
	fq_done(&q);
}

/* A bulk TCP flow has 200 packets queued and is being served; a ping
 * arrives: it is the next packet out, or the one after (the bulk flow
 * may finish the packet its deficit allows). */
static void test_sparse_flow_first(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 1024);
	int i, n = 0;

	(void)state;
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 200; i++)
		fq_enqueue(&q, ip4(i, 6, 40000, 5201, 1420, 0), 0, 1420, 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(take(&q, 1 * MS), i); /* one flow: its order */
	fq_enqueue(&q, ip4(1000, 1, 0, 0, 84, 0), 0, 84, 1 * MS);
	while ((i = take(&q, 1 * MS)) != 1000) {
		assert_true(i >= 10 && i < 200);
		n++;
	}
	assert_true(n <= 1);
	assert_int_equal(q.stats.new_flows, 2);
	/* then the bulk flow goes on, in order, to the end */
	for (i = 10 + n; i < 200; i++)
		assert_int_equal(take(&q, 1 * MS), i);
	assert_int_equal(take(&q, 1 * MS), -1);
	assert_int_equal(released, 0);
	fq_done(&q);
}

/* Two bulk flows share the link in turns (DRR): neither gets more than a
 * quantum ahead of the other. */
static void test_drr_turns(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 1024);
	int a = 0, b = 0;

	(void)state;
	assert_int_equal(fq_init(&q, &p), 0);
	assert_int_not_equal(fq_flow_of(&q, ip4(0, 6, 1, 80, 1420, 0), 1420),
			     fq_flow_of(&q, ip4(1, 6, 2, 80, 1420, 0), 1420));
	for (int i = 0; i < 200; i += 2) {
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0), 0, 1420, 0);
		fq_enqueue(&q, ip4(i + 1, 6, 2, 80, 1420, 0), 0, 1420, 0);
	}
	for (int k = 0; k < 200; k++) {
		int i = take(&q, 1 * MS);

		assert_true(i >= 0);
		if (i % 2)
			b++;
		else
			a++;
		assert_true(abs(a - b) <= 2);
	}
	fq_done(&q);
}

/* Every flow hashes to one queue (flows = 1), or 5000 flows into 16
 * queues: nothing is lost or duplicated, and each flow keeps its order. */
static void test_flows_hashing_together(void **state)
{
	static const uint32_t nflows[] = {1, 16};
	int last[NBUF];

	(void)state;
	for (unsigned t = 0; t < 2; t++) {
		struct fq q;
		struct fq_params p = params(nflows[t], NBUF);
		int i, out = 0;

		reset(NULL);
		assert_int_equal(fq_init(&q, &p), 0);
		for (i = 0; i < NBUF; i++) /* flow = i % 5000 ... every packet its own port */
			fq_enqueue(&q, ip4(i, 17, (uint16_t)(i % 1250), 53, 100, 0), 0, 100, 0);
		assert_int_equal(fq_backlog(&q), NBUF);
		for (i = 0; i < NBUF; i++)
			last[i] = -1;
		while ((i = take(&q, 1 * MS)) >= 0) {
			int flow = i % 1250;

			assert_true(i > last[flow]); /* in order within a flow */
			last[flow] = i;
			out++;
		}
		assert_int_equal(out, NBUF);
		assert_int_equal(released, 0);
		assert_int_equal(fq_backlog(&q), 0);
		fq_done(&q);
	}
}

/* CoDel: a standing queue above target is left alone for one interval,
 * then dropped from; a queue that waits less than target never is. */
static void test_codel_after_interval(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 1024);
	uint64_t t;
	int i, next = 0;

	(void)state;
	assert_int_equal(fq_init(&q, &p), 0);
	/* 1000 packets, all enqueued at 0: from 10 ms on each waited > target */
	for (i = 0; i < 1000; i++)
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0), 0, 1420, 0);
	/* first above target at 10 ms: nothing dropped before 110 ms */
	for (t = 10 * MS; t < 110 * MS; t += 1 * MS) {
		assert_int_equal(take(&q, t), next++);
		assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 0);
	}
	/* at 110 ms: one packet dropped, the next handed out */
	assert_int_equal(take(&q, 110 * MS), next + 1);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 1);
	assert_int_equal(owner[next], 2);
	next += 2;
	/* the next drop comes an interval later (count 1), then
	 * interval/sqrt(2) ≈ 70.7 ms after that (count 2), not before */
	for (t = 111 * MS; t < 210 * MS; t += 1 * MS)
		assert_int_equal(take(&q, t), next++);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 1);
	assert_int_equal(take(&q, 210 * MS), next + 1);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 2);
	next += 2;
	for (t = 211 * MS; t < 280 * MS; t += 1 * MS)
		assert_int_equal(take(&q, t), next++);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 2);
	assert_int_equal(take(&q, 281 * MS), next + 1);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 3);
	fq_done(&q);

	/* a queue served within target is never dropped from */
	reset(NULL);
	assert_int_equal(fq_init(&q, &p), 0);
	for (t = 0; t < 2000 * MS; t += 1 * MS) {
		i = (int)((t / MS) % 1000);
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0), 0, 1420, t);
		if (t >= 4 * MS)
			assert_true(take(&q, t) >= 0); /* each waits 4 ms */
	}
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 0);
	fq_done(&q);
}

/* With ECN on, an ECN-capable packet CoDel would drop is marked CE, with
 * a valid header checksum; one that is not ECN-capable is dropped. */
static void test_codel_ecn(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 1024);
	int i;

	(void)state;
	p.ecn = true;
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 100; i++)
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 2 /* ECT(0) */), 0, 1420, 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(take(&q, 10 * MS), i);
	i = take(&q, 111 * MS);
	assert_int_equal(i, 20); /* not dropped: marked */
	assert_int_equal(q.stats.ecn_marked, 1);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 0);
	assert_int_equal(bufs[20][1] & 3, 3);
	assert_int_equal(csum(bufs[20], 20), 0); /* the checksum still adds up */
	assert_int_equal(bufs[21][1] & 3, 2);	 /* only the one */
	fq_done(&q);

	reset(NULL);
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 100; i++)
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0 /* not ECT */), 0, 1420, 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(take(&q, 10 * MS), i);
	assert_int_equal(take(&q, 111 * MS), 21);
	assert_int_equal(q.stats.ecn_marked, 0);
	assert_int_equal(q.stats.drops[FQ_DROP_CODEL], 1);
	fq_done(&q);
}

/* The packet limit drops from the flow with the largest backlog, from its
 * head; the small flows keep every packet. */
static void test_limit_drops_fattest(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 64);
	int i, got[NBUF] = {0};

	(void)state;
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 60; i++) /* the bulk flow */
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0), 0, 1420, 0);
	for (i = 60; i < 64; i++) /* four small ones */
		fq_enqueue(&q, ip4(i, 17, (uint16_t)i, 53, 80, 0), 0, 80, 0);
	assert_int_equal(fq_backlog(&q), 64);
	fq_enqueue(&q, ip4(64, 17, 64, 53, 80, 0), 0, 80, 0);	/* over the limit */
	assert_int_equal(q.stats.drops[FQ_DROP_OVERLIMIT], 30); /* half the bulk flow */
	for (i = 0; i < 30; i++)
		assert_int_equal(owner[i], 2); /* from its head */
	while ((i = take(&q, 1 * MS)) >= 0)
		got[i] = 1;
	for (i = 30; i <= 64; i++)
		assert_int_equal(got[i], 1);
	fq_done(&q);

	/* the byte limit too */
	reset(NULL);
	p = params(1024, 1024);
	p.byte_limit = 20 * 1420;
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 20; i++)
		fq_enqueue(&q, ip4(i, 6, 1, 80, 1420, 0), 0, 1420, 0);
	fq_enqueue(&q, ip4(20, 1, 0, 0, 84, 0), 0, 84, 0);
	assert_int_equal(q.stats.drops[FQ_DROP_OVERLIMIT], 10);
	assert_true(q.bytes <= p.byte_limit);
	assert_int_equal(owner[20], 1); /* the ping is kept */
	fq_done(&q);
	assert_int_equal(owner[20], 2); /* fq_done released what was left */
}

/* Zero-length and garbage packets (the hash reads untrusted bytes) fill
 * the queue to its limit without a hang, and everything comes back. */
static void test_garbage_packets(void **state)
{
	struct fq q;
	struct fq_params p = params(4, 8);
	int i, out = 0;

	(void)state;
	assert_int_equal(fq_init(&q, &p), 0);
	for (i = 0; i < 100; i++) {
		owner[i] = 1;
		memset(bufs[i], 0x45 + i, 64);
		fq_enqueue(&q, bufs[i], (uint16_t)(i % 3), (uint16_t)(i % 2 ? 0 : 21 + i % 30),
			   (uint64_t)i * MS);
	}
	assert_true(fq_backlog(&q) <= 8);
	while (fq_backlog(&q)) {
		uint8_t *b;
		uint16_t off, len;

		if (!fq_dequeue(&q, 200 * MS, &b, &off, &len))
			break;
		owner[buf_index(b)] = 0;
		out++;
	}
	assert_int_equal((unsigned)out + released, 100);
	fq_done(&q);
}

/* fq_init allocates; enqueue, dequeue, drops and ECN marks never do. */
static void test_no_allocation(void **state)
{
	struct fq q;
	struct fq_params p = params(1024, 256);
	unsigned before;
	uint64_t t = 0;

	(void)state;
	p.ecn = true;
	before = allocs;
	assert_int_equal(fq_init(&q, &p), 0);
	assert_true(allocs > before); /* the counter sees fq.c's calls (the check can fail) */
	before = allocs;
	for (int round = 0; round < 200; round++, t += 30 * MS) {
		for (int i = 0; i < 300; i++) { /* over the limit: drops too */
			int b = (round * 300 + i) % NBUF;

			if (owner[b] == 1)
				continue;
			fq_enqueue(&q, ip4(b, 6, (uint16_t)(i % 7), 80, 1420, (uint8_t)(i % 3)), 0,
				   1420, t);
		}
		for (int i = 0; i < 200; i++) /* a standing queue: CoDel drops or marks */
			(void)take(&q, t + 10 * MS);
	}
	assert_true(q.stats.drops[FQ_DROP_OVERLIMIT] > 0);
	assert_true(q.stats.drops[FQ_DROP_CODEL] + q.stats.ecn_marked > 0);
	assert_int_equal(allocs, before);
	fq_done(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_init_invalid, reset),
	    cmocka_unit_test_setup(test_sparse_flow_first, reset),
	    cmocka_unit_test_setup(test_drr_turns, reset),
	    cmocka_unit_test_setup(test_flows_hashing_together, reset),
	    cmocka_unit_test_setup(test_codel_after_interval, reset),
	    cmocka_unit_test_setup(test_codel_ecn, reset),
	    cmocka_unit_test_setup(test_limit_drops_fattest, reset),
	    cmocka_unit_test_setup(test_garbage_packets, reset),
	    cmocka_unit_test_setup(test_no_allocation, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
