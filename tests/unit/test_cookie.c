/* MAC1 / MAC2 / cookie replies (WireGuard's scheme over HMAC-SHA256), and
 * the server's one cookie secret seen by several workers' checkers. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
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

/* ---- one secret, several workers' views ---- */

struct shared_fx {
	uint8_t server_priv[32], server_pub[32];
	struct cookie_secrets secrets;
	struct cookie_checker a, b; /* worker A's and worker B's views */
	struct cookie_maker maker;
	uint8_t msg[148];
};

static void shared_setup(struct shared_fx *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(x25519_keygen(f->server_priv, f->server_pub, &rng_system), 0);
	assert_int_equal(cookie_secrets_init(&f->secrets, 1000 * S, &rng_system), 0);
	assert_int_equal(cookie_checker_init_shared(&f->a, f->server_pub, &f->secrets), 0);
	assert_int_equal(cookie_checker_init_shared(&f->b, f->server_pub, &f->secrets), 0);
	assert_int_equal(cookie_maker_init(&f->maker, f->server_pub), 0);
	for (size_t i = 0; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)(i * 7);
	f->msg[0] = MSG_HANDSHAKE_INIT;
}

static void shared_teardown(struct shared_fx *f)
{
	cookie_checker_done(&f->a);
	cookie_checker_done(&f->b);
	cookie_secrets_done(&f->secrets);
	cookie_maker_done(&f->maker);
}

/* The client gets a cookie reply from `from`, then sends its message again
 * with mac2 (at time now). */
static void cookie_from(struct shared_fx *f, const struct cookie_checker *from, uint64_t now)
{
	uint8_t reply[COOKIE_REPLY_LEN];

	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), now), 0);
	assert_int_equal(
	    cookie_reply_create(from, reply, f->msg, sizeof(f->msg), 9, src_a, 6, &rng_system), 0);
	assert_int_equal(cookie_maker_consume(&f->maker, reply, sizeof(reply), now), 0);
	assert_int_equal(cookie_add_macs(&f->maker, f->msg, sizeof(f->msg), now), 0);
}

static enum cookie_mac_state check(struct shared_fx *f, const struct cookie_checker *c)
{
	return cookie_validate(c, f->msg, sizeof(f->msg), src_a, 6);
}

/* A cookie made by worker A validates at worker B and back; a checker with
 * a secret of its own (a worker that did not share) refuses it. */
static void test_shared_views(void **state)
{
	struct shared_fx f;
	struct cookie_checker alone;

	(void)state;
	shared_setup(&f);
	cookie_from(&f, &f.a, 1000 * S);
	assert_int_equal(check(&f, &f.b), COOKIE_MAC2_OK);
	assert_int_equal(check(&f, &f.a), COOKIE_MAC2_OK);
	cookie_from(&f, &f.b, 1001 * S);
	assert_int_equal(check(&f, &f.a), COOKIE_MAC2_OK);
	assert_int_equal(cookie_checker_init(&alone, f.server_pub, 1000 * S, &rng_system), 0);
	assert_int_equal(check(&f, &alone), COOKIE_MAC2_BAD);
	/* a checker may be copied: a copy of a view is the same view */
	alone = f.a;
	assert_int_equal(check(&f, &alone), COOKIE_MAC2_OK);
	cookie_checker_done(&alone);
	shared_teardown(&f);
}

/* The shared secret rotates every LL_COOKIE_SECRET_MAX_AGE s whichever view
 * (or the owner) ticks: after one rotation a cookie from A still validates
 * at B; after two it validates nowhere. Wiping a view leaves the secret. */
static void test_shared_rotation(void **state)
{
	struct shared_fx f;
	const uint64_t age = LL_COOKIE_SECRET_MAX_AGE * S;

	(void)state;
	shared_setup(&f);
	cookie_from(&f, &f.a, 1000 * S);
	assert_int_equal(cookie_secrets_tick(&f.secrets, 1000 * S + age - 1, &rng_system), 0);
	assert_int_equal(check(&f, &f.b), COOKIE_MAC2_OK); /* too early: no rotation */
	assert_int_equal(f.secrets.has_prev, 0);
	assert_int_equal(cookie_secrets_tick(&f.secrets, 1000 * S + age, &rng_system), 0);
	assert_int_equal(f.secrets.has_prev, 1);
	assert_int_equal(check(&f, &f.b), COOKIE_MAC2_OK); /* the previous secret */
	assert_int_equal(check(&f, &f.a), COOKIE_MAC2_OK);
	/* ticking through a view rotates the one secret for every view */
	assert_int_equal(cookie_checker_tick(&f.b, 1000 * S + 2 * age, &rng_system), 0);
	assert_int_equal(check(&f, &f.a), COOKIE_MAC2_BAD);
	assert_int_equal(check(&f, &f.b), COOKIE_MAC2_BAD);
	/* a fresh cookie works again, and survives a view being wiped */
	cookie_from(&f, &f.b, 1000 * S + 2 * age);
	cookie_checker_done(&f.b);
	assert_int_equal(check(&f, &f.a), COOKIE_MAC2_OK);
	assert_int_equal(f.secrets.seq, 4); /* two rotations, each seq += 2 */
	shared_teardown(&f);
}

