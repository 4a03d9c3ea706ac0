/* The hybrid handshake between in-memory peers: success in every mode and
 * every rejection the design names, each checked to leave no state behind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/x25519.h"
#include "protocol/cookie.h"
#include "protocol/handshake.c" /* write_init's steps, for a bad ek */
#include "protocol/transport.h"
#include "util/endian.h"

#define S	(LL_NS_PER_S)
#define NOW	(UINT64_C(1764000000) * S) /* wall clock of the tests */
#define MONO	(UINT64_C(5000) * S)
#define N_USERS 3

struct user {
	uint8_t priv[32], pub[32], psk[32];
	struct handshake_peer peer; /* the server's view */
};

struct fx {
	uint8_t server_priv[32], server_pub[32];
	struct user users[N_USERS];
	struct handshake_responder resp;
	struct cookie_checker checker;
	struct handshake_initiator client;
	struct session_params params;
};

static const uint8_t src_a[] = {198, 51, 100, 7, 0xca, 0xfe};
static const uint8_t src_b[] = {198, 51, 100, 8, 0xca, 0xfe};

static struct handshake_peer *lookup(void *ctx, const uint8_t pub[static 32])
{
	struct fx *f = ctx;
	for (int i = 0; i < N_USERS; i++)
		if (memcmp(f->users[i].peer.public_key, pub, 32) == 0)
			return &f->users[i].peer;
	return NULL;
}

static void make_fixture(struct fx *f, enum kem_policy client_kem, enum kem_policy server_kem,
			 enum cipher_mode mode)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(x25519_keygen(f->server_priv, f->server_pub, &rng_system), 0);
	for (int i = 0; i < N_USERS; i++) {
		struct user *u = &f->users[i];
		assert_int_equal(x25519_keygen(u->priv, u->pub, &rng_system), 0);
		assert_int_equal(rng_fill(&rng_system, u->psk, 32), 0);
		assert_int_equal(handshake_peer_init(&u->peer, f->server_priv, u->pub, u->psk), 0);
	}
	assert_int_equal(handshake_responder_init(&f->resp, f->server_priv, server_kem, lookup, f),
			 0);
	assert_int_equal(cookie_checker_init(&f->checker, f->server_pub, MONO, &rng_system), 0);
	assert_int_equal(handshake_initiator_init(&f->client, f->users[0].priv, f->server_pub,
						  f->users[0].psk, client_kem),
			 0);
	f->params = (struct session_params){
	    .mode = mode,
	    .has_addr4 = true,
	    .addr4 = {10, 8, 0, 2},
	    .prefix4 = 24,
	    .has_addr6 = true,
	    .addr6 = {0xfd, 0x00, 0x8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
	    .prefix6 = 64,
	    .n_dns4 = 1,
	    .dns4 = {{10, 8, 0, 1}},
	    .mtu = 1400,
	    .keepalive_s = 25,
	    .rekey_time_s = 600,
	    .update_bytes = 5000000,
	};
}

static void free_fixture(struct fx *f)
{
	for (int i = 0; i < N_USERS; i++)
		handshake_peer_done(&f->users[i].peer);
	handshake_responder_done(&f->resp);
	cookie_checker_done(&f->checker);
	handshake_initiator_done(&f->client);
}

/* What a server does with one datagram carrying a message 1. */
enum served { SERVED_DROP, SERVED_COOKIE, SERVED_RESPONSE };

struct server_out {
	uint8_t buf[2048];
	size_t len;
	struct transport_keys keys;
	enum handshake_result result;
	struct session_params sent; /* what message 2 carried */
	bool cut;		    /* less than f->params: the rest goes in a CONFIG */
};

