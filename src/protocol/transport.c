/* Transport data packets: seal, open, symmetric key updates, key limits.
 *
 * The model is in transport.h; what must hold here:
 *
 * - A nonce is never reused. The send counter only grows, is consumed before
 *   the cipher runs (a failed seal burns its counter rather than handing it
 *   to the next packet), and stops at reject_after_messages, which is at most
 *   LL_REJECT_AFTER_MESSAGES, so it can neither wrap nor reach UINT64_MAX. The
 *   counter is not reset by a key update, so the pair (secret_n, counter) is
 *   unique even across phases.
 * - open authenticates before it records anything (RFC 6479 §3: a forged
 *   counter must not move the window). The window is consulted beforehand
 *   without recording, so an obvious replay costs no AEAD pass, and since
 *   nothing changes in between, recording after authentication cannot fail.
 * - open changes nothing on failure. The one exception is a crypto library
 *   failure (TRANSPORT_E_INTERNAL) while re-keying during a key update,
 *   after which the previous key may have been dropped early.
 * - The receiver's three ciphers hold secret_{n-1} (prev), secret_n (cur) and
 *   secret_{n+1} (next). The sender's counter is monotonic, so every packet
 *   of secret_{n-1} has a counter below every packet of secret_n, and every
 *   packet of secret_{n+1} one above: a packet whose phase is not cur's is
 *   told apart by comparing its counter with any counter seen under cur
 *   (cur_first). Like QUIC (RFC 9001 §6), this assumes the sender does not
 *   update twice before the receiver has seen a packet of the middle key; at
 *   the default limits (2^24 packets or gigabytes per key) losing all of
 *   them means the path is dead anyway, and the rekey timers replace the
 *   session.
 * - The key update only re-keys cipher objects made in transport_init, so
 *   seal and open allocate nothing.
 */
#include "protocol/transport.h"

#include <errno.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/endian.h"

static const char update_label[] = "lostlove key update";

void transport_limits_default(struct transport_limits *l)
{
	l->key_update_bytes = 0;
	l->rekey_after_messages = LL_REKEY_AFTER_MESSAGES;
	l->reject_after_messages = LL_REJECT_AFTER_MESSAGES;
	l->rekey_after_ns = LL_REKEY_AFTER_TIME * LL_NS_PER_S;
	l->reject_after_ns = (LL_REKEY_AFTER_TIME + LL_REJECT_AFTER_TIME_EXTRA) * LL_NS_PER_S;
	l->old_key_keep_ns = LL_OLD_KEY_KEEP_TIME * LL_NS_PER_S;
}

/* secret_{n+1} = HKDF-Expand(secret_n, "lostlove key update", 32) */
static int next_secret(uint8_t ret[static CIPHER_SECRET_LEN],
		       const uint8_t secret[static CIPHER_SECRET_LEN])
{
	return hkdf_sha256_expand(ret, CIPHER_SECRET_LEN, secret, (const uint8_t *)update_label,
				  sizeof(update_label) - 1);
}

/* AES-GCM's confidentiality bound degrades with the number of messages under
 * one key (NIST SP 800-38D §8.3; RFC 9001 §6.6), hence the packet limit. */
