/* pcap_stats: what a censor can learn from a flow without decrypting it,
 * per direction: which payload byte positions are not uniformly random,
 * which payload sizes occur (and whether any of the sizes legacy DPIs key
 * on), and the IP header values (DSCP/ECN, TTL, DF).
 *
 *   pcap_stats [-p SERVER_PORT] [-n PACKETS] FILE.pcap
 *
 * Byte positions. Over the first PACKETS payloads of a direction (default
 * 10,000), each position i counts the 256 values of byte i. A position is
 * tested when at least 2,560 payloads reach it (10 expected per value, so
 * the chi-square approximation below holds). Its plug-in entropy H (bits)
 * over n samples gives the G statistic G = 2 n ln 2 (8 - H), which for a
 * uniformly random byte follows chi-square with 255 degrees of freedom.
 * The position is flagged "low-entropy" when G exceeds that distribution's
 * quantile at z = 6 (Wilson-Hilferty: 415.2), i.e. when
 *
 *     H < 8 - 415.2 / (2 n ln 2)        (7.970 bits at n = 10,000)
 *
 * A random byte falls below that with probability about 1e-9, so over the
 * ~3,000 positions of a flow's two directions a false flag has odds of a
 * few in a million; the bound tightens as n grows. Uniform bytes give
 * E[H] = 8 - 255 / (2 n ln 2) (7.982 at n = 10,000). "constant" is a
 * position with one value. Positions past the 2048th byte are not
 * analysed. What it misses: a byte whose distribution is
 * off by less than that (G noncentrality ~ n * 256 * sum (p - 1/256)^2
 * under about 200), and structure across positions or packets (a counter
 * spread over bytes, correlations): it looks at one byte at a time.
 *
 * Output: a "dir" line per flow and direction, then FLAG lines (at most 40
 * position flags per direction, then a count), then a summary:
 *
 *   flow 0 UDP 198.51.100.2:40000 <-> 198.51.100.1:51820
 *   dir 0 c2s packets=12000 sampled=10000 tested=1300 flagged=0 forbidden=0
 *       sizes=1279 top=1348:1,... dscp=0 ecn=0 ttl=64 df=1       (one line)
 *   FLAG 0 c2s position 0 constant 0x04 n=10000
 *   FLAG 0 c2s position 9 low-entropy H=5.32 bound=7.970 distinct=40 n=10000
 *   FLAG 0 c2s size 92 count=3
 *   FLAG 0 c2s dscp 0x22 / ecn 1 / ttl 64,63 / df 0,1
 *   summary flows=1 flagged_positions=2 forbidden_sizes=3 ip_flags=0
 *
 * Directions are c2s/s2c with -p (the side with SERVER_PORT is the
 * server), else a2b/b2a (a = source of the flow's first packet). */
#include "capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATS_MIN_SAMPLES 2560
#define STATS_G_QUANTILE  415.2 /* chi-square(255) at z = 6, Wilson-Hilferty */
/* Payload sizes are counted one by one up to this; longer ones (GSO
 * super-packets, jumbo frames) share its slot, printed as "2048+". */
#define STATS_MAX_LEN	     2048
#define STATS_MAX_FLAG_LINES 40

static const size_t forbidden_sizes[] = {64, 80, 92, 112, 148};

struct dir_stats {
	uint64_t packets;
	uint64_t sampled;
	size_t positions;	 /* rows allocated in counts */
	uint32_t (*counts)[256]; /* counts[pos][value] */
	uint32_t *reach;	 /* payloads long enough to have pos */
	uint32_t *sizes;	 /* STATS_MAX_LEN + 1 slots, allocated on first use */
	uint32_t tos_seen[256 / 32];
	uint32_t ttl_seen[256 / 32];
	uint8_t df_seen; /* bit 0: DF clear seen, bit 1: DF set seen */
};

struct flow_stats {
	struct dir_stats d[2];
};

struct run {
	struct capture_table *flows;
	uint64_t max_packets;
	int oriented;
	unsigned long untracked;
	unsigned long flagged_positions, forbidden, ip_flags;
};

static void set_bit(uint32_t *set, uint8_t v)
{
	set[v / 32] |= 1u << (v % 32);
}

static int has_bit(const uint32_t *set, unsigned v)
{
	return (set[v / 32] >> (v % 32)) & 1;
}

static void free_flow(void *p)
{
	struct flow_stats *s = p;
	if (!s)
		return;
	for (int i = 0; i < 2; i++) {
		free(s->d[i].counts);
		free(s->d[i].reach);
		free(s->d[i].sizes);
	}
	free(s);
}

