/* The client's configuration: one file with a [client] table and an
 * optional [obfuscation] table
 * (docs/configuration.md). It holds the client's private key and PSK, so
 * both are CONFIG_SENSITIVE: never echoed in a message, redacted in a dump,
 * and wiped by client_config_free. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_impl.h"
#include "core/sandbox.h"
#include "crypto/ct.h"
#include "obfuscation/shaper.h"
#include "config/toml.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CLI(member)  CONFIG_FIELD(client_config, member)

static int parse_server(const struct config_option *o, const struct toml_value *v, void *target,
			struct config_problem *ret);
static void format_server(const struct config_option *o, const void *target, char *buf, size_t len);
static int check_mtu(const struct config_option *o, const void *target, struct config_problem *ret);

static int check_name(const struct config_option *o, const void *target,
		      struct config_problem *ret);
static int check_path(const struct config_option *o, const void *target,
		      struct config_problem *ret);

static const struct config_name transports[] = {
    {"udp", CLIENT_TRANSPORT_UDP},
    {"tls", CLIENT_TRANSPORT_TLS},
    {"auto", CLIENT_TRANSPORT_AUTO},
    {NULL, 0},
};

static const struct config_option client_options[] = {
    {"client", "server", CONFIG_CUSTOM, CONFIG_REQUIRED, CLI(server_host), .parse = parse_server,
     .format = format_server},
    {"client", "server_public_key", CONFIG_CUSTOM, CONFIG_REQUIRED, CLI(server_public_key),
     .parse = config_parse_key, .format = config_format_key},
    {"client", "private_key", CONFIG_CUSTOM, CONFIG_REQUIRED | CONFIG_SENSITIVE, CLI(private_key),
     .parse = config_parse_key, .format = config_format_key},
    {"client", "psk", CONFIG_CUSTOM, CONFIG_REQUIRED | CONFIG_SENSITIVE, CLI(psk),
     .parse = config_parse_key, .format = config_format_key},
    {"client", "tun_name", CONFIG_STRING, 0, CLI(tun_name), .min = 1, .max = 15, .def = "\"ll0\"",
     .check = config_check_ifname},
    {"client", "mtu", CONFIG_UINT, 0, CLI(mtu), .min = 0, .max = 9000, .def = "0",
     .check = check_mtu},
    {"client", "routes", CONFIG_CUSTOM, 0, CLI(routes), CONFIG_AUX(client_config, n_routes),
     .max = CONFIG_MAX_ROUTES, .def = "[\"0.0.0.0/0\", \"::/0\"]", .parse = config_parse_prefixes,
     .format = config_format_prefixes},
    {"client", "dns", CONFIG_BOOL, 0, CLI(use_server_dns), .def = "true"},
    {"client", "qrl_enabled", CONFIG_CUSTOM, 0, CLI(kem), .def = "true", .parse = config_parse_kem,
     .format = config_format_kem},
    {"client", "keepalive", CONFIG_UINT, 0, CLI(keepalive_s), .min = 0, .max = 3600, .def = "0"},
    {"client", "log_level", CONFIG_ENUM, 0, CLI(log_level), .names = config_log_levels,
     .def = "\"info\""},
    {"client", "user", CONFIG_STRING, 0, CLI(user), .min = 0, .max = SANDBOX_NAME_MAX,
     .def = "\"lostlove\"", .check = config_check_account},
    {"client", "group", CONFIG_STRING, 0, CLI(group), .min = 0, .max = SANDBOX_NAME_MAX,
     .def = "\"lostlove\"", .check = config_check_account},
    {"obfuscation", "stealth_mode", CONFIG_ENUM, 0, CLI(stealth_mode),
     .names = config_stealth_modes, .def = "\"off\""},
    {"obfuscation", "cover_traffic_rate", CONFIG_UINT, 0, CLI(cover_traffic_rate), .min = 0,
     .max = 100000000, .def = "0"},
    {"obfuscation", "handshake_chaff", CONFIG_UINT, 0, CLI(handshake_chaff), .min = 0,
     .max = SHAPER_PER_FLOW_MAX, .def = "8"},
    {"client", "transport", CONFIG_ENUM, 0, CLI(transport), .names = transports, .def = "\"udp\""},
    {"client", "tls_port", CONFIG_UINT, 0, CLI(tls_port), .min = 0, .max = 65535, .def = "0"},
    {"client", "sni", CONFIG_STRING, 0, CLI(sni), .min = 0, .max = 253, .def = "\"\"",
     .check = check_name},
    {"client", "host", CONFIG_STRING, 0, CLI(http_host), .min = 0, .max = 253, .def = "\"\"",
     .check = check_name},
    {"client", "path", CONFIG_STRING, 0, CLI(ws_path), .min = 1, .max = 255, .def = "\"/\"",
     .check = check_path},
    {"client", "tls_verify", CONFIG_BOOL, 0, CLI(tls_verify), .def = "false"},
};

#define N_CLIENT ARRAY_LEN(client_options)

static int check_mtu(const struct config_option *o, const void *target, struct config_problem *ret)
{
	uint16_t mtu;
	memcpy(&mtu, (const char *)target + o->offset, sizeof(mtu));
	if (mtu == 0 || mtu >= 576)
		return 0;
	return config_table_fail(ret, "must be 0 (take the server's) or 576 to 9000");
}

/* Cover traffic is part of stealth_mode maximum (docs/protocol.md §12.6):
 * a rate with another mode would silently do nothing. */
