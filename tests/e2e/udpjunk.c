/* udpjunk: hostile traffic against a LostLove server, for the end-to-end
 * tests. Sends a bounded number of datagrams at a bounded rate to one
 * target and counts what comes back (by message type):
 *
 *   --mode random     random bytes, random length 1..1500; one in four starts
 *                     with a plausible header (type 1..4, zero flags)
 *   --mode truncated  a real message 1 (if keys are given) or a typed header,
 *                     cut short at a random length
 *   --mode oversized  random datagrams of 1501..65507 bytes, some with a
 *                     plausible header
 *   --mode init       fresh handshake initiations made with the library's
 *                     handshake_create_init: --client-key FILE (a user's
 *                     private key, or a made-up one if absent), --server-key
 *                     B64 (the server's public key, or a made-up one),
 *                     --psk FILE, --time-offset S (shifts the timestamp).
 *                     --client-key and --psk may be given up to 8 times (in
 *                     pairs): the initiations take the users in turn
 *
 *   --mode flip       the datagram in --file F (e.g. one the relay recorded)
 *                     with 1 to 3 random bits flipped, or cut short, or
 *                     with bytes appended, each time differently
 *   --mode replay     the datagram in --file F as it is, again and again
 *
 *   --to ADDR:PORT  --count N (≤ 1000000)  --rate PPS (≤ 100000)
 *   --seed N  --wait-ms N (listen after the last send, ≤ 60000)
 *   --max-seconds N (hard bound on the whole run, default 60)
 *   --ports N (≤ 1024, default 1): send from N sockets, each bound to its own
 *             ephemeral port, in turn: one address, many 4-tuples, which the
 *             server's SO_REUSEPORT sockets spread over its workers
 *   --spoof ADDR  send from ADDR, an address this host does not have
 *             (IP_TRANSPARENT; root): forged initiations in a victim's name.
 *             Answers go to ADDR, so none come back here.
 *   --answer-cookies  (init mode) on a cookie reply for the initiation in
 *             flight, send a new one at once, with mac2: a sender that
 *             proves its address, as a real client does
 *
 * Prints one line:
 *   udpjunk: mode=M sent=N replies=R type1=a type2=b type3=c type4=d other=e ports=P
 *            sent_bytes=X reply_bytes=Y
 * and exits 0 (the test decides what the numbers mean); 2 on a usage or
 * system error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "protocol/handshake.h"
#include "protocol/messages.h"

#define MAX_DGRAM 65507
#define MAX_COUNT 1000000
#define MAX_RATE  100000
#define MAX_WAIT  60000
#define MAX_PORTS 1024
#define MAX_USERS 8

enum mode { MODE_RANDOM, MODE_TRUNCATED, MODE_OVERSIZED, MODE_INIT, MODE_FLIP, MODE_REPLAY };

struct junk {
	enum mode mode;
	int fds[MAX_PORTS];
	unsigned ports;
	struct sockaddr_storage to;
	socklen_t to_len;
	uint64_t rng;
	unsigned long count, rate;
	int wait_ms, max_seconds;
	int64_t time_offset_s;
	bool have_keys, answer_cookies;
	struct handshake_initiator hs_of[MAX_USERS];
	unsigned users, next_user;
	struct handshake_initiator *hs; /* the one whose initiation went last */
	uint8_t *file;			/* flip, replay: the datagram read from --file */
	size_t file_len;
	unsigned long sent, replies, by_type[5];
	unsigned long long sent_bytes, reply_bytes;
};

static void die(const char *what)
{
	fprintf(stderr, "udpjunk: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: udpjunk --to ADDR:PORT --mode random|truncated|oversized|init|flip|replay\n"
		"               [--count N] [--rate PPS] [--seed N] [--wait-ms N]\n"
		"               [--max-seconds N] [--client-key FILE] [--server-key B64]\n"
		"               [--psk FILE] [--time-offset S] [--ports N] [--spoof ADDR]\n"
		"               [--answer-cookies] [--file DATAGRAM]\n");
	exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * LL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void fill_random(struct junk *j, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)next_rand(&j->rng);
}

static size_t rand_between(struct junk *j, size_t lo, size_t hi)
{
	return lo + (size_t)(next_rand(&j->rng) % (hi - lo + 1));
}

