/* xue_rules: Xue et al.'s flow-shape rules (xue.h) on every flow of a pcap.
 *
 *   xue_rules [-p SERVER_PORT] FILE.pcap
 *
 * UDP flows: the OpenVPN opcode rule (Alg. 1) on byte 0 of the first N
 * payloads, N = 10, 20, ..., 100, and the ACK rule. N = 10 is printed but
 * not counted in opcode_flagged: ten values of a uniformly random byte
 * always form a set of at most 10, so at N = 10 the rule flags about 94 %
 * of all flows whose first byte is random (any encrypted protocol without a
 * cleartext header), OpenVPN or not.
 *
 * TCP flows that carry TLS: the first four application-data bursts after
 * the outer handshake (the client's ChangeCipherSpec and its next record),
 * Xue 2024's "RT < 2.5 and first burst < 300 bytes" (https_like) and the
 * TLS-in-TLS shape (report only).
 *
 *   xue UDP a <-> b payloads=.. opcode=10:flag,20:-,... opcode_flagged=0
 *       ack=third:32,early:5,late:0 ack_flagged=1
 *   tls TCP a <-> b bursts=546,2958,...(n=9) rt=4.5 https_like=no tls_in_tls=yes
 *   summary flows=N opcode_flagged=0 ack_flagged=0 opcode_n10=0 tls_flows=0
 *       tls_in_tls=0 https_like=0 */
#include "capture.h"
#include "xue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct flow_state {
	uint8_t ops[XUE_MAX_PACKETS];
	uint16_t sizes[XUE_MAX_PACKETS];
	size_t count;
	struct xue_tls tls; /* TLS over TCP */
};

struct run {
	struct capture_table *flows;
	unsigned long opcode_flagged, opcode_n10, ack_flagged, tls_flows, tls_in_tls, https_like;
};

static void on_tcp(struct flow_state *s, int dir, const struct capture_pkt *pkt)
{
	xue_tls_feed(&s->tls, dir, pkt->tcp_seq, pkt->payload, pkt->payload_len);
}

static void on_udp(struct flow_state *s, const struct capture_pkt *pkt)
{
	if (pkt->payload_len == 0 || s->count >= XUE_MAX_PACKETS)
		return;
	s->ops[s->count] = pkt->payload[0];
	s->sizes[s->count] = (uint16_t)(pkt->payload_len > 0xffff ? 0xffff : pkt->payload_len);
	s->count++;
}

static void on_packet(const struct capture_pkt *pkt, void *ctx)
{
	struct run *r = ctx;
	struct capture_flow *f;
	int dir;

	if ((pkt->l4 != 6 && pkt->l4 != 17) || pkt->fragment)
		return;
	f = capture_table_find(r->flows, pkt, &dir);
	if (!f || (!f->user && !(f->user = calloc(1, sizeof(struct flow_state)))))
		return;
	if (pkt->l4 == 17)
		on_udp(f->user, pkt);
	else
		on_tcp(f->user, dir, pkt);
}

static void report_udp(struct run *r, const char *name, struct flow_state *s)
{
	size_t early, late;
	int flagged = 0, ack;

	printf("xue %s payloads=%zu opcode=", name, s->count);
	for (size_t n = 10; n <= XUE_MAX_PACKETS; n += 10) {
		int v = xue_opcode_rule(s->ops, s->count, n);
		printf("%s%zu:%s", n > 10 ? "," : "", n, v < 0 ? "n/a" : v ? "flag" : "-");
		if (v == 1 && n == 10)
			r->opcode_n10++;
		else if (v == 1)
			flagged = 1;
	}
	ack = xue_ack_rule(s->sizes, s->count, &early, &late);
	printf(" opcode_flagged=%d ack=third:%u,early:%zu,late:%zu ack_flagged=%s\n", flagged,
	       s->count > 2 ? s->sizes[2] : 0, early, late,
	       ack < 0 ? "n/a"
	       : ack   ? "1"
		       : "0");
	r->opcode_flagged += (unsigned long)flagged;
	r->ack_flagged += ack == 1;
}

static void report_tls(struct run *r, const char *name, struct flow_state *s)
{
	const struct xue_bursts *b = &s->tls.bursts;
	int like = xue_https_like(b), tit = xue_tls_in_tls(b);
	printf("tls %s bursts=%zu,%zu,%zu,%zu(n=%zu) rt=%.1f https_like=%s tls_in_tls=%s\n", name,
	       b->b[0], b->b[1], b->b[2], b->b[3], b->n, (double)b->n / 2, like ? "yes" : "no",
	       tit ? "yes" : "no");
	r->tls_flows++;
	r->https_like += (unsigned long)like;
	r->tls_in_tls += (unsigned long)tit;
}

static void report(struct run *r)
{
	for (size_t i = 0; i < capture_table_count(r->flows); i++) {
		struct capture_flow *f = capture_table_at(r->flows, i);
		struct flow_state *s = f->user;
		char name[160];
		if (!s)
			continue;
		capture_flow_name(f, name, sizeof(name));
		if (f->l4 == 17)
			report_udp(r, name, s);
		else if (s->tls.is_tls == 1 && s->tls.hs_done)
			report_tls(r, name, s);
	}
	printf("summary flows=%zu opcode_flagged=%lu ack_flagged=%lu opcode_n10=%lu tls_flows=%lu "
	       "tls_in_tls=%lu https_like=%lu\n",
	       capture_table_count(r->flows), r->opcode_flagged, r->ack_flagged, r->opcode_n10,
	       r->tls_flows, r->tls_in_tls, r->https_like);
}

int main(int argc, char **argv)
{
	struct run r = {0};
	unsigned long port = 0;
	int opt;
	long bad;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else
			goto usage;
	}
	if (optind != argc - 1 || port > 65535)
		goto usage;
	r.flows = capture_table_new((uint16_t)port);
	if (!r.flows)
		return 1;
	bad = capture_read_file(argv[optind], on_packet, &r);
	if (bad >= 0)
		report(&r);
	capture_table_free(r.flows, free);
	return bad < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: xue_rules [-p SERVER_PORT] FILE.pcap\n");
	return 2;
}
