/* Strict request bodies and error bodies; see json.h. */
#include "api/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "storage/store.h"

int api_fail(struct api_error *e, int status, const char *code, const char *field, const char *fmt,
	     ...)
{
	va_list ap;
	e->status = status;
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	/* a reason may quote the request (jansson's messages do): keep it
	 * printable ASCII, so the error body is always valid JSON and safe in a
	 * terminal */
	for (char *c = e->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return -1;
}

bool api_json_content_type_ok(const char *ct)
{
	static const char want[] = "application/json";
	if (!ct || strncasecmp(ct, want, sizeof(want) - 1))
		return false;
	ct += sizeof(want) - 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (!*ct)
		return true;
	if (*ct++ != ';')
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "charset=", 8))
		return false;
	ct += 8;
	if (*ct == '"')
		return !strcasecmp(ct, "\"utf-8\"");
	return !strcasecmp(ct, "utf-8");
}

json_t *api_json_parse(const char *content_type, const char *body, size_t len, size_t max,
		       struct api_error *e)
{
	json_error_t je;
	if (len > max) {
		api_fail(e, 413, "too_large", NULL, "the body is %zu bytes; at most %zu", len, max);
		return NULL;
	}
	if (!api_json_content_type_ok(content_type)) {
		api_fail(e, 415, "unsupported_media_type", NULL,
			 "send Content-Type: application/json");
		return NULL;
	}
	if (len == 0) { /* body may then be NULL, which jansson calls wrong arguments */
		api_fail(e, 400, "invalid_json", NULL, "the body is empty; send a JSON object");
		return NULL;
	}
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		if (json_error_code(&je) == json_error_duplicate_key)
			api_fail(e, 400, "duplicate_key", NULL, "a key appears twice: %s", je.text);
		else
			api_fail(e, 400, "invalid_json", NULL, "line %d, column %d: %s", je.line,
				 je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_fail(e, 400, "not_an_object", NULL, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

static const char *type_name(unsigned t)
{
	switch (t & 0xff) {
	case API_STRING:
		return "a string";
	case API_INT:
		return "an integer";
	case API_BOOL:
		return "true or false";
	case API_ENUM:
		return "one of the listed strings";
	default:
		return "a 32-byte key in base64 (44 characters)";
	}
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_string(const struct api_field *f, const json_t *v, struct api_error *e)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n != strlen(s) || has_control(s))
		return api_fail(e, 422, "bad_value", f->name, "control characters are not allowed");
	if ((int64_t)n < f->min || (int64_t)n > f->max)
		return api_fail(e, 422, "out_of_range", f->name, "must be %lld to %lld bytes long",
				(long long)f->min, (long long)f->max);
	const char *why = f->check ? f->check(s) : NULL;
	if (why)
		return api_fail(e, 422, "bad_value", f->name, "%s", why);
	return 0;
}

static int check_enum(const struct api_field *f, const json_t *v, struct api_error *e)
{
	const char *s = json_string_value(v);
	char list[120] = "";
	size_t o = 0;
	for (const char *const *n = f->names; *n; n++) {
		if (!strcmp(*n, s) && strlen(*n) == json_string_length(v))
			return 0;
		o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0, "%s\"%s\"",
				      n == f->names ? "" : ", ", *n);
		if (o >= sizeof(list))
			o = sizeof(list);
	}
	return api_fail(e, 422, "bad_value", f->name, "must be one of %s", list);
}

static int check_key(const struct api_field *f, const json_t *v, struct api_error *e)
{
	uint8_t k[32];
	const char *s = json_string_value(v);
	int r = json_string_length(v) == KEY_BASE64_LEN ? key_from_base64(k, s) : -EINVAL;
	ct_wipe(k, sizeof(k));
	if (r < 0)
		return api_fail(e, 422, "bad_key", f->name,
				"must be a 32-byte key in base64 (44 characters ending in '=')");
	return 0;
}

static int check_value(const struct api_field *f, const json_t *v, struct api_error *e)
{
	unsigned t = f->type & 0xff;
	if (json_is_null(v) && (f->type & API_NULLABLE))
		return 0;
	bool ok = (t == API_INT && json_is_integer(v)) || (t == API_BOOL && json_is_boolean(v)) ||
		  ((t == API_STRING || t == API_ENUM || t == API_KEY) && json_is_string(v));
	if (!ok)
		return api_fail(e, 422, "wrong_type", f->name, "must be %s%s", type_name(f->type),
				f->type & API_NULLABLE ? " or null" : "");
	switch (t) {
	case API_INT: {
		json_int_t x = json_integer_value(v);
		if (x < f->min || x > f->max)
			return api_fail(e, 422, "out_of_range", f->name, "must be %lld to %lld",
					(long long)f->min, (long long)f->max);
		return 0;
	}
	case API_STRING:
		return check_string(f, v, e);
	case API_ENUM:
		return check_enum(f, v, e);
	case API_KEY:
		return check_key(f, v, e);
	default:
		return 0;
	}
}

static const struct api_field *find(const struct api_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

/* a key for an error message: printable ASCII, cut short */
static void safe_name(const char *s, char out[48])
{
	size_t o = 0;
	for (; *s && o < 47; s++)
		out[o++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
	out[o] = '\0';
}

int api_json_check(const json_t *obj, const struct api_field *fields, size_t n, struct api_error *e)
{
	const char *key;
	json_t *v;
	char name[48];
	json_object_foreach((json_t *)obj, key, v)
	{
		const struct api_field *f = find(fields, n, key);
		if (!f) {
			safe_name(key, name);
			return api_fail(e, 422, "unknown_field", name, "no field \"%s\" here",
					name);
		}
		if (check_value(f, v, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !json_object_get(obj, fields[i].name))
			return api_fail(e, 422, "missing_field", fields[i].name, "is required");
	return 0;
}

int api_json_get_key(const json_t *obj, const char *name, uint8_t ret[static 32])
{
	const char *s = json_string_value(json_object_get(obj, name));
	if (!s)
		return -ENOENT;
	return key_from_base64(ret, s);
}

char *api_error_body(const struct api_error *e)
{
	json_t *err =
	    json_pack("{s:s, s:s}", "code", e->code ? e->code : "internal", "reason", e->reason);
	if (err && e->field[0] && json_object_set_new(err, "field", json_string(e->field)) < 0) {
		json_decref(err);
		err = NULL;
	}
	json_t *body = err ? json_pack("{s:o}", "error", err) : NULL;
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	return s;
}

/* ---- the users endpoint's fields ------------------------------------ */

static const char *check_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1 ? NULL : "must be an IPv4 address such as 10.8.0.2";
}

static const char *check_ipv6(const char *s)
{
	struct in6_addr a;
	return inet_pton(AF_INET6, s, &a) == 1 ? NULL : "must be an IPv6 address such as fd00::2";
}

static const char *const actions[] = {"cutoff", "throttle", NULL};

#define INT_JSON ((int64_t)1 << 53) /* exact in every JSON reader */

/* POST /v1/users; PATCH takes the same without name (the first entry). The
 * name is the store's rule, so the API refuses what the store would. */
const struct api_field api_user_fields[] = {
    {"name", API_STRING, true, 1, STORE_NAME_MAX, NULL, store_user_name_check},
    {"public_key", API_KEY, false, 0, 0, NULL, NULL},
    {"psk", API_KEY | API_NULLABLE, false, 0, 0, NULL, NULL},
    {"ipv4", API_STRING, false, 7, 15, NULL, check_ipv4},
    {"ipv6", API_STRING | API_NULLABLE, false, 2, 39, NULL, check_ipv6},
    {"enabled", API_BOOL, false, 0, 0, NULL, NULL},
    {"expires_at", API_INT | API_NULLABLE, false, 0, INT_JSON, NULL, NULL},
    {"expires_after_first_connect", API_INT | API_NULLABLE, false, 0, INT_JSON, NULL, NULL},
    {"data_limit", API_INT | API_NULLABLE, false, 0, INT_JSON, NULL, NULL},
    {"quota_period", API_ENUM, false, 0, 0, store_period_names, NULL},
    {"quota_day", API_INT, false, 0, 31, NULL, NULL},
    {"quota_action", API_ENUM, false, 0, 0, actions, NULL},
    {"throttle_rate", API_INT | API_NULLABLE, false, 0, INT_JSON, NULL, NULL},
    {"rate_limit", API_INT | API_NULLABLE, false, 0, INT_JSON, NULL, NULL},
    {"device_limit", API_INT | API_NULLABLE, false, 0, STORE_DEVICE_LIMIT_MAX, NULL, NULL},
    {"note", API_STRING, false, 0, STORE_NOTE_MAX, NULL, NULL},
};
const size_t api_user_fields_n = sizeof(api_user_fields) / sizeof(api_user_fields[0]);
