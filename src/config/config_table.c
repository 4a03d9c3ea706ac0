/* The configuration engine: a TOML tree walked against a table of options
 * (config_table.h has the model). Parsing never stops at the first problem:
 * each one is reported and the walk goes on, so an operator fixes a file in
 * one round. */
#include "config/config_table.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/toml.h"

#define DIAG_MAX	 1024
#define FILE_MAX	 ((size_t)16 << 20)
#define SUGGEST_DISTANCE 2
#define REDACTED	 "\"(redacted)\""

/* ---- messages ---------------------------------------------------------- */

/* User-supplied text (a key, an enum value) for a message: control bytes
 * and quotes escaped, cut short. */
static const char *show(const char *s, size_t len, char out[static 64])
{
	size_t n = 0, i = 0;
	for (; i < len && n < 48; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\'' || c == '"')
			n += (size_t)snprintf(out + n, 8, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	strcpy(out + n, i < len ? "..." : "");
	return out;
}

static void vreport(struct config_table *t, bool is_error, const char *file, int line,
		    const char *key, const char *fmt, va_list ap)
{
	char out[DIAG_MAX], msg[DIAG_MAX / 2];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	int n = line > 0 ? snprintf(out, sizeof(out), "%s:%d: ", file, line)
			 : snprintf(out, sizeof(out), "%s: ", file);
	if (key && n >= 0 && (size_t)n < sizeof(out))
		n += snprintf(out + n, sizeof(out) - (size_t)n, "key '%s': ", key);
	if (n >= 0 && (size_t)n < sizeof(out))
		snprintf(out + n, sizeof(out) - (size_t)n, "%s%s",
			 is_error ? "" : "warning: ", msg);
	for (char *c = out; *c; c++) /* one line, whatever a value held */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (is_error)
		t->errors++;
	else
		t->warnings++;
	t->sink(t->sink_ctx, is_error, out);
}

void config_table_report_at(struct config_table *t, bool is_error, const char *file, int line,
			    const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(t, is_error, file, line, key, fmt, ap);
	va_end(ap);
}

/* A problem with option i, at file:line (line <= 0: none). */
static void vreport_option(struct config_table *t, bool is_error, size_t i, const char *file,
			   int line, const char *fmt, va_list ap)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s", t->opts[i].table, t->opts[i].key);
	vreport(t, is_error, file, line, key, fmt, ap);
}

__attribute__((format(printf, 6, 7))) static void report_option_at(struct config_table *t,
								   bool is_error, size_t i,
								   const char *file, int line,
								   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport_option(t, is_error, i, file, line, fmt, ap);
	va_end(ap);
}

void config_table_report(struct config_table *t, bool is_error, size_t i, const char *fmt, ...)
{
	const struct config_origin *o = &t->origin[i];
	va_list ap;
	va_start(ap, fmt);
	vreport_option(t, is_error, i, o->file ? o->file : t->file, o->file ? o->line : 0, fmt, ap);
	va_end(ap);
}

int config_table_fail(struct config_problem *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *article(const char *noun)
{
	return strchr("aeiou", noun[0]) ? "an" : "a";
}

int config_table_fail_type(struct config_problem *p, const char *expected,
			   const struct toml_value *v)
{
	const char *found = toml_type_name(toml_type(v));
	p->at = v;
	return config_table_fail(p, "expected %s, found %s %s", expected, article(found), found);
}

/* ---- suggestions ------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), for "did you mean" hints; long words are not compared. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[33][33];
	if (la > 32 || lb > 32)
		return SUGGEST_DISTANCE + 1;
	for (size_t i = 0; i <= la; i++)
		for (size_t j = 0; j <= lb; j++) {
			if (i == 0 || j == 0) {
				d[i][j] = (int)(i + j);
				continue;
			}
			int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The closest key of table `name` to word, or NULL when none is close. */
static const char *closest_key(const struct config_table *t, const char *name, const char *word)
{
	const char *best = NULL;
	int best_d = SUGGEST_DISTANCE + 1;
	for (size_t i = 0; i < t->n; i++) {
		int d = strcmp(t->opts[i].table, name) ? best_d : distance(word, t->opts[i].key);
		if (d < best_d) {
			best = t->opts[i].key;
			best_d = d;
		}
	}
	return best;
}

static const char *closest_table(const struct config_table *t, const char *word)
{
	const char *best = NULL;
	int best_d = SUGGEST_DISTANCE + 1;
	for (size_t i = 0; i < t->n; i++) {
		int d = distance(word, t->opts[i].table);
		if (d < best_d) {
			best = t->opts[i].table;
			best_d = d;
		}
	}
	return best;
}

/* The table that does hold an option named word, if any. */
static const char *table_of_key(const struct config_table *t, const char *word)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->opts[i].key, word))
			return t->opts[i].table;
	return NULL;
}

