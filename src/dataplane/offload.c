/* TUN offloads: virtio-net header, segmentation, coalescing (offload.h). */
#include "dataplane/offload.h"

#include <string.h>

#include "util/endian.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_URG 0x20
#define TCP_CWR 0x80

#define IP4_DF	     0x4000
#define IP4_FRAGMENT 0x3fff /* MF and the offset */

enum gro_kind { GRO_PASS = 0, GRO_TCP4, GRO_TCP6, GRO_UDP4, GRO_UDP6 };

static const char *const drop_names[OFFLOAD_DROP_COUNT] = {
    [OFFLOAD_DROP_NONE] = "none",
    [OFFLOAD_DROP_SHORT] = "vnet_short",
    [OFFLOAD_DROP_FLAGS] = "vnet_flags",
    [OFFLOAD_DROP_IP] = "vnet_ip",
    [OFFLOAD_DROP_L4] = "vnet_l4",
    [OFFLOAD_DROP_GSO_SIZE] = "vnet_gso_size",
    [OFFLOAD_DROP_TOO_MANY] = "vnet_segments",
};

const char *offload_drop_name(enum offload_drop d)
{
	return (unsigned)d < OFFLOAD_DROP_COUNT ? drop_names[d] : "?";
}

static void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- the Internet checksum ----
 *
 * Summed in the host's word order (RFC 1071 2(B): the one's complement
 * sum does not depend on byte order): 64-bit loads, folded at the end, and
 * the folded value stored with the host's order gives the checksum's
 * bytes in network order. Every range starts at an even offset of the
 * packet, so the 16-bit words line up. */
static uint64_t sum_bytes(uint64_t acc, const uint8_t *p, size_t n)
{
	uint64_t w, a[4] = {0, 0, 0, 0}, v[4];

	/* four independent sums (no carry chain between them): 1.7x the
	 * speed of one on this machine; each stays below 2^46 for 64 KiB */
	while (n >= 32) {
		memcpy(v, p, 32);
		for (int i = 0; i < 4; i++)
			a[i] += (v[i] & 0xffffffffu) + (v[i] >> 32);
		p += 32;
		n -= 32;
	}
	acc += a[0] + a[1] + a[2] + a[3];
	while (n >= 8) {
		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		n -= 8;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		acc += (w & 0xffffffffu) + (w >> 32);
	}
	return acc;
}