/* Secrets whose every byte is one value: generation g has byte g & 0xff, so
 * a reader mixing two generations' words would produce a secret no message
 * was made for. */
static int fill_gen(void *ctx, uint8_t *out, size_t len)
{
	memset(out, (int)(*(uint64_t *)ctx & 0xff), len);
	return 0;
}

#define GENS 256

struct race {
	struct shared_fx *f;
	uint8_t msgs[GENS][148]; /* message with mac2 for secret generation g */
	uint64_t gen;		 /* last generation published, atomic */
	uint64_t validations;	 /* done by the reader, atomic */
	uint64_t rotations;
	bool failed;
	unsigned checked, torn;
};

static void *rotator(void *arg)
{
	struct race *r = arg;
	uint64_t g = 0;
	struct rng rng = {fill_gen, &g};
	const uint64_t age = LL_COOKIE_SECRET_MAX_AGE * S;

	uint64_t spin = 1;

	for (uint64_t i = 1; i <= r->rotations; i++) {
		/* let the reader finish a validation, then land somewhere in its next */
		while (__atomic_load_n(&r->validations, __ATOMIC_ACQUIRE) < i)
			sched_yield();
		spin = spin * 6364136223846793005u + 1442695040888963407u;
		for (volatile unsigned k = (unsigned)(spin >> 53); k > 0; k--)
			;
		g = i;
		if (cookie_secrets_tick(&r->f->secrets, 1000 * S + i * age, &rng) < 0)
			r->failed = true; /* no cmocka assertion outside the test's thread */
		__atomic_store_n(&r->gen, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Worker B validates while the control thread rotates the secret, each
 * rotation landing at a random point of a validation. A message made for
 * the generation just published must validate unless two more rotations
 * happened meanwhile. A stress test (for the sanitizers and helgrind as
 * much as for its own check): a reader's window is a few nanoseconds, so
 * on a busy 2-CPU machine it seldom catches a broken reader; the test
 * below does, every time. */
static void test_shared_rotation_race(void **state)
{
	static struct race r;
	static struct shared_fx f;
	uint64_t g0 = 0;
	struct rng rng0 = {fill_gen, &g0};
	pthread_t t;

	(void)state;
	shared_setup(&f);
	cookie_secrets_done(&f.secrets);
	assert_int_equal(cookie_secrets_init(&f.secrets, 1000 * S, &rng0), 0);
	memset(&r, 0, sizeof(r));
	r.f = &f;
	r.rotations = 20000;
	for (unsigned g = 0; g < GENS; g++) {
		struct cookie_checker one;
		uint64_t gg = g;
		struct rng rng = {fill_gen, &gg};
		assert_int_equal(cookie_checker_init(&one, f.server_pub, 0, &rng), 0);
		cookie_from(&f, &one, 1000 * S);
		memcpy(r.msgs[g], f.msg, sizeof(f.msg));
		cookie_checker_done(&one);
	}
	assert_int_equal(pthread_create(&t, NULL, rotator, &r), 0);
	for (;;) {
		uint64_t g = __atomic_load_n(&r.gen, __ATOMIC_ACQUIRE);
		enum cookie_mac_state m =
		    cookie_validate(&f.b, r.msgs[g % GENS], sizeof(f.msg), src_a, 6);
		if (__atomic_load_n(&r.gen, __ATOMIC_ACQUIRE) <= g + 1) {
			r.checked++;
			r.torn += m != COOKIE_MAC2_OK;
		}
		__atomic_add_fetch(&r.validations, 1, __ATOMIC_RELEASE);
		if (g == r.rotations)
			break;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(r.failed);
	print_message("%u validations during %llu rotations, %u refused\n", r.checked,
		      (unsigned long long)r.rotations, r.torn);
	assert_int_equal(r.torn, 0);
	assert_true(r.checked > 0);
	assert_int_equal(f.secrets.seq, 2 * r.rotations);
	shared_teardown(&f);
}

/* An expired secret is overwritten in place, not left behind; done wipes
 * the rest. */
static void test_secrets_wiped(void **state)
{
	struct cookie_secrets secrets;
	uint64_t g = 0x11;
	struct rng rng = {fill_gen, &g};
	const uint64_t age = LL_COOKIE_SECRET_MAX_AGE * S;
	uint8_t first[32], zero[sizeof(secrets)] = {0};

	(void)state;
	memset(first, 0x11, sizeof(first));
	assert_int_equal(cookie_secrets_init(&secrets, 1000 * S, &rng), 0);
	assert_memory_equal(secrets.words, first, 32);
	g = 0x22;
	assert_int_equal(cookie_secrets_tick(&secrets, 1000 * S + age, &rng), 0);
	assert_memory_equal(secrets.words + 4, first, 32); /* still accepted */
	g = 0x33;
	assert_int_equal(cookie_secrets_tick(&secrets, 1000 * S + 2 * age, &rng), 0);
	assert_null(memmem(&secrets, sizeof(secrets), first, 8));
	cookie_secrets_done(&secrets);
	assert_memory_equal(&secrets, zero, sizeof(secrets));
}

#define TICKERS 2
#define TICKS	1000

struct ticker {
	struct cookie_secrets *secrets;
	pthread_barrier_t *barrier;
	unsigned bad_seq; /* rounds that did not end with exactly one rotation */
};

/* Draws a secret once every ticker has: all of them are past the age check
 * before any of them can rotate. */
static int fill_together(void *ctx, uint8_t *out, size_t len)
{
	pthread_barrier_wait(ctx);
	return rng_fill(&rng_system, out, len);
}

static void *tick_rounds(void *arg)
{
	struct ticker *t = arg;
	const uint64_t age = LL_COOKIE_SECRET_MAX_AGE * S;
	struct rng together = {fill_together, t->barrier};

	for (uint64_t k = 1; k <= TICKS; k++) {
		pthread_barrier_wait(t->barrier);
		(void)cookie_secrets_tick(t->secrets, 1000 * S + k * age, &together);
		pthread_barrier_wait(t->barrier);
		t->bad_seq += __atomic_load_n(&t->secrets->seq, __ATOMIC_ACQUIRE) != 2 * k;
		pthread_barrier_wait(t->barrier);
	}
	return NULL;
}

/* Two threads whose clocks both say the secret expired: one rotation, not
 * two (which would throw away the previous secret early). */
static void test_two_tickers(void **state)
{
	struct cookie_secrets secrets;
	pthread_barrier_t barrier;
	struct ticker t[TICKERS];
	pthread_t th[TICKERS];

	(void)state;
	assert_int_equal(cookie_secrets_init(&secrets, 1000 * S, &rng_system), 0);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, TICKERS), 0);
	for (int i = 0; i < TICKERS; i++) {
		t[i] = (struct ticker){.secrets = &secrets, .barrier = &barrier};
		assert_int_equal(pthread_create(&th[i], NULL, tick_rounds, &t[i]), 0);
	}
	for (int i = 0; i < TICKERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].bad_seq, 0);
	}
	assert_int_equal(secrets.seq, 2 * TICKS);
	pthread_barrier_destroy(&barrier);
	cookie_secrets_done(&secrets);
}

