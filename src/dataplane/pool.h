/* A fixed pool of equal packet buffers for one data-plane worker: all
 * memory is reserved at startup, get/put are a pointer pop/push, so the
 * hot path never allocates. Not thread safe: one pool per worker, and a
 * buffer goes back to the pool it came from.
 *
 * The memory is an anonymous mapping: pages are committed when first
 * touched, and the stack hands out the most recently returned buffer
 * first, so a large configured pool costs only what is used. */
#ifndef LL_DATAPLANE_POOL_H
#define LL_DATAPLANE_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pool {
	uint8_t *mem;
	size_t map_len;
	uint8_t **stack; /* free buffers; stack[n_free - 1] is next */
	size_t count, size, n_free;
};

/* count buffers of size bytes (rounded up to 64). -EINVAL, -ENOMEM. */
int pool_init(struct pool *p, size_t count, size_t size);
/* Accepts a zeroed or half-initialised pool. */
void pool_done(struct pool *p);

/* NULL when every buffer is in use. */
uint8_t *pool_get(struct pool *p);
void pool_put(struct pool *p, uint8_t *buf);
size_t pool_available(const struct pool *p);

#endif
