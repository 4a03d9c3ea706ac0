/* TAI64N timestamps (cr.yp.to/libtai/tai64.html) as carried in handshake
 * initiations: 8-byte big-endian label 2^62 + 10 + unix seconds, then 4-byte
 * big-endian nanoseconds. Big-endian so that byte order is time order. */
#ifndef LL_PROTOCOL_TAI64N_H
#define LL_PROTOCOL_TAI64N_H

#include <stdbool.h>
#include <stdint.h>

#define TAI64N_LEN 12

void tai64n_encode(uint8_t ret[static TAI64N_LEN], uint64_t unix_ns);
/* Returns 0, or -EINVAL for a label before 1970 or nanoseconds >= 10^9. */
int tai64n_decode(const uint8_t in[static TAI64N_LEN], uint64_t *ret_unix_ns);
/* True if a is strictly later than b. */
bool tai64n_is_after(const uint8_t a[static TAI64N_LEN], const uint8_t b[static TAI64N_LEN]);

#endif
