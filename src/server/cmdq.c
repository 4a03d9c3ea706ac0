/* The command channel; the model is in cmdq.h. */
#include "server/cmdq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum cmd_state {
	CMD_NEW,       /* not posted yet */
	CMD_QUEUED,    /* in the FIFO */
	CMD_TAKEN,     /* with the control thread */
	CMD_ANSWERED,  /* status and result are final */
	CMD_ABANDONED, /* the caller gave up: nobody reads the answer */
};

int cmdq_init(struct cmdq *q, size_t capacity)
{
	memset(q, 0, sizeof(*q));
	q->wake_fd = -1;
	if (capacity == 0 || capacity > 65536)
		return -EINVAL;
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->wake_fd < 0) {
		int r = -errno;
		free(q->slots);
		q->slots = NULL;
		return r;
	}
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void cmdq_done(struct cmdq *q)
{
	if (!q || !q->capacity)
		return;
	cmdq_close(q);
	pthread_mutex_destroy(&q->lock);
	close(q->wake_fd);
	free(q->slots);
	memset(q, 0, sizeof(*q));
	q->wake_fd = -1;
}

struct cmdq_cmd *cmdq_cmd_new(enum cmdq_kind kind)
{
	struct cmdq_cmd *c = calloc(1, sizeof(*c));
	pthread_condattr_t attr;

	if (!c)
		return NULL;
	/* the wait is a duration: immune to the wall clock being set */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &attr);
	pthread_condattr_destroy(&attr);
	c->kind = kind;
	c->state = CMD_NEW;
	c->refs = 1;
	return c;
}

static void cmd_free(struct cmdq_cmd *c)
{
	if (c->result) {
		if (c->result_free)
			c->result_free(c->result);
		else
			free(c->result);
	}
	pthread_cond_destroy(&c->done);
	free(c);
}

/* Under q->lock; true if that was the last reference. */
static bool unref_locked(struct cmdq_cmd *c)
{
	return --c->refs == 0;
}

void cmdq_cmd_put(struct cmdq *q, struct cmdq_cmd *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&q->lock);
	if (c->state == CMD_QUEUED || c->state == CMD_TAKEN)
		c->state = CMD_ABANDONED;
	last = unref_locked(c);
	pthread_mutex_unlock(&q->lock);
	if (last)
		cmd_free(c);
}

static void deadline_of(struct timespec *ts, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Under q->lock: appends c, the channel taking a reference. */
static int post_locked(struct cmdq *q, struct cmdq_cmd *c)
{
	uint64_t one = 1;

	if (q->closed)
		return -ESHUTDOWN;
	if (c->state != CMD_NEW)
		return -EINVAL;
	if (q->count == q->capacity) {
		q->refused++;
		return -EAGAIN;
	}
	q->slots[(q->head + q->count) % q->capacity] = c;
	q->count++;
	q->posted++;
	c->refs++;
	c->state = CMD_QUEUED;
	(void)!write(q->wake_fd, &one, sizeof(one));
	return 0;
}

int cmdq_call(struct cmdq *q, struct cmdq_cmd *c, unsigned timeout_ms)
{
	struct timespec deadline;
	int r;

	deadline_of(&deadline, timeout_ms);
	pthread_mutex_lock(&q->lock);
	r = post_locked(q, c);
	while (r == 0 && c->state != CMD_ANSWERED) {
		if (pthread_cond_timedwait(&c->done, &q->lock, &deadline) == ETIMEDOUT &&
		    c->state != CMD_ANSWERED) {
			/* the channel's reference stays until cmdq_take skips it or
			 * cmdq_reply discards the answer */
			c->state = CMD_ABANDONED;
			q->timeouts++;
			r = -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Under q->lock: the oldest queued command, or NULL. */
static struct cmdq_cmd *pop_locked(struct cmdq *q)
{
	struct cmdq_cmd *c;

	if (!q->count)
		return NULL;
	c = q->slots[q->head];
	q->slots[q->head] = NULL;
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	return c;
}

size_t cmdq_take(struct cmdq *q, struct cmdq_cmd **out, size_t max)
{
	size_t n = 0;
	uint64_t drain;

	pthread_mutex_lock(&q->lock);
	while (n < max) {
		struct cmdq_cmd *c = pop_locked(q);
		if (!c)
			break;
		if (c->state == CMD_ABANDONED) {
			/* never answered, so no result to free: cheap under the lock */
			if (unref_locked(c))
				cmd_free(c);
			continue;
		}
		c->state = CMD_TAKEN;
		out[n++] = c;
	}
	/* empty now: the next post makes the eventfd readable again */
	if (!q->count)
		(void)!read(q->wake_fd, &drain, sizeof(drain));
	pthread_mutex_unlock(&q->lock);
	return n;
}

void cmdq_reply(struct cmdq *q, struct cmdq_cmd *c)
{
	bool last;

	pthread_mutex_lock(&q->lock);
	if (c->state == CMD_TAKEN) {
		c->state = CMD_ANSWERED;
		q->answered++;
		pthread_cond_signal(&c->done);
	}
	last = unref_locked(c);
	pthread_mutex_unlock(&q->lock);
	if (last)
		cmd_free(c);
}

void cmdq_close(struct cmdq *q)
{
	struct cmdq_cmd *c;

	if (!q->capacity)
		return; /* never initialised */
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_mutex_unlock(&q->lock);
	/* no new command can arrive: answer the queued ones */
	for (;;) {
		bool empty;

		pthread_mutex_lock(&q->lock);
		empty = !q->count;
		pthread_mutex_unlock(&q->lock);
		if (empty)
			break;
		if (cmdq_take(q, &c, 1)) {
			c->status = -ESHUTDOWN;
			cmdq_reply(q, c);
		}
	}
}
