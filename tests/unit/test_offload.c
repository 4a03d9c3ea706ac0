/* TUN offloads (dataplane/offload.c): hand-built IPv4/IPv6 TCP and UDP
 * packets, checksums computed and checked here by an independent
 * implementation (big-endian 16-bit words, the RFC 1071 way), for
 *   - the virtio-net header: read/write, and every header the kernel would
 *     never hand us refused with its reason;
 *   - segmentation: lengths, IDs, sequence numbers, flags, checksums;
 *   - coalescing: each of the kernel's GRO rules, merged and not merged;
 *   - segment -> coalesce -> segment round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dataplane/offload.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20
#define CWR 0x80

/* ---- an independent checksum ---- */

static uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static int is6(const uint8_t *p)
{
	return p[0] >> 4 == 6;
}

static size_t l4of(const uint8_t *p)
{
	return is6(p) ? 40 : (size_t)(p[0] & 15) * 4;
}

static uint8_t protoof(const uint8_t *p)
{
	return is6(p) ? p[6] : p[9];
}

static uint32_t ref_pseudo(const uint8_t *p, size_t l4len)
{
	uint32_t acc = is6(p) ? ref_add(0, p + 8, 32) : ref_add(0, p + 12, 8);

	return acc + protoof(p) + (uint32_t)l4len;
}

/* The checksum a TCP/UDP packet should carry. */
static uint16_t ref_l4(const uint8_t *p, size_t len)
{
	size_t l4 = l4of(p), at = l4 + (protoof(p) == 6 ? 16 : 6);
	uint32_t acc = ref_pseudo(p, len - l4);

	acc = ref_add(acc, p + l4, at - l4);
	acc = ref_add(acc, p + at + 2, len - at - 2);
	return (uint16_t)~ref_fold(acc);
}

static int ref_l4_ok(const uint8_t *p, size_t len)
{
	return ref_fold(ref_add(ref_pseudo(p, len - l4of(p)), p + l4of(p), len - l4of(p))) ==
	       0xffff;
}

static int ref_ip_ok(const uint8_t *p)
{
	return is6(p) || ref_fold(ref_add(0, p, l4of(p))) == 0xffff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* ---- packets ---- */

struct spec {
	int v6, udp;
	uint32_t seq, ack; /* TCP; for UDP seq is the stream offset of the payload */
	uint8_t flags, tos, ttl, hop, tc, ihl_extra, optlen, optbyte, nexthdr;
	uint16_t win, id, frag, sport, dport;
	uint32_t flow;
	size_t plen;
	int bad_csum, bad_ipcsum, zero_udp_csum;
};

static struct spec base(void)
{
	return (struct spec){.seq = 1000,
			     .ack = 5000,
			     .flags = ACK,
			     .win = 512,
			     .id = 100,
			     .frag = 0x4000,
			     .ttl = 64,
			     .hop = 64,
			     .sport = 40000,
			     .dport = 5201,
			     .plen = 1000,
			     .optlen = 12,
			     .optbyte = 1,
			     .flow = 0x12345};
}

/* The payload byte at stream offset s: segments of one stream continue
 * each other, so a merged payload can be compared byte by byte. */
static uint8_t stream_byte(uint32_t s)
{
	return (uint8_t)(s * 131u + (s >> 9));
}

static size_t build(uint8_t *b, const struct spec *s)
{
	size_t l4 = s->v6 ? 40 : 20 + s->ihl_extra * 4u;
	size_t thl = s->udp ? 8 : 20 + s->optlen;
	size_t len = l4 + thl + s->plen;

	memset(b, 0, l4 + thl);
	if (s->v6) {
		put32(b, 6u << 28 | (uint32_t)s->tc << 20 | (s->flow & 0xfffff));
		put16(b + 4, (uint16_t)(len - 40));
		b[6] = s->nexthdr ? s->nexthdr : s->udp ? 17 : 6;
		b[7] = s->hop;
		b[8] = 0xfd;
		b[23] = 2;
		b[24] = 0xfd;
		b[39] = 1;
	} else {
		b[0] = (uint8_t)(0x40 | (l4 / 4));
		b[1] = s->tos;
		put16(b + 2, (uint16_t)len);
		put16(b + 4, s->id);
		put16(b + 6, s->frag);
		b[8] = s->ttl;
		b[9] = s->udp ? 17 : 6;
		memcpy(b + 12, (uint8_t[]){10, 8, 0, 2, 10, 9, 0, 1}, 8);
		for (size_t i = 20; i < l4; i++)
			b[i] = 1; /* NOP options */
		put16(b + 10, (uint16_t)~ref_fold(ref_add(0, b, l4)));
		if (s->bad_ipcsum)
			b[10] ^= 1;
	}
	put16(b + l4, s->sport);
	put16(b + l4 + 2, s->dport);
	if (s->udp) {
		put16(b + l4 + 4, (uint16_t)(8 + s->plen));
	} else {
		put32(b + l4 + 4, s->seq);
		put32(b + l4 + 8, s->ack);
		b[l4 + 12] = (uint8_t)((thl / 4) << 4);
		b[l4 + 13] = s->flags;
		put16(b + l4 + 14, s->win);
		memset(b + l4 + 20, s->optbyte, s->optlen);
	}
	for (size_t i = 0; i < s->plen; i++)
		b[l4 + thl + i] = stream_byte(s->seq + (uint32_t)i);
	if (s->nexthdr)
		return len;
	put16(b + l4 + (s->udp ? 6 : 16), ref_l4(b, len));
	if (s->zero_udp_csum)
		put16(b + l4 + 6, 0);
	if (s->bad_csum)
		b[len - 1] ^= 0x40;
	return len;
}

/* ---- the header ---- */

static void test_hdr_roundtrip(void **state)
{
	struct offload_hdr h = {1, OFFLOAD_GSO_TCPV4 | OFFLOAD_GSO_ECN, 52, 1448, 20, 16}, r;
	uint8_t buf[OFFLOAD_VNET_HDR_LEN];
	(void)state;

	offload_hdr_write(buf, &h);
	offload_hdr_read(&r, buf);
	assert_memory_equal(&h, &r, sizeof(h));
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 0x81);
	assert_string_equal(offload_drop_name(OFFLOAD_DROP_GSO_SIZE), "vnet_gso_size");
	assert_string_equal(offload_drop_name(OFFLOAD_DROP_COUNT), "?");
}

