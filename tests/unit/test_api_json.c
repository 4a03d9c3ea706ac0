/* Strict request bodies: each way a body can be wrong gets its status, its
 * code and the field at fault; the error body is the documented shape. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/json.h"
#include "storage/store.h"

#define CT  "application/json"
#define KEY "kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBs="

/* parse + check against the users table; returns the error (status 0 = ok) */
static struct api_error run(const char *ct, const char *body, size_t max)
{
	struct api_error e = {0};
	json_t *j = api_json_parse(ct, body, strlen(body), max, &e);
	if (j)
		api_json_check(j, api_user_fields, api_user_fields_n, &e);
	json_decref(j);
	return e;
}

static void expect(const char *body, int status, const char *code, const char *field)
{
	struct api_error e = run(CT, body, API_BODY_MAX);
	if (e.status != status || (code && (!e.code || strcmp(e.code, code))) ||
	    (field && strcmp(e.field, field)))
		fail_msg("%s: got %d %s field \"%s\" (%s); want %d %s %s", body, e.status,
			 e.code ? e.code : "-", e.field, e.reason, status, code ? code : "-",
			 field ? field : "-");
}

static void test_accepts(void **state)
{
	(void)state;
	expect("{\"name\":\"alice\"}", 0, NULL, NULL);
	expect("{\"name\":\"bob.home_lan-2\",\"public_key\":\"" KEY "\",\"psk\":\"" KEY
	       "\",\"ipv4\":\"10.8.0.9\",\"ipv6\":\"fd00::9\",\"enabled\":false,"
	       "\"expires_at\":1900000000,\"data_limit\":10737418240,\"quota_period\":\"monthly\","
	       "\"quota_action\":\"throttle\",\"rate_limit\":1250000,\"device_limit\":3,"
	       "\"note\":\"Bob's laptop \\u00e9\"}",
	       0, NULL, NULL);
	expect("{\"name\":\"c\",\"expires_at\":null,\"ipv6\":null,\"psk\":null}", 0, NULL, NULL);
	expect("{\"name\":\"c\",\"quota_period\":\"day_of_month\",\"quota_day\":5,"
	       "\"quota_action\":\"throttle\",\"throttle_rate\":1000,"
	       "\"expires_after_first_connect\":86400}",
	       0, NULL, NULL);
}

static void test_syntax(void **state)
{
	(void)state;
	expect("", 400, "invalid_json", "");
	expect("{", 400, "invalid_json", "");
	expect("{\"name\":\"a\"} {}", 400, "invalid_json", "");
	expect("{\"name\":'a'}", 400, "invalid_json", "");
	expect("{\"name\":\"a\",}", 400, "invalid_json", "");
	expect("{\"name\":\"\\ud800\"}", 400, "invalid_json", "");   /* lone surrogate */
	expect("{\"name\":\"a\\u0000b\"}", 400, "invalid_json", ""); /* NUL */
	expect("{\"name\":\"\xff\"}", 400, "invalid_json", "");	     /* not UTF-8 */
	expect("{\"device_limit\":1e999}", 400, "invalid_json", ""); /* overflow */
	expect("{\"device_limit\":99999999999999999999}", 400, "invalid_json", "");
	expect("{\"name\":\"a\",\"name\":\"b\"}", 400, "duplicate_key", "");
	expect("[{\"name\":\"a\"}]", 400, "not_an_object", "");
	expect("\"alice\"", 400, "invalid_json", ""); /* a scalar at the top: jansson refuses */
	expect("null", 400, "invalid_json", "");
	/* deep nesting is refused, not recursed into without bound */
	static char deep[40000];
	memset(deep, '[', sizeof(deep) - 1);
	expect(deep, 400, "invalid_json", "");
}

