#include "crypto/ct.h"

#include <openssl/crypto.h>

bool ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	/* 1 when acc == 0, computed without a branch on acc */
	return (bool)(1 & ((uint32_t)(acc - 1) >> 8));
}

bool ct_is_zero(const void *p, size_t n)
{
	const volatile uint8_t *x = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= x[i];
	return (bool)(1 & ((uint32_t)(acc - 1) >> 8));
}

void ct_cmov(void *dst, const void *src, size_t n, uint8_t cond)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	/* 0xff when cond == 1; the volatile read keeps the compiler from
	 * turning the mask back into a branch */
	volatile uint8_t vmask = (uint8_t)-cond;
	uint8_t mask = vmask;
	for (size_t i = 0; i < n; i++)
		d[i] ^= mask & (d[i] ^ s[i]);
}

void ct_wipe(void *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
}
