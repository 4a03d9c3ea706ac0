/* The upgrade request carrying message 1; the format is in upgrade.h and
 * docs/protocol.md §11. Everything here reads untrusted bytes with
 * explicit lengths and never past them (tests/fuzz/fuzz_upgrade.c). */
#include "front/upgrade.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "front/ws.h"
#include "util/endian.h"

#define TOKEN_HEAD (UPGRADE_TIME_LEN + UPGRADE_MAC_LEN)

static const char salt[] = "LostLove ws-upgrade v1";
/* Chrome 131 on Linux: the browser whose WebSocket head this mirrors. */
static const char user_agent[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
				 "like Gecko) Chrome/131.0.0.0 Safari/537.36";

const char *upgrade_result_name(enum upgrade_result r)
{
	static const char *const names[UPGRADE_RESULT_COUNT] = {
	    [UPGRADE_OK] = "ok",
	    [UPGRADE_E_SHAPE] = "shape",
	    [UPGRADE_E_NO_TOKEN] = "no-token",
	    [UPGRADE_E_TOKEN] = "token",
	    [UPGRADE_E_MAC] = "mac",
	    [UPGRADE_E_TIME] = "time",
	    [UPGRADE_E_REPLAY] = "replay",
	    [UPGRADE_E_CACHE_FULL] = "cache-full",
	    [UPGRADE_E_INTERNAL] = "internal",
	};
	return (unsigned)r < UPGRADE_RESULT_COUNT ? names[r] : "?";
}

int upgrade_key_derive(struct upgrade_key *k, const uint8_t server_pub[static 32])
{
	uint8_t prk[SHA256_LEN];
	int r = hkdf_sha256_extract(prk, (const uint8_t *)salt, sizeof(salt) - 1, server_pub, 32);

	if (r == 0)
		r = hkdf_sha256_expand(k->mac, sizeof(k->mac), prk, (const uint8_t *)"mac", 3);
	if (r == 0)
		r = hkdf_sha256_expand(k->mask, sizeof(k->mask), prk, (const uint8_t *)"mask", 4);
	ct_wipe(prk, sizeof(prk));
	return r;
}

/* ---- base64 (standard for the key, url-safe without padding for the
 * cookie) ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(char *out, const uint8_t *in, size_t len, const char *alpha, bool pad)
{
	size_t o = 0, i;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(char c, const char *alpha)
{
	const char *p = c ? memchr(alpha, c, 64) : NULL;
	return p ? (int)(p - alpha) : -1;
}

/* Decodes exactly len characters without padding into out (cap bytes);
 * the unused low bits of the last character must be zero (one encoding
 * per value). Returns the byte count or -1. */
static long b64_decode(uint8_t *out, size_t cap, const char *in, size_t len, const char *alpha)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i], alpha);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)o;
}

void upgrade_key_b64(char out[static UPGRADE_KEY_B64_LEN + 1], const uint8_t nonce[static 16])
{
	b64_encode(out, nonce, UPGRADE_NONCE_LEN, b64_std, true);
}

/* ---- the token ---- */

/* XORs the keystream for nonce over time || msg (in place). */
static int token_mask(const struct upgrade_key *k, const uint8_t *nonce, uint8_t *buf, size_t len)
{
	uint8_t ks[UPGRADE_TIME_LEN + INIT_LEN_KEM];

	if (len > sizeof(ks) || hkdf_sha256_expand(ks, len, k->mask, nonce, UPGRADE_NONCE_LEN) < 0)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		buf[i] ^= ks[i];
	ct_wipe(ks, len);
	return 0;
}

static int token_mac(uint8_t out[static SHA256_LEN], const struct upgrade_key *k,
		     const uint8_t *nonce, const uint8_t *token, size_t token_len)
{
	const struct iov_c parts[] = {
	    {nonce, UPGRADE_NONCE_LEN},
	    {token, UPGRADE_TIME_LEN},
	    {token + TOKEN_HEAD, token_len - TOKEN_HEAD},
	};
	return hmac_sha256_v(out, k->mac, sizeof(k->mac), parts, 3);
}

