/* Transport seal/open (protocol/transport.c), run once per cipher mode:
 * ordering and replay, symmetric key updates under reordering, the limits of
 * a key (messages, time), nonce uniqueness across updates, forgeries and
 * malformed packets refused without any state change, padding, and that the
 * per-packet path allocates nothing.
 *
 * Packets are always opened from a copy (open works in place), so one sealed
 * packet can be replayed, flipped or truncated many times. The struct
 * transport fields are public, and some tests read or set them directly
 * (white box), e.g. to reach the AES-GCM packet limit without 2^24 packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hmac.h"
#include "protocol/transport.h"
#include "util/endian.h"

#define H	TRANSPORT_HEADER_LEN
#define PKT_CAP (H + 600 + CIPHER_MAX_OVERHEAD)
#define SEC	LL_NS_PER_S
#define T0	(UINT64_C(1000) * SEC)
#define W	((uint64_t)LL_REPLAY_WINDOW_BITS - 64)

static size_t alloc_count, free_count;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	alloc_count++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	alloc_count++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	free_count += p != NULL;
	free(p);
}

/* ---- harness ---- */

struct pkt {
	uint8_t b[PKT_CAP];
	size_t len;
	size_t plain_len; /* payload before padding */
};

static const uint8_t secret_ab[CIPHER_SECRET_LEN] = {0x11, 0x22, 0x33, [31] = 0x44};
static const uint8_t secret_ba[CIPHER_SECRET_LEN] = {0x55, 0x66, 0x77, [31] = 0x88};

enum { INDEX_A = 0x0a0a0a0a, INDEX_B = 0x0b0b0b0b };

static struct transport_limits limits_default(void)
{
	struct transport_limits l;
	transport_limits_default(&l);
	return l;
}

/* a is the initiator; b the responder; each side may get its own limits. */
static void pair_init(struct transport *a, struct transport *b, enum cipher_mode mode,
		      const struct transport_limits *la, const struct transport_limits *lb)
{
	struct transport_keys ka = {
	    .mode = mode, .initiator = true, .local_index = INDEX_A, .remote_index = INDEX_B};
	struct transport_keys kb = {
	    .mode = mode, .initiator = false, .local_index = INDEX_B, .remote_index = INDEX_A};
	memcpy(ka.send_secret, secret_ab, CIPHER_SECRET_LEN);
	memcpy(ka.recv_secret, secret_ba, CIPHER_SECRET_LEN);
	memcpy(kb.send_secret, secret_ba, CIPHER_SECRET_LEN);
	memcpy(kb.recv_secret, secret_ab, CIPHER_SECRET_LEN);
	assert_int_equal(transport_init(a, &ka, la, T0), 0);
	assert_int_equal(transport_init(b, &kb, lb, T0), 0);
}

static void pair_done(struct transport *a, struct transport *b)
{
	transport_done(a);
	transport_done(b);
}

static void fill_payload(uint8_t *p, size_t n, uint64_t counter)
{
	for (size_t j = 0; j < n; j++)
		p[j] = (uint8_t)(counter * 31 + j * 7 + 1);
}

static enum transport_result seal_pad(struct transport *t, struct pkt *p, size_t plain_len,
				      size_t pad_to, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	fill_payload(p->b + H, plain_len, t->tx.counter);
	p->plain_len = plain_len;
	return transport_seal(t, p->b, sizeof(p->b), plain_len, pad_to, &p->len, now);
}

static void seal_ok(struct transport *t, struct pkt *p, size_t plain_len, uint64_t now)
{
	assert_int_equal(seal_pad(t, p, plain_len, 1, now), TRANSPORT_OK);
}

/* Opens a copy of p; on success checks the payload and the zero padding. */
static enum transport_result open_copy(struct transport *t, const struct pkt *p, uint64_t now)
{
	struct pkt c = *p;
	uint8_t want[PKT_CAP];
	size_t plain = 0;
	enum transport_result r = transport_open(t, c.b, c.len, &plain, now);

	if (r != TRANSPORT_OK)
		return r;
	assert_int_equal(plain, p->len - H - cipher_overhead(t->rx.cur.mode));
	assert_true(plain >= p->plain_len);
	fill_payload(want, p->plain_len, le64_load(c.b + TRANSPORT_OFF_COUNTER));
	if (p->plain_len)
		assert_memory_equal(c.b + H, want, p->plain_len);
	for (size_t j = p->plain_len; j < plain; j++)
		assert_int_equal(c.b[H + j], 0);
	return r;
}

static uint8_t phase_of(const struct pkt *p)
{
	return p->b[1] & MSG_FLAG_KEY_PHASE;
}

