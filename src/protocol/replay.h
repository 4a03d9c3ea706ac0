/* Sliding-window replay protection for 64-bit counters (RFC 6479 style):
 * a bitmap of LL_REPLAY_WINDOW_BITS counters below the greatest seen one.
 * Check after authenticating a packet, never before (a forged counter must not
 * move the window). Not thread safe: owned by the worker receiving the flow. */
#ifndef LL_PROTOCOL_REPLAY_H
#define LL_PROTOCOL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/messages.h"

struct replay {
	uint64_t greatest; /* highest counter accepted + 1; 0 = nothing yet */
	uint64_t bitmap[LL_REPLAY_WINDOW_BITS / 64];
};

void replay_init(struct replay *r);
/* True if counter is new (and records it); false if seen before, too old
 * (more than LL_REPLAY_WINDOW_BITS - 64 below the greatest), or >= limit. */
bool replay_check(struct replay *r, uint64_t counter, uint64_t limit);
/* Same verdict as replay_check but records nothing: lets a receiver drop an
 * obvious replay before spending an AEAD open on it. */
bool replay_is_new(const struct replay *r, uint64_t counter, uint64_t limit);

#endif
