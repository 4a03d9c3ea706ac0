/* The handshake's user table; see users.h. */
#include "core/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "crypto/ct.h"

static int cmp_user(const void *a, const void *b)
{
	return memcmp(((const struct user *)a)->cfg.public_key,
		      ((const struct user *)b)->cfg.public_key, 32);
}

static int has_duplicate(const struct users *u, char *err, size_t err_len)
{
	for (size_t i = 1; i < u->n; i++) {
		if (cmp_user(&u->v[i - 1], &u->v[i]) == 0) {
			snprintf(err, err_len, "users '%s' and '%s' have the same public key",
				 u->v[i - 1].cfg.name, u->v[i].cfg.name);
			return -EINVAL;
		}
	}
	return 0;
}

static int add_user(struct users *u, const struct config_user *c, const uint8_t priv[32],
		    const struct state *st, char *err, size_t err_len)
{
	struct user *e = &u->v[u->n];
	const uint8_t *ts = st ? state_get(st, c->public_key) : NULL;

	e->cfg = *c;
	if (handshake_peer_init(&e->peer, priv, c->public_key, c->psk) < 0) {
		snprintf(err, err_len, "user '%s': unusable public key", c->name);
		return -EINVAL;
	}
	if (ts)
		memcpy(e->peer.last_timestamp, ts, TAI64N_LEN);
	u->n++;
	return 0;
}

int users_build(struct users *ret, const struct config_user *cfg, size_t n,
		const uint8_t server_priv[static 32], const struct state *st, char *err,
		size_t err_len)
{
	struct users u = {.v = calloc(n ? n : 1, sizeof(struct user))};
	int r = 0;

	if (!u.v)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++)
		if (cfg[i].enabled)
			r = add_user(&u, &cfg[i], server_priv, st, err, err_len);
	if (r == 0) {
		qsort(u.v, u.n, sizeof(*u.v), cmp_user);
		r = has_duplicate(&u, err, err_len);
	}
	if (r < 0) {
		users_free(&u);
		return r;
	}
	for (size_t i = 0; i < u.n; i++)
		u.v[i].peer.user = &u.v[i];
	*ret = u;
	return 0;
}

void users_free(struct users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		handshake_peer_done(&u->v[i].peer);
	if (u->v)
		ct_wipe(u->v, u->n * sizeof(*u->v));
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

struct user *users_find(const struct users *u, const uint8_t key[static 32])
{
	struct user probe;

	memcpy(probe.cfg.public_key, key, 32);
	return bsearch(&probe, u->v, u->n, sizeof(*u->v), cmp_user);
}

struct handshake_peer *users_lookup(void *ctx, const uint8_t key[static 32])
{
	struct user *e = users_find(ctx, key);

	return e ? &e->peer : NULL;
}