static bool uses_aesgcm(enum cipher_mode mode)
{
	return mode == CIPHER_AES256GCM || mode == CIPHER_CASCADE;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t age_of(const struct transport *t, uint64_t now_ns)
{
	return now_ns > t->birth_ns ? now_ns - t->birth_ns : 0;
}

/* ---- setup ---- */

static bool limits_ok(const struct transport_limits *l)
{
	return l->reject_after_messages >= 1 &&
	       l->reject_after_messages <= LL_REJECT_AFTER_MESSAGES && l->reject_after_ns > 0;
}

static int tx_init(struct transport_tx *tx, const struct transport_keys *keys)
{
	memcpy(tx->secret, keys->send_secret, CIPHER_SECRET_LEN);
	return cipher_init(&tx->cipher, keys->mode, keys->send_secret);
}

/* prev is created now, holding no key (a zero secret), so that the first
 * key update only re-keys it. */
static int rx_init(struct transport_rx *rx, const struct transport_keys *keys)
{
	static const uint8_t no_key[CIPHER_SECRET_LEN];
	uint8_t next[CIPHER_SECRET_LEN];
	int r = next_secret(next, keys->recv_secret);

	if (r == 0)
		r = cipher_init(&rx->cur, keys->mode, keys->recv_secret);
	if (r == 0)
		r = cipher_init(&rx->next, keys->mode, next);
	if (r == 0)
		r = cipher_init(&rx->prev, keys->mode, no_key);
	memcpy(rx->cur_secret, keys->recv_secret, CIPHER_SECRET_LEN);
	replay_init(&rx->replay);
	ct_wipe(next, sizeof(next));
	return r;
}

int transport_init(struct transport *t, const struct transport_keys *keys,
		   const struct transport_limits *limits, uint64_t now_ns)
{
	int r;

	memset(t, 0, sizeof(*t));
	if (limits)
		t->limits = *limits;
	else
		transport_limits_default(&t->limits);
	if (cipher_overhead(keys->mode) == 0 || !limits_ok(&t->limits))
		return -EINVAL;
	t->local_index = keys->local_index;
	t->remote_index = keys->remote_index;
	t->initiator = keys->initiator;
	t->birth_ns = now_ns;
	r = tx_init(&t->tx, keys);
	if (r == 0)
		r = rx_init(&t->rx, keys);
	if (r != 0)
		transport_done(t);
	return r;
}

void transport_done(struct transport *t)
{
	if (!t)
		return;
	cipher_done(&t->tx.cipher);
	cipher_done(&t->rx.cur);
	cipher_done(&t->rx.next);
	cipher_done(&t->rx.prev);
	ct_wipe(t, sizeof(*t));
}

/* ---- sending ---- */

/* Plaintext length after padding to a multiple of pad_to, clamped so the
 * packet fits in cap. False if even the unpadded packet does not fit. */
static bool padded_len(size_t cap, size_t overhead, size_t plain_len, size_t pad_to, size_t *ret)
{
	if (cap < TRANSPORT_HEADER_LEN + overhead ||
	    plain_len > cap - TRANSPORT_HEADER_LEN - overhead)
		return false;
	size_t room = cap - TRANSPORT_HEADER_LEN - overhead - plain_len;
	size_t rem = pad_to > 1 ? plain_len % pad_to : 0;
	size_t pad = rem ? pad_to - rem : 0;
	*ret = plain_len + (pad <= room ? pad : room);
	return true;
}

static bool tx_needs_update(const struct transport *t)
{
	const struct transport_tx *tx = &t->tx;
	if (t->limits.key_update_bytes && tx->bytes_in_key >= t->limits.key_update_bytes)
		return true;
	return uses_aesgcm(tx->cipher.mode) && tx->packets_in_key >= LL_AESGCM_UPDATE_MESSAGES;
}

/* Moves the sender to the next secret and phase. On failure nothing but the
 * cipher changed, and the next seal retries the same update before it uses
 * the cipher, so a half-keyed cipher never seals. */
static int tx_update(struct transport_tx *tx)
{
	uint8_t next[CIPHER_SECRET_LEN];
	int r = next_secret(next, tx->secret);

	if (r == 0)
		r = cipher_rekey(&tx->cipher, next);
	if (r == 0) {
		memcpy(tx->secret, next, CIPHER_SECRET_LEN);
		tx->phase ^= MSG_FLAG_KEY_PHASE;
		tx->bytes_in_key = 0;
		tx->packets_in_key = 0;
	}
	ct_wipe(next, sizeof(next));
	return r;
}

static void write_header(uint8_t *pkt, uint8_t phase, uint32_t receiver, uint64_t counter)
{
	pkt[0] = MSG_TRANSPORT;
	pkt[1] = phase;
	pkt[2] = 0;
	pkt[3] = 0;
	le32_store(pkt + TRANSPORT_OFF_RECEIVER, receiver);
	le64_store(pkt + TRANSPORT_OFF_COUNTER, counter);
}

/* TRANSPORT_OK_REKEY is returned to both sides; only the initiator acts on
 * it (as in WireGuard), so the two ends do not start crossing handshakes.
 * The responder relies on the initiator and, failing that, on reject_after. */
static bool wants_rekey(const struct transport *t, uint64_t counter, uint64_t age)
{
	return counter >= t->limits.rekey_after_messages || age >= t->limits.rekey_after_ns;
}

enum transport_result transport_seal(struct transport *t, uint8_t *pkt, size_t cap,
				     size_t plain_len, size_t pad_to, size_t *ret_len,
				     uint64_t now_ns)
{
	struct transport_tx *tx = &t->tx;
	size_t overhead = cipher_overhead(tx->cipher.mode), padded;
	uint64_t age = age_of(t, now_ns), counter;

	if (age >= t->limits.reject_after_ns)
		return TRANSPORT_E_EXPIRED;
	if (tx->counter >= t->limits.reject_after_messages)
		return TRANSPORT_E_EXHAUSTED;
	if (!padded_len(cap, overhead, plain_len, pad_to, &padded))
		return TRANSPORT_E_SPACE;
	if (tx_needs_update(t) && tx_update(tx) != 0)
		return TRANSPORT_E_INTERNAL;
	counter = tx->counter++;
	memset(pkt + TRANSPORT_HEADER_LEN + plain_len, 0, padded - plain_len);
	write_header(pkt, tx->phase, t->remote_index, counter);
	if (cipher_seal(&tx->cipher, counter, pkt, TRANSPORT_HEADER_LEN, pkt + TRANSPORT_HEADER_LEN,
			padded) != 0)
		return TRANSPORT_E_INTERNAL;
	tx->bytes_in_key += padded;
	tx->packets_in_key++;
	*ret_len = TRANSPORT_HEADER_LEN + padded + overhead;
	return wants_rekey(t, counter, age) ? TRANSPORT_OK_REKEY : TRANSPORT_OK;
}

size_t transport_pad_cap(const struct transport *t, size_t cap, size_t plain_len, size_t mtu)
{
	size_t room = plain_len > mtu ? plain_len : mtu;
	size_t limit = TRANSPORT_HEADER_LEN + room + cipher_overhead(t->tx.cipher.mode);

	return mtu && limit < cap ? limit : cap;
}

/* ---- receiving ---- */

static enum transport_result check_header(const struct transport *t, const uint8_t *pkt, size_t len,
					  size_t overhead)
{
	if (len < TRANSPORT_HEADER_LEN + overhead)
		return TRANSPORT_E_MALFORMED;
	if (pkt[0] != MSG_TRANSPORT || (pkt[1] & ~MSG_FLAG_KEY_PHASE) || pkt[2] || pkt[3])
		return TRANSPORT_E_MALFORMED;
	if (le32_load(pkt + TRANSPORT_OFF_RECEIVER) != t->local_index)
		return TRANSPORT_E_INDEX;
	return TRANSPORT_OK;
}

static bool prev_is_usable(const struct transport_rx *rx, uint64_t now_ns)
{
	return rx->has_prev && now_ns < rx->prev_expiry_ns;
}

/* The key for a packet of this phase and counter (see the model above), or
 * NULL when it would be the previous key and that one is gone. */
static struct cipher *pick_cipher(struct transport_rx *rx, uint8_t phase, uint64_t counter,
				  uint64_t now_ns)
{
	if (phase == rx->phase)
		return &rx->cur;
	if (counter >= rx->cur_first)
		return &rx->next;
	return prev_is_usable(rx, now_ns) ? &rx->prev : NULL;
}

/* Re-keys prev's cipher object with secret_{n+2} so it can become next;
 * secret_{n-1} is dropped now, as the model says ("at the next update").
 * Called only after the packet authenticated under next. */
static int rx_prepare_update(struct transport_rx *rx, uint8_t s1[static CIPHER_SECRET_LEN])
{
	uint8_t s2[CIPHER_SECRET_LEN];
	int r = next_secret(s1, rx->cur_secret);

	if (r == 0)
		r = next_secret(s2, s1);
	if (r == 0) {
		r = cipher_rekey(&rx->prev, s2);
		if (r != 0)
			rx->has_prev = false; /* its key is in an unknown state */
	}
	ct_wipe(s2, sizeof(s2));
	return r;
}

/* prev <- cur <- next <- (prev's object, already holding secret_{n+2}) */
static void rx_commit_update(struct transport *t, const uint8_t s1[static CIPHER_SECRET_LEN],
			     uint64_t counter, uint64_t now_ns)
{
	struct transport_rx *rx = &t->rx;
	struct cipher spare = rx->prev;

	rx->prev = rx->cur;
	rx->cur = rx->next;
	rx->next = spare;
	memcpy(rx->cur_secret, s1, CIPHER_SECRET_LEN);
	rx->phase ^= MSG_FLAG_KEY_PHASE;
	rx->cur_first = counter;
	rx->has_prev = true;
	rx->prev_expiry_ns = add_sat(now_ns, t->limits.old_key_keep_ns);
}

/* Re-keying with a zero secret overwrites the key schedule in place; the
 * object stays allocated for the next update. */
static void rx_expire_prev(struct transport_rx *rx, uint64_t now_ns)
{
	static const uint8_t no_key[CIPHER_SECRET_LEN];

	if (!rx->has_prev || now_ns < rx->prev_expiry_ns)
		return;
	(void)cipher_rekey(&rx->prev, no_key);
	rx->has_prev = false;
}

/* Everything after authentication: record the counter, then switch keys if
 * the packet came under next. */
static enum transport_result rx_accept(struct transport *t, const struct cipher *used,
				       uint64_t counter, uint64_t now_ns)
{
	struct transport_rx *rx = &t->rx;
	uint8_t s1[CIPHER_SECRET_LEN];
	enum transport_result res = TRANSPORT_OK;
	bool update = used == &rx->next;

	if (update && rx_prepare_update(rx, s1) != 0) {
		res = TRANSPORT_E_INTERNAL;
		goto out;
	}
	/* cannot fail: replay_is_new passed and nothing has changed since */
	if (!replay_check(&rx->replay, counter, t->limits.reject_after_messages)) {
		rx->has_prev &= !update;
		res = TRANSPORT_E_REPLAY;
		goto out;
	}
	if (update)
		rx_commit_update(t, s1, counter, now_ns);
	else if (used == &rx->cur && counter < rx->cur_first)
		rx->cur_first = counter;
	rx_expire_prev(rx, now_ns);
out:
	ct_wipe(s1, sizeof(s1));
	return res;
}

enum transport_result transport_open(struct transport *t, uint8_t *pkt, size_t len,
				     size_t *ret_plain_len, uint64_t now_ns)
{
	struct transport_rx *rx = &t->rx;
	size_t overhead = cipher_overhead(rx->cur.mode);
	enum transport_result res = check_header(t, pkt, len, overhead);
	uint64_t counter;
	struct cipher *c;

	if (res != TRANSPORT_OK)
		return res;
	if (age_of(t, now_ns) >= t->limits.reject_after_ns)
		return TRANSPORT_E_EXPIRED;
	counter = le64_load(pkt + TRANSPORT_OFF_COUNTER);
	if (counter >= t->limits.reject_after_messages)
		return TRANSPORT_E_EXHAUSTED;
	if (!replay_is_new(&rx->replay, counter, t->limits.reject_after_messages))
		return TRANSPORT_E_REPLAY;
	c = pick_cipher(rx, pkt[1] & MSG_FLAG_KEY_PHASE, counter, now_ns);
	if (!c)
		return TRANSPORT_E_EXPIRED;
	if (cipher_open(c, counter, pkt, TRANSPORT_HEADER_LEN, pkt + TRANSPORT_HEADER_LEN,
			len - TRANSPORT_HEADER_LEN) != 0)
		return TRANSPORT_E_AUTH;
	res = rx_accept(t, c, counter, now_ns);
	if (res == TRANSPORT_OK)
		*ret_plain_len = len - TRANSPORT_HEADER_LEN - overhead;
	return res;
}

const char *transport_result_name(enum transport_result r)
{
	static const char *const names[] = {
	    [TRANSPORT_OK] = "ok",
	    [TRANSPORT_OK_REKEY] = "ok_rekey",
	    [TRANSPORT_E_EXPIRED] = "expired",
	    [TRANSPORT_E_EXHAUSTED] = "exhausted",
	    [TRANSPORT_E_SPACE] = "no_space",
	    [TRANSPORT_E_MALFORMED] = "malformed",
	    [TRANSPORT_E_INDEX] = "unknown_index",
	    [TRANSPORT_E_AUTH] = "auth_failed",
	    [TRANSPORT_E_REPLAY] = "replay",
	    [TRANSPORT_E_INTERNAL] = "internal",
	};
	if ((unsigned)r >= sizeof(names) / sizeof(names[0]) || !names[r])
		return "unknown";
	return names[r];
}
