/* Persistent handshake timestamps (server/state.c): a missing file is
 * empty, timestamps only grow, the file round-trips (and keeps keys of
 * every user), saving is atomic (no temporary file left), malformed
 * files are refused with their line number, a symlink planted at the
 * temporary name is never followed, the state directory's lock keeps a
 * second server out, and the file is handed to the service user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/state.h"

static char dir[] = "/tmp/ll-test-state-XXXXXX";
static char path[sizeof(dir) + 16];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/lostlove.state", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void ts(uint8_t out[TAI64N_LEN], uint8_t v)
{
	memset(out, 0, TAI64N_LEN);
	out[0] = 0x40;
	out[7] = v;
}

static void test_round_trip(void **state)
{
	struct state st;
	uint8_t k1[32], k2[32], t[TAI64N_LEN], t_old[TAI64N_LEN];
	char err[256], tmp[sizeof(path) + 8];
	struct stat sb;

	(void)state;
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	unlink(path);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	assert_null(state_get(&st, k1));
	ts(t, 5);
	assert_int_equal(state_update(&st, k1, t), 0);
	ts(t, 9);
	assert_int_equal(state_update(&st, k2, t), 0);
	ts(t_old, 3);
	assert_int_equal(state_update(&st, k1, t_old), 0); /* older: ignored */
	assert_int_equal(state_get(&st, k1)[7], 5);
	assert_int_equal(state_save(&st), 0);
	assert_false(st.dirty);
	state_free(&st);

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed away */

	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.n, 2);
	assert_int_equal(state_get(&st, k1)[7], 5);
	assert_int_equal(state_get(&st, k2)[7], 9);
	state_free(&st);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "# comment\nnot-a-key 000000000000000000000000\n",
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 00\n",
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 400000000000000500000000 extra\n",
	};
	struct state st;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i]);
		err[0] = '\0';
		assert_int_equal(state_load(&st, path, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, i == 0 ? ":2:" : ":1:"));
		state_free(&st);
	}
	write_file("\n# only comments\n\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= "
		   "400000000000000500000000\n");
	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	assert_int_equal(st.n, 1);
	state_free(&st);
}

/* A symlink planted at the temporary name (lostlove.state.tmp), or at
 * the state file's own name, pointing at another file: the save succeeds,
 * the other file is untouched, and the state file is a regular file with
 * the new content (the link itself is gone). */
static void put_victim(const char *victim)
{
	FILE *f = fopen(victim, "w");

	assert_non_null(f);
	fputs("do not touch\n", f);
	fclose(f);
}

static void victim_untouched(const char *victim)
{
	char line[64] = "";
	FILE *f = fopen(victim, "r");

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line + strlen(line), (int)(sizeof(line) - strlen(line)), f));
	fclose(f);
	assert_string_equal(line, "do not touch\n");
}

static void test_symlink_not_followed(void **state)
{
	char victim[sizeof(dir) + 16], tmp[sizeof(path) + 8], err[256];
	uint8_t k[32], t[TAI64N_LEN];
	struct state st;
	struct stat sb;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	memset(k, 7, sizeof(k));
	ts(t, 4);
	for (int at_state = 0; at_state < 2; at_state++) {
		unlink(path);
		unlink(tmp);
		put_victim(victim);
		assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
		assert_int_equal(symlink(victim, at_state ? path : tmp), 0);
		assert_int_equal(state_update(&st, k, t), 0);
		assert_int_equal(state_save(&st), 0);
		state_free(&st);

		victim_untouched(victim);
		assert_int_equal(lstat(path, &sb), 0);
		assert_true(S_ISREG(sb.st_mode));
		assert_int_equal(lstat(tmp, &sb), -1);
		assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
		assert_int_equal(st.n, 1);
		assert_int_equal(state_get(&st, k)[7], 4);
		state_free(&st);
		unlink(victim);
	}
}

/* One server per state directory: a second lock (another open file
 * description, as another process would have) is refused with the
 * holder's pid, and free again once the first state is freed; a symlink
 * at the lock's name is not followed. */
static void test_lock(void **state)
{
	char err[256], lock[sizeof(dir) + 32];
	struct state a, b;
	pid_t holder = -1;

	(void)state;
	snprintf(lock, sizeof(lock), "%s/%s", dir, STATE_LOCK_FILE);
	assert_int_equal(state_load(&a, path, err, sizeof(err)), 0);
	assert_int_equal(state_load(&b, path, err, sizeof(err)), 0);
	assert_int_equal(state_lock(&a, &holder), 0);
	assert_int_equal(holder, 0);
	assert_int_equal(state_lock(&b, &holder), -EWOULDBLOCK);
	assert_int_equal(holder, getpid());
	state_free(&a);
	assert_int_equal(state_lock(&b, &holder), 0);
	state_free(&b);
	unlink(lock);
	assert_int_equal(symlink("/nonexistent-ll-lock", lock), 0);
	assert_int_equal(state_load(&a, path, err, sizeof(err)), 0);
	assert_int_equal(state_lock(&a, &holder), -ELOOP);
	state_free(&a);
	unlink(lock);
}

/* Before the privilege drop the server hands the state file to the
 * service user and removes a stale temporary file of root's, which the
 * service could not replace in a sticky directory; without a state file
 * there is nothing to do. Root only. */
static void test_hand_over(void **state)
{
	char err[256], tmp[sizeof(path) + 8];
	uint8_t k[32], t[TAI64N_LEN];
	struct state st;
	struct stat sb;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(path);
	assert_int_equal(state_load(&st, path, err, sizeof(err)), 0);
	assert_int_equal(state_hand_over(&st, 65534, 65534), 0); /* no file yet */
	memset(k, 9, sizeof(k));
	ts(t, 6);
	assert_int_equal(state_update(&st, k, t), 0);
	assert_int_equal(state_save(&st), 0);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(state_hand_over(&st, 65534, 65534), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, 65534);
	assert_int_equal(sb.st_gid, 65534);
	assert_int_equal(lstat(tmp, &sb), -1);
	state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_symlink_not_followed),
	    cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_hand_over),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
