/* Captures as a passive observer sees them: see capture.h. */
#include "capture.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ports and payload of a UDP or TCP header at p (len bytes of it captured). */
static void decode_l4(const uint8_t *p, size_t len, struct capture_pkt *out)
{
	if (out->l4 == 17 && len >= 8) {
		size_t ulen = be16(p + 4);
		out->sport = be16(p);
		out->dport = be16(p + 2);
		out->payload = p + 8;
		out->payload_len = len - 8;
		if (ulen >= 8 && ulen - 8 < out->payload_len)
			out->payload_len = ulen - 8;
	} else if (out->l4 == 6 && len >= 20) {
		size_t off = (size_t)(p[12] >> 4) * 4;
		out->sport = be16(p);
		out->dport = be16(p + 2);
		out->tcp_flags = p[13];
		out->tcp_seq =
		    (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		if (off >= 20 && off <= len) {
			out->payload = p + off;
			out->payload_len = len - off;
		}
	}
}

static int decode_ipv4(const uint8_t *p, size_t len, struct capture_pkt *out)
{
	size_t ihl, total;
	uint16_t frag;

	if (len < 20 || (p[0] >> 4) != 4)
		return -1;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = be16(p + 2);
	if (ihl < 20 || ihl > len || total < ihl)
		return -1;
	if (total < len)
		len = total; /* Ethernet padding is not part of the packet */
	out->family = 4;
	out->l3 = p;
	out->l3_len = len;
	out->tos = p[1];
	out->ttl = p[8];
	out->l4 = p[9];
	frag = be16(p + 6);
	out->df = (frag & 0x4000) != 0;
	out->fragment = (frag & 0x1fff) != 0;
	memcpy(out->src, p + 12, 4);
	memcpy(out->dst, p + 16, 4);
	if (!out->fragment)
		decode_l4(p + ihl, len - ihl, out);
	return 0;
}

static int decode_ipv6(const uint8_t *p, size_t len, struct capture_pkt *out)
{
	size_t off = 40, plen;
	uint8_t next;

	if (len < 40 || (p[0] >> 4) != 6)
		return -1;
	plen = be16(p + 4);
	if (40 + plen < len)
		len = 40 + plen;
	out->family = 6;
	out->l3 = p;
	out->l3_len = len;
	out->tos = (uint8_t)((p[0] & 0x0f) << 4 | p[1] >> 4);
	out->ttl = p[7];
	out->df = 1;
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	next = p[6];
	/* Hop-by-hop, routing, destination options: skip; fragment: mark. */
	while ((next == 0 || next == 43 || next == 60 || next == 44) && off + 8 <= len) {
		if (next == 44) {
			out->fragment = 1;
			if ((be16(p + off + 2) & 0xfff8) != 0)
				return 0;
			next = p[off];
			off += 8;
		} else {
			size_t hl = ((size_t)p[off + 1] + 1) * 8;
			next = p[off];
			off += hl;
		}
	}
	if (off > len)
		return 0;
	out->l4 = next;
	decode_l4(p + off, len - off, out);
	return 0;
}

static int decode_ip(const uint8_t *p, size_t len, struct capture_pkt *out)
{
	if (len < 1)
		return -1;
	if ((p[0] >> 4) == 4)
		return decode_ipv4(p, len, out);
	if ((p[0] >> 4) == 6)
		return decode_ipv6(p, len, out);
	return -1;
}

int capture_decode(int dlt, const uint8_t *frame, size_t len, struct capture_pkt *out)
{
	uint16_t type;
	size_t off;

	memset(out, 0, sizeof(*out));
	switch (dlt) {
	case CAPTURE_DLT_EN10MB:
		if (len < 14)
			return -1;
		type = be16(frame + 12);
		off = 14;
		if (type == 0x8100 && len >= 18) {
			type = be16(frame + 16);
			off = 18;
		}
		break;
	case CAPTURE_DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		type = be16(frame + 14);
		off = 16;
		break;
	case CAPTURE_DLT_RAW:
	case CAPTURE_DLT_IPV4:
	case CAPTURE_DLT_IPV6:
		return decode_ip(frame, len, out);
	default:
		return -1;
	}
	if (type != 0x0800 && type != 0x86dd)
		return -1;
	return decode_ip(frame + off, len - off, out);
}

/* ---- flows ---- */

struct capture_table {
	uint16_t server_port;
	size_t n, cap;
	struct capture_flow *flows;
};

/* Enough for any capture these tests make; beyond it packets are ignored
 * and the tools say so (a silent cap would hide flows). */
#define CAPTURE_MAX_FLOWS 65536

struct capture_table *capture_table_new(uint16_t server_port)
{
	struct capture_table *t = calloc(1, sizeof(*t));
	if (t)
		t->server_port = server_port;
	return t;
}

void capture_table_free(struct capture_table *t, void (*free_user)(void *))
{
	if (!t)
		return;
	for (size_t i = 0; free_user && i < t->n; i++)
		free_user(t->flows[i].user);
	free(t->flows);
	free(t);
}

static int same_end(const uint8_t *addr, uint16_t port, const uint8_t *a, uint16_t aport)
{
	return port == aport && memcmp(addr, a, 16) == 0;
}

static struct capture_flow *flow_new(struct capture_table *t, const struct capture_pkt *pkt,
				     int *dir)
{
	struct capture_flow *f;
	int swap =
	    t->server_port != 0 && pkt->sport == t->server_port && pkt->dport != t->server_port;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct capture_flow *nf;
		if (cap > CAPTURE_MAX_FLOWS)
			return NULL;
		nf = realloc(t->flows, cap * sizeof(*nf));
		if (!nf)
			return NULL;
		t->flows = nf;
		t->cap = cap;
	}
	f = &t->flows[t->n++];
	memset(f, 0, sizeof(*f));
	f->family = pkt->family;
	f->l4 = pkt->l4;
	memcpy(f->a, swap ? pkt->dst : pkt->src, 16);
	memcpy(f->b, swap ? pkt->src : pkt->dst, 16);
	f->aport = swap ? pkt->dport : pkt->sport;
	f->bport = swap ? pkt->sport : pkt->dport;
	*dir = swap;
	return f;
}

