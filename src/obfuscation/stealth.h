/* UDP stealth framing (docs/protocol.md §12): what a censor without the
 * server's static public key S sees is uniform random bytes, in sizes
 * that carry no fingerprint.
 *
 * Model.
 * - Keys. Two server-wide keys come from S (struct stealth_keys): K_hs
 *   masks whole handshake-class messages (types 1-3), K_hp masks the
 *   first 8 header bytes of transport packets. Each session direction
 *   has a 16-byte key of its own (from that direction's first traffic
 *   secret) that masks the counter, so one user of a server, who knows
 *   S, cannot follow another user's counters.
 * - Handshake class: N (16 random bytes) || ChaCha20(K_hs, N[4..16])
 *   (len_le16 || M) || padding. stealth_hs_wrap / stealth_hs_unwrap.
 * - Transport: the header masked QUIC-style with a sample of the
 *   ciphertext; the AEAD still authenticates the unmasked header, so the
 *   receiver unmasks and then opens exactly as without stealth.
 * - Sizes: each sender pads every transport packet up to a bucket of a
 *   table it drew for the session (struct stealth_buckets) and pads
 *   handshake-class messages by a random amount; no datagram ever has
 *   one of the sizes stealth_size_forbidden() names.
 *
 * Pure: randomness comes in as a struct rng, nothing here does I/O or
 * reads a clock. The keyed contexts (crypto/mask.h) are not thread safe:
 * a struct stealth_ctx belongs to one thread, a struct stealth_tx or
 * stealth_rx to whoever holds the session half's lock. */
#ifndef LL_OBFUSCATION_STEALTH_H
#define LL_OBFUSCATION_STEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mask.h"
#include "crypto/rng.h"

enum stealth_mode { STEALTH_MODE_OFF, STEALTH_MODE_STANDARD, STEALTH_MODE_MAXIMUM };

#define STEALTH_NONCE_LEN     16
#define STEALTH_HS_OVERHEAD   18   /* nonce + masked length */
#define STEALTH_HS_PAD_MAX    127  /* the most random padding a handshake message gets */
#define STEALTH_HS_WIRE_MAX   1452 /* 1500 - IPv6 40 - UDP 8 */
#define STEALTH_HDR_LEN	      16   /* the transport header */
#define STEALTH_SAMPLE_LEN    16
#define STEALTH_MIN_TRANSPORT (STEALTH_HDR_LEN + STEALTH_SAMPLE_LEN)
#define STEALTH_BUCKETS_MAX   16
#define STEALTH_SMALL_FLOOR   128 /* plaintext bytes every packet may have */
#define STEALTH_FLOWS	      64  /* per session and direction (maximum) */
#define STEALTH_FLOW_FIRST    8	  /* packets of a new flow sent in the largest bucket */
#define STEALTH_JUNK_MIN      24
#define STEALTH_JUNK_MAX      1200
#define STEALTH_JUNK_COUNT    3 /* at most, before each message 1 (maximum) */

/* The server-wide keys, from the server's static public key. */
struct stealth_keys {
	uint8_t hs[32]; /* HASH("stealth-hs" || S) */
	uint8_t hp[16]; /* HASH("stealth-hp" || S)[0..16) */
};

int stealth_keys_derive(struct stealth_keys *k, const uint8_t server_pub[static 32]);
void stealth_keys_wipe(struct stealth_keys *k);

/* One thread's keyed contexts of the server-wide keys. */
struct stealth_ctx {
	struct mask_stream hs;
	struct mask_block hp;
};

int stealth_ctx_init(struct stealth_ctx *c, const struct stealth_keys *k);
void stealth_ctx_done(struct stealth_ctx *c);

/* Outer UDP payload sizes that no message of a stealth mode ever has:
 * 148, 92 and 64 (WireGuard's handshake messages) and 80 and 112 (its
 * commonest short transport packets), which a censor matches first. */
bool stealth_size_forbidden(size_t len);

/* ---- handshake class (types 1, 2, 3) ---- */

/* The length of the datagram that carries a message of msg_len bytes:
 * 18 + msg_len + a random padding, at most max_len (a server answering
 * passes the length of the datagram it answers: no amplification), never
 * a forbidden size. 0 if msg_len does not fit under max_len. */
size_t stealth_hs_wire_len(const struct rng *rng, size_t msg_len, size_t max_len);
/* The limit to pass stealth_hs_wire_len for a message that answers
 * nothing (message 1): 18 + msg_len + STEALTH_HS_PAD_MAX, but no more
 * than STEALTH_HS_WIRE_MAX if the message fits under it. So a message 1
 * with ML-KEM (1348 bytes, 1396 on the wire over IPv6) still crosses a
 * 1500-byte path unfragmented: many censoring networks drop fragments. */
size_t stealth_hs_own_limit(size_t msg_len);

/* Writes the datagram of wire_len bytes (from stealth_hs_wire_len) for
 * msg to out (out and msg must not overlap). Returns 0 or a negative
 * errno. */
int stealth_hs_wrap(struct stealth_ctx *c, const struct rng *rng, const uint8_t *msg,
		    size_t msg_len, uint8_t *out, size_t wire_len);
/* Unmasks a received datagram in place: on success the message is
 * pkt[18 .. 18 + *ret_len). -EBADMSG if the datagram is too short or
 * its length field does not fit (0 < len <= what follows). */
int stealth_hs_unwrap(struct stealth_ctx *c, uint8_t *pkt, size_t len, size_t *ret_len);

/* ---- transport (type 4) ---- */

