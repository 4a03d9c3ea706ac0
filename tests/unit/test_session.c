/* Server sessions and their RCU tables (core/session.c): lookups by
 * index and by inner address, address take-over by a newer session,
 * removal, and the per-session open path: confirmation by the first
 * packet only, roaming to a new source address, replays refused; the
 * local address answers leave from moves with the endpoint and is
 * forgotten when the kernel refuses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/session.h"

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
	struct udp_endpoint ep1, ep2, to;
	struct udp_local src;
	struct transport client;
	struct transport_keys ck = keys_for(0x1005, 5, true);
	struct session *s;
	uint8_t buf[256], copy[256];
	size_t len, plain, out;
	enum session_rx ev;

	(void)state;
	assert_int_equal(udp_endpoint_parse(&ep1, "192.0.2.1", 1000), 0);
	assert_int_equal(udp_endpoint_parse(&ep2, "2001:db8::1", 2000), 0);
	s = make(5, 9, &ep1);
	assert_int_equal(transport_init(&client, &ck, NULL, NOW), 0);
	assert_false(session_is_confirmed(s));

	len = client_packet(&client, buf, sizeof(buf), 0);
	memcpy(copy, buf, len);
	assert_int_equal(session_open(s, buf, len, &ep1, NULL, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_CONFIRMED);
	assert_true(session_is_confirmed(s));
	/* a replay neither opens nor confirms again */
	assert_int_equal(session_open(s, copy, len, &ep2, NULL, NOW, &plain, &ev),
			 TRANSPORT_E_REPLAY);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep1));

	len = client_packet(&client, buf, sizeof(buf), 20);
	assert_int_equal(session_open(s, buf, len, &ep1, NULL, NOW, &plain, &ev), TRANSPORT_OK);
	assert_int_equal(ev, SESSION_RX_OK);
	assert_int_equal(plain, 32); /* padded to 16 */

	/* roaming: the first authenticated packet from elsewhere moves us */
	len = client_packet(&client, buf, sizeof(buf), 20);
	assert_int_equal(session_open(s, buf, len, &ep2, NULL, NOW + 1, &plain, &ev), TRANSPORT_OK);
	assert_true(udp_endpoint_equal(&s->endpoint, &ep2));
	assert_int_equal(s->last_rx_ns, NOW + 1);

	/* replies go to the new endpoint */
	assert_int_equal(session_seal(s, buf, sizeof(buf), 0, NOW, &to, &src, &out), TRANSPORT_OK);
	assert_true(udp_endpoint_equal(&to, &ep2));
	assert_int_equal(src.family, 0); /* not known: from any address */
	assert_int_equal(transport_open(&client, buf, out, &plain, NOW), TRANSPORT_OK);

	transport_done(&client);
	session_free(s);
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
	enum session_rx ev;

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
	expect_path(s, &ep1, &l1); /* same client, another server address */

	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep2, &l2, NOW, &plain, &ev), TRANSPORT_OK);
	expect_path(s, &ep2, &l2); /* both move together */
	assert_int_equal(session_open(s, copy, len, &ep1, &l1, NOW, &plain, &ev),
			 TRANSPORT_E_REPLAY);
	expect_path(s, &ep2, &l2); /* a replay moves nothing */

	session_forget_src(s, &l1); /* not the current one: nothing */
	expect_path(s, &ep2, &l2);
	session_forget_src(s, &l2);
	expect_path(s, &ep2, &none);
	len = client_packet(&client, buf, sizeof(buf), 0);
	assert_int_equal(session_open(s, buf, len, &ep2, &l2, NOW, &plain, &ev), TRANSPORT_OK);
	expect_path(s, &ep2, &l2); /* learnt again */

	transport_done(&client);
	session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_open_confirm_roam),
	    cmocka_unit_test(test_local_address),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