static int parse_target(struct junk *j, const char *text)
{
	char host[128];
	const char *colon;
	size_t n;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&j->to;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&j->to;

	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - text - 1);
		text++;
		colon++;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - text);
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	uint16_t port = (uint16_t)strtoul(colon + 1, NULL, 10);
	memset(&j->to, 0, sizeof(j->to));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		j->to_len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		j->to_len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* Reads a base64 key from a file (first 44 characters). */
static int read_key_file(const char *path, uint8_t ret[static KEY_LEN])
{
	char text[KEY_BASE64_LEN + 1] = {0};
	FILE *f = fopen(path, "re");

	if (!f)
		die(path);
	size_t n = fread(text, 1, KEY_BASE64_LEN, f);
	fclose(f);
	if (n != KEY_BASE64_LEN)
		return -EINVAL;
	return key_from_base64(ret, text);
}

static void setup_keys(struct junk *j, struct handshake_initiator *hs, const char *client_key,
		       const char *server_key, const char *psk_file)
{
	uint8_t priv[32], pub[32], server_pub[32], psk[32];

	if (client_key) {
		if (read_key_file(client_key, priv) < 0)
			usage();
	} else if (x25519_keygen(priv, pub, &rng_system) < 0) {
		die("keygen");
	}
	if (server_key) {
		if (key_from_base64(server_pub, server_key) < 0)
			usage();
	} else if (x25519_keygen(pub, server_pub, &rng_system) < 0) {
		die("keygen");
	}
	if (psk_file) {
		if (read_key_file(psk_file, psk) < 0)
			usage();
	} else {
		rng_fill(&rng_system, psk, sizeof(psk));
	}
	if (handshake_initiator_init(hs, priv, server_pub, psk, KEM_OPTIONAL) < 0) {
		fprintf(stderr, "udpjunk: handshake_initiator_init failed\n");
		exit(2);
	}
	j->have_keys = true;
	memset(priv, 0, sizeof(priv));
	memset(psk, 0, sizeof(psk));
}

/* A real message 1, timestamp shifted by --time-offset. */
static size_t make_init(struct junk *j, uint8_t *buf, size_t cap)
{
	uint64_t unix_ns = clock_ns(CLOCK_REALTIME) + (uint64_t)(j->time_offset_s * 1000000000LL);
	size_t len = 0;

	j->hs = &j->hs_of[j->next_user++ % j->users];
	enum handshake_result rc =
	    handshake_create_init(j->hs, (uint32_t)next_rand(&j->rng), unix_ns,
				  clock_ns(CLOCK_MONOTONIC), &rng_system, buf, cap, &len);
	if (rc != HS_OK) {
		fprintf(stderr, "udpjunk: handshake_create_init: %s\n", handshake_result_name(rc));
		exit(2);
	}
	return len;
}

static void plausible_header(struct junk *j, uint8_t *buf, size_t len)
{
	if (len >= 4) {
		buf[0] = (uint8_t)rand_between(j, MSG_HANDSHAKE_INIT, MSG_TRANSPORT);
		buf[1] = (uint8_t)(next_rand(&j->rng) & MSG_FLAG_KEM);
		buf[2] = buf[3] = 0;
	}
}

/* The --file datagram, damaged: most often 1-3 bits flipped anywhere,
 * sometimes cut short or lengthened by random bytes. */
static size_t flip_file(struct junk *j, uint8_t *buf)
{
	size_t len = j->file_len;
	unsigned how = (unsigned)(next_rand(&j->rng) % 8);

	memcpy(buf, j->file, len);
	if (how == 0 && len > 1)
		return rand_between(j, 1, len - 1);
	if (how == 1 && len < 1500) {
		size_t more = rand_between(j, 1, 1500 - len);
		fill_random(j, buf + len, more);
		return len + more;
	}
	for (unsigned n = 1 + (unsigned)(next_rand(&j->rng) % 3); n > 0; n--) {
		size_t bit = rand_between(j, 0, len * 8 - 1);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	return len;
}

static void read_datagram_file(struct junk *j, const char *path)
{
	FILE *f = fopen(path, "rb");

	j->file = malloc(MAX_DGRAM);
	if (!f || !j->file)
		die(path);
	j->file_len = fread(j->file, 1, MAX_DGRAM, f);
	fclose(f);
	if (j->file_len == 0)
		die("empty --file");
}

static size_t make_datagram(struct junk *j, uint8_t *buf)
{
	size_t len;

	switch (j->mode) {
	case MODE_RANDOM:
		len = rand_between(j, 1, 1500);
		fill_random(j, buf, len);
		if (next_rand(&j->rng) % 4 == 0)
			plausible_header(j, buf, len);
		return len;
	case MODE_TRUNCATED:
		if (j->have_keys) {
			len = make_init(j, buf, MAX_DGRAM);
			return rand_between(j, 1, len - 1);
		}
		len = rand_between(j, 4, 1347);
		fill_random(j, buf, len);
		plausible_header(j, buf, len);
		return len;
	case MODE_OVERSIZED:
		len = rand_between(j, 1501, MAX_DGRAM);
		fill_random(j, buf, len);
		if (next_rand(&j->rng) % 2 == 0)
			plausible_header(j, buf, len);
		return len;
	case MODE_INIT:
		return make_init(j, buf, MAX_DGRAM);
	case MODE_FLIP:
		return flip_file(j, buf);
	case MODE_REPLAY:
		memcpy(buf, j->file, j->file_len);
		return j->file_len;
	}
	return 0;
}

static void send_one(struct junk *j, int fd, const uint8_t *buf, size_t len)
{
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&j->to, j->to_len) >= 0) {
		j->sent++;
		j->sent_bytes += len;
	}
}

