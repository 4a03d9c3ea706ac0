/* Classification of a decrypted transport plaintext, and the control messages
 * carried inside the tunnel (messages.h: enum control_type). Pure parsers of
 * authenticated but still peer-controlled bytes: they never trust a length. */
#ifndef LL_PROTOCOL_CONTROL_H
#define LL_PROTOCOL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/messages.h"

enum plain_kind {
	PLAIN_KEEPALIVE, /* empty or only zero bytes */
	PLAIN_IPV4,
	PLAIN_IPV6,
	PLAIN_CONTROL,
	PLAIN_INVALID, /* drop and count */
};

/* Decides what plain[0..len) carries. For IPv4/IPv6, *ret_inner_len is the
 * packet length from its header (20..len / 40..len), and the padding beyond
 * it must be zeros; for control, the length of the control message. */
enum plain_kind control_classify(const uint8_t *plain, size_t len, size_t *ret_inner_len);

enum disconnect_reason {
	DISCONNECT_SHUTDOWN = 1, /* server stopping or restarting */
	DISCONNECT_KICKED = 2,	 /* removed by an administrator */
	DISCONNECT_EXPIRED = 3,	 /* account expired or disabled */
	DISCONNECT_QUOTA = 4,	 /* data limit reached */
	DISCONNECT_CLIENT = 5,	 /* client going away */
};

#define CONTROL_CHALLENGE_LEN 8

struct control_msg {
	enum control_type type;
	uint8_t reason;				  /* DISCONNECT */
	uint8_t challenge[CONTROL_CHALLENGE_LEN]; /* PATH_PROBE / PATH_REPLY */
	const uint8_t *config;			  /* CONFIG: borrowed from the input */
	size_t config_len;
};

/* Encodes m into out; *ret_len is the bytes written. -ENOSPC / -EINVAL. */
int control_encode(const struct control_msg *m, uint8_t *out, size_t cap, size_t *ret_len);
/* Parses a control message of len bytes (as classified). -EINVAL if malformed. */
int control_decode(struct control_msg *ret, const uint8_t *in, size_t len);

#endif
