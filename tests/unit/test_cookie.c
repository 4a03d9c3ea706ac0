/* MAC1 / MAC2 / cookie replies (WireGuard's scheme over HMAC-SHA256). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/x25519.h"
#include "protocol/cookie.h"
#include "util/endian.h"

#define S (LL_NS_PER_S)

struct fx {
	uint8_t server_priv[32], server_pub[32];
	struct cookie_checker checker;
	struct cookie_maker maker;
	uint8_t msg[148];
};

static const uint8_t src_a[] = {192, 0, 2, 1, 0x12, 0x34};
static const uint8_t src_b[] = {192, 0, 2, 2, 0x12, 0x34};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(x25519_keygen(f.server_priv, f.server_pub, &rng_system), 0);
	assert_int_equal(cookie_checker_init(&f.checker, f.server_pub, 1000 * S, &rng_system), 0);
	assert_int_equal(cookie_maker_init(&f.maker, f.server_pub), 0);
	for (size_t i = 0; i < sizeof(f.msg); i++)
		f.msg[i] = (uint8_t)i;
	f.msg[0] = MSG_HANDSHAKE_INIT;
	*state = &f;
	return 0;
}

static void get_cookie(struct fx *f, const uint8_t *src, size_t src_len, uint64_t now)
{
	uint8_t reply[COOKIE_REPLY_LEN];
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), now), 0);
	assert_int_equal(cookie_reply_create(&f->checker, reply, f->msg, sizeof(f->msg), 7, src,
					     src_len, &rng_system),
			 0);
	assert_int_equal(le32_load(reply + COOKIE_OFF_RECEIVER), 7);
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), now), 0);
}

static void test_mac1_only(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1000 * S), 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC1_ONLY);
	/* every byte before mac2 is covered by mac1 */
	for (size_t i = 0; i < sizeof(f->msg) - MSG_MAC_LEN; i++) {
		f->msg[i] ^= 0x20;
		assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
				 COOKIE_MAC_INVALID);
		f->msg[i] ^= 0x20;
	}
	assert_int_equal(cookie_validate(&f->checker, f->msg, 31, src_a, 6), COOKIE_MAC_INVALID);
}

static void test_wrong_server_key(void **state)
{
	struct fx *f = *state;
	uint8_t other_priv[32], other_pub[32];
	struct cookie_maker wrong;
	assert_int_equal(x25519_keygen(other_priv, other_pub, &rng_system), 0);
	assert_int_equal(cookie_maker_init(&wrong, other_pub), 0);
	assert_int_equal(cookie_add_macs(&wrong, f->msg, sizeof(f->msg), 1000 * S), 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC_INVALID);
	cookie_maker_done(&wrong);
}

static void test_cookie_round_trip(void **state)
{
	struct fx *f = *state;
	get_cookie(f, src_a, 6, 1000 * S);
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1001 * S), 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC2_OK);
	/* the cookie is bound to the source address */
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_b, 6),
			 COOKIE_MAC2_BAD);
	/* a flipped mac2 is not silently accepted */
	f->msg[sizeof(f->msg) - 1] ^= 1;
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC2_BAD);
}

static void test_secret_rotation(void **state)
{
	struct fx *f = *state;
	get_cookie(f, src_a, 6, 1000 * S);
	/* one rotation: the previous secret still verifies */
	assert_int_equal(cookie_checker_tick(&f->checker, 1121 * S, &rng_system), 0);
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1100 * S), 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC2_OK);
	/* two rotations: it does not */
	assert_int_equal(cookie_checker_tick(&f->checker, 1242 * S, &rng_system), 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC2_BAD);
}

static void test_client_cookie_expires(void **state)
{
	struct fx *f = *state;
	get_cookie(f, src_a, 6, 1000 * S);
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg),
					 (1000 + LL_COOKIE_CLIENT_MAX_AGE) * S),
			 0);
	assert_int_equal(cookie_validate(&f->checker, f->msg, sizeof(f->msg), src_a, 6),
			 COOKIE_MAC1_ONLY);
}

static void test_reply_tampering(void **state)
{
	struct fx *f = *state;
	uint8_t reply[COOKIE_REPLY_LEN];
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1000 * S), 0);
	assert_int_equal(cookie_reply_create(&f->checker, reply, f->msg, sizeof(f->msg), 7, src_a,
					     6, &rng_system),
			 0);
	for (size_t i = 0; i < sizeof(reply); i++) {
		if (i >= COOKIE_OFF_RECEIVER && i < COOKIE_OFF_NONCE)
			continue; /* the index is matched by the caller, not authenticated */
		reply[i] ^= 0x04;
		assert_int_not_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), 0), 0);
		reply[i] ^= 0x04;
	}
	assert_false(f->maker.has_cookie);
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), 0), 0);
	/* a reply is good for the one message it answers */
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), 0), -EINVAL);
	/* a reply to a message we did not send last is refused */
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1000 * S), 0);
	f->msg[5] ^= 1;
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), 1000 * S), 0);
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), 0), -EBADMSG);
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply) - 1, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_mac1_only, setup),
	    cmocka_unit_test_setup(test_wrong_server_key, setup),
	    cmocka_unit_test_setup(test_cookie_round_trip, setup),
	    cmocka_unit_test_setup(test_secret_rotation, setup),
	    cmocka_unit_test_setup(test_client_cookie_expires, setup),
	    cmocka_unit_test_setup(test_reply_tampering, setup),
	};
	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
