/* Constant-time base64 for keys. Each 6-bit value maps to its character by
 * arithmetic on masks built from comparisons, never by indexing a table with
 * secret data (the approach of wireguard-tools' encoding.c). */
#include "crypto/keyenc.h"

#include <errno.h>
#include <string.h>

#include "crypto/ct.h"

/* 0xff.. when a < b for small non-negative a, b; computed without a branch. */
static int lt_mask(int a, int b)
{
	return (a - b) >> 8;
}

static char encode6(unsigned v)
{
	int x = (int)v;
	/* 'A'..'Z' for 0..25, 'a'..'z' for 26..51, '0'..'9' for 52..61, then
	 * '+' and '/': start from 'A' + x and add each range's offset once x
	 * has passed the range's start */
	int c = x + 'A';
	c += lt_mask(25, x) & ('a' - 26 - 'A');		 /* +6 */
	c += lt_mask(51, x) & (('0' - 52) - ('a' - 26)); /* -75 */
	c += lt_mask(61, x) & ('+' - 62 - ('0' - 52));	 /* -15 */
	c += lt_mask(62, x) & ('/' - '+' - 1);		 /* +3 */
	return (char)c;
}

/* Value of a base64 character, or -1; no branch on c. */
static int decode6(int c)
{
	int in_upper = ~lt_mask(c, 'A') & lt_mask(c, 'Z' + 1);
	int in_lower = ~lt_mask(c, 'a') & lt_mask(c, 'z' + 1);
	int in_digit = ~lt_mask(c, '0') & lt_mask(c, '9' + 1);
	int is_plus = ~lt_mask(c, '+') & lt_mask(c, '+' + 1);
	int is_slash = ~lt_mask(c, '/') & lt_mask(c, '/' + 1);
	int v = -1;
	v += in_upper & (c - 'A' + 1);
	v += in_lower & (c - 'a' + 26 + 1);
	v += in_digit & (c - '0' + 52 + 1);
	v += is_plus & (62 + 1);
	v += is_slash & (63 + 1);
	return v;
}

void key_to_base64(char ret[static KEY_BASE64_LEN + 1], const uint8_t key[static KEY_LEN])
{
	unsigned i;
	for (i = 0; i < KEY_LEN / 3; i++) {
		const uint8_t *k = key + 3 * i;
		ret[4 * i + 0] = encode6(k[0] >> 2);
		ret[4 * i + 1] = encode6(((k[0] << 4) | (k[1] >> 4)) & 63);
		ret[4 * i + 2] = encode6(((k[1] << 2) | (k[2] >> 6)) & 63);
		ret[4 * i + 3] = encode6(k[2] & 63);
	}
	/* 32 = 30 + 2: the last two bytes make three characters and one '=' */
	ret[4 * i + 0] = encode6(key[30] >> 2);
	ret[4 * i + 1] = encode6(((key[30] << 4) | (key[31] >> 4)) & 63);
	ret[4 * i + 2] = encode6((key[31] << 2) & 63);
	ret[4 * i + 3] = '=';
	ret[KEY_BASE64_LEN] = '\0';
}

int key_from_base64(uint8_t ret_key[static KEY_LEN], const char *b64)
{
	int bad = 0;
	if (strlen(b64) != KEY_BASE64_LEN || b64[KEY_BASE64_LEN - 1] != '=')
		goto fail;
	for (unsigned i = 0; i < KEY_BASE64_LEN / 4; i++) {
		int v[4];
		unsigned n = i == KEY_BASE64_LEN / 4 - 1 ? 3 : 4;
		uint32_t word = 0;
		for (unsigned j = 0; j < n; j++) {
			v[j] = decode6((unsigned char)b64[4 * i + j]);
			bad |= v[j];
			word |= (uint32_t)(v[j] & 63) << (18 - 6 * j);
		}
		ret_key[3 * i] = (uint8_t)(word >> 16);
		ret_key[3 * i + 1] = (uint8_t)(word >> 8);
		if (n == 4)
			ret_key[3 * i + 2] = (uint8_t)word;
		else
			bad |= -(int)((word & 0xff) != 0); /* unused low bits must be zero */
	}
	if (bad >= 0)
		return 0;
fail:
	ct_wipe(ret_key, KEY_LEN);
	return -EINVAL;
}
