/* Replay window, RFC 6479 §2.3: the bitmap is a ring of 64-bit words, and
 * moving the window forward clears whole words instead of shifting bits.
 *
 * Counter c is tracked at position p = c + 1, so that r->greatest (the
 * highest accepted counter + 1) is also the highest position and 0 can mean
 * "nothing yet" without a special case. The word holding r->greatest is the
 * newest; the 127 words before it are kept, so every position down to
 * greatest - WINDOW is still in the ring. One word is sacrificed (the ring
 * slot being reused), which is why the window is BITS - 64, not BITS. */
#include "protocol/replay.h"

#include <string.h>

enum {
	WORD_BITS = 64,
	RING_WORDS = LL_REPLAY_WINDOW_BITS / WORD_BITS,
	WINDOW = LL_REPLAY_WINDOW_BITS - WORD_BITS,
};

_Static_assert((RING_WORDS & (RING_WORDS - 1)) == 0, "ring size must be a power of two");

static size_t word_index(uint64_t pos)
{
	return (size_t)((pos / WORD_BITS) & (RING_WORDS - 1));
}

static uint64_t bit_of(uint64_t pos)
{
	return UINT64_C(1) << (pos % WORD_BITS);
}

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_is_new(const struct replay *r, uint64_t counter, uint64_t limit)
{
	if (counter >= limit)
		return false;
	/* counter < limit <= UINT64_MAX, so pos cannot wrap */
	uint64_t pos = counter + 1;
	if (pos > r->greatest)
		return true;
	if (r->greatest - pos > WINDOW)
		return false;
	return !(r->bitmap[word_index(pos)] & bit_of(pos));
}

/* Slides the window up to pos: the words strictly after the current one, up
 * to and including pos's word, are recycled (at most the whole ring). */
static void advance(struct replay *r, uint64_t pos)
{
	uint64_t cur = r->greatest / WORD_BITS;
	uint64_t steps = pos / WORD_BITS - cur;
	if (steps > RING_WORDS)
		steps = RING_WORDS;
	for (uint64_t i = 1; i <= steps; i++)
		r->bitmap[(cur + i) & (RING_WORDS - 1)] = 0;
	r->greatest = pos;
}

bool replay_check(struct replay *r, uint64_t counter, uint64_t limit)
{
	if (!replay_is_new(r, counter, limit))
		return false;
	uint64_t pos = counter + 1;
	if (pos > r->greatest)
		advance(r, pos);
	r->bitmap[word_index(pos)] |= bit_of(pos);
	return true;
}
