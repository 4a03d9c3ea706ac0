/* Prometheus text exposition format 0.0.4: the text a /metrics scrape
 * returns, built into a growing buffer. Pure (no I/O, no clock).
 *
 *   # HELP name text          (text: backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} 123   (value: backslash, quote, newline escaped)
 *   name_bucket{le="0.001"} 4     (cumulative; the last le="+Inf" = _count)
 *   name_sum 0.0123
 *   name_count 9
 *
 * Names are checked (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * [a-zA-Z_][a-zA-Z0-9_]*, no label "le" outside histograms' own, counter
 * names end in _total): a bad one sets the buffer's error and writes
 * nothing, so a mistake shows in the unit tests rather than as a scrape
 * Prometheus refuses. */
#ifndef LL_API_PROM_H
#define LL_API_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_buf {
	char *p; /* NUL-terminated text, malloc'd */
	size_t len, cap;
	int err;	 /* 0, -ENOMEM or -EINVAL (a bad name, in bad) */
	const char *bad; /* the name that set -EINVAL */
};

struct prom_label {
	const char *name, *value;
};

void prom_init(struct prom_buf *b);
void prom_free(struct prom_buf *b);
/* Hands the text over (the caller frees it); NULL after an error. */
char *prom_take(struct prom_buf *b, size_t *len);

/* The HELP and TYPE lines of a family; its samples follow. */
void prom_family(struct prom_buf *b, const char *name, enum prom_type type, const char *help);
/* One sample of an integer value (counters, gauges). */
void prom_sample(struct prom_buf *b, const char *name, const struct prom_label *labels,
		 size_t n_labels, uint64_t value);
/* One sample of a real value (gauges, sums). */
void prom_sample_real(struct prom_buf *b, const char *name, const struct prom_label *labels,
		      size_t n_labels, double value);
/* A histogram's samples: counts[i] observations in (bounds[i-1],
 * bounds[i]] for i < n_bounds and counts[n_bounds] above the last bound
 * (per bucket, not cumulative: the function sums them); bounds strictly
 * increasing; sum of the observed values. */
void prom_histogram(struct prom_buf *b, const char *name, const struct prom_label *labels,
		    size_t n_labels, const double *bounds, size_t n_bounds, const uint64_t *counts,
		    double sum);

/* The shortest text that reads back as v ("+Inf", "-Inf", "NaN"). buf of
 * at least PROM_REAL_MAX bytes. */
#define PROM_REAL_MAX 32
void prom_format_real(char *buf, double v);
bool prom_valid_metric_name(const char *s);
bool prom_valid_label_name(const char *s);

#endif
