/* The sandbox (core/sandbox.c): a child under the server's or the client's
 * filter dies of SIGSYS on a system call outside the list (mount, setuid,
 * execve, and outside sanitizer builds ptrace and fork) and lives on
 * allowed ones, threads included, and the client's name lookups (as root);
 * the server's user store, opened before the filter, is used and closed
 * under it; the webhook thread delivers to a numeric URL under the server's
 * filter, and resolves a host name only with SANDBOX_RESOLVER (without it,
 * the lookup dies of SIGSYS);
 * clone3 answers ENOSYS; the lookup of the service user names the key and
 * the fix; and, as root, the drop gives exactly the documented ids,
 * capabilities and flags and refuses a process with a second thread. Every
 * case runs in a forked child: the filter and the drop cannot be undone.
 * Under valgrind, which does not pass seccomp filters through, the filter
 * cases skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "api/httpd.h"
#include "api/webhook.h"
#include "core/sandbox.h"
#include "io/loop.h"
#include "storage/store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* What a child does after the filter; its return value is its exit
 * status (0: all went as expected). */
typedef int (*child_fn)(void);

/* Runs fn in a child under profile's filter; returns its wait status.
 * Exit status 100: the filter could not be loaded. */
static int in_filtered_child(enum sandbox_profile profile, child_fn fn)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		if (sandbox_filter(profile, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			_exit(100);
		}
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_sigsys(int status, const char *what)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		return;
	print_error("%s: expected death by SIGSYS, got %s %d\n", what,
		    WIFSIGNALED(status) ? "signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	fail();
}

static void expect_exit0(int status, const char *what)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	print_error("%s: expected exit status 0, got %s %d\n", what,
		    WIFSIGNALED(status) ? "signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	fail();
}

/* ---- forbidden calls ---- */

static int do_mount(void)
{
	return mount("none", "/mnt", "tmpfs", 0, NULL) == 0 ? 1 : 2;
}

static int do_ptrace(void)
{
	return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 1 : 2;
}

static int do_execve(void)
{
	char *const argv[] = {"/bin/true", NULL}, *const envp[] = {NULL};

	execve(argv[0], argv, envp);
	return 2;
}

static int do_fork(void)
{
	/* raw: glibc's fork() would run atfork handlers first */
	return syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) >= 0 ? 1 : 2;
}

static int do_inet_socket(void)
{
	return socket(AF_INET, SOCK_DGRAM, 0) >= 0 ? 1 : 2;
}

static int do_setuid(void)
{
	return syscall(SYS_setuid, 0) == 0 ? 1 : 2;
}

/* prctl is allowed to name a thread (the HTTP server's) and nothing else */
static int do_prctl_dumpable(void)
{
	return prctl(PR_SET_DUMPABLE, 1) == 0 ? 1 : 2;
}

static void test_forbidden_calls_kill(void **state)
{
	static const struct {
		const char *name;
		child_fn fn;
		bool in_sanitizer_builds; /* still forbidden with ASan's extras */
	} cases[] = {
	    /* 0 */ {"mount", do_mount, true},
	    /* 1 */ {"setuid", do_setuid, true},
	    /* 2 */ {"socket(AF_INET, SOCK_DGRAM) in the server", do_inet_socket, true},
	    /* 3 */ {"ptrace", do_ptrace, false},
	    /* 4 */ {"execve", do_execve, true},
	    /* 5 */ {"clone without CLONE_THREAD (fork)", do_fork, false},
	    /* 6 */ {"prctl(PR_SET_DUMPABLE)", do_prctl_dumpable, false},
	};

	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip(); /* the filter would judge valgrind's own calls */
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (sandbox_is_sanitizer_build() && !cases[i].in_sanitizer_builds)
			continue;
		print_message("case %zu: %s\n", i, cases[i].name);
		expect_sigsys(in_filtered_child(SANDBOX_SERVER, cases[i].fn), cases[i].name);
	}
	/* the client's list does not hold mount either */
	expect_sigsys(in_filtered_child(SANDBOX_CLIENT, do_mount), "mount in the client");
}

/* ---- allowed calls ---- */

static void *thread_main(void *arg)
{
	return arg;
}

/* What a daemon does all day: files, memory, a thread, a clock, a
 * netlink socket, randomness. */
