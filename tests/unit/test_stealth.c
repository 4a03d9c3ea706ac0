/* UDP stealth framing (obfuscation/stealth.c, docs/protocol.md §12):
 * round trips of both framings, the uniformity of every masked byte
 * position, the sizes no mode ever produces (exhaustively over inner
 * sizes, modes and ciphers), hostile input (short, truncated, random,
 * plain-format) refused without reading out of bounds, and a header
 * unmasked with another session's key failing to open.
 *
 * Randomness is the deterministic generator of crypto/rng.h, so every
 * run sees the same bytes and the statistical bounds cannot flake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obfuscation/stealth.h"
#include "protocol/messages.h"
#include "protocol/transport.h"
#include "testutil.h"
#include "util/endian.h"
#include "util/hex.h"

#define H     TRANSPORT_HEADER_LEN
#define CAP   (H + 9000 + 15 + CIPHER_MAX_OVERHEAD)
#define NSAMP 2048

static const uint8_t server_pub[32] = {0x5e, 0x12, [31] = 0x77};
static const uint8_t secret_ab[32] = {0x11, 0x22, 0x33, [31] = 0x44};
static const uint8_t secret_ba[32] = {0x55, 0x66, 0x77, [31] = 0x88};
static const uint8_t secret_other[32] = {0x99, [31] = 0x01};

static struct rng_det det;
static struct rng rng;

static void rng_seed(uint8_t b)
{
	uint8_t seed[32];

	memset(seed, b, sizeof(seed));
	rng_det_init(&det, seed);
	rng = rng_det_as_rng(&det);
}

static struct stealth_keys keys(void)
{
	struct stealth_keys k;

	assert_int_equal(stealth_keys_derive(&k, server_pub), 0);
	return k;
}

static void ctx_init(struct stealth_ctx *c)
{
	struct stealth_keys k = keys();

	assert_int_equal(stealth_ctx_init(c, &k), 0);
}

/* ---- handshake class ---- */

static void test_hs_round_trip(void **state)
{
	static const size_t lens[] = {1, 52, 93, 148, 200, 1255, 1348};
	struct stealth_ctx c;
	uint8_t msg[1400], wire[1600];
	size_t got;

	(void)state;
	rng_seed(1);
	ctx_init(&c);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], len = stealth_hs_wire_len(&rng, n, n + 18 + 127);

		for (size_t j = 0; j < n; j++)
			msg[j] = (uint8_t)(j * 13 + i);
		assert_true(len >= n + 18 && len <= n + 18 + 127);
		assert_int_equal(stealth_hs_wrap(&c, &rng, msg, n, wire, len), 0);
		assert_memory_not_equal(wire + 18, msg, n < 16 ? n : 16); /* masked */
		assert_int_equal(stealth_hs_unwrap(&c, wire, len, &got), 0);
		assert_int_equal(got, n);
		assert_memory_equal(wire + 18, msg, n);
	}
	/* another server's key reads noise */
	{
		struct stealth_ctx other;
		struct stealth_keys k;
		uint8_t pub2[32] = {1};
		size_t len = stealth_hs_wire_len(&rng, 148, 148 + 18);

		memset(msg, 0, 148);
		msg[0] = MSG_HANDSHAKE_INIT;
		assert_int_equal(stealth_keys_derive(&k, pub2), 0);
		assert_int_equal(stealth_ctx_init(&other, &k), 0);
		assert_int_equal(stealth_hs_wrap(&c, &rng, msg, 148, wire, len), 0);
		assert_false(stealth_hs_unwrap(&other, wire, len, &got) == 0 && got == 148 &&
			     wire[18] == MSG_HANDSHAKE_INIT);
		stealth_ctx_done(&other);
	}
	stealth_ctx_done(&c);
}

/* A message 1 with ML-KEM stays within a 1500-byte IPv6 path; a
 * classical one gets the whole padding range. */
