/* What a decrypted transport plaintext carries (messages.h), and the control
 * messages sent inside the tunnel.
 *
 * The peer is authenticated but not trusted: every length read from the
 * plaintext is checked against the bytes actually there, and the padding the
 * sender added (transport_seal pads with zeros) must be zeros, so a peer
 * cannot smuggle bytes past the classifier. IP header fields are big-endian
 * (RFC 791 §3.1, RFC 8200 §3); control fields are little-endian like the
 * rest of the protocol. */
#include "protocol/control.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util/endian.h"

enum {
	IPV4_HEADER_MIN = 20,
	IPV6_HEADER_LEN = 40,
	CONTROL_DISCONNECT_LEN = 2,
	CONTROL_CONFIG_HEADER_LEN = 3,
	CONTROL_PATH_LEN = 1 + CONTROL_CHALLENGE_LEN,
};

static bool is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Total length from an IPv4 header, or 0 if the header is inconsistent. */
static size_t ipv4_len(const uint8_t *plain, size_t len)
{
	if (len < IPV4_HEADER_MIN)
		return 0;
	size_t ihl = (size_t)(plain[0] & 0x0f) * 4;
	size_t total = be16_load(plain + 2);
	if (ihl < IPV4_HEADER_MIN || total < ihl || total > len)
		return 0;
	return total;
}

static size_t ipv6_len(const uint8_t *plain, size_t len)
{
	if (len < IPV6_HEADER_LEN)
		return 0;
	size_t total = IPV6_HEADER_LEN + (size_t)be16_load(plain + 4);
	return total <= len ? total : 0;
}

/* Bytes a control message of this type has before its variable part: the
 * whole message for all types but CONFIG. 0 for an unknown type. */
static size_t head_len(unsigned type)
{
	switch (type) {
	case CONTROL_DISCONNECT:
		return CONTROL_DISCONNECT_LEN;
	case CONTROL_CONFIG:
		return CONTROL_CONFIG_HEADER_LEN;
	case CONTROL_PATH_PROBE:
	case CONTROL_PATH_REPLY:
		return CONTROL_PATH_LEN;
	default:
		return 0;
	}
}

/* Length of the control message at plain[0], or 0 if its type is unknown
 * or it does not fit. */
static size_t control_len(const uint8_t *plain, size_t len)
{
	size_t need = head_len(plain[0]);
	if (need == 0 || need > len)
		return 0;
	if (plain[0] == CONTROL_CONFIG)
		need += le16_load(plain + 1);
	return need <= len ? need : 0;
}

/* Flat dispatch on the first nibble (messages.h, "Plaintext of a transport
 * packet"); each arm finds the message length, the tail must be padding. */
enum plain_kind control_classify(const uint8_t *plain, size_t len, size_t *ret_inner_len)
{
	enum plain_kind kind;
	size_t inner = 0;

	*ret_inner_len = 0;
	if (len == 0 || is_zero(plain, len))
		return PLAIN_KEEPALIVE;
	switch (plain[0] >> 4) {
	case 4:
		kind = PLAIN_IPV4;
		inner = ipv4_len(plain, len);
		break;
	case 6:
		kind = PLAIN_IPV6;
		inner = ipv6_len(plain, len);
		break;
	case 0:
		kind = PLAIN_CONTROL;
		inner = control_len(plain, len);
		break;
	default:
		return PLAIN_INVALID;
	}
	if (inner == 0 || !is_zero(plain + inner, len - inner))
		return PLAIN_INVALID;
	*ret_inner_len = inner;
	return kind;
}

static bool config_len_ok(size_t n)
{
	/* the same bounds as the parameters in a handshake response */
	return n >= 1 && n <= MSG_PARAMS_MAX;
}

static size_t encoded_len(const struct control_msg *m)
{
	size_t n = head_len((unsigned)m->type);
	if (m->type != CONTROL_CONFIG)
		return n;
	if (!m->config || !config_len_ok(m->config_len))
		return 0;
	return n + m->config_len;
}

int control_encode(const struct control_msg *m, uint8_t *out, size_t cap, size_t *ret_len)
{
	size_t n = encoded_len(m);
	if (n == 0)
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	out[0] = (uint8_t)m->type;
	if (m->type == CONTROL_DISCONNECT) {
		out[1] = m->reason;
	} else if (m->type == CONTROL_CONFIG) {
		le16_store(out + 1, (uint16_t)m->config_len);
		memcpy(out + CONTROL_CONFIG_HEADER_LEN, m->config, m->config_len);
	} else {
		memcpy(out + 1, m->challenge, CONTROL_CHALLENGE_LEN);
	}
	*ret_len = n;
	return 0;
}

/* len must be exactly the message: control_classify has already split off
 * the padding, so any mismatch is a malformed message, not slack. A
 * disconnect reason outside enum disconnect_reason is kept as is: it still
 * means "disconnect", and a newer peer may know more reasons. */
int control_decode(struct control_msg *ret, const uint8_t *in, size_t len)
{
	memset(ret, 0, sizeof(*ret));
	if (len == 0 || control_len(in, len) != len)
		return -EINVAL;
	if (in[0] == CONTROL_CONFIG && !config_len_ok(len - CONTROL_CONFIG_HEADER_LEN))
		return -EINVAL;
	ret->type = (enum control_type)in[0];
	if (ret->type == CONTROL_DISCONNECT) {
		ret->reason = in[1];
	} else if (ret->type == CONTROL_CONFIG) {
		ret->config = in + CONTROL_CONFIG_HEADER_LEN;
		ret->config_len = len - CONTROL_CONFIG_HEADER_LEN;
	} else {
		memcpy(ret->challenge, in + 1, CONTROL_CHALLENGE_LEN);
	}
	return 0;
}
