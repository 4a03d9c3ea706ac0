/* users.toml → store: the declarative users of the file become users of
 * the store with source "toml" (docs/storage.md, "users.toml"). The file
 * owns the fields it can say (public key, PSK, addresses, enabled); the
 * store keeps everything else of those users (usage, limits set through
 * the API, note). Users made through the API are never touched. */
#ifndef LL_STORAGE_SYNC_H
#define LL_STORAGE_SYNC_H

#include <stddef.h>

#include "config/config.h"
#include "storage/store.h"

/* What happens to a toml user that left the file. */
enum store_sync_removed {
	STORE_SYNC_DELETE,  /* the row goes (its usage with it) */
	STORE_SYNC_DISABLE, /* the row stays, disabled, until the name comes back */
};

struct store_sync_stats {
	size_t created, updated, unchanged, disabled, deleted;
};

/* The fields users.toml owns (store_user_update's mask). */
#define STORE_SYNC_FIELDS                                                                          \
	(STORE_F_PUBLIC_KEY | STORE_F_PSK | STORE_F_IPV4 | STORE_F_IPV6 | STORE_F_ENABLED)

/* Makes the toml users of the store what want[0..n) says, in one
 * transaction (on any error nothing changed). Each change is written to
 * the audit log with actor "users.toml". A name, key or address that an
 * API user holds is STORE_EXISTS naming both users; two entries of want
 * with one name are STORE_INVALID. stats may be NULL. */
enum store_status store_sync_toml(struct store *s, const struct store_user *want, size_t n,
				  enum store_sync_removed removed, int64_t now,
				  struct store_sync_stats *stats, struct store_err *err);

/* A configured user as a store user (source toml, no limits). */
void store_user_from_config(const struct config_user *c, struct store_user *u);

#endif
