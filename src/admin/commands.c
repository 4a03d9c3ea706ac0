/* lostlove-admin's API commands; see admin.h. Every command makes one or
 * a few requests to the server's Unix socket and prints a human table or
 * block (or, with --json, the server's JSON). Every failure is one line
 * on stderr and exit status 1: the server's own reason when it answered
 * with an error, else what kept the request from it. */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/uclient.h"
#include "api/qr.h"
#include "core/limits.h"
#include "crypto/ct.h"

#define TARGET_MAX 512

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs(ADMIN_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* ---- values on the command line ---- */

int admin_parse_size(const char *s, long long *ret)
{
	static const char units[] = "KMGT";
	char *end;
	double v;
	const char *u;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		if (!(u = strchr(units, *end)) ||
		    (end[1] && strcmp(end + 1, "iB") && end[1] != 'B') || (end[1] == 'B' && end[2]))
			return -EINVAL;
		for (long i = 0; i <= u - units; i++)
			v *= 1024;
	}
	if (v < 0 || v > 9007199254740992.0 || v != v)
		return -EINVAL;
	*ret = (long long)v;
	return 0;
}

/* One date grammar with users.toml and the server: RFC 3339 is
 * core/limits' limits_parse_rfc3339; a bare date is its midnight UTC. */
int admin_parse_time(const char *s, long long *ret)
{
	char full[32];
	char *end;
	long long v;
	int64_t t;
	size_t len;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "never") == 0) {
		*ret = 0;
		return 0;
	}
	len = strlen(s);
	if (strspn(s, "0123456789") == len) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || len > 12)
			return -EINVAL;
		*ret = v;
		return 0;
	}
	if (len == 10) { /* YYYY-MM-DD */
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		s = full;
		len = strlen(full);
	}
	if (limits_parse_rfc3339(s, len, &t) < 0)
		return -EINVAL;
	*ret = (long long)t;
	return 0;
}

int admin_parse_duration(const char *s, long long *ret)
{
	static const struct {
		char unit;
		long long seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	long long v, mul = 1;
	size_t digits;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "never") == 0) {
		*ret = 0;
		return 0;
	}
	digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 12 || (s[digits] && s[digits + 1]))
		return -EINVAL;
	if (s[digits]) {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != s[digits]; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mul = units[i].seconds;
	}
	v = strtoll(s, NULL, 10);
	if (v > 9007199254740992LL / mul)
		return -EINVAL;
	*ret = v * mul;
	return 0;
}

/* ---- requests ---- */

/* Percent-encodes a path segment (user names are [A-Za-z0-9._-]; anything
 * else reaches the server encoded, and it says what is wrong). */
static int seg(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (n + 4 > cap)
			return -ENAMETOOLONG;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", c);
	}
	out[n] = '\0';
	return 0;
}

static int reach_error(const struct admin_ctx *a, int r)
{
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
		return fail("cannot reach lostlove-server at %s: is it running?", a->socket);
	case -EACCES:
		return fail("cannot reach lostlove-server at %s: permission denied (run as root "
			    "or as a member of the socket's group)",
			    a->socket);
	case -ETIMEDOUT:
		return fail("lostlove-server at %s did not answer in time", a->socket);
	default:
		return fail("cannot talk to lostlove-server at %s: %s", a->socket, strerror(-r));
	}
}

/* The server's error body, one line. */
static int api_error(const struct uclient_resp *res)
{
	json_t *j = json_loadb(res->body, res->len, 0, NULL);
	const char *reason = NULL, *code = NULL, *field = NULL;
	int r;

	if (j) {
		json_t *e = json_object_get(j, "error");
		reason = json_string_value(json_object_get(e, "reason"));
		code = json_string_value(json_object_get(e, "code"));
		field = json_string_value(json_object_get(e, "field"));
	}
	if (reason && field && strncmp(reason, field, strlen(field)) != 0)
		r = fail("%s: %s", field, reason);
	else if (reason)
		r = fail("%s", reason);
	else
		r = fail("the server answered %d%s%s", res->status, code ? " " : "",
			 code ? code : "");
	json_decref(j);
	return r;
}

