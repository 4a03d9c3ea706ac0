/* The send path: packets the host routes into the TUN device, read from
 * the worker's queue, sealed in place for the session that owns the
 * destination address, and queued in the send batch (flushed once per
 * loop turn).
 *
 * Buffer layout: the packet is read at TRANSPORT_HEADER_LEN, leaving
 * room for the header in front and for padding and tags behind, so
 * transport_seal works in place. */
#include "dataplane/tx.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "dataplane/offload.h"
#include "dataplane/session.h"
#include "dataplane/worker.h"
#include "crypto/cipher.h"
#include "dataplane/router.h"

#define PACKETS_PER_CALL 64
#define TAIL_ROOM	 (15 + CIPHER_MAX_OVERHEAD) /* padding to 16, tags */

static enum worker_drop tx_one(struct worker *w, uint8_t *buf, size_t len)
{
	const uint8_t *src, *dst;
	int alen = router_addrs(buf + TRANSPORT_HEADER_LEN, len, &src, &dst);
	struct session *s;
	struct udp_endpoint to;
	struct udp_local from;
	size_t out_len;
	enum transport_result r;
	enum worker_drop d;
	unsigned chaff;

	if (alen < 0)
		return WORKER_DROP_MALFORMED;
	s = session_find_addr(w->shared->sessions, dst, (size_t)alen);
	if (!s)
		return WORKER_DROP_NO_SESSION;
	s = session_current(s); /* a confirmed replacement seals from now on */
	if (!session_may_send(s))
		return WORKER_DROP_UNCONFIRMED;
	if (!session_path_budget(s, len))
		return WORKER_DROP_PATH_LIMIT;
	d = worker_drop_of_charge(session_charge(s, false, len, w->now_ns));
	if (d != WORKER_DROP_NONE)
		return d; /* before sealing: no work spent on it */
	/* decided on the plaintext (sealing is in place), sent after it */
	chaff = session_chaff_due(s, buf + TRANSPORT_HEADER_LEN, len, false, w->now_ns);
	r = session_seal(s, buf, w->shared->buf_size, len, w->now_ns, &to, &from, &out_len);
	if (r == TRANSPORT_E_EXPIRED || r == TRANSPORT_E_EXHAUSTED)
		return WORKER_DROP_EXPIRED;
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return WORKER_DROP_SEAL;
	worker_send(w, buf, out_len, &to, &from, s->index);
	worker_chaff(w, s, chaff);
	return WORKER_DROP_NONE;
}

/* A pool buffer, flushing the send batch to free some if the pool ran
 * dry. */
static uint8_t *get_buffer(struct worker *w)
{
	uint8_t *buf = pool_get(&w->pool);

	if (!buf) {
		worker_flush(w);
		buf = pool_get(&w->pool);
	}
	return buf;
}

/* A buffer to read into, flushing the send batch to free some if the
 * pool ran dry. */
static uint8_t *spare(struct worker *w)
{
	if (!w->tun_buf)
		w->tun_buf = pool_get(&w->pool);
	if (!w->tun_buf) {
		worker_flush(w);
		w->tun_buf = pool_get(&w->pool);
	}
	return w->tun_buf;
}

static void offload_drop(struct worker *w, int r)
{
	if (r < 0 && -r < OFFLOAD_DROP_COUNT)
		worker_count(&w->stats.offload_drops[-r], 1);
}

/* Segments of a super-packet (contiguous in w->tun_scratch) into pool
 * buffers, SEGMENTS_PER_ROUND at a time, each sealed and queued as a
 * packet read alone would be: the send batch makes them one GSO run. */
