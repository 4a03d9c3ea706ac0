/* WebSocket (RFC 6455) frame codec: header parse and build, masking, the
 * handshake's accept key, close payloads. Pure: no I/O; the caller owns
 * every buffer and passes the mask bytes in (from crypto/rng.h).
 *
 * Limits a receiver enforces (ws_parse_header): RSV bits must be zero (no
 * extension is negotiated), opcodes are the six RFC ones, control frames
 * are final and carry at most 125 bytes, lengths use the minimal encoding
 * and the 64-bit form has its top bit clear, the mask bit is what the
 * role requires (a server receives masked frames, a client unmasked), and
 * the payload is at most the caller's max_payload. */
#ifndef LL_FRONT_WS_H
#define LL_FRONT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_OP_CONT   0x0u
#define WS_OP_TEXT   0x1u
#define WS_OP_BINARY 0x2u
#define WS_OP_CLOSE  0x8u
#define WS_OP_PING   0x9u
#define WS_OP_PONG   0xAu

#define WS_HEADER_MAX  14u  /* 2 + 8 (length) + 4 (mask) */
#define WS_CONTROL_MAX 125u /* payload of a control frame */
#define WS_KEY_LEN     24u  /* base64 of 16 bytes */
#define WS_ACCEPT_LEN  28u  /* base64 of a SHA-1 */

/* Close status codes used here (RFC 6455 §7.4.1). */
#define WS_CLOSE_NORMAL	    1000u
#define WS_CLOSE_GOING_AWAY 1001u
#define WS_CLOSE_PROTOCOL   1002u
#define WS_CLOSE_TOO_BIG    1009u

struct ws_frame {
	bool fin;
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t payload_len;
	size_t header_len; /* bytes of header before the payload */
};

enum ws_result {
	WS_NEED_MORE = 0, /* the header is not complete yet */
	WS_OK,
	WS_ERR_RSV,	/* an RSV bit is set */
	WS_ERR_OPCODE,	/* reserved opcode */
	WS_ERR_CONTROL, /* control frame fragmented or longer than 125 */
	WS_ERR_LENGTH,	/* non-minimal length or top bit of the 64-bit length */
	WS_ERR_MASK,	/* masked when it must not be, or the reverse */
	WS_ERR_TOO_BIG, /* payload_len > max_payload */
};

/* Parses the frame header at buf[0..len). expect_masked: true on the
 * server (clients must mask), false on the client. On WS_OK *f is filled;
 * on any other result *f is unspecified. */
enum ws_result ws_parse_header(const uint8_t *buf, size_t len, bool expect_masked,
			       uint64_t max_payload, struct ws_frame *f);

/* Writes a header into out (WS_HEADER_MAX bytes) with the minimal length
 * encoding; mask NULL = unmasked (server to client). Returns its length.
 * The payload must then be masked with ws_mask by the caller. */
size_t ws_build_header(uint8_t *out, bool fin, uint8_t opcode, const uint8_t *mask,
		       uint64_t payload_len);

/* XORs data with the mask, starting at payload offset `offset` (so a
 * payload can be unmasked in pieces as it arrives). Masking is its own
 * inverse. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Is key a valid Sec-WebSocket-Key: exactly 24 base64 characters that
 * decode to 16 bytes? */
bool ws_key_valid(const uint8_t *key, size_t len);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key || GUID)), written
 * NUL-terminated into out (WS_ACCEPT_LEN + 1 bytes). 0 or -EIO. */
int ws_accept_key(const uint8_t *key, size_t len, char *out);

/* Close payload: 2-byte code (+ reason). Build returns its length
 * (at most WS_CONTROL_MAX; the reason is cut to fit). */
size_t ws_build_close(uint8_t *out, uint16_t code, const char *reason);
/* Parses a close payload: 0 with *code (1005 "no status" for an empty
 * payload), -EINVAL for a 1-byte payload or a code a peer may not send. */
int ws_parse_close(const uint8_t *payload, size_t len, uint16_t *code);

const char *ws_result_name(enum ws_result r);

#endif
