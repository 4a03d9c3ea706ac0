/* UDP stealth framing; the model is in stealth.h, the wire in
 * docs/protocol.md §12. */
#include "obfuscation/stealth.h"

#include <errno.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/endian.h"

#define TYPE_TRANSPORT	 4
#define FLAG_KEY_PHASE	 0x01
#define LEN_FIELD	 2
#define BUCKETS_MIN_STD	 8
#define BUCKETS_SPAN_STD 9 /* 8..16 */
#define BUCKETS_MIN_MAX	 3
#define BUCKETS_SPAN_MAX 2 /* 3..4 */

static const char label_hs[] = "stealth-hs";
static const char label_hp[] = "stealth-hp";
static const char label_dir[] = "lostlove stealth hp";
static const char label_table[] = "lostlove stealth buckets";

static int labelled_hash(uint8_t ret[static 32], const char *label, size_t label_len,
			 const uint8_t pub[static 32])
{
	struct iov_c parts[] = {{label, label_len}, {pub, 32}};

	return sha256_v(ret, parts, 2);
}

int stealth_keys_derive(struct stealth_keys *k, const uint8_t server_pub[static 32])
{
	uint8_t hp[32];
	int r = labelled_hash(k->hs, label_hs, sizeof(label_hs) - 1, server_pub);

	if (r == 0)
		r = labelled_hash(hp, label_hp, sizeof(label_hp) - 1, server_pub);
	memcpy(k->hp, hp, sizeof(k->hp));
	ct_wipe(hp, sizeof(hp));
	return r;
}

void stealth_keys_wipe(struct stealth_keys *k)
{
	ct_wipe(k, sizeof(*k));
}

int stealth_ctx_init(struct stealth_ctx *c, const struct stealth_keys *k)
{
	int r = mask_stream_init(&c->hs, k->hs);

	c->hp.ctx = NULL;
	if (r == 0)
		r = mask_block_init(&c->hp, k->hp);
	if (r < 0)
		stealth_ctx_done(c);
	return r;
}

void stealth_ctx_done(struct stealth_ctx *c)
{
	mask_stream_done(&c->hs);
	mask_block_done(&c->hp);
}

bool stealth_size_forbidden(size_t len)
{
	return len == 64 || len == 80 || len == 92 || len == 112 || len == 148;
}

/* A uniform value in [0, n) (n > 0; the bias of 32 bits mod n is below
 * 2^-20 for the small n used here). */
static int uniform(const struct rng *rng, uint32_t n, uint32_t *ret)
{
	uint8_t b[4];
	int r = rng_fill(rng, b, sizeof(b));

	*ret = r == 0 ? le32_load(b) % n : 0;
	return r;
}

/* Moves len off a forbidden size, staying within [lo, hi]. The forbidden
 * sizes are isolated, so one step up or down always leaves the set when
 * the range has room. */
static size_t avoid_forbidden(size_t len, size_t lo, size_t hi)
{
	if (!stealth_size_forbidden(len))
		return len;
	if (len + 1 <= hi)
		return len + 1;
	if (len - 1 >= lo)
		return len - 1;
	return 0;
}

/* ---- handshake class ---- */

size_t stealth_hs_wire_len(const struct rng *rng, size_t msg_len, size_t max_len)
{
	size_t lo = STEALTH_HS_OVERHEAD + msg_len, room;
	uint32_t pad;

	if (msg_len == 0 || msg_len > UINT16_MAX || max_len < lo)
		return 0;
	room = max_len - lo;
	if (room > STEALTH_HS_PAD_MAX)
		room = STEALTH_HS_PAD_MAX;
	if (uniform(rng, (uint32_t)room + 1, &pad) < 0)
		return 0;
	return avoid_forbidden(lo + pad, lo, max_len);
}

size_t stealth_hs_own_limit(size_t msg_len)
{
	size_t lo = STEALTH_HS_OVERHEAD + msg_len, hi = lo + STEALTH_HS_PAD_MAX;

	if (hi > STEALTH_HS_WIRE_MAX && lo < STEALTH_HS_WIRE_MAX)
		hi = STEALTH_HS_WIRE_MAX;
	return hi;
}

/* The keystream of nonce N: ChaCha20 with K_hs, nonce N[4..16], block
 * counter 0 (docs/protocol.md §12.2: N[0..4] would otherwise be the
 * counter, whose overflow implementations treat differently). */
