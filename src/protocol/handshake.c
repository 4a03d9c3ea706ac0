/* Handshake state machines (handshake.h). Each message is a straight
 * sequence of Noise tokens, labelled as in docs/protocol.md so a reviewer can
 * tick them off. Every function works on a local copy of the symmetric state
 * and commits it only on success, so a rejected message changes nothing.
 * Every stack buffer that held key material is wiped at the single out:
 * label of its function. */
#include "protocol/handshake.h"

#include <errno.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/endian.h"

static const char construction[] = "LostLove_v1_IKpsk2_25519_MLKEM768_ChaChaPoly_SHA256";
static const char identifier[] = "lostlove v1";

/* Noise SymmetricState plus a cipher context reused for every key of one
 * message (keyed in place: a handshake allocates one context per message). */
struct noise {
	uint8_t ck[32], h[32], k[32];
	uint64_t n;
	struct aead aead;
};

static int noise_begin(struct noise *s, const uint8_t ck[static 32], const uint8_t h[static 32])
{
	memcpy(s->ck, ck, 32);
	memcpy(s->h, h, 32);
	memset(s->k, 0, 32);
	s->n = 0;
	return aead_init(&s->aead, AEAD_CHACHA20_POLY1305, s->k);
}

static void noise_end(struct noise *s)
{
	aead_done(&s->aead);
	ct_wipe(s, sizeof(*s));
}

static int mix_hash(struct noise *s, const void *data, size_t len)
{
	struct iov_c parts[] = {{s->h, 32}, {data, len}};
	return sha256_v(s->h, parts, 2);
}

/* HKDF(ck, ikm) with n outputs of 32 bytes: Noise's HKDF is RFC 5869 with
 * salt = ck and empty info, so one hkdf_sha256 call gives all outputs. */
static int kdf(uint8_t *ret, size_t n, const uint8_t ck[static 32], const uint8_t *ikm,
	       size_t ikm_len)
{
	return hkdf_sha256(ret, 32 * n, ck, 32, ikm, ikm_len, NULL, 0);
}

static int set_key(struct noise *s, const uint8_t k[static 32])
{
	memcpy(s->k, k, 32);
	s->n = 0;
	return aead_rekey(&s->aead, s->k);
}

/* MixKey: (ck, k) = HKDF(ck, ikm, 2) */
static int mix_key(struct noise *s, const uint8_t *ikm, size_t len)
{
	uint8_t out[64];
	int r = kdf(out, 2, s->ck, ikm, len);
	if (r == 0) {
		memcpy(s->ck, out, 32);
		r = set_key(s, out + 32);
	}
	ct_wipe(out, sizeof(out));
	return r;
}

/* MixKeyAndHash: (ck, temp, k) = HKDF(ck, ikm, 3); MixHash(temp) */
static int mix_key_and_hash(struct noise *s, const uint8_t *ikm, size_t len)
{
	uint8_t out[96];
	int r = kdf(out, 3, s->ck, ikm, len);
	if (r == 0) {
		memcpy(s->ck, out, 32);
		r = mix_hash(s, out + 32, 32);
	}
	if (r == 0)
		r = set_key(s, out + 64);
	ct_wipe(out, sizeof(out));
	return r;
}

static int mix_dh(struct noise *s, const uint8_t priv[static 32], const uint8_t pub[static 32])
{
	uint8_t dh[X25519_KEY_LEN];
	int r = x25519_shared(dh, priv, pub);
	if (r == 0)
		r = mix_key(s, dh, sizeof(dh));
	ct_wipe(dh, sizeof(dh));
	return r;
}

/* EncryptAndHash in place: buf[0..len) -> ciphertext || tag (len + 16). */
static int encrypt_and_hash(struct noise *s, uint8_t *buf, size_t len)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	aead_nonce_from_counter(nonce, s->n++);
	int r = aead_seal(&s->aead, nonce, s->h, 32, buf, len, buf + len);
	return r ? r : mix_hash(s, buf, len + AEAD_TAG_LEN);
}