static uint8_t pkt[70000], pkt2[70000];

#define NOUT 64
static uint8_t outmem[NOUT][2048];
static uint8_t *outp[NOUT];
static size_t outlen[NOUT];

/* NEEDS_CSUM on a plain packet: the field holds the pseudo-header's sum,
 * offload_plain completes it. */
static void test_plain_csum(void **state)
{
	struct spec s = base();
	size_t len, l4;
	struct offload_hdr h = {0};
	(void)state;

	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++) {
			s.v6 = v6;
			s.udp = udp;
			s.plen = 333; /* odd */
			len = build(pkt, &s);
			l4 = l4of(pkt);
			memcpy(pkt2, pkt, len);
			h = (struct offload_hdr){.flags = OFFLOAD_F_NEEDS_CSUM,
						 .csum_start = (uint16_t)l4,
						 .csum_offset = udp ? 6 : 16};
			put16(pkt + l4 + h.csum_offset, ref_fold(ref_pseudo(pkt, len - l4)));
			assert_int_equal(offload_plain(&h, pkt, len), 0);
			assert_memory_equal(pkt, pkt2, len);
			assert_true(offload_l4_csum_ok(pkt, len));
		}
	/* without NEEDS_CSUM nothing is touched */
	h.flags = 0;
	pkt[len - 1] ^= 1;
	assert_int_equal(offload_plain(&h, pkt, len), 0);
	assert_false(offload_l4_csum_ok(pkt, len));
	/* what the kernel never sets on a plain packet */
	h.flags = 4; /* RSC_INFO */
	assert_int_equal(offload_plain(&h, pkt, len), -OFFLOAD_DROP_FLAGS);
	h = (struct offload_hdr){.gso_size = 1400};
	assert_int_equal(offload_plain(&h, pkt, len), -OFFLOAD_DROP_FLAGS);
	h = (struct offload_hdr){.gso_type = OFFLOAD_GSO_ECN};
	assert_int_equal(offload_plain(&h, pkt, len), -OFFLOAD_DROP_FLAGS);
	/* a checksum field past the end */
	h = (struct offload_hdr){
	    .flags = OFFLOAD_F_NEEDS_CSUM, .csum_start = (uint16_t)(len - 1), .csum_offset = 0};
	assert_int_equal(offload_plain(&h, pkt, len), -OFFLOAD_DROP_SHORT);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(offload_plain(&h, pkt, len), -OFFLOAD_DROP_SHORT);
}

/* A UDP packet whose checksum comes out as 0 (its last payload word
 * chosen so), to be sent as 0xffff: 0 would mean "no checksum". */
static size_t build_udp_zero(uint8_t *b, int v6)
{
	struct spec s = base();
	size_t len, l4;
	uint16_t rest;

	s.v6 = v6;
	s.udp = 1;
	s.plen = 100;
	len = build(b, &s);
	l4 = l4of(b);
	put16(b + l4 + 6, 0);
	put16(b + len - 2, 0);
	rest = ref_fold(ref_add(ref_pseudo(b, len - l4), b + l4, len - l4));
	put16(b + len - 2, (uint16_t)(0xffff - rest));
	return len;
}

static void test_udp_zero_csum(void **state)
{
	struct offload_hdr h;
	uint8_t *out[1];
	size_t outl[1], len, l4;
	(void)state;

	for (int v6 = 0; v6 < 2; v6++) {
		len = build_udp_zero(pkt, v6);
		l4 = l4of(pkt);
		h = (struct offload_hdr){
		    .flags = OFFLOAD_F_NEEDS_CSUM, .csum_start = (uint16_t)l4, .csum_offset = 6};
		put16(pkt + l4 + 6, ref_fold(ref_pseudo(pkt, len - l4)));
		assert_int_equal(offload_plain(&h, pkt, len), 0);
		assert_int_equal(get16(pkt + l4 + 6), 0xffff);
		assert_true(ref_l4_ok(pkt, len));

		len = build_udp_zero(pkt, v6);
		h.gso_type = OFFLOAD_GSO_UDP_L4;
		h.gso_size = 1000;
		out[0] = outmem[0];
		put16(pkt + l4 + 6, ref_fold(ref_pseudo(pkt, len - l4)));
		assert_int_equal(offload_segment(&h, pkt, len, 0, out, 2048, outl, 1), 1);
		assert_int_equal(get16(out[0] + l4 + 6), 0xffff);
		assert_true(ref_l4_ok(out[0], outl[0]));
	}
}