#define SEGMENTS_PER_ROUND 64
static void tx_super(struct worker *w, const struct offload_hdr *h, size_t len, size_t room)
{
	uint8_t *bufs[SEGMENTS_PER_ROUND], *outs[SEGMENTS_PER_ROUND];
	size_t lens[SEGMENTS_PER_ROUND], first = 0, want = offload_segments_max(h, len);
	int n;

	worker_count(&w->stats.tun_supers, 1);
	do {
		size_t k = want - first < SEGMENTS_PER_ROUND ? want - first : SEGMENTS_PER_ROUND;
		size_t got = 0;

		while (got < k && (bufs[got] = get_buffer(w)) != NULL) {
			outs[got] = bufs[got] + TRANSPORT_HEADER_LEN;
			got++;
		}
		n = got ? offload_segment(h, w->tun_scratch, len, first, outs, room, lens, got) : 0;
		if (got == 0)
			worker_drop(w, WORKER_DROP_NO_BUFFER);
		offload_drop(w, n);
		for (size_t i = 0; i < got; i++) {
			enum worker_drop d = WORKER_DROP_NO_BUFFER; /* not used */

			if ((int)i < n) {
				d = tx_one(w, bufs[i], lens[i]);
				worker_drop(w, d);
			}
			if (d != WORKER_DROP_NONE)
				pool_put(&w->pool, bufs[i]);
		}
		if (n > 0) {
			worker_count(&w->stats.tun_segments, (uint64_t)n);
			first += (size_t)n;
		}
	} while (n > 0 && first < want);
}

/* One read from a TUN device with IFF_VNET_HDR: the header, then the
 * packet into buf (as without offloads) and, if it is longer, on into
 * the scratch area right behind where buf's part will be copied, so a
 * super-packet is whole there with one copy of its head. */
static enum worker_drop tx_read_vnet(struct worker *w, uint8_t *buf, size_t room, bool *more)
{
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	struct iovec iov[3] = {
	    {vnet, sizeof(vnet)},
	    {buf + TRANSPORT_HEADER_LEN, room},
	    {w->tun_scratch + room, WORKER_TUN_SCRATCH},
	};
	struct offload_hdr h;
	ssize_t n = readv(w->tun_fd, iov, 3);
	enum worker_drop d;
	size_t len;
	int r;

	*more = n > 0;
	if (n <= 0)
		return WORKER_DROP_NONE;
	if ((size_t)n < sizeof(vnet)) {
		offload_drop(w, -OFFLOAD_DROP_SHORT);
		return WORKER_DROP_NONE;
	}
	len = (size_t)n - sizeof(vnet);
	offload_hdr_read(&h, vnet);
	if (h.gso_type == OFFLOAD_GSO_NONE) {
		if (len > room)
			return WORKER_DROP_TRUNCATED;
		r = offload_plain(&h, buf + TRANSPORT_HEADER_LEN, len);
		offload_drop(w, r);
		if (r < 0)
			return WORKER_DROP_NONE;
		d = tx_one(w, buf, len);
		if (d == WORKER_DROP_NONE)
			w->tun_buf = NULL; /* queued: the next read takes another */
		return d;
	}
	memcpy(w->tun_scratch, buf + TRANSPORT_HEADER_LEN, len < room ? len : room);
	tx_super(w, &h, len, room);
	return WORKER_DROP_NONE;
}

void tx_tun_ready(struct worker *w)
{
	size_t room = w->shared->buf_size - TRANSPORT_HEADER_LEN - TAIL_ROOM;
	int i;

	w->now_ns = loop_now_ns();
	urcu_memb_read_lock();
	for (i = 0; i < PACKETS_PER_CALL; i++) {
		uint8_t *buf = spare(w);
		enum worker_drop d;
		ssize_t n;

		if (!buf) {
			worker_drop(w, WORKER_DROP_NO_BUFFER);
			break;
		}
		if (w->shared->tun_vnet) {
			bool more;

			worker_drop(w, tx_read_vnet(w, buf, room, &more));
			if (!more)
				break;
			continue;
		}
		n = read(w->tun_fd, buf + TRANSPORT_HEADER_LEN, room);
		if (n <= 0)
			break;
		d = tx_one(w, buf, (size_t)n);
		if (d == WORKER_DROP_NONE)
			w->tun_buf = NULL; /* queued: the next read takes another */
		worker_drop(w, d);
	}
	urcu_memb_read_unlock();
	if (i > 0) /* a wake-up with nothing to read is no batch */
		worker_batch_time(w, WORKER_BATCH_TUN_TX, loop_now_ns() - w->now_ns);
}
