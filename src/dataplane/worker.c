/* Data-plane worker lifecycle, send batch and statistics; the packet
 * paths are rx.c (from UDP) and tx.c (from TUN). Model in worker.h. */
#include "dataplane/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "dataplane/rx.h"
#include "dataplane/queue.h"
#include "dataplane/session.h"
#include "dataplane/stream.h"
#include "dataplane/tx.h"
#include "util/log.h"

static void on_udp(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	/* POLLOUT alone: the loop turning for the fair queue (served in
	 * on_flush), nothing to receive */
	if (res < 0 || (res & POLLIN) || !(res & POLLOUT))
		rx_udp_ready(op->ctx);
}

static void on_tun(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	(void)res;
	tx_tun_ready(op->ctx);
}

static void on_stream(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	(void)res;
	rx_stream_ready(op->ctx);
}

static void on_flush(struct loop *l, void *ctx)
{
	(void)l;
	tx_fq_serve(ctx);
	worker_flush(ctx);
}

static void fq_release(void *ctx, uint8_t *buf)
{
	pool_put(ctx, buf);
}

/* The fair queue holds most of the pool: what is left is the send batch,
 * a spare and the receive path's client-to-client copies. */
static int init_fq(struct worker *w)
{
	const struct worker_shared *sh = w->shared;
	struct fq_params p = {.flows = 1024,
			      .limit = (uint32_t)(sh->pool_count - 4 * UDP_BATCH),
			      .quantum = sh->mtu ? sh->mtu : 1500,
			      .target_ns = FQ_TARGET_NS,
			      .interval_ns = FQ_INTERVAL_NS,
			      .ecn = true,
			      .key = {sh->fq_key[0], sh->fq_key[1]},
			      .release = fq_release,
			      .ctx = &w->pool};

	return sh->fair_queue ? fq_init(&w->fq, &p) : 0;
}

static int fill_rx_slots(struct worker *w)
{
	_Static_assert(WORKER_RX_BUF >= UDP_GRO_BUF_MIN, "a slot holds any GRO message");
	w->rx_area = aligned_alloc(64, (size_t)UDP_BATCH * WORKER_RX_BUF);
	if (!w->rx_area)
		return -ENOMEM;
	for (unsigned i = 0; i < UDP_BATCH; i++)
		w->rx_bufs[i] = w->rx_area + (size_t)i * WORKER_RX_BUF;
	return 0;
}

static int init_loop(struct worker *w)
{
	int r;

	w->loop = loop_new_backend(w->shared->io_uring, &w->uring_refused);
	if (!w->loop)
		return -errno;
	w->udp_op =
	    (struct loop_op){.kind = LOOP_OP_POLL, .fd = w->udp_fd, .done = on_udp, .ctx = w};
	w->tun_op =
	    (struct loop_op){.kind = LOOP_OP_POLL, .fd = w->tun_fd, .done = on_tun, .ctx = w};
	r = loop_submit(w->loop, &w->udp_op);
	if (r == 0)
		r = loop_submit(w->loop, &w->tun_op);
	if (r == 0 && w->shared->stream_inboxes) {
		w->stream_op = (struct loop_op){.kind = LOOP_OP_READ,
						.fd = w->shared->stream_inboxes[w->id].wake_fd,
						.buf = &w->stream_wake,
						.len = sizeof(w->stream_wake),
						.done = on_stream,
						.ctx = w};
		r = loop_submit(w->loop, &w->stream_op);
	}
	loop_set_flush(w->loop, on_flush, w);
	return r;
}

/* The worker's view of the server's cookie secret. */
static int init_guards(struct worker *w)
{
	const struct worker_shared *sh = w->shared;
	int r = cookie_checker_init_shared(&w->cookies, sh->server_pub, sh->cookie);

	if (r == 0 && sh->stealth != STEALTH_MODE_OFF)
		r = stealth_ctx_init(&w->stealth, &sh->stealth_keys);
	return r;
}

int worker_init(struct worker *w, unsigned id, const struct worker_shared *shared, int udp_fd,
		int tun_fd)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->shared = shared;
	w->udp_fd = udp_fd;
	w->tun_fd = tun_fd;
	r = pool_init(&w->pool, shared->pool_count, shared->buf_size);
	if (r == 0)
		r = fill_rx_slots(w);
	if (r == 0)
		r = tunio_init(&w->tun, tun_fd, shared->tun_offload,
			       worker_tun_room(shared->buf_size), &w->stats.tunio);
	if (r == 0 && shared->stream_inboxes) {
		w->stream_buf = calloc(WORKER_STREAM_BATCH, sizeof(*w->stream_buf));
		r = w->stream_buf ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = init_guards(w);
	if (r == 0)
		r = init_fq(w);
	if (r == 0)
		r = init_loop(w);
	if (r < 0)
		worker_done(w);
	return r;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	int r;

	urcu_memb_register_thread();
	r = loop_run(w->loop);
	if (r < 0)
		log_error(LOG_GROUP_IO, "worker %u: event loop failed: %s", w->id, strerror(-r));
	worker_flush(w);
	urcu_memb_unregister_thread();
	return NULL;
}

