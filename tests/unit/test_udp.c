/* Batched UDP sends (io/udp.c) over loopback: runs of equal-sized
 * datagrams to one peer go out as one UDP_SEGMENT message, and whatever
 * the grouping, every datagram arrives whole, once, in order, at the
 * right peer. Also the plain path (gso_off) and the endpoint helpers.
 *
 * Local addresses (pktinfo): lo answers to all of 127.0.0.0/8, so a
 * socket bound to 0.0.0.0 (or "::") can be reached on 127.0.0.2 as well
 * as 127.0.0.1: it must report which one a datagram came to, answers sent
 * from that address must arrive from it (alone and as GSO runs, runs
 * split where the source changes), and a source the host does not have
 * is dropped for that send and reported. IPv6 has only ::1 without root:
 * the path is covered here, two addresses in tests/e2e/multihome.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
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

/* ---- local addresses (pktinfo) ---- */

/* A socket bound to a wildcard address with pktinfo, and its port. */
static int open_wildcard(const char *any, bool gro, uint16_t *ret_port)
{
	struct udp_endpoint ep, got;
	struct udp_options o = {.gro = gro, .pktinfo = true, .buffer_bytes = 1 << 20};
	int fd;

	assert_int_equal(udp_endpoint_parse(&ep, any, 0), 0);
	assert_int_equal(udp_open(&ep, &o, &fd), 0);
	got.len = sizeof(got.in6);
	assert_int_equal(getsockname(fd, &got.sa, &got.len), 0);
	*ret_port = ntohs(got.sa.sa_family == AF_INET ? got.in4.sin_port : got.in6.sin6_port);
	return fd;
}

static void local_of(struct udp_local *l, const char *addr)
{
	memset(l, 0, sizeof(*l));
	if (inet_pton(AF_INET, addr, &l->in4) == 1) {
		l->family = AF_INET;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, addr, &l->in6), 1);
	l->family = AF_INET6;
}

/* Sends one datagram of length len from fd (a plain socket) to addr:port. */
static void send_to(int fd, const char *addr, uint16_t port, size_t len)
{
	struct udp_endpoint to;
	uint8_t buf[MAX_LEN];

	assert_int_equal(udp_endpoint_parse(&to, addr, port), 0);
	fill(buf, 0, len);
	assert_int_equal(udp_send(fd, buf, len, &to), 0);
}

/* Receives one message on the wildcard socket into b; returns its index 0. */
static void recv_one(int fd, struct udp_batch *b)
{
	static uint8_t slot[UDP_GRO_BUF_MIN];
	uint8_t *slots[UDP_BATCH];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	for (unsigned i = 0; i < UDP_BATCH; i++)
		slots[i] = slot;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(udp_recv_batch(fd, b, slots, sizeof(slot)), 1);
}

/* Expects datagram i (len bytes) on fd from source address src. */
static void expect_from(int fd, unsigned i, size_t len, const char *src)
{
	uint8_t got[MAX_LEN + 1], want[MAX_LEN];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct udp_endpoint from, want_ep;
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	from.len = sizeof(from.in6);
	n = recvfrom(fd, got, sizeof(got), MSG_DONTWAIT, &from.sa, &from.len);
	assert_int_equal(n, (ssize_t)len);
	fill(want, i, len);
	assert_memory_equal(got, want, len);
	assert_int_equal(udp_endpoint_parse(&want_ep, src, 0), 0);
	if (want_ep.sa.sa_family == AF_INET)
		assert_memory_equal(&from.in4.sin_addr, &want_ep.in4.sin_addr, 4);
	else
		assert_memory_equal(&from.in6.sin6_addr, &want_ep.in6.sin6_addr, 16);
}

/* The peer's socket: bound to loopback addr, its endpoint as the wildcard
 * socket sees it (IPv4 on the dual-stack socket is mapped). */
