/* Firewall model: one table, three base chains, rebuilt as a whole.
 *
 * input (filter, policy accept): only packets arriving on the TUN device are
 * decided; the host's own traffic falls through untouched. First the
 * routing-loop wall: the server's own UDP port is never reachable from
 * inside the tunnel, whatever else is open (the data path refuses such
 * packets as well: two walls, this one first). Then replies (established,
 * related), ICMP echo and errors, ICMPv6 echo, errors and neighbour
 * solicitations/advertisements (a TUN device has no link layer and runs no
 * neighbour discovery, and the data path passes only a client's own
 * addresses, which ND never uses: accepted anyway in case, hop limit 255
 * as RFC 4861 demands; router advertisements and redirects never: a client
 * must not steer the server's routing, and with force_forwarding the TUN
 * device stays a host that would take them), DNS (53, TCP and UDP) to each
 * pushed resolver, the operator's tunnel_open_ports; the rest is counted
 * and dropped. DNS is allowed to every pushed address, not only to the
 * TUN's: input sees only packets addressed to this host, so the rule for a
 * resolver elsewhere (1.1.1.1) never matches (that traffic is forwarded),
 * and the rule for any address of the host (the tunnel address by default,
 * or a public one a resolver listens on) lets exactly that resolver be
 * reached, without this module having to know the host's addresses.
 *
 * forward (filter, policy accept): packets that neither enter nor leave the
 * TUN device fall through untouched. From the TUN device: a source outside
 * the client pool is dropped (anti-spoof backstop behind the per-peer
 * allowed-IPs check), TCP SYNs get their MSS clamped to the route MTU,
 * then only tun -> egress (and tun -> tun with client_to_client) passes.
 * To the TUN device: only replies (established/related) from the egress
 * interface, and client-to-client traffic when allowed.
 *
 * postrouting (nat, srcnat): the pool is masqueraded out the egress interface.
 *
 * The script starts with "table; delete table" so that loading it replaces
 * any stale table from a crashed run in the same transaction: there is never
 * a moment with a half-built table or none at all.
 *
 * Forwarding is switched on where the kernel decides it, the interface a
 * packet arrives on: the TUN device (clients' packets) and the egress
 * interface (the replies), never host-wide where that can be avoided.
 * IPv4: net.ipv4.conf.<if>.forwarding. IPv6: net.ipv6.conf.<if>.
 * force_forwarding (Linux 6.17), which leaves the interface's forwarding,
 * and so its taking of router advertisements, alone; older kernels only
 * have the global switch conf/all/forwarding, which sets every interface's
 * forwarding and so makes those with accept_ra = 1 drop router
 * advertisements, and purges the default routes learnt from them the
 * moment it is written: a server that gets its IPv6 default route by SLAAC
 * would lose it. So before writing it, every interface (and "default")
 * with accept_ra = 1 is set to 2 (accept even when forwarding, and the
 * purge spares it), except the TUN device, which must never take a
 * client's advertisement. Every value changed, and every interface
 * forwarding that the global switch overwrites, is recorded and put back
 * by teardown, newest first. */
#include "network/firewall.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "util/errbuf.h"

#define TABLE	       FIREWALL_FAMILY " " FIREWALL_TABLE
#define PROC_NET       "/proc/sys/net/"
#define IP6_CONF       "ipv6/conf"
#define SYSCTL_MAX     16 /* bytes of a value read back */
#define ROUTE4	       "/proc/net/route"
#define ROUTE6	       "/proc/net/ipv6_route"
#define RTF_UP_FLAG    0x0001u
#define RTF_REJ_FLAG   0x0200u
#define ROUTE_LINE_MAX 512

static const char script_remove[] = "table " TABLE "\ndelete table " TABLE "\n";

#define CLIENT_TABLE FIREWALL_FAMILY " " FIREWALL_CLIENT_TABLE
static const char client_remove[] = "table " CLIENT_TABLE "\ndelete table " CLIENT_TABLE "\n";

/* Kernel interface names, restricted to characters that need no quoting
 * in nft and cannot end a string: nothing can be injected into a script. */
