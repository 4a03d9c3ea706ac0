/* relay: a userspace UDP relay between one client and the server, for the
 * end-to-end tests (there is no tc netem on the test machines).
 *
 *   client --> [listen] relay [upstream] --> server
 *
 * The relay listens on one address; every datagram from a client goes to the
 * server from the relay's own upstream socket, and every datagram from the
 * server goes back to the client last heard from. On the way it may, per
 * datagram and per direction:
 *   --drop PCT     drop it
 *   --dup PCT      send it twice
 *   --reorder PCT  hold it and send it after the next one of the same
 *                  direction (or after 50 ms if none comes)
 * with a deterministic generator (--seed N).
 *
 * Recording: --record DIR writes the first --record-count N datagrams from the
 * client to DIR/c2s-0001.bin, ... (before any impairment). SIGUSR1 sends
 * recorded datagram 1 again to the server from the upstream socket.
 *
 * Roaming: SIGUSR2 closes the upstream socket and opens a new one (a new
 * ephemeral port), bound to the next address of --from A[,B...], so the
 * server sees the client move. Each move prints "relay: upstream now ...".
 * With --linger-ms N the previous upstream socket stays open N ms more and
 * what the server still sends to it is relayed (a NAT keeps an old mapping
 * a while): answers already in flight at the move are not lost.
 *
 * Stealing: --steal DIR; SIGHUP arms it for the next transport datagram
 * (type 4) from the client, SIGWINCH for the next handshake initiation
 * (type 1): that datagram is written to DIR/stolen-N.bin and NOT sent on,
 * so the server has never seen it (a replay of it is still fresh: the
 * routing-loop tests send it back through the tunnel). Each prints
 * "relay: stole N bytes (type T) to PATH".
 *
 * Replay mode: relay --replay FILE --to ADDR:PORT [--from ADDR] [--wait-ms N]
 * [--device IFNAME] sends FILE as one datagram from a fresh socket (bound
 * to IFNAME with SO_BINDTODEVICE if given: e.g. into a tunnel device
 * whatever the routes say), waits for answers and prints
 * "replay: sent N bytes to ADDR, replies R".
 *
 * SIGTERM/SIGINT print the counters and exit 0. Addresses are "ip:port" or
 * "[ipv6]:port". Only for tests: one client at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM   65536
#define MAX_FROM    8
#define HOLD_MAX_MS 50
#define WAIT_MAX_MS 60000
#define RECORD_MAX  1000

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* One direction of the relay: its impairments and counters. */
struct dir {
	const char *name;
	uint64_t in, out, dropped, duplicated, reordered;
	uint8_t held[MAX_DGRAM];
	size_t held_len;
	bool has_held;
	uint64_t held_since_ms;
};

struct relay {
	int listen_fd, up_fd, sig_fd;
	int old_fd; /* the previous upstream socket, lingering; -1 = none */
	uint64_t old_until_ms;
	int linger_ms;
	struct addr listen, server, client, from[MAX_FROM];
	unsigned n_from, from_next;
	bool has_client;
	double drop, dup, reorder;
	uint64_t rng;
	const char *record_dir;
	unsigned record_count, recorded;
	const char *steal_dir;
	int steal_type; /* armed for this message type; 0 = not armed */
	unsigned stolen;
	struct dir c2s, s2c;
};

static void die(const char *what)
{
	fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: relay --listen ADDR:PORT --to ADDR:PORT [--from A[,B]] [--drop PCT]\n"
		"             [--dup PCT] [--reorder PCT] [--seed N] [--record DIR]\n"
		"             [--record-count N]\n"
		"             [--steal DIR] [--linger-ms N]\n"
		"       relay --replay FILE --to ADDR:PORT [--from ADDR] [--wait-ms N]\n"
		"             [--device IFNAME]\n");
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* splitmix64: small, deterministic, good enough for test impairments. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static bool chance(struct relay *r, double pct)
{
	if (pct <= 0)
		return false;
	return (double)(next_rand(&r->rng) % 1000000) < pct * 10000.0;
}

