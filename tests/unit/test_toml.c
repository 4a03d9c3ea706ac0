/* TOML parser (config/toml*.c).
 *
 * 1. The toml-test suite for TOML 1.0.0 from the vectors directory: every
 *    valid/ case must parse and equal its tagged JSON under toml-test's own
 *    comparison rules (see vectors/toml-test/README.md), every invalid/ case
 *    must be refused. The expected JSON is read by a small reader below:
 *    jansson refuses NUL in object keys, which valid/key/quoted-unicode has.
 * 2. Error positions, definition positions, the accessors and the canonical
 *    date/time text, as numbered tables.
 * 3. Hostile input: nesting limits, and sizes that would show a quadratic
 *    cost (huge arrays and tables, one very long line).
 * 4. Randomized differential tests: integers and floats against printf and
 *    strtod, table lookups against a linear search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testutil.h"
#include "config/toml.h"

/* A growable string, for building large documents. */
struct sb {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
}

static void sb_repeat(struct sb *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		sb_printf(b, "%s", s);
}

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		b->cap = b->cap * 2 + n + 64;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* ---- the expected JSON: objects, arrays and strings only ---------------- */

enum json_kind { J_OBJECT, J_ARRAY, J_STRING };

struct json {
	enum json_kind kind;
	char *str; /* J_STRING, may hold NULs */
	size_t len;
	size_t n;	     /* members or elements */
	struct sb *keys;     /* J_OBJECT: n keys */
	struct json **items; /* J_OBJECT, J_ARRAY: n values */
};

struct jreader {
	const char *s, *end;
};

static void json_free(struct json *j)
{
	for (size_t i = 0; j && i < j->n; i++) {
		if (j->keys)
			free(j->keys[i].s);
		json_free(j->items[i]);
	}
	if (j) {
		free(j->str);
		free(j->keys);
		free(j->items);
	}
	free(j);
}

static void jskip(struct jreader *r)
{
	while (r->s < r->end && (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r'))
		r->s++;
}

static void jexpect(struct jreader *r, char c)
{
	jskip(r);
	if (r->s >= r->end || *r->s != c)
		fail_msg("expected JSON: '%c' missing", c);
	r->s++;
}

static uint32_t jhex4(struct jreader *r)
{
	char hex[5] = {0};
	if (r->end - r->s < 4)
		fail_msg("expected JSON: short \\u escape");
	memcpy(hex, r->s, 4);
	r->s += 4;
	return (uint32_t)strtoul(hex, NULL, 16);
}

static void jutf8(struct sb *b, uint32_t cp)
{
	char u[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		u[i] = (char)(0x80 | (cp & 0x3f));
	u[0] = (char)(lead[n] | cp);
	sb_put(b, u, n);
}

static void jstring(struct jreader *r, struct sb *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	jexpect(r, '"');
	sb_put(b, "", 0);
	while (r->s < r->end && *r->s != '"') {
		if (*r->s != '\\') {
			sb_put(b, r->s++, 1);
			continue;
		}
		char c = *++r->s;
		r->s++;
		const char *e = strchr(from, c);
		if (e && c) {
			sb_put(b, &to[e - from], 1);
			continue;
		}
		if (c != 'u')
			fail_msg("expected JSON: bad escape");
		uint32_t cp = jhex4(r);
		if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->s >= 6 && r->s[0] == '\\') {
			r->s += 2; /* a surrogate pair */
			cp = 0x10000 + ((cp - 0xd800) << 10) + (jhex4(r) - 0xdc00);
		}
		jutf8(b, cp);
	}
	jexpect(r, '"');
}

static struct json *jvalue(struct jreader *r);

/* The members or elements of an object or array, up to close. */
static void jlist(struct jreader *r, struct json *j, char close)
{
	jskip(r);
	if (r->s < r->end && *r->s == close) {
		r->s++;
		return;
	}
	for (;;) {
		j->items = realloc(j->items, (j->n + 1) * sizeof(*j->items));
		assert_non_null(j->items);
		if (j->kind == J_OBJECT) {
			j->keys = realloc(j->keys, (j->n + 1) * sizeof(*j->keys));
			assert_non_null(j->keys);
			j->keys[j->n] = (struct sb){0};
			jstring(r, &j->keys[j->n]);
			jexpect(r, ':');
		}
		j->items[j->n++] = jvalue(r);
		jskip(r);
		if (r->s < r->end && *r->s == ',') {
			r->s++;
			continue;
		}
		jexpect(r, close);
		return;
	}
}

static struct json *jvalue(struct jreader *r)
{
	struct json *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	jskip(r);
	if (r->s < r->end && (*r->s == '{' || *r->s == '[')) {
		j->kind = *r->s == '{' ? J_OBJECT : J_ARRAY;
		r->s++;
		jlist(r, j, j->kind == J_OBJECT ? '}' : ']');
	} else {
		struct sb b = {0};
		j->kind = J_STRING;
		jstring(r, &b);
		j->str = b.s;
		j->len = b.len;
	}
	return j;
}

static struct json *json_read(const char *path)
{
	size_t len;
	char *text = tu_read_file(path, &len);
	struct jreader r = {text, text + len};
	struct json *j = jvalue(&r);
	jskip(&r);
	if (r.s != r.end)
		fail_msg("%s: trailing bytes", path);
	free(text);
	return j;
}

static struct json *json_get(const struct json *j, const char *key, size_t len)
{
	for (size_t i = 0; j->kind == J_OBJECT && i < j->n; i++)
		if (j->keys[i].len == len && memcmp(j->keys[i].s, key, len) == 0)
			return j->items[i];
	return NULL;
}

/* ---- 1. toml-test ---------------------------------------------------- */

/* Where a mismatch was found: the path is built while unwinding. */
struct diff {
	char path[512];
	char why[256];
};

__attribute__((format(printf, 2, 3))) static bool differ(struct diff *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	return false;
}

static bool in_path(struct diff *d, const char *key, size_t len)
{
	char tmp[sizeof(d->path) + 64];
	snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(len > 60 ? 60 : len), key,
		 d->path[0] ? "." : "", d->path);
	tmp[sizeof(d->path) - 1] = '\0';
	memcpy(d->path, tmp, sizeof(d->path));
	return false;
}

static struct json *member(const struct json *j, const char *key)
{
	return json_get(j, key, strlen(key));
}

/* {"type": "...", "value": "..."}; any other object is a table. */
static bool is_tagged(const struct json *j)
{
	struct json *t = member(j, "type"), *v = member(j, "value");
	return j->kind == J_OBJECT && j->n == 2 && t && t->kind == J_STRING && v &&
	       v->kind == J_STRING;
}

static const char *tag_of(enum toml_type t)
{
	switch (t) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "bool";
	case TOML_DATETIME:
		return "datetime";
	case TOML_DATETIME_LOCAL:
		return "datetime-local";
	case TOML_DATE_LOCAL:
		return "date-local";
	case TOML_TIME_LOCAL:
		return "time-local";
	default:
		return "?";
	}
}

