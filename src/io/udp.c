/* UDP sockets and batched datagram I/O; see udp.h. */
#include "io/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int udp_endpoint_parse(struct udp_endpoint *ret, const char *addr, uint16_t port)
{
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, addr, &ret->in4.sin_addr) == 1) {
		ret->in4.sin_family = AF_INET;
		ret->in4.sin_port = htons(port);
		ret->len = sizeof(ret->in4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &ret->in6.sin6_addr) == 1) {
		ret->in6.sin6_family = AF_INET6;
		ret->in6.sin6_port = htons(port);
		ret->len = sizeof(ret->in6);
		return 0;
	}
	return -EINVAL;
}

int udp_endpoint_resolve(struct udp_endpoint *ret, const char *host, uint16_t port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host, NULL, &hints, &res);

	if (r != 0)
		return r == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	r = -EAFNOSUPPORT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memset(ret, 0, sizeof(*ret));
		memcpy(&ret->sa, ai->ai_addr, ai->ai_addrlen);
		ret->len = ai->ai_addrlen;
		if (ai->ai_family == AF_INET)
			ret->in4.sin_port = htons(port);
		else
			ret->in6.sin6_port = htons(port);
		r = 0;
		break;
	}
	freeaddrinfo(res);
	return r;
}

bool udp_endpoint_equal(const struct udp_endpoint *a, const struct udp_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr)) == 0 &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

size_t udp_endpoint_key(const struct udp_endpoint *ep, uint8_t ret[static UDP_ENDPOINT_KEY_MAX])
{
	const uint8_t *ip;
	size_t n;
	uint16_t port;

	if (ep->sa.sa_family == AF_INET) {
		ip = (const uint8_t *)&ep->in4.sin_addr;
		n = 4;
		port = ep->in4.sin_port;
	} else {
		ip = ep->in6.sin6_addr.s6_addr;
		n = 16;
		if (IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
			ip += 12;
			n = 4;
		}
		port = ep->in6.sin6_port;
	}
	memcpy(ret, ip, n);
	memcpy(ret + n, &port, 2); /* already big-endian */
	return n + 2;
}

const char *udp_endpoint_str(const struct udp_endpoint *ep, char buf[static UDP_ENDPOINT_STR_MAX])
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "%s:%u", ip, ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family != AF_INET6) {
		/* not an IP path: a stream of the TCP front (dataplane/stream.h) */
		uint64_t id;
		memcpy(&id, &ep->in6.sin6_addr, sizeof(id));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "stream#%llu", (unsigned long long)id);
	} else if (IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
		inet_ntop(AF_INET, &ep->in6.sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "%s:%u", ip, ntohs(ep->in6.sin6_port));
	} else {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "[%s]:%u", ip, ntohs(ep->in6.sin6_port));
	}
	return buf;
}

bool udp_local_equal(const struct udp_local *a, const struct udp_local *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->in4.s_addr == b->in4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->in6, &b->in6, sizeof(a->in6)) == 0;
	return true;
}

const char *udp_local_str(const struct udp_local *l, char buf[static UDP_ENDPOINT_STR_MAX])
{
	if ((l->family != AF_INET && l->family != AF_INET6) ||
	    !inet_ntop(l->family, &l->in6, buf, UDP_ENDPOINT_STR_MAX))
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "-");
	return buf;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) < 0 ? -errno : 0;
}

/* Buffer sizes beyond net.core.[rw]mem_max need CAP_NET_ADMIN (the FORCE
 * variants); without it the plain option gives what the system allows. */
static void set_buffers(int fd, int bytes)
{
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) < 0)
		(void)set_int(fd, SOL_SOCKET, SO_RCVBUF, bytes);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes) < 0)
		(void)set_int(fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

int udp_queue_info(int fd, struct udp_queue *ret)
{
	uint32_t mem[SK_MEMINFO_VARS] = {0};
	socklen_t len = sizeof(mem);

	memset(ret, 0, sizeof(*ret));
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
		return -errno;
	ret->rcvbuf = mem[SK_MEMINFO_RCVBUF];
	ret->sndbuf = mem[SK_MEMINFO_SNDBUF];
	ret->drops = mem[SK_MEMINFO_DROPS];
	return 0;
}

static bool is_wildcard(const struct udp_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ep->in4.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&ep->in6.sin6_addr);
}

