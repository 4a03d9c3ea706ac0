/* libFuzzer target for api/json over the POST /users field table: any body
 * either passes (then it is an object naming only known fields, each of its
 * type) or fails with a documented status and an error body that is itself
 * valid JSON of the documented shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static bool known(const char *key)
{
	for (size_t i = 0; i < api_user_fields_n; i++)
		if (!strcmp(api_user_fields[i].name, key))
			return true;
	return false;
}

static void check_error(const struct api_error *e)
{
	check(e->status == 400 || e->status == 413 || e->status == 415 || e->status == 422);
	char *s = api_error_body(e);
	check(s != NULL);
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	json_t *err = json_object_get(j, "error");
	check(json_is_string(json_object_get(err, "code")));
	check(json_is_string(json_object_get(err, "reason")));
	check(json_object_size(j) == 1);
	json_decref(j);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_error e = {0};
	const char *key;
	json_t *v;
	json_t *j = api_json_parse("application/json", (const char *)data, size, 4096, &e);
	if (j && api_json_check(j, api_user_fields, api_user_fields_n, &e) == 0) {
		check(json_is_object(j) && json_is_string(json_object_get(j, "name")));
		json_object_foreach(j, key, v)
		{
			check(known(key));
		}
	} else {
		check_error(&e);
	}
	json_decref(j);
	return 0;
}
