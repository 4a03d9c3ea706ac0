/* ChaCha20 keystreams and AES-128 blocks for the stealth masks; the model
 * is in mask.h. */
#include "crypto/mask.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static EVP_CIPHER *chacha_cipher;
static EVP_CIPHER *aes_ecb_cipher;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/* Never freed: process lifetime, like aead.c's ciphers. */
static void fetch_ciphers(void)
{
	chacha_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	aes_ecb_cipher = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

static int fetched(void)
{
	return pthread_once(&fetch_once, fetch_ciphers) == 0 && chacha_cipher && aes_ecb_cipher;
}

int mask_stream_init(struct mask_stream *m, const uint8_t key[static MASK_STREAM_KEY_LEN])
{
	static const uint8_t zero_iv[16];

	m->ctx = NULL;
	if (!fetched())
		return -ENOMEM;
	m->ctx = EVP_CIPHER_CTX_new();
	if (!m->ctx || EVP_EncryptInit_ex(m->ctx, chacha_cipher, NULL, key, zero_iv) != 1) {
		mask_stream_done(m);
		return -ENOMEM;
	}
	return 0;
}

void mask_stream_done(struct mask_stream *m)
{
	EVP_CIPHER_CTX_free(m->ctx); /* cleanses the key */
	m->ctx = NULL;
}

/* OpenSSL's ChaCha20 IV is the 32-bit block counter (little-endian)
 * followed by the 96-bit nonce of RFC 8439. */
int mask_stream_start(struct mask_stream *m, const uint8_t nonce[static MASK_STREAM_NONCE_LEN])
{
	uint8_t iv[16] = {0};

	memcpy(iv + 4, nonce, MASK_STREAM_NONCE_LEN);
	return EVP_EncryptInit_ex(m->ctx, NULL, NULL, NULL, iv) == 1 ? 0 : -EIO;
}

int mask_stream_xor(struct mask_stream *m, uint8_t *buf, size_t len)
{
	int outl;

	if (len > INT_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return EVP_EncryptUpdate(m->ctx, buf, &outl, buf, (int)len) == 1 ? 0 : -EIO;
}

int mask_block_init(struct mask_block *m, const uint8_t key[static MASK_BLOCK_KEY_LEN])
{
	m->ctx = NULL;
	if (!fetched())
		return -ENOMEM;
	m->ctx = EVP_CIPHER_CTX_new();
	if (!m->ctx || EVP_EncryptInit_ex(m->ctx, aes_ecb_cipher, NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(m->ctx, 0) != 1) {
		mask_block_done(m);
		return -ENOMEM;
	}
	return 0;
}

void mask_block_done(struct mask_block *m)
{
	EVP_CIPHER_CTX_free(m->ctx);
	m->ctx = NULL;
}

int mask_block_encrypt(struct mask_block *m, const uint8_t in[static MASK_BLOCK_LEN],
		       uint8_t out[static MASK_BLOCK_LEN])
{
	int outl;

	if (EVP_EncryptUpdate(m->ctx, out, &outl, in, MASK_BLOCK_LEN) != 1 ||
	    outl != MASK_BLOCK_LEN)
		return -EIO;
	return 0;
}