static int do_allowed(void)
{
	char buf[256];
	struct timespec ts;
	pthread_t t;
	void *ret = NULL;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	void *big = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || close(fd) != 0)
		return 3;
	if (big == MAP_FAILED || munmap(big, 1 << 20) != 0)
		return 4;
	if (pthread_create(&t, NULL, thread_main, buf) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != buf)
		return 5;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || getpid() <= 0)
		return 6;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || close(fd) != 0)
		return 7;
	if (getrandom(buf, 16, 0) != 16)
		return 8;
	return 0;
}

static int do_client_socket(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && close(fd) == 0 ? 0 : 9;
}

/* clone3 is refused with ENOSYS (glibc then uses clone), not fatal. */
static int do_clone3(void)
{
	long r = syscall(SYS_clone3, NULL, 0);

	return r == -1 && errno == ENOSYS ? 0 : 10;
}

static void test_allowed_calls_live(void **state)
{
	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip();
	expect_exit0(in_filtered_child(SANDBOX_SERVER, do_allowed), "server, allowed calls");
	expect_exit0(in_filtered_child(SANDBOX_CLIENT, do_allowed), "client, allowed calls");
	expect_exit0(in_filtered_child(SANDBOX_CLIENT, do_client_socket), "client, AF_INET6");
	expect_exit0(in_filtered_child(SANDBOX_SERVER, do_clone3), "clone3");
}

/* The server opens its store before the drop and uses it after: a
 * reload's sync (writes in transactions, reads, deletes), a flush of
 * usage, the outbox and the audit log, and the close that checkpoints the
 * WAL and removes it. Every call SQLite makes for that is in the list. */
static int store_under_filter(const char *path)
{
	struct store_user u;
	struct store_event ev[2];
	struct store_audit a = {.at = 1};
	struct store_usage_delta d;
	struct store_err err;
	struct store *s;
	char buf[256];
	size_t n;

	if (store_open(path, &s, &err) != STORE_OK || store_migrate(s, &err) != STORE_OK)
		return 20;
	if (sandbox_filter(SANDBOX_SERVER, buf, sizeof(buf)) < 0)
		return 100;
	for (unsigned i = 1; i <= 300; i++) { /* enough pages to spill and checkpoint */
		store_user_init(&u);
		snprintf(u.name, sizeof(u.name), "user%u", i);
		u.public_key[0] = (uint8_t)i;
		u.public_key[1] = (uint8_t)(i >> 8);
		u.public_key[2] = 1;
		snprintf(u.note, sizeof(u.note), "%0900u", i);
		if (store_user_create(s, &u, 1, &err) != STORE_OK)
			return 21;
		d = (struct store_usage_delta){u.id, 100, 200};
		if (store_usage_add(s, &d, 1, 2, NULL, &err) != STORE_OK)
			return 22;
	}
	if (store_user_delete(s, u.id, &err) != STORE_OK)
		return 23;
	snprintf(a.action, sizeof(a.action), "user.delete");
	if (store_audit_append(s, &a, NULL, &err) != STORE_OK)
		return 24;
	if (store_outbox_enqueue(s, "t", "{}", 2, 1, 10, NULL, &err) != STORE_OK ||
	    store_outbox_peek(s, 5, 2, ev, &n, &err) != STORE_OK || n != 1 ||
	    store_outbox_ack(s, ev[0].id, &err) != STORE_OK)
		return 25;
	store_events_free(ev, n);
	if (store_integrity_check(s, &err) != STORE_OK)
		return 26;
	store_close(s);
	return 0;
}

static void test_store_under_filter(void **state)
{
	char dir[] = "/tmp/ll-test-sandbox-XXXXXX", path[64], side[80];
	int status;
	pid_t pid;

	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lostlove.db", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(store_under_filter(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	expect_exit0(status, "the user store under the server's filter");
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(access(side, F_OK), -1); /* the close removed it */
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	unlink(path);
	rmdir(dir);
}

/* /metrics under the server's filter: libmicrohttpd's thread (epoll, its
 * eventfd, accept4, its thread name) answers a GET over TCP and over a
 * Unix socket. The listening sockets, and the Unix client's socket, are
 * made before the filter, as the server makes its own. */
