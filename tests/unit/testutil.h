/* Helpers shared by the unit tests: locating the shared test vectors (a
 * missing directory fails the test, it never skips), reading files, hex. */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct json_t;

/* Path of a file under the vectors directory ($LL_VECTORS_DIR). Aborts the
 * test run with a clear message when the directory or the file is missing.
 * Returns a static buffer, valid until the next call. */
const char *tu_vector_path(const char *relative);

/* Path of a file under the source tree ($LL_SOURCE_ROOT); aborts if unset. */
const char *tu_source_path(const char *relative);

/* Reads a whole file (NUL-terminated; *ret_len excludes the NUL). Aborts on error. */
char *tu_read_file(const char *path, size_t *ret_len);

/* Decodes a hex string of any even length into a new buffer (*ret_len bytes).
 * Aborts on malformed hex. An empty string gives a non-NULL 1-byte buffer. */
uint8_t *tu_hex(const char *hex, size_t *ret_len);

/* Loads a Wycheproof JSON file from the vectors directory; aborts on error. */
struct json_t *tu_wycheproof_load(const char *name);

/* Key/value blocks of the ML-KEM .txt vector format: calls fn once per case
 * with parallel arrays of names and values. Returns the number of cases. */
typedef void (*tu_kv_case_fn)(void *ctx, size_t n, char **names, char **values);
size_t tu_kv_file_foreach(const char *path, tu_kv_case_fn fn, void *ctx);
/* Value of name in a case, or NULL. */
const char *tu_kv_get(size_t n, char **names, char **values, const char *name);

#endif
