/* The webhook outbox in memory and as an append-only log; see
 * webhook_outbox.h.
 *
 * The log's records, one after another (text, so an operator can read
 * it; the bodies are JSON without newlines, and carry their length all
 * the same):
 *
 *   E <id> <created_at> <next_try> <attempts> <type> <body length>\n<body>\n
 *   F <id> <next_try>\n        one more failed attempt
 *   A <id>\n                   delivered, or given up
 *
 * Replaying applies them in order. A crash can tear only the last record
 * (appends are sequential); a torn tail ends the replay, and the
 * compaction at open drops it. */
#include "api/webhook_outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mem {
	struct webhook_outbox base;
	struct webhook_outbox_event *v; /* ascending ids */
	size_t n, cap;
	int64_t next_id;
	/* the file backend */
	int fd;	     /* -1: memory only */
	size_t dead; /* records in the log that no longer describe a live event */
	char path[PATH_MAX];
};

void webhook_outbox_events_free(struct webhook_outbox_event *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].body);
		v[i].body = NULL;
	}
}

static bool type_ok(const char *type, size_t len)
{
	return len >= 1 && len <= WEBHOOK_OUTBOX_TYPE_MAX &&
	       strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789._") == len;
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

/* ---- the log ---- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int append_event(int fd, const struct webhook_outbox_event *e)
{
	char head[160];
	int n = snprintf(head, sizeof(head),
			 "E %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %s %zu\n", e->id,
			 e->created_at, e->next_try, e->attempts, e->type, e->body_len);
	int r = write_all(fd, head, (size_t)n);

	if (r == 0)
		r = write_all(fd, e->body, e->body_len);
	return r ? r : write_all(fd, "\n", 1);
}

/* "A <id>\n" (next_try < 0) or "F <id> <next_try>\n". */
static int append_line(struct mem *m, int64_t id, int64_t next_try)
{
	char line[64];
	int n = next_try < 0
		    ? snprintf(line, sizeof(line), "A %" PRId64 "\n", id)
		    : snprintf(line, sizeof(line), "F %" PRId64 " %" PRId64 "\n", id, next_try);

	return m->fd < 0 ? 0 : write_all(m->fd, line, (size_t)n);
}

/* The live events as a fresh log: a temporary file beside it, fsync,
 * rename over the old one, fsync of the directory. */
static int compact(struct mem *m)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	int fd, dfd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", m->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < m->n && r == 0; i++)
		r = append_event(fd, &m->v[i]);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, m->path) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", m->path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (m->fd >= 0)
		close(m->fd);
	m->fd = fd;
	m->dead = 0;
	return 0;
}

static int maybe_compact(struct mem *m)
{
	if (m->fd < 0 || m->dead < 64 || m->dead < m->n)
		return 0;
	return compact(m);
}

/* ---- operations ---- */

static int op_enqueue(struct webhook_outbox *o, const char *type, const char *body, size_t len,
		      int64_t now, int64_t max_events, int64_t *ret_id)
{
	struct mem *m = (struct mem *)o;
	int r;

	if (!type_ok(type, strlen(type)) || len > WEBHOOK_OUTBOX_BODY_MAX || memchr(body, 0, len))
		return -EINVAL;
	if (max_events > 0 && (int64_t)m->n >= max_events)
		return -ENOSPC;
	r = mem_add(m, m->next_id, type, body, len, now, now, 0);
	if (r < 0)
		return r;
	if (m->fd >= 0)
		r = append_event(m->fd, &m->v[m->n - 1]);
	if (r < 0) {
		/* not in the log: not queued either */
		mem_remove(m, m->n - 1);
		m->next_id--;
		return r;
	}
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
	int r;

	if (i < 0)
		return -ENOENT;
	r = append_line(m, id, -1);
	if (r < 0)
		return r;
	mem_remove(m, (size_t)i);
	m->dead += 2; /* the event's record and this one */
	return maybe_compact(m);
}

static int op_failed(struct webhook_outbox *o, int64_t id, int64_t next_try)
{
	struct mem *m = (struct mem *)o;
	long i = find(m, id);
	int r;

	if (i < 0)
		return -ENOENT;
	if (next_try < 0)
		next_try = 0;
	r = append_line(m, id, next_try);
	if (r < 0)
		return r;
	m->v[i].attempts++;
	m->v[i].next_try = next_try;
	m->dead++;
	return maybe_compact(m);
}

static int op_count(struct webhook_outbox *o, int64_t *ret)
{
	*ret = (int64_t)((struct mem *)o)->n;
	return 0;
}

static int op_sync(struct webhook_outbox *o)
{
	struct mem *m = (struct mem *)o;

	return m->fd >= 0 && fsync(m->fd) < 0 ? -errno : 0;
}

