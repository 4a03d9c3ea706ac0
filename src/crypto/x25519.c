/* X25519 (RFC 7748) through OpenSSL 3 EVP.
 *
 * OpenSSL has no public raw X25519 call, so each operation wraps the raw
 * bytes in short-lived EVP_PKEY objects. Every object is freed on every path
 * and raw secrets on our stack are wiped at the single exit. OpenSSL itself
 * already fails a derivation whose result is all zero; we check again with
 * ct_is_zero so the contract of x25519_shared does not rest on that detail.
 *
 * Cost: importing a bare private key makes OpenSSL derive its public key, a
 * full scalar multiplication that doubled the price of x25519_shared (61 us
 * against 31 us measured). The key used only for derivation is therefore
 * imported as a key pair with a placeholder public half: OpenSSL 3's X25519
 * exchange reads only our private scalar and the peer's public value, and
 * the object never leaves derive(). */
#include "crypto/x25519.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#include "crypto/ct.h"

/* RFC 7748 §5: clear the 3 low bits, clear bit 255, set bit 254. */
static void clamp(uint8_t k[static X25519_KEY_LEN])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

static EVP_PKEY *priv_key(const uint8_t priv[static X25519_KEY_LEN])
{
	return EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, X25519_KEY_LEN);
}

/* A key for derivation only: priv with a placeholder public half (see the
 * cost note above), so OpenSSL does not compute the real one. */
static EVP_PKEY *derive_key(const uint8_t priv[static X25519_KEY_LEN])
{
	static const uint8_t placeholder_pub[X25519_KEY_LEN];
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv,
					      X25519_KEY_LEN),
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)placeholder_pub,
					      X25519_KEY_LEN),
	    OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	if (!ctx)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int x25519_public(uint8_t ret_pub[static X25519_KEY_LEN], const uint8_t priv[static X25519_KEY_LEN])
{
	size_t len = X25519_KEY_LEN;
	EVP_PKEY *key = priv_key(priv);
	if (!key)
		return -EINVAL;
	int r = EVP_PKEY_get_raw_public_key(key, ret_pub, &len) == 1 && len == X25519_KEY_LEN
		    ? 0
		    : -EINVAL;
	EVP_PKEY_free(key);
	return r;
}

int x25519_keygen(uint8_t ret_priv[static X25519_KEY_LEN], uint8_t ret_pub[static X25519_KEY_LEN],
		  const struct rng *rng)
{
	int r = rng_fill(rng, ret_priv, X25519_KEY_LEN);
	if (r)
		goto fail;
	clamp(ret_priv);
	r = x25519_public(ret_pub, ret_priv);
	if (r)
		goto fail;
	return 0;
fail:
	ct_wipe(ret_priv, X25519_KEY_LEN);
	return r;
}

/* ret_shared = X25519(priv, peer_pub); -EINVAL when OpenSSL refuses. */
static int derive(uint8_t ret_shared[static X25519_KEY_LEN], EVP_PKEY *key, EVP_PKEY *peer)
{
	size_t len = X25519_KEY_LEN;
	int r = -EINVAL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, ret_shared, &len) == 1 && len == X25519_KEY_LEN)
		r = 0;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int x25519_shared(uint8_t ret_shared[static X25519_KEY_LEN],
		  const uint8_t priv[static X25519_KEY_LEN],
		  const uint8_t peer_pub[static X25519_KEY_LEN])
{
	uint8_t out[X25519_KEY_LEN] = {0};
	int r = -ENOMEM;
	EVP_PKEY *peer = NULL;
	EVP_PKEY *key = derive_key(priv);
	if (!key)
		goto out;
	peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, X25519_KEY_LEN);
	if (!peer)
		goto out_key;
	r = derive(out, key, peer);
	/* RFC 7748 §6.1: an all-zero result means a low-order peer key.
	 * The check reads all 32 bytes whatever they hold. */
	if (r == 0 && ct_is_zero(out, sizeof(out)))
		r = -EINVAL;
	EVP_PKEY_free(peer);
out_key:
	EVP_PKEY_free(key);
out:
	/* the caller sees the secret only on success, zeros otherwise; the
	 * copy does not branch on the outcome */
	memset(ret_shared, 0, X25519_KEY_LEN);
	ct_cmov(ret_shared, out, sizeof(out), (uint8_t)(r == 0));
	ct_wipe(out, sizeof(out));
	return r;
}
