/* fet: the GFW's fully-encrypted-traffic rule (fet.h) applied to the first
 * client-to-server payload of every flow in a pcap, as the GFW applies it
 * to the first data packet of a TCP connection.
 *
 *   fet [-n] [-p SERVER_PORT] FILE.pcap
 *
 * -n uses nDPI's Ex4 threshold (runs of 20) instead of the paper's (21).
 * The client side is the source of a flow's first packet, or the side
 * without SERVER_PORT. One line per flow with a client payload:
 *
 *   fet UDP 198.51.100.2:40000 <-> 198.51.100.1:51820 len=1348
 *     popcount=3.99 prefix=0 printable=37% run=3 verdict=blocked exempt=none
 *
 * then "summary flows=N exempt=E blocked=B". Reporting only: exit 0 unless
 * the file cannot be read. */
#include "capture.h"
#include "fet.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct run {
	struct capture_table *flows;
	size_t run_min;
	unsigned long exempt, blocked;
};

static int judged_mark;

static void on_packet(const struct capture_pkt *pkt, void *ctx)
{
	struct run *r = ctx;
	struct capture_flow *f;
	struct fet_result res;
	char name[160], ex[64];
	int dir;

	if ((pkt->l4 != 6 && pkt->l4 != 17) || pkt->fragment)
		return;
	f = capture_table_find(r->flows, pkt, &dir);
	if (!f || f->user || dir != 0 || pkt->payload_len == 0)
		return;
	f->user = &judged_mark; /* only the first client payload counts */
	fet_check(pkt->payload, pkt->payload_len, r->run_min, &res);
	capture_flow_name(f, name, sizeof(name));
	fet_exemptions_text(res.exempt_by, ex, sizeof(ex));
	printf("fet %s len=%zu popcount=%.2f prefix=%zu printable=%zu%% run=%zu verdict=%s "
	       "exempt=%s\n",
	       name, res.len, (double)res.popcount / (double)res.len, res.prefix,
	       res.printable * 100 / res.len, res.longest_run, res.exempt_by ? "exempt" : "blocked",
	       ex);
	if (res.exempt_by)
		r->exempt++;
	else
		r->blocked++;
}

int main(int argc, char **argv)
{
	struct run r = {.run_min = FET_RUN_PAPER};
	unsigned long port = 0;
	int opt;
	long bad;

	while ((opt = getopt(argc, argv, "np:")) != -1) {
		if (opt == 'n')
			r.run_min = FET_RUN_NDPI;
		else if (opt == 'p')
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
		printf("summary flows=%lu exempt=%lu blocked=%lu\n", r.exempt + r.blocked, r.exempt,
		       r.blocked);
	capture_table_free(r.flows, NULL);
	return bad < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: fet [-n] [-p SERVER_PORT] FILE.pcap\n");
	return 2;
}
