/* DNS through resolvectl; see dns.h. The tool is run with posix_spawnp
 * and its output left on our stderr. */
#include "network/dns.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static bool have_resolvectl(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n < sizeof(buf) - 16) {
			memcpy(buf, path, n);
			strcpy(buf + n, "/resolvectl");
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n + (path[n] == ':');
	}
	return false;
}

static int run(char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -EIO;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -EIO;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int dns_apply(const char *ifname, const char *const servers[], unsigned n)
{
	char *argv[DNS_MAX + 4];
	unsigned k = 0;
	int r;

	if (!have_resolvectl())
		return -ENOENT;
	argv[k++] = "resolvectl";
	argv[k++] = "dns";
	argv[k++] = (char *)ifname;
	for (unsigned i = 0; i < n && i < DNS_MAX; i++)
		argv[k++] = (char *)servers[i];
	argv[k] = NULL;
	r = run(argv);
	if (r == 0)
		r = run((char *const[]){"resolvectl", "domain", (char *)ifname, "~.", NULL});
	return r;
}

void dns_revert(const char *ifname)
{
	if (have_resolvectl())
		(void)run((char *const[]){"resolvectl", "revert", (char *)ifname, NULL});
}