static enum served serve(struct fx *f, const uint8_t *msg, size_t len, const uint8_t *src,
			 bool under_load, uint64_t now, struct server_out *out)
{
	struct handshake_pending p;
	enum cookie_mac_state m = cookie_validate(&f->checker, msg, len, src, 6);
	out->result = HS_E_MAC;
	if (m == COOKIE_MAC_INVALID)
		return SERVED_DROP;
	if (m == COOKIE_MAC2_BAD || (under_load && m != COOKIE_MAC2_OK)) {
		assert_int_equal(cookie_reply_create(&f->checker, out->buf, msg, len,
						     le32_load(msg + INIT_OFF_SENDER), src, 6,
						     &rng_system),
				 0);
		out->len = COOKIE_REPLY_LEN;
		return SERVED_COOKIE;
	}
	out->result = handshake_consume_init(&f->resp, msg, len, now, &p);
	if (out->result != HS_OK)
		return SERVED_DROP;
	/* as the server does (admission.c): what fits, the rest in a CONFIG */
	assert_int_equal(
	    params_fit(&f->params, handshake_params_budget(&f->resp, &p), &out->sent, &out->cut),
	    0);
	out->result = handshake_create_response(&f->resp, &p, &out->sent, 0x5e5e0001, &rng_system,
						out->buf, sizeof(out->buf), &out->len, &out->keys);
	assert_int_equal(out->result, HS_OK);
	assert_true(out->len <= len); /* never an amplifier */
	return SERVED_RESPONSE;
}

static size_t make_init(struct fx *f, uint8_t *buf, uint64_t now)
{
	size_t len = 0;
	assert_int_equal(
	    handshake_create_init(&f->client, 0xc1c10001, now, MONO, &rng_system, buf, 2048, &len),
	    HS_OK);
	return len;
}

/* Both transports derived from the handshake carry a packet each way. */
static void check_keys_work(const struct transport_keys *ck, const struct transport_keys *sk)
{
	struct transport tc, ts;
	struct transport_limits lim;
	transport_limits_default(&lim);
	assert_int_equal(ck->mode, sk->mode);
	assert_memory_equal(ck->send_secret, sk->recv_secret, 32);
	assert_memory_equal(ck->recv_secret, sk->send_secret, 32);
	assert_memory_not_equal(ck->send_secret, ck->recv_secret, 32);
	assert_int_equal(ck->remote_index, sk->local_index);
	assert_int_equal(sk->remote_index, ck->local_index);
	assert_int_equal(transport_init(&tc, ck, &lim, MONO), 0);
	assert_int_equal(transport_init(&ts, sk, &lim, MONO), 0);
	uint8_t pkt[256] = {0};
	size_t len, plain;
	memcpy(pkt + TRANSPORT_HEADER_LEN, "\x45hello", 6);
	assert_int_equal(transport_seal(&tc, pkt, sizeof(pkt), 6, 1, &len, MONO), TRANSPORT_OK);
	assert_int_equal(transport_open(&ts, pkt, len, &plain, MONO), TRANSPORT_OK);
	assert_memory_equal(pkt + TRANSPORT_HEADER_LEN, "\x45hello", 6);
	assert_int_equal(transport_seal(&ts, pkt, sizeof(pkt), 6, 1, &len, MONO), TRANSPORT_OK);
	assert_int_equal(transport_open(&tc, pkt, len, &plain, MONO), TRANSPORT_OK);
	transport_done(&tc);
	transport_done(&ts);
}

/* A complete handshake; returns whether ML-KEM was used. */
static bool complete(struct fx *f, uint64_t now)
{
	uint8_t init[2048];
	struct server_out out;
	struct transport_keys ck;
	struct session_params got;
	size_t len = make_init(f, init, now);
	assert_int_equal(serve(f, init, len, src_a, false, now, &out), SERVED_RESPONSE);
	assert_int_equal(handshake_consume_response(&f->client, out.buf, out.len, &ck, &got),
			 HS_OK);
	assert_memory_equal(&got, &out.sent, sizeof(got));
	if (!out.cut)
		assert_memory_equal(&got, &f->params, sizeof(got));
	check_keys_work(&ck, &out.keys);
	return init[1] & MSG_FLAG_KEM && out.buf[1] & MSG_FLAG_KEM;
}

