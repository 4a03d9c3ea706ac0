/* Firewall (network/firewall.c) without root: the generated nft script for
 * each kind of spec, compared whole (the default configuration's too); the
 * input chain: the routing-loop wall first whatever is opened, only the TUN
 * device decided, DNS and open ports; interface-name validation (nothing
 * can be injected into the script); spec bounds; buffer sizes; the
 * default-route parsers on /proc text; the client's marks table. Loading
 * the scripts and the forwarding sysctls are tests/e2e/firewall.sh's,
 * host_services.sh's and full_tunnel.sh's job.
 *
 * The .c is included to reach its static parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "network/firewall.c"

/* A baseline: tun0 -> eth0, 10.8.0.0/24, no IPv6, no client-to-client,
 * port 51820, DNS on the server's tunnel address. */
static struct firewall_spec base(void)
{
	struct firewall_spec s = {
	    .tun_name = "tun0",
	    .egress_interface = "eth0",
	    .pool4 = {10, 8, 0, 0},
	    .pool4_len = 24,
	    .port = 51820,
	    .dns = {{AF_INET, {10, 8, 0, 1}}},
	    .n_dns = 1,
	};
	return s;
}

#define ICMP4_RULE                                                                                 \
	" icmp type { echo-reply, destination-unreachable, echo-request, time-exceeded, "          \
	"parameter-problem } accept\n"
#define ICMP6_RULES                                                                                \
	" icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "                  \
	"parameter-problem, echo-request, echo-reply } accept\n"
#define ND_RULE " icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n"

static const char expect_v4[] =
    "table inet lostlove\n"
    "delete table inet lostlove\n"
    "table inet lostlove {\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy accept;\n"
    "\t\tiifname \"tun0\" udp dport 51820 counter drop\n"
    "\t\tiifname \"tun0\" meta nfproto ipv6 counter drop\n"
    "\t\tiifname \"tun0\" ct state established,related accept\n"
    "\t\tiifname \"tun0\"" ICMP4_RULE
    "\t\tiifname \"tun0\" ip daddr 10.8.0.1 meta l4proto { tcp, udp } th dport 53 accept\n"
    "\t\tiifname \"tun0\" counter drop\n"
    "\t}\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tiifname \"tun0\" ip saddr != 10.8.0.0/24 counter drop\n"
    "\t\tiifname \"tun0\" meta nfproto ipv6 counter drop\n"
    "\t\tiifname \"tun0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
    "\t\toifname \"tun0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
    "\t\tiifname \"tun0\" oifname \"tun0\" counter drop\n"
    "\t\tiifname \"tun0\" oifname \"eth0\" accept\n"
    "\t\tiifname \"tun0\" counter drop\n"
    "\t\tiifname \"eth0\" oifname \"tun0\" ct state established,related accept\n"
    "\t\toifname \"tun0\" counter drop\n"
    "\t}\n"
    "\tchain postrouting {\n"
    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
    "\t\toifname \"eth0\" ip saddr 10.8.0.0/24 masquerade\n"
    "\t}\n"
    "}\n";

static const char expect_v6_c2c[] =
    "table inet lostlove\n"
    "delete table inet lostlove\n"
    "table inet lostlove {\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy accept;\n"
    "\t\tiifname \"ll0\" udp dport 443 counter drop\n"
    "\t\tiifname \"ll0\" ct state established,related accept\n"
    "\t\tiifname \"ll0\"" ICMP4_RULE "\t\tiifname \"ll0\"" ICMP6_RULES "\t\tiifname \"ll0\"" ND_RULE
    "\t\tiifname \"ll0\" ip daddr 10.8.0.1 meta l4proto { tcp, udp } th dport 53 accept\n"
    "\t\tiifname \"ll0\" ip6 daddr fd00:8::1 meta l4proto { tcp, udp } th dport 53 accept\n"
    "\t\tiifname \"ll0\" tcp dport 22 accept\n"
    "\t\tiifname \"ll0\" udp dport 8000-8080 accept\n"
    "\t\tiifname \"ll0\" counter drop\n"
    "\t}\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tiifname \"ll0\" ip saddr != 172.16.0.0/12 counter drop\n"
    "\t\tiifname \"ll0\" ip6 saddr != fd00:8::/64 counter drop\n"
    "\t\tiifname \"ll0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
    "\t\toifname \"ll0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
    "\t\tiifname \"ll0\" oifname \"ll0\" counter accept\n"
    "\t\tiifname \"ll0\" oifname \"enp3s0.100\" accept\n"
    "\t\tiifname \"ll0\" counter drop\n"
    "\t\tiifname \"enp3s0.100\" oifname \"ll0\" ct state established,related accept\n"
    "\t\toifname \"ll0\" counter drop\n"
    "\t}\n"
    "\tchain postrouting {\n"
    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
    "\t\toifname \"enp3s0.100\" ip saddr 172.16.0.0/12 masquerade\n"
    "\t\toifname \"enp3s0.100\" ip6 saddr fd00:8::/64 masquerade\n"
    "\t}\n"
    "}\n";