static bool ifname_is_valid(const char *name)
{
	size_t len = strnlen(name, FIREWALL_IFNAME_SIZE);

	if (len == 0 || len >= FIREWALL_IFNAME_SIZE || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static int check_ifname(const char *what, const char *name, char *err, size_t err_len)
{
	if (ifname_is_valid(name))
		return 0;
	/* Shown escaped (the name is untrusted), at most the field's 16 bytes,
	 * 4 characters each: shown never truncates. */
	char shown[4 * FIREWALL_IFNAME_SIZE + 1];
	size_t n = 0;
	for (size_t i = 0; i < FIREWALL_IFNAME_SIZE && name[i]; i++) {
		unsigned char c = (unsigned char)name[i];
		n += (size_t)snprintf(
		    shown + n, sizeof(shown) - n,
		    c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
	}
	shown[n] = '\0';
	return errbuf_set(err, err_len, -EINVAL,
			  "%s \"%s\": 1 to 15 characters of [A-Za-z0-9_.-] expected", what, shown);
}

/* What the input chain needs: the server's port, the resolvers, the ports
 * opened to clients. */
static int check_input(const struct firewall_spec *spec, char *err, size_t err_len)
{
	if (spec->port == 0)
		return errbuf_set(err, err_len, -EINVAL, "server port 0: 1..65535 expected");
	if (spec->n_dns > FIREWALL_MAX_DNS)
		return errbuf_set(err, err_len, -EINVAL, "%u DNS servers: at most %d expected",
				  spec->n_dns, FIREWALL_MAX_DNS);
	for (unsigned i = 0; i < spec->n_dns; i++)
		if (spec->dns[i].family != AF_INET && spec->dns[i].family != AF_INET6)
			return errbuf_set(err, err_len, -EINVAL, "DNS server %u: address family %d",
					  i + 1, spec->dns[i].family);
	if (spec->n_open_ports > FIREWALL_MAX_PORTS)
		return errbuf_set(err, err_len, -EINVAL, "%u open ports: at most %d expected",
				  spec->n_open_ports, FIREWALL_MAX_PORTS);
	for (unsigned i = 0; i < spec->n_open_ports; i++) {
		const struct firewall_ports *p = &spec->open_ports[i];
		if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || p->lo == 0 ||
		    p->lo > p->hi)
			return errbuf_set(err, err_len, -EINVAL,
					  "open port %u: protocol %u, ports %u-%u: tcp or udp and "
					  "1 <= first <= last expected",
					  i + 1, p->proto, p->lo, p->hi);
	}
	return 0;
}

static int check_spec(const struct firewall_spec *spec, char *err, size_t err_len)
{
	int r = check_ifname("tun_name", spec->tun_name, err, err_len);

	if (r == 0 && spec->egress_interface[0] != '\0')
		r = check_ifname("egress_interface", spec->egress_interface, err, err_len);
	if (r < 0)
		return r;
	if (!strncmp(spec->tun_name, spec->egress_interface, FIREWALL_IFNAME_SIZE))
		return errbuf_set(err, err_len, -EINVAL,
				  "egress interface \"%s\" is the TUN device", spec->tun_name);
	if (spec->pool4_len < 1 || spec->pool4_len > 32)
		return errbuf_set(err, err_len, -EINVAL,
				  "IPv4 pool prefix length %u: 1..32 expected", spec->pool4_len);
	if (spec->has_pool6 && (spec->pool6_len < 1 || spec->pool6_len > 128))
		return errbuf_set(err, err_len, -EINVAL,
				  "IPv6 pool prefix length %u: 1..128 expected", spec->pool6_len);
	return check_input(spec, err, err_len);
}

/* An append-only text buffer; overflow is sticky and reported once. */
struct text {
	char *p;
	size_t len, cap;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

/* "a.b.c.d/len" or "x::/len" with the host bits cleared. */
static void format_prefix(char *out, size_t out_len, int family, const uint8_t *addr, unsigned len)
{
	uint8_t net[16] = {0};
	char text[INET6_ADDRSTRLEN];

	memcpy(net, addr, family == AF_INET ? 4 : 16);
	for (unsigned i = 0; i < 128; i++)
		if (i >= len)
			net[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	inet_ntop(family, net, text, sizeof(text));
	snprintf(out, out_len, "%s/%u", text, len);
}

/* In the order nft lists them (by type number). */
#define ICMP_TYPES                                                                                 \
	"echo-reply, destination-unreachable, echo-request, time-exceeded, parameter-problem"
#define ICMP6_TYPES                                                                                \
	"destination-unreachable, packet-too-big, time-exceeded, parameter-problem, "              \
	"echo-request, echo-reply"
#define ND_TYPES "nd-neighbor-solicit, nd-neighbor-advert"

/* The routing-loop wall: a port the server listens on for clients' outer
 * packets is never reached from inside the tunnel: the UDP port, and the
 * TLS front's TCP port (a stream path through the tunnel would loop as a
 * UDP one would; dataplane/stream.c refuses it too). */
static void put_loop_wall(struct text *t, const char *tun, const char *proto, uint16_t port)
{
	put(t, "\t\tiifname \"%s\" %s dport %u counter drop\n", tun, proto, port);
}

static void put_dns(struct text *t, const char *tun, const struct firewall_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->addr, text, sizeof(text));
	put(t, "\t\tiifname \"%s\" %s daddr %s meta l4proto { tcp, udp } th dport 53 accept\n", tun,
	    a->family == AF_INET ? "ip" : "ip6", text);
}

static void put_open_port(struct text *t, const char *tun, const struct firewall_ports *p)
{
	const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

	if (p->lo == p->hi)
		put(t, "\t\tiifname \"%s\" %s dport %u accept\n", tun, proto, p->lo);
	else
		put(t, "\t\tiifname \"%s\" %s dport %u-%u accept\n", tun, proto, p->lo, p->hi);
}

static void put_input(struct text *t, const struct firewall_spec *s)
{
	const char *tun = s->tun_name;

	put(t, "\tchain input {\n");
	put(t, "\t\ttype filter hook input priority filter; policy accept;\n");
	put_loop_wall(t, tun, "udp", s->port); /* first: nothing opens it */
	if (s->tcp_front)
		put_loop_wall(t, tun, "tcp", s->port);
	if (!s->has_pool6)
		put(t, "\t\tiifname \"%s\" meta nfproto ipv6 counter drop\n", tun);
	put(t, "\t\tiifname \"%s\" ct state established,related accept\n", tun);
	put(t, "\t\tiifname \"%s\" icmp type { " ICMP_TYPES " } accept\n", tun);
	if (s->has_pool6) {
		put(t, "\t\tiifname \"%s\" icmpv6 type { " ICMP6_TYPES " } accept\n", tun);
		put(t, "\t\tiifname \"%s\" icmpv6 type { " ND_TYPES " } ip6 hoplimit 255 accept\n",
		    tun);
	}
	for (unsigned i = 0; i < s->n_dns; i++)
		if (s->has_pool6 || s->dns[i].family == AF_INET)
			put_dns(t, tun, &s->dns[i]);
	for (unsigned i = 0; i < s->n_open_ports; i++)
		put_open_port(t, tun, &s->open_ports[i]);
	put(t, "\t\tiifname \"%s\" counter drop\n", tun);
	put(t, "\t}\n");
}

static void put_forward(struct text *t, const struct firewall_spec *s, const char *pool4,
			const char *pool6)
{
	const char *tun = s->tun_name, *eg = s->egress_interface;
	const char *syn = "tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu";

	put(t, "\tchain forward {\n");
	put(t, "\t\ttype filter hook forward priority filter; policy accept;\n");
	put(t, "\t\tiifname \"%s\" ip saddr != %s counter drop\n", tun, pool4);
	if (s->has_pool6)
		put(t, "\t\tiifname \"%s\" ip6 saddr != %s counter drop\n", tun, pool6);
	else
		put(t, "\t\tiifname \"%s\" meta nfproto ipv6 counter drop\n", tun);
	put(t, "\t\tiifname \"%s\" %s\n", tun, syn);
	put(t, "\t\toifname \"%s\" %s\n", tun, syn);
	put(t, "\t\tiifname \"%s\" oifname \"%s\" counter %s\n", tun, tun,
	    s->client_to_client ? "accept" : "drop");
	put(t, "\t\tiifname \"%s\" oifname \"%s\" accept\n", tun, eg);
	put(t, "\t\tiifname \"%s\" counter drop\n", tun);
	put(t, "\t\tiifname \"%s\" oifname \"%s\" ct state established,related accept\n", eg, tun);
	put(t, "\t\toifname \"%s\" counter drop\n", tun);
	put(t, "\t}\n");
}

static void put_postrouting(struct text *t, const struct firewall_spec *s, const char *pool4,
			    const char *pool6)
{
	const char *eg = s->egress_interface;

	put(t, "\tchain postrouting {\n");
	put(t, "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	put(t, "\t\toifname \"%s\" ip saddr %s masquerade\n", eg, pool4);
	if (s->has_pool6)
		put(t, "\t\toifname \"%s\" ip6 saddr %s masquerade\n", eg, pool6);
	put(t, "\t}\n");
}

int firewall_render(const struct firewall_spec *spec, char *out, size_t out_len, char *err,
		    size_t err_len)
{
	struct text t = {out, 0, out_len, out_len == 0};
	char pool4[INET6_ADDRSTRLEN + 5], pool6[INET6_ADDRSTRLEN + 5] = "";
	int r = check_spec(spec, err, err_len);

	if (r < 0)
		return r;
	if (spec->egress_interface[0] == '\0')
		return errbuf_set(err, err_len, -EINVAL, "egress interface not resolved");
	format_prefix(pool4, sizeof(pool4), AF_INET, spec->pool4, spec->pool4_len);
	if (spec->has_pool6)
		format_prefix(pool6, sizeof(pool6), AF_INET6, spec->pool6, spec->pool6_len);
	put(&t, "%s", script_remove);
	put(&t, "table " TABLE " {\n");
	put_input(&t, spec);
	put_forward(&t, spec, pool4, pool6);
	put_postrouting(&t, spec, pool4, pool6);
	put(&t, "}\n");
	if (t.overflow)
		return errbuf_set(err, err_len, -ENOSPC, "ruleset longer than %zu bytes", out_len);
	return 0;
}

/* Route selection shared by both families: the usable default route with
 * the lowest metric wins; ties keep the first. */
static void consider_route(const char *iface, unsigned flags, unsigned metric, char *best,
			   unsigned *best_metric)
{
	if (!(flags & RTF_UP_FLAG) || (flags & RTF_REJ_FLAG) || !strcmp(iface, "lo"))
		return;
	if (best[0] != '\0' && metric >= *best_metric)
		return;
	snprintf(best, FIREWALL_IFNAME_SIZE, "%s", iface);
	*best_metric = metric;
}

/* /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ...
 * (hex, host byte order). Returns 0, or -ENOENT without a default route. */
static int default_route4(FILE *f, char ret_name[static FIREWALL_IFNAME_SIZE])
{
	char line[ROUTE_LINE_MAX], iface[FIREWALL_IFNAME_SIZE];
	unsigned dest, gw, flags, metric, mask, best_metric = 0;

	ret_name[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %x %x %x %*d %*d %u %x", iface, &dest, &gw, &flags, &metric,
			   &mask) == 6 &&
		    dest == 0 && mask == 0)
			consider_route(iface, flags, metric, ret_name, &best_metric);
	}
	return ret_name[0] ? 0 : -ENOENT;
}

/* /proc/net/ipv6_route: dest dest_len src src_len next_hop metric refcnt use
 * flags iface (hex). */
static int default_route6(FILE *f, char ret_name[static FIREWALL_IFNAME_SIZE])
{
	char line[ROUTE_LINE_MAX], dest[33], iface[FIREWALL_IFNAME_SIZE];
	unsigned dest_len, metric, flags, best_metric = 0;

	ret_name[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %*s %*x %*s %x %*x %*x %x %15s", dest, &dest_len, &metric,
			   &flags, iface) == 5 &&
		    dest_len == 0 && strspn(dest, "0") == 32)
			consider_route(iface, flags, metric, ret_name, &best_metric);
	}
	return ret_name[0] ? 0 : -ENOENT;
}

