/* The worker's fair queue (dataplane/fq.c) on untrusted inner packets:
 * the flow hash and the ECN mark read (and the mark writes) the IP header
 * of whatever the host or a peer put in the tunnel. The input is a
 * sequence of operations on a small queue (8 flows, 16 packets, so the
 * limit, the fattest-flow drop and CoDel are all reached): each packet is
 * an exact-size heap copy (a read past it is a sanitizer error),
 * enqueued with an input-chosen length and clock step, or a dequeue.
 * Invariants: every buffer comes back exactly once (handed out, dropped
 * or released by fq_done), the backlog never exceeds the limit, a
 * handed-out packet is the one that went in, and only ECN bits change.
 *
 * Input: records of [op (1 byte: bit 0 dequeue, bits 1..7 clock step in
 * ms) | len (1 byte) | len bytes of packet] (len and bytes only for an
 * enqueue), until the input ends. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/fq.h"

#define LIMIT 16

static unsigned outstanding; /* buffers the queue holds */

static void on_release(void *ctx, uint8_t *buf)
{
	(void)ctx;
	if (outstanding == 0)
		abort();
	outstanding--;
	free(buf);
}

/* A handed-out packet: its length as enqueued; bytes other than the ECN
 * bits (IPv4 byte 1, checksum 10-11; IPv6 byte 1) as the copy in front. */
static void check_out(uint8_t *buf, uint16_t off, uint16_t len)
{
	const uint8_t *p = buf + off;
	uint16_t saved;

	memcpy(&saved, buf, 2); /* the length the enqueue stored in front */
	if (saved != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		bool ecn_byte = i == 1 || ((p[0] >> 4) == 4 && (i == 10 || i == 11));

		if (!ecn_byte && p[i] != buf[off + len + i])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fq_params prm = {.flows = 8,
				.limit = LIMIT,
				.byte_limit = 2048,
				.quantum = 300,
				.target_ns = FQ_TARGET_NS,
				.interval_ns = FQ_INTERVAL_NS,
				.ecn = true,
				.key = {1, 2},
				.release = on_release};
	struct fq q;
	uint64_t now = 1000000000ull;

	outstanding = 0;
	if (fq_init(&q, &prm) != 0)
		abort();
	while (size >= 1) {
		uint8_t op = data[0];

		data++;
		size--;
		now += (uint64_t)(op >> 1) * 1000000;
		if (op & 1) {
			uint8_t *buf;
			uint16_t off, len;

			if (fq_dequeue(&q, now, &buf, &off, &len)) {
				check_out(buf, off, len);
				outstanding--;
				free(buf);
			}
		} else if (size >= 1) {
			size_t len = data[0];
			uint8_t *buf;

			data++;
			size--;
			if (len > size)
				len = size;
			/* [stored length (2) | packet (len) | a copy of it (len)] */
			buf = malloc(2 + 2 * len);
			if (!buf)
				abort();
			memcpy(buf, &(uint16_t){(uint16_t)len}, 2);
			memcpy(buf + 2, data, len);
			memcpy(buf + 2 + len, data, len);
			outstanding++;
			fq_enqueue(&q, buf, 2, (uint16_t)len, now);
			data += len;
			size -= len;
		}
		if (fq_backlog(&q) > LIMIT || fq_backlog(&q) != outstanding)
			abort();
	}
	fq_done(&q);
	if (outstanding != 0)
		abort();
	return 0;
}
