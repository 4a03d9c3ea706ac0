/* Sessions and their RCU tables; the model and the locking rules are in
 * session.h. */
#include "dataplane/session.h"

#include "dataplane/acct.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/rng.h"
#include "util/endian.h"
#include "util/log.h"

#define PAD_TO	    16
#define DEFAULT_MTU 1420 /* an absent MTU parameter (docs/protocol.md §5) */

struct session *session_new(const struct transport_keys *keys,
			    const struct transport_limits *limits, const struct udp_endpoint *from,
			    const struct udp_local *to, uint64_t now_ns)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (transport_init(&s->transport, keys, limits, now_ns) != 0) {
		free(s);
		return NULL;
	}
	pthread_spin_init(&s->tx_lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&s->rx_lock, PTHREAD_PROCESS_PRIVATE);
	cds_lfht_node_init(&s->by_index);
	cds_lfht_node_init(&s->by_addr4);
	cds_lfht_node_init(&s->by_addr6);
	s->index = keys->local_index;
	s->endpoint = *from;
	s->rx_from = *from;
	s->valid_from = *from; /* message 1's path: message 2 proved it */
	if (to) {
		s->endpoint_src = *to;
		s->rx_to = *to;
		s->valid_to = *to;
	}
	s->created_ns = now_ns;
	s->last_rx_ns = now_ns;
	s->last_tx_ns = now_ns;
	return s;
}

int session_stealth_init(struct session *s, enum stealth_mode mode, const struct stealth_keys *k,
			 const struct transport_keys *keys)
{
	size_t tags = cipher_overhead(keys->mode);
	size_t mtu = s->mtu ? s->mtu : DEFAULT_MTU;
	struct rng_det det;
	struct rng table;
	int r;

	if (mode == STEALTH_MODE_OFF)
		return 0;
	/* the responder receives with T_i2r */
	r = stealth_table_rng(&det, keys->initiator ? keys->send_secret : keys->recv_secret);
	table = rng_det_as_rng(&det);
	if (r == 0)
		r = stealth_tx_init(&s->stealth_tx, mode, k, keys->send_secret,
				    TRANSPORT_HEADER_LEN + tags, TRANSPORT_HEADER_LEN + mtu + tags,
				    &table);
	ct_wipe(&det, sizeof(det));
	if (r < 0)
		return r;
	r = stealth_rx_init(&s->stealth_rx, keys->recv_secret);
	if (r < 0) {
		stealth_tx_done(&s->stealth_tx);
		return r;
	}
	s->stealth = true;
	return 0;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->stealth) {
		stealth_tx_done(&s->stealth_tx);
		stealth_rx_done(&s->stealth_rx);
	}
	transport_done(&s->transport);
	pthread_spin_destroy(&s->tx_lock);
	pthread_spin_destroy(&s->rx_lock);
	ct_wipe(s, sizeof(*s));
	free(s);
}

/* No reader holds s any more: what workers counted after the control
 * thread's last fold goes to the user now (server/accounting.h). */
static void free_rcu(struct rcu_head *head)
{
	struct session *s = caa_container_of(head, struct session, rcu);

	if (s->acct)
		acct_add_tail(s->acct, s->up_bytes - s->seen_up, s->down_bytes - s->seen_down);
	session_free(s);
}

bool session_is_confirmed(const struct session *s)
{
	return __atomic_load_n(&s->confirmed, __ATOMIC_ACQUIRE);
}

bool session_may_send(const struct session *s)
{
	return session_is_confirmed(s) && !__atomic_load_n(&s->leaving, __ATOMIC_RELAXED);
}

/* True for exactly one caller: the packet that confirmed the session. */
static bool confirm_once(struct session *s)
{
	int expected = 0;

	if (session_is_confirmed(s))
		return false;
	return __atomic_compare_exchange_n(&s->confirmed, &expected, 1, false, __ATOMIC_RELEASE,
					   __ATOMIC_RELAXED);
}

static bool opened(enum transport_result r)
{
	return r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY;
}

static const struct udp_local no_local;

