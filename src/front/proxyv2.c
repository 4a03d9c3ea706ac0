/* PROXY protocol v2 parser (proxyv2.h). */
#include "front/proxyv2.h"

#include <netinet/in.h>
#include <string.h>

static const uint8_t pp2_sig[PP2_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					     0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static void pp2_v4(struct sockaddr_storage *ss, const uint8_t *a, const uint8_t *p)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	memcpy(&s->sin_addr, a, 4);
	memcpy(&s->sin_port, p, 2);
}

static void pp2_v6(struct sockaddr_storage *ss, const uint8_t *a, const uint8_t *p)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, a, 16);
	memcpy(&s->sin6_port, p, 2);
}

/* Family byte: high nibble address family (0 UNSPEC, 1 INET, 2 INET6,
 * 3 UNIX), low nibble transport (0 UNSPEC, 1 STREAM, 2 DGRAM). Only
 * STREAM (or UNSPEC) fits a TCP listener. */
static int pp2_addresses(const uint8_t *b, size_t alen, struct pp2_info *out)
{
	uint8_t fam = b[13] >> 4, proto = b[13] & 0x0f;
	out->addr_len = 0;
	if (fam > 3 || proto > 2)
		return -1;
	if (out->local || fam == 0 || fam == 3)
		return 0;
	if (proto != 1)
		return -1;
	const uint8_t *a = b + PP2_HDR_LEN;
	if (fam == 1) {
		if (alen < 12)
			return -1;
		pp2_v4(&out->src, a, a + 8);
		pp2_v4(&out->dst, a + 4, a + 10);
		out->addr_len = sizeof(struct sockaddr_in);
	} else {
		if (alen < 36)
			return -1;
		pp2_v6(&out->src, a, a + 32);
		pp2_v6(&out->dst, a + 16, a + 34);
		out->addr_len = sizeof(struct sockaddr_in6);
	}
	return 0;
}

enum pp2_result pp2_parse(const uint8_t *buf, size_t len, struct pp2_info *out)
{
	size_t n = len < PP2_SIG_LEN ? len : PP2_SIG_LEN;
	if (memcmp(buf, pp2_sig, n) != 0)
		return PP2_BAD;
	if (len < 13)
		return PP2_NEED_MORE;
	uint8_t ver = buf[12] >> 4, cmd = buf[12] & 0x0f;
	if (ver != 2 || cmd > 1)
		return PP2_BAD;
	if (len < PP2_HDR_LEN)
		return PP2_NEED_MORE;
	size_t alen = ((size_t)buf[14] << 8) | buf[15];
	if (alen > PP2_MAX_LEN)
		return PP2_BAD;
	if (len < PP2_HDR_LEN + alen)
		return PP2_NEED_MORE;
	memset(out, 0, sizeof(*out));
	out->local = cmd == 0;
	if (pp2_addresses(buf, alen, out) < 0)
		return PP2_BAD;
	out->header_len = PP2_HDR_LEN + alen;
	return PP2_OK;
}
