/* Logging for the daemons: one line per event on stderr (line-buffered, so
 * journald and tests see each line whole and at once).
 *
 * Line format:
 *   <program>: <message>                        info
 *   <program>: warning: <message>               warn
 *   <program>: error: <message>                 error
 *   <program>: debug: <group>: <message>        debug, per group
 * Info lines carry no level so that the stable lines other tools wait on
 * ("lostlove-server: ready: ...") read naturally.
 *
 * Authentication failures have one fixed line of their own, whatever the
 * program, for fail2ban:
 *   lostlove: auth failure from <ip> port <port>: <reason>
 *
 * Strings that come from users or the network go through log_quote. The
 * logger is thread safe: each line is formatted into a stack buffer and
 * written with one call. Library code (protocol/, crypto/) does not log. */
#ifndef LL_UTIL_LOG_H
#define LL_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Subsystems whose debug output can be switched on one by one. */
enum log_group {
	LOG_GROUP_CORE,
	LOG_GROUP_IO,
	LOG_GROUP_TUN,
	LOG_GROUP_UDP,
	LOG_GROUP_HS,
	LOG_GROUP_AUTH,
	LOG_GROUP_COUNT,
};

#define LOG_LINE_MAX 1024 /* longer lines are cut, never split */

/* Sets the program name (borrowed; a string literal) and makes stderr
 * line-buffered. Level defaults to info. */
void log_init(const char *program);
void log_set_level(enum log_level level);
/* Debug lines of a group are printed when the level is debug and the
 * group is enabled; all groups are enabled by default. */
void log_set_group(enum log_group group, bool enabled);
/* "core", "io", ...; -EINVAL when name is no group. */
int log_group_from_name(const char *name, enum log_group *ret);
const char *log_group_name(enum log_group group);

bool log_is_enabled(enum log_group group, enum log_level level);

__attribute__((format(printf, 3, 4))) void log_msg(enum log_group group, enum log_level level,
						   const char *fmt, ...);

#define log_error(group, ...) log_msg(group, LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(group, ...)  log_msg(group, LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(group, ...)  log_msg(group, LOG_LEVEL_INFO, __VA_ARGS__)
/* Arguments are not evaluated unless the line is printed. */
#define log_debug(group, ...)                                                                      \
	do {                                                                                       \
		if (log_is_enabled(group, LOG_LEVEL_DEBUG))                                        \
			log_msg(group, LOG_LEVEL_DEBUG, __VA_ARGS__);                              \
	} while (0)

/* The fail2ban line. reason is a fixed string of ours (not user input). */
void log_auth_failure(const struct sockaddr *from, const char *reason);

/* Writes s as a double-quoted string into buf: printable ASCII as is, '"'
 * and '\\' escaped, anything else as \xNN; cut with "..." when buf is
 * short. Returns buf, so it can be an argument of log_msg. */
char *log_quote(char *buf, size_t cap, const char *s);

/* Numeric address of sa into buf (>= LOG_ADDR_MAX), IPv4-mapped IPv6
 * addresses as plain IPv4; *ret_port the port. "?" for other families. */
#define LOG_ADDR_MAX 46
void log_format_addr(char buf[static LOG_ADDR_MAX], unsigned *ret_port, const struct sockaddr *sa);

#endif