static uint64_t counter_of(const struct pkt *p)
{
	return le64_load(p->b + TRANSPORT_OFF_COUNTER);
}

static enum cipher_mode mode_of(void **state)
{
	return *(const enum cipher_mode *)*state;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static struct pkt pk[1024];

/* ---- ordering and replay ---- */

static void test_in_order(void **state)
{
	struct transport a, b;
	pair_init(&a, &b, mode_of(state), NULL, NULL);
	for (size_t i = 0; i < 300; i++) {
		uint64_t now = T0 + i * 1000;
		seal_ok(&a, &pk[0], i % 500, now);
		assert_int_equal(counter_of(&pk[0]), i);
		assert_int_equal(le32_load(pk[0].b + TRANSPORT_OFF_RECEIVER), INDEX_B);
		assert_int_equal(open_copy(&b, &pk[0], now), TRANSPORT_OK);
		seal_ok(&b, &pk[1], (i * 7) % 500, now);
		assert_int_equal(le32_load(pk[1].b + TRANSPORT_OFF_RECEIVER), INDEX_A);
		assert_int_equal(open_copy(&a, &pk[1], now), TRANSPORT_OK);
	}
	/* a packet addressed to b does not open at a, and vice versa */
	assert_int_equal(open_copy(&a, &pk[0], T0), TRANSPORT_E_INDEX);
	pair_done(&a, &b);
}

static void test_reorder_and_duplicates(void **state)
{
	struct transport a, b;
	uint64_t rng = 42;
	size_t order[512];

	pair_init(&a, &b, mode_of(state), NULL, NULL);
	for (size_t i = 0; i < 512; i++) {
		seal_ok(&a, &pk[i], i % 64, T0);
		order[i] = i;
	}
	for (size_t i = 511; i > 0; i--) { /* Fisher-Yates */
		size_t j = splitmix(&rng) % (i + 1), t = order[i];
		order[i] = order[j], order[j] = t;
	}
	for (size_t i = 0; i < 512; i++) {
		assert_int_equal(open_copy(&b, &pk[order[i]], T0), TRANSPORT_OK);
		assert_int_equal(open_copy(&b, &pk[order[i]], T0), TRANSPORT_E_REPLAY);
	}
	for (size_t i = 0; i < 512; i++)
		assert_int_equal(open_copy(&b, &pk[i], T0), TRANSPORT_E_REPLAY);
	pair_done(&a, &b);
}

/* Window edge: with W + 1 the greatest counter seen, counter 1 (exactly W
 * below) still opens, counter 0 does not. */
static void test_too_old(void **state)
{
	struct transport a, b;
	pair_init(&a, &b, mode_of(state), NULL, NULL);
	seal_ok(&a, &pk[0], 10, T0);
	seal_ok(&a, &pk[1], 10, T0);
	while (a.tx.counter < W + 1)
		seal_ok(&a, &pk[2], 0, T0);
	seal_ok(&a, &pk[2], 10, T0);
	assert_int_equal(counter_of(&pk[2]), W + 1);
	assert_int_equal(open_copy(&b, &pk[2], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_E_REPLAY);
	assert_int_equal(open_copy(&b, &pk[1], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[1], T0), TRANSPORT_E_REPLAY);
	pair_done(&a, &b);
}

/* ---- key updates ---- */

/* 100-byte payloads with key_update_bytes = 400: key k seals packets
 * 4k..4k+3, with phase k mod 2. */
static void test_update_reorder(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();
	uint64_t t1 = T0 + SEC, keep = l.old_key_keep_ns;

	l.key_update_bytes = 400;
	pair_init(&a, &b, mode_of(state), &l, &l);
	for (size_t i = 0; i < 16; i++) {
		seal_ok(&a, &pk[i], 100, T0);
		assert_int_equal(phase_of(&pk[i]), (i / 4) % 2);
	}
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[1], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[2], T0), TRANSPORT_OK);
	/* key 1 arrives out of order, and before the last packet of key 0 */
	assert_int_equal(open_copy(&b, &pk[5], T0), TRANSPORT_OK);
	assert_int_equal(b.rx.phase, 1);
	assert_true(b.rx.has_prev);
	assert_int_equal(b.rx.cur_first, 5);
	assert_int_equal(open_copy(&b, &pk[4], T0), TRANSPORT_OK);
	assert_int_equal(b.rx.cur_first, 4);
	assert_int_equal(open_copy(&b, &pk[3], T0), TRANSPORT_OK); /* under prev */
	assert_int_equal(open_copy(&b, &pk[6], T0), TRANSPORT_OK);
	/* pk[7] (key 1) is held back; key 2 begins */
	assert_int_equal(open_copy(&b, &pk[8], T0), TRANSPORT_OK);
	assert_int_equal(b.rx.phase, 0);
	assert_int_equal(open_copy(&b, &pk[9], T0), TRANSPORT_OK);
	/* key 3 begins at t1: key 1 is dropped, key 2 kept until t1 + keep */
	assert_int_equal(open_copy(&b, &pk[12], t1), TRANSPORT_OK);
	assert_int_equal(b.rx.prev_expiry_ns, t1 + keep);
	assert_int_equal(open_copy(&b, &pk[7], t1), TRANSPORT_E_AUTH);
	assert_int_equal(open_copy(&b, &pk[10], t1 + keep - 1), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[11], t1 + keep), TRANSPORT_E_EXPIRED);
	assert_true(replay_is_new(&b.rx.replay, 11, l.reject_after_messages));
	assert_true(b.rx.has_prev); /* a refused packet changed nothing */
	assert_int_equal(open_copy(&b, &pk[13], t1 + keep), TRANSPORT_OK);
	assert_false(b.rx.has_prev); /* wiped once past its time */
	assert_int_equal(open_copy(&b, &pk[11], t1 + keep), TRANSPORT_E_EXPIRED);
	assert_int_equal(open_copy(&b, &pk[14], t1 + keep), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[15], t1 + keep), TRANSPORT_OK);
	pair_done(&a, &b);
}