/* An RFC 3339 reader independent of the parser: "YYYY-MM-DD", "HH:MM:SS[.f]",
 * both joined by T/t/space, then Z/z/+hh:mm/-hh:mm. Returns the characters
 * read, or 0. */
static int read_date(const char *s, struct toml_datetime *dt)
{
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &dt->year, &dt->month, &dt->day, &n) != 3 || n != 10)
		return 0;
	return n;
}

static int read_time(const char *s, struct toml_datetime *dt)
{
	int n = 0;
	if (sscanf(s, "%2d:%2d:%2d%n", &dt->hour, &dt->minute, &dt->second, &n) != 3 || n != 8)
		return 0;
	if (s[n] == '.') {
		int scale = 100000000;
		for (n++; s[n] >= '0' && s[n] <= '9'; n++, scale /= 10)
			dt->nanosecond += (s[n] - '0') * scale;
	}
	return n;
}

static bool read_rfc3339(const char *s, enum toml_type type, struct toml_datetime *dt)
{
	int n = 0, k;
	*dt = (struct toml_datetime){.type = type};
	if (type != TOML_TIME_LOCAL) {
		if (!(k = read_date(s, dt)))
			return false;
		n += k;
		if (type == TOML_DATE_LOCAL)
			return s[n] == '\0';
		if (s[n] != 'T' && s[n] != 't' && s[n] != ' ')
			return false;
		n++;
	}
	if (!(k = read_time(s + n, dt)))
		return false;
	n += k;
	if (type == TOML_DATETIME) {
		int h, m;
		if (s[n] == 'Z' || s[n] == 'z')
			return s[n + 1] == '\0';
		if (sscanf(s + n + 1, "%2d:%2d", &h, &m) != 2 || (s[n] != '+' && s[n] != '-'))
			return false;
		dt->offset_minutes = (s[n] == '-' ? -1 : 1) * (h * 60 + m);
		n += 6;
	}
	return s[n] == '\0';
}

