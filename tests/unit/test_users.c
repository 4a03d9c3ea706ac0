/* The server's handshake user table and its private key file
 * (server/users.c, server/keyfile.c): disabled users left out, lookup by
 * key, duplicate keys refused with both names, timestamps restored from
 * the state; a missing key file created 0600 and read back the same, a
 * malformed one refused; the table built from the user store: its enabled
 * users with an IPv4 address, whichever their source, more than a page. */
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

#include "server/keyfile.h"
#include "server/state.h"
#include "server/users.h"
#include "crypto/x25519.h"
#include "storage/store.h"

static uint8_t server_priv[32];

static struct config_user user(const char *name, uint8_t seed, bool enabled)
{
	struct config_user u = {.enabled = enabled};
	uint8_t priv[32];

	snprintf(u.name, sizeof(u.name), "%s", name);
	memset(priv, seed, 32);
	assert_int_equal(x25519_public(u.public_key, priv), 0);
	memset(u.psk, seed + 1, 32);
	return u;
}

static void test_build_find(void **state)
{
	struct config_user cfg[3] = {user("a", 1, true), user("b", 2, false), user("c", 3, true)};
	struct users u;
	struct state st = {0};
	uint8_t ts[TAI64N_LEN] = {0x40, [7] = 9};
	char err[128];

	(void)state;
	memset(server_priv, 0x55, 32);
	assert_int_equal(state_update(&st, cfg[2].public_key, ts), 0);
	assert_int_equal(users_build(&u, cfg, 3, server_priv, &st, err, sizeof(err)), 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(users_find(&u, cfg[0].public_key)->cfg.name, "a");
	assert_null(users_find(&u, cfg[1].public_key)); /* disabled */
	assert_ptr_equal(users_lookup(&u, cfg[2].public_key)->user,
			 users_find(&u, cfg[2].public_key));
	assert_memory_equal(users_find(&u, cfg[2].public_key)->peer.last_timestamp, ts, TAI64N_LEN);
	users_free(&u);
	state_free(&st);
}

static void test_duplicate(void **state)
{
	struct config_user cfg[2] = {user("first", 1, true), user("second", 1, true)};
	struct users u;
	char err[128] = "";

	(void)state;
	assert_int_equal(users_build(&u, cfg, 2, server_priv, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "first"));
	assert_non_null(strstr(err, "second"));
}

static void store_add(struct store *s, const char *name, unsigned seed, bool enabled, bool has_ipv4,
		      enum store_source src)
{
	struct store_user su;
	struct store_err err;
	uint8_t priv[32];

	store_user_init(&su);
	snprintf(su.name, sizeof(su.name), "%s", name);
	memset(priv, 0, 32);
	priv[5] = (uint8_t)seed; /* not byte 0: clamping clears its low bits */
	priv[6] = (uint8_t)(seed >> 8);
	priv[7] = 1;
	assert_int_equal(x25519_public(su.public_key, priv), 0);
	su.has_psk = true;
	memset(su.psk, (int)seed, 32);
	su.has_ipv4 = has_ipv4;
	su.ipv4[0] = 10;
	su.ipv4[2] = (uint8_t)(seed >> 8);
	su.ipv4[3] = (uint8_t)seed;
	su.has_ipv6 = seed % 2;
	su.ipv6[0] = 0xfd;
	su.ipv6[15] = (uint8_t)seed;
	su.ipv6[14] = (uint8_t)(seed >> 8);
	su.enabled = enabled;
	su.source = src;
	if (store_user_create(s, &su, 1, &err) != STORE_OK)
		fail_msg("%s", err.msg);
}

static void test_from_store(void **state)
{
	char dir[] = "/tmp/ll-test-users-XXXXXX", path[64], side[80];
	struct store *s;
	struct store_err err;
	struct store_user su;
	struct users u;
	size_t skipped = 99;
	char msg[128];

	(void)state;
	memset(server_priv, 0x55, 32);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lostlove.db", dir);
	assert_int_equal(store_open(path, &s, &err), STORE_OK);
	assert_int_equal(store_migrate(s, &err), STORE_OK);
	for (unsigned i = 1; i <= 300; i++) { /* more than one page of the store's list */
		char name[16];
		snprintf(name, sizeof(name), "u%u", i);
		store_add(s, name, i, i % 10 != 0, i != 7,
			  i % 2 ? STORE_SOURCE_API : STORE_SOURCE_TOML);
	}
	assert_int_equal(
	    users_build_from_store(&u, s, server_priv, NULL, &skipped, msg, sizeof(msg)), 0);
	assert_int_equal(u.n, 300 - 30 - 1); /* every tenth disabled, u7 without IPv4 */
	assert_int_equal(skipped, 1);
	assert_int_equal(store_user_get_by_name(s, "u11", &su, &err), STORE_OK);
	{
		const struct user *e = users_find(&u, su.public_key);
		assert_non_null(e);
		assert_string_equal(e->cfg.name, "u11");
		assert_memory_equal(e->cfg.psk, su.psk, 32);
		assert_int_equal(e->cfg.ipv4.family, 4);
		assert_int_equal(e->cfg.ipv4.len, 32);
		assert_memory_equal(e->cfg.ipv4.addr, su.ipv4, 4);
		assert_int_equal(e->cfg.ipv6.family, 6);
		assert_memory_equal(e->cfg.ipv6.addr, su.ipv6, 16);
		assert_ptr_equal(e->peer.user, e);
	}
	assert_int_equal(store_user_get_by_name(s, "u20", &su, &err), STORE_OK);
	assert_null(users_find(&u, su.public_key)); /* disabled */
	{
		/* a reload reuses the DH of users it had, computes the new ones:
		 * every entry as a fresh build makes it */
		struct users again, fresh;
		store_add(s, "u301", 301, true, true, STORE_SOURCE_API);
		assert_int_equal(users_rebuild_from_store(&again, s, server_priv, NULL, &u, NULL,
							  msg, sizeof(msg)),
				 0);
		assert_int_equal(
		    users_build_from_store(&fresh, s, server_priv, NULL, NULL, msg, sizeof(msg)),
		    0);
		assert_int_equal(again.n, u.n + 1);
		assert_int_equal(fresh.n, again.n);
		for (size_t i = 0; i < fresh.n; i++) {
			assert_memory_equal(&again.v[i].peer, &fresh.v[i].peer,
					    offsetof(struct handshake_peer, user));
			assert_ptr_equal(again.v[i].peer.user, &again.v[i]);
		}
		users_free(&again);
		users_free(&fresh);
	}
	users_free(&u);
	store_close(s);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	rmdir(dir);
}

/* A device of user_id with a key from seed; an address unless not. */
static void device_add(struct store *s, int64_t user_id, const char *name, unsigned seed,
		       bool has_ipv4, struct store_device *d)
{
	struct store_err err;
	uint8_t priv[32] = {[5] = (uint8_t)seed, [6] = (uint8_t)(seed >> 8), [7] = 2};

	memset(d, 0, sizeof(*d));
	d->user_id = user_id;
	snprintf(d->name, sizeof(d->name), "%s", name);
	assert_int_equal(x25519_public(d->public_key, priv), 0);
	d->has_psk = true;
	memset(d->psk, (int)seed + 7, 32);
	d->has_ipv4 = has_ipv4;
	d->ipv4[0] = 10;
	d->ipv4[1] = 9;
	d->ipv4[3] = (uint8_t)seed;
	if (store_device_add(s, d, 1, &err) != STORE_OK)
		fail_msg("%s", err.msg);
}

/* Every device key is a handshake peer of its user: its own key, PSK and
 * address, the user's name and limits, one owner holding the acct; the
 * devices of a disabled user and a device without an address are left
 * out; device_limit counts live sessions over all the user's keys, and a
 * key that has a session is always allowed (a rekey). */
static void test_devices(void **state)
{
	char dir[] = "/tmp/ll-test-users-XXXXXX", path[64], side[80];
	struct store *s;
	struct store_err err;
	struct store_user a, b;
	struct store_device phone, laptop, tablet, other;
	struct users u;
	struct user *ea, *ep, *el;
	size_t skipped = 0;
	char msg[128];
	struct session *live = (struct session *)&u; /* a non-NULL marker, never used */

	(void)state;
	memset(server_priv, 0x55, 32);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lostlove.db", dir);
	assert_int_equal(store_open(path, &s, &err), STORE_OK);
	assert_int_equal(store_migrate(s, &err), STORE_OK);
	store_add(s, "alice", 1, true, true, STORE_SOURCE_API);
	store_add(s, "bob", 2, false, true, STORE_SOURCE_API);
	assert_int_equal(store_user_get_by_name(s, "alice", &a, &err), STORE_OK);
	assert_int_equal(store_user_get_by_name(s, "bob", &b, &err), STORE_OK);
	a.device_limit = 2;
	assert_int_equal(store_user_update(s, a.id, &a, STORE_F_DEVICE_LIMIT, 2, NULL, &err),
			 STORE_OK);
	device_add(s, a.id, "phone", 11, true, &phone);
	device_add(s, a.id, "laptop", 12, true, &laptop);
	device_add(s, a.id, "tablet", 13, false, &tablet); /* no address: left out */
	device_add(s, b.id, "other", 14, true, &other);	   /* bob is disabled */

	assert_int_equal(
	    users_build_from_store(&u, s, server_priv, NULL, &skipped, msg, sizeof(msg)), 0);
	assert_int_equal(u.n, 3);
	assert_int_equal(skipped, 1);
	assert_null(users_find(&u, tablet.public_key));
	assert_null(users_find(&u, other.public_key));
	ea = users_find(&u, a.public_key);
	ep = users_find(&u, phone.public_key);
	el = users_find(&u, laptop.public_key);
	assert_non_null(ea);
	assert_non_null(ep);
	assert_non_null(el);
	assert_ptr_equal(ea->owner, ea);
	assert_ptr_equal(ep->owner, ea);
	assert_ptr_equal(el->owner, ea);
	assert_string_equal(ea->device, "");
	assert_string_equal(ep->device, "phone");
	assert_string_equal(ep->cfg.name, "alice");
	assert_memory_equal(ep->cfg.psk, phone.psk, 32);
	assert_memory_equal(ep->cfg.ipv4.addr, phone.ipv4, 4);
	assert_int_equal(ep->cfg.ipv6.family, 0); /* the device has none; not alice's */
	assert_int_equal(ep->cfg.limits.device_limit, 2);
	assert_ptr_equal(users_lookup(&u, phone.public_key)->user, ep);
	{
		unsigned n = 0;
		for (const struct user *e = ea->next_device; e; e = e->next_device) {
			assert_ptr_equal(e->owner, ea);
			n++;
		}
		assert_int_equal(n, 2);
	}

	/* device_limit 2 */
	assert_int_equal(users_live_sessions(ea), 0);
	assert_true(users_device_allowed(ep));
	ea->session = live;
	ep->session = live;
	assert_int_equal(users_live_sessions(ea), 2);
	assert_false(users_device_allowed(el)); /* the third */
	assert_true(users_device_allowed(ep));	/* a rekey of a live one */
	ea->session = NULL;
	assert_true(users_device_allowed(el));	/* one left */
	ea->owner->cfg.limits.device_limit = 0; /* unlimited */
	ea->session = live;
	assert_true(users_device_allowed(el));
	ea->session = ep->session = NULL;

	users_free(&u);
	store_close(s);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	rmdir(dir);
}

static void test_keyfile(void **state)
{
	char dir[] = "/tmp/ll-test-key-XXXXXX", path[64], err[256];
	uint8_t k1[32], k2[32];
	bool created, loose;
	struct stat sb;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/server.key", dir);
	assert_int_equal(keyfile_load_or_create(path, k1, &created, &loose, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(keyfile_load_or_create(path, k2, &created, &loose, err, sizeof(err)), 0);
	assert_false(created);
	assert_false(loose);
	assert_memory_equal(k1, k2, 32);
	chmod(path, 0644);
	assert_int_equal(keyfile_load_or_create(path, k2, &created, &loose, err, sizeof(err)), 0);
	assert_true(loose);
	f = fopen(path, "w");
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(keyfile_load_or_create(path, k2, &created, &loose, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, path));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_find), cmocka_unit_test(test_duplicate),
	    cmocka_unit_test(test_keyfile),    cmocka_unit_test(test_from_store),
	    cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
