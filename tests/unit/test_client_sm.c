/* The client's state machine (client/client_sm.c), driven through its
 * timers as a numbered script: connect, retransmit, give up and back off
 * (doubling to 30 s, with jitter), keepalives, rekey by time and on the
 * transport's request, socket renewal with a new handshake when the
 * server goes quiet, dead-peer detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/client_sm.h"

#define MS UINT64_C(1000000)
#define S  UINT64_C(1000000000)
#define T0 (100 * S)

enum {
	INIT = CLIENT_ACT_SEND_INIT,
	KA = CLIENT_ACT_KEEPALIVE,
	SOCK = CLIENT_ACT_NEW_SOCKET,
	BACK = CLIENT_ACT_BACKOFF
};

static void test_connect_retransmit_backoff(void **state)
{
	struct client_sm sm;

	(void)state;
	client_sm_init(&sm, 0);
	/* 1 */ assert_int_equal(client_sm_start(&sm, T0), INIT);
	client_sm_init_sent(&sm, T0);
	/* 2 */ assert_int_equal(client_sm_tick(&sm, T0 + 4999 * MS, 0), 0);
	/* 3 */ assert_int_equal(client_sm_tick(&sm, T0 + 5 * S, 0), INIT);
	/* 4 */ assert_int_equal(client_sm_tick(&sm, T0 + 10 * S, 0), INIT);
	/* 5: three unanswered attempts, then back off 1 s (random 2^31 = no jitter) */
	assert_int_equal(client_sm_tick(&sm, T0 + 15 * S, 1u << 31), BACK);
	assert_int_equal(sm.state, CLIENT_BACKOFF);
	assert_int_equal(sm.delay_ms, 1000);
	/* 6 */ assert_int_equal(client_sm_tick(&sm, T0 + 15 * S + 999 * MS, 0), 0);
	/* 7 */ assert_int_equal(client_sm_tick(&sm, T0 + 16 * S, 0), INIT);
	assert_int_equal(sm.state, CLIENT_CONNECTING);
	assert_int_equal(sm.attempts, 1);
}

/* 1, 2, 4, 8, 16, 30, 30 s; jitter within +-20 %. */
static void test_backoff_doubling(void **state)
{
	static const uint32_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
	struct client_sm sm;
	uint64_t now = T0;

	(void)state;
	client_sm_init(&sm, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(client_sm_fail(&sm, now, "x", 1u << 31), BACK);
		assert_int_equal(sm.delay_ms, want[i]);
	}
	client_sm_init(&sm, 0);
	client_sm_fail(&sm, now, "x", 0);
	assert_int_equal(sm.delay_ms, 800);
	client_sm_init(&sm, 0);
	client_sm_fail(&sm, now, "x", UINT32_MAX);
	assert_true(sm.delay_ms >= 1199 && sm.delay_ms <= 1200);
	/* a completed handshake starts the backoff again at 1 s */
	client_sm_established(&sm, now, 25, 120);
	client_sm_fail(&sm, now, "x", 1u << 31);
	assert_int_equal(sm.delay_ms, 1000);
}

static void test_connected_timers(void **state)
{
	struct client_sm sm;
	uint64_t t;

	(void)state;
	client_sm_init(&sm, 0);
	client_sm_start(&sm, T0);
	client_sm_established(&sm, T0, 10, 120);
	client_sm_sent(&sm, T0);
	/* 1 */ assert_int_equal(client_sm_tick(&sm, T0 + 9 * S, 0), 0);
	/* 2: nothing sent for the keepalive interval */
	assert_int_equal(client_sm_tick(&sm, T0 + 10 * S, 0), KA);
	client_sm_sent(&sm, T0 + 10 * S);
	/* 3: sending resets it */
	assert_int_equal(client_sm_tick(&sm, T0 + 14 * S, 0), 0);
	/* 4: quiet 10 + 5 s, a keepalive of the server missed: a new socket
	 * and a new handshake, once */
	client_sm_sent(&sm, T0 + 15 * S);
	assert_int_equal(client_sm_tick(&sm, T0 + 15 * S, 0), SOCK | INIT);
	assert_int_equal(client_sm_tick(&sm, T0 + 16 * S, 0), 0);
	/* 5: the handshake is retransmitted while it goes unanswered */
	client_sm_sent(&sm, T0 + 20 * S);
	assert_int_equal(client_sm_tick(&sm, T0 + 20 * S, 0), INIT);
	/* 6: a packet arrives: all well again */
	client_sm_received(&sm, T0 + 24 * S);
	client_sm_sent(&sm, T0 + 24 * S);
	assert_int_equal(client_sm_tick(&sm, T0 + 24 * S, 0), 0);
	/* 7: quiet 3 x 10 + 5 s: reconnect */
	for (t = T0 + 25 * S; t < T0 + 24 * S + 35 * S; t += S) {
		unsigned a = client_sm_tick(&sm, t, 0);
		client_sm_sent(&sm, t);
		assert_false(a & BACK);
	}
	assert_int_equal(client_sm_tick(&sm, T0 + 59 * S, 1u << 31), BACK);
	assert_string_equal(sm.reason, "the server stopped answering");
}

static void test_rekey(void **state)
{
	struct client_sm sm;

	(void)state;
	client_sm_init(&sm, 0);
	client_sm_start(&sm, T0);
	client_sm_established(&sm, T0, 0, 120);
	client_sm_received(&sm, T0 + 100 * S);
	/* 1 */ assert_int_equal(client_sm_tick(&sm, T0 + 119 * S, 0), 0);
	/* 2 */ assert_int_equal(client_sm_tick(&sm, T0 + 120 * S, 0), INIT);
	client_sm_received(&sm, T0 + 121 * S);
	/* 3: one handshake at a time; retransmitted every 5 s */
	assert_int_equal(client_sm_want_rekey(&sm, T0 + 121 * S), 0);
	assert_int_equal(client_sm_tick(&sm, T0 + 124 * S, 0), 0);
	assert_int_equal(client_sm_tick(&sm, T0 + 125 * S, 0), INIT);
	/* 4: done: the next rekey is due 120 s later */
	client_sm_established(&sm, T0 + 126 * S, 0, 120);
	assert_int_equal(client_sm_tick(&sm, T0 + 127 * S, 0), 0);
	assert_int_equal(client_sm_want_rekey(&sm, T0 + 127 * S), INIT);
}

/* keepalive = 0 in the client config takes the server's; else it wins. */
static void test_keepalive_override(void **state)
{
	struct client_sm sm;

	(void)state;
	client_sm_init(&sm, 5);
	client_sm_start(&sm, T0);
	client_sm_established(&sm, T0, 25, 120);
	client_sm_sent(&sm, T0);
	assert_int_equal(client_sm_tick(&sm, T0 + 5 * S, 0), KA);
	client_sm_init(&sm, 0);
	client_sm_start(&sm, T0);
	client_sm_established(&sm, T0, 0, 120); /* keepalives off: probe as if 25 s */
	client_sm_sent(&sm, T0);
	assert_int_equal(client_sm_tick(&sm, T0 + 29 * S, 0), 0);
	assert_int_equal(client_sm_tick(&sm, T0 + 30 * S, 0), SOCK | INIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_retransmit_backoff),
	    cmocka_unit_test(test_backoff_doubling),
	    cmocka_unit_test(test_connected_timers),
	    cmocka_unit_test(test_rekey),
	    cmocka_unit_test(test_keepalive_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