static bool has_table(const struct config_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->opts[i].table, name))
			return true;
	return false;
}

/* ---- typed fields ------------------------------------------------------ */

static void *field(const struct config_option *o, void *target)
{
	return (char *)target + o->offset;
}

static const void *cfield(const struct config_option *o, const void *target)
{
	return (const char *)target + o->offset;
}

static void store_uint(void *f, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	memcpy(f,
	       size == 1   ? (void *)&u8
	       : size == 2 ? (void *)&u16
	       : size == 4 ? (void *)&u32
			   : &v,
	       size);
}

static uint64_t load_uint(const void *f, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	if (size == 1) {
		memcpy(&u8, f, 1);
		return u8;
	}
	if (size == 2) {
		memcpy(&u16, f, 2);
		return u16;
	}
	if (size == 4) {
		memcpy(&u32, f, 4);
		return u32;
	}
	memcpy(&u64, f, 8);
	return u64;
}

static int parse_bool(const struct config_option *o, const struct toml_value *v, void *target,
		      struct config_problem *p)
{
	if (toml_get_bool(v, (bool *)field(o, target)) != 0)
		return config_table_fail_type(p, "a boolean (true or false)", v);
	return 0;
}

static int parse_uint(const struct config_option *o, const struct toml_value *v, void *target,
		      struct config_problem *p)
{
	int64_t x;
	if (toml_get_int(v, &x) != 0)
		return config_table_fail_type(p, "an integer", v);
	if (x < o->min || x > o->max)
		return config_table_fail(
		    p, "must be between %" PRId64 " and %" PRId64 " (found %" PRId64 ")", o->min,
		    o->max, x);
	store_uint(field(o, target), o->size, (uint64_t)x);
	return 0;
}

static int parse_string(const struct config_option *o, const struct toml_value *v, void *target,
			struct config_problem *p)
{
	const char *s;
	size_t len;
	if (toml_get_string(v, &s, &len) != 0)
		return config_table_fail_type(p, "a string", v);
	if (strlen(s) != len)
		return config_table_fail(p, "must not contain a NUL character");
	if ((int64_t)len < o->min || (int64_t)len > o->max || len >= o->size)
		return config_table_fail(
		    p, "must be %" PRId64 " to %" PRId64 " bytes long (found %zu)", o->min, o->max,
		    len);
	memcpy(field(o, target), s, len + 1);
	return 0;
}

/* "\"a\", \"b\" or \"c\"" */
static void list_names(const struct config_name *names, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i].name && n < len; i++) {
		const char *sep = i == 0 ? "" : names[i + 1].name ? ", " : " or ";
		n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"", sep, names[i].name);
	}
}

static int enum_miss(const struct config_option *o, const char *s, size_t len,
		     struct config_problem *p)
{
	char all[160], shown[64];
	const char *best = NULL;
	int best_d = SUGGEST_DISTANCE + 1;
	for (size_t i = 0; o->names[i].name; i++) {
		int d = distance(s, o->names[i].name);
		if (d < best_d) {
			best = o->names[i].name;
			best_d = d;
		}
	}
	list_names(o->names, all, sizeof(all));
	if (o->flags & CONFIG_SENSITIVE)
		return config_table_fail(p, "must be %s", all);
	return config_table_fail(p, "must be %s (found \"%s\")%s%s%s", all, show(s, len, shown),
				 best ? "; did you mean \"" : "", best ? best : "",
				 best ? "\"?" : "");
}

static int parse_enum(const struct config_option *o, const struct toml_value *v, void *target,
		      struct config_problem *p)
{
	const char *s;
	size_t len;
	if (toml_get_string(v, &s, &len) != 0)
		return config_table_fail_type(p, "a string", v);
	for (size_t i = 0; o->names[i].name; i++) {
		if (strlen(o->names[i].name) == len && !memcmp(s, o->names[i].name, len)) {
			memcpy(field(o, target), &o->names[i].value, sizeof(int));
			return 0;
		}
	}
	return enum_miss(o, s, len, p);
}

