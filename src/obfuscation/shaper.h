/* Stealth maximum's handshake shaper (docs/protocol.md §12.6): chaff
 * around the first packets of each young inner flow, so that the outer
 * flow's bursts stop mirroring an inner TCP + TLS handshake's direction,
 * packet count and round trips (Xue et al. 2024, research P1-T9).
 *
 * Model. Each end of a session keeps one struct shaper and shows it every
 * inner IP packet it carries, both the ones it sends into the tunnel
 * (SHAPER_OUT) and the ones it receives from it (SHAPER_IN). A TCP flow is
 * young from its SYN, a UDP flow from its first packet seen, for its
 * first SHAPER_YOUNG_PACKETS packets of either direction. For each packet
 * of a young flow the shaper answers how many chaff packets (keepalives
 * padded to the largest bucket: a receiver reads a keepalive) this end
 * sends right after it: 0..SHAPER_PER_PACKET, drawn at random. After an
 * outgoing packet they lengthen the burst by a random count; after an
 * incoming one they go the other way, before the inner reply exists, and
 * split the peer's burst into two. Both ends do it, so the outer bursts'
 * number and lengths are randomised around the inner handshake's.
 *
 * Bounded: at most `per_flow` chaff packets per young flow (the budget
 * the caller configures, 0 = off) and SHAPER_RATE per second per session
 * end (credit capped at one second's worth: no burst after a quiet spell),
 * whatever the traffic. The young-flow table has SHAPER_FLOWS entries,
 * one slot per flow (by a keyed hash). A starting flow takes its slot if
 * it is free or its occupant became young SHAPER_FLOW_TTL_NS ago or more;
 * a TCP SYN also takes it from an occupant that is no longer young (a UDP
 * packet does not: a long-lived UDP flow that lost its slot must not
 * become young again and again). Otherwise the new flow gets no chaff.
 * Nothing is queued or held: the shaper only counts, so the data path
 * sends real packets as they come and never reorders a flow.
 *
 * Pure: time (monotonic ns) and randomness are passed in; inner packets
 * are untrusted bytes (the peer or the host wrote them) and are only read
 * within len. Not thread safe: one owner (the session's tx lock). */
#ifndef LL_OBFUSCATION_SHAPER_H
#define LL_OBFUSCATION_SHAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"

#define SHAPER_FLOWS		64 /* young-flow table entries per session end */
#define SHAPER_YOUNG_PACKETS	12 /* packets (both directions) a flow stays young for */
#define SHAPER_PER_PACKET	2  /* chaff packets after one packet, at most */
#define SHAPER_PER_FLOW_MAX	32 /* the largest per-flow budget a configuration may set */
#define SHAPER_PER_FLOW_DEFAULT 8
#define SHAPER_RATE		32 /* chaff packets per second per session end, at most */
#define SHAPER_FLOW_TTL_NS	(3ull * 1000000000ull) /* a young flow keeps its slot */

enum shaper_dir { SHAPER_OUT, SHAPER_IN };

struct shaper_flow {
	uint32_t tag;	  /* 0 = free */
	uint8_t packets;  /* seen, both directions, up to SHAPER_YOUNG_PACKETS */
	uint8_t chaff;	  /* chaff sent for it */
	uint64_t born_ns; /* when it became young */
};

struct shaper {
	uint32_t seed;	   /* keys the flow hash: a peer cannot aim at slots */
	unsigned per_flow; /* chaff budget per young flow; 0 = shaper off */
	struct shaper_flow flow[SHAPER_FLOWS];
	uint64_t credit; /* SHAPER_RATE-scaled: one chaff costs 1e9 */
	uint64_t last_ns;
	bool started;
	uint64_t chaff, refused; /* chaff granted; chaff drawn but refused by a budget */
};

/* Draws the hash seed; per_flow is clamped to SHAPER_PER_FLOW_MAX.
 * Returns 0 or a negative errno from the rng. */
int shaper_init(struct shaper *s, unsigned per_flow, const struct rng *rng);

/* The inner packet ip[0 .. len) just went out (SHAPER_OUT) or came in
 * (SHAPER_IN) at now_ns: how many chaff packets to send after it. */
unsigned shaper_packet(struct shaper *s, const uint8_t *ip, size_t len, enum shaper_dir dir,
		       uint64_t now_ns, const struct rng *rng);

/* What shaper_packet reads of an inner packet: a direction-independent
 * flow key (0 = not TCP/UDP over a whole IPv4/IPv6 header, never
 * shaped) and whether it is a TCP SYN without ACK (a flow starts). */
uint32_t shaper_flow_key(uint32_t seed, const uint8_t *ip, size_t len, bool *ret_syn);

#endif
