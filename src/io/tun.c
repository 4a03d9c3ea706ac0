/* TUN devices; see tun.h. */
#include "io/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/rtnl.h"

int tun_open(const char *name, unsigned flags, char ret_name[static IFNAMSIZ], int *ret_fd)
{
	struct ifreq ifr = {0};
	int fd;

	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (flags & TUN_MULTI_QUEUE)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (flags & TUN_EXCLUSIVE)
		ifr.ifr_flags |= IFF_TUN_EXCL;
	if (flags & TUN_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	memcpy(ret_name, ifr.ifr_name, IFNAMSIZ);
	ret_name[IFNAMSIZ - 1] = '\0';
	*ret_fd = fd;
	return 0;
}

/* Linux 6.2; older headers lack them */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

int tun_set_offload(int fd)
{
	static const struct {
		unsigned kernel, ours;
	} tries[] = {
	    {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
	     TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4 | TUN_OFFLOAD_TSO6 | TUN_OFFLOAD_USO4 |
		 TUN_OFFLOAD_USO6},
	    {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	     TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4 | TUN_OFFLOAD_TSO6},
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i].kernel) == 0)
			return (int)tries[i].ours;
		r = -errno;
	}
	return r;
}

void tun_offload_str(unsigned set, char *buf, size_t len)
{
	static const char *const names[] = {"csum", "tso4", "tso6", "uso4", "uso6"};
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < 5 && pos < len; i++)
		if (set & (1u << i)) {
			int n = snprintf(buf + pos, len - pos, "%s%s", pos ? " " : "", names[i]);

			pos = n < 0 ? len : pos + (size_t)n;
		}
}

static int ifindex_of(const char *name)
{
	unsigned idx = if_nametoindex(name);

	return idx ? (int)idx : -errno;
}

static int set_addrs(bool add, int ifindex, const struct tun_config *c)
{
	int r = 0;

	if (c->has_addr4)
		r = rtnl_addr(add, ifindex, AF_INET, c->addr4, c->prefix4);
	if (r == 0 && c->has_addr6)
		r = rtnl_addr(add, ifindex, AF_INET6, c->addr6, c->prefix6);
	return r;
}

/* The MTU goes first: IPv6 refuses an address on a link below 1280.
 * Suppressing the link-local address fails harmlessly on a kernel
 * without IPv6. */
int tun_configure(const char *name, const struct tun_config *c)
{
	int ifindex = ifindex_of(name);
	int r;

	if (ifindex < 0)
		return ifindex;
	r = rtnl_link_set(ifindex, c->mtu, false);
	if (r == 0)
		r = rtnl_link_txqlen(ifindex, TUN_TXQUEUELEN);
	if (r == 0)
		(void)rtnl_link_no_ipv6_ll(ifindex);
	if (r == 0)
		r = rtnl_link_set(ifindex, 0, true);
	if (r == 0)
		r = set_addrs(true, ifindex, c);
	return r;
}

int tun_unconfigure(const char *name, const struct tun_config *c)
{
	int ifindex = ifindex_of(name);

	return ifindex < 0 ? ifindex : set_addrs(false, ifindex, c);
}
