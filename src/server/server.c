/* The server daemon; the threading model is in server.h.
 *
 * Startup, in order: signals blocked before any thread exists (every
 * thread inherits the mask, liburcu's too; the control loop reads them
 * from a signalfd), the service user looked up, private key, state file
 * and the lock of its directory (one server per directory), user table,
 * handshake responder, the UDP port probed (one process per port), TUN
 * device (a new one: one server per name), workers' UDP sockets and TUN
 * queues, firewall, control loop; then, still single-threaded, the
 * privilege drop and the system-call filter (sandbox.h); then what starts
 * threads: the session tables (liburcu's resize worker) and the workers;
 * then the "ready" line. Shutdown undoes it in reverse after telling
 * every client DISCONNECT(shutdown). */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/webhook.h"
#include "api/webhook_store.h"
#include "server/admission.h"
#include "server/keyfile.h"
#include "server/monitor.h"
#include "server/registry.h"
#include "core/sandbox.h"
#include "server/srvcmd.h"
#include "dataplane/stream.h"
#include "dataplane/tunio.h"
#include "front/front.h"
#include "front/upgrade.h"
#include "server/timers.h"
#include "server/accounting.h"
#include "server/usage_writer.h"
#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "io/loop.h"
#include "io/rtnl.h"
#include "io/tun.h"
#include "protocol/control.h"
#include "storage/sync.h"
#include "front/front.h"
#include "util/log.h"

#define HS_QUEUE_LEN	   1024
#define HS_BATCHES_PER_RUN 4
#define CMDQ_LEN	   64 /* admin commands waiting at once (server/cmdq.h) */
#define STATE_FILE	   "lostlove.state"
#define STATS_EVERY_TICKS  (60 * 1000 / TIMERS_TICK_MS)
#define SOCKET_BUFFER	   (4 << 20)
/* The handshake limiter: one table for every worker. 16384 entries of 32
 * bytes (512 KiB) is what two workers had before it was shared. */
#define HS_LIMIT_SIZE  16384
#define HS_LIMIT_BURST 5

/* ---- startup ---- */

/* SIGUSR1 cannot go through the signalfd: liburcu's helper threads keep
 * it unblocked (its signal flavour uses it), so the kernel may deliver it
 * there. A handler, which runs on whichever thread gets it, wakes the
 * control loop instead. The one global of the daemon: handlers get no
 * context. */
static int stats_wake_fd = -1;

static void on_sigusr1(int sig)
{
	uint64_t one = 1;

	(void)sig;
	(void)!write(stats_wake_fd, &one, sizeof(one));
}

static int catch_sigusr1(struct server *srv)
{
	struct sigaction sa = {.sa_handler = on_sigusr1, .sa_flags = SA_RESTART};

	srv->stats_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->stats_fd < 0)
		return -errno;
	stats_wake_fd = srv->stats_fd;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) < 0 ? -errno : 0;
}

/* Test builds only (meson -Dtest_hooks=true, LL_TEST_HOOKS): with
 * LOSTLOVE_TEST_CLOCK_STEP=<seconds> in the environment, each SIGUSR2
 * moves the clock of quota periods and expiry that far forward, so an e2e
 * test can cross a period's end without waiting for it. Never compiled
 * into a release build; without the variable SIGUSR2 is not caught. */
static void test_clock_hook(struct server *srv, sigset_t *set)
{
#ifdef LL_TEST_HOOKS
	const char *step = getenv("LOSTLOVE_TEST_CLOCK_STEP");
	char *end;
	long long v;

	if (!step || !*step)
		return;
	v = strtoll(step, &end, 10);
	if (*end || v <= 0)
		return;
	srv->clock_step_s = v;
	sigaddset(set, SIGUSR2);
	log_warn(LOG_GROUP_CORE, "test build: SIGUSR2 moves the quota clock %lld s forward", v);
#else
	(void)srv;
	(void)set;
#endif
}

static int block_signals(struct server *srv)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	test_clock_hook(srv, &set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	srv->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->signal_fd < 0)
		return -errno;
	return catch_sigusr1(srv);
}

static int load_key(struct server *srv)
{
	const char *path = srv->cfg->private_key_file;
	char err[256], b64[KEY_BASE64_LEN + 1];
	bool created, loose;
	int r = keyfile_load_or_create(path, srv->priv, &created, &loose, err, sizeof(err));

	if (r == 0)
		r = x25519_public(srv->pub, srv->priv);
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "private key: %s", err);
		return r;
	}
	key_to_base64(b64, srv->pub);
	if (created)
		log_info(LOG_GROUP_CORE, "generated a new private key in %s", path);
	if (loose)
		log_warn(LOG_GROUP_CORE, "%s is readable by others: chmod 600 it", path);
	log_info(LOG_GROUP_CORE, "public key: %s", b64);
	return 0;
}

/* One server per state directory (state.h): a second one with the same
 * configuration stops here, before it creates anything. */
static int lock_state_dir(struct server *srv, const char *dir)
{
	pid_t holder;
	int r = state_lock(&srv->state, &holder);

	if (r == -EWOULDBLOCK && holder)
		log_error(LOG_GROUP_CORE, "another lostlove-server holds %s (pid %ld)", dir,
			  (long)holder);
	else if (r == -EWOULDBLOCK)
		log_error(LOG_GROUP_CORE, "another lostlove-server holds %s", dir);
	else if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot lock %s/%s: %s", dir, STATE_LOCK_FILE,
			  strerror(-r));
	return r;
}

static int load_state(struct server *srv)
{
	char dir[PATH_MAX], path[PATH_MAX + sizeof(STATE_FILE) + 1], err[PATH_MAX + 64];
	const char *d;
	int r;

	snprintf(dir, sizeof(dir), "%s", srv->cfg->private_key_file);
	d = dirname(dir);
	snprintf(path, sizeof(path), "%s/%s", d, STATE_FILE);
	r = state_load(&srv->state, path, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "state: %s", err);
		return r;
	}
	return lock_state_dir(srv, d);
}

/* ---- the user store ---- */

/* users.toml's users into the store (storage/sync.h): a user that left
 * the file leaves the store; API users are never touched. */
static int sync_users(struct server *srv, const struct config_user *list, size_t n, char *err,
		      size_t err_len)
{
	struct store_user *want = calloc(n ? n : 1, sizeof(*want));
	struct store_sync_stats st;
	struct store_err serr;
	enum store_status r;

	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		store_user_from_config(&list[i], &want[i]);
	r = store_sync_toml(srv->store, want, n, STORE_SYNC_DELETE, (int64_t)time(NULL), &st,
			    &serr);
	ct_wipe(want, n * sizeof(*want));
	free(want);
	if (r != STORE_OK) {
		snprintf(err, err_len, "%s", serr.msg);
		return -EINVAL;
	}
	if (st.created || st.updated || st.deleted)
		log_info(LOG_GROUP_CORE, "store: users.toml: %zu added, %zu changed, %zu removed",
			 st.created, st.updated, st.deleted);
	return 0;
}

/* The accounting's usage batches (server/accounting.h) go to the store
 * through the usage writer (server/usage_writer.h): its own connection and
 * thread, so a locked database never stalls the control thread and a
 * failed write is retried, not dropped. Opened here, before the drop, as
 * the main connection is; its thread starts after the sandbox. */
static int open_usage_writer(struct server *srv)
{
	struct store *s = NULL;
	struct store_err serr;

	if (store_open(srv->cfg->database, &s, &serr) != STORE_OK) {
		log_error(LOG_GROUP_CORE, "store: the usage writer's connection: %s", serr.msg);
		return -EIO;
	}
	srv->usage_writer = usage_writer_new(s, NULL);
	if (!srv->usage_writer) {
		store_close(s);
		return -ENOMEM;
	}
	server_set_usage_sink(usage_writer_put, srv->usage_writer);
	return 0;
}