/* ---- segmentation ---- */

static void outs_init(void)
{
	for (int i = 0; i < NOUT; i++)
		outp[i] = outmem[i];
}

/* A super-packet as the kernel hands it: one big packet whose length
 * fields cover it, the TCP/UDP checksum field holding the pseudo sum. */
static size_t build_super(uint8_t *b, struct spec s, struct offload_hdr *h, uint16_t gso)
{
	size_t len = build(b, &s), l4 = l4of(b);

	*h = (struct offload_hdr){.flags = OFFLOAD_F_NEEDS_CSUM,
				  .gso_type = s.udp  ? OFFLOAD_GSO_UDP_L4
					      : s.v6 ? OFFLOAD_GSO_TCPV6
						     : OFFLOAD_GSO_TCPV4,
				  .hdr_len = 0, /* not trusted: recomputed */
				  .gso_size = gso,
				  .csum_start = (uint16_t)l4,
				  .csum_offset = s.udp ? 6 : 16};
	put16(b + l4 + h->csum_offset, ref_fold(ref_pseudo(b, len - l4)));
	return len;
}

static void check_segments(const struct spec *s, uint16_t gso, int n)
{
	size_t l4 = s->v6 ? 40 : 20 + s->ihl_extra * 4u;
	size_t hdrs = l4 + (s->udp ? 8 : 20 + s->optlen), left = s->plen;

	assert_int_equal(n, (int)((s->plen + gso - 1) / gso));
	for (int i = 0; i < n; i++) {
		uint8_t *o = outp[i], *t = o + l4;
		size_t plen = left < gso ? left : gso;

		left -= plen;
		assert_int_equal(outlen[i], hdrs + plen);
		assert_true(ref_ip_ok(o));
		assert_true(ref_l4_ok(o, outlen[i]));
		assert_true(offload_l4_csum_ok(o, outlen[i]));
		if (s->v6) {
			assert_int_equal(get16(o + 4), outlen[i] - 40);
		} else {
			assert_int_equal(get16(o + 2), outlen[i]);
			assert_int_equal(get16(o + 4), (uint16_t)(s->id + i));
			assert_true(offload_ip4_csum_ok(o, outlen[i]));
		}
		if (s->udp) {
			assert_int_equal(get16(t + 4), outlen[i] - l4);
		} else {
			uint8_t want = s->flags;

			assert_int_equal(get32(t + 4), s->seq + (uint32_t)(i * gso));
			if (i + 1 < n)
				want &= (uint8_t) ~(FIN | PSH);
			if (i > 0)
				want &= (uint8_t)~CWR;
			assert_int_equal(t[13], want);
		}
		for (size_t k = 0; k < plen; k++)
			assert_int_equal(o[hdrs + k],
					 stream_byte(s->seq + (uint32_t)(i * gso + k)));
	}
}

static void test_segment_kinds(void **state)
{
	struct offload_hdr h;
	(void)state;

	outs_init();
	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++) {
			struct spec s = base();
			size_t len;
			int n;

			s.v6 = v6;
			s.udp = udp;
			s.plen = 3 * 1200 + 501;
			s.flags = ACK | PSH | FIN | CWR;
			s.id = 0xfffe; /* the ID wraps */
			len = build_super(pkt, s, &h, 1200);
			if (!udp)
				h.gso_type |= OFFLOAD_GSO_ECN;
			memcpy(pkt2, pkt, len);
			n = offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT);
			check_segments(&s, 1200, n);
			assert_memory_equal(pkt, pkt2, len); /* input untouched */
		}
}

/* Exactly divisible, one segment, IPv4 options, 64 KiB with a small MSS. */
static void test_segment_edges(void **state)
{
	struct offload_hdr h;
	struct spec s = base();
	size_t len;
	(void)state;

	outs_init();
	s.plen = 4 * 1000;
	len = build_super(pkt, s, &h, 1000);
	check_segments(&s, 1000, offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT));
	s.plen = 999;
	len = build_super(pkt, s, &h, 1000);
	check_segments(&s, 1000, offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT));
	s.plen = 2500;
	s.ihl_extra = 2;
	len = build_super(pkt, s, &h, 1000);
	check_segments(&s, 1000, offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT));
	s = base();
	s.optlen = 0;
	s.plen = 65535 - 40;
	len = build_super(pkt, s, &h, 1448);
	assert_int_equal(len, 65535);
	check_segments(&s, 1448, offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT));
	/* the buffers: exactly enough, one too few, a segment too large */
	s = base();
	s.plen = 3000;
	len = build_super(pkt, s, &h, 1000);
	assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 1052, outlen, 3), 3);
	assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 1051, outlen, 3),
			 -OFFLOAD_DROP_GSO_SIZE);
	assert_int_equal(offload_segments_max(&h, len), 4); /* an upper bound: 3052 / 1000 */
}

