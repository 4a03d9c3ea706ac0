/* The upgrade request carrying message 1 (front/upgrade.h): a genuine
 * request round-trips; the token refuses every mutation, the edges of the
 * time window, replays, and a full cache refuses instead of forgetting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "front/upgrade.h"

#define NOW UINT64_C(1764000000)

struct fx {
	struct upgrade_key key;
	uint8_t pub[32], nonce[16], msg[INIT_LEN_KEM];
	char head[UPGRADE_HEAD_MAX];
	size_t head_len;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	memset(f.pub, 0x5a, sizeof(f.pub));
	for (size_t i = 0; i < sizeof(f.nonce); i++)
		f.nonce[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(f.msg); i++)
		f.msg[i] = (uint8_t)(i * 7);
	f.msg[0] = MSG_HANDSHAKE_INIT;
	assert_int_equal(upgrade_key_derive(&f.key, f.pub), 0);
	assert_int_equal(upgrade_request_write(f.head, sizeof(f.head), &f.head_len, &f.key,
					       "front.test", "/ws/chat", f.nonce, NOW, f.msg,
					       INIT_LEN_KEM),
			 0);
	*state = &f;
	return 0;
}

static enum upgrade_result check(const struct upgrade_key *k, const char *head, size_t len,
				 uint64_t now, struct upgrade_request *r)
{
	enum upgrade_result res = upgrade_parse((const uint8_t *)head, len, r);
	return res == UPGRADE_OK ? upgrade_verify(k, r, now) : res;
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct upgrade_request r;

	assert_int_equal(upgrade_head_len((const uint8_t *)f->head, f->head_len),
			 (long)f->head_len);
	assert_int_equal(check(&f->key, f->head, f->head_len, NOW, &r), UPGRADE_OK);
	assert_int_equal(r.time_s, NOW);
	assert_int_equal(r.msg_len, INIT_LEN_KEM);
	assert_memory_equal(r.msg, f->msg, INIT_LEN_KEM);
	assert_memory_equal(r.nonce, f->nonce, 16);
	/* what a browser would show: the standard headers, no message bytes */
	assert_non_null(strstr(f->head, "GET /ws/chat HTTP/1.1\r\nHost: front.test\r\n"));
	assert_non_null(strstr(f->head, "Sec-WebSocket-Version: 13\r\n"));
	assert_null(strstr(f->head, "AQEAAA")); /* message 1's header, unmasked */
}

static void test_classic(void **state)
{
	struct fx *f = *state;
	struct upgrade_request r;
	char head[4096];
	size_t len;

	assert_int_equal(upgrade_request_write(head, sizeof(head), &len, &f->key, "a.example", "/",
					       f->nonce, NOW, f->msg, INIT_LEN_CLASSIC),
			 0);
	assert_int_equal(check(&f->key, head, len, NOW, &r), UPGRADE_OK);
	assert_int_equal(r.msg_len, INIT_LEN_CLASSIC);
	assert_int_equal(upgrade_request_write(head, sizeof(head), &len, &f->key, "a.example", "/",
					       f->nonce, NOW, f->msg, 31),
			 -EINVAL);
	/* a transport packet (joining a session): any length 32..1348 */
	assert_int_equal(upgrade_request_write(head, sizeof(head), &len, &f->key, "a.example", "/",
					       f->nonce, NOW, f->msg, 32),
			 0);
	assert_int_equal(check(&f->key, head, len, NOW, &r), UPGRADE_OK);
	assert_int_equal(r.msg_len, 32);
	assert_int_equal(upgrade_request_write(head, 100, &len, &f->key, "a.example", "/", f->nonce,
					       NOW, f->msg, INIT_LEN_CLASSIC),
			 -ENOSPC);
	assert_int_equal(upgrade_request_write(head, sizeof(head), &len, &f->key, "a b", "/",
					       f->nonce, NOW, f->msg, INIT_LEN_CLASSIC),
			 -EINVAL);
	assert_int_equal(upgrade_request_write(head, sizeof(head), &len, &f->key, "a", "x",
					       f->nonce, NOW, f->msg, INIT_LEN_CLASSIC),
			 -EINVAL);
}

