/* The server's user table as the handshake sees it: one entry per enabled
 * configured user, sorted by public key, each with its precomputed
 * handshake peer (static-static DH, PSK, greatest accepted timestamp).
 * Built at startup and again on reload (a new table, swapped in whole);
 * used by the control thread only. */
#ifndef LL_CORE_USERS_H
#define LL_CORE_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "protocol/handshake.h"
#include "storage/store.h"

struct session;
struct state;

struct user {
	struct config_user cfg;
	struct handshake_peer peer; /* peer.user points back here */
	struct session *session;    /* the user's live session, or NULL */
	struct acct *acct;	    /* usage and policers (core/accounting.h); owned */
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
/* Builds the table from the enabled users of the store (as users_build
 * does); a user without an IPv4 address cannot be routed and is left out,
 * counted in *skipped. -EIO with the store's message in err when the store
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
/* A handshake_lookup_fn over a struct users (ctx). */
struct handshake_peer *users_lookup(void *ctx, const uint8_t key[static 32]);

#endif