/* Fewer buffers than segments: in chunks, the same segments. The
 * smallest MSS Linux sends (48) makes 1,365 of a 64 KiB super-packet. */
static void test_segment_chunks(void **state)
{
	static uint8_t whole[4][2048];
	size_t whole_len[4], len;
	struct offload_hdr h;
	struct spec s = base();
	uint32_t seq;
	size_t total = 0, first;
	int n;
	(void)state;

	outs_init();
	s.plen = 3500;
	len = build_super(pkt, s, &h, 1000);
	assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT), 4);
	for (int i = 0; i < 4; i++) {
		memcpy(whole[i], outp[i], outlen[i]);
		whole_len[i] = outlen[i];
	}
	assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 2048, outlen, 3), 3);
	assert_int_equal(offload_segment(&h, pkt, len, 3, outp + 3, 2048, outlen + 3, 3), 1);
	assert_int_equal(offload_segment(&h, pkt, len, 4, outp, 2048, outlen, 3), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(outlen[i], whole_len[i]);
		assert_memory_equal(outp[i], whole[i], whole_len[i]);
	}

	s.optlen = 0;
	s.plen = 65535 - 40;
	s.flags = ACK | PSH;
	len = build_super(pkt, s, &h, 48);
	seq = s.seq;
	for (first = 0; (n = offload_segment(&h, pkt, len, first, outp, 2048, outlen, NOUT)) > 0;
	     first += (size_t)n)
		for (int i = 0; i < n; i++) {
			uint8_t *t = outp[i] + 20;

			assert_true(ref_ip_ok(outp[i]));
			assert_true(ref_l4_ok(outp[i], outlen[i]));
			assert_int_equal(get16(outp[i] + 4), (uint16_t)(s.id + first + (size_t)i));
			assert_int_equal(get32(t + 4), seq);
			assert_int_equal(t[13] & PSH, first + (size_t)i == 1364 ? PSH : 0);
			seq += (uint32_t)(outlen[i] - 40);
			total += outlen[i] - 40;
		}
	assert_int_equal(n, 0);
	assert_int_equal(first, 1365);
	assert_int_equal(total, s.plen);
}

/* Everything the kernel would never hand us, one change at a time. */
static void test_segment_refused(void **state)
{
	struct offload_hdr h, good;
	struct spec s = base();
	size_t len;
	(void)state;

	outs_init();
	s.plen = 3000;
#define TRY(expect)                                                                                \
	assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT), expect)
#define RESET()                                                                                    \
	do {                                                                                       \
		len = build_super(pkt, s, &good, 1000);                                            \
		h = good;                                                                          \
	} while (0)
	RESET();
	TRY(3);
	h.flags = 0;
	TRY(-OFFLOAD_DROP_L4); /* GSO without NEEDS_CSUM */
	h = good;
	h.flags |= 4;
	TRY(-OFFLOAD_DROP_FLAGS);
	h = good;
	h.gso_type = 3; /* UFO */
	TRY(-OFFLOAD_DROP_FLAGS);
	h.gso_type = 2;
	TRY(-OFFLOAD_DROP_FLAGS);
	h.gso_type = OFFLOAD_GSO_TCPV6; /* on IPv4 */
	TRY(-OFFLOAD_DROP_L4);
	h.gso_type = OFFLOAD_GSO_UDP_L4; /* on TCP */
	TRY(-OFFLOAD_DROP_L4);
	h.gso_type = OFFLOAD_GSO_UDP_L4 | OFFLOAD_GSO_ECN;
	TRY(-OFFLOAD_DROP_FLAGS);
	h = good;
	h.csum_start = 24;
	TRY(-OFFLOAD_DROP_L4);
	h = good;
	h.csum_offset = 6;
	TRY(-OFFLOAD_DROP_L4);
	h = good;
	h.gso_size = 0;
	TRY(-OFFLOAD_DROP_GSO_SIZE);
	h = good;
	TRY(3);
	h.gso_size = 1; /* many segments: the first NOUT */
	TRY(NOUT);
	/* the packet */
	h = good;
	TRY(3);
	len = 19;
	TRY(-OFFLOAD_DROP_SHORT);
	RESET();
	len -= 1; /* the IPv4 length no longer covers it */
	TRY(-OFFLOAD_DROP_IP);
	RESET();
	len = 20 + 32 + 0; /* headers only: no payload */
	put16(pkt + 2, (uint16_t)len);
	TRY(-OFFLOAD_DROP_GSO_SIZE);
	RESET();
	pkt[0] = 0x44; /* IHL 16 bytes */
	TRY(-OFFLOAD_DROP_IP);
	pkt[0] = 0x55; /* version 5 */
	TRY(-OFFLOAD_DROP_IP);
	RESET();
	pkt[6] |= 0x20; /* MF */
	TRY(-OFFLOAD_DROP_IP);
	RESET();
	pkt[9] = 17; /* UDP behind a TCPV4 header */
	TRY(-OFFLOAD_DROP_L4);
	RESET();
	pkt[20 + 12] = 0x40; /* TCP data offset 16 */
	TRY(-OFFLOAD_DROP_L4);
	pkt[20 + 12] = 0xf0; /* 60: past the end of a short packet */
	len = 20 + 50;
	put16(pkt + 2, (uint16_t)len);
	TRY(-OFFLOAD_DROP_SHORT);
	/* IPv6: payload length, an extension header */
	s.v6 = 1;
	RESET();
	TRY(3);
	put16(pkt + 4, 10);
	TRY(-OFFLOAD_DROP_IP);
	RESET();
	pkt[6] = 0; /* hop-by-hop */
	TRY(-OFFLOAD_DROP_L4);
	RESET();
	h.gso_type = OFFLOAD_GSO_TCPV4;
	TRY(-OFFLOAD_DROP_L4);
	/* UDP: its length must cover the packet */
	s.udp = 1;
	RESET();
	TRY(3);
	put16(pkt + 40 + 4, 100);
	TRY(-OFFLOAD_DROP_L4);