static void open_peer(struct peer *p, const char *addr, bool mapped)
{
	struct udp_endpoint ep;
	struct udp_options o = {.buffer_bytes = 1 << 20};
	char mapped_addr[64];
	uint16_t port;

	assert_int_equal(udp_endpoint_parse(&ep, addr, 0), 0);
	assert_int_equal(udp_open(&ep, &o, &p->fd), 0);
	p->ep.len = sizeof(p->ep.in6);
	assert_int_equal(getsockname(p->fd, &p->ep.sa, &p->ep.len), 0);
	if (!mapped)
		return;
	port = ntohs(p->ep.in4.sin_port);
	snprintf(mapped_addr, sizeof(mapped_addr), "::ffff:%s", addr);
	assert_int_equal(udp_endpoint_parse(&p->ep, mapped_addr, port), 0);
}

/* A datagram to 127.0.0.2 reports 127.0.0.2 (and lo), one to 127.0.0.1
 * reports 127.0.0.1; answers from the reported address arrive from it,
 * one datagram and a GSO run alike. any is "0.0.0.0" or "::" (dual
 * stack: IPv4 arrives as IPv4-mapped peers, the local address as IPv4). */
static void check_reply_from_local(const char *any)
{
	static uint8_t bufs[UDP_BATCH][MAX_LEN];
	struct udp_batch *r = calloc(1, sizeof(*r)), *t = calloc(1, sizeof(*t));
	bool dual = strcmp(any, "::") == 0;
	struct udp_local want;
	struct peer peer;
	char str[UDP_ENDPOINT_STR_MAX];
	uint16_t port;
	int fd = open_wildcard(any, true, &port), err = 0;
	unsigned runs = 0;

	assert_non_null(r);
	assert_non_null(t);
	open_peer(&peer, "127.0.0.1", dual);
	for (int round = 0; round < 2; round++) {
		const char *dst = round ? "127.0.0.1" : "127.0.0.2";

		send_to(peer.fd, dst, port, 100);
		recv_one(fd, r);
		local_of(&want, dst);
		assert_true(udp_local_equal(&r->locals[0], &want));
		assert_string_equal(udp_local_str(&r->locals[0], str), dst);
		assert_int_equal(r->locals[0].ifindex, if_nametoindex("lo"));
		assert_true(udp_endpoint_equal(&r->peers[0], &peer.ep));

		/* one datagram, then a run of 20 and a short tail */
		t->n = 0;
		for (unsigned i = 0; i < 22; i++) {
			size_t len = i == 0 ? 64 : i < 21 ? 1400 : 300;
			fill(bufs[i], i, len);
			assert_true(
			    udp_batch_add_from(t, bufs[i], len, &r->peers[0], &r->locals[0]));
		}
		assert_int_equal(udp_send_batch(fd, t, &err), 0);
		assert_int_equal(t->src_refused, 0);
		for (runs = 0; t->run_first[runs] < t->n; runs++)
			;
		assert_int_equal(runs, 2);
		for (unsigned i = 0; i < 22; i++)
			expect_from(peer.fd, i, i == 0 ? 64 : i < 21 ? 1400 : 300, dst);
		expect_nothing(peer.fd);
	}
	close(peer.fd);
	close(fd);
	free(r);
	free(t);
}

static void test_pktinfo_ipv4(void **state)
{
	(void)state;
	check_reply_from_local("0.0.0.0");
}

static void test_pktinfo_dual_stack(void **state)
{
	(void)state;
	check_reply_from_local("::");
}

