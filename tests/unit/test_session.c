/* Server sessions and their RCU tables (dataplane/session.c): lookups by
 * index and by inner address, address take-over by a newer session,
 * removal, and the per-session open path: confirmation by the first
 * packet only, the migration rule (the newest packet moves the endpoint;
 * an unvalidated path gets 3 x what it sent, a probe, and is left after
 * the timeout; a reply from elsewhere, with another challenge, late or
 * twice validates nothing; a reordered packet moves nothing), replays
 * refused; the local address answers leave from moves
 * with the endpoint and is forgotten when the kernel refuses it; a
 * confirmed successor takes over sealing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dataplane/session.h"

#define NOW UINT64_C(5000000000)

static struct transport_keys keys_for(uint32_t local, uint32_t remote, bool initiator)
{
	struct transport_keys k = {.mode = CIPHER_CHACHAPOLY,
				   .initiator = initiator,
				   .local_index = local,
				   .remote_index = remote};
	memset(initiator ? k.send_secret : k.recv_secret, 0x11, 32);
	memset(initiator ? k.recv_secret : k.send_secret, 0x22, 32);
	return k;
}

static struct session *make(uint32_t index, uint8_t last4, const struct udp_endpoint *ep)
{
	struct transport_keys k = keys_for(index, 0x1000 + index, false);
	struct session *s = session_new(&k, NULL, ep, NULL, NOW);

	assert_non_null(s);
	s->addrs.has4 = s->addrs.has6 = true;
	memcpy(s->addrs.addr4, (uint8_t[]){10, 8, 0, last4}, 4);
	memcpy(s->addrs.addr6, (uint8_t[]){0xfd, 0, 0, 8, [15] = last4}, 16);
	return s;
}

static int setup(void **state)
{
	(void)state;
	urcu_memb_register_thread();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	urcu_memb_barrier();
	urcu_memb_unregister_thread();
	return 0;
}

static void test_table(void **state)
{
	struct session_table t;
	struct udp_endpoint ep;
	struct session *a, *b, *a2;
	uint8_t a4[4] = {10, 8, 0, 2}, a6[16] = {0xfd, 0, 0, 8, [15] = 2};

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep, "192.0.2.1", 1000), 0);
	assert_int_equal(session_table_init(&t), 0);
	a = make(1, 2, &ep);
	b = make(2, 3, &ep);
	assert_int_equal(session_add_index(&t, a), 0);
	assert_int_equal(session_add_index(&t, b), 0);
	a2 = make(1, 2, &ep); /* same index as a */
	assert_int_equal(session_add_index(&t, a2), -EEXIST);
	session_free(a2);
	session_publish_addrs(&t, a);
	session_publish_addrs(&t, b);
	assert_int_equal(t.count, 2);

	urcu_memb_read_lock();
	assert_ptr_equal(session_find_index(&t, 1), a);
	assert_ptr_equal(session_find_index(&t, 2), b);
	assert_null(session_find_index(&t, 3));
	assert_ptr_equal(session_find_addr(&t, a4, 4), a);
	assert_ptr_equal(session_find_addr(&t, a6, 16), a);
	urcu_memb_read_unlock();

	/* a newer session of the same user takes the addresses over */
	a2 = make(7, 2, &ep);
	assert_int_equal(session_add_index(&t, a2), 0);
	session_publish_addrs(&t, a2);
	assert_false(a->in_addr4);
	urcu_memb_read_lock();
	assert_ptr_equal(session_find_addr(&t, a4, 4), a2);
	assert_ptr_equal(session_find_addr(&t, a6, 16), a2);
	assert_ptr_equal(session_find_index(&t, 1), a); /* still open for its packets */
	urcu_memb_read_unlock();

	/* removing the old one leaves the new one's addresses alone */
	session_remove(&t, a);
	urcu_memb_read_lock();
	assert_null(session_find_index(&t, 1));
	assert_ptr_equal(session_find_addr(&t, a4, 4), a2);
	urcu_memb_read_unlock();

	session_remove(&t, a2);
	session_remove(&t, b);
	assert_int_equal(t.count, 0);
	urcu_memb_read_lock();
	assert_null(session_find_addr(&t, a4, 4));
	urcu_memb_read_unlock();
	urcu_memb_barrier();
	session_table_done(&t);
}

/* What the worker does on SESSION_RX_NEW_PATH, and the client's answer:
 * the path (from, to) is probed and the probe answered from there. */
static void validate(struct session *s, const struct udp_endpoint *from, const struct udp_local *to,
		     uint64_t now)
{
	uint8_t challenge[8];

	assert_true(session_probe_begin(s, from, to, now, challenge));
	assert_true(session_probe_answered(s, challenge, from, to, now + 1));
}

