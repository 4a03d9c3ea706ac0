/* The worked example of docs/protocol.md: fixed keys and seeds -> message 1,
 * message 2 and the first data packet. The expected bytes are read from the
 * document itself (fenced blocks tagged ```hex <name>), so the spec and the
 * code cannot drift apart. Of the intermediate values §9 lists, this checks
 * those the C API exposes (public functions and the public fields of the
 * handshake structs: the initial state, the state after message 1, the
 * random draws, DH results, ML-KEM values, mac1 keys, the parameter TLVs,
 * the traffic secrets, the cascade's inner layer) and checks the per-direction
 * AEAD keys by what they seal; the ck/h/k after each token, which stay inside
 * handshake.c, are checked by tests/interop/verify_spec.py.
 * `test_worked_example --print` emits the blocks; `--corpus
 * tests/fuzz/corpus` writes seed inputs for the fuzz targets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/aead.h"
#include "crypto/cipher.h"
#include "crypto/mlkem.h"
#include "protocol/cookie.h"
#include "protocol/handshake.h"
#include "protocol/tai64n.h"
#include "protocol/transport.h"
#include "testutil.h"
#include "util/hex.h"

#define EX_UNIX_NS    (UINT64_C(1764000000) * LL_NS_PER_S) /* 2025-11-24T16:00:00Z */
#define EX_CLIENT_IDX 0x3c1e0001u
#define EX_SERVER_IDX 0x5e7e0001u

struct example {
	uint8_t server_priv[32], server_pub[32], client_priv[32], client_pub[32], psk[32];
	uint8_t msg1[INIT_LEN_KEM], msg2[RESP_LEN_MAX], data[128];
	size_t msg1_len, msg2_len, data_len;
	struct transport_keys ck, sk;
	/* intermediate values, from the public API (see the top of the file) */
	uint8_t ck0[32], h0[32];
	uint8_t client_e_draw[32], mlkem_d[32], mlkem_z[32], server_e_draw[32], mlkem_m[32];
	uint8_t dh_es[32], dh_ss[32], dh_ee[32], dh_se[32];
	uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN], kem_ss[32];
	uint8_t timestamp[TAI64N_LEN];
	uint8_t ck_msg1[32], h_msg1[32]; /* the initiator's state after message 1 */
	uint8_t mac1_key_server[32], mac1_key_client[32];
	uint8_t params[MSG_PARAMS_MAX], data_aes[64];
	size_t params_len;
};

static struct handshake_peer ex_peer;

static struct handshake_peer *lookup(void *ctx, const uint8_t pub[static 32])
{
	(void)ctx;
	return memcmp(pub, ex_peer.public_key, 32) == 0 ? &ex_peer : NULL;
}

static struct session_params example_params(void)
{
	return (struct session_params){
	    .mode = CIPHER_CASCADE,
	    .has_addr4 = true,
	    .addr4 = {10, 8, 0, 2},
	    .prefix4 = 24,
	    .has_addr6 = true,
	    .addr6 = {0xfd, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02},
	    .prefix6 = 64,
	    .n_dns4 = 1,
	    .dns4 = {{10, 8, 0, 1}},
	    .mtu = 1400,
	    .keepalive_s = 25,
	    .rekey_time_s = 600,
	    .update_bytes = 5000000,
	};
}

/* ICMP echo request 10.8.0.2 -> 10.8.0.1, id 1, seq 1, payload "LostLove". */
static const uint8_t ping[36] = {
    0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x40, 0x00, 0x40, 0x01, 0x26, 0xc6,
    0x0a, 0x08, 0x00, 0x02, 0x0a, 0x08, 0x00, 0x01, 0x08, 0x00, 0x75, 0x45,
    0x00, 0x01, 0x00, 0x01, 'L',  'o',	's',  't',  'L',  'o',	'v',  'e',
};

static void fill(uint8_t *b, uint8_t v)
{
	memset(b, v, 32);
}

