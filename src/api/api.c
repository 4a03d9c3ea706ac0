/* The admin API; the model is in api.h, the endpoints in docs/api.md.
 *
 * Layout: lifecycle (the server addon), then per request: who is calling
 * (authorize), which endpoint (dispatch), and one handler per endpoint.
 * The handlers build JSON with jansson and read bodies through the strict
 * field tables of api/json.h. */
#include "api/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/addrpool.h"
#include "api/export_adapter.h"
#include "api/httpd.h"
#include "api/json.h"
#include "api/jwt.h"
#include "server/keyfile.h"
#include "server/srvcmd.h"
#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"
#include "storage/store.h"
#include "storage/sync.h"
#include "util/log.h"

#define SECRET_FILE	"api.key"
#define BODY_MAX	16384 /* the largest body: a user with a 1 KiB note */
#define MAX_CONNECTIONS 64
#define CONN_TIMEOUT_S	30
#define PER_IP_PER_S	50 /* TCP: requests a second from one address */
#define PER_IP_BURST	100
#define LIST_MAX	STORE_PAGE_MAX
#define POOL_BITS_MAX	16 /* addresses are allocated in the first 65536 of the pool */
#define TOKEN_TTL_MAX	(366LL * 86400)

struct api;

/* One listener: the Unix socket, or TCP (JWT). */
struct listener {
	struct api *api;
	bool tcp;
	struct httpd h;
	bool on;
	struct httpd_route routes[4];
};

struct api {
	struct server *srv;
	const struct server_config *cfg;
	struct store *store;
	pthread_mutex_t store_lock; /* one connection, two listener threads */
	uint8_t jwt_key[32];	    /* token MACs */
	uint8_t ckey[32];	    /* client private keys made by the server */
	struct listener unix_l, tcp_l;
};

/* One request being answered. */
struct call {
	struct api *api;
	const struct httpd_request *req;
	struct httpd_response *res;
	bool tcp;
	bool admin; /* role: may change things */
	char actor[96];
	int64_t now;
};

/* ---- answers ---- */

static void reply_json(struct call *c, unsigned status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s) {
		httpd_error(c->res, 500, "internal", "out of memory");
		return;
	}
	c->res->status = status;
	c->res->content_type = "application/json";
	c->res->body = s;
	c->res->len = strlen(s);
}

static void reply_error(struct call *c, const struct api_error *e)
{
	char *s = api_error_body(e);

	if (!s) {
		httpd_error(c->res, 500, "internal", "out of memory");
		return;
	}
	c->res->status = (unsigned)e->status;
	c->res->content_type = "application/json";
	c->res->body = s;
	c->res->len = strlen(s);
}