static int start_usage_writer(struct server *srv)
{
	int r = usage_writer_start(srv->usage_writer);

	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot start the usage writer thread: %s", strerror(-r));
	return r;
}

/* Opens (creating, migrating) the store and syncs users.toml into it,
 * before the privilege drop; the connection stays open for reloads. */
static int open_store(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct store_err serr;
	int64_t v = 0;
	char err[256];
	int r;

	if (store_open(cfg->database, &srv->store, &serr) != STORE_OK ||
	    store_migrate(srv->store, &serr) != STORE_OK ||
	    store_schema_version(srv->store, &v, &serr) != STORE_OK) {
		log_error(LOG_GROUP_CORE, "store: %s", serr.msg);
		return -EIO;
	}
	r = sync_users(srv, cfg->users, cfg->n_users, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "store: %s", err);
		return r;
	}
	log_info(LOG_GROUP_CORE, "store: %s (sqlite, schema %lld)", cfg->database, (long long)v);
	return open_usage_writer(srv);
}

/* The store's files go to the service user, as the state file does, so
 * that SQLite, as that user, may reopen and replace its -wal and -shm. */
static int store_hand_over(const struct server *srv, uid_t uid, gid_t gid)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[PATH_MAX + 8];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", srv->cfg->database, suffix[i]);
		if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno != ENOENT) {
			log_error(LOG_GROUP_CORE, "cannot give %s to user %s: %s", path,
				  srv->cfg->user, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int load_users(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	char err[256];
	size_t skipped = 0;
	int r = users_build_from_store(&srv->users, srv->store, srv->priv, &srv->state, &skipped,
				       err, sizeof(err));

	if (r < 0) {
		log_error(LOG_GROUP_CORE, "users: %s", err);
		return r;
	}
	if (skipped)
		log_warn(LOG_GROUP_CORE,
			 "users: %zu enabled user(s) without an IPv4 address left out", skipped);
	r = accounting_init(srv, &srv->users);
	if (r < 0)
		return r;
	r = handshake_responder_init(&srv->responder, srv->priv, cfg->kem, users_lookup,
				     &srv->users);
	if (r == 0 && cfg->timestamp_window_s)
		srv->responder.timestamp_window_ns =
		    (uint64_t)cfg->timestamp_window_s * LL_NS_PER_S;
	log_info(LOG_GROUP_CORE, "%zu user(s) enabled", srv->users.n);
	return r;
}

static void tun_config_of(const struct server_config *cfg, struct tun_config *t)
{
	memset(t, 0, sizeof(*t));
	t->mtu = cfg->mtu;
	t->has_addr4 = cfg->tun_address.family == 4;
	memcpy(t->addr4, cfg->tun_address.addr, 4);
	t->prefix4 = cfg->tun_address.len;
	t->has_addr6 = cfg->enable_ipv6 && cfg->tun_address6.family == 6;
	memcpy(t->addr6, cfg->tun_address6.addr, 16);
	t->prefix6 = cfg->tun_address6.len;
}

/* The offloads (performance.tun_offload, dataplane/tunio.h): chosen
 * once, logged once. */
static int open_tun_offload(struct server *srv)
{
	char what[64];
	int r =
	    tunio_open(srv->cfg->tun_name, TUN_MULTI_QUEUE | TUN_EXCLUSIVE, srv->cfg->tun_offload,
		       srv->tun_name, &srv->tun_fd, &srv->shared.tun_offload, what, sizeof(what));

	if (r == 0)
		log_info(LOG_GROUP_TUN, "tun offload: %s", what);
	return r;
}

/* A new device (IFF_TUN_EXCL): a device of that name already there is
 * another server's (or another program's), never shared. */
static int open_tun(struct server *srv)
{
	struct tun_config t;
	int r = open_tun_offload(srv);

	if (r == -EBUSY) {
		log_error(LOG_GROUP_TUN,
			  "TUN device '%s' exists already: another lostlove-server (or another "
			  "program) uses it; stop it or choose another network.tun_name",
			  srv->cfg->tun_name);
		return r;
	}
	if (r < 0) {
		log_error(LOG_GROUP_TUN, "cannot create TUN device '%s': %s", srv->cfg->tun_name,
			  strerror(-r));
		return r;
	}
	tun_config_of(srv->cfg, &t);
	r = tun_configure(srv->tun_name, &t);
	if (r < 0)
		log_error(LOG_GROUP_TUN, "cannot configure %s: %s", srv->tun_name, strerror(-r));
	return r;
}

/* Largest datagram either way: a message 1 with ML-KEM, or a packet of
 * mtu bytes with header, padding and tags. */
static size_t buffer_size(const struct server_config *cfg)
{
	size_t data = TRANSPORT_HEADER_LEN + cfg->mtu + 15 + CIPHER_MAX_OVERHEAD;
	size_t need = data > INIT_LEN_KEM ? data : INIT_LEN_KEM;

	return (need + 63) & ~(size_t)63;
}

/* What the receive path needs to refuse a client's packet looped back
 * through the tunnel (rx.c) and oversized garbage. */
static void loop_guard_of(const struct server *srv, struct worker_shared *sh)
{
	const struct server_config *cfg = srv->cfg;
	struct router_pools *p = &sh->pools;

	sh->tun_ifindex = if_nametoindex(srv->tun_name);
	p->has4 = cfg->tun_address.family == 4;
	memcpy(p->net4, cfg->tun_address.addr, 4);
	p->len4 = cfg->tun_address.len;
	p->has6 = cfg->enable_ipv6 && cfg->tun_address6.family == 6;
	memcpy(p->net6, cfg->tun_address6.addr, 16);
	p->len6 = cfg->tun_address6.len;
	sh->mtu = (uint16_t)cfg->mtu;
	sh->max_transport =
	    TRANSPORT_HEADER_LEN + ((cfg->mtu + 15u) & ~15u) + cipher_overhead(cfg->mode);
}

/* [obfuscation] enabled with a stealth_mode other than off: the keys
 * from the server's public key, for the workers and the control thread. */
static int init_stealth(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct worker_shared *sh = &srv->shared;

	sh->stealth = STEALTH_MODE_OFF;
	if (!cfg->obfuscation_enabled || cfg->stealth_mode == STEALTH_OFF)
		return 0;
	sh->stealth =
	    cfg->stealth_mode == STEALTH_MAXIMUM ? STEALTH_MODE_MAXIMUM : STEALTH_MODE_STANDARD;
	if (stealth_keys_derive(&sh->stealth_keys, srv->pub) < 0)
		return -EIO;
	log_info(LOG_GROUP_CORE, "stealth framing: %s",
		 sh->stealth == STEALTH_MODE_MAXIMUM ? "maximum" : "standard");
	return stealth_ctx_init(&srv->stealth, &sh->stealth_keys);
}

static int init_shared(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct worker_shared *sh = &srv->shared;
	size_t per_worker = cfg->buffer_pool_size / srv->n_workers;

	sh->sessions = &srv->sessions;
	sh->hs_queue = &srv->hs_queue;
	sh->client_to_client = cfg->client_to_client;
	sh->buf_size = buffer_size(cfg);
	sh->pool_count = per_worker > 8 * UDP_BATCH ? per_worker : 8 * UDP_BATCH;
	sh->hs_proven = &srv->hs_proven;
	sh->hs_unproven = &srv->hs_unproven;
	sh->cookie_limit = &srv->cookie_limit;
	sh->cookie = &srv->cookie;
	memcpy(sh->server_pub, srv->pub, 32);
	sh->fair_queue = cfg->fair_queue;
	if (rng_fill(&rng_system, (uint8_t *)sh->fq_key, sizeof(sh->fq_key)) < 0) {
		log_error(LOG_GROUP_CORE, "cannot key the fair queue: no random bytes");
		return -EIO;
	}
	loop_guard_of(srv, sh);
	if (init_stealth(srv) < 0) {
		log_error(LOG_GROUP_CORE, "cannot set up stealth framing");
		return -ENOMEM;
	}
	if (cfg->buffer_size && cfg->buffer_size < sh->buf_size) {
		log_error(LOG_GROUP_CORE, "buffer_size %u is below the %zu bytes mtu %u needs",
			  cfg->buffer_size, sh->buf_size, cfg->mtu);
		return -EINVAL;
	}
	sh->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return sh->notify_fd < 0 ? -errno : 0;
}

/* The handshake guards all workers share: the limiters (proven and
 * unproven sources, cookie replies) and one cookie secret. */
static int init_guards(struct server *srv)
{
	uint32_t rate = srv->cfg->handshakes_per_ip_per_s;
	uint64_t seed;
	int r = rng_fill(&rng_system, (uint8_t *)&seed, sizeof(seed));

	if (r == 0)
		r = ratelimit_init(&srv->hs_proven, HS_LIMIT_SIZE, rate, HS_LIMIT_BURST, seed);
	if (r == 0)
		r = ratelimit_init(&srv->hs_unproven, HS_LIMIT_SIZE, rate, HS_LIMIT_BURST, ~seed);
	if (r == 0)
		r = ratelimit_init(&srv->cookie_limit, HS_LIMIT_SIZE, rate, HS_LIMIT_BURST,
				   seed * 3);
	if (r == 0)
		r = cookie_secrets_init(&srv->cookie, loop_now_ns(), &rng_system);
	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot set up the handshake guards: %s", strerror(-r));
	return r;
}

static int open_udp(const struct server_config *cfg, int *ret_fd)
{
	struct udp_endpoint ep;
	/* pktinfo: bound to a wildcard address, answer from the one the
	 * client sent to */
	struct udp_options o = {
	    .reuseport = true, .gro = true, .pktinfo = true, .buffer_bytes = SOCKET_BUFFER};
	int r = udp_endpoint_parse(&ep, cfg->bind_address, cfg->port);

	if (r == 0)
		r = udp_open(&ep, &o, ret_fd);
	if (r < 0)
		log_error(LOG_GROUP_UDP, "cannot listen on %s port %u: %s", cfg->bind_address,
			  cfg->port, strerror(-r));
	return r;
}

/* TUN queue i: queue 0 is the one that created the device (it passes to
 * worker 0); the others attach to it. */
static int tun_queue(struct server *srv, unsigned i, int *ret_fd)
{
	char name[IFNAMSIZ];
	int r;

	if (i == 0) {
		*ret_fd = srv->tun_fd;
		srv->tun_fd = -1;
		return 0;
	}
	/* IFF_VNET_HDR is the device's: every queue asks for it, or clears it */
	r = tun_open(srv->tun_name, TUN_MULTI_QUEUE | (srv->shared.tun_offload ? TUN_VNET_HDR : 0),
		     name, ret_fd);
	if (r < 0)
		log_error(LOG_GROUP_TUN, "cannot attach TUN queue %u: %s", i, strerror(-r));
	return r;
}

/* One process per port (udp.h): nobody may hold it before the workers'
 * SO_REUSEPORT sockets are bound (probe_port), nor have joined them after
 * (check_port). */
static int port_error(const struct udp_endpoint *ep, int r, const char *when)
{
	char addr[UDP_ENDPOINT_STR_MAX];

	if (r == -EADDRINUSE)
		log_error(LOG_GROUP_UDP, "UDP %s is in use by another process%s",
			  udp_endpoint_str(ep, addr), when);
	else if (r < 0)
		log_error(LOG_GROUP_UDP, "cannot listen on UDP %s: %s", udp_endpoint_str(ep, addr),
			  strerror(-r));
	return r;
}

static int probe_port(const struct server_config *cfg)
{
	struct udp_endpoint ep;
	int r = udp_endpoint_parse(&ep, cfg->bind_address, cfg->port);

	return r < 0 ? r : port_error(&ep, udp_port_probe(&ep), "");
}

static int check_port(const struct server *srv)
{
	int fds[UDP_PORT_FDS_MAX];
	unsigned n = srv->n_workers < UDP_PORT_FDS_MAX ? srv->n_workers : UDP_PORT_FDS_MAX;
	struct udp_endpoint ep;
	int r = udp_endpoint_parse(&ep, srv->cfg->bind_address, srv->cfg->port);

	for (unsigned i = 0; i < n; i++)
		fds[i] = srv->workers[i].udp_fd;
	return r < 0 ? r
		     : port_error(&ep, udp_port_shared(&ep, fds, n),
				  " (it bound the port while this server started)");
}

/* Worker i gets a UDP socket of its own and TUN queue i; its thread
 * starts later (start_workers), once privileges are dropped. */
static int open_worker(struct server *srv, unsigned i)
{
	int udp_fd, tun_fd, r = tun_queue(srv, i, &tun_fd);

	if (r < 0)
		return r;
	r = open_udp(srv->cfg, &udp_fd);
	if (r < 0) {
		close(tun_fd);
		return r;
	}
	r = worker_init(&srv->workers[i], i, &srv->shared, udp_fd, tun_fd);
	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot set up worker %u: %s", i, strerror(-r));
	return r;
}

/* Per stream: what may wait for the front thread to write (a burst of
 * about 170 full packets), and each worker's inbox of packets read. */
#define STREAM_RING_BYTES (256 * 1024)
#define STREAM_INBOX_LEN  512

/* The stream paths of the TCP front (dataplane/stream.h): the workers' inboxes
 * and the hub, before the workers (they read their inbox). */
static int init_streams(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct stream_hub_config hc = {
	    .server_pub = srv->pub,
	    .max_streams = cfg->front_max_connections ? cfg->front_max_connections : 1024,
	    .ring_bytes = STREAM_RING_BYTES,
	    .hs_queue = &srv->hs_queue,
	    .n_inboxes = srv->n_workers,
	    .hs_proven = &srv->hs_proven,
	    .cookie = &srv->cookie,
	    .pools = &srv->shared.pools,
	    .server_header = "nginx/1.22.1",
	    .stealth = srv->shared.stealth != STEALTH_MODE_OFF,
	};
	int r = 0;

	srv->stream_inboxes = calloc(srv->n_workers, sizeof(*srv->stream_inboxes));
	if (!srv->stream_inboxes)
		return -ENOMEM;
	for (unsigned i = 0; i < srv->n_workers; i++)
		srv->stream_inboxes[i].wake_fd = -1;
	for (unsigned i = 0; i < srv->n_workers && r == 0; i++)
		r = queue_init(&srv->stream_inboxes[i], STREAM_INBOX_LEN,
			       sizeof(struct stream_pkt));
	hc.inboxes = srv->stream_inboxes;
	srv->streams = r == 0 ? stream_hub_new(&hc) : NULL;
	if (!srv->streams) {
		log_error(LOG_GROUP_CORE, "cannot set up the stream paths: %s",
			  strerror(r < 0 ? -r : ENOMEM));
		return r < 0 ? r : -ENOMEM;
	}
	srv->shared.streams = srv->streams;
	srv->shared.stream_inboxes = srv->stream_inboxes;
	return 0;
}

/* The front's listening socket, bound while the server is root. */
static int listen_front(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct udp_endpoint ep;
	int one = 1, fd, r;

	if (cfg->protocol == PROTOCOL_UDP)
		return 0;
	r = udp_endpoint_parse(&ep, cfg->bind_address, cfg->port);
	if (r < 0)
		return r;
	fd = socket(ep.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &ep.sa, ep.len) < 0 || listen(fd, 511) < 0) {
		r = -errno;
		close(fd);
		log_error(LOG_GROUP_CORE, "cannot listen on %s TCP port %u: %s", cfg->bind_address,
			  cfg->port, strerror(-r));
		return r;
	}
	srv->front_fd = fd;
	return 0;
}

/* The TCP front on the server's port, with the stream hub as its upgrade
 * callback. Opened while the server is still root (front_open: it reads
 * the certificate and key, which may be root's alone, and resolves
 * fallback_site, which needs sockets the sandbox refuses); its thread is
 * started after the privilege drop (run_front), which needs the process
 * to have one thread; the sandbox's filter covers it (inherited). */
static int open_front(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct front_config fc;
	char err[256] = "";

	if (cfg->protocol == PROTOCOL_UDP)
		return 0;
	front_config_defaults(&fc);
	fc.listen_fd = srv->front_fd;
	fc.tls = cfg->front_tls;
	fc.cert_file = cfg->tls_certificate_file;
	fc.key_file = cfg->tls_key_file;
	fc.proxy_protocol = cfg->proxy_protocol;
	fc.fallback_site = cfg->fallback_site;
	if (cfg->front_max_connections)
		fc.max_conns = cfg->front_max_connections;
	if (cfg->front_header_timeout_s)
		fc.header_timeout_ms = fc.handshake_timeout_ms = cfg->front_header_timeout_s * 1000;
	if (cfg->front_keepalive_timeout_s)
		fc.keepalive_timeout_ms = cfg->front_keepalive_timeout_s * 1000;
	srv->front = front_open(&fc, err, sizeof(err));
	if (!srv->front) {
		log_error(LOG_GROUP_CORE, "cannot start the TCP front on port %u: %s", cfg->port,
			  err);
		return -EIO;
	}
	srv->front_fd = -1; /* the front's now */
	return 0;
}

static int run_front(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	int r;

	if (!srv->front)
		return 0;
	stream_hub_attach(srv->streams, srv->front);
	r = front_run(srv->front);
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "cannot start the TCP front's thread: %s", strerror(-r));
		return r;
	}
	log_info(LOG_GROUP_CORE, "front: tcp %s:%u (%s, %s)", cfg->bind_address, cfg->port,
		 cfg->front_tls ? "tls" : "plain http",
		 cfg->fallback_site[0] ? cfg->fallback_site : "nginx mimic");
	return 0;
}

