/* Transport: sealing and opening data packets of one session (both
 * directions), symmetric key updates, and the time/message limits of a key.
 *
 * Model. The handshake yields one 32-byte traffic secret per direction. Each
 * direction keeps a chain secret_0, secret_1 = HKDF-Expand(secret_0,
 * "lostlove key update", 32), ...; secret_n is used with key phase n mod 2.
 * The counter is one 64-bit space per direction for the whole session, across
 * key updates, so no (key, nonce) pair ever repeats and one replay window
 * serves all phases.
 *
 * Sending: after key_update_bytes bytes (or LL_AESGCM_UPDATE_MESSAGES packets
 * for modes using AES-GCM) under one key, the sender moves to the next secret
 * and flips the phase bit. Receiving: a packet whose phase differs from the
 * current one is tried with the previous key if its counter is below the first
 * counter seen under the current key, otherwise with the next key; a packet
 * that authenticates under the next key makes it current (the old one is kept
 * LL_OLD_KEY_KEEP_TIME for reordering, then wiped).
 *
 * Threads: seal and open touch disjoint halves (tx / rx); each half must be
 * used by one thread at a time. Allocation happens only in transport_init. */
#ifndef LL_PROTOCOL_TRANSPORT_H
#define LL_PROTOCOL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"
#include "protocol/messages.h"
#include "protocol/replay.h"

/* What a completed handshake hands to the transport. */
struct transport_keys {
	enum cipher_mode mode;
	bool initiator;
	uint32_t local_index;  /* peers address packets to us with this */
	uint32_t remote_index; /* we address packets to the peer with this */
	uint8_t send_secret[CIPHER_SECRET_LEN];
	uint8_t recv_secret[CIPHER_SECRET_LEN];
};

struct transport_limits {
	uint64_t key_update_bytes;	/* 0 = only the AES-GCM packet limit applies */
	uint64_t rekey_after_messages;	/* default LL_REKEY_AFTER_MESSAGES */
	uint64_t reject_after_messages; /* default LL_REJECT_AFTER_MESSAGES */
	uint64_t rekey_after_ns;	/* default LL_REKEY_AFTER_TIME s */
	uint64_t reject_after_ns;	/* default rekey + LL_REJECT_AFTER_TIME_EXTRA s */
	uint64_t old_key_keep_ns;	/* default LL_OLD_KEY_KEEP_TIME s */
};

/* Fills the defaults listed above. */
void transport_limits_default(struct transport_limits *l);

struct transport_tx {
	struct cipher cipher;
	uint8_t secret[CIPHER_SECRET_LEN];
	uint8_t phase;
	uint64_t counter;      /* next counter to use */
	uint64_t bytes_in_key; /* plaintext bytes sealed under the current key */
	uint64_t packets_in_key;
};

struct transport_rx {
	struct cipher cur, next, prev;
	uint8_t cur_secret[CIPHER_SECRET_LEN];
	uint8_t phase;	    /* phase of cur */
	uint64_t cur_first; /* lowest counter authenticated under cur */
	bool has_prev;
	uint64_t prev_expiry_ns; /* prev is wiped after this */
	struct replay replay;
};

struct transport {
	struct transport_limits limits;
	uint32_t local_index, remote_index;
	bool initiator;
	uint64_t birth_ns; /* when the handshake completed */
	struct transport_tx tx;
	struct transport_rx rx;
};

enum transport_result {
	TRANSPORT_OK = 0,
	TRANSPORT_OK_REKEY,    /* sealed, but the session wants a new handshake */
	TRANSPORT_E_EXPIRED,   /* key older than reject_after: refused */
	TRANSPORT_E_EXHAUSTED, /* counter limit reached: refused, nothing sealed */
	TRANSPORT_E_SPACE,     /* buffer too small */
	TRANSPORT_E_MALFORMED, /* wrong type, flags, reserved bytes or length */
	TRANSPORT_E_INDEX,     /* receiver index is not ours */
	TRANSPORT_E_AUTH,      /* AEAD failure (forgery, wrong key) */
	TRANSPORT_E_REPLAY,    /* duplicate or too old */
	TRANSPORT_E_INTERNAL,  /* crypto library failure */
};

/* Keys the session; takes a copy of keys (the caller wipes its own). now_ns is
 * the monotonic clock. Returns 0, -ENOMEM or -EINVAL. */
int transport_init(struct transport *t, const struct transport_keys *keys,
		   const struct transport_limits *limits, uint64_t now_ns);
/* Wipes every key; accepts a zeroed or half-initialised struct. */
void transport_done(struct transport *t);

/* Seals one packet in place. On entry pkt[TRANSPORT_HEADER_LEN .. + plain_len)
 * holds the plaintext; it is padded with zeros to a multiple of pad_to
 * (1 = none) but never beyond cap - overhead, then encrypted, and the header
 * is written. cap is the size of pkt. *ret_len = total packet length. */
enum transport_result transport_seal(struct transport *t, uint8_t *pkt, size_t cap,
				     size_t plain_len, size_t pad_to, size_t *ret_len,
				     uint64_t now_ns);

/* The cap to hand transport_seal so that padding never takes a plaintext
 * past mtu bytes (a datagram carrying a packet of the tunnel's MTU must
 * fit the path that MTU was chosen for: docs/protocol.md §10): cap, but at
 * most header + max(plain_len, mtu) + the mode's tags. mtu 0: no limit. */
size_t transport_pad_cap(const struct transport *t, size_t cap, size_t plain_len, size_t mtu);

/* Opens one packet in place. On success the plaintext (inner packet ||
 * padding) is pkt[TRANSPORT_HEADER_LEN .. + *ret_plain_len). On any error no
 * state changes (except TRANSPORT_E_INTERNAL during a key update, which may
 * drop the previous key early). */
enum transport_result transport_open(struct transport *t, uint8_t *pkt, size_t len,
				     size_t *ret_plain_len, uint64_t now_ns);

/* Human name of a result, for counters and debug logs. */
const char *transport_result_name(enum transport_result r);

#endif
