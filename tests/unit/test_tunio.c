/* TUN reads and writes with offloads (dataplane/tunio.c), without root: a
 * SOCK_SEQPACKET socketpair stands in for the TUN queue (one message per
 * packet, as a TUN device reads and writes them). The other end plays the
 * kernel: it writes virtio headers and packets for tunio_read, and reads
 * back what tunio_flush wrote. Checked: the readv layout (a packet in the
 * caller's buffer; a super-packet whole in the scratch area when it does
 * not fit the buffer, left in place when it does), segments handed to the
 * sink and unused or refused buffers given back, refusals counted by
 * reason, coalesced writes with their header, and a refused write's
 * packets counted as dropped. Opening a real device needs root: the e2e
 * scenario tun_offload does that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/tunio.h"
#include "io/tun.h"

#define ALL_OFFLOADS                                                                               \
	(TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4 | TUN_OFFLOAD_TSO6 | TUN_OFFLOAD_USO4 |               \
	 TUN_OFFLOAD_USO6)

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* An IPv4 TCP packet (20 + 20 bytes of headers) from 10.8.0.2:40000 to
 * 10.9.0.1:5201, payload bytes derived from the sequence number. partial:
 * the checksum field holds the pseudo-header's sum (what a device with
 * checksum offload is handed), else the full checksum. */
static size_t tcp4(uint8_t *b, uint32_t seq, uint16_t id, size_t plen, uint8_t flags, bool partial)
{
	size_t len = 40 + plen;
	uint32_t pseudo;

	memset(b, 0, 40);
	b[0] = 0x45;
	put16(b + 2, (uint32_t)len);
	put16(b + 4, id);
	b[6] = 0x40;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, (uint8_t[]){10, 8, 0, 2, 10, 9, 0, 1}, 8);
	put16(b + 10, (uint16_t)~fold(sum16(0, b, 20)));
	put16(b + 20, 40000);
	put16(b + 22, 5201);
	put32(b + 24, seq);
	put32(b + 28, 7);
	b[32] = 5 << 4;
	b[33] = flags;
	put16(b + 34, 512);
	for (size_t i = 0; i < plen; i++)
		b[40 + i] = (uint8_t)((seq + i) * 7);
	pseudo = sum16(0, b + 12, 8) + 6 + (uint32_t)(len - 20);
	put16(b + 36, partial ? fold(pseudo) : (uint16_t)~fold(sum16(pseudo, b + 20, len - 20)));
	return len;
}

static bool tcp_ok(const uint8_t *b, size_t len)
{
	uint32_t pseudo = sum16(0, b + 12, 8) + 6 + (uint32_t)(len - 20);

	return fold(sum16(pseudo, b + 20, len - 20)) == 0xffff && fold(sum16(0, b, 20)) == 0xffff;
}

static int fds[2]; /* [0]: tunio's, [1]: the "kernel" */
static struct tunio t;
static struct tunio_stats st;
static uint8_t pkt[70000], msg[70000];

static int setup(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds);
}