/* Flat dispatch on the option's type. */
static int parse_value(const struct config_option *o, const struct toml_value *v, void *target,
		       struct config_problem *p)
{
	int r;
	switch (o->type) {
	case CONFIG_BOOL:
		r = parse_bool(o, v, target, p);
		break;
	case CONFIG_UINT:
		r = parse_uint(o, v, target, p);
		break;
	case CONFIG_STRING:
		r = parse_string(o, v, target, p);
		break;
	case CONFIG_ENUM:
		r = parse_enum(o, v, target, p);
		break;
	default:
		r = o->parse(o, v, target, p);
		break;
	}
	if (r == 0 && o->check)
		r = o->check(o, target, p);
	return r;
}

/* ---- applying a document ---------------------------------------------- */

static int find_len(const struct config_table *t, const char *table, const char *key,
		    size_t key_len)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->opts[i].table, table) && strlen(t->opts[i].key) == key_len &&
		    !memcmp(t->opts[i].key, key, key_len))
			return (int)i;
	return -1;
}

int config_table_find(const struct config_table *t, const char *table, const char *key)
{
	return find_len(t, table, key, strlen(key));
}

bool config_table_is_set(const struct config_table *t, size_t i)
{
	return t->origin[i].file != NULL;
}

static int apply_default(const struct config_option *o, void *target)
{
	char doc[512];
	struct config_problem p = {{0}, NULL};
	snprintf(doc, sizeof(doc), "v = %s", o->def);
	struct toml_value *root = toml_parse(doc, strlen(doc), NULL);
	int r = root ? parse_value(o, toml_table_get(root, "v"), target, &p) : -EINVAL;
	toml_free(root);
	return r;
}

static void reset(const struct config_option *o, void *target)
{
	memset(field(o, target), 0, o->size);
	if (o->aux && o->type == CONFIG_CUSTOM)
		memset((char *)target + o->aux, 0, sizeof(unsigned));
	if (o->def)
		(void)apply_default(o, target);
}

static bool differs_from_default(const struct config_option *o, const void *target)
{
	char buf[256];
	config_table_format(o, target, buf, sizeof(buf));
	return !o->def || strcmp(buf, o->def) != 0;
}

static void set_option(struct config_table *t, const char *file, size_t i,
		       const struct toml_entry *e, void *target)
{
	struct config_origin *org = &t->origin[i];
	struct config_problem p = {{0}, NULL};
	int line, column;
	if (org->file) { /* TOML forbids a repeat within a file: this is another file */
		report_option_at(t, true, i, file, e->line,
				 "also set at %s:%d; set it in one file only", org->file,
				 org->line);
		return;
	}
	*org = (struct config_origin){file, e->line, e->column, org->table_line};
	if (parse_value(&t->opts[i], e->value, target, &p) != 0) {
		/* at the key, or at the array element the parser pointed at */
		line = e->line;
		if (p.at && p.at != e->value)
			toml_position(p.at, &line, &column);
		report_option_at(t, true, i, file, line, "%s", p.msg);
		/* cross-checks go on with a sane value, so they report only
		 * problems of their own */
		org->invalid = true;
		reset(&t->opts[i], target);
		return;
	}
	if (t->opts[i].warn && differs_from_default(&t->opts[i], target))
		config_table_report(t, false, i, "%s", t->opts[i].warn);
}

static void unknown_key(struct config_table *t, const char *file, const char *name,
			const struct toml_entry *e)
{
	char shown[64], key[160];
	show(e->key, e->key_len, shown);
	snprintf(key, sizeof(key), "%s.%s", name, shown);
	const char *near = closest_key(t, name, shown);
	const char *elsewhere = table_of_key(t, shown);
	if (near)
		config_table_report_at(t, true, file, e->line, key,
				       "unknown key; did you mean '%s'?", near);
	else if (elsewhere)
		config_table_report_at(t, true, file, e->line, key,
				       "unknown key in [%s]; it belongs in [%s]", name, elsewhere);
	else
		config_table_report_at(t, true, file, e->line, key, "unknown key");
}

static void mark_table(struct config_table *t, const struct toml_value *table, const char *name)
{
	int line, column;
	toml_position(table, &line, &column);
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->opts[i].table, name) && !t->origin[i].table_line)
			t->origin[i].table_line = line;
}