#undef TRY
#undef RESET
}

/* ---- coalescing ---- */

static struct offload_gro G;
#define NB 200
static uint8_t bufs[NB][2048];
static size_t lens[NB];
static uint8_t flat[70000];

static size_t flatten(const struct offload_gro *g, int w, struct offload_hdr *h)
{
	const struct offload_gro_write *wr = &g->writes[w];
	size_t n = 0;

	assert_int_equal(g->iov[wr->iov_first].iov_len, OFFLOAD_VNET_HDR_LEN);
	offload_hdr_read(h, g->iov[wr->iov_first].iov_base);
	for (int i = 1; i < wr->niov; i++) {
		memcpy(flat + n, g->iov[wr->iov_first + i].iov_base,
		       g->iov[wr->iov_first + i].iov_len);
		n += g->iov[wr->iov_first + i].iov_len;
	}
	assert_int_equal(n, wr->len);
	return n;
}

/* Packets built from specs into bufs, added, finished. */
static void gro_run(const struct spec *specs, int n, int udp)
{
	offload_gro_init(&G, udp, 0x5eed);
	for (int i = 0; i < n; i++) {
		lens[i] = build(bufs[i], &specs[i]);
		assert_int_equal(offload_gro_add(&G, bufs[i], lens[i]), 0);
	}
	offload_gro_finish(&G);
}

/* A stream of n segments of one flow, plen bytes each. */
static void stream(struct spec *sp, int n, struct spec s)
{
	for (int i = 0; i < n; i++) {
		sp[i] = s;
		sp[i].seq = s.seq + (uint32_t)(i * s.plen);
		sp[i].id = (uint16_t)(s.id + i);
	}
}

/* The write w is a super-packet of the given segments: header, bytes,
 * and its segmentation gives back exactly those packets. */
static void check_super(int w, const struct spec *sp, int first, int n)
{
	struct offload_hdr h;
	size_t len = flatten(&G, w, &h), l4;
	int got;

	memcpy(pkt, flat, len);
	l4 = l4of(pkt);
	assert_int_equal(h.flags, OFFLOAD_F_NEEDS_CSUM);
	assert_int_equal(h.csum_start, l4);
	assert_int_equal(h.gso_size, sp[first].plen);
	if (sp[first].udp) {
		assert_int_equal(h.gso_type, OFFLOAD_GSO_UDP_L4);
		assert_int_equal(h.csum_offset, 6);
		assert_int_equal(h.hdr_len, l4 + 8);
		assert_int_equal(get16(pkt + l4 + 4), len - l4);
	} else {
		uint8_t ecn = sp[first].flags & CWR ? OFFLOAD_GSO_ECN : 0;

		assert_int_equal(h.gso_type,
				 (sp[first].v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4) | ecn);
		assert_int_equal(h.csum_offset, 16);
		assert_int_equal(h.hdr_len, l4 + 20 + sp[first].optlen);
	}
	/* the pseudo-header's sum in the checksum field (CHECKSUM_PARTIAL) */
	assert_int_equal(get16(pkt + l4 + h.csum_offset), ref_fold(ref_pseudo(pkt, len - l4)));
	assert_true(ref_ip_ok(pkt));
	if (sp[first].v6)
		assert_int_equal(get16(pkt + 4), len - 40);
	else
		assert_int_equal(get16(pkt + 2), len);
	got = offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT);
	assert_int_equal(got, n);
	for (int i = 0; i < n; i++) {
		build(pkt2, &sp[first + i]);
		assert_int_equal(outlen[i], lens[first + i]);
		assert_memory_equal(outp[i], pkt2, outlen[i]);
	}
}

/* The write w is packet i alone, unchanged, with an empty header. */
static void check_alone(int w, int i)
{
	struct offload_hdr h, zero = {0};
	size_t len = flatten(&G, w, &h);

	assert_memory_equal(&h, &zero, sizeof(h));
	assert_int_equal(len, lens[i]);
	assert_ptr_equal(G.iov[G.writes[w].iov_first + 1].iov_base, bufs[i]);
}

static void test_gro_merge(void **state)
{
	struct spec sp[NB], s = base();
	(void)state;

	outs_init();
	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++) {
			s = base();
			s.v6 = v6;
			s.udp = udp;
			stream(sp, 5, s);
			sp[4].plen = 77; /* the last may be shorter */
			if (!udp)
				sp[4].flags |= PSH;
			gro_run(sp, 5, 1);
			assert_int_equal(G.nwrites, 1);
			assert_int_equal(G.writes[0].niov, 1 + 5);
			check_super(0, sp, 0, 5);
		}
	assert_int_equal(G.supers, 1);
	assert_int_equal(G.merged, 4);
	/* UDP is left alone unless the device took USO */
	s = base();
	s.udp = 1;
	stream(sp, 3, s);
	gro_run(sp, 3, 0);
	assert_int_equal(G.nwrites, 3);
	for (int i = 0; i < 3; i++)
		check_alone(i, i);
}