static int start_stream(struct stealth_ctx *c, const uint8_t *nonce)
{
	return mask_stream_start(&c->hs, nonce + 4);
}

int stealth_hs_wrap(struct stealth_ctx *c, const struct rng *rng, const uint8_t *msg,
		    size_t msg_len, uint8_t *out, size_t wire_len)
{
	uint8_t *body = out + STEALTH_NONCE_LEN;
	size_t used = STEALTH_HS_OVERHEAD + msg_len;
	int r;

	if (msg_len == 0 || msg_len > UINT16_MAX || wire_len < used)
		return -EINVAL;
	r = rng_fill(rng, out, STEALTH_NONCE_LEN);
	if (r == 0 && wire_len > used)
		r = rng_fill(rng, out + used, wire_len - used);
	if (r < 0)
		return r;
	le16_store(body, (uint16_t)msg_len);
	memcpy(body + LEN_FIELD, msg, msg_len);
	r = start_stream(c, out);
	if (r == 0)
		r = mask_stream_xor(&c->hs, body, LEN_FIELD + msg_len);
	return r;
}

int stealth_hs_unwrap(struct stealth_ctx *c, uint8_t *pkt, size_t len, size_t *ret_len)
{
	uint8_t field[LEN_FIELD];
	size_t msg_len;

	if (len <= STEALTH_HS_OVERHEAD)
		return -EBADMSG;
	memcpy(field, pkt + STEALTH_NONCE_LEN, LEN_FIELD);
	if (start_stream(c, pkt) < 0 || mask_stream_xor(&c->hs, field, LEN_FIELD) < 0)
		return -EIO;
	msg_len = le16_load(field);
	if (msg_len == 0 || msg_len > len - STEALTH_HS_OVERHEAD)
		return -EBADMSG;
	if (mask_stream_xor(&c->hs, pkt + STEALTH_HS_OVERHEAD, msg_len) < 0)
		return -EIO;
	memcpy(pkt + STEALTH_NONCE_LEN, field, LEN_FIELD);
	*ret_len = msg_len;
	return 0;
}

/* ---- transport: keys and buckets ---- */

int stealth_dir_key(uint8_t ret[static 16], const uint8_t secret0[static 32])
{
	return hkdf_sha256_expand(ret, 16, secret0, (const uint8_t *)label_dir,
				  sizeof(label_dir) - 1);
}

static int dir_init(struct mask_block *m, const uint8_t secret0[static 32])
{
	uint8_t key[16];
	int r = stealth_dir_key(key, secret0);

	m->ctx = NULL;
	if (r == 0)
		r = mask_block_init(m, key);
	ct_wipe(key, sizeof(key));
	return r;
}

static void sort_sizes(uint16_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint16_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* Sorted, without duplicates. */
static unsigned sort_unique(uint16_t *v, unsigned n)
{
	unsigned out = 0;

	sort_sizes(v, n);
	for (unsigned i = 0; i < n; i++)
		if (out == 0 || v[out - 1] != v[i])
			v[out++] = v[i];
	return out;
}

/* One bucket in [lo, hi), denser towards lo (u^2), where most packets
 * (acknowledgements, DNS, keepalives) are: fewer bytes spent padding
 * small packets to large buckets. */
static int draw_bucket(const struct rng *rng, size_t lo, size_t hi, uint16_t *ret)
{
	uint32_t u;
	int r = uniform(rng, 65536, &u);
	uint64_t off = (uint64_t)(hi - lo) * u * u >> 32;

	*ret = (uint16_t)avoid_forbidden(lo + (size_t)off, lo, hi);
	return r;
}

int stealth_buckets_draw(struct stealth_buckets *b, enum stealth_mode mode, size_t min_outer,
			 size_t max_outer, const struct rng *rng)
{
	bool maximum = mode == STEALTH_MODE_MAXIMUM;
	uint32_t extra;
	unsigned n;
	int r;

	memset(b, 0, sizeof(*b));
	if (min_outer >= max_outer || max_outer > UINT16_MAX || stealth_size_forbidden(max_outer))
		return -EINVAL;
	r = uniform(rng, maximum ? BUCKETS_SPAN_MAX : BUCKETS_SPAN_STD, &extra);
	n = (maximum ? BUCKETS_MIN_MAX : BUCKETS_MIN_STD) + extra;
	/* the smallest: STEALTH_SMALL_FLOOR..+64 bytes above an empty packet,
	 * where every short packet goes (stealth.h) */
	if (r == 0 && min_outer + STEALTH_SMALL_FLOOR + 64 < max_outer)
		r = draw_bucket(rng, min_outer + STEALTH_SMALL_FLOOR,
				min_outer + STEALTH_SMALL_FLOOR + 64, &b->size[0]);
	else
		b->size[0] = (uint16_t)max_outer;
	for (unsigned i = 1; i + 1 < n && r == 0; i++)
		r = draw_bucket(rng, b->size[0], max_outer, &b->size[i]);
	if (r < 0)
		return r;
	b->size[n - 1] = (uint16_t)max_outer;
	b->n = sort_unique(b->size, n);
	return 0;
}

int stealth_table_rng(struct rng_det *ret, const uint8_t t_i2r[static 32])
{
	uint8_t seed[32];
	int r = hkdf_sha256_expand(seed, sizeof(seed), t_i2r, (const uint8_t *)label_table,
				   sizeof(label_table) - 1);

	if (r == 0)
		rng_det_init(ret, seed);
	ct_wipe(seed, sizeof(seed));
	return r;
}

void stealth_buckets_clamp(struct stealth_buckets *b, size_t max_outer)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->size[i] > max_outer)
			b->size[i] = (uint16_t)max_outer;
	b->n = sort_unique(b->size, b->n);
}