/* Days since 1970-01-01 (proleptic Gregorian), H. Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t instant(const struct toml_datetime *dt)
{
	return days_from_civil(dt->year, dt->month, dt->day) * 86400 + dt->hour * 3600 +
	       dt->minute * 60 + dt->second - dt->offset_minutes * 60;
}

/* Local kinds compare field by field, offset date-times as instants. */
static bool match_datetime(const struct toml_value *v, const char *want, struct diff *d)
{
	struct toml_datetime got, exp;
	char text[TOML_DATETIME_LEN];
	assert_int_equal(toml_get_datetime(v, &got), 0);
	toml_datetime_format(&got, text);
	if (!read_rfc3339(want, got.type, &exp))
		return differ(d, "cannot read expected %s '%s'", tag_of(got.type), want);
	bool same = got.nanosecond == exp.nanosecond;
	if (got.type == TOML_DATETIME)
		same = same && instant(&got) == instant(&exp);
	else
		same = same && got.year == exp.year && got.month == exp.month &&
		       got.day == exp.day && got.hour == exp.hour && got.minute == exp.minute &&
		       got.second == exp.second;
	return same ? true : differ(d, "got %s, want %s", text, want);
}

static bool match_float(const struct toml_value *v, const char *want, struct diff *d)
{
	double got, exp;
	assert_int_equal(toml_get_float(v, &got), 0);
	if (strstr(want, "nan"))
		return isnan(got) ? true : differ(d, "got %g, want nan", got);
	exp = strtod(want, NULL);
	if (isnan(got) || got != exp)
		return differ(d, "got %.17g, want %s", got, want);
	return true;
}

static bool match_scalar(const struct toml_value *v, const struct json *j, struct diff *d)
{
	const char *type = member(j, "type")->str;
	const struct json *jv = member(j, "value");
	const char *want = jv->str;
	char num[32];
	if (strcmp(type, tag_of(toml_type(v))) != 0)
		return differ(d, "got a %s, want a %s", tag_of(toml_type(v)), type);
	switch (toml_type(v)) {
	case TOML_STRING: {
		const char *s;
		size_t len;
		assert_int_equal(toml_get_string(v, &s, &len), 0);
		if (len != jv->len || memcmp(s, want, len) != 0)
			return differ(d, "got string \"%.60s\", want \"%.60s\"", s, want);
		return true;
	}
	case TOML_INTEGER: {
		int64_t i;
		assert_int_equal(toml_get_int(v, &i), 0);
		snprintf(num, sizeof(num), "%" PRId64, i);
		return strcmp(num, want) == 0 ? true : differ(d, "got %s, want %s", num, want);
	}
	case TOML_FLOAT:
		return match_float(v, want, d);
	case TOML_BOOL: {
		bool b;
		assert_int_equal(toml_get_bool(v, &b), 0);
		return strcasecmp(b ? "true" : "false", want) == 0 ? true : differ(d, "got %d", b);
	}
	default:
		return match_datetime(v, want, d);
	}
}

static bool match(const struct toml_value *v, const struct json *j, struct diff *d);

static bool match_table(const struct toml_value *v, const struct json *j, struct diff *d)
{
	struct toml_entry e;
	if (j->kind != J_OBJECT || is_tagged(j))
		return differ(d, "got a table");
	if (j->n != toml_table_len(v))
		return differ(d, "got %zu keys, want %zu", toml_table_len(v), j->n);
	for (size_t i = 0; i < toml_table_len(v); i++) {
		assert_int_equal(toml_table_entry(v, i, &e), 0);
		const struct json *want = json_get(j, e.key, e.key_len);
		if (!want)
			return differ(d, "unexpected key '%.*s'", (int)e.key_len, e.key);
		if (!match(e.value, want, d))
			return in_path(d, e.key, e.key_len);
	}
	return true;
}

static bool match_array(const struct toml_value *v, const struct json *j, struct diff *d)
{
	char idx[24];
	if (j->kind != J_ARRAY)
		return differ(d, "got an array");
	if (j->n != toml_array_len(v))
		return differ(d, "got %zu elements, want %zu", toml_array_len(v), j->n);
	for (size_t i = 0; i < toml_array_len(v); i++) {
		if (!match(toml_array_get(v, i), j->items[i], d)) {
			snprintf(idx, sizeof(idx), "[%zu]", i);
			return in_path(d, idx, strlen(idx));
		}
	}
	return true;
}