/* One request; *ret the parsed JSON (NULL for a non-JSON body) on 2xx.
 * Returns 0, or the exit status 1 after the error line. */
static int call(const struct admin_ctx *a, const char *method, const char *target, json_t *body,
		json_t **ret, struct uclient_resp *raw)
{
	struct uclient_resp res;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int r;

	if (body && !text)
		return fail("out of memory");
	r = uclient_request(a->socket, method, target, text, text ? strlen(text) : 0, a->timeout_ms,
			    &res);
	free(text);
	if (r < 0)
		return reach_error(a, r);
	if (res.status < 200 || res.status > 299) {
		r = api_error(&res);
		uclient_resp_free(&res);
		return r;
	}
	if (ret) {
		*ret = json_loadb(res.body, res.len, 0, NULL);
		if (!*ret) {
			uclient_resp_free(&res);
			return fail("the server's answer is not JSON");
		}
	}
	if (raw)
		*raw = res;
	else
		uclient_resp_free(&res);
	return 0;
}

static void print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* ---- formatting ---- */

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static long long jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *human_bytes(long long v, char *buf, size_t cap)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, cap, "%lld B", v);
	else
		snprintf(buf, cap, "%.1f %s", d, u[i]);
	return buf;
}

static const char *human_time(long long t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t)
		return "never";
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

/* The QR code of text in the terminal (api/qr.h: half blocks, light
 * modules drawn, for the usual dark terminal). */
static void print_qr(const char *text)
{
	char *q = NULL;

	if (qr_text(text, 0, &q) < 0) {
		fprintf(stderr, ADMIN_PROG ": cannot make a QR code of the URI (too long?)\n");
		return;
	}
	fputs(q, stdout);
	free(q);
}

/* ---- users ---- */

static int user_target(char *target, const char *name, const char *suffix);

/* The client config at toml_target, the URI at uri_target and the URI's QR
 * code, for users and devices alike: only who is shown differs. With --json
 * doc (taken) gains "config" and "uri" and is printed instead. */
static int show_client(const struct admin_ctx *a, const char *toml_target, const char *uri_target,
		       const char *who, json_t *doc)
{
	struct uclient_resp toml, uri;
	int r = call(a, "GET", toml_target, NULL, NULL, &toml);

	if (r) {
		json_decref(doc);
		return r;
	}
	r = call(a, "GET", uri_target, NULL, NULL, &uri);
	if (r) {
		uclient_resp_free(&toml);
		json_decref(doc);
		return r;
	}
	while (uri.len && (uri.body[uri.len - 1] == '\n' || uri.body[uri.len - 1] == '\r'))
		uri.body[--uri.len] = '\0';
	if (a->json) {
		json_object_set_new(doc, "config", json_string(toml.body));
		json_object_set_new(doc, "uri", json_string(uri.body));
		print_json(doc);
	} else {
		printf("# client config for %s: save as /etc/lostlove/client.toml (mode 0600)\n%s",
		       who, toml.body);
		if (toml.len && toml.body[toml.len - 1] != '\n')
			putchar('\n');
		printf("\n# or import this URI:\n%s\n\n", uri.body);
		print_qr(uri.body);
	}
	json_decref(doc);
	uclient_resp_free(&toml);
	uclient_resp_free(&uri);
	return 0;
}

/* The user's client config. With --json one document:
 * {"user":USER,"config","uri"} when user is given (add-user),
 * {"name","config","uri"} otherwise (show-user). */
static int show_config(const struct admin_ctx *a, const char *name, json_t *user)
{
	char toml[TARGET_MAX], uri[TARGET_MAX];
	int r = user_target(toml, name, "/config?format=toml");

	if (r || (r = user_target(uri, name, "/config?format=uri")))
		return r;
	return show_client(a, toml, uri, name,
			   user ? json_pack("{s:O}", "user", user)
				: json_pack("{s:s}", "name", name));
}