static void render_ok(const struct firewall_spec *s, char out[static FIREWALL_RULESET_MAX])
{
	char err[128] = "";
	int r = firewall_render(s, out, FIREWALL_RULESET_MAX, err, sizeof(err));

	if (r != 0)
		fail_msg("render: %d %s", r, err);
}

static void test_render_v4(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX];

	render_ok(&s, out);
	assert_string_equal(out, expect_v4);
}

static void test_render_v6_client_to_client(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	const uint8_t pool6[16] = {0xfd, 0, 0, 8};
	char out[FIREWALL_RULESET_MAX];

	strcpy(s.tun_name, "ll0");
	strcpy(s.egress_interface, "enp3s0.100");
	memcpy(s.pool4, (uint8_t[]){172, 16, 0, 0}, 4);
	s.pool4_len = 12;
	s.has_pool6 = true;
	memcpy(s.pool6, pool6, 16);
	s.pool6_len = 64;
	s.client_to_client = true;
	s.port = 443;
	s.dns[1] = (struct firewall_addr){AF_INET6, {0xfd, 0, 0, 8, [15] = 1}};
	s.n_dns = 2;
	s.open_ports[0] = (struct firewall_ports){IPPROTO_TCP, 22, 22};
	s.open_ports[1] = (struct firewall_ports){IPPROTO_UDP, 8000, 8080};
	s.n_open_ports = 2;
	render_ok(&s, out);
	assert_string_equal(out, expect_v6_c2c);
}

/* What the server loads with the default server.toml (port 443, ll0,
 * 10.8.0.1/24, fd00:8::1/64, DNS 10.8.0.1, nothing opened), its default
 * route through eth0: docs/dataplane.md shows it. */
static void test_render_default_config(void **state)
{
	(void)state;
	static const char expect[] =
	    "table inet lostlove\n"
	    "delete table inet lostlove\n"
	    "table inet lostlove {\n"
	    "\tchain input {\n"
	    "\t\ttype filter hook input priority filter; policy accept;\n"
	    "\t\tiifname \"ll0\" udp dport 443 counter drop\n"
	    "\t\tiifname \"ll0\" ct state established,related accept\n"
	    "\t\tiifname \"ll0\"" ICMP4_RULE "\t\tiifname \"ll0\"" ICMP6_RULES
	    "\t\tiifname \"ll0\"" ND_RULE
	    "\t\tiifname \"ll0\" ip daddr 10.8.0.1 meta l4proto { tcp, udp } th dport 53 accept\n"
	    "\t\tiifname \"ll0\" counter drop\n"
	    "\t}\n"
	    "\tchain forward {\n"
	    "\t\ttype filter hook forward priority filter; policy accept;\n"
	    "\t\tiifname \"ll0\" ip saddr != 10.8.0.0/24 counter drop\n"
	    "\t\tiifname \"ll0\" ip6 saddr != fd00:8::/64 counter drop\n"
	    "\t\tiifname \"ll0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
	    "\t\toifname \"ll0\" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
	    "\t\tiifname \"ll0\" oifname \"ll0\" counter drop\n"
	    "\t\tiifname \"ll0\" oifname \"eth0\" accept\n"
	    "\t\tiifname \"ll0\" counter drop\n"
	    "\t\tiifname \"eth0\" oifname \"ll0\" ct state established,related accept\n"
	    "\t\toifname \"ll0\" counter drop\n"
	    "\t}\n"
	    "\tchain postrouting {\n"
	    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	    "\t\toifname \"eth0\" ip saddr 10.8.0.0/24 masquerade\n"
	    "\t\toifname \"eth0\" ip6 saddr fd00:8::/64 masquerade\n"
	    "\t}\n"
	    "}\n";
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX];

	strcpy(s.tun_name, "ll0");
	memcpy(s.pool4, (uint8_t[]){10, 8, 0, 1}, 4);
	s.has_pool6 = true;
	memcpy(s.pool6, (uint8_t[16]){0xfd, 0, 0, 8, [15] = 1}, 16);
	s.pool6_len = 64;
	s.port = 443;
	render_ok(&s, out);
	assert_string_equal(out, expect);
}

