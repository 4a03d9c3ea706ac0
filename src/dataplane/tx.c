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
#include <poll.h>
#include <stdbool.h>
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
/* With the fair queue: read ahead of what is sealed, so the standing
 * queue of a bulk flow moves from the TUN device's ring (a FIFO we cannot
 * reorder) into the fair queue, where a sparse flow's packet overtakes
 * it and CoDel keeps it short. */
#define FQ_READS_PER_CALL  128
#define FQ_SERVED_PER_TURN 64
#define TAIL_ROOM	   (15 + CIPHER_MAX_OVERHEAD) /* padding to 16, tags */

static enum dp_drop tx_one(struct worker *w, uint8_t *buf, size_t len)
{
	const uint8_t *src, *dst;
	int alen = router_addrs(buf + TRANSPORT_HEADER_LEN, len, &src, &dst);
	struct session *s;
	struct udp_endpoint to;
	struct udp_local from;
	size_t out_len;
	enum transport_result r;
	enum dp_drop d;
	unsigned chaff;

	if (alen < 0)
		return DP_DROP_MALFORMED;
	s = session_find_addr(w->shared->sessions, dst, (size_t)alen);
	if (!s)
		return DP_DROP_NO_SESSION;
	s = session_current(s); /* a confirmed replacement seals from now on */
	if (!session_may_send(s))
		return DP_DROP_UNCONFIRMED;
	if (!session_path_budget(s, len))
		return DP_DROP_PATH_LIMIT;
	d = worker_drop_of_charge(session_charge(s, false, len, w->now_ns));
	if (d != DP_DROP_NONE)
		return d; /* before sealing: no work spent on it */
	/* decided on the plaintext (sealing is in place), sent after it */
	chaff = session_chaff_due(s, buf + TRANSPORT_HEADER_LEN, len, false, w->now_ns);
	r = session_seal(s, buf, w->shared->buf_size, len, w->now_ns, &to, &from, &out_len);
	if (r == TRANSPORT_E_EXPIRED || r == TRANSPORT_E_EXHAUSTED)
		return DP_DROP_EXPIRED;
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return DP_DROP_SEAL;
	worker_send(w, buf, out_len, &to, &from, s->index);
	worker_chaff(w, s, chaff);
	return DP_DROP_NONE;
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

/* The packet just read into the spare buffer: into the fair queue, or
 * sealed and queued at once (on a drop the spare stays for the next read). */
static void tx_take(struct worker *w, uint8_t *buf, size_t n)
{
	enum dp_drop d;

	if (w->shared->fair_queue) {
		w->tun_buf = NULL;
		fq_enqueue(&w->fq, buf, TRANSPORT_HEADER_LEN, (uint16_t)n, w->now_ns);
		return;
	}
	d = tx_one(w, buf, n);
	if (d == DP_DROP_NONE)
		w->tun_buf = NULL; /* in the send batch now */
	worker_drop(w, d);
}

static void set_counter(uint64_t *counter, uint64_t v)
{
	__atomic_store_n(counter, v, __ATOMIC_RELAXED);
}

/* While the fair queue holds packets the loop must turn even when
 * nothing is readable: the UDP socket's POLLOUT (ready while its send
 * buffer has room, so the queue also waits for a full buffer rather than
 * losing packets to EAGAIN). */
static void want_pollout(struct worker *w, bool on)
{
	if (w->fq_pollout == on)
		return;
	w->udp_op.events = on ? (POLLIN | POLLOUT) : 0;
	if (loop_modify(w->loop, &w->udp_op) == 0)
		w->fq_pollout = on;
}

void tx_fq_serve(struct worker *w)
{
	struct fq *q = &w->fq;
	uint8_t *buf;
	uint16_t off, len;

	if (!w->shared->fair_queue)
		return;
	if (fq_backlog(q)) {
		w->now_ns = loop_now_ns();
		urcu_memb_read_lock();
		for (unsigned i = 0; i < FQ_SERVED_PER_TURN; i++) {
			enum dp_drop d;

			if (!fq_dequeue(q, w->now_ns, &buf, &off, &len))
				break;
			d = tx_one(w, buf, len);
			if (d != DP_DROP_NONE)
				pool_put(&w->pool, buf);
			worker_drop(w, d);
		}
		urcu_memb_read_unlock();
	}
	set_counter(&w->stats.drops[DP_DROP_FQ_OVERLIMIT], q->stats.drops[FQ_DROP_OVERLIMIT]);
	set_counter(&w->stats.drops[DP_DROP_FQ_CODEL], q->stats.drops[FQ_DROP_CODEL]);
	set_counter(&w->stats.fq_marked, q->stats.ecn_marked);
	set_counter(&w->stats.fq_backlog, fq_backlog(q));
	want_pollout(w, fq_backlog(q) > 0);
}

size_t worker_tun_room(size_t buf_size)
{
	return buf_size - TRANSPORT_HEADER_LEN - TAIL_ROOM;
}

/* The segments of a super-packet: pool buffers, each sealed and queued as
 * a packet read alone would be (the send batch makes them one GSO run). */
static uint8_t *sink_get(void *ctx)
{
	return get_buffer(ctx);
}

static void sink_put(void *ctx, uint8_t *buf)
{
	struct worker *w = ctx;

	pool_put(&w->pool, buf);
}

static bool sink_emit(void *ctx, uint8_t *buf, size_t len)
{
	struct worker *w = ctx;
	enum dp_drop d;

	if (w->shared->fair_queue) { /* each segment a packet of its flow */
		fq_enqueue(&w->fq, buf, TRANSPORT_HEADER_LEN, (uint16_t)len, w->now_ns);
		return true;
	}
	d = tx_one(w, buf, len);

	worker_drop(w, d);
	return d == DP_DROP_NONE;
}

/* One TUN read (tunio.h): a packet in buf, sealed in place, or a
 * super-packet cut into pool buffers. false: nothing more to read. */
static bool tx_read(struct worker *w, uint8_t *buf)
{
	const struct tunio_sink sink = {sink_get, sink_put, sink_emit, w, TRANSPORT_HEADER_LEN};
	struct offload_hdr h;
	size_t len;

	switch (tunio_read(&w->tun, buf + TRANSPORT_HEADER_LEN, &len, &h)) {
	case TUNIO_EMPTY:
		return false;
	case TUNIO_PLAIN:
		tx_take(w, buf, len);
		break;
	case TUNIO_SUPER:
		if (tunio_segments(&w->tun, &h, len, &sink) == 0)
			worker_drop(w, DP_DROP_NO_BUFFER);
		break;
	case TUNIO_TOO_LONG:
		worker_drop(w, DP_DROP_TRUNCATED);
		break;
	case TUNIO_REFUSED:
		break; /* counted by reason */
	}
	return true;
}

/* How many packets to read ahead into the fair queue: no more than it
 * has room for. Reading a packet only for the queue to drop it costs a
 * read and a copy; left in the TUN device's ring, an overload (an
 * unresponsive UDP flood) is dropped there for free. */
static int fq_reads(const struct worker *w)
{
	uint32_t room = w->fq.p.limit - fq_backlog(&w->fq);

	return room < FQ_READS_PER_CALL ? (int)room : FQ_READS_PER_CALL;
}

void tx_tun_ready(struct worker *w)
{
	int i, reads = w->shared->fair_queue ? fq_reads(w) : PACKETS_PER_CALL;

	w->now_ns = loop_now_ns();
	urcu_memb_read_lock();
	for (i = 0; i < reads; i++) {
		uint8_t *buf = spare(w);

		if (!buf) {
			worker_drop(w, DP_DROP_NO_BUFFER);
			break;
		}
		if (!tx_read(w, buf))
			break;
	}
	urcu_memb_read_unlock();
	if (i > 0) /* a wake-up with nothing to read is no batch */
		worker_batch_time(w, WORKER_BATCH_TUN_TX, loop_now_ns() - w->now_ns);
}
