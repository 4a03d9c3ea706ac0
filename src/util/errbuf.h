/* Filling a caller's error buffer: the "char *err, size_t err_len" pattern
 * of the modules that report one line of text with a return code. */
#ifndef LL_UTIL_ERRBUF_H
#define LL_UTIL_ERRBUF_H

#include <stddef.h>

/* Formats a message into err (skipped when err is NULL or err_len is 0)
 * and returns r, so that a failure path is one `return errbuf_set(...)`. */
int errbuf_set(char *err, size_t err_len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
