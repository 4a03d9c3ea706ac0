/* TUN offloads (dataplane/offload.c) on untrusted bytes: a virtio-net
 * header and a packet as a local process could make the kernel hand us,
 * and packets as a peer could make us write. Invariants:
 *   - offload_plain / offload_segment never write past the packet or the
 *     caller's buffers (sanitizers), and every segment they make carries
 *     good IPv4 header and TCP/UDP checksums;
 *   - coalescing loses, duplicates and reorders nothing within a write:
 *     every byte of every added packet is in exactly one write, and a
 *     super-packet segmented again gives back the packets that went into
 *     it (checksum fields compared by their value: 0 and 0xffff are the
 *     same sum).
 *
 * Input: [opts (bit 0: merge UDP)] [virtio header, 10 bytes] [len (2,
 * big-endian)] [len bytes of packet], then records of [len (2)] [len
 * bytes], each one more packet for the coalescer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/offload.h"

#define NOUT 64
#define CAP  2048

static uint8_t outmem[NOUT][CAP];
static uint8_t *outp[NOUT];
static size_t outlen[NOUT];
static struct offload_gro g;
static uint8_t flat[OFFLOAD_MAX_PACKET + 64];

static size_t take(const uint8_t **data, size_t *size, const uint8_t **pkt)
{
	size_t len;

	if (*size < 2)
		return (size_t)-1;
	len = (size_t)((*data)[0] << 8 | (*data)[1]);
	*data += 2;
	*size -= 2;
	if (len > *size)
		len = *size;
	*pkt = *data;
	*data += len;
	*size -= len;
	return len;
}

static void check_segment(const uint8_t *p, size_t len)
{
	if (!offload_l4_csum_ok(p, len) || (p[0] >> 4 == 4 && !offload_ip4_csum_ok(p, len)))
		abort();
}

/* Clears what segmentation may legitimately write otherwise: the checksum
 * fields (0 and 0xffff are the same sum); with DF, the IPv4 ID (a run with
 * a fixed ID comes back numbered, as from the kernel's GSO); the TCP
 * urgent pointer, which the kernel's GRO does not compare either (without
 * URG, which never merges, it means nothing). */
static void mask_csums(uint8_t *p, size_t len)
{
	size_t l4 = p[0] >> 4 == 6 ? 40 : (size_t)(p[0] & 15) * 4;
	uint8_t proto = p[0] >> 4 == 6 ? p[6] : p[9];
	size_t at = l4 + (proto == 6 ? 16 : 6);

	if (p[0] >> 4 == 4 && len >= 12) {
		p[10] = p[11] = 0;
		if (p[6] & 0x40)
			p[4] = p[5] = 0;
	}
	if (at + 2 <= len)
		p[at] = p[at + 1] = 0;
	if (proto == 6 && at + 4 <= len)
		p[at + 2] = p[at + 3] = 0;
}

static void first_packet(const uint8_t *hdrb, const uint8_t *in, size_t len)
{
	struct offload_hdr h;
	uint8_t *copy = malloc(len ? len : 1);
	int n;

	if (!copy)
		abort();
	memcpy(copy, in, len);
	offload_hdr_read(&h, hdrb);
	if (h.gso_type == OFFLOAD_GSO_NONE) {
		offload_plain(&h, copy, len);
		free(copy);
		return;
	}
	n = offload_segment(&h, copy, len, 0, outp, CAP, outlen, NOUT);
	if (memcmp(copy, in, len) != 0)
		abort(); /* the super-packet is read only */
	free(copy);
	if (n == 0 || n > NOUT)
		abort();
	for (int i = 0; i < n; i++) {
		if (outlen[i] > CAP)
			abort();
		check_segment(outp[i], outlen[i]);
	}
}

/* Each write: its bytes are its packets', each packet in exactly one
 * write; a packet alone is unchanged; a super-packet segments back into
 * the packets that went into it. saved[i] is the i-th input as added. */