static int default_route(const char *path, int (*parse)(FILE *, char *), char *ret_name)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return -errno;
	r = parse(f, ret_name);
	fclose(f);
	return r;
}

static int resolve_egress(struct firewall_spec *spec, char *err, size_t err_len)
{
	char *name = spec->egress_interface;
	int r;

	if (name[0] != '\0')
		return 0;
	r = default_route(ROUTE4, default_route4, name);
	if (r < 0 && spec->has_pool6)
		r = default_route(ROUTE6, default_route6, name);
	if (r == -ENOENT)
		return errbuf_set(err, err_len, -ENETUNREACH,
				  "no default route to take the egress interface from: set "
				  "egress_interface");
	if (r < 0)
		return errbuf_set(err, err_len, r, "reading the routes in /proc/net: %s",
				  strerror(-r));
	return check_ifname("egress interface of the default route", name, err, err_len);
}

static int check_exists(const char *what, const char *name, char *err, size_t err_len)
{
	int e;

	if (if_nametoindex(name) != 0)
		return 0;
	e = errno;
	if (e == ENODEV)
		return errbuf_set(err, err_len, -ENODEV, "%s \"%s\": no such interface", what,
				  name);
	return errbuf_set(err, err_len, -e, "%s \"%s\": %s", what, name, strerror(e));
}