/* "1.2.3.4:5", "[::1]:5", or without ":port" when port_optional. */
static int parse_addr(const char *text, struct addr *ret, bool port_optional)
{
	char host[128];
	const char *port = NULL;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ret->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ret->ss;
	size_t n;

	memset(ret, 0, sizeof(*ret));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || (size_t)(end - text - 1) >= sizeof(host))
			return -EINVAL;
		n = (size_t)(end - text - 1);
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			port = end + 2;
	} else {
		const char *colon = strrchr(text, ':');

		n = colon ? (size_t)(colon - text) : strlen(text);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, n);
		host[n] = '\0';
		if (colon)
			port = colon + 1;
	}
	if (!port && !port_optional)
		return -EINVAL;
	uint16_t p = port ? (uint16_t)strtoul(port, NULL, 10) : 0;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(p);
		ret->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		ret->len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static const char *addr_str(const struct addr *a)
{
	static char buf[2][INET6_ADDRSTRLEN + 16];
	static int which;
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	char *out = buf[which ^= 1];

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
		snprintf(out, sizeof(buf[0]), "%s:%u", host, port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, sizeof(buf[0]), "[%s]:%u", host, port);
	}
	return out;
}

static int udp_socket(int family, const struct addr *bind_to)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;

	if (fd < 0)
		die("socket");
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind_to && bind(fd, (const struct sockaddr *)&bind_to->ss, bind_to->len) < 0)
		die("bind");
	return fd;
}

static struct addr local_addr(int fd)
{
	struct addr a = {.len = sizeof(a.ss)};

	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
		die("getsockname");
	return a;
}

/* Opens the upstream socket from the next --from address (or any). */
static void upstream_open(struct relay *r)
{
	const struct addr *from = NULL;

	if (r->old_fd >= 0)
		close(r->old_fd);
	r->old_fd = -1;
	if (r->up_fd >= 0 && r->linger_ms > 0) {
		r->old_fd = r->up_fd;
		r->old_until_ms = now_ms() + (uint64_t)r->linger_ms;
	} else if (r->up_fd >= 0) {
		close(r->up_fd);
	}
	if (r->n_from) {
		from = &r->from[r->from_next % r->n_from];
		r->from_next++;
	}
	r->up_fd = udp_socket(r->server.ss.ss_family, from);
	if (connect(r->up_fd, (const struct sockaddr *)&r->server.ss, r->server.len) < 0)
		die("connect upstream");
	struct addr a = local_addr(r->up_fd);
	fprintf(stderr, "relay: upstream now %s -> %s\n", addr_str(&a), addr_str(&r->server));
}

static void send_c2s(struct relay *r, const uint8_t *buf, size_t len)
{
	if (send(r->up_fd, buf, len, 0) == (ssize_t)len)
		r->c2s.out++;
}

static void send_s2c(struct relay *r, const uint8_t *buf, size_t len)
{
	if (!r->has_client)
		return;
	if (sendto(r->listen_fd, buf, len, 0, (const struct sockaddr *)&r->client.ss,
		   r->client.len) == (ssize_t)len)
		r->s2c.out++;
}

static void dir_send(struct relay *r, struct dir *d, const uint8_t *buf, size_t len)
{
	if (d == &r->c2s)
		send_c2s(r, buf, len);
	else
		send_s2c(r, buf, len);
}

static void flush_held(struct relay *r, struct dir *d)
{
	if (!d->has_held)
		return;
	d->has_held = false;
	dir_send(r, d, d->held, d->held_len);
}

/* Applies drop, reorder and duplication to one datagram of direction d. */
static void impair_and_send(struct relay *r, struct dir *d, const uint8_t *buf, size_t len)
{
	d->in++;
	if (chance(r, r->drop)) {
		d->dropped++;
		return;
	}
	if (!d->has_held && chance(r, r->reorder)) {
		memcpy(d->held, buf, len);
		d->held_len = len;
		d->has_held = true;
		d->held_since_ms = now_ms();
		d->reordered++;
		return;
	}
	dir_send(r, d, buf, len);
	if (chance(r, r->dup)) {
		d->duplicated++;
		dir_send(r, d, buf, len);
	}
	flush_held(r, d);
}

