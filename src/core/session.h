/* Sessions of the server and the table the data plane finds them in.
 *
 * A session is one completed handshake with one user: its transport keys,
 * the tunnel addresses the user owns, the UDP endpoint it was last heard
 * from and the local address that packet came to (on a multi-homed
 * server bound to a wildcard address, every answer leaves from it: the
 * client's NAT or firewall would drop answers from another). Three RCU
 * hash tables (liburcu cds_lfht) index the sessions:
 *
 *   by_index  receiver index -> session   (UDP receive path)
 *   by_addr4  inner IPv4     -> session   (TUN receive path, forwarding)
 *   by_addr6  inner IPv6     -> session
 *
 * Threads. Workers only read the tables, inside rcu_read_lock, and use a
 * session only until their rcu_read_unlock. Only the control thread
 * changes the tables (it is the single writer, so writers need no lock)
 * and it frees a session after a grace period (call_rcu), in two phases:
 * unpublish from every table, then free once no reader can hold it.
 *
 * Inside a session, the transport's two halves are guarded by spinlocks:
 * tx_lock for sealing (any worker whose TUN queue carries a flow to this
 * client, and the control thread's keepalives) and the endpoint with its
 * local address; rx_lock for opening (the worker the client's flow hashes
 * to, which roaming can change). Roaming takes tx_lock inside rx_lock,
 * never the other way. The fields marked "control" are the control
 * thread's alone. */
#ifndef LL_CORE_SESSION_H
#define LL_CORE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h> /* the flavor comes before the hash table */
#include <urcu/rculfhash.h>

#include "io/udp.h"
#include "network/router.h"
#include "protocol/transport.h"

struct session {
	struct cds_lfht_node by_index, by_addr4, by_addr6;
	struct rcu_head rcu;
	uint32_t index;		   /* receiver index peers address us with; immutable */
	struct router_owned addrs; /* immutable */
	uint8_t user_key[32];	   /* the user's public key; immutable */
	char user_name[64];	   /* for logs; immutable */
	pthread_spinlock_t tx_lock, rx_lock;
	struct transport transport;
	struct udp_endpoint endpoint;	 /* tx_lock: where to send */
	struct udp_local endpoint_src;	 /* tx_lock: from where (family 0: any) */
	struct udp_endpoint rx_from;	 /* rx_lock: last source seen */
	struct udp_local rx_to;		 /* rx_lock: the local address it came to */
	uint64_t tx_bytes, rx_bytes;	 /* under the locks; read with relaxed loads */
	uint64_t last_tx_ns, last_rx_ns; /* relaxed atomics, monotonic ns */
	int confirmed;			 /* atomic: first packet from the client opened */
	int leaving;			 /* atomic: the client said DISCONNECT */
	/* control */
	uint64_t created_ns;
	struct session *replaces; /* older session of the same user, until confirmed */
	struct session *next_pending;
	bool in_index, in_addr4, in_addr6, in_pending;
};

/* Keys a new session (not yet in any table) for a client at from that
 * sent to the local address to (NULL or family 0: not known). NULL on
 * failure. */
struct session *session_new(const struct transport_keys *keys,
			    const struct transport_limits *limits, const struct udp_endpoint *from,
			    const struct udp_local *to, uint64_t now_ns);
/* Frees at once: only for a session never published. */
void session_free(struct session *s);

enum session_rx {
	SESSION_RX_OK,
	SESSION_RX_CONFIRMED, /* ok, and this packet confirmed the session */
};

/* Opens a transport packet in place (rx half) and records where it came
 * from and to: the first authenticated packet from a new address, or to
 * another local address, moves the endpoint and its local address
 * together (roaming). Returns the transport's result; *ret_event tells
 * whether this packet confirmed the session. */
enum transport_result session_open(struct session *s, uint8_t *pkt, size_t len,
				   const struct udp_endpoint *from, const struct udp_local *to,
				   uint64_t now_ns, size_t *ret_plain_len,
				   enum session_rx *ret_event);
/* Seals in place (tx half), padding to 16, and copies the endpoint to
 * send to and the local address to send from. The caller checks
 * session_is_confirmed first: a responder sends nothing before the client
 * proved its keys. */
enum transport_result session_seal(struct session *s, uint8_t *pkt, size_t cap, size_t plain_len,
				   uint64_t now_ns, struct udp_endpoint *ret_to,
				   struct udp_local *ret_src, size_t *ret_len);
/* The kernel refused src as a source (the host no longer has it): sends
 * go from any address until the client's next packet says otherwise.
 * Nothing happens if the session has moved to another address since. */
void session_forget_src(struct session *s, const struct udp_local *src);

bool session_is_confirmed(const struct session *s);

struct session_table {
	struct cds_lfht *by_index, *by_addr4, *by_addr6;
	size_t count; /* control */
};

int session_table_init(struct session_table *t);
/* Frees the tables; every session must have been removed. */
void session_table_done(struct session_table *t);

/* Readers: call inside rcu_read_lock. */
struct session *session_find_index(struct session_table *t, uint32_t index);
struct session *session_find_addr(struct session_table *t, const uint8_t *addr, size_t len);

/* Writer (control thread, registered with RCU). Adds s by index:
 * -EEXIST if the index is taken. */
int session_add_index(struct session_table *t, struct session *s);
/* Points s's addresses at s, replacing whichever session had them. */
void session_publish_addrs(struct session_table *t, struct session *s);
/* Unpublishes s from every table that still maps to it and frees it
 * after a grace period. */
void session_remove(struct session_table *t, struct session *s);

#endif