/* The input chain of out: its rule lines, after the "type" line. */
static size_t input_rules(const char *out, char lines[][160], size_t max)
{
	const char *p = strstr(out, "\tchain input {\n\t\ttype filter hook input priority filter; "
				    "policy accept;\n");
	size_t n = 0;

	assert_non_null(p);
	p = strchr(strchr(p, '\n') + 1, '\n') + 1;
	while (strncmp(p, "\t}\n", 3) != 0) {
		size_t len = strcspn(p, "\n");
		assert_true(n < max && len < 160);
		memcpy(lines[n], p, len);
		lines[n++][len] = '\0';
		p += len + 1;
	}
	return n;
}

/* Nothing opens the server's own port to the tunnel: the wall is the first
 * rule, before replies and before the operator's ports, even when those
 * list the port itself or a range around it. Every rule decides only
 * packets from the TUN device: the host's own traffic passes untouched. */
static void test_input_loop_wall_first(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX], lines[64][160];
	size_t n;

	s.has_pool6 = true;
	s.pool6_len = 64;
	s.open_ports[0] = (struct firewall_ports){IPPROTO_UDP, 51820, 51820};
	s.open_ports[1] = (struct firewall_ports){IPPROTO_UDP, 1, 65535};
	s.open_ports[2] = (struct firewall_ports){IPPROTO_TCP, 51820, 51820};
	s.n_open_ports = 3;
	render_ok(&s, out);
	n = input_rules(out, lines, 64);
	assert_string_equal(lines[0], "\t\tiifname \"tun0\" udp dport 51820 counter drop");
	assert_string_equal(lines[1], "\t\tiifname \"tun0\" ct state established,related accept");
	assert_string_equal(lines[n - 4], "\t\tiifname \"tun0\" udp dport 51820 accept");
	assert_string_equal(lines[n - 3], "\t\tiifname \"tun0\" udp dport 1-65535 accept");
	assert_string_equal(lines[n - 2], "\t\tiifname \"tun0\" tcp dport 51820 accept");
	assert_string_equal(lines[n - 1], "\t\tiifname \"tun0\" counter drop");
	for (size_t i = 0; i < n; i++)
		if (strncmp(lines[i], "\t\tiifname \"tun0\" ", 17) != 0)
			fail_msg("input rule %zu does not start with iifname: %s", i, lines[i]);
	assert_null(strstr(out, "nd-router-advert"));
	assert_null(strstr(out, "nd-redirect"));
	/* with the TLS front, its TCP port is walled too, before anything */
	s.tcp_front = true;
	render_ok(&s, out);
	n = input_rules(out, lines, 64);
	assert_string_equal(lines[0], "\t\tiifname \"tun0\" udp dport 51820 counter drop");
	assert_string_equal(lines[1], "\t\tiifname \"tun0\" tcp dport 51820 counter drop");
	assert_string_equal(lines[n - 2], "\t\tiifname \"tun0\" tcp dport 51820 accept");
}

/* DNS to each pushed resolver, in its family; IPv6 ones only with an IPv6
 * pool (without it, IPv6 from the tunnel is dropped before). */