void config_table_apply(struct config_table *t, const char *file, const struct toml_value *table,
			const char *name, void *target)
{
	struct toml_entry e;
	mark_table(t, table, name);
	for (size_t i = 0; toml_table_entry(table, i, &e) == 0; i++) {
		int k = find_len(t, name, e.key, e.key_len);
		if (k < 0)
			unknown_key(t, file, name, &e);
		else
			set_option(t, file, (size_t)k, &e, target);
	}
}

static void unknown_table(struct config_table *t, const char *file, const struct toml_entry *e,
			  const char *only)
{
	char shown[64];
	show(e->key, e->key_len, shown);
	const char *near = closest_table(t, shown);
	const char *owner = table_of_key(t, shown);
	if (only)
		config_table_report_at(t, true, file, e->line, shown,
				       "only [%s] belongs in this file", only);
	else if (toml_type(e->value) != TOML_TABLE && owner)
		config_table_report_at(t, true, file, e->line, shown,
				       "keys belong in a table: write it under [%s]", owner);
	else if (near)
		config_table_report_at(t, true, file, e->line, shown,
				       "unknown table; did you mean [%s]?", near);
	else
		config_table_report_at(t, true, file, e->line, shown, "unknown table");
}

void config_table_apply_root(struct config_table *t, const char *file,
			     const struct toml_value *root, const char *only, void *target)
{
	struct toml_entry e;
	for (size_t i = 0; toml_table_entry(root, i, &e) == 0; i++) {
		bool known = strlen(e.key) == e.key_len && has_table(t, e.key);
		if (!known || (only && strcmp(e.key, only)))
			unknown_table(t, file, &e, only);
		else if (toml_type(e.value) != TOML_TABLE)
			config_table_report_at(t, true, file, e.line, e.key,
					       "expected a table [%s], found %s %s", e.key,
					       article(toml_type_name(toml_type(e.value))),
					       toml_type_name(toml_type(e.value)));
		else
			config_table_apply(t, file, e.value, e.key, target);
	}
}

void config_table_defaults(struct config_table *t, void *target)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct config_option *o = &t->opts[i];
		int line = t->origin[i].table_line;
		char key[128];
		if (config_table_is_set(t, i))
			continue;
		snprintf(key, sizeof(key), "%s.%s", o->table, o->key);
		if (o->flags & CONFIG_REQUIRED)
			config_table_report_at(t, true, t->file, line, key, "missing%s%s%s",
					       line ? "" : " (add it under [", line ? "" : o->table,
					       line ? "" : "])");
		else if (o->def && apply_default(o, target) != 0)
			config_table_report_at(t, true, t->file, 0, key,
					       "invalid built-in default %s", o->def);
	}
}

/* ---- reading files ----------------------------------------------------- */

static int read_fd(int fd, char **ret, size_t *ret_len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if ((uint64_t)st.st_size > FILE_MAX)
		return -EFBIG;
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	ssize_t r = 1;
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		free(buf);
		return -errno;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

static int read_file(const char *path, char **ret, size_t *ret_len, mode_t *ret_mode)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = read_fd(fd, ret, ret_len);
	*ret_mode = fstat(fd, &st) == 0 ? st.st_mode : 0;
	close(fd);
	return r;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Whether 1-based line `line` of text names a sensitive option as a key:
 * then a syntax error's message (which may quote the value) is withheld. */
static bool line_has_secret(const struct config_table *t, const char *text, size_t len, int line)
{
	size_t s = 0, e;
	for (int l = 1; l < line && s < len; s++)
		l += text[s] == '\n';
	for (e = s; e < len && text[e] != '\n'; e++)
		;
	for (size_t i = 0; i < t->n; i++) {
		size_t kl = strlen(t->opts[i].key);
		if (!(t->opts[i].flags & CONFIG_SENSITIVE))
			continue;
		for (size_t j = s; j + kl <= e; j++)
			if (!memcmp(text + j, t->opts[i].key, kl) &&
			    (j == s || !is_key_char(text[j - 1])) &&
			    (j + kl == e || !is_key_char(text[j + kl])))
				return true;
	}
	return false;
}

static void syntax_error(struct config_table *t, const char *path, const char *text, size_t len,
			 const struct toml_error *err)
{
	char out[DIAG_MAX];
	const char *msg = err->msg;
	if (line_has_secret(t, text, len, err->line))
		msg =
		    "invalid TOML on a line holding a secret (details withheld so that the secret "
		    "is not logged); write the key as a quoted base64 string";
	snprintf(out, sizeof(out), "%s:%d:%d: %s", path, err->line, err->column, msg);
	t->errors++;
	t->sink(t->sink_ctx, true, out);
}

static bool holds_secrets(const struct config_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->opts[i].flags & CONFIG_SENSITIVE)
			return true;
	return false;
}

