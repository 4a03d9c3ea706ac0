/* Batched UDP sends (io/udp.c) over loopback: runs of equal-sized
 * datagrams to one peer go out as one UDP_SEGMENT message, and whatever
 * the grouping, every datagram arrives whole, once, in order, at the
 * right peer. Also the plain path (gso_off) and the endpoint helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/udp.h"

#define MAX_LEN 4096

struct peer {
	int fd;
	struct udp_endpoint ep;
};

static void open_loopback(struct peer *p)
{
	struct udp_endpoint any;
	struct udp_options o = {.buffer_bytes = 1 << 20};

	assert_int_equal(udp_endpoint_parse(&any, "127.0.0.1", 0), 0);
	assert_int_equal(udp_open(&any, &o, &p->fd), 0);
	p->ep.len = sizeof(p->ep.in6);
	assert_int_equal(getsockname(p->fd, &p->ep.sa, &p->ep.len), 0);
}

/* Datagram i: length lens[i], bytes (i * 7 + k) & 0xff, so a datagram
 * that arrives cut, merged or out of order is caught. */
static void fill(uint8_t *buf, unsigned i, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(i * 7 + k);
}

static void expect(int fd, unsigned i, size_t len)
{
	uint8_t got[MAX_LEN + 1], want[MAX_LEN];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)len);
	fill(want, i, len);
	assert_memory_equal(got, want, len);
}