static bool on_path(const struct udp_endpoint *ep, const struct udp_local *local,
		    const struct udp_endpoint *from, const struct udp_local *to)
{
	return udp_endpoint_equal(ep, from) && udp_local_equal(local, to);
}

static void add_relaxed(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

/* Moves the endpoint and its local address together. Taking tx_lock
 * inside rx_lock (the only nesting, always in this order) keeps the
 * endpoint the latest path when two workers race. */
static void move_endpoint(struct session *s, const struct udp_endpoint *from,
			  const struct udp_local *to)
{
	s->rx_from = *from;
	s->rx_to = *to;
	pthread_spin_lock(&s->tx_lock);
	s->endpoint = *from;
	s->endpoint_src = *to;
	pthread_spin_unlock(&s->tx_lock);
}

/* Called with rx_lock held after a packet authenticated: counts it, and
 * applies the migration rule (session.h) to its path. newest: its counter
 * is the greatest received so far (not a packet reordered from a path
 * the client has left). */
static unsigned note_rx(struct session *s, const struct udp_endpoint *from,
			const struct udp_local *to, size_t len, bool newest, uint64_t now_ns)
{
	__atomic_store_n(&s->rx_bytes, s->rx_bytes + len, __ATOMIC_RELAXED);
	__atomic_store_n(&s->last_rx_ns, now_ns, __ATOMIC_RELAXED);
	if (on_path(&s->rx_from, &s->rx_to, from, to)) {
		if (__atomic_load_n(&s->unvalidated, __ATOMIC_RELAXED))
			add_relaxed(&s->unval_rx, len);
		return SESSION_RX_OK;
	}
	if (!newest)
		return SESSION_RX_OK;
	move_endpoint(s, from, to);
	if (on_path(&s->valid_from, &s->valid_to, from, to)) {
		__atomic_store_n(&s->unvalidated, 0, __ATOMIC_RELAXED);
		return SESSION_RX_OK; /* back on the validated path */
	}
	__atomic_store_n(&s->unval_rx, len, __ATOMIC_RELAXED);
	__atomic_store_n(&s->unval_tx, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->unvalidated, 1, __ATOMIC_RELAXED);
	s->moved_ns = now_ns;
	return SESSION_RX_NEW_PATH;
}

/* After a successful open: is this packet's counter the greatest so far? */
static bool is_newest(const struct session *s, const uint8_t *pkt)
{
	return le64_load(pkt + TRANSPORT_OFF_COUNTER) + 1 == s->transport.rx.replay.greatest;
}

static enum transport_result open_any(struct session *s, uint8_t *pkt, size_t len,
				      const uint8_t *hdr, const struct udp_endpoint *from,
				      const struct udp_local *to, uint64_t now_ns,
				      size_t *ret_plain_len, unsigned *ret_event)
{
	enum transport_result r = TRANSPORT_E_MALFORMED;
	unsigned event = SESSION_RX_OK;

	pthread_spin_lock(&s->rx_lock);
	if (s->stealth == (hdr != NULL) &&
	    (!hdr || stealth_rx_unmask(&s->stealth_rx, pkt, len, hdr) == 0))
		r = transport_open(&s->transport, pkt, len, ret_plain_len, now_ns);
	if (opened(r))
		event = note_rx(s, from, to ? to : &no_local, len, is_newest(s, pkt), now_ns);
	pthread_spin_unlock(&s->rx_lock);
	if (opened(r) && confirm_once(s))
		event |= SESSION_RX_CONFIRMED;
	*ret_event = event;
	return r;
}

enum transport_result session_open(struct session *s, uint8_t *pkt, size_t len,
				   const struct udp_endpoint *from, const struct udp_local *to,
				   uint64_t now_ns, size_t *ret_plain_len, unsigned *ret_event)
{
	return open_any(s, pkt, len, NULL, from, to, now_ns, ret_plain_len, ret_event);
}

enum transport_result session_open_masked(struct session *s, uint8_t *pkt, size_t len,
					  const uint8_t hdr[static 8],
					  const struct udp_endpoint *from,
					  const struct udp_local *to, uint64_t now_ns,
					  size_t *ret_plain_len, unsigned *ret_event)
{
	return open_any(s, pkt, len, hdr, from, to, now_ns, ret_plain_len, ret_event);
}

bool session_probe_begin(struct session *s, const struct udp_endpoint *from,
			 const struct udp_local *to, uint64_t now_ns,
			 uint8_t ret_challenge[static 8])
{
	const struct udp_local *local = to ? to : &no_local;
	uint64_t age;
	bool go;

	pthread_spin_lock(&s->rx_lock);
	age = now_ns - s->probe_sent_ns;
	go = __atomic_load_n(&s->unvalidated, __ATOMIC_RELAXED) &&
	     on_path(&s->rx_from, &s->rx_to, from, local) &&
	     (!s->probe_sent_ns || (on_path(&s->probe_to, &s->probe_local, from, local)
					? age >= (uint64_t)SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S
					: age >= (uint64_t)SESSION_PROBE_GAP_MS * 1000000));
	if (go && rng_fill(&rng_system, s->probe_challenge, sizeof(s->probe_challenge)) < 0)
		go = false;
	if (go) {
		s->probe_to = *from;
		s->probe_local = *local;
		s->probe_sent_ns = now_ns ? now_ns : 1;
		memcpy(ret_challenge, s->probe_challenge, 8);
	}
	pthread_spin_unlock(&s->rx_lock);
	return go;
}

bool session_probe_answered(struct session *s, const uint8_t challenge[static 8],
			    const struct udp_endpoint *from, const struct udp_local *to,
			    uint64_t now_ns)
{
	const struct udp_local *local = to ? to : &no_local;
	bool valid = false;

	pthread_spin_lock(&s->rx_lock);
	if (s->probe_sent_ns &&
	    now_ns - s->probe_sent_ns < (uint64_t)SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S &&
	    on_path(&s->probe_to, &s->probe_local, from, local) &&
	    ct_memeq(s->probe_challenge, challenge, 8)) {
		s->valid_from = *from;
		s->valid_to = *local;
		if (on_path(&s->rx_from, &s->rx_to, from, local))
			__atomic_store_n(&s->unvalidated, 0, __ATOMIC_RELAXED);
		s->probe_sent_ns = 0;
		valid = true;
	}
	pthread_spin_unlock(&s->rx_lock);
	return valid;
}

bool session_path_budget(struct session *s, size_t len)
{
	uint64_t rx, tx;

	if (!__atomic_load_n(&s->unvalidated, __ATOMIC_RELAXED))
		return true;
	rx = __atomic_load_n(&s->unval_rx, __ATOMIC_RELAXED);
	tx = __atomic_add_fetch(&s->unval_tx, len, __ATOMIC_RELAXED);
	return tx <= 3 * rx;
}

bool session_path_tick(struct session *s, uint64_t now_ns)
{
	bool revert;

	pthread_spin_lock(&s->rx_lock);
	revert = __atomic_load_n(&s->unvalidated, __ATOMIC_RELAXED) &&
		 now_ns - s->moved_ns >= (uint64_t)SESSION_PROBE_TIMEOUT_S * LL_NS_PER_S;
	if (revert) {
		move_endpoint(s, &s->valid_from, &s->valid_to);
		__atomic_store_n(&s->unvalidated, 0, __ATOMIC_RELAXED);
		s->probe_sent_ns = 0;
	}
	pthread_spin_unlock(&s->rx_lock);
	return revert;
}

struct session *session_current(struct session *s)
{
	struct session *next = __atomic_load_n(&s->successor, __ATOMIC_ACQUIRE);

	return next && session_is_confirmed(next) ? next : s;
}

/* With tx_lock: pads to the bucket (zero bytes: the padding of
 * docs/protocol.md §6.3, only longer; cover: to the largest), seals,
 * masks the header. */
static enum transport_result stealth_seal(struct session *s, uint8_t *pkt, size_t cap,
					  size_t plain_len, size_t *ret_len, uint64_t now_ns,
					  bool cover)
{
	size_t tags = cipher_overhead(s->transport.tx.cipher.mode);
	size_t padded = cover ? stealth_pad_max(&s->stealth_tx, pkt, cap, tags, plain_len)
			      : stealth_pad(&s->stealth_tx, pkt, cap, tags, plain_len);
	enum transport_result r =
	    transport_seal(&s->transport, pkt, cap, padded, 1, ret_len, now_ns);

	if ((r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY) &&
	    stealth_tx_mask(&s->stealth_tx, pkt, *ret_len) < 0)
		return TRANSPORT_E_INTERNAL;
	return r;
}

enum transport_result session_seal(struct session *s, uint8_t *pkt, size_t cap, size_t plain_len,
				   uint64_t now_ns, struct udp_endpoint *ret_to,
				   struct udp_local *ret_src, size_t *ret_len)
{
	enum transport_result r;

	pthread_spin_lock(&s->tx_lock);
	cap = transport_pad_cap(&s->transport, cap, plain_len, s->mtu);
	if (s->stealth)
		r = stealth_seal(s, pkt, cap, plain_len, ret_len, now_ns, false);
	else
		r = transport_seal(&s->transport, pkt, cap, plain_len, PAD_TO, ret_len, now_ns);
	if (r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY) {
		*ret_to = s->endpoint;
		*ret_src = s->endpoint_src;
		__atomic_store_n(&s->tx_bytes, s->tx_bytes + plain_len, __ATOMIC_RELAXED);
		__atomic_store_n(&s->last_tx_ns, now_ns, __ATOMIC_RELAXED);
	}
	pthread_spin_unlock(&s->tx_lock);
	return r;
}

int session_shaper_init(struct session *s, unsigned per_flow)
{
	return shaper_init(&s->shaper, per_flow, &rng_system);
}

unsigned session_chaff_due(struct session *s, const uint8_t *ip, size_t len, bool inbound,
			   uint64_t now_ns)
{
	unsigned n;

	if (!s->shaper.per_flow)
		return 0;
	pthread_spin_lock(&s->tx_lock);
	n = shaper_packet(&s->shaper, ip, len, inbound ? SHAPER_IN : SHAPER_OUT, now_ns,
			  &rng_system);
	pthread_spin_unlock(&s->tx_lock);
	return n;
}

enum transport_result session_seal_cover(struct session *s, uint8_t *pkt, size_t cap,
					 uint64_t now_ns, struct udp_endpoint *ret_to,
					 struct udp_local *ret_src, size_t *ret_len)
{
	enum transport_result r = TRANSPORT_E_INTERNAL;

	pthread_spin_lock(&s->tx_lock);
	if (s->stealth) {
		cap = transport_pad_cap(&s->transport, cap, 0, s->mtu);
		r = stealth_seal(s, pkt, cap, 0, ret_len, now_ns, true);
	}
	if (r == TRANSPORT_OK || r == TRANSPORT_OK_REKEY) {
		*ret_to = s->endpoint;
		*ret_src = s->endpoint_src;
		__atomic_store_n(&s->last_tx_ns, now_ns, __ATOMIC_RELAXED);
	}
	pthread_spin_unlock(&s->tx_lock);
	return r;
}

void session_forget_src(struct session *s, const struct udp_local *src)
{
	/* rx_to too, so that the next packet to this address sets it again */
	pthread_spin_lock(&s->rx_lock);
	if (udp_local_equal(&s->rx_to, src))
		s->rx_to = no_local;
	pthread_spin_lock(&s->tx_lock);
	if (udp_local_equal(&s->endpoint_src, src))
		s->endpoint_src = no_local;
	pthread_spin_unlock(&s->tx_lock);
	pthread_spin_unlock(&s->rx_lock);
}

/* ---- tables ---- */

static unsigned long mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (unsigned long)x;
}