static void test_wrong_server_key(void **state)
{
	struct fx *f = *state;
	struct upgrade_key other;
	struct upgrade_request r;
	uint8_t pub[32];

	memset(pub, 0x5b, sizeof(pub));
	assert_int_equal(upgrade_key_derive(&other, pub), 0);
	assert_int_equal(check(&other, f->head, f->head_len, NOW, &r), UPGRADE_E_MAC);
}

static void test_window_edges(void **state)
{
	struct fx *f = *state;
	struct upgrade_request r;

	assert_int_equal(check(&f->key, f->head, f->head_len, NOW + UPGRADE_WINDOW_S, &r),
			 UPGRADE_OK);
	assert_int_equal(check(&f->key, f->head, f->head_len, NOW - UPGRADE_WINDOW_S, &r),
			 UPGRADE_OK);
	assert_int_equal(check(&f->key, f->head, f->head_len, NOW + UPGRADE_WINDOW_S + 1, &r),
			 UPGRADE_E_TIME);
	assert_int_equal(check(&f->key, f->head, f->head_len, NOW - UPGRADE_WINDOW_S - 1, &r),
			 UPGRADE_E_TIME);
	/* 570 hours later (the longest replay delay seen, IMC 2020) */
	assert_int_equal(check(&f->key, f->head, f->head_len, NOW + 570 * 3600, &r),
			 UPGRADE_E_TIME);
}

/* Every byte of the token changed once: never accepted. */
static void test_token_bytes(void **state)
{
	struct fx *f = *state;
	char *cookie = strstr(f->head, "sid=") + 4, *end = strstr(cookie, "\r\n");
	struct upgrade_request r;
	char head[UPGRADE_HEAD_MAX];

	for (char *p = cookie; p < end; p++) {
		size_t off = (size_t)(p - f->head);
		memcpy(head, f->head, f->head_len);
		head[off] = head[off] == 'A' ? 'B' : 'A';
		enum upgrade_result res = check(&f->key, head, f->head_len, NOW, &r);
		assert_true(res == UPGRADE_E_MAC || res == UPGRADE_E_TOKEN);
	}
}

/* The IMC 2020 mutations of a replayed first packet (R2 byte 0, R3 bytes
 * 0-7 and 62-63, R4 byte 16, R5 bytes 6 and 16): each hits the request
 * line or a header and is refused, never reaching the handshake. */
static void test_imc_mutations(void **state)
{
	struct fx *f = *state;
	static const int sets[][10] = {
	    {0, -1}, {0, 1, 2, 3, 4, 5, 6, 7, 62, -1}, {16, -1}, {6, 16, -1}};
	struct upgrade_request r;
	char head[UPGRADE_HEAD_MAX];

	for (size_t s = 0; s < 4; s++) {
		memcpy(head, f->head, f->head_len);
		for (const int *b = sets[s]; *b >= 0; b++)
			head[*b] ^= 0x01;
		if (s == 1)
			head[63] ^= 0x01;
		assert_int_not_equal(check(&f->key, head, f->head_len, NOW, &r), UPGRADE_OK);
	}
}

static void replace(char *out, size_t cap, const char *head, const char *from, const char *to)
{
	const char *p = strstr(head, from);
	assert_non_null(p);
	snprintf(out, cap, "%.*s%s%s", (int)(p - head), head, to, p + strlen(from));
}

/* Every field the server checks, changed: refused, most as not even a
 * WebSocket upgrade. */