/* Head rules: a run starts with CWR (the ECN bit), ends with PSH or FIN
 * (merged as the last), with a shorter packet, after 64 packets, and
 * before 64 KiB. */
static void test_gro_run_ends(void **state)
{
	struct spec sp[NB], s = base();
	(void)state;

	outs_init();
	stream(sp, 4, s);
	sp[0].flags |= CWR;
	sp[2].flags |= FIN;
	gro_run(sp, 4, 0);
	assert_int_equal(G.nwrites, 2);
	check_super(0, sp, 0, 3);
	check_alone(1, 3);

	stream(sp, 3, s);
	sp[1].plen = 500; /* shorter: merged, and ends the run */
	sp[2].seq = sp[1].seq + 500;
	gro_run(sp, 3, 0);
	assert_int_equal(G.nwrites, 2);
	check_super(0, sp, 0, 2);
	check_alone(1, 2);

	s.plen = 100;
	stream(sp, 70, s);
	gro_run(sp, 70, 0);
	assert_int_equal(G.nwrites, 2);
	check_super(0, sp, 0, OFFLOAD_GRO_SEGS);
	check_super(1, sp, OFFLOAD_GRO_SEGS, 70 - OFFLOAD_GRO_SEGS);

	/* 1400-byte payloads: 46 fit in 65,535 bytes with 52 bytes of headers */
	s.plen = 1400;
	stream(sp, 50, s);
	gro_run(sp, 50, 0);
	assert_int_equal(G.nwrites, 2);
	check_super(0, sp, 0, 46);
	check_super(1, sp, 46, 4);
	assert_true(G.writes[0].len <= OFFLOAD_MAX_PACKET);
}

/* One change to the second packet of a two-packet stream; expect is
 * whether the two merge. */
struct variant {
	const char *what;
	void (*apply)(struct spec *a, struct spec *b);
	int merge;
};

#define V(name, body)                                                                              \
	static void name(struct spec *a, struct spec *b)                                           \
	{                                                                                          \
		(void)a;                                                                           \
		(void)b;                                                                           \
		body;                                                                              \
	}
V(v_none, )
V(v_sport, b->sport++)
V(v_seq_gap, b->seq += 1)
V(v_seq_back, b->seq -= 1000)
V(v_ack, b->ack++)
V(v_win, b->win++)
V(v_opts, b->optbyte = 2)
V(v_optlen, b->optlen = 8)
V(v_tos, b->tos = 2)
V(v_ecn_ce, b->tos = 3)
V(v_ttl, b->ttl = 63)
V(v_df, b->frag = 0)
V(v_id_same_df, b->id = a->id)
V(v_id_same_nodf, {
	a->frag = b->frag = 0;
	b->id = a->id;
})
V(v_id_skip, b->id += 1)
V(v_ipopt, a->ihl_extra = b->ihl_extra = 1)
V(v_mf, b->frag |= 0x2000)
V(v_syn, b->flags |= SYN)
V(v_rst, b->flags |= RST)
V(v_urg, b->flags |= URG)
V(v_cwr, b->flags |= CWR)
V(v_ece, b->flags |= 0x40)
V(v_psh_first, a->flags |= PSH)
V(v_fin_first, a->flags |= FIN)
V(v_syn_first, a->flags |= SYN)
V(v_psh_last, b->flags |= PSH)
V(v_bad_csum, b->bad_csum = 1)
V(v_bad_csum_first, a->bad_csum = 1)
V(v_bad_ipcsum, b->bad_ipcsum = 1)
V(v_longer, b->plen = 1001)
V(v_pure_ack, b->plen = 0)
V(v_pure_ack_first, {
	a->plen = 0;
	b->seq = a->seq;
})

static const struct variant tcp4_variants[] = {
    {"same stream", v_none, 1},
    {"other port", v_sport, 0},
    {"sequence gap", v_seq_gap, 0},
    {"sequence before", v_seq_back, 0},
    {"other ack", v_ack, 0},
    {"other window", v_win, 0},
    {"other option bytes", v_opts, 0},
    {"other option length", v_optlen, 0},
    {"other TOS", v_tos, 0},
    {"CE mark", v_ecn_ce, 0},
    {"other TTL", v_ttl, 0},
    {"DF differs", v_df, 0},
    {"fixed ID with DF", v_id_same_df, 1},
    {"fixed ID without DF", v_id_same_nodf, 0},
    {"ID skips", v_id_skip, 0},
    {"IP options", v_ipopt, 0},
    {"more fragments", v_mf, 0},
    {"SYN", v_syn, 0},
    {"RST", v_rst, 0},
    {"URG", v_urg, 0},
    {"CWR later", v_cwr, 0},
    {"ECE differs", v_ece, 0},
    {"PSH on the first", v_psh_first, 0},
    {"FIN on the first", v_fin_first, 0},
    {"SYN on the first", v_syn_first, 0},
    {"PSH on the last", v_psh_last, 1},
    {"bad checksum", v_bad_csum, 0},
    {"bad checksum on the first", v_bad_csum_first, 0},
    {"bad IPv4 header checksum", v_bad_ipcsum, 0},
    {"longer than the first", v_longer, 0},
    {"pure ACK", v_pure_ack, 0},
    {"pure ACK first", v_pure_ack_first, 0},
};

