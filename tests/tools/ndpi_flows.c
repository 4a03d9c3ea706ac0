/* ndpi_flows: what a DPI box built on nDPI 4.2 says about each flow of a pcap.
 *
 *   ndpi_flows [-d] [-m PACKETS] [-p SERVER_PORT] FILE.pcap
 *
 * Every packet of every flow is fed to ndpi_detection_process_packet (nDPI
 * decides itself when it is done), or with -m only a flow's first PACKETS
 * packets and one more, both directions: ndpiReader stops on UDP when a
 * flow's count, this packet included, exceeds 24 (its
 * max_num_udp_dissected_pkts), but still dissects that 25th packet, and a
 * dissector's loose match can come later (an RTP-looking first byte at
 * packet 25 is one). At the end, a flow nDPI has not classified is handed to
 * ndpi_detection_giveup, with guessing (by port and by the dissectors'
 * partial matches) unless -d is given, like ndpiReader's -d. One line per
 * flow:
 *
 *   flow UDP 198.51.100.2:40000 <-> 198.51.100.1:51820 packets=12/10
 *     proto=WireGuard master=Unknown app=WireGuard guessed=no confidence=DPI
 *     risks=none
 *
 * (on one line). proto is nDPI's name of the pair, master and app the two
 * halves; guessed=yes when the verdict came from giveup's guess, not from a
 * dissector; risks are the ndpi_risk_enum names without the NDPI_ prefix,
 * comma-separated. Exit status 0, or 1 if the file cannot be read. */
#include "capture.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The 4.2 risk enum by name: each entry is compile-checked against the
 * header, so a different nDPI fails the build rather than mislabels. */
#define RISK(x) [NDPI_##x] = #x
static const char *const risk_names[NDPI_MAX_RISK] = {
    RISK(URL_POSSIBLE_XSS),
    RISK(URL_POSSIBLE_SQL_INJECTION),
    RISK(URL_POSSIBLE_RCE_INJECTION),
    RISK(BINARY_APPLICATION_TRANSFER),
    RISK(KNOWN_PROTOCOL_ON_NON_STANDARD_PORT),
    RISK(TLS_SELFSIGNED_CERTIFICATE),
    RISK(TLS_OBSOLETE_VERSION),
    RISK(TLS_WEAK_CIPHER),
    RISK(TLS_CERTIFICATE_EXPIRED),
    RISK(TLS_CERTIFICATE_MISMATCH),
    RISK(HTTP_SUSPICIOUS_USER_AGENT),
    RISK(HTTP_NUMERIC_IP_HOST),
    RISK(HTTP_SUSPICIOUS_URL),
    RISK(HTTP_SUSPICIOUS_HEADER),
    RISK(TLS_NOT_CARRYING_HTTPS),
    RISK(SUSPICIOUS_DGA_DOMAIN),
    RISK(MALFORMED_PACKET),
    RISK(SSH_OBSOLETE_CLIENT_VERSION_OR_CIPHER),
    RISK(SSH_OBSOLETE_SERVER_VERSION_OR_CIPHER),
    RISK(SMB_INSECURE_VERSION),
    RISK(TLS_SUSPICIOUS_ESNI_USAGE),
    RISK(UNSAFE_PROTOCOL),
    RISK(DNS_SUSPICIOUS_TRAFFIC),
    RISK(TLS_MISSING_SNI),
    RISK(HTTP_SUSPICIOUS_CONTENT),
    RISK(RISKY_ASN),
    RISK(RISKY_DOMAIN),
    RISK(MALICIOUS_JA3),
    RISK(MALICIOUS_SHA1_CERTIFICATE),
    RISK(DESKTOP_OR_FILE_SHARING_SESSION),
    RISK(TLS_UNCOMMON_ALPN),
    RISK(TLS_CERT_VALIDITY_TOO_LONG),
    RISK(TLS_SUSPICIOUS_EXTENSION),
    RISK(TLS_FATAL_ALERT),
    RISK(SUSPICIOUS_ENTROPY),
    RISK(CLEAR_TEXT_CREDENTIALS),
    RISK(DNS_LARGE_PACKET),
    RISK(DNS_FRAGMENTED),
    RISK(INVALID_CHARACTERS),
    RISK(POSSIBLE_EXPLOIT),
    RISK(TLS_CERTIFICATE_ABOUT_TO_EXPIRE),
};

struct ndpi_state {
	struct ndpi_flow_struct *flow;
	ndpi_protocol proto;
	int detected;
};

struct run {
	struct ndpi_detection_module_struct *ndpi;
	struct capture_table *flows;
	unsigned long untracked;
	unsigned long max_packets; /* per flow, both directions; 0 = every packet */
};

static void free_state(void *p)
{
	struct ndpi_state *s = p;
	if (!s)
		return;
	if (s->flow)
		ndpi_free_flow(s->flow); /* frees the struct too */
	free(s);
}