static void test_fields(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *from, *to;
		enum upgrade_result want;
	} cases[] = {
	    {"GET ", "POST ", UPGRADE_E_SHAPE},
	    {"GET /ws/chat", "GET ws/chat", UPGRADE_E_SHAPE},
	    {"HTTP/1.1\r\n", "HTTP/1.0\r\n", UPGRADE_E_SHAPE},
	    {"Host: front.test\r\n", "", UPGRADE_E_SHAPE},
	    {"Host: front.test\r\n", "Host: front.test\r\nHost: b\r\n", UPGRADE_E_SHAPE},
	    {"Upgrade: websocket", "Upgrade: h2c", UPGRADE_E_SHAPE},
	    {"Connection: Upgrade", "Connection: keep-alive", UPGRADE_E_SHAPE},
	    {"Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", UPGRADE_E_SHAPE},
	    {"Sec-WebSocket-Key: ", "Sec-WebSocket-Key: A", UPGRADE_E_SHAPE},
	    {"Sec-WebSocket-Key: ", "X-Key: ", UPGRADE_E_SHAPE},
	    {"Cookie: sid=", "Cookie: other=", UPGRADE_E_NO_TOKEN},
	    {"Cookie: sid=", "Cookie: sid=x; sid=", UPGRADE_E_TOKEN},
	    {"Cookie: sid=", "Cookie: sid=AAAA", UPGRADE_E_TOKEN},
	    {"Cookie: sid=", "Cookie: a=b; sid=", UPGRADE_OK},
	    {"Upgrade: websocket", "upgrade:   WebSocket  ", UPGRADE_OK},
	    {"Connection: Upgrade", "Connection: keep-alive, Upgrade", UPGRADE_OK},
	    {"\r\nUser-Agent", "\r\n User-Agent", UPGRADE_E_SHAPE}, /* obs-fold */
	    {"\r\nPragma", "\nPragma", UPGRADE_E_SHAPE},
	    {"Pragma:", "Pra gma:", UPGRADE_E_SHAPE},
	};
	struct upgrade_request r;
	char head[UPGRADE_HEAD_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		replace(head, sizeof(head), f->head, cases[i].from, cases[i].to);
		enum upgrade_result res = check(&f->key, head, strlen(head), NOW, &r);
		if (res != cases[i].want)
			fail_msg("case %zu (%s): %s", i, cases[i].to, upgrade_result_name(res));
	}
	/* the Sec-WebSocket-Key is the nonce the token is bound to: another
	 * valid key (a replay with a fresh key) fails the mac */
	char key[UPGRADE_KEY_B64_LEN + 1], line[64];
	uint8_t other[16];
	memcpy(other, f->nonce, 16);
	other[3] ^= 1;
	upgrade_key_b64(key, other);
	snprintf(line, sizeof(line), "Sec-WebSocket-Key: %s", key);
	upgrade_key_b64(key, f->nonce);
	char orig[64];
	snprintf(orig, sizeof(orig), "Sec-WebSocket-Key: %s", key);
	replace(head, sizeof(head), f->head, orig, line);
	assert_int_equal(check(&f->key, head, strlen(head), NOW, &r), UPGRADE_E_MAC);
	/* trailing bytes after the empty line, a truncated head */
	memcpy(head, f->head, f->head_len);
	head[f->head_len] = 'x';
	assert_int_equal(check(&f->key, head, f->head_len + 1, NOW, &r), UPGRADE_E_SHAPE);
	assert_int_equal(check(&f->key, head, f->head_len - 1, NOW, &r), UPGRADE_E_SHAPE);
	assert_int_equal(upgrade_head_len((const uint8_t *)head, f->head_len - 1), 0);
}