static void ok(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	(void)ctx;
	(void)req;
	res->status = 200;
	res->content_type = "text/plain";
	res->body = strdup("ok");
	res->len = 2;
}

static int get_over(int fd, const struct sockaddr *sa, socklen_t len)
{
	static const char req[] = "GET /m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char ans[512];
	size_t n = 0;
	ssize_t r;

	if (connect(fd, sa, len) != 0 || write(fd, req, sizeof(req) - 1) != sizeof(req) - 1)
		return 1;
	while (n + 1 < sizeof(ans) && (r = read(fd, ans + n, sizeof(ans) - 1 - n)) > 0)
		n += (size_t)r;
	ans[n] = '\0';
	close(fd);
	return strncmp(ans, "HTTP/1.1 200", 12) == 0 && strstr(ans, "\r\n\r\nok") ? 0 : 2;
}

static void test_httpd_under_filter(void **state)
{
	static const struct httpd_route route = {"GET", "/m", ok, NULL};
	int status;
	pid_t pid;

	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct httpd tcp, unx;
		struct httpd_config cfg = {.address = "127.0.0.1",
					   .routes = &route,
					   .n_routes = 1,
					   .max_body = 64,
					   .max_connections = 4,
					   .timeout_s = 5,
					   .per_ip_per_s = 10,
					   .burst = 10};
		struct sockaddr_in sin = {.sin_family = AF_INET};
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		char err[256];
		int ufd, r;

		snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/ll-sandbox-%d.sock",
			 (int)getpid());
		if (httpd_listen(&tcp, &cfg, err, sizeof(err)) < 0)
			_exit(20);
		cfg.unix_path = sun.sun_path;
		cfg.unix_mode = 0600;
		if (httpd_listen(&unx, &cfg, err, sizeof(err)) < 0)
			_exit(21);
		ufd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sin.sin_port = htons(httpd_port(&tcp));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (sandbox_filter(SANDBOX_SERVER, err, sizeof(err)) < 0)
			_exit(100);
		if (httpd_start(&tcp) < 0 || httpd_start(&unx) < 0)
			_exit(22);
		r = get_over(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
			     (struct sockaddr *)&sin, sizeof(sin));
		if (r == 0)
			r = 10 + get_over(ufd, (struct sockaddr *)&sun, sizeof(sun));
		httpd_stop(&tcp);
		httpd_stop(&unx);
		_exit(r == 10 ? 0 : r);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	expect_exit0(status, "httpd under the server's filter");
}

/* The client looks its server's name up after the drop (each new round
 * of handshakes): getaddrinfo through /etc/hosts, and through glibc's
 * resolver (res_init asks uname for the host name) for a name that is in
 * no file. In an empty network namespace, so that the query fails at once
 * instead of waiting for a server. */
static int do_name_lookups(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	char err[256];

	if (unshare(CLONE_NEWNET) != 0)
		return 50;
	if (sandbox_filter(SANDBOX_CLIENT, err, sizeof(err)) < 0)
		return 51;
	if (getaddrinfo("localhost", NULL, &hints, &res) != 0)
		return 52;
	freeaddrinfo(res);
	res = NULL;
	if (getaddrinfo("ll-sandbox-test.invalid", NULL, &hints, &res) == 0)
		freeaddrinfo(res);
	return 0;
}

static void test_client_name_lookup(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0 || RUNNING_ON_VALGRIND)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(do_name_lookups());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	expect_exit0(status, "getaddrinfo under the client's filter");
}

/* ---- the webhook thread ---- */

/* One HTTP answer, 200, to one request (the head is enough). */
static void *answer_one(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char buf[4096];
	int c = accept4(*(int *)arg, NULL, NULL, 0); /* accept4: the filter has no accept */

	if (c >= 0) {
		(void)!read(c, buf, sizeof(buf));
		(void)!write(c, ok, sizeof(ok) - 1);
		close(c);
	}
	return NULL;
}

/* A webhook set up before the filter (as the server does), started and
 * given one event under it; waits up to 10 s for the attempt's outcome:
 * 0 delivered, 1 failed, 2 neither. */
