/* The io_uring backend of the event loop (liburing).
 *
 * Level-triggered like the epoll backend, because the callbacks rely on it:
 * one that leaves input behind (its batch was full) must be called again
 * next turn. A multishot poll reports wake-ups, not readiness, so a fd
 * left readable would stall. Hence every operation is one-shot and armed
 * again after its callback ran: a poll armed on a fd that is still
 * readable completes at once. The re-arming SQEs go to the kernel in the
 * same io_uring_enter that waits, so this costs no system call.
 *
 *   LOOP_OP_POLL  IORING_OP_POLL_ADD, re-armed after each completion;
 *   LOOP_OP_READ  IORING_OP_READ into op->buf, re-armed after each.
 *
 * Operations are named in the kernel by a slot of this backend (index and
 * generation in user_data), never by the caller's loop_op: a cancelled op
 * may be freed by its owner while its last CQE is still on the way, and
 * that CQE must find a slot, not freed memory.
 *
 * The ring: SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them (the
 * ring's work runs only when its thread waits), created disabled so that
 * (a) the thread that runs the loop, not the one that made it (workers
 * are made by the main thread), becomes its single issuer when it enables
 * the ring at its first wait, and (b) the operations it may carry are
 * restricted first (IORING_REGISTER_RESTRICTIONS): the seccomp filter does
 * not see what a ring does, so a ring that could open files or make
 * sockets would be a way around it. This one can poll, read, and cancel. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/loop_impl.h"

#define RING_ENTRIES 256
#define NO_SLOT	     UINT32_MAX
/* user_data of a cancel request (its own CQE is of no interest); liburing
 * uses UINT64_MAX (LIBURING_UDATA_TIMEOUT) for its internal timeouts */
#define CANCEL_DATA (UINT64_MAX - 1)

struct uring_slot {
	struct loop_op *op;
	uint32_t gen;	    /* names this use of the slot in user_data */
	uint32_t next_free; /* free list */
	bool live;	    /* the caller wants its completions */
	bool inflight;	    /* an SQE for it is in the kernel (or the SQ) */
	bool queued;	    /* in the re-arm list */
};

struct uring_backend {
	struct io_uring ring;
	bool enabled;
	struct uring_slot *slots;
	uint32_t n_slots, free_head;
	uint32_t *rearm; /* slots whose completion was delivered: arm again */
	uint32_t n_rearm;
};

/* The operations a loop ring may carry (see the top of the file). */
static const unsigned char allowed_ops[] = {
    IORING_OP_POLL_ADD,
    IORING_OP_POLL_REMOVE,
    IORING_OP_READ,
    IORING_OP_ASYNC_CANCEL,
};

static int restrict_ring(struct io_uring *ring)
{
	struct io_uring_restriction res[sizeof(allowed_ops)];

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(allowed_ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = allowed_ops[i];
	}
	/* the raw call: Debian's liburing 2.3 declares, but does not export,
	 * io_uring_register_restrictions and io_uring_enable_rings */
	return io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
				 sizeof(allowed_ops));
}

/* The best flags this kernel takes; older kernels refuse SINGLE_ISSUER
 * (6.0) and DEFER_TASKRUN (6.1) with EINVAL. */
static int init_ring(struct io_uring *ring)
{
	static const unsigned flags[] = {
	    IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
		IORING_SETUP_DEFER_TASKRUN,
	    IORING_SETUP_R_DISABLED,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]) && r == -EINVAL; i++)
		r = io_uring_queue_init(RING_ENTRIES, ring, flags[i]);
	return r;
}

static void *uring_create(void)
{
	struct uring_backend *be = calloc(1, sizeof(*be));
	int r;

	if (!be)
		return NULL;
	be->free_head = NO_SLOT;
	r = init_ring(&be->ring);
	if (r < 0) {
		free(be);
		errno = -r;
		return NULL;
	}
	r = restrict_ring(&be->ring);
	if (r < 0) {
		io_uring_queue_exit(&be->ring);
		free(be);
		errno = -r;
		return NULL;
	}
	return be;
}

static void uring_destroy(void *p)
{
	struct uring_backend *be = p;

	if (!be)
		return;
	io_uring_queue_exit(&be->ring);
	free(be->slots);
	free(be->rearm);
	free(be);
}

static int grow(struct uring_backend *be)
{
	uint32_t n = be->n_slots ? be->n_slots * 2 : 16;
	struct uring_slot *s = realloc(be->slots, n * sizeof(*s));
	uint32_t *q;

	if (!s)
		return -ENOMEM;
	be->slots = s;
	q = realloc(be->rearm, n * sizeof(*q));
	if (!q)
		return -ENOMEM;
	be->rearm = q;
	for (uint32_t i = n; i-- > be->n_slots;) {
		s[i] = (struct uring_slot){.next_free = be->free_head};
		be->free_head = i;
	}
	be->n_slots = n;
	return 0;
}

static int slot_alloc(struct uring_backend *be, uint32_t *ret)
{
	if (be->free_head == NO_SLOT && grow(be) < 0)
		return -ENOMEM;
	*ret = be->free_head;
	be->free_head = be->slots[*ret].next_free;
	return 0;
}

static void slot_free(struct uring_backend *be, uint32_t id)
{
	struct uring_slot *s = &be->slots[id];

	s->op = NULL;
	s->live = false;
	s->gen++;
	s->next_free = be->free_head;
	be->free_head = id;
}

/* A free SQE; when the SQ is full, what is in it goes to the kernel first
 * (a disabled ring cannot submit: its SQ is all there is). */
