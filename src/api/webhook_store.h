/* The webhook outbox in the user store's outbox table (storage/store.h):
 * the persistence the server uses, so a restart loses no event. The
 * store's rules hold: one connection per thread (the webhook thread opens
 * its own), times passed in, each call one transaction. */
#ifndef LL_API_WEBHOOK_STORE_H
#define LL_API_WEBHOOK_STORE_H

#include <stddef.h>

#include "api/webhook_outbox.h"

struct store;

/* An outbox over s, which it owns from here on (closed with it). */
struct webhook_outbox *webhook_outbox_over_store(struct store *s);

/* Opens its own connection to the store at uri (storage/store.h:
 * store_open; the schema must be current: the server migrated it at
 * start) as an outbox. 0 or a negative errno, err set. */
int webhook_outbox_store(const char *uri, struct webhook_outbox **ret, char *err, size_t err_len);

#endif
