/* The worker's fair queue: fq_codel (RFC 8290) over caller-owned
 * buffers; model in fq.h. */
#include "dataplane/fq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { FQ_LIST_NONE, FQ_LIST_NEW, FQ_LIST_OLD };

static const char *const drop_names[FQ_DROP_COUNT] = {
    [FQ_DROP_OVERLIMIT] = "fq_overlimit",
    [FQ_DROP_CODEL] = "fq_codel",
};

const char *fq_drop_name(enum fq_drop d)
{
	return (unsigned)d < FQ_DROP_COUNT ? drop_names[d] : "unknown";
}

/* ---- the flow hash: SipHash-2-4 of the inner 5-tuple ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t x = 0;

	for (int i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	return x;
}

static uint64_t siphash(const uint64_t key[2], const uint8_t *in, size_t len)
{
	uint64_t v[4] = {key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
			 key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull};
	uint8_t last[8] = {0};
	size_t full = len & ~(size_t)7;
	uint64_t m;

	for (size_t i = 0; i < full; i += 8) {
		m = load_le64(in + i);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	memcpy(last, in + full, len - full);
	last[7] = (uint8_t)len;
	m = load_le64(last);
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The 5-tuple's bytes (addresses, protocol, ports) into key; what a
 * packet that is no well-formed IPv4/IPv6 header has: its first bytes. */
#define TUPLE_MAX 37

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 ||
	       proto == 136; /* TCP UDP SCTP UDP-Lite */
}

static size_t tuple_of(const uint8_t *p, size_t len, uint8_t key[static TUPLE_MAX])
{
	size_t n, hl;

	if (len >= 20 && p[0] >> 4 == 4 && (hl = (size_t)(p[0] & 0xf) * 4) >= 20 && hl <= len) {
		bool first_fragment = ((p[6] & 0x1f) | p[7]) == 0;

		memcpy(key, p + 12, 8);
		key[8] = p[9];
		n = 9;
		if (has_ports(p[9]) && first_fragment && len >= hl + 4) {
			memcpy(key + n, p + hl, 4);
			n += 4;
		}
		return n;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		memcpy(key, p + 8, 32);
		key[32] = p[6];
		n = 33;
		if (has_ports(p[6]) && len >= 44) {
			memcpy(key + n, p + 40, 4);
			n += 4;
		}
		return n;
	}
	n = len < TUPLE_MAX ? len : TUPLE_MAX;
	memcpy(key, p, n);
	return n;
}

uint32_t fq_flow_of(const struct fq *q, const uint8_t *pkt, size_t len)
{
	uint8_t key[TUPLE_MAX];
	size_t n = tuple_of(pkt, len, key);

	/* the hash's top 32 bits scaled to [0, flows): no modulo bias worth a divide */
	return (uint32_t)(((siphash(q->p.key, key, n) >> 32) * q->p.flows) >> 32);
}

/* ---- ECN: CE on an ECN-capable inner packet ---- */

/* Sets CE on an IPv4 header at p (hl bytes checked by the caller),
 * updating its checksum incrementally (RFC 1624). */
static void ipv4_set_ce(uint8_t *p)
{
	uint32_t sum = (uint32_t)(p[10] << 8 | p[11]) ^ 0xffff;
	uint16_t old = (uint16_t)(p[0] << 8 | p[1]), now;

	p[1] |= 3;
	now = (uint16_t)(p[0] << 8 | p[1]);
	sum += (uint16_t)~old;
	sum += now;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	p[10] = (uint8_t)(sum >> 8);
	p[11] = (uint8_t)sum;
}

/* True when the packet was ECN-capable (ECT(0), ECT(1) or CE already)
 * and now carries CE. */
static bool mark_ce(uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4 && (p[0] & 0xf) >= 5) {
		if ((p[1] & 3) == 0)
			return false;
		if ((p[1] & 3) != 3)
			ipv4_set_ce(p);
		return true;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		unsigned ecn = (p[1] >> 4) & 3; /* traffic class bits 4-5 */

		if (ecn == 0)
			return false;
		p[1] |= 3 << 4;
		return true;
	}
	return false;
}

/* ---- lists of flows (new, old): taken from the head, added at the tail ---- */

static void list_push(struct fq *q, struct fq_list *l, uint32_t f, uint8_t which)
{
	q->flows[f].next = FQ_NONE;
	q->flows[f].list = which;
	if (l->head == FQ_NONE)
		l->head = f;
	else
		q->flows[l->tail].next = f;
	l->tail = f;
}

static uint32_t list_pop(struct fq *q, struct fq_list *l)
{
	uint32_t f = l->head;

	l->head = q->flows[f].next;
	if (l->head == FQ_NONE)
		l->tail = FQ_NONE;
	q->flows[f].list = FQ_LIST_NONE;
	return f;
}

/* ---- packets of one flow ---- */