static void stop_streams(struct server *srv)
{
	if (srv->front)
		front_stop(srv->front);
	srv->front = NULL;
	if (srv->front_fd >= 0)
		close(srv->front_fd);
	srv->front_fd = -1;
	stream_hub_free(srv->streams);
	srv->streams = srv->shared.streams = NULL;
	for (unsigned i = 0; srv->stream_inboxes && i < srv->n_workers; i++)
		if (srv->stream_inboxes[i].slots)
			queue_done(&srv->stream_inboxes[i]);
	free(srv->stream_inboxes);
	srv->stream_inboxes = srv->shared.stream_inboxes = NULL;
}

/* Whether the workers loop on io_uring (all or none: one kernel, one
 * answer), said once at start. */
static bool workers_on_uring(const struct server *srv)
{
	return srv->n_workers && strcmp(loop_backend_name(srv->workers[0].loop), "io_uring") == 0;
}

static void log_event_loop(const struct server *srv)
{
	int refused = srv->n_workers ? srv->workers[0].uring_refused : 0;

	if (refused)
		log_warn(LOG_GROUP_IO, "event loop: epoll (io_uring refused: %s)",
			 strerror(refused));
	else
		log_info(LOG_GROUP_IO, "event loop: %s",
			 workers_on_uring(srv) ? "io_uring" : "epoll");
}