/* DecryptAndHash: in[0..len + 16) -> ret_plain[0..len). in is not modified. */
static int decrypt_and_hash(struct noise *s, uint8_t *ret_plain, const uint8_t *in, size_t len)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	aead_nonce_from_counter(nonce, s->n++);
	memcpy(ret_plain, in, len);
	int r = aead_open(&s->aead, nonce, s->h, 32, ret_plain, len, in + len);
	return r ? r : mix_hash(s, in, len + AEAD_TAG_LEN);
}

/* Noise Split(): (T_i2r, T_r2i) = HKDF(ck, empty, 2). */
static int split(struct transport_keys *k, const struct noise *s, bool initiator)
{
	uint8_t out[64];
	int r = kdf(out, 2, s->ck, NULL, 0);
	memcpy(k->send_secret, out + (initiator ? 0 : 32), 32);
	memcpy(k->recv_secret, out + (initiator ? 32 : 0), 32);
	k->initiator = initiator;
	ct_wipe(out, sizeof(out));
	return r;
}

/* ck = HASH(construction); h = HASH(ck || identifier); h = HASH(h || s_r) */
static int base_state(uint8_t ret_ck[static 32], uint8_t ret_h[static 32],
		      const uint8_t responder_pub[static 32])
{
	struct iov_c id[] = {{NULL, 0}, {identifier, sizeof(identifier) - 1}};
	struct iov_c rs[] = {{NULL, 0}, {responder_pub, 32}};
	if (sha256(ret_ck, construction, sizeof(construction) - 1) < 0)
		return -EIO;
	id[0] = (struct iov_c){ret_ck, 32};
	if (sha256_v(ret_h, id, 2) < 0)
		return -EIO;
	rs[0] = (struct iov_c){ret_h, 32};
	return sha256_v(ret_h, rs, 2);
}

static bool header_ok(const uint8_t *msg, uint8_t type)
{
	return msg[0] == type && (msg[1] & ~MSG_FLAG_KEM) == 0 && msg[2] == 0 && msg[3] == 0;
}

static void put_header(uint8_t *out, uint8_t type, bool kem)
{
	out[0] = type;
	out[1] = kem ? MSG_FLAG_KEM : 0;
	out[2] = out[3] = 0;
}

size_t handshake_init_len(bool kem)
{
	return kem ? INIT_LEN_KEM : INIT_LEN_CLASSIC;
}

size_t handshake_response_len(bool kem, size_t params_len)
{
	return RESP_OFF_CT + (kem ? MSG_ENC_CT_LEN : 0) + params_len + AEAD_TAG_LEN +
	       2 * MSG_MAC_LEN;
}

/* Whether the response to p carries an ML-KEM ciphertext. */
static bool response_has_kem(const struct handshake_responder *r, const struct handshake_pending *p)
{
	return p->kem && r->kem != KEM_OFF;
}

size_t handshake_params_budget(const struct handshake_responder *r,
			       const struct handshake_pending *p)
{
	size_t in = handshake_init_len(p->kem),
	       fixed = handshake_response_len(response_has_kem(r, p), 0);
	size_t room = in > fixed ? in - fixed : 0;

	return room < MSG_PARAMS_MAX ? room : MSG_PARAMS_MAX;
}