__attribute__((format(printf, 5, 6))) static void fail(struct call *c, int status, const char *code,
						       const char *field, const char *fmt, ...)
{
	struct api_error e = {.status = status, .code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
	va_end(ap);
	if (field)
		snprintf(e.field, sizeof(e.field), "%s", field);
	reply_error(c, &e);
}

/* A store failure as an answer: its status and message. */
static void fail_store(struct call *c, enum store_status st, const struct store_err *err)
{
	switch (st) {
	case STORE_NOT_FOUND:
		fail(c, 404, "not_found", NULL, "%s", err->msg);
		break;
	case STORE_EXISTS:
		fail(c, 409, "conflict", NULL, "%s", err->msg);
		break;
	case STORE_INVALID:
		fail(c, 422, "bad_value", NULL, "%s", err->msg);
		break;
	case STORE_BUSY:
		fail(c, 503, "unavailable", NULL, "the store is busy: %s", err->msg);
		break;
	default:
		fail(c, 500, "internal", NULL, "the store failed: %s", err->msg);
	}
}

static const char *query(const struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A query integer in min..max, def when absent; -1 after answering 422. */
static int64_t query_int(struct call *c, const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *s = query(c, name);
	char *end;
	long long v;

	if (!s)
		return def;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max) {
		fail(c, 422, "out_of_range", name,
		     "query %s must be an integer in %" PRId64 "..%" PRId64, name, min, max);
		return -1;
	}
	return v;
}

/* ---- the control thread ---- */

/* Posts a command and waits; NULL after answering 503 (no answer in time,
 * or the server stopping) or 500. The caller puts the command back. */
static struct cmdq_cmd *ask(struct call *c, enum cmdq_kind kind, const char *name, uint64_t id)
{
	struct cmdq *q = &c->api->srv->cmds;
	struct cmdq_cmd *cmd = cmdq_cmd_new(kind);
	int r;

	if (!cmd) {
		fail(c, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	if (name)
		snprintf(cmd->name, sizeof(cmd->name), "%s", name);
	cmd->id = id;
	r = cmdq_call(q, cmd, API_CMD_TIMEOUT_MS);
	if (r == 0 && cmd->status != -ENOMEM)
		return cmd;
	cmdq_cmd_put(q, cmd);
	if (r == -ETIMEDOUT)
		fail(c, 503, "unavailable", NULL,
		     "the server's control thread did not answer in time");
	else if (r == -EAGAIN)
		fail(c, 503, "unavailable", NULL, "too many requests wait for the control thread");
	else if (r == -ESHUTDOWN)
		fail(c, 503, "unavailable", NULL, "the server is stopping");
	else
		fail(c, 500, "internal", NULL, "out of memory");
	return NULL;
}

static void done(struct call *c, struct cmdq_cmd *cmd)
{
	cmdq_cmd_put(&c->api->srv->cmds, cmd);
}

/* The handshake table from the store, after a change: true if the control
 * thread took it (it logs why not otherwise). */
static bool apply_users(struct call *c, uint64_t *ret_users)
{
	struct cmdq_cmd *cmd = cmdq_cmd_new(CMDQ_RELOAD);
	bool ok = false;

	if (!cmd)
		return false;
	if (cmdq_call(&c->api->srv->cmds, cmd, API_CMD_TIMEOUT_MS) == 0 && cmd->status == 0) {
		ok = true;
		if (ret_users)
			*ret_users = cmd->count;
	}
	done(c, cmd);
	return ok;
}

/* ---- the audit log ---- */

__attribute__((format(printf, 4, 5))) static void audit(struct call *c, const char *action,
							const char *target, const char *fmt, ...)
{
	struct store_audit a = {.at = c->now};
	struct store_err err;
	va_list ap;

	snprintf(a.actor, sizeof(a.actor), "%s", c->actor);
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target, sizeof(a.target), "%s", target);
	va_start(ap, fmt);
	vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
	va_end(ap);
	if (store_audit_append(c->api->store, &a, NULL, &err) != STORE_OK)
		log_warn(LOG_GROUP_CORE, "api: audit log: %s", err.msg);
}

/* ---- users: JSON both ways ---- */

static json_t *addr_json(bool has, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	if (!has || !inet_ntop(family, a, s, sizeof(s)))
		return json_null();
	return json_string(s);
}

static json_t *user_json(const struct store_user *u)
{
	char pub[KEY_BASE64_LEN + 1];

	key_to_base64(pub, u->public_key);
	return json_pack(
	    "{s:s,s:s,s:b,s:o,s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:s,s:s,"
	    "s:I,s:I}",
	    "name", u->name, "public_key", pub, "has_psk", u->has_psk, "ipv4",
	    addr_json(u->has_ipv4, AF_INET, u->ipv4), "ipv6",
	    addr_json(u->has_ipv6, AF_INET6, u->ipv6), "enabled", u->enabled, "expires_at",
	    (json_int_t)u->expires_at, "expires_after_first_connect",
	    (json_int_t)u->expiry_from_first_connect, "first_connected_at",
	    (json_int_t)u->first_connected_at, "data_limit", (json_int_t)u->data_limit, "used_up",
	    (json_int_t)u->used_up, "used_down", (json_int_t)u->used_down, "quota_period",
	    store_period_name(u->quota_period), "quota_day", u->quota_day, "quota_action",
	    store_quota_action_name(u->quota_action), "throttle_rate", (json_int_t)u->throttle_rate,
	    "period_start", (json_int_t)u->period_start, "rate_limit", (json_int_t)u->rate_limit,
	    "device_limit", (json_int_t)u->device_limit, "note", u->note, "source",
	    store_source_name(u->source), "created_at", (json_int_t)u->created_at, "updated_at",
	    (json_int_t)u->updated_at);
}

static int64_t int_or_zero(const json_t *v)
{
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ipv4 / ipv6 fields: a host of the server's pool. */
static int take_addr(struct call *c, const json_t *o, const char *key, struct store_user *u,
		     uint32_t *mask)
{
	const struct server_config *cfg = c->api->cfg;
	const json_t *v = json_object_get(o, key);
	bool six = key[3] == '6';
	uint8_t a[16];

	if (!v)
		return 0;
	if (json_is_null(v)) {
		u->has_ipv6 = false;
		*mask |= STORE_F_IPV6;
		return 0;
	}
	if (inet_pton(six ? AF_INET6 : AF_INET, json_string_value(v), a) != 1) {
		fail(c, 422, "bad_value", key, "%s is not an IPv%c address", key, six ? '6' : '4');
		return -1;
	}
	if (six && !cfg->enable_ipv6) {
		fail(c, 422, "bad_value", key, "IPv6 is off on this server (network.enable_ipv6)");
		return -1;
	}
	if (!addrpool_is_host(six ? &cfg->tun_address6 : &cfg->tun_address, a, six ? 16 : 4)) {
		fail(c, 422, "bad_value", key,
		     "%s is not a free host address of the server's network.tun_address%s", key,
		     six ? "6" : "");
		return -1;
	}
	if (six) {
		memcpy(u->ipv6, a, 16);
		u->has_ipv6 = true;
		*mask |= STORE_F_IPV6;
	} else {
		memcpy(u->ipv4, a, 4);
		u->has_ipv4 = true;
		*mask |= STORE_F_IPV4;
	}
	return 0;
}

/* A public key the handshake can use: not one of the low-order points
 * (whose shared secret is all zero; server/users.c would refuse the whole
 * table). */
static bool key_usable(const uint8_t pub[32])
{
	uint8_t priv[32], pub2[32], shared[32];
	bool ok =
	    x25519_keygen(priv, pub2, &rng_system) == 0 && x25519_shared(shared, priv, pub) == 0;

	ct_wipe(priv, sizeof(priv));
	ct_wipe(shared, sizeof(shared));
	return ok;
}

static int take_keys(struct call *c, const json_t *o, struct store_user *u, uint32_t *mask)
{
	const json_t *psk = json_object_get(o, "psk");

	if (json_object_get(o, "public_key")) {
		if (api_json_get_key(o, "public_key", u->public_key) < 0 ||
		    !key_usable(u->public_key)) {
			fail(c, 422, "bad_key", "public_key",
			     "public_key is not a usable X25519 public key");
			return -1;
		}
		*mask |= STORE_F_PUBLIC_KEY;
	}
	if (psk) {
		u->has_psk = !json_is_null(psk);
		if (u->has_psk && api_json_get_key(o, "psk", u->psk) < 0) {
			fail(c, 422, "bad_key", "psk", "psk is not a 32-byte key in base64");
			return -1;
		}
		*mask |= STORE_F_PSK;
	}
	return 0;
}

static void take_ints(const json_t *o, struct store_user *u, uint32_t *mask)
{
	static const struct {
		const char *key;
		size_t off;
		uint32_t bit;
	} ints[] = {
	    {"expires_at", offsetof(struct store_user, expires_at), STORE_F_EXPIRES_AT},
	    {"expires_after_first_connect", offsetof(struct store_user, expiry_from_first_connect),
	     STORE_F_EXPIRY_FIRST},
	    {"data_limit", offsetof(struct store_user, data_limit), STORE_F_DATA_LIMIT},
	    {"throttle_rate", offsetof(struct store_user, throttle_rate), STORE_F_THROTTLE_RATE},
	    {"rate_limit", offsetof(struct store_user, rate_limit), STORE_F_RATE_LIMIT},
	    {"device_limit", offsetof(struct store_user, device_limit), STORE_F_DEVICE_LIMIT},
	};

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		const json_t *v = json_object_get(o, ints[i].key);
		if (!v)
			continue;
		*(int64_t *)((char *)u + ints[i].off) = int_or_zero(v);
		*mask |= ints[i].bit;
	}
}

/* Every field of a checked body into u, the fields set in *mask. -1
 * after answering. */
static int take_fields(struct call *c, const json_t *o, struct store_user *u, uint32_t *mask)
{
	const json_t *v;

	if (take_keys(c, o, u, mask) < 0 || take_addr(c, o, "ipv4", u, mask) < 0 ||
	    take_addr(c, o, "ipv6", u, mask) < 0)
		return -1;
	take_ints(o, u, mask);
	if ((v = json_object_get(o, "enabled"))) {
		u->enabled = json_is_true(v);
		*mask |= STORE_F_ENABLED;
	}
	if ((v = json_object_get(o, "quota_period"))) {
		u->quota_period = (enum store_period)store_period_parse(json_string_value(v));
		*mask |= STORE_F_QUOTA_PERIOD;
	}
	if ((v = json_object_get(o, "quota_day"))) {
		u->quota_day = (int)json_integer_value(v);
		*mask |= STORE_F_QUOTA_PERIOD;
	}
	if ((v = json_object_get(o, "quota_action"))) {
		u->quota_action =
		    (enum store_quota_action)store_quota_action_parse(json_string_value(v));
		*mask |= STORE_F_QUOTA_ACTION;
	}
	if ((v = json_object_get(o, "note"))) {
		snprintf(u->note, sizeof(u->note), "%s", json_string_value(v));
		*mask |= STORE_F_NOTE;
	}
	return 0;
}

/* The body of a POST/PATCH, checked against fields; NULL after answering. */
static json_t *read_body(struct call *c, const struct api_field *fields, size_t n)
{
	struct api_error e = {0};
	json_t *o = api_json_parse(httpd_header(c->req, "Content-Type"), (const char *)c->req->body,
				   c->req->body_len, BODY_MAX, &e);

	if (o && api_json_check(o, fields, n, &e) < 0) {
		json_decref(o);
		o = NULL;
	}
	if (!o)
		reply_error(c, &e);
	return o;
}

/* ---- users: addresses and keys the server makes ---- */

static void mark_host(uint8_t *bitmap, size_t bits, const struct config_prefix *p,
		      const uint8_t ipv4[4])
{
	uint32_t host, a;

	memcpy(&a, ipv4, 4);
	host = ntohl(a) & ~(p->len ? ~0u << (32 - p->len) : 0u);
	if (host < bits)
		bitmap[host / 8] |= (uint8_t)(1u << (host % 8));
}

/* The addresses one user or device holds. */
struct held {
	bool has_ipv4, has_ipv6;
	const uint8_t *ipv4, *ipv6;
};

typedef int (*held_fn)(void *ctx, const struct held *h);

/* Calls visit with every user's addresses, a page at a time. Stops at the
 * first nonzero visit and returns it; -ENOMEM, -EIO. */
static int each_user_held(struct call *c, held_fn visit, void *ctx)
{
	struct store_user *page = malloc(LIST_MAX * sizeof(*page));
	struct store_user_filter f = {.limit = LIST_MAX, .enabled = -1, .source = -1};
	struct store_err err;
	size_t got;
	enum store_status st;
	int r = 0;

	if (!page)
		return -ENOMEM;
	do {
		st = store_user_list(c->api->store, &f, page, &got, &err);
		for (size_t i = 0; st == STORE_OK && r == 0 && i < got; i++)
			r = visit(ctx, &(struct held){page[i].has_ipv4, page[i].has_ipv6,
						      page[i].ipv4, page[i].ipv6});
		if (got)
			f.after_id = page[got - 1].id;
	} while (st == STORE_OK && r == 0 && got == LIST_MAX);
	ct_wipe(page, LIST_MAX * sizeof(*page)); /* PSKs */
	free(page);
	return r ? r : st == STORE_OK ? 0 : -EIO;
}

/* The same over the devices of every user. */
static int each_device_held(struct call *c, held_fn visit, void *ctx)
{
	struct store_device *page = malloc(LIST_MAX * sizeof(*page));
	struct store_device_filter f = {.limit = LIST_MAX, .enabled = -1};
	struct store_err err;
	size_t got;
	enum store_status st;
	int r = 0;

	if (!page)
		return -ENOMEM;
	do {
		st = store_device_list(c->api->store, &f, page, &got, &err);
		for (size_t i = 0; st == STORE_OK && r == 0 && i < got; i++)
			r = visit(ctx, &(struct held){page[i].has_ipv4, page[i].has_ipv6,
						      page[i].ipv4, page[i].ipv6});
		if (got)
			f.after_id = page[got - 1].id;
	} while (st == STORE_OK && r == 0 && got == LIST_MAX);
	ct_wipe(page, LIST_MAX * sizeof(*page)); /* PSKs */
	free(page);
	return r ? r : st == STORE_OK ? 0 : -EIO;
}

/* Every address in use: the users', then their devices'. One walk serves
 * both pools' allocators. */
static int each_held(struct call *c, held_fn visit, void *ctx)
{
	int r = each_user_held(c, visit, ctx);

	return r ? r : each_device_held(c, visit, ctx);
}

struct host_map {
	uint8_t *bitmap;
	size_t bits;
	const struct config_prefix *p;
};

static int mark_held4(void *ctx, const struct held *h)
{
	const struct host_map *m = ctx;

	if (h->has_ipv4)
		mark_host(m->bitmap, m->bits, m->p, h->ipv4);
	return 0;
}

/* The pool's host bits that are taken, over every user and device of the
 * store. */
static int used_hosts(struct call *c, uint8_t *bitmap, size_t bits, const struct config_prefix *p)
{
	struct host_map m = {bitmap, bits, p};

	return each_held(c, mark_held4, &m);
}

/* The lowest free host address of the IPv4 pool (and the same host in the
 * IPv6 pool). -1 after answering. */
static int allocate(struct call *c, struct store_user *u)
{
	const struct server_config *cfg = c->api->cfg;
	const struct config_prefix *p4 = &cfg->tun_address;
	unsigned host_bits = 32 - p4->len;
	size_t bits = (size_t)1 << (host_bits < POOL_BITS_MAX ? host_bits : POOL_BITS_MAX);
	uint8_t *map = calloc(bits / 8 + 1, 1);
	uint32_t net, server, found = 0;

	if (!map || used_hosts(c, map, bits, p4) < 0) {
		free(map);
		fail(c, 500, "internal", NULL, "cannot read the users' addresses");
		return -1;
	}
	memcpy(&net, p4->addr, 4);
	server = ntohl(net) & ~(p4->len ? ~0u << (32 - p4->len) : 0u);
	for (uint32_t h = 1; h < bits && !found; h++)
		if (h != server && !(map[h / 8] & (1u << (h % 8))) &&
		    (host_bits > POOL_BITS_MAX || h != bits - 1))
			found = h;
	free(map);
	if (!found) {
		fail(c, 409, "conflict", "ipv4", "the address pool (network.tun_address) is full");
		return -1;
	}
	uint32_t a = htonl((ntohl(net) & (p4->len ? ~0u << (32 - p4->len) : 0u)) | found);
	memcpy(u->ipv4, &a, 4);
	u->has_ipv4 = true;
	return 0;
}

/* IPv6 addresses in use, growing. */
struct addrs6 {
	uint8_t (*v)[16];
	size_t n, cap;
};

static int addrs6_push(struct addrs6 *a, const uint8_t ip[16])
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 256;
		void *nv = realloc(a->v, cap * sizeof(*a->v));
		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = cap;
	}
	memcpy(a->v[a->n++], ip, 16);
	return 0;
}