static void check_cover(struct config_table *t, const struct client_config *c)
{
	if (c->cover_traffic_rate && c->stealth_mode != STEALTH_MAXIMUM)
		config_table_report(
		    t, true, config_index(t, "obfuscation", "cover_traffic_rate"),
		    "needs stealth_mode = \"maximum\" (cover traffic is part of it)");
}

/* A DNS name: dot-separated labels of letters, digits and '-' (RFC 1123);
 * all-numeric names must be IPv4 addresses. */
static bool is_hostname(const char *s, size_t len)
{
	size_t label = 0;
	bool numeric = true;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
			   (c >= '0' && c <= '9')) {
			numeric &= c >= '0' && c <= '9';
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return !numeric;
}

/* sni and host: a DNS name (or empty: derived from the server's). */
static int check_name(const struct config_option *o, const void *target, struct config_problem *ret)
{
	const char *s = (const char *)target + o->offset;
	if (!*s || is_hostname(s, strlen(s)))
		return 0;
	return config_table_fail(ret, "must be a DNS name such as \"cdn.example.com\"");
}

/* The upgrade request's path: "/" then printable ASCII, no spaces. */
static int check_path(const struct config_option *o, const void *target, struct config_problem *ret)
{
	const char *s = (const char *)target + o->offset;
	if (s[0] != '/')
		return config_table_fail(ret, "must start with \"/\"");
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return config_table_fail(ret, "must be printable ASCII without spaces");
	return 0;
}

static int parse_port(const char *s, uint16_t *ret)
{
	unsigned long v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* Splits "host:port" / "[v6]:port": the host (unbracketed) into c. */
static int split_server(const char *s, struct client_config *c, struct config_problem *ret)
{
	const char *end, *port;
	bool bracketed = s[0] == '[';
	uint8_t a[16];
	if (bracketed) {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return config_table_fail(ret, "must be \"[IPv6 address]:port\"");
		port = end + 2;
		s++;
	} else {
		end = strrchr(s, ':');
		if (!end)
			return config_table_fail(ret, "must be \"host:port\"; the port is missing");
		if (memchr(s, ':', (size_t)(end - s)))
			return config_table_fail(ret, "write an IPv6 address in brackets, such as "
						      "\"[2001:db8::1]:443\"");
		port = end + 1;
	}
	size_t n = (size_t)(end - s);
	if (n >= sizeof(c->server_host))
		return config_table_fail(ret, "the host name is too long");
	memcpy(c->server_host, s, n);
	c->server_host[n] = '\0';
	if (parse_port(port, &c->server_port) != 0)
		return config_table_fail(ret, "the port must be 1 to 65535");
	if (inet_pton(AF_INET, c->server_host, a) == 1 ||
	    inet_pton(AF_INET6, c->server_host, a) == 1)
		return 0;
	if (bracketed || !is_hostname(c->server_host, n))
		return config_table_fail(ret, "\"%.64s\" is neither an IP address nor a host name",
					 c->server_host);
	return 0;
}

static int parse_server(const struct config_option *o, const struct toml_value *v, void *target,
			struct config_problem *ret)
{
	const char *s;
	(void)o;
	if (toml_get_string(v, &s, NULL) != 0)
		return config_table_fail_type(ret, "a string \"host:port\"", v);
	return split_server(s, target, ret);
}

static void format_server(const struct config_option *o, const void *target, char *buf, size_t len)
{
	const struct client_config *c = target;
	bool v6 = strchr(c->server_host, ':') != NULL;
	(void)o;
	snprintf(buf, len, "\"%s%s%s:%u\"", v6 ? "[" : "", c->server_host, v6 ? "]" : "",
		 c->server_port);
}

/* Reads the document at path (text == NULL) or text[0..len) named path. */
static int load(const char *path, const char *text, size_t len, struct client_config *ret,
		struct config_diag *diag)
{
	struct config_origin origin[N_CLIENT] = {{0}};
	struct config_table t;
	unsigned errors = diag->errors;
	struct client_config *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	config_begin(&t, client_options, N_CLIENT, origin, path, diag);
	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path))
		config_table_report_at(&t, true, path, 0, NULL, "path too long");
	struct toml_value *root = NULL;
	if (!t.errors)
		root = text ? config_table_parse(&t, path, text, len)
			    : config_table_read(&t, path, NULL);
	if (root) {
		config_table_apply_root(&t, path, root, NULL, c); /* [client], [obfuscation] */
		config_table_defaults(&t, c);
		check_cover(&t, c);
		toml_free(root);
	}
	int r = diag->errors != errors ? -EINVAL : 0;
	if (r == 0)
		*ret = *c;
	client_config_free(c);
	free(c);
	return r;
}