static int set_options(int fd, const struct udp_endpoint *bind_to, const struct udp_options *o)
{
	int r = 0;

	if (bind_to->sa.sa_family == AF_INET6)
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	if (r == 0 && o->reuseport)
		r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (r == 0 && o->mark)
		r = set_int(fd, SOL_SOCKET, SO_MARK, (int)o->mark);
	if (r == 0 && o->buffer_bytes)
		set_buffers(fd, o->buffer_bytes);
	if (r == 0 && o->gro)
		(void)set_int(fd, SOL_UDP, UDP_GRO, 1); /* optional: receive copes either way */
	/* IPv4 DF clear on every datagram (also IPv4 on the dual-stack socket).
	 * With the default (IP_PMTUDISC_WANT) the kernel sets DF on a datagram
	 * no longer than the path MTU but judges a UDP_SEGMENT run by its total
	 * length, so runs left with DF clear and single datagrams with DF set:
	 * one flow, two DF values, which a censor sees (tests/e2e/fingerprint.sh).
	 * DF set everywhere would forbid the fragmentation a large handshake
	 * needs on a narrow IPv4 path (docs/protocol.md §10), so clear it is. */
	if (r == 0)
		r = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
	if (r == 0 && o->pktinfo && is_wildcard(bind_to)) {
		/* IPv4 datagrams, also those on the dual-stack socket */
		r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		if (r == 0 && bind_to->sa.sa_family == AF_INET6)
			r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	}
	return r;
}

int udp_open(const struct udp_endpoint *bind_to, const struct udp_options *o, int *ret_fd)
{
	int fd = socket(bind_to->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	r = set_options(fd, bind_to, o);
	if (r == 0 && bind(fd, &bind_to->sa, bind_to->len) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* ---- one process per port ---- */

int udp_port_probe(const struct udp_endpoint *bind_to)
{
	int fd = socket(bind_to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	/* the same dual-stack setting as the real sockets, and no
	 * SO_REUSEPORT: the bind fails if anybody holds the port */
	if (bind_to->sa.sa_family == AF_INET6)
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	if (r == 0 && bind(fd, &bind_to->sa, bind_to->len) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* A socket's local address as 16 bytes (IPv4 as ::ffff:a.b.c.d) and
 * whether it is a wildcard. */
static void diag_addr(int family, const uint32_t *src, uint8_t ret[16], bool *ret_any)
{
	static const uint8_t zero[16];

	memset(ret, 0, 16);
	if (family == AF_INET) {
		ret[10] = ret[11] = 0xff;
		memcpy(ret + 12, src, 4);
		*ret_any = src[0] == 0;
	} else {
		memcpy(ret, src, 16);
		*ret_any = memcmp(ret, zero, 16) == 0;
	}
}

static void endpoint_addr(const struct udp_endpoint *ep, uint8_t ret[16], bool *ret_any)
{
	uint32_t a[4];

	if (ep->sa.sa_family == AF_INET)
		memcpy(a, &ep->in4.sin_addr, 4);
	else
		memcpy(a, &ep->in6.sin6_addr, 16);
	diag_addr(ep->sa.sa_family, a, ret, ret_any);
}

struct port_scan {
	uint16_t port; /* network order */
	uint8_t addr[16];
	bool any;
	const ino_t *ours;
	unsigned n_ours;
	unsigned foreign;
};

static void scan_one(struct port_scan *s, const struct inet_diag_msg *m)
{
	uint8_t addr[16];
	bool any;

	if (m->id.idiag_sport != s->port || m->idiag_inode == 0)
		return;
	for (unsigned i = 0; i < s->n_ours; i++)
		if (m->idiag_inode == s->ours[i])
			return;
	diag_addr(m->idiag_family, m->id.idiag_src, addr, &any);
	if (any || s->any || memcmp(addr, s->addr, 16) == 0)
		s->foreign++;
}

/* One sock_diag dump of the UDP sockets of family, into s. */
static int scan_family(int nl, int family, struct port_scan *s)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
		    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = (uint8_t)family,
		  .sdiag_protocol = IPPROTO_UDP,
		  .idiag_states = ~0u},
	};
	union {
		char buf[16384];
		struct nlmsghdr align;
	} u;

	if (send(nl, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl, u.buf, sizeof(u.buf), 0);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = &u.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error
					   ? e->error
					   : -EIO;
			}
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				scan_one(s, NLMSG_DATA(h));
		}
	}
}

int udp_port_shared(const struct udp_endpoint *bind_to, const int *fds, unsigned n)
{
	ino_t ours[UDP_PORT_FDS_MAX];
	struct port_scan s = {.ours = ours, .n_ours = n < UDP_PORT_FDS_MAX ? n : UDP_PORT_FDS_MAX};
	struct stat st;
	int nl, r;

	s.port = bind_to->sa.sa_family == AF_INET ? bind_to->in4.sin_port : bind_to->in6.sin6_port;
	endpoint_addr(bind_to, s.addr, &s.any);
	for (unsigned i = 0; i < s.n_ours; i++)
		ours[i] = fstat(fds[i], &st) == 0 ? st.st_ino : 0;
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return 0; /* no way to tell: the probe alone */
	r = scan_family(nl, AF_INET, &s);
	if (r == 0)
		r = scan_family(nl, AF_INET6, &s);
	close(nl);
	if (r < 0)
		return 0; /* udp_diag missing: the probe alone */
	return s.foreign ? -EADDRINUSE : 0;
}

static void slot_init(struct udp_batch *b, unsigned i, uint8_t *buf, size_t len)
{
	struct msghdr *h = &b->msgs[i].msg_hdr;

	b->iov[i].iov_base = buf;
	b->iov[i].iov_len = len;
	memset(h, 0, sizeof(*h));
	h->msg_name = &b->peers[i].sa;
	h->msg_namelen = sizeof(b->peers[i].in6);
	h->msg_iov = &b->iov[i];
	h->msg_iovlen = 1;
}

/* What the kernel attached to a received message: the UDP_GRO segment
 * size (0 if none) and the local address it was sent to. */
static uint16_t parse_control(struct msghdr *h, struct udp_local *ret_local)
{
	uint16_t seg = 0;

	memset(ret_local, 0, sizeof(*ret_local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			seg = size > 0 && size <= UINT16_MAX ? (uint16_t)size : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ret_local->family = AF_INET;
			ret_local->in4 = pi.ipi_addr; /* the header's destination */
			ret_local->ifindex = (uint32_t)pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ret_local->ifindex = pi.ipi6_ifindex;
			if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
				ret_local->family = AF_INET;
				memcpy(&ret_local->in4, &pi.ipi6_addr.s6_addr[12], 4);
			} else {
				ret_local->family = AF_INET6;
				ret_local->in6 = pi.ipi6_addr;
			}
		}
	}
	return seg;
}