static int push_held6(void *ctx, const struct held *h)
{
	return h->has_ipv6 ? addrs6_push(ctx, h->ipv6) : 0;
}

/* The IPv6 address of a new user or device that was given none, when IPv6
 * is on: a free host address inside network.tun_address6 (no user's, no
 * device's), preferably the IPv4 host's number (10.8.0.9 -> fd00:8::9). -1 after answering (409
 * when the IPv6 pool is full). */
static int allocate6(struct call *c, struct store_user *u, uint32_t mask)
{
	const struct server_config *cfg = c->api->cfg;
	const struct config_prefix *p4 = &cfg->tun_address;
	struct addrs6 used = {0};
	uint32_t a, host = 0;
	int r;

	if (!cfg->enable_ipv6 || cfg->tun_address6.family != 6 || (mask & STORE_F_IPV6))
		return 0;
	if (u->has_ipv4) {
		memcpy(&a, u->ipv4, 4);
		host = ntohl(a) & ~(p4->len ? ~0u << (32 - p4->len) : 0u);
	}
	r = each_held(c, push_held6, &used);
	if (r == 0)
		r = addrpool_pick6(&cfg->tun_address6, host, (const uint8_t(*)[16])used.v, used.n,
				   u->ipv6);
	free(used.v);
	if (r == -ENOSPC) {
		fail(c, 409, "conflict", "ipv6",
		     "the IPv6 address pool (network.tun_address6) is full");
		return -1;
	}
	if (r < 0) {
		fail(c, 500, "internal", NULL, "cannot read the users' IPv6 addresses");
		return -1;
	}
	u->has_ipv6 = true;
	return 0;
}

/* A client key the server makes is derived, not stored: HMAC of the
 * API secret over what never changes about the user (name, creation
 * time, address), so the config can be exported again and the store
 * holds no client private key. */
static void derive_client_key(const struct api *api, const struct store_user *u, int64_t created_at,
			      uint8_t priv[32])
{
	uint8_t t[8];
	struct iov_c parts[] = {
	    {"lostlove client key v1", 23},
	    {u->name, strlen(u->name) + 1},
	    {t, 8},
	    {u->ipv4, 4},
	};

	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)((uint64_t)created_at >> (56 - 8 * i));
	hmac_sha256_v(priv, api->ckey, sizeof(api->ckey), parts, 4);
	priv[0] &= 248; /* RFC 7748 clamping */
	priv[31] &= 127;
	priv[31] |= 64;
}

/* true if u's key is the one the server made for it (and *priv holds it). */
static bool client_key(const struct api *api, const struct store_user *u, uint8_t priv[32])
{
	uint8_t pub[32];

	derive_client_key(api, u, u->created_at, priv);
	if (x25519_public(pub, priv) == 0 && ct_memeq(pub, u->public_key, 32))
		return true;
	ct_wipe(priv, 32);
	return false;
}

/* ---- users: handlers ---- */

static int find_user(struct call *c, const char *name, struct store_user *u)
{
	struct store_err err;
	enum store_status st = store_user_get_by_name(c->api->store, name, u, &err);

	if (st == STORE_NOT_FOUND)
		fail(c, 404, "not_found", NULL, "no user named '%.64s'", name);
	else if (st != STORE_OK)
		fail_store(c, st, &err);
	return st == STORE_OK ? 0 : -1;
}