static int webhook_attempt(const char *url, unsigned extras)
{
	static const uint8_t secret[] = "0123456789abcdef";
	struct webhook_config cfg = {.url = url,
				     .secret = secret,
				     .secret_len = 16,
				     .events = WEBHOOK_ALL_EVENTS,
				     .timeout_s = 2,
				     .max_queue = 4,
				     .max_age_s = 60,
				     .node = "t",
				     .tls_verify = true};
	struct webhook_event e = {.type = WEBHOOK_TEST};
	struct webhook_stats st = {0};
	char err[256];
	struct webhook *w = webhook_new(&cfg, err, sizeof(err));

	if (!w)
		return 40;
	if (sandbox_filter_with(SANDBOX_SERVER, extras, err, sizeof(err)) < 0)
		return 41;
	if (webhook_start(w, webhook_outbox_memory()) < 0 || !webhook_emit(w, &e))
		return 42;
	for (int i = 0; i < 1000 && !st.delivered && !st.failed; i++) {
		usleep(10000);
		webhook_stats(w, &st);
	}
	webhook_free(w);
	return st.delivered ? 0 : st.failed ? 1 : 2;
}

/* A numeric URL on loopback: socket, connect, getpeername, poll, all
 * under the plain server filter; delivered. */
static int do_webhook_numeric(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char url[64];
	pthread_t th;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0 ||
	    pthread_create(&th, NULL, answer_one, &fd) != 0)
		return 30;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", ntohs(a.sin_port));
	r = webhook_attempt(url, 0);
	pthread_join(th, NULL);
	close(fd);
	return r;
}

/* A host name, in an empty network namespace (the DNS query fails at
 * once): with the resolver's extras the attempt fails cleanly. */
static int do_webhook_name(unsigned extras)
{
	if (unshare(CLONE_NEWNET) != 0)
		return 50;
	return webhook_attempt("http://ll-sandbox-test.invalid:8080/hook", extras) == 1 ? 0 : 3;
}

static int do_webhook_name_resolver(void)
{
	return do_webhook_name(SANDBOX_RESOLVER);
}

static int do_webhook_name_plain(void)
{
	return do_webhook_name(0);
}

static int in_child(child_fn fn)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_webhook_under_filter(void **state)
{
	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip();
	expect_exit0(in_child(do_webhook_numeric), "a webhook to a numeric URL");
	if (geteuid() != 0)
		return; /* unshare needs root */
	expect_exit0(in_child(do_webhook_name_resolver), "a host name with SANDBOX_RESOLVER");
	/* the plain server filter has no resolver: the lookup is killed */
	expect_sigsys(in_child(do_webhook_name_plain), "a host name without SANDBOX_RESOLVER");
}

/* ---- the io_uring event loop ---- */

/* A loop on io_uring made before the filter (as the server's workers'),
 * run under it: with SANDBOX_IO_URING it turns (enable, enter); a new
 * ring (io_uring_setup) is still refused: SIGSYS. */
static void on_uring_tick(struct loop *l, void *ctx)
{
	(void)ctx;
	loop_stop(l);
}

static int uring_child(unsigned extras, bool new_ring)
{
	char err[256];
	int refused = -1;
	struct loop *l = loop_new_backend(true, &refused);

	if (!l || refused != 0 || strcmp(loop_backend_name(l), "io_uring") != 0)
		return 60;
	if (sandbox_filter_with(SANDBOX_SERVER, extras, err, sizeof(err)) < 0)
		return 61;
	if (new_ring) {
		struct loop *l2 = loop_new_backend(true, &refused); /* dies here */
		loop_free(l2);
		return 62;
	}
	loop_set_tick(l, 1, on_uring_tick, NULL);
	if (loop_run(l) != 0)
		return 63;
	loop_free(l);
	return 0;
}

static int do_uring_allowed(void)
{
	return uring_child(SANDBOX_IO_URING, false);
}

static int do_uring_new_ring(void)
{
	return uring_child(SANDBOX_IO_URING, true);
}

static int do_uring_plain(void)
{
	return uring_child(0, false);
}

static void test_uring_under_filter(void **state)
{
	(void)state;
	if (RUNNING_ON_VALGRIND)
		skip(); /* valgrind 3.19 does not model the ring */
	expect_exit0(in_child(do_uring_allowed), "an io_uring loop with SANDBOX_IO_URING");
	expect_sigsys(in_child(do_uring_new_ring), "io_uring_setup after the filter");
	expect_sigsys(in_child(do_uring_plain), "an io_uring loop without SANDBOX_IO_URING");
}