size_t stealth_bucket_fit(const struct stealth_buckets *b, size_t outer)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->size[i] >= outer)
			return b->size[i];
	return outer;
}

int stealth_tx_init(struct stealth_tx *t, enum stealth_mode mode, const struct stealth_keys *k,
		    const uint8_t secret0[static 32], size_t min_outer, size_t max_outer,
		    const struct rng *rng)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->mode = mode;
	r = stealth_buckets_draw(&t->buckets, mode, min_outer, max_outer, rng);
	if (r == 0)
		r = rng_fill(rng, (uint8_t *)&t->flows.seed, sizeof(t->flows.seed));
	if (r == 0)
		r = mask_block_init(&t->hp, k->hp);
	if (r == 0)
		r = dir_init(&t->dir, secret0);
	if (r < 0)
		stealth_tx_done(t);
	return r;
}

void stealth_tx_done(struct stealth_tx *t)
{
	mask_block_done(&t->hp);
	mask_block_done(&t->dir);
	ct_wipe(t, sizeof(*t));
}

int stealth_rx_init(struct stealth_rx *r, const uint8_t secret0[static 32])
{
	return dir_init(&r->dir, secret0);
}

void stealth_rx_done(struct stealth_rx *r)
{
	mask_block_done(&r->dir);
}

/* ---- maximum: the first packets of each inner flow ---- */

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u; /* FNV-1a */
	return h;
}

/* A hash of the inner packet's addresses, protocol and (TCP, UDP) ports;
 * 0 for anything that is not a whole IP header. */
static uint32_t flow_hash(uint32_t seed, const uint8_t *ip, size_t len)
{
	size_t hl, addrs_off, addrs_len;
	uint8_t proto;
	uint32_t h = 2166136261u ^ seed;

	if (len >= 20 && ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 0x0f) * 4;
		proto = ip[9];
		addrs_off = 12;
		addrs_len = 8;
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		hl = 40;
		proto = ip[6];
		addrs_off = 8;
		addrs_len = 32;
	} else {
		return 0;
	}
	h = mix(h, ip + addrs_off, addrs_len);
	h = mix(h, &proto, 1);
	if ((proto == 6 || proto == 17) && hl >= 20 && len >= hl + 4)
		h = mix(h, ip + hl, 4);
	return h ? h : 1;
}

static bool flow_is_young(struct stealth_flows *f, const uint8_t *ip, size_t len)
{
	uint32_t h = flow_hash(f->seed, ip, len);
	unsigned slot = h % STEALTH_FLOWS;

	if (!h)
		return false;
	if (f->tag[slot] != h) {
		f->tag[slot] = h; /* a new flow, or one that took the slot over */
		f->sent[slot] = 0;
	}
	if (f->sent[slot] >= STEALTH_FLOW_FIRST)
		return false;
	f->sent[slot]++;
	return true;
}

