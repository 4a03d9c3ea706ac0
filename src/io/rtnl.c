/* rtnetlink requests; see rtnl.h. */
#include "io/rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int exchange(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char reply[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid;
	ssize_t n;

	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(reply, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* Sends one request on a socket of its own and returns the kernel's verdict. */
static int request(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int r;

	if (!nl)
		return -errno;
	r = exchange(nl, nlh);
	mnl_socket_close(nl);
	return r;
}

static struct nlmsghdr *put_header(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

int rtnl_link_set(int ifindex, uint32_t mtu, bool up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return request(nlh);
}

/* IFLA_TXQLEN: on a TUN device, the length of each queue's ring of
 * packets waiting for the reader (the kernel drops, as tx_dropped, what
 * finds it full). */
int rtnl_link_txqlen(int ifindex, uint32_t txqlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_TXQLEN, txqlen);
	return request(nlh);
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct rtnl_link_queue *q = data;

	if (mnl_attr_get_type(a) == IFLA_TXQLEN && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		q->txqlen = mnl_attr_get_u32(a);
	if (mnl_attr_get_type(a) == IFLA_STATS64 &&
	    mnl_attr_get_payload_len(a) >= sizeof(struct rtnl_link_stats64)) {
		struct rtnl_link_stats64 st;

		memcpy(&st, mnl_attr_get_payload(a), sizeof(st));
		q->tx_dropped = st.tx_dropped;
		q->rx_dropped = st.rx_dropped;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr, data);
}

int rtnl_link_queue(int ifindex, struct rtnl_link_queue *ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_GETLINK, NLM_F_REQUEST);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	unsigned portid;
	ssize_t n;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!nl)
		return -errno;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	portid = mnl_socket_get_portid(nl);
	n = r == 0 ? mnl_socket_recvfrom(nl, buf, sizeof(buf)) : 0;
	if (r == 0 && n < 0)
		r = -errno;
	if (r == 0 && mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, link_cb, ret) < 0)
		r = errno ? -errno : -EIO;
	mnl_socket_close(nl);
	return r;
}

int rtnl_link_no_ipv6_ll(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *spec, *inet6;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	return request(nlh);
}

/* IPv6 addresses skip duplicate address detection: the tunnel is a
 * point-to-point link that we number ourselves, and DAD would leave the
 * address unusable ("tentative") for a second or more. */
int rtnl_addr(bool add, int ifindex, int family, const uint8_t *addr, uint8_t prefix_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, add ? RTM_NEWADDR : RTM_DELADDR,
					  add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(family), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(family), addr);
	if (family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return request(nlh);
}

int rtnl_route(bool add, int ifindex, int family, const uint8_t *dst, uint8_t dst_len,
	       uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_header(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
					  add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (dst_len)
		mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	return request(nlh);
}

struct nlmsghdr *rtnl_rule_message(void *buf, bool add, const struct rtnl_rule_info *r)
{
	struct nlmsghdr *nlh =
	    put_header(buf, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = (uint8_t)r->family;
	frh->action = r->action ? r->action : FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC; /* FRA_TABLE holds it, any size */
	if (r->invert)
		frh->flags = FIB_RULE_INVERT;
	if (r->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->has_fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		if (r->fwmask)
			mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask);
	}
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen);
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	return nlh;
}

int rtnl_rule(bool add, const struct rtnl_rule_info *r)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_RULE_MSG_MAX];

	return request(rtnl_rule_message(buf, add, r));
}

/* ---- dumps, and deleting what they list ---- */

/* The header of one message of type, at least payload bytes long, or NULL. */
static const struct nlmsghdr *message(const void *msg, size_t len, uint16_t type, size_t payload)
{
	const struct nlmsghdr *nlh = msg;

	if (len < sizeof(*nlh) || nlh->nlmsg_len > len ||
	    nlh->nlmsg_len < mnl_nlmsg_size(payload) || nlh->nlmsg_type != type)
		return NULL;
	return nlh;
}

static bool attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

int rtnl_rule_parse(const void *msg, size_t len, struct rtnl_rule_info *out)
{
	const struct nlmsghdr *nlh = message(msg, len, RTM_NEWRULE, sizeof(struct fib_rule_hdr));
	const struct fib_rule_hdr *frh;
	const struct nlattr *a;
	uint32_t v;

	if (!nlh)
		return -EINVAL;
	frh = mnl_nlmsg_get_payload(nlh);
	*out = (struct rtnl_rule_info){
	    .family = frh->family,
	    .table = frh->table,
	    .action = frh->action,
	    .invert = (frh->flags & FIB_RULE_INVERT) != 0,
	    .suppress_prefixlen = -1,
	    .src_len = frh->src_len,
	    .dst_len = frh->dst_len,
	};
	mnl_attr_for_each(a, nlh, sizeof(*frh))
	{
		if (!attr_u32(a, &v))
			continue;
		switch (mnl_attr_get_type(a)) {
		case FRA_PRIORITY:
			out->priority = v;
			break;
		case FRA_TABLE:
			out->table = v;
			break;
		case FRA_FWMARK:
			out->has_fwmark = true;
			out->fwmark = v;
			if (!out->fwmask)
				out->fwmask = UINT32_MAX;
			break;
		case FRA_FWMASK:
			out->fwmask = v;
			break;
		case FRA_SUPPRESS_PREFIXLEN:
			out->suppress_prefixlen = (int32_t)v;
			break;
		default:
			break;
		}
	}
	/* A mark of 0 with a mask is reported as FRA_FWMASK alone. */
	if (out->fwmask && !out->has_fwmark)
		out->has_fwmark = true;
	return 0;
}