static void record(struct relay *r, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	if (!r->record_dir || r->recorded >= r->record_count)
		return;
	r->recorded++;
	snprintf(path, sizeof(path), "%s/c2s-%04u.bin", r->record_dir, r->recorded);
	f = fopen(path, "wbe");
	if (!f)
		die(path);
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
	fprintf(stderr, "relay: recorded %zu bytes (type %u) to %s\n", len, len ? buf[0] : 0, path);
}

/* The armed steal: the datagram is kept in a file, not sent on. */
static bool steal(struct relay *r, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	if (!r->steal_type || !len || buf[0] != r->steal_type)
		return false;
	snprintf(path, sizeof(path), "%s/stolen-%u.bin", r->steal_dir, ++r->stolen);
	f = fopen(path, "wbe");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
	fprintf(stderr, "relay: stole %zu bytes (type %d) to %s\n", len, r->steal_type, path);
	r->steal_type = 0;
	return true;
}

static void on_client(struct relay *r)
{
	static uint8_t buf[MAX_DGRAM];
	struct addr from = {.len = sizeof(from.ss)};

	for (int i = 0; i < 64; i++) {
		ssize_t n = recvfrom(r->listen_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from.ss,
				     &from.len);
		if (n < 0)
			return;
		if (!r->has_client || memcmp(&from.ss, &r->client.ss, from.len) != 0)
			fprintf(stderr, "relay: client is %s\n", addr_str(&from));
		r->client = from;
		r->has_client = true;
		record(r, buf, (size_t)n);
		if (!steal(r, buf, (size_t)n))
			impair_and_send(r, &r->c2s, buf, (size_t)n);
		from.len = sizeof(from.ss);
	}
}

static void on_server(struct relay *r, int fd)
{
	static uint8_t buf[MAX_DGRAM];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		impair_and_send(r, &r->s2c, buf, (size_t)n);
	}
}

static void replay_recorded(struct relay *r)
{
	char path[4096];
	static uint8_t buf[MAX_DGRAM];
	FILE *f;
	size_t n;

	if (!r->record_dir || !r->recorded) {
		fprintf(stderr, "relay: nothing recorded to replay\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/c2s-0001.bin", r->record_dir);
	f = fopen(path, "rbe");
	if (!f)
		die(path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	send_c2s(r, buf, n);
	fprintf(stderr, "relay: replayed %zu bytes of %s\n", n, path);
}

static void print_dir(const struct dir *d)
{
	fprintf(stderr, "relay: %s in=%llu out=%llu dropped=%llu duplicated=%llu reordered=%llu\n",
		d->name, (unsigned long long)d->in, (unsigned long long)d->out,
		(unsigned long long)d->dropped, (unsigned long long)d->duplicated,
		(unsigned long long)d->reordered);
}

/* Returns false when the relay should stop. */
static bool on_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	if (read(r->sig_fd, &si, sizeof(si)) != sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGUSR1:
		replay_recorded(r);
		return true;
	case SIGUSR2:
		upstream_open(r);
		return true;
	case SIGHUP:
	case SIGWINCH:
		if (!r->steal_dir) {
			fprintf(stderr, "relay: no --steal DIR: nothing to steal into\n");
			return true;
		}
		r->steal_type = si.ssi_signo == SIGHUP ? 4 : 1;
		fprintf(stderr, "relay: stealing the next type %d datagram\n", r->steal_type);
		return true;
	default:
		return false;
	}
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd");
	return fd;
}

static void flush_stale(struct relay *r, struct dir *d)
{
	if (d->has_held && now_ms() - d->held_since_ms >= HOLD_MAX_MS)
		flush_held(r, d);
}

static int run_relay(struct relay *r)
{
	r->sig_fd = signal_fd();
	r->listen_fd = udp_socket(r->listen.ss.ss_family, &r->listen);
	r->up_fd = r->old_fd = -1;
	upstream_open(r);
	fprintf(stderr, "relay: ready listen %s to %s drop=%g dup=%g reorder=%g\n",
		addr_str(&r->listen), addr_str(&r->server), r->drop, r->dup, r->reorder);
	for (;;) {
		struct pollfd p[4] = {
		    {.fd = r->listen_fd, .events = POLLIN},
		    {.fd = r->up_fd, .events = POLLIN},
		    {.fd = r->sig_fd, .events = POLLIN},
		    {.fd = r->old_fd, .events = POLLIN}, /* ignored while -1 */
		};
		int timeout = (r->c2s.has_held || r->s2c.has_held || r->old_fd >= 0) ? 10 : 1000;
		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			die("poll");
		if (p[0].revents & POLLIN)
			on_client(r);
		if (p[1].revents & POLLIN)
			on_server(r, r->up_fd);
		if (p[3].revents & POLLIN)
			on_server(r, r->old_fd);
		if (r->old_fd >= 0 && now_ms() >= r->old_until_ms) {
			close(r->old_fd);
			r->old_fd = -1;
		}
		if ((p[2].revents & POLLIN) && !on_signal(r))
			break;
		flush_stale(r, &r->c2s);
		flush_stale(r, &r->s2c);
	}
	print_dir(&r->c2s);
	print_dir(&r->s2c);
	return 0;
}

/* Sends one recorded datagram and counts what comes back within wait_ms. */
static int run_replay(const char *file, const struct addr *to, const struct addr *from, int wait_ms,
		      const char *device)
{
	static uint8_t buf[MAX_DGRAM];
	FILE *f = fopen(file, "rbe");
	size_t n;
	unsigned replies = 0;

	if (!f)
		die(file);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int fd = udp_socket(to->ss.ss_family, from);
	if (device &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0)
		die("SO_BINDTODEVICE");
	/* connected, so that the source address the kernel chose is known */
	if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0)
		die("connect");
	if (send(fd, buf, n, 0) != (ssize_t)n)
		die("send");
	struct addr me = local_addr(fd);
	uint64_t deadline = now_ms() + (uint64_t)wait_ms;
	for (uint64_t t = now_ms(); t < deadline; t = now_ms()) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(deadline - t)) > 0 && recv(fd, buf, sizeof(buf), 0) >= 0)
			replies++;
	}
	printf("replay: sent %zu bytes from %s to %s, replies %u\n", n, addr_str(&me), addr_str(to),
	       replies);
	close(fd);
	return 0;
}

