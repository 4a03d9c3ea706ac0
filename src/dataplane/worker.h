/* A data-plane worker (DESIGN §5): one thread running its own event loop
 * over its own SO_REUSEPORT UDP socket and its own queue of the
 * multi-queue TUN device, with its own buffer pool, batches and
 * statistics. The handshake guards are the server's, shared by all
 * workers: one cookie secret (read through the worker's cookie checker,
 * rotated by the control thread) and one per-IP handshake limiter, so a
 * source reaching several workers from several ports is limited once.
 *
 *   UDP  -> rx.c: transport packets are opened in place and go to the TUN
 *           queue (or, sealed again in place, to another client);
 *           handshake initiations pass the cookie check and the per-IP
 *           limit and are queued for the control thread.
 *   TUN  -> tx.c: packets are sealed in place for the session owning the
 *           destination address and queued in the send batch.
 *   Each loop turn ends with one sendmmsg of the send batch (flush).
 *
 * Nothing is allocated per packet. Workers read the session table under
 * RCU and never change it: a confirmed session or a client's DISCONNECT
 * is reported to the control thread through shared->notify_fd.
 * Statistics are per worker, written only by it, summed on read. */
#ifndef LL_DATAPLANE_WORKER_H
#define LL_DATAPLANE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ratelimit.h"
#include "dataplane/acct.h"
#include "dataplane/drop.h"
#include "dataplane/pool.h"
#include "dataplane/fq.h"
#include "dataplane/tunio.h"
#include "io/loop.h"
#include "io/udp.h"
#include "dataplane/router.h"
#include "obfuscation/stealth.h"
#include "protocol/cookie.h"

struct queue;
struct session_table;
struct stream_hub;
struct stream_pkt;

/* How long a worker takes over one batch, per path (the processing-time
 * histogram of /metrics): one more clock reading per batch (the vDSO,
 * under 100 ns, against up to 32 messages of a microsecond or more each)
 * and a bucket counter the worker alone writes, with a plain store like
 * every other counter here (no atomic read-modify-write, no shared cache
 * line). Bounds in ns: WORKER_BATCH_BOUNDS_NS; the last bucket is above
 * the last bound. */
enum worker_batch_path {
	WORKER_BATCH_UDP_RX, /* a recvmmsg batch: open, route, TUN writes */
	WORKER_BATCH_TUN_TX, /* TUN reads and seals of one readiness call */
	WORKER_BATCH_PATHS,
};
#define WORKER_BATCH_BUCKETS 13
#define WORKER_BATCH_BOUNDS_NS                                                                     \
	{                                                                                          \
		1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000, 2000000,   \
		    5000000, 10000000                                                              \
	}

struct worker_stats {
	uint64_t drops[DP_DROP_COUNT];
	uint64_t rx_packets, rx_bytes; /* transport packets opened */
	uint64_t tx_packets, tx_bytes; /* datagrams sent */
	uint64_t initiations;	       /* handshake initiations with a valid mac1 */
	uint64_t handshakes_queued, cookie_replies;
	uint64_t roams;		  /* a session's endpoint moved to a new path */
	uint64_t src_refused;	  /* datagrams sent from any address: their source was gone */
	uint64_t chaff;		  /* handshake chaff sent (stealth maximum, handshake_chaff) */
	struct tunio_stats tunio; /* TUN offloads (dataplane/tunio.h) */
	uint64_t fq_backlog;	  /* packets in the fair queue now (summed: over the workers) */
	uint64_t fq_marked;	  /* packets CoDel marked CE instead of dropping */
	uint64_t batch_hist[WORKER_BATCH_PATHS][WORKER_BATCH_BUCKETS + 1];
	uint64_t batch_ns[WORKER_BATCH_PATHS]; /* sum of the batches' times */
};

/* What all workers share, read-only while they run (the objects pointed
 * to are thread safe). */
/* A receive slot: the UDP socket has UDP_GRO, so one message may carry a
 * run of datagrams of up to 64 KiB. UDP_BATCH slots: 2 MiB per worker. */
#define WORKER_RX_BUF 65536
/* Stream packets taken from the inbox per turn. */
#define WORKER_STREAM_BATCH 16

