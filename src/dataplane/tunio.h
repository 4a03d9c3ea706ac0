/* TUN reads and writes with offloads (dataplane/offload.h does the
 * packets), for the server's workers and the client alike: the TUN device
 * is opened (tunio_open), each read is one readv that yields a plain
 * packet in the caller's buffer or a super-packet whole in the scratch
 * area, cut into the caller's buffers by tunio_segments; each packet for
 * the host is queued (tunio_write) and written, coalesced where the
 * kernel's GRO would have merged it, by tunio_flush at the end of the
 * batch. Without offloads (tun_offload = false, or a kernel that refuses
 * them) the same calls read and write one packet each.
 *
 * Counters are relaxed atomic stores by the owning thread only, so another
 * thread may read them (the server's stats sum them live). */
#ifndef LL_DATAPLANE_TUNIO_H
#define LL_DATAPLANE_TUNIO_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/offload.h"

/* A read with IFF_VNET_HDR: up to 64 KiB of IPv4 or IPv6 packet (its
 * payload length excludes the 40-byte IPv6 header). */
#define TUNIO_SCRATCH (65535 + 40)

struct tunio_stats {
	uint64_t supers, segments;	    /* super-packets read, segments cut from them */
	uint64_t gro_supers, gro_merged;    /* written, and packets merged into them */
	uint64_t csum_bad;		    /* written alone: a bad checksum */
	uint64_t write_drops;		    /* packets in writes the device refused */
	uint64_t drops[OFFLOAD_DROP_COUNT]; /* reads refused, by reason */
};

struct tunio {
	int fd; /* not owned */
	bool vnet, uso;
	size_t room;	      /* bytes a caller's buffer takes from a read */
	uint8_t *scratch;     /* room + TUNIO_SCRATCH, with vnet */
	const uint8_t *super; /* the last super-packet read: in buf if it fit, else scratch */
	struct offload_gro *gro;
	struct tunio_stats *st;
};

/* Opens the device (tun_open's flags and name) and, with offload, asks
 * it for the offloads: *ret_set gets the enum tun_offload set taken (0:
 * none, the device was made again without IFF_VNET_HDR) and what[] the
 * line to log once ("csum tso4 tso6 uso4 uso6", "off (reason)"). */
int tunio_open(const char *name, unsigned flags, bool offload, char ret_name[static IFNAMSIZ],
	       int *ret_fd, int *ret_set, char *what, size_t what_len);

/* set: what tunio_open took (0: none); room: the bytes of a caller's
 * buffer a read may fill. -ENOMEM. */
int tunio_init(struct tunio *t, int fd, int set, size_t room, struct tunio_stats *st);
void tunio_done(struct tunio *t);

enum tunio_read {
	TUNIO_EMPTY,	/* nothing to read (or an error) */
	TUNIO_PLAIN,	/* a packet of *len bytes in buf */
	TUNIO_SUPER,	/* a super-packet of *len bytes (t->super): tunio_segments */
	TUNIO_REFUSED,	/* counted in st->drops */
	TUNIO_TOO_LONG, /* a plain packet longer than room */
};

/* One read into buf (room bytes) and, with vnet, on into the scratch
 * area; *h gets the super-packet's header. A super-packet that fit buf is
 * left there (buf must then stay until tunio_segments), else it is made
 * whole in the scratch area. */
enum tunio_read tunio_read(struct tunio *t, uint8_t *buf, size_t *len, struct offload_hdr *h);

/* Cuts the super-packet (tunio_read said TUNIO_SUPER) into buffers from
 * get(ctx) (each written at off, room bytes), handing each segment to
 * emit(ctx, buf, len), which owns buf if it returns true; unused buffers
 * go back with put(ctx, buf). Returns the segments emitted. */
struct tunio_sink {
	uint8_t *(*get)(void *ctx);
	void (*put)(void *ctx, uint8_t *buf);
	bool (*emit)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
	size_t off;
};
size_t tunio_segments(struct tunio *t, const struct offload_hdr *h, size_t len,
		      const struct tunio_sink *s);

/* A packet for the host: with vnet queued in place (the bytes must stay
 * until tunio_flush), else written now. false: dropped (write refused). */
bool tunio_write(struct tunio *t, uint8_t *pkt, size_t len);
/* Writes what tunio_write queued; returns the packets dropped. */
size_t tunio_flush(struct tunio *t);

#endif
