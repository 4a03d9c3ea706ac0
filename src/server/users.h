/* The server's user table as the handshake sees it: one entry per key an
 * enabled user connects with (its own, "device 0", and each of its
 * devices: docs/storage.md, "Devices"), sorted by public key, each with
 * its precomputed handshake peer (static-static DH, PSK, greatest
 * accepted timestamp). A device's entry has the device's key, PSK and
 * addresses and the user's name and limits; the user's limits and usage
 * (acct) are held by the user's own entry, its owner, which every
 * device's entry points to.
 * Built at startup and again on reload (a new table, swapped in whole);
 * used by the control thread only. */
#ifndef LL_SERVER_USERS_H
#define LL_SERVER_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "protocol/handshake.h"
#include "storage/store.h"

struct session;
struct state;

struct user {
	struct config_user cfg;
	struct handshake_peer peer;   /* peer.user points back here */
	struct session *session;      /* this key's live session, or NULL */
	struct acct *acct;	      /* usage and policers (server/accounting.h); owned;
				       * NULL in a device's entry (the owner's counts) */
	struct user *owner;	      /* the user's own entry (itself for device 0) */
	struct user *next_device;     /* owner: its first device's entry; a device: the next */
	char device[CONFIG_NAME_MAX]; /* the device's name; "" for device 0 */
	uint8_t owner_key[32];	      /* the user's own key (build time) */
	uint64_t device_refused_ns;   /* owner: when a refusal was last logged */
};

struct users {
	struct user *v;
	size_t n;
};

/* Builds the table from the enabled users of cfg; timestamps from st
 * (may be NULL). -EINVAL if a user's key is unusable (low order) or two
 * users share a key, with the user's name in err. */
int users_build(struct users *ret, const struct config_user *cfg, size_t n,
		const uint8_t server_priv[static 32], const struct state *st, char *err,
		size_t err_len);
/* Builds the table from the enabled users of the store and their devices
 * (as users_build does); a user or device without an IPv4 address cannot
 * be routed and is left out, counted in *skipped (and so are the devices
 * of such a user). -EIO with the store's message in err when the store
 * fails. */
int users_build_from_store(struct users *ret, struct store *s, const uint8_t server_priv[static 32],
			   const struct state *st, size_t *skipped, char *err, size_t err_len);
/* The same on a reload: a user already in prev (same public key) keeps
 * its precomputed static-static DH instead of computing it again, so
 * adding one user to a table of thousands (the admin API reloads after
 * each change) costs one DH, not thousands. prev may be NULL. */
int users_rebuild_from_store(struct users *ret, struct store *s,
			     const uint8_t server_priv[static 32], const struct state *st,
			     const struct users *prev, size_t *skipped, char *err, size_t err_len);
/* A store user as a configured one (name, keys, addresses, enabled). */
void users_config_of(const struct store_user *su, struct config_user *c);
/* Wipes PSKs and DH results. */
void users_free(struct users *u);

struct user *users_find(const struct users *u, const uint8_t key[static 32]);
/* Live sessions of owner's user: its own key's and its devices'. */
unsigned users_live_sessions(const struct user *owner);
/* May entry e (a user's key or a device's) get a new session? False when
 * it has none and its user has device_limit live sessions already (a
 * rekey of a key with a live session is always allowed). */
bool users_device_allowed(const struct user *e);
/* A handshake_lookup_fn over a struct users (ctx). */
struct handshake_peer *users_lookup(void *ctx, const uint8_t key[static 32]);

#endif