/* The client side seals plain[0..len) with counter order as given. */
static size_t client_packet(struct transport *c, uint8_t *buf, size_t cap, size_t len)
{
	size_t out;

	memset(buf + TRANSPORT_HEADER_LEN, 0, len);
	assert_int_equal(transport_seal(c, buf, cap, len, 16, &out, NOW), TRANSPORT_OK);
	return out;
}

static void test_open_confirm_roam(void **state)
{
	struct udp_endpoint ep1, ep2, ep3, to;
	struct udp_local src;
	struct transport client;
	struct transport_keys ck = keys_for(0x1005, 5, true);
	struct session *s;
	uint8_t buf[256], copy[256], old[256], ch[8], ch2[8];
	size_t len, old_len, plain, out;
	unsigned ev;

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep1, "192.0.2.1", 1000), 0);
	assert_int_equal(udp_endpoint_parse(&ep2, "2001:db8::1", 2000), 0);
	assert_int_equal(udp_endpoint_parse(&ep3, "203.0.113.66", 2000), 0);
	s = make(5, 9, &ep1);
	assert_int_equal(transport_init(&client, &ck, NULL, NOW), 0);
	assert_false(session_is_confirmed(s));

	len = client_packet(&client, buf, sizeof(buf), 0);
	memcpy(copy, buf, len);
	assert_int_equal(session_open(s, buf, len, &ep1, NULL, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_CONFIRMED);
	assert_true(session_is_confirmed(s));
	/* a replay neither opens, confirms nor moves anything */
	assert_int_equal(session_open(s, copy, len, &ep2, NULL, NOW, &plain, &ev),
			 TRANSPORT_E_REPLAY);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep1));

	old_len = client_packet(&client, old, sizeof(old), 20); /* delivered late, below */
	len = client_packet(&client, buf, sizeof(buf), 20);
	assert_int_equal(session_open(s, buf, len, &ep1, NULL, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_OK);
	assert_int_equal(plain, 32);		     /* padded to 16 */
	assert_true(session_path_budget(s, 100000)); /* message 1's path is validated */
	assert_false(session_probe_begin(s, &ep1, NULL, NOW, ch));

	/* the newest packet from another path moves the endpoint at once, but
	 * that path is unvalidated: 3 x what came from it, and a probe */
	len = client_packet(&client, buf, sizeof(buf), 20);
	assert_int_equal(session_open(s, buf, len, &ep2, NULL, NOW + 1, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_NEW_PATH);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep2));
	assert_int_equal(s->last_rx_ns, NOW + 1);
	assert_true(session_path_budget(s, 3 * len - 1));
	assert_false(session_path_budget(s, 2)); /* over 3 x len */
	/* a packet reordered from the path it left moves nothing back */
	assert_int_equal(session_open(s, old, old_len, &ep1, NULL, NOW + 1, &plain, &ev),
			 TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_OK);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep2));

	assert_true(session_probe_begin(s, &ep2, NULL, NOW + 1, ch));
	assert_false(session_probe_begin(s, &ep2, NULL, NOW + 2, ch2)); /* one at a time */
	assert_false(session_probe_begin(s, &ep3, NULL, NOW + 2, ch2)); /* not the endpoint */
	/* a reply from another address, or with another challenge, validates nothing */
	assert_false(session_probe_answered(s, ch, &ep3, NULL, NOW + 3));
	memcpy(ch2, ch, 8);
	ch2[7] ^= 1;
	assert_false(session_probe_answered(s, ch2, &ep2, NULL, NOW + 3));
	assert_false(session_path_budget(s, 1));
	assert_true(session_probe_answered(s, ch, &ep2, NULL, NOW + 3));
	assert_true(session_path_budget(s, 1000000));			  /* validated: no limit */
	assert_false(session_probe_answered(s, ch, &ep2, NULL, NOW + 4)); /* once */

	/* replies go to the new endpoint */
	assert_int_equal(session_seal(s, buf, sizeof(buf), 0, NOW, &to, &src, &out), TRANSPORT_OK);
	assert_true(udp_endpoint_equal(&to, &ep2));
	assert_int_equal(src.family, 0); /* not known: from any address */
	assert_int_equal(transport_open(&client, buf, out, &plain, NOW), TRANSPORT_OK);

	/* a path never validated: the endpoint goes back after the timeout */
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep3, NULL, NOW + 5, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_NEW_PATH);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep3));
	assert_true(session_probe_begin(s, &ep3, NULL, NOW + 5, ch));
	assert_false(session_path_tick(s, NOW + 5 + SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S - 1));
	assert_true(session_path_tick(s, NOW + 5 + SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S));
	assert_true(udp_endpoint_equal(&s->endpoint, &ep2));
	assert_true(session_path_budget(s, 1000000));
	assert_false(session_probe_answered(/* too late */
					    s, ch, &ep3, NULL,
					    NOW + 5 + SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S));
	/* a move back to the validated path needs no probe */
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep3, NULL, NOW + 6, &plain, &ev), TRANSPORT_OK);
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep2, NULL, NOW + 7, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_OK);
	assert_true(session_path_budget(s, 1000000));

	transport_done(&client);
	session_free(s);
}