static void users_list(struct call *c)
{
	struct store_user_filter f = {.enabled = -1, .source = -1};
	struct store_user *page;
	struct store_err err;
	int64_t limit = query_int(c, "limit", 100, 1, LIST_MAX);
	int64_t after = limit < 0 ? -1 : query_int(c, "after", 0, 0, INT64_MAX);
	size_t n = 0;
	enum store_status st;
	json_t *arr;

	if (limit < 0 || after < 0)
		return;
	f.limit = (size_t)limit;
	f.after_id = after;
	f.name_contains = query(c, "name");
	page = malloc((size_t)limit * sizeof(*page));
	if (!page) {
		fail(c, 500, "internal", NULL, "out of memory");
		return;
	}
	st = store_user_list(c->api->store, &f, page, &n, &err);
	if (st != STORE_OK) {
		free(page);
		fail_store(c, st, &err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *u = user_json(&page[i]);
		json_object_set_new(u, "id", json_integer(page[i].id));
		json_array_append_new(arr, u);
	}
	reply_json(c, 200,
		   json_pack("{s:o,s:o}", "users", arr, "next_after",
			     n == (size_t)limit ? json_integer(page[n - 1].id) : json_null()));
	ct_wipe(page, (size_t)limit * sizeof(*page)); /* PSKs */
	free(page);
}

/* A user whose key the server makes is only of use through its exported
 * config: refuse it before anything is stored when the config cannot be
 * written (no [api] endpoint with a wildcard bind_address), so no user is
 * left created but unusable. A user with its own key needs no export. */
static bool exportable(struct call *c, uint32_t mask)
{
	char host[256], why[200];

	if ((mask & STORE_F_PUBLIC_KEY) ||
	    export_endpoint(c->api->cfg, host, sizeof(host), why, sizeof(why)))
		return true;
	fail(c, 409, "conflict", NULL, "no user created: its config could not be exported: %s",
	     why);
	return false;
}

static void users_create(struct call *c)
{
	json_t *o = read_body(c, api_user_fields, api_user_fields_n);
	struct store_user u;
	struct store_err err;
	uint32_t mask = 0;
	uint8_t priv[32];
	bool made_key;
	enum store_status st;
	uint64_t n_users = 0;

	if (!o)
		return;
	store_user_init(&u);
	snprintf(u.name, sizeof(u.name), "%s", json_string_value(json_object_get(o, "name")));
	if (take_fields(c, o, &u, &mask) < 0 || !exportable(c, mask) ||
	    (!u.has_ipv4 && allocate(c, &u) < 0) || allocate6(c, &u, mask) < 0) {
		json_decref(o);
		return;
	}
	made_key = !(mask & STORE_F_PUBLIC_KEY);
	if (made_key) {
		derive_client_key(c->api, &u, c->now, priv);
		(void)x25519_public(u.public_key, priv);
		ct_wipe(priv, sizeof(priv));
	}
	if (!(mask & STORE_F_PSK)) {
		u.has_psk = rng_fill(&rng_system, u.psk, 32) == 0;
	}
	json_decref(o);
	st = store_user_validate(&u, &err);
	if (st == STORE_OK)
		st = store_user_create(c->api->store, &u, c->now, &err);
	ct_wipe(u.psk, sizeof(u.psk));
	if (st != STORE_OK) {
		fail_store(c, st, &err);
		return;
	}
	audit(c, "user.create", u.name, "ipv4 %u.%u.%u.%u, key %s", u.ipv4[0], u.ipv4[1], u.ipv4[2],
	      u.ipv4[3], made_key ? "made by the server" : "given");
	bool applied = apply_users(c, &n_users);
	reply_json(c, 201,
		   json_pack("{s:o,s:b,s:b}", "user", user_json(&u), "config_available", made_key,
			     "applied", applied));
}

static void user_get(struct call *c, const char *name)
{
	struct store_user u;

	if (find_user(c, name, &u) == 0)
		reply_json(c, 200, json_pack("{s:o}", "user", user_json(&u)));
	ct_wipe(u.psk, sizeof(u.psk));
}

/* A user whose key the server made and whose address changes gets the key
 * of its new address (the derivation covers it): its old config stops
 * working, its new one can be exported. A key given in the same request
 * wins. */
static void reissue_key(const struct api *api, const struct store_user *u, struct store_user *vals,
			uint32_t *mask)
{
	uint8_t priv[32];

	if (!(*mask & STORE_F_IPV4) || (*mask & STORE_F_PUBLIC_KEY) ||
	    !memcmp(u->ipv4, vals->ipv4, 4) || !client_key(api, u, priv))
		return;
	ct_wipe(priv, sizeof(priv));
	derive_client_key(api, vals, u->created_at, priv);
	if (x25519_public(vals->public_key, priv) == 0)
		*mask |= STORE_F_PUBLIC_KEY;
	ct_wipe(priv, sizeof(priv));
}

/* PATCH: the fields given, checked, stored; the control thread applies
 * them (a disabled user's sessions end, a changed key or address ends
 * the old sessions). */
static void user_patch(struct call *c, const char *name)
{
	json_t *o = read_body(c, api_user_fields + 1, api_user_fields_n - 1);
	struct store_user u, vals, out;
	struct store_err err;
	uint32_t mask = 0;
	enum store_status st;

	if (!o)
		return;
	if (find_user(c, name, &u) < 0) {
		json_decref(o);
		return;
	}
	vals = u;
	if (take_fields(c, o, &vals, &mask) < 0) {
		json_decref(o);
		return;
	}
	json_decref(o);
	if (u.source == STORE_SOURCE_TOML && (mask & STORE_SYNC_FIELDS)) {
		/* the next reload's sync would undo it */
		fail(c, 409, "conflict", NULL,
		     "user '%s' is declared in users.toml, which owns its keys, addresses and "
		     "enabled: change them there and reload",
		     u.name);
		ct_wipe(&vals, sizeof(vals));
		ct_wipe(&u, sizeof(u));
		return;
	}
	reissue_key(c->api, &u, &vals, &mask);
	st = store_user_validate(&vals, &err);
	if (st == STORE_OK)
		st = store_user_update(c->api->store, u.id, &vals, mask, c->now, &out, &err);
	ct_wipe(u.psk, sizeof(u.psk));
	ct_wipe(vals.psk, sizeof(vals.psk));
	ct_wipe(out.psk, sizeof(out.psk));
	if (st != STORE_OK) {
		fail_store(c, st, &err);
		return;
	}
	audit(c, "user.update", u.name, "fields 0x%x%s", mask,
	      (mask & STORE_F_ENABLED) ? (vals.enabled ? ", enabled" : ", disabled") : "");
	bool applied = apply_users(c, NULL);
	reply_json(c, 200, json_pack("{s:o,s:b}", "user", user_json(&out), "applied", applied));
}

static void user_delete(struct call *c, const char *name)
{
	struct store_user u;
	struct store_err err;
	enum store_status st;

	if (find_user(c, name, &u) < 0)
		return;
	if (u.source == STORE_SOURCE_TOML) {
		/* the reload that applies the delete would sync it back */
		fail(c, 409, "conflict", NULL,
		     "user '%s' is declared in users.toml: remove it there and reload", u.name);
		return;
	}
	st = store_user_delete(c->api->store, u.id, &err);
	if (st != STORE_OK) {
		fail_store(c, st, &err);
		return;
	}
	audit(c, "user.delete", u.name, "source %s", store_source_name(u.source));
	bool applied = apply_users(c, NULL);
	reply_json(c, 200, json_pack("{s:s,s:b}", "deleted", u.name, "applied", applied));
}

static void user_config(struct call *c, const char *name)
{
	const char *format = query(c, "format");
	struct store_user u;
	struct export_out out = {0};
	uint8_t priv[32];
	char why[160] = "";
	int r;

	if (!format)
		format = "toml";
	if (strcmp(format, "toml") && strcmp(format, "uri") && strcmp(format, "qr")) {
		fail(c, 422, "bad_value", "format", "format must be toml, uri or qr");
		return;
	}
	if (!c->admin) {
		/* a dashboard's token must not carry users' private keys away */
		fail(c, 403, "forbidden", NULL,
		     "a read-only token cannot read a client configuration (it holds its keys)");
		return;
	}
	if (find_user(c, name, &u) < 0)
		return;
	if (!client_key(c->api, &u, priv)) {
		fail(c, 409, "conflict", NULL,
		     "the server did not make user '%s''s key (it was given): its client holds "
		     "the private key, the server cannot write its config",
		     u.name);
		return;
	}
	r = export_user(c->api->cfg, c->api->srv->pub, &u, priv, format, &out, why, sizeof(why));
	ct_wipe(priv, sizeof(priv));
	ct_wipe(u.psk, sizeof(u.psk));
	if (r < 0) {
		fail(c, r == -EINVAL ? 409 : 500, r == -EINVAL ? "conflict" : "internal", NULL,
		     "%s", why);
		return;
	}
	c->res->status = 200;
	c->res->content_type = out.content_type;
	c->res->body = out.body;
	c->res->len = out.len;
	audit(c, "user.config", u.name, "format %s", format);
}

/* ---- devices (docs/api.md, "Devices") ---- */

static const struct api_field device_fields[] = {
    {"name", API_STRING, true, 1, STORE_NAME_MAX, NULL, NULL},
    {"public_key", API_KEY, false, 0, 0, NULL, NULL},
    {"psk", API_KEY | API_NULLABLE, false, 0, 0, NULL, NULL},
    {"ipv4", API_STRING, false, 7, 15, NULL, NULL},
    {"ipv6", API_STRING | API_NULLABLE, false, 2, 39, NULL, NULL},
};
#define N_DEVICE_FIELDS (sizeof(device_fields) / sizeof(device_fields[0]))

/* A device's key the server makes: derived as a user's is (not stored),
 * over the user's and the device's names, its creation time and address. */
static void derive_device_key(const struct api *api, const char *user, const struct store_device *d,
			      uint8_t priv[32])
{
	uint8_t t[8];
	struct iov_c parts[] = {
	    {"lostlove device key v1", 23},
	    {user, strlen(user) + 1},
	    {d->name, strlen(d->name) + 1},
	    {t, 8},
	    {d->ipv4, 4},
	};

	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)((uint64_t)d->created_at >> (56 - 8 * i));
	hmac_sha256_v(priv, api->ckey, sizeof(api->ckey), parts, 5);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
}

