/* libFuzzer target for config/client_uri: any bytes either fail with a
 * message, or give a configuration that formats to a URI, parses back to
 * the same configuration, and renders to a client.toml that loads to it
 * too (compared by the full rendering, secrets included). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/client_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static char *render(const struct client_config *c)
{
	char *s = NULL;
	check(client_config_render(c, NULL, &s) == 0);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct client_config a, b, c;
	char label[CLIENT_URI_LABEL];
	struct config_diag d = {0};
	char *uri = NULL;
	if (client_uri_parse((const char *)data, size, &a, label, &d) != 0) {
		check(d.errors > 0 && d.text != NULL);
		config_diag_free(&d);
		return 0;
	}
	check(d.errors == 0);
	for (const char *l = label; *l; l++)
		check(*l >= 0x20 && *l < 0x7f);
	int r = client_uri_format(&a, label, &uri);
	check(r == 0 || r == -E2BIG);
	char *ra = render(&a);
	if (r == 0) {
		check(client_uri_parse(uri, strlen(uri), &b, NULL, &d) == 0);
		char *rb = render(&b);
		check(!strcmp(ra, rb));
		free(rb);
	}
	check(client_config_parse("t", ra, strlen(ra), &c, &d) == 0);
	char *rc = render(&c);
	check(!strcmp(ra, rc));
	free(rc);
	free(ra);
	free(uri);
	config_diag_free(&d);
	return 0;
}
