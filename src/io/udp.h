/* UDP sockets and batched datagram I/O (recvmmsg/sendmmsg).
 *
 * A struct udp_batch is a fixed array of message slots owned by one
 * thread: the receive side fills it with one recvmmsg, the send side
 * queues datagrams into it and sends them with one sendmmsg per flush.
 * The buffers are the caller's (a per-worker pool): the batch only points
 * at them and never allocates. */
#ifndef LL_IO_UDP_H
#define LL_IO_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDP_BATCH	     32
#define UDP_ENDPOINT_KEY_MAX 18 /* IPv6 address + port */

/* An IPv4 or IPv6 socket address. */
struct udp_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

/* Numeric address ("10.0.0.1", "::", "fd00::1") and port. -EINVAL otherwise. */
int udp_endpoint_parse(struct udp_endpoint *ret, const char *addr, uint16_t port);
/* Name or numeric address, first result (getaddrinfo; blocks). */
int udp_endpoint_resolve(struct udp_endpoint *ret, const char *host, uint16_t port);
bool udp_endpoint_equal(const struct udp_endpoint *a, const struct udp_endpoint *b);
/* IP address bytes (4 for IPv4 and IPv4-mapped IPv6, else 16) then the
 * big-endian port: the source identity the cookie and the rate limiter
 * key on. Returns the length. */
size_t udp_endpoint_key(const struct udp_endpoint *ep, uint8_t ret[static UDP_ENDPOINT_KEY_MAX]);
/* The address as "1.2.3.4:5" or "[::1]:5" into buf. */
#define UDP_ENDPOINT_STR_MAX 56
const char *udp_endpoint_str(const struct udp_endpoint *ep, char buf[static UDP_ENDPOINT_STR_MAX]);

struct udp_options {
	bool reuseport;
	/* UDP_GRO: the kernel may hand several datagrams of one sender as one
	 * message (udp_batch_segment says how to cut it); every receive
	 * buffer must then hold UDP_GRO_BUF_MIN bytes. Ignored if refused. */
	bool gro;
	/* On a socket bound to a wildcard address: IP_PKTINFO (IPv4, and IPv4
	 * on the dual-stack socket) and IPV6_RECVPKTINFO, so each received
	 * message says which local address it was sent to (b->locals[i]).
	 * Ignored on a socket bound to one address: that is its source. */
	bool pktinfo;
	uint32_t mark;	  /* SO_MARK, 0 = none */
	int buffer_bytes; /* SO_RCVBUF/SO_SNDBUF, 0 = system default */
};

/* A socket's buffer sizes (bytes, as the kernel doubled them) and the
 * datagrams it dropped on receive for want of room (SO_MEMINFO: the
 * "drops" of /proc/net/udp, for the statistics line). */
struct udp_queue {
	uint32_t rcvbuf, sndbuf, drops;
};
int udp_queue_info(int fd, struct udp_queue *ret);

/* A non-blocking, close-on-exec socket bound to bind_to; an IPv6 wildcard
 * ("::") is dual stack. */
int udp_open(const struct udp_endpoint *bind_to, const struct udp_options *o, int *ret_fd);

/* One process per port. SO_REUSEPORT lets every socket of the same user
 * join the port, a second server's included, and the kernel would split
 * the clients between the two at random. So, before binding its
 * SO_REUSEPORT sockets, a server probes the port with a socket bound
 * WITHOUT SO_REUSEPORT (and closed at once): -EADDRINUSE if any socket
 * holds an overlapping address and port (the same address, or a wildcard
 * covering it or covered by it), whoever owns it. A process that binds
 * between the probe and our sockets would still join them; so, after
 * binding, udp_port_shared lists the namespace's UDP sockets (sock_diag)
 * and returns -EADDRINUSE if one bound to an overlapping address on the
 * port is none of fds. Two servers racing both refuse; one that started
 * first and saw no one keeps the port. Without udp_diag in the kernel,
 * udp_port_shared returns 0 (the probe alone). */
#define UDP_PORT_FDS_MAX 1024
int udp_port_probe(const struct udp_endpoint *bind_to);
int udp_port_shared(const struct udp_endpoint *bind_to, const int *fds, unsigned n);

/* The local end of a datagram on a socket bound to a wildcard address
 * (a multi-homed host): the address the peer sent it to, which is the
 * address an answer must come from (a NAT or firewall in front of the
 * peer drops answers from any other; WireGuard's "sticky sockets"), and
 * the interface it arrived on. family 0: not known, and when sending:
 * let the kernel pick the source. An IPv4 datagram on the dual-stack
 * socket is AF_INET. Sending uses the address only; the interface is left
 * to the routing. */
struct udp_local {
	union {
		struct in_addr in4;
		struct in6_addr in6;
	};
	uint32_t ifindex;   /* receive: the interface it arrived on */
	sa_family_t family; /* AF_INET, AF_INET6, or 0 = none */
};

