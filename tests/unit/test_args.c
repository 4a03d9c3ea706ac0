/* Command lines of the daemons (cmd/args.c, included: it is not part of
 * the core library): a numbered table of argument vectors and what they
 * parse to, or that they are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cmd/args.c"

struct case_ {
	enum args_program prog;
	const char *argv[6];
	int ret;
	enum args_action action;
	const char *config;
	const char *config_uri;
};

#define SRV ARGS_SERVER
#define CLI ARGS_CLIENT

/* clang-format off */
static const struct case_ cases[] = {
	/*  1 */ {SRV, {"-c", "a.toml"}, 0, ARGS_RUN, "a.toml"},
	/*  2 */ {SRV, {"--config", "a.toml"}, 0, ARGS_RUN, "a.toml"},
	/*  3 */ {SRV, {"--config=a.toml"}, 0, ARGS_RUN, "a.toml"},
	/*  4 */ {SRV, {"--check-config", "-c", "a"}, 0, ARGS_CHECK_CONFIG, "a"},
	/*  5 */ {SRV, {"-c", "a", "--dump-config"}, 0, ARGS_DUMP_CONFIG, "a"},
	/*  6 */ {SRV, {"--help"}, 0, ARGS_HELP, NULL},
	/*  7 */ {SRV, {"-h", "-c", "x"}, 0, ARGS_HELP, "x"},
	/*  8 */ {SRV, {"-V"}, 0, ARGS_VERSION, NULL},
	/*  9 */ {SRV, {"--version"}, 0, ARGS_VERSION, NULL},
	/* 10 */ {SRV, {}, -EINVAL, 0, NULL},                      /* -c is required */
	/* 11 */ {SRV, {"-c"}, -EINVAL, 0, NULL},                  /* without its file */
	/* 12 */ {SRV, {"--config="}, -EINVAL, 0, NULL},
	/* 13 */ {SRV, {"-c", "a", "--bogus"}, -EINVAL, 0, NULL},
	/* 14 */ {SRV, {"--check-config"}, -EINVAL, 0, NULL},
	/* 15 */ {SRV, {"--check-config", "--dump-config", "-c", "a"}, -EINVAL, 0, NULL},
	/* 16 */ {SRV, {"a.toml"}, -EINVAL, 0, NULL},               /* positional */
	/* 17 */ {CLI, {"-c", "c.toml"}, 0, ARGS_RUN, "c.toml"},
	/* 18 */ {CLI, {"--check-config", "-c", "c"}, 0, ARGS_CHECK_CONFIG, "c"},
	/* 19 */ {CLI, {"--dump-config", "-c", "c"}, 0, ARGS_DUMP_CONFIG, "c"},
	/* 20 */ {CLI, {"-c", "a", "-c", "b"}, 0, ARGS_RUN, "b"},  /* the last one wins */
	/* 21 */ {CLI, {"--config-uri", "lostlove://k@h:1"}, 0, ARGS_RUN, NULL, "lostlove://k@h:1"},
	/* 22 */ {CLI, {"--config-uri=-", "--check-config"}, 0, ARGS_CHECK_CONFIG, NULL, "-"},
	/* 23 */ {CLI, {"--config-uri", "-", "-c", "c"}, -EINVAL, 0, NULL, NULL}, /* one source */
	/* 24 */ {CLI, {"--config-uri"}, -EINVAL, 0, NULL, NULL},
	/* 25 */ {CLI, {"--config-uri="}, -EINVAL, 0, NULL, NULL},
	/* 26 */ {SRV, {"--config-uri", "-"}, -EINVAL, 0, NULL, NULL}, /* client only */
	/* 27 */ {CLI, {}, -EINVAL, 0, NULL, NULL},
};
/* clang-format on */

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		char *argv[8] = {"prog"};
		int argc = 1;
		struct args a = {0};
		char err[128] = "";
		int r;

		while (c->argv[argc - 1])
			argv[argc] = (char *)c->argv[argc - 1], argc++;
		r = args_parse(c->prog, argc, argv, &a, err, sizeof(err));
		if (r != c->ret)
			fail_msg("case %zu: returned %d (%s)", i + 1, r, err);
		if (r < 0) {
			assert_true(err[0] != '\0');
			continue;
		}
		assert_int_equal(a.action, c->action);
		if (c->config)
			assert_string_equal(a.config, c->config);
		if (c->config_uri)
			assert_string_equal(a.config_uri, c->config_uri);
		else
			assert_null(a.config_uri);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_table)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