/* IPv6 on the dual-stack socket: ::1 is reported and answered from. */
static void test_pktinfo_ipv6(void **state)
{
	static uint8_t bufs[4][MAX_LEN];
	struct udp_batch *r = calloc(1, sizeof(*r)), *t = calloc(1, sizeof(*t));
	struct udp_local want;
	struct peer peer;
	uint16_t port;
	int fd = open_wildcard("::", false, &port), err = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(t);
	open_peer(&peer, "::1", false);
	send_to(peer.fd, "::1", port, 100);
	recv_one(fd, r);
	local_of(&want, "::1");
	assert_true(udp_local_equal(&r->locals[0], &want));
	assert_int_equal(r->locals[0].ifindex, if_nametoindex("lo"));
	for (unsigned i = 0; i < 4; i++) {
		fill(bufs[i], i, 1000);
		assert_true(udp_batch_add_from(t, bufs[i], 1000, &r->peers[0], &r->locals[0]));
	}
	assert_int_equal(udp_send_batch(fd, t, &err), 0);
	assert_int_equal(t->run_first[1], 4); /* one run */
	for (unsigned i = 0; i < 4; i++)
		expect_from(peer.fd, i, 1000, "::1");
	close(peer.fd);
	close(fd);
	free(r);
	free(t);
}

/* Runs split where the source changes, and each datagram leaves from its
 * own; the plain path (gso_off) applies the sources too. */
static void test_runs_split_by_source(void **state)
{
	static uint8_t bufs[UDP_BATCH][MAX_LEN];
	/* runs: [0 1 2] [3 4 5] [6 7] [8] */
	static const char *const src[9] = {"127.0.0.2", "127.0.0.2", "127.0.0.2",
					   "127.0.0.1", "127.0.0.1", "127.0.0.1",
					   "127.0.0.2", "127.0.0.2", NULL};
	struct udp_batch *t = calloc(1, sizeof(*t));
	struct udp_local locals[9];
	struct peer peer;
	uint16_t port;
	int fd = open_wildcard("0.0.0.0", false, &port), err = 0;

	(void)state;
	assert_non_null(t);
	open_peer(&peer, "127.0.0.1", false);
	for (int plain = 0; plain < 2; plain++) {
		unsigned runs;

		t->n = 0;
		t->gso_off = plain;
		for (unsigned i = 0; i < 9; i++) {
			memset(&locals[i], 0, sizeof(locals[i]));
			if (src[i])
				local_of(&locals[i], src[i]);
			fill(bufs[i], i, 1200);
			assert_true(udp_batch_add_from(t, bufs[i], 1200, &peer.ep, &locals[i]));
		}
		assert_int_equal(udp_send_batch(fd, t, &err), 0);
		for (runs = 0; t->run_first[runs] < t->n; runs++)
			;
		assert_int_equal(runs, plain ? 9 : 4);
		/* no source: the kernel picks 127.0.0.1 for 127.0.0.1 */
		for (unsigned i = 0; i < 9; i++)
			expect_from(peer.fd, i, 1200, src[i] ? src[i] : "127.0.0.1");
		expect_nothing(peer.fd);
	}
	close(peer.fd);
	close(fd);
	free(t);
}

/* A source the host does not have (TEST-NET addresses): sent again
 * without it, reported in src_refused, and later datagrams from the same
 * address go without it too; another source in the same batch is kept. */
