#include "protocol/cookie.h"

#include <errno.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/endian.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static int labelled_key(uint8_t ret[static 32], const char *label, const uint8_t pub[static 32])
{
	struct iov_c parts[] = {{label, 8}, {pub, 32}};
	return sha256_v(ret, parts, 2);
}

int cookie_mac1_key(uint8_t ret_key[static 32], const uint8_t pub[static 32])
{
	return labelled_key(ret_key, label_mac1, pub);
}

/* HMAC-SHA256(key, data) truncated to 16 bytes. */
static int mac16(uint8_t ret[static MSG_MAC_LEN], const uint8_t *key, size_t key_len,
		 const uint8_t *data, size_t len)
{
	uint8_t full[SHA256_LEN];
	int r = hmac_sha256(full, key, key_len, data, len);
	memcpy(ret, full, MSG_MAC_LEN);
	ct_wipe(full, sizeof(full));
	return r;
}

int cookie_mac1(uint8_t ret_mac[static MSG_MAC_LEN], const uint8_t key[static 32],
		const uint8_t *msg, size_t len)
{
	return mac16(ret_mac, key, 32, msg, len - 2 * MSG_MAC_LEN);
}

static int make_cookie(uint8_t ret[static MSG_COOKIE_LEN], const uint8_t secret[static 32],
		       const uint8_t *src, size_t src_len)
{
	return mac16(ret, secret, 32, src, src_len);
}

/* ---- the secrets: one writer at a time, lock-free readers (seqlock) ---- */

#define SECRET_WORDS 4 /* 32 bytes */

int cookie_secrets_init(struct cookie_secrets *s, uint64_t now_ns, const struct rng *rng)
{
	uint8_t first[32];
	int r = rng_fill(rng, first, sizeof(first));

	memset(s, 0, sizeof(*s));
	s->birth_ns = now_ns;
	memcpy(s->words, first, sizeof(first));
	ct_wipe(first, sizeof(first));
	return r;
}

void cookie_secrets_done(struct cookie_secrets *s)
{
	ct_wipe(s, sizeof(*s));
}

static bool secret_expired(uint64_t birth_ns, uint64_t now_ns)
{
	return now_ns - birth_ns >= LL_COOKIE_SECRET_MAX_AGE * LL_NS_PER_S;
}

