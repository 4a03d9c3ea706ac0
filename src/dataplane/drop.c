/* Drop reasons: names, the transport results' reasons, the stats text. */
#include "dataplane/drop.h"

#include <stdio.h>

static const char *const drop_names[DP_DROP_COUNT] = {
    [DP_DROP_NONE] = "none",
    [DP_DROP_TRUNCATED] = "truncated",
    [DP_DROP_TUNNELLED] = "tunnelled",
    [DP_DROP_OVERSIZED] = "oversized",
    [DP_DROP_BAD_TYPE] = "bad_type",
    [DP_DROP_MALFORMED] = "malformed",
    [DP_DROP_MAC1] = "mac1",
    [DP_DROP_RATELIMIT] = "ratelimit",
    [DP_DROP_COOKIE_LIMIT] = "cookie_limit",
    [DP_DROP_HS_QUEUE_FULL] = "hs_queue_full",
    [DP_DROP_UNKNOWN_INDEX] = "unknown_index",
    [DP_DROP_AUTH] = "auth",
    [DP_DROP_REPLAY] = "replay",
    [DP_DROP_EXPIRED] = "expired",
    [DP_DROP_PLAINTEXT] = "plaintext",
    [DP_DROP_CONTROL] = "control",
    [DP_DROP_PATH] = "path_reply",
    [DP_DROP_PATH_LIMIT] = "path_limit",
    [DP_DROP_SPOOFED] = "spoofed",
    [DP_DROP_C2C] = "client_to_client",
    [DP_DROP_NO_SESSION] = "no_session",
    [DP_DROP_UNCONFIRMED] = "unconfirmed",
    [DP_DROP_TUN_WRITE] = "tun_write",
    [DP_DROP_UDP_SEND] = "udp_send",
    [DP_DROP_NO_BUFFER] = "no_buffer",
    [DP_DROP_SEAL] = "seal",
    [DP_DROP_STEALTH] = "stealth_undecodable",
    [DP_DROP_STREAM] = "stream",
    [DP_DROP_RATE_LIMIT] = "user_rate",
    [DP_DROP_QUOTA] = "user_quota",
    [DP_DROP_FQ_OVERLIMIT] = "fq_overlimit",
    [DP_DROP_FQ_CODEL] = "fq_codel",
    [DP_DROP_HANDSHAKE] = "handshake",
};

const char *dp_drop_name(enum dp_drop d)
{
	return (unsigned)d < DP_DROP_COUNT ? drop_names[d] : "unknown";
}

enum dp_drop dp_drop_of_transport(enum transport_result r)
{
	switch (r) {
	case TRANSPORT_OK:
	case TRANSPORT_OK_REKEY:
		return DP_DROP_NONE;
	case TRANSPORT_E_AUTH:
		return DP_DROP_AUTH;
	case TRANSPORT_E_REPLAY:
		return DP_DROP_REPLAY;
	case TRANSPORT_E_EXPIRED:
	case TRANSPORT_E_EXHAUSTED:
		return DP_DROP_EXPIRED;
	case TRANSPORT_E_INDEX:
		return DP_DROP_UNKNOWN_INDEX;
	case TRANSPORT_E_INTERNAL:
	case TRANSPORT_E_SPACE:
		return DP_DROP_SEAL;
	default:
		return DP_DROP_MALFORMED;
	}
}

void dp_drop_format(const uint64_t *drops, char *buf, size_t cap, size_t *pos)
{
	for (int d = DP_DROP_NONE + 1; d < DP_DROP_COUNT && *pos < cap; d++) {
		int n;

		if (!drops[d])
			continue;
		n = snprintf(buf + *pos, cap - *pos, " %s=%llu", dp_drop_name((enum dp_drop)d),
			     (unsigned long long)drops[d]);
		if (n < 0)
			return;
		*pos = (size_t)n < cap - *pos ? *pos + (size_t)n : cap;
	}
}
