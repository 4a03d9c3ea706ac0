/* TOML 1.0 document structure: expressions, keys, [headers], arrays and
 * inline tables. Scalars are in toml_scalar.c, the tree in toml_tree.c.
 *
 * Model. The parser walks the bytes once, keeping p->cur, the table that
 * key/value lines go into (the root, then the table of the last header).
 * Every table and array is tagged with how it was made (enum toml_flags), and
 * TOML 1.0's redefinition rules become checks on those tags:
 *
 *  - [a.b.c] walks a and b, creating them as IMPLICIT tables if absent, and
 *    through an array of tables into its last element; then defines c, which
 *    must be absent or IMPLICIT (it becomes HEADER). So a table gets at most
 *    one header, and never one if a dotted key or an inline table made it.
 *  - [[a.b]] walks the same way; b must be absent or an AOT array, and gets a
 *    new HEADER table as its last element.
 *  - a.b.c = v walks a and b from p->cur, creating DOTTED tables; it may go
 *    through DOTTED and IMPLICIT tables (the latter become DOTTED, so they can
 *    no longer get a header), never through a HEADER table (toml-test
 *    append-with-dotted-keys), an array, or an INLINE table.
 *  - INLINE tables and arrays are frozen once closed: no walk enters them,
 *    which also freezes everything inside them.
 *
 * Containers are created depth-checked (TOML_MAX_DEPTH); value parsing
 * recurses once per array or inline table level, so the depth limit bounds
 * the stack too. On failure the partial tree is freed in one place,
 * toml_parse(): everything built is reachable from p->root or owned by the
 * function that is building it.
 */
#include "config/toml_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One part of a (possibly dotted) key, decoded. */
struct key_part {
	char *s; /* malloc'd, NUL-terminated; ownership may move to the tree */
	size_t len;
	size_t pos;
	int line, column;
};

static int parse_value(struct toml_parser *p, int depth, struct toml_value **ret);

/* Forward-only memo: asking for positions in increasing order costs O(n) in
 * total. Only error reports may go back, and they rescan from the start. */
void toml_locate(struct toml_parser *p, size_t pos, int *ret_line, int *ret_column)
{
	if (pos < p->memo_pos) {
		p->memo_pos = p->start;
		p->memo_line = 1;
		p->memo_col = 1;
	}
	for (; p->memo_pos < pos && p->memo_pos < p->len; p->memo_pos++) {
		unsigned char c = (unsigned char)p->s[p->memo_pos];
		if (c == '\n') {
			p->memo_line++;
			p->memo_col = 1;
		} else if ((c & 0xc0) != 0x80) {
			p->memo_col++;
		}
	}
	*ret_line = p->memo_line;
	*ret_column = p->memo_col;
}

static int vfail(struct toml_parser *p, int line, int column, const char *fmt, va_list ap)
{
	if (p->err && !p->failed) {
		p->err->line = line;
		p->err->column = column;
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	}
	p->failed = true;
	return -EINVAL;
}

int toml_fail(struct toml_parser *p, size_t pos, const char *fmt, ...)
{
	int line, column, r;
	va_list ap;
	toml_locate(p, pos, &line, &column);
	va_start(ap, fmt);
	r = vfail(p, line, column, fmt, ap);
	va_end(ap);
	return r;
}

/* An error about a key, reported where the key was written. */
__attribute__((format(printf, 3, 4))) static int
fail_key(struct toml_parser *p, const struct key_part *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(p, k->line, k->column, fmt, ap);
	va_end(ap);
	return r;
}

int toml_oom(struct toml_parser *p)
{
	toml_fail(p, p->pos, "out of memory");
	return -ENOMEM;
}

const char *toml_describe(const struct toml_parser *p, size_t pos, char buf[static 24])
{
	if (pos >= p->len)
		return "end of input";
	unsigned char c = (unsigned char)p->s[pos];
	if (c == '\n' || (c == '\r' && pos + 1 < p->len && p->s[pos + 1] == '\n'))
		return "end of line";
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, 24, "control character 0x%02x", c);
		return buf;
	}
	size_t n = 1;
	while (c >= 0x80 && n < 4 && pos + n < p->len &&
	       ((unsigned char)p->s[pos + n] & 0xc0) == 0x80)
		n++;
	snprintf(buf, 24, "'%.*s'", (int)n, p->s + pos);
	return buf;
}

