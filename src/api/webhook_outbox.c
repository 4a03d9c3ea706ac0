/* The webhook outbox in memory; see webhook_outbox.h. */
#include "api/webhook_outbox.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	struct webhook_outbox base;
	struct webhook_outbox_event *v; /* ascending ids */
	size_t n, cap;
	int64_t next_id;
};

void webhook_outbox_events_free(struct webhook_outbox_event *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].body);
		v[i].body = NULL;
	}
}

bool webhook_outbox_valid(const char *type, const char *body, size_t len)
{
	size_t tl = strlen(type);

	return tl >= 1 && tl <= WEBHOOK_OUTBOX_TYPE_MAX &&
	       strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789._") == tl &&
	       len <= WEBHOOK_OUTBOX_BODY_MAX && !memchr(body, 0, len);
}

static long find(const struct mem *m, int64_t id)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->v[lo].id == id ? (long)lo : -1;
}

/* Adds an event with a given id (greater than every id held). */
static int mem_add(struct mem *m, int64_t id, const char *type, const char *body, size_t len,
		   int64_t created, int64_t next_try, int64_t attempts)
{
	struct webhook_outbox_event *e;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		void *v = realloc(m->v, cap * sizeof(*m->v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	e->body = malloc(len + 1);
	if (!e->body)
		return -ENOMEM;
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->body_len = len;
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->id = id;
	e->created_at = created;
	e->next_try = next_try;
	e->attempts = attempts;
	m->n++;
	if (id >= m->next_id)
		m->next_id = id + 1;
	return 0;
}

static void mem_remove(struct mem *m, size_t i)
{
	free(m->v[i].body);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

/* ---- operations ---- */

static int op_enqueue(struct webhook_outbox *o, const char *type, const char *body, size_t len,
		      int64_t now, int64_t max_events, int64_t *ret_id)
{
	struct mem *m = (struct mem *)o;
	int r;

	if (!webhook_outbox_valid(type, body, len))
		return -EINVAL;
	if (max_events > 0 && (int64_t)m->n >= max_events)
		return -ENOSPC;
	r = mem_add(m, m->next_id, type, body, len, now, now, 0);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = m->v[m->n - 1].id;
	return r;
}

static int op_peek(struct webhook_outbox *o, int64_t now, size_t max,
		   struct webhook_outbox_event *ret, size_t *n)
{
	struct mem *m = (struct mem *)o;

	*n = 0;
	for (size_t i = 0; i < m->n && *n < max; i++) {
		const struct webhook_outbox_event *e = &m->v[i];
		struct webhook_outbox_event *d = &ret[*n];

		if (e->next_try > now)
			continue;
		*d = *e;
		d->body = malloc(e->body_len + 1);
		if (!d->body) {
			webhook_outbox_events_free(ret, *n);
			*n = 0;
			return -ENOMEM;
		}
		memcpy(d->body, e->body, e->body_len + 1);
		(*n)++;
	}
	return 0;
}

static int op_ack(struct webhook_outbox *o, int64_t id)
{
	struct mem *m = (struct mem *)o;
	long i = find(m, id);

	if (i < 0)
		return -ENOENT;
	mem_remove(m, (size_t)i);
	return 0;
}

static int op_failed(struct webhook_outbox *o, int64_t id, int64_t next_try)
{
	struct mem *m = (struct mem *)o;
	long i = find(m, id);

	if (i < 0)
		return -ENOENT;
	m->v[i].attempts++;
	m->v[i].next_try = next_try;
	return 0;
}

static int op_count(struct webhook_outbox *o, int64_t *ret)
{
	*ret = (int64_t)((struct mem *)o)->n;
	return 0;
}

static int op_sync(struct webhook_outbox *o)
{
	(void)o;
	return 0;
}

static void op_close(struct webhook_outbox *o)
{
	struct mem *m = (struct mem *)o;

	webhook_outbox_events_free(m->v, m->n);
	free(m->v);
	free(m);
}

static const struct webhook_outbox_ops mem_ops = {
    .enqueue = op_enqueue,
    .peek = op_peek,
    .ack = op_ack,
    .failed = op_failed,
    .count = op_count,
    .sync = op_sync,
    .close = op_close,
};

struct webhook_outbox *webhook_outbox_memory(void)
{
	struct mem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base.ops = &mem_ops;
	m->next_id = 1;
	return &m->base;
}
