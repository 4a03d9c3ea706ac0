/* Hexadecimal encoding for test vectors, logs of public values and the CLI.
 * Not constant time: never feed it secrets except in tests. */
#ifndef LL_UTIL_HEX_H
#define LL_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Value of one hex digit (either case), or -1. */
int hex_digit(int c);

/* Decodes exactly 2*len hex digits (either case) from str into out.
 * Returns 0, or -EINVAL on a bad digit or a length mismatch (strlen(str) != 2*len). */
int hex_decode(uint8_t *out, size_t len, const char *str);

/* Writes 2*len lower-case digits and a NUL into out (size >= 2*len + 1). */
void hex_encode(char *out, const uint8_t *in, size_t len);

#endif