static bool match(const struct toml_value *v, const struct json *j, struct diff *d)
{
	if (toml_type(v) == TOML_TABLE)
		return match_table(v, j, d);
	if (toml_type(v) == TOML_ARRAY)
		return match_array(v, j, d);
	if (!is_tagged(j))
		return differ(d, "got a %s, want a table or array", tag_of(toml_type(v)));
	return match_scalar(v, j, d);
}

static bool run_valid(const char *name)
{
	char rel[512];
	struct toml_error err;
	struct diff d = {"", ""};
	size_t len;

	snprintf(rel, sizeof(rel), "toml-test/%s", name);
	char *text = tu_read_file(tu_vector_path(rel), &len);
	struct toml_value *root = toml_parse(text, len, &err);
	free(text);
	if (!root) {
		printf("FAIL %s: refused: line %d, column %d: %s\n", name, err.line, err.column,
		       err.msg);
		return false;
	}
	memcpy(rel + strlen(rel) - 5, ".json", 5);
	struct json *want = json_read(tu_vector_path(rel));
	bool ok = match(root, want, &d);
	if (!ok)
		printf("FAIL %s: at '%s': %s\n", name, d.path, d.why);
	json_free(want);
	toml_free(root);
	return ok;
}

static bool run_invalid(const char *name)
{
	char rel[512];
	struct toml_error err;
	size_t len;

	snprintf(rel, sizeof(rel), "toml-test/%s", name);
	char *text = tu_read_file(tu_vector_path(rel), &len);
	struct toml_value *root = toml_parse(text, len, &err);
	free(text);
	if (root) {
		printf("FAIL %s: accepted\n", name);
		toml_free(root);
		return false;
	}
	/* refused with a position and a message */
	if (err.line < 1 || err.column < 1 || !err.msg[0]) {
		printf("FAIL %s: error without position or message\n", name);
		return false;
	}
	return true;
}

/* Runs every .toml of files-toml-1.0.0 under prefix. */
static void run_suite(const char *prefix, bool (*run)(const char *), const char *label)
{
	char *list = tu_read_file(tu_vector_path("toml-test/files-toml-1.0.0"), NULL);
	int passed = 0, failed = 0;
	char *save = NULL;
	for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		if (strncmp(l, prefix, strlen(prefix)) != 0 || n < 5 ||
		    strcmp(l + n - 5, ".toml") != 0)
			continue;
		if (run(l))
			passed++;
		else
			failed++;
	}
	free(list);
	printf("toml-test %s: %d passed, %d failed\n", label, passed, failed);
	assert_int_equal(failed, 0);
	assert_true(passed > 100);
}

static void test_toml_test_valid(void **state)
{
	(void)state;
	run_suite("valid/", run_valid, "valid");
}

static void test_toml_test_invalid(void **state)
{
	(void)state;
	run_suite("invalid/", run_invalid, "invalid");
}

/* ---- 2. positions, accessors, text ------------------------------------ */

struct error_case {
	const char *text;
	int line, column;
	const char *msg; /* a substring of the message */
};

/* The case number is the index + 1. */
static const struct error_case error_cases[] = {
    {"a = 1\nb = 2\n[x]\nport = 1\nport = 2\n", 5, 1, "duplicate key 'port'"},
    {"a = \"abc\n", 1, 5, "unterminated string"},
    {"\"\xc3\xa9\" = 1\nb = 1 x", 2, 7, "expected end of line, found 'x'"},
    {"x = [1,\n 2,\n  ?]\n", 3, 3, "expected a value, found '?'"},
    {"[a]\n[a]\n", 2, 2, "table 'a' is already defined at line 1"},
    {"a = 0x_1", 1, 5, "invalid number '0x_1'"},
    {"a = 9223372036854775808", 1, 5, "out of the 64-bit range"},
    {"\xef\xbb\xbf"
     "a = \"\xff\"",
     1, 6, "invalid UTF-8"},
    {"a = 1979-02-29", 1, 5, "has no day 29"},
    {"a = \"\\q\"", 1, 6, "invalid escape"},
    {"\ta = 1\n\tb = 2 3", 2, 8, "expected end of line"},
    {"a.b = 1\n[a]\n", 2, 2, "already defined"},
    {"[[t]]\n[t]\n", 2, 2, "array of tables"},
    {"x = {a = 1}\nx.b = 2\n", 2, 1, "inline table 'x'"},
    {"a = {b = 1,}", 1, 12, "trailing comma"},
    {"x = 1\ns = \"\"\"\nabc\n", 2, 5, "unterminated string"},
    {"a = 1\nb = 2\na = 3\n", 3, 1, "(first defined at line 1)"},
    {"[a.b.c]\n[a]\nb.c.d = 1\n", 3, 3, "outside its [header] at line 1"},
    {"a = [1, 2\n", 2, 1, "found end of input"},
    {"k = 'a\x01'", 1, 7, "control character 0x01"},
    {"# \x7f\n", 1, 3, "control character 0x7f in comment"},
    {"a = 1.", 1, 5, "digits must follow the decimal point"},
    {"a = 1e400", 1, 5, "out of the float range"},
    {"a = tru", 1, 5, "expected true or false"},
    {"a = 07:32", 1, 5, "invalid time"},
    {"[a\n", 1, 3, "expected ']' to close"},
    {"x = 1\r\n\xe2\x82\xac = 2", 2, 1, "expected a key, found '\xe2\x82\xac'"},
    {"s = \"\\uD800\"", 1, 6, "not a Unicode scalar value"},
    {"a = {x = 1\n}", 1, 11, "inline tables must fit on one line"},
};

