/* TUN offloads, the pure part: the virtio-net header a TUN device opened
 * with IFF_VNET_HDR puts in front of every packet, segmentation of the
 * super-packets it hands us (TSO/USO: one read of up to 64 KiB instead of
 * ~45), and coalescing of opened inner packets into super-packets before
 * the TUN write (GRO: one write, and one pass of the kernel's receive
 * path, instead of ~45). No I/O, no clock, no allocation: buffers are the
 * caller's.
 *
 * What may be merged follows the kernel's own GRO (inet_gro_receive,
 * ipv6_gro_receive, tcp_gro_receive, udp_gro_receive_segment): a packet the
 * kernel would not have merged is not merged here either, so writing our
 * super-packet is indistinguishable, for the stack behind the TUN, from
 * the packets one by one. A merged super-packet is written with
 * NEEDS_CSUM (the kernel trusts its checksum), so every packet's checksum
 * is verified before it is merged: a packet with a bad one goes alone, as
 * it came, and the kernel drops it as it would have.
 *
 * The header the kernel writes is trusted no more than the bytes after it
 * (a local process chose those): offload_plain and offload_segment check
 * it against the packet and refuse, with a reason the caller counts, what
 * the kernel would never hand us. */
#ifndef LL_DATAPLANE_OFFLOAD_H
#define LL_DATAPLANE_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* struct virtio_net_hdr (linux/virtio_net.h), the TUN default size: the
 * fields are in the host's byte order (a TUN device is "legacy" virtio
 * unless told otherwise with TUNSETVNETLE/BE). */
#define OFFLOAD_VNET_HDR_LEN 10

#define OFFLOAD_F_NEEDS_CSUM 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define OFFLOAD_F_DATA_VALID 2 /* VIRTIO_NET_HDR_F_DATA_VALID */

#define OFFLOAD_GSO_NONE   0	/* VIRTIO_NET_HDR_GSO_NONE */
#define OFFLOAD_GSO_TCPV4  1	/* VIRTIO_NET_HDR_GSO_TCPV4 */
#define OFFLOAD_GSO_TCPV6  4	/* VIRTIO_NET_HDR_GSO_TCPV6 */
#define OFFLOAD_GSO_UDP_L4 5	/* VIRTIO_NET_HDR_GSO_UDP_L4 (USO) */
#define OFFLOAD_GSO_ECN	   0x80 /* VIRTIO_NET_HDR_GSO_ECN: CWR on the first segment */

/* The largest IP packet, super-packets included (16-bit length fields;
 * the kernel's GRO stops below 64 KiB too). */
#define OFFLOAD_MAX_PACKET 65535

struct offload_hdr {
	uint8_t flags;	  /* OFFLOAD_F_* */
	uint8_t gso_type; /* OFFLOAD_GSO_*, with OFFLOAD_GSO_ECN */
	uint16_t hdr_len; /* the headers before the payload (not trusted on read) */
	uint16_t gso_size;
	uint16_t csum_start, csum_offset;
};

/* Why a packet read from the TUN device was refused (the caller counts
 * each; none is logged). */
enum offload_drop {
	OFFLOAD_DROP_NONE = 0,
	OFFLOAD_DROP_SHORT,    /* shorter than the header, or than the headers it names */
	OFFLOAD_DROP_FLAGS,    /* flags or GSO type the kernel never sets */
	OFFLOAD_DROP_IP,       /* IP header: version, length fields, fragment, extension */
	OFFLOAD_DROP_L4,       /* GSO type, protocol, checksum place, TCP header do not agree */
	OFFLOAD_DROP_GSO_SIZE, /* gso_size 0, no payload, or a segment over the caller's buffers */
	OFFLOAD_DROP_TOO_MANY, /* more segments than the caller has buffers */
	OFFLOAD_DROP_COUNT
};

const char *offload_drop_name(enum offload_drop d);

/* Reads the header at buf (OFFLOAD_VNET_HDR_LEN bytes). */
void offload_hdr_read(struct offload_hdr *h, const uint8_t *buf);
/* Writes it. */
void offload_hdr_write(uint8_t *buf, const struct offload_hdr *h);

/* A packet with gso_type NONE: checks the header, and with NEEDS_CSUM
 * completes the checksum in place (the sum from csum_start to the end,
 * seeded with what the field holds, stored at csum_start + csum_offset).
 * 0 or -enum offload_drop. */
int offload_plain(const struct offload_hdr *h, uint8_t *pkt, size_t len);

/* A super-packet (gso_type TCPV4, TCPV6 or UDP_L4): checks the header
 * against the packet and cuts it into segments of at most gso_size bytes
 * of payload: IPv4 total length, an ID one more per segment, header
 * checksum; IPv6 payload length; TCP sequence advanced, FIN and PSH only
 * on the last segment, CWR only on the first; UDP length; the TCP or UDP
 * checksum computed in full. Segments first, first + 1, ... are written
 * whole into out[0..max_out) (out_cap bytes each), their lengths into
 * out_len; a caller with fewer buffers than segments (a small MSS makes
 * over a thousand of 64 KiB) calls again with first advanced. Returns the
 * number written (0: first is past the last) or -enum offload_drop; pkt
 * is not changed. */