static void test_input_dns(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX], lines[64][160];
	size_t n;

	s.dns[0] = (struct firewall_addr){AF_INET, {1, 1, 1, 1}};
	s.dns[1] = (struct firewall_addr){AF_INET6, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x53}};
	s.dns[2] = (struct firewall_addr){AF_INET, {198, 51, 100, 1}};
	s.n_dns = 3;
	render_ok(&s, out);
	n = input_rules(out, lines, 64);
	assert_int_equal(n, 7);
	assert_string_equal(lines[1], "\t\tiifname \"tun0\" meta nfproto ipv6 counter drop");
	assert_string_equal(lines[4],
			    "\t\tiifname \"tun0\" ip daddr 1.1.1.1 meta l4proto { tcp, udp } "
			    "th dport 53 accept");
	assert_string_equal(lines[5],
			    "\t\tiifname \"tun0\" ip daddr 198.51.100.1 meta l4proto { tcp, "
			    "udp } th dport 53 accept");
	s.has_pool6 = true;
	s.pool6_len = 64;
	render_ok(&s, out);
	n = input_rules(out, lines, 64);
	assert_int_equal(n, 9);
	assert_string_equal(lines[6],
			    "\t\tiifname \"tun0\" ip6 daddr 2001:db8::53 meta l4proto { tcp, "
			    "udp } th dport 53 accept");
	s.n_dns = 0; /* dns = [] */
	render_ok(&s, out);
	assert_null(strstr(out, "dport 53"));
}

/* The removal prelude setup relies on to replace a stale table, and the
 * script teardown loads, are the same text. */
static void test_render_starts_with_removal(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX];

	render_ok(&s, out);
	assert_memory_equal(out, script_remove, strlen(script_remove));
	assert_string_equal(script_remove, "table inet lostlove\ndelete table inet lostlove\n");
}

/* Pools are given as the server's address + prefix length; host bits go. */
struct prefix_case {
	int family;
	uint8_t addr[16];
	uint8_t len;
	const char *text;
};

static const struct prefix_case prefix_cases[] = {
    /*  1 */ {AF_INET, {10, 8, 0, 1}, 24, "10.8.0.0/24"},
    /*  2 */ {AF_INET, {10, 8, 0, 1}, 32, "10.8.0.1/32"},
    /*  3 */ {AF_INET, {10, 8, 0, 1}, 31, "10.8.0.0/31"},
    /*  4 */ {AF_INET, {255, 255, 255, 255}, 1, "128.0.0.0/1"},
    /*  5 */ {AF_INET, {192, 168, 77, 200}, 20, "192.168.64.0/20"},
    /*  6 */ {AF_INET6, {0xfd, 0, 0, 8, [15] = 1}, 64, "fd00:8::/64"},
    /*  7 */ {AF_INET6, {0xfd, 0, 0, 8, [15] = 1}, 128, "fd00:8::1/128"},
    /*  8 */ {AF_INET6, {0xfd, 0xff, 0xff, 0xff, [8] = 0xff}, 65, "fdff:ffff:0:0:8000::/65"},
    /*  9 */ {AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0xff}, 36, "2001:db8:f000::/36"},
};

static void test_prefix_host_bits_cleared(void **state)
{
	(void)state;
	char text[INET6_ADDRSTRLEN + 5];

	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		format_prefix(text, sizeof(text), c->family, c->addr, c->len);
		if (strcmp(text, c->text))
			fail_msg("case %zu: got %s, want %s", i + 1, text, c->text);
	}
}

/* Names that must never reach the script: quote breakers, nft syntax,
 * whitespace, control bytes, non-ASCII, the kernel's reserved ones, and
 * names of 16 bytes without a NUL (the field is full). */
static const char *const bad_names[] = {
    "",	    ".",  "..",		 "eth0\"", "eth0\" accept", "a b",    "eth0;",
    "x{",   "x}", "eth*",	 "eth0\\", "eth0\n",	    "eth0\t", "$var",
    "@set", "#c", "\xc3\xa9th0", "eth0/1", "eth:0",
};

