/* Command lines of lostlove-server and lostlove-client:
 *
 *   lostlove-server -c FILE [--check-config | --dump-config]
 *   lostlove-client (-c FILE | --config-uri URI|-) [--check-config | --dump-config]
 *   both: -h/--help, -V/--version; -c FILE, --config FILE, --config=FILE
 *
 * Pure: argv in, a struct out, so tests/unit/test_args.c covers it. */
#ifndef LL_CMD_ARGS_H
#define LL_CMD_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum args_action {
	ARGS_RUN,
	ARGS_HELP,
	ARGS_VERSION,
	ARGS_CHECK_CONFIG,
	ARGS_DUMP_CONFIG,
};

enum args_program {
	ARGS_SERVER,
	ARGS_CLIENT,
};

struct args {
	enum args_action action;
	const char *config;	/* borrowed from argv */
	const char *config_uri; /* client: a lostlove:// URI, "-" = stdin; NULL = none */
};

/* 0, or -EINVAL with a one-line message in err. */
int args_parse(enum args_program prog, int argc, char *const argv[], struct args *ret, char *err,
	       size_t err_len);
void args_usage(enum args_program prog, FILE *out);

#endif
