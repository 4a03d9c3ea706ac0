/* The dependency rule of docs/architecture.md, checked on the sources:
 * every project include ("dir/file.h") of every file in src/<dir>/ must
 * name a directory <dir> may depend on. The rule that matters most here:
 * dataplane/ (the one data path of both daemons) never reaches up into
 * server/ or client/, and only cmd/ sees both daemons.
 *
 *   cmd -> {admin ->} {server, client} -> dataplane -> {io, network, auth,
 *   obfuscation, front} -> {config, core, protocol, storage} -> crypto -> util
 *
 * The sources are found through LL_SOURCE_ROOT (tests/meson.build). */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

/* What each directory may include besides itself; NULL ends a list. */
struct layer {
	const char *dir;
	const char *may[16];
};

#define DATAPLANE_DEPS                                                                             \
	"io", "network", "auth", "obfuscation", "front", "config", "core", "protocol", "crypto",   \
	    "util"

static const struct layer layers[] = {
    {"util", {NULL}},
    {"crypto", {"util", NULL}},
    {"protocol", {"crypto", "util", NULL}},
    {"obfuscation", {"protocol", "crypto", "util", NULL}},
    {"io", {"util", NULL}},
    {"network", {"io", "util", NULL}},
    {"auth", {"util", NULL}},
    {"front", {"io", "protocol", "crypto", "util", NULL}},
    {"storage", {"config", "util", NULL}},
    {"core", {"storage", "util", NULL}},
    /* config checks names and addresses with api/'s pure parts */
    {"config", {"api", "core", "storage", "obfuscation", "protocol", "crypto", "util", NULL}},
    {"dataplane", {DATAPLANE_DEPS, NULL}},
    {"client", {"dataplane", DATAPLANE_DEPS, NULL}},
    {"server", {"dataplane", "api", "storage", DATAPLANE_DEPS, NULL}},
    /* the admin API runs in the server as an addon (api.c) */
    {"api", {"server", "auth", "config", "storage", "crypto", "util", NULL}},
    {"admin", {"api", "config", "core", "crypto", "util", NULL}},
    {"cmd", {"server", "client", "admin", "api", "config", "crypto", "util", NULL}},
};

static const struct layer *layer_of(const char *dir)
{
	for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
		if (!strcmp(layers[i].dir, dir))
			return &layers[i];
	return NULL;
}

static int may_include(const struct layer *l, const char *target)
{
	if (!strcmp(l->dir, target))
		return 1;
	for (size_t i = 0; l->may[i]; i++)
		if (!strcmp(l->may[i], target))
			return 1;
	return 0;
}

/* The directory a line includes from ("#include \"dir/x.h\""), into
 * target; 0 if the line is no such include. */
static int include_dir(const char *line, char *target, size_t cap)
{
	const char *p = line, *slash;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "#include \"", 10) != 0)
		return 0;
	p += 10;
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= cap || memchr(p, '"', slash - p))
		return 0;
	memcpy(target, p, slash - p);
	target[slash - p] = '\0';
	return 1;
}

/* 1 if the line breaks dir's rule (an include of a directory it may not
 * use, or of an unknown one). */
static int line_violates(const struct layer *l, const char *line, char *target, size_t cap)
{
	if (!include_dir(line, target, cap))
		return 0;
	return !layer_of(target) || !may_include(l, target);
}

/* The checker itself: a test that cannot fail proves nothing. */
static void test_checker_fires(void **state)
{
	char t[64];

	(void)state;
	assert_true(
	    line_violates(layer_of("dataplane"), "#include \"server/admission.h\"", t, sizeof(t)));
	assert_string_equal(t, "server");
	assert_true(
	    line_violates(layer_of("dataplane"), "#include \"client/client.h\"", t, sizeof(t)));
	assert_true(
	    line_violates(layer_of("client"), "#include \"server/server.h\"", t, sizeof(t)));
	assert_true(line_violates(layer_of("crypto"), " #include \"io/udp.h\"", t, sizeof(t)));
	assert_true(line_violates(layer_of("io"), "#include \"nosuchdir/x.h\"", t, sizeof(t)));
	assert_false(line_violates(layer_of("dataplane"), "#include \"io/udp.h\"", t, sizeof(t)));
	assert_false(
	    line_violates(layer_of("server"), "#include \"dataplane/hsq.h\"", t, sizeof(t)));
	assert_false(
	    line_violates(layer_of("dataplane"), "#include <urcu/urcu-memb.h>", t, sizeof(t)));
}

static int is_source(const char *name)
{
	size_t n = strlen(name);

	return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

/* Checks every file of src/<dir>; returns the number of violations
 * (each printed) and adds the files seen to *files. */
static unsigned check_dir(const char *root, const struct layer *l, unsigned *files)
{
	char path[4096], line[1024], target[64];
	unsigned bad = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/src/%s", root, l->dir);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		FILE *f;
		unsigned no = 0;

		if (!is_source(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/src/%s/%s", root, l->dir, e->d_name);
		f = fopen(path, "r");
		assert_non_null(f);
		(*files)++;
		while (fgets(line, sizeof(line), f)) {
			no++;
			if (line_violates(l, line, target, sizeof(target))) {
				print_error("src/%s/%s:%u: %s/ may not include %s/\n", l->dir,
					    e->d_name, no, l->dir, target);
				bad++;
			}
		}
		fclose(f);
	}
	closedir(d);
	return bad;
}

/* Every directory of src/ has a rule, and every file keeps it. */
static void test_sources_keep_the_rule(void **state)
{
	const char *root = getenv("LL_SOURCE_ROOT");
	char path[4096];
	unsigned bad = 0, files = 0, dirs = 0;
	struct dirent *e;
	DIR *d;

	(void)state;
	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/src", root);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		const struct layer *l;

		if (strchr(e->d_name,
			   '.')) /* ., .., meson.build: src/ holds only directories else */
			continue;
		l = layer_of(e->d_name);
		if (!l) {
			print_error("src/%s/ has no rule in test_layers.c\n", e->d_name);
			bad++;
			continue;
		}
		dirs++;
		bad += check_dir(root, l, &files);
	}
	closedir(d);
	assert_true(dirs >= 15);
	assert_true(files > 100);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker_fires),
	    cmocka_unit_test(test_sources_keep_the_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
