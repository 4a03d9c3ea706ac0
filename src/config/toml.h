/* TOML 1.0 document parser (https://toml.io/en/v1.0.0).
 *
 * toml_parse() reads a whole document into an immutable tree whose root is a
 * table. Each value records where it was defined and each table entry where
 * its key was written, so a config loader on top can report
 * "file:line: key 'x.y': message". Lines and columns are 1-based; columns
 * count characters (UTF-8 code points), a tab counting as one.
 *
 * Hostile input: tables and arrays nest at most TOML_MAX_DEPTH levels, the
 * input is at most TOML_MAX_INPUT bytes (callers should cap what they read far
 * lower), numbers at most TOML_MAX_NUMBER characters. Parsing takes
 * O(n log n) time and O(n) memory; recursion is bounded by the depth limit.
 *
 * Plain libc only: util/ depends on nothing else of the project.
 */
#ifndef LL_UTIL_TOML_H
#define LL_UTIL_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_limits {
	TOML_MAX_DEPTH = 128,	  /* nested tables/arrays below the root */
	TOML_MAX_NUMBER = 1024,	  /* characters in one integer or float token */
	TOML_MAX_INPUT = 1 << 30, /* bytes */
	TOML_DATETIME_LEN = 40,	  /* buffer for toml_datetime_format(), NUL included */
};

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,	     /* offset date-time: 1979-05-27T07:32:00-07:00 */
	TOML_DATETIME_LOCAL, /* local date-time: 1979-05-27T07:32:00 */
	TOML_DATE_LOCAL,     /* local date: 1979-05-27 */
	TOML_TIME_LOCAL,     /* local time: 07:32:00.999 */
};

struct toml_value;

/* Filled by toml_parse() on failure. A caller shows it as
 * "line %d, column %d: %s", e.g. "line 4, column 1: duplicate key 'port'". */
struct toml_error {
	int line, column;
	char msg[160];
};

/* One of the four date/time kinds; type says which fields are meaningful:
 * the date for all but TOML_TIME_LOCAL, the time for all but TOML_DATE_LOCAL,
 * the offset for TOML_DATETIME only. */
struct toml_datetime {
	enum toml_type type;
	int year, month, day;
	int hour, minute, second; /* second may be 60 (RFC 3339 leap second) */
	int nanosecond;		  /* fraction, truncated (not rounded) to 9 digits */
	int frac_digits;	  /* fraction digits kept (0-9), to re-emit the text */
	int offset_minutes;	  /* local time minus UTC; 'Z' is 0 */
};

/* A table entry, as returned by toml_table_entry(). */
struct toml_entry {
	const char *key; /* NUL-terminated, but quoted keys may hold NULs: see key_len */
	size_t key_len;
	const struct toml_value *value;
	int line, column; /* where the key was written */
};

/* Parses len bytes of text (need not be NUL-terminated; a leading UTF-8 BOM is
 * skipped). Returns the root table, to release with toml_free(), or NULL with
 * *ret_err filled (ret_err may be NULL). */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *ret_err);

/* Frees a tree returned by toml_parse(); accepts NULL. */
void toml_free(struct toml_value *root);

/* The type of v, which must not be NULL; its name for messages ("table",
 * "integer", "local date", ...). */
enum toml_type toml_type(const struct toml_value *v);
const char *toml_type_name(enum toml_type type);

/* Where v was defined: a [header] table at its '[', a table made by a dotted key
 * or a header prefix at that key, any other value at its first character. */
void toml_position(const struct toml_value *v, int *ret_line, int *ret_column);

/* Tables keep their keys in the order they were first defined. The length is
 * 0 and lookups give NULL when table is not a table (or is NULL). */
size_t toml_table_len(const struct toml_value *table);
const struct toml_value *toml_table_get(const struct toml_value *table, const char *key);
/* The i-th entry, in definition order. Returns 0, or -EINVAL if out of range. */
int toml_table_entry(const struct toml_value *table, size_t i, struct toml_entry *ret);

size_t toml_array_len(const struct toml_value *array);
const struct toml_value *toml_array_get(const struct toml_value *array, size_t i);

/* Scalar accessors: 0, or -EINVAL if v is NULL or of another type (there is
 * no conversion, not even integer to float). Strings are NUL-terminated but
 * may hold NULs (from "\u0000"): check *ret_len when that matters; ret_len may
 * be NULL. Pointers stay valid until toml_free(). */
int toml_get_string(const struct toml_value *v, const char **ret, size_t *ret_len);
int toml_get_int(const struct toml_value *v, int64_t *ret);
int toml_get_float(const struct toml_value *v, double *ret);
int toml_get_bool(const struct toml_value *v, bool *ret);
/* Any of the four date/time types. */
int toml_get_datetime(const struct toml_value *v, struct toml_datetime *ret);

/* Writes the canonical RFC 3339 / TOML text of dt: 'T' between date and time,
 * the fraction with frac_digits digits, "Z" for a zero offset, else "+hh:mm".
 * Returns the length written (buf is always NUL-terminated). */
size_t toml_datetime_format(const struct toml_datetime *dt, char buf[static TOML_DATETIME_LEN]);

#endif