static unsigned long hash_addr(const uint8_t *addr, size_t len)
{
	uint64_t a = 0, b = 0;

	memcpy(&a, addr, len < 8 ? len : 8);
	if (len > 8)
		memcpy(&b, addr + 8, 8);
	return mix64(a ^ mix64(b));
}

static int match_index(struct cds_lfht_node *node, const void *key)
{
	const struct session *s = caa_container_of(node, struct session, by_index);

	return s->index == *(const uint32_t *)key;
}

static int match_addr4(struct cds_lfht_node *node, const void *key)
{
	const struct session *s = caa_container_of(node, struct session, by_addr4);

	return memcmp(s->addrs.addr4, key, 4) == 0;
}

static int match_addr6(struct cds_lfht_node *node, const void *key)
{
	const struct session *s = caa_container_of(node, struct session, by_addr6);

	return memcmp(s->addrs.addr6, key, 16) == 0;
}

static struct cds_lfht *new_table(void)
{
	return cds_lfht_new_flavor(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				   &urcu_memb_flavor, NULL);
}

int session_table_init(struct session_table *t)
{
	memset(t, 0, sizeof(*t));
	t->by_index = new_table();
	t->by_addr4 = new_table();
	t->by_addr6 = new_table();
	if (!t->by_index || !t->by_addr4 || !t->by_addr6) {
		session_table_done(t);
		return -ENOMEM;
	}
	return 0;
}

