/* bench-loadgen: thousands of real LostLove clients in one process, for
 * bench/sessions.sh (docs/performance.md, "10,000 sessions").
 *
 * Each session is what lostlove-client is on the wire with stealth off:
 * its own UDP socket (its own source address and port), a real message 1
 * from protocol/handshake (X25519 + ML-KEM-768, mac1, mac2 after a cookie
 * reply), the key confirmation (an empty transport packet) once message 2
 * is consumed, keepalives, and transport packets sealed with its own keys.
 * After a rekey it keeps the previous session for receiving (10 s) and,
 * while packets still come under it, confirms the new one again once a
 * second, as the client does.
 * Stealth framing is not done: the sessions measure the server's session
 * handling, not the masks (bench/tunnel.sh measures those).
 *
 * Users are deterministic: user i's private key and PSK are HMAC-SHA256 of
 * the seed, so `bench-loadgen users` writes the server's users.toml and
 * `bench-loadgen run` knows the same keys without reading it.
 *
 *   bench-loadgen users --count N [--seed S] [--pool4 10.8.0.0]
 *   bench-loadgen run --server ADDR:PORT --server-key FILE --count N
 *                     [--seed S] [--src ADDR] [--src-count A] [--keepalive S]
 *                     [--dst ADDR] [--ping-dst ADDR] [--size BYTES]
 *
 * users: one [[user]] table per user, named lg<i>, ipv4 pool4 + i + 2
 * (a /16 holds 65,533 of them).
 *
 * run: session i sends from address src + (i mod A) (the addresses must be
 * the host's), from a port of its own. It then reads commands on stdin,
 * one a line, one at a time, and answers each with one "result" line on
 * stdout when it is done (per-second detail lines before it); in between,
 * every established session sends a keepalive when it has sent nothing
 * for --keepalive seconds (default 10; 0 = never):
 *
 *   hs COUNT RATE [ADDR]  COUNT handshakes offered at RATE a second, the
 *                         sessions in turn (a session that has one is
 *                         rekeyed: a new handshake, as a client does every
 *                         rekey interval); with ADDR, only the sessions of
 *                         source address number ADDR. A handshake with no
 *                         answer in 5 s is lost; a cookie reply is answered
 *                         at once with a new message 1 carrying mac2.
 *   data PPS SECONDS N    transport packets (IPv4/UDP to --dst, --size
 *                         bytes) at PPS a second for SECONDS, spread in
 *                         turn over the first N established sessions;
 *                         keepalives pause meanwhile
 *   ping RATE SECONDS     every established session sends one ICMP echo
 *                         request to --ping-dst through its tunnel (at RATE
 *                         a second); counts the sessions whose reply came
 *                         back within SECONDS after the last one went
 *   stats                 the counters
 *   quit                  (also end of input)
 *
 * Exit status 0, or 2 on a usage or setup error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hmac.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "protocol/control.h"
#include "protocol/handshake.h"
#include "protocol/messages.h"
#include "protocol/params.h"
#include "protocol/transport.h"
#include "util/endian.h"

#define LG_MAX_SESSIONS	 65533 /* hosts of a /16 beside the server's */
#define LG_MAX_ADDRS	 4096
#define LG_MAX_SECONDS	 3600
#define LG_HS_TIMEOUT_NS (5 * LL_NS_PER_S) /* as the client's retry (LL_REKEY_TIMEOUT) */
#define LG_PKT_MAX	 2048
#define LG_PREV_KEEP_NS	 (10 * LL_NS_PER_S) /* as the client's longest wait for the switch */
#define LG_NO_SESSION	 UINT32_MAX
#define LG_STDIN	 (UINT32_MAX - 1)

static void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

struct lg_session {
	int fd;
	uint8_t gen; /* handshakes started: the low byte of our index */
	bool has_t;
	bool counted; /* the handshake in flight belongs to the current hs command */
	uint8_t addr4[4];
	uint64_t hs_sent_ns; /* when the handshake in flight started; 0 = none */
	uint64_t last_tx_ns;
	uint32_t ping_round; /* the last ping round this session's reply came for */
	bool has_prev;
	uint64_t prev_until_ns; /* the replaced session receives until then */
	uint64_t confirm_ns;	/* our last key confirmation */
	struct handshake_initiator hs;
	struct transport t;
	struct transport prev; /* as lostlove-client: kept for receiving after a rekey */
};