const char *handshake_result_name(enum handshake_result r)
{
	static const char *const names[] = {
	    [HS_OK] = "ok",
	    [HS_E_MALFORMED] = "malformed",
	    [HS_E_UNEXPECTED] = "unexpected",
	    [HS_E_MAC] = "bad-mac",
	    [HS_E_DECRYPT] = "decrypt-failed",
	    [HS_E_UNKNOWN_PEER] = "unknown-peer",
	    [HS_E_TIMESTAMP] = "timestamp-out-of-window",
	    [HS_E_REPLAY] = "replayed-timestamp",
	    [HS_E_KEM_REQUIRED] = "kem-required",
	    [HS_E_KEM_KEY] = "bad-kem-key",
	    [HS_E_PARAMS] = "bad-params",
	    [HS_E_LOW_ORDER] = "low-order-key",
	    [HS_E_INTERNAL] = "internal-error",
	};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

int handshake_peer_init(struct handshake_peer *p, const uint8_t own_priv[static X25519_KEY_LEN],
			const uint8_t peer_pub[static X25519_KEY_LEN],
			const uint8_t psk[static HANDSHAKE_PSK_LEN])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, peer_pub, X25519_KEY_LEN);
	memcpy(p->psk, psk, HANDSHAKE_PSK_LEN);
	int r = x25519_shared(p->ss, own_priv, peer_pub);
	if (r < 0)
		ct_wipe(p, sizeof(*p));
	return r;
}

void handshake_peer_done(struct handshake_peer *p)
{
	ct_wipe(p, sizeof(*p));
}

/* ---- initiator ---- */

int handshake_initiator_init(struct handshake_initiator *hs,
			     const uint8_t static_priv[static X25519_KEY_LEN],
			     const uint8_t server_pub[static X25519_KEY_LEN],
			     const uint8_t psk[static HANDSHAKE_PSK_LEN], enum kem_policy kem)
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->static_priv, static_priv, X25519_KEY_LEN);
	hs->kem = kem;
	int r = x25519_public(hs->static_pub, static_priv);
	if (r == 0)
		r = handshake_peer_init(&hs->server, static_priv, server_pub, psk);
	if (r == 0)
		r = cookie_maker_init(&hs->cookie, server_pub);
	if (r == 0)
		r = cookie_mac1_key(hs->own_mac1_key, hs->static_pub);
	if (r == 0)
		r = base_state(hs->base_ck, hs->base_h, server_pub);
	if (r < 0)
		handshake_initiator_done(hs);
	return r;
}

void handshake_initiator_done(struct handshake_initiator *hs)
{
	ct_wipe(hs, sizeof(*hs));
}

static void forget_in_flight(struct handshake_initiator *hs)
{
	hs->pending = false;
	ct_wipe(hs->e_priv, sizeof(hs->e_priv));
	ct_wipe(hs->kem_dk, sizeof(hs->kem_dk));
	ct_wipe(hs->ck, sizeof(hs->ck));
	ct_wipe(hs->h, sizeof(hs->h));
}

/* -> e, es, s, ss, ekem_pk, {timestamp} */
static int write_init(struct handshake_initiator *hs, struct noise *s, uint8_t *out,
		      uint64_t unix_ns, const struct rng *rng)
{
	uint8_t *p = out + INIT_OFF_EK;
	int r = mix_hash(s, out, MSG_HEADER_LEN);
	/* e */
	r = r ? r : x25519_keygen(hs->e_priv, hs->e_pub, rng);
	memcpy(out + INIT_OFF_EPHEMERAL, hs->e_pub, 32);
	r = r ? r : mix_hash(s, hs->e_pub, 32);
	r = r ? r : mix_key(s, hs->e_pub, 32);
	/* es */
	r = r ? r : mix_dh(s, hs->e_priv, hs->server.public_key);
	/* s */
	memcpy(out + INIT_OFF_STATIC, hs->static_pub, 32);
	r = r ? r : encrypt_and_hash(s, out + INIT_OFF_STATIC, 32);
	/* ss */
	r = r ? r : mix_key(s, hs->server.ss, 32);
	/* ekem_pk */
	if (hs->kem_offered) {
		r = r ? r : mlkem768_keygen(p, hs->kem_dk, rng);
		r = r ? r : encrypt_and_hash(s, p, MLKEM768_EK_LEN);
		p += MSG_ENC_EK_LEN;
	}
	/* {timestamp} */
	tai64n_encode(p, unix_ns);
	return r ? r : encrypt_and_hash(s, p, TAI64N_LEN);
}