void session_table_done(struct session_table *t)
{
	if (t->by_index)
		(void)cds_lfht_destroy(t->by_index, NULL);
	if (t->by_addr4)
		(void)cds_lfht_destroy(t->by_addr4, NULL);
	if (t->by_addr6)
		(void)cds_lfht_destroy(t->by_addr6, NULL);
	memset(t, 0, sizeof(*t));
}

struct session *session_find_index(struct session_table *t, uint32_t index)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(t->by_index, mix64(index), match_index, &index, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, struct session, by_index) : NULL;
}

struct session *session_find_addr(struct session_table *t, const uint8_t *addr, size_t len)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	if (len == 4) {
		cds_lfht_lookup(t->by_addr4, hash_addr(addr, 4), match_addr4, addr, &iter);
		node = cds_lfht_iter_get_node(&iter);
		return node ? caa_container_of(node, struct session, by_addr4) : NULL;
	}
	cds_lfht_lookup(t->by_addr6, hash_addr(addr, 16), match_addr6, addr, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, struct session, by_addr6) : NULL;
}

int session_add_index(struct session_table *t, struct session *s)
{
	struct cds_lfht_node *got;

	urcu_memb_read_lock();
	got =
	    cds_lfht_add_unique(t->by_index, mix64(s->index), match_index, &s->index, &s->by_index);
	urcu_memb_read_unlock();
	if (got != &s->by_index)
		return -EEXIST;
	s->in_index = true;
	t->count++;
	return 0;
}