static void flow_push(struct fq *q, uint32_t f, uint32_t pk)
{
	struct fq_flow *fl = &q->flows[f];

	q->pkts[pk].next = FQ_NONE;
	if (fl->head == FQ_NONE)
		fl->head = pk;
	else
		q->pkts[fl->tail].next = pk;
	fl->tail = pk;
	fl->packets++;
	fl->bytes += q->pkts[pk].len;
	q->packets++;
	q->bytes += q->pkts[pk].len;
}

/* Takes the flow's head packet off (the flow must have one); its
 * descriptor stays valid until the next fq call. */
static uint32_t flow_pop(struct fq *q, uint32_t f)
{
	struct fq_flow *fl = &q->flows[f];
	uint32_t pk = fl->head;

	fl->head = q->pkts[pk].next;
	if (fl->head == FQ_NONE)
		fl->tail = FQ_NONE;
	fl->packets--;
	fl->bytes -= q->pkts[pk].len;
	q->packets--;
	q->bytes -= q->pkts[pk].len;
	q->pkts[pk].next = q->free_pkt;
	q->free_pkt = pk;
	return pk;
}

static void release(struct fq *q, uint32_t pk, enum fq_drop why)
{
	q->stats.drops[why]++;
	q->p.release(q->p.ctx, q->pkts[pk].buf);
}

/* ---- the limits: from the fattest flow, as fq_codel_drop ---- */

static uint32_t fattest(const struct fq *q)
{
	uint32_t best = 0;

	/* by bytes, then packets: zero-length packets still make a flow fat */
	for (uint32_t f = 1; f < q->p.flows; f++) {
		const struct fq_flow *a = &q->flows[f], *b = &q->flows[best];

		if (a->bytes > b->bytes || (a->bytes == b->bytes && a->packets > b->packets))
			best = f;
	}
	return best;
}

/* Drops up to half of the fattest flow's packets (at least one, at most
 * 64: fq_codel's batch, so a flood costs one scan per batch, not per
 * packet). */
static void drop_fattest(struct fq *q)
{
	uint32_t f = fattest(q);
	uint32_t n = q->flows[f].packets / 2;

	if (n == 0)
		n = 1;
	if (n > 64)
		n = 64;
	while (n-- > 0 && q->flows[f].head != FQ_NONE)
		release(q, flow_pop(q, f), FQ_DROP_OVERLIMIT);
}

int fq_init(struct fq *q, const struct fq_params *p)
{
	memset(q, 0, sizeof(*q));
	if (!p->flows || !p->limit || !p->quantum || !p->release || p->target_ns >= p->interval_ns)
		return -EINVAL;
	q->p = *p;
	if (!q->p.byte_limit)
		q->p.byte_limit = (uint32_t)((uint64_t)p->limit * 65535 > UINT32_MAX
						 ? UINT32_MAX
						 : (uint64_t)p->limit * 65535);
	q->pkts = calloc(p->limit, sizeof(*q->pkts));
	q->flows = calloc(p->flows, sizeof(*q->flows));
	if (!q->pkts || !q->flows) {
		fq_done(q);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->limit; i++)
		q->pkts[i].next = i + 1 < p->limit ? i + 1 : FQ_NONE;
	q->free_pkt = 0;
	for (uint32_t f = 0; f < p->flows; f++)
		q->flows[f].head = q->flows[f].tail = q->flows[f].next = FQ_NONE;
	q->new_flows.head = q->new_flows.tail = FQ_NONE;
	q->old_flows.head = q->old_flows.tail = FQ_NONE;
	return 0;
}

void fq_done(struct fq *q)
{
	if (q->flows && q->pkts)
		for (uint32_t f = 0; f < q->p.flows; f++)
			while (q->flows[f].head != FQ_NONE) {
				uint32_t pk = flow_pop(q, f);
				q->p.release(q->p.ctx, q->pkts[pk].buf);
			}
	free(q->pkts);
	free(q->flows);
	memset(q, 0, sizeof(*q));
}

void fq_enqueue(struct fq *q, uint8_t *buf, uint16_t off, uint16_t len, uint64_t now_ns)
{
	uint32_t f = fq_flow_of(q, buf + off, len), pk;
	struct fq_flow *fl;

	while (q->packets >= q->p.limit)
		drop_fattest(q);
	pk = q->free_pkt;
	q->free_pkt = q->pkts[pk].next;
	q->pkts[pk] = (struct fq_pkt){.buf = buf, .time_ns = now_ns, .off = off, .len = len};
	flow_push(q, f, pk);
	q->stats.enqueued++;
	fl = &q->flows[f];
	if (fl->list == FQ_LIST_NONE) { /* a sparse flow: served before the old ones */
		fl->deficit = (int32_t)q->p.quantum;
		list_push(q, &q->new_flows, f, FQ_LIST_NEW);
		q->stats.new_flows++;
	}
	while (q->bytes > q->p.byte_limit)
		drop_fattest(q);
}

