/* Loaded configuration: what the config loader (config/config.c) produces
 * and the daemons consume. One immutable snapshot per load; a reload builds
 * a new one, validates it whole, then swaps it in (users only, for now).
 *
 * Server: config/server.toml (+ obfuscation.toml and users.toml beside it
 * unless named otherwise). Client: one TOML file. docs/configuration.md
 * documents every key, its default and bounds. */
#ifndef LL_CORE_CONFIG_H
#define LL_CORE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/limits.h"
#include "crypto/cipher.h"
#include "protocol/handshake.h"

#define CONFIG_MAX_DNS	  4
#define CONFIG_MAX_ROUTES 64
#define CONFIG_NAME_MAX	  64
/* [api] socket when server.toml says nothing, and lostlove-admin's default:
 * one constant, so `sudo lostlove-admin stats` reaches a server started on
 * a server.toml without an [api] section (the seed's reference one). */
#define CONFIG_API_SOCKET_DEFAULT "/run/lostlove/admin.sock"
#define CONFIG_MAX_USERS	  100000 /* in users.toml; more belong in the store */

/* An IPv4 or IPv6 prefix; family 4 or 6 (0 = unset). */
struct config_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
};

/* "10.8.0.1/24", "fd00:8::1/64", or a bare address (full length). Host bits
 * beyond len are kept (a host address inside its prefix). 0 or -EINVAL. */
int config_prefix_parse(const char *s, struct config_prefix *ret);
/* The inverse; "/len" only when len is not the full length. */
#define CONFIG_PREFIX_STRLEN 64
void config_prefix_format(const struct config_prefix *p, char buf[static CONFIG_PREFIX_STRLEN]);

/* "tcp/22", "udp/8000-8080": a port range of the server itself. */
#define CONFIG_MAX_OPEN_PORTS 32
struct config_port_range {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP; 0 = unused entry */
	uint16_t lo, hi;
};

struct config_user {
	char name[CONFIG_NAME_MAX];
	uint8_t public_key[32];
	uint8_t psk[32];
	struct config_prefix ipv4; /* /32 host address inside the server's tun prefix */
	struct config_prefix ipv6; /* /128, or unset when IPv6 is off */
	bool enabled;
	uint8_t quota_day;	   /* with quota_period = "day_of_month": 1..31; else 0 */
	struct user_limits limits; /* rate, quota, expiry, devices (core/limits.h) */
	struct limits_usage usage; /* what the store counted; zero from users.toml */
};

enum config_protocol { PROTOCOL_UDP, PROTOCOL_TCP, PROTOCOL_BOTH };
enum config_firewall { FIREWALL_NFTABLES, FIREWALL_NONE };
enum config_log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum config_stealth { STEALTH_OFF, STEALTH_STANDARD, STEALTH_MAXIMUM };
enum config_disguise { DISGUISE_NGINX };