int udp_recv_batch(int fd, struct udp_batch *b, uint8_t *const bufs[], size_t cap)
{
	int n;

	for (unsigned i = 0; i < UDP_BATCH; i++) {
		slot_init(b, i, bufs[i], cap);
		b->msgs[i].msg_hdr.msg_control = b->ctl[i].buf;
		b->msgs[i].msg_hdr.msg_controllen = sizeof(b->ctl[i].buf);
	}
	n = recvmmsg(fd, b->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &b->msgs[i].msg_hdr;

		b->peers[i].len = h->msg_namelen;
		if (h->msg_controllen) {
			b->seg[i] = parse_control(h, &b->locals[i]);
		} else {
			b->seg[i] = 0;
			b->locals[i].family = 0;
		}
		if (b->seg[i] >= b->msgs[i].msg_len)
			b->seg[i] = 0;
	}
	b->n = (unsigned)n;
	return n;
}

bool udp_batch_truncated(const struct udp_batch *b, unsigned i)
{
	return b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
}

bool udp_batch_add_from(struct udp_batch *b, uint8_t *buf, size_t len,
			const struct udp_endpoint *to, const struct udp_local *from)
{
	struct msghdr *h;

	if (b->n == UDP_BATCH)
		return false;
	b->peers[b->n] = *to;
	if (from)
		b->locals[b->n] = *from;
	else
		b->locals[b->n].family = 0;
	slot_init(b, b->n, buf, len);
	h = &b->msgs[b->n].msg_hdr;
	h->msg_namelen = to->len;
	b->n++;
	return true;
}

bool udp_batch_add(struct udp_batch *b, uint8_t *buf, size_t len, const struct udp_endpoint *to)
{
	return udp_batch_add_from(b, buf, len, to, NULL);
}

/* The family a source for peer to must have: an IPv4-mapped peer on the
 * dual-stack socket is reached over IPv4. */
static sa_family_t source_family(const struct udp_endpoint *to)
{
	if (to->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&to->in6.sin6_addr))
		return AF_INET;
	return to->sa.sa_family;
}

/* Datagram d's source, or NULL: none given, of the wrong family, or
 * refused by the kernel earlier in this send. */