static void test_hs_own_limit(void **state)
{
	(void)state;
	rng_seed(16);
	assert_int_equal(stealth_hs_own_limit(INIT_LEN_KEM), 1452);
	assert_int_equal(stealth_hs_own_limit(INIT_LEN_CLASSIC), 148 + 18 + 127);
	for (int i = 0; i < 2000; i++) {
		size_t len =
		    stealth_hs_wire_len(&rng, INIT_LEN_KEM, stealth_hs_own_limit(INIT_LEN_KEM));

		assert_true(len >= 1366 && len <= 1452);
	}
}

/* Messages answered never outgrow the datagram they answer. */
static void test_hs_no_amplification(void **state)
{
	(void)state;
	rng_seed(2);
	for (size_t recv = 166; recv < 400; recv++)
		for (int k = 0; k < 20; k++) {
			size_t cookie = stealth_hs_wire_len(&rng, COOKIE_REPLY_LEN, recv);
			size_t resp = stealth_hs_wire_len(&rng, 148, recv);

			assert_true(cookie >= 70 && cookie <= recv);
			assert_true(resp >= 166 && resp <= recv);
		}
	/* nothing fits under a datagram shorter than the message */
	assert_int_equal(stealth_hs_wire_len(&rng, 148, 165), 0);
}

/* ---- transport ---- */

struct pair {
	struct transport a, b;
	struct stealth_tx atx;
	struct stealth_rx brx;
	struct stealth_ctx ctx; /* the receiver's */
};

static void pair_init(struct pair *p, enum cipher_mode mode, enum stealth_mode sm,
		      const uint8_t *rx_secret)
{
	struct transport_keys ka = {
	    .mode = mode, .initiator = true, .local_index = 0x0a0a0a0a, .remote_index = 0x0b0b0b0b};
	struct transport_keys kb = {.mode = mode,
				    .initiator = false,
				    .local_index = 0x0b0b0b0b,
				    .remote_index = 0x0a0a0a0a};
	struct stealth_keys k = keys();
	size_t tags = cipher_overhead(mode);

	memcpy(ka.send_secret, secret_ab, 32);
	memcpy(ka.recv_secret, secret_ba, 32);
	memcpy(kb.send_secret, secret_ba, 32);
	memcpy(kb.recv_secret, secret_ab, 32);
	assert_int_equal(transport_init(&p->a, &ka, NULL, 1), 0);
	assert_int_equal(transport_init(&p->b, &kb, NULL, 1), 0);
	assert_int_equal(
	    stealth_tx_init(&p->atx, sm, &k, secret_ab, H + tags, H + 1420 + tags, &rng), 0);
	assert_int_equal(stealth_rx_init(&p->brx, rx_secret), 0);
	assert_int_equal(stealth_ctx_init(&p->ctx, &k), 0);
}

static void pair_done(struct pair *p)
{
	transport_done(&p->a);
	transport_done(&p->b);
	stealth_tx_done(&p->atx);
	stealth_rx_done(&p->brx);
	stealth_ctx_done(&p->ctx);
}

/* Seals plain_len bytes (a pattern) from a to b the way session_seal does. */
static size_t seal_masked(struct pair *p, uint8_t *pkt, size_t plain_len)
{
	size_t tags = cipher_overhead(p->a.tx.cipher.mode), len, padded;

	memset(pkt, 0, H);
	for (size_t i = 0; i < plain_len; i++)
		pkt[H + i] = (uint8_t)(0x45 + i);
	padded = stealth_pad(&p->atx, pkt, CAP, tags, plain_len);
	assert_int_equal(transport_seal(&p->a, pkt, CAP, padded, 1, &len, 1), TRANSPORT_OK);
	assert_int_equal(stealth_tx_mask(&p->atx, pkt, len), 0);
	return len;
}

static enum transport_result open_masked(struct pair *p, uint8_t *pkt, size_t len)
{
	uint8_t hdr[8];
	size_t plain;

