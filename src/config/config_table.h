/* Table-driven configuration (STYLE "Config", after Redis config.c's
 * static_configs[]): every option is declared once, with its TOML path,
 * type, flags, bounds, default and validator, and this engine walks a parsed
 * TOML document against such a table. The same declaration drives parsing,
 * defaults, the --dump-config output (secrets redacted) and reload diffing.
 *
 * Model: an option writes one field of a caller's target struct (offset and
 * size); a struct config_table holds the option array plus, per option,
 * where it was set (struct config_origin), so cross-checks written by the
 * caller can point at the line that is wrong. Several files may feed one
 * table; a key set in two of them is an error naming both places.
 *
 * Diagnostics: every problem becomes one line handed to the caller's sink,
 *   FILE:LINE: key 'table.key': message
 *   FILE:LINE: key 'table.key': warning: message
 *   FILE:LINE:COLUMN: message            (TOML syntax)
 *   FILE: message                        (no line to point at)
 * and the engine carries on, so one run shows every problem. The value of a
 * CONFIG_SENSITIVE option is never echoed: not in a message, not in a dump,
 * and a syntax error on a line holding one is reported without details.
 *
 * Defaults are TOML text parsed by the option's own parser, so a default
 * obeys the same bounds as a written value and prints the same way.
 *
 * it depends on nothing of the project but config/toml.h. */
#ifndef LL_UTIL_CONFIG_TABLE_H
#define LL_UTIL_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct toml_value;

enum config_type {
	CONFIG_BOOL,   /* bool */
	CONFIG_UINT,   /* uint8/16/32/64_t (by .size), an integer in .min .. .max */
	CONFIG_STRING, /* char[.size], a string of .min .. .max bytes, no NUL */
	CONFIG_ENUM,   /* an int-sized enum, a string out of .names */
	CONFIG_CUSTOM, /* .parse fills the field (and .aux), .format prints it */
};

enum config_flags {
	/* A reload may apply a new value; without it the option is immutable:
	 * a reload reports the change and keeps the running value. */
	CONFIG_RELOADABLE = 1 << 0,
	CONFIG_SENSITIVE = 1 << 1, /* a secret: never echoed, redacted in dumps */
	CONFIG_REQUIRED = 1 << 2,  /* no default: a missing key is an error */
};

struct config_name {
	const char *name;
	int value;
};

/* What a parser or validator reports: a message, and optionally the value to
 * point at (an array element) instead of the key. */
struct config_problem {
	char msg[320];
	const struct toml_value *at;
};

struct config_option;
/* Parses v into the option's field(s) of target; 0, or -EINVAL with *ret. */
typedef int (*config_parse_fn)(const struct config_option *o, const struct toml_value *v,
			       void *target, struct config_problem *ret);
/* Validates a parsed value; same contract. */
typedef int (*config_check_fn)(const struct config_option *o, const void *target,
			       struct config_problem *ret);
/* Writes the value as TOML text (always NUL-terminated). */
typedef void (*config_format_fn)(const struct config_option *o, const void *target, char *buf,
				 size_t len);

struct config_option {
	const char *table, *key;
	enum config_type type;
	unsigned flags;	     /* enum config_flags */
	size_t offset, size; /* the field in the target struct */
	size_t aux;	     /* CONFIG_CUSTOM: offset of a second field (a count) */
	/* CONFIG_UINT value, CONFIG_STRING length; CONFIG_CUSTOM: the parser's
	 * to interpret (array length, address family, prefix length) */
	int64_t min, max;
	const struct config_name *names; /* CONFIG_ENUM; ends with {NULL, 0} */
	const char *def;	 /* default as TOML text; NULL: none (the field stays zero) */
	config_parse_fn parse;	 /* CONFIG_CUSTOM */
	config_format_fn format; /* CONFIG_CUSTOM */
	config_check_fn check;	 /* optional, after a successful parse */
	/* Accepted but not (yet) acting: written with a value other than the
	 * default, the option gets this warning. */
	const char *warn;
};

/* Where an option was set; file == NULL: not set, its default applies. */
struct config_origin {
	const char *file;
	int line, column; /* of the key */
	int table_line;	  /* of its table's header, once that table was seen */
	bool invalid;	  /* set, but rejected: the field holds the default */
};

/* Receives one finished diagnostic line (no newline). */
typedef void (*config_sink_fn)(void *ctx, bool is_error, const char *line);

struct config_table {
	const struct config_option *opts;
	size_t n;
	struct config_origin *origin; /* n entries, zeroed by the caller */
	const char *file;	      /* the main file: where missing keys are reported */
	config_sink_fn sink;
	void *sink_ctx;
	unsigned errors, warnings;
};

/* Reads and parses a file (at most 16 MiB). Returns the tree (release with
 * toml_free), or NULL after reporting why. With ret_missing non-NULL a
 * missing file is not an error: NULL is returned and *ret_missing set.
 * Warns when the table holds secrets and the file is readable by others. */
struct toml_value *config_table_read(struct config_table *t, const char *path, bool *ret_missing);
/* Parses a document held in memory; errors are reported as in `name`
 * (a syntax error on a line with a secret withholds the details). */
struct toml_value *config_table_parse(struct config_table *t, const char *name, const char *text,
				      size_t len);

/* Applies the keys of one TOML table to the options of table `name`:
 * unknown keys, wrong types, bounds and validators are reported. */
void config_table_apply(struct config_table *t, const char *file, const struct toml_value *table,
			const char *name, void *target);
/* Applies every table of a document root. only != NULL: the one table this
 * file may hold; anything else at the root is reported. */
void config_table_apply_root(struct config_table *t, const char *file,
			     const struct toml_value *root, const char *only, void *target);
/* Fills every option not set from its default; reports required ones. */
void config_table_defaults(struct config_table *t, void *target);

/* Index of an option, or -1. */
int config_table_find(const struct config_table *t, const char *table, const char *key);
bool config_table_is_set(const struct config_table *t, size_t i);
/* A problem with option i, reported where it was set (or in t->file). */
__attribute__((format(printf, 4, 5))) void
config_table_report(struct config_table *t, bool is_error, size_t i, const char *fmt, ...);
/* A problem at an explicit place; line <= 0: none; key may be NULL. */
__attribute__((format(printf, 6, 7))) void config_table_report_at(struct config_table *t,
								  bool is_error, const char *file,
								  int line, const char *key,
								  const char *fmt, ...);

/* Helpers for parsers: fill *p and return -EINVAL. */
__attribute__((format(printf, 2, 3))) int config_table_fail(struct config_problem *p,
							    const char *fmt, ...);
int config_table_fail_type(struct config_problem *p, const char *expected,
			   const struct toml_value *v);

/* The value of option o in target as TOML text; "\"(redacted)\"" for a
 * sensitive one. */
void config_table_format(const struct config_option *o, const void *target, char *buf, size_t len);
/* s as a TOML basic string, quotes included, cut to fit len. */
void config_table_format_string(const char *s, char *buf, size_t len);

/* Writes "key = value" for each option of table `name`, a comment after the
 * ones that carry a warning. Returns 0 or -EIO. */
int config_table_dump(const struct config_option *opts, size_t n, const char *name,
		      const void *target, FILE *out);
/* Warns about each immutable option whose value differs between old and
 * new ("changed ...; restart to apply"). Returns how many differ. */
unsigned config_table_diff(struct config_table *t, const void *old, const void *new);

#endif