/* --answer-cookies: a cookie for the initiation in flight makes the next
 * one carry mac2; it goes at once, as a client's does. */
static void answer_cookie(struct junk *j, int fd, const uint8_t *reply, size_t len)
{
	static uint8_t buf[MAX_DGRAM];

	if (!j->answer_cookies || j->mode != MODE_INIT ||
	    handshake_consume_cookie(j->hs, reply, len, clock_ns(CLOCK_MONOTONIC)) != HS_OK)
		return;
	j->next_user--; /* the same user again, now with mac2 */
	send_one(j, fd, buf, make_init(j, buf, sizeof(buf)));
}

static void drain_replies(struct junk *j)
{
	static uint8_t buf[65536];

	for (unsigned i = 0; i < j->ports; i++) {
		for (;;) {
			ssize_t n = recv(j->fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0)
				break;
			j->replies++;
			j->reply_bytes += (unsigned long long)n;
			j->by_type[n > 0 && buf[0] >= 1 && buf[0] <= 4 ? buf[0] : 0]++;
			if (n > 0 && buf[0] == MSG_COOKIE_REPLY)
				answer_cookie(j, j->fds[i], buf, (size_t)n);
		}
	}
}

/* Waits until the next send is due (or ms, when listening), taking replies. */
static void wait_until(struct junk *j, uint64_t deadline_ns)
{
	static struct pollfd p[MAX_PORTS];

	for (unsigned i = 0; i < j->ports; i++)
		p[i] = (struct pollfd){.fd = j->fds[i], .events = POLLIN};
	for (uint64_t now = clock_ns(CLOCK_MONOTONIC); now < deadline_ns;
	     now = clock_ns(CLOCK_MONOTONIC)) {
		int ms = (int)((deadline_ns - now + 999999) / 1000000);
		if (poll(p, j->ports, ms) > 0)
			drain_replies(j);
	}
	drain_replies(j);
}

static void run(struct junk *j)
{
	static uint8_t buf[MAX_DGRAM];
	uint64_t start = clock_ns(CLOCK_MONOTONIC);
	uint64_t hard_end = start + (uint64_t)j->max_seconds * LL_NS_PER_S;
	uint64_t gap = LL_NS_PER_S / j->rate;

	for (unsigned long i = 0; i < j->count; i++) {
		if (clock_ns(CLOCK_MONOTONIC) >= hard_end) {
			fprintf(stderr, "udpjunk: stopped at the time bound\n");
			break;
		}
		size_t len = make_datagram(j, buf);
		send_one(j, j->fds[i % j->ports], buf, len);
		wait_until(j, start + (i + 1) * gap);
	}
	wait_until(j, clock_ns(CLOCK_MONOTONIC) + (uint64_t)j->wait_ms * 1000000);
}

/* --spoof: a socket that sends from an address this host does not have. */
static void bind_spoofed(int fd, int family, const char *addr)
{
	struct sockaddr_storage ss = {.ss_family = (sa_family_t)family};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	int one = 1, r;

	if (family == AF_INET)
		r = setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
		    inet_pton(AF_INET, addr, &in4->sin_addr) != 1;
	else
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0 ||
		    inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1;
	if (r)
		die("--spoof (IP_TRANSPARENT, or not an address of the target's family)");
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(*in4) : sizeof(*in6)) < 0)
		die("bind --spoof");
}

