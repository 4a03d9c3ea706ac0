/* QR codes; see qr.h. */
#include "api/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* libqrencode's matrix: bit 0 of each byte is the module's colour. */
static int encode(const char *text, QRcode **ret)
{
	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (!q)
		return errno == ERANGE ? -E2BIG : errno == EINVAL ? -EINVAL : -ENOMEM;
	*ret = q;
	return 0;
}

/* Is module (x, y) of the bordered code dark? */
static bool dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return false;
	return q->data[y * q->width + x] & 1;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC of type and data. */
static uint8_t *put_chunk(uint8_t *p, const char type[4], const uint8_t *data, uint32_t n)
{
	put32(p, n);
	memcpy(p + 4, type, 4);
	if (n)
		memcpy(p + 8, data, n);
	uLong crc = crc32(0L, p + 4, 4 + n);
	put32(p + 8 + n, (uint32_t)crc);
	return p + 12 + n;
}

/* The image's rows, each a filter byte (0: none) and 1-bit pixels, MSB
 * first, 1 = white. */
static uint8_t *raw_rows(const QRcode *q, unsigned scale, size_t *ret_len, uint32_t *ret_side)
{
	uint32_t side = (uint32_t)(q->width + 2 * QR_QUIET) * scale;
	size_t stride = 1 + (side + 7) / 8;
	uint8_t *raw = calloc(side, stride);
	if (!raw)
		return NULL;
	for (uint32_t y = 0; y < side; y++) {
		uint8_t *row = raw + y * stride;
		memset(row + 1, 0xff, stride - 1);
		for (uint32_t x = 0; x < side; x++)
			if (dark(q, (int)(x / scale), (int)(y / scale)))
				row[1 + x / 8] &= (uint8_t) ~(0x80u >> (x % 8));
	}
	*ret_len = side * stride;
	*ret_side = side;
	return raw;
}

int qr_png(const char *text, unsigned scale, uint8_t **ret, size_t *ret_len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	QRcode *q;
	size_t raw_len;
	uint32_t side;
	if (scale < 1 || scale > QR_SCALE_MAX)
		return -EINVAL;
	int r = encode(text, &q);
	if (r < 0)
		return r;
	uint8_t *raw = raw_rows(q, scale, &raw_len, &side);
	QRcode_free(q);
	if (!raw)
		return -ENOMEM;
	uLongf zlen = compressBound((uLong)raw_len);
	uint8_t *png = malloc(sizeof(sig) + 25 + 12 + zlen + 12);
	uint8_t *z = malloc(zlen);
	if (!png || !z || compress2(z, &zlen, raw, (uLong)raw_len, 9) != Z_OK) {
		free(raw);
		free(png);
		free(z);
		return -ENOMEM;
	}
	free(raw);
	/* IHDR: width, height, bit depth 1, colour type 0 (grey),
	 * compression 0, filter 0, no interlace */
	uint8_t ihdr[13] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
	put32(ihdr, side);
	put32(ihdr + 4, side);
	memcpy(png, sig, sizeof(sig));
	uint8_t *p = put_chunk(png + sizeof(sig), "IHDR", ihdr, sizeof(ihdr));
	p = put_chunk(p, "IDAT", z, (uint32_t)zlen);
	p = put_chunk(p, "IEND", NULL, 0);
	free(z);
	*ret = png;
	*ret_len = (size_t)(p - png);
	return 0;
}

int qr_text(const char *text, int invert, char **ret)
{
	/* index: top drawn * 2 + bottom drawn */
	static const char *const cell[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
	QRcode *q;
	int r = encode(text, &q);
	if (r < 0)
		return r;
	int side = q->width + 2 * QR_QUIET;
	size_t line = (size_t)side * 3 + 1, lines = (size_t)(side + 1) / 2;
	char *out = malloc(line * lines + 1), *o = out;
	if (!out) {
		QRcode_free(q);
		return -ENOMEM;
	}
	for (int y = 0; y < side; y += 2) {
		for (int x = 0; x < side; x++) {
			/* a row past the bottom counts as not drawn */
			bool top = dark(q, x, y) == (bool)invert;
			bool bottom = y + 1 < side && dark(q, x, y + 1) == (bool)invert;
			const char *c = cell[top * 2 + bottom];
			size_t n = strlen(c);
			memcpy(o, c, n);
			o += n;
		}
		*o++ = '\n';
	}
	*o = '\0';
	QRcode_free(q);
	*ret = out;
	return 0;
}
