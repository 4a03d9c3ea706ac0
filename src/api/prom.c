/* Prometheus text exposition: see prom.h. */
#include "api/prom.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_init(struct prom_buf *b)
{
	*b = (struct prom_buf){0};
}

void prom_free(struct prom_buf *b)
{
	free(b->p);
	prom_init(b);
}

char *prom_take(struct prom_buf *b, size_t *len)
{
	char *p = b->p;

	if (b->err || !p) {
		prom_free(b);
		return NULL;
	}
	*len = b->len;
	prom_init(b);
	return p;
}

static bool reserve(struct prom_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(struct prom_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Label values escape backslash, double quote and newline; HELP text
 * backslash and newline (the format's two escaping rules). */
static void put_escaped(struct prom_buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (*s == '"' && quote)
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (c == ':')
		return colon;
	return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!name_char(*p, p == s, colon))
			return false;
	return true;
}

bool prom_valid_metric_name(const char *s)
{
	return valid_name(s, true);
}

bool prom_valid_label_name(const char *s)
{
	/* names starting with __ are reserved for Prometheus itself */
	return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcmp(s + n - m, tail) == 0;
}

static void invalid(struct prom_buf *b, const char *name)
{
	if (!b->err) {
		b->err = -EINVAL;
		b->bad = name;
	}
}

void prom_format_real(char *buf, double v)
{
	if (isnan(v)) {
		strcpy(buf, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, PROM_REAL_MAX, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static const char *const type_names[] = {
    [PROM_COUNTER] = "counter", [PROM_GAUGE] = "gauge", [PROM_HISTOGRAM] = "histogram"};

void prom_family(struct prom_buf *b, const char *name, enum prom_type type, const char *help)
{
	if (!prom_valid_metric_name(name) || (unsigned)type > PROM_HISTOGRAM ||
	    (type == PROM_COUNTER) != ends_with(name, "_total")) {
		invalid(b, name);
		return;
	}
	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, " ");
	put_escaped(b, help, false);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, " ");
	puts_(b, type_names[type]);
	puts_(b, "\n");
}

static bool labels_valid(struct prom_buf *b, const struct prom_label *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!prom_valid_label_name(l[i].name) || strcmp(l[i].name, "le") == 0 ||
		    !l[i].value) {
			invalid(b, l[i].name ? l[i].name : "(null)");
			return false;
		}
	}
	return true;
}

/* name{a="x",b="y"[,le="z"]} */
static void put_series(struct prom_buf *b, const char *name, const char *suffix,
		       const struct prom_label *l, size_t n, const char *le)
{
	puts_(b, name);
	puts_(b, suffix);
	if (n == 0 && !le)
		return;
	puts_(b, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			puts_(b, ",");
		puts_(b, l[i].name);
		puts_(b, "=\"");
		put_escaped(b, l[i].value, true);
		puts_(b, "\"");
	}
	if (le) {
		puts_(b, n ? ",le=\"" : "le=\"");
		puts_(b, le);
		puts_(b, "\"");
	}
	puts_(b, "}");
}

static void put_u64(struct prom_buf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v);
	put(b, num, (size_t)n);
}

static void put_real(struct prom_buf *b, double v)
{
	char num[PROM_REAL_MAX];

	prom_format_real(num, v);
	puts_(b, " ");
	puts_(b, num);
	puts_(b, "\n");
}

/* A series the exposition can carry: a valid metric name and labels (a
 * bad one is reported by invalid()/labels_valid() and writes nothing). */
static bool series_valid(struct prom_buf *b, const char *name, const struct prom_label *labels,
			 size_t n_labels)
{
	if (!prom_valid_metric_name(name)) {
		invalid(b, name);
		return false;
	}
	return labels_valid(b, labels, n_labels);
}

/* Writes a plain sample's name and labels; false (nothing written) if invalid. */
static bool sample_begin(struct prom_buf *b, const char *name, const struct prom_label *labels,
			 size_t n_labels)
{
	if (!series_valid(b, name, labels, n_labels))
		return false;
	put_series(b, name, "", labels, n_labels, NULL);
	return true;
}

void prom_sample(struct prom_buf *b, const char *name, const struct prom_label *labels,
		 size_t n_labels, uint64_t value)
{
	if (sample_begin(b, name, labels, n_labels))
		put_u64(b, value);
}

void prom_sample_real(struct prom_buf *b, const char *name, const struct prom_label *labels,
		      size_t n_labels, double value)
{
	if (sample_begin(b, name, labels, n_labels))
		put_real(b, value);
}

void prom_histogram(struct prom_buf *b, const char *name, const struct prom_label *labels,
		    size_t n_labels, const double *bounds, size_t n_bounds, const uint64_t *counts,
		    double sum)
{
	char le[PROM_REAL_MAX];
	uint64_t total = 0;

	if (!series_valid(b, name, labels, n_labels))
		return;
	for (size_t i = 0; i < n_bounds; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
			invalid(b, name);
			return;
		}
	}
	for (size_t i = 0; i <= n_bounds; i++) {
		total += counts[i];
		if (i < n_bounds)
			prom_format_real(le, bounds[i]);
		else
			strcpy(le, "+Inf");
		put_series(b, name, "_bucket", labels, n_labels, le);
		put_u64(b, total);
	}
	put_series(b, name, "_sum", labels, n_labels, NULL);
	put_real(b, sum);
	put_series(b, name, "_count", labels, n_labels, NULL);
	put_u64(b, total);
}