static bool device_client_key(const struct api *api, const char *user, const struct store_device *d,
			      uint8_t priv[32])
{
	uint8_t pub[32];

	derive_device_key(api, user, d, priv);
	if (x25519_public(pub, priv) == 0 && ct_memeq(pub, d->public_key, 32))
		return true;
	ct_wipe(priv, 32);
	return false;
}

static json_t *device_json(const struct api *api, const char *user, const struct store_device *d)
{
	char pub[KEY_BASE64_LEN + 1];
	uint8_t priv[32];
	bool made = device_client_key(api, user, d, priv);

	ct_wipe(priv, sizeof(priv));
	key_to_base64(pub, d->public_key);
	return json_pack("{s:I,s:s,s:s,s:s,s:b,s:o,s:o,s:I,s:b}", "id", (json_int_t)d->id, "name",
			 d->name, "user", user, "public_key", pub, "has_psk", d->has_psk, "ipv4",
			 addr_json(d->has_ipv4, AF_INET, d->ipv4), "ipv6",
			 addr_json(d->has_ipv6, AF_INET6, d->ipv6), "created_at",
			 (json_int_t)d->created_at, "config_available", made);
}

static int find_device(struct call *c, const struct store_user *u, const char *name,
		       struct store_device *d)
{
	struct store_err err;
	enum store_status st = store_device_get(c->api->store, u->id, name, d, &err);

	if (st == STORE_NOT_FOUND)
		fail(c, 404, "not_found", NULL, "user '%s' has no device named '%.64s'", u->name,
		     name);
	else if (st != STORE_OK)
		fail_store(c, st, &err);
	return st == STORE_OK ? 0 : -1;
}

/* The body's keys and addresses into d (through a user's parsers: the
 * same rules), an address from the pool and a PSK when not given. -1
 * after answering. */
static int take_device(struct call *c, const json_t *o, struct store_device *d, bool *made_key)
{
	struct store_user tmp;
	uint32_t mask = 0;
	int r = 0;

	store_user_init(&tmp);
	if (take_keys(c, o, &tmp, &mask) < 0 || take_addr(c, o, "ipv4", &tmp, &mask) < 0 ||
	    take_addr(c, o, "ipv6", &tmp, &mask) < 0 || (!tmp.has_ipv4 && allocate(c, &tmp) < 0))
		r = -1;
	if (r == 0 && allocate6(c, &tmp, mask) < 0)
		r = -1;
	if (r == 0) {
		if (!(mask & STORE_F_PSK))
			tmp.has_psk = rng_fill(&rng_system, tmp.psk, 32) == 0;
		memcpy(d->public_key, tmp.public_key, 32);
		d->has_psk = tmp.has_psk;
		memcpy(d->psk, tmp.psk, 32);
		d->has_ipv4 = tmp.has_ipv4;
		memcpy(d->ipv4, tmp.ipv4, 4);
		d->has_ipv6 = tmp.has_ipv6;
		memcpy(d->ipv6, tmp.ipv6, 16);
		*made_key = !(mask & STORE_F_PUBLIC_KEY);
	}
	ct_wipe(&tmp, sizeof(tmp));
	return r;
}

static void device_create(struct call *c, const char *user)
{
	json_t *o = read_body(c, device_fields, N_DEVICE_FIELDS);
	struct store_user u;
	struct store_device d = {0};
	struct store_err err;
	uint8_t priv[32];
	bool made_key = false;
	enum store_status st;
	char target[2 * STORE_NAME_MAX + 2];

	if (!o)
		return;
	if (!json_object_get(o, "public_key")) {
		/* as add-user: never a device whose config cannot be exported */
		char host[256], why[200];
		if (!export_endpoint(c->api->cfg, host, sizeof(host), why, sizeof(why))) {
			fail(c, 409, "conflict", NULL,
			     "no device created: its config could not be exported: %s", why);
			json_decref(o);
			return;
		}
	}
	if (find_user(c, user, &u) < 0 || take_device(c, o, &d, &made_key) < 0) {
		json_decref(o);
		ct_wipe(&u, sizeof(u));
		return;
	}
	d.user_id = u.id;
	snprintf(d.name, sizeof(d.name), "%s", json_string_value(json_object_get(o, "name")));
	json_decref(o);
	d.created_at = c->now; /* the store stamps the same now */
	if (made_key) {
		derive_device_key(c->api, u.name, &d, priv);
		(void)x25519_public(d.public_key, priv);
		ct_wipe(priv, sizeof(priv));
	}
	st = store_device_add(c->api->store, &d, c->now, &err);
	ct_wipe(u.psk, sizeof(u.psk));
	ct_wipe(d.psk, sizeof(d.psk));
	if (st != STORE_OK) {
		fail_store(c, st, &err);
		return;
	}
	snprintf(target, sizeof(target), "%s/%s", u.name, d.name);
	audit(c, "device.create", target, "ipv4 %u.%u.%u.%u, key %s", d.ipv4[0], d.ipv4[1],
	      d.ipv4[2], d.ipv4[3], made_key ? "made by the server" : "given");
	bool applied = apply_users(c, NULL);
	reply_json(
	    c, 201,
	    json_pack("{s:o,s:b}", "device", device_json(c->api, u.name, &d), "applied", applied));
}

static void devices_list(struct call *c, const char *user)
{
	struct store_device_filter f = {.limit = LIST_MAX, .enabled = -1};
	struct store_device *page;
	struct store_user u;
	struct store_err err;
	size_t n = 0;
	enum store_status st;
	json_t *arr;

	if (find_user(c, user, &u) < 0)
		return;
	ct_wipe(u.psk, sizeof(u.psk));
	f.user_id = u.id;
	page = malloc(LIST_MAX * sizeof(*page));
	if (!page) {
		fail(c, 500, "internal", NULL, "out of memory");
		return;
	}
	arr = json_array();
	do { /* at most STORE_DEVICES_MAX: a page or two */
		st = store_device_list(c->api->store, &f, page, &n, &err);
		for (size_t i = 0; st == STORE_OK && i < n; i++)
			json_array_append_new(arr, device_json(c->api, u.name, &page[i]));
		if (n)
			f.after_id = page[n - 1].id;
	} while (st == STORE_OK && n == LIST_MAX);
	ct_wipe(page, LIST_MAX * sizeof(*page));
	free(page);
	if (st != STORE_OK) {
		json_decref(arr);
		fail_store(c, st, &err);
		return;
	}
	reply_json(c, 200,
		   json_pack("{s:s,s:I,s:o}", "user", u.name, "device_limit",
			     (json_int_t)u.device_limit, "devices", arr));
}

static void device_get(struct call *c, const char *user, const char *name)
{
	struct store_user u;
	struct store_device d;

	if (find_user(c, user, &u) == 0 && find_device(c, &u, name, &d) == 0) {
		reply_json(c, 200, json_pack("{s:o}", "device", device_json(c->api, u.name, &d)));
		ct_wipe(d.psk, sizeof(d.psk));
	}
	ct_wipe(u.psk, sizeof(u.psk));
}

/* Deleted, then the table reloaded: registry_rebind ends the device's
 * session at once (its key is gone). */
static void device_delete(struct call *c, const char *user, const char *name)
{
	struct store_user u;
	struct store_device d;
	struct store_err err;
	enum store_status st;
	char target[2 * STORE_NAME_MAX + 2];

	if (find_user(c, user, &u) < 0 || find_device(c, &u, name, &d) < 0)
		return;
	ct_wipe(d.psk, sizeof(d.psk));
	st = store_device_delete(c->api->store, d.id, &err);
	if (st != STORE_OK) {
		fail_store(c, st, &err);
		return;
	}
	snprintf(target, sizeof(target), "%s/%s", u.name, d.name);
	audit(c, "device.delete", target, "ipv4 %u.%u.%u.%u", d.ipv4[0], d.ipv4[1], d.ipv4[2],
	      d.ipv4[3]);
	bool applied = apply_users(c, NULL);
	reply_json(
	    c, 200,
	    json_pack("{s:s,s:s,s:b}", "deleted", d.name, "user", u.name, "applied", applied));
}

/* The device's client config: the user's, with the device's keys and
 * addresses (export_user writes what it is given). */