static void op_close(struct webhook_outbox *o)
{
	struct mem *m = (struct mem *)o;

	if (m->fd >= 0) {
		(void)fsync(m->fd);
		close(m->fd);
	}
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

static struct mem *mem_new(void)
{
	struct mem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base.ops = &mem_ops;
	m->next_id = 1;
	m->fd = -1;
	return m;
}

struct webhook_outbox *webhook_outbox_memory(void)
{
	struct mem *m = mem_new();

	return m ? &m->base : NULL;
}

/* ---- replay ---- */

/* Up to n decimal integers from a space-separated line; the rest of the
 * line after them in *rest. */
static bool parse_ints(const char *p, const char *end, int64_t *v, int n, const char **rest)
{
	for (int i = 0; i < n; i++) {
		int64_t x = 0;
		const char *s;

		if (p >= end || *p != ' ')
			return false;
		s = ++p;
		while (p < end && *p >= '0' && *p <= '9' && p - s < 18)
			x = x * 10 + (*p++ - '0');
		if (p == s)
			return false;
		v[i] = x;
	}
	*rest = p;
	return true;
}

/* One "E" record at p (its header line ends at nl); returns the bytes it
 * took, 0 for a torn tail, -1 for a damaged record (skip the line). */
static long replay_event(struct mem *m, const char *p, const char *nl, const char *end)
{
	int64_t v[4], len = 0;
	char type[WEBHOOK_OUTBOX_TYPE_MAX + 1];
	const char *rest, *sp, *body;
	size_t tlen;

	if (!parse_ints(p + 1, nl, v, 4, &rest) || rest >= nl || *rest != ' ')
		return -1;
	sp = memchr(rest + 1, ' ', (size_t)(nl - rest - 1));
	if (!sp)
		return -1;
	tlen = (size_t)(sp - rest - 1);
	if (tlen > WEBHOOK_OUTBOX_TYPE_MAX)
		return -1;
	memcpy(type, rest + 1, tlen);
	type[tlen] = '\0';
	if (!type_ok(type, tlen) || !parse_ints(sp, nl, &len, 1, &rest) || rest != nl ||
	    len > WEBHOOK_OUTBOX_BODY_MAX || v[0] < 1)
		return -1;
	body = nl + 1;
	if (end - body < len + 1)
		return 0; /* torn */
	if (body[len] != '\n' || memchr(body, 0, (size_t)len) || find(m, v[0]) >= 0 ||
	    (m->n && v[0] <= m->v[m->n - 1].id))
		return -1;
	if (mem_add(m, v[0], type, body, (size_t)len, v[1], v[2], v[3]) < 0)
		return -1;
	return (long)(body + len + 1 - p);
}

/* An "F" or "A" record (one line). false: damaged. */
static bool replay_line(struct mem *m, const char *p, const char *nl)
{
	int64_t v[2];
	const char *rest;
	long i;

	if (*p == 'A' && parse_ints(p + 1, nl, v, 1, &rest) && rest == nl) {
		i = find(m, v[0]);
		if (i < 0)
			return false;
		mem_remove(m, (size_t)i);
		m->dead += 2;
		return true;
	}
	if (*p == 'F' && parse_ints(p + 1, nl, v, 2, &rest) && rest == nl) {
		i = find(m, v[0]);
		if (i < 0)
			return false;
		m->v[i].attempts++;
		m->v[i].next_try = v[1];
		m->dead++;
		return true;
	}
	return false;
}

int webhook_outbox_replay(struct webhook_outbox *o, const char *buf, size_t len,
			  size_t *ret_skipped)
{
	struct mem *m = (struct mem *)o;
	const char *p = buf, *end = buf + len;
	size_t skipped = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		long took;

		if (!nl)
			break; /* torn */
		if (*p == 'E') {
			took = replay_event(m, p, nl, end);
			if (took == 0)
				break;
			if (took > 0) {
				p += took;
				continue;
			}
			skipped++;
		} else if (!replay_line(m, p, nl)) {
			skipped++;
		}
		p = nl + 1;
	}
	if (ret_skipped)
		*ret_skipped = skipped;
	return 0;
}

/* ---- the file backend ---- */

static int read_file(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int webhook_outbox_file(const char *path, struct webhook_outbox **ret, size_t *ret_skipped,
			char *err, size_t err_len)
{
	struct mem *m = mem_new();
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	*ret = NULL;
	if (!m)
		return -ENOMEM;
	if (snprintf(m->path, sizeof(m->path), "%s", path) >= (int)sizeof(m->path)) {
		op_close(&m->base);
		snprintf(err, err_len, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(-r));
		op_close(&m->base);
		return r;
	}
	r = read_file(fd, &buf, &len);
	close(fd);
	if (r == 0)
		r = webhook_outbox_replay(&m->base, buf, len, ret_skipped);
	free(buf);
	if (r == 0)
		r = compact(m);
	if (r < 0) {
		snprintf(err, err_len, "cannot read or rewrite %s: %s", path, strerror(-r));
		op_close(&m->base);
		return r;
	}
	*ret = &m->base;
	return 0;
}
