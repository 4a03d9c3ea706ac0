/* WebSocket frame codec (ws.h). */
#include "front/ws.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool ws_opcode_known(uint8_t op)
{
	return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

static uint64_t ws_load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Length field: 7-bit, 16-bit (126) or 64-bit (127), each the shortest
 * that fits (RFC 6455 §5.2: "the minimal number of bytes MUST be used"). */
static enum ws_result ws_parse_length(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
	uint8_t l7 = buf[1] & 0x7fu;
	if (l7 < 126) {
		*out = l7;
		return WS_OK;
	}
	size_t n = l7 == 126 ? 2 : 8;
	if (len < *pos + n)
		return WS_NEED_MORE;
	uint64_t v = ws_load_be(buf + *pos, n);
	*pos += n;
	if (n == 2 && v < 126)
		return WS_ERR_LENGTH;
	if (n == 8 && (v <= 0xffffu || (v >> 63) != 0))
		return WS_ERR_LENGTH;
	*out = v;
	return WS_OK;
}

enum ws_result ws_parse_header(const uint8_t *buf, size_t len, bool expect_masked,
			       uint64_t max_payload, struct ws_frame *f)
{
	if (len < 2)
		return WS_NEED_MORE;
	f->fin = (buf[0] & 0x80u) != 0;
	f->opcode = buf[0] & 0x0fu;
	f->masked = (buf[1] & 0x80u) != 0;
	if (buf[0] & 0x70u)
		return WS_ERR_RSV;
	if (!ws_opcode_known(f->opcode))
		return WS_ERR_OPCODE;
	bool control = f->opcode >= WS_OP_CLOSE;
	if (control && (!f->fin || (buf[1] & 0x7fu) > WS_CONTROL_MAX))
		return WS_ERR_CONTROL;
	if (f->masked != expect_masked)
		return WS_ERR_MASK;
	size_t pos = 2;
	enum ws_result r = ws_parse_length(buf, len, &pos, &f->payload_len);
	if (r != WS_OK)
		return r;
	if (f->payload_len > max_payload)
		return WS_ERR_TOO_BIG;
	if (f->masked) {
		if (len < pos + 4)
			return WS_NEED_MORE;
		memcpy(f->mask, buf + pos, 4);
		pos += 4;
	} else {
		memset(f->mask, 0, sizeof(f->mask));
	}
	f->header_len = pos;
	return WS_OK;
}

size_t ws_build_header(uint8_t *out, bool fin, uint8_t opcode, const uint8_t *mask,
		       uint64_t payload_len)
{
	size_t pos = 2;
	out[0] = (uint8_t)((fin ? 0x80u : 0) | (opcode & 0x0fu));
	uint8_t mbit = mask ? 0x80u : 0;
	if (payload_len < 126) {
		out[1] = (uint8_t)(mbit | payload_len);
	} else if (payload_len <= 0xffffu) {
		out[1] = (uint8_t)(mbit | 126u);
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		pos = 4;
	} else {
		out[1] = (uint8_t)(mbit | 127u);
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
		pos = 10;
	}
	if (mask) {
		memcpy(out + pos, mask, 4);
		pos += 4;
	}
	return pos;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3u];
}

static int ws_b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* 16 bytes encode to 22 characters and "==": the 22nd carries 2 bits, so
 * its low 4 bits must be zero for the encoding to be canonical. */
bool ws_key_valid(const uint8_t *key, size_t len)
{
	if (len != WS_KEY_LEN || key[22] != '=' || key[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (ws_b64_value(key[i]) < 0)
			return false;
	return (ws_b64_value(key[21]) & 0x0f) == 0;
}

int ws_accept_key(const uint8_t *key, size_t len, char *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
		 EVP_DigestUpdate(ctx, key, len) &&
		 EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	out[WS_ACCEPT_LEN] = '\0';
	return 0;
}

size_t ws_build_close(uint8_t *out, uint16_t code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > WS_CONTROL_MAX - 2)
		rl = WS_CONTROL_MAX - 2;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (rl)
		memcpy(out + 2, reason, rl);
	return 2 + rl;
}

/* Codes a peer may put on the wire (§7.4.1, §7.4.2): 1000-1003, 1007-1011,
 * and 3000-4999; 1004-1006 and 1015 are reserved for local use. */
static bool ws_close_code_ok(uint16_t c)
{
	if (c >= 3000 && c <= 4999)
		return true;
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011);
}

int ws_parse_close(const uint8_t *payload, size_t len, uint16_t *code)
{
	if (len == 0) {
		*code = 1005;
		return 0;
	}
	if (len == 1 || len > WS_CONTROL_MAX)
		return -EINVAL;
	*code = (uint16_t)((payload[0] << 8) | payload[1]);
	return ws_close_code_ok(*code) ? 0 : -EINVAL;
}

const char *ws_result_name(enum ws_result r)
{
	switch (r) {
	case WS_NEED_MORE:
		return "need-more";
	case WS_OK:
		return "ok";
	case WS_ERR_RSV:
		return "rsv";
	case WS_ERR_OPCODE:
		return "opcode";
	case WS_ERR_CONTROL:
		return "control";
	case WS_ERR_LENGTH:
		return "length";
	case WS_ERR_MASK:
		return "mask";
	case WS_ERR_TOO_BIG:
		return "too-big";
	}
	return "?";
}