/* Copies the first line of libnftables' error text (the "Error: ..." one). */
static void copy_nft_error(const char *text, char *err, size_t err_len)
{
	size_t n = text ? strcspn(text, "\n") : 0;

	if (n == 0)
		errbuf_set(err, err_len, 0, "nft: command failed without a message");
	else
		errbuf_set(err, err_len, 0, "nft: %.*s", (int)n, text);
}

/* libnftables reports a missing privilege as a generic failure, with the
 * reason printed on stderr rather than into its error buffer: check first. */
static bool has_net_admin(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return true; /* unknown: let libnftables try */
	return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

static int nft_apply(const char *script, char *err, size_t err_len)
{
	struct nft_ctx *nft;
	int r = 0;

	if (!has_net_admin())
		return errbuf_set(err, err_len, -EPERM, "nft: CAP_NET_ADMIN needed");
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return errbuf_set(err, err_len, -ENOMEM, "nft: cannot create a context");
	if (nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0) {
		r = errbuf_set(err, err_len, -ENOMEM, "nft: cannot buffer output");
		goto free_ctx;
	}
	if (nft_run_cmd_from_buffer(nft, script) != 0) {
		copy_nft_error(nft_ctx_get_error_buffer(nft), err, err_len);
		r = -EIO;
	}
free_ctx:
	nft_ctx_free(nft);
	return r;
}

/* ---- sysctls: paths are relative to /proc/sys/net ---- */

static int sysctl_open(const char *rel, int flags)
{
	char path[sizeof(PROC_NET) + sizeof(((struct firewall_sysctl *)0)->path)];

	snprintf(path, sizeof(path), PROC_NET "%s", rel);
	return open(path, flags | O_CLOEXEC);
}

/* The value without its newline, e.g. "1". */
static int sysctl_read(const char *rel, char ret_value[static SYSCTL_MAX])
{
	int fd = sysctl_open(rel, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, ret_value, SYSCTL_MAX - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	ret_value[n] = '\0';
	ret_value[strcspn(ret_value, "\n")] = '\0';
	return 0;
}

static int sysctl_write(const char *rel, char value)
{
	char text[2] = {value, '\n'};
	int fd = sysctl_open(rel, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, sizeof(text));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return n == (ssize_t)sizeof(text) ? 0 : -EIO;
}

static bool sysctl_is(const char *rel, char value)
{
	char now[SYSCTL_MAX];

	return sysctl_read(rel, now) == 0 && now[0] == value && now[1] == '\0';
}

/* Records that teardown must write value to rel. */
static int remember(struct firewall *fw, const char *rel, char value)
{
	struct firewall_sysctl *u = realloc(fw->undo, (fw->n_undo + 1) * sizeof(*u));

	if (!u)
		return -ENOMEM;
	fw->undo = u;
	u += fw->n_undo++;
	snprintf(u->path, sizeof(u->path), "%s", rel);
	u->value = value;
	return 0;
}

/* Puts back what fw records beyond its first `keep` entries, newest first.
 * An interface that is gone took its settings with it. */
static int undo_to(struct firewall *fw, size_t keep, char *err, size_t err_len)
{
	int r = 0;

	while (fw->n_undo > keep) {
		const struct firewall_sysctl *u = &fw->undo[--fw->n_undo];
		int e = sysctl_write(u->path, u->value);
		if (e < 0 && e != -ENOENT && r == 0)
			r = errbuf_set(err, err_len, e, PROC_NET "%s: %s", u->path, strerror(-e));
	}
	if (fw->n_undo == 0) {
		free(fw->undo);
		fw->undo = NULL;
	}
	return r;
}

/* What the sysctl steps of one setup share. */
struct sysctl_ctx {
	struct firewall *fw;
	const char *tun;
	char *err;
	size_t err_len;
};

/* Sets rel from `from` to `to`, recorded; any other value is left alone. */
static int change(struct sysctl_ctx *c, const char *rel, char from, char to)
{
	char now[SYSCTL_MAX];
	int r = sysctl_read(rel, now);

	if (r == 0 && (now[0] != from || now[1] != '\0'))
		return 0;
	if (r == 0)
		r = remember(c->fw, rel, from);
	if (r == 0)
		r = sysctl_write(rel, to);
	if (r < 0)
		return errbuf_set(c->err, c->err_len, r, PROC_NET "%s: %s", rel, strerror(-r));
	return 0;
}

static int change_conf(struct sysctl_ctx *c, const char *family, const char *ifname,
		       const char *key, char from, char to)
{
	char rel[sizeof(((struct firewall_sysctl *)0)->path)];
	int n = snprintf(rel, sizeof(rel), "%s/conf/%s/%s", family, ifname, key);

	/* interface names come from a directory listing: check, never cut */
	if (n < 0 || (size_t)n >= sizeof(rel))
		return errbuf_set(c->err, c->err_len, -ENAMETOOLONG,
				  PROC_NET "%s/conf/%s: name too long", family, ifname);
	return change(c, rel, from, to);
}

/* The global switch's fallback, for one interface (or "default") of
 * ipv6/conf. First pass: it keeps accepting router advertisements while
 * forwarding (accept_ra 1 -> 2), except the TUN device. */
static int keep_ra(struct sysctl_ctx *c, const char *ifname)
{
	if (!strcmp(ifname, c->tun))
		return 0;
	return change_conf(c, "ipv6", ifname, "accept_ra", '1', '2');
}

/* Second pass: its forwarding and force_forwarding, which writing
 * conf/all/forwarding overwrites (and writing 0 later clears), are recorded
 * where they were on. Recorded after every accept_ra, they are put back
 * before them: writing an IPv6 forwarding 1 purges the default routes learnt
 * from advertisements on every interface whose accept_ra is not 2. */
static int keep_forwarding(struct sysctl_ctx *c, const char *ifname)
{
	static const char *const keys[] = {"forwarding", "force_forwarding"};
	char rel[sizeof(((struct firewall_sysctl *)0)->path)];
	int r = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && r == 0; i++) {
		snprintf(rel, sizeof(rel), IP6_CONF "/%s/%s", ifname, keys[i]);
		if (sysctl_is(rel, '1'))
			r = remember(c->fw, rel, '1');
	}
	return r;
}

/* Calls step for "default" first (interfaces created meanwhile copy it),
 * then for every interface; one that vanishes meanwhile is skipped. */
static int each_conf6(struct sysctl_ctx *c, int (*step)(struct sysctl_ctx *, const char *))
{
	DIR *dir;
	struct dirent *e;
	int r = step(c, "default");

	if (r < 0)
		return r;
	dir = opendir(PROC_NET IP6_CONF);
	if (!dir)
		return errbuf_set(c->err, c->err_len, -errno, PROC_NET IP6_CONF ": %s",
				  strerror(errno));
	while (r == 0 && (e = readdir(dir))) {
		if (!ifname_is_valid(e->d_name) || !strcmp(e->d_name, "all") ||
		    !strcmp(e->d_name, "default"))
			continue;
		r = step(c, e->d_name);
		r = r == -ENOENT ? 0 : r;
	}
	closedir(dir);
	return r;
}

static int forward6_global(struct sysctl_ctx *c)
{
	int r = 0;

	/* Already on: the host is a router, and stays as it is. */
	if (sysctl_is(IP6_CONF "/all/forwarding", '0')) {
		r = each_conf6(c, keep_ra);
		if (r == 0)
			r = each_conf6(c, keep_forwarding);
	}
	return r < 0 ? r : change(c, IP6_CONF "/all/forwarding", '0', '1');
}

static bool has_force_forwarding(void)
{
	return access(PROC_NET IP6_CONF "/all/force_forwarding", F_OK) == 0;
}

static int forwarding_on(struct sysctl_ctx *c, const struct firewall_spec *s)
{
	const char *ifs[] = {s->tun_name, s->egress_interface};
	int r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++)
		r = change_conf(c, "ipv4", ifs[i], "forwarding", '0', '1');
	if (r < 0 || !s->has_pool6)
		return r;
	if (s->ip6_global_forwarding || !has_force_forwarding())
		return forward6_global(c);
	for (size_t i = 0; i < 2 && r == 0; i++)
		r = change_conf(c, "ipv6", ifs[i], "force_forwarding", '0', '1');
	return r;
}