/* token (unencoded) for msg at now_s; returns its length or < 0. */
static long token_make(uint8_t *token, const struct upgrade_key *k, const uint8_t *nonce,
		       uint64_t now_s, const uint8_t *msg, size_t msg_len)
{
	uint8_t plain[UPGRADE_TIME_LEN + INIT_LEN_KEM], mac[SHA256_LEN];
	size_t len = UPGRADE_TIME_LEN + msg_len;

	if (msg_len < UPGRADE_MSG_MIN || msg_len > UPGRADE_MSG_MAX)
		return -EINVAL;
	be64_store(plain, now_s);
	memcpy(plain + UPGRADE_TIME_LEN, msg, msg_len);
	if (token_mask(k, nonce, plain, len) < 0)
		return -EIO;
	memcpy(token, plain, UPGRADE_TIME_LEN);
	memcpy(token + TOKEN_HEAD, plain + UPGRADE_TIME_LEN, msg_len);
	if (token_mac(mac, k, nonce, token, TOKEN_HEAD + msg_len) < 0)
		return -EIO;
	memcpy(token + UPGRADE_TIME_LEN, mac, UPGRADE_MAC_LEN);
	return (long)(TOKEN_HEAD + msg_len);
}

/* ---- client request ---- */

static bool safe_text(const char *s, bool path)
{
	if (!*s || (path && *s != '/'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int upgrade_request_write(char *buf, size_t cap, size_t *ret_len, const struct upgrade_key *k,
			  const char *host, const char *path, const uint8_t nonce[static 16],
			  uint64_t now_s, const uint8_t *msg, size_t msg_len)
{
	uint8_t token[TOKEN_HEAD + INIT_LEN_KEM];
	char cookie[(sizeof(token) + 2) / 3 * 4 + 1], key[UPGRADE_KEY_B64_LEN + 1];
	long tlen;
	int n;

	if (!safe_text(host, false) || !safe_text(path, true))
		return -EINVAL;
	tlen = token_make(token, k, nonce, now_s, msg, msg_len);
	if (tlen < 0)
		return (int)tlen;
	b64_encode(cookie, token, (size_t)tlen, b64_url, false);
	upgrade_key_b64(key, nonce);
	/* Chrome's header order for new WebSocket(). */
	n = snprintf(buf, cap,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Connection: Upgrade\r\n"
		     "Pragma: no-cache\r\n"
		     "Cache-Control: no-cache\r\n"
		     "User-Agent: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Origin: https://%s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "Accept-Encoding: gzip, deflate, br, zstd\r\n"
		     "Accept-Language: en-US,en;q=0.9\r\n"
		     "Cookie: " UPGRADE_COOKIE_NAME "=%s\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
		     "\r\n",
		     path, host, user_agent, host, cookie, key);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	*ret_len = (size_t)n;
	return 0;
}

/* ---- head parsing ---- */

long upgrade_head_len(const uint8_t *buf, size_t len)
{
	size_t max = len < UPGRADE_HEAD_MAX ? len : UPGRADE_HEAD_MAX;

	for (size_t i = 3; i < max; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return (long)(i + 1);
	return len >= UPGRADE_HEAD_MAX ? -E2BIG : 0;
}

struct span {
	const char *p;
	size_t len;
};

/* A cursor over the lines of a head. */
struct lines {
	const char *p, *end;
};

/* The next line without its CRLF; false at the end or on a bare LF/CR. */
static bool next_line(struct lines *l, struct span *out)
{
	const char *s = l->p;

	for (const char *q = s; q < l->end; q++) {
		if (*q == '\n')
			return false; /* LF without CR */
		if (*q == '\r') {
			if (q + 1 >= l->end || q[1] != '\n' || q - s > UPGRADE_LINE_MAX)
				return false;
			out->p = s;
			out->len = (size_t)(q - s);
			l->p = q + 2;
			return true;
		}
	}
	return false;
}

static bool span_ieq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = s.p[i], b = lit[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

static struct span trim(struct span s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Does the comma-separated list s hold the token lit? */
static bool list_has(struct span s, const char *lit)
{
	const char *end = s.p + s.len;

	while (s.p <= end) {
		const char *c = memchr(s.p, ',', (size_t)(end - s.p));
		struct span item = {s.p, (size_t)((c ? c : end) - s.p)};
		if (span_ieq(trim(item), lit))
			return true;
		if (!c)
			break;
		s.p = c + 1;
	}
	return false;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value": false if the line is not a header field. */
static bool split_header(struct span line, struct span *name, struct span *value)
{
	const char *colon = memchr(line.p, ':', line.len);

	if (!colon || colon == line.p)
		return false;
	name->p = line.p;
	name->len = (size_t)(colon - line.p);
	for (size_t i = 0; i < name->len; i++)
		if (!is_tchar(name->p[i]))
			return false;
	value->p = colon + 1;
	value->len = line.len - name->len - 1;
	for (size_t i = 0; i < value->len; i++)
		if ((unsigned char)value->p[i] < ' ' && value->p[i] != '\t')
			return false;
	*value = trim(*value);
	return true;
}

static bool request_line_ok(struct span l)
{
	static const char get[] = "GET /", ver[] = " HTTP/1.1";

	if (l.len < sizeof(get) - 1 + sizeof(ver) - 1 || memcmp(l.p, get, sizeof(get) - 1) ||
	    memcmp(l.p + l.len - (sizeof(ver) - 1), ver, sizeof(ver) - 1))
		return false;
	for (size_t i = 4; i < l.len - (sizeof(ver) - 1); i++)
		if ((unsigned char)l.p[i] <= ' ' || (unsigned char)l.p[i] >= 0x7f)
			return false;
	return true;
}

/* The headers the server needs, each seen at most once. */
struct fields {
	struct span host, upgrade, connection, version, key, cookie;
	unsigned seen;
};

enum { F_HOST = 1, F_UPGRADE = 2, F_CONN = 4, F_VERSION = 8, F_KEY = 16, F_COOKIE = 32 };

static bool take(struct fields *f, unsigned bit, struct span *slot, struct span v)
{
	if (f->seen & bit)
		return false; /* repeated */
	f->seen |= bit;
	*slot = v;
	return true;
}

static bool record(struct fields *f, struct span name, struct span v)
{
	if (span_ieq(name, "host"))
		return take(f, F_HOST, &f->host, v);
	if (span_ieq(name, "upgrade"))
		return take(f, F_UPGRADE, &f->upgrade, v);
	if (span_ieq(name, "connection"))
		return take(f, F_CONN, &f->connection, v);
	if (span_ieq(name, "sec-websocket-version"))
		return take(f, F_VERSION, &f->version, v);
	if (span_ieq(name, "sec-websocket-key"))
		return take(f, F_KEY, &f->key, v);
	if (span_ieq(name, "cookie"))
		return take(f, F_COOKIE, &f->cookie, v);
	return true;
}

/* Reads the header fields after the first line; false on any malformed
 * line or a repeated single header, or if the head does not end in an
 * empty line. */
static bool read_fields(struct lines *l, struct fields *f)
{
	struct span line, name, value;

	while (next_line(l, &line)) {
		if (line.len == 0)
			return l->p == l->end;
		if (!split_header(line, &name, &value) || !record(f, name, value))
			return false;
	}
	return false;
}

/* The value of the one cookie named UPGRADE_COOKIE_NAME; -1 if absent,
 * -2 if there are two. */
static int find_cookie(struct span c, struct span *out)
{
	const char *end = c.p + c.len;
	int found = 0;

	while (c.p < end) {
		const char *semi = memchr(c.p, ';', (size_t)(end - c.p));
		struct span pair = trim((struct span){c.p, (size_t)((semi ? semi : end) - c.p)});
		const char *eq = memchr(pair.p, '=', pair.len);
		if (eq &&
		    span_ieq((struct span){pair.p, (size_t)(eq - pair.p)}, UPGRADE_COOKIE_NAME)) {
			if (found++)
				return -2;
			out->p = eq + 1;
			out->len = pair.len - (size_t)(eq + 1 - pair.p);
		}
		if (!semi)
			break;
		c.p = semi + 1;
	}
	return found ? 0 : -1;
}

static enum upgrade_result read_token(struct upgrade_request *out, const struct fields *f)
{
	struct span v;
	long n;

	if (!(f->seen & F_COOKIE) || find_cookie(f->cookie, &v) == -1)
		return UPGRADE_E_NO_TOKEN;
	if (find_cookie(f->cookie, &v) < 0)
		return UPGRADE_E_TOKEN;
	n = b64_decode(out->token, sizeof(out->token), v.p, v.len, b64_url);
	if (n < TOKEN_HEAD + UPGRADE_MSG_MIN || n > TOKEN_HEAD + UPGRADE_MSG_MAX)
		return UPGRADE_E_TOKEN;
	out->token_len = (size_t)n;
	return UPGRADE_OK;
}

static bool read_key(struct upgrade_request *out, struct span key)
{
	if (key.len != UPGRADE_KEY_B64_LEN || key.p[22] != '=' || key.p[23] != '=' ||
	    b64_decode(out->nonce, sizeof(out->nonce), key.p, 22, b64_std) != UPGRADE_NONCE_LEN)
		return false;
	memcpy(out->key_b64, key.p, UPGRADE_KEY_B64_LEN);
	out->key_b64[UPGRADE_KEY_B64_LEN] = '\0';
	return true;
}

enum upgrade_result upgrade_parse(const uint8_t *head, size_t len, struct upgrade_request *out)
{
	struct lines l = {(const char *)head, (const char *)head + len};
	struct fields f = {0};
	struct span line;
	const unsigned need = F_HOST | F_UPGRADE | F_CONN | F_VERSION | F_KEY;

	memset(out, 0, sizeof(*out));
	if (len > UPGRADE_HEAD_MAX || !next_line(&l, &line) || !request_line_ok(line) ||
	    !read_fields(&l, &f))
		return UPGRADE_E_SHAPE;
	if ((f.seen & need) != need || f.host.len == 0 || !list_has(f.upgrade, "websocket") ||
	    !list_has(f.connection, "upgrade") || !span_ieq(f.version, "13") ||
	    !read_key(out, f.key))
		return UPGRADE_E_SHAPE;
	return read_token(out, &f);
}

enum upgrade_result upgrade_verify(const struct upgrade_key *k, struct upgrade_request *r,
				   uint64_t now_s)
{
	uint8_t mac[SHA256_LEN], plain[UPGRADE_TIME_LEN + INIT_LEN_KEM];
	size_t msg_len = r->token_len - TOKEN_HEAD;
	uint64_t t;

	if (r->token_len < TOKEN_HEAD + UPGRADE_MSG_MIN || msg_len > UPGRADE_MSG_MAX)
		return UPGRADE_E_TOKEN;
	if (token_mac(mac, k, r->nonce, r->token, r->token_len) < 0)
		return UPGRADE_E_INTERNAL;
	if (!ct_memeq(mac, r->token + UPGRADE_TIME_LEN, UPGRADE_MAC_LEN))
		return UPGRADE_E_MAC;
	memcpy(plain, r->token, UPGRADE_TIME_LEN);
	memcpy(plain + UPGRADE_TIME_LEN, r->token + TOKEN_HEAD, msg_len);
	if (token_mask(k, r->nonce, plain, UPGRADE_TIME_LEN + msg_len) < 0)
		return UPGRADE_E_INTERNAL;
	t = be64_load(plain);
	if (t > now_s + UPGRADE_WINDOW_S || now_s > t + UPGRADE_WINDOW_S)
		return UPGRADE_E_TIME;
	r->time_s = t;
	memcpy(r->msg, plain + UPGRADE_TIME_LEN, msg_len);
	r->msg_len = msg_len;
	return UPGRADE_OK;
}

/* ---- replay cache ----
 *
 * Open addressing with linear probing over twice as many slots as live
 * nonces allowed. A slot whose nonce left the window is reusable but
 * still continues probe chains (a tombstone); when the used slots reach
 * the capacity, the table is rebuilt without the expired ones. */

struct slot {
	uint8_t nonce[UPGRADE_NONCE_LEN];
	uint64_t expiry_s; /* 0: never used; live while now_s <= expiry_s */
};

struct upgrade_replay {
	struct slot *slots, *spare;
	size_t mask, capacity, used;
	uint64_t k0, k1;
};

struct upgrade_replay *upgrade_replay_new(size_t capacity, const uint8_t hash_key[static 16])
{
	struct upgrade_replay *c = calloc(1, sizeof(*c));
	size_t n = 16;

	if (!c || capacity == 0 || capacity > (SIZE_MAX / sizeof(struct slot)) / 4)
		goto fail;
	while (n < 2 * capacity)
		n *= 2;
	c->slots = calloc(n, sizeof(struct slot));
	c->spare = calloc(n, sizeof(struct slot));
	if (!c->slots || !c->spare)
		goto fail;
	c->mask = n - 1;
	c->capacity = capacity;
	c->k0 = le64_load(hash_key);
	c->k1 = le64_load(hash_key + 8);
	return c;
fail:
	upgrade_replay_free(c);
	return NULL;
}

void upgrade_replay_free(struct upgrade_replay *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->spare);
	free(c);
}

/* Nonces come from clients (they are mac'd): a keyed mix keeps a client
 * from choosing colliding ones. */
static size_t slot_of(const struct upgrade_replay *c, const uint8_t *nonce)
{
	uint64_t h = (le64_load(nonce) ^ c->k0) * UINT64_C(0x9e3779b97f4a7c15);
	h ^= (le64_load(nonce + 8) ^ c->k1) + (h >> 29);
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	return (size_t)(h ^ (h >> 32)) & c->mask;
}

static void put(struct slot *slots, size_t i, size_t mask, const struct slot *s)
{
	while (slots[i].expiry_s)
		i = (i + 1) & mask;
	slots[i] = *s;
}

static void rebuild(struct upgrade_replay *c, uint64_t now_s)
{
	struct slot *old = c->slots;

	memset(c->spare, 0, (c->mask + 1) * sizeof(struct slot));
	c->used = 0;
	for (size_t i = 0; i <= c->mask; i++)
		if (old[i].expiry_s && now_s <= old[i].expiry_s) {
			put(c->spare, slot_of(c, old[i].nonce), c->mask, &old[i]);
			c->used++;
		}
	c->slots = c->spare;
	c->spare = old;
}

enum upgrade_result upgrade_replay_insert(struct upgrade_replay *c,
					  const uint8_t nonce[static UPGRADE_NONCE_LEN],
					  uint64_t time_s, uint64_t now_s)
{
	size_t i = slot_of(c, nonce), reuse = SIZE_MAX;
	struct slot s;

	for (;; i = (i + 1) & c->mask) {
		struct slot *e = &c->slots[i];
		if (!e->expiry_s)
			break;
		if (now_s > e->expiry_s) {
			if (reuse == SIZE_MAX)
				reuse = i;
		} else if (ct_memeq(e->nonce, nonce, UPGRADE_NONCE_LEN)) {
			return UPGRADE_E_REPLAY;
		}
	}
	memcpy(s.nonce, nonce, UPGRADE_NONCE_LEN);
	s.expiry_s = time_s + UPGRADE_WINDOW_S;
	if (reuse != SIZE_MAX) {
		c->slots[reuse] = s;
		return UPGRADE_OK;
	}
	if (c->used >= c->capacity) {
		rebuild(c, now_s);
		if (c->used >= c->capacity)
			return UPGRADE_E_CACHE_FULL;
	}
	put(c->slots, slot_of(c, nonce), c->mask, &s);
	c->used++;
	return UPGRADE_OK;
}

size_t upgrade_replay_count(struct upgrade_replay *c, uint64_t now_s)
{
	size_t n = 0;

	for (size_t i = 0; i <= c->mask; i++)
		n += c->slots[i].expiry_s && now_s <= c->slots[i].expiry_s;
	return n;
}

/* ---- the 101 ---- */

int upgrade_accept(char out[static UPGRADE_ACCEPT_LEN + 1], const char *key_b64)
{
	return ws_accept_key((const uint8_t *)key_b64, strlen(key_b64), out);
}

int upgrade_response_write(char *buf, size_t cap, size_t *ret_len, const char *key_b64,
			   const char *server_name, const char *date)
{
	char accept[UPGRADE_ACCEPT_LEN + 1];
	int n;

	if (upgrade_accept(accept, key_b64) < 0)
		return -EIO;
	/* as nginx relays a backend's 101: its own Server, Date, Connection,
	 * then the backend's Upgrade and accept */
	n = snprintf(buf, cap,
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "%s%s%s%s%s%s"
		     "Connection: upgrade\r\n"
		     "Upgrade: websocket\r\n"
		     "Sec-WebSocket-Accept: %s\r\n"
		     "\r\n",
		     server_name ? "Server: " : "", server_name ? server_name : "",
		     server_name ? "\r\n" : "", date ? "Date: " : "", date ? date : "",
		     date ? "\r\n" : "", accept);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	*ret_len = (size_t)n;
	return 0;
}

int upgrade_response_check(const uint8_t *head, size_t len, const char *key_b64)
{
	static const char status[] = "HTTP/1.1 101";
	struct lines l = {(const char *)head, (const char *)head + len};
	struct span line, name, value, up = {0}, conn = {0}, acc = {0};
	char want[UPGRADE_ACCEPT_LEN + 1];
	bool end = false;

	if (!next_line(&l, &line) || line.len < sizeof(status) - 1 ||
	    memcmp(line.p, status, sizeof(status) - 1) ||
	    (line.len > sizeof(status) - 1 && line.p[sizeof(status) - 1] != ' '))
		return -EPROTO;
	while (next_line(&l, &line)) {
		if (line.len == 0) {
			end = l.p == l.end;
			break;
		}
		if (!split_header(line, &name, &value))
			return -EPROTO;
		if (span_ieq(name, "upgrade"))
			up = value;
		else if (span_ieq(name, "connection"))
			conn = value;
		else if (span_ieq(name, "sec-websocket-accept"))
			acc = value;
	}
	if (!end || !up.p || !conn.p || !acc.p || !list_has(up, "websocket") ||
	    !list_has(conn, "upgrade") || upgrade_accept(want, key_b64) < 0 ||
	    acc.len != UPGRADE_ACCEPT_LEN || memcmp(acc.p, want, UPGRADE_ACCEPT_LEN))
		return -EPROTO;
	return 0;
}