int offload_segment(const struct offload_hdr *h, const uint8_t *pkt, size_t len, size_t first,
		    uint8_t *const *out, size_t out_cap, size_t *out_len, size_t max_out);

/* How many segments offload_segment would make of a super-packet of len
 * bytes: an upper bound the caller can size its buffers by, before the
 * header is checked (0 for gso_size 0). */
size_t offload_segments_max(const struct offload_hdr *h, size_t len);

/* Coalescing (GRO) for the TUN write. Packets are added one by one as
 * they are opened (offload_gro_add: the bytes must stay where they are
 * until the writes are done; the first packet of a run is changed in
 * place by offload_gro_finish), then offload_gro_finish makes the writes:
 * each is an iovec list (the virtio header, the run's first packet whole,
 * then the payload of each packet merged into it) for one writev. A
 * packet that is not merged is one write with an empty header (GSO NONE).
 *
 * Order: the writes come in the order of their first packets; within one
 * flow (addresses, ports, IPv6 flow label) nothing is reordered: a packet
 * of the flow that cannot join its open run closes it. Packets of other
 * flows may pass a run's later packets, as in the kernel's GRO. */
#define OFFLOAD_GRO_MAX	  1024 /* packets per batch */
#define OFFLOAD_GRO_SEGS  64   /* packets per super-packet */
#define OFFLOAD_GRO_TABLE 2048 /* flow table slots (a power of 2, >= 2 x MAX) */

struct offload_gro_pkt {
	uint8_t *data;
	uint32_t len;
	uint8_t kind;	     /* GRO_PASS, GRO_TCP4, ... (offload.c) */
	uint8_t run_open;    /* head: the run may still grow */
	uint8_t csum;	     /* 0 not checked, 1 good, 2 bad */
	uint8_t id_mode;     /* head: 0 undecided, 1 incrementing, 2 fixed (DF) */
	uint8_t fin_psh;     /* head: FIN/PSH of the run's last packet */
	uint8_t l4off, hdrs; /* IP header length; IP + TCP/UDP header length */
	uint16_t count;	     /* head: packets in the run */
	uint16_t gso_size;   /* head: payload of the first packet */
	uint16_t next_id;    /* head: the IPv4 ID the next packet must have */
	int16_t next, tail;  /* the run's list: next member, head's last member */
	uint32_t total;	     /* head: the super-packet's length */
	uint32_t next_seq;   /* head: the TCP sequence the next packet must have */
	uint32_t hash;
	bool head;
};

struct offload_gro_write {
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	uint16_t iov_first, niov;
	uint32_t len; /* bytes after the virtio header */
};

struct offload_gro {
	bool udp; /* merge UDP too (the device took USO) */
	uint16_t n, nwrites;
	uint32_t seed; /* of the flow hash */
	uint32_t gen;
	/* counters since init, for the stats line */
	uint64_t merged;   /* packets that went into another's super-packet */
	uint64_t supers;   /* super-packets written */
	uint64_t csum_bad; /* packets passed alone: a bad checksum */
	struct offload_gro_pkt pkts[OFFLOAD_GRO_MAX];
	struct offload_gro_write writes[OFFLOAD_GRO_MAX];
	struct iovec iov[2 * OFFLOAD_GRO_MAX];
	int16_t table[OFFLOAD_GRO_TABLE];
	uint32_t table_gen[OFFLOAD_GRO_TABLE];
};

/* udp: whether UDP packets may be merged (TUN_F_USO4/6 taken); seed:
 * random bytes for the flow table's hash, so that a peer cannot choose
 * flows that all land in one run of slots (each packet would then search
 * the whole table). */
void offload_gro_init(struct offload_gro *g, bool udp, uint32_t seed);
/* Starts a new batch (after the writes of the last are done). */
void offload_gro_reset(struct offload_gro *g);
/* Adds a packet; -1 when the batch is full (finish, write, reset first).
 * Any bytes are accepted: what is not a mergeable packet goes alone. */
int offload_gro_add(struct offload_gro *g, uint8_t *data, size_t len);
/* Makes the writes: g->writes[0..g->nwrites), each g->iov[iov_first ..
 * iov_first + niov). */
void offload_gro_finish(struct offload_gro *g);

/* The Internet checksum (RFC 1071) helpers, exposed for the tests:
 * offload_csum_ok checks a TCP or UDP packet's checksum (IPv4 or IPv6,
 * pseudo-header included); offload_ip4_csum_ok the IPv4 header's. */
bool offload_l4_csum_ok(const uint8_t *pkt, size_t len);
bool offload_ip4_csum_ok(const uint8_t *pkt, size_t len);

#endif
