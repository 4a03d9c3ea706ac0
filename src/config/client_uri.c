/* lostlove:// URIs; see client_uri.h and docs/client-uri.md.
 *
 * Both directions go through client.toml text, so the option table stays
 * the one place that knows a value's type, bounds and default: formatting
 * reads each value's TOML text from the table, parsing writes a document
 * the table then checks. What this file adds is the URI's own syntax and a
 * strict translation of each query value into TOML (a value can never
 * become more than one TOML value). */
#include "config/client_uri.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml.h"
#include "crypto/b64url.h"
#include "crypto/ct.h"
#include "crypto/keyenc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define URI_NAME     "lostlove URI"
#define VALUE_MAX    1024 /* bytes of one decoded query value */

enum kind { K_KEY, K_STR, K_UINT, K_BOOL, K_LIST };

struct uri_key {
	const char *table, *key;
	enum kind kind;
	bool always; /* written even at its default */
};

/* In the order a URI is written. */
static const struct uri_key uri_keys[] = {
    {"client", "server_public_key", K_KEY, true},
    {"client", "psk", K_KEY, true},
    {"client", "transport", K_STR, true},
    {"obfuscation", "stealth_mode", K_STR, true},
    {"client", "tls_port", K_UINT, false},
    {"client", "sni", K_STR, false},
    {"client", "host", K_STR, false},
    {"client", "path", K_STR, false},
    {"client", "tls_verify", K_BOOL, false},
    {"client", "mtu", K_UINT, false},
    {"client", "keepalive", K_UINT, false},
    {"client", "dns", K_BOOL, false},
    {"client", "routes", K_LIST, false},
    {"client", "qrl_enabled", K_BOOL, false},
    {"obfuscation", "cover_traffic_rate", K_UINT, false},
    {"obfuscation", "handshake_chaff", K_UINT, false},
};

/* client.toml keys a URI does not carry: settings of the client's machine,
 * which a link from someone else must not change (user = "root" would
 * switch off the privilege drop). */
static const char *const local_keys[] = {"tun_name", "log_level", "user", "group"};

/* ---- a growable text that is wiped when freed (it holds keys) ---------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_free(struct buf *b)
{
	if (b->p)
		ct_wipe(b->p, b->cap);
	free(b->p);
	*b = (struct buf){0};
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = malloc(cap);
		if (!p) {
			b->oom = true;
			return;
		}
		if (b->p) {
			memcpy(p, b->p, b->len);
			ct_wipe(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- formatting --------------------------------------------------------- */

static bool keep_raw(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._~/:,", c) != NULL;
}

/* RFC 3986 percent-encoding of everything but unreserved and "/:," */
static void add_encoded(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3] = {'%', hex[c >> 4], hex[c & 15]};
		if (keep_raw(c))
			buf_add(b, (const char *)&s[i], 1);
		else
			buf_add(b, e, 3);
	}
}

/* A key's TOML text ("base64") as base64url. */
static int key_text_to_b64url(const char *text, char out[48])
{
	uint8_t k[32];
	char std[KEY_BASE64_LEN + 1];
	if (strlen(text) != KEY_BASE64_LEN + 2)
		return -EINVAL;
	memcpy(std, text + 1, KEY_BASE64_LEN);
	std[KEY_BASE64_LEN] = '\0';
	int r = key_from_base64(k, std);
	if (r == 0)
		r = b64url_encode(out, 48, k, sizeof(k)) < 0 ? -EINVAL : 0;
	ct_wipe(k, sizeof(k));
	ct_wipe(std, sizeof(std));
	return r;
}