static int open_workers(struct server *srv)
{
	int r = 0;

	srv->n_workers = srv->cfg->worker_threads ? srv->cfg->worker_threads : 1;
	srv->workers = calloc(srv->n_workers, sizeof(*srv->workers));
	if (!srv->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < srv->n_workers; i++)
		srv->workers[i].udp_fd = srv->workers[i].tun_fd = -1;
	r = init_shared(srv);
	if (r == 0)
		r = init_guards(srv);
	if (r == 0 && srv->cfg->protocol != PROTOCOL_UDP)
		r = init_streams(srv);
	srv->shared.io_uring = srv->cfg->io_uring;
	for (unsigned i = 0; i < srv->n_workers && r == 0; i++)
		r = open_worker(srv, i);
	if (r == 0)
		r = check_port(srv);
	if (r == 0)
		log_event_loop(srv);
	return r;
}

static int start_workers(struct server *srv)
{
	for (unsigned i = 0; i < srv->n_workers; i++) {
		int r = worker_start(&srv->workers[i]);
		if (r < 0) {
			log_error(LOG_GROUP_CORE, "cannot start worker %u: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void firewall_spec_of(const struct server *srv, struct firewall_spec *s)
{
	const struct server_config *cfg = srv->cfg;

	memset(s, 0, sizeof(*s));
	snprintf(s->tun_name, sizeof(s->tun_name), "%s", srv->tun_name);
	snprintf(s->egress_interface, sizeof(s->egress_interface), "%s", cfg->egress_interface);
	memcpy(s->pool4, cfg->tun_address.addr, 4);
	s->pool4_len = cfg->tun_address.len;
	s->has_pool6 = cfg->enable_ipv6 && cfg->tun_address6.family == 6;
	memcpy(s->pool6, cfg->tun_address6.addr, 16);
	s->pool6_len = cfg->tun_address6.len;
	s->client_to_client = cfg->client_to_client;
	s->port = cfg->port;
	s->tcp_front = cfg->protocol != PROTOCOL_UDP; /* the front: TCP on the same port */
	for (unsigned i = 0; i < cfg->n_dns && i < FIREWALL_MAX_DNS; i++) {
		s->dns[s->n_dns].family = cfg->dns[i].family == 4 ? AF_INET : AF_INET6;
		memcpy(s->dns[s->n_dns++].addr, cfg->dns[i].addr, 16);
	}
	for (unsigned i = 0; i < CONFIG_MAX_OPEN_PORTS && cfg->tunnel_open_ports[i].proto; i++) {
		const struct config_port_range *p = &cfg->tunnel_open_ports[i];
		s->open_ports[s->n_open_ports++] = (struct firewall_ports){p->proto, p->lo, p->hi};
	}
}

static int setup_firewall(struct server *srv)
{
	struct firewall_spec spec;
	char err[256] = "";
	int r;

	if (srv->cfg->firewall != FIREWALL_NFTABLES)
		return 0;
	firewall_spec_of(srv, &spec);
	r = firewall_setup(&srv->fw, &spec, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "firewall: %s", err);
		return r;
	}
	srv->fw_up = true;
	return 0;
}

/* ---- webhooks ---- */

/* The signing secret: the file's bytes without trailing white space, 16
 * to WEBHOOK_SECRET_MAX of them, in a file no one but its owner may read
 * or write (it signs what the receiver will trust). */
static int read_secret(const char *path, uint8_t *buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0) {
		r = -errno;
		log_error(LOG_GROUP_CORE, "webhooks.secret_file %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		close(fd);
		log_error(LOG_GROUP_CORE,
			  "webhooks.secret_file %s: others may read or write it: chmod 600 %s",
			  path, path);
		return -EPERM;
	}
	n = read(fd, buf, WEBHOOK_SECRET_MAX + 1);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\t'))
		n--;
	if (n < 16 || n > WEBHOOK_SECRET_MAX) {
		log_error(LOG_GROUP_CORE,
			  "webhooks.secret_file %s: the secret must be 16 to %d bytes (e.g. "
			  "'openssl rand -hex 32')",
			  path, WEBHOOK_SECRET_MAX);
		ct_wipe(buf, WEBHOOK_SECRET_MAX + 1);
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

/* As root, single-threaded: the secret (perhaps root's alone), libcurl's
 * global state, the node name (gethostname: uname, which the sandbox
 * refuses later). */
static int open_webhooks(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	uint8_t secret[WEBHOOK_SECRET_MAX + 1];
	char node[WEBHOOK_NODE_MAX + 1] = "", err[256] = "";
	struct webhook_config wc = {
	    .url = cfg->webhook_url,
	    .secret = secret,
	    .events = cfg->webhook_events,
	    .timeout_s = cfg->webhook_timeout_s,
	    .max_queue = cfg->webhook_max_queue,
	    .max_age_s = cfg->webhook_max_age_s,
	    .node = node,
	    .tls_verify = cfg->webhook_tls_verify,
	    .ca_file = cfg->webhook_ca_file,
	};
	int r;

	if (!cfg->webhook_url[0])
		return 0;
	r = read_secret(cfg->webhook_secret_file, secret, &wc.secret_len);
	if (r < 0)
		return r;
	if (cfg->webhook_node[0])
		snprintf(node, sizeof(node), "%s", cfg->webhook_node);
	else if (gethostname(node, sizeof(node) - 1) < 0)
		snprintf(node, sizeof(node), "lostlove");
	srv->webhook = webhook_new(&wc, err, sizeof(err));
	ct_wipe(secret, sizeof(secret));
	if (!srv->webhook) {
		log_error(LOG_GROUP_CORE, "webhooks: %s", err);
		return -EINVAL;
	}
	if (!cfg->webhook_tls_verify)
		log_warn(LOG_GROUP_CORE,
			 "webhooks.tls_verify = false: anyone on the path to %s "
			 "can read and answer the events",
			 cfg->webhook_url);
	return 0;
}

/* After the drop (a thread): the webhook thread's own connection to the
 * store (storage/store.h: one per thread), whose outbox table holds the
 * events until they are delivered, then the thread. */
static int start_webhooks(struct server *srv)
{
	struct webhook_outbox *ob = NULL;
	char err[STORE_ERR_LEN + 64];
	int r;

	if (!srv->webhook)
		return 0;
	r = webhook_outbox_store(srv->cfg->database, &ob, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "webhooks: the store's outbox: %s", err);
		return r;
	}
	r = webhook_start(srv->webhook, ob);
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "cannot start the webhook thread: %s", strerror(-r));
		return r;
	}
	log_info(LOG_GROUP_CORE, "webhooks: to %s, outbox in %s", srv->cfg->webhook_url,
		 srv->cfg->database);
	return 0;
}

bool server_wants(const struct server *srv, int webhook_type)
{
	return webhook_wants(srv->webhook, (enum webhook_type)webhook_type);
}

bool server_emit_queued(struct server *srv, struct webhook_event *e)
{
	if (!srv->webhook)
		return false;
	e->time = (int64_t)time(NULL);
	return webhook_emit(srv->webhook, e);
}

void server_emit(struct server *srv, struct webhook_event *e)
{
	(void)server_emit_queued(srv, e);
}

void server_emit_quota_exceeded(struct server *srv, const char *user, int64_t used, int64_t limit,
				const char *action)
{
	struct webhook_event e = {
	    .type = WEBHOOK_USER_QUOTA_EXCEEDED, .used = used, .limit = limit};

	snprintf(e.user, sizeof(e.user), "%s", user);
	snprintf(e.reason, sizeof(e.reason), "%s", action);
	server_emit(srv, &e);
}

void server_emit_expired(struct server *srv, const char *user, int64_t expires_at)
{
	struct webhook_event e = {.type = WEBHOOK_USER_EXPIRED, .limit = expires_at};

	snprintf(e.user, sizeof(e.user), "%s", user);
	server_emit(srv, &e);
}

void server_event_endpoint(const struct udp_endpoint *ep, char *addr, size_t len, uint16_t *port)
{
	const struct in6_addr *a6 = &ep->in6.sin6_addr;

	addr[0] = '\0';
	*port = 0;
	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in4.sin_addr, addr, (socklen_t)len);
		*port = ntohs(ep->in4.sin_port);
	} else if (ep->sa.sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], addr, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a6, addr, (socklen_t)len);
		*port = ntohs(ep->in6.sin6_port);
	}
}

