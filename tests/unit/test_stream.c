/* Stream paths (dataplane/stream.h) without a front: a stream is an endpoint
 * no IP address can be mistaken for, every stream its own path, and what
 * is sealed for a stream that is gone is dropped and counted, never
 * blocking or crashing the sealer. (The connection side runs in the
 * e2e scenarios tls_tunnel, failover and domain_fronting.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "auth/ratelimit.h"
#include "dataplane/queue.h"
#include "dataplane/stream.h"
#include "crypto/rng.h"
#include "dataplane/router.h"
#include "protocol/cookie.h"

static void test_endpoint(void **state)
{
	struct udp_endpoint a, b, ip;
	char buf[UDP_ENDPOINT_STR_MAX];
	uint8_t key[UDP_ENDPOINT_KEY_MAX];
	(void)state;

	stream_endpoint(&a, 7);
	stream_endpoint(&b, 8);
	assert_true(stream_is(&a));
	assert_int_equal(stream_id_of(&a), 7);
	assert_true(udp_endpoint_equal(&a, &a));
	assert_false(udp_endpoint_equal(&a, &b));
	assert_string_equal(udp_endpoint_str(&a, buf), "stream#7");
	/* an IPv6 address with the same bytes is another path */
	assert_int_equal(udp_endpoint_parse(&ip, "700::", 0), 0);
	assert_false(stream_is(&ip));
	assert_false(udp_endpoint_equal(&a, &ip));
	/* the limiter's key of a stream endpoint is defined (not read past) */
	assert_int_equal(udp_endpoint_key(&a, key), 18);
}

struct fx {
	struct queue hs, inbox;
	struct ratelimit rl;
	struct cookie_secrets cookie;
	struct router_pools pools;
	uint8_t pub[32];
	struct stream_hub *h;
};

static int setup(void **state)
{
	static struct fx f;
	struct stream_hub_config c = {0};

	memset(&f, 0, sizeof(f));
	memset(f.pub, 9, sizeof(f.pub));
	assert_int_equal(queue_init(&f.hs, 4, 64), 0);
	assert_int_equal(queue_init(&f.inbox, 4, sizeof(struct stream_pkt)), 0);
	assert_int_equal(ratelimit_init(&f.rl, 64, 10, 10, 1), 0);
	assert_int_equal(cookie_secrets_init(&f.cookie, 1, &rng_system), 0);
	c.server_pub = f.pub;
	c.max_streams = 4;
	c.ring_bytes = 4096;
	c.hs_queue = &f.hs;
	c.inboxes = &f.inbox;
	c.n_inboxes = 1;
	c.hs_proven = &f.rl;
	c.cookie = &f.cookie;
	c.pools = &f.pools;
	f.h = stream_hub_new(&c);
	assert_non_null(f.h);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	stream_hub_free(f->h);
	cookie_secrets_done(&f->cookie);
	ratelimit_done(&f->rl);
	queue_done(&f->inbox);
	queue_done(&f->hs);
	return 0;
}

static void test_send_to_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t c[STREAM_C_COUNT];
	uint8_t pkt[STREAM_PKT_MAX + 1] = {4};

	/* no connection has these ids: dropped, counted */
	assert_int_equal(stream_send(f->h, 1, pkt, 32), -EPIPE);
	assert_int_equal(stream_send(f->h, 5, pkt, 32), -EPIPE); /* slot 1 again */
	assert_int_equal(stream_send(f->h, 1, pkt, sizeof(pkt)), -EMSGSIZE);
	stream_hub_counts(f->h, c);
	assert_int_equal(c[STREAM_C_TX_GONE], 2);
	assert_int_equal(c[STREAM_C_TX_FULL], 1);
	assert_int_equal(c[STREAM_C_TX_PACKETS], 0);
	/* answers for streams that are not there (no front): nothing happens */
	stream_accept(f->h, 3, pkt, 32);
	stream_refuse(f->h, 3);
	assert_string_equal(stream_count_name(STREAM_C_TX_GONE), "tx_gone");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_endpoint),
	    cmocka_unit_test_setup_teardown(test_send_to_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