struct toml_value *config_table_read(struct config_table *t, const char *path, bool *ret_missing)
{
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;
	int r = read_file(path, &text, &len, &mode);
	if (r == -ENOENT && ret_missing) {
		*ret_missing = true;
		return NULL;
	}
	if (r < 0) {
		config_table_report_at(t, true, path, 0, NULL, "cannot read: %s", strerror(-r));
		return NULL;
	}
	if ((mode & S_IROTH) && holds_secrets(t))
		config_table_report_at(
		    t, false, path, 0, NULL,
		    "readable by every user of this host, yet it holds secrets; chmod o-rwx");
	struct toml_value *root = config_table_parse(t, path, text, len);
	explicit_bzero(text, len); /* it may hold keys */
	free(text);
	return root;
}

struct toml_value *config_table_parse(struct config_table *t, const char *name, const char *text,
				      size_t len)
{
	struct toml_error err = {0};
	struct toml_value *root = toml_parse(text, len, &err);
	if (!root)
		syntax_error(t, name, text, len, &err);
	return root;
}

/* ---- printing ---------------------------------------------------------- */

void config_table_format_string(const char *s, char *buf, size_t len)
{
	size_t n = 0;
	if (len < 3) {
		buf[0] = '\0';
		return;
	}
	buf[n++] = '"';
	for (; *s && n + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, len - n, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\u%04x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

static const char *enum_name(const struct config_option *o, const void *target)
{
	int v;
	memcpy(&v, cfield(o, target), sizeof(v));
	for (size_t i = 0; o->names[i].name; i++)
		if (o->names[i].value == v)
			return o->names[i].name;
	return "?";
}

void config_table_format(const struct config_option *o, const void *target, char *buf, size_t len)
{
	const void *f = cfield(o, target);
	if (o->flags & CONFIG_SENSITIVE) {
		snprintf(buf, len, "%s", REDACTED);
		return;
	}
	switch (o->type) {
	case CONFIG_BOOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
		break;
	case CONFIG_UINT:
		snprintf(buf, len, "%" PRIu64, load_uint(f, o->size));
		break;
	case CONFIG_STRING:
		config_table_format_string(f, buf, len);
		break;
	case CONFIG_ENUM:
		snprintf(buf, len, "\"%s\"", enum_name(o, target));
		break;
	default:
		o->format(o, target, buf, len);
		break;
	}
}

int config_table_dump(const struct config_option *opts, size_t n, const char *name,
		      const void *target, FILE *out)
{
	char buf[2048];
	for (size_t i = 0; i < n; i++) {
		if (strcmp(opts[i].table, name))
			continue;
		config_table_format(&opts[i], target, buf, sizeof(buf));
		fprintf(out, "%s = %s", opts[i].key, buf);
		if (opts[i].warn && differs_from_default(&opts[i], target))
			fprintf(out, "  # %s", opts[i].warn);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

/* Values compare by their TOML text, which covers a second (.aux) field
 * too; secrets, which print redacted, by their bytes. */
static bool same_value(const struct config_option *o, const void *a, const void *b)
{
	char ta[1024], tb[1024];
	if (o->flags & CONFIG_SENSITIVE)
		return !memcmp(cfield(o, a), cfield(o, b), o->size);
	config_table_format(o, a, ta, sizeof(ta));
	config_table_format(o, b, tb, sizeof(tb));
	return !strcmp(ta, tb);
}

unsigned config_table_diff(struct config_table *t, const void *old, const void *new)
{
	char was[256], now[256];
	unsigned changed = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct config_option *o = &t->opts[i];
		if ((o->flags & CONFIG_RELOADABLE) || same_value(o, old, new))
			continue;
		config_table_format(o, old, was, sizeof(was));
		config_table_format(o, new, now, sizeof(now));
		config_table_report(
		    t, false, i,
		    "changed from %s to %s: restart to apply it; the running value is kept", was,
		    now);
		changed++;
	}
	return changed;
}
