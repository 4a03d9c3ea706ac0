/* bench-store: what the user store's operations cost with 1,000 users
 * (issue 11: "list/create/delete stay fast"), on the SQLite backend, on a
 * real file:
 *
 *   create 1000, one transaction each  (the admin API's add-user)
 *   create 1000 in one transaction     (a users.toml sync)
 *   get by key 1000                    (a lookup per user)
 *   list 1000: 10 pages of 100, one page of 1000
 *   usage add, 1000 deltas in one batch (one accounting flush)
 *   sync 1000 toml users, nothing changed / all created
 *   delete 1000, one transaction each
 *
 * Each figure is the median of --reps repetitions (default 5), each on a
 * fresh database in --dir (default /tmp; put it on the disk the server
 * uses to measure that disk's fsyncs). Output: total milliseconds and
 * microseconds per user. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/store.h"
#include "storage/sync.h"

/* what store_sqlite.c was built with, when the bench is built with it */
#ifdef STORE_SQLITE_SYNCHRONOUS
#define SYNC_NAME STORE_SQLITE_SYNCHRONOUS
#else
#define SYNC_NAME "NORMAL"
#endif

#define N	 1000
#define MAX_REPS 21

enum op {
	CREATE_EACH,
	CREATE_TX,
	GET_KEY,
	LIST_100,
	LIST_1000,
	USAGE,
	SYNC_NOOP,
	SYNC_NEW,
	DELETE_EACH,
	N_OPS
};
static const char *const op_names[N_OPS] = {
    "create, 1 tx each",	  "create, 1 tx for all",     "get by public key",
    "list, pages of 100",	  "list, 1 page of 1000",     "usage add, 1 batch",
    "sync users.toml, unchanged", "sync users.toml, all new", "delete, 1 tx each",
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct store_err *err)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, err->msg);
	exit(1);
}

static void mk_user(struct store_user *u, unsigned i, const char *prefix)
{
	store_user_init(u);
	snprintf(u->name, sizeof(u->name), "%s%u", prefix, i);
	u->public_key[0] = (uint8_t)(i >> 8);
	u->public_key[1] = (uint8_t)i;
	u->public_key[2] = prefix[0];
	u->public_key[31] = 1;
	u->has_psk = true;
	memset(u->psk, 7, 32);
	u->has_ipv4 = true;
	u->ipv4[0] = 10;
	u->ipv4[1] = (uint8_t)prefix[0];
	u->ipv4[2] = (uint8_t)(i >> 8);
	u->ipv4[3] = (uint8_t)i;
}

static void remove_db(const char *path)
{
	char p[PATH_MAX + 8];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static struct store *open_fresh(const char *path)
{
	struct store_err err;
	struct store *s;

	remove_db(path);
	if (store_open(path, &s, &err) != STORE_OK || store_migrate(s, &err) != STORE_OK)
		die("open", &err);
	return s;
}

static void one_rep(const char *path, double ms[N_OPS])
{
	struct store *s = open_fresh(path);
	struct store_user *u = calloc(N, sizeof(*u)), *page = calloc(N, sizeof(*page));
	struct store_usage_delta *d = calloc(N, sizeof(*d));
	struct store_user_filter f = {.enabled = -1, .source = -1};
	struct store_err err;
	double t;
	size_t n, total;

	if (!u || !page || !d)
		exit(1);
	t = now_ms();
	for (unsigned i = 0; i < N; i++) {
		mk_user(&u[i], i, "a");
		if (store_user_create(s, &u[i], 1, &err) != STORE_OK)
			die("create", &err);
	}
	ms[CREATE_EACH] = now_ms() - t;

	t = now_ms();
	if (store_begin(s, &err) != STORE_OK)
		die("begin", &err);
	for (unsigned i = 0; i < N; i++) {
		struct store_user v;
		mk_user(&v, i, "b");
		if (store_user_create(s, &v, 1, &err) != STORE_OK)
			die("create", &err);
	}
	if (store_commit(s, &err) != STORE_OK)
		die("commit", &err);
	ms[CREATE_TX] = now_ms() - t;

	t = now_ms();
	for (unsigned i = 0; i < N; i++)
		if (store_user_get_by_key(s, u[i].public_key, &page[0], &err) != STORE_OK)
			die("get", &err);
	ms[GET_KEY] = now_ms() - t;

	t = now_ms();
	f.limit = 100;
	f.source = STORE_SOURCE_API;
	f.name_contains = "a";
	total = 0;
	do {
		if (store_user_list(s, &f, page, &n, &err) != STORE_OK)
			die("list", &err);
		total += n;
		if (n)
			f.after_id = page[n - 1].id;
	} while (n == f.limit);
	ms[LIST_100] = now_ms() - t;
	if (total != N) /* the a... users; the b... ones have no "a" */
		fprintf(stderr, "bench-store: listed %zu\n", total);

	t = now_ms();
	f = (struct store_user_filter){.limit = N, .enabled = -1, .source = -1};
	if (store_user_list(s, &f, page, &n, &err) != STORE_OK || n != N)
		die("list", &err);
	ms[LIST_1000] = now_ms() - t;

	for (unsigned i = 0; i < N; i++)
		d[i] = (struct store_usage_delta){u[i].id, 1500 * i, 9000 * i};
	t = now_ms();
	if (store_usage_add(s, d, N, 2, NULL, &err) != STORE_OK)
		die("usage", &err);
	ms[USAGE] = now_ms() - t;

	for (unsigned i = 0; i < N; i++) {
		mk_user(&page[i], i, "t");
		page[i].source = STORE_SOURCE_TOML;
	}
	t = now_ms();
	if (store_sync_toml(s, page, N, STORE_SYNC_DELETE, 3, NULL, &err) != STORE_OK)
		die("sync", &err);
	ms[SYNC_NEW] = now_ms() - t;
	t = now_ms();
	if (store_sync_toml(s, page, N, STORE_SYNC_DELETE, 4, NULL, &err) != STORE_OK)
		die("sync", &err);
	ms[SYNC_NOOP] = now_ms() - t;

	t = now_ms();
	for (unsigned i = 0; i < N; i++)
		if (store_user_delete(s, u[i].id, &err) != STORE_OK)
			die("delete", &err);
	ms[DELETE_EACH] = now_ms() - t;

	store_close(s);
	free(u);
	free(page);
	free(d);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	int reps = 5;
	double ms[MAX_REPS][N_OPS], col[MAX_REPS];
	char path[PATH_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench-store [--dir DIR] [--reps 1..%d]\n",
				MAX_REPS);
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	snprintf(path, sizeof(path), "%s/bench-store-%d.db", dir, (int)getpid());
	for (int r = 0; r < reps; r++)
		one_rep(path, ms[r]);
	printf(
	    "bench-store: %d users, SQLite (WAL, synchronous=%s), median of %d, database in %s\n",
	    N, SYNC_NAME, reps, dir);
	printf("%-28s %10s %12s\n", "operation", "total ms", "us per user");
	for (int o = 0; o < N_OPS; o++) {
		for (int r = 0; r < reps; r++)
			col[r] = ms[r][o];
		qsort(col, reps, sizeof(col[0]), cmp_double);
		printf("%-28s %10.2f %12.2f\n", op_names[o], col[reps / 2],
		       col[reps / 2] * 1e3 / N);
	}
	remove_db(path);
	return 0;
}
