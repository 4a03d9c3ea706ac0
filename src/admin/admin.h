/* lostlove-admin's commands that talk to the server's admin API over its
 * Unix socket (docs/api.md); the key commands (genkey, pubkey, genpsk)
 * stay in src/cmd/admin.c and need no server. */
#ifndef LL_ADMIN_ADMIN_H
#define LL_ADMIN_ADMIN_H

#include <stdbool.h>

#include "config/config.h"

#define ADMIN_PROG	     "lostlove-admin"
#define ADMIN_SOCKET_DEFAULT CONFIG_API_SOCKET_DEFAULT /* the server's [api] socket default */

struct admin_ctx {
	const char *socket; /* --socket, $LOSTLOVE_ADMIN_SOCKET, or the default */
	bool json;	    /* --json: the server's JSON as is */
	unsigned timeout_ms;
};

/* Each returns the exit status: 0, or 1 after one line on stderr. argv[0]
 * is the command's name. */
int admin_add_user(const struct admin_ctx *a, int argc, char **argv);
int admin_remove_user(const struct admin_ctx *a, int argc, char **argv);
int admin_list_users(const struct admin_ctx *a, int argc, char **argv);
int admin_show_user(const struct admin_ctx *a, int argc, char **argv);
int admin_enable(const struct admin_ctx *a, int argc, char **argv);
int admin_disable(const struct admin_ctx *a, int argc, char **argv);
int admin_set_limits(const struct admin_ctx *a, int argc, char **argv);
int admin_sessions(const struct admin_ctx *a, int argc, char **argv);
int admin_kick(const struct admin_ctx *a, int argc, char **argv);
int admin_stats(const struct admin_ctx *a, int argc, char **argv);
int admin_reload(const struct admin_ctx *a, int argc, char **argv);
int admin_token(const struct admin_ctx *a, int argc, char **argv);
int admin_audit(const struct admin_ctx *a, int argc, char **argv);
int admin_add_device(const struct admin_ctx *a, int argc, char **argv);
int admin_list_devices(const struct admin_ctx *a, int argc, char **argv);
int admin_remove_device(const struct admin_ctx *a, int argc, char **argv);
int admin_show_device(const struct admin_ctx *a, int argc, char **argv);

/* Pure parsers of the command line's values (unit-tested). */
/* "1500", "10K", "1.5G", "2T" (binary multiples: K = 1024) into bytes;
 * 0 or -EINVAL (also beyond 2^53). */
int admin_parse_size(const char *s, long long *ret);
/* "never" (0), unix seconds, "YYYY-MM-DD" (00:00 UTC) or an RFC 3339
 * date-time with its offset ("2027-01-01T12:30:00Z", "...+02:00"): the
 * grammar of users.toml's expires (core/limits.h: limits_parse_rfc3339,
 * the one parser). 0 or -EINVAL. */
int admin_parse_time(const char *s, long long *ret);
/* A duration for --expires-after: "never" (0), SECONDS, or N followed by
 * one of s m h d w ("30d"); at most 2^53 seconds. 0 or -EINVAL. */
int admin_parse_duration(const char *s, long long *ret);

#endif
