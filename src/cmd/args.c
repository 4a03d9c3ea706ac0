/* Command-line parsing of the daemons; see args.h. Hand-written rather
 * than getopt_long: a handful of options, no global state, and tests
 * call it repeatedly. */
#include "cmd/args.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char *const names[] = {
    [ARGS_SERVER] = "lostlove-server",
    [ARGS_CLIENT] = "lostlove-client",
};

void args_usage(enum args_program prog, FILE *out)
{
	if (prog == ARGS_SERVER) {
		fprintf(out, "Usage: %s -c FILE [options]\n\n", names[prog]);
		fprintf(out, "  -c, --config FILE   configuration file (required)\n");
	} else {
		fprintf(out, "Usage: %s (-c FILE | --config-uri URI) [options]\n\n", names[prog]);
		fprintf(out, "  -c, --config FILE   configuration file\n");
		fprintf(out,
			"      --config-uri URI\n"
			"                      the configuration as a lostlove:// URI "
			"(docs/client-uri.md);\n"
			"                      \"-\" reads it from stdin (a URI on the command "
			"line is\n"
			"                      visible to every local user: it holds the keys)\n");
	}
	fprintf(out, "      --check-config  validate the configuration, print the problems, "
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

/* The value of option argv[*i] ("--opt VALUE" or "--opt=VALUE" for long
 * names): NULL when argv[*i] is not this option, "" after an error. */
static const char *option_value(int argc, char *const argv[], int *i, const char *shrt,
				const char *lng, char *err, size_t err_len)
{
	const char *arg = argv[*i];
	size_t n = strlen(lng);
	if (strncmp(arg, lng, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	if ((!shrt || strcmp(arg, shrt) != 0) && strcmp(arg, lng) != 0)
		return NULL;
	if (*i + 1 >= argc) {
		snprintf(err, err_len, "%s needs a value", arg);
		return "";
	}
	return argv[++*i];
}

/* Handles argv[*i] if it is a config option; -ENOENT if it is not. */
static int config_option(enum args_program prog, int argc, char *const argv[], int *i,
			 struct args *a, char *err, size_t err_len)
{
	const char *v = option_value(argc, argv, i, "-c", "--config", err, err_len);
	if (v) {
		a->config = v;
	} else if (prog == ARGS_CLIENT &&
		   (v = option_value(argc, argv, i, NULL, "--config-uri", err, err_len))) {
		a->config_uri = v;
	} else {
		return -ENOENT;
	}
	if (v[0] == '\0') {
		if (!err[0])
			snprintf(err, err_len, "empty configuration %s",
				 a->config == v ? "file name" : "URI");
		return -EINVAL;
	}
	return 0;
}

static int one(enum args_program prog, int argc, char *const argv[], int *i, struct args *a,
	       char *err, size_t err_len)
{
	const char *arg = argv[*i];
	int r = config_option(prog, argc, argv, i, a, err, err_len);

	if (r != -ENOENT)
		return r;
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
		return set_action(a, ARGS_HELP, arg, err, err_len);
	if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0)
		return set_action(a, ARGS_VERSION, arg, err, err_len);
	if (strcmp(arg, "--dump-config") == 0)
		return set_action(a, ARGS_DUMP_CONFIG, arg, err, err_len);
	if (strcmp(arg, "--check-config") == 0)
		return set_action(a, ARGS_CHECK_CONFIG, arg, err, err_len);
	snprintf(err, err_len, "unknown option '%.64s' (try --help)", arg);
	return -EINVAL;
}

int args_parse(enum args_program prog, int argc, char *const argv[], struct args *ret, char *err,
	       size_t err_len)
{
	struct args a = {.action = ARGS_RUN};

	if (err_len)
		err[0] = '\0';

	for (int i = 1; i < argc; i++) {
		int r = one(prog, argc, argv, &i, &a, err, err_len);
		if (r < 0)
			return r;
	}
	bool needs_config = a.action != ARGS_HELP && a.action != ARGS_VERSION;
	if (needs_config && !a.config && !a.config_uri) {
		snprintf(err, err_len, "missing -c FILE%s (try --help)",
			 prog == ARGS_CLIENT ? " or --config-uri URI" : "");
		return -EINVAL;
	}
	if (needs_config && a.config && a.config_uri) {
		snprintf(err, err_len, "-c and --config-uri cannot be combined");
		return -EINVAL;
	}
	*ret = a;
	return 0;
}