static const struct option limit_opts[] = {
    {"public-key", required_argument, NULL, 'k'},
    {"psk", required_argument, NULL, 'p'},
    {"psk-file", required_argument, NULL, 'f'},
    {"data-limit", required_argument, NULL, 'd'},
    {"rate-limit", required_argument, NULL, 'r'},
    {"device-limit", required_argument, NULL, 'D'},
    {"expires", required_argument, NULL, 'e'},
    {"expires-after", required_argument, NULL, 'E'},
    {"quota-period", required_argument, NULL, 'P'},
    {"quota-day", required_argument, NULL, 'y'},
    {"quota-action", required_argument, NULL, 'a'},
    {"throttle-rate", required_argument, NULL, 't'},
    {"note", required_argument, NULL, 'n'},
    {"disabled", no_argument, NULL, 'x'},
    {NULL, 0, NULL, 0},
};

static int set_size(json_t *o, const char *key, const char *opt, const char *v)
{
	long long n;

	if (admin_parse_size(v, &n) < 0)
		return fail("--%s: '%.64s' is not a size (e.g. 1500, 10M, 2G)", opt, v);
	json_object_set_new(o, key, json_integer(n));
	return 0;
}

/* --psk-file FILE|-: the PSK from a file or stdin (what genpsk writes), so
 * it never sits in argv, which every local user can read (ps,
 * /proc/PID/cmdline). One line; surrounding white space is dropped. */
static int read_psk_file(const char *path, json_t *o)
{
	char buf[256];
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t n, b = 0;

	if (!f)
		return fail("--psk-file: cannot open %.200s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (buf[b] == ' ' || buf[b] == '\t')
		b++;
	if (n == sizeof(buf) - 1 || !buf[b] || strchr(buf + b, '\n')) {
		ct_wipe(buf, sizeof(buf));
		return fail("--psk-file: %.200s must hold one key (lostlove-admin genpsk)", path);
	}
	json_object_set_new(o, "psk", json_string(buf + b));
	ct_wipe(buf, sizeof(buf));
	return 0;
}

/* The body fields from the limit options; keys only with add-user. */
static int limits_body(int argc, char **argv, json_t *o, bool keys)
{
	long long t;
	int c, r = 0;

	optind = 1;
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, "", limit_opts, NULL)) != -1) {
		const char *v = optarg;
		switch (c) {
		case 'k':
		case 'p':
		case 'f':
			if (!keys)
				return fail("%s: --%s only with add-user", argv[0],
					    c == 'k'   ? "public-key"
					    : c == 'p' ? "psk"
						       : "psk-file");
			if (c != 'k' && json_object_get(o, "psk"))
				return fail("%s: one of --psk and --psk-file", argv[0]);
			if (c == 'f')
				r = read_psk_file(v, o);
			else
				json_object_set_new(o, c == 'k' ? "public_key" : "psk",
						    json_string(v));
			break;
		case 'd':
			r = set_size(o, "data_limit", "data-limit", v);
			break;
		case 'r':
			r = set_size(o, "rate_limit", "rate-limit", v);
			break;
		case 't':
			r = set_size(o, "throttle_rate", "throttle-rate", v);
			break;
		case 'D':
			r = set_size(o, "device_limit", "device-limit", v);
			break;
		case 'y':
			r = set_size(o, "quota_day", "quota-day", v);
			break;
		case 'e':
			if (admin_parse_time(v, &t) < 0)
				return fail("--expires: '%.64s' is not a time (never, YYYY-MM-DD, "
					    "YYYY-MM-DDTHH:MM:SSZ or unix seconds)",
					    v);
			json_object_set_new(o, "expires_at", json_integer(t));
			break;
		case 'E':
			if (admin_parse_duration(v, &t) < 0)
				return fail("--expires-after: '%.64s' is not a duration (never, "
					    "SECONDS, or N with s, m, h, d or w, e.g. 30d)",
					    v);
			json_object_set_new(o, "expires_after_first_connect", json_integer(t));
			break;
		case 'P':
			json_object_set_new(o, "quota_period", json_string(v));
			break;
		case 'a':
			json_object_set_new(o, "quota_action", json_string(v));
			break;
		case 'n':
			json_object_set_new(o, "note", json_string(v));
			break;
		case 'x':
			json_object_set_new(o, "enabled", json_false());
			break;
		default:
			return fail("%s: unknown or incomplete option '%.64s'", argv[0],
				    argv[optind - 1]);
		}
	}
	return r;
}

