/* Packet buffer pool; see pool.h. */
#include "dataplane/pool.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN 64

int pool_init(struct pool *p, size_t count, size_t size)
{
	memset(p, 0, sizeof(*p));
	if (count == 0 || size == 0 || size > SIZE_MAX / 2)
		return -EINVAL;
	p->size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (count > SIZE_MAX / p->size)
		return -EINVAL;
	p->map_len = count * p->size;
	p->mem = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -ENOMEM;
	}
	p->stack = calloc(count, sizeof(*p->stack));
	if (!p->stack) {
		pool_done(p);
		return -ENOMEM;
	}
	p->count = count;
	for (size_t i = 0; i < count; i++)
		p->stack[i] = p->mem + (count - 1 - i) * p->size;
	p->n_free = count;
	return 0;
}

void pool_done(struct pool *p)
{
	if (!p)
		return;
	if (p->mem)
		munmap(p->mem, p->map_len);
	free(p->stack);
	memset(p, 0, sizeof(*p));
}

uint8_t *pool_get(struct pool *p)
{
	return p->n_free ? p->stack[--p->n_free] : NULL;
}

/* A foreign or doubly returned buffer is a bug in the worker, never an
 * input from the network: assert. */
void pool_put(struct pool *p, uint8_t *buf)
{
	assert(buf >= p->mem && buf < p->mem + p->map_len);
	assert((size_t)(buf - p->mem) % p->size == 0);
	assert(p->n_free < p->count);
	p->stack[p->n_free++] = buf;
}

size_t pool_available(const struct pool *p)
{
	return p->n_free;
}
