/* The event loop (io/loop.c) on each backend: every case runs on epoll
 * and on io_uring (loop_epoll.c, loop_uring.c), which must behave alike:
 * reads re-armed, polls level-triggered (input left behind completes
 * again without new input), output interest changed in place, hangups
 * reported, a cancelled op never completing even after its memory is
 * gone, the same op submitted again, the tick, a stop from another
 * thread; and io_uring refused (EPERM under a seccomp filter, as in a
 * container) falls back to epoll and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "io/loop.h"

static bool uring_state = true, epoll_state = false;

/* A loop of the backend the case runs on; io_uring must not be refused
 * here (the test machine allows it): a fallback would test epoll twice. */
static struct loop *new_loop(void **state)
{
	bool uring = *(bool *)*state;
	int refused = -1;
	struct loop *l;

	/* valgrind 3.19 does not model a ring's shared memory: the epoll
	 * cases run under it, the io_uring ones under ASan */
	if (uring && RUNNING_ON_VALGRIND)
		skip();
	l = loop_new_backend(uring, &refused);

	assert_non_null(l);
	assert_int_equal(refused, 0);
	assert_string_equal(loop_backend_name(l), uring ? "io_uring" : "epoll");
	return l;
}

struct counter {
	int calls, stop_at, last_res;
	int fd;	      /* for the callbacks that act on it */
	uint64_t buf; /* READ target */
};

/* A READ completes, is re-armed, and completes again on new input. */
static void on_read(struct loop *l, struct loop_op *op, int res)
{
	struct counter *c = op->ctx;
	uint64_t one = 1;

	c->calls++;
	c->last_res = res;
	assert_int_equal(res, 8);
	assert_int_equal(c->buf, c->calls == 1 ? 5 : 1);
	if (c->calls == c->stop_at)
		loop_stop(l);
	else
		assert_int_equal(write(c->fd, &one, sizeof(one)), 8);
}

static void test_read_rearmed(void **state)
{
	struct loop *l = new_loop(state);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct counter c = {.stop_at = 3, .fd = efd};
	struct loop_op op = {.kind = LOOP_OP_READ,
			     .fd = efd,
			     .buf = &c.buf,
			     .len = sizeof(c.buf),
			     .done = on_read,
			     .ctx = &c};
	uint64_t five = 5;

	assert_true(efd >= 0);
	assert_int_equal(loop_submit(l, &op), 0);
	assert_int_equal(write(efd, &five, sizeof(five)), 8);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.calls, 3);
	loop_free(l);
	close(efd);
}

/* Reads one byte per call: the rest must come back next turn. */
static void on_poll_one_byte(struct loop *l, struct loop_op *op, int res)
{
	struct counter *c = op->ctx;
	char b;

	c->calls++;
	assert_true(res & POLLIN);
	assert_int_equal(read(op->fd, &b, 1), 1);
	if (c->calls == c->stop_at)
		loop_stop(l);
}

static void test_poll_level_triggered(void **state)
{
	struct loop *l = new_loop(state);
	int p[2];
	struct counter c = {.stop_at = 3};
	struct loop_op op = {.kind = LOOP_OP_POLL, .done = on_poll_one_byte, .ctx = &c};

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	op.fd = p[0];
	assert_int_equal(loop_submit(l, &op), 0);
	assert_int_equal(write(p[1], "abc", 3), 3); /* one write, three calls */
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.calls, 3);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* Output interest switched on and off with loop_modify; a hangup. */
struct modify_ctx {
	int step, other;
	int results[3];
};

static void on_modify(struct loop *l, struct loop_op *op, int res)
{
	struct modify_ctx *m = op->ctx;

	m->results[m->step++] = res;
	if (m->step == 1) { /* POLLOUT: now only errors and hangups */
		op->events = LOOP_POLL_NONE;
		assert_int_equal(loop_modify(l, op), 0);
		close(m->other);
	} else {
		loop_stop(l);
	}
}

static void on_tick_modify(struct loop *l, void *ctx)
{
	struct loop_op *op = ctx;

	if (op->events == 0) { /* nothing to read: turn output on */
		op->events = POLLIN | POLLOUT;
		assert_int_equal(loop_modify(l, op), 0);
	}
}

static void test_modify_and_hangup(void **state)
{
	struct loop *l = new_loop(state);
	int sv[2];
	struct modify_ctx m = {0};
	struct loop_op op = {.kind = LOOP_OP_POLL, .done = on_modify, .ctx = &m};

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	op.fd = sv[0];
	m.other = sv[1];
	assert_int_equal(loop_submit(l, &op), 0);
	loop_set_tick(l, 5, on_tick_modify, &op);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(m.step, 2);
	assert_int_equal(m.results[0] & (POLLIN | POLLOUT),
			 POLLOUT); /* writable, nothing to read */
	assert_true(m.results[1] & POLLHUP);
	assert_false(m.results[1] & POLLOUT);
	loop_free(l);
	close(sv[0]);
}