/* The first n bytes of the deterministic stream of a 32-byte seed of v. */
static void draw(uint8_t *out, size_t n, uint8_t v)
{
	struct rng_det d;
	uint8_t seed[32];
	fill(seed, v);
	rng_det_init(&d, seed);
	struct rng r = rng_det_as_rng(&d);
	assert_int_equal(rng_fill(&r, out, n), 0);
}

/* The inner AES-256-GCM layer of the cascade for the first data packet: the
 * same padded plaintext and header, sealed in mode AES256GCM. */
static void seal_inner_layer(struct example *ex)
{
	struct cipher c;
	uint8_t buf[48 + AEAD_TAG_LEN] = {0};
	memcpy(buf, ping, sizeof(ping));
	assert_int_equal(cipher_init(&c, CIPHER_AES256GCM, ex->ck.send_secret), 0);
	assert_int_equal(cipher_seal(&c, 0, ex->data, TRANSPORT_HEADER_LEN, buf, 48), 0);
	memcpy(ex->data_aes, buf, sizeof(ex->data_aes));
	cipher_done(&c);
}

static void run_example_kem(struct example *ex, enum kem_policy kem)
{
	struct handshake_initiator client;
	struct handshake_responder resp;
	struct handshake_pending pending;
	struct session_params params = example_params(), got;
	struct rng_det cd, sd;
	uint8_t seed[32];
	fill(ex->server_priv, 0x11);
	fill(ex->client_priv, 0x22);
	fill(ex->psk, 0x33);
	assert_int_equal(x25519_public(ex->server_pub, ex->server_priv), 0);
	assert_int_equal(x25519_public(ex->client_pub, ex->client_priv), 0);
	fill(seed, 0x44);
	rng_det_init(&cd, seed);
	fill(seed, 0x55);
	rng_det_init(&sd, seed);
	struct rng crng = rng_det_as_rng(&cd), srng = rng_det_as_rng(&sd);

	assert_int_equal(
	    handshake_initiator_init(&client, ex->client_priv, ex->server_pub, ex->psk, kem), 0);
	assert_int_equal(handshake_peer_init(&ex_peer, ex->server_priv, ex->client_pub, ex->psk),
			 0);
	assert_int_equal(handshake_responder_init(&resp, ex->server_priv, kem, lookup, NULL), 0);
	memcpy(ex->ck0, client.base_ck, 32);
	memcpy(ex->h0, client.base_h, 32);
	assert_memory_equal(resp.base_ck, ex->ck0, 32);
	assert_memory_equal(resp.base_h, ex->h0, 32);
	memcpy(ex->dh_ss, client.server.ss, 32);
	assert_memory_equal(ex_peer.ss, ex->dh_ss, 32);
	assert_int_equal(handshake_create_init(&client, EX_CLIENT_IDX, EX_UNIX_NS, 0, &crng,
					       ex->msg1, sizeof(ex->msg1), &ex->msg1_len),
			 HS_OK);
	memcpy(ex->ck_msg1, client.ck, 32);
	memcpy(ex->h_msg1, client.h, 32);
	memcpy(ex->dk, client.kem_dk, sizeof(ex->dk));
	assert_int_equal(x25519_shared(ex->dh_es, client.e_priv, ex->server_pub), 0);
	assert_int_equal(
	    handshake_consume_init(&resp, ex->msg1, ex->msg1_len, EX_UNIX_NS, &pending), HS_OK);
	/* the responder reaches the same state and values */
	assert_memory_equal(pending.ck, ex->ck_msg1, 32);
	assert_memory_equal(pending.h, ex->h_msg1, 32);
	assert_memory_equal(pending.e_remote, client.e_pub, 32);
	memcpy(ex->timestamp, pending.timestamp, sizeof(ex->timestamp));
	memcpy(ex->ek, pending.ek, sizeof(ex->ek));
	assert_int_equal(handshake_create_response(&resp, &pending, &params, EX_SERVER_IDX, &srng,
						   ex->msg2, sizeof(ex->msg2), &ex->msg2_len,
						   &ex->sk),
			 HS_OK);
	/* what the initiator computes from message 2 before consuming it */
	uint8_t mirror[32];
	assert_int_equal(x25519_shared(ex->dh_ee, client.e_priv, ex->msg2 + RESP_OFF_EPHEMERAL), 0);
	assert_int_equal(x25519_shared(ex->dh_se, ex->client_priv, ex->msg2 + RESP_OFF_EPHEMERAL),
			 0);
	assert_int_equal(handshake_consume_response(&client, ex->msg2, ex->msg2_len, &ex->ck, &got),
			 HS_OK);
	assert_memory_equal(ex->sk.recv_secret, ex->ck.send_secret, 32);
	assert_memory_equal(ex->sk.send_secret, ex->ck.recv_secret, 32);

	/* the random draws, and the DH results as the other side computes them */
	uint8_t stream[96];
	draw(stream, sizeof(stream), 0x44); /* e_i || d || z */
	memcpy(ex->client_e_draw, stream, 32);
	memcpy(ex->mlkem_d, stream + 32, 32);
	memcpy(ex->mlkem_z, stream + 64, 32);
	draw(stream, 64, 0x55); /* e_r || m */
	memcpy(ex->server_e_draw, stream, 32);
	memcpy(ex->mlkem_m, stream + 32, 32);
	assert_int_equal(x25519_public(mirror, ex->client_e_draw), 0);
	assert_memory_equal(mirror, ex->msg1 + INIT_OFF_EPHEMERAL, 32);
	assert_int_equal(x25519_public(mirror, ex->server_e_draw), 0);
	assert_memory_equal(mirror, ex->msg2 + RESP_OFF_EPHEMERAL, 32);
	assert_int_equal(x25519_shared(mirror, ex->server_priv, ex->msg1 + INIT_OFF_EPHEMERAL), 0);
	assert_memory_equal(mirror, ex->dh_es, 32);
	assert_int_equal(x25519_shared(mirror, ex->server_e_draw, ex->msg1 + INIT_OFF_EPHEMERAL),
			 0);
	assert_memory_equal(mirror, ex->dh_ee, 32);
	assert_int_equal(x25519_shared(mirror, ex->server_e_draw, ex->client_pub), 0);
	assert_memory_equal(mirror, ex->dh_se, 32);
	if (kem != KEM_OFF) {
		static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
		mlkem768_keygen_internal(ek, dk, ex->mlkem_d, ex->mlkem_z);
		assert_memory_equal(ek, ex->ek, sizeof(ek));
		assert_memory_equal(dk, ex->dk, sizeof(dk));
		assert_int_equal(mlkem768_encaps_internal(ex->ct, ex->kem_ss, ex->ek, ex->mlkem_m),
				 0);
		mlkem768_decaps(mirror, ex->ct, ex->dk);
		assert_memory_equal(mirror, ex->kem_ss, 32);
	}
	uint8_t ts[TAI64N_LEN];
	tai64n_encode(ts, EX_UNIX_NS);
	assert_memory_equal(ts, ex->timestamp, sizeof(ts));
	assert_int_equal(cookie_mac1_key(ex->mac1_key_server, ex->server_pub), 0);
	assert_int_equal(cookie_mac1_key(ex->mac1_key_client, ex->client_pub), 0);
	assert_int_equal(params_encode(&params, ex->params, sizeof(ex->params), &ex->params_len),
			 0);

	struct transport t;
	struct transport_limits lim;
	transport_limits_default(&lim);
	assert_int_equal(transport_init(&t, &ex->ck, &lim, 0), 0);
	memcpy(ex->data + TRANSPORT_HEADER_LEN, ping, sizeof(ping));
	assert_int_equal(
	    transport_seal(&t, ex->data, sizeof(ex->data), sizeof(ping), 16, &ex->data_len, 0),
	    TRANSPORT_OK);
	transport_done(&t);
	seal_inner_layer(ex);
	handshake_initiator_done(&client);
	handshake_responder_done(&resp);
	handshake_peer_done(&ex_peer);
}

