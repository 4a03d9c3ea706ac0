/* QR codes of a lostlove:// URI (client_uri.h) through libqrencode: as PNG
 * bytes for the API and as UTF-8 text for a terminal (lostlove-admin).
 *
 * Error correction level M (15%: a phone camera's glare), byte mode, the
 * smallest version that fits, and the quiet zone of 4 modules the standard
 * asks for (ISO/IEC 18004 §7.3.8) on both renderings.
 *
 * The PNG is written here (1-bit greyscale, one IDAT compressed with zlib,
 * CRCs from zlib) rather than with libpng: zlib is already linked, the
 * format needed is four fixed chunks, and libpng would add a library to
 * every binary that serves the API for that. */
#ifndef LL_API_QR_H
#define LL_API_QR_H

#include <stddef.h>
#include <stdint.h>

#define QR_QUIET     4 /* modules of white border */
#define QR_SCALE     8 /* default pixels per module of the PNG */
#define QR_SCALE_MAX 32

/* PNG bytes of the QR code of text (at most 2953 bytes, QR version 40 at
 * level M holds less: 2331). scale: pixels per module, 1..QR_SCALE_MAX.
 * *ret is malloc'd. Returns 0, -E2BIG (too long for a QR code), -EINVAL,
 * -ENOMEM. */
int qr_png(const char *text, unsigned scale, uint8_t **ret, size_t *ret_len);

/* The QR code as lines of UTF-8 half blocks ("▀", "▄", "█", " "), two
 * module rows per line, light modules drawn (for the usual light-on-dark
 * terminal; invert = 1 draws the dark ones instead). *ret is a malloc'd
 * NUL-terminated string. Returns as qr_png. */
int qr_text(const char *text, int invert, char **ret);

#endif
