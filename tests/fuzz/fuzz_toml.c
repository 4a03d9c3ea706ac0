/* libFuzzer target for config/toml: parses the input, then walks the whole tree
 * through the public API and checks what must hold of any tree:
 *  - a refusal has a position and a message;
 *  - every key is found again by toml_table_get() (when it has no NUL);
 *  - positions are 1-based, strings are NUL-terminated at their length;
 *  - the canonical text of a date/time parses back to the same fields.
 * A broken invariant aborts, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_datetime(const struct toml_value *v)
{
	struct toml_datetime dt, again;
	char doc[TOML_DATETIME_LEN + 8] = "d = ";
	check(toml_get_datetime(v, &dt) == 0);
	size_t n = toml_datetime_format(&dt, doc + 4);
	check(n > 0 && n < TOML_DATETIME_LEN);
	struct toml_value *root = toml_parse(doc, 4 + n, NULL);
	check(root && toml_get_datetime(toml_table_get(root, "d"), &again) == 0);
	check(memcmp(&dt, &again, sizeof(dt)) == 0);
	toml_free(root);
}

static void walk(const struct toml_value *v);

static void walk_table(const struct toml_value *t)
{
	struct toml_entry e;
	for (size_t i = 0; i < toml_table_len(t); i++) {
		check(toml_table_entry(t, i, &e) == 0);
		check(e.line >= 1 && e.column >= 1 && e.key[e.key_len] == '\0');
		if (strlen(e.key) == e.key_len)
			check(toml_table_get(t, e.key) == e.value);
		walk(e.value);
	}
	check(toml_table_entry(t, toml_table_len(t), &e) != 0);
}

/* Recursion is bounded by TOML_MAX_DEPTH. */
static void walk(const struct toml_value *v)
{
	const char *s;
	size_t len;
	int line, column;
	toml_position(v, &line, &column);
	check(line >= 1 && column >= 1);
	switch (toml_type(v)) {
	case TOML_TABLE:
		walk_table(v);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < toml_array_len(v); i++)
			walk(toml_array_get(v, i));
		check(toml_array_get(v, toml_array_len(v)) == NULL);
		break;
	case TOML_STRING:
		check(toml_get_string(v, &s, &len) == 0 && s[len] == '\0');
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		check_datetime(v);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_value *root = toml_parse((const char *)data, size, &err);
	if (!root) {
		check(err.line >= 1 && err.column >= 1 && err.msg[0] != '\0');
		return 0;
	}
	walk(root);
	toml_free(root);
	return 0;
}