enum handshake_result handshake_create_init(struct handshake_initiator *hs, uint32_t local_index,
					    uint64_t unix_ns, uint64_t mono_ns,
					    const struct rng *rng, uint8_t *out, size_t cap,
					    size_t *ret_len)
{
	struct noise s = {0};
	bool kem = hs->kem != KEM_OFF;
	size_t len = handshake_init_len(kem);
	enum handshake_result res = HS_E_INTERNAL;
	forget_in_flight(hs);
	if (cap < len || noise_begin(&s, hs->base_ck, hs->base_h) < 0)
		goto out;
	hs->kem_offered = kem;
	hs->local_index = local_index;
	put_header(out, MSG_HANDSHAKE_INIT, kem);
	le32_store(out + INIT_OFF_SENDER, local_index);
	if (write_init(hs, &s, out, unix_ns, rng) < 0 ||
	    cookie_add_macs(&hs->cookie, out, len, mono_ns) < 0) {
		forget_in_flight(hs);
		goto out;
	}
	memcpy(hs->ck, s.ck, 32);
	memcpy(hs->h, s.h, 32);
	hs->pending = true;
	hs->sent_ns = mono_ns;
	*ret_len = len;
	res = HS_OK;
out:
	noise_end(&s);
	return res;
}

static enum handshake_result check_response_shape(const struct handshake_initiator *hs,
						  const uint8_t *msg, size_t len, bool *ret_kem)
{
	if (len < RESP_LEN_MIN || len > RESP_LEN_MAX || !header_ok(msg, MSG_HANDSHAKE_RESP))
		return HS_E_MALFORMED;
	*ret_kem = msg[1] & MSG_FLAG_KEM;
	if (*ret_kem && !hs->kem_offered)
		return HS_E_MALFORMED;
	size_t fixed = handshake_response_len(*ret_kem, 0);
	if (len <= fixed || len - fixed > MSG_PARAMS_MAX)
		return HS_E_MALFORMED;
	if (!hs->pending || le32_load(msg + RESP_OFF_RECEIVER) != hs->local_index)
		return HS_E_UNEXPECTED;
	uint8_t mac[MSG_MAC_LEN];
	if (cookie_mac1(mac, hs->own_mac1_key, msg, len) < 0 ||
	    !ct_memeq(mac, msg + len - 2 * MSG_MAC_LEN, MSG_MAC_LEN) ||
	    !ct_is_zero(msg + len - MSG_MAC_LEN, MSG_MAC_LEN))
		return HS_E_MAC;
	if (!*ret_kem && hs->kem_offered && hs->kem == KEM_REQUIRED)
		return HS_E_KEM_REQUIRED;
	return HS_OK;
}

struct response_secrets {
	uint8_t ct[MLKEM768_CT_LEN];
	uint8_t kem_ss[MLKEM768_SS_LEN];
	uint8_t params[MSG_PARAMS_MAX];
};

/* <- e, ee, se, ekem_ct, kem, psk, {params} (initiator side) */
static enum handshake_result read_response(struct handshake_initiator *hs, struct noise *s,
					   const uint8_t *msg, size_t len, bool kem,
					   struct response_secrets *t, size_t *ret_params_len)
{
	const uint8_t *e_r = msg + RESP_OFF_EPHEMERAL, *p = msg + RESP_OFF_CT;
	size_t params_len = len - handshake_response_len(kem, 0);
	int r = mix_hash(s, msg, MSG_HEADER_LEN);
	/* e */
	r = r ? r : mix_hash(s, e_r, 32);
	r = r ? r : mix_key(s, e_r, 32);
	/* ee */
	r = r ? r : mix_dh(s, hs->e_priv, e_r);
	/* se */
	r = r ? r : mix_dh(s, hs->static_priv, e_r);
	if (r == -EINVAL)
		return HS_E_LOW_ORDER; /* low-order ephemeral: all-zero DH */
	if (r < 0)
		return HS_E_INTERNAL;
	if (kem) {
		/* ekem_ct */
		if (decrypt_and_hash(s, t->ct, p, MLKEM768_CT_LEN) < 0)
			return HS_E_DECRYPT;
		p += MSG_ENC_CT_LEN;
		/* kem */
		mlkem768_decaps(t->kem_ss, t->ct, hs->kem_dk);
		if (mix_key_and_hash(s, t->kem_ss, sizeof(t->kem_ss)) < 0)
			return HS_E_INTERNAL;
	}
	/* psk */
	if (mix_key_and_hash(s, hs->server.psk, HANDSHAKE_PSK_LEN) < 0)
		return HS_E_INTERNAL;
	/* {params} */
	if (decrypt_and_hash(s, t->params, p, params_len) < 0)
		return HS_E_DECRYPT;
	*ret_params_len = params_len;
	return HS_OK;
}