uint32_t rtnl_route_table_of(const void *msg, size_t len)
{
	const struct nlmsghdr *nlh = message(msg, len, RTM_NEWROUTE, sizeof(struct rtmsg));
	const struct rtmsg *rtm;
	const struct nlattr *a;
	uint32_t table, v;

	if (!nlh)
		return 0;
	rtm = mnl_nlmsg_get_payload(nlh);
	table = rtm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		if (mnl_attr_get_type(a) == RTA_TABLE && attr_u32(a, &v))
			table = v;
	}
	return table;
}

#define DUMP_BUFFER 32768 /* what the kernel may put in one read of a dump */
#define FLUSH_BATCH 16	  /* messages collected per dump */
#define FLUSH_MSG   1024  /* bytes; a rule or a plain route is far smaller */

/* What one dump collects for deletion. */
struct flush {
	bool (*match)(const struct nlmsghdr *nlh, const struct flush *f);
	bool (*rule_match)(const struct rtnl_rule_info *r, void *ctx);
	void *ctx;
	uint32_t table;
	unsigned n;
	bool more;     /* more matched than fit: dump again */
	bool too_long; /* one matched but cannot be copied */
	_Alignas(struct nlmsghdr) char msg[FLUSH_BATCH][FLUSH_MSG];
	_Alignas(struct nlmsghdr) char buf[DUMP_BUFFER];
};

static bool match_rule(const struct nlmsghdr *nlh, const struct flush *f)
{
	struct rtnl_rule_info r;

	return rtnl_rule_parse(nlh, nlh->nlmsg_len, &r) == 0 && f->rule_match(&r, f->ctx);
}

static bool match_route(const struct nlmsghdr *nlh, const struct flush *f)
{
	return rtnl_route_table_of(nlh, nlh->nlmsg_len) == f->table;
}

static int collect(const struct nlmsghdr *nlh, void *data)
{
	struct flush *f = data;

	if (!f->match(nlh, f))
		return MNL_CB_OK;
	if (nlh->nlmsg_len > FLUSH_MSG)
		f->too_long = true;
	else if (f->n == FLUSH_BATCH)
		f->more = true;
	else
		memcpy(f->msg[f->n++], nlh, nlh->nlmsg_len);
	return MNL_CB_OK;
}

/* Dumps type (RTM_GETRULE or RTM_GETROUTE) for family into f. */
static int dump(uint16_t type, int family, struct flush *f)
{
	char *buf = f->buf;
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh;
	unsigned portid, seq = (unsigned)time(NULL);
	ssize_t n;
	int r;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = put_header(buf, type, NLM_F_REQUEST | NLM_F_DUMP);
	nlh->nlmsg_seq = seq;
	if (type == RTM_GETRULE) {
		struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		frh->family = (uint8_t)family;
	} else {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)family;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(f->buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, collect, f);
	} while (r > MNL_CB_STOP);
	if (r < 0)
		r = errno ? -errno : -EIO;
out:
	mnl_socket_close(nl);
	return r;
}

/* Dumps, deletes what matched (each message sent back as del), and again
 * while more matched than one dump collects. */
static int flush(uint16_t get, uint16_t del, int family, struct flush *f)
{
	int deleted = 0, r;

	for (unsigned round = 0; round < 64; round++) {
		f->n = 0;
		f->more = f->too_long = false;
		r = dump(get, family, f);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < f->n; i++) {
			struct nlmsghdr *nlh = (struct nlmsghdr *)f->msg[i];
			nlh->nlmsg_type = del;
			nlh->nlmsg_flags = 0;
			r = request(nlh);
			if (r == 0)
				deleted++;
			else if (r != -ENOENT && r != -ESRCH) /* gone meanwhile: fine */
				return r;
		}
		if (f->too_long)
			return -EMSGSIZE;
		if (!f->more)
			return deleted;
	}
	return -ELOOP;
}

int rtnl_rule_flush(int family, bool (*match)(const struct rtnl_rule_info *r, void *ctx), void *ctx)
{
	struct flush *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->match = match_rule;
	f->rule_match = match;
	f->ctx = ctx;
	r = flush(RTM_GETRULE, RTM_DELRULE, family, f);
	free(f);
	return r;
}

int rtnl_route_flush_table(int family, uint32_t table)
{
	struct flush *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->match = match_route;
	f->table = table;
	r = flush(RTM_GETROUTE, RTM_DELROUTE, family, f);
	free(f);
	return r;
}
