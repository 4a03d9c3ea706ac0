/* The SQLite backend of the store (store.h; docs/storage.md). */
#ifndef LL_STORAGE_STORE_SQLITE_H
#define LL_STORAGE_STORE_SQLITE_H

#include "storage/store.h"

/* Opens (creating, mode 0600) the database file at path: WAL journal,
 * synchronous=NORMAL, a busy timeout, foreign keys on. Refuses a database
 * whose schema is newer than this build (STORE_UNSUPPORTED) and a file that
 * is not a database (STORE_CORRUPT). */
enum store_status store_sqlite_open(const char *path, struct store **ret, struct store_err *err);

/* How long a writer waits for another's lock before STORE_BUSY. */
#define STORE_SQLITE_BUSY_MS 5000

#endif