/* One command's counters; zeroed when it starts. */
struct lg_phase {
	enum { PHASE_NONE, PHASE_HS, PHASE_DATA, PHASE_PING } kind;
	uint64_t start_ns, end_ns; /* end: when the last send is due */
	unsigned long count, rate, sent, done, lost, failed, cookies, replaced, skipped;
	unsigned long in_flight; /* hs: this command's handshakes not yet answered or lost */
	long only_addr;		 /* hs: -1 = every address */
	unsigned long n_sessions, cursor;
	uint64_t wait_ns; /* ping: how long replies are awaited after the last send */
	uint32_t *lat_us; /* hs: completion latencies */
	uint32_t *sec_sent, *sec_done;
	struct rusage ru0;
};

struct lg {
	struct lg_session *s;
	unsigned long n, addrs;
	int ep;
	uint8_t server_pub[32];
	struct sockaddr_in server;
	struct in_addr src, dst, ping_dst;
	size_t size;
	uint64_t keepalive_ns;
	unsigned long hs_cursor;
	uint32_t ping_round;
	struct lg_phase ph;
	/* totals since start */
	unsigned long established, rx, rx_keepalive, rx_prev, rx_stale, rx_bad, tx_keepalive,
	    send_errors;
	char line[256];
	size_t line_len;
	bool quit;
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: bench-loadgen users --count N [--seed S] [--pool4 ADDR]\n"
	    "       bench-loadgen run --server ADDR:PORT --server-key FILE --count N [--seed S]\n"
	    "                     [--src ADDR] [--src-count A] [--keepalive S] [--dst ADDR]\n"
	    "                     [--ping-dst ADDR] [--size BYTES]\n"
	    "       then commands on stdin: hs COUNT RATE [ADDR] | data PPS SECONDS N |\n"
	    "                               ping RATE SECONDS | stats | quit\n");
	exit(2);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-loadgen: %s: %s\n", what, strerror(err));
	exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * LL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static double cpu_s(const struct rusage *a, const struct rusage *b)
{
	return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
	       (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e6 +
	       (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
	       (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

static unsigned long parse_ulong(const char *text, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > max)
		usage();
	return v;
}

/* ---- deterministic users ---- */

/* User i's private key and PSK: HMAC-SHA256(SHA-256(seed), label || LE32(i)).
 * Nothing secret: these users exist for benchmarks only. */
static void user_keys(const char *seed, unsigned long i, uint8_t priv[32], uint8_t pub[32],
		      uint8_t psk[32])
{
	uint8_t k[32], msg[12];

	if (sha256(k, seed, strlen(seed)) < 0)
		die("sha256", EIO);
	memcpy(msg, "lg-priv-", 8);
	le32_store(msg + 8, (uint32_t)i);
	if (hmac_sha256(priv, k, sizeof(k), msg, sizeof(msg)) < 0)
		die("hmac", EIO);
	priv[0] &= 248; /* RFC 7748 clamping, as a generated key has it */
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
	memcpy(msg, "lg-psk--", 8);
	if (hmac_sha256(psk, k, sizeof(k), msg, sizeof(msg)) < 0 || x25519_public(pub, priv) < 0)
		die("user key", EIO);
}

/* Host i + 2 of the /16 at pool (the server has host 1). */
static void user_addr4(struct in_addr pool, unsigned long i, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = {.s_addr = htonl(ntohl(pool.s_addr) + (uint32_t)i + 2)};

	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static int cmd_users(unsigned long n, const char *seed, struct in_addr pool)
{
	uint8_t priv[32], pub[32], psk[32];
	char pub64[KEY_BASE64_LEN + 1], psk64[KEY_BASE64_LEN + 1], a[INET_ADDRSTRLEN];

	printf("# %lu benchmark users of bench-loadgen (seed \"%s\"): not for real use\n", n, seed);
	for (unsigned long i = 0; i < n; i++) {
		user_keys(seed, i, priv, pub, psk);
		key_to_base64(pub64, pub);
		key_to_base64(psk64, psk);
		user_addr4(pool, i, a);
		printf("[[user]]\nname = \"lg%lu\"\npublic_key = \"%s\"\npsk = \"%s\"\n"
		       "ipv4 = \"%s\"\n\n",
		       i, pub64, psk64, a);
	}
	return fflush(stdout) == 0 ? 0 : 2;
}

/* ---- sessions ---- */

static int open_socket(struct lg *g, unsigned long i)
{
	struct sockaddr_in from = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	from.sin_addr.s_addr = htonl(ntohl(g->src.s_addr) + (uint32_t)(i % g->addrs));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	g->s[i].fd = fd;
	return 0;
}

static void raise_fd_limit(unsigned long n)
{
	struct rlimit rl = {.rlim_cur = n + 64, .rlim_max = n + 64};
	struct rlimit cur;

	if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur >= rl.rlim_cur)
		return;
	if (cur.rlim_max > rl.rlim_max)
		rl.rlim_max = cur.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("raising the descriptor limit (root, or ulimit -n)", errno);
}

static void setup_sessions(struct lg *g, const char *seed)
{
	uint8_t priv[32], pub[32], psk[32];
	int r;

	raise_fd_limit(g->n);
	g->s = calloc(g->n, sizeof(*g->s));
	if (!g->s)
		die("sessions", ENOMEM);
	for (unsigned long i = 0; i < g->n; i++) {
		user_keys(seed, i, priv, pub, psk);
		if (handshake_initiator_init(&g->s[i].hs, priv, g->server_pub, psk, KEM_REQUIRED) <
		    0)
			die("handshake_initiator_init", EINVAL);
		r = open_socket(g, i);
		if (r < 0)
			die("socket (are the --src addresses this host's?)", -r);
	}
	memset(priv, 0, sizeof(priv));
	memset(psk, 0, sizeof(psk));
}

static void send_to_server(struct lg *g, struct lg_session *s, const uint8_t *msg, size_t len,
			   uint64_t now)
{
	if (sendto(s->fd, msg, len, 0, (const struct sockaddr *)&g->server, sizeof(g->server)) < 0)
		g->send_errors++;
	else
		s->last_tx_ns = now;
}

/* Seals plain_len bytes at TRANSPORT_HEADER_LEN in pkt and sends them. */
static bool seal_send(struct lg *g, struct lg_session *s, uint8_t *pkt, size_t plain_len,
		      uint64_t now)
{
	size_t len;
	enum transport_result r;

	if (!s->has_t)
		return false;
	r = transport_seal(&s->t, pkt, LG_PKT_MAX, plain_len, 16, &len, now);
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY) {
		g->send_errors++;
		return false;
	}
	send_to_server(g, s, pkt, len, now);
	return true;
}

static void send_keepalive(struct lg *g, struct lg_session *s, uint64_t now)
{
	uint8_t pkt[LG_PKT_MAX];

	if (seal_send(g, s, pkt, 0, now))
		g->tx_keepalive++;
}

/* A new message 1 for session i (a cookie reply's answer keeps the
 * handshake's start time). */
static void send_init(struct lg *g, unsigned long i, uint64_t now, bool fresh)
{
	struct lg_session *s = &g->s[i];
	uint8_t msg[INIT_LEN_KEM];
	size_t len;
	uint32_t index = ((uint32_t)(i + 1) << 8) | ++s->gen;
	enum handshake_result r = handshake_create_init(&s->hs, index, clock_ns(CLOCK_REALTIME),
							now, &rng_system, msg, sizeof(msg), &len);

	if (r != HS_OK) {
		fprintf(stderr, "bench-loadgen: handshake_create_init: %s\n",
			handshake_result_name(r));
		exit(2);
	}
	if (fresh)
		s->hs_sent_ns = now;
	send_to_server(g, s, msg, len, now);
}

/* ---- handshake command ---- */

static unsigned sec_of(const struct lg_phase *p, uint64_t t)
{
	uint64_t sec = (t - p->start_ns) / LL_NS_PER_S;

	return sec < LG_MAX_SECONDS ? (unsigned)sec : LG_MAX_SECONDS - 1;
}

static unsigned long next_hs_session(struct lg *g)
{
	struct lg_phase *p = &g->ph;
	unsigned long i;

	if (p->only_addr < 0)
		return g->hs_cursor++ % g->n;
	i = (unsigned long)p->only_addr + (p->cursor++ * g->addrs);
	if (i >= g->n) {
		p->cursor = 1;
		i = (unsigned long)p->only_addr;
	}
	return i;
}

static void hs_start_one(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	unsigned long i = next_hs_session(g);
	struct lg_session *s = &g->s[i];

	if (s->hs_sent_ns && s->counted) { /* its previous one is still unanswered */
		p->replaced++;
		p->in_flight--;
	}
	s->counted = true;
	p->in_flight++;
	send_init(g, i, now, true);
	p->sec_sent[sec_of(p, now)]++;
	p->sent++;
}

static void hs_pace(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	uint64_t due = (now - p->start_ns) * p->rate / LL_NS_PER_S + 1;

	if (due > p->count)
		due = p->count;
	while (p->sent < due)
		hs_start_one(g, now);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(uint32_t *v, unsigned long n, double q)
{
	if (!n)
		return 0;
	return v[(unsigned long)(q * (double)(n - 1))] / 1000.0;
}

/* The per-second lines, then the result: completions per second while
 * the offer ran (its whole seconds), and overall. */
static void hs_report(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	struct rusage ru;
	unsigned secs = sec_of(p, p->end_ns) + 1,
		 full = (unsigned)((p->end_ns - p->start_ns) / LL_NS_PER_S);
	unsigned long win_sent = 0, win_done = 0;

	getrusage(RUSAGE_SELF, &ru);
	for (unsigned t = 0; t <= sec_of(p, now); t++)
		printf("hs_sec t=%u sent=%u done=%u\n", t, p->sec_sent[t], p->sec_done[t]);
	for (unsigned t = 1; t < full && t < secs; t++) { /* the first second ramps up */
		win_sent += p->sec_sent[t];
		win_done += p->sec_done[t];
	}
	qsort(p->lat_us, p->done, sizeof(*p->lat_us), cmp_u32);
	printf("result hs count=%lu rate=%lu sent=%lu done=%lu lost=%lu replaced=%lu failed=%lu "
	       "cookies=%lu window_s=%u window_sent_per_s=%.1f window_done_per_s=%.1f "
	       "lat_p50_ms=%.2f lat_p99_ms=%.2f lat_max_ms=%.2f lg_cpu_s=%.2f seconds=%.2f\n",
	       p->count, p->rate, p->sent, p->done, p->lost, p->replaced, p->failed, p->cookies,
	       full > 1 ? full - 1 : 0, full > 1 ? (double)win_sent / (full - 1) : 0,
	       full > 1 ? (double)win_done / (full - 1) : 0, pct_ms(p->lat_us, p->done, 0.5),
	       pct_ms(p->lat_us, p->done, 0.99), pct_ms(p->lat_us, p->done, 1.0),
	       cpu_s(&p->ru0, &ru), (double)(now - p->start_ns) / 1e9);
}

/* ---- receiving ---- */

static void limits_of(const struct session_params *p, struct transport_limits *l)
{
	uint32_t rekey = p->rekey_time_s ? p->rekey_time_s : LL_REKEY_AFTER_TIME;

	transport_limits_default(l);
	l->key_update_bytes = p->update_bytes;
	l->rekey_after_ns = (uint64_t)rekey * LL_NS_PER_S;
	l->reject_after_ns = (uint64_t)(rekey + LL_REJECT_AFTER_TIME_EXTRA) * LL_NS_PER_S;
}

static void hs_done(struct lg *g, struct lg_session *s, uint64_t now)
{
	struct lg_phase *p = &g->ph;

	if (p->kind == PHASE_HS && s->counted) {
		p->lat_us[p->done] = (uint32_t)((now - s->hs_sent_ns) / 1000);
		p->sec_done[sec_of(p, now)]++;
		p->done++;
		p->in_flight--;
	}
	s->counted = false;
	s->hs_sent_ns = 0;
}

static void on_response(struct lg *g, struct lg_session *s, const uint8_t *msg, size_t len,
			uint64_t now)
{
	struct transport_keys keys;
	struct session_params params;
	struct transport_limits limits;
	enum handshake_result r = handshake_consume_response(&s->hs, msg, len, &keys, &params);

	if (r != HS_OK) {
		if (g->ph.kind == PHASE_HS && s->counted && r != HS_E_UNEXPECTED)
			g->ph.failed++;
		g->rx_bad++;
		return;
	}
	limits_of(&params, &limits);
	if (s->has_prev)
		transport_done(&s->prev);
	s->has_prev = s->has_t;
	if (s->has_t) {
		s->prev = s->t;
		s->prev_until_ns = now + LG_PREV_KEEP_NS;
		memset(&s->t, 0, sizeof(s->t));
	} else {
		g->established++;
	}
	s->has_t = transport_init(&s->t, &keys, &limits, now) == 0;
	memset(&keys, 0, sizeof(keys));
	if (!s->has_t) {
		g->established--;
		return;
	}
	if (params.has_addr4)
		memcpy(s->addr4, params.addr4, 4);
	hs_done(g, s, now);
	send_keepalive(g, s, now); /* key confirmation: the server sends nothing before */
	s->confirm_ns = now;
}

static void on_cookie(struct lg *g, unsigned long i, const uint8_t *msg, size_t len, uint64_t now)
{
	struct lg_session *s = &g->s[i];

	if (!s->hs_sent_ns || handshake_consume_cookie(&s->hs, msg, len, now) != HS_OK) {
		g->rx_bad++;
		return;
	}
	if (g->ph.kind == PHASE_HS && s->counted)
		g->ph.cookies++;
	send_init(g, i, now, false); /* with mac2 now */
}

static void on_icmp(struct lg *g, struct lg_session *s, unsigned long i, const uint8_t *ip,
		    size_t len)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	const uint8_t *icmp = ip + ihl;

	if (len < ihl + 8 || ip[9] != IPPROTO_ICMP || icmp[0] != 0 ||
	    be16_load(icmp + 4) != (uint16_t)i || be16_load(icmp + 6) != (uint16_t)g->ping_round)
		return;
	if (g->ph.kind == PHASE_PING && s->ping_round != g->ping_round) {
		s->ping_round = g->ping_round;
		g->ph.done++;
	}
}

static void on_transport(struct lg *g, unsigned long i, uint8_t *pkt, size_t len, uint64_t now)
{
	struct lg_session *s = &g->s[i];
	struct transport *t = NULL;
	uint32_t index = le32_load(pkt + TRANSPORT_OFF_RECEIVER);
	size_t plain_len, inner;

	if (s->has_t && index == s->t.local_index) {
		t = &s->t;
	} else if (s->has_prev && index == s->prev.local_index && now < s->prev_until_ns) {
		/* the server has not switched yet: our confirmation was lost?
		 * As the client does, confirm again, once a second at most */
		t = &s->prev;
		g->rx_prev++;
		if (now - s->confirm_ns >= LL_NS_PER_S) {
			send_keepalive(g, s, now);
			s->confirm_ns = now;
		}
	} else {
		g->rx_stale++; /* under a session no longer kept */
		return;
	}
	if (transport_open(t, pkt, len, &plain_len, now) != TRANSPORT_OK) {
		g->rx_bad++;
		return;
	}
	switch (control_classify(pkt + TRANSPORT_HEADER_LEN, plain_len, &inner)) {
	case PLAIN_KEEPALIVE:
		g->rx_keepalive++;
		break;
	case PLAIN_IPV4:
		on_icmp(g, s, i, pkt + TRANSPORT_HEADER_LEN, inner);
		break;
	default:
		break;
	}
}

static void on_datagram(struct lg *g, unsigned long i, uint8_t *pkt, size_t len, uint64_t now)
{
	g->rx++;
	if (len >= TRANSPORT_HEADER_LEN && pkt[0] == MSG_TRANSPORT)
		on_transport(g, i, pkt, len, now);
	else if (len > 0 && pkt[0] == MSG_HANDSHAKE_RESP)
		on_response(g, &g->s[i], pkt, len, now);
	else if (len > 0 && pkt[0] == MSG_COOKIE_REPLY)
		on_cookie(g, i, pkt, len, now);
	else
		g->rx_bad++;
}

static void on_readable(struct lg *g, unsigned long i)
{
	uint8_t pkt[LG_PKT_MAX];
	ssize_t r;

	while ((r = recv(g->s[i].fd, pkt, sizeof(pkt), 0)) >= 0)
		on_datagram(g, i, pkt, (size_t)r, now_ns());
}

/* ---- data and ping commands ---- */

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16_load(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 header of len bytes in all from s's tunnel address to dst. */
static void ipv4_header(uint8_t *ip, size_t len, const struct lg_session *s, struct in_addr dst,
			uint8_t proto)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	be16_put(ip + 2, (uint16_t)len);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, s->addr4, 4);
	memcpy(ip + 16, &dst, 4);
	be16_put(ip + 10, ip_checksum(ip, 20));
}

static void send_data(struct lg *g, struct lg_session *s, uint64_t now)
{
	uint8_t pkt[LG_PKT_MAX];
	uint8_t *ip = pkt + TRANSPORT_HEADER_LEN;

	memset(ip, 0, g->size);
	ipv4_header(ip, g->size, s, g->dst, IPPROTO_UDP);
	be16_put(ip + 20, 40000); /* UDP: ports, length; checksum 0 (none) */
	be16_put(ip + 22, 9);
	be16_put(ip + 24, (uint16_t)(g->size - 20));
	if (seal_send(g, s, pkt, g->size, now))
		g->ph.sent++;
}

static void send_ping(struct lg *g, unsigned long i, uint64_t now)
{
	uint8_t pkt[LG_PKT_MAX];
	uint8_t *ip = pkt + TRANSPORT_HEADER_LEN, *icmp = ip + 20;
	size_t len = 20 + 8 + 16;

	ipv4_header(ip, len, &g->s[i], g->ping_dst, IPPROTO_ICMP);
	memset(icmp, 0, 8 + 16);
	icmp[0] = 8; /* echo request */
	be16_put(icmp + 4, (uint16_t)i);
	be16_put(icmp + 6, (uint16_t)g->ping_round);
	be16_put(icmp + 2, ip_checksum(icmp, 8 + 16));
	if (seal_send(g, &g->s[i], pkt, len, now))
		g->ph.sent++;
}

/* The next established session after the cursor, among the first
 * n_sessions; LG_NO_SESSION when there is none. */
static unsigned long next_established(struct lg *g)
{
	struct lg_phase *p = &g->ph;

	for (unsigned long tries = 0; tries < p->n_sessions; tries++) {
		unsigned long i = p->cursor++ % p->n_sessions;
		if (g->s[i].has_t)
			return i;
	}
	return LG_NO_SESSION;
}

static void data_pace(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	uint64_t due = (now - p->start_ns) * p->rate / LL_NS_PER_S + 1;

	if (due > p->count)
		due = p->count;
	while (p->sent + p->skipped < due) {
		unsigned long i = next_established(g);
		if (i == LG_NO_SESSION) {
			p->skipped = due - p->sent;
			break;
		}
		send_data(g, &g->s[i], now);
	}
}

static void ping_pace(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	uint64_t due = (now - p->start_ns) * p->rate / LL_NS_PER_S + 1;

	while (p->cursor < g->n && p->sent + p->skipped < due) {
		unsigned long i = p->cursor++;
		if (g->s[i].has_t)
			send_ping(g, i, now);
		else
			p->skipped++;
	}
	if (p->cursor >= g->n && !p->end_ns)
		p->end_ns = now;
}

/* ---- commands ---- */

static void phase_begin(struct lg *g, int kind, unsigned long count, unsigned long rate)
{
	struct lg_phase *p = &g->ph;
	uint32_t *lat = p->lat_us, *sec_sent = p->sec_sent, *sec_done = p->sec_done;

	memset(p, 0, sizeof(*p));
	p->lat_us = lat;
	p->sec_sent = sec_sent;
	p->sec_done = sec_done;
	memset(p->sec_sent, 0, LG_MAX_SECONDS * sizeof(*p->sec_sent));
	memset(p->sec_done, 0, LG_MAX_SECONDS * sizeof(*p->sec_done));
	p->kind = kind;
	p->count = count;
	p->rate = rate;
	p->only_addr = -1;
	p->start_ns = now_ns();
	getrusage(RUSAGE_SELF, &p->ru0);
}

static void cmd_hs(struct lg *g, unsigned long count, unsigned long rate, long addr)
{
	struct lg_phase *p = &g->ph;

	phase_begin(g, PHASE_HS, count, rate);
	free(p->lat_us);
	p->lat_us = calloc(count ? count : 1, sizeof(*p->lat_us));
	if (!p->lat_us)
		die("latencies", ENOMEM);
	p->only_addr = addr;
	p->end_ns = p->start_ns + (count ? (count - 1) : 0) * LL_NS_PER_S / rate;
	for (unsigned long i = 0; i < g->n; i++)
		g->s[i].counted = false;
}

static void cmd_data(struct lg *g, unsigned long pps, unsigned long seconds, unsigned long n)
{
	struct lg_phase *p = &g->ph;

	phase_begin(g, PHASE_DATA, pps * seconds, pps);
	p->n_sessions = n < g->n ? n : g->n;
	p->end_ns = p->start_ns + seconds * LL_NS_PER_S;
}

static void cmd_ping(struct lg *g, unsigned long rate, unsigned long seconds)
{
	phase_begin(g, PHASE_PING, g->n, rate);
	g->ph.wait_ns = seconds * LL_NS_PER_S;
	g->ping_round++;
}

static void print_stats(struct lg *g)
{
	unsigned long in_flight = 0;

	for (unsigned long i = 0; i < g->n; i++)
		in_flight += g->s[i].hs_sent_ns != 0;
	printf("result stats sessions=%lu established=%lu in_flight=%lu rx=%lu rx_keepalive=%lu "
	       "rx_prev=%lu rx_stale=%lu rx_bad=%lu tx_keepalive=%lu send_errors=%lu\n",
	       g->n, g->established, in_flight, g->rx, g->rx_keepalive, g->rx_prev, g->rx_stale,
	       g->rx_bad, g->tx_keepalive, g->send_errors);
}

static void command(struct lg *g, char *line)
{
	char *arg[4] = {0};
	unsigned argc = 0;

	for (char *tok = strtok(line, " \t"); tok && argc < 4; tok = strtok(NULL, " \t"))
		arg[argc++] = tok;
	if (!argc)
		return;
	if (g->ph.kind != PHASE_NONE) {
		printf("result error busy\n");
	} else if (!strcmp(arg[0], "hs") && (argc == 3 || argc == 4)) {
		unsigned long count = parse_ulong(arg[1], 10000000),
			      rate = parse_ulong(arg[2], 1000000);
		long addr = argc == 4 ? (long)parse_ulong(arg[3], g->addrs - 1) : -1;
		if (!rate || count / rate >= LG_MAX_SECONDS - 10)
			printf("result error rate\n");
		else
			cmd_hs(g, count, rate, addr);
	} else if (!strcmp(arg[0], "data") && argc == 4) {
		unsigned long pps = parse_ulong(arg[1], 10000000);
		unsigned long secs = parse_ulong(arg[2], LG_MAX_SECONDS - 10);
		cmd_data(g, pps ? pps : 1, secs, parse_ulong(arg[3], g->n));
	} else if (!strcmp(arg[0], "ping") && argc == 3) {
		unsigned long rate = parse_ulong(arg[1], 10000000);
		cmd_ping(g, rate ? rate : 1, parse_ulong(arg[2], 60));
	} else if (!strcmp(arg[0], "stats")) {
		print_stats(g);
	} else if (!strcmp(arg[0], "quit")) {
		g->quit = true;
	} else {
		printf("result error unknown command\n");
	}
	fflush(stdout);
}

static void on_stdin(struct lg *g)
{
	char buf[256];
	ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

	if (r <= 0) {
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			g->quit = true;
		return;
	}
	for (ssize_t k = 0; k < r; k++) {
		if (buf[k] == '\n') {
			g->line[g->line_len] = '\0';
			g->line_len = 0;
			command(g, g->line);
		} else if (g->line_len + 1 < sizeof(g->line)) {
			g->line[g->line_len++] = buf[k];
		}
	}
}

/* ---- the loop ---- */

/* Handshakes unanswered for LG_HS_TIMEOUT_NS are lost; established
 * sessions quiet for the keepalive interval send one (not while a data
 * command runs: its packets keep the sessions alive). */
static void sweep(struct lg *g, uint64_t now)
{
	bool keepalives = g->keepalive_ns && g->ph.kind != PHASE_DATA;

	for (unsigned long i = 0; i < g->n; i++) {
		struct lg_session *s = &g->s[i];
		if (s->hs_sent_ns && now - s->hs_sent_ns > LG_HS_TIMEOUT_NS) {
			if (g->ph.kind == PHASE_HS && s->counted) {
				g->ph.lost++;
				g->ph.in_flight--;
			}
			s->counted = false;
			s->hs_sent_ns = 0;
		}
		if (keepalives && s->has_t && now - s->last_tx_ns >= g->keepalive_ns)
			send_keepalive(g, s, now);
		if (s->has_prev && now >= s->prev_until_ns) {
			transport_done(&s->prev);
			s->has_prev = false;
		}
	}
}

static bool hs_finished(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;

	if (p->sent < p->count)
		return false;
	return !p->in_flight || now > p->end_ns + LG_HS_TIMEOUT_NS + LL_NS_PER_S;
}

static void phase_step(struct lg *g, uint64_t now)
{
	struct lg_phase *p = &g->ph;
	struct rusage ru;

	switch (p->kind) {
	case PHASE_NONE:
		return;
	case PHASE_HS:
		hs_pace(g, now);
		if (!hs_finished(g, now))
			return;
		hs_report(g, now);
		break;
	case PHASE_DATA:
		data_pace(g, now);
		if (p->sent + p->skipped < p->count)
			return;
		getrusage(RUSAGE_SELF, &ru);
		printf("result data pps=%lu sent=%lu skipped=%lu sessions=%lu send_errors=%lu "
		       "lg_cpu_s=%.2f seconds=%.2f\n",
		       p->rate, p->sent, p->skipped, p->n_sessions, g->send_errors,
		       cpu_s(&p->ru0, &ru), (double)(now - p->start_ns) / 1e9);
		break;
	case PHASE_PING:
		ping_pace(g, now);
		if (!p->end_ns || (p->done < p->sent && now < p->end_ns + p->wait_ns))
			return;
		printf("result ping sent=%lu replied=%lu not_established=%lu seconds=%.2f\n",
		       p->sent, p->done, p->skipped, (double)(now - p->start_ns) / 1e9);
		break;
	}
	p->kind = PHASE_NONE;
	fflush(stdout);
}

static void run_loop(struct lg *g)
{
	struct epoll_event ev[256];
	struct epoll_event in = {.events = EPOLLIN, .data.u32 = LG_STDIN};
	uint64_t last_sweep = 0;

	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, STDIN_FILENO, &in) < 0)
		die("epoll stdin", errno);
	printf("ready sessions=%lu addresses=%lu\n", g->n, g->addrs);
	fflush(stdout);
	while (!g->quit) {
		int n = epoll_wait(g->ep, ev, 256, g->ph.kind == PHASE_NONE ? 50 : 1);
		uint64_t now;

		for (int k = 0; k < n; k++) {
			if (ev[k].data.u32 == LG_STDIN)
				on_stdin(g);
			else
				on_readable(g, ev[k].data.u32);
		}
		now = now_ns();
		phase_step(g, now);
		if (now - last_sweep >= LL_NS_PER_S / 10) {
			sweep(g, now);
			last_sweep = now;
		}
	}
}