/* Many consecutive updates, both directions, each new key's first packet
 * overtaking the old key's last one: 0, 2, 1, 4, 3, 6, 5, ... */
static void test_many_updates(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();
	enum { N = 400 };

	l.key_update_bytes = 100;
	pair_init(&a, &b, mode_of(state), &l, &l);
	for (size_t i = 0; i < N; i++) {
		seal_ok(&a, &pk[i], 50, T0);
		seal_ok(&b, &pk[N + i], 50, T0);
		assert_int_equal(phase_of(&pk[i]), (i / 2) % 2);
	}
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&a, &pk[N], T0), TRANSPORT_OK);
	for (size_t i = 2; i < N; i += 2) {
		assert_int_equal(open_copy(&b, &pk[i], T0), TRANSPORT_OK);
		assert_int_equal(open_copy(&b, &pk[i - 1], T0), TRANSPORT_OK);
		assert_int_equal(open_copy(&a, &pk[N + i], T0), TRANSPORT_OK);
		assert_int_equal(open_copy(&a, &pk[N + i - 1], T0), TRANSPORT_OK);
	}
	assert_int_equal(open_copy(&b, &pk[N - 1], T0), TRANSPORT_OK);
	assert_int_equal(b.rx.phase, a.tx.phase);
	assert_memory_equal(b.rx.cur_secret, a.tx.secret, CIPHER_SECRET_LEN);
	assert_memory_equal(a.rx.cur_secret, b.tx.secret, CIPHER_SECRET_LEN);
	pair_done(&a, &b);
}

/* The chain is the one docs/protocol.md gives: next = HKDF-Expand(secret,
 * "lostlove key update", 32), computed here independently. */
static void test_update_chain(void **state)
{
	static const char label[] = "lostlove key update";
	struct transport a, b;
	struct transport_limits l = limits_default();
	uint8_t s[CIPHER_SECRET_LEN];

	l.key_update_bytes = 1;
	pair_init(&a, &b, mode_of(state), &l, &l);
	memcpy(s, secret_ab, sizeof(s));
	for (int i = 0; i < 5; i++) {
		seal_ok(&a, &pk[0], 1, T0);
		assert_memory_equal(a.tx.secret, s, sizeof(s));
		assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
		assert_int_equal(hkdf_sha256_expand(s, sizeof(s), a.tx.secret,
						    (const uint8_t *)label, sizeof(label) - 1),
				 0);
	}
	pair_done(&a, &b);
}

/* AES-GCM modes update after LL_AESGCM_UPDATE_MESSAGES packets under one
 * key whatever the byte limit; ChaCha20-Poly1305 alone does not. */
