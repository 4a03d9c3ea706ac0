/* QR codes: the PNG decodes back to the URI with a real reader (zbarimg,
 * Debian package zbar-tools: missing = failure), and the terminal text,
 * read back cell by cell, is libqrencode's matrix inside a quiet zone. */
#include <errno.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/qr.h"

static const char uri[] =
    "lostlove://aN20n-k4k5vPGxBoXkCdbhkU5ugeP4tmjh3er8Ewumk@vpn.example.com:443/"
    "?server_public_key=kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBs"
    "&psk=9-R6mVoFLThDNKLY4RSEdRCzsnXrm23LD3QqONu0PKw&transport=auto&stealth_mode=standard"
    "&sni=cdn.example.com&path=%2Fws#alice";

/* zbarimg's reading of a PNG file, or fail (its stderr is D-Bus noise
 * in a container; a missing zbarimg exits 127) */
static void zbar_read(const char *png_path, char *out, size_t cap)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "zbarimg --quiet --raw -Sdisable -Sqrcode.enable %s 2>/dev/null",
		 png_path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	if (st != 0)
		fail_msg("zbarimg (apt install zbar-tools) exit status %d: \"%s\"", st, out);
}

static void png_decodes(const char *text, unsigned scale)
{
	char dir[] = "/tmp/test_qr.XXXXXX", path[64], got[4096], want[4096];
	uint8_t *png;
	size_t len;
	assert_int_equal(qr_png(text, scale, &png, &len), 0);
	assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qr.png", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(png, 1, len, f), len);
	fclose(f);
	zbar_read(path, got, sizeof(got));
	snprintf(want, sizeof(want), "%s\n", text);
	assert_string_equal(got, want);
	unlink(path);
	rmdir(dir);
	free(png);
}

static void test_png_decodes(void **state)
{
	(void)state;
	png_decodes(uri, QR_SCALE);
	png_decodes(uri, 3);
	png_decodes("x", 4);
}

static void test_png_bounds(void **state)
{
	static char big[3000];
	uint8_t *png;
	size_t len;
	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(qr_png(big, 4, &png, &len), -E2BIG);
	assert_int_equal(qr_png(uri, 0, &png, &len), -EINVAL);
	assert_int_equal(qr_png(uri, QR_SCALE_MAX + 1, &png, &len), -EINVAL);
	assert_int_equal(qr_png("", 4, &png, &len), -EINVAL);
	/* IHDR: the side is (modules + 2 * quiet zone) * scale */
	QRcode *q = QRcode_encodeString8bit(uri, 0, QR_ECLEVEL_M);
	assert_int_equal(qr_png(uri, 5, &png, &len), 0);
	uint32_t w = (uint32_t)png[16] << 24 | (uint32_t)png[17] << 16 | png[18] << 8 | png[19];
	assert_int_equal(w, (q->width + 2 * QR_QUIET) * 5);
	assert_memory_equal(png + len - 8, "IEND\xae\x42\x60\x82", 8);
	QRcode_free(q);
	free(png);
}

/* Reads the half-block text back into "drawn" cells and checks each
 * against the matrix. */
static void check_text(int invert)
{
	char *t;
	assert_int_equal(qr_text(uri, invert, &t), 0);
	QRcode *q = QRcode_encodeString8bit(uri, 0, QR_ECLEVEL_M);
	int side = q->width + 2 * QR_QUIET, y = 0;
	for (char *line = t; *line; y += 2) {
		char *end = strchr(line, '\n');
		assert_non_null(end);
		int x = 0;
		for (char *c = line; c < end; x++) {
			bool top, bottom;
			if (*c == ' ') {
				top = bottom = false;
				c++;
			} else {
				assert_int_equal((unsigned char)c[0], 0xe2);
				assert_int_equal((unsigned char)c[1], 0x96);
				top = c[2] == '\x80' || c[2] == '\x88';
				bottom = c[2] == '\x84' || c[2] == '\x88';
				c += 3;
			}
			for (int k = 0; k < 2 && y + k < side; k++) {
				int mx = x - QR_QUIET, my = y + k - QR_QUIET;
				bool dark = mx >= 0 && my >= 0 && mx < q->width && my < q->width &&
					    (q->data[my * q->width + mx] & 1);
				bool drawn = k ? bottom : top;
				if (drawn != (invert ? dark : !dark))
					fail_msg("module %d,%d", x, y + k);
			}
		}
		assert_int_equal(x, side);
		line = end + 1;
	}
	assert_int_equal(y, side + (side & 1));
	QRcode_free(q);
	free(t);
}

static void test_text(void **state)
{
	(void)state;
	check_text(0);
	check_text(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_png_decodes),
	    cmocka_unit_test(test_png_bounds),
	    cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
