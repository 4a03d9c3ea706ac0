/* Route netlink (rtnetlink) requests through libmnl: link MTU and state,
 * addresses, routes and policy rules. Each call opens its own netlink
 * socket, sends one request and waits for the kernel's acknowledgement:
 * these run at setup and teardown, never per packet.
 *
 * Families are AF_INET / AF_INET6; addresses are in network byte order
 * (4 or 16 bytes). Return 0 or the kernel's negative errno. */
#ifndef LL_IO_RTNL_H
#define LL_IO_RTNL_H

#include <stdbool.h>
#include <stdint.h>

int rtnl_link_set(int ifindex, uint32_t mtu, bool up);
/* No IPv6 link-local address on the link (addr_gen_mode none): set while
 * the link is down. A tunnel numbered by us needs none, and without one
 * the kernel sends no router solicitations through it. */
int rtnl_link_no_ipv6_ll(int ifindex);
int rtnl_addr(bool add, int ifindex, int family, const uint8_t *addr, uint8_t prefix_len);

/* A route to dst/dst_len through ifindex in table (RT_TABLE_MAIN = 254). */
int rtnl_route(bool add, int ifindex, int family, const uint8_t *dst, uint8_t dst_len,
	       uint32_t table);

enum rtnl_rule_kind {
	RTNL_RULE_NOT_FWMARK,	 /* "not fwmark M lookup T" */
	RTNL_RULE_SUPPRESS_MAIN, /* "lookup main suppress_prefixlength 0" */
};
int rtnl_rule(bool add, int family, enum rtnl_rule_kind kind, uint32_t fwmark, uint32_t table);

#endif
