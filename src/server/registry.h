/* The control thread's view of the sessions: which session each user
 * has, which sessions wait for confirmation, and the only code that adds
 * sessions to or removes them from the tables.
 *
 * Replacing a session. A user who handshakes again (a rekey, or a client
 * that restarted) gets a new session at once in the index table, so its
 * first packet can be opened; the user's addresses keep pointing at the
 * old session until the new one is confirmed (docs/protocol.md §3.4: the
 * server must not send on it before). The old session's successor points
 * at the new one, so the moment a worker sees the new one confirmed,
 * every packet for the user is sealed with it (docs/protocol.md §8); the
 * control thread then moves the addresses to it and the old one drains
 * (receives only) for SESSION_DRAIN_S before it is removed. A new
 * session that is never confirmed is retired after LL_REKEY_TIMEOUT * 3
 * and the old one stays. */
#ifndef LL_SERVER_REGISTRY_H
#define LL_SERVER_REGISTRY_H

#include <stdint.h>

struct server;
struct session;
struct user;
struct users;

/* Takes ownership of s (already in the index table) for user u. */
void registry_adopt(struct server *srv, struct user *u, struct session *s);
/* Confirmed pending sessions take over their user's addresses; stale
 * ones are retired, and so are replaced ones done draining. Called when a
 * worker reports a confirmation and on every tick. */
void registry_promote(struct server *srv, uint64_t now_ns);
/* Per session and tick: repeats a CONFIG push that is due. */
void registry_tick(struct server *srv, struct session *s, uint64_t now_ns);
/* Ends s: tells the client why (reason != 0, confirmed sessions only),
 * unpublishes it and frees it after a grace period. why is logged. */
void registry_retire(struct server *srv, struct session *s, uint8_t reason, const char *why);
/* Ends every session (shutdown). */
void registry_retire_all(struct server *srv, uint8_t reason);
/* Points the sessions at the entries of a new user table and ends the
 * sessions of users who are gone or changed (reload). Returns how many
 * sessions were ended. */
unsigned registry_rebind(struct server *srv, struct users *fresh);

#endif