/* NAME as the one operand after the options. */
static const char *one_name(int argc, char **argv)
{
	if (optind != argc - 1) {
		fail("%s: expects one user name (%s NAME)", argv[0], argv[0]);
		return NULL;
	}
	return argv[optind];
}

/* Moves the first operand (the name) behind the options, so both
 * "add-user alice --data-limit 1G" and "add-user --data-limit 1G alice"
 * work with a POSIX getopt. */
static void name_last(int argc, char **argv)
{
	if (argc > 2 && argv[1][0] != '-') {
		char *name = argv[1];
		memmove(argv + 1, argv + 2, (size_t)(argc - 2) * sizeof(*argv));
		argv[argc - 1] = name;
	}
}

/* Deletes a user add-user just created; quiet unless that fails too. */
static void rollback(const struct admin_ctx *a, const char *name)
{
	char target[TARGET_MAX];

	if (user_target(target, name, "") == 0)
		(void)call(a, "DELETE", target, NULL, NULL, NULL);
}

int admin_add_user(const struct admin_ctx *a, int argc, char **argv)
{
	json_t *body = json_object(), *res = NULL;
	const char *name = NULL;
	int r;

	name_last(argc, argv);
	r = limits_body(argc, argv, body, true);
	if (r == 0 && !(name = one_name(argc, argv)))
		r = 1;
	if (r == 0) {
		json_object_set_new(body, "name", json_string(name));
		r = call(a, "POST", "/v1/users", body, &res, NULL);
	}
	if (r == 0 && !a->json)
		printf("user %s added: %s\n\n", name, jstr(json_object_get(res, "user"), "ipv4"));
	if (r == 0 && !json_object_get(body, "public_key")) {
		r = show_config(a, name, json_object_get(res, "user"));
		/* never half-done: a user whose config could not be shown (the
		 * server refuses that case before creating, this is the rest)
		 * is removed again; show_config printed why */
		if (r != 0)
			rollback(a, name);
	} else if (r == 0 && a->json) {
		/* the same document, without what only the client holds */
		json_t *j = json_pack("{s:O,s:n,s:n}", "user", json_object_get(res, "user"),
				      "config", "uri");
		print_json(j);
		json_decref(j);
	} else if (r == 0)
		printf("the client holds its own private key: give it this server's public key "
		       "(show-user %s)\n",
		       name);
	json_decref(body);
	json_decref(res);
	return r;
}

static int user_target(char *target, const char *name, const char *suffix)
{
	char s[256];

	if (seg(s, sizeof(s), name) < 0)
		return fail("user name too long");
	snprintf(target, TARGET_MAX, "/v1/users/%s%s", s, suffix);
	return 0;
}

static int simple_name(int argc, char **argv, const char **name)
{
	if (argc != 2)
		return fail("%s: expects one user name (%s NAME)", argv[0], argv[0]);
	*name = argv[1];
	return 0;
}

int admin_remove_user(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX];
	const char *name = NULL;
	json_t *res = NULL;
	int r = simple_name(argc, argv, &name);

	if (r == 0)
		r = user_target(target, name, "");
	if (r == 0)
		r = call(a, "DELETE", target, NULL, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("user %s removed\n", name);
	json_decref(res);
	return r;
}

