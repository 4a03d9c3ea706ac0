/* What the server and client configuration loaders share: the diagnostics
 * buffer, addresses and prefixes, keys, and the small option parsers their
 * tables name (config_impl.h). The tables themselves live in
 * config_server.c and config_client.c; the engine in config/config_table.c. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_impl.h"
#include "core/sandbox.h"
#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "config/toml.h"

const struct config_name config_stealth_modes[] = {
    {"off", STEALTH_OFF}, {"standard", STEALTH_STANDARD}, {"maximum", STEALTH_MAXIMUM}, {NULL, 0}};

const struct config_name config_log_levels[] = {
    {"error", LOG_ERROR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}, {NULL, 0},
};

/* ---- diagnostics ------------------------------------------------------- */

static void diag_sink(void *ctx, bool is_error, const char *line)
{
	struct config_diag *d = ctx;
	size_t n = strlen(line);
	char *text = realloc(d->text, d->len + n + 2);
	if (is_error)
		d->errors++;
	else
		d->warnings++;
	if (!text) /* counted, though its text is lost */
		return;
	memcpy(text + d->len, line, n);
	text[d->len + n] = '\n';
	text[d->len + n + 1] = '\0';
	d->text = text;
	d->len += n + 1;
}

void config_diag_add(struct config_diag *d, bool is_error, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	diag_sink(d, is_error, line);
}

void config_diag_free(struct config_diag *d)
{
	if (!d)
		return;
	free(d->text);
	*d = (struct config_diag){0};
}

void config_begin(struct config_table *t, const struct config_option *opts, size_t n,
		  struct config_origin *origin, const char *file, struct config_diag *d)
{
	*t = (struct config_table){
	    .opts = opts, .n = n, .origin = origin, .file = file, .sink = diag_sink, .sink_ctx = d};
}

size_t config_index(const struct config_table *t, const char *table, const char *key)
{
	int i = config_table_find(t, table, key);
	if (i < 0)
		abort(); /* a cross-check names an option its table lacks: a bug */
	return (size_t)i;
}

/* ---- addresses and prefixes -------------------------------------------- */

static int parse_len(const char *s, unsigned max, uint8_t *ret)
{
	unsigned v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = (uint8_t)v;
	return 0;
}

static int parse_prefix(const char *s, struct config_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = 6;
	else
		return -EINVAL;
	p->len = p->family == 4 ? 32 : 128;
	return slash ? parse_len(slash + 1, p->len, &p->len) : 0;
}

int config_prefix_parse(const char *s, struct config_prefix *ret)
{
	*ret = (struct config_prefix){0};
	int r = parse_prefix(s, ret);
	if (r != 0)
		*ret = (struct config_prefix){0};
	return r;
}

void config_prefix_format(const struct config_prefix *p, char buf[static CONFIG_PREFIX_STRLEN])
{
	unsigned full = p->family == 4 ? 32 : 128;
	buf[0] = '\0';
	if (p->family != 4 && p->family != 6)
		return;
	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, INET6_ADDRSTRLEN);
	if (p->len != full)
		snprintf(buf + strlen(buf), CONFIG_PREFIX_STRLEN - strlen(buf), "/%u", p->len);
}

static bool is_full_length(const struct config_prefix *p)
{
	return p->len == (p->family == 4 ? 32 : 128);
}