static void test_success_every_mode(void **state)
{
	(void)state;
	static const enum cipher_mode modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY,
						 CIPHER_CASCADE};
	static const enum kem_policy kems[] = {KEM_OFF, KEM_OPTIONAL, KEM_REQUIRED};
	struct fx f;
	for (size_t m = 0; m < 3; m++) {
		for (size_t k = 0; k < 3; k++) {
			make_fixture(&f, kems[k], kems[k], modes[m]);
			assert_int_equal(complete(&f, NOW), kems[k] != KEM_OFF);
			/* a second handshake of the same user works too (rekey) */
			assert_int_equal(complete(&f, NOW + S), kems[k] != KEM_OFF);
			free_fixture(&f);
		}
	}
}

static void test_message_sizes(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CASCADE);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(len, 1348);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	/* the client's message is the larger one even with the largest parameters */
	assert_true(handshake_response_len(true, MSG_PARAMS_MAX) <= len);
	assert_true(out.len < len);
	free_fixture(&f);
	make_fixture(&f, KEM_OFF, KEM_OPTIONAL, CIPHER_CASCADE);
	assert_int_equal(make_init(&f, init, NOW), 148);
	free_fixture(&f);
}

/* Every byte of message 1 flipped: refused, timestamp not advanced; the
 * untouched message is still accepted afterwards. */
static void test_init_bitflips(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048], saved_ts[TAI64N_LEN];
	struct server_out out;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	size_t len = make_init(&f, init, NOW);
	memcpy(saved_ts, f.users[0].peer.last_timestamp, TAI64N_LEN);
	for (size_t i = 0; i < len; i++) {
		init[i] ^= 0x01;
		enum served sv = serve(&f, init, len, src_a, false, NOW, &out);
		/* a flipped mac2 draws a cookie reply, never a handshake */
		assert_int_not_equal(sv, SERVED_RESPONSE);
		assert_memory_equal(f.users[0].peer.last_timestamp, saved_ts, TAI64N_LEN);
		init[i] ^= 0x01;
	}
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	free_fixture(&f);
}

/* Every byte of message 2 flipped: refused, client state intact. */
static void test_response_bitflips(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	struct transport_keys ck;
	struct session_params got;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_AES256GCM);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	for (size_t i = 0; i < out.len; i++) {
		out.buf[i] ^= 0x80;
		assert_int_not_equal(
		    handshake_consume_response(&f.client, out.buf, out.len, &ck, &got), HS_OK);
		out.buf[i] ^= 0x80;
	}
	assert_true(f.client.pending);
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got), HS_OK);
	check_keys_work(&ck, &out.keys);
	/* the same response again: nothing is in flight any more */
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got),
			 HS_E_UNEXPECTED);
	free_fixture(&f);
}

/* Recomputes mac1 as someone who knows the receiver's public key would, so
 * that what rejects a tampered message is the transcript, not mac1. */
static void remac(uint8_t *msg, size_t len, const uint8_t receiver_pub[static 32])
{
	uint8_t key[32];
	assert_int_equal(cookie_mac1_key(key, receiver_pub), 0);
	assert_int_equal(cookie_mac1(msg + len - 32, key, msg, len), 0);
}

