/* lostlove-client: parse the command line, load the configuration, run
 * the client (client/client.c) in the foreground. */
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "config/client_uri.h"
#include "crypto/ct.h"
#include "client/client.h"
#include "config/config.h"
#include "util/log.h"

#define PROG "lostlove-client"

_Static_assert((int)LOG_DEBUG == (int)LOG_LEVEL_DEBUG && (int)LOG_ERROR == (int)LOG_LEVEL_ERROR,
	       "config and log levels must line up");

/* The URI from stdin: one line, surrounding blanks ignored. */
static int read_uri(char *buf, size_t cap)
{
	size_t n = fread(buf, 1, cap - 1, stdin);
	buf[n] = '\0';
	if (n == cap - 1) {
		fprintf(stderr, PROG ": stdin: a URI is at most %d bytes\n", CLIENT_URI_MAX);
		return -1;
	}
	char *s = buf + strspn(buf, " \t\r\n");
	size_t len = strcspn(s, " \t\r\n");
	memmove(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int load(const struct args *a, struct client_config *cfg)
{
	struct config_diag diag = {0};
	char uri[CLIENT_URI_MAX + 2];
	const char *what = a->config;
	int r;

	if (a->config) {
		r = client_config_load(a->config, cfg, &diag);
	} else if (strcmp(a->config_uri, "-") == 0) {
		what = "the URI on stdin";
		r = read_uri(uri, sizeof(uri));
		if (r == 0)
			r = client_uri_parse(uri, strlen(uri), cfg, NULL, &diag);
		ct_wipe(uri, sizeof(uri));
	} else {
		what = "--config-uri";
		r = client_uri_parse(a->config_uri, strlen(a->config_uri), cfg, NULL, &diag);
	}
	if (diag.text)
		fputs(diag.text, stderr);
	config_diag_free(&diag);
	if (r < 0)
		fprintf(stderr, PROG ": %s: configuration is not usable\n", what);
	return r;
}

int main(int argc, char **argv)
{
	struct client_config cfg;
	struct args a;
	char err[256];
	int status;

	log_init(PROG);
	if (args_parse(ARGS_CLIENT, argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (a.action == ARGS_HELP) {
		args_usage(ARGS_CLIENT, stdout);
		return 0;
	}
	if (a.action == ARGS_VERSION) {
		printf(PROG " %s\n", LL_VERSION);
		return 0;
	}
	if (load(&a, &cfg) < 0)
		return 1;
	if (a.action == ARGS_CHECK_CONFIG) {
		status = 0; /* the problems, if any, were printed by load */
	} else if (a.action == ARGS_DUMP_CONFIG) {
		status = client_config_dump(&cfg, stdout) < 0 ? 1 : 0;
	} else {
		log_set_level((enum log_level)cfg.log_level);
		status = client_run(&cfg);
	}
	client_config_free(&cfg);
	return status;
}
