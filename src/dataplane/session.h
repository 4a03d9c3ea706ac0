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
 * thread's alone.
 *
 * Paths (docs/protocol.md §6.3), QUIC's migration rule. The newest
 * authenticated packet (greatest counter so far) from another path (peer
 * address and port, local address) moves the endpoint there at once, so a
 * roaming client loses nothing, but the new path is unvalidated: the
 * worker probes it, what is sent there is limited to three times what
 * came from it (session_path_budget), and if no path reply proves it
 * within SESSION_PROBE_TIMEOUT_S the endpoint goes back to the last
 * validated path (session_path_tick). A packet an on-path attacker copies
 * and sends from its own address can redirect at most that much traffic,
 * for that long.
 *
 * Replacement (docs/protocol.md §8). When a user handshakes again, the
 * control thread points the old session's successor at the new one; from
 * the moment the new one is confirmed, everything for the user is sealed
 * with it (session_current), even before the control thread moves the
 * user's addresses to it. The old one then only receives, for
 * SESSION_DRAIN_S, and is removed. */
#ifndef LL_DATAPLANE_SESSION_H
#define LL_DATAPLANE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h> /* the flavor comes before the hash table */
#include <urcu/rculfhash.h>

#include "dataplane/acct.h"
#include "io/udp.h"
#include "dataplane/router.h"
#include "obfuscation/shaper.h"
#include "obfuscation/stealth.h"
#include "protocol/messages.h"
#include "protocol/transport.h"

/* How long a replaced session keeps receiving (packets the client sealed
 * before it switched, still in flight). */
#define SESSION_DRAIN_S 5
/* A path probe is answered within this or forgotten; at most one probe
 * per SESSION_PROBE_GAP_MS per session. */
#define SESSION_PROBE_TIMEOUT_S 3
#define SESSION_PROBE_GAP_MS	100

struct session {
	struct cds_lfht_node by_index, by_addr4, by_addr6;
	struct rcu_head rcu;
	uint32_t index;		   /* receiver index peers address us with; immutable */
	uint16_t mtu;		   /* no padding beyond it; immutable */
	struct router_owned addrs; /* immutable */
	struct session *successor; /* atomic: the session replacing this one */
	uint8_t user_key[32];	   /* the user's public key; immutable */
	char user_name[64];	   /* for logs; immutable */
	char device[64];	   /* the device's name, "" for the user's own key; immutable */
	pthread_spinlock_t tx_lock, rx_lock;
	struct transport transport;
	bool stealth;			 /* immutable once published: header masks and buckets */
	struct stealth_tx stealth_tx;	 /* tx_lock */
	struct stealth_rx stealth_rx;	 /* rx_lock */
	struct udp_endpoint endpoint;	 /* tx_lock: where to send */
	struct udp_local endpoint_src;	 /* tx_lock: from where (family 0: any) */
	struct udp_endpoint rx_from;	 /* rx_lock: the endpoint's path (= endpoint) */
	struct udp_local rx_to;		 /* rx_lock: and its local address */
	struct udp_endpoint valid_from;	 /* rx_lock: the last validated path */
	struct udp_local valid_to;	 /* rx_lock */
	struct udp_endpoint probe_to;	 /* rx_lock: the path probed */
	struct udp_local probe_local;	 /* rx_lock */
	uint8_t probe_challenge[8];	 /* rx_lock */
	uint64_t probe_sent_ns;		 /* rx_lock: 0 = no probe outstanding */
	uint64_t moved_ns;		 /* rx_lock: when the endpoint left the validated path */
	int unvalidated;		 /* atomic: the endpoint's path is not validated */
	uint64_t unval_rx, unval_tx;	 /* atomic: bytes from / to it since then */
	uint64_t tx_bytes, rx_bytes;	 /* under the locks; read with relaxed loads */
	uint64_t last_tx_ns, last_rx_ns; /* relaxed atomics, monotonic ns */
	int confirmed;			 /* atomic: first packet from the client opened */
	int leaving;			 /* atomic: the client said DISCONNECT */
	/* control */
	uint64_t created_ns;
	uint64_t conn_id;	      /* the user's connection: kept across rekeys (admin API) */
	uint64_t conn_started_ns;     /* when that connection's first handshake came */
	struct session *replaces;     /* older session of the same user, until confirmed */
	struct session *next_pending; /* on the pending or the draining list */
	bool in_index, in_addr4, in_addr6, in_pending, in_draining;
	uint64_t drain_until_ns;
	/* the whole parameter list, when message 2 could not carry it all
	 * (a classical handshake): pushed in a CONFIG once confirmed */
	uint8_t config[MSG_PARAMS_MAX];
	uint8_t config_len, config_sends;
	uint64_t config_next_ns;
	uint64_t cover_credit; /* bytes of cover traffic owed (stealth maximum) */
	struct shaper shaper;  /* tx_lock; per_flow immutable once published (0 = off) */
	/* per-user limits and accounting (server/accounting.h) */
	struct acct *acct; /* the user's policers; immutable once published, may be NULL */
	uint64_t up_bytes, down_bytes; /* atomic: inner bytes forwarded from / to the client */
	uint64_t seen_up, seen_down;   /* control: what the accounting tick folded already */
};