static void run_example(struct example *ex)
{
	run_example_kem(ex, KEM_REQUIRED);
}

static void write_file(const char *dir, const char *name, const uint8_t *b, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Seed corpora for tests/fuzz: real messages of both kinds. */
static void write_corpus(const char *root)
{
	static struct example kem, classic;
	char dir[4096];
	uint8_t params[MSG_PARAMS_MAX];
	size_t params_len;
	struct session_params p = example_params();
	run_example_kem(&kem, KEM_REQUIRED);
	run_example_kem(&classic, KEM_OFF);
	snprintf(dir, sizeof(dir), "%s/handshake_init", root);
	write_file(dir, "msg1-kem", kem.msg1, kem.msg1_len);
	write_file(dir, "msg1-classic", classic.msg1, classic.msg1_len);
	snprintf(dir, sizeof(dir), "%s/handshake_resp", root);
	write_file(dir, "msg2-kem", kem.msg2, kem.msg2_len);
	write_file(dir, "msg2-classic", classic.msg2, classic.msg2_len);
	struct cookie_checker checker;
	struct rng_det cd;
	uint8_t seed[32], reply[COOKIE_REPLY_LEN], src[6] = {127, 0, 0, 1, 1, 2};
	fill(seed, 0x66);
	rng_det_init(&cd, seed);
	struct rng crng = rng_det_as_rng(&cd);
	if (cookie_checker_init(&checker, kem.server_pub, 0, &crng) != 0 ||
	    cookie_reply_create(&checker, reply, kem.msg1, kem.msg1_len, EX_CLIENT_IDX, src,
				sizeof(src), &crng) != 0)
		exit(1);
	write_file(dir, "cookie-reply", reply, sizeof(reply));
	snprintf(dir, sizeof(dir), "%s/params", root);
	if (params_encode(&p, params, sizeof(params), &params_len) != 0)
		exit(1);
	write_file(dir, "example", params, params_len);
	p.has_addr6 = false;
	p.n_dns4 = 0;
	p.mode = CIPHER_AES256GCM;
	if (params_encode(&p, params, sizeof(params), &params_len) != 0)
		exit(1);
	write_file(dir, "ipv4-only", params, params_len);
}

struct block {
	const char *name;
	const uint8_t *bytes;
	size_t len;
};

#define MAX_BLOCKS 64

/* The blocks of §9 the C API gives, in document order. */
static size_t blocks(const struct example *ex, struct block *b)
{
	size_t n = 0;
	const uint8_t *m1 = ex->msg1, *m2 = ex->msg2;
	size_t params_off = RESP_OFF_CT + MLKEM768_CT_LEN + AEAD_TAG_LEN;
	b[n++] = (struct block){"server-public", ex->server_pub, 32};
	b[n++] = (struct block){"client-public", ex->client_pub, 32};
	b[n++] = (struct block){"ck0", ex->ck0, 32};
	b[n++] = (struct block){"h0", ex->h0, 32};
	b[n++] = (struct block){"client-ephemeral-private", ex->client_e_draw, 32};
	b[n++] = (struct block){"client-ephemeral-public", m1 + INIT_OFF_EPHEMERAL, 32};
	b[n++] = (struct block){"dh-es", ex->dh_es, 32};
	b[n++] = (struct block){"msg1-encrypted-static", m1 + INIT_OFF_STATIC, 48};
	b[n++] = (struct block){"dh-ss", ex->dh_ss, 32};
	b[n++] = (struct block){"mlkem-d", ex->mlkem_d, 32};
	b[n++] = (struct block){"mlkem-z", ex->mlkem_z, 32};
	b[n++] = (struct block){"mlkem-ek", ex->ek, sizeof(ex->ek)};
	b[n++] = (struct block){"msg1-timestamp", ex->timestamp, sizeof(ex->timestamp)};
	b[n++] = (struct block){"msg1-encrypted-timestamp", m1 + INIT_OFF_EK + MSG_ENC_EK_LEN,
				MSG_ENC_TIMESTAMP_LEN};
	b[n++] = (struct block){"msg1-ck-after-timestamp", ex->ck_msg1, 32};
	b[n++] = (struct block){"msg1-h-after-timestamp", ex->h_msg1, 32};
	b[n++] = (struct block){"mac1-key-server", ex->mac1_key_server, 32};
	b[n++] = (struct block){"msg1-mac1", m1 + ex->msg1_len - 2 * MSG_MAC_LEN, MSG_MAC_LEN};
	b[n++] = (struct block){"msg1", m1, ex->msg1_len};
	b[n++] = (struct block){"server-ephemeral-private", ex->server_e_draw, 32};
	b[n++] = (struct block){"server-ephemeral-public", m2 + RESP_OFF_EPHEMERAL, 32};
	b[n++] = (struct block){"dh-ee", ex->dh_ee, 32};
	b[n++] = (struct block){"dh-se", ex->dh_se, 32};
	b[n++] = (struct block){"mlkem-m", ex->mlkem_m, 32};
	b[n++] = (struct block){"mlkem-ct", ex->ct, sizeof(ex->ct)};
	b[n++] = (struct block){"mlkem-shared-secret", ex->kem_ss, 32};
	b[n++] = (struct block){"msg2-params", ex->params, ex->params_len};
	b[n++] = (struct block){"msg2-encrypted-params", m2 + params_off,
				ex->msg2_len - params_off - 2 * MSG_MAC_LEN};
	b[n++] = (struct block){"mac1-key-client", ex->mac1_key_client, 32};
	b[n++] = (struct block){"msg2-mac1", m2 + ex->msg2_len - 2 * MSG_MAC_LEN, MSG_MAC_LEN};
	b[n++] = (struct block){"msg2", m2, ex->msg2_len};
	b[n++] = (struct block){"inner-packet", ping, sizeof(ping)};
	b[n++] = (struct block){"secret-i2r", ex->ck.send_secret, 32};
	b[n++] = (struct block){"secret-r2i", ex->ck.recv_secret, 32};
	b[n++] = (struct block){"data1-aes-gcm", ex->data_aes, sizeof(ex->data_aes)};
	b[n++] = (struct block){"data1", ex->data, ex->data_len};
	assert_true(n <= MAX_BLOCKS);
	return n;
}

static void print_blocks(const struct example *ex)
{
	struct block b[MAX_BLOCKS];
	size_t n = blocks(ex, b);
	for (size_t i = 0; i < n; i++) {
		printf("```hex %s\n", b[i].name);
		for (size_t off = 0; off < b[i].len; off += 32) {
			char line[65];
			size_t k = b[i].len - off < 32 ? b[i].len - off : 32;
			hex_encode(line, b[i].bytes + off, k);
			printf("%s\n", line);
		}
		printf("```\n\n");
	}
}

/* The hex digits of the block tagged name in the document, or NULL. */
static char *doc_block(const char *doc, const char *name)
{
	char tag[64];
	snprintf(tag, sizeof(tag), "```hex %s\n", name);
	const char *start = strstr(doc, tag);
	if (!start)
		return NULL;
	start += strlen(tag);
	const char *end = strstr(start, "```");
	if (!end)
		return NULL;
	char *out = malloc((size_t)(end - start) + 1);
	size_t n = 0;
	for (const char *p = start; p < end; p++)
		if (*p != '\n' && *p != ' ')
			out[n++] = *p;
	out[n] = '\0';
	return out;
}

static void test_document_matches_code(void **state)
{
	(void)state;
	static struct example ex;
	struct block b[MAX_BLOCKS];
	char *doc = tu_read_file(tu_source_path("docs/protocol.md"), NULL);
	run_example(&ex);
	size_t n = blocks(&ex, b);
	for (size_t i = 0; i < n; i++) {
		char *want = doc_block(doc, b[i].name);
		if (!want)
			fail_msg("docs/protocol.md has no ```hex %s block", b[i].name);
		char *got = malloc(2 * b[i].len + 1);
		hex_encode(got, b[i].bytes, b[i].len);
		if (strcmp(want, got) != 0)
			fail_msg("docs/protocol.md block %s differs from the code's bytes",
				 b[i].name);
		free(want);
		free(got);
	}
	free(doc);
}

/* The bytes of the block tagged name, which must be len bytes long. */
static void doc_bytes(const char *doc, const char *name, uint8_t *out, size_t len)
{
	char *hex = doc_block(doc, name);
	if (!hex || hex_decode(out, len, hex) != 0)
		fail_msg("docs/protocol.md has no %zu-byte ```hex %s block", len, name);
	free(hex);
}

/* §6.2: the AEAD keys the code derives from each traffic secret are the
 * k-aes-* and k-chacha-* blocks. struct cipher keeps its keys inside OpenSSL
 * contexts, so the check is by what they seal: the code's cipher in a
 * one-layer mode keyed from the secret, and an AEAD keyed with the
 * document's key, give the same ciphertext and tag. */
static void test_aead_keys(void **state)
{
	(void)state;
	static struct example ex;
	char *doc = tu_read_file(tu_source_path("docs/protocol.md"), NULL);
	run_example(&ex);
	const struct {
		const char *name;
		const uint8_t *secret;
		enum cipher_mode mode;
		enum aead_alg alg;
	} keys[] = {
	    {"k-aes-i2r", ex.ck.send_secret, CIPHER_AES256GCM, AEAD_AES256_GCM},
	    {"k-chacha-i2r", ex.ck.send_secret, CIPHER_CHACHAPOLY, AEAD_CHACHA20_POLY1305},
	    {"k-aes-r2i", ex.ck.recv_secret, CIPHER_AES256GCM, AEAD_AES256_GCM},
	    {"k-chacha-r2i", ex.ck.recv_secret, CIPHER_CHACHAPOLY, AEAD_CHACHA20_POLY1305},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN];
		uint8_t by_code[48 + AEAD_TAG_LEN] = {0}, by_doc[sizeof(by_code)] = {0};
		struct cipher c;
		struct aead a;
		doc_bytes(doc, keys[i].name, key, sizeof(key));
		memcpy(by_code, ping, sizeof(ping));
		memcpy(by_doc, ping, sizeof(ping));
		assert_int_equal(cipher_init(&c, keys[i].mode, keys[i].secret), 0);
		assert_int_equal(cipher_seal(&c, 5, ex.data, TRANSPORT_HEADER_LEN, by_code, 48), 0);
		assert_int_equal(aead_init(&a, keys[i].alg, key), 0);
		aead_nonce_from_counter(nonce, 5);
		assert_int_equal(
		    aead_seal(&a, nonce, ex.data, TRANSPORT_HEADER_LEN, by_doc, 48, by_doc + 48),
		    0);
		if (memcmp(by_code, by_doc, sizeof(by_code)) != 0)
			fail_msg("docs/protocol.md block %s is not the key the code derives",
				 keys[i].name);
		cipher_done(&c);
		aead_done(&a);
	}
	free(doc);
}

/* The example is deterministic: a second run gives the same bytes. */
static void test_deterministic(void **state)
{
	(void)state;
	static struct example a, b;
	run_example(&a);
	run_example(&b);
	assert_int_equal(a.msg1_len, b.msg1_len);
	assert_memory_equal(a.msg1, b.msg1, a.msg1_len);
	assert_memory_equal(a.msg2, b.msg2, a.msg2_len);
	assert_memory_equal(a.data, b.data, a.data_len);
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--corpus") == 0) {
		write_corpus(argv[2]);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--print") == 0) {
		static struct example ex;
		run_example(&ex);
		print_blocks(&ex);
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_document_matches_code),
	    cmocka_unit_test(test_aead_keys),
	};
	return cmocka_run_group_tests_name("worked_example", tests, NULL, NULL);
}
