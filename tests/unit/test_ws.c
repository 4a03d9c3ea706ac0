/* WebSocket frame codec (front/ws.c): RFC 6455's own examples (§5.7),
 * every length boundary both ways, and each limit a hostile peer would
 * try: RSV bits, reserved opcodes, long or fragmented control frames,
 * non-minimal and top-bit lengths, the wrong mask bit, oversize frames,
 * and a header cut at every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "front/ws.h"

static void test_rfc_examples(void **state)
{
	(void)state;
	/* §5.7: a single-frame unmasked text message "Hello". */
	static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	/* §5.7: a single-frame masked text message "Hello". */
	static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	struct ws_frame f;
	assert_int_equal(ws_parse_header(unmasked, sizeof(unmasked), false, 1 << 20, &f), WS_OK);
	assert_true(f.fin);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_int_equal(f.payload_len, 5);
	assert_int_equal(f.header_len, 2);
	assert_memory_equal(unmasked + 2, "Hello", 5);

	assert_int_equal(ws_parse_header(masked, sizeof(masked), true, 1 << 20, &f), WS_OK);
	assert_int_equal(f.header_len, 6);
	uint8_t p[5];
	memcpy(p, masked + 6, 5);
	ws_mask(p, 3, f.mask, 0); /* in two pieces: offsets carry the mask phase */
	ws_mask(p + 3, 2, f.mask, 3);
	assert_memory_equal(p, "Hello", 5);

	uint8_t hdr[WS_HEADER_MAX];
	assert_int_equal(ws_build_header(hdr, true, WS_OP_TEXT, f.mask, 5), 6);
	assert_memory_equal(hdr, masked, 6);
	/* §5.7: 256 bytes and 64 KiB unmasked binary messages. */
	assert_int_equal(ws_build_header(hdr, true, WS_OP_BINARY, NULL, 256), 4);
	assert_memory_equal(hdr, "\x82\x7e\x01\x00", 4);
	assert_int_equal(ws_build_header(hdr, true, WS_OP_BINARY, NULL, 65536), 10);
	assert_memory_equal(hdr, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

static void test_accept_key(void **state)
{
	(void)state;
	/* RFC 6455 §1.3. */
	static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
	char out[WS_ACCEPT_LEN + 1];
	assert_true(ws_key_valid((const uint8_t *)key, 24));
	assert_int_equal(ws_accept_key((const uint8_t *)key, 24, out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* Wrong length, bad character, missing padding, non-canonical bits. */
	assert_false(ws_key_valid((const uint8_t *)key, 23));
	assert_false(ws_key_valid((const uint8_t *)"dGhlIHNhbXBsZSBub25jZQ=A", 24));
	assert_false(ws_key_valid((const uint8_t *)"dGhlIHNhbXBsZSBub2*jZQ==", 24));
	assert_false(ws_key_valid((const uint8_t *)"dGhlIHNhbXBsZSBub25jZR==", 24));
}

static void roundtrip(uint64_t n, bool masked)
{
	static const uint8_t m[4] = {1, 2, 3, 4};
	uint8_t hdr[WS_HEADER_MAX];
	size_t hl = ws_build_header(hdr, true, WS_OP_BINARY, masked ? m : NULL, n);
	struct ws_frame f;
	assert_int_equal(ws_parse_header(hdr, hl, masked, UINT64_MAX, &f), WS_OK);
	assert_int_equal(f.payload_len, n);
	assert_int_equal(f.header_len, hl);
	assert_int_equal(f.masked, masked);
	for (size_t cut = 0; cut < hl; cut++)
		assert_int_equal(ws_parse_header(hdr, cut, masked, UINT64_MAX, &f), WS_NEED_MORE);
}

static void test_length_boundaries(void **state)
{
	(void)state;
	static const uint64_t lens[] = {
	    0, 1, 125, 126, 127, 65535, 65536, UINT64_C(1) << 32, (UINT64_C(1) << 63) - 1};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		roundtrip(lens[i], false);
		roundtrip(lens[i], true);
	}
}

static void test_hostile_headers(void **state)
{
	(void)state;
	struct ws_frame f;
	/* RSV1..3 set. */
	assert_int_equal(ws_parse_header((const uint8_t *)"\xc2\x80\0\0\0\0", 6, true, 100, &f),
			 WS_ERR_RSV);
	assert_int_equal(ws_parse_header((const uint8_t *)"\x92\x80\0\0\0\0", 6, true, 100, &f),
			 WS_ERR_RSV);
	/* Reserved opcodes 3-7, 0xB-0xF. */
	for (unsigned op = 3; op <= 15; op++) {
		if (op >= 8 && op <= 10)
			continue;
		uint8_t b[6] = {(uint8_t)(0x80 | op), 0x80};
		assert_int_equal(ws_parse_header(b, 6, true, 100, &f), WS_ERR_OPCODE);
	}
	/* Fragmented ping; close of 126 bytes. */
	assert_int_equal(ws_parse_header((const uint8_t *)"\x09\x80\0\0\0\0", 6, true, 100, &f),
			 WS_ERR_CONTROL);
	assert_int_equal(ws_parse_header((const uint8_t *)"\x88\xfe\0\x7e", 4, true, 1000, &f),
			 WS_ERR_CONTROL);
	/* Non-minimal 16-bit and 64-bit lengths; the 64-bit top bit. */
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\xfe\x00\x7d", 4, true, 1000, &f),
			 WS_ERR_LENGTH);
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\xff\0\0\0\0\0\0\xff\xff", 10, true,
					 UINT64_MAX, &f),
			 WS_ERR_LENGTH);
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\xff\x80\0\0\0\0\0\0\0", 10, true,
					 UINT64_MAX, &f),
			 WS_ERR_LENGTH);
	/* Unmasked to a server, masked to a client. */
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\x01", 2, true, 100, &f),
			 WS_ERR_MASK);
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\x81", 2, false, 100, &f),
			 WS_ERR_MASK);
	/* Over the caller's limit, by one. */
	assert_int_equal(ws_parse_header((const uint8_t *)"\x82\xfe\x01\x01", 4, true, 256, &f),
			 WS_ERR_TOO_BIG);
	assert_int_equal(
	    ws_parse_header((const uint8_t *)"\x82\xfe\x01\x00\0\0\0\0", 8, true, 256, &f), WS_OK);
}

static void test_close_payload(void **state)
{
	(void)state;
	uint8_t b[WS_CONTROL_MAX + 10];
	uint16_t code;
	char longreason[200];
	memset(longreason, 'x', sizeof(longreason) - 1);
	longreason[sizeof(longreason) - 1] = '\0';
	size_t n = ws_build_close(b, WS_CLOSE_NORMAL, longreason);
	assert_int_equal(n, WS_CONTROL_MAX);
	assert_int_equal(ws_parse_close(b, n, &code), 0);
	assert_int_equal(code, 1000);
	assert_int_equal(ws_parse_close(b, 0, &code), 0);
	assert_int_equal(code, 1005);
	assert_int_equal(ws_parse_close(b, 1, &code), -22);
	static const uint16_t bad[] = {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ws_build_close(b, bad[i], NULL);
		assert_int_equal(ws_parse_close(b, 2, &code), -22);
	}
	ws_build_close(b, 4000, "");
	assert_int_equal(ws_parse_close(b, 2, &code), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_examples),      cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_length_boundaries), cmocka_unit_test(test_hostile_headers),
	    cmocka_unit_test(test_close_payload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