/* ---- the service user ---- */

static void test_lookup(void **state)
{
	struct sandbox_ids ids;
	char err[512];

	(void)state;
	/* "root" and "" mean: stay root */
	assert_int_equal(sandbox_lookup("server", "root", "lostlove", &ids, err, sizeof(err)), 0);
	assert_false(ids.drop);
	assert_int_equal(sandbox_lookup("client", "", "", &ids, err, sizeof(err)), 0);
	assert_false(ids.drop);
	/* a missing user: the key and how to create it */
	assert_int_equal(sandbox_lookup("server", "ll-no-such-user", "", &ids, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "server.user: no user 'll-no-such-user' on this host; create it "
				 "with 'useradd --system --no-create-home --shell "
				 "/usr/sbin/nologin ll-no-such-user', or set server.user = "
				 "\"root\" to run without dropping privileges");
	assert_false(ids.drop);
	/* nobody exists everywhere; its group may be nogroup or nobody */
	assert_int_equal(sandbox_lookup("client", "nobody", "", &ids, err, sizeof(err)), 0);
	assert_true(ids.drop);
	assert_int_not_equal(ids.uid, 0);
	assert_int_equal(
	    sandbox_lookup("client", "nobody", "ll-no-such-group", &ids, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "client.group: no group 'll-no-such-group' on this host; "
				    "create it with 'groupadd --system ll-no-such-group'"));
	assert_int_equal(sandbox_lookup("client", "nobody", "root", &ids, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "client.group: 'root' is gid 0"));
	assert_false(ids.drop);
}

/* ---- the drop (root only) ---- */

/* The value of "Key:" in /proc/self/status in base, or ~0 when absent. */
static uint64_t status_value(const char *key, int base)
{
	char line[256];
	size_t n = strlen(key);
	uint64_t v = ~UINT64_C(0);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

static struct sandbox_ids nobody;

static int do_drop(void)
{
	static const struct {
		const char *key;
		uint64_t want;
	} caps[] = {
	    {"CapEff", SANDBOX_CAPS},
	    {"CapPrm", SANDBOX_CAPS},
	    {"CapBnd", SANDBOX_CAPS},
	    {"CapInh", 0},
	    {"CapAmb", 0},
	};
	char err[256];

	if (sandbox_drop(&nobody, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 20;
	}
	for (size_t i = 0; i < ARRAY_LEN(caps); i++) {
		uint64_t v = status_value(caps[i].key, 16);
		if (v != caps[i].want) {
			fprintf(stderr, "%s is %llx\n", caps[i].key, (unsigned long long)v);
			return 21 + (int)i;
		}
	}
	if (status_value("NoNewPrivs", 10) != 1 || getuid() != nobody.uid ||
	    geteuid() != nobody.uid || getgid() != nobody.gid || getgroups(0, NULL) != 0)
		return 30;
	if (setuid(0) == 0 || prctl(PR_GET_DUMPABLE) != sandbox_is_sanitizer_build())
		return 31;
	return 0;
}

static void *park(void *arg)
{
	pause();
	return arg;
}

static int do_drop_threaded(void)
{
	char err[256];
	pthread_t t;

	if (pthread_create(&t, NULL, park, NULL) != 0)
		return 40;
	if (sandbox_drop(&nobody, err, sizeof(err)) != -EBUSY)
		return 41;
	return strstr(err, "one thread") ? 0 : 42;
}

static int run_child(child_fn fn)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_drop(void **state)
{
	char err[256];

	(void)state;
	if (geteuid() != 0 || RUNNING_ON_VALGRIND)
		skip();
	assert_int_equal(sandbox_lookup("server", "nobody", "", &nobody, err, sizeof(err)), 0);
	expect_exit0(run_child(do_drop), "drop to nobody");
	expect_exit0(run_child(do_drop_threaded), "drop with two threads");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forbidden_calls_kill),
	    cmocka_unit_test(test_allowed_calls_live),
	    cmocka_unit_test(test_store_under_filter),
	    cmocka_unit_test(test_httpd_under_filter),
	    cmocka_unit_test(test_client_name_lookup),
	    cmocka_unit_test(test_webhook_under_filter),
	    cmocka_unit_test(test_uring_under_filter),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_drop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
