/* Client routes; see route.h. */
#include "network/route.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/rtnl.h"
#include "network/firewall.h"

#define SRC_VALID_MARK "/proc/sys/net/ipv4/conf/all/src_valid_mark"

static int af(int family)
{
	return family == 4 ? AF_INET : AF_INET6;
}

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The first character of a sysctl, or '\0' when it cannot be read. */
static char read_sysctl(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char c = '\0';

	if (fd < 0)
		return c;
	if (read(fd, &c, 1) != 1)
		c = '\0';
	close(fd);
	return c;
}

/* src_valid_mark = 1, remembering whether it was 0 so that route_remove
 * can put it back. */
static void set_src_valid_mark(struct route_state *st)
{
	if (read_sysctl(SRC_VALID_MARK) == '0' && write_sysctl(SRC_VALID_MARK, "1") == 0)
		st->set_src_valid_mark = true;
}

/* The nftables half of the recipe (network/firewall.h); a failure costs
 * only hosts with strict reverse-path filtering, so it is reported and the
 * routes stay. */
static int add_marks(struct route_state *st, char *err, size_t err_len)
{
	char why[160] = "";
	int r;

	if (st->marks)
		return 0;
	r = firewall_client_setup(ROUTE_FWMARK, why, sizeof(why));
	if (r < 0)
		snprintf(err, err_len, "%s (strict reverse-path filters will drop the answers)",
			 why);
	st->marks = r == 0;
	return r;
}

void route_rules(int family, struct rtnl_rule_info out[2])
{
	const struct rtnl_rule_info common = {
	    .family = family,
	    .action = FR_ACT_TO_TBL,
	    .invert = true,
	    .has_fwmark = true,
	    .fwmark = ROUTE_FWMARK,
	    .fwmask = UINT32_MAX,
	    .suppress_prefixlen = -1,
	};

	out[0] = common;
	out[0].priority = ROUTE_PRIO_SUPPRESS;
	out[0].table = RT_TABLE_MAIN;
	out[0].suppress_prefixlen = 0;
	out[1] = common;
	out[1].priority = ROUTE_PRIO_TUNNEL;
	out[1].table = ROUTE_TABLE;
}

enum route_rule_kind route_rule_kind(const struct rtnl_rule_info *r)
{
	if (r->table == ROUTE_TABLE)
		return ROUTE_RULE_TUNNEL;
	/* Exactly our suppress rule, at any priority: an administrator's rule
	 * that merely uses the same mark is left alone. */
	if (r->table == RT_TABLE_MAIN && r->action == FR_ACT_TO_TBL && r->invert && r->has_fwmark &&
	    r->fwmark == ROUTE_FWMARK && r->fwmask == UINT32_MAX && r->suppress_prefixlen == 0 &&
	    r->src_len == 0 && r->dst_len == 0)
		return ROUTE_RULE_SUPPRESS;
	return ROUTE_RULE_OTHER;
}

bool route_has_default(const struct route_prefix *prefixes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (prefixes[i].len == 0)
			return true;
	return false;
}

static bool rule_of_kind(const struct rtnl_rule_info *r, void *ctx)
{
	return route_rule_kind(r) == *(const enum route_rule_kind *)ctx;
}

/* Keeps the first error; counts successes. A family the kernel does not
 * have (IPv6 disabled) has nothing to sweep. */
static void tally(int *result, int r)
{
	if (r == -EAFNOSUPPORT)
		return;
	if (r < 0 && *result >= 0)
		*result = r;
	else if (r > 0 && *result >= 0)
		*result += r;
}

int route_sweep(void)
{
	/* The tunnel rule goes first: without it the suppress rule alone
	 * changes nothing. */
	static const enum route_rule_kind order[] = {ROUTE_RULE_TUNNEL, ROUTE_RULE_SUPPRESS};
	static const int families[] = {AF_INET, AF_INET6};
	int result = 0;

	for (unsigned k = 0; k < 2; k++)
		for (unsigned f = 0; f < 2; f++) {
			enum route_rule_kind kind = order[k];
			tally(&result, rtnl_rule_flush(families[f], rule_of_kind, &kind));
		}
	for (unsigned f = 0; f < 2; f++)
		tally(&result, rtnl_route_flush_table(families[f], ROUTE_TABLE));
	/* Best effort, as before: without nftables there is no table, and
	 * firewall_client_setup says so when the tunnel comes up. */
	(void)firewall_client_teardown(NULL, 0);
	return result;
}

int route_begin(struct route_state *st, const struct route_prefix *prefixes, unsigned n)
{
	st->full = route_has_default(prefixes, n);
	if (!st->full)
		return 0;
	st->swept = true;
	return route_sweep();
}

/* The wg-quick recipe for one family (see route.h): the table's route,
 * then the suppress rule, then the rule that sends everything to T. */
static int add_default(struct route_state *st, int family)
{
	static const uint8_t any[16];
	struct rtnl_rule_info rules[2];
	int r = rtnl_route(true, st->ifindex, af(family), any, 0, ROUTE_TABLE);

	route_rules(af(family), rules);
	for (unsigned i = 0; i < 2 && r == 0; i++) {
		r = rtnl_rule(true, &rules[i]);
		if (r == -EEXIST) /* identical, priority included: one copy */
			r = 0;
	}
	if (r == 0 && family == 4)
		set_src_valid_mark(st);
	return r;
}

static int add_one(struct route_state *st, const struct route_prefix *p)
{
	int r;

	if (p->len == 0) {
		bool *done = p->family == 4 ? &st->default4 : &st->default6;
		if (*done)
			return 0;
		r = add_default(st, p->family);
		*done = r == 0;
		return r;
	}
	if (st->n_installed == ROUTE_MAX)
		return -ENOSPC;
	r = rtnl_route(true, st->ifindex, af(p->family), p->addr, p->len, RT_TABLE_MAIN);
	if (r == 0)
		st->installed[st->n_installed++] = *p;
	return r;
}

int route_apply(struct route_state *st, int ifindex, const struct route_prefix *prefixes,
		unsigned n, char *err, size_t err_len)
{
	int failures = 0;

	st->ifindex = ifindex;
	if (route_has_default(prefixes, n)) {
		st->full = true;
		if (!st->swept) {
			st->swept = true;
			(void)route_sweep();
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int r = add_one(st, &prefixes[i]);
		if (r < 0 && failures++ == 0)
			snprintf(err, err_len, "IPv%d route /%u: %s", prefixes[i].family,
				 prefixes[i].len, strerror(-r));
	}
	if ((st->default4 || st->default6) && add_marks(st, err, failures ? 0 : err_len) < 0)
		failures++;
	return failures;
}

void route_remove(struct route_state *st)
{
	for (unsigned i = 0; i < st->n_installed; i++) {
		const struct route_prefix *p = &st->installed[i];
		(void)rtnl_route(false, st->ifindex, af(p->family), p->addr, p->len, RT_TABLE_MAIN);
	}
	st->n_installed = 0;
	if (st->full || st->default4 || st->default6 || st->marks)
		(void)route_sweep();
	st->default4 = st->default6 = st->marks = false;
	if (st->set_src_valid_mark)
		(void)write_sysctl(SRC_VALID_MARK, "0");
	st->set_src_valid_mark = false;
}
