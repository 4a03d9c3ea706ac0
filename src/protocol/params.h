/* Session parameters: what the server tells a client in handshake message 2
 * (and later in a CONTROL_CONFIG push): cipher mode, tunnel addresses, DNS,
 * MTU, keepalive and rekey limits.
 *
 * Encoding: a sequence of TLVs, each type (1 byte) || length (1 byte) ||
 * value. Types below 0x80 are critical (an unknown one is an error); types
 * from 0x80 up are optional and skipped when unknown. Each type appears at
 * most once, except the DNS types (up to PARAMS_MAX_DNS of each). The cipher
 * mode is mandatory. docs/protocol.md lists the types. */
#ifndef LL_PROTOCOL_PARAMS_H
#define LL_PROTOCOL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cipher.h"

#define PARAMS_MAX_DNS 4

enum params_tlv {
	PARAMS_T_CIPHER = 0x01,	      /* u8 enum cipher_mode */
	PARAMS_T_ADDR4 = 0x02,	      /* 4-byte address, u8 prefix length (0..32) */
	PARAMS_T_ADDR6 = 0x03,	      /* 16-byte address, u8 prefix length (0..128) */
	PARAMS_T_DNS4 = 0x04,	      /* 4-byte address */
	PARAMS_T_DNS6 = 0x05,	      /* 16-byte address */
	PARAMS_T_MTU = 0x06,	      /* u16, 576..65535 for IPv4-only, >= 1280 with IPv6 */
	PARAMS_T_KEEPALIVE = 0x07,    /* u16 seconds, 0 = off */
	PARAMS_T_REKEY_TIME = 0x08,   /* u32 seconds between full handshakes, >= 5 */
	PARAMS_T_UPDATE_BYTES = 0x09, /* u64 bytes between symmetric key updates, 0 = off */
};

struct session_params {
	enum cipher_mode mode;
	bool has_addr4, has_addr6;
	uint8_t addr4[4], prefix4;
	uint8_t addr6[16], prefix6;
	uint8_t n_dns4, n_dns6;
	uint8_t dns4[PARAMS_MAX_DNS][4];
	uint8_t dns6[PARAMS_MAX_DNS][16];
	uint16_t mtu; /* 0 = not sent (client keeps its own) */
	uint16_t keepalive_s;
	uint32_t rekey_time_s; /* 0 = not sent (LL_REKEY_AFTER_TIME) */
	uint64_t update_bytes;
};

/* Returns 0, -ENOSPC when cap is too small, -EINVAL for invalid values. */
int params_encode(const struct session_params *p, uint8_t *out, size_t cap, size_t *ret_len);
/* Bytes params_encode writes for p (-EINVAL for invalid values). */
int params_encoded_len(const struct session_params *p, size_t *ret_len);
/* A copy of p that encodes in at most cap bytes: DNS servers are left out,
 * the last IPv6 one first, then IPv4, until it fits (a handshake response
 * must never outgrow the message it answers; the whole list then follows
 * in a CONFIG message). *ret_cut tells whether anything was left out.
 * -ENOSPC if even without DNS it does not fit, -EINVAL for invalid p. */
int params_fit(const struct session_params *p, size_t cap, struct session_params *ret,
	       bool *ret_cut);
/* Parses untrusted bytes; on error *ret is zeroed and -EINVAL returned. */
int params_decode(struct session_params *ret, const uint8_t *in, size_t len);

#endif