/* ---- privileges ---- */

/* What the service user needs later, checked as that user (ACLs count):
 * to replace the state file in its directory, and to re-read users.toml
 * on SIGHUP. The daemon changes no permissions of its own accord (the
 * directory may be /etc): it names the fix. */
static int check_access(const struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	const char *grp = cfg->group[0] ? cfg->group : cfg->user;
	char copy[PATH_MAX];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", srv->state.path);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) != 0) {
		log_error(
		    LOG_GROUP_CORE,
		    "%s: user %s cannot write this directory, where it replaces %s: 'chgrp %s "
		    "%s && chmod 1770 %s' (docs/configuration.md)",
		    dir, cfg->user, STATE_FILE, grp, dir, dir);
		return -EACCES;
	}
	snprintf(copy, sizeof(copy), "%s", cfg->database);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) != 0 || access(cfg->database, R_OK | W_OK) != 0) {
		log_error(LOG_GROUP_CORE,
			  "%s: user %s cannot write the store or its directory, where SQLite "
			  "replaces its -wal and -shm files: 'chgrp %s %s && chmod 1770 %s' "
			  "(docs/storage.md)",
			  cfg->database, cfg->user, grp, dir, dir);
		return -EACCES;
	}
	if (access(cfg->users_file, R_OK) != 0 && errno != ENOENT) {
		log_error(LOG_GROUP_CORE,
			  "%s: user %s cannot read it, and SIGHUP re-reads it: 'chgrp %s %s && "
			  "chmod 0640 %s' (docs/configuration.md)",
			  cfg->users_file, cfg->user, grp, cfg->users_file, cfg->users_file);
		return -EACCES;
	}
	return 0;
}

/* The resolver's system calls, only for a webhook URL that names a host
 * (docs/webhooks.md, "Sandbox"). */
static unsigned resolver_extras(const struct server_config *cfg)
{
	return cfg->webhook_url[0] && webhook_url_names_host(cfg->webhook_url) ? SANDBOX_RESOLVER
									       : 0;
}

/* The last step as root, while the process has one thread: the state
 * file goes to the service user, then the drop, the checks, the filter. */