static void test_aesgcm_packet_limit(void **state)
{
	struct transport a, b;
	enum cipher_mode mode = mode_of(state);
	bool aes = mode != CIPHER_CHACHAPOLY;

	pair_init(&a, &b, mode, NULL, NULL);
	a.tx.packets_in_key = LL_AESGCM_UPDATE_MESSAGES - 1;
	seal_ok(&a, &pk[0], 20, T0);
	seal_ok(&a, &pk[1], 20, T0);
	assert_int_equal(phase_of(&pk[0]), 0);
	assert_int_equal(phase_of(&pk[1]), aes ? 1 : 0);
	assert_int_equal(a.tx.packets_in_key, aes ? 1 : LL_AESGCM_UPDATE_MESSAGES + 1);
	assert_int_equal(open_copy(&b, &pk[1], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	pair_done(&a, &b);
}

/* ---- limits of a key ---- */

static void test_exhaustion(void **state)
{
	struct transport a, b;
	struct transport_limits la = limits_default(), lb = limits_default();
	size_t len = 0;

	la.reject_after_messages = 5;
	lb.reject_after_messages = 3;
	pair_init(&a, &b, mode_of(state), &la, &lb);
	for (size_t i = 0; i < 5; i++)
		seal_ok(&a, &pk[i], 8, T0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(seal_pad(&a, &pk[5], 8, 1, T0), TRANSPORT_E_EXHAUSTED);
		assert_int_equal(a.tx.counter, 5);
	}
	assert_int_equal(transport_seal(&a, pk[5].b, 0, 0, 1, &len, T0), TRANSPORT_E_EXHAUSTED);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(open_copy(&b, &pk[i], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[3], T0), TRANSPORT_E_EXHAUSTED);
	assert_int_equal(open_copy(&b, &pk[4], T0), TRANSPORT_E_EXHAUSTED);
	pair_done(&a, &b);

	/* at the default limit the last counter is usable, then nothing */
	pair_init(&a, &b, mode_of(state), NULL, NULL);
	a.tx.counter = LL_REJECT_AFTER_MESSAGES - 1;
	assert_int_equal(seal_pad(&a, &pk[0], 8, 1, T0), TRANSPORT_OK_REKEY);
	assert_int_equal(seal_pad(&a, &pk[1], 8, 1, T0), TRANSPORT_E_EXHAUSTED);
	assert_int_equal(a.tx.counter, LL_REJECT_AFTER_MESSAGES);
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	pair_done(&a, &b);
}

static void test_limits_refused(void **state)
{
	struct transport t;
	struct transport_limits l = limits_default();
	struct transport_keys k = {.mode = mode_of(state)};

	l.reject_after_messages = LL_REJECT_AFTER_MESSAGES + 1;
	assert_int_equal(transport_init(&t, &k, &l, T0), -EINVAL);
	transport_done(&t);
	l = limits_default();
	l.reject_after_messages = 0;
	assert_int_equal(transport_init(&t, &k, &l, T0), -EINVAL);
	l = limits_default();
	l.reject_after_ns = 0;
	assert_int_equal(transport_init(&t, &k, &l, T0), -EINVAL);
	k.mode = (enum cipher_mode)0;
	assert_int_equal(transport_init(&t, &k, NULL, T0), -EINVAL);
	k.mode = (enum cipher_mode)4;
	assert_int_equal(transport_init(&t, &k, NULL, T0), -EINVAL);
	transport_done(&t);
	transport_done(NULL);
	memset(&t, 0, sizeof(t));
	transport_done(&t);
}

/* Both sides get the signal; only the initiator is meant to act on it. */
static void test_rekey_signal(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();

	l.rekey_after_messages = 3;
	l.rekey_after_ns = 10 * SEC;
	pair_init(&a, &b, mode_of(state), &l, &l);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(seal_pad(&a, &pk[0], 8, 1, T0), TRANSPORT_OK);
		assert_int_equal(seal_pad(&b, &pk[0], 8, 1, T0 + 10 * SEC - 1), TRANSPORT_OK);
	}
	assert_int_equal(seal_pad(&a, &pk[0], 8, 1, T0), TRANSPORT_OK_REKEY);
	assert_int_equal(seal_pad(&a, &pk[1], 8, 1, T0), TRANSPORT_OK_REKEY);
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	pair_done(&a, &b);

	l.rekey_after_messages = LL_REKEY_AFTER_MESSAGES;
	pair_init(&a, &b, mode_of(state), &l, &l);
	assert_int_equal(seal_pad(&a, &pk[0], 8, 1, T0 + 10 * SEC - 1), TRANSPORT_OK);
	assert_int_equal(seal_pad(&a, &pk[0], 8, 1, T0 + 10 * SEC), TRANSPORT_OK_REKEY);
	assert_int_equal(seal_pad(&b, &pk[1], 8, 1, T0 + 10 * SEC), TRANSPORT_OK_REKEY);
	assert_int_equal(open_copy(&b, &pk[0], T0 + 11 * SEC), TRANSPORT_OK);
	pair_done(&a, &b);
}

static void test_reject_after_time(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();
	uint64_t reject = T0 + l.reject_after_ns;

	pair_init(&a, &b, mode_of(state), &l, &l);
	assert_int_equal(seal_pad(&a, &pk[0], 8, 1, reject - 1), TRANSPORT_OK_REKEY);
	assert_int_equal(seal_pad(&a, &pk[1], 8, 1, reject - 1), TRANSPORT_OK_REKEY);
	assert_int_equal(seal_pad(&a, &pk[2], 8, 1, reject), TRANSPORT_E_EXPIRED);
	assert_int_equal(seal_pad(&a, &pk[2], 8, 1, UINT64_MAX), TRANSPORT_E_EXPIRED);
	assert_int_equal(a.tx.counter, 2);
	assert_int_equal(open_copy(&b, &pk[0], reject - 1), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[1], reject), TRANSPORT_E_EXPIRED);
	assert_true(replay_is_new(&b.rx.replay, 1, l.reject_after_messages));
	/* a clock before the handshake (not monotonic) counts as age 0 */
	assert_int_equal(seal_pad(&a, &pk[2], 8, 1, 0), TRANSPORT_OK);
	pair_done(&a, &b);
}