static const struct udp_local *source_of(const struct udp_batch *b, unsigned d)
{
	const struct udp_local *l = &b->locals[d];

	if (!l->family || l->family != source_family(&b->peers[d]) || b->src_refused & (1u << d))
		return NULL;
	return l;
}

/* Appends one control message to h's (zeroed) control buffer. */
static void add_cmsg(struct msghdr *h, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)h->msg_control + h->msg_controllen);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	h->msg_controllen += CMSG_SPACE(len);
}

/* A message's ancillary data: UDP_SEGMENT for a run (more than one
 * datagram, cut at the first one's length), then the source src, if any.
 * The interface is left to the routing (ifindex 0). */
static void fill_control(struct msghdr *h, struct udp_ctl *ctl, const struct udp_local *src)
{
	h->msg_control = NULL;
	h->msg_controllen = 0;
	if (h->msg_iovlen < 2 && !src)
		return;
	memset(ctl->buf, 0, sizeof(ctl->buf));
	h->msg_control = ctl->buf;
	if (h->msg_iovlen > 1) {
		uint16_t size = (uint16_t)h->msg_iov[0].iov_len;
		add_cmsg(h, SOL_UDP, UDP_SEGMENT, &size, sizeof(size));
	}
	if (src && src->family == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = src->in4};
		add_cmsg(h, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (src) {
		struct in6_pktinfo pi = {.ipi6_addr = src->in6};
		add_cmsg(h, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
}

/* The same for a message whose first datagram is d. */
static void build_control(struct udp_batch *b, struct msghdr *h, struct udp_ctl *ctl, unsigned d)
{
	fill_control(h, ctl, source_of(b, d));
}

/* Messages m[0 .. count) about to be sent: message k carries the
 * datagrams first[k] .. first[k + 1] - 1 and owns ctl[k]. */
struct send_set {
	struct mmsghdr *m;
	struct udp_ctl *ctl;
	const unsigned *first;
	unsigned count;
};

/* Rebuilds the control of the messages from k on whose first datagram
 * is in mask (their source was just refused, or found innocent). */
static void rebuild(struct udp_batch *b, const struct send_set *s, unsigned k, uint32_t mask)
{
	for (; k < s->count; k++)
		if (mask & (1u << s->first[k]))
			build_control(b, &s->m[k].msg_hdr, &s->ctl[k], s->first[k]);
}

/* The kernel refused the source of datagram d: marks it, and every later
 * datagram from the same address; returns the datagrams newly marked. */
static uint32_t refuse_source(struct udp_batch *b, unsigned d)
{
	const struct udp_local src = b->locals[d];
	uint32_t mask = 0;

	for (unsigned i = d; i < b->n; i++)
		if (source_of(b, i) && udp_local_equal(&b->locals[i], &src))
			mask |= 1u << i;
	b->src_refused |= mask;
	return mask;
}

/* What the kernel answers a source address the host does not have:
 * EINVAL (IPv6), ENETUNREACH (IPv4 routing), EADDRNOTAVAIL. Each can mean
 * something else too, hence the retry without the source. */
static bool source_error(int err)
{
	return err == EINVAL || err == ENETUNREACH || err == EADDRNOTAVAIL;
}

/* EIO: no checksum offload; EINVAL or EMSGSIZE: a segment above the path
 * MTU, as over a 1280-byte IPv6 path, where plain datagrams are
 * fragmented. */
static bool gso_refusal(int err)
{
	return err == EIO || err == EINVAL || err == EMSGSIZE;
}

/* sendmmsg stops at the first message that fails: count it as failed
 * and go on with the rest. EAGAIN (socket buffer full) drops what is left
 * rather than spinning: it is congestion, and the inner flows back off.
 * Returns the number of datagrams that failed.
 *
 * A message with a source that fails with a source_error() is tried
 * once more without it (and with it every later one from that
 * address): if that goes, the address is gone from the host. If it fails
 * too, the source was not to blame and keeps its place. Then, on a
 * refused GSO message with gso_refused non-NULL, stops there and reports
 * its index there. */
static unsigned send_msgs(int fd, struct udp_batch *b, const struct send_set *s,
			  int *ret_last_error, int *gso_refused)
{
	unsigned done = 0, failed = 0, retried = UDP_BATCH;
	uint32_t blamed = 0;

	while (done < s->count) {
		struct msghdr *h = &s->m[done].msg_hdr;
		int n = sendmmsg(fd, s->m + done, s->count - done, MSG_DONTWAIT), err;

		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		err = n < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		*ret_last_error = err;
		if (retried == done) { /* without the source it fails too */
			b->src_refused &= ~blamed;
			rebuild(b, s, done, blamed);
			retried = UDP_BATCH;
		} else if (source_error(err) && source_of(b, s->first[done])) {
			blamed = refuse_source(b, s->first[done]);
			rebuild(b, s, done, blamed);
			retried = done;
			continue;
		}
		if (err == EAGAIN) {
			failed += s->first[s->count] - s->first[done];
			break;
		}
		if (gso_refused && gso_refusal(err) && h->msg_iovlen > 1) {
			*gso_refused = (int)done;
			break;
		}
		failed += s->first[done + 1] - s->first[done];
		done++;
	}
	return failed;
}

/* Total payload of one UDP_SEGMENT message: an IPv6 datagram's limit. */
#define GSO_MAX_BYTES 65000u
#define GSO_MAX_SEGS  64u /* the kernel's UDP_MAX_SEGMENTS before 6.x */

/* Splits the queued datagrams into runs; returns the number of runs. */
static unsigned make_runs(struct udp_batch *b)
{
	unsigned r = 0, i = 0;

	while (i < b->n) {
		size_t seg = b->iov[i].iov_len, total = seg;
		unsigned j = i + 1;
		struct msghdr *h = &b->runs[r].msg_hdr;

		/* extend while same peer, same source, same size; a shorter
		 * one ends the run */
		while (j < b->n && j - i < GSO_MAX_SEGS && b->iov[j].iov_len <= seg &&
		       total + b->iov[j].iov_len <= GSO_MAX_BYTES &&
		       udp_endpoint_equal(&b->peers[j], &b->peers[i]) &&
		       udp_local_equal(&b->locals[j], &b->locals[i])) {
			total += b->iov[j].iov_len;
			if (b->iov[j++].iov_len < seg)
				break;
		}
		*h = b->msgs[i].msg_hdr;
		h->msg_iovlen = j - i;
		build_control(b, h, &b->ctl[r], i);
		b->run_first[r++] = i;
		i = j;
	}
	b->run_first[r] = b->n;
	return r;
}

/* Datagrams from on, one message each. */
static unsigned send_plain(int fd, struct udp_batch *b, unsigned from, int *ret_last_error)
{
	struct send_set s = {b->msgs + from, b->ctl + from, b->run_first, b->n - from};

	for (unsigned i = from; i < b->n; i++)
		build_control(b, &b->msgs[i].msg_hdr, &b->ctl[i], i);
	for (unsigned k = 0; k <= b->n - from; k++)
		b->run_first[k] = from + k;
	return send_msgs(fd, b, &s, ret_last_error, NULL);
}

unsigned udp_send_batch(int fd, struct udp_batch *b, int *ret_last_error)
{
	_Static_assert(UDP_BATCH <= 32, "src_refused has a bit per datagram");
	struct send_set s = {b->runs, b->ctl, b->run_first, 0};
	unsigned failed;
	int refused = -1;

	b->src_refused = 0;
	if (b->gso_off)
		return send_plain(fd, b, 0, ret_last_error);
	s.count = make_runs(b);
	failed = send_msgs(fd, b, &s, ret_last_error, &refused);
	if (refused < 0)
		return failed;
	/* the route cannot take GSO: send the rest plainly, now and later */
	b->gso_off = true;
	return failed + send_plain(fd, b, b->run_first[refused], ret_last_error);
}

int udp_send_from(int fd, const uint8_t *buf, size_t len, const struct udp_endpoint *to,
		  const struct udp_local *from, bool *ret_src_refused)
{
	struct udp_ctl ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr h = {
	    .msg_name = (void *)&to->sa, .msg_namelen = to->len, .msg_iov = &iov, .msg_iovlen = 1};
	const struct udp_local *src =
	    from && from->family && from->family == source_family(to) ? from : NULL;
	ssize_t n;

	if (ret_src_refused)
		*ret_src_refused = false;
	fill_control(&h, &ctl, src);
	n = sendmsg(fd, &h, MSG_DONTWAIT);
	if (n < 0 && src && source_error(errno)) {
		/* the address is gone from the host: let the kernel pick */
		fill_control(&h, &ctl, NULL);
		n = sendmsg(fd, &h, MSG_DONTWAIT);
		if (n >= 0 && ret_src_refused)
			*ret_src_refused = true;
	}
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int udp_send(int fd, const uint8_t *buf, size_t len, const struct udp_endpoint *to)
{
	return udp_send_from(fd, buf, len, to, NULL, NULL);
}