int worker_start(struct worker *w)
{
	int r = pthread_create(&w->thread, NULL, run, w);

	w->started = r == 0;
	return -r;
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	loop_stop(w->loop);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_done(struct worker *w)
{
	if (!w)
		return;
	loop_free(w->loop);
	cookie_checker_done(&w->cookies);
	stealth_ctx_done(&w->stealth);
	fq_done(&w->fq); /* its packets back to the pool first */
	pool_done(&w->pool);
	free(w->rx_area);
	free(w->stream_buf);
	tunio_done(&w->tun);
	if (w->udp_fd >= 0)
		close(w->udp_fd);
	if (w->tun_fd >= 0)
		close(w->tun_fd);
	memset(w, 0, sizeof(*w));
	w->udp_fd = w->tun_fd = -1;
}

/* The kernel refused the source of some datagrams (the host no longer
 * has the address; they went from any address): their sessions forget
 * it, until the client's next packet. */
static void forget_sources(struct worker *w)
{
	const struct udp_batch *b = &w->tx;

	urcu_memb_read_lock();
	for (unsigned i = 0; i < b->n; i++) {
		struct session *s;

		if (!(b->src_refused & (1u << i)))
			continue;
		worker_count(&w->stats.src_refused, 1);
		s = w->tx_index[i] ? session_find_index(w->shared->sessions, w->tx_index[i]) : NULL;
		if (s)
			session_forget_src(s, &b->locals[i]);
	}
	urcu_memb_read_unlock();
}

void worker_flush(struct worker *w)
{
	struct udp_batch *b = &w->tx;
	int err = 0;
	unsigned failed;
	size_t bytes = 0;

	if (b->n == 0)
		return;
	failed = udp_send_batch(w->udp_fd, b, &err);
	if (b->src_refused)
		forget_sources(w);
	for (unsigned i = 0; i < b->n; i++) {
		bytes += b->iov[i].iov_len;
		pool_put(&w->pool, b->iov[i].iov_base);
	}
	worker_count(&w->stats.tx_packets, b->n - failed);
	worker_count(&w->stats.tx_bytes, bytes);
	worker_count(&w->stats.drops[DP_DROP_UDP_SEND], failed);
	if (failed && log_is_enabled(LOG_GROUP_UDP, LOG_LEVEL_DEBUG) &&
	    w->now_ns - w->send_error_logged_ns >= LL_NS_PER_S) {
		w->send_error_logged_ns = w->now_ns; /* one line a second at most */
		log_debug(LOG_GROUP_UDP, "worker %u: %u of %u datagrams not sent: %s", w->id,
			  failed, b->n, strerror(err));
	}
	b->n = 0;
}

void worker_tun_flush(struct worker *w)
{
	worker_count(&w->stats.drops[DP_DROP_TUN_WRITE], tunio_flush(&w->tun));
}

void worker_send(struct worker *w, uint8_t *buf, size_t len, const struct udp_endpoint *to,
		 const struct udp_local *src, uint32_t index)
{
	if (stream_is(to)) { /* a WebSocket path: the front thread writes it */
		if (stream_send(w->shared->streams, stream_id_of(to), buf, len) < 0) {
			worker_drop(w, DP_DROP_STREAM);
		} else {
			worker_count(&w->stats.tx_packets, 1);
			worker_count(&w->stats.tx_bytes, len);
		}
		pool_put(&w->pool, buf);
		return;
	}
	if (w->tx.n == UDP_BATCH)
		worker_flush(w);
	w->tx_index[w->tx.n] = index;
	(void)udp_batch_add_from(&w->tx, buf, len, to, src);
}

void worker_chaff(struct worker *w, struct session *s, unsigned n)
{
	const struct stealth_buckets *b = &s->stealth_tx.buckets;
	struct udp_endpoint to;
	struct udp_local from;
	size_t len;

	/* an unvalidated path's budget (docs/protocol.md §6.3) counts chaff too */
	for (; n > 0 && b->n && session_path_budget(s, b->size[b->n - 1]); n--) {
		uint8_t *buf = pool_get(&w->pool);
		enum transport_result r;

		if (!buf) {
			worker_drop(w, DP_DROP_NO_BUFFER);
			return;
		}
		r = session_seal_cover(s, buf, w->shared->buf_size, w->now_ns, &to, &from, &len);
		if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY) {
			pool_put(&w->pool, buf);
			return;
		}
		worker_send(w, buf, len, &to, &from, s->index);
		worker_count(&w->stats.chaff, 1);
	}
}

void worker_notify(struct worker *w)
{
	uint64_t one = 1;

	(void)!write(w->shared->notify_fd, &one, sizeof(one));
}

static void add_counters(uint64_t *sum, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum[i] += __atomic_load_n(&v[i], __ATOMIC_RELAXED);
}

void worker_stats_add(const struct worker *w, struct worker_stats *sum)
{
	/* struct worker_stats is a plain array of uint64_t */
	add_counters((uint64_t *)sum, (const uint64_t *)&w->stats, sizeof(*sum) / sizeof(uint64_t));
}
