/* DNS through resolvectl, run by a privileged helper; see dns.h. */
#include "network/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_TIMEOUT_S 30 /* resolvectl's own D-Bus timeout is 25 s */

/* Where resolvectl may be: system directories only, never $PATH. */
static const char *const tool_paths[] = {
    "/usr/bin/resolvectl",
    "/bin/resolvectl",
    "/usr/sbin/resolvectl",
    "/sbin/resolvectl",
};

enum op {
	OP_APPLY = 1,
	OP_REVERT = 2,
};

/* The one request format, client to helper. */
struct request {
	uint32_t op;
	uint32_t n; /* servers used (apply) */
	char ifname[IFNAMSIZ];
	struct dns_server servers[DNS_MAX];
};

/* The client's side of its helper (one per process). */
static struct {
	pid_t pid;
	int fd;
} helper = {0, -1};

const char *dns_resolvectl_path(void)
{
	for (size_t i = 0; i < sizeof(tool_paths) / sizeof(tool_paths[0]); i++)
		if (access(tool_paths[i], X_OK) == 0)
			return tool_paths[i];
	return NULL;
}

/* ---- the helper (root, no filter) ---- */

/* Runs tool with argv: empty environment, stdin on /dev/null, signals as
 * a fresh process has them (the client blocked and ignored some). */
static int run(const char *tool, char *const argv[])
{
	static const int reset[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD};
	char *const envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int status, r;
	pid_t pid;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaddset(&dfl, reset[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	r = posix_spawn(&pid, tool, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0)
		return r == ENOENT ? -ENOENT : -EIO;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -EIO;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Every field again: the helper trusts nothing the client sends. */
static bool request_ok(const struct request *q, const char *ifname)
{
	if (q->op != OP_APPLY && q->op != OP_REVERT)
		return false;
	if (!memchr(q->ifname, '\0', sizeof(q->ifname)) || strcmp(q->ifname, ifname) != 0)
		return false;
	if (q->op == OP_APPLY && (q->n == 0 || q->n > DNS_MAX))
		return false;
	for (uint32_t i = 0; q->op == OP_APPLY && i < q->n; i++)
		if (q->servers[i].family != AF_INET && q->servers[i].family != AF_INET6)
			return false;
	return true;
}

static int perform(const struct request *q, const char *ifname, const char *tool)
{
	char text[DNS_MAX][INET6_ADDRSTRLEN];
	char *argv[DNS_MAX + 4] = {"resolvectl", NULL, (char *)ifname};
	unsigned k = 3;
	int r;

	if (q->op == OP_REVERT) {
		argv[1] = "revert";
		return run(tool, argv);
	}
	argv[1] = "dns";
	for (uint32_t i = 0; i < q->n; i++) {
		if (!inet_ntop(q->servers[i].family, q->servers[i].addr, text[i], sizeof(text[i])))
			return -EINVAL;
		argv[k++] = text[i];
	}
	argv[k] = NULL;
	r = run(tool, argv);
	if (r == 0)
		r = run(tool, (char *const[]){"resolvectl", "domain", (char *)ifname, "~.", NULL});
	return r;
}

/* The helper's life: one answer per request, until the client's end
 * closes. Never returns; _exit, so nothing of the client's is flushed. */
static void serve(int fd, const char *ifname, const char *tool) __attribute__((noreturn));

static void serve(int fd, const char *ifname, const char *tool)
{
	union {
		struct request q;
		char raw[sizeof(struct request) + 1]; /* a longer datagram is refused */
	} u;

	if (fd > 3)
		(void)close_range(3, (unsigned)fd - 1, 0);
	(void)close_range((unsigned)fd + 1, ~0u, 0);
	for (;;) {
		ssize_t n = recv(fd, u.raw, sizeof(u.raw), 0);
		int32_t status;

		if (n == 0)
			_exit(0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(1);
		status = n == (ssize_t)sizeof(u.q) && request_ok(&u.q, ifname)
			     ? perform(&u.q, ifname, tool)
			     : -EINVAL;
		if (send(fd, &status, sizeof(status), MSG_NOSIGNAL) < 0)
			_exit(1);
	}
}

int dns_helper_start(const char *ifname, void (*in_child)(void *ctx), void *ctx)
{
	const char *tool = dns_resolvectl_path();
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_S};
	char name[IFNAMSIZ];
	int sv[2], r;
	pid_t pid;

	if (!tool)
		return -ENOENT;
	if (snprintf(name, sizeof(name), "%s", ifname) >= (int)sizeof(name))
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		if (in_child)
			in_child(ctx);
		serve(sv[1], name, tool);
	}
	close(sv[1]);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	helper.pid = pid;
	helper.fd = sv[0];
	return 0;
}

void dns_helper_stop(void)
{
	if (helper.fd < 0)
		return;
	close(helper.fd);
	helper.fd = -1;
	while (waitpid(helper.pid, NULL, 0) < 0 && errno == EINTR)
		;
	helper.pid = 0;
}

/* ---- the client's side ---- */

static int ask(const struct request *q)
{
	int32_t status;
	ssize_t n;

	if (helper.fd < 0)
		return -ENOENT;
	if (send(helper.fd, q, sizeof(*q), MSG_NOSIGNAL) != (ssize_t)sizeof(*q))
		return -EIO;
	do
		n = recv(helper.fd, &status, sizeof(status), 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(status) ? status : -EIO;
}

int dns_apply(const char *ifname, const struct dns_server *servers, unsigned n)
{
	struct request q = {.op = OP_APPLY, .n = n < DNS_MAX ? n : DNS_MAX};

	if (snprintf(q.ifname, sizeof(q.ifname), "%s", ifname) >= (int)sizeof(q.ifname))
		return -EINVAL;
	memcpy(q.servers, servers, q.n * sizeof(*servers));
	return ask(&q);
}

void dns_revert(const char *ifname)
{
	struct request q = {.op = OP_REVERT};

	if (snprintf(q.ifname, sizeof(q.ifname), "%s", ifname) < (int)sizeof(q.ifname))
		(void)ask(&q);
}