static void test_fields(void **state)
{
	(void)state;
	expect("{}", 422, "missing_field", "name");
	expect("{\"name\":\"a\",\"colour\":\"red\"}", 422, "unknown_field", "colour");
	expect("{\"name\":\"a\",\"Name\":\"b\"}", 422, "unknown_field", "Name");
	expect("{\"name\":\"a\",\"na\\u0001me\":1}", 422, "unknown_field", "na?me");
	expect("{\"name\":7}", 422, "wrong_type", "name");
	expect("{\"name\":\"a\",\"enabled\":\"true\"}", 422, "wrong_type", "enabled");
	expect("{\"name\":\"a\",\"enabled\":1}", 422, "wrong_type", "enabled");
	expect("{\"name\":\"a\",\"device_limit\":1.0}", 422, "wrong_type", "device_limit");
	expect("{\"name\":\"a\",\"device_limit\":\"3\"}", 422, "wrong_type", "device_limit");
	expect("{\"name\":\"a\",\"enabled\":null}", 422, "wrong_type", "enabled");
	expect("{\"name\":\"a\",\"device_limit\":-1}", 422, "out_of_range", "device_limit");
	expect("{\"name\":\"a\",\"device_limit\":1025}", 422, "out_of_range", "device_limit");
	expect("{\"name\":\"a\",\"data_limit\":9007199254740993}", 422, "out_of_range",
	       "data_limit");
	expect("{\"name\":\"\"}", 422, "out_of_range", "name");
	expect("{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	       422, "out_of_range", "name");
	expect("{\"name\":\"../etc\"}", 422, "bad_value", "name");
	expect("{\"name\":\"-rf\"}", 422, "bad_value", "name");
	expect("{\"name\":\"a b\"}", 422, "bad_value", "name");
	expect("{\"name\":\"bob@home\"}", 422, "bad_value", "name"); /* the store's rule */
	expect("{\"name\":\".hidden\"}", 422, "bad_value", "name");
	expect("{\"name\":\"a\",\"ipv4\":null}", 422, "wrong_type", "ipv4");
	expect("{\"name\":\"a\\nb\"}", 422, "bad_value", "name");
	expect("{\"name\":\"a\",\"note\":\"x\\u001by\"}", 422, "bad_value", "note");
	expect("{\"name\":\"a\",\"quota_period\":\"yearly\"}", 422, "bad_value", "quota_period");
	expect("{\"name\":\"a\",\"ipv4\":\"10.8.0.256\"}", 422, "bad_value", "ipv4");
	expect("{\"name\":\"a\",\"ipv6\":\"10.8.0.2\"}", 422, "bad_value", "ipv6");
	/* keys: length, alphabet, padding, trailing bits */
	expect("{\"name\":\"a\",\"public_key\":\"kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBs\"}",
	       422, "bad_key", "public_key");
	expect("{\"name\":\"a\",\"public_key\":\"kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBt=\"}",
	       422, "bad_key", "public_key");
	expect("{\"name\":\"a\",\"psk\":\"kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOx-s=\"}", 422,
	       "bad_key", "psk");
	expect("{\"name\":\"a\",\"psk\":\"" KEY "\\u0000\"}", 400, "invalid_json", "");
}

/* The API, the store and users.toml share one name rule
 * (store_user_name_check): whatever one accepts, the others accept. */
static void test_name_rule_shared(void **state)
{
	static const char *const names[] = {
	    "alice",
	    "a.b_c-d",
	    "A9",
	    "-rf",
	    ".",
	    "..",
	    "a@b",
	    "a b",
	    "a/b",
	    "é",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 63 */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", names[i]);
		struct api_error e = run(CT, body, API_BODY_MAX);
		struct store_user u;
		struct store_err err;
		store_user_init(&u);
		snprintf(u.name, sizeof(u.name), "%s", names[i]);
		memset(u.public_key, 9, 32);
		bool store_ok =
		    strlen(names[i]) <= STORE_NAME_MAX && store_user_validate(&u, &err) == STORE_OK;
		if ((e.status == 0) != store_ok || store_ok != !store_user_name_check(names[i]))
			fail_msg("%s: API %d, store %d", names[i], e.status, store_ok);
	}
}

static void test_size_and_type(void **state)
{
	struct api_error e;
	(void)state;
	e = run(CT, "{\"name\":\"alice\"}", 10);
	assert_int_equal(e.status, 413);
	assert_string_equal(e.code, "too_large");
	e = run(CT, "{\"name\":\"alice\"}", 16);
	assert_int_equal(e.status, 0);
	/* no body at all (NULL, as a server may pass it) */
	json_t *j = api_json_parse(CT, NULL, 0, 100, &e);
	assert_null(j);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_json");
	assert_string_equal(e.reason, "the body is empty; send a JSON object");
	e = run(NULL, "{\"name\":\"alice\"}", 100);
	assert_int_equal(e.status, 415);
	e = run("text/plain", "{\"name\":\"alice\"}", 100);
	assert_int_equal(e.status, 415);
	assert_string_equal(e.code, "unsupported_media_type");
	assert_true(api_json_content_type_ok("application/json"));
	assert_true(api_json_content_type_ok("Application/JSON; charset=UTF-8"));
	assert_true(api_json_content_type_ok("application/json;charset=\"utf-8\""));
	assert_false(api_json_content_type_ok("application/jsonx"));
	assert_false(api_json_content_type_ok("application/json; charset=latin1"));
	assert_false(api_json_content_type_ok("application/json, text/plain"));
}

static void test_error_body(void **state)
{
	struct api_error e = {0};
	(void)state;
	api_fail(&e, 422, "unknown_field", "colour", "no field \"%s\" here", "colour");
	char *s = api_error_body(&e);
	assert_string_equal(
	    s, "{\"error\":{\"code\":\"unknown_field\",\"reason\":\"no field \\\"colour\\\" here\","
	       "\"field\":\"colour\"}}");
	free(s);
	api_fail(&e, 413, "too_large", NULL, "big");
	s = api_error_body(&e);
	assert_string_equal(s, "{\"error\":{\"code\":\"too_large\",\"reason\":\"big\"}}");
	free(s);
	/* a key of the input is echoed only as printable ASCII */
	e = run(CT, "{\"name\":\"a\",\"<\\u00e9\\\">\":1}", 100);
	s = api_error_body(&e);
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "error"), "field")), "<??\">");
	json_decref(j);
	free(s);
	/* jansson's message quotes the bad bytes; the body is still JSON
	 * (found by fuzz_api_json) */
	e = run(CT, "{\"nxpie\\tlse\\\xc5\x9a\xdc\x83\xdd\xdd\x87\xdd}", 100);
	assert_int_equal(e.status, 400);
	s = api_error_body(&e);
	assert_non_null(s);
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	json_decref(j);
	free(s);
}

static void test_get_key(void **state)
{
	uint8_t k[32];
	json_t *j = json_loads("{\"psk\":\"" KEY "\",\"x\":null}", 0, NULL);
	(void)state;
	assert_int_equal(api_json_get_key(j, "psk", k), 0);
	assert_int_equal(k[0], 0x91);
	assert_int_equal(api_json_get_key(j, "x", k), -ENOENT);
	assert_int_equal(api_json_get_key(j, "public_key", k), -ENOENT);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),	     cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_fields),	     cmocka_unit_test(test_size_and_type),
	    cmocka_unit_test(test_error_body),	     cmocka_unit_test(test_get_key),
	    cmocka_unit_test(test_name_rule_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
