/* Route netlink (rtnetlink) requests through libmnl: link MTU and state,
 * addresses, routes and policy rules. Each call opens its own netlink
 * socket, sends one request and waits for the kernel's acknowledgement:
 * these run at setup and teardown, never per packet.
 *
 * The flush calls dump rules or routes first and then delete what matched,
 * one request each.
 *
 * Families are AF_INET / AF_INET6; addresses are in network byte order
 * (4 or 16 bytes). Return 0 or the kernel's negative errno. */
#ifndef LL_IO_RTNL_H
#define LL_IO_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

int rtnl_link_set(int ifindex, uint32_t mtu, bool up);
/* No IPv6 link-local address on the link (addr_gen_mode none): set while
 * the link is down. A tunnel numbered by us needs none, and without one
 * the kernel sends no router solicitations through it. */
int rtnl_link_no_ipv6_ll(int ifindex);
/* The link's transmit queue length (txqueuelen). */
int rtnl_link_txqlen(int ifindex, uint32_t txqlen);
/* A link's queue length and its drop counters, as "ip -s link" shows
 * them (for the statistics line; one request, not per packet). */
struct rtnl_link_queue {
	uint32_t txqlen;
	uint64_t tx_dropped, rx_dropped;
};
int rtnl_link_queue(int ifindex, struct rtnl_link_queue *ret);
int rtnl_addr(bool add, int ifindex, int family, const uint8_t *addr, uint8_t prefix_len);

/* A route to dst/dst_len through ifindex in table (RT_TABLE_MAIN = 254). */
int rtnl_route(bool add, int ifindex, int family, const uint8_t *dst, uint8_t dst_len,
	       uint32_t table);

/* A policy rule: what LostLove adds, and what a dump reports of any rule
 * (the fields LostLove looks at; others are left out). */
struct rtnl_rule_info {
	int family;	   /* AF_INET, AF_INET6 */
	uint32_t priority; /* 0 = none: the kernel picks one when adding */
	uint32_t table;	   /* table looked up (action "to table") */
	uint8_t action;	   /* FR_ACT_*; FR_ACT_TO_TBL when adding */
	bool invert;	   /* "not": the selectors must not match */
	bool has_fwmark;
	uint32_t fwmark;
	uint32_t fwmask;	    /* 0xffffffff when given without a mask */
	int32_t suppress_prefixlen; /* -1 = none */
	uint8_t src_len, dst_len;   /* "from"/"to" prefixes; 0 = all */
};

/* Adds (NLM_F_EXCL: an identical rule, priority included, is -EEXIST) or
 * deletes the rule r describes. */
int rtnl_rule(bool add, const struct rtnl_rule_info *r);

/* The request rtnl_rule sends (pure), written to buf (RTNL_RULE_MSG_MAX
 * bytes, aligned for struct nlmsghdr). */
#define RTNL_RULE_MSG_MAX 256
struct nlmsghdr *rtnl_rule_message(void *buf, bool add, const struct rtnl_rule_info *r);

/* Parses one RTM_NEWRULE message of a dump (pure): 0, or -EINVAL when it
 * is no rule or is truncated. */
int rtnl_rule_parse(const void *nlmsg, size_t len, struct rtnl_rule_info *out);

/* The routing table of one RTM_NEWROUTE message (pure); 0 when it is none. */
uint32_t rtnl_route_table_of(const void *nlmsg, size_t len);

/* Deletes every rule of family for which match() is true, as dumped (each
 * is sent back as RTM_DELRULE, as "ip rule flush" does). Returns how many
 * were deleted, or a negative errno if the dump or a deletion failed. */
int rtnl_rule_flush(int family, bool (*match)(const struct rtnl_rule_info *r, void *ctx),
		    void *ctx);

/* Deletes every route of family in table (as "ip route flush table T"):
 * how many, or a negative errno. */
int rtnl_route_flush_table(int family, uint32_t table);

#endif
