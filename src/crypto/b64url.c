/* Strict base64url; see b64url.h. Characters map to values by arithmetic on
 * comparison masks, as crypto/keyenc.c does for standard base64. */
#include "crypto/b64url.h"

#include <errno.h>
#include <string.h>

/* Whether a text was valid is public (the caller answers it); tests/ct
 * defines this to tell valgrind so, as mlkem.c's MLKEM_CT_DECLASSIFY. */
#ifndef B64URL_CT_DECLASSIFY
#define B64URL_CT_DECLASSIFY(p, n) ((void)0)
#endif

/* all ones when a < b, for small non-negative a and b; no branch */
static int lt_mask(int a, int b)
{
	return (a - b) >> 8;
}

static char encode6(unsigned v)
{
	int x = (int)v;
	int c = x + 'A';
	c += lt_mask(25, x) & ('a' - 26 - 'A');
	c += lt_mask(51, x) & (('0' - 52) - ('a' - 26));
	c += lt_mask(61, x) & ('-' - 62 - ('0' - 52));
	c += lt_mask(62, x) & ('_' - '-' - 1);
	return (char)c;
}

/* value of a base64url character, or -1; no branch on c */
static int decode6(int c)
{
	int in_upper = ~lt_mask(c, 'A') & lt_mask(c, 'Z' + 1);
	int in_lower = ~lt_mask(c, 'a') & lt_mask(c, 'z' + 1);
	int in_digit = ~lt_mask(c, '0') & lt_mask(c, '9' + 1);
	int is_dash = ~lt_mask(c, '-') & lt_mask(c, '-' + 1);
	int is_under = ~lt_mask(c, '_') & lt_mask(c, '_' + 1);
	int v = -1;
	v += in_upper & (c - 'A' + 1);
	v += in_lower & (c - 'a' + 26 + 1);
	v += in_digit & (c - '0' + 52 + 1);
	v += is_dash & (62 + 1);
	v += is_under & (63 + 1);
	return v;
}

int b64url_encode(char *out, size_t out_len, const uint8_t *in, size_t n)
{
	size_t len = b64url_len(n), o = 0, i;
	if (out_len < len + 1)
		return -ENOSPC;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		for (int j = 0; j < 4; j++)
			out[o++] = encode6((w >> (18 - 6 * j)) & 63);
	}
	if (n - i == 1) {
		out[o++] = encode6(in[i] >> 2);
		out[o++] = encode6((in[i] << 4) & 63);
	} else if (n - i == 2) {
		uint32_t w = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = encode6(w >> 10);
		out[o++] = encode6((w >> 4) & 63);
		out[o++] = encode6((w << 2) & 63);
	}
	out[o] = '\0';
	return (int)len;
}

int b64url_decode(uint8_t *out, size_t out_len, const char *in, size_t len)
{
	size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0), o = 0;
	uint32_t acc = 0;
	int bits = 0, bad = 0;
	if (len % 4 == 1 || len > (size_t)INT32_MAX)
		return -EINVAL;
	if (out_len < n)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		int v = decode6((unsigned char)in[i]);
		bad |= v >> 8; /* -1 sets every bit */
		acc = acc << 6 | ((unsigned)v & 63);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* the bits left over must be zero: one text per byte string */
	bad |= (int)(acc & ((1u << bits) - 1));
	B64URL_CT_DECLASSIFY(&bad, sizeof(bad));
	if (bad) {
		memset(out, 0, n);
		return -EINVAL;
	}
	return (int)n;
}