static void parse_from_list(struct relay *r, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (r->n_from == MAX_FROM)
			usage();
		if (parse_addr(tok, &r->from[r->n_from++], true) < 0)
			usage();
	}
}

int main(int argc, char **argv)
{
	static struct relay r = {.c2s.name = "client->server", .s2c.name = "server->client"};
	const char *replay = NULL, *device = NULL;
	bool has_listen = false, has_to = false;
	int wait_ms = 2000;
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"to", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"drop", required_argument, NULL, 'd'},
	    {"dup", required_argument, NULL, 'u'},
	    {"reorder", required_argument, NULL, 'o'},
	    {"seed", required_argument, NULL, 's'},
	    {"record", required_argument, NULL, 'r'},
	    {"record-count", required_argument, NULL, 'n'},
	    {"replay", required_argument, NULL, 'p'},
	    {"wait-ms", required_argument, NULL, 'w'},
	    {"steal", required_argument, NULL, 'S'},
	    {"device", required_argument, NULL, 'D'},
	    {"linger-ms", required_argument, NULL, 'L'},
	    {0},
	};
	int c;

	r.record_count = 1;
	r.rng = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			has_listen = parse_addr(optarg, &r.listen, false) == 0;
			break;
		case 't':
			has_to = parse_addr(optarg, &r.server, false) == 0;
			break;
		case 'f':
			parse_from_list(&r, optarg);
			break;
		case 'd':
			r.drop = strtod(optarg, NULL);
			break;
		case 'u':
			r.dup = strtod(optarg, NULL);
			break;
		case 'o':
			r.reorder = strtod(optarg, NULL);
			break;
		case 's':
			r.rng = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			r.record_dir = optarg;
			break;
		case 'n':
			r.record_count = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			replay = optarg;
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'S':
			r.steal_dir = optarg;
			break;
		case 'D':
			device = optarg;
			break;
		case 'L':
			r.linger_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!has_to || wait_ms < 0 || wait_ms > WAIT_MAX_MS || r.record_count > RECORD_MAX)
		usage();
	if (replay)
		return run_replay(replay, &r.server, r.n_from ? &r.from[0] : NULL, wait_ms, device);
	if (!has_listen)
		usage();
	return run_relay(&r);
}