	if (!stealth_peek(&p->ctx, pkt, len, hdr))
		return TRANSPORT_E_MALFORMED;
	assert_int_equal(le32_load(hdr + 4), 0x0b0b0b0b);
	assert_int_equal(stealth_rx_unmask(&p->brx, pkt, len, hdr), 0);
	return transport_open(&p->b, pkt, len, &plain, 1);
}

static void test_transport_round_trip(void **state)
{
	static const enum cipher_mode modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY,
						 CIPHER_CASCADE};
	uint8_t *pkt = malloc(CAP);

	(void)state;
	rng_seed(3);
	for (size_t m = 0; m < 3; m++) {
		struct pair p;

		pair_init(&p, modes[m], STEALTH_MODE_STANDARD, secret_ab);
		for (size_t n = 0; n <= 1420; n += 37) {
			size_t len = seal_masked(&p, pkt, n);

			assert_true(len <= H + 1420 + cipher_overhead(modes[m]));
			assert_int_equal(open_masked(&p, pkt, len), TRANSPORT_OK);
		}
		pair_done(&p);
	}
	free(pkt);
}

/* The counter is masked with the session direction's own key: unmasked
 * with another session's, the packet does not open. */
static void test_wrong_session_key(void **state)
{
	uint8_t *pkt = malloc(CAP);
	struct pair p;

	(void)state;
	rng_seed(4);
	pair_init(&p, CIPHER_CHACHAPOLY, STEALTH_MODE_STANDARD, secret_other);
	for (int i = 0; i < 50; i++) {
		size_t len = seal_masked(&p, pkt, 100);
		enum transport_result r = open_masked(&p, pkt, len);

		assert_true(r == TRANSPORT_E_AUTH || r == TRANSPORT_E_REPLAY ||
			    r == TRANSPORT_E_EXHAUSTED);
	}
	pair_done(&p);
	free(pkt);
}

/* A chi-square statistic of 256 bins over NSAMP samples: for uniform
 * bytes its mean is 255 and its standard deviation about 22.6; a fixed
 * byte gives 255 * NSAMP. */
static double chi2(const unsigned *bins)
{
	double e = NSAMP / 256.0, x = 0;

	for (int i = 0; i < 256; i++)
		x += (bins[i] - e) * (bins[i] - e) / e;
	return x;
}

#define CHI2_MAX 400.0 /* mean + 6.4 sd */

static void test_transport_bytes_uniform(void **state)
{
	static unsigned bins[H + 16][256];
	uint8_t *pkt = malloc(CAP);
	struct pair p;

	(void)state;
	rng_seed(5);
	memset(bins, 0, sizeof(bins));
	pair_init(&p, CIPHER_AES256GCM, STEALTH_MODE_STANDARD, secret_ab);
	for (int i = 0; i < NSAMP; i++) {
		size_t len = seal_masked(&p, pkt, 40); /* the same plaintext every time */

		for (size_t j = 0; j < H + 16 && j < len; j++)
			bins[j][pkt[j]]++;
	}
	for (size_t j = 0; j < H + 16; j++) {
		double x = chi2(bins[j]);

		if (x > CHI2_MAX)
			fail_msg(
			    "byte %zu of the masked transport packets is not uniform: chi2 %.1f", j,
			    x);
	}
	pair_done(&p);
	free(pkt);
}

static void test_hs_bytes_uniform(void **state)
{
	static unsigned bins[18 + 148][256];
	uint8_t msg[148], wire[400];
	struct stealth_ctx c;

	(void)state;
	rng_seed(6);
	ctx_init(&c);
	memset(bins, 0, sizeof(bins));
	memset(msg, 0, sizeof(msg));
	msg[0] = MSG_HANDSHAKE_INIT; /* the same message every time */
	for (int i = 0; i < NSAMP; i++) {
		size_t len = stealth_hs_wire_len(&rng, sizeof(msg), 18 + 148 + 127);

		assert_int_equal(stealth_hs_wrap(&c, &rng, msg, sizeof(msg), wire, len), 0);
		for (size_t j = 0; j < 18 + 148; j++)
			bins[j][wire[j]]++;
	}
	for (size_t j = 0; j < 18 + 148; j++) {
		double x = chi2(bins[j]);

		if (x > CHI2_MAX)
			fail_msg("byte %zu of framed handshakes is not uniform: chi2 %.1f", j, x);
	}
	stealth_ctx_done(&c);
}

