/* The command channel: how another thread (the admin API's) asks the
 * server's control thread for something only it may touch (the sessions,
 * the user table, its counters).
 *
 * Why a channel and not a lock: the control thread is the single writer
 * of the session tables and owns the user table without any lock
 * (docs/dataplane.md); an API thread reading them directly would race
 * with it. So the API thread posts a command and waits for the answer,
 * which the control thread writes between two of its own events.
 *
 * The caller allocates a command (cmdq_cmd_new), fills the request, and
 * cmdq_call posts it: a bounded FIFO under a mutex (full: -EAGAIN at once,
 * the API answers 503), an eventfd that the control loop reads, then a
 * wait on a condition variable for at most timeout_ms. The control thread
 * takes commands (cmdq_take), runs them, and answers each with
 * cmdq_reply: status and result set, the caller woken.
 *
 * A caller that gave up (timeout) must not have its command freed under
 * the control thread, nor a late answer written into freed memory: a
 * command has two references, the caller's and the channel's, and
 * whichever side drops the last frees it (and its result, through
 * result_free). A command still queued when its caller gives up is
 * skipped by cmdq_take.
 *
 * Shutdown: cmdq_close answers every queued command -ESHUTDOWN, and every
 * later cmdq_call fails at once; the control thread calls it before it
 * stops the API thread, so no API thread waits on a dead loop. */
#ifndef LL_SERVER_CMDQ_H
#define LL_SERVER_CMDQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a command asks; the control thread's handlers are server/srvcmd.c. */
enum cmdq_kind {
	CMDQ_HEALTH,	   /* is the control loop turning? */
	CMDQ_STATS,	   /* server counters: struct srvcmd_stats */
	CMDQ_SESSIONS,	   /* live sessions (all, or of .name): struct srvcmd_sessions */
	CMDQ_KICK_SESSION, /* end session .id */
	CMDQ_KICK_USER,	   /* end every session of user .name */
	CMDQ_RELOAD,	   /* rebuild the handshake's user table */
	CMDQ_WEBHOOK_TEST, /* queue a webhook.test event (.name: who asked) */
	CMDQ_KIND_COUNT,
};

#define CMDQ_NAME_MAX 65 /* user names: 1..64 bytes */

struct cmdq_cmd {
	/* request, written by the caller before cmdq_call */
	enum cmdq_kind kind;
	char name[CMDQ_NAME_MAX];
	uint64_t id;
	/* answer, written by the control thread before cmdq_reply */
	int status;			/* 0, or a negative errno (-ENOENT: no such id/name) */
	uint64_t count;			/* e.g. sessions ended, users loaded */
	void *result;			/* owned by the command once answered */
	void (*result_free)(void *ptr); /* NULL: free() */
	/* private: under the channel's lock */
	int state;
	int refs;
	pthread_cond_t done;
};

struct cmdq {
	pthread_mutex_t lock;
	struct cmdq_cmd **slots;
	size_t capacity, head, count;
	bool closed;
	int wake_fd;				      /* eventfd: readable when commands wait */
	uint64_t posted, answered, timeouts, refused; /* under lock */
};

/* capacity: commands that may wait at once (the API's connection limit is
 * a sound choice). 0 or a negative errno. */
int cmdq_init(struct cmdq *q, size_t capacity);
/* After cmdq_close, once no thread can call cmdq_call any more. */
void cmdq_done(struct cmdq *q);

/* A new command of that kind, request fields zero; NULL when out of
 * memory. Release with cmdq_cmd_put. */
struct cmdq_cmd *cmdq_cmd_new(enum cmdq_kind kind);
/* Drops the caller's reference (the command's result with it, if the
 * control thread is done with it). Accepts NULL. */
void cmdq_cmd_put(struct cmdq *q, struct cmdq_cmd *c);

/* Posts c and waits up to timeout_ms for the answer. 0: answered (c->status
 * and c->result are the control thread's). -EAGAIN: the queue is full.
 * -ETIMEDOUT: no answer in time (the command stays valid; its late answer
 * is discarded). -ESHUTDOWN: the channel is closed. Any thread but the
 * control thread. A command is posted at most once. */
int cmdq_call(struct cmdq *q, struct cmdq_cmd *c, unsigned timeout_ms);

/* The control thread: up to max commands, oldest first, each to be
 * answered with cmdq_reply. Commands whose caller gave up are dropped
 * here, never returned. Drains the eventfd counter when the queue
 * empties. */
size_t cmdq_take(struct cmdq *q, struct cmdq_cmd **out, size_t max);
/* Answers c (status, count and result already set) and wakes its caller;
 * the control thread must not touch c afterwards. */
void cmdq_reply(struct cmdq *q, struct cmdq_cmd *c);

/* Answers every queued command -ESHUTDOWN and refuses later calls. */
void cmdq_close(struct cmdq *q);

#endif