struct capture_flow *capture_table_find(struct capture_table *t, const struct capture_pkt *pkt,
					int *dir)
{
	for (size_t i = t->n; i-- > 0;) {
		struct capture_flow *f = &t->flows[i];
		if (f->family != pkt->family || f->l4 != pkt->l4)
			continue;
		if (same_end(pkt->src, pkt->sport, f->a, f->aport) &&
		    same_end(pkt->dst, pkt->dport, f->b, f->bport)) {
			*dir = 0;
			return f;
		}
		if (same_end(pkt->src, pkt->sport, f->b, f->bport) &&
		    same_end(pkt->dst, pkt->dport, f->a, f->aport)) {
			*dir = 1;
			return f;
		}
	}
	return flow_new(t, pkt, dir);
}

size_t capture_table_count(const struct capture_table *t)
{
	return t->n;
}

struct capture_flow *capture_table_at(struct capture_table *t, size_t i)
{
	return i < t->n ? &t->flows[i] : NULL;
}

static void addr_text(int family, const uint8_t *a, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, ip, sizeof(ip));
	snprintf(buf, len, family == 4 ? "%s:%u" : "[%s]:%u", ip, port);
}

void capture_flow_name(const struct capture_flow *f, char *buf, size_t len)
{
	char a[64], b[64];
	const char *proto = f->l4 == 17 ? "UDP" : f->l4 == 6 ? "TCP" : "IP";
	addr_text(f->family, f->a, f->aport, a, sizeof(a));
	addr_text(f->family, f->b, f->bport, b, sizeof(b));
	snprintf(buf, len, "%s %s <-> %s", proto, a, b);
}

/* ---- pcap files ---- */

long capture_read_file(const char *path, capture_fn fn, void *ctx)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	long bad = 0;
	int dlt, rc;
	pcap_t *p = pcap_open_offline(path, err);

	if (!p) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	dlt = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		struct capture_pkt pkt;
		if (capture_decode(dlt, data, h->caplen, &pkt) != 0) {
			bad++;
			continue;
		}
		pkt.ts_ms = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
		fn(&pkt, ctx);
	}
	if (rc == -1) {
		fprintf(stderr, "%s: %s\n", path, pcap_geterr(p));
		bad = -1;
	}
	pcap_close(p);
	return bad;
}
