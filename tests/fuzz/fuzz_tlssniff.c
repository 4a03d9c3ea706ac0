/* The first-byte decision and the ClientHello SNI reader: no read past the
 * input, the name NUL-terminated within the output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/tlssniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[64];
	(void)tls_sniff(data, size);
	memset(name, 'x', sizeof(name));
	if (tls_client_hello_sni(data, size, name, sizeof(name)) == 0 &&
	    memchr(name, '\0', sizeof(name)) == NULL)
		abort();
	return 0;
}