static void test_kem_bound_into_transcript(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	struct handshake_pending p;
	struct transport_keys ck;
	struct session_params got;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CASCADE);
	size_t len = make_init(&f, init, NOW);
	/* one byte of the encapsulation key (and one of its tag) */
	for (size_t off = INIT_OFF_EK; off < INIT_OFF_EK + MSG_ENC_EK_LEN; off += 397) {
		init[off] ^= 0x10;
		remac(init, len, f.server_pub);
		assert_int_equal(handshake_consume_init(&f.resp, init, len, NOW, &p), HS_E_DECRYPT);
		init[off] ^= 0x10;
	}
	remac(init, len, f.server_pub);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	/* one byte of the ciphertext, mac1 recomputed for the client's key */
	for (size_t off = RESP_OFF_CT; off < RESP_OFF_CT + MSG_ENC_CT_LEN; off += 331) {
		out.buf[off] ^= 0x10;
		remac(out.buf, out.len, f.users[0].pub);
		assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got),
				 HS_E_DECRYPT);
		out.buf[off] ^= 0x10;
	}
	remac(out.buf, out.len, f.users[0].pub);
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got), HS_OK);
	free_fixture(&f);
}

static void test_wrong_psk(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	struct transport_keys ck;
	struct session_params got;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	f.users[0].peer.psk[0] ^= 1; /* the server holds another PSK for this user */
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got),
			 HS_E_DECRYPT);
	assert_true(f.client.pending);
	free_fixture(&f);
}

static void test_unknown_client(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048], priv[32], pub[32];
	struct server_out out;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	assert_int_equal(x25519_keygen(priv, pub, &rng_system), 0);
	handshake_initiator_done(&f.client);
	assert_int_equal(
	    handshake_initiator_init(&f.client, priv, f.server_pub, f.users[0].psk, KEM_REQUIRED),
	    0);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_DROP);
	assert_int_equal(out.result, HS_E_UNKNOWN_PEER);
	free_fixture(&f);
}

static void test_wrong_server_key(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048], priv[32], pub[32];
	struct server_out out;
	struct handshake_pending p;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	assert_int_equal(x25519_keygen(priv, pub, &rng_system), 0);
	handshake_initiator_done(&f.client);
	assert_int_equal(
	    handshake_initiator_init(&f.client, f.users[0].priv, pub, f.users[0].psk, KEM_REQUIRED),
	    0);
	size_t len = make_init(&f, init, NOW);
	/* without the real server key there is not even a valid mac1: no answer */
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_DROP);
	assert_int_equal(out.result, HS_E_MAC);
	/* and with mac1 forged, es does not match */
	remac(init, len, f.server_pub);
	assert_int_equal(handshake_consume_init(&f.resp, init, len, NOW, &p), HS_E_DECRYPT);
	free_fixture(&f);
}

static void test_replayed_init(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW + S, &out), SERVED_DROP);
	assert_int_equal(out.result, HS_E_REPLAY);
	/* an older one, captured earlier but delivered later, is refused too */
	uint8_t older[2048];
	size_t older_len = make_init(&f, older, NOW - 2 * S);
	size_t newer_len = make_init(&f, init, NOW + S);
	assert_int_equal(serve(&f, init, newer_len, src_a, false, NOW + S, &out), SERVED_RESPONSE);
	assert_int_equal(serve(&f, older, older_len, src_a, false, NOW + S, &out), SERVED_DROP);
	assert_int_equal(out.result, HS_E_REPLAY);
	free_fixture(&f);
}

/* A timestamp outside +-30 s is refused and NOT stored: storing a far-future
 * one would lock the user out (CVE-2021-46873). */
static void test_timestamp_window(void **state)
{
	(void)state;
	static const int64_t skews_s[] = {-31, 31, 3600, 365 * 86400, -365 * 86400};
	struct fx f;
	uint8_t init[2048], before[TAI64N_LEN];
	struct server_out out;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	memcpy(before, f.users[0].peer.last_timestamp, TAI64N_LEN);
	for (size_t i = 0; i < sizeof(skews_s) / sizeof(skews_s[0]); i++) {
		size_t len = make_init(&f, init, NOW + (uint64_t)(skews_s[i] * (int64_t)S));
		assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_DROP);
		assert_int_equal(out.result, HS_E_TIMESTAMP);
		assert_memory_equal(f.users[0].peer.last_timestamp, before, TAI64N_LEN);
	}
	/* inside the window either way is fine, and an honest handshake still works */
	size_t len = make_init(&f, init, NOW - 29 * S);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	assert_true(complete(&f, NOW));
	assert_true(complete(&f, NOW + 29 * S));
	free_fixture(&f);
}