struct server_config {
	char path[PATH_MAX]; /* the server.toml it came from */
	/* [server] */
	char bind_address[64]; /* numeric IPv4/IPv6 address; "::" = dual stack */
	uint16_t port;
	enum config_protocol protocol; /* "tcp"/"both": the TCP front (src/front/) */
	uint32_t max_connections;
	uint32_t worker_threads; /* resolved: 0 in the file = online CPUs */
	char private_key_file[PATH_MAX];
	char obfuscation_file[PATH_MAX]; /* read if it exists (absolute, like the others) */
	char user[CONFIG_NAME_MAX];	 /* the service user; "root" or "" = no privilege drop */
	char group[CONFIG_NAME_MAX];	 /* its group; "" = the user's own */
	/* [network] */
	char tun_name[16];
	struct config_prefix tun_address;  /* server's IPv4 address + pool prefix */
	struct config_prefix tun_address6; /* server's IPv6 address + prefix, if enable_ipv6 */
	uint16_t mtu;
	bool enable_ipv6;
	struct config_prefix dns[CONFIG_MAX_DNS];
	unsigned n_dns;
	bool client_to_client;
	enum config_firewall firewall;
	char egress_interface[16]; /* "" = the interface of the default route */
	/* reachable on the server itself from the tunnel (its input firewall);
	 * the list ends at the first unused entry */
	struct config_port_range tunnel_open_ports[CONFIG_MAX_OPEN_PORTS];
	/* [crypto] */
	enum cipher_mode mode;
	enum kem_policy kem; /* from qrl_enabled */
	uint32_t key_rotation_interval_s;
	uint64_t key_rotation_bytes;
	uint32_t timestamp_window_s;
	bool ecc_enabled, hse_enabled; /* as written and checked; mode and kem carry the meaning */
	/* [obfuscation] (here or in obfuscation_file): UDP stealth framing
	 * when enabled and stealth_mode is not off; the TLS front is not built */
	bool obfuscation_enabled;
	enum config_stealth stealth_mode;
	uint32_t cover_traffic_rate; /* bytes/s on an idle link, stealth maximum; 0 = none */
	uint32_t handshake_chaff;    /* chaff packets per young inner flow, maximum; 0 = none */
	enum config_disguise disguise_as;
	char fallback_site[256]; /* "" = the built-in mimic */
	/* the TCP front (protocol "tcp"/"both"; src/front/) */
	bool front_tls; /* false: plain HTTP behind a TLS-terminating proxy/CDN */
	char tls_certificate_file[PATH_MAX];
	char tls_key_file[PATH_MAX];
	bool proxy_protocol; /* a PROXY v2 header before every TCP connection */
	uint32_t front_max_connections;
	uint32_t front_header_timeout_s;    /* nginx client_header_timeout */
	uint32_t front_keepalive_timeout_s; /* nginx keepalive_timeout */
	/* [performance] */
	bool zero_copy;	  /* accepted, not applied: sends are copied */
	bool io_uring;	  /* the workers' event loop (epoll if refused) */
	bool tun_offload; /* IFF_VNET_HDR: TSO/USO reads, GRO writes (io/tun.h) */
	uint32_t buffer_pool_size;
	uint32_t buffer_size;
	bool fair_queue; /* each worker's fq_codel between TUN and UDP (dataplane/fq.h) */
	/* [monitoring] */
	bool enable_metrics;	  /* /metrics (server/monitor.c) */
	char metrics_address[64]; /* numeric; loopback by default */
	uint16_t metrics_port;
	uint32_t metrics_users; /* users with a series of their own; the rest: "other" */
	enum config_log_level log_level;
	/* [api] the admin API (src/api/api.h, docs/api.md) */
	char api_socket[108];			/* Unix socket path; "" = none */
	uint32_t api_socket_mode;		/* its file mode */
	char api_socket_group[CONFIG_NAME_MAX]; /* its group; "" = the service user's */
	char api_listen[72];			/* "ADDR:PORT" / "[ADDR6]:PORT" (JWT); "" = none */
	bool api_listen_insecure;	/* a non-loopback api_listen, knowingly (plain HTTP) */
	char api_secret_file[PATH_MAX]; /* token and client-key secret; "" = beside the key */
	char api_endpoint[256];		/* host clients connect to; "" = bind_address */
	/* [limits] */
	uint64_t rate_limit_per_user;	     /* bytes/s each way, 0 = none; user.rate_limit wins */
	uint32_t max_streams_per_connection; /* accepted, not applied: one path per session */
	uint32_t connection_timeout_s;
	uint16_t keepalive_s;
	uint32_t handshakes_per_ip_per_s;
	/* [storage] */
	char database[PATH_MAX]; /* resolved: a SQLite file (storage/store.h) */
	/* [webhooks] (docs/webhooks.md); off while url is "" */
	char webhook_url[512];
	char webhook_secret_file[PATH_MAX]; /* mode 0600 or stricter; required with url */
	uint32_t webhook_events;	    /* 1 << enum webhook_type (api/webhook_event.h) */
	uint32_t webhook_timeout_s;	    /* one delivery attempt */
	uint32_t webhook_max_queue;	    /* bound of the queue and of the outbox */
	uint32_t webhook_max_age_s;	    /* undelivered this long: dropped, counted */
	char webhook_node[64];		    /* "node" of every event; "" = the host name */
	bool webhook_tls_verify;
	char webhook_ca_file[PATH_MAX]; /* "" = the system's CA bundle */
	/* users */
	char users_file[PATH_MAX];
	struct config_user *users; /* owned */
	size_t n_users;
};

enum client_transport { CLIENT_TRANSPORT_UDP, CLIENT_TRANSPORT_TLS, CLIENT_TRANSPORT_AUTO };

