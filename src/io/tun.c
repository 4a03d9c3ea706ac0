/* TUN devices; see tun.h. */
#include "io/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
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