/* ---- nonce uniqueness ---- */

struct use {
	uint8_t secret[CIPHER_SECRET_LEN];
	uint64_t counter;
};

static int use_cmp(const void *x, const void *y)
{
	const struct use *a = x, *b = y;
	int c = memcmp(a->secret, b->secret, CIPHER_SECRET_LEN);
	if (c)
		return c;
	return (a->counter > b->counter) - (a->counter < b->counter);
}

/* Every sealed (secret, counter) pair is recorded across many updates and
 * refused seals (no room, exhausted): no pair repeats, and the counters on
 * the wire only grow. */
static void test_nonce_unique(void **state)
{
	enum { ATTEMPTS = 8000, LIMIT = 5000 };
	struct transport a, b;
	struct transport_limits l = limits_default();
	struct use *uses = calloc(LIMIT, sizeof(*uses));
	uint64_t rng = 7, last = 0;
	size_t n = 0, updates = 0;

	assert_non_null(uses);
	l.key_update_bytes = 700;
	l.reject_after_messages = LIMIT;
	pair_init(&a, &b, mode_of(state), &l, &l);
	for (size_t i = 0; i < ATTEMPTS; i++) {
		uint64_t x = splitmix(&rng);
		size_t plain = x % 200, pad = 1 + (x >> 8) % 64, cap = sizeof(pk[0].b), len = 0;
		uint8_t phase = a.tx.phase;
		if ((x >> 20) % 8 == 0)
			cap = H + plain + cipher_overhead(mode_of(state)) - 1; /* no room */
		fill_payload(pk[0].b + H, plain, i);
		enum transport_result r = transport_seal(&a, pk[0].b, cap, plain, pad, &len, T0);
		if (r != TRANSPORT_OK) {
			assert_true(r == TRANSPORT_E_SPACE || r == TRANSPORT_E_EXHAUSTED);
			continue;
		}
		updates += a.tx.phase != phase;
		assert_int_equal(phase_of(&pk[0]), a.tx.phase);
		assert_true(n == 0 || counter_of(&pk[0]) > last);
		last = counter_of(&pk[0]);
		memcpy(uses[n].secret, a.tx.secret, CIPHER_SECRET_LEN);
		uses[n++].counter = last;
	}
	assert_int_equal(n, LIMIT);
	assert_int_equal(a.tx.counter, LIMIT);
	assert_true(updates > 100);
	qsort(uses, n, sizeof(*uses), use_cmp);
	for (size_t i = 1; i < n; i++)
		assert_int_not_equal(use_cmp(&uses[i - 1], &uses[i]), 0);
	free(uses);
	pair_done(&a, &b);
}

/* ---- forgeries and malformed packets ---- */

/* Opens every single-byte modification of p (each position, each nonzero
 * xor) and requires a refusal that leaves t exactly as it was. */
static void flips_refused(struct transport *t, const struct pkt *p)
{
	static struct transport snap;
	memcpy(&snap, t, sizeof(snap));
	for (size_t i = 0; i < p->len; i++) {
		for (unsigned x = 1; x < 256; x++) {
			struct pkt c = *p;
			c.b[i] ^= (uint8_t)x;
			enum transport_result r = open_copy(t, &c, T0);
			if (r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY)
				fail_msg("byte %zu ^ %#x opened", i, x);
		}
		assert_memory_equal(t, &snap, sizeof(snap));
	}
}

