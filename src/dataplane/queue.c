/* Bounded MPSC queue; see queue.h. */
#include "dataplane/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int queue_init(struct queue *q, size_t capacity, size_t item_size)
{
	memset(q, 0, sizeof(*q));
	q->wake_fd = -1;
	if (capacity == 0 || item_size == 0 || capacity > SIZE_MAX / item_size)
		return -EINVAL;
	q->slots = calloc(capacity, item_size);
	if (!q->slots)
		return -ENOMEM;
	q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->wake_fd < 0) {
		int r = -errno;
		queue_done(q);
		return r;
	}
	q->capacity = capacity;
	q->item_size = item_size;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void queue_done(struct queue *q)
{
	if (!q)
		return;
	if (q->capacity)
		pthread_mutex_destroy(&q->lock);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	free(q->slots);
	memset(q, 0, sizeof(*q));
	q->wake_fd = -1;
}

static uint8_t *slot(const struct queue *q, size_t i)
{
	return q->slots + ((q->head + i) % q->capacity) * q->item_size;
}

int queue_push(struct queue *q, const void *item)
{
	uint64_t one = 1;
	size_t was;

	pthread_mutex_lock(&q->lock);
	was = q->count;
	if (was == q->capacity) {
		pthread_mutex_unlock(&q->lock);
		return -ENOSPC;
	}
	memcpy(slot(q, was), item, q->item_size);
	__atomic_store_n(&q->count, was + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
	if (was == 0)
		(void)!write(q->wake_fd, &one, sizeof(one));
	return 0;
}

size_t queue_pop(struct queue *q, void *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->count < max ? q->count : max;
	for (size_t i = 0; i < n; i++)
		memcpy((uint8_t *)out + i * q->item_size, slot(q, i), q->item_size);
	q->head = (q->head + n) % q->capacity;
	__atomic_store_n(&q->count, q->count - n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t queue_len(const struct queue *q)
{
	return __atomic_load_n(&q->count, __ATOMIC_RELAXED);
}
