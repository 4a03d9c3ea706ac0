/* LostLove wire format: every message layout and protocol constant.
 *
 * docs/protocol.md is the prose form of this file; keep the two in step.
 * All multi-byte integers are little-endian unless noted (TAI64N is big-endian).
 * Every message starts with the same 4-byte header:
 *
 *   0  type      (enum msg_type)
 *   1  flags     (per type; unknown bits must be zero)
 *   2  reserved  (2 bytes, must be zero)
 */
#ifndef LL_PROTOCOL_MESSAGES_H
#define LL_PROTOCOL_MESSAGES_H

#include <stdint.h>

#include "crypto/aead.h"
#include "crypto/mlkem.h"
#include "crypto/x25519.h"

enum msg_type {
	MSG_HANDSHAKE_INIT = 1,
	MSG_HANDSHAKE_RESP = 2,
	MSG_COOKIE_REPLY = 3,
	MSG_TRANSPORT = 4,
};

enum msg_flag {
	MSG_FLAG_KEM = 0x01,	   /* INIT: ML-KEM key offered; RESP: ciphertext present */
	MSG_FLAG_KEY_PHASE = 0x01, /* TRANSPORT: key phase bit */
};

enum msg_len {
	MSG_HEADER_LEN = 4,
	MSG_TAI64N_LEN = 12,
	MSG_MAC_LEN = 16,
	MSG_COOKIE_LEN = 16,
	MSG_ENC_STATIC_LEN = X25519_KEY_LEN + AEAD_TAG_LEN,    /* 48 */
	MSG_ENC_EK_LEN = MLKEM768_EK_LEN + AEAD_TAG_LEN,       /* 1200 */
	MSG_ENC_CT_LEN = MLKEM768_CT_LEN + AEAD_TAG_LEN,       /* 1104 */
	MSG_ENC_TIMESTAMP_LEN = MSG_TAI64N_LEN + AEAD_TAG_LEN, /* 28 */
	MSG_PARAMS_MAX = 152, /* session parameters, plain: keeps message 2 < message 1 */
};

/* Handshake initiation (client -> server):
 *   0   header            type 1, flags: KEM
 *   4   sender index      4
 *   8   ephemeral         32
 *   40  enc static        48
 *   88  enc ek            1200   (only with MSG_FLAG_KEM)
 *   ..  enc timestamp     28
 *   ..  mac1              16
 *   ..  mac2              16
 */
enum msg_init_layout {
	INIT_OFF_SENDER = 4,
	INIT_OFF_EPHEMERAL = 8,
	INIT_OFF_STATIC = 40,
	INIT_OFF_EK = 88,
	INIT_LEN_CLASSIC = 88 + MSG_ENC_TIMESTAMP_LEN + 2 * MSG_MAC_LEN, /* 148 */
	INIT_LEN_KEM = INIT_LEN_CLASSIC + MSG_ENC_EK_LEN,		 /* 1348 */
};

/* Handshake response (server -> client):
 *   0   header            type 2, flags: KEM
 *   4   sender index      4
 *   8   receiver index    4
 *   12  ephemeral         32
 *   44  enc ct            1104   (only with MSG_FLAG_KEM)
 *   ..  enc params        n + 16 (n = 1..MSG_PARAMS_MAX)
 *   ..  mac1              16
 *   ..  mac2              16
 */
enum msg_resp_layout {
	RESP_OFF_SENDER = 4,
	RESP_OFF_RECEIVER = 8,
	RESP_OFF_EPHEMERAL = 12,
	RESP_OFF_CT = 44,
	RESP_LEN_MIN = 44 + 1 + AEAD_TAG_LEN + 2 * MSG_MAC_LEN,
	RESP_LEN_MAX = 44 + MSG_ENC_CT_LEN + MSG_PARAMS_MAX + AEAD_TAG_LEN + 2 * MSG_MAC_LEN,
};

/* Cookie reply (server -> client, under load):
 *   0   header            type 3, flags 0
 *   4   receiver index    4
 *   8   nonce             12
 *   20  enc cookie        32
 */
enum msg_cookie_layout {
	COOKIE_OFF_RECEIVER = 4,
	COOKIE_OFF_NONCE = 8,
	COOKIE_OFF_COOKIE = 20,
	COOKIE_REPLY_LEN = 20 + MSG_COOKIE_LEN + AEAD_TAG_LEN, /* 52 */
};

/* Transport data (both ways):
 *   0   header            type 4, flags: KEY_PHASE
 *   4   receiver index    4
 *   8   counter           8
 *   16  ciphertext        plaintext (inner packet || zero padding) + tag(s)
 * The 16-byte header is the AEAD associated data.
 */
enum msg_transport_layout {
	TRANSPORT_OFF_RECEIVER = 4,
	TRANSPORT_OFF_COUNTER = 8,
	TRANSPORT_HEADER_LEN = 16,
};

/* Plaintext of a transport packet: its first nibble says what it carries.
 *   0x4_  IPv4 packet (length from its header; the rest is padding)
 *   0x6_  IPv6 packet
 *   0x0_  control message: byte 0 = type (enum control_type), then a body
 *   empty, or all zero bytes: keepalive
 */
enum control_type {
	CONTROL_PADDING = 0x00,	   /* keepalive: only zero bytes follow */
	CONTROL_DISCONNECT = 0x01, /* u8 reason */
	CONTROL_CONFIG = 0x02,	   /* u16 len, session parameters (params.h encoding) */
	CONTROL_PATH_PROBE = 0x03, /* 8-byte challenge */
	CONTROL_PATH_REPLY = 0x04, /* 8-byte challenge echoed */
};

/* Limits and timers (seconds unless noted). Names follow WireGuard's where the
 * meaning is the same; docs/protocol.md §Limits explains each. */
#define LL_REKEY_AFTER_MESSAGES	   (UINT64_C(1) << 60)
#define LL_REJECT_AFTER_MESSAGES   (UINT64_MAX - (UINT64_C(1) << 13))
#define LL_AESGCM_UPDATE_MESSAGES  (UINT64_C(1) << 24) /* key update per AES-GCM key */
#define LL_REKEY_AFTER_TIME	   120
#define LL_REJECT_AFTER_TIME_EXTRA 60 /* reject = rekey_after_time + this */
#define LL_REKEY_TIMEOUT	   5
#define LL_KEEPALIVE_TIMEOUT	   10
#define LL_OLD_KEY_KEEP_TIME	   5 /* previous key after a key update */
#define LL_COOKIE_SECRET_MAX_AGE   120
#define LL_COOKIE_CLIENT_MAX_AGE   115
#define LL_TIMESTAMP_WINDOW	   30 /* default +-bound on handshake timestamps */
#define LL_REPLAY_WINDOW_BITS	   8192
#define LL_NS_PER_S		   UINT64_C(1000000000)

#endif