/* ---- sizes ---- */

static void test_forbidden_set(void **state)
{
	static const size_t bad[] = {64, 80, 92, 112, 148};

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_true(stealth_size_forbidden(bad[i]));
	assert_false(stealth_size_forbidden(65));
	assert_false(stealth_size_forbidden(147));
	assert_false(stealth_size_forbidden(1420));
}

/* An IPv4 packet of len bytes of one of a few flows. */
static void ipv4_packet(uint8_t *p, size_t len, unsigned flow)
{
	memset(p, 0, len);
	if (len < 24)
		return;
	p[0] = 0x45;
	p[9] = 6;
	p[12] = 10;
	p[15] = 2;
	p[16] = 203;
	p[19] = (uint8_t)flow;
	p[21] = (uint8_t)flow;
	p[23] = 80;
}

/* Every inner size 0..MTU, both stealth modes, every cipher overhead,
 * several MTUs and many bucket tables: no transport datagram has a
 * forbidden size, none is smaller than its packet or larger than the
 * MTU's datagram. */
static void test_transport_sizes_exhaustive(void **state)
{
	static const size_t mtus[] = {576, 1280, 1404, 1500};
	static const enum stealth_mode modes[] = {STEALTH_MODE_STANDARD, STEALTH_MODE_MAXIMUM};
	static const size_t tags[] = {16, 32};
	uint8_t *inner = malloc(9000);

	(void)state;
	rng_seed(7);
	for (size_t m = 0; m < 2; m++)
		for (size_t t = 0; t < 2; t++)
			for (size_t u = 0; u < sizeof(mtus) / sizeof(mtus[0]); u++)
				for (int table = 0; table < 6; table++) {
					struct stealth_tx tx;
					struct stealth_keys k = keys();
					size_t lo = H + tags[t], hi = H + mtus[u] + tags[t];

					assert_int_equal(stealth_tx_init(&tx, modes[m], &k,
									 secret_ab, lo, hi, &rng),
							 0);
					for (size_t n = 0; n <= mtus[u]; n++) {
						size_t outer = lo + n, target;

						ipv4_packet(inner, n, (unsigned)(n % 5));
						target = stealth_tx_target(&tx, inner, n, outer);
						if (stealth_size_forbidden(target) ||
						    target < outer || target > hi)
							fail_msg(
							    "mode %d tags %zu mtu %zu inner %zu: "
							    "outer %zu",
							    modes[m], tags[t], mtus[u], n, target);
					}
					stealth_tx_done(&tx);
				}
	free(inner);
}

/* Handshake-class datagrams: every message length the protocol has
 * (message 2 is 93..1348 bytes, the cookie reply 52, message 1 148 or
 * 1348) under every answering limit and many draws; and junk. */
static void test_hs_sizes_exhaustive(void **state)
{
	(void)state;
	rng_seed(8);
	for (size_t n = 52; n <= 1348; n++)
		for (int k = 0; k < 40; k++) {
			size_t max = n + 18 + (size_t)(k * 4) % 128;
			size_t len = stealth_hs_wire_len(&rng, n, max);

			/* the one case without a datagram: no room to step off a
			 * forbidden size (a server's answer always has room: it
			 * answers a message 1 of at least 166 bytes) */
			if (!len && max == n + 18 && stealth_size_forbidden(max))
				continue;
			if (!len || stealth_size_forbidden(len) || len > max || len < n + 18)
				fail_msg("message of %zu bytes, limit %zu: datagram %zu", n, max,
					 len);
		}
	for (int i = 0; i < 20000; i++) {
		size_t len = stealth_junk_len(&rng);

		assert_true(len >= STEALTH_JUNK_MIN && len <= STEALTH_JUNK_MAX);
		assert_false(stealth_size_forbidden(len));
	}
}