static void device_config(struct call *c, const char *user, const char *name)
{
	const char *format = query(c, "format");
	struct store_user u;
	struct store_device d;
	struct export_out out = {0};
	uint8_t priv[32];
	char why[160] = "", target[2 * STORE_NAME_MAX + 2];
	int r;

	if (!format)
		format = "toml";
	if (strcmp(format, "toml") && strcmp(format, "uri") && strcmp(format, "qr")) {
		fail(c, 422, "bad_value", "format", "format must be toml, uri or qr");
		return;
	}
	if (!c->admin) {
		fail(c, 403, "forbidden", NULL,
		     "a read-only token cannot read a client configuration (it holds its keys)");
		return;
	}
	if (find_user(c, user, &u) < 0)
		return;
	if (find_device(c, &u, name, &d) < 0) {
		ct_wipe(u.psk, sizeof(u.psk));
		return;
	}
	if (!device_client_key(c->api, u.name, &d, priv)) {
		fail(c, 409, "conflict", NULL,
		     "the server did not make device '%s''s key (it was given): its client holds "
		     "the private key, the server cannot write its config",
		     d.name);
		ct_wipe(u.psk, sizeof(u.psk));
		ct_wipe(d.psk, sizeof(d.psk));
		return;
	}
	memcpy(u.public_key, d.public_key, 32);
	u.has_psk = d.has_psk;
	memcpy(u.psk, d.psk, 32);
	u.has_ipv4 = d.has_ipv4;
	memcpy(u.ipv4, d.ipv4, 4);
	u.has_ipv6 = d.has_ipv6;
	memcpy(u.ipv6, d.ipv6, 16);
	r = export_user(c->api->cfg, c->api->srv->pub, &u, priv, format, &out, why, sizeof(why));
	ct_wipe(priv, sizeof(priv));
	ct_wipe(u.psk, sizeof(u.psk));
	ct_wipe(d.psk, sizeof(d.psk));
	if (r < 0) {
		fail(c, r == -EINVAL ? 409 : 500, r == -EINVAL ? "conflict" : "internal", NULL,
		     "%s", why);
		return;
	}
	c->res->status = 200;
	c->res->content_type = out.content_type;
	c->res->body = out.body;
	c->res->len = out.len;
	snprintf(target, sizeof(target), "%s/%s", u.name, d.name);
	audit(c, "device.config", target, "format %s", format);
}

/* ---- sessions and statistics ---- */

static json_t *session_json(const struct srvcmd_session *s)
{
	return json_pack("{s:I,s:s,s:o,s:s,s:o,s:o,s:s,s:b,s:I,s:I,s:I,s:I}", "id",
			 (json_int_t)s->id, "user", s->user, "device",
			 s->device[0] ? json_string(s->device) : json_null(), "endpoint",
			 s->endpoint, "ipv4", s->addr4[0] ? json_string(s->addr4) : json_null(),
			 "ipv6", s->addr6[0] ? json_string(s->addr6) : json_null(), "transport",
			 s->stream ? "tls" : "udp", "confirmed", s->confirmed, "rx_bytes",
			 (json_int_t)s->rx_bytes, "tx_bytes", (json_int_t)s->tx_bytes, "started_at",
			 (json_int_t)s->started_unix, "idle_ms", (json_int_t)s->idle_ms);
}

static json_t *sessions_json(const struct cmdq_cmd *cmd)
{
	const struct srvcmd_sessions *r = cmd->result;
	json_t *arr = json_array();

	for (size_t i = 0; r && i < r->n; i++)
		json_array_append_new(arr, session_json(&r->v[i]));
	return arr;
}

static void sessions_list(struct call *c, const char *user)
{
	struct cmdq_cmd *cmd = ask(c, CMDQ_SESSIONS, user, 0);

	if (!cmd)
		return;
	reply_json(c, 200, json_pack("{s:o}", "sessions", sessions_json(cmd)));
	done(c, cmd);
}

static void kick(struct call *c, enum cmdq_kind kind, const char *user, uint64_t id)
{
	struct cmdq_cmd *cmd = ask(c, kind, user, id);
	char target[96];

	if (!cmd)
		return;
	if (cmd->status == -ENOENT) {
		if (user)
			fail(c, 404, "not_found", NULL, "user '%.64s' has no session", user);
		else
			fail(c, 404, "not_found", NULL, "no session %" PRIu64, id);
	} else {
		if (user)
			snprintf(target, sizeof(target), "%s", user);
		else
			snprintf(target, sizeof(target), "session:%" PRIu64, id);
		audit(c, "session.kick", target, "%" PRIu64 " session(s) ended", cmd->count);
		reply_json(c, 200, json_pack("{s:I}", "sessions_ended", (json_int_t)cmd->count));
	}
	done(c, cmd);
}

static void stats(struct call *c)
{
	struct cmdq_cmd *cmd = ask(c, CMDQ_STATS, NULL, 0);
	const struct srvcmd_stats *s;
	struct store_err err;
	int64_t stored = 0;

	if (!cmd)
		return;
	s = cmd->result;
	(void)store_user_count(c->api->store, &stored, &err);
	reply_json(c, 200,
		   json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uptime_s",
			     (json_int_t)s->uptime_s, "users", (json_int_t)s->users, "users_stored",
			     (json_int_t)stored, "connected", (json_int_t)s->connected, "sessions",
			     (json_int_t)s->sessions, "rx_packets", (json_int_t)s->rx_packets,
			     "rx_bytes", (json_int_t)s->rx_bytes, "tx_packets",
			     (json_int_t)s->tx_packets, "tx_bytes", (json_int_t)s->tx_bytes,
			     "handshakes_ok", (json_int_t)s->handshakes_ok, "handshakes_failed",
			     (json_int_t)s->handshakes_failed, "handshakes_refused_full",
			     (json_int_t)s->handshakes_refused_full, "drops",
			     (json_int_t)s->drops));
	done(c, cmd);
}

static void user_stats(struct call *c, const char *name)
{
	struct store_user u;
	struct cmdq_cmd *cmd;

	if (find_user(c, name, &u) < 0)
		return;
	cmd = ask(c, CMDQ_SESSIONS, u.name, 0);
	if (!cmd)
		return;
	reply_json(c, 200,
		   json_pack("{s:s,s:I,s:I,s:I,s:s,s:I,s:o}", "name", u.name, "used_up",
			     (json_int_t)u.used_up, "used_down", (json_int_t)u.used_down,
			     "data_limit", (json_int_t)u.data_limit, "quota_period",
			     store_period_name(u.quota_period), "period_start",
			     (json_int_t)u.period_start, "sessions", sessions_json(cmd)));
	done(c, cmd);
}

static void reload(struct call *c)
{
	struct cmdq_cmd *cmd = ask(c, CMDQ_RELOAD, NULL, 0);

	if (!cmd)
		return;
	if (cmd->status < 0) {
		fail(
		    c, 500, "internal", NULL,
		    "the reload failed (the server's log says why); the users in use are unchanged");
	} else {
		audit(c, "reload", "users", "%" PRIu64 " user(s) enabled", cmd->count);
		reply_json(c, 200, json_pack("{s:I}", "users", (json_int_t)cmd->count));
	}
	done(c, cmd);
}

/* POST /v1/webhooks/test: a webhook.test event, queued (delivered as
 * every event is: docs/webhooks.md). */
static void webhook_test(struct call *c)
{
	struct cmdq_cmd *cmd = ask(c, CMDQ_WEBHOOK_TEST, c->actor, 0);

	if (!cmd)
		return;
	if (cmd->status == -ENOTCONN)
		fail(c, 409, "conflict", NULL, "webhooks are off: [webhooks] url is not set");
	else if (cmd->status < 0)
		fail(c, 503, "unavailable", NULL,
		     "the event was not queued: the webhook queue is full, or webhooks.events "
		     "leaves out webhook.test");
	else
		reply_json(c, 202, json_pack("{s:b}", "queued", 1));
	done(c, cmd);
}

/* The control loop answers and the store reads. */
static void health(struct call *c)
{
	struct cmdq_cmd *cmd;
	struct store_err err;
	int64_t n;
	enum store_status st;

	pthread_mutex_lock(&c->api->store_lock);
	st = store_user_count(c->api->store, &n, &err);
	pthread_mutex_unlock(&c->api->store_lock);
	if (st != STORE_OK) {
		fail(c, 503, "unavailable", NULL, "the store does not answer: %s", err.msg);
		return;
	}
	cmd = ask(c, CMDQ_HEALTH, NULL, 0);
	if (!cmd)
		return;
	reply_json(c, 200,
		   json_pack("{s:s,s:s,s:I}", "status", "ok", "version", LL_API_VERSION, "sessions",
			     (json_int_t)cmd->count));
	done(c, cmd);
}