static void user_row(const json_t *u)
{
	char used[32], lim[32], exp[32];
	long long limit = jint(u, "data_limit");

	printf("%-20s %-8s %-15s %12s %12s  %s\n", jstr(u, "name"),
	       json_is_true(json_object_get(u, "enabled")) ? "enabled" : "disabled",
	       jstr(u, "ipv4"),
	       human_bytes(jint(u, "used_up") + jint(u, "used_down"), used, sizeof(used)),
	       limit ? human_bytes(limit, lim, sizeof(lim)) : "-",
	       human_time(jint(u, "expires_at"), exp, sizeof(exp)));
}

int admin_list_users(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX];
	json_t *all, *res = NULL;
	long long after = 0;
	int r = 0;

	if (argc != 1)
		return fail("%s: takes no arguments", argv[0]);
	all = json_array();
	for (;;) {
		json_t *page, *next;
		snprintf(target, sizeof(target), "/v1/users?limit=1000&after=%lld", after);
		if ((r = call(a, "GET", target, NULL, &res, NULL)) != 0)
			break;
		page = json_object_get(res, "users");
		json_array_extend(all, page);
		next = json_object_get(res, "next_after");
		after = json_integer_value(next);
		json_decref(res);
		if (!json_is_integer(next))
			break;
	}
	if (r == 0 && a->json) {
		json_t *j = json_pack("{s:O}", "users", all);
		print_json(j);
		json_decref(j);
	} else if (r == 0) {
		size_t i;
		json_t *u;
		printf("%-20s %-8s %-15s %12s %12s  %s\n", "NAME", "STATE", "IPV4", "USED", "LIMIT",
		       "EXPIRES");
		json_array_foreach(all, i, u) user_row(u);
	}
	json_decref(all);
	return r;
}

int admin_show_user(const struct admin_ctx *a, int argc, char **argv)
{
	const char *name = NULL;
	int r = simple_name(argc, argv, &name);

	return r ? r : show_config(a, name, NULL);
}

