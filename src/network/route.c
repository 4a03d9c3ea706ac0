/* Client routes; see route.h. */
#include "network/route.h"

#include <errno.h>
#include <fcntl.h>
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

/* The wg-quick recipe for one family (see route.h). */
static int add_default(struct route_state *st, int family)
{
	static const uint8_t any[16];
	int r = rtnl_route(true, st->ifindex, af(family), any, 0, ROUTE_FWMARK);

	if (r == 0)
		r = rtnl_rule(true, af(family), RTNL_RULE_NOT_FWMARK, ROUTE_FWMARK, ROUTE_FWMARK);
	if (r == 0 || r == -EEXIST)
		r = rtnl_rule(true, af(family), RTNL_RULE_SUPPRESS_MAIN, 0, 0);
	if (r == -EEXIST)
		r = 0;
	if (r == 0 && family == 4)
		set_src_valid_mark(st);
	return r;
}

static void del_default(struct route_state *st, int family)
{
	static const uint8_t any[16];

	(void)rtnl_rule(false, af(family), RTNL_RULE_SUPPRESS_MAIN, 0, 0);
	(void)rtnl_rule(false, af(family), RTNL_RULE_NOT_FWMARK, ROUTE_FWMARK, ROUTE_FWMARK);
	(void)rtnl_route(false, st->ifindex, af(family), any, 0, ROUTE_FWMARK);
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
	if (st->default4)
		del_default(st, 4);
	if (st->default6)
		del_default(st, 6);
	st->default4 = st->default6 = false;
	if (st->marks)
		(void)firewall_client_teardown(NULL, 0);
	st->marks = false;
	if (st->set_src_valid_mark)
		(void)write_sysctl(SRC_VALID_MARK, "0");
	st->set_src_valid_mark = false;
}