static int enter_sandbox(struct server *srv, const struct sandbox_ids *ids)
{
	char err[256];
	int r;

	if (!ids->drop)
		return 0;
	r = state_hand_over(&srv->state, ids->uid, ids->gid);
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "cannot give %s to user %s: %s", srv->state.path,
			  srv->cfg->user, strerror(-r));
		return r;
	}
	r = store_hand_over(srv, ids->uid, ids->gid);
	if (r < 0)
		return r;
	r = sandbox_drop(ids, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "cannot drop privileges: %s", err);
		return r;
	}
	r = check_access(srv);
	if (r == 0)
		r = sandbox_filter_with(SANDBOX_SERVER,
					resolver_extras(srv->cfg) |
					    (workers_on_uring(srv) ? SANDBOX_IO_URING : 0),
					err, sizeof(err));
	if (r < 0 && r != -EACCES)
		log_error(LOG_GROUP_CORE, "%s", err);
	if (r == 0)
		log_info(LOG_GROUP_CORE,
			 "running as user %s (uid %u, gid %u) with CAP_NET_ADMIN only, system "
			 "calls filtered",
			 srv->cfg->user, (unsigned)ids->uid, (unsigned)ids->gid);
	return r;
}

/* ---- the control loop ---- */

static void log_diag(const struct config_diag *diag)
{
	const char *p = diag->text;

	while (p && *p) {
		size_t n = strcspn(p, "\n");
		log_error(LOG_GROUP_CORE, "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* SIGHUP: a new user table, or the old one kept if anything is wrong. */
int server_reload_users(struct server *srv)
{
	struct config_user *list = NULL;
	struct config_diag diag = {0};
	struct users fresh;
	char err[256];
	size_t n = 0;
	unsigned ended;
	int r = -EINVAL;

	if (server_config_load_users(srv->cfg, &list, &n, &diag) < 0) {
		log_error(LOG_GROUP_CORE, "reload failed; keeping the current users");
		log_diag(&diag);
		goto out;
	}
	if (sync_users(srv, list, n, err, sizeof(err)) < 0 ||
	    users_rebuild_from_store(&fresh, srv->store, srv->priv, &srv->state, &srv->users, NULL,
				     err, sizeof(err)) < 0) {
		log_error(LOG_GROUP_CORE, "reload failed (%s); keeping the current users", err);
		goto out;
	}
	if (accounting_rebind(srv, &fresh) < 0) {
		log_error(LOG_GROUP_CORE,
			  "reload failed (out of memory); keeping the current users");
		users_free(&fresh);
		goto out;
	}
	ended = registry_rebind(srv, &fresh);
	accounting_release(srv, &srv->users); /* after their sessions: see accounting.h */
	users_free(&srv->users);
	srv->users = fresh;
	log_info(LOG_GROUP_CORE, "reloaded users: %zu enabled, %u session(s) ended", fresh.n,
		 ended);
	r = 0;
out:
	server_config_free_users(list, n);
	config_diag_free(&diag);
	return r;
}

static void on_signal(struct loop *l, struct loop_op *op, int res)
{
	struct server *srv = op->ctx;

	if (res != (int)sizeof(srv->sig_buf))
		return;
	switch (srv->sig_buf.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_info(LOG_GROUP_CORE, "stopping (%s)", strsignal((int)srv->sig_buf.ssi_signo));
		loop_stop(l);
		break;
	case SIGHUP:
		(void)server_reload_users(srv);
		break;
	case SIGUSR2: /* only in the mask of a test build (test_clock_hook) */
		srv->clock_offset_s += srv->clock_step_s;
		log_info(LOG_GROUP_CORE, "test clock: +%lld s", (long long)srv->clock_offset_s);
		accounting_tick(srv);
		break;
	}
}

static void on_stats(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	(void)res;
	server_log_stats(op->ctx);
}

static void on_handshakes(struct loop *l, struct loop_op *op, int res)
{
	struct server *srv = op->ctx;
	uint64_t one = 1;

	(void)l;
	(void)res;
	for (int i = 0; i < HS_BATCHES_PER_RUN; i++)
		if (admission_run(srv) == 0)
			return;
	if (queue_len(&srv->hs_queue))
		(void)!write(srv->hs_queue.wake_fd, &one, sizeof(one)); /* come back next turn */
}

static void on_notify(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	(void)res;
	registry_promote(op->ctx, loop_now_ns());
}

static void on_tick(struct loop *l, void *ctx)
{
	struct server *srv = ctx;

	(void)l;
	timers_tick(srv);
	accounting_tick(srv);
	admission_report_suppressed(srv, loop_now_ns());
	monitor_tick(srv);
	(void)cookie_secrets_tick(&srv->cookie, loop_now_ns(), &rng_system);
	if (++srv->ticks % STATS_EVERY_TICKS == 0 &&
	    log_is_enabled(LOG_GROUP_CORE, LOG_LEVEL_DEBUG))
		server_log_stats(srv);
}

static void on_commands(struct loop *l, struct loop_op *op, int res)
{
	(void)l;
	(void)res;
	srvcmd_run(op->ctx);
}

static int submit_read(struct server *srv, struct loop_op *op, int fd, uint64_t *buf,
		       loop_done_fn fn)
{
	*op = (struct loop_op){.kind = LOOP_OP_READ,
			       .fd = fd,
			       .buf = buf,
			       .len = sizeof(*buf),
			       .done = fn,
			       .ctx = srv};
	return loop_submit(srv->loop, op);
}

static int start_loop(struct server *srv)
{
	int r;

	srv->loop = loop_new();
	if (!srv->loop)
		return -errno;
	srv->signal_op = (struct loop_op){.kind = LOOP_OP_READ,
					  .fd = srv->signal_fd,
					  .buf = &srv->sig_buf,
					  .len = sizeof(srv->sig_buf),
					  .done = on_signal,
					  .ctx = srv};
	r = loop_submit(srv->loop, &srv->signal_op);
	if (r == 0)
		r = submit_read(srv, &srv->hs_op, srv->hs_queue.wake_fd, &srv->hs_buf,
				on_handshakes);
	if (r == 0)
		r = submit_read(srv, &srv->notify_op, srv->shared.notify_fd, &srv->notify_buf,
				on_notify);
	if (r == 0)
		r = submit_read(srv, &srv->stats_op, srv->stats_fd, &srv->stats_buf, on_stats);
	if (r == 0)
		r = submit_read(srv, &srv->cmd_op, srv->cmds.wake_fd, &srv->cmd_buf, on_commands);
	loop_set_tick(srv->loop, TIMERS_TICK_MS, on_tick, srv);
	return r;
}

static int setup(struct server *srv)
{
	struct sandbox_ids ids;
	int r = sandbox_resolve("server", srv->cfg->user, srv->cfg->group, &ids);

	if (r == 0)
		r = load_key(srv);
	if (r == 0)
		r = load_state(srv); /* and the lock of its directory */
	if (r == 0)
		r = open_store(srv); /* users.toml synced into it */
	if (r == 0)
		r = load_users(srv);
	if (r == 0)
		r = hsq_init(&srv->hs_queue, HS_QUEUE_LEN);
	if (r == 0)
		r = cmdq_init(&srv->cmds, CMDQ_LEN);
	if (r == 0)
		r = probe_port(srv->cfg);
	if (r == 0)
		r = open_tun(srv);
	if (r == 0)
		r = open_workers(srv);
	if (r == 0)
		r = setup_firewall(srv);
	if (r == 0)
		r = start_loop(srv);
	/* as root: the port may be below 1024 */
	if (r == 0)
		r = listen_front(srv);
	if (r == 0)
		r = open_front(srv);
	if (r == 0 && srv->addon) {
		srv->addon_opened = true;
		r = srv->addon->open(srv);
	}
	if (r == 0)
		r = open_webhooks(srv);
	if (r == 0)
		r = monitor_listen(srv);
	if (r == 0)
		r = enter_sandbox(srv, &ids);
	/* threads from here on: they inherit the sandbox */
	if (r == 0)
		r = session_table_init(&srv->sessions); /* liburcu's resize worker */
	if (r == 0)
		r = start_workers(srv);
	if (r == 0)
		r = run_front(srv);
	if (r == 0)
		r = start_webhooks(srv);
	if (r == 0)
		r = start_usage_writer(srv);
	if (r == 0)
		r = monitor_start(srv);
	if (r == 0 && srv->addon)
		r = srv->addon->start(srv);
	return r;
}

/* ---- shutdown ---- */

static void stop_data_plane(struct server *srv)
{
	char err[256] = "";

	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_stop(&srv->workers[i]);
	if (srv->fw_up && firewall_teardown(&srv->fw, err, sizeof(err)) < 0)
		log_error(LOG_GROUP_CORE, "firewall teardown: %s", err);
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_done(&srv->workers[i]);
	free(srv->workers);
	stop_streams(srv);
	ratelimit_done(&srv->hs_proven);
	ratelimit_done(&srv->hs_unproven);
	ratelimit_done(&srv->cookie_limit);
	cookie_secrets_done(&srv->cookie);
	stealth_ctx_done(&srv->stealth);
	stealth_keys_wipe(&srv->shared.stealth_keys);
	if (srv->tun_fd >= 0)
		close(srv->tun_fd);
}

static void teardown(struct server *srv)
{
	int r;

	/* no caller waits on a loop that stopped turning */
	cmdq_close(&srv->cmds);
	monitor_stop(srv); /* no scrape reads the workers after this */
	if (srv->addon_opened)
		srv->addon->stop(srv);
	if (srv->workers && srv->sessions.by_index)
		registry_retire_all(srv, DISCONNECT_SHUTDOWN);
	/* after the last events (the disconnects above): what is queued goes
	 * into the outbox, delivered at the next start */
	webhook_free(srv->webhook);
	srv->webhook = NULL;
	front_stop(srv->front); /* no stream reaches a worker after this */
	srv->front = NULL;
	stop_data_plane(srv);
	monitor_free(srv);
	urcu_memb_barrier(); /* every session freed: their last bytes are in */
	accounting_done(srv);
	usage_writer_free(srv->usage_writer); /* drains: the final batch is written */
	srv->usage_writer = NULL;
	server_set_usage_sink(NULL, NULL);
	if (srv->sessions.by_index)
		session_table_done(&srv->sessions);
	r = srv->state.path[0] ? state_save(&srv->state) : 0;
	if (r < 0)
		log_error(LOG_GROUP_CORE, "cannot write %s: %s", srv->state.path, strerror(-r));
	state_free(&srv->state);
	handshake_responder_done(&srv->responder);
	accounting_free_all(&srv->users);
	users_free(&srv->users);
	store_close(srv->store);
	srv->store = NULL;
	queue_done(&srv->hs_queue);
	loop_free(srv->loop);
	cmdq_done(&srv->cmds);
	if (srv->shared.notify_fd >= 0)
		close(srv->shared.notify_fd);
	if (srv->signal_fd >= 0)
		close(srv->signal_fd);
	signal(SIGUSR1, SIG_IGN);
	if (srv->stats_fd >= 0)
		close(srv->stats_fd);
	ct_wipe(srv->priv, sizeof(srv->priv));
}

int server_run(const struct server_config *cfg, const struct server_addon *addon)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int r;

	if (!srv)
		return 1;
	srv->cfg = cfg;
	srv->addon = addon;
	srv->signal_fd = srv->tun_fd = srv->hs_queue.wake_fd = srv->shared.notify_fd = -1;
	srv->stats_fd = srv->state.lock_fd = srv->front_fd = srv->cmds.wake_fd = -1;
	/* before any thread exists, liburcu's included: they inherit the mask */
	r = block_signals(srv);
	urcu_memb_register_thread();
	if (r == 0)
		r = setup(srv);
	if (r == 0) {
		srv->started_ns = loop_now_ns();
		log_info(LOG_GROUP_CORE, "ready: udp %s:%u tun %s", cfg->bind_address, cfg->port,
			 srv->tun_name);
		r = loop_run(srv->loop);
	}
	teardown(srv);
	urcu_memb_unregister_thread();
	free(srv);
	return r == 0 ? 0 : 1;
}

/* ---- for the other control-thread modules ---- */

/* Sends a sealed packet on the path session_seal chose: the connection of
 * a WebSocket path (dataplane/stream.h), or the UDP socket from the local
 * address the client used. Returns 0 or a negative errno. */
static int send_sealed(struct server *srv, struct session *s, const uint8_t *buf, size_t len,
		       const struct udp_endpoint *to, const struct udp_local *src)
{
	bool src_refused;
	int ret;

	if (stream_is(to)) {
		if (!srv->shared.streams)
			return -EPIPE;
		ret = stream_send(srv->shared.streams, stream_id_of(to), buf, len);
		return ret < 0 ? ret : 0;
	}
	ret = udp_send_from(srv->workers[0].udp_fd, buf, len, to, src, &src_refused);
	if (src_refused) {
		srv->src_refused++;
		session_forget_src(s, src);
	}
	return ret;
}

int server_send_plain(struct server *srv, struct session *s, const uint8_t *plain, size_t len)
{
	/* room for stealth's padding up to the largest MTU */
	uint8_t buf[TRANSPORT_HEADER_LEN + SERVER_MTU_MAX + 15 + CIPHER_MAX_OVERHEAD];
	struct udp_endpoint to;
	struct udp_local src;
	size_t out_len;
	enum transport_result r;

	if (len > SERVER_PLAIN_MAX)
		return -EMSGSIZE;
	if (!session_path_budget(s, len))
		return -EAGAIN; /* an unvalidated path (docs/protocol.md §6.3) */
	if (len)
		memcpy(buf + TRANSPORT_HEADER_LEN, plain, len);
	r = session_seal(s, buf, sizeof(buf), len, loop_now_ns(), &to, &src, &out_len);
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return -EKEYEXPIRED;
	return send_sealed(srv, s, buf, out_len, &to, &src);
}

int server_send_cover(struct server *srv, struct session *s)
{
	uint8_t buf[TRANSPORT_HEADER_LEN + SERVER_MTU_MAX + 15 + CIPHER_MAX_OVERHEAD];
	const struct stealth_buckets *b = &s->stealth_tx.buckets;
	struct udp_endpoint to;
	struct udp_local src;
	size_t out_len;
	enum transport_result r;
	int ret;

	if (!s->stealth || !b->n || !session_path_budget(s, b->size[b->n - 1]))
		return -EAGAIN;
	r = session_seal_cover(s, buf, sizeof(buf), loop_now_ns(), &to, &src, &out_len);
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return -EKEYEXPIRED;
	ret = send_sealed(srv, s, buf, out_len, &to, &src);
	if (ret == 0)
		srv->cover_sent++;
	return ret;
}

/* Appends to a line being built; cuts silently at the end. */
static void append(char *line, size_t cap, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *line, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	*pos = n < 0 ? cap : *pos + (size_t)n;
}

/* Handshake failures by reason (docs/protocol.md names them). */
static void append_failures(struct server *srv, char *line, size_t cap, size_t *pos)
{
	append(line, cap, pos, "; handshake failures:");
	for (int r = HS_OK + 1; r < SERVER_HS_RESULTS; r++)
		if (srv->hs_results[r])
			append(line, cap, pos, " %s=%" PRIu64,
			       handshake_result_name((enum handshake_result)r), srv->hs_results[r]);
	append(line, cap, pos, " (unproven sources %" PRIu64 ")", srv->auth_unproven);
}

/* The TCP front's upgrades by result, and the stream counters. */
static void append_streams(struct server *srv, char *line, size_t cap, size_t *pos)
{
	uint64_t up[UPGRADE_RESULT_COUNT], c[STREAM_C_COUNT];

	stream_hub_upgrades(srv->streams, up);
	stream_hub_counts(srv->streams, c);
	append(line, cap, pos, "; upgrades:");
	for (int i = 0; i < UPGRADE_RESULT_COUNT; i++)
		append(line, cap, pos, " %s=%" PRIu64, upgrade_result_name(i), up[i]);
	append(line, cap, pos, "; streams:");
	for (int i = 0; i < STREAM_C_COUNT; i++)
		if (c[i])
			append(line, cap, pos, " %s=%" PRIu64, stream_count_name(i), c[i]);
}

/* The TCP front's connections by outcome (front.h, struct front_stats):
 * what probers got, the non-zero ones. */
static void append_front(struct server *srv, char *line, size_t cap, size_t *pos)
{
	struct front_stats fs;
	uint64_t v[FRONT_STATS_N];

	front_stats(srv->front, &fs);
	memcpy(v, &fs, sizeof(v));
	append(line, cap, pos, "; front:");
	for (size_t i = 0; i < FRONT_STATS_N; i++)
		if (v[i])
			append(line, cap, pos, " %s=%" PRIu64, front_stat_name(i), v[i]);
}

/* The webhooks' counters: emitted, delivered, failed attempts, waiting in
 * the outbox, and dropped by reason. */
static void append_webhooks(struct server *srv, char *line, size_t cap, size_t *pos)
{
	struct webhook_stats st;

	webhook_stats(srv->webhook, &st);
	append(line, cap, pos,
	       "; webhooks: emitted=%" PRIu64 " delivered=%" PRIu64 " failed=%" PRIu64
	       " pending=%" PRIu64,
	       st.emitted, st.delivered, st.failed, st.pending);
	for (int d = 0; d < WEBHOOK_DROP_COUNT; d++)
		append(line, cap, pos, " dropped_%s=%" PRIu64,
		       webhook_drop_name((enum webhook_drop)d), st.dropped[d]);
}

/* The queues packets wait in outside the workers: the TUN device's rings
 * (txqueuelen, and what the kernel dropped for want of room: tx toward
 * the workers, rx from their writes) and the UDP sockets' buffers (and
 * the datagrams the kernel dropped for want of room in them, summed over
 * the workers). One netlink request and a getsockopt per worker. */
static void append_queues(const struct server *srv, char *line, size_t cap, size_t *pos)
{
	struct rtnl_link_queue q = {0};
	struct udp_queue u = {0}, sum = {0};
	struct worker_stats st = {0};

	(void)rtnl_link_queue((int)srv->shared.tun_ifindex, &q);
	for (unsigned i = 0; i < srv->n_workers; i++) {
		if (udp_queue_info(srv->workers[i].udp_fd, &u) < 0)
			continue;
		sum.rcvbuf = u.rcvbuf;
		sum.sndbuf = u.sndbuf;
		sum.drops += u.drops;
	}
	append(line, cap, pos,
	       "; queues: tun txqueuelen %" PRIu32 " tx_dropped %" PRIu64 " rx_dropped %" PRIu64
	       ", udp rcvbuf %" PRIu32 " sndbuf %" PRIu32 " drops %" PRIu32,
	       q.txqlen, q.tx_dropped, q.rx_dropped, sum.rcvbuf, sum.sndbuf, sum.drops);
	if (!srv->shared.fair_queue)
		return;
	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_stats_add(&srv->workers[i], &st);
	append(line, cap, pos,
	       ", fair queue backlog %" PRIu64 " ecn_marked %" PRIu64
	       " (drops fq_overlimit=%" PRIu64 " fq_codel=%" PRIu64 ")",
	       st.fq_backlog, st.fq_marked, st.drops[DP_DROP_FQ_OVERLIMIT],
	       st.drops[DP_DROP_FQ_CODEL]);
}

/* TUN offloads: super-packets read and their segments, super-packets
 * written and the packets merged into them, packets written alone for a
 * bad checksum, refused headers by reason. */
static void append_offload(const struct server *srv, const struct worker_stats *st, char *line,
			   size_t cap, size_t *pos)
{
	const struct tunio_stats *t = &st->tunio;

	if (!srv->shared.tun_offload) {
		append(line, cap, pos, "; offload: off");
		return;
	}
	append(line, cap, pos,
	       "; offload: tso_read %" PRIu64 " segments %" PRIu64 " gro_written %" PRIu64
	       " merged %" PRIu64 " csum_bad %" PRIu64,
	       t->supers, t->segments, t->gro_supers, t->gro_merged, t->csum_bad);
	for (int d = OFFLOAD_DROP_NONE + 1; d < OFFLOAD_DROP_COUNT; d++)
		if (t->drops[d])
			append(line, cap, pos, " %s=%" PRIu64,
			       offload_drop_name((enum offload_drop)d), t->drops[d]);
}

void server_log_stats(struct server *srv)
{
	struct worker_stats st = {0};
	char line[LOG_LINE_MAX - 64];
	size_t pos = 0;
	uint64_t failed = 0;

	for (unsigned i = 0; i < srv->n_workers; i++)
		worker_stats_add(&srv->workers[i], &st);
	for (int r = HS_OK + 1; r < SERVER_HS_RESULTS; r++)
		failed += srv->hs_results[r];
	append(line, sizeof(line), &pos,
	       "stats: users %u, sessions %zu, rx %" PRIu64 " pkt %" PRIu64 " B, tx %" PRIu64
	       " pkt %" PRIu64 " B, handshakes ok %" PRIu64 " failed %" PRIu64 " cookies %" PRIu64
	       " refused_full %" PRIu64 " src_refused %" PRIu64 " roams %" PRIu64
	       " path_reverts %" PRIu64 " cover %" PRIu64 " chaff %" PRIu64 "; drops:",
	       srv->connected, srv->sessions.count, st.rx_packets, st.rx_bytes, st.tx_packets,
	       st.tx_bytes, srv->hs_results[HS_OK], failed, st.cookie_replies, srv->hs_refused_full,
	       st.src_refused + srv->src_refused, st.roams, srv->path_reverts, srv->cover_sent,
	       st.chaff);
	dp_drop_format(st.drops, line, sizeof(line), &pos);
	append_queues(srv, line, sizeof(line), &pos);
	append_offload(srv, &st, line, sizeof(line), &pos);
	append_failures(srv, line, sizeof(line), &pos);
	if (srv->streams)
		append_streams(srv, line, sizeof(line), &pos);
	if (srv->front)
		append_front(srv, line, sizeof(line), &pos);
	if (srv->webhook)
		append_webhooks(srv, line, sizeof(line), &pos);
	append(line, sizeof(line), &pos,
	       "; limits: expired %" PRIu64 " quota %" PRIu64 " refused %" PRIu64
	       " device_limit %" PRIu64,
	       srv->acct_expired, srv->acct_quota, srv->acct_refused, srv->acct_device_refused);
	/* how the kernel spread handshakes over the workers' sockets */
	append(line, sizeof(line), &pos, "; initiations per worker:");
	for (unsigned i = 0; i < srv->n_workers; i++)
		append(line, sizeof(line), &pos, " %" PRIu64,
		       __atomic_load_n(&srv->workers[i].stats.initiations, __ATOMIC_RELAXED));
	log_info(LOG_GROUP_CORE, "%s", line);
}
