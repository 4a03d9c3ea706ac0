/* Constant-time helpers and secret wiping.
 *
 * Everything here runs in time independent of the *contents* of its inputs
 * (lengths are public). tests/ct checks this under valgrind memcheck. */
#ifndef LL_CRYPTO_CT_H
#define LL_CRYPTO_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when a[0..n) == b[0..n); no early exit. */
bool ct_memeq(const void *a, const void *b, size_t n);

/* true when p[0..n) is all zero; no early exit. */
bool ct_is_zero(const void *p, size_t n);

/* dst = cond ? src : dst, for cond in {0, 1}; no branch on cond. */
void ct_cmov(void *dst, const void *src, size_t n, uint8_t cond);

/* Overwrites n bytes in a way the compiler may not elide (OPENSSL_cleanse). */
void ct_wipe(void *p, size_t n);

#endif