static struct ndpi_state *state_of(struct capture_flow *f)
{
	struct ndpi_state *s = f->user;
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->flow = ndpi_flow_malloc(sizeof(*s->flow));
	if (!s->flow) {
		free(s);
		return NULL;
	}
	memset(s->flow, 0, sizeof(*s->flow));
	f->user = s;
	return s;
}

static void on_packet(const struct capture_pkt *pkt, void *ctx)
{
	struct run *r = ctx;
	struct capture_flow *f;
	struct ndpi_state *s;
	int dir;

	if ((pkt->l4 != 6 && pkt->l4 != 17) || pkt->l3_len > 0xffff) {
		r->untracked++;
		return;
	}
	f = capture_table_find(r->flows, pkt, &dir);
	if (!f || !(s = state_of(f))) {
		r->untracked++;
		return;
	}
	f->packets[dir]++;
	f->bytes[dir] += pkt->payload_len;
	/* like ndpiReader: a flow's verdict is made on its first packets, the
	 * one that crosses the limit included (reader_util.c counts the packet,
	 * tests "> max", dissects it, then gives up) */
	if (r->max_packets && f->packets[0] + f->packets[1] > r->max_packets + 1)
		return;
	/* Every packet, as ndpiReader: nDPI itself decides when it is done
	 * (and keeps dissecting where extra dissection is possible). */
	s->proto = ndpi_detection_process_packet(r->ndpi, s->flow, pkt->l3,
						 (unsigned short)pkt->l3_len, pkt->ts_ms);
	if (s->proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    s->proto.master_protocol != NDPI_PROTOCOL_UNKNOWN)
		s->detected = 1;
}

static void print_risks(ndpi_risk risk)
{
	int any = 0;
	for (int i = 1; i < NDPI_MAX_RISK; i++) {
		if (!(risk & (1ULL << i)))
			continue;
		printf("%s%s", any ? "," : "", risk_names[i] ? risk_names[i] : "?");
		any = 1;
	}
	if (!any)
		printf("none");
}

/* nDPI's confidence names have spaces ("Match by port"): one word per
 * field keeps the line parsable. */
static const char *confidence_word(ndpi_confidence_t c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ndpi_confidence_get_name(c));
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '_';
	return buf;
}

static void report(struct run *r, int guess)
{
	for (size_t i = 0; i < capture_table_count(r->flows); i++) {
		struct capture_flow *f = capture_table_at(r->flows, i);
		struct ndpi_state *s = f->user;
		char name[160], pname[128], conf[64];
		uint8_t guessed = 0;
		ndpi_protocol p;

		if (!s)
			continue;
		p = s->proto;
		if (!s->detected)
			p = ndpi_detection_giveup(r->ndpi, s->flow, (uint8_t)guess, &guessed);
		capture_flow_name(f, name, sizeof(name));
		ndpi_protocol2name(r->ndpi, p, pname, sizeof(pname));
		printf("flow %s packets=%llu/%llu proto=%s master=%s app=%s guessed=%s "
		       "confidence=%s risks=",
		       name, (unsigned long long)f->packets[0], (unsigned long long)f->packets[1],
		       pname, ndpi_get_proto_name(r->ndpi, p.master_protocol),
		       ndpi_get_proto_name(r->ndpi, p.app_protocol), guessed ? "yes" : "no",
		       confidence_word(s->flow->confidence, conf, sizeof(conf)));
		print_risks(s->flow->risk);
		printf("\n");
	}
}

static struct ndpi_detection_module_struct *ndpi_open(void)
{
	NDPI_PROTOCOL_BITMASK all;
	struct ndpi_detection_module_struct *m = ndpi_init_detection_module(ndpi_no_prefs);
	if (!m)
		return NULL;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(m, &all);
	ndpi_finalize_initialization(m);
	return m;
}

static void usage(void)
{
	fprintf(stderr, "usage: ndpi_flows [-d] [-m PACKETS] [-p SERVER_PORT] FILE.pcap\n"
			"  -d  no guessing for undetected flows (ndpiReader -d)\n"
			"  -m  dissect PACKETS+1 per flow, as ndpiReader (0: all)\n"
			"  -p  the side with this port is printed second\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct run r = {0};
	int guess = 1, opt;
	long bad;
	unsigned long port = 0;

	while ((opt = getopt(argc, argv, "dm:p:")) != -1) {
		if (opt == 'd')
			guess = 0;
		else if (opt == 'm')
			r.max_packets = strtoul(optarg, NULL, 10);
		else if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (optind != argc - 1 || port > 65535)
		usage();
	r.ndpi = ndpi_open();
	r.flows = capture_table_new((uint16_t)port);
	if (!r.ndpi || !r.flows) {
		fprintf(stderr, "ndpi_flows: cannot initialise nDPI\n");
		return 1;
	}
	bad = capture_read_file(argv[optind], on_packet, &r);
	if (bad >= 0) {
		report(&r, guess);
		printf("summary flows=%zu undecoded=%ld untracked=%lu\n",
		       capture_table_count(r.flows), bad, r.untracked);
	}
	capture_table_free(r.flows, free_state);
	ndpi_exit_detection_module(r.ndpi);
	return bad < 0 ? 1 : 0;
}
