/* UDP sockets and batched datagram I/O; see udp.h. */
#include "io/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
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
	} else if (IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
		inet_ntop(AF_INET, &ep->in6.sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "%s:%u", ip, ntohs(ep->in6.sin6_port));
	} else {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, UDP_ENDPOINT_STR_MAX, "[%s]:%u", ip, ntohs(ep->in6.sin6_port));
	}
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

/* The UDP_GRO segment size the kernel attached to message i, or 0. */
static uint16_t gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		int size;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(size)))
			continue;
		memcpy(&size, CMSG_DATA(c), sizeof(size));
		return size > 0 && size <= UINT16_MAX ? (uint16_t)size : 0;
	}
	return 0;
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
		b->seg[i] = h->msg_controllen ? gro_size(h) : 0;
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

bool udp_batch_add(struct udp_batch *b, uint8_t *buf, size_t len, const struct udp_endpoint *to)
{
	struct msghdr *h;

	if (b->n == UDP_BATCH)
		return false;
	b->peers[b->n] = *to;
	slot_init(b, b->n, buf, len);
	h = &b->msgs[b->n].msg_hdr;
	h->msg_namelen = to->len;
	b->n++;
	return true;
}

/* sendmmsg stops at the first message that fails: count it as failed
 * and go on with the rest. EAGAIN (socket buffer full) drops what is left
 * rather than spinning: it is congestion, and the inner flows back off.
 * Message i carries the datagrams first[i] .. first[i + 1] - 1; returns
 * the number of datagrams that failed. On a refused GSO message (EIO: no
 * checksum offload; EINVAL or EMSGSIZE: a segment above the path MTU, as
 * over a 1280-byte IPv6 path, where plain datagrams are fragmented) with
 * gso_refused non-NULL, stops there instead and reports its index there. */
static unsigned send_msgs(int fd, struct mmsghdr *m, unsigned count, const unsigned *first,
			  int *ret_last_error, int *gso_refused)
{
	unsigned done = 0, failed = 0;

	while (done < count) {
		int n = sendmmsg(fd, m + done, count - done, MSG_DONTWAIT);
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		*ret_last_error = n < 0 ? errno : EIO;
		if (n < 0 && errno == EAGAIN) {
			failed += first[count] - first[done];
			break;
		}
		if (gso_refused && n < 0 &&
		    (errno == EIO || errno == EINVAL || errno == EMSGSIZE) &&
		    m[done].msg_hdr.msg_controllen) {
			*gso_refused = (int)done;
			break;
		}
		failed += first[done + 1] - first[done];
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

		/* extend while same peer, same size; a shorter one ends the run */
		while (j < b->n && j - i < GSO_MAX_SEGS && b->iov[j].iov_len <= seg &&
		       total + b->iov[j].iov_len <= GSO_MAX_BYTES &&
		       udp_endpoint_equal(&b->peers[j], &b->peers[i])) {
			total += b->iov[j].iov_len;
			if (b->iov[j++].iov_len < seg)
				break;
		}
		*h = b->msgs[i].msg_hdr;
		h->msg_iovlen = j - i;
		if (j - i > 1) {
			struct cmsghdr *c = &b->ctl[r].align;
			uint16_t size = (uint16_t)seg;

			h->msg_control = b->ctl[r].buf;
			h->msg_controllen = sizeof(b->ctl[r].buf);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(c), &size, sizeof(size));
		}
		b->run_first[r++] = i;
		i = j;
	}
	b->run_first[r] = b->n;
	return r;
}

unsigned udp_send_batch(int fd, struct udp_batch *b, int *ret_last_error)
{
	unsigned failed, runs, plain_from;
	int refused = -1;

	if (b->gso_off) {
		for (unsigned i = 0; i <= b->n; i++)
			b->run_first[i] = i;
		return send_msgs(fd, b->msgs, b->n, b->run_first, ret_last_error, NULL);
	}
	runs = make_runs(b);
	failed = send_msgs(fd, b->runs, runs, b->run_first, ret_last_error, &refused);
	if (refused < 0)
		return failed;
	/* the route cannot take GSO: send the rest plainly, now and later */
	b->gso_off = true;
	plain_from = b->run_first[refused];
	for (unsigned i = 0; i <= b->n; i++)
		b->run_first[i] = i;
	return failed + send_msgs(fd, b->msgs + plain_from, b->n - plain_from, b->run_first,
				  ret_last_error, NULL);
}

int udp_send(int fd, const uint8_t *buf, size_t len, const struct udp_endpoint *to)
{
	ssize_t n = sendto(fd, buf, len, MSG_DONTWAIT, &to->sa, to->len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