/* ---- CoDel at a flow's head (RFC 8289, as Linux's codel_impl.h) ---- */

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0, bit = 1ull << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* t + interval / sqrt(count) */
static uint64_t control_law(const struct fq *q, uint64_t t, uint32_t count)
{
	uint64_t s = isqrt((uint64_t)count << 32); /* sqrt(count) * 2^16 */

	return t + (q->p.interval_ns << 16) / (s ? s : 1);
}

/* Whether the flow's head packet pk (FQ_NONE: the flow ran empty) has
 * waited too long for long enough. */
static bool should_drop(struct fq *q, struct fq_flow *fl, uint32_t pk, uint64_t now)
{
	uint64_t sojourn;

	if (pk == FQ_NONE) {
		fl->first_above_ns = 0;
		return false;
	}
	sojourn = now > q->pkts[pk].time_ns ? now - q->pkts[pk].time_ns : 0;
	/* below target, or no more than a packet left: keep it */
	if (sojourn < q->p.target_ns || fl->bytes <= q->p.quantum) {
		fl->first_above_ns = 0;
		return false;
	}
	if (fl->first_above_ns == 0) {
		fl->first_above_ns = now + q->p.interval_ns;
		return false;
	}
	return now >= fl->first_above_ns;
}

static bool try_mark(struct fq *q, uint32_t pk)
{
	struct fq_pkt *p = &q->pkts[pk];

	if (!q->p.ecn || !mark_ce(p->buf + p->off, p->len))
		return false;
	q->stats.ecn_marked++;
	return true;
}

/* The flow's head as CoDel lets it through (FQ_NONE: none left); the
 * descriptor is off the flow, valid until the next call. bytes/packets
 * of the flow are judged before the packet is taken off. */
static uint32_t codel_head(struct fq *q, uint32_t f, uint64_t now)
{
	struct fq_flow *fl = &q->flows[f];
	uint32_t pk = fl->head;
	bool drop = should_drop(q, fl, pk, now);

	if (pk == FQ_NONE) {
		fl->dropping = false;
		return FQ_NONE;
	}
	if (fl->dropping) {
		if (!drop) {
			fl->dropping = false;
		} else {
			while (fl->dropping && now >= fl->drop_next_ns) {
				fl->count++;
				if (try_mark(q, pk)) {
					fl->drop_next_ns =
					    control_law(q, fl->drop_next_ns, fl->count);
					break;
				}
				release(q, flow_pop(q, f), FQ_DROP_CODEL);
				pk = fl->head;
				if (!should_drop(q, fl, pk, now))
					fl->dropping = false;
				else
					fl->drop_next_ns =
					    control_law(q, fl->drop_next_ns, fl->count);
			}
		}
	} else if (drop) {
		uint32_t delta;

		if (!try_mark(q, pk)) {
			release(q, flow_pop(q, f), FQ_DROP_CODEL);
			pk = fl->head;
			(void)should_drop(q, fl, pk, now);
		}
		fl->dropping = true;
		/* came back soon after the last dropping state: resume its rate */
		delta = fl->count - fl->lastcount;
		fl->count = delta > 1 && now - fl->drop_next_ns < 16 * q->p.interval_ns ? delta : 1;
		fl->lastcount = fl->count;
		fl->drop_next_ns = control_law(q, now, fl->count);
	}
	return pk == FQ_NONE ? FQ_NONE : flow_pop(q, f);
}

bool fq_dequeue(struct fq *q, uint64_t now_ns, uint8_t **buf, uint16_t *off, uint16_t *len)
{
	for (;;) {
		struct fq_list *l = q->new_flows.head != FQ_NONE ? &q->new_flows : &q->old_flows;
		uint32_t f = l->head, pk;
		struct fq_flow *fl;

		if (f == FQ_NONE)
			return false;
		fl = &q->flows[f];
		if (fl->deficit <= 0) { /* its round is spent: to the back of the old flows */
			fl->deficit += (int32_t)q->p.quantum;
			list_pop(q, l);
			list_push(q, &q->old_flows, f, FQ_LIST_OLD);
			continue;
		}
		pk = codel_head(q, f, now_ns);
		if (pk == FQ_NONE) {
			/* empty: a new flow goes to the old list once (so it cannot
			 * come back as new at once and starve the old ones), an old
			 * one leaves the lists */
			list_pop(q, l);
			if (l == &q->new_flows && q->old_flows.head != FQ_NONE)
				list_push(q, &q->old_flows, f, FQ_LIST_OLD);
			continue;
		}
		fl->deficit -= q->pkts[pk].len;
		*buf = q->pkts[pk].buf;
		*off = q->pkts[pk].off;
		*len = q->pkts[pk].len;
		q->stats.dequeued++;
		return true;
	}
}
