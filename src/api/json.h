/* Strict reading of admin API request bodies, and the one error format.
 *
 * A body is accepted only when it is at most the endpoint's size bound, is
 * declared application/json, parses as one JSON object without a duplicate
 * key, names only fields of the endpoint's table, and every field has its
 * type and range. Anything else gets a status and an error body
 *
 *     {"error":{"code":"unknown_field","reason":"...","field":"colour"}}
 *
 * ("field" only when one field is at fault). The statuses, decided once
 * (docs/api.md, "Errors"):
 *   400 invalid_json, duplicate_key, not_an_object: the bytes are not one
 *       unambiguous JSON object
 *   401 unauthorized, 403 forbidden: token (api/jwt.h) missing/invalid, role
 *   404 not_found; 405 method_not_allowed; 409 conflict (name or key taken)
 *   413 too_large: over the body bound (checked before parsing)
 *   415 unsupported_media_type: Content-Type not application/json
 *   422 unknown_field, missing_field, wrong_type, out_of_range, bad_value,
 *       bad_key: well-formed JSON that this endpoint does not accept
 *   429 rate_limited; 500 internal
 *
 * Library code over jansson; no I/O. */
#ifndef LL_API_JSON_H
#define LL_API_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_BODY_MAX 65536 /* the default bound of a request body */

enum api_field_type {
	API_STRING, /* UTF-8, min..max bytes, no control characters */
	API_INT,    /* a JSON integer in min..max */
	API_BOOL,
	API_ENUM,	      /* a string among .names */
	API_KEY,	      /* a 32-byte key in standard base64 (44 characters) */
	API_NULLABLE = 0x100, /* or-ed in: null is accepted too (clears a value) */
};

struct api_field {
	const char *name;
	unsigned type; /* enum api_field_type, possibly | API_NULLABLE */
	bool required;
	int64_t min, max;	  /* API_STRING: length in bytes; API_INT: value */
	const char *const *names; /* API_ENUM: NULL-terminated */
	/* optional extra check of a string; returns NULL or why it is refused */
	const char *(*check)(const char *s);
};

struct api_error {
	int status; /* HTTP status; 0 = no error */
	const char *code;
	char reason[200];
	char field[64]; /* "" when no single field is at fault */
};

/* Sets *e and returns -1 (for `return api_fail(...)`). field may be NULL. */
__attribute__((format(printf, 5, 6))) int api_fail(struct api_error *e, int status,
						   const char *code, const char *field,
						   const char *fmt, ...);

/* true for "application/json", optionally with "; charset=utf-8"
 * (any case, optional spaces); false for NULL or anything else. */
bool api_json_content_type_ok(const char *content_type);

/* Parses a request body: checks the content type (NULL = not given: 415),
 * the bound, then the JSON. Returns a new object reference or NULL with *e. */
json_t *api_json_parse(const char *content_type, const char *body, size_t len, size_t max,
		       struct api_error *e);

/* Checks obj against fields[0..n): no unknown field, every required one
 * present, each of its type and range. Returns 0 or -1 with *e (status 422). */
int api_json_check(const json_t *obj, const struct api_field *fields, size_t n,
		   struct api_error *e);

/* Decodes a checked API_KEY field; 0, or -ENOENT when absent or null. */
int api_json_get_key(const json_t *obj, const char *name, uint8_t ret[static 32]);

/* The error body as a NUL-terminated string (malloc'd; NULL on ENOMEM). */
char *api_error_body(const struct api_error *e);

/* The fields of POST /v1/users (docs/api.md); PATCH /v1/users/{name} takes
 * all but the first (name). The one table of the handler (api.c), the unit
 * test and the fuzzer. */
extern const struct api_field api_user_fields[];
extern const size_t api_user_fields_n;

#endif