static void audit_list(struct call *c)
{
	int64_t limit = query_int(c, "limit", 100, 1, 1000);
	int64_t before = limit < 0 ? -1 : query_int(c, "before", 0, 0, INT64_MAX);
	struct store_audit *v;
	struct store_err err;
	size_t n = 0;
	enum store_status st;
	json_t *arr;

	if (limit < 0 || before < 0)
		return;
	v = malloc((size_t)limit * sizeof(*v));
	if (!v) {
		fail(c, 500, "internal", NULL, "out of memory");
		return;
	}
	st = store_audit_list(c->api->store, before, (size_t)limit, v, &n, &err);
	if (st != STORE_OK) {
		free(v);
		fail_store(c, st, &err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "id",
						     (json_int_t)v[i].id, "at", (json_int_t)v[i].at,
						     "actor", v[i].actor, "action", v[i].action,
						     "target", v[i].target, "detail", v[i].detail));
	reply_json(c, 200,
		   json_pack("{s:o,s:o}", "audit", arr, "next_before",
			     n == (size_t)limit ? json_integer(v[n - 1].id) : json_null()));
	free(v);
}

static const char *const roles[] = {"admin", "read-only", NULL};
static const struct api_field token_fields[] = {
    {"sub", API_STRING, true, 1, JWT_SUB_MAX, NULL, NULL},
    {"role", API_ENUM, false, 0, 0, roles, NULL},
    {"ttl", API_INT, false, 60, TOKEN_TTL_MAX, NULL, NULL},
};

/* POST /v1/tokens: over the Unix socket only (a token cannot mint a
 * token). */
static void token_create(struct call *c)
{
	json_t *o;
	struct jwt_claims cl = {.role = JWT_ROLE_READ_ONLY};
	char token[JWT_MAX_LEN];
	const char *role;
	int r;

	if (c->tcp) {
		fail(c, 403, "forbidden", NULL, "tokens are made over the Unix socket only");
		return;
	}
	o = read_body(c, token_fields, sizeof(token_fields) / sizeof(token_fields[0]));
	if (!o)
		return;
	snprintf(cl.sub, sizeof(cl.sub), "%s", json_string_value(json_object_get(o, "sub")));
	role = json_string_value(json_object_get(o, "role"));
	if (role)
		(void)jwt_role_parse(role, &cl.role);
	cl.iat = c->now;
	cl.exp =
	    c->now + (json_object_get(o, "ttl") ? int_or_zero(json_object_get(o, "ttl")) : 3600);
	json_decref(o);
	r = jwt_new_jti(&rng_system, cl.jti);
	if (r == 0)
		r = jwt_create(c->api->jwt_key, &cl, token, sizeof(token));
	if (r < 0) {
		fail(c, 422, "bad_value", "sub", "sub must be 1..64 printable ASCII characters");
		return;
	}
	audit(c, "token.create", cl.sub, "role %s, expires %" PRId64 ", jti %s",
	      jwt_role_name(cl.role), cl.exp, cl.jti);
	reply_json(c, 201,
		   json_pack("{s:s,s:s,s:s,s:I,s:s}", "token", token, "sub", cl.sub, "role",
			     jwt_role_name(cl.role), "expires_at", (json_int_t)cl.exp, "jti",
			     cl.jti));
}

/* ---- who is calling ---- */

static void unix_actor(struct call *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c->req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		snprintf(c->actor, sizeof(c->actor), "uid:%u", (unsigned)cred.uid);
	else
		snprintf(c->actor, sizeof(c->actor), "unix");
}

/* The Unix socket: its file mode decided already. TCP: a valid token;
 * read-only ones may only GET. false after answering. */
static bool authorize(struct call *c)
{
	const char *h;
	struct jwt_claims cl;
	enum jwt_result r;

	if (!c->tcp) {
		unix_actor(c);
		c->admin = true;
		return true;
	}
	h = httpd_header(c->req, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0) {
		fail(c, 401, "unauthorized", NULL, "an Authorization: Bearer token is required");
		return false;
	}
	r = jwt_verify(c->api->jwt_key, h + 7, strlen(h + 7), c->now, &cl);
	if (r != JWT_OK) {
		fail(c, 401, "unauthorized", NULL, "token refused: %s", jwt_result_name(r));
		return false;
	}
	snprintf(c->actor, sizeof(c->actor), "token:%s", cl.sub);
	c->admin = cl.role == JWT_ROLE_ADMIN;
	if (!c->admin && strcmp(c->req->method, "GET") != 0) {
		fail(c, 403, "forbidden", NULL, "a read-only token may only GET");
		return false;
	}
	return true;
}

/* ---- dispatch ---- */

#define SEGS_MAX 5

/* Splits "/a/b/c" into segments; -1 if there are too many or one is
 * empty or too long. */
static int split(const char *rest, char seg[SEGS_MAX][STORE_NAME_MAX + 2])
{
	int n = 0;

	while (*rest == '/') {
		const char *s = rest + 1;
		size_t len = strcspn(s, "/");
		if (n == SEGS_MAX || len == 0 || len > STORE_NAME_MAX)
			return -1;
		memcpy(seg[n], s, len);
		seg[n++][len] = '\0';
		rest = s + len;
	}
	return *rest ? -1 : n;
}

static bool is(const struct call *c, const char *method)
{
	return strcmp(c->req->method, method) == 0;
}

static void bad_method(struct call *c, const char *allow)
{
	fail(c, 405, "method_not_allowed", NULL, "this endpoint takes %s", allow);
}

static void route_user(struct call *c, char seg[SEGS_MAX][STORE_NAME_MAX + 2], int n)
{
	const char *name = seg[1], *sub = n > 2 ? seg[2] : "";

	pthread_mutex_lock(&c->api->store_lock);
	if (n == 2 && is(c, "GET"))
		user_get(c, name);
	else if (n == 2 && is(c, "PATCH"))
		user_patch(c, name);
	else if (n == 2 && is(c, "DELETE"))
		user_delete(c, name);
	else if (n == 2)
		bad_method(c, "GET, PATCH, DELETE");
	else if (n == 3 && !strcmp(sub, "config"))
		is(c, "GET") ? user_config(c, name) : bad_method(c, "GET");
	else if (n == 3 && !strcmp(sub, "stats"))
		is(c, "GET") ? user_stats(c, name) : bad_method(c, "GET");
	else if (n == 3 && !strcmp(sub, "sessions") && is(c, "GET"))
		sessions_list(c, name);
	else if (n == 3 && !strcmp(sub, "sessions"))
		is(c, "DELETE") ? kick(c, CMDQ_KICK_USER, name, 0) : bad_method(c, "GET, DELETE");
	else if (n == 3 && !strcmp(sub, "devices") && is(c, "GET"))
		devices_list(c, name);
	else if (n == 3 && !strcmp(sub, "devices"))
		is(c, "POST") ? device_create(c, name) : bad_method(c, "GET, POST");
	else if (n == 4 && !strcmp(sub, "devices") && is(c, "GET"))
		device_get(c, name, seg[3]);
	else if (n == 4 && !strcmp(sub, "devices"))
		is(c, "DELETE") ? device_delete(c, name, seg[3]) : bad_method(c, "GET, DELETE");
	else if (n == 5 && !strcmp(sub, "devices") && !strcmp(seg[4], "config"))
		is(c, "GET") ? device_config(c, name, seg[3]) : bad_method(c, "GET");
	else
		fail(c, 404, "not_found", NULL, "no such endpoint");
	pthread_mutex_unlock(&c->api->store_lock);
}

static void route_session(struct call *c, const char *id)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(id, &end, 10);
	if (!is(c, "DELETE"))
		bad_method(c, "DELETE");
	else if (errno || *end || !*id || *id == '-' || *id == '+')
		fail(c, 404, "not_found", NULL, "no session '%.32s'", id);
	else
		kick(c, CMDQ_KICK_SESSION, NULL, v);
}

static void locked(struct call *c, void (*fn)(struct call *c))
{
	pthread_mutex_lock(&c->api->store_lock);
	fn(c);
	pthread_mutex_unlock(&c->api->store_lock);
}