/* A key for messages: quoted by the caller, control bytes escaped, cut short
 * so that the message fits in struct toml_error. */
static const char *show(const char *s, size_t len, char out[static 64])
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (n > 52 && (c & 0xc0) != 0x80) { /* cut between characters */
			memcpy(out + n, "...", 4);
			return out;
		}
		if (c < 0x20 || c == 0x7f || c == '\'')
			n += (size_t)snprintf(out + n, 8, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

static int peek(const struct toml_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const struct toml_parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

static void skip_ws(struct toml_parser *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		p->pos++;
}

static bool eat_newline(struct toml_parser *p)
{
	if (peek(p) == '\n') {
		p->pos++;
		return true;
	}
	if (peek(p) == '\r' && peek_at(p, 1) == '\n') {
		p->pos += 2;
		return true;
	}
	return false;
}

/* comment = '#' *non-eol; tab is the only control character allowed. */
static int skip_comment(struct toml_parser *p)
{
	if (peek(p) != '#')
		return 0;
	for (p->pos++; p->pos < p->len; p->pos++) {
		int c = peek(p);
		if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
			return 0;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return toml_fail(p, p->pos, "control character 0x%02x in comment", c);
	}
	return 0;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static int skip_blank(struct toml_parser *p)
{
	for (;;) {
		skip_ws(p);
		int r = skip_comment(p);
		if (r)
			return r;
		if (!eat_newline(p))
			return 0;
	}
}

static int expect_line_end(struct toml_parser *p)
{
	char tmp[24];
	skip_ws(p);
	int r = skip_comment(p);
	if (r)
		return r;
	if (p->pos >= p->len || eat_newline(p))
		return 0;
	return toml_fail(p, p->pos, "expected end of line, found %s",
			 toml_describe(p, p->pos, tmp));
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static char *dup_mem(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* simple-key = quoted-key / unquoted-key */
static int parse_key_part(struct toml_parser *p, struct key_part *k)
{
	char tmp[24];
	int c = peek(p);
	const char *src = p->s + p->pos;
	size_t len = 0;
	int r;

	k->pos = p->pos;
	toml_locate(p, p->pos, &k->line, &k->column);
	if (c == '"' || c == '\'') {
		r = toml_scan_string(p, true);
		if (r)
			return r;
		src = p->buf;
		len = p->buf_len;
	} else if (is_bare(c)) {
		while (is_bare(peek(p)))
			p->pos++;
		len = p->pos - k->pos;
	} else {
		return toml_fail(p, p->pos, "expected a key, found %s",
				 toml_describe(p, p->pos, tmp));
	}
	k->s = dup_mem(src, len);
	k->len = len;
	return k->s ? 0 : toml_oom(p);
}

/* Parses one key part and the separator after it; *ret_dotted tells whether
 * more parts follow. */
static int next_key_part(struct toml_parser *p, struct key_part *k, bool *ret_dotted)
{
	free(k->s);
	k->s = NULL;
	skip_ws(p);
	int r = parse_key_part(p, k);
	if (r)
		return r;
	skip_ws(p);
	*ret_dotted = peek(p) == '.';
	if (*ret_dotted)
		p->pos++;
	return 0;
}

/* Creates table k in parent, taking k->s, and makes it *table. */
static int add_table(struct toml_parser *p, struct toml_value **table, struct key_part *k,
		     int flags)
{
	int depth = (*table)->depth + 1;
	if (depth > TOML_MAX_DEPTH)
		return fail_key(p, k, "tables nested deeper than %d levels", TOML_MAX_DEPTH);
	struct toml_value *t = toml_node_new(TOML_TABLE, depth, k->line, k->column);
	if (!t)
		return toml_oom(p);
	t->flags = (uint8_t)flags;
	int r = toml_node_insert(*table, k->s, k->len, t, k->line, k->column);
	k->s = NULL;
	if (r)
		return toml_oom(p);
	*table = t;
	return 0;
}

static int redefined(struct toml_parser *p, const struct key_part *k, const struct toml_slot *s)
{
	char tmp[64];
	return fail_key(p, k, "key '%s' is already defined as %s at line %d",
			show(k->s, k->len, tmp), toml_type_name(s->value->type), s->line);
}

/* Walks one intermediate part of a dotted key (see the model comment). */
static int descend_dotted(struct toml_parser *p, struct toml_value **table, struct key_part *k)
{
	char tmp[64];
	struct toml_slot *s = toml_node_find(*table, k->s, k->len);
	if (!s)
		return add_table(p, table, k, TOML_F_DOTTED);
	struct toml_value *v = s->value;
	if (v->type != TOML_TABLE)
		return redefined(p, k, s);
	if (v->flags & TOML_F_INLINE)
		return fail_key(p, k, "cannot add keys to inline table '%s'",
				show(k->s, k->len, tmp));
	if (v->flags & TOML_F_HEADER)
		return fail_key(p, k,
				"cannot add keys to table '%s' outside its [header] at line %d",
				show(k->s, k->len, tmp), v->line);
	v->flags = TOML_F_DOTTED;
	*table = v;
	return 0;
}

/* keyval = key keyval-sep val, into table. */
static int parse_keyval(struct toml_parser *p, struct toml_value *table)
{
	struct key_part k = {0};
	struct toml_slot *dup;
	struct toml_value *v;
	char tmp[64], found[24];
	bool dotted;
	int r;

	while ((r = next_key_part(p, &k, &dotted)) == 0 && dotted) {
		r = descend_dotted(p, &table, &k);
		if (r)
			goto free_key;
	}
	if (r)
		goto free_key;
	if (peek(p) != '=') {
		r = toml_fail(p, p->pos, "expected '=' after key '%s', found %s",
			      show(k.s, k.len, tmp), toml_describe(p, p->pos, found));
		goto free_key;
	}
	p->pos++;
	skip_ws(p);
	dup = toml_node_find(table, k.s, k.len);
	if (dup) {
		r = fail_key(p, &k, "duplicate key '%s' (first defined at line %d)",
			     show(k.s, k.len, tmp), dup->line);
		goto free_key;
	}
	r = parse_value(p, table->depth + 1, &v);
	if (r)
		goto free_key;
	r = toml_node_insert(table, k.s, k.len, v, k.line, k.column);
	k.s = NULL;
	if (r)
		r = toml_oom(p);
free_key:
	free(k.s);
	return r;
}

/* Walks one intermediate part of a [header] or [[header]] key. */
static int descend_header(struct toml_parser *p, struct toml_value **table, struct key_part *k)
{
	char tmp[64];
	struct toml_slot *s = toml_node_find(*table, k->s, k->len);
	if (!s)
		return add_table(p, table, k, TOML_F_IMPLICIT);
	struct toml_value *v = s->value;
	if (v->type == TOML_ARRAY && (v->flags & TOML_F_AOT)) {
		/* an array of tables always has an element: [[a]] made it */
		*table = v->u.array.items[v->u.array.len - 1];
		return 0;
	}
	if (v->type != TOML_TABLE)
		return redefined(p, k, s);
	if (v->flags & TOML_F_INLINE)
		return fail_key(p, k, "cannot add a table to inline table '%s'",
				show(k->s, k->len, tmp));
	*table = v;
	return 0;
}

/* The last key of [k]: defines the table, at most once. */
static int open_table(struct toml_parser *p, struct toml_value *table, struct key_part *k, int line,
		      int column)
{
	char tmp[64];
	struct toml_slot *s = toml_node_find(table, k->s, k->len);
	if (!s) {
		int r = add_table(p, &table, k, TOML_F_HEADER);
		if (r)
			return r;
	} else if (s->value->type == TOML_TABLE && s->value->flags == TOML_F_IMPLICIT) {
		table = s->value;
		table->flags = TOML_F_HEADER;
	} else if (s->value->type == TOML_TABLE) {
		return fail_key(p, k, "table '%s' is already defined at line %d",
				show(k->s, k->len, tmp), s->value->line);
	} else if (s->value->flags & TOML_F_AOT) {
		return fail_key(p, k, "'%s' is an array of tables: use [[%s]] to add to it",
				show(k->s, k->len, tmp), tmp);
	} else {
		return redefined(p, k, s);
	}
	table->line = line;
	table->column = column;
	p->cur = table;
	return 0;
}

/* The last key of [[k]]: appends a new table to array of tables k. */
static int open_array_table(struct toml_parser *p, struct toml_value *table, struct key_part *k,
			    int line, int column)
{
	struct toml_slot *s = toml_node_find(table, k->s, k->len);
	struct toml_value *array = NULL;
	int r;

	if (s && !(s->value->flags & TOML_F_AOT))
		return redefined(p, k, s);
	/* the array sits at table->depth + 1, its new element one deeper */
	if (table->depth + 2 > TOML_MAX_DEPTH)
		return fail_key(p, k, "tables nested deeper than %d levels", TOML_MAX_DEPTH);
	if (s) {
		array = s->value;
	} else {
		array = toml_node_new(TOML_ARRAY, table->depth + 1, k->line, k->column);
		if (!array)
			return toml_oom(p);
		array->flags = TOML_F_AOT;
		r = toml_node_insert(table, k->s, k->len, array, k->line, k->column);
		k->s = NULL;
		if (r)
			return toml_oom(p);
	}
	struct toml_value *t = toml_node_new(TOML_TABLE, array->depth + 1, line, column);
	if (!t || toml_node_push(array, t) != 0)
		return toml_oom(p);
	t->flags = TOML_F_HEADER;
	p->cur = t;
	return 0;
}

/* std-table = '[' ws key ws ']'; array-table = '[[' ws key ws ']]' */
static int parse_header(struct toml_parser *p)
{
	struct toml_value *table = p->root;
	struct key_part k = {0};
	bool aot = peek_at(p, 1) == '[', dotted;
	char tmp[24];
	int line, column, r;

	toml_locate(p, p->pos, &line, &column);
	p->pos += aot ? 2 : 1;
	while ((r = next_key_part(p, &k, &dotted)) == 0 && dotted) {
		r = descend_header(p, &table, &k);
		if (r)
			goto free_key;
	}
	if (r)
		goto free_key;
	if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
		r = toml_fail(p, p->pos, "expected '%s' to close the table header, found %s",
			      aot ? "]]" : "]", toml_describe(p, p->pos, tmp));
		goto free_key;
	}
	p->pos += aot ? 2 : 1;
	if (aot)
		r = open_array_table(p, table, &k, line, column);
	else
		r = open_table(p, table, &k, line, column);
free_key:
	free(k.s);
	return r;
}

static int new_container(struct toml_parser *p, enum toml_type type, int depth,
			 struct toml_value **ret)
{
	if (depth > TOML_MAX_DEPTH)
		return toml_fail(p, p->pos, "%ss nested deeper than %d levels",
				 toml_type_name(type), TOML_MAX_DEPTH);
	*ret = toml_node_new(type, depth, 0, 0);
	if (!*ret)
		return toml_oom(p);
	(*ret)->flags = TOML_F_INLINE;
	p->pos++;
	return 0;
}

/* array = '[' [ values ] ws-comment-newline ']', trailing comma allowed */
static int parse_array(struct toml_parser *p, int depth, struct toml_value **ret)
{
	struct toml_value *array = NULL, *v = NULL;
	char tmp[24];
	int r = new_container(p, TOML_ARRAY, depth, &array);
	if (r)
		return r;
	for (;;) {
		if ((r = skip_blank(p)) != 0)
			goto free_array;
		if (peek(p) == ']')
			break;
		if ((r = parse_value(p, depth + 1, &v)) != 0)
			goto free_array;
		if (toml_node_push(array, v) != 0) {
			r = toml_oom(p);
			goto free_array;
		}
		if ((r = skip_blank(p)) != 0)
			goto free_array;
		if (peek(p) == ']')
			break;
		if (peek(p) != ',') {
			r = toml_fail(p, p->pos, "expected ',' or ']' in array, found %s",
				      toml_describe(p, p->pos, tmp));
			goto free_array;
		}
		p->pos++;
	}
	p->pos++;
	*ret = array;
	return 0;
free_array:
	toml_free(array);
	return r;
}

/* inline-table = '{' ws [ keyval *( ws ',' ws keyval ) ] ws '}', on one line,
 * no trailing comma (TOML 1.0). */
static int parse_inline_table(struct toml_parser *p, int depth, struct toml_value **ret)
{
	struct toml_value *table = NULL;
	char tmp[24];
	int r = new_container(p, TOML_TABLE, depth, &table);
	if (r)
		return r;
	skip_ws(p);
	while (peek(p) != '}') {
		/* after a ',' a key must follow: no trailing comma */
		if ((r = parse_keyval(p, table)) != 0)
			goto free_table;
		skip_ws(p);
		if (peek(p) == '}')
			break;
		if (peek(p) != ',') {
			r = toml_fail(p, p->pos, "expected ',' or '}' in inline table, found %s%s",
				      toml_describe(p, p->pos, tmp),
				      peek(p) == '\n' || peek(p) == '\r'
					  ? " (inline tables must fit on one line)"
					  : "");
			goto free_table;
		}
		p->pos++;
		skip_ws(p);
		if (peek(p) == '}') {
			r = toml_fail(p, p->pos, "trailing comma in inline table");
			goto free_table;
		}
	}
	p->pos++;
	*ret = table;
	return 0;
free_table:
	toml_free(table);
	return r;
}

/* depth: that of the value to parse (its container's + 1). */
static int parse_value(struct toml_parser *p, int depth, struct toml_value **ret)
{
	int line, column, r;
	toml_locate(p, p->pos, &line, &column);
	if (peek(p) == '[')
		r = parse_array(p, depth, ret);
	else if (peek(p) == '{')
		r = parse_inline_table(p, depth, ret);
	else
		r = toml_parse_scalar(p, ret);
	if (r)
		return r;
	(*ret)->depth = (uint16_t)depth;
	(*ret)->line = line;
	(*ret)->column = column;
	return 0;
}

/* toml = expression *( newline expression ) */
static int parse_document(struct toml_parser *p)
{
	while (p->pos < p->len) {
		skip_ws(p);
		int c = peek(p), r = 0;
		if (c == '[')
			r = parse_header(p);
		else if (c != '#' && c != '\n' && c != '\r' && c != -1)
			r = parse_keyval(p, p->cur);
		if (r == 0)
			r = expect_line_end(p);
		if (r)
			return r;
	}
	return 0;
}

static int check_input(struct toml_parser *p)
{
	if (p->len > TOML_MAX_INPUT)
		return toml_fail(p, 0, "input larger than %d bytes", TOML_MAX_INPUT);
	if (p->len >= 3 && memcmp(p->s, "\xef\xbb\xbf", 3) == 0)
		p->start = p->pos = p->memo_pos = 3;
	size_t bad = p->start + toml_utf8_invalid_at(p->s + p->start, p->len - p->start);
	if (bad < p->len)
		return toml_fail(p, bad, "invalid UTF-8 (byte 0x%02x)", (unsigned char)p->s[bad]);
	return 0;
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *ret_err)
{
	struct toml_parser p = {
	    .s = text ? text : "", .len = len, .memo_line = 1, .memo_col = 1, .err = ret_err};
	int r;

	if (ret_err)
		*ret_err = (struct toml_error){0};
	if (!text && len) {
		toml_fail(&p, 0, "no input");
		return NULL;
	}
	p.root = p.cur = toml_node_new(TOML_TABLE, 0, 1, 1);
	if (!p.root) {
		toml_oom(&p);
		return NULL;
	}
	r = check_input(&p);
	if (r == 0)
		r = parse_document(&p);
	if (p.buf)
		explicit_bzero(p.buf, p.buf_cap); /* string scratch: may hold keys */
	free(p.buf);
	if (p.c_locale)
		freelocale(p.c_locale);
	if (r) {
		toml_free(p.root);
		return NULL;
	}
	return p.root;
}