/* A cancelled op never completes, even when its fd becomes ready after
 * the cancel and its memory is gone (ASan/valgrind watch the free'd op). */
struct cancel_ctx {
	struct loop_op *victim;
	int victim_fd_w, turns, victim_calls;
};

static void on_victim(struct loop *l, struct loop_op *op, int res)
{
	struct cancel_ctx *x = op->ctx;

	(void)l;
	(void)res;
	x->victim_calls++;
}

static void on_cancel_tick(struct loop *l, void *ctx)
{
	struct cancel_ctx *x = ctx;

	if (x->turns++ == 0) {
		assert_int_equal(loop_cancel(l, x->victim), 0);
		free(x->victim);
		x->victim = NULL;
		assert_int_equal(write(x->victim_fd_w, "x", 1), 1);
	} else if (x->turns == 5) {
		loop_stop(l);
	}
}

static void test_cancel_then_ready(void **state)
{
	struct loop *l = new_loop(state);
	int p[2];
	struct cancel_ctx x = {0};

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	x.victim = calloc(1, sizeof(*x.victim));
	assert_non_null(x.victim);
	*x.victim =
	    (struct loop_op){.kind = LOOP_OP_POLL, .fd = p[0], .done = on_victim, .ctx = &x};
	x.victim_fd_w = p[1];
	assert_int_equal(loop_submit(l, x.victim), 0);
	loop_set_tick(l, 1, on_cancel_tick, &x);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(x.victim_calls, 0);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* The same op cancelled and submitted again completes once per turn
 * with input, not twice (no stale completion of its first submission). */
static void on_resubmit(struct loop *l, struct loop_op *op, int res)
{
	struct counter *c = op->ctx;
	char b[8];

	(void)res;
	c->calls++;
	assert_int_equal(read(op->fd, b, sizeof(b)), 1);
	loop_stop(l);
}

static void test_resubmit(void **state)
{
	struct loop *l = new_loop(state);
	int p[2];
	struct counter c = {0};
	struct loop_op op = {.kind = LOOP_OP_POLL, .done = on_resubmit, .ctx = &c};

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	op.fd = p[0];
	assert_int_equal(loop_submit(l, &op), 0);
	assert_int_equal(loop_cancel(l, &op), 0);
	assert_int_equal(loop_cancel(l, &op), 0); /* not armed: accepted */
	assert_int_equal(loop_submit(l, &op), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.calls, 1);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* The tick runs at its period, the flush once per turn after it. */
struct tick_ctx {
	int ticks, flushes;
	uint64_t start;
};

static void on_tick(struct loop *l, void *ctx)
{
	struct tick_ctx *t = ctx;

	if (++t->ticks == 3)
		loop_stop(l);
}

static void on_flush(struct loop *l, void *ctx)
{
	(void)l;
	((struct tick_ctx *)ctx)->flushes++;
}

static void test_tick_and_flush(void **state)
{
	struct loop *l = new_loop(state);
	struct tick_ctx t = {.start = loop_now_ns()};

	loop_set_tick(l, 20, on_tick, &t);
	loop_set_flush(l, on_flush, &t);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(t.ticks, 3);
	assert_true(t.flushes >= 3);
	assert_true(loop_now_ns() - t.start >= 60u * 1000000u); /* never early */
	loop_free(l);
}

/* loop_stop from another thread wakes a loop with nothing to do. */
static void *stopper(void *arg)
{
	struct timespec ts = {0, 20 * 1000000};

	nanosleep(&ts, NULL);
	loop_stop(arg);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	struct loop *l = new_loop(state);
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, stopper, l), 0);
	assert_int_equal(loop_run(l), 0);
	pthread_join(t, NULL);
	loop_free(l);
}

/* As in a container whose seccomp profile refuses io_uring: the loop is
 * epoll and says EPERM. In a child: the filter cannot be unloaded. */
static void test_uring_refused(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		int refused = -1;
		struct loop *l;

		if (!ctx ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) ||
		    seccomp_load(ctx))
			_exit(2);
		l = loop_new_backend(true, &refused);
		if (!l || strcmp(loop_backend_name(l), "epoll") != 0)
			_exit(3);
		_exit(refused == EPERM ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Asked for epoll: epoll, nothing refused. */
static void test_epoll_by_default(void **state)
{
	struct loop *l = loop_new();

	(void)state;
	assert_non_null(l);
	assert_string_equal(loop_backend_name(l), "epoll");
	loop_free(l);
}

#define BOTH(fn)                                                                                   \
	cmocka_unit_test_prestate(fn, &epoll_state), cmocka_unit_test_prestate(fn, &uring_state)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_read_rearmed),
	    BOTH(test_poll_level_triggered),
	    BOTH(test_modify_and_hangup),
	    BOTH(test_cancel_then_ready),
	    BOTH(test_resubmit),
	    BOTH(test_tick_and_flush),
	    BOTH(test_stop_from_thread),
	    cmocka_unit_test(test_uring_refused),
	    cmocka_unit_test(test_epoll_by_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
