/* A fair queue for one data-plane worker, fq_codel's algorithm (RFC 8290):
 * packets waiting to be sealed are put in one of a fixed number of flow
 * queues by a keyed hash of their inner 5-tuple, and served by deficit
 * round robin, flows that just became active first (the "new flows"
 * list: a ping or a DNS query is not stuck behind a bulk TCP flow's
 * backlog). Each flow runs CoDel at its head: once its packets have
 * waited more than target for a whole interval, one is dropped (or,
 * when it is ECN-capable, marked CE) and the next drop comes sooner,
 * interval / sqrt(count), until the wait falls under target again. A
 * total packet and byte limit drops from the head of the flow with the
 * largest backlog ("fattest").
 *
 * Pure (DESIGN §1): the time is passed in, and nothing is allocated
 * after fq_init: packet descriptors and flows are arrays sized by the
 * parameters. The packets are the caller's buffers (a worker's pool);
 * a packet the queue drops is handed back through the release callback,
 * which returns it to the pool. Not thread safe: one per worker.
 *
 * The hash reads the inner IP header (untrusted bytes from the TUN
 * device or a peer): any bytes are accepted (a packet it cannot parse
 * is hashed by what it has), and ECN marking changes only a well-formed
 * header whose checksum it keeps valid. tests/fuzz/fuzz_fq.c. */
#ifndef LL_DATAPLANE_FQ_H
#define LL_DATAPLANE_FQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fq_codel's defaults. */
#define FQ_TARGET_NS   5000000ull   /* 5 ms */
#define FQ_INTERVAL_NS 100000000ull /* 100 ms */

struct fq_params {
	uint32_t flows;	     /* number of flow queues (fq_codel: 1024) */
	uint32_t limit;	     /* packets over all flows */
	uint32_t byte_limit; /* bytes over all flows (0: limit × 65535) */
	uint32_t quantum;    /* bytes a flow may send per round (an MTU) */
	uint64_t target_ns, interval_ns;
	bool ecn;	 /* mark ECN-capable packets rather than dropping them */
	uint64_t key[2]; /* the hash key: random bytes, so flows cannot be made to collide */
	/* Takes back a packet the queue dropped (the caller's buffer). */
	void (*release)(void *ctx, uint8_t *buf);
	void *ctx;
};

/* Why the queue let go of a packet without handing it out. */
enum fq_drop {
	FQ_DROP_OVERLIMIT, /* the packet or byte limit: from the fattest flow */
	FQ_DROP_CODEL,	   /* waited too long (CoDel), not ECN-capable */
	FQ_DROP_COUNT,
};

struct fq_stats {
	uint64_t enqueued, dequeued;
	uint64_t drops[FQ_DROP_COUNT];
	uint64_t ecn_marked; /* CE set instead of a CoDel drop */
	uint64_t new_flows;  /* times a flow became active (a sparse flow served first) */
};

struct fq_pkt {
	uint8_t *buf;
	uint64_t time_ns; /* enqueued at */
	uint32_t next;	  /* the flow's next packet, or FQ_NONE */
	uint16_t off, len;
};

struct fq_flow {
	uint32_t head, tail; /* packets, FQ_NONE when empty */
	uint32_t next;	     /* in the new or old list */
	uint32_t packets, bytes;
	int32_t deficit;
	uint8_t list; /* FQ_LIST_* */
	/* CoDel */
	bool dropping;
	uint32_t count, lastcount;
	uint64_t first_above_ns, drop_next_ns;
};

struct fq_list {
	uint32_t head, tail;
};

struct fq {
	struct fq_params p;
	struct fq_pkt *pkts;
	struct fq_flow *flows;
	uint32_t free_pkt; /* free descriptors, linked by next */
	struct fq_list new_flows, old_flows;
	uint32_t packets; /* backlog over all flows */
	uint64_t bytes;
	struct fq_stats stats;
};

#define FQ_NONE UINT32_MAX

/* -EINVAL for a zero flows, limit or quantum, or a target not below the
 * interval; -ENOMEM. */
int fq_init(struct fq *q, const struct fq_params *p);
/* Releases every packet still queued (through release) and frees the
 * arrays. Accepts a zeroed struct. */
void fq_done(struct fq *q);

/* The flow queue of the IP packet at pkt (len bytes). */
uint32_t fq_flow_of(const struct fq *q, const uint8_t *pkt, size_t len);

/* Queues the packet at buf + off (len bytes, an inner IP packet) at
 * now_ns; the queue owns buf until it hands it out or releases it. When
 * the queue is full, packets from the fattest flow are released first
 * (possibly this one's). */
void fq_enqueue(struct fq *q, uint8_t *buf, uint16_t off, uint16_t len, uint64_t now_ns);

/* The next packet to send at now_ns, false when the queue is empty.
 * Packets CoDel drops on the way are released. */
bool fq_dequeue(struct fq *q, uint64_t now_ns, uint8_t **buf, uint16_t *off, uint16_t *len);

static inline uint32_t fq_backlog(const struct fq *q)
{
	return q->packets;
}

const char *fq_drop_name(enum fq_drop d);

#endif