static int patch_user(const struct admin_ctx *a, const char *name, json_t *body, const char *done)
{
	char target[TARGET_MAX];
	json_t *res = NULL;
	int r = user_target(target, name, "");

	if (r == 0)
		r = call(a, "PATCH", target, body, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("user %s %s\n", name, done);
	json_decref(res);
	return r;
}

static int set_enabled(const struct admin_ctx *a, int argc, char **argv, bool on)
{
	const char *name = NULL;
	json_t *body;
	int r = simple_name(argc, argv, &name);

	if (r)
		return r;
	body = json_pack("{s:b}", "enabled", on);
	r = patch_user(a, name, body, on ? "enabled" : "disabled");
	json_decref(body);
	return r;
}

int admin_enable(const struct admin_ctx *a, int argc, char **argv)
{
	return set_enabled(a, argc, argv, true);
}

int admin_disable(const struct admin_ctx *a, int argc, char **argv)
{
	return set_enabled(a, argc, argv, false);
}

int admin_set_limits(const struct admin_ctx *a, int argc, char **argv)
{
	json_t *body = json_object();
	const char *name = NULL;
	int r;

	name_last(argc, argv);
	r = limits_body(argc, argv, body, false);
	if (r == 0 && !(name = one_name(argc, argv)))
		r = 1;
	if (r == 0 && json_object_size(body) == 0)
		r = fail(
		    "%s: nothing to set (--data-limit, --rate-limit, --device-limit, "
		    "--expires, --expires-after, --quota-period, --quota-day, --quota-action, --throttle-rate, "
		    "--note)",
		    argv[0]);
	if (r == 0)
		r = patch_user(a, name, body, "updated");
	json_decref(body);
	return r;
}

/* ---- sessions, stats, the rest ---- */

/* A command without operands: one call, its answer as JSON (--json) or as
 * show prints it. */
static int no_operand_call(const struct admin_ctx *a, int argc, char **argv, const char *method,
			   const char *target, void (*show)(const json_t *res))
{
	json_t *res = NULL;
	int r;

	if (argc != 1)
		return fail("%s: takes no arguments", argv[0]);
	r = call(a, method, target, NULL, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		show(res);
	json_decref(res);
	return r;
}

static void print_sessions(const json_t *res)
{
	const json_t *s;
	size_t i;

	printf("%-6s %-20s %-15s %-28s %12s %12s %8s\n", "ID", "USER", "IPV4", "ENDPOINT", "RX",
	       "TX", "IDLE");
	json_array_foreach(json_object_get(res, "sessions"), i, s)
	{
		char rx[32], tx[32];
		printf("%-6lld %-20s %-15s %-28s %12s %12s %7llds\n", jint(s, "id"),
		       jstr(s, "user"), jstr(s, "ipv4"), jstr(s, "endpoint"),
		       human_bytes(jint(s, "rx_bytes"), rx, sizeof(rx)),
		       human_bytes(jint(s, "tx_bytes"), tx, sizeof(tx)), jint(s, "idle_ms") / 1000);
	}
}

int admin_sessions(const struct admin_ctx *a, int argc, char **argv)
{
	return no_operand_call(a, argc, argv, "GET", "/v1/sessions", print_sessions);
}

int admin_kick(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX];
	json_t *res = NULL;
	int r = 0;

	if (argc != 2)
		return fail("%s: expects a session id or a user name (%s ID|NAME)", argv[0],
			    argv[0]);
	if (strspn(argv[1], "0123456789") == strlen(argv[1]) && strlen(argv[1]) < 20)
		snprintf(target, sizeof(target), "/v1/sessions/%s", argv[1]);
	else
		r = user_target(target, argv[1], "/sessions");
	if (r == 0)
		r = call(a, "DELETE", target, NULL, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("%lld session(s) ended\n", jint(res, "sessions_ended"));
	json_decref(res);
	return r;
}

static void print_stats(const json_t *s)
{
	char b[32];

	printf("uptime        %lld s\n", jint(s, "uptime_s"));
	printf("users         %lld enabled, %lld connected\n", jint(s, "users"),
	       jint(s, "connected"));
	printf("sessions      %lld\n", jint(s, "sessions"));
	printf("received      %lld packets, %s\n", jint(s, "rx_packets"),
	       human_bytes(jint(s, "rx_bytes"), b, sizeof(b)));
	printf("sent          %lld packets, %s\n", jint(s, "tx_packets"),
	       human_bytes(jint(s, "tx_bytes"), b, sizeof(b)));
	printf("handshakes    %lld ok, %lld failed, %lld refused (server full)\n",
	       jint(s, "handshakes_ok"), jint(s, "handshakes_failed"),
	       jint(s, "handshakes_refused_full"));
	printf("drops         %lld\n", jint(s, "drops"));
}

static void print_user_stats(const json_t *s)
{
	char up[32], down[32], lim[32];
	long long limit = jint(s, "data_limit");

	printf("user          %s\n", jstr(s, "name"));
	printf("used          %s up, %s down (this period)\n",
	       human_bytes(jint(s, "used_up"), up, sizeof(up)),
	       human_bytes(jint(s, "used_down"), down, sizeof(down)));
	printf("data limit    %s\n", limit ? human_bytes(limit, lim, sizeof(lim)) : "none");
	printf("sessions      %zu\n", json_array_size(json_object_get(s, "sessions")));
}

int admin_stats(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX] = "/v1/stats";
	json_t *res = NULL;
	int r = 0;

	if (argc > 2)
		return fail("%s: takes at most a user name (%s [NAME])", argv[0], argv[0]);
	if (argc == 2)
		r = user_target(target, argv[1], "/stats");
	if (r == 0)
		r = call(a, "GET", target, NULL, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0 && argc == 2)
		print_user_stats(res);
	else if (r == 0)
		print_stats(res);
	json_decref(res);
	return r;
}

static void print_reload(const json_t *res)
{
	printf("reloaded: %lld user(s) enabled\n", jint(res, "users"));
}

int admin_reload(const struct admin_ctx *a, int argc, char **argv)
{
	return no_operand_call(a, argc, argv, "POST", "/v1/reload", print_reload);
}

static const struct option token_opts[] = {
    {"sub", required_argument, NULL, 's'},
    {"role", required_argument, NULL, 'r'},
    {"ttl", required_argument, NULL, 't'},
    {NULL, 0, NULL, 0},
};

int admin_token(const struct admin_ctx *a, int argc, char **argv)
{
	json_t *body, *res = NULL;
	const char *sub = NULL, *role = "read-only";
	long long ttl = 3600;
	char *end;
	int c, r = 0;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return fail("token: expects 'token create --sub WHO [--role admin|read-only] "
			    "[--ttl SECONDS]'");
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", token_opts, NULL)) != -1) {
		if (c == 's')
			sub = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 't' && (ttl = strtoll(optarg, &end, 10), *end || ttl <= 0))
			return fail("token create: --ttl '%.64s' is not a number of seconds",
				    optarg);
		else if (c != 't')
			return fail("token create: unknown or incomplete option '%.64s'",
				    argv[optind - 1]);
	}
	if (!sub || optind != argc)
		return fail("token create: expects --sub WHO (and no other operand)");
	body = json_pack("{s:s,s:s,s:I}", "sub", sub, "role", role, "ttl", (json_int_t)ttl);
	r = call(a, "POST", "/v1/tokens", body, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("%s\n", jstr(res, "token"));
	json_decref(body);
	json_decref(res);
	return r;
}