struct worker_shared {
	struct session_table *sessions;
	struct queue *hs_queue; /* of struct hs_item (dataplane/hsq.h) */
	int notify_fd;		/* eventfd of the control thread */
	bool client_to_client;
	bool io_uring;		   /* the worker loops on io_uring if the kernel allows */
	size_t buf_size;	   /* bytes per pool buffer */
	size_t pool_count;	   /* buffers per worker */
	size_t max_transport;	   /* longest transport datagram the MTU allows */
	uint16_t mtu;		   /* of the TUN device: no padding beyond it */
	int tun_offload;	   /* the enum tun_offload set the TUN device took (0: none) */
	uint32_t tun_ifindex;	   /* datagrams that arrive through it are refused */
	struct router_pools pools; /* so are datagrams from a client address */
	/* The handshake guards, one for all workers: per-IP buckets for
	 * sources that proved their address (mac2) and for those that did
	 * not, so spoofed initiations cannot drain a real client's budget;
	 * and per-source (address and port) buckets for cookie replies. */
	struct ratelimit *hs_proven, *hs_unproven, *cookie_limit;
	struct cookie_secrets *cookie; /* the cookie secret, one for all */
	uint8_t server_pub[32];
	/* stealth framing (docs/protocol.md §12): off, or the keys from
	 * server_pub that every worker keys its own contexts with */
	enum stealth_mode stealth;
	struct stealth_keys stealth_keys;
	/* The TLS front's stream paths (dataplane/stream.h), NULL when the server
	 * has none; then each worker i reads stream_inboxes[i] (of struct
	 * stream_pkt). */
	struct stream_hub *streams;
	struct queue *stream_inboxes;
	/* The fair queue between the TUN device and the UDP socket
	 * (docs/dataplane.md, "The fair queue"): on or off, and its hash key,
	 * random per server. */
	bool fair_queue;
	uint64_t fq_key[2];
};

struct worker {
	unsigned id;
	const struct worker_shared *shared;
	pthread_t thread;
	bool started;
	struct loop *loop;
	int uring_refused;  /* errno io_uring was refused with, or 0 */
	int udp_fd, tun_fd; /* owned */
	struct loop_op udp_op, tun_op, stream_op;
	uint64_t stream_wake;
	struct stream_pkt *stream_buf; /* packets taken from the inbox */
	struct pool pool;
	uint8_t *rx_area;	     /* the receive slots, WORKER_RX_BUF bytes each */
	uint8_t *rx_bufs[UDP_BATCH]; /* into rx_area */
	uint8_t *tun_buf;	     /* spare for the next TUN read, or NULL */
	struct tunio tun;	     /* tun_fd's reads and writes (offloads) */
	struct udp_batch rx, tx;
	struct fq fq;	 /* when shared->fair_queue: TUN packets waiting to be sealed */
	bool fq_pollout; /* udp_op asks for POLLOUT: the loop turns while fq has packets */
	uint32_t tx_index[UDP_BATCH];  /* tx datagram i's session (index), 0 = none */
	struct cookie_checker cookies; /* this worker's view of shared->cookie */
	struct stealth_ctx stealth;    /* when shared->stealth is on */
	struct worker_stats stats;
	uint64_t now_ns; /* monotonic, sampled once per batch */
	uint64_t send_error_logged_ns, roam_logged_ns;
};

/* The bytes of a pool buffer of buf_size a TUN read may fill: the
 * transport header in front, padding and tags behind. */
size_t worker_tun_room(size_t buf_size);

/* Takes ownership of udp_fd and tun_fd (closed by worker_done, also on
 * failure). */
int worker_init(struct worker *w, unsigned id, const struct worker_shared *shared, int udp_fd,
		int tun_fd);
int worker_start(struct worker *w);
/* Stops the loop and joins the thread. */
void worker_stop(struct worker *w);
void worker_done(struct worker *w);

/* Adds w's counters to *sum (safe while w runs). */
void worker_stats_add(const struct worker *w, struct worker_stats *sum);

/* For rx.c / tx.c. */
static inline void worker_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* Counts a batch of path that took ns. */
static inline void worker_batch_time(struct worker *w, enum worker_batch_path path, uint64_t ns)
{
	static const uint64_t bounds[WORKER_BATCH_BUCKETS] = WORKER_BATCH_BOUNDS_NS;
	unsigned i = 0;

	while (i < WORKER_BATCH_BUCKETS && ns > bounds[i])
		i++;
	worker_count(&w->stats.batch_hist[path][i], 1);
	worker_count(&w->stats.batch_ns[path], ns);
}

/* The drop reason of session_charge's verdict (server/accounting.h). */
static inline enum dp_drop worker_drop_of_charge(enum acct_verdict v)
{
	return v == ACCT_OVER_RATE    ? DP_DROP_RATE_LIMIT
	       : v == ACCT_OVER_QUOTA ? DP_DROP_QUOTA
				      : DP_DROP_NONE;
}

static inline void worker_drop(struct worker *w, enum dp_drop d)
{
	if (d != DP_DROP_NONE)
		worker_count(&w->stats.drops[d], 1);
}

/* Queues a datagram in the send batch, flushing first when it is full;
 * takes ownership of buf (a pool buffer). It leaves from the local
 * address src (family 0: any); index is the session it belongs to (0 for
 * none), which forgets src if the kernel refuses it. */
void worker_send(struct worker *w, uint8_t *buf, size_t len, const struct udp_endpoint *to,
		 const struct udp_local *src, uint32_t index);
/* Seals n chaff packets (cover packets: keepalives in the largest
 * bucket) for s and queues them after what is queued already. */
struct session;
void worker_chaff(struct worker *w, struct session *s, unsigned n);
/* Sends the batch now. */
void worker_flush(struct worker *w);
/* Writes the packets queued for the TUN device (with offloads), merged
 * where they may be: one writev per super-packet. */
void worker_tun_flush(struct worker *w);
/* Wakes the control thread (a session to look at). */
void worker_notify(struct worker *w);

#endif