/* A confirmed successor seals for the user; an unconfirmed one does not
 * (docs/protocol.md §8); nothing is sealed after a DISCONNECT (§6.3). */
static void test_successor(void **state)
{
	struct udp_endpoint ep;
	struct transport client;
	struct transport_keys ck = keys_for(0x1008, 8, true);
	struct session *old, *next;
	uint8_t buf[256];
	size_t len, plain;
	unsigned ev;

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep, "192.0.2.1", 1000), 0);
	old = make(7, 2, &ep);
	next = make(8, 2, &ep);
	urcu_memb_read_lock();
	assert_ptr_equal(session_current(old), old);
	old->successor = next;
	assert_ptr_equal(session_current(old), old); /* not confirmed yet */
	assert_int_equal(transport_init(&client, &ck, NULL, NOW), 0);
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(next, buf, len, &ep, NULL, NOW, &plain, &ev), TRANSPORT_OK);
	assert_ptr_equal(session_current(old), next);
	assert_ptr_equal(session_current(next), next);
	/* a client that said DISCONNECT gets nothing more */
	assert_true(session_may_send(next));
	next->leaving = 1;
	assert_false(session_may_send(next));
	urcu_memb_read_unlock();
	transport_done(&client);
	session_free(old);
	session_free(next);
}

static struct udp_local local_of(const char *addr)
{
	struct udp_local l = {.family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, addr, &l.in4), 1);
	return l;
}

/* Seals an empty packet and checks where it goes and from where. */
static void expect_path(struct session *s, const struct udp_endpoint *want_to,
			const struct udp_local *want_src)
{
	uint8_t buf[256];
	struct udp_endpoint to;
	struct udp_local src;
	size_t out;

	assert_int_equal(session_seal(s, buf, sizeof(buf), 0, NOW, &to, &src, &out), TRANSPORT_OK);
	assert_true(udp_endpoint_equal(&to, want_to));
	assert_true(udp_local_equal(&src, want_src));
}

/* The local address a client's packets come to is where answers leave
 * from: set by message 1, moved with the endpoint by the latest packet
 * (also when only the local address changes), kept on a replay, and
 * forgotten when the kernel refuses it, until the next packet. */
static void test_local_address(void **state)
{
	struct udp_endpoint ep1, ep2;
	struct udp_local l1 = local_of("198.51.100.1"), l2 = local_of("198.51.100.10"), none = {0};
	struct transport client;
	struct transport_keys ck = keys_for(0x1006, 6, true), k = keys_for(6, 0x1006, false);
	struct session *s;
	uint8_t buf[256], copy[256];
	size_t len, plain;
	unsigned ev;

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep1, "192.0.2.1", 1000), 0);
	assert_int_equal(udp_endpoint_parse(&ep2, "192.0.2.2", 1000), 0);
	s = session_new(&k, NULL, &ep1, &l2, NOW);
	assert_non_null(s);
	assert_int_equal(transport_init(&client, &ck, NULL, NOW), 0);
	expect_path(s, &ep1, &l2); /* what message 1 came to */

	len = client_packet(&client, buf, sizeof(buf), 0);
	memcpy(copy, buf, len);
	assert_int_equal(session_open(s, buf, len, &ep1, &l1, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_CONFIRMED | SESSION_RX_NEW_PATH);
	expect_path(s, &ep1, &l1); /* same client, another server address */
	validate(s, &ep1, &l1, NOW);

	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep2, &l2, NOW, &plain, &ev), TRANSPORT_OK);
	expect_path(s, &ep2, &l2); /* both move together */
	validate(s, &ep2, &l2, NOW + SESSION_PROBE_GAP_MS * 1000000);
	assert_int_equal(session_open(s, copy, len, &ep1, &l1, NOW, &plain, &ev),
			 TRANSPORT_E_REPLAY);
	expect_path(s, &ep2, &l2); /* a replay moves nothing */

	session_forget_src(s, &l1); /* not the current one: nothing */
	expect_path(s, &ep2, &l2);
	session_forget_src(s, &l2);
	expect_path(s, &ep2, &none);
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep2, &l2, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_OK); /* back on the validated path: no probe */
	expect_path(s, &ep2, &l2);	     /* learnt again */

	transport_done(&client);
	session_free(s);
}