static void test_cookie_under_load(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	struct transport_keys ck;
	struct session_params got;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_AES256GCM);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, true, NOW, &out), SERVED_COOKIE);
	assert_int_equal(out.len, COOKIE_REPLY_LEN);
	assert_true(out.len < len);
	/* the reply is only good for its own handshake */
	uint8_t reply[COOKIE_REPLY_LEN];
	memcpy(reply, out.buf, sizeof(reply));
	for (size_t i = 0; i < sizeof(reply); i++) {
		reply[i] ^= 0x02;
		assert_int_not_equal(
		    handshake_consume_cookie(&f.client, reply, sizeof(reply), MONO), HS_OK);
		reply[i] ^= 0x02;
	}
	assert_int_equal(handshake_consume_cookie(&f.client, reply, sizeof(reply), MONO), HS_OK);
	/* retransmission carries mac2, passes under load, completes */
	len = make_init(&f, init, NOW + S);
	assert_int_equal(serve(&f, init, len, src_a, true, NOW + S, &out), SERVED_RESPONSE);
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got), HS_OK);
	/* from another address the cookie is worthless */
	len = make_init(&f, init, NOW + 2 * S);
	assert_int_equal(serve(&f, init, len, src_b, true, NOW + 2 * S, &out), SERVED_COOKIE);
	free_fixture(&f);
}

static void test_kem_policies(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct server_out out;
	struct transport_keys ck;
	struct session_params got;
	/* qrl off on the client interoperates with a server that allows it */
	make_fixture(&f, KEM_OFF, KEM_OPTIONAL, CIPHER_CASCADE);
	assert_false(complete(&f, NOW));
	free_fixture(&f);
	/* a server with qrl off answers a KEM offer classically */
	make_fixture(&f, KEM_OPTIONAL, KEM_OFF, CIPHER_CASCADE);
	assert_false(complete(&f, NOW));
	free_fixture(&f);
	/* a server that requires ML-KEM refuses a client offering none */
	make_fixture(&f, KEM_OFF, KEM_REQUIRED, CIPHER_CASCADE);
	size_t len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_DROP);
	assert_int_equal(out.result, HS_E_KEM_REQUIRED);
	free_fixture(&f);
	/* a client that requires ML-KEM refuses a classical answer */
	make_fixture(&f, KEM_REQUIRED, KEM_OFF, CIPHER_CASCADE);
	len = make_init(&f, init, NOW);
	assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out), SERVED_RESPONSE);
	assert_int_equal(handshake_consume_response(&f.client, out.buf, out.len, &ck, &got),
			 HS_E_KEM_REQUIRED);
	free_fixture(&f);
}

/* docs/protocol.md §4: nothing the server sends in answer to a message 1
 * is longer than it, over every policy pair, mode and parameter list the
 * server can build (up to 4 + 4 DNS servers, both addresses, every
 * optional value); what message 2 leaves out is only DNS servers, and
 * only when the message 1 was classical. A cookie reply is shorter still. */