static void route(struct call *c, char seg[SEGS_MAX][STORE_NAME_MAX + 2], int n)
{
	const char *top = n ? seg[0] : "";

	if (n == 1 && !strcmp(top, "health"))
		is(c, "GET") ? health(c) : bad_method(c, "GET");
	else if (n == 1 && !strcmp(top, "stats"))
		is(c, "GET") ? locked(c, stats) : bad_method(c, "GET");
	else if (n == 1 && !strcmp(top, "reload"))
		is(c, "POST") ? locked(c, reload) : bad_method(c, "POST");
	else if (n == 2 && !strcmp(top, "webhooks") && !strcmp(seg[1], "test"))
		is(c, "POST") ? webhook_test(c) : bad_method(c, "POST");
	else if (n == 1 && !strcmp(top, "audit"))
		is(c, "GET") ? locked(c, audit_list) : bad_method(c, "GET");
	else if (n == 1 && !strcmp(top, "tokens"))
		is(c, "POST") ? locked(c, token_create) : bad_method(c, "POST");
	else if (n == 1 && !strcmp(top, "sessions"))
		is(c, "GET") ? sessions_list(c, NULL) : bad_method(c, "GET");
	else if (n == 2 && !strcmp(top, "sessions")) {
		pthread_mutex_lock(&c->api->store_lock); /* the audit record */
		route_session(c, seg[1]);
		pthread_mutex_unlock(&c->api->store_lock);
	} else if (n == 1 && !strcmp(top, "users") && is(c, "GET"))
		locked(c, users_list);
	else if (n == 1 && !strcmp(top, "users"))
		is(c, "POST") ? locked(c, users_create) : bad_method(c, "GET, POST");
	else if (n >= 2 && !strcmp(top, "users"))
		route_user(c, seg, n);
	else
		fail(c, 404, "not_found", NULL, "no such endpoint");
}

static void on_request(void *ctx, const struct httpd_request *req, struct httpd_response *res)
{
	struct listener *l = ctx;
	struct call c = {.api = l->api, .req = req, .res = res, .tcp = l->tcp, .now = time(NULL)};
	char seg[SEGS_MAX][STORE_NAME_MAX + 2];
	int n;

	if (!authorize(&c))
		return;
	n = split(req->rest, seg);
	if (n < 0)
		fail(&c, 404, "not_found", NULL, "no such endpoint");
	else
		route(&c, seg, n);
}

/* ---- lifecycle ---- */

static int load_secret(struct api *api)
{
	const struct server_config *cfg = api->cfg;
	char path[PATH_MAX], copy[PATH_MAX], err[256];
	uint8_t master[32];
	bool created, loose;
	int r;

	if (cfg->api_secret_file[0]) {
		snprintf(path, sizeof(path), "%s", cfg->api_secret_file);
	} else {
		snprintf(copy, sizeof(copy), "%s", cfg->private_key_file);
		snprintf(path, sizeof(path), "%s/" SECRET_FILE, dirname(copy));
	}
	r = keyfile_load_or_create(path, master, &created, &loose, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "api: secret: %s", err);
		return r;
	}
	if (loose)
		log_warn(LOG_GROUP_CORE, "%s is readable by others: chmod 600 it", path);
	/* one secret, two keys that cannot be confused */
	hmac_sha256(api->jwt_key, master, 32, "lostlove api jwt v1", 19);
	hmac_sha256(api->ckey, master, 32, "lostlove api client keys v1", 27);
	ct_wipe(master, sizeof(master));
	return 0;
}

static void routes_of(struct listener *l)
{
	static const char *methods[] = {"GET", "POST", "PATCH", "DELETE"};

	for (int i = 0; i < 4; i++)
		l->routes[i] = (struct httpd_route){
		    .method = methods[i], .prefix = "/v1", .fn = on_request, .ctx = l};
}

/* The socket's directory (as root, e.g. /run/lostlove) and its group. */
static int prepare_socket_dir(const struct server_config *cfg)
{
	char copy[PATH_MAX];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", cfg->api_socket);
	dir = dirname(copy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_error(LOG_GROUP_CORE, "api: cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static int socket_group(const struct server_config *cfg)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (!cfg->api_socket_group[0])
		return 0;
	if (getgrnam_r(cfg->api_socket_group, &gr, buf, sizeof(buf), &res) != 0 || !res) {
		log_error(LOG_GROUP_CORE, "api: no group '%s' (api.socket_group)",
			  cfg->api_socket_group);
		return -ENOENT;
	}
	if (chown(cfg->api_socket, (uid_t)-1, gr.gr_gid) < 0) {
		log_error(LOG_GROUP_CORE, "api: cannot give %s to group %s: %s", cfg->api_socket,
			  cfg->api_socket_group, strerror(errno));
		return -errno;
	}
	return 0;
}

static int listen_one(struct api *api, struct listener *l, bool tcp)
{
	const struct server_config *cfg = api->cfg;
	struct httpd_config hc = {
	    .max_body = BODY_MAX,
	    .max_connections = MAX_CONNECTIONS,
	    .timeout_s = CONN_TIMEOUT_S,
	    .n_routes = 4,
	};
	char addr[64], err[256];
	uint16_t port = 0;
	int r;

	l->api = api;
	l->tcp = tcp;
	routes_of(l);
	hc.routes = l->routes;
	if (tcp) {
		if (config_split_listen(cfg->api_listen, addr, sizeof(addr), &port) < 0)
			return -EINVAL; /* the config loader checked it */
		hc.address = addr;
		hc.port = port;
		hc.per_ip_per_s = PER_IP_PER_S;
		hc.burst = PER_IP_BURST;
	} else {
		hc.unix_path = cfg->api_socket;
		hc.unix_mode = cfg->api_socket_mode;
	}
	r = httpd_listen(&l->h, &hc, err, sizeof(err));
	if (r < 0) {
		log_error(LOG_GROUP_CORE, "api: %s", err);
		return r;
	}
	l->on = true;
	return 0;
}

static int open_store(struct api *api)
{
	struct store_err err;
	enum store_status st = store_open(api->cfg->database, &api->store, &err);

	if (st == STORE_OK)
		st = store_migrate(api->store, &err);
	if (st != STORE_OK) {
		log_error(LOG_GROUP_CORE, "api: store %s: %s", api->cfg->database, err.msg);
		return -EIO;
	}
	return 0;
}

static int api_open(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct api *api;
	int r;

	if (!cfg->api_socket[0] && !cfg->api_listen[0])
		return 0;
	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->srv = srv;
	api->cfg = cfg;
	pthread_mutex_init(&api->store_lock, NULL);
	srv->addon_state = api;
	r = load_secret(api);
	if (r == 0)
		r = open_store(api);
	if (r == 0 && cfg->api_socket[0])
		r = prepare_socket_dir(cfg);
	if (r == 0 && cfg->api_socket[0])
		r = listen_one(api, &api->unix_l, false);
	if (r == 0 && cfg->api_socket[0])
		r = socket_group(cfg);
	if (r == 0 && cfg->api_listen[0])
		r = listen_one(api, &api->tcp_l, true);
	return r;
}

static int api_start(struct server *srv)
{
	struct api *api = srv->addon_state;
	int r = 0;

	if (!api)
		return 0;
	if (api->unix_l.on && (r = httpd_start(&api->unix_l.h)) == 0)
		log_info(LOG_GROUP_CORE, "admin API on %s (mode %04o)", srv->cfg->api_socket,
			 srv->cfg->api_socket_mode);
	if (r == 0 && api->tcp_l.on && (r = httpd_start(&api->tcp_l.h)) == 0)
		log_info(LOG_GROUP_CORE, "admin API on tcp %s (bearer tokens)",
			 srv->cfg->api_listen);
	if (r < 0)
		log_error(LOG_GROUP_CORE, "api: cannot start: %s", strerror(-r));
	return r;
}

static void api_stop(struct server *srv)
{
	struct api *api = srv->addon_state;

	if (!api)
		return;
	httpd_stop(&api->unix_l.h);
	httpd_stop(&api->tcp_l.h);
	if (api->store)
		store_close(api->store);
	pthread_mutex_destroy(&api->store_lock);
	ct_wipe(api->jwt_key, sizeof(api->jwt_key));
	ct_wipe(api->ckey, sizeof(api->ckey));
	free(api);
	srv->addon_state = NULL;
}

const struct server_addon api_addon = {
    .open = api_open,
    .start = api_start,
    .stop = api_stop,
};