V(v6_flow, b->flow++)
V(v6_tc, b->tc = 4)
V(v6_hop, b->hop = 1)
V(v6_ext, {
	a->nexthdr = b->nexthdr = 60; /* destination options */
	a->optlen = b->optlen = 0;
})

static const struct variant tcp6_variants[] = {
    {"same stream", v_none, 1},	       {"other flow label", v6_flow, 0},
    {"other traffic class", v6_tc, 0}, {"other hop limit", v6_hop, 0},
    {"extension header", v6_ext, 0},   {"other ack", v_ack, 0},
    {"bad checksum", v_bad_csum, 0},   {"sequence gap", v_seq_gap, 0},
};

V(vu_zero, a->zero_udp_csum = b->zero_udp_csum = 1)
V(vu_longer, b->plen = 1001)
V(vu_port, b->dport++)

static const struct variant udp4_variants[] = {
    {"same flow", v_none, 1},	     {"no checksum", vu_zero, 0}, {"longer", vu_longer, 0},
    {"other port", vu_port, 0},	     {"other TTL", v_ttl, 0},	  {"ID skips", v_id_skip, 0},
    {"bad checksum", v_bad_csum, 0},
};

static void run_variants(const struct variant *v, size_t n, struct spec s)
{
	for (size_t i = 0; i < n; i++) {
		struct spec sp[2];
		int ok;

		stream(sp, 2, s);
		if (s.udp)
			sp[1].seq = sp[0].seq; /* UDP payloads need not continue */
		v[i].apply(&sp[0], &sp[1]);
		gro_run(sp, 2, 1);
		ok = G.nwrites == (v[i].merge ? 1 : 2);
		if (!ok)
			fail_msg("%s: %u writes", v[i].what, G.nwrites);
		if (v[i].merge && sp[1].id != sp[0].id) {
			check_super(0, sp, 0, 2);
		} else if (!v[i].merge) {
			check_alone(0, 0); /* in order, unchanged */
			check_alone(1, 1);
		}
	}
}

static void test_gro_rules(void **state)
{
	struct spec s = base();
	(void)state;

	outs_init();
	run_variants(tcp4_variants, sizeof(tcp4_variants) / sizeof(tcp4_variants[0]), s);
	s.v6 = 1;
	run_variants(tcp6_variants, sizeof(tcp6_variants) / sizeof(tcp6_variants[0]), s);
	s = base();
	s.udp = 1;
	run_variants(udp4_variants, sizeof(udp4_variants) / sizeof(udp4_variants[0]), s);
	assert_true(G.csum_bad > 0);
}

/* Two flows interleaved: each merged; a packet of a flow that cannot join
 * (a pure ACK) keeps its place: what came after it in the flow is not
 * moved before it. Non-IP junk passes alone. */
static void test_gro_order(void **state)
{
	struct spec sp[NB], a[4], b[4], s = base();
	(void)state;

	outs_init();
	stream(a, 4, s);
	s.sport = 1234;
	s.seq = 77777;
	stream(b, 4, s);
	for (int i = 0; i < 4; i++) {
		sp[2 * i] = a[i];
		sp[2 * i + 1] = b[i];
	}
	gro_run(sp, 8, 0);
	assert_int_equal(G.nwrites, 2);
	assert_int_equal(G.writes[0].niov, 5);
	assert_ptr_equal(G.iov[G.writes[0].iov_first + 1].iov_base, bufs[0]);
	assert_ptr_equal(G.iov[G.writes[1].iov_first + 1].iov_base, bufs[1]);

	/* a0 a1 ACK(a) a2 a3: the ACK splits the flow's run in two */
	stream(sp, 5, base());
	sp[2].plen = 0;
	sp[3].seq = sp[2].seq;
	sp[4].seq = sp[3].seq + 1000;
	sp[3].id = sp[2].id + 1;
	sp[4].id = sp[3].id + 1;
	gro_run(sp, 5, 0);
	assert_int_equal(G.nwrites, 3);
	check_super(0, sp, 0, 2);
	check_alone(1, 2);
	check_super(2, sp, 3, 2);

	/* a later fragment names no flow (what looks like ports is data):
	 * it passes alone and the run goes on around it */
	stream(sp, 3, base());
	sp[1].frag = 185; /* offset 1480 */
	sp[2].seq = sp[0].seq + 1000;
	sp[2].id = sp[0].id + 1;
	gro_run(sp, 3, 0);
	assert_int_equal(G.nwrites, 2);
	assert_int_equal(G.writes[0].niov, 3);
	assert_ptr_equal(G.iov[G.writes[0].iov_first + 1].iov_base, bufs[0]);
	assert_ptr_equal(G.iov[G.writes[0].iov_first + 2].iov_base, bufs[2] + 20 + 32);
	check_alone(1, 1);

	/* junk and short packets pass alone, in order */
	offload_gro_init(&G, 1, 0x5eed);
	memset(bufs[0], 0x45, 64);
	memset(bufs[1], 0x60, 64);
	lens[0] = 64;
	lens[1] = 64;
	lens[2] = 0;
	lens[3] = 5;
	for (int i = 0; i < 4; i++)
		assert_int_equal(offload_gro_add(&G, bufs[i], lens[i]), 0);
	offload_gro_finish(&G);
	assert_int_equal(G.nwrites, 4);
	for (int i = 0; i < 4; i++)
		check_alone(i, i);
}

