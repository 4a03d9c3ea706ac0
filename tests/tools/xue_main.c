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

struct tls_dir {
	int started;
	uint32_t next_seq;
	uint8_t hdr[5];
	size_t hdr_have;
	size_t body_left;
	int ccs_seen;
};

struct flow_state {
	uint8_t ops[XUE_MAX_PACKETS];
	uint16_t sizes[XUE_MAX_PACKETS];
	size_t count;
	/* TLS over TCP */
	struct tls_dir tls[2];
	int is_tls, hs_done, hs_done_pending, last_dir;
	struct xue_bursts bursts;
};

struct run {
	struct capture_table *flows;
	unsigned long opcode_flagged, opcode_n10, ack_flagged, tls_flows, tls_in_tls, https_like;
};

/* One TLS record header seen in direction dir (0 = client). */
static void on_record(struct flow_state *s, int dir, uint8_t type)
{
	if (type < 0x14 || type > 0x17) {
		s->is_tls = -1; /* not TLS: stop parsing */
		return;
	}
	if (s->is_tls == 0)
		s->is_tls = 1;
	if (dir == 0 && type == 0x14)
		s->tls[0].ccs_seen = 1;
	else if (dir == 0 && s->tls[0].ccs_seen && (type == 0x17 || type == 0x16) && !s->hs_done)
		s->hs_done_pending =
		    1; /* the client's Finished: bursts start with the next packet */
}

static void parse_records(struct flow_state *s, int dir, const uint8_t *p, size_t len)
{
	struct tls_dir *t = &s->tls[dir];
	while (len > 0 && s->is_tls >= 0) {
		if (t->body_left) {
			size_t k = len < t->body_left ? len : t->body_left;
			t->body_left -= k;
			p += k;
			len -= k;
			continue;
		}
		t->hdr[t->hdr_have++] = *p++;
		len--;
		if (t->hdr_have == 5) {
			t->hdr_have = 0;
			t->body_left = (size_t)t->hdr[3] << 8 | t->hdr[4];
			on_record(s, dir, t->hdr[0]);
		}
	}
}

static void on_tcp(struct flow_state *s, int dir, const struct capture_pkt *pkt)
{
	struct tls_dir *t = &s->tls[dir];
	uint32_t len = (uint32_t)pkt->payload_len;

	if (len == 0 || s->is_tls < 0)
		return;
	if (t->started && (int32_t)(pkt->tcp_seq - t->next_seq) < 0)
		return; /* a retransmission */
	t->started = 1;
	t->next_seq = pkt->tcp_seq + len;
	if (s->hs_done) {
		if (s->bursts.n == 0 && dir == 1)
			return; /* server records before the client's first (session tickets) */
		if (s->bursts.n == 0 || dir != s->last_dir) {
			s->bursts.n++;
			s->last_dir = dir;
		}
		if (s->bursts.n <= 4)
			s->bursts.b[s->bursts.n - 1] += len;
		return;
	}
	parse_records(s, dir, pkt->payload, len);
	if (s->hs_done_pending)
		s->hs_done = 1;
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
	int like = xue_https_like(&s->bursts), tit = xue_tls_in_tls(&s->bursts);
	printf("tls %s bursts=%zu,%zu,%zu,%zu(n=%zu) rt=%.1f https_like=%s tls_in_tls=%s\n", name,
	       s->bursts.b[0], s->bursts.b[1], s->bursts.b[2], s->bursts.b[3], s->bursts.n,
	       (double)s->bursts.n / 2, like ? "yes" : "no", tit ? "yes" : "no");
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
		else if (s->is_tls == 1 && s->hs_done)
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