static void test_bucket_tables(void **state)
{
	struct stealth_buckets b;

	(void)state;
	rng_seed(9);
	for (int i = 0; i < 500; i++) {
		bool max = i & 1;

		assert_int_equal(
		    stealth_buckets_draw(&b, max ? STEALTH_MODE_MAXIMUM : STEALTH_MODE_STANDARD, 32,
					 1452, &rng),
		    0);
		assert_true(b.n >= 2 && b.n <= (max ? 4u : 16u));
		assert_int_equal(b.size[b.n - 1], 1452);
		assert_true(b.size[0] >= 32 + STEALTH_SMALL_FLOOR &&
			    b.size[0] <= 32 + STEALTH_SMALL_FLOOR + 64);
		for (unsigned j = 0; j < b.n; j++) {
			assert_true(b.size[j] >= 32);
			assert_false(stealth_size_forbidden(b.size[j]));
			if (j)
				assert_true(b.size[j] > b.size[j - 1]);
		}
		assert_int_equal(stealth_bucket_fit(&b, 1452), 1452);
		assert_int_equal(stealth_bucket_fit(&b, 5000), 5000);
	}
	/* a forbidden MTU datagram cannot be a bucket */
	assert_int_equal(stealth_buckets_draw(&b, STEALTH_MODE_STANDARD, 32, 148, &rng), -EINVAL);
}

/* Both ends draw the same table for a session (stealth_table_rng from
 * T_i2r), another session gets another; a lower MTU on one side cuts it. */
static void test_shared_table(void **state)
{
	struct stealth_buckets a, b, other;
	struct rng_det da, db, dc;
	struct rng ra, rb, rc;

	(void)state;
	assert_int_equal(stealth_table_rng(&da, secret_ab), 0);
	assert_int_equal(stealth_table_rng(&db, secret_ab), 0);
	assert_int_equal(stealth_table_rng(&dc, secret_ba), 0);
	ra = rng_det_as_rng(&da);
	rb = rng_det_as_rng(&db);
	rc = rng_det_as_rng(&dc);
	assert_int_equal(stealth_buckets_draw(&a, STEALTH_MODE_STANDARD, 32, 1452, &ra), 0);
	assert_int_equal(stealth_buckets_draw(&b, STEALTH_MODE_STANDARD, 32, 1452, &rb), 0);
	assert_int_equal(stealth_buckets_draw(&other, STEALTH_MODE_STANDARD, 32, 1452, &rc), 0);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.size, b.size, a.n * sizeof(a.size[0]));
	assert_false(a.n == other.n && !memcmp(a.size, other.size, a.n * sizeof(a.size[0])));
	stealth_buckets_clamp(&b, 1000);
	assert_int_equal(b.size[b.n - 1], 1000);
	for (unsigned i = 0; i + 1 < b.n; i++)
		assert_true(b.size[i] < b.size[i + 1]);
}

/* Maximum: the first packets of a new inner flow go in the largest
 * bucket, later ones in their own. */
static void test_maximum_young_flows(void **state)
{
	struct stealth_tx tx;
	struct stealth_keys k = keys();
	uint8_t p[60];
	size_t big, later;

	(void)state;
	rng_seed(10);
	assert_int_equal(stealth_tx_init(&tx, STEALTH_MODE_MAXIMUM, &k, secret_ab, 32, 1452, &rng),
			 0);
	ipv4_packet(p, sizeof(p), 1);
	for (int i = 0; i < STEALTH_FLOW_FIRST; i++)
		assert_int_equal(stealth_tx_target(&tx, p, sizeof(p), 32 + 60), 1452);
	later = stealth_tx_target(&tx, p, sizeof(p), 32 + 60);
	assert_int_equal(later, stealth_bucket_fit(&tx.buckets, 32 + 60));
	ipv4_packet(p, sizeof(p), 2); /* another flow starts big again */
	big = stealth_tx_target(&tx, p, sizeof(p), 32 + 60);
	assert_int_equal(big, 1452);
	stealth_tx_done(&tx);
}

