/* Webhook events: names, JSON bodies, signatures, backoff; see
 * webhook_event.h. */
#include "api/webhook_event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/hex.h"

static const char *const type_names[WEBHOOK_TYPE_COUNT] = {
    [WEBHOOK_USER_CONNECTED] = "user.connected",
    [WEBHOOK_USER_DISCONNECTED] = "user.disconnected",
    [WEBHOOK_USER_QUOTA_EXCEEDED] = "user.quota_exceeded",
    [WEBHOOK_USER_EXPIRED] = "user.expired",
    [WEBHOOK_AUTH_FAILURE] = "auth.failure",
    [WEBHOOK_TEST] = "webhook.test",
};

const char *webhook_type_name(enum webhook_type t)
{
	return (unsigned)t < WEBHOOK_TYPE_COUNT ? type_names[t] : NULL;
}

int webhook_type_parse(const char *name)
{
	for (int t = 0; t < WEBHOOK_TYPE_COUNT; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

void webhook_event_id(char out[static WEBHOOK_ID_LEN + 1], const uint8_t random[static 16])
{
	memcpy(out, "evt_", 4);
	hex_encode(out + 4, random, 16);
}

/* RFC 3339 in UTC, to the second: "2026-12-03T18:40:00Z". */
static void format_time(char out[static 32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* A string of ours or a user's, as JSON: jansson escapes quotes, control
 * characters and non-ASCII; bytes that are not UTF-8 would make it fail,
 * so those become U+FFFD first. */
static json_t *str(const char *s)
{
	char buf[256];
	size_t o = 0;
	json_t *v = json_string(s);

	if (v)
		return v;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < sizeof(buf); p++) {
		if (*p < 0x80) {
			buf[o++] = (char)*p;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	buf[o] = '\0';
	return json_string(buf);
}

static int set(json_t *obj, const char *key, json_t *v)
{
	return v && json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

/* The source or endpoint of an event: address and port. */
static int add_endpoint(json_t *d, const char *key, const struct webhook_event *e)
{
	char buf[WEBHOOK_ADDR_MAX + 16];

	if (!e->addr[0])
		return 0;
	if (strchr(e->addr, ':'))
		snprintf(buf, sizeof(buf), "[%s]:%u", e->addr, e->port);
	else
		snprintf(buf, sizeof(buf), "%s:%u", e->addr, e->port);
	return set(d, key, str(buf));
}

static int fill_data(json_t *d, const struct webhook_event *e)
{
	int r = 0;

	switch ((enum webhook_type)e->type) {
	case WEBHOOK_USER_CONNECTED:
		r = set(d, "user", str(e->user));
		return r ? r : add_endpoint(d, "endpoint", e);
	case WEBHOOK_USER_DISCONNECTED:
		r = set(d, "user", str(e->user));
		if (!r)
			r = set(d, "reason", str(e->reason));
		return r ? r : add_endpoint(d, "endpoint", e);
	case WEBHOOK_USER_QUOTA_EXCEEDED:
		r = set(d, "user", str(e->user));
		if (!r)
			r = set(d, "used_bytes", json_integer(e->used));
		if (!r)
			r = set(d, "limit_bytes", json_integer(e->limit));
		return r ? r : set(d, "action", str(e->reason));
	case WEBHOOK_USER_EXPIRED:
		r = set(d, "user", str(e->user));
		return r ? r : set(d, "expires_at", json_integer(e->limit));
	case WEBHOOK_AUTH_FAILURE:
		r = set(d, "address", str(e->addr));
		if (!r)
			r = set(d, "port", json_integer(e->port));
		return r ? r : set(d, "reason", str(e->reason));
	case WEBHOOK_TEST:
		return set(d, "message", str(e->reason[0] ? e->reason : "test"));
	case WEBHOOK_TYPE_COUNT:
		break;
	}
	return -EINVAL;
}

int webhook_event_json(const struct webhook_event *e, const char *id, const char *node, char **ret,
		       size_t *ret_len)
{
	const char *type = webhook_type_name((enum webhook_type)e->type);
	char when[32];
	json_t *root, *data;
	int r;

	*ret = NULL;
	if (!type)
		return -EINVAL;
	format_time(when, e->time);
	root = json_object();
	data = json_object();
	r = root && data ? 0 : -ENOMEM;
	if (!r)
		r = set(root, "id", str(id));
	if (!r)
		r = set(root, "type", str(type));
	if (!r)
		r = set(root, "time", str(when));
	if (!r)
		r = set(root, "node", str(node));
	if (!r)
		r = fill_data(data, e);
	if (!r) {
		r = set(root, "data", data);
		data = NULL;
	}
	if (!r) {
		*ret = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
		r = *ret ? 0 : -ENOMEM;
	}
	json_decref(data);
	json_decref(root);
	if (!r)
		*ret_len = strlen(*ret);
	return r;
}

static int mac(uint8_t out[static SHA256_LEN], const uint8_t *secret, size_t secret_len,
	       const char *t, const char *body, size_t body_len)
{
	struct iov_c parts[3] = {{t, strlen(t)}, {".", 1}, {body, body_len}};

	return hmac_sha256_v(out, secret, secret_len, parts, 3);
}

int webhook_sign(char out[static WEBHOOK_SIG_MAX], const uint8_t *secret, size_t secret_len,
		 int64_t t, const char *body, size_t body_len)
{
	uint8_t tag[SHA256_LEN];
	char ts[24];
	int r;

	snprintf(ts, sizeof(ts), "%" PRId64, t);
	r = mac(tag, secret, secret_len, ts, body, body_len);
	if (r < 0)
		return r;
	snprintf(out, WEBHOOK_SIG_MAX, "t=%s,v1=", ts);
	hex_encode(out + strlen(out), tag, sizeof(tag));
	return 0;
}

/* "t=<digits>" first, then one or more ",v1=<64 hex>" (or other schemes,
 * ignored), as a receiver reads it. */
bool webhook_verify(const char *header, const uint8_t *secret, size_t secret_len, int64_t now,
		    int64_t tolerance_s, const char *body, size_t body_len)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	char ts[24];
	const char *p;
	size_t n;
	bool ok = false;

	if (strncmp(header, "t=", 2) != 0)
		return false;
	n = strspn(header + 2, "0123456789");
	if (n == 0 || n >= sizeof(ts) || (header[2 + n] != ',' && header[2 + n] != '\0'))
		return false;
	memcpy(ts, header + 2, n);
	ts[n] = '\0';
	if (llabs((long long)(strtoll(ts, NULL, 10) - now)) > tolerance_s)
		return false;
	if (mac(want, secret, secret_len, ts, body, body_len) < 0)
		return false;
	for (p = header + 2 + n; *p == ','; p += strcspn(p + 1, ",") + 1) {
		char hex[2 * SHA256_LEN + 1];

		if (strncmp(p + 1, "v1=", 3) != 0 || strcspn(p + 4, ",") != 2 * SHA256_LEN)
			continue;
		memcpy(hex, p + 4, 2 * SHA256_LEN);
		hex[2 * SHA256_LEN] = '\0';
		if (hex_decode(got, sizeof(got), hex) == 0 && ct_memeq(got, want, sizeof(want)))
			ok = true;
	}
	ct_wipe(want, sizeof(want));
	return ok;
}

int64_t webhook_backoff(unsigned attempt, uint32_t random)
{
	int64_t d = WEBHOOK_BACKOFF_BASE_S;

	for (unsigned i = 1; i < attempt && d < WEBHOOK_BACKOFF_CAP_S; i++)
		d *= 2;
	if (d > WEBHOOK_BACKOFF_CAP_S)
		d = WEBHOOK_BACKOFF_CAP_S;
	return d / 2 + (int64_t)(random % (uint32_t)(d / 2 + 1));
}

bool webhook_url_names_host(const char *url)
{
	const char *h = strstr(url, "://"), *at;
	char host[256];
	uint8_t buf[16];
	size_t n;

	if (!h)
		return true;
	h += 3;
	n = strcspn(h, "/?#");
	for (at = h; (at = memchr(at, '@', (size_t)(h + n - at))) != NULL; at++)
		h = at + 1, n = strcspn(h, "/?#"); /* the host follows the last '@' */
	if (*h == '[')
		return false; /* an IPv6 literal */
	n = strcspn(h, ":/?#");
	if (n == 0 || n >= sizeof(host))
		return true;
	memcpy(host, h, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, buf) != 1;
}
