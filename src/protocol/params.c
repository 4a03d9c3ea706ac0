/* Session parameter TLVs (params.h). The decoder is strict: every length is
 * checked against its type, values are range-checked, and a critical type
 * it does not know is refused rather than silently ignored. */
#include "protocol/params.h"

#include <errno.h>
#include <string.h>

#include "protocol/messages.h"
#include "util/endian.h"

#define OPTIONAL_TLV_BASE 0x80

struct writer {
	uint8_t *out;
	size_t cap, len;
	int err;
};

static void put(struct writer *w, uint8_t type, const void *value, uint8_t len)
{
	if (w->err || w->cap - w->len < 2u + len) {
		w->err = -ENOSPC;
		return;
	}
	w->out[w->len++] = type;
	w->out[w->len++] = len;
	memcpy(w->out + w->len, value, len);
	w->len += len;
}

static void put_u16(struct writer *w, uint8_t type, uint16_t v)
{
	uint8_t b[2];
	le16_store(b, v);
	put(w, type, b, 2);
}

static void put_u32(struct writer *w, uint8_t type, uint32_t v)
{
	uint8_t b[4];
	le32_store(b, v);
	put(w, type, b, 4);
}

static void put_u64(struct writer *w, uint8_t type, uint64_t v)
{
	uint8_t b[8];
	le64_store(b, v);
	put(w, type, b, 8);
}

static void put_addr(struct writer *w, uint8_t type, const uint8_t *addr, size_t len,
		     uint8_t prefix)
{
	uint8_t b[17];
	memcpy(b, addr, len);
	b[len] = prefix;
	put(w, type, b, (uint8_t)(len + 1));
}

static bool params_valid(const struct session_params *p)
{
	if (cipher_overhead(p->mode) == 0 || p->n_dns4 > PARAMS_MAX_DNS ||
	    p->n_dns6 > PARAMS_MAX_DNS)
		return false;
	if ((p->has_addr4 && p->prefix4 > 32) || (p->has_addr6 && p->prefix6 > 128))
		return false;
	if (p->mtu && (p->mtu < 576 || (p->has_addr6 && p->mtu < 1280)))
		return false;
	return p->rekey_time_s == 0 || p->rekey_time_s >= 5;
}

int params_encode(const struct session_params *p, uint8_t *out, size_t cap, size_t *ret_len)
{
	struct writer w = {.out = out, .cap = cap};
	if (!params_valid(p))
		return -EINVAL;
	uint8_t mode = (uint8_t)p->mode;
	put(&w, PARAMS_T_CIPHER, &mode, 1);
	if (p->has_addr4)
		put_addr(&w, PARAMS_T_ADDR4, p->addr4, 4, p->prefix4);
	if (p->has_addr6)
		put_addr(&w, PARAMS_T_ADDR6, p->addr6, 16, p->prefix6);
	for (unsigned i = 0; i < p->n_dns4; i++)
		put(&w, PARAMS_T_DNS4, p->dns4[i], 4);
	for (unsigned i = 0; i < p->n_dns6; i++)
		put(&w, PARAMS_T_DNS6, p->dns6[i], 16);
	if (p->mtu)
		put_u16(&w, PARAMS_T_MTU, p->mtu);
	put_u16(&w, PARAMS_T_KEEPALIVE, p->keepalive_s);
	if (p->rekey_time_s)
		put_u32(&w, PARAMS_T_REKEY_TIME, p->rekey_time_s);
	if (p->update_bytes)
		put_u64(&w, PARAMS_T_UPDATE_BYTES, p->update_bytes);
	*ret_len = w.len;
	return w.err;
}

int params_encoded_len(const struct session_params *p, size_t *ret_len)
{
	uint8_t scratch[2 * MSG_PARAMS_MAX];

	return params_encode(p, scratch, sizeof(scratch), ret_len);
}