/* Appends the URI form of one value, given its TOML text. */
static int add_value(struct buf *b, const struct uri_key *k, const char *text)
{
	char doc[2100], b64[48];
	const char *s;
	if (k->kind == K_KEY) {
		if (key_text_to_b64url(text, b64) < 0)
			return -EINVAL;
		buf_str(b, b64);
		ct_wipe(b64, sizeof(b64));
		return 0;
	}
	if (k->kind == K_UINT || k->kind == K_BOOL) {
		buf_str(b, text);
		return 0;
	}
	/* strings and lists: read the TOML text back to their values */
	snprintf(doc, sizeof(doc), "v = %s", text);
	struct toml_value *root = toml_parse(doc, strlen(doc), NULL);
	const struct toml_value *v = root ? toml_table_get(root, "v") : NULL;
	int r = v ? 0 : -EINVAL;
	if (v && k->kind == K_STR && toml_get_string(v, &s, NULL) == 0) {
		add_encoded(b, s, strlen(s));
	} else if (v && k->kind == K_LIST && toml_type(v) == TOML_ARRAY) {
		for (size_t i = 0; i < toml_array_len(v); i++) {
			if (toml_get_string(toml_array_get(v, i), &s, NULL) != 0) {
				r = -EINVAL;
				break;
			}
			if (i)
				buf_str(b, ",");
			add_encoded(b, s, strlen(s));
		}
	} else {
		r = -EINVAL;
	}
	toml_free(root);
	return r;
}

/* The configuration with c's server and keys and every other option at
 * its default: what a URI leaves out. */
static int defaults_of(const struct client_config *c, struct client_config *def)
{
	static const char *const needed[] = {"server", "server_public_key", "private_key", "psk"};
	struct buf doc = {0};
	struct config_diag diag = {0};
	char text[600];
	buf_str(&doc, "[client]\n");
	for (size_t i = 0; i < ARRAY_LEN(needed); i++) {
		client_config_format_value(c, "client", needed[i], text, sizeof(text));
		buf_str(&doc, needed[i]);
		buf_str(&doc, " = ");
		buf_str(&doc, text);
		buf_str(&doc, "\n");
	}
	ct_wipe(text, sizeof(text));
	int r = doc.oom ? -ENOMEM : client_config_parse("defaults", doc.p, doc.len, def, &diag);
	buf_free(&doc);
	config_diag_free(&diag);
	return r;
}

static void add_authority(struct buf *b, const struct client_config *c)
{
	char text[600], b64[48], port[8];
	client_config_format_value(c, "client", "private_key", text, sizeof(text));
	if (key_text_to_b64url(text, b64) == 0)
		buf_str(b, b64);
	else
		b->oom = true; /* cannot happen: the table wrote a key */
	ct_wipe(text, sizeof(text));
	ct_wipe(b64, sizeof(b64));
	buf_str(b, "@");
	bool v6 = strchr(c->server_host, ':') != NULL;
	buf_str(b, v6 ? "[" : "");
	buf_str(b, c->server_host);
	snprintf(port, sizeof(port), "%s:%u", v6 ? "]" : "", c->server_port);
	buf_str(b, port);
}

int client_uri_format(const struct client_config *c, const char *label, char **ret)
{
	char text[2048], dtext[2048];
	struct buf b = {0};
	struct client_config *def = calloc(1, sizeof(*def));
	int r = def ? defaults_of(c, def) : -ENOMEM;
	if (r < 0)
		goto out;
	buf_str(&b, "lostlove://");
	add_authority(&b, c);
	buf_str(&b, "/?");
	for (size_t i = 0; i < ARRAY_LEN(uri_keys) && r == 0; i++) {
		const struct uri_key *k = &uri_keys[i];
		client_config_format_value(c, k->table, k->key, text, sizeof(text));
		client_config_format_value(def, k->table, k->key, dtext, sizeof(dtext));
		if (!k->always && !strcmp(text, dtext))
			continue;
		buf_str(&b, i ? "&" : "");
		buf_str(&b, k->key);
		buf_str(&b, "=");
		r = add_value(&b, k, text);
	}
	ct_wipe(text, sizeof(text));
	if (r == 0 && label && *label) {
		buf_str(&b, "#");
		add_encoded(&b, label, strlen(label));
	}
	if (r == 0 && b.oom)
		r = -ENOMEM;
	if (r == 0 && b.len > CLIENT_URI_MAX)
		r = -E2BIG;
	if (r == 0) {
		*ret = b.p;
		b = (struct buf){0};
	}
out:
	buf_free(&b);
	client_config_free(def);
	free(def);
	return r;
}

