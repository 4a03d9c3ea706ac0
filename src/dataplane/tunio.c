/* TUN reads and writes with offloads; see tunio.h. */
#include "dataplane/tunio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/tun.h"

static void count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* The device is created with IFF_VNET_HDR and asked for checksum, TSO and
 * USO offloads; if it takes none, it is closed (it goes away with its
 * only queue) and created again without the header. */
int tunio_open(const char *name, unsigned flags, bool offload, char ret_name[static IFNAMSIZ],
	       int *ret_fd, int *ret_set, char *what, size_t what_len)
{
	int r, set;

	*ret_set = 0;
	if (!offload) {
		snprintf(what, what_len, "off (performance.tun_offload = false)");
		return tun_open(name, flags, ret_name, ret_fd);
	}
	r = tun_open(name, flags | TUN_VNET_HDR, ret_name, ret_fd);
	if (r < 0)
		return r;
	set = tun_set_offload(*ret_fd);
	if (set > 0) {
		*ret_set = set;
		tun_offload_str((unsigned)set, what, what_len);
		return 0;
	}
	snprintf(what, what_len, "off (TUNSETOFFLOAD: %s)", strerror(set < 0 ? -set : EINVAL));
	close(*ret_fd);
	*ret_fd = -1;
	return tun_open(name, flags, ret_name, ret_fd);
}

/* The coalescer's hash seed: from the system's generator, or (it failed:
 * a worse seed beats none) the address of a stack variable and the pid. */
static uint32_t seed(void)
{
	uint32_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = (uint32_t)(uintptr_t)&s ^ (uint32_t)getpid();
	return s;
}

int tunio_init(struct tunio *t, int fd, int set, size_t room, struct tunio_stats *st)
{
	const int uso = TUN_OFFLOAD_USO4 | TUN_OFFLOAD_USO6;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->vnet = set > 0;
	t->uso = (set & uso) == uso;
	t->room = room;
	t->st = st;
	if (!t->vnet)
		return 0;
	t->scratch = malloc(room + TUNIO_SCRATCH);
	t->gro = malloc(sizeof(*t->gro));
	if (!t->scratch || !t->gro) {
		tunio_done(t);
		return -ENOMEM;
	}
	offload_gro_init(t->gro, t->uso, seed());
	return 0;
}

void tunio_done(struct tunio *t)
{
	free(t->scratch);
	free(t->gro);
	t->scratch = NULL;
	t->gro = NULL;
}

static enum tunio_read refused(struct tunio *t, int r)
{
	if (r < 0 && -r < OFFLOAD_DROP_COUNT)
		count(&t->st->drops[-r], 1);
	return TUNIO_REFUSED;
}

/* The header, then the packet into buf and, if it is longer, on into the
 * scratch area right behind where buf's part will be copied: a
 * super-packet is whole there with one copy of its head. */
enum tunio_read tunio_read(struct tunio *t, uint8_t *buf, size_t *len, struct offload_hdr *h)
{
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	struct iovec iov[3];
	ssize_t n;
	int r;

	if (!t->vnet) {
		n = read(t->fd, buf, t->room);
		*len = n > 0 ? (size_t)n : 0;
		return n > 0 ? TUNIO_PLAIN : TUNIO_EMPTY;
	}
	iov[0] = (struct iovec){vnet, sizeof(vnet)};
	iov[1] = (struct iovec){buf, t->room};
	iov[2] = (struct iovec){t->scratch + t->room, TUNIO_SCRATCH};
	n = readv(t->fd, iov, 3);
	if (n <= 0)
		return TUNIO_EMPTY;
	if ((size_t)n < sizeof(vnet))
		return refused(t, -OFFLOAD_DROP_SHORT);
	*len = (size_t)n - sizeof(vnet);
	offload_hdr_read(h, vnet);
	if (h->gso_type == OFFLOAD_GSO_NONE) {
		if (*len > t->room)
			return TUNIO_TOO_LONG;
		r = offload_plain(h, buf, *len);
		return r < 0 ? refused(t, r) : TUNIO_PLAIN;
	}
	t->super = buf;
	if (*len > t->room) {
		memcpy(t->scratch, buf, t->room);
		t->super = t->scratch;
	}
	count(&t->st->supers, 1);
	return TUNIO_SUPER;
}

/* SEGMENTS_PER_ROUND buffers at a time (a small MSS makes over a
 * thousand segments of 64 KiB). */
#define SEGMENTS_PER_ROUND 64
size_t tunio_segments(struct tunio *t, const struct offload_hdr *h, size_t len,
		      const struct tunio_sink *s)
{
	uint8_t *bufs[SEGMENTS_PER_ROUND], *outs[SEGMENTS_PER_ROUND];
	size_t lens[SEGMENTS_PER_ROUND], first = 0, want = offload_segments_max(h, len);
	size_t emitted = 0;
	int n;

	do {
		size_t k = want - first < SEGMENTS_PER_ROUND ? want - first : SEGMENTS_PER_ROUND;
		size_t got = 0;

		while (got < k && (bufs[got] = s->get(s->ctx)) != NULL) {
			outs[got] = bufs[got] + s->off;
			got++;
		}
		n = got ? offload_segment(h, t->super, len, first, outs, t->room, lens, got) : 0;
		if (n < 0)
			(void)refused(t, n);
		for (size_t i = 0; i < got; i++)
			if ((int)i >= n || !s->emit(s->ctx, bufs[i], lens[i]))
				s->put(s->ctx, bufs[i]);
		if (n > 0) {
			count(&t->st->segments, (uint64_t)n);
			emitted += (size_t)n;
			first += (size_t)n;
		}
	} while (n > 0 && first < want);
	return emitted;
}

bool tunio_write(struct tunio *t, uint8_t *pkt, size_t len)
{
	if (!t->gro)
		return write(t->fd, pkt, len) == (ssize_t)len;
	if (offload_gro_add(t->gro, pkt, len) < 0) {
		(void)tunio_flush(t);
		(void)offload_gro_add(t->gro, pkt, len); /* an empty batch takes it */
	}
	return true;
}

/* A write that fails drops every packet in it: the TUN queue is full
 * (the txqueuelen ring toward the host) or the kernel refused the
 * super-packet's header. */
size_t tunio_flush(struct tunio *t)
{
	struct offload_gro *g = t->gro;
	size_t supers = 0, merged = 0, dropped = 0;

	if (!g || g->n == 0)
		return 0;
	offload_gro_finish(g);
	for (unsigned i = 0; i < g->nwrites; i++) {
		const struct offload_gro_write *wr = &g->writes[i];
		ssize_t n = writev(t->fd, &g->iov[wr->iov_first], wr->niov);

		if (n != (ssize_t)(OFFLOAD_VNET_HDR_LEN + wr->len)) {
			dropped += wr->niov - 1u;
		} else if (wr->niov > 2) {
			supers++;
			merged += wr->niov - 2u;
		}
	}
	count(&t->st->write_drops, dropped);
	count(&t->st->gro_supers, supers);
	count(&t->st->gro_merged, merged);
	count(&t->st->csum_bad, g->csum_bad);
	g->csum_bad = 0;
	offload_gro_reset(g);
	return dropped;
}
