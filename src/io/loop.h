/* The event loop: one per thread (each data-plane worker, the control
 * thread, the client).
 *
 * Completion-shaped, so that an io_uring backend is native and epoll
 * emulates it: the caller submits an operation (struct loop_op) and its
 * done callback later receives the operation's result, never a readiness
 * mask to act on.
 *
 *   LOOP_OP_POLL  multishot "fd has input": completes with POLLIN-style
 *                 events (> 0) each time the fd becomes readable, until
 *                 cancelled. The callback drains the fd (e.g. one
 *                 recvmmsg batch after another) itself: batching decides
 *                 the syscall, not the loop.
 *                 `events` may ask for POLLOUT too (0 means POLLIN):
 *                 the result then carries POLLOUT when the fd can take
 *                 more; loop_modify changes the interest in place.
 *   LOOP_OP_READ  multishot read of up to len bytes into buf (eventfd,
 *                 signalfd, timerfd): completes with the byte count or a
 *                 negative errno, then stays armed.
 *
 * Each turn: wait (at most until the next tick), run completions, run the
 * tick callback when its period has passed, then the flush callback
 * (before sleeping again): the place to send what the completions queued,
 * once per turn (Redis beforeSleep, Knot udp_queue).
 *
 * The backend lives in its own file (loop_epoll.c, loop_uring.c) behind
 * struct loop_backend; the core never calls epoll or io_uring. Both are
 * level-triggered: an fd with input left behind completes again next turn. Threads: a loop is used
 * by the thread that runs it; only loop_stop may be called from another thread. */
#ifndef LL_IO_LOOP_H
#define LL_IO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_op;

/* loop_op.events asking for neither input nor output (errors and hangups
 * are still reported). */
#define LOOP_POLL_NONE 0x10000u

typedef void (*loop_done_fn)(struct loop *l, struct loop_op *op, int res);
typedef void (*loop_hook_fn)(struct loop *l, void *ctx);

enum loop_op_kind {
	LOOP_OP_POLL,
	LOOP_OP_READ,
};

/* Owned by the caller, who keeps it alive while it is submitted. */
struct loop_op {
	enum loop_op_kind kind;
	int fd;
	void *buf; /* LOOP_OP_READ */
	size_t len;
	loop_done_fn done;
	void *ctx;
	unsigned events;  /* LOOP_OP_POLL: POLLIN | POLLOUT; 0 = POLLIN; LOOP_POLL_NONE */
	int armed;	  /* set by the loop */
	unsigned be_slot; /* the backend's name for it (io_uring) */
};

/* NULL on failure (errno set). epoll. */
struct loop *loop_new(void);
/* io_uring if `uring` and the kernel lets this process have a ring, else
 * epoll; *refused (may be NULL) gets the errno io_uring was refused with
 * (EPERM: io_uring_disabled or a container's seccomp; ENOSYS: no io_uring)
 * or 0. The caller logs the choice (a library does not log). */
struct loop *loop_new_backend(bool uring, int *refused);
void loop_free(struct loop *l);
/* Name of the backend in use ("epoll", "io_uring"). */
const char *loop_backend_name(const struct loop *l);

int loop_submit(struct loop *l, struct loop_op *op);
/* A submitted POLL op's op->events changed: apply it. */
int loop_modify(struct loop *l, struct loop_op *op);
/* Stops an operation; no completion follows. Accepts an op not armed. */
int loop_cancel(struct loop *l, struct loop_op *op);

/* tick runs every period_ms (0 = never), flush once per turn. */
void loop_set_tick(struct loop *l, unsigned period_ms, loop_hook_fn tick, void *ctx);
void loop_set_flush(struct loop *l, loop_hook_fn flush, void *ctx);

/* Runs until loop_stop; returns 0 or a negative errno from the backend. */
int loop_run(struct loop *l);
/* Thread safe and async-signal safe. */
void loop_stop(struct loop *l);

/* Monotonic clock in nanoseconds. */
uint64_t loop_now_ns(void);
/* Wall clock (CLOCK_REALTIME) in nanoseconds since the epoch. */
uint64_t loop_unix_ns(void);

#endif