/* ---- parsing ------------------------------------------------------------ */

struct parse {
	struct buf client, obfuscation; /* TOML lines of each table */
	struct config_diag *diag;
	bool seen[ARRAY_LEN(uri_keys)];
	unsigned errors;
};

__attribute__((format(printf, 2, 3))) static void fail(struct parse *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_diag_add(p->diag, true, "%s: %s", URI_NAME, msg);
	p->errors++;
}

/* The characters RFC 3986 allows in a URI at all. */
static bool uri_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~:/?#[]@!$&'()*+,;=%", c));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated). Returns the length,
 * or -1 for a bad escape, a NUL or another control character. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* A TOML basic string of s: quotes and backslashes escaped (s holds no
 * control character: decode refused them). */
static void add_toml_string(struct buf *b, const char *s, size_t n)
{
	buf_str(b, "\"");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_str(b, "\\");
		buf_add(b, &s[i], 1);
	}
	buf_str(b, "\"");
}

static bool is_uint(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
		return false;
	return strspn(s, "0123456789") == n;
}

/* Appends "key = TOML" for one decoded value. */
static void add_toml(struct parse *p, const struct uri_key *k, const char *v, size_t n)
{
	struct buf *b = !strcmp(k->table, "client") ? &p->client : &p->obfuscation;
	uint8_t key[32];
	char std[KEY_BASE64_LEN + 1];
	buf_str(b, k->key);
	buf_str(b, " = ");
	switch (k->kind) {
	case K_KEY:
		if (n != b64url_len(32) || b64url_decode(key, sizeof(key), v, n) != 32) {
			fail(p, "%s: must be a 32-byte key in base64url (43 characters)", k->key);
			break;
		}
		key_to_base64(std, key);
		add_toml_string(b, std, KEY_BASE64_LEN);
		break;
	case K_STR:
		add_toml_string(b, v, n);
		break;
	case K_UINT:
		if (is_uint(v))
			buf_str(b, v);
		else
			fail(p, "%s: must be a decimal number", k->key);
		break;
	case K_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "false"))
			buf_str(b, v);
		else
			fail(p, "%s: must be true or false", k->key);
		break;
	case K_LIST:
		/* "" is the empty list; otherwise every item counts, an empty
		 * one too (which the table then refuses) */
		buf_str(b, "[");
		for (size_t i = 0; n;) {
			size_t m = strcspn(v + i, ",");
			add_toml_string(b, v + i, m);
			i += m;
			if (i >= n)
				break;
			buf_str(b, ", ");
			i++;
		}
		buf_str(b, "]");
		break;
	}
	buf_str(b, "\n");
	ct_wipe(key, sizeof(key));
	ct_wipe(std, sizeof(std));
}

static const struct uri_key *find_key(const char *k, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(uri_keys); i++)
		if (strlen(uri_keys[i].key) == n && !memcmp(uri_keys[i].key, k, n))
			return &uri_keys[i];
	return NULL;
}

static void parse_pair(struct parse *p, const char *s, size_t n)
{
	char v[VALUE_MAX + 1];
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n;
	const struct uri_key *k = find_key(s, kn);
	if (!k) {
		for (size_t i = 0; i < ARRAY_LEN(local_keys); i++)
			if (strlen(local_keys[i]) == kn && !memcmp(local_keys[i], s, kn)) {
				fail(p,
				     "%s: not carried by a URI (a setting of the client's machine: "
				     "write it in client.toml)",
				     local_keys[i]);
				return;
			}
		fail(p, "unknown query key \"%.*s\"", (int)(kn > 40 ? 40 : kn), s);
		return;
	}
	if (!eq) {
		fail(p, "%s: needs a value (%s=...)", k->key, k->key);
		return;
	}
	if (p->seen[k - uri_keys]) {
		fail(p, "%s: given twice", k->key);
		return;
	}
	p->seen[k - uri_keys] = true;
	int len = decode(eq + 1, n - kn - 1, v, sizeof(v));
	if (len < 0)
		fail(p, "%s: a bad %%-escape, a control character, or over %d bytes", k->key,
		     VALUE_MAX);
	else
		add_toml(p, k, v, (size_t)len);
	ct_wipe(v, sizeof(v));
}