static const char *mode_name(enum mode m)
{
	static const char *const names[] = {"random", "truncated", "oversized",
					    "init",   "flip",	   "replay"};
	return names[m];
}

static int parse_mode(const char *s, enum mode *ret)
{
	for (int m = MODE_RANDOM; m <= MODE_REPLAY; m++) {
		if (strcmp(s, mode_name((enum mode)m)) == 0) {
			*ret = (enum mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static struct junk j = {
	    .count = 100, .rate = 100, .wait_ms = 1000, .max_seconds = 60, .ports = 1};
	const char *client_key[MAX_USERS] = {0}, *server_key = NULL, *psk[MAX_USERS] = {0};
	const char *spoof = NULL;
	unsigned n_keys = 0, n_psks = 0;
	bool has_to = false, has_mode = false;
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"mode", required_argument, NULL, 'm'},
	    {"count", required_argument, NULL, 'c'},
	    {"rate", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 's'},
	    {"wait-ms", required_argument, NULL, 'w'},
	    {"max-seconds", required_argument, NULL, 'x'},
	    {"client-key", required_argument, NULL, 'k'},
	    {"server-key", required_argument, NULL, 'S'},
	    {"psk", required_argument, NULL, 'p'},
	    {"time-offset", required_argument, NULL, 'o'},
	    {"ports", required_argument, NULL, 'P'},
	    {"spoof", required_argument, NULL, 'F'},
	    {"answer-cookies", no_argument, NULL, 'A'},
	    {"file", required_argument, NULL, 'f'},
	    {0},
	};
	int c;

	j.rng = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			has_to = parse_target(&j, optarg) == 0;
			break;
		case 'm':
			has_mode = parse_mode(optarg, &j.mode) == 0;
			break;
		case 'c':
			j.count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			j.rate = strtoul(optarg, NULL, 10);
			break;
		case 's':
			j.rng = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			j.wait_ms = atoi(optarg);
			break;
		case 'x':
			j.max_seconds = atoi(optarg);
			break;
		case 'k':
			if (n_keys == MAX_USERS)
				usage();
			client_key[n_keys++] = optarg;
			break;
		case 'S':
			server_key = optarg;
			break;
		case 'p':
			if (n_psks == MAX_USERS)
				usage();
			psk[n_psks++] = optarg;
			break;
		case 'o':
			j.time_offset_s = strtoll(optarg, NULL, 10);
			break;
		case 'P':
			j.ports = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'F':
			spoof = optarg;
			break;
		case 'A':
			j.answer_cookies = true;
			break;
		case 'f':
			read_datagram_file(&j, optarg);
			break;
		default:
			usage();
		}
	}
	if (!has_to || !has_mode || j.count > MAX_COUNT || j.rate == 0 || j.rate > MAX_RATE ||
	    j.wait_ms < 0 || j.wait_ms > MAX_WAIT || j.max_seconds <= 0 || j.max_seconds > 600 ||
	    j.ports == 0 || j.ports > MAX_PORTS)
		usage();
	if (n_psks > n_keys || (n_psks && n_psks != n_keys))
		usage(); /* one --psk per --client-key, in order */
	if ((j.mode == MODE_FLIP || j.mode == MODE_REPLAY) && !j.file)
		usage();
	j.users = n_keys ? n_keys : 1;
	if (j.mode == MODE_INIT || n_keys || server_key)
		for (unsigned u = 0; u < j.users; u++)
			setup_keys(&j, &j.hs_of[u], client_key[u], server_key, psk[u]);
	/* each socket gets its ephemeral port on its first send */
	for (unsigned i = 0; i < j.ports; i++) {
		j.fds[i] = socket(j.to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (j.fds[i] < 0)
			die("socket");
		if (spoof)
			bind_spoofed(j.fds[i], j.to.ss_family, spoof);
	}
	run(&j);
	printf("udpjunk: mode=%s sent=%lu replies=%lu type1=%lu type2=%lu type3=%lu type4=%lu "
	       "other=%lu ports=%u sent_bytes=%llu reply_bytes=%llu\n",
	       mode_name(j.mode), j.sent, j.replies, j.by_type[1], j.by_type[2], j.by_type[3],
	       j.by_type[4], j.by_type[0], j.ports, j.sent_bytes, j.reply_bytes);
	for (unsigned u = 0; j.have_keys && u < j.users; u++)
		handshake_initiator_done(&j.hs_of[u]);
	return 0;
}
