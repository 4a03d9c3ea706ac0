/* The webhook outbox: events written down before they are sent, so a
 * restart (or a receiver that is down for hours) loses none.
 *
 * An ops table with the operations of the store's outbox (src/storage,
 * store.h: enqueue / peek / ack / failed / count, times in unix seconds
 * passed in). Two implementations:
 *
 * - the store (webhook_store.h): the server's, in the database's outbox
 *   table, so a restart loses no event;
 * - memory (webhook_outbox_memory): for tests; a restart loses all.
 *
 * Both keep one contract (tests/unit/test_webhook.c runs it on each).
 * One thread at a time: the webhook thread owns it after start. No
 * logging; errors are negative errnos. */
#ifndef LL_API_WEBHOOK_OUTBOX_H
#define LL_API_WEBHOOK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_OUTBOX_TYPE_MAX 32
#define WEBHOOK_OUTBOX_BODY_MAX 65536

struct webhook_outbox_event {
	int64_t id; /* ascending in enqueue order */
	char type[WEBHOOK_OUTBOX_TYPE_MAX + 1];
	char *body; /* owned, NUL-terminated: webhook_outbox_events_free */
	size_t body_len;
	int64_t created_at, next_try, attempts;
};
void webhook_outbox_events_free(struct webhook_outbox_event *v, size_t n);

struct webhook_outbox;

struct webhook_outbox_ops {
	/* Queues an event due at now; -ENOSPC when max_events are queued. */
	int (*enqueue)(struct webhook_outbox *o, const char *type, const char *body, size_t len,
		       int64_t now, int64_t max_events, int64_t *ret_id);
	/* Up to max events due at now, oldest first (bodies allocated). */
	int (*peek)(struct webhook_outbox *o, int64_t now, size_t max,
		    struct webhook_outbox_event *ret, size_t *n);
	/* Delivered (or given up): removes it. -ENOENT if unknown. */
	int (*ack)(struct webhook_outbox *o, int64_t id);
	/* Not delivered: attempts + 1, due again at next_try. */
	int (*failed)(struct webhook_outbox *o, int64_t id, int64_t next_try);
	int (*count)(struct webhook_outbox *o, int64_t *ret);
	/* Makes what was written durable (the file's fsync; a store commits
	 * each call: nothing to do). */
	int (*sync)(struct webhook_outbox *o);
	void (*close)(struct webhook_outbox *o);
};

struct webhook_outbox {
	const struct webhook_outbox_ops *ops;
};

static inline int webhook_outbox_enqueue(struct webhook_outbox *o, const char *type,
					 const char *body, size_t len, int64_t now,
					 int64_t max_events, int64_t *ret_id)
{
	return o->ops->enqueue(o, type, body, len, now, max_events, ret_id);
}
static inline int webhook_outbox_peek(struct webhook_outbox *o, int64_t now, size_t max,
				      struct webhook_outbox_event *ret, size_t *n)
{
	return o->ops->peek(o, now, max, ret, n);
}
static inline int webhook_outbox_ack(struct webhook_outbox *o, int64_t id)
{
	return o->ops->ack(o, id);
}
static inline int webhook_outbox_failed(struct webhook_outbox *o, int64_t id, int64_t next_try)
{
	return o->ops->failed(o, id, next_try);
}
static inline int webhook_outbox_count(struct webhook_outbox *o, int64_t *ret)
{
	return o->ops->count(o, ret);
}
static inline int webhook_outbox_sync(struct webhook_outbox *o)
{
	return o->ops->sync(o);
}
static inline void webhook_outbox_close(struct webhook_outbox *o)
{
	if (o)
		o->ops->close(o);
}

/* An empty outbox in memory; NULL on ENOMEM. */
struct webhook_outbox *webhook_outbox_memory(void);

/* What every implementation accepts: a type of 1..WEBHOOK_OUTBOX_TYPE_MAX
 * characters of [a-z0-9._], a body of at most WEBHOOK_OUTBOX_BODY_MAX
 * bytes without NUL. */
bool webhook_outbox_valid(const char *type, const char *body, size_t len);

#endif