/* HOST:PORT or [IPv6]:PORT, as the server key's TOML string */
static void parse_hostport(struct parse *p, const char *s, size_t n)
{
	const char *port;
	size_t hn;
	bool bracketed = n && s[0] == '[';
	const char *close = bracketed ? memchr(s, ']', n) : NULL;
	if (bracketed) {
		if (!close || close + 1 == s + n || close[1] != ':') {
			fail(p, "the server must be [IPv6 address]:port");
			return;
		}
		port = close + 2;
		hn = (size_t)(close + 1 - s);
		if (strspn(s + 1, "0123456789abcdefABCDEF:.") != hn - 2) {
			fail(p, "the server's IPv6 address holds other characters");
			return;
		}
	} else {
		const char *colon = NULL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == ':')
				colon = s + i;
		if (!colon) {
			fail(p, "the server's port is missing (HOST:PORT)");
			return;
		}
		port = colon + 1;
		hn = (size_t)(colon - s);
		size_t ok = 0;
		while (ok < hn && (strchr("-.", s[ok]) || (s[ok] >= '0' && s[ok] <= '9') ||
				   ((s[ok] | 0x20) >= 'a' && (s[ok] | 0x20) <= 'z')))
			ok++;
		if (hn == 0 || ok != hn) {
			fail(p, "the server's host must be a DNS name, an IPv4 address, or an IPv6 "
				"address in brackets");
			return;
		}
	}
	size_t pn = (size_t)(s + n - port);
	if (pn == 0 || pn > 5 || strspn(port, "0123456789") < pn) {
		fail(p, "the server's port must be a number 1 to 65535");
		return;
	}
	buf_str(&p->client, "server = ");
	add_toml_string(&p->client, s, n);
	buf_str(&p->client, "\n");
}

static void parse_authority(struct parse *p, const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	uint8_t key[32];
	char std[KEY_BASE64_LEN + 1];
	if (!at) {
		fail(p, "the client's private key is missing (lostlove://KEY@HOST:PORT)");
		return;
	}
	size_t kn = (size_t)(at - s);
	if (kn != b64url_len(32) || b64url_decode(key, sizeof(key), s, kn) != 32) {
		fail(p,
		     "the private key (before '@') must be 32 bytes in base64url (43 characters)");
	} else {
		key_to_base64(std, key);
		buf_str(&p->client, "private_key = ");
		add_toml_string(&p->client, std, KEY_BASE64_LEN);
		buf_str(&p->client, "\n");
	}
	ct_wipe(key, sizeof(key));
	ct_wipe(std, sizeof(std));
	parse_hostport(p, at + 1, n - kn - 1);
}

static void parse_label(const char *s, size_t n, char label[CLIENT_URI_LABEL])
{
	char raw[CLIENT_URI_MAX + 1];
	int len = decode(s, n, raw, sizeof(raw));
	size_t o = 0;
	for (int i = 0; i < len && o + 1 < CLIENT_URI_LABEL; i++)
		label[o++] = (unsigned char)raw[i] >= 0x7f ? '?' : raw[i];
	label[o] = '\0';
}