static void print_audit(const json_t *res)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(res, "audit"), i, e)
	{
		char t[32];
		printf("%s  %-16s %-14s %-20s %s\n", human_time(jint(e, "at"), t, sizeof(t)),
		       jstr(e, "actor"), jstr(e, "action"), jstr(e, "target"), jstr(e, "detail"));
	}
}

int admin_audit(const struct admin_ctx *a, int argc, char **argv)
{
	return no_operand_call(a, argc, argv, "GET", "/v1/audit?limit=100", print_audit);
}

/* ---- devices (docs/api.md, "Devices") ---- */

/* /v1/users/USER/devices[/DEVICE[SUFFIX]] into target. */
static int device_target(char *target, const char *user, const char *device, const char *suffix)
{
	char u[256], d[256];

	if (seg(u, sizeof(u), user) < 0 || (device && seg(d, sizeof(d), device) < 0))
		return fail("name too long");
	int n = device ? snprintf(target, TARGET_MAX, "/v1/users/%s/devices/%s%s", u, d, suffix)
		       : snprintf(target, TARGET_MAX, "/v1/users/%s/devices", u);

	return n < 0 || n >= TARGET_MAX ? fail("name too long") : 0;
}

/* The device's config, URI and QR code; with --json one document
 * {"user","device":DEVICE or its name,"config","uri"}. */
static int show_device_config(const struct admin_ctx *a, const char *user, const char *device,
			      json_t *dev)
{
	char toml[TARGET_MAX], uri[TARGET_MAX], who[600];
	int r = device_target(toml, user, device, "/config?format=toml");

	if (r || (r = device_target(uri, user, device, "/config?format=uri")))
		return r;
	snprintf(who, sizeof(who), "device %s of %s", device, user);
	return show_client(a, toml, uri, who,
			   json_pack("{s:s,s:o}", "user", user, "device",
				     dev ? json_incref(dev) : json_string(device)));
}

/* The lowest "deviceN" (N from 1) the user has no device of. */
static int free_device_name(const struct admin_ctx *a, const char *user, char *name, size_t cap)
{
	char target[TARGET_MAX];
	json_t *res = NULL, *d;
	size_t i;
	int r = device_target(target, user, NULL, "");

	if (r || (r = call(a, "GET", target, NULL, &res, NULL)))
		return r;
	for (unsigned n = 1;; n++) {
		bool taken = false;
		snprintf(name, cap, "device%u", n);
		json_array_foreach(json_object_get(res, "devices"), i, d) taken |=
		    !strcmp(jstr(d, "name"), name);
		if (!taken)
			break;
	}
	json_decref(res);
	return 0;
}