struct waiter {
	const struct cookie_checker *c;
	const uint8_t *msg;
	enum cookie_mac_state result;
	bool done; /* atomic */
};

static void *validate_in_thread(void *arg)
{
	struct waiter *w = arg;

	w->result = cookie_validate(w->c, w->msg, 148, src_a, 6);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A reader that meets a rotation half done (seq odd, the new secret half
 * written) waits for it and then sees the whole new secret: it neither
 * returns early nor validates against a torn secret. */
static void test_shared_reader_waits(void **state)
{
	static struct shared_fx f;
	uint64_t g = 0;
	struct rng rng = {fill_gen, &g};
	struct cookie_checker gen1;
	struct waiter w = {0};
	pthread_t t;
	uint64_t new_word;

	(void)state;
	shared_setup(&f);
	cookie_secrets_done(&f.secrets);
	assert_int_equal(cookie_secrets_init(&f.secrets, 1000 * S, &rng), 0); /* bytes 00 */
	g = 1;
	assert_int_equal(cookie_checker_init(&gen1, f.server_pub, 0, &rng), 0); /* bytes 01 */
	cookie_from(&f, &gen1, 1000 * S);
	assert_int_equal(check(&f, &f.b), COOKIE_MAC2_BAD);
	memset(&new_word, 1, sizeof(new_word));
	/* the writer, stopped half way */
	__atomic_store_n(&f.secrets.seq, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		__atomic_store_n(&f.secrets.words[4 + i], f.secrets.words[i], __ATOMIC_RELAXED);
	__atomic_store_n(&f.secrets.words[0], new_word, __ATOMIC_RELAXED);
	__atomic_store_n(&f.secrets.words[1], new_word, __ATOMIC_RELAXED);
	w = (struct waiter){.c = &f.b, .msg = f.msg};
	assert_int_equal(pthread_create(&t, NULL, validate_in_thread, &w), 0);
	nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
	assert_false(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	/* the writer finishes */
	__atomic_store_n(&f.secrets.words[2], new_word, __ATOMIC_RELAXED);
	__atomic_store_n(&f.secrets.words[3], new_word, __ATOMIC_RELAXED);
	__atomic_store_n(&f.secrets.has_prev, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f.secrets.seq, 2, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.result, COOKIE_MAC2_OK);
	cookie_checker_done(&gen1);
	shared_teardown(&f);
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
	    cmocka_unit_test(test_shared_views),
	    cmocka_unit_test(test_shared_rotation),
	    cmocka_unit_test(test_shared_rotation_race),
	    cmocka_unit_test(test_shared_reader_waits),
	    cmocka_unit_test(test_secrets_wiped),
	    cmocka_unit_test(test_two_tickers),
	};
	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