static void check_bad(struct firewall_spec *s, const char *field)
{
	char out[FIREWALL_RULESET_MAX] = "untouched", err[128] = "";

	assert_int_equal(firewall_render(s, out, sizeof(out), err, sizeof(err)), -EINVAL);
	if (!strstr(err, field))
		fail_msg("message '%s' does not name %s", err, field);
	assert_null(strchr(err, '\n'));
}

static void test_bad_interface_names(void **state)
{
	(void)state;
	struct firewall_spec s;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		s = base();
		strcpy(s.tun_name, bad_names[i]);
		check_bad(&s, "tun_name");
		s = base();
		strcpy(s.egress_interface, bad_names[i]);
		if (bad_names[i][0] == '\0')
			continue; /* empty egress = unresolved, checked below */
		check_bad(&s, "egress_interface");
	}
	s = base();
	memset(s.tun_name, 'a', sizeof(s.tun_name)); /* 16 bytes, no NUL */
	check_bad(&s, "tun_name");
	s = base();
	memset(s.egress_interface, 'a', sizeof(s.egress_interface));
	check_bad(&s, "egress_interface");
}

static void test_bad_name_message_escaped(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char err[128];

	strcpy(s.tun_name, "a\"b\n\\");
	assert_int_equal(firewall_render(&s, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tun_name \"a\\x22b\\x0a\\x5c\""));
}

static void test_good_interface_names(void **state)
{
	(void)state;
	static const char *const good[] = {"wg0", "a", "tun-ll.0_X", "123456789012345", "..."};
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX], quoted[24];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		strcpy(s.tun_name, good[i]);
		render_ok(&s, out);
		snprintf(quoted, sizeof(quoted), "iifname \"%s\"", good[i]);
		assert_non_null(strstr(out, quoted));
	}
}