int client_config_load(const char *path, struct client_config *ret, struct config_diag *diag)
{
	return load(path, NULL, 0, ret, diag);
}

int client_config_parse(const char *name, const char *text, size_t len, struct client_config *ret,
			struct config_diag *diag)
{
	return load(name, text, len, ret, diag);
}

static const struct config_option *find_option(const char *table, const char *key)
{
	for (size_t i = 0; i < N_CLIENT; i++)
		if (!strcmp(client_options[i].table, table) && !strcmp(client_options[i].key, key))
			return &client_options[i];
	return NULL;
}

/* The table's own text of a value; secrets too (config_table_format
 * redacts them): export is the one place that must write them. */
static void format_with_secrets(const struct config_option *o, const struct client_config *c,
				char *buf, size_t len)
{
	if (o->flags & CONFIG_SENSITIVE)
		o->format(o, c, buf, len);
	else
		config_table_format(o, c, buf, len);
}

int client_config_format_value(const struct client_config *c, const char *table, const char *key,
			       char *buf, size_t len)
{
	const struct config_option *o = find_option(table, key);
	if (!o)
		return -ENOENT;
	format_with_secrets(o, c, buf, len);
	return 0;
}

int client_config_render(const struct client_config *c, const char *comment, char **ret)
{
	static const char *const tables[] = {"client", "obfuscation"};
	char buf[2048];
	size_t size = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	/* comment lines: printable ASCII (a label may come from a URI) */
	for (const char *s = comment; s && *s; s++) {
		if (s == comment || s[-1] == '\n')
			fputs("# ", f);
		unsigned char ch = (unsigned char)*s;
		fputc(ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? ch : '?', f);
		if (!s[1] && ch != '\n')
			fputc('\n', f);
	}
	for (size_t t = 0; t < 2; t++) {
		fprintf(f, "%s[%s]\n", t ? "\n" : "", tables[t]);
		for (size_t i = 0; i < N_CLIENT; i++) {
			if (strcmp(client_options[i].table, tables[t]))
				continue;
			format_with_secrets(&client_options[i], c, buf, sizeof(buf));
			fprintf(f, "%s = %s\n", client_options[i].key, buf);
		}
	}
	ct_wipe(buf, sizeof(buf));
	bool failed = ferror(f) != 0;
	if (fclose(f) != 0 || failed) {
		if (text)
			ct_wipe(text, size);
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

void client_config_free(struct client_config *c)
{
	if (!c)
		return;
	ct_wipe(c->private_key, sizeof(c->private_key));
	ct_wipe(c->psk, sizeof(c->psk));
}

int client_config_dump(const struct client_config *c, FILE *out)
{
	int r;

	fprintf(out, "# effective configuration from %s; secrets redacted\n\n[client]\n", c->path);
	r = config_table_dump(client_options, N_CLIENT, "client", c, out);
	fprintf(out, "\n[obfuscation]\n");
	return r < 0 ? r : config_table_dump(client_options, N_CLIENT, "obfuscation", c, out);
}
