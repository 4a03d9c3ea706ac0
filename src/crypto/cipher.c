/* The transport cipher of DESIGN §3 in its three modes.
 *
 * Each mode keys its AEAD(s) with a subkey HKDF-Expand(secret, label, 32),
 * one label per algorithm, so the two layers of the cascade have independent
 * keys and a key never serves two algorithms. The cascade seals with
 * AES-256-GCM first, then ChaCha20-Poly1305 over (inner ciphertext || inner
 * tag), both under the same nonce and associated data; the wire form is
 * outer ciphertext || inner-tag-under-outer || outer tag, i.e. len + 32.
 * Opening reverses it: the outer tag is checked before the inner layer is
 * touched. */
#include "crypto/cipher.h"

#include <errno.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"

static const char aes_label[] = "lostlove aes256gcm";
static const char chacha_label[] = "lostlove chacha20poly1305";

size_t cipher_overhead(enum cipher_mode mode)
{
	switch (mode) {
	case CIPHER_AES256GCM:
	case CIPHER_CHACHAPOLY:
		return AEAD_TAG_LEN;
	case CIPHER_CASCADE:
		return 2 * AEAD_TAG_LEN;
	}
	return 0;
}

const char *cipher_mode_name(enum cipher_mode mode)
{
	switch (mode) {
	case CIPHER_AES256GCM:
		return "performance";
	case CIPHER_CHACHAPOLY:
		return "balanced";
	case CIPHER_CASCADE:
		return "maximum_security";
	}
	return NULL;
}

static bool uses_aes(enum cipher_mode mode)
{
	return mode == CIPHER_AES256GCM || mode == CIPHER_CASCADE;
}

static bool uses_chacha(enum cipher_mode mode)
{
	return mode == CIPHER_CHACHAPOLY || mode == CIPHER_CASCADE;
}

/* Keys (init) or re-keys (!init) one layer with HKDF-Expand(secret, label, 32). */
static int key_layer(struct aead *a, enum aead_alg alg,
		     const uint8_t secret[static CIPHER_SECRET_LEN], const char *label,
		     size_t label_len, bool init)
{
	uint8_t key[AEAD_KEY_LEN];
	int r = hkdf_sha256_expand(key, sizeof(key), secret, (const uint8_t *)label, label_len);
	if (r)
		goto out;
	r = init ? aead_init(a, alg, key) : aead_rekey(a, key);
out:
	ct_wipe(key, sizeof(key));
	return r;
}

static int key_layers(struct cipher *c, const uint8_t secret[static CIPHER_SECRET_LEN], bool init)
{
	int r = 0;
	if (uses_aes(c->mode))
		r = key_layer(&c->aes, AEAD_AES256_GCM, secret, aes_label, sizeof(aes_label) - 1,
			      init);
	if (r == 0 && uses_chacha(c->mode))
		r = key_layer(&c->chacha, AEAD_CHACHA20_POLY1305, secret, chacha_label,
			      sizeof(chacha_label) - 1, init);
	return r;
}

int cipher_init(struct cipher *c, enum cipher_mode mode,
		const uint8_t secret[static CIPHER_SECRET_LEN])
{
	/* zeroed first so cipher_done is safe on any failure below */
	*c = (struct cipher){.mode = mode};
	if (cipher_overhead(mode) == 0)
		return -EINVAL;
	int r = key_layers(c, secret, true);
	if (r)
		cipher_done(c);
	return r;
}

int cipher_rekey(struct cipher *c, const uint8_t secret[static CIPHER_SECRET_LEN])
{
	return key_layers(c, secret, false);
}

void cipher_done(struct cipher *c)
{
	aead_done(&c->aes);
	aead_done(&c->chacha);
}

int cipher_seal(struct cipher *c, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *buf,
		size_t len)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	aead_nonce_from_counter(nonce, counter);
	switch (c->mode) {
	case CIPHER_AES256GCM:
		return aead_seal(&c->aes, nonce, ad, ad_len, buf, len, buf + len);
	case CIPHER_CHACHAPOLY:
		return aead_seal(&c->chacha, nonce, ad, ad_len, buf, len, buf + len);
	case CIPHER_CASCADE: {
		/* inner: AES-GCM over the plaintext, its tag appended */
		int r = aead_seal(&c->aes, nonce, ad, ad_len, buf, len, buf + len);
		/* outer: ChaCha20-Poly1305 over inner ciphertext || inner tag */
		return r ? r
			 : aead_seal(&c->chacha, nonce, ad, ad_len, buf, len + AEAD_TAG_LEN,
				     buf + len + AEAD_TAG_LEN);
	}
	}
	return -EINVAL;
}

int cipher_open(struct cipher *c, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *buf,
		size_t len)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	size_t overhead = cipher_overhead(c->mode);
	if (overhead == 0 || len < overhead)
		return -EINVAL;
	aead_nonce_from_counter(nonce, counter);
	size_t n = len - AEAD_TAG_LEN; /* bytes before the last tag */
	switch (c->mode) {
	case CIPHER_AES256GCM:
		return aead_open(&c->aes, nonce, ad, ad_len, buf, n, buf + n);
	case CIPHER_CHACHAPOLY:
		return aead_open(&c->chacha, nonce, ad, ad_len, buf, n, buf + n);
	case CIPHER_CASCADE: {
		int r = aead_open(&c->chacha, nonce, ad, ad_len, buf, n, buf + n);
		return r ? r
			 : aead_open(&c->aes, nonce, ad, ad_len, buf, n - AEAD_TAG_LEN,
				     buf + n - AEAD_TAG_LEN);
	}
	}
	return -EINVAL;
}
