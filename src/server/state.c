/* Persistent handshake timestamps; see state.h. */
#include "server/state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "crypto/keyenc.h"
#include "util/hex.h"

static int cmp_key(const void *key, const void *entry)
{
	return memcmp(key, ((const struct state_entry *)entry)->key, 32);
}

/* Index of key, or of where it would be inserted (*ret_found false). */
static size_t locate(const struct state *st, const uint8_t *key, bool *ret_found)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(key, &st->v[mid]);
		if (c == 0) {
			*ret_found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ret_found = false;
	return lo;
}

const uint8_t *state_get(const struct state *st, const uint8_t key[static 32])
{
	bool found;
	size_t i = locate(st, key, &found);

	return found ? st->v[i].timestamp : NULL;
}

static int grow(struct state *st)
{
	size_t cap = st->cap ? st->cap * 2 : 64;
	struct state_entry *v = realloc(st->v, cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	st->v = v;
	st->cap = cap;
	return 0;
}

int state_update(struct state *st, const uint8_t key[static 32],
		 const uint8_t ts[static TAI64N_LEN])
{
	bool found;
	size_t i = locate(st, key, &found);

	if (found) {
		if (!tai64n_is_after(ts, st->v[i].timestamp))
			return 0;
		memcpy(st->v[i].timestamp, ts, TAI64N_LEN);
		st->dirty = true;
		return 0;
	}
	if (st->n == st->cap && grow(st) < 0)
		return -ENOMEM;
	memmove(&st->v[i + 1], &st->v[i], (st->n - i) * sizeof(*st->v));
	memcpy(st->v[i].key, key, 32);
	memcpy(st->v[i].timestamp, ts, TAI64N_LEN);
	st->n++;
	st->dirty = true;
	return 0;
}

/* "<base64> <hex>" with optional trailing blanks. */
static int parse_line(char *line, uint8_t key[32], uint8_t ts[TAI64N_LEN])
{
	char *b64 = strtok(line, " \t\r\n"), *hex = strtok(NULL, " \t\r\n");

	if (!b64 || !hex || strtok(NULL, " \t\r\n"))
		return -EINVAL;
	if (key_from_base64(key, b64) < 0 || hex_decode(ts, TAI64N_LEN, hex) < 0)
		return -EINVAL;
	return 0;
}

static bool is_blank(const char *line)
{
	line += strspn(line, " \t\r\n");
	return *line == '\0' || *line == '#';
}

static int read_lines(struct state *st, FILE *f, char *err, size_t err_len)
{
	char line[256];
	unsigned no = 0;
	uint8_t key[32], ts[TAI64N_LEN];

	while (fgets(line, sizeof(line), f)) {
		no++;
		if (is_blank(line))
			continue;
		if (parse_line(line, key, ts) < 0) {
			snprintf(err, err_len, "%s:%u: expected '<public key> <timestamp>'",
				 st->path, no);
			return -EINVAL;
		}
		if (state_update(st, key, ts) < 0)
			return -ENOMEM;
	}
	return ferror(f) ? -EIO : 0;
}

int state_load(struct state *st, const char *path, char *err, size_t err_len)
{
	FILE *f;
	int r;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (strlen(path) >= sizeof(st->path))
		return -ENAMETOOLONG;
	strcpy(st->path, path);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return r;
	}
	r = read_lines(st, f, err, err_len);
	fclose(f);
	st->dirty = false;
	return r;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	free(st->v);
	if (st->path[0] && st->lock_fd >= 0) /* a zeroed, never loaded state has none */
		close(st->lock_fd);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

/* path's directory + "/" + name into out. */
static int beside(const char *path, const char *name, char out[static PATH_MAX])
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	if (snprintf(out, PATH_MAX, "%s/%s", dirname(copy), name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static pid_t read_holder(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = n > 0 ? strtol(buf, NULL, 10) : 0;

	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

static void write_holder(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, buf, (size_t)n, 0);
}

int state_lock(struct state *st, pid_t *ret_holder)
{
	char path[PATH_MAX];
	int fd, r = beside(st->path, STATE_LOCK_FILE, path);

	*ret_holder = 0;
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			*ret_holder = read_holder(fd);
		close(fd);
		return r;
	}
	write_holder(fd);
	st->lock_fd = fd;
	return 0;
}

int state_hand_over(const struct state *st, uid_t uid, gid_t gid)
{
	char tmp[PATH_MAX + 8];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return -errno;
	fd = open(st->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fchown(fd, uid, gid) != 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_entries(const struct state *st, FILE *f)
{
	char b64[KEY_BASE64_LEN + 1], hex[2 * TAI64N_LEN + 1];

	fputs("# lostlove-server: greatest handshake timestamp per user key\n", f);
	for (size_t i = 0; i < st->n; i++) {
		key_to_base64(b64, st->v[i].key);
		hex_encode(hex, st->v[i].timestamp, TAI64N_LEN);
		fprintf(f, "%s %s\n", b64, hex);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		return -errno;
	return 0;
}

/* The rename is durable only once the directory is synced. */
static int sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, r = 0;

	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

/* The temporary file is always a new regular file of ours: whatever sits
 * at its name (a stale one from a crash, or a symlink planted to make us
 * write elsewhere) is unlinked first, which removes a symlink itself and
 * never its target, and O_EXCL | O_NOFOLLOW refuse anything that appears
 * there again before the open (-EEXIST: the save fails, nothing else is
 * touched, and the next save tries again). */
static int create_tmp(const char *tmp)
{
	int fd;

	if (unlink(tmp) != 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int state_save(struct state *st)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd, r;

	if (!st->dirty)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	fd = create_tmp(tmp);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto err_unlink;
	}
	r = write_entries(st, f);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, st->path) != 0)
		r = -errno;
	if (r < 0)
		goto err_unlink;
	st->dirty = false;
	return sync_dir(st->path);
err_unlink:
	unlink(tmp);
	return r;
}