/* A stealth session (docs/protocol.md §12): what the client masks opens
 * through session_open_masked and nowhere else; what the session seals
 * has a size of the session's table, which the client draws alike
 * (stealth_table_rng), and opens at the client once unmasked. */
static void test_stealth(void **state)
{
	static const uint8_t pub[32] = {0x33};
	struct transport_keys sk = keys_for(7, 0x1007, false), ck = keys_for(0x1007, 7, true);
	struct stealth_keys k;
	struct stealth_ctx ctx;
	struct stealth_tx ctx_tx;
	struct stealth_rx crx;
	struct rng_det det;
	struct rng table;
	struct transport client;
	struct udp_endpoint ep, to;
	struct udp_local src;
	struct session *s;
	uint8_t buf[2048], copy[2048], hdr[8];
	size_t len, plain, padded;
	unsigned ev;

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep, "192.0.2.7", 1000), 0);
	assert_int_equal(stealth_keys_derive(&k, pub), 0);
	assert_int_equal(stealth_ctx_init(&ctx, &k), 0);
	s = make(7, 7, &ep);
	s->mtu = 1420;
	assert_int_equal(session_stealth_init(s, STEALTH_MODE_STANDARD, &k, &sk), 0);
	assert_int_equal(transport_init(&client, &ck, NULL, NOW), 0);
	assert_int_equal(stealth_table_rng(&det, ck.send_secret), 0);
	table = rng_det_as_rng(&det);
	assert_int_equal(stealth_tx_init(&ctx_tx, STEALTH_MODE_STANDARD, &k, ck.send_secret, 32,
					 16 + 1420 + 16, &table),
			 0);
	assert_int_equal(stealth_rx_init(&crx, ck.recv_secret), 0);
	/* the same table at both ends */
	assert_int_equal(ctx_tx.buckets.n, s->stealth_tx.buckets.n);
	assert_memory_equal(ctx_tx.buckets.size, s->stealth_tx.buckets.size,
			    ctx_tx.buckets.n * sizeof(ctx_tx.buckets.size[0]));

	/* client -> server: masked, so the plain API refuses it */
	memset(buf, 0, sizeof(buf));
	padded = stealth_pad(&ctx_tx, buf, sizeof(buf), 16, 0);
	assert_int_equal(transport_seal(&client, buf, sizeof(buf), padded, 1, &len, NOW),
			 TRANSPORT_OK);
	assert_int_equal(stealth_tx_mask(&ctx_tx, buf, len), 0);
	memcpy(copy, buf, len);
	assert_true(session_open(s, copy, len, &ep, NULL, NOW, &plain, &ev) != TRANSPORT_OK);
	assert_true(stealth_peek(&ctx, buf, len, hdr));
	assert_int_equal(session_open_masked(s, buf, len, hdr, &ep, NULL, NOW, &plain, &ev),
			 TRANSPORT_OK);
	assert_true(session_is_confirmed(s));

	/* server -> client: a bucket's size, opens once unmasked */
	memset(buf + 16, 0x45, 60);
	assert_int_equal(session_seal(s, buf, sizeof(buf), 60, NOW, &to, &src, &len), TRANSPORT_OK);
	assert_int_equal(len, stealth_bucket_fit(&s->stealth_tx.buckets, 16 + 60 + 16));
	assert_true(stealth_peek(&ctx, buf, len, hdr));
	assert_int_equal(stealth_rx_unmask(&crx, buf, len, hdr), 0);
	assert_int_equal(transport_open(&client, buf, len, &plain, NOW), TRANSPORT_OK);

	/* a cover packet: the largest size */
	assert_int_equal(session_seal_cover(s, buf, sizeof(buf), NOW, &to, &src, &len),
			 TRANSPORT_OK);
	assert_int_equal(len, s->stealth_tx.buckets.size[s->stealth_tx.buckets.n - 1]);

	stealth_tx_done(&ctx_tx);
	stealth_rx_done(&crx);
	stealth_ctx_done(&ctx);
	transport_done(&client);
	session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),	  cmocka_unit_test(test_open_confirm_roam),
	    cmocka_unit_test(test_local_address), cmocka_unit_test(test_successor),
	    cmocka_unit_test(test_stealth),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
