/* The client's full-tunnel rules (network/route.c) and the rule/route
 * parsers behind the sweep (io/rtnl.c), without root: our two rules per
 * family, what counts as ours among rules as the kernel dumps them (its
 * defaults, wg-quick's, an administrator's that share the mark, ours from
 * an older version), request -> parse round trips, truncated or foreign
 * messages. Adding, sweeping and the crash-restart are
 * tests/e2e/full_tunnel.sh's job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "io/rtnl.h"
#include "network/route.h"

#define NONE UINT32_MAX /* "attribute absent" below */

/* A rule as the kernel dumps it (fib_nl_fill_rule): the table in the header
 * when it fits, else RT_TABLE_COMPAT; FRA_TABLE and FRA_SUPPRESS_PREFIXLEN
 * always (-1 when unset); FRA_PRIORITY when non-zero; FRA_FWMARK when
 * non-zero and FRA_FWMASK when either is; FRA_PROTOCOL (a u8). */
struct dumped {
	uint8_t family, src_len, dst_len, flags;
	uint32_t priority, table, fwmark, fwmask, suppress;
};

static struct nlmsghdr *dump_msg(char *buf, const struct dumped *d)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	nlh->nlmsg_type = RTM_NEWRULE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	frh->family = d->family;
	frh->src_len = d->src_len;
	frh->dst_len = d->dst_len;
	frh->flags = d->flags;
	frh->action = FR_ACT_TO_TBL;
	frh->table = d->table < 256 ? (uint8_t)d->table : RT_TABLE_COMPAT;
	mnl_attr_put_u32(nlh, FRA_TABLE, d->table);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, d->suppress);
	if (d->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, d->priority);
	if (d->fwmark != NONE && d->fwmark)
		mnl_attr_put_u32(nlh, FRA_FWMARK, d->fwmark);
	if (d->fwmask != NONE)
		mnl_attr_put_u32(nlh, FRA_FWMASK, d->fwmask);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, RTPROT_BOOT);
	return nlh;
}

static enum route_rule_kind kind_of(const struct dumped *d)
{
	_Alignas(struct nlmsghdr) char buf[512];
	struct nlmsghdr *nlh = dump_msg(buf, d);
	struct rtnl_rule_info r;

	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), 0);
	assert_int_equal(r.family, d->family);
	assert_int_equal(r.table, d->table);
	assert_int_equal(r.priority, d->priority);
	return route_rule_kind(&r);
}

static void test_rules(void **state)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct rtnl_rule_info r[2];

	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		route_rules(families[f], r);
		/* The suppress rule first, and looked at first. */
		assert_int_equal(r[0].family, families[f]);
		assert_int_equal(r[0].priority, ROUTE_PRIO_SUPPRESS);
		assert_int_equal(r[0].table, RT_TABLE_MAIN);
		assert_int_equal(r[0].suppress_prefixlen, 0);
		assert_int_equal(r[1].priority, ROUTE_PRIO_TUNNEL);
		assert_int_equal(r[1].table, ROUTE_TABLE);
		assert_int_equal(r[1].suppress_prefixlen, -1);
		assert_true(r[0].priority < r[1].priority);
		assert_true(r[1].priority < 32764); /* clear of the kernel's picks */
		for (unsigned i = 0; i < 2; i++) {
			assert_true(r[i].invert);
			assert_true(r[i].has_fwmark);
			assert_int_equal(r[i].fwmark, ROUTE_FWMARK);
			assert_int_equal(r[i].fwmask, UINT32_MAX);
			assert_int_equal(r[i].action, FR_ACT_TO_TBL);
		}
		assert_int_equal(route_rule_kind(&r[0]), ROUTE_RULE_SUPPRESS);
		assert_int_equal(route_rule_kind(&r[1]), ROUTE_RULE_TUNNEL);
	}
}

static void assert_rule_equal(const struct rtnl_rule_info *a, const struct rtnl_rule_info *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->table, b->table);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->invert, b->invert);
	assert_int_equal(a->has_fwmark, b->has_fwmark);
	assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(a->fwmask, b->fwmask);
	assert_int_equal(a->suppress_prefixlen, b->suppress_prefixlen);
	assert_int_equal(a->src_len, b->src_len);
	assert_int_equal(a->dst_len, b->dst_len);
}

