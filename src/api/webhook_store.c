/* The webhook outbox over the store; see webhook_store.h. */
#include "api/webhook_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store.h"

struct store_outbox {
	struct webhook_outbox base;
	struct store *s;
};

static struct store *S(struct webhook_outbox *o)
{
	return ((struct store_outbox *)o)->s;
}

static int to_errno(enum store_status r)
{
	switch (r) {
	case STORE_OK:
		return 0;
	case STORE_NOT_FOUND:
		return -ENOENT;
	case STORE_FULL:
		return -ENOSPC;
	case STORE_INVALID:
		return -EINVAL;
	case STORE_BUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

static int op_enqueue(struct webhook_outbox *o, const char *type, const char *body, size_t len,
		      int64_t now, int64_t max_events, int64_t *ret_id)
{
	struct store_err err;

	if (!webhook_outbox_valid(type, body, len))
		return -EINVAL;
	return to_errno(store_outbox_enqueue(
	    S(o), type, body, len, now, max_events > 0 ? max_events : INT64_MAX, ret_id, &err));
}

static int op_peek(struct webhook_outbox *o, int64_t now, size_t max,
		   struct webhook_outbox_event *ret, size_t *n)
{
	struct store_event *ev = calloc(max ? max : 1, sizeof(*ev));
	struct store_err err;
	enum store_status r;

	*n = 0;
	if (!ev)
		return -ENOMEM;
	r = store_outbox_peek(S(o), now, max, ev, n, &err);
	for (size_t i = 0; r == STORE_OK && i < *n; i++) {
		memset(&ret[i], 0, sizeof(ret[i]));
		ret[i].id = ev[i].id;
		snprintf(ret[i].type, sizeof(ret[i].type), "%s", ev[i].type);
		ret[i].body = ev[i].body; /* moved */
		ret[i].body_len = ev[i].body_len;
		ret[i].created_at = ev[i].created_at;
		ret[i].next_try = ev[i].next_try;
		ret[i].attempts = ev[i].attempts;
	}
	free(ev);
	if (r != STORE_OK)
		*n = 0;
	return to_errno(r);
}

static int op_ack(struct webhook_outbox *o, int64_t id)
{
	struct store_err err;

	return to_errno(store_outbox_ack(S(o), id, &err));
}

static int op_failed(struct webhook_outbox *o, int64_t id, int64_t next_try)
{
	struct store_err err;

	return to_errno(store_outbox_failed(S(o), id, next_try, &err));
}

static int op_count(struct webhook_outbox *o, int64_t *ret)
{
	struct store_err err;

	return to_errno(store_outbox_count(S(o), ret, &err));
}

/* Each store call is its own committed transaction. */
static int op_sync(struct webhook_outbox *o)
{
	(void)o;
	return 0;
}

static void op_close(struct webhook_outbox *o)
{
	store_close(S(o));
	free(o);
}

static const struct webhook_outbox_ops store_ops = {
    .enqueue = op_enqueue,
    .peek = op_peek,
    .ack = op_ack,
    .failed = op_failed,
    .count = op_count,
    .sync = op_sync,
    .close = op_close,
};

struct webhook_outbox *webhook_outbox_over_store(struct store *s)
{
	struct store_outbox *o = calloc(1, sizeof(*o));

	if (!o) {
		store_close(s);
		return NULL;
	}
	o->base.ops = &store_ops;
	o->s = s;
	return &o->base;
}

int webhook_outbox_store(const char *uri, struct webhook_outbox **ret, char *err, size_t err_len)
{
	struct store *s = NULL;
	struct store_err serr;

	*ret = NULL;
	if (store_open(uri, &s, &serr) != STORE_OK) {
		snprintf(err, err_len, "%s", serr.msg);
		return to_errno(serr.code) ? to_errno(serr.code) : -EIO;
	}
	*ret = webhook_outbox_over_store(s);
	if (!*ret) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
