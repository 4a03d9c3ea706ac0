/* Internals shared by toml.c (document structure), toml_scalar.c (strings,
 * numbers, dates) and toml_tree.c (the value tree). Not part of the API. */
#ifndef LL_UTIL_TOML_IMPL_H
#define LL_UTIL_TOML_IMPL_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"

/* How a table or array came to be; drives TOML 1.0's redefinition rules
 * (see the model comment in toml.c). */
enum toml_flags {
	TOML_F_IMPLICIT = 1 << 0, /* table: prefix of a [header], may still get its own */
	TOML_F_HEADER = 1 << 1,	  /* table: defined by [header] or a [[header]] element */
	TOML_F_DOTTED = 1 << 2,	  /* table: created by a dotted key */
	TOML_F_INLINE = 1 << 3,	  /* inline table or array literal: frozen once closed */
	TOML_F_AOT = 1 << 4,	  /* array: array of tables built by [[header]] */
};

#define TOML_NIL UINT32_MAX

/* A table entry. Entries sit in definition order in an array, and are also
 * linked into an AA tree by key (left/right/level) so that lookups stay
 * O(log n) whatever keys an attacker picks. */
struct toml_slot {
	char *key;
	size_t key_len;
	struct toml_value *value;
	int line, column;
	uint32_t left, right, level;
};

struct toml_value {
	uint8_t type;
	uint8_t flags;
	uint16_t depth; /* containers above this value; <= TOML_MAX_DEPTH + 1 */
	int line, column;
	union {
		struct {
			struct toml_slot *items;
			uint32_t len, cap, root;
		} table;
		struct {
			struct toml_value **items;
			size_t len, cap;
		} array;
		struct {
			char *ptr;
			size_t len;
		} str;
		int64_t integer;
		double fp;
		bool boolean;
		struct toml_datetime dt;
	} u;
};

struct toml_parser {
	const char *s;
	size_t len, pos;
	size_t start; /* after the BOM */
	/* Line/column of memo_pos; positions are asked for in increasing order,
	 * so locating them costs O(n) in total (see toml_locate). */
	size_t memo_pos;
	int memo_line, memo_col;
	struct toml_value *root, *cur;
	struct toml_error *err;
	bool failed;
	char *buf; /* decoded string scratch, reused */
	size_t buf_len, buf_cap;
	locale_t c_locale; /* for strtod_l(); made on first float */
};

/* toml_tree.c */
struct toml_value *toml_node_new(enum toml_type type, int depth, int line, int column);
struct toml_slot *toml_node_find(const struct toml_value *table, const char *key, size_t len);
/* Adds key (absent, checked by the caller) to table. Takes ownership of key
 * (malloc'd, NUL-terminated) and value, also on failure. Returns 0 or -ENOMEM. */
int toml_node_insert(struct toml_value *table, char *key, size_t key_len, struct toml_value *value,
		     int line, int column);
/* Appends value to array; takes ownership, also on failure. 0 or -ENOMEM. */
int toml_node_push(struct toml_value *array, struct toml_value *value);

/* toml.c */
void toml_locate(struct toml_parser *p, size_t pos, int *ret_line, int *ret_column);
__attribute__((format(printf, 3, 4))) int toml_fail(struct toml_parser *p, size_t pos,
						    const char *fmt, ...);
int toml_oom(struct toml_parser *p);
/* "'x'", "end of input", ...: what sits at pos, for messages. */
const char *toml_describe(const struct toml_parser *p, size_t pos, char buf[static 24]);

/* toml_scalar.c */
/* Offset of the first byte that is not well-formed UTF-8, or len. */
size_t toml_utf8_invalid_at(const char *s, size_t len);
/* Decodes the string at p->pos into p->buf (NUL-terminated, p->buf_len bytes)
 * and moves past it. Multi-line forms are refused when is_key. */
int toml_scan_string(struct toml_parser *p, bool is_key);
/* Parses a string, boolean, number or date/time at p->pos. */
int toml_parse_scalar(struct toml_parser *p, struct toml_value **ret);

#endif
