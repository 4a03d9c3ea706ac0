/* lostlove-client: parse the command line, load the configuration, run
 * the client (core/client.c) in the foreground. */
#include <stdio.h>

#include "cmd/args.h"
#include "core/client.h"
#include "config/config.h"
#include "util/log.h"

#define PROG "lostlove-client"

_Static_assert((int)LOG_DEBUG == (int)LOG_LEVEL_DEBUG && (int)LOG_ERROR == (int)LOG_LEVEL_ERROR,
	       "config and log levels must line up");

static int load(const char *path, struct client_config *cfg)
{
	struct config_diag diag = {0};
	int r = client_config_load(path, cfg, &diag);

	if (diag.text)
		fputs(diag.text, stderr);
	config_diag_free(&diag);
	if (r < 0)
		fprintf(stderr, PROG ": %s: configuration is not usable\n", path);
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
	if (load(a.config, &cfg) < 0)
		return 1;
	if (a.action == ARGS_DUMP_CONFIG) {
		status = client_config_dump(&cfg, stdout) < 0 ? 1 : 0;
	} else {
		log_set_level((enum log_level)cfg.log_level);
		status = client_run(&cfg);
	}
	client_config_free(&cfg);
	return status;
}
