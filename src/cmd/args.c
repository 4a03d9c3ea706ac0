/* Command-line parsing of the daemons; see args.h. Hand-written rather
 * than getopt_long: a handful of options, no global state, and tests
 * call it repeatedly. */
#include "cmd/args.h"

#include <errno.h>
#include <string.h>

static const char *const names[] = {
    [ARGS_SERVER] = "lostlove-server",
    [ARGS_CLIENT] = "lostlove-client",
};

void args_usage(enum args_program prog, FILE *out)
{
	fprintf(out, "Usage: %s -c FILE [options]\n\n", names[prog]);
	fprintf(out, "  -c, --config FILE   configuration file (required)\n");
	if (prog == ARGS_SERVER)
		fprintf(out,
			"      --check-config  validate the configuration, print the problems, "
			"exit 0 if it is usable, 1 if not\n");
	fprintf(out,
		"      --dump-config   print the effective configuration (secrets redacted)\n");
	fprintf(out, "  -h, --help          this text\n");
	fprintf(out, "  -V, --version       print the version\n\n");
	fprintf(out, "Runs in the foreground until SIGTERM or SIGINT%s; logs go to stderr.\n",
		prog == ARGS_SERVER ? " (SIGHUP reloads the users, SIGUSR1 logs statistics)" : "");
}

static int set_action(struct args *a, enum args_action action, const char *opt, char *err,
		      size_t err_len)
{
	if (a->action != ARGS_RUN && a->action != action) {
		snprintf(err, err_len, "%s cannot be combined with another action", opt);
		return -EINVAL;
	}
	a->action = action;
	return 0;
}

/* Handles argv[*i] if it is the config option; -ENOENT if it is not. */
static int config_option(int argc, char *const argv[], int *i, struct args *a, char *err,
			 size_t err_len)
{
	const char *arg = argv[*i];

	if (strncmp(arg, "--config=", 9) == 0) {
		a->config = arg + 9;
	} else if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
		if (*i + 1 >= argc) {
			snprintf(err, err_len, "%s needs a file name", arg);
			return -EINVAL;
		}
		a->config = argv[++*i];
	} else {
		return -ENOENT;
	}
	if (a->config[0] == '\0') {
		snprintf(err, err_len, "empty configuration file name");
		return -EINVAL;
	}
	return 0;
}

static int one(enum args_program prog, int argc, char *const argv[], int *i, struct args *a,
	       char *err, size_t err_len)
{
	const char *arg = argv[*i];
	int r = config_option(argc, argv, i, a, err, err_len);

	if (r != -ENOENT)
		return r;
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
		return set_action(a, ARGS_HELP, arg, err, err_len);
	if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0)
		return set_action(a, ARGS_VERSION, arg, err, err_len);
	if (strcmp(arg, "--dump-config") == 0)
		return set_action(a, ARGS_DUMP_CONFIG, arg, err, err_len);
	if (prog == ARGS_SERVER && strcmp(arg, "--check-config") == 0)
		return set_action(a, ARGS_CHECK_CONFIG, arg, err, err_len);
	snprintf(err, err_len, "unknown option '%.64s' (try --help)", arg);
	return -EINVAL;
}

int args_parse(enum args_program prog, int argc, char *const argv[], struct args *ret, char *err,
	       size_t err_len)
{
	struct args a = {.action = ARGS_RUN};

	for (int i = 1; i < argc; i++) {
		int r = one(prog, argc, argv, &i, &a, err, err_len);
		if (r < 0)
			return r;
	}
	if (a.action != ARGS_HELP && a.action != ARGS_VERSION && !a.config) {
		snprintf(err, err_len, "missing -c FILE (try --help)");
		return -EINVAL;
	}
	*ret = a;
	return 0;
}