int params_fit(const struct session_params *p, size_t cap, struct session_params *ret,
	       bool *ret_cut)
{
	size_t len;
	int r;

	*ret = *p;
	*ret_cut = false;
	while ((r = params_encoded_len(ret, &len)) == 0 && len > cap) {
		if (ret->n_dns6)
			memset(ret->dns6[--ret->n_dns6], 0, 16);
		else if (ret->n_dns4)
			memset(ret->dns4[--ret->n_dns4], 0, 4);
		else
			return -ENOSPC;
		*ret_cut = true;
	}
	return r;
}

/* Expected value length per critical type; 0 = unknown type. */
static uint8_t tlv_len(uint8_t type)
{
	static const uint8_t lens[] = {
	    [PARAMS_T_CIPHER] = 1,    [PARAMS_T_ADDR4] = 5,	 [PARAMS_T_ADDR6] = 17,
	    [PARAMS_T_DNS4] = 4,      [PARAMS_T_DNS6] = 16,	 [PARAMS_T_MTU] = 2,
	    [PARAMS_T_KEEPALIVE] = 2, [PARAMS_T_REKEY_TIME] = 4, [PARAMS_T_UPDATE_BYTES] = 8,
	};
	return type < sizeof(lens) ? lens[type] : 0;
}

/* Flat dispatch over the TLV types; each case stores one value. */
static int take(struct session_params *p, uint8_t type, const uint8_t *v)
{
	switch (type) {
	case PARAMS_T_CIPHER:
		p->mode = (enum cipher_mode)v[0];
		return cipher_overhead(p->mode) ? 0 : -EINVAL;
	case PARAMS_T_ADDR4:
		memcpy(p->addr4, v, 4);
		p->prefix4 = v[4];
		p->has_addr4 = true;
		return v[4] <= 32 ? 0 : -EINVAL;
	case PARAMS_T_ADDR6:
		memcpy(p->addr6, v, 16);
		p->prefix6 = v[16];
		p->has_addr6 = true;
		return v[16] <= 128 ? 0 : -EINVAL;
	case PARAMS_T_DNS4:
		if (p->n_dns4 == PARAMS_MAX_DNS)
			return -EINVAL;
		memcpy(p->dns4[p->n_dns4++], v, 4);
		return 0;
	case PARAMS_T_DNS6:
		if (p->n_dns6 == PARAMS_MAX_DNS)
			return -EINVAL;
		memcpy(p->dns6[p->n_dns6++], v, 16);
		return 0;
	case PARAMS_T_MTU:
		p->mtu = le16_load(v);
		return 0;
	case PARAMS_T_KEEPALIVE:
		p->keepalive_s = le16_load(v);
		return 0;
	case PARAMS_T_REKEY_TIME:
		p->rekey_time_s = le32_load(v);
		return 0;
	case PARAMS_T_UPDATE_BYTES:
		p->update_bytes = le64_load(v);
		return 0;
	}
	return -EINVAL;
}

static int decode(struct session_params *p, const uint8_t *in, size_t len)
{
	uint32_t seen = 0;
	for (size_t off = 0; off < len;) {
		if (len - off < 2 || len - off - 2 < in[off + 1])
			return -EINVAL;
		uint8_t type = in[off], vlen = in[off + 1];
		const uint8_t *v = in + off + 2;
		off += 2u + vlen;
		if (type >= OPTIONAL_TLV_BASE)
			continue;
		bool repeatable = type == PARAMS_T_DNS4 || type == PARAMS_T_DNS6;
		if (tlv_len(type) == 0 || tlv_len(type) != vlen ||
		    (!repeatable && (seen & (1u << type))))
			return -EINVAL;
		seen |= 1u << type;
		if (take(p, type, v) < 0)
			return -EINVAL;
	}
	if (!(seen & (1u << PARAMS_T_CIPHER)))
		return -EINVAL;
	return params_valid(p) ? 0 : -EINVAL;
}

int params_decode(struct session_params *ret, const uint8_t *in, size_t len)
{
	memset(ret, 0, sizeof(*ret));
	int r = decode(ret, in, len);
	if (r < 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}
