/* Private key file; see keyfile.h. The key passes through stack buffers
 * that are wiped at the single exit of each function. */
#include "server/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"

/* Reads up to cap - 1 bytes of the file, NUL-terminated. */
static int read_small(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return 0;
}

static int load(int fd, uint8_t priv[32], bool *ret_loose, const char *path, char *err,
		size_t err_len)
{
	char buf[128];
	struct stat st;
	int r = read_small(fd, buf, sizeof(buf));

	if (r == 0 && fstat(fd, &st) == 0)
		*ret_loose = (st.st_mode & 077) != 0;
	if (r < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(-r));
		goto out;
	}
	buf[strcspn(buf, " \t\r\n")] = '\0';
	r = key_from_base64(priv, buf);
	if (r < 0)
		snprintf(err, err_len, "%s: not a base64 private key (44 characters)", path);
out:
	ct_wipe(buf, sizeof(buf));
	return r;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

static int create(const char *path, uint8_t priv[32], char *err, size_t err_len)
{
	uint8_t pub[32];
	char line[KEY_BASE64_LEN + 2];
	int fd = -1, r = x25519_keygen(priv, pub, &rng_system);

	if (r < 0) {
		snprintf(err, err_len, "cannot generate a private key: %s", strerror(-r));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	key_to_base64(line, priv);
	strcat(line, "\n");
	r = write_all(fd, line, strlen(line));
	close(fd);
	if (r < 0) {
		unlink(path);
		snprintf(err, err_len, "%s: cannot write: %s", path, strerror(-r));
	}
out:
	ct_wipe(line, sizeof(line));
	return r;
}

int keyfile_load_or_create(const char *path, uint8_t ret_priv[static 32], bool *ret_created,
			   bool *ret_loose, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

	*ret_created = false;
	*ret_loose = false;
	if (fd < 0 && errno == ENOENT) {
		*ret_created = true;
		return create(path, ret_priv, err, err_len);
	}
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return r;
	}
	r = load(fd, ret_priv, ret_loose, path, err, err_len);
	close(fd);
	return r;
}