/* The whole URI into p's two tables; the label into label. */
static void parse_uri(struct parse *p, const char *uri, size_t len, char label[CLIENT_URI_LABEL])
{
	static const char scheme[] = "lostlove://";
	if (len > CLIENT_URI_MAX) {
		fail(p, "over %d bytes", CLIENT_URI_MAX);
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (!uri_char((unsigned char)uri[i])) {
			fail(p, "character %zu is not allowed in a URI (%%-encode it)", i + 1);
			return;
		}
	if (len < sizeof(scheme) - 1 || strncasecmp(uri, scheme, sizeof(scheme) - 1)) {
		fail(p, "must start with %s", scheme);
		return;
	}
	const char *s = uri + sizeof(scheme) - 1, *end = uri + len;
	const char *hash = memchr(s, '#', (size_t)(end - s));
	if (hash) {
		parse_label(hash + 1, (size_t)(end - hash - 1), label);
		end = hash;
	}
	/* the URI is len bytes, not a C string: scan within them */
	size_t an = 0;
	while (s + an < end && s[an] != '/' && s[an] != '?' && s[an] != '#')
		an++;
	parse_authority(p, s, an);
	s += an;
	if (s < end && *s == '/')
		s++;
	if (s < end && *s != '?') {
		fail(p, "no path is allowed after HOST:PORT (only \"/\")");
		return;
	}
	if (s < end)
		s++; /* '?' */
	while (s < end) {
		size_t n = (size_t)(end - s);
		const char *amp = memchr(s, '&', n);
		size_t m = amp ? (size_t)(amp - s) : n;
		if (m)
			parse_pair(p, s, m);
		s += m + (amp != NULL);
	}
}

static int uri_document(const char *uri, size_t len, struct buf *doc, char label[CLIENT_URI_LABEL],
			struct config_diag *diag)
{
	struct parse p = {.diag = diag};
	char *text = NULL;
	label[0] = '\0';
	/* The parser's span checks use C string functions; a URI passed with a
	 * length need not be terminated (the fuzzer's is not), so it works on a
	 * terminated copy, wiped after (it holds the private key). */
	if (len <= CLIENT_URI_MAX) {
		text = malloc(len + 1);
		if (!text)
			return -ENOMEM;
		memcpy(text, uri, len);
		text[len] = '\0';
		uri = text;
	}
	parse_uri(&p, uri, len, label);
	if (text) {
		ct_wipe(text, len);
		free(text);
	}
	buf_str(doc, "[client]\n");
	buf_add(doc, p.client.p ? p.client.p : "", p.client.len);
	buf_str(doc, "\n[obfuscation]\n");
	buf_add(doc, p.obfuscation.p ? p.obfuscation.p : "", p.obfuscation.len);
	bool oom = p.client.oom || p.obfuscation.oom || doc->oom;
	buf_free(&p.client);
	buf_free(&p.obfuscation);
	if (p.errors)
		return -EINVAL;
	return oom ? -ENOMEM : 0;
}

/* The table reports "lostlove URI:LINE: key ..." (or LINE:COLUMN): lines
 * of the document made from the URI, which mean nothing to its reader.
 * Drops them from the lines appended since from. */
static void drop_line_numbers(struct config_diag *diag, size_t from)
{
	static const char name[] = URI_NAME ":";
	size_t o = from, n = sizeof(name) - 1;
	if (!diag->text)
		return;
	for (size_t i = from; i < diag->len;) {
		if (!strncmp(diag->text + i, name, n) && diag->text[i + n] >= '0' &&
		    diag->text[i + n] <= '9') {
			memmove(diag->text + o, name, n);
			o += n;
			i += n;
			while ((diag->text[i] >= '0' && diag->text[i] <= '9') ||
			       diag->text[i] == ':')
				i++;
			continue;
		}
		diag->text[o++] = diag->text[i++];
	}
	diag->text[o] = '\0';
	diag->len = o;
}

int client_uri_parse(const char *uri, size_t len, struct client_config *ret,
		     char label[CLIENT_URI_LABEL], struct config_diag *diag)
{
	struct buf doc = {0};
	char own[CLIENT_URI_LABEL];
	size_t from = diag->len;
	int r = uri_document(uri, len, &doc, label ? label : own, diag);
	if (r == 0) {
		r = client_config_parse(URI_NAME, doc.p, doc.len, ret, diag);
		drop_line_numbers(diag, from);
	}
	buf_free(&doc);
	return r;
}

int client_uri_to_toml(const char *uri, size_t len, char **ret, struct config_diag *diag)
{
	char label[CLIENT_URI_LABEL], comment[CLIENT_URI_LABEL + 64];
	struct client_config *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = client_uri_parse(uri, len, c, label, diag);
	if (r == 0) {
		snprintf(comment, sizeof(comment), "LostLove client configuration%s%s",
			 label[0] ? " for " : "", label);
		r = client_config_render(c, comment, ret);
	}
	client_config_free(c);
	free(c);
	return r;
}