static void test_error_positions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct toml_error err;
		struct toml_value *v = toml_parse(c->text, strlen(c->text), &err);
		if (v || err.line != c->line || err.column != c->column || !strstr(err.msg, c->msg))
			fail_msg("case %zu: got %s line %d, column %d: %s", i + 1,
				 v ? "success" : "error", err.line, err.column, err.msg);
	}
}

static const char config_text[] = "# server\n"
				  "[server]\n"
				  "  port = 51820\n"
				  "  name.first = \"x\"\n"
				  "zeta = 1\n"
				  "alpha = [1, 2]\n"
				  "[[peer]]\n"
				  "key = 'k'\n"
				  "[[peer]]\n";

static void expect_pos(const struct toml_value *v, int line, int column)
{
	int l, c;
	toml_position(v, &l, &c);
	assert_int_equal(l, line);
	assert_int_equal(c, column);
}

static void test_definition_positions(void **state)
{
	struct toml_value *root = toml_parse(config_text, strlen(config_text), NULL);
	const struct toml_value *server, *peers, *name;
	struct toml_entry e;
	(void)state;
	assert_non_null(root);
	server = toml_table_get(root, "server");
	expect_pos(server, 2, 1);
	/* definition order, not key order */
	assert_int_equal(toml_table_len(server), 4);
	const char *order[] = {"port", "name", "zeta", "alpha"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(toml_table_entry(server, i, &e), 0);
		assert_string_equal(e.key, order[i]);
	}
	assert_int_equal(toml_table_entry(server, 0, &e), 0);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.column, 3);
	expect_pos(e.value, 3, 10);
	name = toml_table_get(server, "name");
	expect_pos(name, 4, 3);
	assert_int_equal(toml_table_entry(name, 0, &e), 0);
	assert_int_equal(e.column, 8);
	expect_pos(e.value, 4, 16);
	expect_pos(toml_array_get(toml_table_get(server, "alpha"), 1), 6, 13);
	peers = toml_table_get(root, "peer");
	assert_int_equal(toml_array_len(peers), 2);
	assert_int_equal(toml_table_entry(root, 1, &e), 0);
	assert_int_equal(e.line, 7);
	assert_int_equal(e.column, 3);
	expect_pos(toml_array_get(peers, 1), 9, 1);
	assert_int_equal(toml_table_len(toml_array_get(peers, 1)), 0);
	toml_free(root);
}