static void test_no_amplification(void **state)
{
	static const enum kem_policy pols[] = {KEM_OFF, KEM_OPTIONAL, KEM_REQUIRED};
	static const enum cipher_mode modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY,
						 CIPHER_CASCADE};
	uint8_t init[2048];
	struct server_out out;
	struct fx f;

	(void)state;
	for (unsigned c = 0; c < 3; c++)
		for (unsigned sv = 0; sv < 3; sv++)
			for (unsigned dns = 0; dns <= 8; dns += 2) {
				if ((pols[c] == KEM_OFF && pols[sv] == KEM_REQUIRED))
					continue; /* refused: nothing is sent */
				make_fixture(&f, pols[c], pols[sv], modes[dns % 3]);
				f.params.n_dns4 = (uint8_t)(dns < 4 ? dns : 4);
				f.params.n_dns6 = (uint8_t)(dns > 4 ? dns - 4 : 0);
				f.params.update_bytes = UINT64_MAX;
				f.params.rekey_time_s = UINT32_MAX;
				size_t len = make_init(&f, init, NOW);
				assert_int_equal(serve(&f, init, len, src_a, false, NOW, &out),
						 SERVED_RESPONSE);
				assert_true(out.len <= len);
				assert_int_equal(out.cut, dns > 0 && len == INIT_LEN_CLASSIC);
				assert_true(out.sent.n_dns4 + out.sent.n_dns6 <= dns);
				out.sent.n_dns4 = f.params.n_dns4;
				out.sent.n_dns6 = f.params.n_dns6;
				memcpy(out.sent.dns4, f.params.dns4, sizeof(f.params.dns4));
				memcpy(out.sent.dns6, f.params.dns6, sizeof(f.params.dns6));
				assert_memory_equal(&out.sent, &f.params, sizeof(out.sent));
				assert_int_equal(serve(&f, init, len, src_a, true, NOW, &out),
						 SERVED_COOKIE);
				assert_true(out.len < len);
				free_fixture(&f);
			}
}

/* A low-order ephemeral key (the all-zero DH) has its own reason, not
 * "decrypt-failed" (docs/protocol.md §3.2). */
static void test_low_order_ephemeral(void **state)
{
	static const uint8_t points[][32] = {{0}, {1}};
	uint8_t init[2048], key[32];
	struct handshake_pending p;
	struct fx f;

	(void)state;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	assert_int_equal(cookie_mac1_key(key, f.server_pub), 0);
	for (unsigned i = 0; i < 2; i++) {
		size_t len = make_init(&f, init, NOW);
		memcpy(init + INIT_OFF_EPHEMERAL, points[i], 32);
		assert_int_equal(cookie_mac1(init + len - 2 * MSG_MAC_LEN, key, init, len), 0);
		assert_int_not_equal(cookie_validate(&f.checker, init, len, src_a, 6),
				     COOKIE_MAC_INVALID);
		assert_int_equal(handshake_consume_init(&f.resp, init, len, NOW, &p),
				 HS_E_LOW_ORDER);
	}
	assert_string_equal(handshake_result_name(HS_E_LOW_ORDER), "low-order-key");
	free_fixture(&f);
}

/* A message 1 made as write_init does, but whose ML-KEM encapsulation
 * key fails the FIPS 203 §7.2 modulus check (its first 12-bit
 * coefficient is 4095 >= q); everything else is valid, the ek is
 * encrypted and authenticated, and the macs are right. */
