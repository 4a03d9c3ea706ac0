/* The backend-independent part of the event loop (model in loop.h): the
 * turn, the tick, the flush hook and the cross-thread stop. */
#include "io/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "io/loop_impl.h"

#define MAX_COMPLETIONS 64

struct loop {
	const struct loop_backend *backend;
	void *be;
	int stop_fd; /* eventfd: loop_stop wakes the wait */
	uint64_t stop_buf;
	struct loop_op stop_op;
	int stopping; /* atomic: set by loop_stop from any thread */
	unsigned tick_ms;
	uint64_t next_tick_ns;
	loop_hook_fn tick, flush;
	void *tick_ctx, *flush_ctx;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t loop_unix_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

static void on_stop(struct loop *l, struct loop_op *op, int res)
{
	(void)op;
	(void)res;
	__atomic_store_n(&l->stopping, 1, __ATOMIC_RELAXED);
}

/* io_uring when asked for and the kernel allows it, else epoll. */
static int pick_backend(struct loop *l, bool uring, int *refused)
{
	if (refused)
		*refused = 0;
	if (uring) {
		l->backend = &loop_uring_backend;
		l->be = l->backend->create();
		if (l->be)
			return 0;
		if (refused)
			*refused = errno;
	}
	l->backend = &loop_epoll_backend;
	l->be = l->backend->create();
	return l->be ? 0 : -errno;
}

struct loop *loop_new(void)
{
	return loop_new_backend(false, NULL);
}

struct loop *loop_new_backend(bool uring, int *refused)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (pick_backend(l, uring, refused) < 0)
		goto err_free;
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0)
		goto err_backend;
	l->stop_op = (struct loop_op){.kind = LOOP_OP_READ,
				      .fd = l->stop_fd,
				      .buf = &l->stop_buf,
				      .len = sizeof(l->stop_buf),
				      .done = on_stop};
	if (loop_submit(l, &l->stop_op) < 0)
		goto err_eventfd;
	return l;
err_eventfd:
	close(l->stop_fd);
err_backend:
	l->backend->destroy(l->be);
err_free:
	free(l);
	return NULL;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->stop_fd);
	l->backend->destroy(l->be);
	free(l);
}

const char *loop_backend_name(const struct loop *l)
{
	return l->backend->name;
}

int loop_submit(struct loop *l, struct loop_op *op)
{
	int r = l->backend->add(l->be, op);

	op->armed = r == 0;
	return r;
}

int loop_modify(struct loop *l, struct loop_op *op)
{
	if (!op->armed)
		return -EINVAL;
	return l->backend->mod(l->be, op);
}

int loop_cancel(struct loop *l, struct loop_op *op)
{
	if (!op->armed)
		return 0;
	op->armed = 0;
	return l->backend->del(l->be, op);
}

void loop_set_tick(struct loop *l, unsigned period_ms, loop_hook_fn tick, void *ctx)
{
	l->tick_ms = period_ms;
	l->tick = tick;
	l->tick_ctx = ctx;
	l->next_tick_ns = loop_now_ns() + (uint64_t)period_ms * 1000000u;
}

void loop_set_flush(struct loop *l, loop_hook_fn flush, void *ctx)
{
	l->flush = flush;
	l->flush_ctx = ctx;
}

void loop_stop(struct loop *l)
{
	uint64_t one = 1;

	__atomic_store_n(&l->stopping, 1, __ATOMIC_RELAXED);
	(void)!write(l->stop_fd, &one, sizeof(one));
}

/* Milliseconds until the next tick, rounded up; -1 without a tick. */
static int timeout_ms(const struct loop *l, uint64_t now)
{
	if (!l->tick_ms)
		return -1;
	if (now >= l->next_tick_ns)
		return 0;
	return (int)((l->next_tick_ns - now + 999999u) / 1000000u);
}

static void run_tick(struct loop *l)
{
	uint64_t now = loop_now_ns();

	if (!l->tick_ms || now < l->next_tick_ns)
		return;
	l->next_tick_ns = now + (uint64_t)l->tick_ms * 1000000u;
	l->tick(l, l->tick_ctx);
}

static bool is_stopping(struct loop *l)
{
	return __atomic_load_n(&l->stopping, __ATOMIC_RELAXED);
}

static int turn(struct loop *l)
{
	struct loop_completion c[MAX_COMPLETIONS];
	int n = l->backend->wait(l->be, timeout_ms(l, loop_now_ns()), c, MAX_COMPLETIONS);

	if (n < 0)
		return n;
	for (int i = 0; i < n && !is_stopping(l); i++)
		if (c[i].op->armed)
			c[i].op->done(l, c[i].op, c[i].res);
	run_tick(l);
	if (l->flush)
		l->flush(l, l->flush_ctx);
	return 0;
}

int loop_run(struct loop *l)
{
	int r = 0;

	while (!is_stopping(l) && r == 0)
		r = turn(l);
	return r;
}
