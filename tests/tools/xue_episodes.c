/* xue_episodes: Xue et al. 2024's burst measures (xue.h) per inner
 * connection of a tunnel, as a censor who knows when each one starts
 * would apply them (the strongest case: P1-T9).
 *
 *   xue_episodes -p SERVER_PORT -w WINDOWS FILE.pcap
 *
 * WINDOWS holds one line per inner connection, "START_MS END_MS" (Unix
 * time in milliseconds, the capture's clock). In each window, for each
 * flow to or from SERVER_PORT, the payload-carrying packets are grouped
 * into bursts (a burst ends when the direction changes; it starts with
 * the client, earlier server packets are skipped, as xue_rules does). A
 * TCP flow counts only after its own TLS handshake (xue_tls_feed: the
 * client's ChangeCipherSpec and its next record) and skips
 * retransmissions, so a direct HTTPS connection is measured as xue_rules
 * measures it; a UDP flow counts every datagram. Per episode:
 *
 *   episode W FLOW bursts=b0,b1,b2,b3(n=N) sig=1.1.2.3.2.2.1.1 pkts=P
 *       rt=N/2 https_like=yes|no tls_in_tls=yes|no
 *
 * sig: the packet count of each of the first 8 bursts ('+' if more
 * follow), the direction/count pattern a censor could learn.
 *
 *   summary episodes=E https_like=K tls_in_tls=M nbursts=n:count,... */
#include "capture.h"
#include "xue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WINDOWS 256
#define SIG_BURSTS  8

struct episode {
	struct xue_bursts b;
	unsigned pkts[SIG_BURSTS];
	size_t packets;
	int last_dir;
};

struct flow_state {
	struct xue_tls tls; /* TCP: where the flow's own TLS handshake ends */
	struct episode ep[MAX_WINDOWS];
};

struct run {
	struct capture_table *flows;
	uint64_t start[MAX_WINDOWS], end[MAX_WINDOWS];
	size_t windows;
};

static int window_of(const struct run *r, uint64_t ts_ms)
{
	for (size_t i = 0; i < r->windows; i++)
		if (ts_ms >= r->start[i] && ts_ms <= r->end[i])
			return (int)i;
	return -1;
}

static void count(struct episode *e, int dir, size_t len)
{
	struct xue_bursts *b = &e->b;

	if (b->n == 0 && dir == 1)
		return; /* server packets before the client's first */
	if (b->n == 0 || dir != e->last_dir) {
		b->n++;
		e->last_dir = dir;
	}
	if (b->n <= 4)
		b->b[b->n - 1] += len;
	if (b->n <= SIG_BURSTS)
		e->pkts[b->n - 1]++;
	e->packets++;
}

/* A TCP segment: true when it counts (after the flow's TLS handshake,
 * not a retransmission). */
static int tcp_counts(struct flow_state *s, int dir, const struct capture_pkt *pkt)
{
	struct xue_tls_dir *d = &s->tls.dir[dir != 0];
	int done_before = s->tls.hs_done;

	if (d->started && (int32_t)(pkt->tcp_seq - d->next_seq) < 0)
		return 0;
	xue_tls_feed(&s->tls, dir, pkt->tcp_seq, pkt->payload, pkt->payload_len);
	return done_before && s->tls.is_tls == 1;
}

static void on_packet(const struct capture_pkt *pkt, void *ctx)
{
	struct run *r = ctx;
	struct capture_flow *f;
	struct flow_state *s;
	int dir, w;

	if ((pkt->l4 != 6 && pkt->l4 != 17) || pkt->fragment || pkt->payload_len == 0)
		return;
	f = capture_table_find(r->flows, pkt, &dir);
	if (!f || (!f->user && !(f->user = calloc(1, sizeof(struct flow_state)))))
		return;
	s = f->user;
	if (pkt->l4 == 6 && !tcp_counts(s, dir, pkt))
		return;
	w = window_of(r, pkt->ts_ms);
	if (w >= 0)
		count(&s->ep[w], dir != 0, pkt->payload_len);
}

static void sig_of(const struct episode *e, char *buf, size_t cap)
{
	size_t pos = 0;

	buf[0] = 0;
	for (size_t i = 0; i < e->b.n && i < SIG_BURSTS && pos < cap; i++)
		pos += (size_t)snprintf(buf + pos, cap - pos, "%s%u", i ? "." : "", e->pkts[i]);
	if (e->b.n > SIG_BURSTS && pos < cap)
		snprintf(buf + pos, cap - pos, "+");
}

static void report(struct run *r)
{
	unsigned long episodes = 0, like = 0, tit = 0, hist[64] = {0};

	for (size_t w = 0; w < r->windows; w++) {
		for (size_t i = 0; i < capture_table_count(r->flows); i++) {
			struct capture_flow *f = capture_table_at(r->flows, i);
			struct flow_state *s = f->user;
			const struct episode *e;
			char name[160], sig[64];
			int l, t;

			if (!s || !s->ep[w].b.n)
				continue;
			e = &s->ep[w];
			l = xue_https_like(&e->b);
			t = xue_tls_in_tls(&e->b);
			capture_flow_name(f, name, sizeof(name));
			sig_of(e, sig, sizeof(sig));
			printf(
			    "episode %zu %s bursts=%zu,%zu,%zu,%zu(n=%zu) sig=%s pkts=%zu rt=%.1f "
			    "https_like=%s tls_in_tls=%s\n",
			    w, name, e->b.b[0], e->b.b[1], e->b.b[2], e->b.b[3], e->b.n, sig,
			    e->packets, (double)e->b.n / 2, l ? "yes" : "no", t ? "yes" : "no");
			episodes++;
			like += (unsigned long)l;
			tit += (unsigned long)t;
			hist[e->b.n < 63 ? e->b.n : 63]++;
		}
	}
	printf("summary episodes=%lu https_like=%lu tls_in_tls=%lu nbursts=", episodes, like, tit);
	for (int n = 0, first = 1; n < 64; n++)
		if (hist[n]) {
			printf("%s%d:%lu", first ? "" : ",", n, hist[n]);
			first = 0;
		}
	printf("\n");
}

static int read_windows(struct run *r, const char *path)
{
	FILE *fp = fopen(path, "r");
	unsigned long long a, b;

	if (!fp) {
		perror(path);
		return -1;
	}
	while (r->windows < MAX_WINDOWS && fscanf(fp, "%llu %llu", &a, &b) == 2) {
		r->start[r->windows] = a;
		r->end[r->windows] = b;
		r->windows++;
	}
	fclose(fp);
	return r->windows ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	unsigned long port = 0;
	const char *windows = NULL;
	int opt;
	long bad;

	while ((opt = getopt(argc, argv, "p:w:")) != -1) {
		if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else if (opt == 'w')
			windows = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1 || port == 0 || port > 65535 || !windows)
		goto usage;
	if (read_windows(&r, windows) < 0) {
		fprintf(stderr, "xue_episodes: no windows in %s\n", windows);
		return 1;
	}
	r.flows = capture_table_new((uint16_t)port);
	if (!r.flows)
		return 1;
	bad = capture_read_file(argv[optind], on_packet, &r);
	if (bad >= 0)
		report(&r);
	capture_table_free(r.flows, free);
	return bad < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: xue_episodes -p SERVER_PORT -w WINDOWS FILE.pcap\n");
	return 2;
}