/* The good packet still opens after the flips, and the replay window moved
 * by exactly that one counter. */
static void opens_after(struct transport *t, const struct pkt *p)
{
	struct replay want = t->rx.replay;
	assert_true(replay_check(&want, counter_of(p), t->limits.reject_after_messages));
	assert_int_equal(open_copy(t, p, T0), TRANSPORT_OK);
	assert_memory_equal(&t->rx.replay, &want, sizeof(want));
}

/* b holds a previous, a current and a next key; flipped packets for each
 * (pk[2] under prev, pk[5] under cur, pk[8] under next) are refused. */
static void test_flips_refused(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();

	l.key_update_bytes = 16;
	pair_init(&a, &b, mode_of(state), &l, &l);
	for (size_t i = 0; i < 12; i++)
		seal_ok(&a, &pk[i], 4, T0); /* key k: packets 4k..4k+3 */
	assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	assert_int_equal(open_copy(&b, &pk[4], T0), TRANSPORT_OK);
	assert_true(b.rx.has_prev);
	flips_refused(&b, &pk[2]);
	flips_refused(&b, &pk[5]);
	flips_refused(&b, &pk[8]);
	opens_after(&b, &pk[2]);
	opens_after(&b, &pk[5]);
	opens_after(&b, &pk[8]);
	assert_int_equal(b.rx.phase, 0); /* pk[8] moved b to key 2 */
	pair_done(&a, &b);
}

static void test_header_fields(void **state)
{
	struct transport a, b;
	static struct transport snap;
	struct {
		size_t off;
		uint8_t val;
		enum transport_result want;
	} cases[] = {
	    {0, MSG_HANDSHAKE_INIT, TRANSPORT_E_MALFORMED},
	    {0, MSG_COOKIE_REPLY, TRANSPORT_E_MALFORMED},
	    {0, 5, TRANSPORT_E_MALFORMED},
	    {0, 0x84, TRANSPORT_E_MALFORMED},
	    {1, 0x02, TRANSPORT_E_MALFORMED},
	    {1, 0x80, TRANSPORT_E_MALFORMED},
	    {1, 0x01, TRANSPORT_E_AUTH}, /* the phase bit is authenticated */
	    {2, 0x01, TRANSPORT_E_MALFORMED},
	    {3, 0x80, TRANSPORT_E_MALFORMED},
	    {4, 0x01, TRANSPORT_E_INDEX},
	    {7, 0x01, TRANSPORT_E_INDEX},
	    {8, 0x01, TRANSPORT_E_AUTH},
	    {15, 0x80, TRANSPORT_E_AUTH}, /* the counter is authenticated */
	};

	pair_init(&a, &b, mode_of(state), NULL, NULL);
	seal_ok(&a, &pk[0], 30, T0);
	memcpy(&snap, &b, sizeof(snap));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt c = pk[0];
		c.b[cases[i].off] ^= cases[i].val;
		enum transport_result r = open_copy(&b, &c, T0);
		if (r != cases[i].want)
			fail_msg("case %zu: %s, want %s", i + 1, transport_result_name(r),
				 transport_result_name(cases[i].want));
		assert_memory_equal(&b, &snap, sizeof(snap));
	}
	/* a counter at or past the limit is refused before any decryption */
	struct pkt c = pk[0];
	memset(c.b + TRANSPORT_OFF_COUNTER, 0xff, 8);
	assert_int_equal(open_copy(&b, &c, T0), TRANSPORT_E_EXHAUSTED);
	assert_memory_equal(&b, &snap, sizeof(snap));
	opens_after(&b, &pk[0]);
	pair_done(&a, &b);
}

static void test_truncated(void **state)
{
	struct transport a, b;
	static struct transport snap;
	size_t min = H + cipher_overhead(mode_of(state));

	pair_init(&a, &b, mode_of(state), NULL, NULL);
	seal_ok(&a, &pk[0], 40, T0);
	memcpy(&snap, &b, sizeof(snap));
	for (size_t len = 0; len < pk[0].len; len++) {
		struct pkt c = pk[0];
		size_t plain = 77;
		c.len = len;
		enum transport_result r = transport_open(&b, c.b, len, &plain, T0);
		assert_int_equal(r, len < min ? TRANSPORT_E_MALFORMED : TRANSPORT_E_AUTH);
		assert_int_equal(plain, 77);
		assert_memory_equal(&b, &snap, sizeof(snap));
	}
	/* one byte too many is a forgery as well */
	struct pkt c = pk[0];
	c.len++;
	assert_int_equal(open_copy(&b, &c, T0), TRANSPORT_E_AUTH);
	opens_after(&b, &pk[0]);
	pair_done(&a, &b);
}

