/* Flow-shape rules from Xue et al.: the OpenVPN opcode and ACK rules
 * (USENIX Security 2022, Alg. 1 and §6.2) and the encapsulated-TLS-handshake
 * burst measures (USENIX Security 2024, §8), as we read them
 * (docs/obfuscation.md, "How we test it"). Pure: sequences in, verdicts
 * out. */
#ifndef LL_TOOLS_XUE_H
#define LL_TOOLS_XUE_H

#include <stddef.h>
#include <stdint.h>

#define XUE_MAX_PACKETS 100 /* the rules look at the first 100 payloads at most */

/* Alg. 1 over the first n of ops (byte 0 of each payload, both directions in
 * order): CR = ops[0], SR = ops[1]; the flow is flagged when neither comes
 * back in ops[2..n) and the set of distinct values has 4 to 10 members.
 * Returns 1 flagged, 0 not, -1 when fewer than n values are given. */
int xue_opcode_rule(const uint8_t *ops, size_t count, size_t n);

/* §6.2, with thresholds of our own (the paper's §7.1 values were not
 * read): S = the size of the third payload (OpenVPN's first ACK); in bins
 * of 10 payloads, the first three bins hold at least 3 more payloads of
 * size S and bins 5-9 (payloads 50-99) none. Needs 100 payloads (else -1).
 * *early and *late receive the two counts. */
int xue_ack_rule(const uint16_t *sizes, size_t count, size_t *early, size_t *late);

/* The first four application-data bursts after the outer TLS handshake,
 * client first (bytes of TCP payload each), and the flow's burst count. */
struct xue_bursts {
	size_t b[4];
	size_t n; /* bursts seen (any count) */
};

/* Following a TCP flow's TLS records, both directions (0 = client), to find
 * where the outer handshake ends (the client's ChangeCipherSpec, then its
 * next record: Finished) and to count the application-data bursts after
 * it. Segments are taken in capture order; one whose sequence number is
 * below what was already seen is a retransmission and skipped. */
struct xue_tls_dir {
	int started;
	uint32_t next_seq;
	uint8_t hdr[5];
	size_t hdr_have;
	size_t body_left;
};

struct xue_tls {
	struct xue_tls_dir dir[2];
	int is_tls; /* 0 unknown, 1 records parse as TLS, -1 not TLS (parsing stops) */
	int ccs_seen, hs_done_pending, hs_done, last_dir;
	struct xue_bursts bursts;
};

/* Feeds one TCP payload (untrusted bytes; zero-initialise t first). */
void xue_tls_feed(struct xue_tls *t, int dir, uint32_t seq, const uint8_t *p, size_t len);

/* Xue 2024 §8: round trips RT = bursts / 2; "looks like plain HTTPS" when
 * RT < 2.5 and the first burst < 300 bytes. */
int xue_https_like(const struct xue_bursts *b);

/* An inner TLS 1.3 handshake's shape in the first bursts (our own rule after
 * nDPI's TLS-in-TLS idea, no model values copied): a ClientHello-sized
 * first client burst (200-1000 bytes), a server flight of at least 1000
 * bytes, then a client burst of Finished size (at most 200 bytes). */
int xue_tls_in_tls(const struct xue_bursts *b);

#endif