/* Keys a new session (not yet in any table) for a client at from that
 * sent to the local address to (NULL or family 0: not known). NULL on
 * failure. */
struct session *session_new(const struct transport_keys *keys,
			    const struct transport_limits *limits, const struct udp_endpoint *from,
			    const struct udp_local *to, uint64_t now_ns);
/* Switches stealth framing on for a new session (before it is
 * published): the direction keys come from keys' first traffic secrets,
 * the buckets (the client's too: stealth_table_rng) are drawn for packets
 * of up to s->mtu bytes of plaintext. 0 or a negative errno. */
int session_stealth_init(struct session *s, enum stealth_mode mode, const struct stealth_keys *k,
			 const struct transport_keys *keys);
/* Frees at once: only for a session never published. */
void session_free(struct session *s);

/* What an opened packet means beyond its contents; a bit set. */
enum session_rx {
	SESSION_RX_OK = 0,
	SESSION_RX_CONFIRMED = 1 << 0, /* this packet confirmed the session */
	SESSION_RX_NEW_PATH = 1 << 1,  /* it moved the endpoint to an unvalidated path: probe it */
};

/* Opens a transport packet in place (rx half). Returns the transport's
 * result; *ret_event (enum session_rx bits) tells whether this packet
 * confirmed the session and whether it came on another path than the
 * endpoint's. */
enum transport_result session_open(struct session *s, uint8_t *pkt, size_t len,
				   const struct udp_endpoint *from, const struct udp_local *to,
				   uint64_t now_ns, size_t *ret_plain_len, unsigned *ret_event);
/* The same for a session with stealth: hdr holds the first 8 header
 * bytes stealth_peek unmasked, and the counter is unmasked here, under
 * the session's lock. (session_open refuses what a stealth session
 * receives, and this refuses what a session without stealth does.) */
enum transport_result session_open_masked(struct session *s, uint8_t *pkt, size_t len,
					  const uint8_t hdr[static 8],
					  const struct udp_endpoint *from,
					  const struct udp_local *to, uint64_t now_ns,
					  size_t *ret_plain_len, unsigned *ret_event);
/* Seals in place (tx half), padding to 16 (with stealth: to the
 * session's bucket, and the header masked), and copies the endpoint to
 * send to and the local address to send from. The caller checks
 * session_is_confirmed first: a responder sends nothing before the client
 * proved its keys. */
enum transport_result session_seal(struct session *s, uint8_t *pkt, size_t cap, size_t plain_len,
				   uint64_t now_ns, struct udp_endpoint *ret_to,
				   struct udp_local *ret_src, size_t *ret_len);