/* 512 flows, two packets each, the second ones after all the first ones:
 * the table at its fullest (half its slots), every flow merged, whatever
 * the seed. */
static void test_gro_many_flows(void **state)
{
	static uint8_t many[1024][200];
	const uint32_t seeds[] = {0, 1, 0x5eed, 0xffffffffu};
	(void)state;

	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		offload_gro_init(&G, 0, seeds[k]);
		for (int i = 0; i < 1024; i++) {
			struct spec s = base();
			size_t len;

			s.plen = 100;
			s.optlen = 0;
			s.sport = (uint16_t)(10000 + i % 512);
			s.seq = 1000 + (uint32_t)(i / 512) * 100;
			s.id = (uint16_t)(100 + i / 512);
			len = build(many[i], &s);
			assert_int_equal(offload_gro_add(&G, many[i], len), 0);
		}
		offload_gro_finish(&G);
		assert_int_equal(G.nwrites, 512);
		for (int w = 0; w < 512; w++) {
			assert_int_equal(G.writes[w].niov, 3);
			assert_ptr_equal(G.iov[G.writes[w].iov_first + 1].iov_base, many[w]);
			assert_ptr_equal(G.iov[G.writes[w].iov_first + 2].iov_base,
					 many[w + 512] + 40);
		}
	}
}

/* A full batch refuses more; reset starts over (and the table forgets). */
static void test_gro_full(void **state)
{
	static uint8_t one[1100];
	struct spec s = base();
	size_t len = build(one, &s);
	(void)state;

	offload_gro_init(&G, 0, 0x5eed);
	for (int i = 0; i < OFFLOAD_GRO_MAX; i++)
		assert_int_equal(offload_gro_add(&G, one, len), 0);
	assert_int_equal(offload_gro_add(&G, one, len), -1);
	offload_gro_finish(&G);
	/* the same packet again and again: one flow, never the next sequence */
	assert_int_equal(G.nwrites, OFFLOAD_GRO_MAX);
	offload_gro_reset(&G);
	assert_int_equal(offload_gro_add(&G, one, len), 0);
	offload_gro_finish(&G);
	assert_int_equal(G.nwrites, 1);
	G.gen = UINT32_MAX; /* the generation wraps */
	offload_gro_reset(&G);
	assert_int_equal(G.gen, 1);
	assert_int_equal(offload_gro_add(&G, one, len), 0);
	offload_gro_finish(&G);
	assert_int_equal(G.nwrites, 1);
}

/* A 64 KiB super-packet segmented, its segments coalesced, and the result
 * segmented again: the same segments, for each kind. */
static void test_roundtrip(void **state)
{
	(void)state;

	outs_init();
	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++) {
			struct offload_hdr h;
			struct spec s = base();
			static uint8_t first[NOUT][2048];
			size_t firstlen[NOUT], len, superlen, total = 0;
			int n;

			s.v6 = v6;
			s.udp = udp;
			s.flags = ACK | PSH;
			s.plen = 30 * 1300 + 17;
			len = build_super(pkt, s, &h, 1300);
			n = offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT);
			assert_int_equal(n, 31);
			offload_gro_init(&G, 1, 0x5eed);
			for (int i = 0; i < n; i++) {
				memcpy(first[i], outp[i], outlen[i]);
				firstlen[i] = outlen[i];
				memcpy(bufs[i], outp[i], outlen[i]);
				assert_int_equal(offload_gro_add(&G, bufs[i], outlen[i]), 0);
			}
			offload_gro_finish(&G);
			assert_int_equal(G.nwrites, 1);
			superlen = len;
			len = flatten(&G, 0, &h);
			assert_int_equal(len, superlen);
			memcpy(pkt, flat, len);
			assert_int_equal(offload_segment(&h, pkt, len, 0, outp, 2048, outlen, NOUT),
					 n);
			for (int i = 0; i < n; i++) {
				assert_int_equal(outlen[i], firstlen[i]);
				assert_memory_equal(outp[i], first[i], firstlen[i]);
				total += outlen[i];
			}
			assert_true(total > len);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr_roundtrip),   cmocka_unit_test(test_plain_csum),
	    cmocka_unit_test(test_udp_zero_csum),   cmocka_unit_test(test_segment_kinds),
	    cmocka_unit_test(test_segment_edges),   cmocka_unit_test(test_segment_chunks),
	    cmocka_unit_test(test_segment_refused), cmocka_unit_test(test_gro_merge),
	    cmocka_unit_test(test_gro_run_ends),    cmocka_unit_test(test_gro_rules),
	    cmocka_unit_test(test_gro_order),	    cmocka_unit_test(test_gro_full),
	    cmocka_unit_test(test_gro_many_flows),  cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