void session_publish_addrs(struct session_table *t, struct session *s)
{
	struct cds_lfht_node *old;

	urcu_memb_read_lock();
	if (s->addrs.has4 && !s->in_addr4) {
		old = cds_lfht_add_replace(t->by_addr4, hash_addr(s->addrs.addr4, 4), match_addr4,
					   s->addrs.addr4, &s->by_addr4);
		if (old)
			caa_container_of(old, struct session, by_addr4)->in_addr4 = false;
		s->in_addr4 = true;
	}
	if (s->addrs.has6 && !s->in_addr6) {
		old = cds_lfht_add_replace(t->by_addr6, hash_addr(s->addrs.addr6, 16), match_addr6,
					   s->addrs.addr6, &s->by_addr6);
		if (old)
			caa_container_of(old, struct session, by_addr6)->in_addr6 = false;
		s->in_addr6 = true;
	}
	urcu_memb_read_unlock();
}

void session_remove(struct session_table *t, struct session *s)
{
	urcu_memb_read_lock();
	if (s->in_index && cds_lfht_del(t->by_index, &s->by_index) == 0)
		t->count--;
	if (s->in_addr4)
		(void)cds_lfht_del(t->by_addr4, &s->by_addr4);
	if (s->in_addr6)
		(void)cds_lfht_del(t->by_addr6, &s->by_addr6);
	urcu_memb_read_unlock();
	s->in_index = s->in_addr4 = s->in_addr6 = false;
	urcu_memb_call_rcu(&s->rcu, free_rcu);
}