/* The sender's state of one session direction. */
struct stealth_buckets {
	uint16_t size[STEALTH_BUCKETS_MAX]; /* outer sizes, ascending, the last the largest */
	unsigned n;
};

struct stealth_flows {
	uint32_t seed;
	uint32_t tag[STEALTH_FLOWS];
	uint8_t sent[STEALTH_FLOWS];
};

struct stealth_tx {
	enum stealth_mode mode;
	struct mask_block hp;  /* K_hp, this direction's own context */
	struct mask_block dir; /* the direction's counter key */
	struct stealth_buckets buckets;
	struct stealth_flows flows; /* maximum only */
};

struct stealth_rx {
	struct mask_block dir;
};

/* K_dir = HKDF-Expand(secret_0, "lostlove stealth hp", 16) */
int stealth_dir_key(uint8_t ret[static 16], const uint8_t secret0[static 32]);

/* Keys a direction and draws its bucket table between min_outer (an
 * empty plaintext: header + tags) and max_outer (a plaintext of the
 * tunnel MTU, always a bucket). */
int stealth_tx_init(struct stealth_tx *t, enum stealth_mode mode, const struct stealth_keys *k,
		    const uint8_t secret0[static 32], size_t min_outer, size_t max_outer,
		    const struct rng *rng);
void stealth_tx_done(struct stealth_tx *t);
int stealth_rx_init(struct stealth_rx *r, const uint8_t secret0[static 32]);
void stealth_rx_done(struct stealth_rx *r);

/* The generator a session's bucket tables are drawn from, the same at
 * both ends: a deterministic stream keyed by HKDF-Expand(T_i2r,
 * "lostlove stealth buckets", 32). Both directions then use the same
 * sizes, so the small sizes (acknowledgements, keepalives) occur both
 * ways: with a table per direction, a flow whose third packet has one
 * side's small size and whose later packets are the other side's
 * acknowledgements matches Xue et al.'s OpenVPN ACK rule
 * (tests/tools/xue.c). */
int stealth_table_rng(struct rng_det *ret, const uint8_t t_i2r[static 32]);

/* A side whose own MTU is lower than the session's: sizes above
 * max_outer become max_outer. */
void stealth_buckets_clamp(struct stealth_buckets *b, size_t max_outer);

/* Draws a table: 8-16 buckets (standard) or 3-4 (maximum). The smallest
 * is at least STEALTH_SMALL_FLOOR bytes above an empty packet, so that
 * keepalives, acknowledgements, pings and DNS queries all share one
 * size: otherwise a flow whose third packet is a ping and whose later
 * packets are acknowledgements has the shape of Xue et al.'s OpenVPN ACK
 * rule (a size seen early, never later; tests/tools/xue.c). */
int stealth_buckets_draw(struct stealth_buckets *b, enum stealth_mode mode, size_t min_outer,
			 size_t max_outer, const struct rng *rng);
/* The smallest bucket >= outer, or outer itself above the largest. */
size_t stealth_bucket_fit(const struct stealth_buckets *b, size_t outer);

/* The outer size to pad a packet of outer bytes to, whose plaintext is
 * inner[0 .. inner_len): its bucket, or in maximum mode the largest
 * bucket for the first STEALTH_FLOW_FIRST packets of an inner flow. */
size_t stealth_tx_target(struct stealth_tx *t, const uint8_t *inner, size_t inner_len,
			 size_t outer);

/* Pads the plaintext at pkt[16 .. 16 + plain_len) with zero bytes (the
 * transport's own padding, docs/protocol.md §6.3) so that the sealed
 * packet, with tags bytes of tags, gets its target size, but never
 * beyond cap bytes; returns the padded plaintext length. */
size_t stealth_pad(struct stealth_tx *t, uint8_t *pkt, size_t cap, size_t tags, size_t plain_len);

/* The same, but always to the largest bucket: a cover packet (maximum
 * mode's cover traffic, a keepalive as long as a full packet). */
size_t stealth_pad_max(struct stealth_tx *t, uint8_t *pkt, size_t cap, size_t tags,
		       size_t plain_len);

/* Cover traffic (maximum): credit accrues at rate bytes per second while
 * the link is idle; each cover packet of size bytes spends size. How many
 * packets to send now, for elapsed_ns since the last call; credit is
 * capped at one second's worth (no burst after a busy spell). */
unsigned stealth_cover_due(uint64_t *credit, uint64_t rate, uint64_t elapsed_ns, size_t size,
			   unsigned max_packets);

/* Masks the header of a sealed packet (len >= STEALTH_MIN_TRANSPORT). */
int stealth_tx_mask(struct stealth_tx *t, uint8_t *pkt, size_t len);

/* Receiver, step 1: does pkt unmask (bytes 0..7, K_hp) to a transport
 * header? Then ret_hdr holds the 8 unmasked bytes (type, flags,
 * reserved, receiver index); pkt is unchanged. */
bool stealth_peek(struct stealth_ctx *c, const uint8_t *pkt, size_t len, uint8_t ret_hdr[static 8]);
/* Step 2, once the session is found: writes the peeked bytes and unmasks
 * the counter with the direction's key, in place. */
int stealth_rx_unmask(struct stealth_rx *r, uint8_t *pkt, size_t len, const uint8_t hdr[static 8]);

/* ---- maximum: junk before message 1 ---- */

/* How many junk datagrams (1..STEALTH_JUNK_COUNT) and each one's length
 * (STEALTH_JUNK_MIN..STEALTH_JUNK_MAX, never forbidden). */
unsigned stealth_junk_count(const struct rng *rng);
size_t stealth_junk_len(const struct rng *rng);

#endif
