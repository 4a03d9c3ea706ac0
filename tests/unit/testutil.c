#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/hex.h"

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "FATAL: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static const char *env_path(const char *var, const char *relative)
{
	static char path[4096];
	const char *root = getenv(var);
	if (!root || !*root)
		die("%s is not set (run the tests through meson test)", var);
	snprintf(path, sizeof(path), "%s/%s", root, relative);
	return path;
}

const char *tu_vector_path(const char *relative)
{
	struct stat st;
	const char *dir = env_path("LL_VECTORS_DIR", "");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		die("test vectors directory %s is missing: the shared vectors must sit beside "
		    "the checkout (../shared/vectors) or be named with -Dvectors_dir",
		    dir);
	const char *path = env_path("LL_VECTORS_DIR", relative);
	if (stat(path, &st) != 0)
		die("test vector file %s is missing", path);
	return path;
}

const char *tu_source_path(const char *relative)
{
	return env_path("LL_SOURCE_ROOT", relative);
}

char *tu_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	if (fseek(f, 0, SEEK_END) != 0)
		die("cannot seek %s", path);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	buf[n] = '\0';
	if (ret_len)
		*ret_len = (size_t)n;
	return buf;
}

uint8_t *tu_hex(const char *hex, size_t *ret_len)
{
	size_t n = strlen(hex);
	if (n % 2)
		die("odd-length hex string: %s", hex);
	uint8_t *out = malloc(n / 2 + 1);
	if (!out || hex_decode(out, n / 2, hex) != 0)
		die("bad hex string: %s", hex);
	*ret_len = n / 2;
	return out;
}

json_t *tu_wycheproof_load(const char *name)
{
	char rel[512];
	json_error_t err;
	snprintf(rel, sizeof(rel), "wycheproof/%s", name);
	const char *path = tu_vector_path(rel);
	json_t *root = json_load_file(path, 0, &err);
	if (!root)
		die("cannot parse %s", path);
	return root;
}

const char *tu_kv_get(size_t n, char **names, char **values, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

#define KV_MAX 32

static void kv_flush(size_t *n, char **names, char **values, tu_kv_case_fn fn, void *ctx,
		     size_t *cases)
{
	if (*n == 0)
		return;
	fn(ctx, *n, names, values);
	for (size_t i = 0; i < *n; i++) {
		free(names[i]);
		free(values[i]);
	}
	*n = 0;
	(*cases)++;
}

size_t tu_kv_file_foreach(const char *path, tu_kv_case_fn fn, void *ctx)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open %s", path);
	char *line = NULL, *names[KV_MAX], *values[KV_MAX];
	size_t cap = 0, n = 0, cases = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[0] == '#')
			continue;
		if (len == 0) {
			kv_flush(&n, names, values, fn, ctx, &cases);
			continue;
		}
		char *eq = strstr(line, " = ");
		if (!eq || n == KV_MAX)
			die("malformed vector line in %s", path);
		*eq = '\0';
		names[n] = strdup(line);
		values[n] = strdup(eq + 3);
		n++;
	}
	kv_flush(&n, names, values, fn, ctx, &cases);
	free(line);
	fclose(f);
	return cases;
}