static void check_writes(uint8_t **saved, const size_t *lens, size_t n)
{
	static uint8_t seen[OFFLOAD_GRO_MAX];
	int idx[OFFLOAD_GRO_SEGS + 1];

	memset(seen, 0, n);
	for (unsigned w = 0; w < g.nwrites; w++) {
		const struct offload_gro_write *wr = &g.writes[w];
		struct offload_hdr h;
		size_t len = 0, j, count = 0;

		offload_hdr_read(&h, g.iov[wr->iov_first].iov_base);
		for (unsigned i = 1; i < wr->niov; i++) {
			memcpy(flat + len, g.iov[wr->iov_first + i].iov_base,
			       g.iov[wr->iov_first + i].iov_len);
			len += g.iov[wr->iov_first + i].iov_len;
		}
		if (len != wr->len || wr->niov < 2 || wr->niov - 1 > OFFLOAD_GRO_SEGS)
			abort();
		for (j = 0; j < n; j++)
			if (g.pkts[j].head && g.pkts[j].data == g.iov[wr->iov_first + 1].iov_base)
				break;
		if (j == n)
			abort();
		for (int m = (int)j; m >= 0; m = g.pkts[m].next) {
			if (count == wr->niov - 1 || seen[m]++)
				abort();
			idx[count++] = m;
		}
		if (count != wr->niov - 1)
			abort();
		if (h.gso_type == OFFLOAD_GSO_NONE) {
			if (count != 1 || len != lens[j] || memcmp(flat, saved[j], len) != 0)
				abort();
			continue;
		}
		if (len > OFFLOAD_MAX_PACKET ||
		    offload_segment(&h, flat, len, 0, outp, CAP, outlen, NOUT) != (int)count)
			abort();
		for (size_t i = 0; i < count; i++) {
			check_segment(outp[i], outlen[i]);
			if (outlen[i] != lens[idx[i]])
				abort();
			mask_csums(outp[i], outlen[i]);
			mask_csums(saved[idx[i]], lens[idx[i]]);
			if (memcmp(outp[i], saved[idx[i]], outlen[i]) != 0)
				abort();
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			abort();
}

static void coalesce(uint8_t opts, const uint8_t *data, size_t size)
{
	static uint8_t *pkts[OFFLOAD_GRO_MAX], *saved[OFFLOAD_GRO_MAX];
	static size_t lens[OFFLOAD_GRO_MAX];
	size_t n = 0, len;
	const uint8_t *p;

	offload_gro_init(&g, opts & 1, 0x5eed);
	while (n < 256 && (len = take(&data, &size, &p)) != (size_t)-1) {
		pkts[n] = malloc(len ? len : 1);
		saved[n] = malloc(len ? len : 1);
		if (!pkts[n] || !saved[n])
			abort();
		memcpy(pkts[n], p, len);
		memcpy(saved[n], p, len);
		lens[n] = len;
		if (offload_gro_add(&g, pkts[n], len) != 0)
			abort();
		n++;
	}
	offload_gro_finish(&g);
	check_writes(saved, lens, n);
	for (size_t i = 0; i < n; i++) {
		free(pkts[i]);
		free(saved[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *pkt;
	uint8_t opts;
	size_t len;

	for (int i = 0; i < NOUT; i++)
		outp[i] = outmem[i];
	if (size < 1 + OFFLOAD_VNET_HDR_LEN)
		return 0;
	opts = data[0];
	data += 1;
	size -= 1;
	{
		const uint8_t *hdrb = data;

		data += OFFLOAD_VNET_HDR_LEN;
		size -= OFFLOAD_VNET_HDR_LEN;
		len = take(&data, &size, &pkt);
		if (len == (size_t)-1)
			return 0;
		first_packet(hdrb, pkt, len);
	}
	coalesce(opts, data, size);
	return 0;
}