int admin_add_device(const struct admin_ctx *a, int argc, char **argv)
{
	json_t *body = json_object(), *res = NULL;
	const char *user = NULL, *given = NULL, *key = NULL;
	char name[64] = "", target[TARGET_MAX];
	int r = 0;

	/* USER [NAME] [--public-key KEY], the option anywhere */
	for (int i = 1; i < argc && r == 0; i++) {
		if (!strcmp(argv[i], "--public-key") && i + 1 < argc)
			key = argv[++i];
		else if (argv[i][0] == '-')
			r = fail("%s: unknown option '%s' (USER [NAME] [--public-key KEY])",
				 argv[0], argv[i]);
		else if (!user)
			user = argv[i];
		else if (!given)
			given = argv[i];
		else
			r = fail("%s: expects USER [NAME] [--public-key KEY]", argv[0]);
	}
	if (given && strlen(given) >= sizeof(name))
		r = r ? r : fail("%s: device name too long", argv[0]);
	else if (given)
		snprintf(name, sizeof(name), "%s", given);
	if (r == 0 && !user)
		r = fail("%s: expects USER [NAME] [--public-key KEY]", argv[0]);
	if (r == 0 && !name[0])
		r = free_device_name(a, user, name, sizeof(name));
	if (r == 0) {
		json_object_set_new(body, "name", json_string(name));
		if (key)
			json_object_set_new(body, "public_key", json_string(key));
		r = device_target(target, user, NULL, "");
	}
	if (r == 0)
		r = call(a, "POST", target, body, &res, NULL);
	if (r == 0 && !a->json)
		printf("device %s of %s added: %s\n\n", name, user,
		       jstr(json_object_get(res, "device"), "ipv4"));
	if (r == 0 && !key) {
		r = show_device_config(a, user, name, json_object_get(res, "device"));
		if (r != 0 && device_target(target, user, name, "") == 0) /* never half-done */
			(void)call(a, "DELETE", target, NULL, NULL, NULL);
	} else if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("the client holds its own private key: give it this server's public key\n");
	json_decref(body);
	json_decref(res);
	return r;
}

int admin_list_devices(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX], t[32];
	json_t *res = NULL, *d;
	size_t i;
	int r;

	if (argc != 2)
		return fail("%s: expects one user name (%s USER)", argv[0], argv[0]);
	r = device_target(target, argv[1], NULL, "");
	if (r == 0)
		r = call(a, "GET", target, NULL, &res, NULL);
	if (r == 0 && a->json) {
		print_json(res);
	} else if (r == 0) {
		long long limit = jint(res, "device_limit");
		printf("user %s: device_limit %s%lld (its own key is device 0)\n", argv[1],
		       limit ? "" : "unlimited, ", limit);
		printf("%-20s %-15s %-39s %s\n", "DEVICE", "IPV4", "IPV6", "CREATED");
		json_array_foreach(json_object_get(res, "devices"), i, d)
		    printf("%-20s %-15s %-39s %s\n", jstr(d, "name"), jstr(d, "ipv4"),
			   jstr(d, "ipv6"), human_time(jint(d, "created_at"), t, sizeof(t)));
	}
	json_decref(res);
	return r;
}

int admin_remove_device(const struct admin_ctx *a, int argc, char **argv)
{
	char target[TARGET_MAX];
	json_t *res = NULL;
	int r;

	if (argc != 3)
		return fail("%s: expects USER DEVICE", argv[0]);
	r = device_target(target, argv[1], argv[2], "");
	if (r == 0)
		r = call(a, "DELETE", target, NULL, &res, NULL);
	if (r == 0 && a->json)
		print_json(res);
	else if (r == 0)
		printf("device %s of %s removed\n", argv[2], argv[1]);
	json_decref(res);
	return r;
}

int admin_show_device(const struct admin_ctx *a, int argc, char **argv)
{
	if (argc != 3)
		return fail("%s: expects USER DEVICE", argv[0]);
	return show_device_config(a, argv[1], argv[2], NULL);
}