static void test_accessors(void **state)
{
	static const char text[] = "s = \"a\\u0000b\"\ni = -9223372036854775808\n"
				   "f = -0.0\nb = true\nd = 1979-05-27\nt = [ ]\n";
	struct toml_value *root = toml_parse(text, strlen(text), NULL);
	const struct toml_value *s, *i, *f, *b, *d;
	struct toml_datetime dt;
	struct toml_entry e;
	const char *str;
	size_t len;
	int64_t n;
	double x;
	bool flag;
	(void)state;

	assert_non_null(root);
	s = toml_table_get(root, "s"), i = toml_table_get(root, "i");
	f = toml_table_get(root, "f"), b = toml_table_get(root, "b");
	d = toml_table_get(root, "d");
	assert_int_equal(toml_get_string(s, &str, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(str, "a\0b", 4);
	assert_int_equal(toml_get_int(i, &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(toml_get_float(f, &x), 0);
	assert_true(x == 0.0 && signbit(x));
	assert_int_equal(toml_get_bool(b, &flag), 0);
	assert_true(flag);
	assert_int_equal(toml_get_datetime(d, &dt), 0);
	assert_int_equal(dt.type, TOML_DATE_LOCAL);
	assert_int_equal(toml_type(toml_table_get(root, "t")), TOML_ARRAY);
	assert_int_equal(toml_array_len(toml_table_get(root, "t")), 0);

	/* wrong types, NULLs and bounds: errors, never crashes */
	assert_int_equal(toml_get_int(s, &n), -EINVAL);
	assert_int_equal(toml_get_float(i, &x), -EINVAL);
	assert_int_equal(toml_get_string(NULL, &str, &len), -EINVAL);
	assert_int_equal(toml_get_bool(d, &flag), -EINVAL);
	assert_int_equal(toml_get_datetime(b, &dt), -EINVAL);
	assert_null(toml_table_get(root, "missing"));
	assert_null(toml_table_get(s, "s"));
	assert_null(toml_table_get(NULL, "s"));
	assert_null(toml_array_get(root, 0));
	assert_int_equal(toml_table_len(NULL), 0);
	assert_int_equal(toml_array_len(s), 0);
	assert_int_equal(toml_table_entry(root, 6, &e), -EINVAL);
	assert_string_equal(toml_type_name(TOML_DATETIME), "offset date-time");
	toml_free(root);
	toml_free(NULL);

	/* an empty document, with or without a BOM, and no text at all */
	root = toml_parse("\xef\xbb\xbf", 3, NULL);
	assert_int_equal(toml_table_len(root), 0);
	toml_free(root);
	root = toml_parse(NULL, 0, NULL);
	assert_non_null(root);
	toml_free(root);
}

struct datetime_case {
	const char *in, *out;
};

static const struct datetime_case datetime_cases[] = {
    {"1979-05-27 07:32:00.999999999999Z", "1979-05-27T07:32:00.999999999Z"},
    {"1979-05-27t07:32:00-07:30", "1979-05-27T07:32:00-07:30"},
    {"1979-05-27T07:32:00+00:00", "1979-05-27T07:32:00Z"},
    {"1979-05-27T07:32:00.120z", "1979-05-27T07:32:00.120Z"},
    {"1979-05-27T00:32:00.5", "1979-05-27T00:32:00.5"},
    {"07:32:00.000001", "07:32:00.000001"},
    {"2000-02-29", "2000-02-29"},
    {"0001-01-01 00:00:00", "0001-01-01T00:00:00"},
    {"1990-12-31T23:59:60Z", "1990-12-31T23:59:60Z"},
};

static void test_datetime_text(void **state)
{
	char doc[128], text[TOML_DATETIME_LEN];
	struct toml_datetime dt;
	(void)state;
	for (size_t i = 0; i < sizeof(datetime_cases) / sizeof(datetime_cases[0]); i++) {
		snprintf(doc, sizeof(doc), "d = %s\n", datetime_cases[i].in);
		struct toml_value *root = toml_parse(doc, strlen(doc), NULL);
		assert_non_null(root);
		assert_int_equal(toml_get_datetime(toml_table_get(root, "d"), &dt), 0);
		size_t n = toml_datetime_format(&dt, text);
		assert_int_equal(n, strlen(text));
		if (strcmp(text, datetime_cases[i].out) != 0)
			fail_msg("case %zu: got %s", i + 1, text);
		toml_free(root);
	}
	/* garbage fields cannot overflow the buffer */
	dt = (struct toml_datetime){TOML_DATETIME, -5,	  12345, -9,	    1000,
				    -1000,	   99999, -7,	 INT32_MAX, -99999};
	assert_true(toml_datetime_format(&dt, text) < TOML_DATETIME_LEN);
}

/* ---- 3. hostile input --------------------------------------------------- */

/* Parses b and returns whether it was accepted; refusals must be about depth. */
static bool parses(struct sb *b)
{
	struct toml_error err;
	struct toml_value *v = toml_parse(b->s, b->len, &err);
	if (!v) {
		if (!strstr(err.msg, "deeper than 128"))
			fail_msg("line %d, column %d: %s", err.line, err.column, err.msg);
		return false;
	}
	toml_free(v);
	return true;
}

static void nested(struct sb *b, const char *prefix, const char *open, const char *mid,
		   const char *close, size_t depth)
{
	b->len = 0;
	sb_printf(b, "%s", prefix);
	sb_repeat(b, open, depth);
	sb_printf(b, "%s", mid);
	sb_repeat(b, close, depth);
	sb_printf(b, "\n");
}

static void test_depth_limits(void **state)
{
	struct sb b = {0};
	(void)state;
	nested(&b, "a = ", "[", "", "]", 128);
	assert_true(parses(&b));
	nested(&b, "a = ", "[", "", "]", 129);
	assert_false(parses(&b));
	nested(&b, "a = ", "{b = ", "1", "}", 128);
	assert_true(parses(&b));
	nested(&b, "a = ", "{b = ", "1", "}", 129);
	assert_false(parses(&b));
	nested(&b, "[", "a.", "a]", "", 127); /* 128 tables */
	assert_true(parses(&b));
	nested(&b, "[", "a.", "a]", "", 128);
	assert_false(parses(&b));
	nested(&b, "", "a.", "a = 1", "", 128); /* 128 tables and a leaf */
	assert_true(parses(&b));
	nested(&b, "", "a.", "a = 1", "", 129);
	assert_false(parses(&b));
	nested(&b, "[[", "a.", "a]]", "", 126); /* 126 tables, the array, its table */
	assert_true(parses(&b));
	nested(&b, "[[", "a.", "a]]", "", 127);
	assert_false(parses(&b));
	/* limits add up across headers, dotted keys and inline values: 101
	 * tables, b, then arrays from depth 103 */
	nested(&b, "[", "a.", "a]\nb.c = ", "", 100);
	b.len--; /* drop the newline */
	sb_repeat(&b, "[", 26);
	sb_repeat(&b, "]", 26);
	assert_true(parses(&b));
	nested(&b, "[", "a.", "a]\nb.c = ", "", 100);
	b.len--;
	sb_repeat(&b, "[", 27);
	sb_repeat(&b, "]", 27);
	assert_false(parses(&b));
	/* far too deep: refused at the limit, not by running out of stack */
	nested(&b, "a = ", "[", "", "]", 1000000);
	assert_false(parses(&b));
	nested(&b, "a = ", "{a=", "", "}", 300000);
	assert_false(parses(&b));
	free(b.s);
}

static void test_large_inputs(void **state)
{
	enum { N = 300000 };
	struct sb b = {0};
	struct toml_value *root;
	char key[32];
	(void)state;

	/* a huge array */
	sb_printf(&b, "a = [");
	for (int i = 0; i < N; i++)
		sb_printf(&b, "%d,", i);
	sb_printf(&b, "]\n");
	root = toml_parse(b.s, b.len, NULL);
	assert_int_equal(toml_array_len(toml_table_get(root, "a")), N);
	toml_free(root);

	/* a huge table, then the same keys on one line in an inline table, where
	 * every column must be found without rescanning the line */
	b.len = 0;
	for (int i = 0; i < N; i++)
		sb_printf(&b, "k%d = %d\n", (int)((int64_t)i * 7919 % N), i);
	sb_printf(&b, "t = {");
	for (int i = 0; i < N; i++)
		sb_printf(&b, "%sk%d = %d", i ? ", " : "", i, i);
	sb_printf(&b, "}\n");
	root = toml_parse(b.s, b.len, NULL);
	assert_int_equal(toml_table_len(root), N + 1);
	snprintf(key, sizeof(key), "k%d", N - 1);
	struct toml_entry e;
	const struct toml_value *t = toml_table_get(root, "t");
	assert_int_equal(toml_table_entry(t, N - 1, &e), 0);
	assert_string_equal(e.key, key);
	assert_int_equal(e.line, N + 1);
	assert_true(e.column > 10 * N);
	toml_free(root);

	/* many array-of-tables elements */
	b.len = 0;
	sb_repeat(&b, "[[x.y]]\nz = 1\n", N / 3);
	root = toml_parse(b.s, b.len, NULL);
	assert_int_equal(toml_array_len(toml_table_get(toml_table_get(root, "x"), "y")), N / 3);
	toml_free(root);

	/* one long string and one long comment */
	b.len = 0;
	sb_printf(&b, "s = \"");
	sb_repeat(&b, "\\u00e9xyz", N);
	sb_printf(&b, "\"\n#");
	sb_repeat(&b, "comment ", N);
	root = toml_parse(b.s, b.len, NULL);
	const char *s;
	size_t len;
	assert_int_equal(toml_get_string(toml_table_get(root, "s"), &s, &len), 0);
	assert_int_equal(len, 5 * N);
	toml_free(root);

	/* an input past the hard limit is refused before it is read */
	struct toml_error err;
	assert_null(toml_parse("", (size_t)TOML_MAX_INPUT + 1, &err));
	assert_non_null(strstr(err.msg, "input larger"));
	free(b.s);
}

/* ---- 4. randomized differential tests ----------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so failures reproduce */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

/* Writes v in base with random single underscores between digits. */
static void spell(struct sb *b, uint64_t v, int base)
{
	char digits[80];
	int n = 0;
	do {
		digits[n++] = "0123456789abcdef"[v % (uint64_t)base];
		v /= (uint64_t)base;
	} while (v);
	while (n--) {
		sb_printf(b, "%c", digits[n]);
		if (n && rnd() % 4 == 0)
			sb_printf(b, "_");
	}
}

static void test_random_numbers(void **state)
{
	struct sb b = {0};
	enum { N = 2000 };
	int64_t want[N];
	double fwant[N];
	(void)state;
	for (int i = 0; i < N; i++) {
		int64_t v = (int64_t)(rnd() >> (1 + rnd() % 63));
		int base = i % 4 == 0 ? 16 : i % 4 == 1 ? 8 : i % 4 == 2 ? 2 : 10;
		if (base == 10 && rnd() % 2 && v != 0)
			v = -v;
		want[i] = v;
		sb_printf(&b, "i%d = %s%s", i, v < 0 ? "-" : "",
			  base == 16  ? "0x"
			  : base == 8 ? "0o"
			  : base == 2 ? "0b"
				      : "");
		spell(&b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, base);
		union {
			uint64_t u;
			double d;
		} f = {rnd()};
		if (!isfinite(f.d))
			f.d = 1.5;
		char text[64];
		snprintf(text, sizeof(text), "%.17g", f.d);
		fwant[i] = strtod(text, NULL);
		if (!strpbrk(text, ".e"))
			strcat(text, ".0");
		sb_printf(&b, "\nf%d = %s\n", i, text);
	}
	struct toml_error err;
	struct toml_value *root = toml_parse(b.s, b.len, &err);
	if (!root)
		fail_msg("line %d, column %d: %s", err.line, err.column, err.msg);
	for (int i = 0; i < N; i++) {
		char key[16];
		int64_t got;
		double fgot;
		snprintf(key, sizeof(key), "i%d", i);
		assert_int_equal(toml_get_int(toml_table_get(root, key), &got), 0);
		assert_true(got == want[i]);
		snprintf(key, sizeof(key), "f%d", i);
		assert_int_equal(toml_get_float(toml_table_get(root, key), &fgot), 0);
		assert_memory_equal(&fgot, &fwant[i], sizeof(double));
	}
	toml_free(root);
	free(b.s);
}

/* Keys from a tiny alphabet so that many share prefixes; the reference is a
 * linear search over the keys written so far. */
static void test_random_keys(void **state)
{
	enum { N = 3000 };
	static char keys[N][12];
	struct sb b = {0};
	size_t n = 0;
	(void)state;
	while (n < N) {
		char k[12];
		size_t len = 1 + rnd() % 10;
		for (size_t i = 0; i < len; i++)
			k[i] = "ab_"[rnd() % 3];
		k[len] = '\0';
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(keys[i], k) == 0;
		if (seen)
			continue;
		memcpy(keys[n], k, sizeof(k));
		sb_printf(&b, "%s = %zu\n", k, n++);
	}
	struct toml_value *root = toml_parse(b.s, b.len, NULL);
	assert_int_equal(toml_table_len(root), N);
	for (size_t i = 0; i < N; i++) {
		struct toml_entry e;
		int64_t v;
		assert_int_equal(toml_table_entry(root, i, &e), 0);
		assert_string_equal(e.key, keys[i]);
		assert_int_equal(toml_get_int(toml_table_get(root, keys[i]), &v), 0);
		assert_int_equal(v, (int64_t)i);
	}
	assert_null(toml_table_get(root, "abc"));
	assert_null(toml_table_get(root, ""));
	/* every key once more: each must now be a duplicate */
	for (size_t i = 0; i < N; i += 97) {
		struct toml_error err;
		b.len = 0;
		for (size_t j = 0; j < N; j++)
			sb_printf(&b, "%s = 1\n", keys[j]);
		sb_printf(&b, "%s = 2\n", keys[i]);
		assert_null(toml_parse(b.s, b.len, &err));
		assert_int_equal(err.line, N + 1);
	}
	toml_free(root);
	free(b.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_toml_test_valid), cmocka_unit_test(test_toml_test_invalid),
	    cmocka_unit_test(test_error_positions), cmocka_unit_test(test_definition_positions),
	    cmocka_unit_test(test_accessors),	    cmocka_unit_test(test_datetime_text),
	    cmocka_unit_test(test_depth_limits),    cmocka_unit_test(test_large_inputs),
	    cmocka_unit_test(test_random_numbers),  cmocka_unit_test(test_random_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