static int parse_server(struct lg *g, const char *text)
{
	char host[64];
	const char *colon = strrchr(text, ':');

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	g->server.sin_family = AF_INET;
	g->server.sin_port = htons((uint16_t)parse_ulong(colon + 1, 65535));
	return inet_pton(AF_INET, host, &g->server.sin_addr) == 1 ? 0 : -EINVAL;
}

static void read_server_key(struct lg *g, const char *path)
{
	char text[KEY_BASE64_LEN + 1] = {0};
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		die(path, errno);
	n = fread(text, 1, KEY_BASE64_LEN, f);
	fclose(f);
	if (n != KEY_BASE64_LEN || key_from_base64(g->server_pub, text) < 0)
		die(path, EINVAL);
}

static void parse_addr(struct in_addr *a, const char *text)
{
	if (inet_pton(AF_INET, text, a) != 1)
		usage();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, 0, 'n'},      {"seed", required_argument, 0, 'S'},
	    {"pool4", required_argument, 0, 'p'},      {"server", required_argument, 0, 's'},
	    {"server-key", required_argument, 0, 'k'}, {"src", required_argument, 0, 'a'},
	    {"src-count", required_argument, 0, 'A'},  {"keepalive", required_argument, 0, 'K'},
	    {"dst", required_argument, 0, 'd'},	       {"ping-dst", required_argument, 0, 'P'},
	    {"size", required_argument, 0, 'z'},       {0, 0, 0, 0}};
	static struct lg g;
	const char *seed = "lostlove-loadgen", *key_file = NULL;
	struct in_addr pool;
	bool users;
	int c;

	if (argc < 2 || (strcmp(argv[1], "users") && strcmp(argv[1], "run")))
		usage();
	users = !strcmp(argv[1], "users");
	parse_addr(&pool, "10.8.0.0");
	parse_addr(&g.src, "198.18.1.0");
	parse_addr(&g.dst, "10.200.0.99");
	parse_addr(&g.ping_dst, "10.8.0.1");
	g.addrs = 1;
	g.size = 512;
	g.keepalive_ns = 10 * LL_NS_PER_S;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			g.n = parse_ulong(optarg, LG_MAX_SESSIONS);
			break;
		case 'S':
			seed = optarg;
			break;
		case 'p':
			parse_addr(&pool, optarg);
			break;
		case 's':
			if (parse_server(&g, optarg) < 0)
				usage();
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'a':
			parse_addr(&g.src, optarg);
			break;
		case 'A':
			g.addrs = parse_ulong(optarg, LG_MAX_ADDRS);
			break;
		case 'K':
			g.keepalive_ns = parse_ulong(optarg, 3600) * LL_NS_PER_S;
			break;
		case 'd':
			parse_addr(&g.dst, optarg);
			break;
		case 'P':
			parse_addr(&g.ping_dst, optarg);
			break;
		case 'z':
			g.size = parse_ulong(optarg, 1400);
			break;
		default:
			usage();
		}
	}
	if (!g.n || optind != argc)
		usage();
	if (users)
		return cmd_users(g.n, seed, pool);
	if (!key_file || !g.server.sin_family || !g.addrs || g.size < 28)
		usage();
	read_server_key(&g, key_file);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	g.ph.sec_sent = calloc(LG_MAX_SECONDS, sizeof(uint32_t));
	g.ph.sec_done = calloc(LG_MAX_SECONDS, sizeof(uint32_t));
	if (g.ep < 0 || !g.ph.sec_sent || !g.ph.sec_done)
		die("setup", errno ? errno : ENOMEM);
	setup_sessions(&g, seed);
	run_loop(&g);
	print_stats(&g);
	return 0;
}