/* Same family and address (the interface is not compared). */
bool udp_local_equal(const struct udp_local *a, const struct udp_local *b);
/* The address as "1.2.3.4" or "fd00::1", "-" if none, into buf. */
const char *udp_local_str(const struct udp_local *l, char buf[static UDP_ENDPOINT_STR_MAX]);

/* The send side groups consecutive datagrams to the same peer from the
 * same source whose lengths are equal (the last may be shorter) into one
 * UDP_SEGMENT ("GSO") message: the kernel then routes, filters and hands
 * the whole run to the device once, not once per datagram.
 *
 * A message's ancillary data: on send UDP_SEGMENT (u16) for a run and
 * IP_PKTINFO or IPV6_PKTINFO for the source; on receive UDP_GRO (int) and
 * the pktinfo of both families (an IPv4 datagram on the dual-stack socket
 * gets IP_PKTINFO and a mapped IPV6_PKTINFO). */
struct udp_ctl {
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	};
};

struct udp_batch {
	unsigned n;
	bool gso_off; /* the socket refused a UDP_SEGMENT send: plain from then on */
	/* send: bit i set when the kernel refused datagram i's source (no
	 * longer an address of the host) and it went without one */
	uint32_t src_refused;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct udp_endpoint peers[UDP_BATCH];
	/* receive: the local address message i came to (family 0 unless the
	 * socket has pktinfo); send: datagram i's source, family 0 = any */
	struct udp_local locals[UDP_BATCH];
	/* send side: one message per run of datagrams */
	struct mmsghdr runs[UDP_BATCH];
	unsigned run_first[UDP_BATCH + 1];
	struct udp_ctl ctl[UDP_BATCH]; /* per message (send) or slot (receive) */
	uint16_t seg[UDP_BATCH];       /* receive: GRO segment size, 0 = one datagram */
};

/* The largest UDP payload: a receive buffer of a GRO socket holds this. */
#define UDP_GRO_BUF_MIN 65535

/* Receives up to UDP_BATCH messages, message i into bufs[i] (cap bytes
 * each): its length is b->msgs[i].msg_len, its sender b->peers[i], the
 * local address it was sent to b->locals[i] (with pktinfo). On a GRO socket a message may hold
 * several datagrams of that sender, each udp_batch_segment() bytes long except perhaps the last.
 * Returns the count, 0 when nothing is waiting, or a negative errno. */
int udp_recv_batch(int fd, struct udp_batch *b, uint8_t *const bufs[], size_t cap);
/* The length of each datagram in message i (the last may be shorter). */
static inline size_t udp_batch_segment(const struct udp_batch *b, unsigned i)
{
	return b->seg[i] ? b->seg[i] : b->msgs[i].msg_len;
}
/* True if datagram i did not fit its buffer. */
bool udp_batch_truncated(const struct udp_batch *b, unsigned i);

/* Queues a datagram, from the address the kernel picks; false when the
 * batch is full (flush first). */
bool udp_batch_add(struct udp_batch *b, uint8_t *buf, size_t len, const struct udp_endpoint *to);
/* The same from a given local address (IP_PKTINFO / IPV6_PKTINFO); from
 * NULL or of family 0, or of the other family than to, is any address. */
bool udp_batch_add_from(struct udp_batch *b, uint8_t *buf, size_t len,
			const struct udp_endpoint *to, const struct udp_local *from);
/* Sends every queued datagram, continuing past one that fails, in runs
 * of UDP_SEGMENT messages unless b->gso_off (set here when the kernel
 * refuses one: no checksum offload on the route, or a segment above the
 * path MTU; the refused run is then sent datagram by datagram). A
 * datagram whose source the kernel refuses (EINVAL, ENETUNREACH or
 * EADDRNOTAVAIL, and it goes without: no longer an address of the host)
 * is sent once more without it, as is
 * every later one from that source; b->src_refused says which (their
 * b->locals[i] still hold the refused address), so the caller can forget
 * it. The batch keeps its entries: the caller reclaims the buffers
 * (b->iov[i].iov_base, i < b->n) and then empties it (b->n = 0). Returns
 * the number of datagrams that failed; *ret_last_error is the errno of
 * the last. */
unsigned udp_send_batch(int fd, struct udp_batch *b, int *ret_last_error);

/* One datagram, for the control path. 0 or a negative errno. */
int udp_send(int fd, const uint8_t *buf, size_t len, const struct udp_endpoint *to);
/* The same from a given local address, as udp_batch_add_from; a refused
 * source is dropped and the datagram sent again without it, and
 * *ret_src_refused (if not NULL) set. */
int udp_send_from(int fd, const uint8_t *buf, size_t len, const struct udp_endpoint *to,
		  const struct udp_local *from, bool *ret_src_refused);

#endif