/* ---- padding and buffer space ---- */

static void test_padding(void **state)
{
	struct transport a, b;
	size_t o = cipher_overhead(mode_of(state)), len, room = PKT_CAP - H - o;
	struct {
		size_t cap, plain, pad_to;
		bool space;    /* TRANSPORT_E_SPACE expected */
		size_t padded; /* plaintext length on the wire otherwise */
	} cases[] = {
	    /*  1 */ {PKT_CAP, 0, 1, false, 0},
	    /*  2 */ {PKT_CAP, 0, 16, false, 0},
	    /*  3 */ {PKT_CAP, 5, 0, false, 5},
	    /*  4 */ {PKT_CAP, 5, 1, false, 5},
	    /*  5 */ {PKT_CAP, 5, 16, false, 16},
	    /*  6 */ {PKT_CAP, 16, 16, false, 16},
	    /*  7 */ {PKT_CAP, 17, 16, false, 32},
	    /*  8 */ {PKT_CAP, 100, 256, false, 256},
	    /*  9 */ {H + 20 + o, 5, 64, false, 20},  /* clamped to the room there is */
	    /* 10 */ {H + 20 + o, 20, 64, false, 20}, /* exactly full */
	    /* 11 */ {H + 19 + o, 20, 1, true, 0},    /* one byte short */
	    /* 12 */ {H + o, 0, 16, false, 0},	      /* a keepalive just fits */
	    /* 13 */ {H + o - 1, 0, 1, true, 0},
	    /* 14 */ {0, 0, 1, true, 0},
	    /* 15 */ {PKT_CAP, SIZE_MAX - 8, 16, true, 0},
	    /* 16 */ {PKT_CAP, 10, SIZE_MAX, false, room},
	    /* 17 */ {PKT_CAP, room, 7, false, room},
	    /* 18 */ {PKT_CAP, room + 1, 1, true, 0},
	};

	pair_init(&a, &b, mode_of(state), NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = a.tx.counter;
		size_t plain = cases[i].plain <= room ? cases[i].plain : 0;
		memset(pk[0].b, 0xee, sizeof(pk[0].b)); /* padding must overwrite this */
		fill_payload(pk[0].b + H, plain, a.tx.counter);
		pk[0].plain_len = plain;
		enum transport_result r = transport_seal(&a, pk[0].b, cases[i].cap, cases[i].plain,
							 cases[i].pad_to, &len, T0);
		if (r != (cases[i].space ? TRANSPORT_E_SPACE : TRANSPORT_OK))
			fail_msg("padding case %zu: %s", i + 1, transport_result_name(r));
		if (cases[i].space) {
			assert_int_equal(a.tx.counter, before); /* nothing consumed */
			continue;
		}
		assert_int_equal(len, H + cases[i].padded + o);
		pk[0].len = len;
		assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	}
	pair_done(&a, &b);
}

/* docs/protocol.md §10: with the server's default MTU for the mode (1420,
 * 1404 for the cascade), every inner length 1..MTU gives an outer IPv6
 * datagram of at most 1500 bytes: padding stops at the MTU. Below it,
 * plaintexts are still padded to 16 where the MTU leaves room; a packet
 * over the MTU (a CONFIG needs none, but a peer's may) is not padded. */
static void test_pad_cap(void **state)
{
	enum cipher_mode mode = mode_of(state);
	size_t mtu = mode == CIPHER_CASCADE ? 1404 : 1420, o = cipher_overhead(mode);
	static uint8_t buf[2048];
	struct transport a, b;
	size_t len, plain, padded;

	pair_init(&a, &b, mode, NULL, NULL);
	for (size_t inner = 1; inner <= mtu + 40; inner++) {
		size_t cap = transport_pad_cap(&a, sizeof(buf), inner, mtu);
		memset(buf + H, 0x45, inner);
		assert_int_equal(transport_seal(&a, buf, cap, inner, 16, &len, T0), TRANSPORT_OK);
		padded = len - H - o;
		if (inner <= mtu) {
			assert_true(len + 8 + 40 <= 1500);
			assert_true(padded == mtu || padded % 16 == 0);
			assert_true(padded >= inner && padded - inner < 16);
		} else {
			assert_int_equal(padded, inner);
		}
		assert_int_equal(transport_open(&b, buf, len, &plain, T0), TRANSPORT_OK);
	}
	/* mtu 0: only the buffer limits */
	assert_int_equal(transport_pad_cap(&a, 777, 5, 0), 777);
	pair_done(&a, &b);
}

