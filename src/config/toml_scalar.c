/* TOML 1.0 scalars: the four string forms, integers, floats, booleans and
 * the four date/time forms, plus the UTF-8 check of the whole input.
 *
 * Each scanner reads from p->pos and leaves p->pos after what it consumed.
 * Strings are decoded into the parser's reusable buffer, so a string costs
 * O(its length) whatever its escapes. The input has been checked to be valid
 * UTF-8 before any of this runs, so only ASCII needs classifying here.
 */
#include "util/hex.h"
#include "config/toml_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t toml_utf8_invalid_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		uint32_t c = s[i], cp, min;
		size_t n;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return i;
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, beyond Unicode */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

static int peek(const struct toml_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int at(const struct toml_parser *p, size_t pos)
{
	return pos < p->len ? (unsigned char)p->s[pos] : -1;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Appends n bytes to the string buffer, keeping it NUL-terminated. */
static int put(struct toml_parser *p, const char *s, size_t n)
{
	if (p->buf_cap - p->buf_len <= n) {
		size_t cap = p->buf_cap ? p->buf_cap : 64;
		while (cap - p->buf_len <= n)
			cap *= 2; /* cannot wrap: the input is at most TOML_MAX_INPUT */
		/* not realloc: the old block may hold a key; wipe it first */
		char *b = malloc(cap);
		if (!b)
			return toml_oom(p);
		if (p->buf) {
			memcpy(b, p->buf, p->buf_len + 1);
			explicit_bzero(p->buf, p->buf_cap);
			free(p->buf);
		}
		p->buf = b;
		p->buf_cap = cap;
	}
	memcpy(p->buf + p->buf_len, s, n);
	p->buf_len += n;
	p->buf[p->buf_len] = '\0';
	return 0;
}

static bool is_newline(const struct toml_parser *p, size_t pos)
{
	return at(p, pos) == '\n' || (at(p, pos) == '\r' && at(p, pos + 1) == '\n');
}

/* Bytes a string may hold as they are: not the delimiter, not a backslash in
 * basic strings, no control character but tab. */
static bool is_plain(int c, int quote)
{
	if (c == quote || (quote == '"' && c == '\\'))
		return false;
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The string opened at open stopped at something it may not hold. */
static int bad_char(struct toml_parser *p, size_t open, bool multiline)
{
	int c = peek(p);
	if (c < 0)
		return toml_fail(p, open, "unterminated string");
	if (!multiline && is_newline(p, p->pos))
		return toml_fail(p, open,
				 "unterminated string (single-line strings end "
				 "at the line end)");
	return toml_fail(p, p->pos, "control character 0x%02x in string (use an escape)", c);
}

static int put_utf8(struct toml_parser *p, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		u[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	return put(p, u, n);
}

/* \uXXXX or \UXXXXXXXX: a Unicode scalar value, in UTF-8. */
static int unicode_escape(struct toml_parser *p, size_t ndigits)
{
	size_t esc = p->pos;
	uint32_t cp = 0;
	for (size_t i = 0; i < ndigits; i++) {
		int d = hex_digit(at(p, esc + 2 + i));
		if (d < 0)
			return toml_fail(p, esc, "\\%c escape needs %zu hexadecimal digits",
					 p->s[esc + 1], ndigits);
		cp = cp << 4 | (uint32_t)d;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return toml_fail(p, esc, "escape \\%c%.*s is not a Unicode scalar value",
				 p->s[esc + 1], (int)ndigits, p->s + esc + 2);
	p->pos += 2 + ndigits;
	return put_utf8(p, cp);
}

static int escape(struct toml_parser *p)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	int c = at(p, p->pos + 1);
	const char *e = c > 0 ? strchr(from, c) : NULL;
	char tmp[24];
	if (e) {
		p->pos += 2;
		return put(p, &to[e - from], 1);
	}
	if (c == 'u' || c == 'U')
		return unicode_escape(p, c == 'u' ? 4 : 8);
	return toml_fail(p, p->pos, "invalid escape: backslash followed by %s",
			 toml_describe(p, p->pos + 1, tmp));
}

/* A backslash ending a line in a multi-line basic string swallows the line
 * break and all whitespace and newlines after it. Returns false, consuming
 * nothing, when the backslash starts an ordinary escape. */
static bool line_ending_backslash(struct toml_parser *p)
{
	size_t i = p->pos + 1;
	while (at(p, i) == ' ' || at(p, i) == '\t')
		i++;
	if (!is_newline(p, i))
		return false;
	while (at(p, i) == ' ' || at(p, i) == '\t' || is_newline(p, i))
		i += at(p, i) == '\r' ? 2 : 1;
	p->pos = i;
	return true;
}

/* Up to two quotes may sit just before the closing three. A run of three or
 * more closes the string; any quotes past five are left to fail as text
 * after the value. */
static int quotes(struct toml_parser *p, int quote, bool *ret_closed)
{
	size_t n = 0;
	while (n < 5 && at(p, p->pos + n) == quote)
		n++;
	*ret_closed = n >= 3;
	p->pos += n;
	return put(p, quote == '"' ? "\"\"" : "''", *ret_closed ? n - 3 : n);
}

/* Single-line basic or literal string, p->pos at the opening quote. */
static int scan_line(struct toml_parser *p, int quote)
{
	size_t open = p->pos++;
	for (;;) {
		size_t run = p->pos;
		while (p->pos < p->len && is_plain((unsigned char)p->s[p->pos], quote))
			p->pos++;
		int r = put(p, p->s + run, p->pos - run);
		if (r)
			return r;
		if (peek(p) == quote) {
			p->pos++;
			return 0;
		}
		if (peek(p) != '\\' || quote != '"')
			return bad_char(p, open, false);
		if ((r = escape(p)) != 0)
			return r;
	}
}

/* Multi-line basic or literal string, p->pos at the opening quotes. Line
 * breaks are stored as LF whatever the file uses (TOML 1.0 allows this). */
static int scan_multi(struct toml_parser *p, int quote)
{
	size_t open = p->pos;
	bool closed = false;
	int r = 0;
	p->pos += 3;
	if (is_newline(p, p->pos)) /* trimmed right after the opening quotes */
		p->pos += peek(p) == '\r' ? 2 : 1;
	while (r == 0 && !closed) {
		size_t run = p->pos;
		while (p->pos < p->len && is_plain((unsigned char)p->s[p->pos], quote))
			p->pos++;
		if ((r = put(p, p->s + run, p->pos - run)) != 0)
			break;
		if (peek(p) == quote) {
			r = quotes(p, quote, &closed);
		} else if (is_newline(p, p->pos)) {
			p->pos += peek(p) == '\r' ? 2 : 1;
			r = put(p, "\n", 1);
		} else if (peek(p) == '\\' && quote == '"') {
			if (!line_ending_backslash(p))
				r = escape(p);
		} else {
			r = bad_char(p, open, true);
		}
	}
	return r;
}

int toml_scan_string(struct toml_parser *p, bool is_key)
{
	int quote = peek(p);
	bool multi = at(p, p->pos + 1) == quote && at(p, p->pos + 2) == quote;
	p->buf_len = 0;
	if (p->buf)
		p->buf[0] = '\0';
	if (multi && is_key)
		return toml_fail(p, p->pos, "a key cannot be a multi-line string");
	if (multi)
		return scan_multi(p, quote);
	return scan_line(p, quote);
}

static struct toml_value *string_value(struct toml_parser *p)
{
	struct toml_value *v = toml_node_new(TOML_STRING, 0, 0, 0);
	char *s = malloc(p->buf_len + 1);
	if (!v || !s) {
		free(v);
		free(s);
		return NULL;
	}
	memcpy(s, p->buf ? p->buf : "", p->buf_len);
	s[p->buf_len] = '\0';
	v->u.str.ptr = s;
	v->u.str.len = p->buf_len;
	return v;
}

/* Numbers */

static bool is_base_digit(int c, int base)
{
	if (base == 16)
		return hex_digit(c) >= 0;
	return c >= '0' && c < '0' + base;
}

/* Length of t's leading run of digits, where each underscore must sit
 * between two digits; 0 if there is none or an underscore is misplaced. */
static size_t digit_run(const char *t, size_t n, int base)
{
	size_t i = 0;
	while (i < n && is_base_digit((unsigned char)t[i], base)) {
		i++;
		if (i < n && t[i] == '_') {
			if (i + 1 >= n || !is_base_digit((unsigned char)t[i + 1], base))
				return 0;
			i++;
		}
	}
	return i;
}

static bool is_number_char(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '.' || c == '+' || c == '-';
}

/* A number token: the text and where it starts, for messages. */
struct token {
	const char *t;
	size_t n, pos;
};

static int bad_number(struct toml_parser *p, const struct token *tk, const char *why)
{
	return toml_fail(p, tk->pos, "invalid number '%.*s'%s%s", tk->n > 40 ? 40 : (int)tk->n,
			 tk->t, *why ? ": " : "", why);
}

/* Digits of t in base, underscores skipped, into an int64 (TOML: an integer
 * that does not fit must be an error). */
static int to_int(struct toml_parser *p, const struct token *tk, size_t skip, int base, bool neg,
		  int64_t *ret)
{
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t i = skip; i < tk->n; i++) {
		if (tk->t[i] == '_')
			continue;
		uint64_t d = (uint64_t)hex_digit((unsigned char)tk->t[i]);
		if (v > (limit - d) / (uint64_t)base)
			return bad_number(p, tk, "out of the 64-bit range");
		v = v * (uint64_t)base + d;
	}
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* 0x, 0o or 0b: no sign, digits of that base with the underscore rule. */
static int radix_int(struct toml_parser *p, const struct token *tk, int64_t *ret)
{
	int base = tk->t[1] == 'x' ? 16 : tk->t[1] == 'o' ? 8 : 2;
	if (digit_run(tk->t + 2, tk->n - 2, base) != tk->n - 2)
		return bad_number(p, tk, "");
	return to_int(p, tk, 2, base, false, ret);
}

/* strtod_l() in the "C" locale: the process locale may use a decimal comma. */
static int to_float(struct toml_parser *p, const struct token *tk, double *ret)
{
	char digits[TOML_MAX_NUMBER + 1], *end;
	size_t m = 0;
	for (size_t i = 0; i < tk->n; i++)
		if (tk->t[i] != '_')
			digits[m++] = tk->t[i];
	digits[m] = '\0';
	if (!p->c_locale)
		p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!p->c_locale)
		return toml_oom(p);
	errno = 0;
	*ret = strtod_l(digits, &end, p->c_locale);
	if (end != digits + m)
		return bad_number(p, tk, "");
	/* overflow is an error like for integers; underflow rounds to 0 */
	if (errno == ERANGE && isinf(*ret))
		return bad_number(p, tk, "out of the float range");
	return 0;
}

/* dec-int [ frac ] [ exp ]: the syntax check; to_int/to_float convert. */
static int decimal(struct toml_parser *p, const struct token *tk, struct toml_value *v)
{
	size_t i = tk->t[0] == '+' || tk->t[0] == '-', j, k;
	const char *t = tk->t;
	k = digit_run(t + i, tk->n - i, 10);
	if (k == 0)
		return bad_number(p, tk, "");
	if (t[i] == '0' && k > 1)
		return bad_number(p, tk, "leading zeros are not allowed");
	j = i + k;
	if (j == tk->n) {
		v->type = TOML_INTEGER;
		return to_int(p, tk, i, 10, t[0] == '-', &v->u.integer);
	}
	if (t[j] == '.') {
		if ((k = digit_run(t + j + 1, tk->n - j - 1, 10)) == 0)
			return bad_number(p, tk, "digits must follow the decimal point");
		j += 1 + k;
	}
	if (j < tk->n && (t[j] == 'e' || t[j] == 'E')) {
		j += 1 + (j + 1 < tk->n && (t[j + 1] == '+' || t[j + 1] == '-'));
		if ((k = digit_run(t + j, tk->n - j, 10)) == 0)
			return bad_number(p, tk, "bad exponent");
		j += k;
	}
	if (j != tk->n)
		return bad_number(p, tk, "");
	v->type = TOML_FLOAT;
	return to_float(p, tk, &v->u.fp);
}

static int parse_number(struct toml_parser *p, struct toml_value *v)
{
	struct token tk = {p->s + p->pos, 0, p->pos};
	while (is_number_char(at(p, p->pos)))
		p->pos++;
	tk.n = p->pos - tk.pos;
	if (tk.n > TOML_MAX_NUMBER)
		return toml_fail(p, tk.pos, "number longer than %d characters", TOML_MAX_NUMBER);
	size_t i = tk.t[0] == '+' || tk.t[0] == '-';
	if (tk.n - i == 3 && (memcmp(tk.t + i, "inf", 3) == 0 || memcmp(tk.t + i, "nan", 3) == 0)) {
		v->type = TOML_FLOAT;
		v->u.fp = tk.t[i] == 'i' ? INFINITY : NAN;
		if (tk.t[0] == '-')
			v->u.fp = -v->u.fp;
		return 0;
	}
	if (tk.n > 2 && tk.t[0] == '0' && (tk.t[1] == 'x' || tk.t[1] == 'o' || tk.t[1] == 'b')) {
		v->type = TOML_INTEGER;
		return radix_int(p, &tk, &v->u.integer);
	}
	return decimal(p, &tk, v);
}

/* Dates and times (RFC 3339 as restricted by TOML 1.0: seconds required) */

static bool digits_at(const struct toml_parser *p, size_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(at(p, pos + i)))
			return false;
	return true;
}

static int number_at(const struct toml_parser *p, size_t pos, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p->s[pos + i] - '0');
	return v;
}

static bool is_date_at(const struct toml_parser *p, size_t pos)
{
	return digits_at(p, pos, 4) && at(p, pos + 4) == '-';
}

static bool is_time_at(const struct toml_parser *p, size_t pos)
{
	return digits_at(p, pos, 2) && at(p, pos + 2) == ':';
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* full-date = YYYY-MM-DD */
static int parse_date(struct toml_parser *p, struct toml_datetime *dt)
{
	size_t s = p->pos;
	if (!digits_at(p, s, 4) || at(p, s + 4) != '-' || !digits_at(p, s + 5, 2) ||
	    at(p, s + 7) != '-' || !digits_at(p, s + 8, 2))
		return toml_fail(p, s, "invalid date (expected YYYY-MM-DD)");
	dt->year = number_at(p, s, 4);
	dt->month = number_at(p, s + 5, 2);
	dt->day = number_at(p, s + 8, 2);
	if (dt->month < 1 || dt->month > 12)
		return toml_fail(p, s, "invalid date: no month %d", dt->month);
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
		return toml_fail(p, s, "invalid date: %04d-%02d has no day %d", dt->year, dt->month,
				 dt->day);
	p->pos += 10;
	return 0;
}

/* time-secfrac = '.' 1*DIGIT, kept to nanoseconds, truncated */
static int parse_fraction(struct toml_parser *p, struct toml_datetime *dt)
{
	if (peek(p) != '.')
		return 0;
	if (!is_digit(at(p, ++p->pos)))
		return toml_fail(p, p->pos, "digits must follow the '.' in a time");
	for (; is_digit(peek(p)); p->pos++) {
		if (dt->frac_digits < 9) {
			dt->nanosecond = dt->nanosecond * 10 + (peek(p) - '0');
			dt->frac_digits++;
		}
	}
	for (int i = dt->frac_digits; i < 9; i++)
		dt->nanosecond *= 10;
	return 0;
}

/* partial-time = HH:MM:SS [ time-secfrac ] */
static int parse_time(struct toml_parser *p, struct toml_datetime *dt)
{
	size_t s = p->pos;
	if (!digits_at(p, s, 2) || at(p, s + 2) != ':' || !digits_at(p, s + 3, 2) ||
	    at(p, s + 5) != ':' || !digits_at(p, s + 6, 2))
		return toml_fail(p, s, "invalid time (expected HH:MM:SS)");
	dt->hour = number_at(p, s, 2);
	dt->minute = number_at(p, s + 3, 2);
	dt->second = number_at(p, s + 6, 2);
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return toml_fail(p, s, "invalid time %02d:%02d:%02d", dt->hour, dt->minute,
				 dt->second);
	p->pos += 8;
	return parse_fraction(p, dt);
}

/* time-offset = 'Z' / ( '+' / '-' ) HH:MM; *ret_has tells if one is there. */
static int parse_offset(struct toml_parser *p, struct toml_datetime *dt, bool *ret_has)
{
	size_t s = p->pos;
	int c = peek(p);
	*ret_has = c == 'Z' || c == 'z' || c == '+' || c == '-';
	if (c == 'Z' || c == 'z')
		p->pos++;
	if (c != '+' && c != '-')
		return 0;
	if (!digits_at(p, s + 1, 2) || at(p, s + 3) != ':' || !digits_at(p, s + 4, 2))
		return toml_fail(p, s, "invalid time offset (expected +HH:MM or -HH:MM)");
	int h = number_at(p, s + 1, 2), m = number_at(p, s + 4, 2);
	if (h > 23 || m > 59)
		return toml_fail(p, s, "invalid time offset %.6s", p->s + s);
	dt->offset_minutes = (c == '-' ? -1 : 1) * (h * 60 + m);
	p->pos += 6;
	return 0;
}

/* A time follows the date after 'T' or 't', or a space if a time is next. */
static bool has_time(const struct toml_parser *p)
{
	int c = peek(p);
	return c == 'T' || c == 't' || (c == ' ' && is_time_at(p, p->pos + 1));
}

static int parse_datetime(struct toml_parser *p, struct toml_value *v)
{
	struct toml_datetime *dt = &v->u.dt;
	bool offset = false;
	int r;

	if (is_time_at(p, p->pos)) {
		dt->type = TOML_TIME_LOCAL;
		r = parse_time(p, dt);
	} else if ((r = parse_date(p, dt)) == 0) {
		dt->type = TOML_DATE_LOCAL;
		if (has_time(p)) {
			p->pos++;
			if ((r = parse_time(p, dt)) == 0)
				r = parse_offset(p, dt, &offset);
			dt->type = offset ? TOML_DATETIME : TOML_DATETIME_LOCAL;
		}
	}
	v->type = (uint8_t)dt->type;
	return r;
}

static int parse_bool(struct toml_parser *p, struct toml_value *v)
{
	bool t = p->len - p->pos >= 4 && memcmp(p->s + p->pos, "true", 4) == 0;
	bool f = p->len - p->pos >= 5 && memcmp(p->s + p->pos, "false", 5) == 0;
	if (!t && !f)
		return toml_fail(p, p->pos, "invalid value (expected true or false)");
	v->type = TOML_BOOL;
	v->u.boolean = t;
	p->pos += t ? 4 : 5;
	return 0;
}

static bool is_value_end(int c)
{
	return c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == ',' ||
	       c == ']' || c == '}';
}

static int parse_nonstring(struct toml_parser *p, struct toml_value *v)
{
	char tmp[24];
	int c = peek(p);
	if (c == 't' || c == 'f')
		return parse_bool(p, v);
	if (is_date_at(p, p->pos) || is_time_at(p, p->pos))
		return parse_datetime(p, v);
	if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
		return parse_number(p, v);
	return toml_fail(p, p->pos, "expected a value, found %s", toml_describe(p, p->pos, tmp));
}

/* Strings are decoded into p->buf, other scalars into a value on the stack
 * (they own no memory): a node is only allocated for a complete value. */
int toml_parse_scalar(struct toml_parser *p, struct toml_value **ret)
{
	struct toml_value scalar = {0};
	char tmp[24];
	bool is_string = peek(p) == '"' || peek(p) == '\'';
	int r;

	if (is_string)
		r = toml_scan_string(p, false);
	else
		r = parse_nonstring(p, &scalar);
	if (r)
		return r;
	if (!is_value_end(peek(p)))
		return toml_fail(p, p->pos, "unexpected %s after the value",
				 toml_describe(p, p->pos, tmp));
	*ret = is_string ? string_value(p) : malloc(sizeof(scalar));
	if (!*ret)
		return toml_oom(p);
	if (!is_string)
		**ret = scalar;
	return 0;
}