static int teardown(void **state)
{
	(void)state;
	tunio_done(&t);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* The "kernel" hands a packet with a virtio header. */
static void kernel_writes(const struct offload_hdr *h, const uint8_t *p, size_t len)
{
	offload_hdr_write(msg, h);
	memcpy(msg + OFFLOAD_VNET_HDR_LEN, p, len);
	assert_int_equal(write(fds[1], msg, OFFLOAD_VNET_HDR_LEN + len),
			 (ssize_t)(OFFLOAD_VNET_HDR_LEN + len));
}

/* The sink: buffers from a small array; emit refuses the segment numbered
 * refuse (counting from 0) and keeps the others. */
#define NBUF 8
static uint8_t bufs[NBUF][2048];
static int handed, given_back, emitted, refuse = -1;
static size_t emitted_len[NBUF];
static uint8_t *emitted_buf[NBUF];

static uint8_t *sink_get(void *ctx)
{
	(void)ctx;
	return handed < NBUF ? bufs[handed++] : NULL;
}

static void sink_put(void *ctx, uint8_t *b)
{
	(void)ctx;
	(void)b;
	given_back++;
}

static bool sink_emit(void *ctx, uint8_t *b, size_t len)
{
	(void)ctx;
	if (emitted == refuse) {
		emitted++;
		return false;
	}
	emitted_buf[emitted] = b;
	emitted_len[emitted++] = len;
	return true;
}

static const struct tunio_sink sink = {sink_get, sink_put, sink_emit, NULL, 16};

static void sink_reset(void)
{
	handed = given_back = emitted = 0;
	refuse = -1;
}

static void test_plain(void **state)
{
	struct offload_hdr h = {0};
	size_t len, n;
	(void)state;

	assert_int_equal(tunio_init(&t, fds[0], ALL_OFFLOADS, 1500, &st), 0);
	assert_true(t.vnet);
	assert_true(t.uso);
	len = tcp4(pkt, 1000, 1, 300, 0x10, false);
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_PLAIN);
	assert_int_equal(n, len);
	assert_memory_equal(msg, pkt, len);
	/* a partial checksum is completed */
	len = tcp4(pkt, 1000, 1, 301, 0x18, true);
	h = (struct offload_hdr){
	    .flags = OFFLOAD_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_PLAIN);
	assert_true(tcp_ok(msg, n));
	/* nothing more */
	assert_int_equal(write(fds[1], msg, 0), 0); /* an empty message reads as 0 */
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_EMPTY);
	/* longer than the caller's buffer, a plain packet */
	len = tcp4(pkt, 1000, 1, 1600, 0x10, false);
	h = (struct offload_hdr){0};
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_TOO_LONG);
}

static void test_refused(void **state)
{
	struct offload_hdr h = {.flags = 4}; /* RSC_INFO: never on a TUN read */
	size_t len, n;
	(void)state;

	assert_int_equal(tunio_init(&t, fds[0], ALL_OFFLOADS, 1500, &st), 0);
	len = tcp4(pkt, 1, 1, 100, 0x10, false);
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_REFUSED);
	assert_int_equal(st.drops[OFFLOAD_DROP_FLAGS], 1);
	assert_int_equal(write(fds[1], msg, 5), 5); /* shorter than the header */
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_REFUSED);
	assert_int_equal(st.drops[OFFLOAD_DROP_SHORT], 1);
	/* a super-packet whose header does not match it: refused when cut */
	len = tcp4(pkt, 1, 1, 3000, 0x10, true);
	h = (struct offload_hdr){.flags = OFFLOAD_F_NEEDS_CSUM,
				 .gso_type = OFFLOAD_GSO_TCPV6,
				 .gso_size = 1000,
				 .csum_start = 20,
				 .csum_offset = 16};
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_SUPER);
	sink_reset();
	assert_int_equal(tunio_segments(&t, &h, n, &sink), 0);
	assert_int_equal(st.drops[OFFLOAD_DROP_L4], 1);
	assert_int_equal(given_back, handed); /* every buffer back */
}

/* A super-packet larger than the caller's buffer: made whole in the
 * scratch area; cut into the sink's buffers at its offset; a refused
 * segment's buffer and the unused ones come back. */
static void cut(size_t room, size_t plen, bool in_buf)
{
	struct offload_hdr h = {.flags = OFFLOAD_F_NEEDS_CSUM,
				.gso_type = OFFLOAD_GSO_TCPV4,
				.gso_size = 1000,
				.csum_start = 20,
				.csum_offset = 16};
	size_t len = tcp4(pkt, 5000, 9, plen, 0x18, true), n, segs = (plen + 999) / 1000;

	assert_int_equal(tunio_init(&t, fds[0], ALL_OFFLOADS, room, &st), 0);
	kernel_writes(&h, pkt, len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_SUPER);
	assert_int_equal(n, len);
	assert_ptr_equal(t.super, in_buf ? msg : t.scratch);
	assert_memory_equal(t.super, pkt + 0, 20);	   /* whole: its head, */
	assert_memory_equal(t.super + 40, pkt + 40, plen); /* its payload */
	sink_reset();
	refuse = 1;
	assert_int_equal(tunio_segments(&t, &h, n, &sink), segs);
	assert_int_equal(emitted, (int)segs);
	assert_int_equal(given_back, 1); /* the refused one */
	for (size_t i = 0; i < segs; i++) {
		const uint8_t *s;

		if (i == 1)
			continue;
		s = emitted_buf[i] + 16;
		assert_int_equal(emitted_len[i], 40 + (i + 1 < segs ? 1000 : plen - 1000 * i));
		assert_true(tcp_ok(s, emitted_len[i]));
		assert_int_equal(s[33], i + 1 < segs ? 0x10 : 0x18); /* PSH on the last */
	}
	assert_int_equal(st.supers, 1);
	assert_int_equal(st.segments, segs);
	tunio_done(&t);
}

