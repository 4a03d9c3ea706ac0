/* What an event loop backend provides to the core (loop.c). Private to
 * src/io: one file per backend (loop_epoll.c, loop_uring.c). */
#ifndef LL_IO_LOOP_IMPL_H
#define LL_IO_LOOP_IMPL_H

#include "io/loop.h"

/* One finished operation: the op and its result (see loop.h). */
struct loop_completion {
	struct loop_op *op;
	int res;
};

struct loop_backend {
	const char *name;
	/* NULL on failure, errno set */
	void *(*create)(void);
	void (*destroy)(void *be);
	int (*add)(void *be, struct loop_op *op);
	int (*del)(void *be, struct loop_op *op);
	int (*mod)(void *be, struct loop_op *op);
	/* Waits at most timeout_ms (-1 = no limit) and fills up to max
	 * completions; returns their number or a negative errno (-EINTR is
	 * not an error: 0 is returned). */
	int (*wait)(void *be, int timeout_ms, struct loop_completion *ret, int max);
};

extern const struct loop_backend loop_epoll_backend;
extern const struct loop_backend loop_uring_backend;

#endif