int firewall_setup(struct firewall *fw, const struct firewall_spec *spec, char *err, size_t err_len)
{
	struct firewall_spec s = *spec;
	struct sysctl_ctx c = {fw, s.tun_name, err, err_len};
	size_t before = fw->n_undo;
	char script[FIREWALL_RULESET_MAX];
	int r = check_spec(&s, err, err_len);

	if (r == 0)
		r = resolve_egress(&s, err, err_len);
	if (r == 0)
		r = check_exists("tun_name", s.tun_name, err, err_len);
	if (r == 0)
		r = check_exists("egress_interface", s.egress_interface, err, err_len);
	if (r == 0)
		r = firewall_render(&s, script, sizeof(script), err, err_len);
	if (r == 0)
		r = nft_apply(script, err, err_len);
	if (r < 0)
		return r;
	r = forwarding_on(&c, &s);
	if (r == 0)
		return 0;
	(void)undo_to(fw, before, NULL, 0);
	(void)nft_apply(script_remove, NULL, 0);
	return r;
}

int firewall_teardown(struct firewall *fw, char *err, size_t err_len)
{
	int r = 0, r2;

	/* Forwarding goes off before the filter that fences it goes away. */
	if (fw)
		r = undo_to(fw, 0, err, err_len);
	r2 = nft_apply(script_remove, r < 0 ? NULL : err, err_len);
	return r < 0 ? r : r2;
}

