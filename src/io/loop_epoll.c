/* The epoll backend of the event loop: emulates completions on readiness.
 * Level-triggered, so a callback that leaves input behind (its batch was
 * full) is called again next turn rather than stalling the fd. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io/loop_impl.h"

#define MAX_EVENTS 64

struct epoll_backend {
	int epfd;
	struct epoll_event events[MAX_EVENTS];
};

static void *epoll_create_be(void)
{
	struct epoll_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return NULL;
	be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (be->epfd < 0) {
		free(be);
		return NULL;
	}
	return be;
}

static void epoll_destroy_be(void *p)
{
	struct epoll_backend *be = p;

	if (!be)
		return;
	close(be->epfd);
	free(be);
}

/* POLLIN/POLLOUT and EPOLLIN/EPOLLOUT have the same values on Linux;
 * spelled out so the mapping does not rest on that. */
static uint32_t epoll_interest(const struct loop_op *op)
{
	uint32_t ev = 0;

	if (op->kind == LOOP_OP_POLL && (op->events & LOOP_POLL_NONE))
		return 0;
	if (op->kind != LOOP_OP_POLL || op->events == 0 || (op->events & POLLIN))
		ev |= EPOLLIN;
	if (op->kind == LOOP_OP_POLL && (op->events & POLLOUT))
		ev |= EPOLLOUT;
	return ev;
}

static int epoll_add(void *p, struct loop_op *op)
{
	struct epoll_backend *be = p;
	struct epoll_event ev = {.events = epoll_interest(op), .data.ptr = op};

	return epoll_ctl(be->epfd, EPOLL_CTL_ADD, op->fd, &ev) < 0 ? -errno : 0;
}

static int epoll_mod(void *p, struct loop_op *op)
{
	struct epoll_backend *be = p;
	struct epoll_event ev = {.events = epoll_interest(op), .data.ptr = op};

	return epoll_ctl(be->epfd, EPOLL_CTL_MOD, op->fd, &ev) < 0 ? -errno : 0;
}

static int epoll_del(void *p, struct loop_op *op)
{
	struct epoll_backend *be = p;

	return epoll_ctl(be->epfd, EPOLL_CTL_DEL, op->fd, NULL) < 0 ? -errno : 0;
}

/* Turns readiness into the op's completion; false if there is none yet
 * (a read that would block). */
static bool complete(struct loop_op *op, uint32_t events, int *ret_res)
{
	ssize_t n;

	if (op->kind == LOOP_OP_POLL) {
		*ret_res =
		    (int)((events & EPOLLIN ? POLLIN : 0) | (events & EPOLLOUT ? POLLOUT : 0) |
			  (events & EPOLLERR ? POLLERR : 0) | (events & EPOLLHUP ? POLLHUP : 0));
		return true;
	}
	n = read(op->fd, op->buf, op->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	*ret_res = n < 0 ? -errno : (int)n;
	return true;
}

static int epoll_wait_be(void *p, int timeout_ms, struct loop_completion *ret, int max)
{
	struct epoll_backend *be = p;
	int n = epoll_wait(be->epfd, be->events, max < MAX_EVENTS ? max : MAX_EVENTS, timeout_ms);
	int done = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct loop_op *op = be->events[i].data.ptr;
		if (complete(op, be->events[i].events, &ret[done].res))
			ret[done++].op = op;
	}
	return done;
}

const struct loop_backend loop_epoll_backend = {
    .name = "epoll",
    .create = epoll_create_be,
    .destroy = epoll_destroy_be,
    .add = epoll_add,
    .del = epoll_del,
    .mod = epoll_mod,
    .wait = epoll_wait_be,
};