/* Stealth maximum's handshake chaff (obfuscation/shaper.h): per_flow
 * chaff packets per young inner flow, 0 = none. Before the session is
 * published. Returns 0 or a negative errno. */
int session_shaper_init(struct session *s, unsigned per_flow);
/* The inner packet ip[0 .. len) is about to go to the client (inbound
 * false) or came from it (true): how many chaff packets (cover packets,
 * session_seal_cover) to send after it. Takes tx_lock. */
unsigned session_chaff_due(struct session *s, const uint8_t *ip, size_t len, bool inbound,
			   uint64_t now_ns);

/* Seals a cover packet (stealth maximum): an empty plaintext padded to
 * the largest bucket, so it looks like a full data packet. */
enum transport_result session_seal_cover(struct session *s, uint8_t *pkt, size_t cap,
					 uint64_t now_ns, struct udp_endpoint *ret_to,
					 struct udp_local *ret_src, size_t *ret_len);
/* Starts validating the path (from, to), which must be the endpoint's and
 * unvalidated: true if a probe is to be sent now, with the challenge
 * written to ret_challenge (drawn here, recorded in the session). False
 * while a probe went out less than SESSION_PROBE_GAP_MS ago, or to the
 * same path less than SESSION_PROBE_TIMEOUT_S ago, or if the random
 * generator fails. */
bool session_probe_begin(struct session *s, const struct udp_endpoint *from,
			 const struct udp_local *to, uint64_t now_ns,
			 uint8_t ret_challenge[static 8]);
/* An authenticated path reply with challenge, from (from, to): if it
 * answers the outstanding probe of that path, the path is validated (and
 * no longer limited, if it is the endpoint's) and true is returned. */
bool session_probe_answered(struct session *s, const uint8_t challenge[static 8],
			    const struct udp_endpoint *from, const struct udp_local *to,
			    uint64_t now_ns);

/* May len more bytes go to the endpoint? Always on a validated path; on an
 * unvalidated one, while what was sent there stays within three times
 * what came from it (charged here). Any thread. */
bool session_path_budget(struct session *s, size_t len);
/* The control thread's timer: an endpoint path still unvalidated
 * SESSION_PROBE_TIMEOUT_S after the move goes back to the last validated
 * path. True if it did. */
bool session_path_tick(struct session *s, uint64_t now_ns);

/* Charges len inner bytes to s's user (up: from the client; else to
 * it): ACCT_OVER_RATE if the user's policer refuses them, ACCT_OVER_QUOTA
 * if its data limit is spent (drop the packet either way), else ACCT_PASS
 * and they are counted for accounting. Any worker, no lock. */
static inline enum acct_verdict session_charge(struct session *s, bool up, size_t len,
					       uint64_t now_ns)
{
	struct acct *a = s->acct;

	if (a && !limits_bucket_take(up ? &a->up : &a->down, len, now_ns))
		return ACCT_OVER_RATE;
	if (a && !acct_spend(a, len))
		return ACCT_OVER_QUOTA;
	__atomic_fetch_add(up ? &s->up_bytes : &s->down_bytes, len, __ATOMIC_RELAXED);
	return ACCT_PASS;
}

/* The session to seal with for s's user: s, or the session replacing it
 * once that one is confirmed. Inside rcu_read_lock. */
struct session *session_current(struct session *s);

/* The kernel refused src as a source (the host no longer has it): sends
 * go from any address until the client's next packet says otherwise.
 * Nothing happens if the session has moved to another address since. */
void session_forget_src(struct session *s, const struct udp_local *src);

bool session_is_confirmed(const struct session *s);
/* Confirmed, and its client has not said DISCONNECT: the data path may
 * seal with it (docs/protocol.md §3.4, §6.3). */
bool session_may_send(const struct session *s);

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
