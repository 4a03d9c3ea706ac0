/* State the server keeps across restarts: the greatest handshake
 * timestamp accepted from each user public key (docs/protocol.md §3.2: a
 * recorded message 1 must not be replayable against a restarted server).
 *
 * File format, one entry per line (comments start with '#'):
 *   <public key, base64> <TAI64N timestamp, 24 hex digits>
 * Keys of users no longer configured are kept: a user who is removed and
 * added back must not become replayable either.
 *
 * Saving is atomic and durable: a temporary file beside the target,
 * fsync, rename, fsync of the directory. The temporary file is created
 * anew (O_CREAT | O_EXCL | O_NOFOLLOW) after unlinking whatever was at its
 * name, so a symlink planted there is removed, never followed. The server saves once per batch
 * of accepted handshakes, before it sends their responses (group commit):
 * a response the client acts on always has its timestamp on disk.
 * Control thread only. */
#ifndef LL_SERVER_STATE_H
#define LL_SERVER_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/tai64n.h"

struct state_entry {
	uint8_t key[32];
	uint8_t timestamp[TAI64N_LEN];
};

struct state {
	char path[PATH_MAX];
	struct state_entry *v; /* sorted by key */
	size_t n, cap;
	bool dirty;
	int lock_fd; /* state_lock's or -1 (once state_load ran); closed by state_free */
};

/* Reads path; a missing file is an empty state. On a malformed file,
 * returns -EINVAL with "path:line: message" in err. */
int state_load(struct state *st, const char *path, char *err, size_t err_len);
/* Frees the entries and releases the lock. */
void state_free(struct state *st);

/* One server per state directory: an exclusive flock on STATE_LOCK_FILE
 * in the state file's directory, taken before the server creates its TUN
 * device or sockets and held until state_free (the kernel releases it if
 * the process dies). The file holds the holder's pid. -EWOULDBLOCK when
 * another process holds it, with its pid in *ret_holder (0 if unknown). */
#define STATE_LOCK_FILE "lostlove.lock"
int state_lock(struct state *st, pid_t *ret_holder);

/* Before the server drops its privileges: the state file (if any) is
 * given to uid:gid and a stale temporary file removed, so that the
 * service user can replace both later, a sticky directory included. */
int state_hand_over(const struct state *st, uid_t uid, gid_t gid);

/* The stored timestamp of key, or NULL. */
const uint8_t *state_get(const struct state *st, const uint8_t key[static 32]);
/* Records ts for key if it is later than the stored one (marks dirty). */
int state_update(struct state *st, const uint8_t key[static 32],
		 const uint8_t ts[static TAI64N_LEN]);
/* Writes the file if dirty. 0 or a negative errno. */
int state_save(struct state *st);

#endif