static uint16_t sum_fold(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void sum_store(uint8_t *p, uint16_t folded)
{
	memcpy(p, &folded, 2);
}

/* The pseudo-header of a TCP or UDP packet of l4len bytes. IPv6's 32-bit
 * length and next-header words sum as IPv4's 16-bit ones do. */
static uint64_t sum_pseudo(const uint8_t *pkt, bool v6, uint8_t proto, uint32_t l4len)
{
	uint8_t tail[4] = {0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len};
	uint64_t acc = v6 ? sum_bytes(0, pkt + 8, 32) : sum_bytes(0, pkt + 12, 8);

	return sum_bytes(acc, tail, 4);
}

static bool l4_sum_ok(const uint8_t *pkt, size_t len, bool v6, uint8_t proto, size_t l4off)
{
	uint64_t acc = sum_pseudo(pkt, v6, proto, (uint32_t)(len - l4off));

	return sum_fold(sum_bytes(acc, pkt + l4off, len - l4off)) == 0xffff;
}

static void ip4_sum_set(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	sum_store(ip + 10, (uint16_t)~sum_fold(sum_bytes(0, ip, ihl)));
}

bool offload_ip4_csum_ok(const uint8_t *pkt, size_t len)
{
	size_t ihl;

	if (len < 20 || pkt[0] >> 4 != 4)
		return false;
	ihl = (size_t)(pkt[0] & 15) * 4;
	return ihl >= 20 && ihl <= len && sum_fold(sum_bytes(0, pkt, ihl)) == 0xffff;
}

bool offload_l4_csum_ok(const uint8_t *pkt, size_t len)
{
	bool v6;
	size_t l4off;
	uint8_t proto;

	if (len < 20)
		return false;
	v6 = pkt[0] >> 4 == 6;
	if (v6) {
		if (len < 40)
			return false;
		l4off = 40;
		proto = pkt[6];
	} else {
		l4off = (size_t)(pkt[0] & 15) * 4;
		proto = pkt[9];
	}
	if ((proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_) || l4off < 20 || l4off > len ||
	    len - l4off > 0xffff)
		return false;
	return l4_sum_ok(pkt, len, v6, proto, l4off);
}

/* ---- the virtio-net header ---- */

void offload_hdr_read(struct offload_hdr *h, const uint8_t *buf)
{
	h->flags = buf[0];
	h->gso_type = buf[1];
	memcpy(&h->hdr_len, buf + 2, 2);
	memcpy(&h->gso_size, buf + 4, 2);
	memcpy(&h->csum_start, buf + 6, 2);
	memcpy(&h->csum_offset, buf + 8, 2);
}

void offload_hdr_write(uint8_t *buf, const struct offload_hdr *h)
{
	buf[0] = h->flags;
	buf[1] = h->gso_type;
	memcpy(buf + 2, &h->hdr_len, 2);
	memcpy(buf + 4, &h->gso_size, 2);
	memcpy(buf + 6, &h->csum_start, 2);
	memcpy(buf + 8, &h->csum_offset, 2);
}

int offload_plain(const struct offload_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, at = start + h->csum_offset;

	/* Never set for a packet without GSO: (h->flags & ~known), a GSO
	 * size, or an ECN bit. */
	if ((h->flags & ~(OFFLOAD_F_NEEDS_CSUM | OFFLOAD_F_DATA_VALID)) ||
	    h->gso_type != OFFLOAD_GSO_NONE || h->gso_size != 0)
		return -OFFLOAD_DROP_FLAGS;
	if (!(h->flags & OFFLOAD_F_NEEDS_CSUM))
		return 0;
	if (at + 2 > len)
		return -OFFLOAD_DROP_SHORT;
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header's sum; the sum
	 * of the range with it in place, complemented, is the checksum (a
	 * zero one written as 0xffff, as skb_checksum_help does for UDP). */
	{
		uint16_t c = (uint16_t)~sum_fold(sum_bytes(0, pkt + start, len - start));

		sum_store(pkt + at, c ? c : 0xffff);
	}
	return 0;
}

/* ---- segmentation ---- */

struct super {
	bool v6, tcp;
	size_t l4off, hdrs, payload, nseg;
};

/* The IP header of a super-packet: its length fields must cover the whole
 * packet as the kernel writes them, no fragment, no IPv6 extension. */
static int super_ip(const uint8_t *pkt, size_t len, struct super *s, uint8_t *proto)
{
	if (len < 20)
		return -OFFLOAD_DROP_SHORT;
	if (pkt[0] >> 4 == 4) {
		s->v6 = false;
		s->l4off = (size_t)(pkt[0] & 15) * 4;
		if (s->l4off < 20)
			return -OFFLOAD_DROP_IP;
		if (s->l4off > len)
			return -OFFLOAD_DROP_SHORT;
		if (be16_load(pkt + 2) != len || (be16_load(pkt + 6) & IP4_FRAGMENT))
			return -OFFLOAD_DROP_IP;
		*proto = pkt[9];
		return 0;
	}
	if (pkt[0] >> 4 == 6) {
		s->v6 = true;
		s->l4off = 40;
		if (len < 40)
			return -OFFLOAD_DROP_SHORT;
		if (be16_load(pkt + 4) != len - 40)
			return -OFFLOAD_DROP_IP;
		*proto = pkt[6];
		return 0;
	}
	return -OFFLOAD_DROP_IP;
}

/* The GSO type, the protocol, the checksum's place and the TCP or UDP
 * header must agree. hdr_len is recomputed: the kernel's may be the whole
 * first fragment of a forwarded packet. */
static int super_l4(const struct offload_hdr *h, const uint8_t *pkt, size_t len, struct super *s,
		    uint8_t proto)
{
	uint8_t type = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN;

	s->tcp = type != OFFLOAD_GSO_UDP_L4;
	if ((type == OFFLOAD_GSO_TCPV4 && s->v6) || (type == OFFLOAD_GSO_TCPV6 && !s->v6) ||
	    proto != (s->tcp ? IPPROTO_TCP_ : IPPROTO_UDP_))
		return -OFFLOAD_DROP_L4;
	if (!(h->flags & OFFLOAD_F_NEEDS_CSUM) || h->csum_start != s->l4off ||
	    h->csum_offset != (s->tcp ? 16 : 6))
		return -OFFLOAD_DROP_L4;
	if (len < s->l4off + (s->tcp ? 20 : 8))
		return -OFFLOAD_DROP_SHORT;
	if (s->tcp) {
		size_t thl = (size_t)(pkt[s->l4off + 12] >> 4) * 4;

		if (thl < 20)
			return -OFFLOAD_DROP_L4;
		s->hdrs = s->l4off + thl;
		if (s->hdrs > len)
			return -OFFLOAD_DROP_SHORT;
	} else {
		s->hdrs = s->l4off + 8;
		if (be16_load(pkt + s->l4off + 4) != len - s->l4off)
			return -OFFLOAD_DROP_L4;
	}
	return 0;
}

static int super_check(const struct offload_hdr *h, const uint8_t *pkt, size_t len, size_t out_cap,
		       struct super *s)
{
	uint8_t type = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN, proto = 0;
	int r;

	if ((h->flags & ~(OFFLOAD_F_NEEDS_CSUM | OFFLOAD_F_DATA_VALID)) ||
	    (type != OFFLOAD_GSO_TCPV4 && type != OFFLOAD_GSO_TCPV6 &&
	     type != OFFLOAD_GSO_UDP_L4) ||
	    ((h->gso_type & OFFLOAD_GSO_ECN) && type == OFFLOAD_GSO_UDP_L4))
		return -OFFLOAD_DROP_FLAGS;
	if (len > OFFLOAD_MAX_PACKET + 40)
		return -OFFLOAD_DROP_IP;
	r = super_ip(pkt, len, s, &proto);
	if (r == 0)
		r = super_l4(h, pkt, len, s, proto);
	if (r)
		return r;
	s->payload = len - s->hdrs;
	if (h->gso_size == 0 || s->payload == 0 ||
	    s->hdrs + (h->gso_size < s->payload ? h->gso_size : s->payload) > out_cap)
		return -OFFLOAD_DROP_GSO_SIZE;
	s->nseg = (s->payload + h->gso_size - 1) / h->gso_size;
	return 0;
}

/* One segment's headers: lengths, ID, sequence, flags; then its TCP or
 * UDP checksum over the whole segment. */
static void segment_fix(const struct super *s, uint8_t *o, size_t seglen, size_t i, size_t gso)
{
	uint8_t *l4 = o + s->l4off;
	uint16_t c;

	if (s->v6) {
		be16_put(o + 4, (uint16_t)(seglen - 40));
	} else {
		be16_put(o + 2, (uint16_t)seglen);
		be16_put(o + 4, (uint16_t)(be16_load(o + 4) + i));
		ip4_sum_set(o, s->l4off);
	}
	if (s->tcp) {
		be32_store(l4 + 4, be32_load(l4 + 4) + (uint32_t)(i * gso));
		if (i + 1 < s->nseg)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		l4[16] = l4[17] = 0;
	} else {
		be16_put(l4 + 4, (uint16_t)(seglen - s->l4off));
		l4[6] = l4[7] = 0;
	}
	c = (uint16_t)~sum_fold(sum_bytes(sum_pseudo(o, s->v6, s->tcp ? IPPROTO_TCP_ : IPPROTO_UDP_,
						     (uint32_t)(seglen - s->l4off)),
					  l4, seglen - s->l4off));
	if (!s->tcp && c == 0)
		c = 0xffff; /* UDP: 0 means "no checksum" */
	sum_store(l4 + (s->tcp ? 16 : 6), c);
}

int offload_segment(const struct offload_hdr *h, const uint8_t *pkt, size_t len, size_t first,
		    uint8_t *const *out, size_t out_cap, size_t *out_len, size_t max_out)
{
	struct super s;
	size_t gso = h->gso_size, n;
	int r = super_check(h, pkt, len, out_cap, &s);

	if (r)
		return r;
	if (first >= s.nseg)
		return 0;
	n = s.nseg - first < max_out ? s.nseg - first : max_out;
	for (size_t k = 0; k < n; k++) {
		size_t i = first + k, off = s.hdrs + i * gso;
		size_t plen = len - off < gso ? len - off : gso;
		uint8_t *o = out[k];

		memcpy(o, pkt, s.hdrs);
		memcpy(o + s.hdrs, pkt + off, plen);
		out_len[k] = s.hdrs + plen;
		segment_fix(&s, o, s.hdrs + plen, i, gso);
	}
	return (int)n;
}

size_t offload_segments_max(const struct offload_hdr *h, size_t len)
{
	return h->gso_size ? (len + h->gso_size - 1) / h->gso_size : 0;
}

/* ---- coalescing ---- */

void offload_gro_init(struct offload_gro *g, bool udp, uint32_t seed)
{
	memset(g, 0, sizeof(*g));
	g->udp = udp;
	g->seed = seed;
	g->gen = 1;
}

void offload_gro_reset(struct offload_gro *g)
{
	g->n = 0;
	g->nwrites = 0;
	if (++g->gen == 0) {
		memset(g->table_gen, 0, sizeof(g->table_gen));
		g->gen = 1;
	}
}

/* The IP part of a packet: its kind (0: no flow, passes alone and touches
 * no run) and whether it may be merged at all as far as IP goes
 * (inet_gro_receive: no options, no fragment, lengths that cover the
 * packet exactly, a good header checksum; ipv6_gro_receive: no extension
 * header, payload length exact). */
static enum gro_kind gro_ip(const struct offload_gro *g, struct offload_gro_pkt *p, bool *cand)
{
	const uint8_t *d = p->data;
	uint8_t proto;

	if (p->len < 20 || p->len > OFFLOAD_MAX_PACKET)
		return GRO_PASS;
	if (d[0] >> 4 == 4) {
		size_t ihl = (size_t)(d[0] & 15) * 4;
		uint16_t frag = be16_load(d + 6);

		proto = d[9];
		/* a later fragment has no ports to name its flow */
		if (ihl < 20 || (frag & 0x1fff) || ihl > p->len)
			return GRO_PASS;
		p->l4off = (uint8_t)ihl;
		*cand = ihl == 20 && be16_load(d + 2) == p->len && !(frag & IP4_FRAGMENT) &&
			offload_ip4_csum_ok(d, p->len);
		if (proto == IPPROTO_TCP_)
			return GRO_TCP4;
		return proto == IPPROTO_UDP_ && g->udp ? GRO_UDP4 : GRO_PASS;
	}
	if (d[0] >> 4 != 6 || p->len < 40)
		return GRO_PASS;
	proto = d[6];
	p->l4off = 40;
	*cand = be16_load(d + 4) == p->len - 40;
	if (proto == IPPROTO_TCP_)
		return GRO_TCP6;
	return proto == IPPROTO_UDP_ && g->udp ? GRO_UDP6 : GRO_PASS;
}

/* The TCP or UDP part: the header fits (else the packet names no flow),
 * and a packet may be merged only with a payload, and for TCP without
 * SYN, RST or URG (tcp_gro_receive flushes those); UDP with a checksum and
 * a length that covers the packet exactly. */
static enum gro_kind gro_l4(struct offload_gro_pkt *p, enum gro_kind k, bool *cand)
{
	const uint8_t *l4 = p->data + p->l4off;
	size_t room = p->len - p->l4off;

	if (k == GRO_TCP4 || k == GRO_TCP6) {
		size_t thl = room >= 20 ? (size_t)(l4[12] >> 4) * 4 : 0;

		if (thl < 20 || thl > room)
			return GRO_PASS;
		p->hdrs = (uint8_t)(p->l4off + thl);
		*cand = *cand && room > thl && !(l4[13] & (TCP_SYN | TCP_RST | TCP_URG));
		return k;
	}
	if (room < 8)
		return GRO_PASS;
	p->hdrs = (uint8_t)(p->l4off + 8);
	*cand = *cand && room > 8 && be16_load(l4 + 4) == room && be16_load(l4 + 6) != 0;
	return k;
}

static bool is_v6(enum gro_kind k)
{
	return k == GRO_TCP6 || k == GRO_UDP6;
}

static bool is_tcp(enum gro_kind k)
{
	return k == GRO_TCP4 || k == GRO_TCP6;
}

/* A flow: addresses, ports, and IPv6's flow label (a packet with another
 * label is another flow to ipv6_gro_receive). */
static uint32_t gro_hash(const struct offload_gro *g, const struct offload_gro_pkt *p)
{
	const uint8_t *d = p->data;
	uint32_t h = 2166136261u ^ g->seed ^ p->kind, w;
	size_t n = is_v6(p->kind) ? 32 : 8;
	const uint8_t *a = d + (is_v6(p->kind) ? 8 : 12);

	for (size_t i = 0; i < n; i += 4) {
		memcpy(&w, a + i, 4);
		h = (h ^ w) * 16777619u;
		h ^= h >> 15;
	}
	memcpy(&w, d + p->l4off, 4);
	h = (h ^ w) * 16777619u;
	if (is_v6(p->kind))
		h = (h ^ (be32_load(d) & 0xfffff)) * 16777619u;
	/* every bit into the low ones the table uses (murmur3's finalizer) */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static bool gro_same_flow(const struct offload_gro_pkt *a, const struct offload_gro_pkt *b)
{
	const uint8_t *x = a->data, *y = b->data;

	if (a->kind != b->kind || a->hash != b->hash || memcmp(x + a->l4off, y + b->l4off, 4) != 0)
		return false;
	if (!is_v6(a->kind))
		return memcmp(x + 12, y + 12, 8) == 0;
	return memcmp(x + 8, y + 8, 32) == 0 &&
	       (be32_load(x) & 0xfffff) == (be32_load(y) & 0xfffff);
}

/* The slot of p's flow: its latest run (*found), or the empty slot to put
 * it in. The table is at most half full, so there is always one. */
static size_t gro_slot(const struct offload_gro *g, const struct offload_gro_pkt *p, bool *found)
{
	size_t mask = OFFLOAD_GRO_TABLE - 1, s = p->hash & mask;

	while (g->table_gen[s] == g->gen) {
		if (gro_same_flow(&g->pkts[g->table[s]], p)) {
			*found = true;
			return s;
		}
		s = (s + 1) & mask;
	}
	*found = false;
	return s;
}

/* IP fields that must match (inet_gro_receive / ipv6_gro_receive): TOS,
 * TTL and DF; traffic class and hop limit. The IPv4 ID must go up by one
 * a packet, or with DF stay fixed (decided by the second packet). *mode
 * gets the ID mode the run would have. */
static bool gro_ip_match(const struct offload_gro_pkt *h, const struct offload_gro_pkt *b,
			 uint8_t *mode)
{
	const uint8_t *x = h->data, *y = b->data;
	uint16_t id, df;

	if (is_v6(h->kind))
		return (x[0] & 0x0f) == (y[0] & 0x0f) && (x[1] & 0xf0) == (y[1] & 0xf0) &&
		       x[7] == y[7];
	df = be16_load(x + 6) & IP4_DF;
	if (x[1] != y[1] || x[8] != y[8] || df != (be16_load(y + 6) & IP4_DF))
		return false;
	id = be16_load(y + 4);
	*mode = h->id_mode;
	if (*mode == 0)
		*mode = id == h->next_id ? 1 : df && id == be16_load(x + 4) ? 2 : 0;
	return (*mode == 1 && id == h->next_id) || (*mode == 2 && id == be16_load(x + 4));
}

/* tcp_gro_receive's rules: the same header length, options, ACK number
 * and window; the same flags but CWR, FIN and PSH, and no CWR on a later
 * packet; the next sequence number. */
static bool gro_tcp_match(const struct offload_gro_pkt *h, const struct offload_gro_pkt *b)
{
	const uint8_t *x = h->data + h->l4off, *y = b->data + b->l4off;
	size_t thl = (size_t)(h->hdrs - h->l4off);

	return x[12] == y[12] && !((x[13] ^ y[13]) & (uint8_t) ~(TCP_CWR | TCP_FIN | TCP_PSH)) &&
	       !(y[13] & TCP_CWR) && memcmp(x + 8, y + 8, 4) == 0 &&
	       memcmp(x + 14, y + 14, 2) == 0 && memcmp(x + 20, y + 20, thl - 20) == 0 &&
	       be32_load(y + 4) == h->next_seq;
}

static uint8_t gro_csum(struct offload_gro_pkt *p)
{
	if (p->csum == 0)
		p->csum = l4_sum_ok(p->data, p->len, is_v6(p->kind),
				    is_tcp(p->kind) ? IPPROTO_TCP_ : IPPROTO_UDP_, p->l4off)
			      ? 1
			      : 2;
	return p->csum;
}

static bool gro_append(struct offload_gro *g, struct offload_gro_pkt *h, int16_t bi)
{
	struct offload_gro_pkt *b = &g->pkts[bi];
	uint32_t plen = b->len - b->hdrs;
	uint8_t mode = 0;

	/* every packet as long as the first but the last (udp_gro_receive:
	 * a longer one ends the run too), at most 64 KiB and SEGS packets */
	if (!h->run_open || h->count >= OFFLOAD_GRO_SEGS || b->hdrs != h->hdrs ||
	    plen > h->gso_size || h->total + plen > OFFLOAD_MAX_PACKET)
		return false;
	if (!gro_ip_match(h, b, &mode) || (is_tcp(h->kind) && !gro_tcp_match(h, b)))
		return false;
	/* merged, they are trusted: both checksums must be good */
	if (gro_csum(h) != 1) {
		g->csum_bad++;
		h->run_open = 0;
		return false;
	}
	if (gro_csum(b) != 1) {
		g->csum_bad++;
		return false;
	}
	g->pkts[h->tail].next = bi;
	h->tail = bi;
	b->head = false;
	h->count++;
	h->total += plen;
	h->next_seq += plen;
	h->id_mode = mode;
	if (mode == 1)
		h->next_id++;
	if (plen < h->gso_size)
		h->run_open = 0;
	if (is_tcp(h->kind)) {
		uint8_t f = b->data[b->l4off + 13] & (TCP_FIN | TCP_PSH);

		h->fin_psh |= f;
		if (f)
			h->run_open = 0; /* PSH and FIN end a run */
	}
	g->merged++;
	return true;
}

/* p heads a new run of its flow: open when it may be merged, has no
 * checksum known bad, and (TCP) no PSH or FIN. */
static void gro_start(struct offload_gro_pkt *p, bool cand)
{
	const uint8_t *d = p->data, *l4 = d + p->l4off;

	p->gso_size = (uint16_t)(p->len - p->hdrs);
	p->run_open = cand && p->csum != 2;
	if (is_tcp(p->kind)) {
		p->next_seq = be32_load(l4 + 4) + p->gso_size;
		if (l4[13] & (TCP_FIN | TCP_PSH))
			p->run_open = 0;
	}
	if (!is_v6(p->kind))
		p->next_id = (uint16_t)(be16_load(d + 4) + 1);
}

int offload_gro_add(struct offload_gro *g, uint8_t *data, size_t len)
{
	struct offload_gro_pkt *p;
	int16_t i;
	bool cand = false, found;
	size_t s;

	if (g->n >= OFFLOAD_GRO_MAX)
		return -1;
	i = (int16_t)g->n++;
	p = &g->pkts[i];
	memset(p, 0, sizeof(*p));
	p->data = data;
	p->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	p->head = true;
	p->next = -1;
	p->tail = i;
	p->count = 1;
	p->total = p->len;
	p->kind = (uint8_t)gro_ip(g, p, &cand);
	if (p->kind != GRO_PASS)
		p->kind = (uint8_t)gro_l4(p, (enum gro_kind)p->kind, &cand);
	if (p->kind == GRO_PASS)
		return 0;
	p->hash = gro_hash(g, p);
	s = gro_slot(g, p, &found);
	if (found) {
		struct offload_gro_pkt *h = &g->pkts[g->table[s]];

		if (cand && gro_append(g, h, i))
			return 0;
		h->run_open = 0; /* the flow goes on after p, in order */
	}
	g->table[s] = i;
	g->table_gen[s] = g->gen;
	gro_start(p, cand);
	return 0;
}

/* A run of several packets becomes one super-packet: the first packet's
 * headers get the whole length (and a new IPv4 header checksum), the last
 * packet's FIN/PSH, and the pseudo-header's sum in the checksum field
 * (NEEDS_CSUM: CHECKSUM_PARTIAL in the kernel, which trusts the rest). */
static void gro_super(struct offload_gro_pkt *p, struct offload_gro_write *w)
{
	uint8_t *d = p->data, *l4 = d + p->l4off;
	bool v6 = is_v6(p->kind), tcp = is_tcp(p->kind);
	uint32_t l4len = p->total - p->l4off;
	struct offload_hdr h = {
	    .flags = OFFLOAD_F_NEEDS_CSUM,
	    .hdr_len = p->hdrs,
	    .gso_size = p->gso_size,
	    .csum_start = p->l4off,
	    .csum_offset = tcp ? 16 : 6,
	};

	if (v6) {
		be16_put(d + 4, (uint16_t)(p->total - 40));
	} else {
		be16_put(d + 2, (uint16_t)p->total);
		ip4_sum_set(d, p->l4off);
	}
	if (tcp) {
		h.gso_type = v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4;
		if (l4[13] & TCP_CWR)
			h.gso_type |= OFFLOAD_GSO_ECN;
		l4[13] |= p->fin_psh;
	} else {
		h.gso_type = OFFLOAD_GSO_UDP_L4;
		be16_put(l4 + 4, (uint16_t)l4len);
	}
	sum_store(l4 + h.csum_offset,
		  sum_fold(sum_pseudo(d, v6, tcp ? IPPROTO_TCP_ : IPPROTO_UDP_, l4len)));
	offload_hdr_write(w->vnet, &h);
}

void offload_gro_finish(struct offload_gro *g)
{
	size_t niov = 0;

	g->nwrites = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct offload_gro_pkt *p = &g->pkts[i];
		struct offload_gro_write *w;

		if (!p->head)
			continue;
		w = &g->writes[g->nwrites++];
		w->iov_first = (uint16_t)niov;
		w->len = p->total;
		if (p->count > 1) {
			gro_super(p, w);
			g->supers++;
		} else {
			memset(w->vnet, 0, sizeof(w->vnet));
		}
		g->iov[niov++] = (struct iovec){w->vnet, OFFLOAD_VNET_HDR_LEN};
		g->iov[niov++] = (struct iovec){p->data, p->len};
		for (int16_t j = p->next; j >= 0; j = g->pkts[j].next) {
			struct offload_gro_pkt *m = &g->pkts[j];

			g->iov[niov++] = (struct iovec){m->data + m->hdrs, m->len - m->hdrs};
		}
		w->niov = (uint16_t)(niov - w->iov_first);
	}
}
