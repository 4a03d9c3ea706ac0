/* What the first bytes on the TLS port are, decided as nginx decides
 * (ngx_http_ssl_handshake peeks one byte: 0x16, a TLS handshake record,
 * or a byte with the high bit set, an SSLv2-style hello, start TLS;
 * anything else is read as plain HTTP and answered with nginx's 400 "The
 * plain HTTP request was sent to HTTPS port"). Pure.
 *
 * tls_client_hello_sni additionally reads the server name out of a
 * complete ClientHello record, for logs only: OpenSSL does the real
 * parsing. */
#ifndef LL_FRONT_TLSSNIFF_H
#define LL_FRONT_TLSSNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_sniff {
	TLS_SNIFF_NEED_MORE = 0,
	TLS_SNIFF_TLS,
	TLS_SNIFF_PLAIN,
};

enum tls_sniff tls_sniff(const uint8_t *buf, size_t len);

/* 0 with the name copied NUL-terminated into out (at most outlen - 1
 * bytes), 1 if the hello carries no server_name, -1 if buf does not hold
 * one complete, well-formed ClientHello record. */
int tls_client_hello_sni(const uint8_t *buf, size_t len, char *out, size_t outlen);

#endif
