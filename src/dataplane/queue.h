/* A bounded multi-producer, single-consumer queue of fixed-size items,
 * copied in and out: the data-plane workers hand handshake messages to the
 * control thread through it. Nothing is allocated after queue_init; a full
 * queue refuses (the producer drops and counts), it never grows or blocks
 * for long. Producers hold the lock for one memcpy.
 *
 * wake_fd is an eventfd that becomes readable when the queue goes from
 * empty to non-empty: the consumer's event loop reads it, then pops until
 * the queue is empty. */
#ifndef LL_DATAPLANE_QUEUE_H
#define LL_DATAPLANE_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct queue {
	pthread_mutex_t lock;
	uint8_t *slots;
	size_t item_size, capacity;
	size_t head, count; /* count: under lock; read racily by queue_len */
	int wake_fd;
};

int queue_init(struct queue *q, size_t capacity, size_t item_size);
void queue_done(struct queue *q);

/* Copies item in. -ENOSPC when full. */
int queue_push(struct queue *q, const void *item);
/* Copies up to max items into out (an array of item_size slots); returns
 * how many. */
size_t queue_pop(struct queue *q, void *out, size_t max);
/* Items waiting; a snapshot without the lock, for load decisions. */
size_t queue_len(const struct queue *q);

#endif
