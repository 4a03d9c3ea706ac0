/* libFuzzer target for api/jwt. The first byte picks what the rest is:
 *  - even: a token as received; nothing made without the secret may verify;
 *  - odd: "header NUL payload", signed here with the secret, so the checks
 *    after the MAC (header and claims JSON, types, times) are reached too;
 *    an accepted token's claims are valid and survive create + verify.
 * A broken invariant aborts, which libFuzzer reports as a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"
#include "api/jwt.h"
#include "crypto/hmac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000100

static const uint8_t secret[JWT_SECRET_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static void check(int ok)
{
	if (!ok)
		abort();
}

static void accepted(const struct jwt_claims *c)
{
	static char tok[JWT_MAX_LEN + 1];
	struct jwt_claims back;
	check(c->sub[0] && c->jti[0] && c->iat >= 0 && c->exp > c->iat && NOW < c->exp);
	int n = jwt_create(secret, c, tok, sizeof(tok));
	if (n == -ENOSPC)
		return; /* a long sub and jti may not fit in JWT_MAX_LEN again */
	check(n > 0);
	check(jwt_verify(secret, tok, (size_t)n, NOW, &back) == JWT_OK);
	check(!strcmp(back.sub, c->sub) && !strcmp(back.jti, c->jti) && back.role == c->role &&
	      back.iat == c->iat && back.exp == c->exp);
}

/* b64url(header) "." b64url(payload) "." b64url(HMAC) */
static size_t sign(char *out, size_t cap, const uint8_t *h, size_t hn, const uint8_t *p, size_t pn)
{
	uint8_t mac[32];
	if (b64url_len(hn) + b64url_len(pn) + 48 > cap)
		return 0;
	size_t o = (size_t)b64url_encode(out, cap, h, hn);
	out[o++] = '.';
	o += (size_t)b64url_encode(out + o, cap - o, p, pn);
	check(hmac_sha256(mac, secret, sizeof(secret), out, o) == 0);
	out[o++] = '.';
	o += (size_t)b64url_encode(out + o, cap - o, mac, sizeof(mac));
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[3 * JWT_MAX_LEN];
	struct jwt_claims c;
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		/* no MAC can be guessed: nothing verifies */
		check(jwt_verify(secret, (const char *)data + 1, size - 1, NOW, &c) != JWT_OK);
		return 0;
	}
	const uint8_t *h = data + 1, *nul = memchr(h, 0, size - 1);
	if (!nul)
		return 0;
	size_t n =
	    sign(tok, sizeof(tok), h, (size_t)(nul - h), nul + 1, size - 1 - (size_t)(nul - h) - 1);
	if (n && jwt_verify(secret, tok, n, NOW, &c) == JWT_OK)
		accepted(&c);
	return 0;
}