int firewall_client_render(uint32_t mark, char *out, size_t out_len)
{
	struct text t = {out, 0, out_len, out_len == 0};

	put(&t, "%s", client_remove);
	put(&t, "table " CLIENT_TABLE " {\n");
	put(&t, "\tchain premangle {\n");
	put(&t, "\t\ttype filter hook prerouting priority mangle; policy accept;\n");
	put(&t, "\t\tmeta l4proto udp ct mark 0x%x meta mark set ct mark\n", mark);
	put(&t, "\t}\n");
	put(&t, "\tchain postmangle {\n");
	put(&t, "\t\ttype filter hook postrouting priority mangle; policy accept;\n");
	put(&t, "\t\tmeta l4proto udp meta mark 0x%x ct mark set meta mark\n", mark);
	put(&t, "\t}\n");
	put(&t, "}\n");
	return t.overflow ? -ENOSPC : 0;
}

int firewall_client_setup(uint32_t mark, char *err, size_t err_len)
{
	char script[1024];
	int r = firewall_client_render(mark, script, sizeof(script));

	if (r < 0)
		return errbuf_set(err, err_len, r, "client ruleset longer than %zu bytes",
				  sizeof(script));
	return nft_apply(script, err, err_len);
}

int firewall_client_teardown(char *err, size_t err_len)
{
	return nft_apply(client_remove, err, err_len);
}