/* Cover traffic: the rate over time, full-size packets, no burst after a
 * long pause. */
static void test_cover(void **state)
{
	struct stealth_tx tx;
	struct stealth_keys k = keys();
	uint8_t pkt[1600] = {0};
	uint64_t credit = 0, sent = 0;

	(void)state;
	rng_seed(14);
	/* 10 s of 0.5 s ticks at 14520 B/s: 100 packets of 1452 bytes */
	for (int i = 0; i < 20; i++)
		sent += stealth_cover_due(&credit, 14520, 500000000, 1452, 64);
	assert_int_equal(sent, 100);
	/* a pause of an hour earns one second's worth at most */
	assert_true(stealth_cover_due(&credit, 14520, 3600 * UINT64_C(1000000000), 1452, 64) <= 11);
	assert_int_equal(stealth_cover_due(&credit, 0, 500000000, 1452, 64), 0);
	/* a cover packet is an empty plaintext as long as the largest bucket */
	assert_int_equal(stealth_tx_init(&tx, STEALTH_MODE_MAXIMUM, &k, secret_ab, 32, 1452, &rng),
			 0);
	assert_int_equal(stealth_pad_max(&tx, pkt, sizeof(pkt), 16, 0), 1452 - 32);
	for (size_t i = 16; i < 16 + 1452 - 32; i++)
		assert_int_equal(pkt[i], 0); /* zero padding: a keepalive */
	stealth_tx_done(&tx);
}

/* ---- hostile input ---- */

/* Every length below the minimum, exact-size heap copies (ASan sees any
 * read past the end). */
static void test_short_datagrams(void **state)
{
	struct stealth_ctx c;
	uint8_t hdr[8];
	size_t got;

	(void)state;
	rng_seed(11);
	ctx_init(&c);
	for (size_t n = 0; n < STEALTH_MIN_TRANSPORT; n++) {
		uint8_t *d = malloc(n ? n : 1);

		assert_int_equal(rng_fill(&rng, d, n ? n : 1), 0);
		assert_false(stealth_peek(&c, d, n, hdr));
		if (n <= STEALTH_HS_OVERHEAD)
			assert_int_equal(stealth_hs_unwrap(&c, d, n, &got), -EBADMSG);
		free(d);
	}
	stealth_ctx_done(&c);
}

/* A genuine framed message, truncated at every length: refused, or
 * (padding cut only) still the message. */
static void test_truncated(void **state)
{
	struct stealth_ctx c;
	uint8_t msg[148] = {MSG_HANDSHAKE_INIT}, wire[400];
	size_t len, got;

	(void)state;
	rng_seed(12);
	ctx_init(&c);
	len = stealth_hs_wire_len(&rng, sizeof(msg), 18 + 148 + 127);
	assert_int_equal(stealth_hs_wrap(&c, &rng, msg, sizeof(msg), wire, len), 0);
	for (size_t n = 0; n <= len; n++) {
		uint8_t *d = malloc(n ? n : 1);
		int r;

		memcpy(d, wire, n);
		r = stealth_hs_unwrap(&c, d, n, &got);
		if (n < 18 + 148)
			assert_int_equal(r, -EBADMSG);
		else
			assert_true(r == 0 && got == 148 && d[18] == MSG_HANDSHAKE_INIT);
		free(d);
	}
	stealth_ctx_done(&c);
}

