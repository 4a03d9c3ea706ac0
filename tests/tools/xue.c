/* Xue et al.'s flow-shape rules: see xue.h. */
#include "xue.h"

int xue_opcode_rule(const uint8_t *ops, size_t count, size_t n)
{
	uint8_t seen[256] = {0};
	size_t distinct = 0;

	if (n < 2 || count < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i >= 2 && (ops[i] == ops[0] || ops[i] == ops[1]))
			return 0;
		if (!seen[ops[i]]++)
			distinct++;
	}
	return distinct >= 4 && distinct <= 10;
}

int xue_ack_rule(const uint16_t *sizes, size_t count, size_t *early, size_t *late)
{
	*early = *late = 0;
	if (count < XUE_MAX_PACKETS)
		return -1;
	for (size_t i = 0; i < XUE_MAX_PACKETS; i++) {
		if (i == 2 || sizes[i] != sizes[2])
			continue;
		if (i < 30)
			(*early)++;
		else if (i >= 50)
			(*late)++;
	}
	return *early >= 3 && *late == 0;
}

int xue_https_like(const struct xue_bursts *b)
{
	/* RT < 2.5 <=> bursts < 5 */
	return b->n >= 1 && b->n < 5 && b->b[0] < 300;
}

int xue_tls_in_tls(const struct xue_bursts *b)
{
	return b->n >= 3 && b->b[0] >= 200 && b->b[0] <= 1000 && b->b[1] >= 1000 && b->b[2] <= 200;
}

/* One record header seen in direction dir. */
static void tls_record(struct xue_tls *t, int dir, uint8_t type)
{
	if (type < 0x14 || type > 0x17) {
		t->is_tls = -1;
		return;
	}
	t->is_tls = 1;
	if (dir == 0 && type == 0x14)
		t->ccs_seen = 1;
	else if (dir == 0 && t->ccs_seen && (type == 0x17 || type == 0x16))
		t->hs_done_pending =
		    1; /* the client's Finished: bursts start with the next packet */
}

static void tls_records(struct xue_tls *t, int dir, const uint8_t *p, size_t len)
{
	struct xue_tls_dir *d = &t->dir[dir];
	while (len > 0 && t->is_tls >= 0) {
		if (d->body_left) {
			size_t k = len < d->body_left ? len : d->body_left;
			d->body_left -= k;
			p += k;
			len -= k;
			continue;
		}
		d->hdr[d->hdr_have++] = *p++;
		len--;
		if (d->hdr_have == 5) {
			d->hdr_have = 0;
			d->body_left = (size_t)d->hdr[3] << 8 | d->hdr[4];
			tls_record(t, dir, d->hdr[0]);
		}
	}
}

static void tls_burst(struct xue_tls *t, int dir, size_t len)
{
	struct xue_bursts *b = &t->bursts;
	if (b->n == 0 && dir == 1)
		return; /* server records before the client's first (session tickets) */
	if (b->n == 0 || dir != t->last_dir) {
		b->n++;
		t->last_dir = dir;
	}
	if (b->n <= 4)
		b->b[b->n - 1] += len;
}

void xue_tls_feed(struct xue_tls *t, int dir, uint32_t seq, const uint8_t *p, size_t len)
{
	struct xue_tls_dir *d;

	dir = dir != 0;
	d = &t->dir[dir];
	if (len == 0 || t->is_tls < 0)
		return;
	if (d->started && (int32_t)(seq - d->next_seq) < 0)
		return; /* a retransmission */
	d->started = 1;
	d->next_seq = seq + (uint32_t)len;
	if (t->hs_done) {
		tls_burst(t, dir, len);
		return;
	}
	tls_records(t, dir, p, len);
	if (t->hs_done_pending)
		t->hs_done = 1;
}