static void test_bad_specs(void **state)
{
	(void)state;
	struct firewall_spec s;
	char out[FIREWALL_RULESET_MAX], err[128];

	s = base();
	strcpy(s.egress_interface, "tun0");
	assert_int_equal(firewall_render(&s, out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is the TUN device"));
	s = base();
	s.egress_interface[0] = '\0';
	assert_int_equal(firewall_render(&s, out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not resolved"));
	for (unsigned len = 0; len <= 255; len++) {
		s = base();
		s.pool4_len = (uint8_t)len;
		int want = len >= 1 && len <= 32 ? 0 : -EINVAL;
		assert_int_equal(firewall_render(&s, out, sizeof(out), err, sizeof(err)), want);
		s = base();
		s.has_pool6 = true;
		s.pool6_len = (uint8_t)len;
		want = len >= 1 && len <= 128 ? 0 : -EINVAL;
		assert_int_equal(firewall_render(&s, out, sizeof(out), err, sizeof(err)), want);
	}
	s = base();
	s.pool6_len = 200; /* ignored without has_pool6 */
	assert_int_equal(firewall_render(&s, out, sizeof(out), NULL, 0), 0);
}

/* The input chain's part of the spec: every bad value is refused, named. */
struct input_case {
	struct firewall_spec spec;
	const char *message;
};

static void test_bad_input_specs(void **state)
{
	(void)state;
	struct input_case cases[] = {
	    /* 1 */ {base(), "server port 0: 1..65535 expected"},
	    /* 2 */ {base(), "5 DNS servers: at most 4 expected"},
	    /* 3 */ {base(), "DNS server 1: address family 0"},
	    /* 4 */ {base(), "33 open ports: at most 32 expected"},
	    /* 5 */ {base(), "open port 1: protocol 1, ports 22-22"},
	    /* 6 */ {base(), "open port 1: protocol 6, ports 0-22"},
	    /* 7 */ {base(), "open port 2: protocol 17, ports 9-8"},
	};
	char out[FIREWALL_RULESET_MAX], err[160];

	cases[0].spec.port = 0;
	cases[1].spec.n_dns = 5;
	cases[2].spec.dns[0].family = 0;
	cases[3].spec.n_open_ports = 33;
	cases[4].spec.open_ports[0] = (struct firewall_ports){1, 22, 22};
	cases[4].spec.n_open_ports = 1;
	cases[5].spec.open_ports[0] = (struct firewall_ports){IPPROTO_TCP, 0, 22};
	cases[5].spec.n_open_ports = 1;
	cases[6].spec.open_ports[0] = (struct firewall_ports){IPPROTO_TCP, 22, 22};
	cases[6].spec.open_ports[1] = (struct firewall_ports){IPPROTO_UDP, 9, 8};
	cases[6].spec.n_open_ports = 2;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = firewall_render(&cases[i].spec, out, sizeof(out), err, sizeof(err));
		if (r != -EINVAL || strncmp(err, cases[i].message, strlen(cases[i].message)))
			fail_msg("case %zu: %d '%s', want '%s'", i + 1, r, err, cases[i].message);
	}
}

/* Every buffer shorter than the script is refused without writing past it
 * (each is a heap block of exactly that size, for ASan and valgrind). */
static void test_render_buffer_sizes(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	size_t need = strlen(expect_v4) + 1;
	char err[128];

	for (size_t len = 0; len <= need; len++) {
		char *out = malloc(len ? len : 1);
		assert_non_null(out);
		int r = firewall_render(&s, len ? out : NULL, len, err, sizeof(err));
		assert_int_equal(r, len < need ? -ENOSPC : 0);
		if (r == 0)
			assert_string_equal(out, expect_v4);
		free(out);
	}
}

static void test_render_null_err(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[16];

	s.tun_name[0] = '\0';
	assert_int_equal(firewall_render(&s, out, sizeof(out), NULL, 0), -EINVAL);
	s = base();
	assert_int_equal(firewall_render(&s, out, sizeof(out), NULL, 0), -ENOSPC);
}

/* The largest spec still fits FIREWALL_RULESET_MAX with room to spare. */
static void test_render_max_fits(void **state)
{
	(void)state;
	struct firewall_spec s = base();
	char out[FIREWALL_RULESET_MAX];

	memset(s.tun_name, 'T', 15);
	memset(s.egress_interface, 'E', 15);
	s.has_pool6 = true;
	memset(s.pool6, 0xfe, 16);
	s.pool6_len = 127;
	memset(s.pool4, 0xfe, 4);
	s.pool4_len = 31;
	s.port = 65535;
	for (unsigned i = 0; i < FIREWALL_MAX_DNS; i++) {
		s.dns[i].family = AF_INET6;
		memset(s.dns[i].addr, 0xfe, 16);
	}
	s.n_dns = FIREWALL_MAX_DNS;
	for (unsigned i = 0; i < FIREWALL_MAX_PORTS; i++)
		s.open_ports[i] = (struct firewall_ports){IPPROTO_UDP, 65534, 65535};
	s.n_open_ports = FIREWALL_MAX_PORTS;
	render_ok(&s, out);
	assert_true(strlen(out) < FIREWALL_RULESET_MAX / 2);
}

static int parse_text(int (*parse)(FILE *, char *), const char *text, char ret[16])
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = parse(f, ret);
	fclose(f);
	return r;
}

#define ROUTE4_HEADER                                                                              \
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static void test_default_route4(void **state)
{
	(void)state;
	char name[16];

	/* lowest metric among the up default routes; others ignored */
	assert_int_equal(
	    parse_text(default_route4,
		       ROUTE4_HEADER
		       "wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
		       "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		       "down0\t00000000\t0101A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"
		       "eth1\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
		       "eth2\t00000000\t0103A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
		       name),
	    0);
	assert_string_equal(name, "eth1");
	/* a host route to 0.0.0.0 is not a default route */
	assert_int_equal(parse_text(default_route4,
				    ROUTE4_HEADER
				    "eth0\t00000000\t00000000\t0001\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n",
				    name),
			 -ENOENT);
	assert_int_equal(parse_text(default_route4, ROUTE4_HEADER, name), -ENOENT);
	assert_int_equal(parse_text(default_route4, "", name), -ENOENT);
	assert_int_equal(parse_text(default_route4, "garbage\n\n\t\n", name), -ENOENT);
}

#define Z32 "00000000000000000000000000000000"

static void test_default_route6(void **state)
{
	(void)state;
	char name[16];

	/* lo's unreachable default and the rejected one are skipped; metric wins */
	assert_int_equal(
	    parse_text(default_route6,
		       Z32 " 00 " Z32 " 00 " Z32 " ffffffff 00000001 00000000 00200200 "
			   "lo\n"
			   "20010db8000000000000000000000000 20 " Z32 " 00 " Z32
			   " 00000100 00000001 00000000 00000001 eth9\n" Z32 " 00 " Z32
			   " 00 fe800000000000000000000000000001 00000400 00000001 00000000 "
			   "00000003 eth0\n" Z32 " 00 " Z32
			   " 00 fe800000000000000000000000000002 00000064 00000001 00000000 "
			   "00000203 rej0\n" Z32 " 00 " Z32
			   " 00 fe800000000000000000000000000003 00000200 00000001 00000000 "
			   "00000003 eth1\n",
		       name),
	    0);
	assert_string_equal(name, "eth1");
	assert_int_equal(parse_text(default_route6,
				    Z32 " 00 " Z32 " 00 " Z32
					" ffffffff 00000001 00000000 00200200 "
					"lo\n",
				    name),
			 -ENOENT);
	assert_int_equal(parse_text(default_route6, "", name), -ENOENT);
}

static void test_nft_error_first_line(void **state)
{
	(void)state;
	char err[64];

	copy_nft_error("Error: Could not process rule: Operation not permitted\n"
		       "table inet lostlove\n^^^^^\n",
		       err, sizeof(err));
	assert_string_equal(err, "nft: Error: Could not process rule: Operation not permitted");
	copy_nft_error(NULL, err, sizeof(err));
	assert_string_equal(err, "nft: command failed without a message");
	copy_nft_error("", err, sizeof(err));
	assert_string_equal(err, "nft: command failed without a message");
	copy_nft_error("x", err, 4);
	assert_string_equal(err, "nft");
}

/* The client's marks table (full tunnel), whole; short buffers refused. */
static void test_client_render(void **state)
{
	(void)state;
	static const char expect[] =
	    "table inet lostlove_client\n"
	    "delete table inet lostlove_client\n"
	    "table inet lostlove_client {\n"
	    "\tchain premangle {\n"
	    "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	    "\t\tmeta l4proto udp ct mark 0x4c4c meta mark set ct mark\n"
	    "\t}\n"
	    "\tchain postmangle {\n"
	    "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
	    "\t\tmeta l4proto udp meta mark 0x4c4c ct mark set meta mark\n"
	    "\t}\n"
	    "}\n";
	char out[sizeof(expect)];

	assert_int_equal(firewall_client_render(0x4c4c, out, sizeof(out)), 0);
	assert_string_equal(out, expect);
	assert_int_equal(firewall_client_render(0x4c4c, out, sizeof(out) - 1), -ENOSPC);
	assert_int_equal(firewall_client_render(0x4c4c, NULL, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_v4),
	    cmocka_unit_test(test_render_v6_client_to_client),
	    cmocka_unit_test(test_render_default_config),
	    cmocka_unit_test(test_input_loop_wall_first),
	    cmocka_unit_test(test_input_dns),
	    cmocka_unit_test(test_render_starts_with_removal),
	    cmocka_unit_test(test_prefix_host_bits_cleared),
	    cmocka_unit_test(test_bad_interface_names),
	    cmocka_unit_test(test_bad_name_message_escaped),
	    cmocka_unit_test(test_good_interface_names),
	    cmocka_unit_test(test_bad_specs),
	    cmocka_unit_test(test_bad_input_specs),
	    cmocka_unit_test(test_render_buffer_sizes),
	    cmocka_unit_test(test_render_null_err),
	    cmocka_unit_test(test_render_max_fits),
	    cmocka_unit_test(test_default_route4),
	    cmocka_unit_test(test_default_route6),
	    cmocka_unit_test(test_nft_error_first_line),
	    cmocka_unit_test(test_client_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