size_t stealth_tx_target(struct stealth_tx *t, const uint8_t *inner, size_t inner_len, size_t outer)
{
	const struct stealth_buckets *b = &t->buckets;

	if (t->mode == STEALTH_MODE_MAXIMUM && b->n && outer <= b->size[b->n - 1] &&
	    flow_is_young(&t->flows, inner, inner_len))
		return b->size[b->n - 1];
	return stealth_bucket_fit(b, outer);
}

size_t stealth_pad(struct stealth_tx *t, uint8_t *pkt, size_t cap, size_t tags, size_t plain_len)
{
	size_t outer = STEALTH_HDR_LEN + plain_len + tags;
	size_t target = stealth_tx_target(t, pkt + STEALTH_HDR_LEN, plain_len, outer);

	if (target > cap)
		target = cap;
	if (target <= outer)
		return plain_len;
	memset(pkt + outer - tags, 0, target - outer);
	return plain_len + (target - outer);
}

size_t stealth_pad_max(struct stealth_tx *t, uint8_t *pkt, size_t cap, size_t tags,
		       size_t plain_len)
{
	size_t outer = STEALTH_HDR_LEN + plain_len + tags;
	size_t target = t->buckets.n ? t->buckets.size[t->buckets.n - 1] : outer;

	if (target > cap)
		target = cap;
	if (target <= outer)
		return plain_len;
	memset(pkt + outer - tags, 0, target - outer);
	return plain_len + (target - outer);
}

unsigned stealth_cover_due(uint64_t *credit, uint64_t rate, uint64_t elapsed_ns, size_t size,
			   unsigned max_packets)
{
	unsigned n = 0;
	uint64_t earned =
	    rate && elapsed_ns < UINT64_MAX / rate ? rate * elapsed_ns / 1000000000u : rate;

	if (!rate || !size)
		return 0;
	*credit += earned;
	if (*credit > rate + size)
		*credit = rate + size;
	while (*credit >= size && n < max_packets) {
		*credit -= size;
		n++;
	}
	return n;
}

/* ---- transport: header protection ---- */

static int xor_mask(struct mask_block *m, uint8_t *dst, const uint8_t *sample)
{
	uint8_t mask[MASK_BLOCK_LEN];
	int r = mask_block_encrypt(m, sample, mask);

	for (unsigned i = 0; i < 8 && r == 0; i++)
		dst[i] ^= mask[i];
	ct_wipe(mask, sizeof(mask));
	return r;
}

int stealth_tx_mask(struct stealth_tx *t, uint8_t *pkt, size_t len)
{
	const uint8_t *sample = pkt + STEALTH_HDR_LEN;
	int r;

	if (len < STEALTH_MIN_TRANSPORT)
		return -EINVAL;
	r = xor_mask(&t->hp, pkt, sample);
	if (r == 0)
		r = xor_mask(&t->dir, pkt + 8, sample);
	return r;
}

bool stealth_peek(struct stealth_ctx *c, const uint8_t *pkt, size_t len, uint8_t ret_hdr[static 8])
{
	if (len < STEALTH_MIN_TRANSPORT)
		return false;
	memcpy(ret_hdr, pkt, 8);
	if (xor_mask(&c->hp, ret_hdr, pkt + STEALTH_HDR_LEN) < 0)
		return false;
	return ret_hdr[0] == TYPE_TRANSPORT && !(ret_hdr[1] & ~FLAG_KEY_PHASE) && !ret_hdr[2] &&
	       !ret_hdr[3];
}

int stealth_rx_unmask(struct stealth_rx *r, uint8_t *pkt, size_t len, const uint8_t hdr[static 8])
{
	if (len < STEALTH_MIN_TRANSPORT)
		return -EINVAL;
	memcpy(pkt, hdr, 8);
	return xor_mask(&r->dir, pkt + 8, pkt + STEALTH_HDR_LEN);
}

/* ---- maximum: junk ---- */

unsigned stealth_junk_count(const struct rng *rng)
{
	uint32_t n;

	return uniform(rng, STEALTH_JUNK_COUNT, &n) == 0 ? 1 + n : 1;
}

size_t stealth_junk_len(const struct rng *rng)
{
	uint32_t n;

	if (uniform(rng, STEALTH_JUNK_MAX - STEALTH_JUNK_MIN + 1, &n) < 0)
		n = 0;
	return avoid_forbidden(STEALTH_JUNK_MIN + n, STEALTH_JUNK_MIN, STEALTH_JUNK_MAX);
}