/* What we send comes back the same from the parser, and is still ours. */
static void test_round_trip(void **state)
{
	static const int families[] = {AF_INET, AF_INET6};
	_Alignas(struct nlmsghdr) char buf[RTNL_RULE_MSG_MAX];
	struct rtnl_rule_info r[2], got;

	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		route_rules(families[f], r);
		for (unsigned i = 0; i < 2; i++) {
			struct nlmsghdr *nlh = rtnl_rule_message(buf, true, &r[i]);
			assert_int_equal(nlh->nlmsg_type, RTM_NEWRULE);
			assert_int_equal(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
			assert_true(nlh->nlmsg_len <= RTNL_RULE_MSG_MAX);
			assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &got), 0);
			assert_rule_equal(&got, &r[i]);
			assert_int_equal(route_rule_kind(&got),
					 i ? ROUTE_RULE_TUNNEL : ROUTE_RULE_SUPPRESS);
			nlh = rtnl_rule_message(buf, false, &r[i]);
			assert_int_equal(nlh->nlmsg_type, RTM_DELRULE);
			assert_int_equal(nlh->nlmsg_flags, 0);
		}
	}
}

/* Rules as dumped: which ones a sweep may delete. */
static void test_kind_of_dumped(void **state)
{
	const uint32_t T = ROUTE_TABLE, M = ROUTE_FWMARK, MAIN = RT_TABLE_MAIN;
	const uint8_t INV = FIB_RULE_INVERT;
	static const uint8_t fams[] = {AF_INET, AF_INET6};

	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		uint8_t fa = fams[f];
		/* The kernel's defaults. */
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, 0, 0, 255, NONE, NONE, NONE}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, 0, 32766, MAIN, NONE, NONE, NONE}),
		    ROUTE_RULE_OTHER);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, 0, 32767, 253, NONE, NONE, NONE}),
		    ROUTE_RULE_OTHER);
		/* Ours, at our priorities and at any other (an older version
		 * added its tunnel rule with no priority: 32765 on most hosts). */
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, INV, ROUTE_PRIO_SUPPRESS, MAIN, M, NONE, 0}),
		    ROUTE_RULE_SUPPRESS);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, INV, 32000, MAIN, M, 0xffffffff, 0}),
		    ROUTE_RULE_SUPPRESS);
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, INV, ROUTE_PRIO_TUNNEL, T, M,
							  0xffffffff, NONE}),
				 ROUTE_RULE_TUNNEL);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, INV, 32765, T, M, 0xffffffff, NONE}),
		    ROUTE_RULE_TUNNEL);
		/* Anything else that looks up our table is ours too. */
		assert_int_equal(kind_of(&(struct dumped){fa, 8, 0, 0, 100, T, NONE, NONE, NONE}),
				 ROUTE_RULE_TUNNEL);
		/* wg-quick's: its suppress rule has no mark, its table is not ours. */
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, 0, 32764, MAIN, NONE, NONE, 0}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, INV, 32765, 51820, 51820, 0xffffffff, NONE}),
		    ROUTE_RULE_OTHER);
		/* An administrator's rules that share the mark but not the shape. */
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, 0, 100, MAIN, M, 0xffffffff, NONE}),
		    ROUTE_RULE_OTHER);
		assert_int_equal(
		    kind_of(&(struct dumped){fa, 0, 0, 0, 100, MAIN, M, 0xffffffff, 0}),
		    ROUTE_RULE_OTHER);
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, INV, 100, MAIN, M, 0xff, 0}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, INV, 100, MAIN, M, NONE, 1}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(kind_of(&(struct dumped){fa, 24, 0, INV, 100, MAIN, M, NONE, 0}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 64, INV, 100, MAIN, M, NONE, 0}),
				 ROUTE_RULE_OTHER);
		assert_int_equal(kind_of(&(struct dumped){fa, 0, 0, INV, 100, 100, M, NONE, 0}),
				 ROUTE_RULE_OTHER);
	}
}

