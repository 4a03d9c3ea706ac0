/* The worked example of docs/protocol.md: fixed keys and seeds -> message 1,
 * message 2 and the first data packet. The expected bytes are read from the
 * document itself (fenced blocks tagged ```hex <name>), so the spec and the
 * code cannot drift apart. `test_worked_example --print` emits the blocks;
 * `--corpus tests/fuzz/corpus` writes seed inputs for the fuzz targets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/handshake.h"
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
	assert_int_equal(handshake_create_init(&client, EX_CLIENT_IDX, EX_UNIX_NS, 0, &crng,
					       ex->msg1, sizeof(ex->msg1), &ex->msg1_len),
			 HS_OK);
	assert_int_equal(
	    handshake_consume_init(&resp, ex->msg1, ex->msg1_len, EX_UNIX_NS, &pending), HS_OK);
	assert_int_equal(handshake_create_response(&resp, &pending, &params, EX_SERVER_IDX, &srng,
						   ex->msg2, sizeof(ex->msg2), &ex->msg2_len,
						   &ex->sk),
			 HS_OK);
	assert_int_equal(handshake_consume_response(&client, ex->msg2, ex->msg2_len, &ex->ck, &got),
			 HS_OK);

	struct transport t;
	struct transport_limits lim;
	transport_limits_default(&lim);
	assert_int_equal(transport_init(&t, &ex->ck, &lim, 0), 0);
	memcpy(ex->data + TRANSPORT_HEADER_LEN, ping, sizeof(ping));
	assert_int_equal(
	    transport_seal(&t, ex->data, sizeof(ex->data), sizeof(ping), 16, &ex->data_len, 0),
	    TRANSPORT_OK);
	transport_done(&t);
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

static size_t blocks(const struct example *ex, struct block *b)
{
	size_t n = 0;
	b[n++] = (struct block){"server-public", ex->server_pub, 32};
	b[n++] = (struct block){"client-public", ex->client_pub, 32};
	b[n++] = (struct block){"msg1", ex->msg1, ex->msg1_len};
	b[n++] = (struct block){"msg2", ex->msg2, ex->msg2_len};
	b[n++] = (struct block){"secret-i2r", ex->ck.send_secret, 32};
	b[n++] = (struct block){"secret-r2i", ex->ck.recv_secret, 32};
	b[n++] = (struct block){"inner-packet", ping, sizeof(ping)};
	b[n++] = (struct block){"data1", ex->data, ex->data_len};
	return n;
}

static void print_blocks(const struct example *ex)
{
	struct block b[8];
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
	struct block b[8];
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
	};
	return cmocka_run_group_tests_name("worked_example", tests, NULL, NULL);
}