static void test_random_datagrams(void **state)
{
	struct stealth_ctx c;
	uint8_t hdr[8], sz[2];
	size_t got;
	unsigned decoded = 0;

	(void)state;
	rng_seed(13);
	ctx_init(&c);
	for (int i = 0; i < 5000; i++) {
		size_t n;
		uint8_t *d;

		assert_int_equal(rng_fill(&rng, sz, 2), 0);
		n = le16_load(sz) % 1600;
		d = malloc(n ? n : 1);
		assert_int_equal(rng_fill(&rng, d, n ? n : 1), 0);
		(void)stealth_peek(&c, d, n, hdr);
		if (stealth_hs_unwrap(&c, d, n, &got) == 0) {
			assert_true(got >= 1 && got <= n - 18);
			decoded++;
		}
		free(d);
	}
	/* a random length field fits about (n - 18) / 65536 of the time */
	assert_true(decoded < 150);
	stealth_ctx_done(&c);
}

/* In stealth mode a datagram in today's plain format is noise: a plain
 * transport packet does not peek as one, and a plain message 1 does not
 * unmask to a message 1. */
static void test_plain_format_rejected(void **state)
{
	struct transport a, b;
	struct transport_keys ka = {.mode = CIPHER_CHACHAPOLY, .remote_index = 0x0b0b0b0b};
	struct stealth_ctx c;
	uint8_t pkt[300] = {0}, hdr[8], init[148] = {MSG_HANDSHAKE_INIT};
	size_t len, got;
	int plain_peeked = 0;

	(void)state;
	(void)b;
	ctx_init(&c);
	memcpy(ka.send_secret, secret_ab, 32);
	memcpy(ka.recv_secret, secret_ba, 32);
	assert_int_equal(transport_init(&a, &ka, NULL, 1), 0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(transport_seal(&a, pkt, sizeof(pkt), 40, 16, &len, 1),
				 TRANSPORT_OK);
		plain_peeked += stealth_peek(&c, pkt, len, hdr);
	}
	assert_int_equal(plain_peeked, 0);
	for (int i = 0; i < 256; i++) {
		int r;

		init[4] = (uint8_t)i; /* different sender indices */
		memcpy(pkt, init, sizeof(init));
		r = stealth_hs_unwrap(&c, pkt, sizeof(init), &got);
		assert_false(r == 0 && got == 148 && pkt[18] == MSG_HANDSHAKE_INIT);
	}
	transport_done(&a);
	stealth_ctx_done(&c);
}

/* ---- the worked example of docs/protocol.md §12.7 ---- */

/* The bytes of the block tagged name (len of them) in doc. */
static void doc_bytes(const char *doc, const char *name, uint8_t *out, size_t len)
{
	char tag[64], *hex = malloc(2 * len + 1);
	const char *p, *end;
	size_t n = 0;

	snprintf(tag, sizeof(tag), "```hex %s\n", name);
	p = strstr(doc, tag);
	end = p ? strstr(p + strlen(tag), "```") : NULL;
	if (!p || !end) {
		free(hex);
		fail_msg("docs/protocol.md has no ```hex %s block", name);
		return;
	}
	for (p += strlen(tag); p < end && n < 2 * len + 1; p++)
		if (*p != '\n' && *p != ' ')
			hex[n++] = *p;
	hex[n] = '\0';
	if (n != 2 * len || hex_decode(out, len, hex) != 0)
		fail_msg("docs/protocol.md block %s is not %zu bytes of hex", name, len);
	free(hex);
}

/* A "random" source that hands out the document's nonce, then its
 * padding. */
struct script {
	const uint8_t *bytes;
	size_t len, used;
};

static int script_fill(void *ctx, uint8_t *out, size_t len)
{
	struct script *s = ctx;

	if (len > s->len - s->used)
		return -EIO;
	memcpy(out, s->bytes + s->used, len);
	s->used += len;
	return 0;
}