/* Grows the per-position tables to len rows; 0 on success. */
static int grow(struct dir_stats *d, size_t len)
{
	uint32_t(*c)[256];
	uint32_t *r;

	if (len <= d->positions)
		return 0;
	c = realloc(d->counts, len * sizeof(*c));
	if (!c)
		return -1;
	d->counts = c;
	r = realloc(d->reach, len * sizeof(*r));
	if (!r)
		return -1;
	d->reach = r;
	memset(d->counts + d->positions, 0, (len - d->positions) * sizeof(*c));
	memset(d->reach + d->positions, 0, (len - d->positions) * sizeof(*r));
	d->positions = len;
	return 0;
}

static int sample(struct dir_stats *d, const struct capture_pkt *pkt)
{
	size_t len = pkt->payload_len;

	if (!d->sizes && !(d->sizes = calloc(STATS_MAX_LEN + 1, sizeof(*d->sizes))))
		return -1;
	d->sizes[len > STATS_MAX_LEN ? STATS_MAX_LEN : len]++;
	if (len > STATS_MAX_LEN)
		len = STATS_MAX_LEN; /* positions beyond are not analysed */
	if (grow(d, len) != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		d->counts[i][pkt->payload[i]]++;
		d->reach[i]++;
	}
	d->sampled++;
	return 0;
}

static void on_packet(const struct capture_pkt *pkt, void *ctx)
{
	struct run *r = ctx;
	struct capture_flow *f;
	struct flow_stats *s;
	struct dir_stats *d;
	int dir;

	if ((pkt->l4 != 6 && pkt->l4 != 17) || pkt->fragment) {
		r->untracked++;
		return;
	}
	f = capture_table_find(r->flows, pkt, &dir);
	if (!f) {
		r->untracked++;
		return;
	}
	if (!f->user && !(f->user = calloc(1, sizeof(struct flow_stats)))) {
		r->untracked++;
		return;
	}
	s = f->user;
	d = &s->d[dir];
	f->packets[dir]++;
	set_bit(d->tos_seen, pkt->tos);
	set_bit(d->ttl_seen, pkt->ttl);
	d->df_seen |= (uint8_t)(1u << (pkt->df ? 1 : 0));
	if (pkt->payload_len == 0)
		return; /* TCP ACKs: no payload to judge */
	d->packets++;
	if (d->sampled < r->max_packets && sample(d, pkt) != 0)
		r->untracked++;
}

static double entropy(const uint32_t *c, uint32_t n)
{
	double h = 0;
	for (int v = 0; v < 256; v++) {
		if (c[v]) {
			double p = (double)c[v] / n;
			h -= p * log2(p);
		}
	}
	return h;
}

static int distinct(const uint32_t *c)
{
	int k = 0;
	for (int v = 0; v < 256; v++)
		k += c[v] != 0;
	return k;
}

/* The lowest entropy a uniform byte position shows at n samples, but for
 * a one-in-a-billion chance (see the head of the file). */
static double entropy_bound(uint32_t n)
{
	return 8.0 - STATS_G_QUANTILE / (2.0 * n * log(2.0));
}

static void print_set(const char *name, const uint32_t *set, unsigned shift, unsigned mask)
{
	int any = 0;
	uint32_t seen[256 / 32] = {0};
	for (unsigned v = 0; v < 256; v++)
		if (has_bit(set, v))
			set_bit(seen, (uint8_t)((v >> shift) & mask));
	printf(" %s=", name);
	for (unsigned v = 0; v < 256; v++) {
		if (has_bit(seen, v)) {
			printf("%s%u", any ? "," : "", v);
			any = 1;
		}
	}
	if (!any)
		printf("-");
}

static int set_count(const uint32_t *set, unsigned shift, unsigned mask, int nonzero_only)
{
	uint32_t seen[256 / 32] = {0};
	int k = 0;
	for (unsigned v = 0; v < 256; v++)
		if (has_bit(set, v))
			set_bit(seen, (uint8_t)((v >> shift) & mask));
	for (unsigned v = nonzero_only ? 1 : 0; v < 256; v++)
		k += has_bit(seen, v);
	return k;
}

/* The five most frequent payload sizes, "size:count", most frequent first. */
static void print_top_sizes(const struct dir_stats *d)
{
	size_t shown[5];
	int k;

	printf(" top=");
	for (k = 0; k < 5 && d->sizes; k++) {
		size_t best = 0;
		uint32_t bc = 0;
		for (size_t len = 0; len <= STATS_MAX_LEN; len++) {
			int seen = 0;
			for (int j = 0; j < k; j++)
				seen |= shown[j] == len;
			if (!seen && d->sizes[len] > bc) {
				best = len;
				bc = d->sizes[len];
			}
		}
		if (!bc)
			break;
		shown[k] = best;
		printf("%s%zu%s:%u", k ? "," : "", best, best == STATS_MAX_LEN ? "+" : "", bc);
	}
	if (k == 0)
		printf("-");
}