enum handshake_result handshake_consume_response(struct handshake_initiator *hs, const uint8_t *msg,
						 size_t len, struct transport_keys *ret_keys,
						 struct session_params *ret_params)
{
	struct noise s = {0};
	struct response_secrets t;
	struct session_params params;
	size_t params_len = 0;
	bool kem = false;
	enum handshake_result res = check_response_shape(hs, msg, len, &kem);
	if (res != HS_OK)
		return res;
	res = HS_E_INTERNAL;
	if (noise_begin(&s, hs->ck, hs->h) < 0)
		goto out;
	res = read_response(hs, &s, msg, len, kem, &t, &params_len);
	if (res != HS_OK)
		goto out;
	res = HS_E_PARAMS;
	if (params_decode(&params, t.params, params_len) < 0)
		goto out;
	res = HS_E_INTERNAL;
	if (split(ret_keys, &s, true) < 0)
		goto out;
	ret_keys->mode = params.mode;
	ret_keys->local_index = hs->local_index;
	ret_keys->remote_index = le32_load(msg + RESP_OFF_SENDER);
	*ret_params = params;
	forget_in_flight(hs);
	res = HS_OK;
out:
	noise_end(&s);
	ct_wipe(&t, sizeof(t));
	return res;
}

enum handshake_result handshake_consume_cookie(struct handshake_initiator *hs, const uint8_t *msg,
					       size_t len, uint64_t mono_ns)
{
	if (len != COOKIE_REPLY_LEN || !header_ok(msg, MSG_COOKIE_REPLY) || msg[1])
		return HS_E_MALFORMED;
	if (!hs->pending || le32_load(msg + COOKIE_OFF_RECEIVER) != hs->local_index)
		return HS_E_UNEXPECTED;
	return cookie_maker_consume(&hs->cookie, msg, len, mono_ns) == 0 ? HS_OK : HS_E_DECRYPT;
}

/* ---- responder ---- */

int handshake_responder_init(struct handshake_responder *r,
			     const uint8_t static_priv[static X25519_KEY_LEN], enum kem_policy kem,
			     handshake_lookup_fn lookup, void *lookup_ctx)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->static_priv, static_priv, X25519_KEY_LEN);
	r->kem = kem;
	r->timestamp_window_ns = LL_TIMESTAMP_WINDOW * LL_NS_PER_S;
	r->lookup = lookup;
	r->lookup_ctx = lookup_ctx;
	int err = x25519_public(r->static_pub, static_priv);
	if (err == 0)
		err = base_state(r->base_ck, r->base_h, r->static_pub);
	if (err < 0)
		handshake_responder_done(r);
	return err;
}

void handshake_responder_done(struct handshake_responder *r)
{
	ct_wipe(r, sizeof(*r));
}

void handshake_pending_clear(struct handshake_pending *p)
{
	ct_wipe(p, sizeof(*p));
}