static void check_refused(const char *any, const char *peer_addr, const char *gone,
			  const char *kept)
{
	static uint8_t bufs[UDP_BATCH][MAX_LEN];
	struct udp_batch *t = calloc(1, sizeof(*t));
	struct udp_local l_gone, l_kept;
	struct peer peer;
	uint16_t port;
	bool refused = false;
	int fd = open_wildcard(any, false, &port), err = 0;

	assert_non_null(t);
	open_peer(&peer, peer_addr, false);
	local_of(&l_gone, gone);
	local_of(&l_kept, kept);
	for (int plain = 0; plain < 2; plain++) {
		t->n = 0;
		t->gso_off = plain;
		/* [0..4] from gone (a GSO run), [5] from kept, [6 7] from gone */
		for (unsigned i = 0; i < 8; i++) {
			fill(bufs[i], i, 1000);
			assert_true(udp_batch_add_from(t, bufs[i], 1000, &peer.ep,
						       i == 5 ? &l_kept : &l_gone));
		}
		assert_int_equal(udp_send_batch(fd, t, &err), 0);
		assert_int_equal(t->src_refused, 0xdf);		      /* all but 5 */
		assert_true(udp_local_equal(&t->locals[0], &l_gone)); /* still there */
		assert_int_equal(t->gso_off, plain);		      /* GSO was not blamed */
		for (unsigned i = 0; i < 8; i++)
			expect_from(peer.fd, i, 1000, i == 5 ? kept : peer_addr);
		expect_nothing(peer.fd);
	}
	/* one datagram */
	fill(bufs[0], 0, 100);
	assert_int_equal(udp_send_from(fd, bufs[0], 100, &peer.ep, &l_gone, &refused), 0);
	assert_true(refused);
	expect_from(peer.fd, 0, 100, peer_addr);
	assert_int_equal(udp_send_from(fd, bufs[0], 100, &peer.ep, &l_kept, &refused), 0);
	assert_false(refused);
	expect_from(peer.fd, 0, 100, kept);
	close(peer.fd);
	close(fd);
	free(t);
}

static void test_source_refused(void **state)
{
	(void)state;
	check_refused("0.0.0.0", "127.0.0.1", "203.0.113.77", "127.0.0.2");
	check_refused("::", "::1", "2001:db8::77", "::1");
}

/* The kernel refuses a GSO message with a source: the source is not
 * blamed for what it refuses without one too. any/peer_addr/src: the
 * family; opt: what makes GSO fail (IPv4: SO_NO_CHECK, EINVAL, so the
 * source is tried without and found innocent; IPv6: IPV6_MTU 1280 under
 * 1400-byte datagrams, EMSGSIZE). Then GSO is off and the datagrams go
 * plainly (fragmented) from their source. */
static void check_gso_refusal(const char *any, const char *peer_addr, const char *src_addr,
			      int level, int opt, int value)
{
	static uint8_t bufs[8][MAX_LEN];
	struct udp_batch *t = calloc(1, sizeof(*t));
	struct udp_local src;
	struct peer peer;
	uint16_t port;
	int fd = open_wildcard(any, false, &port), err = 0;

	assert_non_null(t);
	assert_int_equal(setsockopt(fd, level, opt, &value, sizeof(value)), 0);
	open_peer(&peer, peer_addr, false);
	local_of(&src, src_addr);
	for (unsigned i = 0; i < 8; i++) {
		fill(bufs[i], i, 1400);
		assert_true(udp_batch_add_from(t, bufs[i], 1400, &peer.ep, &src));
	}
	assert_int_equal(udp_send_batch(fd, t, &err), 0);
	assert_true(t->gso_off);
	assert_int_equal(t->src_refused, 0);
	for (unsigned i = 0; i < 8; i++)
		expect_from(peer.fd, i, 1400, src_addr);
	expect_nothing(peer.fd);
	close(peer.fd);
	close(fd);
	free(t);
}

static void test_gso_refusal_not_blamed_on_source(void **state)
{
	(void)state;
	check_gso_refusal("0.0.0.0", "127.0.0.1", "127.0.0.2", SOL_SOCKET, SO_NO_CHECK, 1);
	check_gso_refusal("::", "::1", "::1", IPPROTO_IPV6, IPV6_MTU, 1280);
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
	    cmocka_unit_test(test_one_run),
	    cmocka_unit_test(test_runs_split),
	    cmocka_unit_test(test_run_size_cap),
	    cmocka_unit_test(test_gro_receive),
	    cmocka_unit_test(test_pktinfo_ipv4),
	    cmocka_unit_test(test_pktinfo_dual_stack),
	    cmocka_unit_test(test_pktinfo_ipv6),
	    cmocka_unit_test(test_runs_split_by_source),
	    cmocka_unit_test(test_source_refused),
	    cmocka_unit_test(test_gso_refusal_not_blamed_on_source),
	    cmocka_unit_test(test_endpoints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