static void expect_nothing(int fd)
{
	uint8_t got[MAX_LEN];

	assert_int_equal(recv(fd, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

struct plan {
	unsigned n;
	size_t lens[UDP_BATCH];
	int to[UDP_BATCH]; /* index into the receivers */
};

/* Sends the plan in one batch; returns the number of messages it took. */
static unsigned send_plan(const struct plan *p, struct peer *rx, bool gso_off)
{
	static uint8_t bufs[UDP_BATCH][MAX_LEN];
	struct peer tx;
	struct udp_batch *b = calloc(1, sizeof(*b));
	unsigned runs = 0;
	int err = 0;

	assert_non_null(b);
	open_loopback(&tx);
	b->gso_off = gso_off;
	for (unsigned i = 0; i < p->n; i++) {
		fill(bufs[i], i, p->lens[i]);
		assert_true(udp_batch_add(b, bufs[i], p->lens[i], &rx[p->to[i]].ep));
	}
	assert_int_equal(udp_send_batch(tx.fd, b, &err), 0);
	assert_int_equal(b->n, p->n); /* the caller still owns the entries */
	for (unsigned i = 0; i < p->n; i++)
		assert_ptr_equal(b->iov[i].iov_base, bufs[i]);
	for (unsigned i = 0; i < p->n; i++)
		expect(rx[p->to[i]].fd, i, p->lens[i]);
	for (int r = 0; r < 2; r++)
		expect_nothing(rx[r].fd);
	while (b->run_first[runs] < p->n)
		runs++;
	close(tx.fd);
	free(b);
	return runs;
}

/* 20 full-size datagrams and a short tail: one GSO message. */
static void test_one_run(void **state)
{
	struct peer rx[2];
	struct plan p = {.n = 21};

	(void)state;
	open_loopback(&rx[0]);
	open_loopback(&rx[1]);
	for (unsigned i = 0; i < 20; i++)
		p.lens[i] = 1420;
	p.lens[20] = 300;
	assert_int_equal(send_plan(&p, rx, false), 1);
	/* the same, plainly */
	assert_int_equal(send_plan(&p, rx, true), 21);
	close(rx[0].fd);
	close(rx[1].fd);
}

/* Peers interleave, a short datagram ends a run, a longer one after a
 * short one starts a new one, and a full batch of tiny keepalives. */
static void test_runs_split(void **state)
{
	struct peer rx[2];
	struct plan p = {.n = 12};
	/* runs: [0 1 2] [3] [4 5] [6] [7 8 9 10] [11] */
	static const size_t lens[12] = {1000, 1000, 1000, 64,  1200, 900,
					1400, 500,  500,  500, 400,  1400};
	static const int to[12] = {0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0};

	(void)state;
	open_loopback(&rx[0]);
	open_loopback(&rx[1]);
	memcpy(p.lens, lens, sizeof(lens));
	memcpy(p.to, to, sizeof(to));
	assert_int_equal(send_plan(&p, rx, false), 6);
	assert_int_equal(send_plan(&p, rx, true), 12);

	p.n = UDP_BATCH;
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		p.lens[i] = 32;
		p.to[i] = (int)(i / 16);
	}
	assert_int_equal(send_plan(&p, rx, false), 2);
	close(rx[0].fd);
	close(rx[1].fd);
}

/* A run never exceeds one IP datagram: 32 × 4000 bytes (a jumbo-MTU
 * tunnel) go as 16 + 16. */
static void test_run_size_cap(void **state)
{
	struct peer rx[2];
	struct plan p = {.n = UDP_BATCH};

	(void)state;
	open_loopback(&rx[0]);
	open_loopback(&rx[1]);
	for (unsigned i = 0; i < UDP_BATCH; i++)
		p.lens[i] = 4000;
	assert_int_equal(send_plan(&p, rx, false), 2);
	close(rx[0].fd);
	close(rx[1].fd);
}

/* A GRO receiver gets a run as few messages; cut by udp_batch_segment
 * they give back every datagram, whole and in order. */
static void test_gro_receive(void **state)
{
	static uint8_t bufs[UDP_BATCH][MAX_LEN], slots[4][UDP_GRO_BUF_MIN];
	uint8_t *slot_ptrs[UDP_BATCH];
	struct peer tx, rx;
	struct udp_endpoint any;
	struct udp_options o = {.gro = true, .buffer_bytes = 1 << 20};
	struct udp_batch *b = calloc(1, sizeof(*b)), *r = calloc(1, sizeof(*r));
	struct pollfd pfd;
	unsigned got = 0, messages = 0;
	int err = 0;

	(void)state;
	assert_non_null(b);
	assert_non_null(r);
	assert_int_equal(udp_endpoint_parse(&any, "127.0.0.1", 0), 0);
	assert_int_equal(udp_open(&any, &o, &rx.fd), 0);
	rx.ep.len = sizeof(rx.ep.in6);
	assert_int_equal(getsockname(rx.fd, &rx.ep.sa, &rx.ep.len), 0);
	open_loopback(&tx);
	for (unsigned i = 0; i < 21; i++) {
		fill(bufs[i], i, i < 20 ? 1420 : 300);
		assert_true(udp_batch_add(b, bufs[i], i < 20 ? 1420 : 300, &rx.ep));
	}
	assert_int_equal(udp_send_batch(tx.fd, b, &err), 0);
	for (unsigned i = 0; i < UDP_BATCH; i++)
		slot_ptrs[i] = slots[i % 4]; /* at most 4 messages expected */
	pfd = (struct pollfd){.fd = rx.fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	while (got < 21) {
		int n = udp_recv_batch(rx.fd, r, slot_ptrs, UDP_GRO_BUF_MIN);
		assert_in_range(n, 1, 4);
		messages += (unsigned)n;
		for (unsigned m = 0; m < (unsigned)n; m++) {
			size_t len = r->msgs[m].msg_len, seg = udp_batch_segment(r, m);
			uint8_t want[MAX_LEN];

			assert_false(udp_batch_truncated(r, m));
			assert_true(udp_endpoint_equal(&r->peers[m], &tx.ep));
			for (size_t off = 0; off < len; off += seg, got++) {
				size_t one = len - off < seg ? len - off : seg;

				assert_int_equal(one, got < 20 ? 1420 : 300);
				fill(want, got, one);
				assert_memory_equal(slot_ptrs[m] + off, want, one);
			}
		}
	}
	assert_int_equal(got, 21);
	assert_true(messages < 21); /* the kernel did coalesce */
	expect_nothing(rx.fd);
	close(tx.fd);
	close(rx.fd);
	free(b);
	free(r);
}

static void test_endpoints(void **state)
{
	struct udp_endpoint a, b, m;
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	char str[UDP_ENDPOINT_STR_MAX];

	(void)state;
	assert_int_equal(udp_endpoint_parse(&a, "192.0.2.1", 51820), 0);
	assert_int_equal(udp_endpoint_parse(&b, "192.0.2.1", 51821), 0);
	assert_int_equal(udp_endpoint_parse(&m, "::ffff:192.0.2.1", 51820), 0);
	assert_false(udp_endpoint_equal(&a, &b));
	assert_true(udp_endpoint_equal(&a, &a));
	assert_false(udp_endpoint_equal(&a, &m)); /* different families */
	/* the mapped address keys like the IPv4 one */
	assert_int_equal(udp_endpoint_key(&a, key), 6);
	assert_int_equal(udp_endpoint_key(&m, key), 6);
	assert_memory_equal(key, "\xc0\x00\x02\x01\xca\x6c", 6);
	assert_string_equal(udp_endpoint_str(&m, str), "192.0.2.1:51820");
	assert_int_equal(udp_endpoint_parse(&a, "2001:db8::1", 443), 0);
	assert_int_equal(udp_endpoint_key(&a, key), 18);
	assert_string_equal(udp_endpoint_str(&a, str), "[2001:db8::1]:443");
	assert_int_equal(udp_endpoint_parse(&a, "not-an-address", 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_run),	 cmocka_unit_test(test_runs_split),
	    cmocka_unit_test(test_run_size_cap), cmocka_unit_test(test_gro_receive),
	    cmocka_unit_test(test_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
