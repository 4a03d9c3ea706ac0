/* HS256 JSON Web Tokens (RFC 7519 over RFC 7515) for the admin API's TCP
 * listener: bearer tokens that name who (sub), what they may do (role), when
 * they were issued and expire (iat, exp) and an id (jti, for a deny list).
 *
 * Only what lostlove-admin issues is accepted, so verification is narrow on
 * purpose: the header must be exactly {"alg":"HS256","typ":"JWT"} in any key
 * order (no "none", no other algorithm, no "kid"/"crit"/"jku"), every part
 * strict base64url (crypto/b64url.h), the MAC compared in constant time before
 * the payload is parsed, the payload exactly the five claims below with no
 * duplicate key, and the whole token at most JWT_MAX_LEN bytes.
 *
 * Pure: the time is an argument, the jti comes from the caller's struct rng.
 * The secret is 32 bytes; the server keeps it in a key file in the format
 * and mode (0600, created on first use) of its private key, read with
 * server/keyfile.h's keyfile_load_or_create. */
#ifndef LL_API_JWT_H
#define LL_API_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"

#define JWT_SECRET_LEN 32
#define JWT_MAX_LEN    4096 /* bytes of a token, as received */
#define JWT_SUB_MAX    64   /* characters of sub and jti */
#define JWT_SKEW_S     60   /* an iat at most this far in the future is accepted */

enum jwt_role {
	JWT_ROLE_ADMIN,	    /* "admin": every endpoint */
	JWT_ROLE_READ_ONLY, /* "read-only": GET only */
};

struct jwt_claims {
	char sub[JWT_SUB_MAX + 1]; /* printable ASCII, 1..64 */
	enum jwt_role role;
	int64_t iat, exp; /* seconds since the epoch; iat < exp */
	char jti[JWT_SUB_MAX + 1];
};

enum jwt_result {
	JWT_OK,
	JWT_TOO_LONG,	   /* over JWT_MAX_LEN */
	JWT_MALFORMED,	   /* not three strict base64url parts, or a header not JSON */
	JWT_BAD_HEADER,	   /* alg not HS256, typ not JWT, other header keys */
	JWT_BAD_SIGNATURE, /* the MAC does not match */
	JWT_BAD_CLAIMS,	   /* payload not the five claims with valid values */
	JWT_EXPIRED,	   /* now >= exp */
	JWT_NOT_YET_VALID, /* iat more than JWT_SKEW_S after now */
	JWT_RESULT_COUNT,
};

/* "ok", "too_long", ... for logs and error bodies. */
const char *jwt_result_name(enum jwt_result r);
/* "admin" / "read-only"; jwt_role_parse returns 0 or -EINVAL. */
const char *jwt_role_name(enum jwt_role r);
int jwt_role_parse(const char *s, enum jwt_role *ret);

/* A fresh jti: 16 bytes of rng in base64url (22 characters). */
int jwt_new_jti(const struct rng *rng, char ret[static JWT_SUB_MAX + 1]);

/* Writes the token and a NUL into out. Returns its length, -EINVAL for
 * claims jwt_verify would refuse (other than by time), -ENOSPC, -ENOMEM. */
int jwt_create(const uint8_t secret[static JWT_SECRET_LEN], const struct jwt_claims *c, char *out,
	       size_t out_len);

/* Checks token[0..len) at time now; fills *ret only on JWT_OK. */
enum jwt_result jwt_verify(const uint8_t secret[static JWT_SECRET_LEN], const char *token,
			   size_t len, int64_t now, struct jwt_claims *ret);

#endif
