/* AEAD contexts over OpenSSL 3 EVP_CIPHER_CTX.
 *
 * Model: the cipher implementation is fetched once per process, a context
 * pair (one encrypting, one decrypting) is created and keyed once per key,
 * and each packet only sets the nonce on the existing context. Re-keying
 * also goes through the existing contexts. So the per-packet path allocates
 * nothing, which tests/unit/test_primitives.c checks with a counting
 * allocator. OpenSSL cleanses key schedules when a context is freed. */
#include "crypto/aead.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>

#include "util/endian.h"

static EVP_CIPHER *chacha_cipher;
static EVP_CIPHER *aes_cipher;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/* Never freed: process lifetime, like hmac.c's digest. */
static void fetch_ciphers(void)
{
	chacha_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	aes_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *cipher_of(enum aead_alg alg)
{
	if (pthread_once(&fetch_once, fetch_ciphers) != 0)
		return NULL;
	switch (alg) {
	case AEAD_CHACHA20_POLY1305:
		return chacha_cipher;
	case AEAD_AES256_GCM:
		return aes_cipher;
	}
	return NULL;
}

int aead_init(struct aead *a, enum aead_alg alg, const uint8_t key[static AEAD_KEY_LEN])
{
	a->alg = alg;
	a->enc = NULL;
	a->dec = NULL;
	if (alg != AEAD_CHACHA20_POLY1305 && alg != AEAD_AES256_GCM)
		return -EINVAL;
	const EVP_CIPHER *cipher = cipher_of(alg);
	if (!cipher)
		return -ENOMEM;
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec)
		goto fail;
	/* both algorithms default to a 96-bit nonce, the size we use */
	if (EVP_EncryptInit_ex(a->enc, cipher, NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(a->dec, cipher, NULL, key, NULL) != 1)
		goto fail;
	return 0;
fail:
	aead_done(a);
	return -ENOMEM;
}

int aead_rekey(struct aead *a, const uint8_t key[static AEAD_KEY_LEN])
{
	if (EVP_EncryptInit_ex(a->enc, NULL, NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(a->dec, NULL, NULL, key, NULL) != 1)
		return -EIO;
	return 0;
}

void aead_done(struct aead *a)
{
	/* EVP_CIPHER_CTX_free cleanses the key schedule */
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	a->enc = NULL;
	a->dec = NULL;
}

/* Feeds the associated data and the payload (in place) through ctx. */
static int update(EVP_CIPHER_CTX *ctx, const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	int outl;
	/* EVP takes int lengths; packets are far below, but do not truncate */
	if (ad_len > INT_MAX || len > INT_MAX)
		return -1;
	if (ad_len && EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)ad_len) != 1)
		return -1;
	if (len && EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1)
		return -1;
	return 0;
}

/* The per-packet calls are OpenSSL 3's direct ones: EVP_CipherInit_ex2 for
 * the nonce and the context's get/set_params for the tag. The older
 * EVP_EncryptInit_ex + EVP_CIPHER_CTX_ctrl pair does the same work but
 * translates every ctrl into parameters first, which cost 15% of a
 * ChaCha20-Poly1305 seal at 1420 bytes (bench/RESULTS.md). */
static int set_nonce(EVP_CIPHER_CTX *ctx, const uint8_t nonce[static AEAD_NONCE_LEN], int enc)
{
	return EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL) == 1 ? 0 : -1;
}

int aead_seal(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
	      size_t ad_len, uint8_t *buf, size_t len, uint8_t ret_tag[static AEAD_TAG_LEN])
{
	uint8_t none[AEAD_TAG_LEN]; /* AEAD finals output nothing */
	int outl;
	OSSL_PARAM tag[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ret_tag, AEAD_TAG_LEN),
	    OSSL_PARAM_construct_end(),
	};
	if (set_nonce(a->enc, nonce, 1) != 0 || update(a->enc, ad, ad_len, buf, len) != 0 ||
	    EVP_EncryptFinal_ex(a->enc, none, &outl) != 1 ||
	    EVP_CIPHER_CTX_get_params(a->enc, tag) != 1)
		return -EIO;
	return 0;
}

int aead_open(struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN], const uint8_t *ad,
	      size_t ad_len, uint8_t *buf, size_t len, const uint8_t tag[static AEAD_TAG_LEN])
{
	uint8_t none[AEAD_TAG_LEN];
	int outl;
	/* OpenSSL copies the expected tag; the cast only satisfies the
	 * non-const OSSL_PARAM field */
	OSSL_PARAM expect[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag,
					      AEAD_TAG_LEN),
	    OSSL_PARAM_construct_end(),
	};
	if (set_nonce(a->dec, nonce, 0) != 0 || EVP_CIPHER_CTX_set_params(a->dec, expect) != 1 ||
	    update(a->dec, ad, ad_len, buf, len) != 0)
		return -EIO;
	/* the tag comparison happens here, in constant time inside OpenSSL */
	if (EVP_DecryptFinal_ex(a->dec, none, &outl) != 1)
		return -EBADMSG;
	return 0;
}

void aead_nonce_from_counter(uint8_t ret_nonce[static AEAD_NONCE_LEN], uint64_t counter)
{
	le32_store(ret_nonce, 0);
	le64_store(ret_nonce + 4, counter);
}
