/* HS256 JWT; see jwt.h. */
#include "api/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"

/* The header lostlove-admin writes; verification accepts any key order. */
static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static const char *const result_names[JWT_RESULT_COUNT] = {
    [JWT_OK] = "ok",
    [JWT_TOO_LONG] = "too_long",
    [JWT_MALFORMED] = "malformed",
    [JWT_BAD_HEADER] = "bad_header",
    [JWT_BAD_SIGNATURE] = "bad_signature",
    [JWT_BAD_CLAIMS] = "bad_claims",
    [JWT_EXPIRED] = "expired",
    [JWT_NOT_YET_VALID] = "not_yet_valid",
};

const char *jwt_result_name(enum jwt_result r)
{
	return (unsigned)r < JWT_RESULT_COUNT ? result_names[r] : "unknown";
}

const char *jwt_role_name(enum jwt_role r)
{
	return r == JWT_ROLE_ADMIN ? "admin" : "read-only";
}

int jwt_role_parse(const char *s, enum jwt_role *ret)
{
	if (!strcmp(s, "admin"))
		*ret = JWT_ROLE_ADMIN;
	else if (!strcmp(s, "read-only"))
		*ret = JWT_ROLE_READ_ONLY;
	else
		return -EINVAL;
	return 0;
}

int jwt_new_jti(const struct rng *rng, char ret[static JWT_SUB_MAX + 1])
{
	uint8_t b[16];
	int r = rng_fill(rng, b, sizeof(b));
	if (r < 0)
		return r;
	return b64url_encode(ret, JWT_SUB_MAX + 1, b, sizeof(b)) < 0 ? -ENOSPC : 0;
}

/* sub and jti: 1..64 printable ASCII characters (no quoting surprises in
 * logs or the audit trail). */
static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > JWT_SUB_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool valid_claims(const struct jwt_claims *c)
{
	return valid_id(c->sub) && valid_id(c->jti) &&
	       (c->role == JWT_ROLE_ADMIN || c->role == JWT_ROLE_READ_ONLY) && c->iat >= 0 &&
	       c->exp > c->iat;
}

/* base64url(s) into out at *o; false when it does not fit */
static bool put_b64(char *out, size_t out_len, size_t *o, const void *s, size_t n)
{
	int r = b64url_encode(out + *o, out_len - *o, s, n);
	if (r < 0)
		return false;
	*o += (size_t)r;
	return true;
}

int jwt_create(const uint8_t secret[static JWT_SECRET_LEN], const struct jwt_claims *c, char *out,
	       size_t out_len)
{
	uint8_t mac[SHA256_LEN];
	size_t o = 0;
	int r = -ENOSPC;
	if (!valid_claims(c))
		return -EINVAL;
	json_t *p =
	    json_pack("{s:s, s:s, s:I, s:I, s:s}", "sub", c->sub, "role", jwt_role_name(c->role),
		      "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp, "jti", c->jti);
	char *payload = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(p);
	if (!payload)
		return -ENOMEM;
	if (!put_b64(out, out_len, &o, header_json, strlen(header_json)) || o + 1 >= out_len)
		goto out;
	out[o++] = '.';
	if (!put_b64(out, out_len, &o, payload, strlen(payload)) || o + 1 >= out_len)
		goto out;
	r = hmac_sha256(mac, secret, JWT_SECRET_LEN, out, o);
	if (r < 0)
		goto out;
	r = -ENOSPC;
	out[o++] = '.';
	if (!put_b64(out, out_len, &o, mac, sizeof(mac)) || o > JWT_MAX_LEN)
		goto out;
	r = (int)o;
out:
	free(payload);
	if (r < 0 && out_len)
		out[0] = '\0';
	return r;
}

/* Decodes one part into a fresh NUL-terminated buffer. */
static char *decode_part(const char *s, size_t len, size_t *ret_n)
{
	char *buf = malloc(len + 1);
	int n = buf ? b64url_decode((uint8_t *)buf, len, s, len) : -ENOMEM;
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*ret_n = (size_t)n;
	return buf;
}

/* A JSON object, duplicate keys rejected; NULL otherwise. */
static json_t *load_object(const char *text, size_t n)
{
	json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static enum jwt_result check_header(const char *s, size_t len)
{
	size_t n;
	char *text = decode_part(s, len, &n);
	json_t *h = text ? load_object(text, n) : NULL;
	enum jwt_result r = JWT_MALFORMED;
	free(text);
	if (!h)
		return r;
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *typ = json_string_value(json_object_get(h, "typ"));
	r = JWT_BAD_HEADER;
	if (json_object_size(h) == 2 && alg && typ && !strcmp(alg, "HS256") && !strcmp(typ, "JWT"))
		r = JWT_OK;
	json_decref(h);
	return r;
}

static bool get_id(json_t *p, const char *key, char out[JWT_SUB_MAX + 1])
{
	json_t *v = json_object_get(p, key);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s) || strlen(s) > JWT_SUB_MAX)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

static bool get_time(json_t *p, const char *key, int64_t *ret)
{
	json_t *v = json_object_get(p, key);
	if (!json_is_integer(v))
		return false;
	*ret = json_integer_value(v);
	return true;
}

static enum jwt_result check_claims(const char *s, size_t len, int64_t now, struct jwt_claims *ret)
{
	size_t n;
	char *text = decode_part(s, len, &n);
	json_t *p = text ? load_object(text, n) : NULL;
	struct jwt_claims c = {0};
	enum jwt_result r = JWT_BAD_CLAIMS;
	free(text);
	if (!p)
		return r;
	const char *role = json_string_value(json_object_get(p, "role"));
	if (json_object_size(p) == 5 && get_id(p, "sub", c.sub) && get_id(p, "jti", c.jti) &&
	    role && jwt_role_parse(role, &c.role) == 0 && get_time(p, "iat", &c.iat) &&
	    get_time(p, "exp", &c.exp) && valid_claims(&c))
		r = JWT_OK;
	json_decref(p);
	if (r != JWT_OK)
		return r;
	if (now >= c.exp)
		return JWT_EXPIRED;
	if (c.iat > now + JWT_SKEW_S)
		return JWT_NOT_YET_VALID;
	*ret = c;
	return JWT_OK;
}

enum jwt_result jwt_verify(const uint8_t secret[static JWT_SECRET_LEN], const char *token,
			   size_t len, int64_t now, struct jwt_claims *ret)
{
	uint8_t mac[SHA256_LEN], want[SHA256_LEN];
	if (len > JWT_MAX_LEN)
		return JWT_TOO_LONG;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || dot1 == token || dot2 == dot1 + 1)
		return JWT_MALFORMED;
	size_t signed_len = (size_t)(dot2 - token), sig_len = len - signed_len - 1;
	enum jwt_result r = check_header(token, (size_t)(dot1 - token));
	if (r != JWT_OK)
		return r;
	/* exactly 43 characters of a 32-byte MAC; a third dot fails here too */
	if (sig_len != b64url_len(SHA256_LEN) ||
	    b64url_decode(mac, sizeof(mac), dot2 + 1, sig_len) != SHA256_LEN)
		return JWT_MALFORMED;
	if (hmac_sha256(want, secret, JWT_SECRET_LEN, token, signed_len) < 0)
		return JWT_BAD_SIGNATURE;
	bool same = ct_memeq(mac, want, sizeof(mac));
	ct_wipe(want, sizeof(want));
	if (!same)
		return JWT_BAD_SIGNATURE;
	return check_claims(dot1 + 1, signed_len - (size_t)(dot1 + 1 - token), now, ret);
}