static void report_dir(struct run *r, size_t fi, const char *dn, struct dir_stats *d)
{
	unsigned long flagged = 0, tested = 0, forbidden = 0, ipf = 0;
	size_t nsizes = 0;

	for (size_t i = 0; i < d->positions; i++) {
		uint32_t n = d->reach[i];
		double h, bound;
		if (n < STATS_MIN_SAMPLES)
			continue;
		tested++;
		h = entropy(d->counts[i], n);
		bound = entropy_bound(n);
		if (h >= bound)
			continue;
		flagged++;
		if (flagged > STATS_MAX_FLAG_LINES)
			continue;
		if (distinct(d->counts[i]) == 1) {
			int v = 0;
			while (!d->counts[i][v])
				v++;
			printf("FLAG %zu %s position %zu constant 0x%02x n=%u\n", fi, dn, i, v, n);
		} else {
			printf(
			    "FLAG %zu %s position %zu low-entropy H=%.3f bound=%.3f distinct=%d n=%u\n",
			    fi, dn, i, h, bound, distinct(d->counts[i]), n);
		}
	}
	if (flagged > STATS_MAX_FLAG_LINES)
		printf("FLAG %zu %s position ... %lu more\n", fi, dn,
		       flagged - STATS_MAX_FLAG_LINES);
	for (size_t k = 0; d->sizes && k < sizeof(forbidden_sizes) / sizeof(forbidden_sizes[0]);
	     k++) {
		uint32_t c = d->sizes[forbidden_sizes[k]];
		if (c) {
			printf("FLAG %zu %s size %zu count=%u\n", fi, dn, forbidden_sizes[k], c);
			forbidden += c;
		}
	}
	if (set_count(d->tos_seen, 2, 0x3f, 1)) {
		printf("FLAG %zu %s dscp nonzero\n", fi, dn);
		ipf++;
	}
	if (set_count(d->tos_seen, 0, 0x3, 1)) {
		printf("FLAG %zu %s ecn nonzero\n", fi, dn);
		ipf++;
	}
	if (set_count(d->ttl_seen, 0, 0xff, 0) > 1) {
		printf("FLAG %zu %s ttl varies\n", fi, dn);
		ipf++;
	}
	if (d->df_seen == 3) {
		printf("FLAG %zu %s df varies\n", fi, dn);
		ipf++;
	}
	for (size_t len = 0; d->sizes && len <= STATS_MAX_LEN; len++)
		nsizes += d->sizes[len] != 0;
	printf(
	    "dir %zu %s packets=%llu sampled=%llu tested=%lu flagged=%lu forbidden=%lu sizes=%zu",
	    fi, dn, (unsigned long long)d->packets, (unsigned long long)d->sampled, tested, flagged,
	    forbidden, nsizes);
	print_top_sizes(d);
	print_set("dscp", d->tos_seen, 2, 0x3f);
	print_set("ecn", d->tos_seen, 0, 0x3);
	print_set("ttl", d->ttl_seen, 0, 0xff);
	printf(" df=%s\n", d->df_seen == 3   ? "0,1"
			   : d->df_seen == 2 ? "1"
			   : d->df_seen	     ? "0"
					     : "-");
	r->flagged_positions += flagged;
	r->forbidden += forbidden;
	r->ip_flags += ipf;
}

static void report(struct run *r)
{
	static const char *const names[2][2] = {{"a2b", "b2a"}, {"c2s", "s2c"}};
	for (size_t i = 0; i < capture_table_count(r->flows); i++) {
		struct capture_flow *f = capture_table_at(r->flows, i);
		struct flow_stats *s = f->user;
		char name[160];
		if (!s)
			continue;
		capture_flow_name(f, name, sizeof(name));
		printf("flow %zu %s\n", i, name);
		for (int dir = 0; dir < 2; dir++)
			if (f->packets[dir])
				report_dir(r, i, names[r->oriented][dir], &s->d[dir]);
	}
	printf("summary flows=%zu flagged_positions=%lu forbidden_sizes=%lu ip_flags=%lu "
	       "untracked=%lu\n",
	       capture_table_count(r->flows), r->flagged_positions, r->forbidden, r->ip_flags,
	       r->untracked);
}

int main(int argc, char **argv)
{
	struct run r = {.max_packets = 10000};
	unsigned long port = 0;
	int opt;
	long bad;

	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else if (opt == 'n')
			r.max_packets = strtoull(optarg, NULL, 10);
		else
			goto usage;
	}
	if (optind != argc - 1 || port > 65535 || r.max_packets == 0)
		goto usage;
	r.oriented = port != 0;
	r.flows = capture_table_new((uint16_t)port);
	if (!r.flows)
		return 1;
	bad = capture_read_file(argv[optind], on_packet, &r);
	if (bad >= 0)
		report(&r);
	capture_table_free(r.flows, free_flow);
	return bad < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: pcap_stats [-p SERVER_PORT] [-n PACKETS] FILE.pcap\n");
	return 2;
}