static void test_worked_example(void **state)
{
	static uint8_t msg1[INIT_LEN_KEM], frame[1373], got[1373], data1[96], masked[96], pkt[96];
	uint8_t pub[32], secret[32], khs[32], khp[16], kdir[16], dir[16], np[16 + 7], hdr[8];
	char *doc = tu_read_file(tu_source_path("docs/protocol.md"), NULL);
	struct script sc = {np, sizeof(np), 0};
	struct rng scripted = {script_fill, &sc};
	struct stealth_keys k;
	struct stealth_ctx c;
	struct stealth_tx tx;
	struct stealth_rx rx;
	size_t len;

	(void)state;
	doc_bytes(doc, "server-public", pub, 32);
	doc_bytes(doc, "secret-i2r", secret, 32);
	doc_bytes(doc, "msg1", msg1, sizeof(msg1));
	doc_bytes(doc, "data1", data1, sizeof(data1));
	doc_bytes(doc, "stealth-k-hs", khs, 32);
	doc_bytes(doc, "stealth-k-hp", khp, 16);
	doc_bytes(doc, "stealth-k-dir-i2r", kdir, 16);
	doc_bytes(doc, "stealth-nonce", np, 16);
	doc_bytes(doc, "stealth-padding", np + 16, 7);
	doc_bytes(doc, "stealth-msg1", frame, sizeof(frame));
	doc_bytes(doc, "stealth-data1", masked, sizeof(masked));
	free(doc);

	assert_int_equal(stealth_keys_derive(&k, pub), 0);
	assert_memory_equal(k.hs, khs, 32);
	assert_memory_equal(k.hp, khp, 16);
	assert_int_equal(stealth_dir_key(dir, secret), 0);
	assert_memory_equal(dir, kdir, 16);
	assert_int_equal(stealth_ctx_init(&c, &k), 0);
	assert_int_equal(stealth_hs_wrap(&c, &scripted, msg1, sizeof(msg1), got, sizeof(got)), 0);
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(stealth_hs_unwrap(&c, got, sizeof(got), &len), 0);
	assert_int_equal(len, sizeof(msg1));
	assert_memory_equal(got + 18, msg1, sizeof(msg1));

	rng_seed(15);
	assert_int_equal(stealth_tx_init(&tx, STEALTH_MODE_STANDARD, &k, secret, 32, 1452, &rng),
			 0);
	memcpy(pkt, data1, sizeof(pkt));
	assert_int_equal(stealth_tx_mask(&tx, pkt, sizeof(pkt)), 0);
	assert_memory_equal(pkt, masked, sizeof(pkt));
	assert_true(stealth_peek(&c, pkt, sizeof(pkt), hdr));
	assert_int_equal(stealth_rx_init(&rx, secret), 0);
	assert_int_equal(stealth_rx_unmask(&rx, pkt, sizeof(pkt), hdr), 0);
	assert_memory_equal(pkt, data1, sizeof(pkt));
	stealth_rx_done(&rx);
	stealth_tx_done(&tx);
	stealth_ctx_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hs_round_trip),
	    cmocka_unit_test(test_hs_no_amplification),
	    cmocka_unit_test(test_hs_own_limit),
	    cmocka_unit_test(test_transport_round_trip),
	    cmocka_unit_test(test_wrong_session_key),
	    cmocka_unit_test(test_transport_bytes_uniform),
	    cmocka_unit_test(test_hs_bytes_uniform),
	    cmocka_unit_test(test_forbidden_set),
	    cmocka_unit_test(test_transport_sizes_exhaustive),
	    cmocka_unit_test(test_hs_sizes_exhaustive),
	    cmocka_unit_test(test_bucket_tables),
	    cmocka_unit_test(test_shared_table),
	    cmocka_unit_test(test_maximum_young_flows),
	    cmocka_unit_test(test_cover),
	    cmocka_unit_test(test_short_datagrams),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_random_datagrams),
	    cmocka_unit_test(test_plain_format_rejected),
	    cmocka_unit_test(test_worked_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