static struct io_uring_sqe *get_sqe(struct uring_backend *be)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&be->ring);

	if (!sqe && be->enabled && io_uring_submit(&be->ring) >= 0)
		sqe = io_uring_get_sqe(&be->ring);
	return sqe;
}

static unsigned poll_mask(const struct loop_op *op)
{
	unsigned m = 0;

	if (op->events & LOOP_POLL_NONE)
		return 0;
	if (op->events == 0 || (op->events & POLLIN))
		m |= POLLIN;
	if (op->events & POLLOUT)
		m |= POLLOUT;
	return m;
}

static int arm(struct uring_backend *be, uint32_t id)
{
	struct uring_slot *s = &be->slots[id];
	struct io_uring_sqe *sqe = get_sqe(be);

	if (!sqe)
		return -EBUSY;
	if (s->op->kind == LOOP_OP_POLL)
		io_uring_prep_poll_add(sqe, s->op->fd, poll_mask(s->op));
	else /* offset -1: the file's position, as read(2) */
		io_uring_prep_read(sqe, s->op->fd, s->op->buf, (unsigned)s->op->len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, (uint64_t)s->gen << 32 | id);
	s->inflight = true;
	return 0;
}

static int uring_add(void *p, struct loop_op *op)
{
	struct uring_backend *be = p;
	uint32_t id;
	int r;

	if (op->kind != LOOP_OP_POLL && op->kind != LOOP_OP_READ)
		return -EINVAL;
	r = slot_alloc(be, &id);
	if (r < 0)
		return r;
	be->slots[id].op = op;
	be->slots[id].live = true;
	op->be_slot = id;
	r = arm(be, id);
	if (r < 0)
		slot_free(be, id);
	return r;
}

static int uring_del(void *p, struct loop_op *op)
{
	struct uring_backend *be = p;
	uint32_t id = op->be_slot;
	struct uring_slot *s;
	struct io_uring_sqe *sqe;

	if (id >= be->n_slots || be->slots[id].op != op || !be->slots[id].live)
		return -ENOENT;
	s = &be->slots[id];
	s->live = false;
	if (!s->inflight) {
		if (!s->queued)
			slot_free(be, id);
		return 0;
	}
	/* freed when its last CQE (the cancelled one) comes back */
	sqe = get_sqe(be);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)s->gen << 32 | id, 0);
	io_uring_sqe_set_data64(sqe, CANCEL_DATA);
	return 0;
}

/* A new interest (POLLOUT on or off): the old poll is cancelled and a
 * new one armed under a new slot. */
static int uring_mod(void *p, struct loop_op *op)
{
	int r = uring_del(p, op);

	return r < 0 ? r : uring_add(p, op);
}

/* The completions delivered last turn have run their callbacks: arm them
 * again (or let go of those cancelled meanwhile). */
static int rearm_all(struct uring_backend *be)
{
	int r = 0;

	for (uint32_t i = 0; i < be->n_rearm; i++) {
		uint32_t id = be->rearm[i];
		struct uring_slot *s = &be->slots[id];

		s->queued = false;
		if (s->live && !s->inflight && r == 0)
			r = arm(be, id);
		else if (!s->live && !s->inflight)
			slot_free(be, id);
	}
	be->n_rearm = 0;
	return r;
}

/* One CQE; true if it is a completion for the caller. */
static bool reap(struct uring_backend *be, const struct io_uring_cqe *cqe,
		 struct loop_completion *ret)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	uint32_t id = (uint32_t)data;
	struct uring_slot *s;

	if (data == CANCEL_DATA || data == LIBURING_UDATA_TIMEOUT || id >= be->n_slots)
		return false;
	s = &be->slots[id];
	if (s->gen != (uint32_t)(data >> 32))
		return false;
	s->inflight = false;
	if (!s->live) {
		if (!s->queued)
			slot_free(be, id);
		return false;
	}
	ret->op = s->op;
	ret->res = cqe->res;
	if (s->op->kind == LOOP_OP_POLL && cqe->res > 0) /* as epoll reports */
		ret->res &= POLLIN | POLLOUT | POLLERR | POLLHUP;
	s->queued = true;
	be->rearm[be->n_rearm++] = id;
	return true;
}

static int enter(struct uring_backend *be, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
				       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};

	if (timeout_ms == 0)
		return io_uring_submit_and_get_events(&be->ring);
	return io_uring_submit_and_wait_timeout(&be->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts,
						NULL);
}

static int uring_wait(void *p, int timeout_ms, struct loop_completion *ret, int max)
{
	struct uring_backend *be = p;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int r, done = 0;

	if (!be->enabled) { /* this thread becomes the ring's single issuer */
		r = io_uring_register((unsigned)be->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
				      NULL, 0);
		if (r < 0)
			return r;
		be->enabled = true;
	}
	r = rearm_all(be);
	if (r < 0)
		return r;
	r = enter(be, timeout_ms);
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
		return r;
	io_uring_for_each_cqe(&be->ring, head, cqe)
	{
		if (done == max)
			break;
		seen++;
		if (reap(be, cqe, &ret[done]))
			done++;
	}
	io_uring_cq_advance(&be->ring, seen);
	return done;
}

const struct loop_backend loop_uring_backend = {
    .name = "io_uring",
    .create = uring_create,
    .destroy = uring_destroy,
    .add = uring_add,
    .del = uring_del,
    .mod = uring_mod,
    .wait = uring_wait,
};