static void test_parse(void **state)
{
	_Alignas(struct nlmsghdr) char buf[512];
	struct rtnl_rule_info r;
	struct nlmsghdr *nlh;

	(void)state;
	/* A mask without a mark: "fwmark 0/0xff". */
	nlh = dump_msg(buf, &(struct dumped){AF_INET, 0, 0, 0, 10, RT_TABLE_MAIN, 0, 0xff, NONE});
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), 0);
	assert_true(r.has_fwmark);
	assert_int_equal(r.fwmark, 0);
	assert_int_equal(r.fwmask, 0xff);
	assert_int_equal(r.suppress_prefixlen, -1);
	/* A mark without a mask attribute means all bits. */
	nlh = dump_msg(buf, &(struct dumped){AF_INET6, 0, 0, 0, 10, RT_TABLE_MAIN, 7, NONE, NONE});
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), 0);
	assert_true(r.has_fwmark);
	assert_int_equal(r.fwmark, 7);
	assert_int_equal(r.fwmask, UINT32_MAX);
	/* No mark at all. */
	nlh = dump_msg(buf, &(struct dumped){AF_INET6, 0, 0, 0, 10, 100, NONE, NONE, NONE});
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), 0);
	assert_false(r.has_fwmark);
	/* Truncated: shorter than its header, than it says, or than a rule. */
	assert_int_equal(rtnl_rule_parse(nlh, 8, &r), -EINVAL);
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len - 1, &r), -EINVAL);
	nlh->nlmsg_len = (uint32_t)mnl_nlmsg_size(sizeof(struct fib_rule_hdr)) - 1;
	assert_int_equal(rtnl_rule_parse(nlh, 512, &r), -EINVAL);
	/* Not a rule. */
	nlh = dump_msg(buf, &(struct dumped){AF_INET, 0, 0, 0, 10, 100, NONE, NONE, NONE});
	nlh->nlmsg_type = RTM_NEWROUTE;
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), -EINVAL);
	/* An attribute of the wrong size is ignored, not read past. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWRULE;
	((struct fib_rule_hdr *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct fib_rule_hdr)))
	    ->table = 100;
	mnl_attr_put_u8(nlh, FRA_TABLE, 0x4c);
	assert_int_equal(rtnl_rule_parse(nlh, nlh->nlmsg_len, &r), 0);
	assert_int_equal(r.table, 100);
}

static struct nlmsghdr *route_msg(char *buf, uint8_t rtm_table, uint32_t rta_table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	static const uint8_t dst[4] = {10, 0, 0, 0};

	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 8;
	rtm->rtm_table = rtm_table;
	mnl_attr_put(nlh, RTA_DST, 4, dst);
	if (rta_table != NONE)
		mnl_attr_put_u32(nlh, RTA_TABLE, rta_table);
	mnl_attr_put_u32(nlh, RTA_OIF, 3);
	return nlh;
}

static void test_route_table(void **state)
{
	_Alignas(struct nlmsghdr) char buf[512];
	struct nlmsghdr *nlh;

	(void)state;
	nlh = route_msg(buf, RT_TABLE_COMPAT, ROUTE_TABLE);
	assert_int_equal(rtnl_route_table_of(nlh, nlh->nlmsg_len), ROUTE_TABLE);
	nlh = route_msg(buf, RT_TABLE_MAIN, NONE);
	assert_int_equal(rtnl_route_table_of(nlh, nlh->nlmsg_len), RT_TABLE_MAIN);
	nlh = route_msg(buf, RT_TABLE_MAIN, RT_TABLE_MAIN);
	assert_int_equal(rtnl_route_table_of(nlh, nlh->nlmsg_len), RT_TABLE_MAIN);
	assert_int_equal(rtnl_route_table_of(nlh, nlh->nlmsg_len - 1), 0);
	nlh->nlmsg_type = RTM_NEWRULE;
	assert_int_equal(rtnl_route_table_of(nlh, nlh->nlmsg_len), 0);
}

static void test_has_default(void **state)
{
	struct route_prefix p[3] = {
	    {4, {10, 0, 0, 0}, 8},
	    {6, {0xfd}, 8},
	    {6, {0}, 0},
	};

	(void)state;
	assert_false(route_has_default(p, 0));
	assert_false(route_has_default(p, 2));
	assert_true(route_has_default(p, 3));
	assert_true(route_has_default(p + 2, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),	   cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_kind_of_dumped), cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_route_table),	   cmocka_unit_test(test_has_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