static enum handshake_result check_timestamp(const struct handshake_responder *r,
					     const struct handshake_peer *peer,
					     const uint8_t ts[static TAI64N_LEN], uint64_t unix_ns)
{
	uint64_t t;
	/* the window first: a far-future timestamp must never be stored, or it
	 * would lock its user out (the flaw behind CVE-2021-46873) */
	if (tai64n_decode(ts, &t) < 0)
		return HS_E_TIMESTAMP;
	uint64_t skew = t > unix_ns ? t - unix_ns : unix_ns - t;
	if (skew > r->timestamp_window_ns)
		return HS_E_TIMESTAMP;
	if (!tai64n_is_after(ts, peer->last_timestamp))
		return HS_E_REPLAY;
	return HS_OK;
}

/* -> e, es, s, ss, ekem_pk, {timestamp} (responder side) */
static enum handshake_result read_init(const struct handshake_responder *r, struct noise *s,
				       const uint8_t *msg, struct handshake_pending *ret)
{
	const uint8_t *e_i = msg + INIT_OFF_EPHEMERAL, *p = msg + INIT_OFF_EK;
	uint8_t spub[X25519_KEY_LEN];
	int err = mix_hash(s, msg, MSG_HEADER_LEN);
	/* e */
	err = err ? err : mix_hash(s, e_i, 32);
	err = err ? err : mix_key(s, e_i, 32);
	/* es */
	err = err ? err : mix_dh(s, r->static_priv, e_i);
	if (err == -EINVAL)
		return HS_E_LOW_ORDER; /* low-order ephemeral: all-zero DH */
	if (err < 0)
		return HS_E_INTERNAL;
	/* s */
	if (decrypt_and_hash(s, spub, msg + INIT_OFF_STATIC, 32) < 0)
		return HS_E_DECRYPT;
	ret->peer = r->lookup(r->lookup_ctx, spub);
	if (!ret->peer)
		return HS_E_UNKNOWN_PEER;
	/* ss */
	if (mix_key(s, ret->peer->ss, 32) < 0)
		return HS_E_INTERNAL;
	/* ekem_pk */
	if (ret->kem) {
		if (decrypt_and_hash(s, ret->ek, p, MLKEM768_EK_LEN) < 0)
			return HS_E_DECRYPT;
		if (!mlkem768_ek_is_valid(ret->ek, MLKEM768_EK_LEN))
			return HS_E_KEM_KEY;
		p += MSG_ENC_EK_LEN;
	}
	/* {timestamp} */
	if (decrypt_and_hash(s, ret->timestamp, p, TAI64N_LEN) < 0)
		return HS_E_DECRYPT;
	return HS_OK;
}

enum handshake_result handshake_consume_init(const struct handshake_responder *r,
					     const uint8_t *msg, size_t len, uint64_t unix_ns,
					     struct handshake_pending *ret)
{
	struct noise s = {0};
	memset(ret, 0, sizeof(*ret));
	if (len < INIT_LEN_CLASSIC || !header_ok(msg, MSG_HANDSHAKE_INIT))
		return HS_E_MALFORMED;
	ret->kem = msg[1] & MSG_FLAG_KEM;
	if (len != handshake_init_len(ret->kem))
		return HS_E_MALFORMED;
	if (!ret->kem && r->kem == KEM_REQUIRED)
		return HS_E_KEM_REQUIRED;
	enum handshake_result res = HS_E_INTERNAL;
	if (noise_begin(&s, r->base_ck, r->base_h) < 0)
		goto out;
	res = read_init(r, &s, msg, ret);
	if (res == HS_OK)
		res = check_timestamp(r, ret->peer, ret->timestamp, unix_ns);
	if (res != HS_OK)
		goto out;
	memcpy(ret->peer->last_timestamp, ret->timestamp, TAI64N_LEN);
	ret->remote_index = le32_load(msg + INIT_OFF_SENDER);
	memcpy(ret->e_remote, msg + INIT_OFF_EPHEMERAL, 32);
	memcpy(ret->ck, s.ck, 32);
	memcpy(ret->h, s.h, 32);
out:
	if (res != HS_OK)
		handshake_pending_clear(ret);
	noise_end(&s);
	return res;
}