static size_t make_init_bad_ek(struct fx *f, uint8_t *out)
{
	struct handshake_initiator *hs = &f->client;
	struct noise s = {0};
	uint8_t *p = out + INIT_OFF_EK;

	memset(out, 0, INIT_LEN_KEM);
	hs->kem_offered = true;
	put_header(out, MSG_HANDSHAKE_INIT, true);
	le32_store(out + INIT_OFF_SENDER, 0xc1c10002);
	assert_int_equal(noise_begin(&s, hs->base_ck, hs->base_h), 0);
	assert_int_equal(mix_hash(&s, out, MSG_HEADER_LEN), 0);
	/* e */
	assert_int_equal(x25519_keygen(hs->e_priv, hs->e_pub, &rng_system), 0);
	memcpy(out + INIT_OFF_EPHEMERAL, hs->e_pub, 32);
	assert_int_equal(mix_hash(&s, hs->e_pub, 32), 0);
	assert_int_equal(mix_key(&s, hs->e_pub, 32), 0);
	/* es */
	assert_int_equal(mix_dh(&s, hs->e_priv, hs->server.public_key), 0);
	/* s */
	memcpy(out + INIT_OFF_STATIC, hs->static_pub, 32);
	assert_int_equal(encrypt_and_hash(&s, out + INIT_OFF_STATIC, 32), 0);
	/* ss */
	assert_int_equal(mix_key(&s, hs->server.ss, 32), 0);
	/* ekem_pk, broken */
	assert_int_equal(mlkem768_keygen(p, hs->kem_dk, &rng_system), 0);
	p[0] = 0xff;
	p[1] |= 0x0f;
	assert_false(mlkem768_ek_is_valid(p, MLKEM768_EK_LEN));
	assert_int_equal(encrypt_and_hash(&s, p, MLKEM768_EK_LEN), 0);
	p += MSG_ENC_EK_LEN;
	/* {timestamp} */
	tai64n_encode(p, NOW);
	assert_int_equal(encrypt_and_hash(&s, p, TAI64N_LEN), 0);
	assert_int_equal(cookie_add_macs(&hs->cookie, out, INIT_LEN_KEM, MONO), 0);
	noise_end(&s);
	return INIT_LEN_KEM;
}

/* An ek that fails the modulus check is refused with its own reason, and
 * changes nothing (the user's timestamp is not advanced). */
static void test_bad_kem_key(void **state)
{
	uint8_t init[2048], before[TAI64N_LEN];
	struct handshake_pending p;
	struct fx f;

	(void)state;
	make_fixture(&f, KEM_REQUIRED, KEM_REQUIRED, CIPHER_CHACHAPOLY);
	memcpy(before, f.users[0].peer.last_timestamp, TAI64N_LEN);
	size_t len = make_init_bad_ek(&f, init);
	assert_int_not_equal(cookie_validate(&f.checker, init, len, src_a, 6), COOKIE_MAC_INVALID);
	assert_int_equal(handshake_consume_init(&f.resp, init, len, NOW, &p), HS_E_KEM_KEY);
	assert_memory_equal(f.users[0].peer.last_timestamp, before, TAI64N_LEN);
	assert_string_equal(handshake_result_name(HS_E_KEM_KEY), "bad-kem-key");
	free_fixture(&f);
}

static void test_malformed_lengths(void **state)
{
	(void)state;
	struct fx f;
	uint8_t init[2048];
	struct handshake_pending p;
	make_fixture(&f, KEM_REQUIRED, KEM_OPTIONAL, CIPHER_CASCADE);
	size_t len = make_init(&f, init, NOW);
	for (size_t cut = 0; cut < len; cut += 37)
		assert_int_equal(handshake_consume_init(&f.resp, init, cut, NOW, &p),
				 HS_E_MALFORMED);
	/* the KEM flag must match the length */
	init[1] = 0;
	assert_int_equal(handshake_consume_init(&f.resp, init, len, NOW, &p), HS_E_MALFORMED);
	free_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success_every_mode),
	    cmocka_unit_test(test_message_sizes),
	    cmocka_unit_test(test_init_bitflips),
	    cmocka_unit_test(test_response_bitflips),
	    cmocka_unit_test(test_kem_bound_into_transcript),
	    cmocka_unit_test(test_wrong_psk),
	    cmocka_unit_test(test_unknown_client),
	    cmocka_unit_test(test_wrong_server_key),
	    cmocka_unit_test(test_replayed_init),
	    cmocka_unit_test(test_timestamp_window),
	    cmocka_unit_test(test_cookie_under_load),
	    cmocka_unit_test(test_kem_policies),
	    cmocka_unit_test(test_malformed_lengths),
	    cmocka_unit_test(test_no_amplification),
	    cmocka_unit_test(test_low_order_ephemeral),
	    cmocka_unit_test(test_bad_kem_key),
	};
	return cmocka_run_group_tests_name("handshake", tests, NULL, NULL);
}