int cookie_secrets_tick(struct cookie_secrets *s, uint64_t now_ns, const struct rng *rng)
{
	uint64_t fresh[SECRET_WORDS];
	uint32_t seq;
	int r;

	if (!secret_expired(__atomic_load_n(&s->birth_ns, __ATOMIC_RELAXED), now_ns))
		return 0;
	r = rng_fill(rng, (uint8_t *)fresh, sizeof(fresh)); /* outside the sequence */
	if (r < 0)
		goto out;
	/* become the writer: seq even -> odd; if another thread is, it rotates */
	seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	if ((seq & 1) || !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
						      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		goto out;
	if (!secret_expired(__atomic_load_n(&s->birth_ns, __ATOMIC_RELAXED), now_ns)) {
		/* another thread rotated since we looked: nothing changed */
		__atomic_store_n(&s->seq, seq, __ATOMIC_RELEASE);
		goto out;
	}
	/* a reader that sees any store below sees the odd seq after it */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int i = 0; i < SECRET_WORDS; i++) {
		uint64_t cur = __atomic_load_n(&s->words[i], __ATOMIC_RELAXED);
		__atomic_store_n(&s->words[SECRET_WORDS + i], cur, __ATOMIC_RELAXED);
		__atomic_store_n(&s->words[i], fresh[i], __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->has_prev, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->birth_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
out:
	ct_wipe(fresh, sizeof(fresh));
	return r;
}

/* A consistent copy of the current and (if any) previous secret: ret[0..32)
 * and ret[32..64). The caller wipes it. */
static bool secrets_read(const struct cookie_secrets *s, uint8_t ret[static 64])
{
	uint64_t w[2 * SECRET_WORDS];
	uint32_t seq, again, has_prev;

	do {
		seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		for (int i = 0; i < 2 * SECRET_WORDS; i++)
			w[i] = __atomic_load_n(&s->words[i], __ATOMIC_RELAXED);
		has_prev = __atomic_load_n(&s->has_prev, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		again = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	} while ((seq & 1) || seq != again);
	memcpy(ret, w, sizeof(w));
	ct_wipe(w, sizeof(w));
	return has_prev != 0;
}

/* ---- the checker ---- */

static int checker_keys(struct cookie_checker *c, const uint8_t own_pub[static 32])
{
	if (labelled_key(c->mac1_key, label_mac1, own_pub) < 0 ||
	    labelled_key(c->cookie_key, label_cookie, own_pub) < 0)
		return -EIO;
	return 0;
}

int cookie_checker_init(struct cookie_checker *c, const uint8_t own_pub[static 32], uint64_t now_ns,
			const struct rng *rng)
{
	memset(c, 0, sizeof(*c));
	if (checker_keys(c, own_pub) < 0)
		return -EIO;
	return cookie_secrets_init(&c->own, now_ns, rng);
}

int cookie_checker_init_shared(struct cookie_checker *c, const uint8_t own_pub[static 32],
			       struct cookie_secrets *shared)
{
	memset(c, 0, sizeof(*c));
	c->shared = shared;
	return checker_keys(c, own_pub);
}

static struct cookie_secrets *secrets_of(struct cookie_checker *c)
{
	return c->shared ? c->shared : &c->own;
}

static const struct cookie_secrets *secrets_of_const(const struct cookie_checker *c)
{
	return c->shared ? c->shared : &c->own;
}

int cookie_checker_tick(struct cookie_checker *c, uint64_t now_ns, const struct rng *rng)
{
	return cookie_secrets_tick(secrets_of(c), now_ns, rng);
}

void cookie_checker_done(struct cookie_checker *c)
{
	ct_wipe(c, sizeof(*c));
}

static bool mac2_matches(const uint8_t secret[static 32], const uint8_t *msg, size_t len,
			 const uint8_t *src, size_t src_len)
{
	uint8_t cookie[MSG_COOKIE_LEN], mac[MSG_MAC_LEN];
	bool ok = make_cookie(cookie, secret, src, src_len) == 0 &&
		  mac16(mac, cookie, sizeof(cookie), msg, len - MSG_MAC_LEN) == 0 &&
		  ct_memeq(mac, msg + len - MSG_MAC_LEN, MSG_MAC_LEN);
	ct_wipe(cookie, sizeof(cookie));
	return ok;
}

enum cookie_mac_state cookie_validate(const struct cookie_checker *c, const uint8_t *msg,
				      size_t len, const uint8_t *src, size_t src_len)
{
	uint8_t mac[MSG_MAC_LEN], secrets[64];
	bool has_prev, ok;

	if (len < MSG_HEADER_LEN + 2 * MSG_MAC_LEN || cookie_mac1(mac, c->mac1_key, msg, len) < 0 ||
	    !ct_memeq(mac, msg + len - 2 * MSG_MAC_LEN, MSG_MAC_LEN))
		return COOKIE_MAC_INVALID;
	if (ct_is_zero(msg + len - MSG_MAC_LEN, MSG_MAC_LEN))
		return COOKIE_MAC1_ONLY;
	has_prev = secrets_read(secrets_of_const(c), secrets);
	ok = mac2_matches(secrets, msg, len, src, src_len) ||
	     (has_prev && mac2_matches(secrets + 32, msg, len, src, src_len));
	ct_wipe(secrets, sizeof(secrets));
	return ok ? COOKIE_MAC2_OK : COOKIE_MAC2_BAD;
}

/* Cookie reply: header, receiver index, random 12-byte nonce, then the cookie
 * sealed with ChaCha20-Poly1305 under cookie_key with the triggering
 * message's mac1 as associated data (so only its sender can use the reply). */
int cookie_reply_create(const struct cookie_checker *c, uint8_t ret_reply[static COOKIE_REPLY_LEN],
			const uint8_t *msg, size_t len, uint32_t receiver_index, const uint8_t *src,
			size_t src_len, const struct rng *rng)
{
	struct aead aead = {0};
	uint8_t *nonce = ret_reply + COOKIE_OFF_NONCE, *sealed = ret_reply + COOKIE_OFF_COOKIE;
	uint8_t secrets[64];
	int r = -EINVAL;
	if (len < MSG_HEADER_LEN + 2 * MSG_MAC_LEN)
		return r;
	(void)secrets_read(secrets_of_const(c), secrets);
	memset(ret_reply, 0, COOKIE_REPLY_LEN);
	ret_reply[0] = MSG_COOKIE_REPLY;
	le32_store(ret_reply + COOKIE_OFF_RECEIVER, receiver_index);
	r = rng_fill(rng, nonce, AEAD_NONCE_LEN);
	if (r < 0)
		goto out;
	r = make_cookie(sealed, secrets, src, src_len);
	if (r < 0)
		goto out;
	r = aead_init(&aead, AEAD_CHACHA20_POLY1305, c->cookie_key);
	if (r < 0)
		goto out;
	r = aead_seal(&aead, nonce, msg + len - 2 * MSG_MAC_LEN, MSG_MAC_LEN, sealed,
		      MSG_COOKIE_LEN, sealed + MSG_COOKIE_LEN);
out:
	aead_done(&aead);
	ct_wipe(secrets, sizeof(secrets));
	return r;
}

int cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[static 32])
{
	memset(m, 0, sizeof(*m));
	if (labelled_key(m->mac1_key, label_mac1, peer_pub) < 0 ||
	    labelled_key(m->cookie_key, label_cookie, peer_pub) < 0)
		return -EIO;
	return 0;
}

void cookie_maker_done(struct cookie_maker *m)
{
	ct_wipe(m, sizeof(*m));
}

static bool cookie_is_fresh(const struct cookie_maker *m, uint64_t now_ns)
{
	return m->has_cookie &&
	       now_ns - m->cookie_birth_ns < LL_COOKIE_CLIENT_MAX_AGE * LL_NS_PER_S;
}

int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t *mac1 = msg + len - 2 * MSG_MAC_LEN, *mac2 = msg + len - MSG_MAC_LEN;
	if (len < MSG_HEADER_LEN + 2 * MSG_MAC_LEN)
		return -EINVAL;
	int r = cookie_mac1(mac1, m->mac1_key, msg, len);
	if (r < 0)
		return r;
	memcpy(m->last_mac1, mac1, MSG_MAC_LEN);
	m->has_last_mac1 = true;
	memset(mac2, 0, MSG_MAC_LEN);
	if (!cookie_is_fresh(m, now_ns))
		return 0;
	return mac16(mac2, m->cookie, sizeof(m->cookie), msg, len - MSG_MAC_LEN);
}

int cookie_maker_consume(struct cookie_maker *m, const uint8_t *reply, size_t len, uint64_t now_ns)
{
	uint8_t cookie[MSG_COOKIE_LEN + AEAD_TAG_LEN];
	struct aead aead = {0};
	int r = -EINVAL;
	if (len != COOKIE_REPLY_LEN || reply[0] != MSG_COOKIE_REPLY || reply[1] || reply[2] ||
	    reply[3] || !m->has_last_mac1)
		goto out;
	memcpy(cookie, reply + COOKIE_OFF_COOKIE, sizeof(cookie));
	r = aead_init(&aead, AEAD_CHACHA20_POLY1305, m->cookie_key);
	if (r < 0)
		goto out;
	r = aead_open(&aead, reply + COOKIE_OFF_NONCE, m->last_mac1, MSG_MAC_LEN, cookie,
		      MSG_COOKIE_LEN, cookie + MSG_COOKIE_LEN);
	if (r < 0)
		goto out;
	memcpy(m->cookie, cookie, MSG_COOKIE_LEN);
	m->has_cookie = true;
	m->cookie_birth_ns = now_ns;
	m->has_last_mac1 = false; /* one reply per message sent */
out:
	aead_done(&aead);
	ct_wipe(cookie, sizeof(cookie));
	return r;
}
