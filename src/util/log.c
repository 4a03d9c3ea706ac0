/* Logging: see log.h for the line format. The level and the group switches
 * are set at startup and on reload and read by every thread; they are
 * plain words accessed with relaxed atomics (a torn read is impossible and
 * a stale one harmless). */
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *program = "lostlove";
static int level = LOG_LEVEL_INFO;
static bool groups[LOG_GROUP_COUNT] = {true, true, true, true, true, true};

static const char *const group_names[LOG_GROUP_COUNT] = {
    [LOG_GROUP_CORE] = "core", [LOG_GROUP_IO] = "io", [LOG_GROUP_TUN] = "tun",
    [LOG_GROUP_UDP] = "udp",   [LOG_GROUP_HS] = "hs", [LOG_GROUP_AUTH] = "auth",
};

void log_init(const char *prog)
{
	program = prog;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void log_set_level(enum log_level l)
{
	__atomic_store_n(&level, (int)l, __ATOMIC_RELAXED);
}

void log_set_group(enum log_group group, bool enabled)
{
	if ((unsigned)group < LOG_GROUP_COUNT)
		__atomic_store_n(&groups[group], enabled, __ATOMIC_RELAXED);
}

int log_group_from_name(const char *name, enum log_group *ret)
{
	for (int g = 0; g < LOG_GROUP_COUNT; g++) {
		if (strcmp(name, group_names[g]) == 0) {
			*ret = (enum log_group)g;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_group_name(enum log_group group)
{
	return (unsigned)group < LOG_GROUP_COUNT ? group_names[group] : "?";
}

bool log_is_enabled(enum log_group group, enum log_level l)
{
	if ((int)l > __atomic_load_n(&level, __ATOMIC_RELAXED))
		return false;
	if (l < LOG_LEVEL_DEBUG)
		return true;
	return (unsigned)group < LOG_GROUP_COUNT &&
	       __atomic_load_n(&groups[group], __ATOMIC_RELAXED);
}

/* Writes the whole line at once: stdio locks the stream per call, so lines
 * of different threads never interleave. */
static void emit(char *line, int n)
{
	size_t len = n < 0 ? 0 : (size_t)n;

	if (len > LOG_LINE_MAX - 2)
		len = LOG_LINE_MAX - 2;
	line[len++] = '\n';
	line[len] = '\0';
	fputs(line, stderr);
}

static int prefix(char *line, enum log_group group, enum log_level l)
{
	switch (l) {
	case LOG_LEVEL_ERROR:
		return snprintf(line, LOG_LINE_MAX, "%s: error: ", program);
	case LOG_LEVEL_WARN:
		return snprintf(line, LOG_LINE_MAX, "%s: warning: ", program);
	case LOG_LEVEL_DEBUG:
		return snprintf(line, LOG_LINE_MAX, "%s: debug: %s: ", program,
				log_group_name(group));
	default:
		return snprintf(line, LOG_LINE_MAX, "%s: ", program);
	}
}

void log_msg(enum log_group group, enum log_level l, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	int n, m;

	if (!log_is_enabled(group, l))
		return;
	n = prefix(line, group, l);
	if (n < 0 || n >= LOG_LINE_MAX)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, LOG_LINE_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	emit(line, m < 0 ? n : n + m);
}

void log_auth_failure(const struct sockaddr *from, const char *reason)
{
	char line[LOG_LINE_MAX], addr[LOG_ADDR_MAX];
	unsigned port;

	log_format_addr(addr, &port, from);
	emit(line, snprintf(line, LOG_LINE_MAX, "lostlove: auth failure from %s port %u: %s", addr,
			    port, reason));
}

static bool is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Bytes c takes in quoted form. */
static size_t quoted_len(unsigned char c)
{
	if (is_plain(c))
		return 1;
	return c == '"' || c == '\\' ? 2 : 4;
}

static size_t put_quoted(char *out, unsigned char c)
{
	if (is_plain(c)) {
		out[0] = (char)c;
		return 1;
	}
	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	snprintf(out, 5, "\\x%02x", c);
	return 4;
}

char *log_quote(char *buf, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 6) {
		if (cap)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; *s; s++) {
		if (o + quoted_len((unsigned char)*s) + 5 > cap) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		o += put_quoted(buf + o, (unsigned char)*s);
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void log_format_addr(char buf[static LOG_ADDR_MAX], unsigned *ret_port, const struct sockaddr *sa)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	*ret_port = 0;
	strcpy(buf, "?");
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, buf, LOG_ADDR_MAX);
		*ret_port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, LOG_ADDR_MAX);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, buf, LOG_ADDR_MAX);
		*ret_port = ntohs(in6->sin6_port);
	}
}
