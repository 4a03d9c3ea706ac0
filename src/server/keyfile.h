/* The server's private key file: one line of base64 (as `lostlove-admin
 * genkey` writes it). A missing file is created with a fresh key, mode
 * 0600, written durably before use. */
#ifndef LL_SERVER_KEYFILE_H
#define LL_SERVER_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the key at path, or generates and writes one (*ret_created). On
 * error, a one-line reason goes to err. *ret_loose is set when the file
 * is readable by group or others (the caller warns). */
int keyfile_load_or_create(const char *path, uint8_t ret_priv[static 32], bool *ret_created,
			   bool *ret_loose, char *err, size_t err_len);

#endif