/* <- e, ee, se, ekem_ct, kem, psk, {params} (responder side) */
static int write_response(const struct handshake_pending *p, struct noise *s, uint8_t *out,
			  bool kem, const uint8_t *params, size_t params_len, const struct rng *rng)
{
	uint8_t e_priv[X25519_KEY_LEN], kem_ss[MLKEM768_SS_LEN];
	uint8_t *e_pub = out + RESP_OFF_EPHEMERAL, *q = out + RESP_OFF_CT;
	int r = mix_hash(s, out, MSG_HEADER_LEN);
	/* e */
	r = r ? r : x25519_keygen(e_priv, e_pub, rng);
	r = r ? r : mix_hash(s, e_pub, 32);
	r = r ? r : mix_key(s, e_pub, 32);
	/* ee */
	r = r ? r : mix_dh(s, e_priv, p->e_remote);
	/* se */
	r = r ? r : mix_dh(s, e_priv, p->peer->public_key);
	if (kem) {
		/* ekem_ct */
		r = r ? r : mlkem768_encaps(q, kem_ss, p->ek, rng);
		r = r ? r : encrypt_and_hash(s, q, MLKEM768_CT_LEN);
		q += MSG_ENC_CT_LEN;
		/* kem */
		r = r ? r : mix_key_and_hash(s, kem_ss, sizeof(kem_ss));
	}
	/* psk */
	r = r ? r : mix_key_and_hash(s, p->peer->psk, HANDSHAKE_PSK_LEN);
	/* {params} */
	memcpy(q, params, params_len);
	r = r ? r : encrypt_and_hash(s, q, params_len);
	ct_wipe(e_priv, sizeof(e_priv));
	ct_wipe(kem_ss, sizeof(kem_ss));
	return r;
}

static int add_response_macs(uint8_t *out, size_t len, const uint8_t client_pub[static 32])
{
	uint8_t key[32];
	int r = cookie_mac1_key(key, client_pub);
	if (r == 0)
		r = cookie_mac1(out + len - 2 * MSG_MAC_LEN, key, out, len);
	memset(out + len - MSG_MAC_LEN, 0, MSG_MAC_LEN);
	return r;
}

enum handshake_result handshake_create_response(const struct handshake_responder *r,
						struct handshake_pending *p,
						const struct session_params *params,
						uint32_t local_index, const struct rng *rng,
						uint8_t *out, size_t cap, size_t *ret_len,
						struct transport_keys *ret_keys)
{
	struct noise s = {0};
	uint8_t plain[MSG_PARAMS_MAX];
	size_t params_len = 0;
	bool kem = response_has_kem(r, p);
	enum handshake_result res = HS_E_PARAMS;
	if (params_encode(params, plain, sizeof(plain), &params_len) < 0 ||
	    params_len > handshake_params_budget(r, p))
		goto out;
	size_t len = handshake_response_len(kem, params_len);
	res = HS_E_INTERNAL;
	if (cap < len || noise_begin(&s, p->ck, p->h) < 0)
		goto out;
	put_header(out, MSG_HANDSHAKE_RESP, kem);
	le32_store(out + RESP_OFF_SENDER, local_index);
	le32_store(out + RESP_OFF_RECEIVER, p->remote_index);
	if (write_response(p, &s, out, kem, plain, params_len, rng) < 0 ||
	    add_response_macs(out, len, p->peer->public_key) < 0 || split(ret_keys, &s, false) < 0)
		goto out;
	ret_keys->mode = params->mode;
	ret_keys->local_index = local_index;
	ret_keys->remote_index = p->remote_index;
	*ret_len = len;
	res = HS_OK;
out:
	noise_end(&s);
	ct_wipe(plain, sizeof(plain));
	handshake_pending_clear(p);
	return res;
}