/* Host bits beyond the prefix length all zero. */
static bool is_network(const struct config_prefix *p)
{
	for (unsigned bit = p->len; bit < (p->family == 4 ? 32u : 128u); bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* s as one address of the family `family` (0: either) into *p. */
static int parse_one_address(const char *s, int family, struct config_prefix *p,
			     struct config_problem *ret)
{
	const char *want = family == 4	 ? "an IPv4 address"
			   : family == 6 ? "an IPv6 address"
					 : "an IP address";
	if (config_prefix_parse(s, p) != 0 || (family && p->family != family))
		return config_table_fail(ret, "must be %s (found \"%.64s\")", want, s);
	if (!is_full_length(p))
		return config_table_fail(ret, "must be a single address, without a /length");
	return 0;
}

int config_parse_address(const struct config_option *o, const struct toml_value *v, void *target,
			 struct config_problem *ret)
{
	struct config_prefix *p = (struct config_prefix *)((char *)target + o->offset);
	const char *s;
	if (toml_get_string(v, &s, NULL) != 0)
		return config_table_fail_type(ret, "a string holding an IP address", v);
	*p = (struct config_prefix){0};
	return *s ? parse_one_address(s, (int)o->min, p, ret) : 0;
}

void config_format_prefix(const struct config_option *o, const void *target, char *buf, size_t len)
{
	char s[CONFIG_PREFIX_STRLEN];
	config_prefix_format((const struct config_prefix *)((const char *)target + o->offset), s);
	config_table_format_string(s, buf, len);
}

/* A route or other network prefix; host bits must be clear. */
static int parse_route(const char *s, struct config_prefix *p, struct config_problem *ret)
{
	char net[CONFIG_PREFIX_STRLEN];
	if (config_prefix_parse(s, p) != 0)
		return config_table_fail(
		    ret,
		    "must be an IP prefix such as \"10.0.0.0/8\" or \"::/0\" (found \"%.64s\")", s);
	if (is_network(p))
		return 0;
	for (unsigned bit = p->len; bit < (p->family == 4 ? 32u : 128u); bit++)
		p->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	config_prefix_format(p, net);
	return config_table_fail(ret, "\"%.64s\" has host bits set; did you mean \"%s\"?", s, net);
}

int config_parse_strings(const struct config_option *o, const struct toml_value *v,
			 config_string_fn each, void *ctx, struct config_problem *ret)
{
	size_t n = toml_array_len(v);
	const char *s;

	if (toml_type(v) != TOML_ARRAY)
		return config_table_fail_type(ret, "an array of strings", v);
	if ((int64_t)n > o->max)
		return config_table_fail(ret, "at most %lld entries (found %zu)", (long long)o->max,
					 n);
	for (size_t i = 0; i < n; i++) {
		const struct toml_value *e = toml_array_get(v, i);
		int r;
		ret->at = e;
		if (toml_get_string(e, &s, NULL) != 0)
			return config_table_fail_type(ret, "an array of strings", e);
		r = each(s, i, ctx, ret);
		if (r != 0)
			return r;
	}
	ret->at = NULL;
	return 0;
}

struct prefix_list {
	struct config_prefix *v;
	unsigned *count;
	bool prefixes;
};

static int parse_list_entry(const char *s, size_t i, void *ctx, struct config_problem *ret)
{
	struct prefix_list *l = ctx;
	int r =
	    l->prefixes ? parse_route(s, &l->v[i], ret) : parse_one_address(s, 0, &l->v[i], ret);

	if (r == 0)
		*l->count = (unsigned)i + 1;
	return r;
}

static int parse_list(const struct config_option *o, const struct toml_value *v, void *target,
		      bool prefixes, struct config_problem *ret)
{
	struct prefix_list l = {.v = (struct config_prefix *)((char *)target + o->offset),
				.count = (unsigned *)((char *)target + o->aux),
				.prefixes = prefixes};

	if (toml_type(v) == TOML_ARRAY && (int64_t)toml_array_len(v) <= o->max) {
		memset(l.v, 0, o->size);
		*l.count = 0;
	}
	return config_parse_strings(o, v, parse_list_entry, &l, ret);
}

int config_parse_addresses(const struct config_option *o, const struct toml_value *v, void *target,
			   struct config_problem *ret)
{
	return parse_list(o, v, target, false, ret);
}

int config_parse_prefixes(const struct config_option *o, const struct toml_value *v, void *target,
			  struct config_problem *ret)
{
	return parse_list(o, v, target, true, ret);
}

void config_format_prefixes(const struct config_option *o, const void *target, char *buf,
			    size_t len)
{
	const struct config_prefix *list =
	    (const struct config_prefix *)((const char *)target + o->offset);
	unsigned count = *(const unsigned *)((const char *)target + o->aux);
	char s[CONFIG_PREFIX_STRLEN];
	size_t n = (size_t)snprintf(buf, len, "[");
	for (unsigned i = 0; i < count && n < len; i++) {
		config_prefix_format(&list[i], s);
		n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"", i ? ", " : "", s);
	}
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/* ---- keys -------------------------------------------------------------- */

int config_parse_key(const struct config_option *o, const struct toml_value *v, void *target,
		     struct config_problem *ret)
{
	uint8_t *key = (uint8_t *)target + o->offset;
	const char *s;
	size_t len;
	/* the value is never echoed: it may be a private key or a PSK */
	if (toml_get_string(v, &s, &len) != 0)
		return config_table_fail_type(ret, "a base64 string", v);
	if (len != KEY_BASE64_LEN || key_from_base64(key, s) != 0)
		return config_table_fail(
		    ret, "must be a 32-byte key in base64: 44 characters ending in '='");
	if (ct_is_zero(key, KEY_LEN))
		return config_table_fail(ret, "must not be all zeros");
	return 0;
}

void config_format_key(const struct config_option *o, const void *target, char *buf, size_t len)
{
	char b64[KEY_BASE64_LEN + 1];
	key_to_base64(b64, (const uint8_t *)target + o->offset);
	snprintf(buf, len, "\"%s\"", b64);
}

int config_parse_kem(const struct config_option *o, const struct toml_value *v, void *target,
		     struct config_problem *ret)
{
	enum kem_policy *kem = (enum kem_policy *)((char *)target + o->offset);
	bool on;
	if (toml_get_bool(v, &on) != 0)
		return config_table_fail_type(ret, "a boolean (true or false)", v);
	*kem = on ? KEM_REQUIRED : KEM_OFF;
	return 0;
}

void config_format_kem(const struct config_option *o, const void *target, char *buf, size_t len)
{
	const enum kem_policy *kem = (const enum kem_policy *)((const char *)target + o->offset);
	snprintf(buf, len, "%s", *kem == KEM_OFF ? "false" : "true");
}

/* ---- names ------------------------------------------------------------- */

/* Stricter than the kernel (which takes any byte but '/', ':' and
 * whitespace): these names end up in nft rules and shell commands. */
/* server.user/group and client.user/group: a name the system could
 * have; whether it exists is checked when the daemon starts
 * (sandbox_lookup), so that --check-config gives the same verdict on any
 * host. */
int config_check_account(const struct config_option *o, const void *target,
			 struct config_problem *ret)
{
	if (sandbox_name_ok((const char *)target + o->offset))
		return 0;
	return config_table_fail(ret, "a user or group name is made of letters, digits, '.', '_' "
				      "and '-', not starting with '-'");
}

int config_check_ifname(const struct config_option *o, const void *target,
			struct config_problem *ret)
{
	const char *s = (const char *)target + o->offset;
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return config_table_fail(ret, "is not a valid interface name");
	for (const char *c = s; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    *c))
			return config_table_fail(
			    ret, "an interface name is made of letters, digits, '_', '.' and '-'");
	return 0;
}