struct client_config {
	char path[PATH_MAX];
	char server_host[256]; /* name or numeric address */
	uint16_t server_port;
	uint8_t server_public_key[32];
	uint8_t private_key[32];
	uint8_t psk[32];
	char tun_name[16];
	uint16_t mtu;					/* 0 = take the server's */
	struct config_prefix routes[CONFIG_MAX_ROUTES]; /* 0.0.0.0/0 + ::/0 = full tunnel */
	unsigned n_routes;
	bool use_server_dns;
	enum kem_policy kem;
	uint16_t keepalive_s; /* 0 = take the server's */
	enum config_log_level log_level;
	char user[CONFIG_NAME_MAX];  /* the service user; "root" or "" = no privilege drop */
	char group[CONFIG_NAME_MAX]; /* its group; "" = the user's own */
	/* [obfuscation]: must be the server's (a mismatch gets no answer) */
	enum config_stealth stealth_mode;
	uint32_t cover_traffic_rate; /* bytes/s on an idle link, stealth maximum; 0 = none */
	uint32_t handshake_chaff;    /* chaff packets per young inner flow, maximum; 0 = none */
	/* How packets reach the server (docs/obfuscation.md, "Client
	 * transports"): UDP, the TLS front (TCP), or UDP with a fallback to
	 * the TLS front within the same session. */
	enum client_transport transport;
	uint16_t tls_port;   /* the TLS front's TCP port; 0 = the server's (UDP) port */
	char sni[256];	     /* TLS server name; "" = the server's host name (none for an IP) */
	char http_host[256]; /* HTTP Host; "" = sni, else the server's host */
	char ws_path[256];   /* the upgrade request's path */
	bool tls_verify;     /* check the certificate against the system CAs and sni */
};

/* Diagnostics: every problem is one line "FILE:LINE: key 'a.b': message"
 * appended to a caller's buffer; warnings ("not yet supported") too. Start
 * from a zeroed struct; loads append to it. Secrets never appear in it. */
struct config_diag {
	char *text; /* owned, NUL-terminated, may be NULL when empty */
	size_t len;
	unsigned errors, warnings;
};
void config_diag_free(struct config_diag *d);
/* Appends one line (a problem found outside an option table). */
__attribute__((format(printf, 3, 4))) void config_diag_add(struct config_diag *d, bool is_error,
							   const char *fmt, ...);

/* Loads server.toml at path and the files it names. Returns 0, or -EINVAL
 * with every error in *diag (not just the first). *ret is filled only on
 * success; release it with server_config_free. */
int server_config_load(const char *path, struct server_config *ret, struct config_diag *diag);
void server_config_free(struct server_config *c);
/* Reloads only the users file of a loaded config into *ret_users. */
int server_config_load_users(const struct server_config *c, struct config_user **ret_users,
			     size_t *ret_n, struct config_diag *diag);
/* Frees (and wipes) a users array from server_config_load_users; accepts NULL. */
void server_config_free_users(struct config_user *users, size_t n);
/* Reload support: warns in *diag about every option of new that differs
 * from old and needs a restart (all of them, for now). Returns how many. */
unsigned server_config_diff(const struct server_config *old, const struct server_config *new,
			    struct config_diag *diag);
/* The effective configuration as TOML (--dump-config), users included,
 * secrets redacted. Returns 0 or -EIO. */
int server_config_dump(const struct server_config *c, FILE *out);

/* Splits an [api] listen value "ADDR:PORT" / "[ADDR6]:PORT" (numeric).
 * 0 or -EINVAL. */
int config_split_listen(const char *s, char *addr, size_t addr_len, uint16_t *port);

/* Loads a client config; same contract as server_config_load. Release
 * with client_config_free (wipes the keys). */
int client_config_load(const char *path, struct client_config *ret, struct config_diag *diag);
/* The same from a document in memory (an imported lostlove:// URI, a
 * config rendered by the API); name stands for the file in messages and
 * in ret->path. */
int client_config_parse(const char *name, const char *text, size_t len, struct client_config *ret,
			struct config_diag *diag);
void client_config_free(struct client_config *c);
int client_config_dump(const struct client_config *c, FILE *out);
/* The TOML text of one option's value ("\"udp\"", "1400", "[\"::/0\"]"),
 * secrets included. Returns 0, or -ENOENT when table.key is no option. */
int client_config_format_value(const struct client_config *c, const char *table, const char *key,
			       char *buf, size_t len);
/* The whole configuration as a client.toml that client_config_load reads
 * back to the same struct: every option, secrets included (the config a
 * user is handed), each line of comment as a "# " line first. *ret is
 * malloc'd (wipe and free it). Returns 0 or -ENOMEM. */
int client_config_render(const struct client_config *c, const char *comment, char **ret);

#endif