static void test_replay_cache(void **state)
{
	uint8_t hk[16] = {1}, n[16] = {0};
	struct upgrade_replay *c = upgrade_replay_new(4, hk);
	(void)state;

	assert_non_null(c);
	for (int i = 0; i < 4; i++) {
		n[0] = (uint8_t)i;
		assert_int_equal(upgrade_replay_insert(c, n, NOW, NOW), UPGRADE_OK);
	}
	n[0] = 2;
	assert_int_equal(upgrade_replay_insert(c, n, NOW, NOW + 20), UPGRADE_E_REPLAY);
	assert_int_equal(upgrade_replay_insert(c, n, NOW, NOW + UPGRADE_WINDOW_S),
			 UPGRADE_E_REPLAY);
	/* full: a new nonce is refused, the old ones are not forgotten */
	n[0] = 9;
	assert_int_equal(upgrade_replay_insert(c, n, NOW, NOW), UPGRADE_E_CACHE_FULL);
	n[0] = 0;
	assert_int_equal(upgrade_replay_insert(c, n, NOW, NOW), UPGRADE_E_REPLAY);
	assert_int_equal(upgrade_replay_count(c, NOW), 4);
	/* once their window passed, they make room (their requests are
	 * refused by the time check from then on) */
	n[0] = 9;
	assert_int_equal(
	    upgrade_replay_insert(c, n, NOW + UPGRADE_WINDOW_S + 1, NOW + UPGRADE_WINDOW_S + 1),
	    UPGRADE_OK);
	assert_int_equal(upgrade_replay_count(c, NOW + UPGRADE_WINDOW_S + 1), 1);
	/* a request time in the future is remembered until it leaves the window */
	n[0] = 10;
	assert_int_equal(upgrade_replay_insert(c, n, NOW + 100, NOW + 75), UPGRADE_OK);
	assert_int_equal(upgrade_replay_insert(c, n, NOW + 100, NOW + 100 + UPGRADE_WINDOW_S),
			 UPGRADE_E_REPLAY);
	upgrade_replay_free(c);
}

/* Many nonces, many rounds: no false replay, every true replay caught. */
static void test_replay_churn(void **state)
{
	uint8_t hk[16] = {7}, n[16] = {0};
	struct upgrade_replay *c = upgrade_replay_new(1000, hk);
	(void)state;

	assert_non_null(c);
	for (uint32_t i = 0; i < 20000; i++) {
		uint64_t now = NOW + i / 50; /* 50 a second: 1550 live at most */
		memcpy(n, &i, sizeof(i));
		enum upgrade_result r = upgrade_replay_insert(c, n, now, now);
		assert_true(r == UPGRADE_OK || r == UPGRADE_E_CACHE_FULL);
		if (r == UPGRADE_OK)
			assert_int_equal(upgrade_replay_insert(c, n, now, now), UPGRADE_E_REPLAY);
	}
	assert_true(upgrade_replay_count(c, NOW + 20000 / 50) <= 1000);
	upgrade_replay_free(c);
}

static void test_accept_and_response(void **state)
{
	char acc[UPGRADE_ACCEPT_LEN + 1], buf[512];
	size_t len;
	(void)state;

	/* RFC 6455 §1.3 */
	assert_int_equal(upgrade_accept(acc, "dGhlIHNhbXBsZSBub25jZQ=="), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(upgrade_response_write(buf, sizeof(buf), &len, "dGhlIHNhbXBsZSBub25jZQ==",
						"nginx/1.22.1", "Thu, 03 Dec 2026 15:00:00 GMT"),
			 0);
	assert_non_null(
	    strstr(buf, "HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.22.1\r\n"));
	assert_int_equal(
	    upgrade_response_check((const uint8_t *)buf, len, "dGhlIHNhbXBsZSBub25jZQ=="), 0);
	assert_int_equal(
	    upgrade_response_check((const uint8_t *)buf, len, "AAAAAAAAAAAAAAAAAAAAAA=="), -EPROTO);
	assert_int_equal(upgrade_response_check((const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19,
						"dGhlIHNhbXBsZSBub25jZQ=="),
			 -EPROTO);
	assert_int_equal(
	    upgrade_response_write(buf, sizeof(buf), &len, "dGhlIHNhbXBsZSBub25jZQ==", NULL, NULL),
	    0);
	assert_null(strstr(buf, "Server:"));
	assert_int_equal(upgrade_response_write(buf, 50, &len, "x", NULL, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_round_trip, setup),
	    cmocka_unit_test_setup(test_classic, setup),
	    cmocka_unit_test_setup(test_wrong_server_key, setup),
	    cmocka_unit_test_setup(test_window_edges, setup),
	    cmocka_unit_test_setup(test_token_bytes, setup),
	    cmocka_unit_test_setup(test_imc_mutations, setup),
	    cmocka_unit_test_setup(test_fields, setup),
	    cmocka_unit_test(test_replay_cache),
	    cmocka_unit_test(test_replay_churn),
	    cmocka_unit_test(test_accept_and_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
