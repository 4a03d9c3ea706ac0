/* lostlove-server: parse the command line, load the configuration, run
 * the daemon (server/server.c) in the foreground. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "cmd/args.h"
#include "config/config.h"
#include "server/server.h"
#include "util/log.h"

#define PROG "lostlove-server"

_Static_assert((int)LOG_DEBUG == (int)LOG_LEVEL_DEBUG && (int)LOG_ERROR == (int)LOG_LEVEL_ERROR,
	       "config and log levels must line up");

static int load(const char *path, struct server_config *cfg)
{
	struct config_diag diag = {0};
	int r = server_config_load(path, cfg, &diag);

	if (diag.text)
		fputs(diag.text, stderr);
	config_diag_free(&diag);
	return r;
}

static int check(const char *path)
{
	struct server_config cfg;

	if (load(path, &cfg) < 0) {
		fprintf(stderr, PROG ": %s: configuration is not usable\n", path);
		return 1;
	}
	server_config_free(&cfg);
	printf("%s: configuration OK\n", path);
	return 0;
}

static int dump(const char *path)
{
	struct server_config cfg;
	int r;

	if (load(path, &cfg) < 0)
		return 1;
	r = server_config_dump(&cfg, stdout);
	server_config_free(&cfg);
	return r < 0 ? 1 : 0;
}

static int run(const char *path)
{
	struct server_config cfg;
	int status;

	if (load(path, &cfg) < 0) {
		log_error(LOG_GROUP_CORE, "%s: configuration is not usable", path);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);
	status = server_run(&cfg, &api_addon);
	server_config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct args a;
	char err[256];

	log_init(PROG);
	if (args_parse(ARGS_SERVER, argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	switch (a.action) {
	case ARGS_HELP:
		args_usage(ARGS_SERVER, stdout);
		return 0;
	case ARGS_VERSION:
		printf(PROG " %s\n", LL_VERSION);
		return 0;
	case ARGS_CHECK_CONFIG:
		return check(a.config);
	case ARGS_DUMP_CONFIG:
		return dump(a.config);
	default:
		return run(a.config);
	}
}
