/* Test driver for network/firewall.c, run by tests/e2e/firewall.sh inside a
 * network namespace:
 *
 *   firewall_tool setup --tun NAME [--egress NAME] --pool4 A/N [--pool6 A/N]
 *                       [--client-to-client] [--port N] [--dns ADDR]...
 *                       [--open tcp|udp/LO[-HI]]... [--ip6-global]
 *       loads the table, enables forwarding and exits (like a crashed server);
 *       --port is the server's UDP port (default 51820), --ip6-global takes
 *       the IPv6 forwarding fallback of kernels without force_forwarding
 *   firewall_tool run   (same options)
 *       sets up, prints "ready", waits for EOF on stdin, tears down
 *   firewall_tool teardown
 *       removes the table (no forwarding state to restore)
 *
 * Interface names are passed through unchecked (truncated to the field size)
 * so that the library's own validation is what the test exercises. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/firewall.h"

static void copy_name(char out[static FIREWALL_IFNAME_SIZE], const char *in)
{
	size_t n = strlen(in);

	memset(out, 0, FIREWALL_IFNAME_SIZE);
	memcpy(out, in, n < FIREWALL_IFNAME_SIZE ? n : FIREWALL_IFNAME_SIZE);
}

static int parse_prefix(const char *text, int family, uint8_t *ret_addr, uint8_t *ret_len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	unsigned long len;
	char *end;

	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	len = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || len > 255 || inet_pton(family, addr, ret_addr) != 1)
		return -EINVAL;
	*ret_len = (uint8_t)len;
	return 0;
}

static int parse_dns(const char *text, struct firewall_spec *spec)
{
	struct firewall_addr *a = &spec->dns[spec->n_dns];

	if (spec->n_dns == FIREWALL_MAX_DNS)
		return -EINVAL;
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a->family, text, a->addr) != 1)
		return -EINVAL;
	spec->n_dns++;
	return 0;
}

/* "tcp/22", "udp/8000-8080"; the library checks the numbers. */
static int parse_open(const char *text, struct firewall_spec *spec)
{
	struct firewall_ports *p = &spec->open_ports[spec->n_open_ports];
	unsigned long lo, hi;
	char *end;

	if (spec->n_open_ports == FIREWALL_MAX_PORTS || strlen(text) < 5 || text[3] != '/')
		return -EINVAL;
	lo = hi = strtoul(text + 4, &end, 10);
	if (*end == '-')
		hi = strtoul(end + 1, &end, 10);
	if (*end != '\0' || lo > 65535 || hi > 65535)
		return -EINVAL;
	p->proto = !strncmp(text, "tcp", 3)   ? IPPROTO_TCP
		   : !strncmp(text, "udp", 3) ? IPPROTO_UDP
					      : 0;
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	spec->n_open_ports++;
	return 0;
}

static int parse_spec(int argc, char **argv, struct firewall_spec *spec)
{
	static const struct option options[] = {
	    {"tun", required_argument, NULL, 't'},	  {"egress", required_argument, NULL, 'e'},
	    {"pool4", required_argument, NULL, '4'},	  {"pool6", required_argument, NULL, '6'},
	    {"client-to-client", no_argument, NULL, 'c'}, {"port", required_argument, NULL, 'p'},
	    {"dns", required_argument, NULL, 'd'},	  {"open", required_argument, NULL, 'o'},
	    {"ip6-global", no_argument, NULL, 'g'},	  {NULL, 0, NULL, 0},
	};
	int c, r = 0;

	memset(spec, 0, sizeof(*spec));
	spec->port = 51820;
	while (r == 0 && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 't')
			copy_name(spec->tun_name, optarg);
		else if (c == 'e')
			copy_name(spec->egress_interface, optarg);
		else if (c == '4')
			r = parse_prefix(optarg, AF_INET, spec->pool4, &spec->pool4_len);
		else if (c == '6')
			r = parse_prefix(optarg, AF_INET6, spec->pool6, &spec->pool6_len);
		else if (c == 'c')
			spec->client_to_client = true;
		else if (c == 'p')
			spec->port = (uint16_t)strtoul(optarg, NULL, 10);
		else if (c == 'd')
			r = parse_dns(optarg, spec);
		else if (c == 'o')
			r = parse_open(optarg, spec);
		else if (c == 'g')
			spec->ip6_global_forwarding = true;
		else
			r = -EINVAL;
		if (c == '6')
			spec->has_pool6 = true;
	}
	return r == 0 && optind == argc ? 0 : -EINVAL;
}

static int report(const char *what, int r, const char *err)
{
	if (r < 0)
		fprintf(stderr, "firewall_tool: %s: %s (%s)\n", what, err, strerror(-r));
	return r < 0 ? 1 : 0;
}

static int wait_for_eof(void)
{
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}

int main(int argc, char **argv)
{
	struct firewall fw = {NULL, 0};
	struct firewall_spec spec;
	const char *cmd = argc > 1 ? argv[1] : "";
	char err[256] = "";
	int r;

	if (!strcmp(cmd, "teardown") && argc == 2)
		return report("teardown", firewall_teardown(NULL, err, sizeof(err)), err);
	if ((strcmp(cmd, "setup") && strcmp(cmd, "run")) || parse_spec(argc - 1, argv + 1, &spec)) {
		fprintf(stderr, "usage: firewall_tool setup|run --tun NAME [--egress NAME] "
				"--pool4 A/N [--pool6 A/N] [--client-to-client] [--port N] "
				"[--dns ADDR]... [--open tcp|udp/LO[-HI]]... [--ip6-global]\n"
				"       firewall_tool teardown\n");
		return 2;
	}
	r = firewall_setup(&fw, &spec, err, sizeof(err));
	if (r < 0 || !strcmp(cmd, "setup")) {
		free(fw.undo); /* "crashed": what to undo is lost with the process */
		return report("setup", r, err);
	}
	wait_for_eof();
	return report("teardown", firewall_teardown(&fw, err, sizeof(err)), err);
}
