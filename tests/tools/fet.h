/* The GFW's "fully encrypted traffic" rule (Wu et al., USENIX Security 2023;
 * docs/obfuscation.md "How we test it"): a connection is blocked when its
 * first data packet is exempted by none of Ex1-Ex5. Pure: bytes in, verdict
 * out. */
#ifndef LL_TOOLS_FET_H
#define LL_TOOLS_FET_H

#include <stddef.h>
#include <stdint.h>

enum fet_exemption {
	FET_EX1_POPCOUNT = 1u << 0,  /* average set bits per byte <= 3.4 or >= 4.6 */
	FET_EX2_PREFIX = 1u << 1,    /* the first 6 bytes are printable */
	FET_EX3_PRINTABLE = 1u << 2, /* more than half of the bytes are printable */
	FET_EX4_RUN = 1u << 3,	     /* a run of printable bytes longer than the threshold */
	FET_EX5_PROTOCOL = 1u << 4,  /* starts like TLS or an HTTP request */
	FET_EMPTY = 1u << 5,	     /* no payload: nothing to judge */
};

/* Ex4's threshold: the paper exempts runs of more than 20 printable bytes;
 * nDPI's fully_enc_heuristic (newer than Debian's 4.2) already at 20. */
#define FET_RUN_PAPER 21
#define FET_RUN_NDPI  20

struct fet_result {
	unsigned exempt_by; /* enum fet_exemption bits; 0 = judged fully encrypted */
	size_t len;
	size_t popcount;    /* set bits in the whole payload */
	size_t printable;   /* bytes in 0x20..0x7e */
	size_t prefix;	    /* leading printable bytes */
	size_t longest_run; /* longest run of printable bytes */
};

/* Judges one first payload; run_min is the shortest exempting run
 * (FET_RUN_PAPER or FET_RUN_NDPI). Returns r->exempt_by. */
unsigned fet_check(const uint8_t *p, size_t len, size_t run_min, struct fet_result *r);

/* "Ex1,Ex5" (or "none") for a set of exemptions, into buf. */
void fet_exemptions_text(unsigned exempt_by, char *buf, size_t len);

#endif