static void test_super(void **state)
{
	(void)state;
	cut(1500, 4500, false);
	memset(&st, 0, sizeof(st));
	cut(65535, 4500, true);
}

/* Four packets of one flow and a packet of another: one super-packet with
 * its header, and the other alone with an empty one. */
static void test_write(void **state)
{
	static uint8_t p[5][2048];
	size_t len[5], n;
	struct offload_hdr h, zero = {0};
	(void)state;

	assert_int_equal(tunio_init(&t, fds[0], ALL_OFFLOADS, 1500, &st), 0);
	for (int i = 0; i < 4; i++)
		len[i] =
		    tcp4(p[i], 100 + 1000 * (uint32_t)i, (uint16_t)(20 + i), 1000, 0x10, false);
	len[4] = tcp4(p[4], 1, 1, 10, 0x12, false); /* a SYN-ACK: never merged */
	for (int i = 0; i < 5; i++)
		assert_true(tunio_write(&t, p[i], len[i]));
	assert_int_equal(recv(fds[1], msg, sizeof(msg), MSG_DONTWAIT), -1); /* nothing yet */
	assert_int_equal(tunio_flush(&t), 0);
	n = (size_t)read(fds[1], msg, sizeof(msg));
	assert_int_equal(n, OFFLOAD_VNET_HDR_LEN + 40 + 4000);
	offload_hdr_read(&h, msg);
	assert_int_equal(h.gso_type, OFFLOAD_GSO_TCPV4);
	assert_int_equal(h.gso_size, 1000);
	assert_int_equal(h.flags, OFFLOAD_F_NEEDS_CSUM);
	n = (size_t)read(fds[1], msg, sizeof(msg));
	assert_int_equal(n, OFFLOAD_VNET_HDR_LEN + len[4]);
	offload_hdr_read(&h, msg);
	assert_memory_equal(&h, &zero, sizeof(h));
	assert_int_equal(st.gro_supers, 1);
	assert_int_equal(st.gro_merged, 3);
	assert_int_equal(tunio_flush(&t), 0); /* nothing queued */

	/* the device refuses: every packet of the write is counted */
	signal(SIGPIPE, SIG_IGN);
	close(fds[1]);
	fds[1] = -1;
	for (int i = 0; i < 4; i++)
		assert_true(tunio_write(&t, p[i], len[i]));
	assert_int_equal(tunio_flush(&t), 4);
	assert_int_equal(st.write_drops, 4);
}

/* Without offloads: a read is the packet, a write goes at once. */
static void test_plain_device(void **state)
{
	size_t len = tcp4(pkt, 1, 1, 100, 0x10, false), n;
	struct offload_hdr h;
	(void)state;

	assert_int_equal(tunio_init(&t, fds[0], 0, 1500, &st), 0);
	assert_false(t.vnet);
	assert_null(t.gro);
	assert_int_equal(write(fds[1], pkt, len), (ssize_t)len);
	assert_int_equal(tunio_read(&t, msg, &n, &h), TUNIO_PLAIN);
	assert_int_equal(n, len);
	assert_memory_equal(msg, pkt, len);
	assert_true(tunio_write(&t, pkt, len));
	assert_int_equal(read(fds[1], msg, sizeof(msg)), (ssize_t)len);
	assert_int_equal(tunio_flush(&t), 0);
	/* checksum and TSO but no USO: UDP is not merged */
	tunio_done(&t);
	assert_int_equal(tunio_init(&t, fds[0], TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4, 1500, &st), 0);
	assert_true(t.vnet);
	assert_false(t.uso);
	assert_false(t.gro->udp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_super, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