/* ---- allocation ---- */

/* After transport_init, sealing and opening (good, replayed, forged)
 * allocate nothing. */
static void test_no_allocation(void **state)
{
	struct transport a, b;
	pair_init(&a, &b, mode_of(state), NULL, NULL);
	size_t before = alloc_count;
	for (size_t i = 0; i < 2000; i++) {
		seal_ok(&a, &pk[0], i % 500, T0);
		assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
		assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_E_REPLAY);
		seal_ok(&b, &pk[1], 64, T0);
		pk[1].b[H + 3] ^= 1;
		assert_int_equal(open_copy(&a, &pk[1], T0), TRANSPORT_E_AUTH);
	}
	assert_int_equal(alloc_count - before, 0);
	pair_done(&a, &b);

	/* the counter does see OpenSSL's allocations (the check can fail) */
	before = alloc_count;
	pair_init(&a, &b, mode_of(state), NULL, NULL);
	assert_true(alloc_count > before);
	pair_done(&a, &b);
}

/* Key updates re-key the ciphers in place: whatever they allocate
 * temporarily is freed before seal/open return.
 * TODO: assert zero allocations here as well once crypto/hmac.c keeps a
 * preallocated digest context: today each HKDF-Expand (the chain step and
 * cipher_rekey's subkeys) creates and frees an EVP_MD_CTX. */
static void test_update_allocation(void **state)
{
	struct transport a, b;
	struct transport_limits l = limits_default();

	l.key_update_bytes = 1;
	pair_init(&a, &b, mode_of(state), &l, &l);
	size_t allocs = alloc_count, frees = free_count;
	for (size_t i = 0; i < 50; i++) {
		seal_ok(&a, &pk[0], 10, T0);
		assert_int_equal(open_copy(&b, &pk[0], T0), TRANSPORT_OK);
	}
	assert_int_equal(alloc_count - allocs, free_count - frees);
	pair_done(&a, &b);
}

static void test_result_names(void **state)
{
	(void)state;
	for (int r = TRANSPORT_OK; r <= TRANSPORT_E_INTERNAL; r++) {
		const char *name = transport_result_name((enum transport_result)r);
		assert_non_null(name);
		assert_string_not_equal(name, "unknown");
	}
	assert_string_equal(transport_result_name((enum transport_result)99), "unknown");
	assert_string_equal(transport_result_name((enum transport_result) - 1), "unknown");
}

/* ---- registration: every test once per mode ---- */

static const enum cipher_mode modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY, CIPHER_CASCADE};

static const struct {
	const char *name;
	CMUnitTestFunction fn;
} per_mode[] = {
    {"in_order", test_in_order},
    {"reorder_and_duplicates", test_reorder_and_duplicates},
    {"too_old", test_too_old},
    {"update_reorder", test_update_reorder},
    {"many_updates", test_many_updates},
    {"update_chain", test_update_chain},
    {"aesgcm_packet_limit", test_aesgcm_packet_limit},
    {"exhaustion", test_exhaustion},
    {"limits_refused", test_limits_refused},
    {"rekey_signal", test_rekey_signal},
    {"reject_after_time", test_reject_after_time},
    {"nonce_unique", test_nonce_unique},
    {"flips_refused", test_flips_refused},
    {"header_fields", test_header_fields},
    {"truncated", test_truncated},
    {"padding", test_padding},
    {"pad_cap", test_pad_cap},
    {"no_allocation", test_no_allocation},
    {"update_allocation", test_update_allocation},
};

enum { N_MODES = 3, N_PER_MODE = sizeof(per_mode) / sizeof(per_mode[0]) };

int main(void)
{
	static char names[N_MODES * N_PER_MODE][64];
	static struct CMUnitTest tests[N_MODES * N_PER_MODE + 1];
	size_t n = 0;

	/* before any OpenSSL call, or OpenSSL refuses the hooks */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL allocated earlier\n");
		return 1;
	}
	for (size_t m = 0; m < N_MODES; m++) {
		for (size_t i = 0; i < N_PER_MODE; i++, n++) {
			snprintf(names[n], sizeof(names[n]), "%s/%s", per_mode[i].name,
				 cipher_mode_name(modes[m]));
			tests[n] = (struct CMUnitTest){.name = names[n],
						       .test_func = per_mode[i].fn,
						       .initial_state = (void *)&modes[m]};
		}
	}
	tests[n++] = (struct CMUnitTest){.name = "result_names", .test_func = test_result_names};
	return _cmocka_run_group_tests("transport", tests, n, NULL, NULL);
}
