/* The configuration loader: the verdict on the original example
 * (../shared/reference/server.toml), the shipped examples, defaults,
 * numbered tables of bad inputs each naming its file, line and key, users,
 * obfuscation.toml, the client, secrets kept out of messages and dumps,
 * --dump-config and reload diffing. Every case writes its files into a
 * fresh directory under one mkdtemp directory. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "crypto/keyenc.h"
#include "crypto/x25519.h"
#include "testutil.h"
#include "config/toml.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Example keys (config/users.toml, config/client.toml). */
#define K_ALICE "wv38CsfUpMG3QsEynFm+yk/FjeI4LiGy3yqBPP0MkUg="
#define K_BOB	"vGJKmtlI8tRKMmumg35KxyzKQ+iYCsP6o9w8z86uqBA="
#define PSK	"9+R6mVoFLThDNKLY4RSEdRCzsnXrm23LD3QqONu0PKw="

/* A [[user]] of five lines: header, name, public_key, psk, ipv4. */
#define USER(name, key, ip)                                                                        \
	"[[user]]\nname = \"" name "\"\npublic_key = \"" key "\"\npsk = \"" PSK "\"\nipv4 = \"" ip \
	"\"\n"

static char root_dir[PATH_MAX];
static char case_dir[PATH_MAX + 32];
static int case_no;

/* ---- files ------------------------------------------------------------- */

static int setup(void **state)
{
	char tmpl[] = "/tmp/ll-config-XXXXXX";
	(void)state;
	if (!mkdtemp(tmpl) || !realpath(tmpl, root_dir))
		return -1;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void new_case(void)
{
	snprintf(case_dir, sizeof(case_dir), "%s/%d", root_dir, ++case_no);
	assert_int_equal(mkdir(case_dir, 0700), 0);
}

static const char *at(const char *name)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", case_dir, name);
	return path;
}

static void put(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(at(name), "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(at(name), mode), 0);
}

static void copy_in(const char *from, const char *name)
{
	char *text = tu_read_file(from, NULL);
	put(name, text, 0600);
	free(text);
}

/* ---- diagnostics ------------------------------------------------------- */

/* The diagnostics with the case directory left out: "server.toml:3: ...". */
static char *plain(const struct config_diag *d)
{
	const char *s = d->text ? d->text : "";
	size_t dl = strlen(case_dir);
	char *out = malloc(strlen(s) + 1), *o = out;
	assert_non_null(out);
	while (*s) {
		if (!strncmp(s, case_dir, dl) && s[dl] == '/')
			s += dl + 1;
		else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static bool has_line(const struct config_diag *d, const char *line)
{
	char *text = plain(d);
	bool found = false;
	size_t n = strlen(line);
	for (const char *p = text; *p && !found; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		found = !strncmp(p, line, n) && p[n] == '\n';
	free(text);
	return found;
}

static void expect_line(const struct config_diag *d, const char *line)
{
	if (has_line(d, line))
		return;
	char *text = plain(d);
	print_error("expected the line\n  %s\nin\n%s", line, text);
	free(text);
	fail();
}

static bool mentions(const struct config_diag *d, const char *s)
{
	return d->text && strstr(d->text, s);
}

/* ---- loading ----------------------------------------------------------- */

static int load_server(const char *server, const char *users, struct server_config *c,
		       struct config_diag *d)
{
	new_case();
	put("server.toml", server, 0644);
	if (users)
		put("users.toml", users, 0600);
	*d = (struct config_diag){0};
	return server_config_load(at("server.toml"), c, d);
}

static int load_client(const char *text, struct client_config *c, struct config_diag *d)
{
	new_case();
	put("client.toml", text, 0600);
	*d = (struct config_diag){0};
	return client_config_load(at("client.toml"), c, d);
}

static char *dump_server(const struct server_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(server_config_dump(c, f), 0);
	fclose(f);
	return buf;
}

static void prefix_is(const struct config_prefix *p, const char *want)
{
	char s[CONFIG_PREFIX_STRLEN];
	config_prefix_format(p, s);
	assert_string_equal(s, want);
}

/* ---- the reference file ------------------------------------------------ */

/* The original example must get a clear answer: it loads, every key is
 * honoured or named in a warning, and nothing is silently ignored. */
static void test_reference(void **state)
{
	struct server_config c;
	struct config_diag d;
	(void)state;
	new_case();
	copy_in(tu_source_path("../shared/reference/server.toml"), "server.toml");
	d = (struct config_diag){0};
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	static const char *const want[] = {
	    "server.toml:31: key 'performance.zero_copy': warning: not yet supported: datagrams "
	    "are copied into the kernel (sendmmsg with UDP_SEGMENT runs)",
	    "server.toml:43: key 'limits.max_streams_per_connection': warning: ignored: a TLS "
	    "connection carries one session and a session uses one path at a time (UDP or one "
	    "connection), so the limit is 1 by construction; a user's concurrent sessions (one "
	    "per device) are user.device_limit",
	    "users.toml: warning: not found: no client can connect until users are added",
	};
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		expect_line(&d, want[i]);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, ARRAY_LEN(want));
	/* and what it asked for is what it got */
	assert_int_equal(c.port, 443);
	assert_string_equal(c.tun_name, "hfp0");
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.mode, CIPHER_CASCADE);
	assert_true(c.hse_enabled);
	assert_int_equal(c.kem, KEM_REQUIRED);
	assert_int_equal(c.key_rotation_interval_s, 600);
	assert_int_equal(c.key_rotation_bytes, 5000000);
	assert_int_equal(c.buffer_pool_size, 10000);
	assert_int_equal(c.buffer_size, 65536);
	assert_int_equal(c.connection_timeout_s, 300);
	assert_int_equal(c.n_users, 0);
	assert_true(c.enable_metrics);
	assert_int_equal(c.metrics_port, 9090);
	assert_string_equal(c.metrics_address, "127.0.0.1"); /* loopback unless told */
	assert_int_equal(c.metrics_users, 100);
	server_config_free(&c);
	config_diag_free(&d);
}

/* ---- the shipped examples ---------------------------------------------- */

static void copy_examples(void)
{
	static const char *const names[] = {"server.toml", "obfuscation.toml", "users.toml",
					    "client.toml"};
	char rel[64];
	new_case();
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		snprintf(rel, sizeof(rel), "config/%s", names[i]);
		copy_in(tu_source_path(rel), names[i]);
	}
}

static void test_examples(void **state)
{
	struct server_config s;
	struct client_config c;
	struct config_diag d = {0};
	uint8_t pub[32];
	(void)state;
	copy_examples();
	assert_int_equal(server_config_load(at("server.toml"), &s, &d), 0);
	assert_int_equal(client_config_load(at("client.toml"), &c, &d), 0);
	if (d.errors || d.warnings)
		print_error("%s", d.text);
	assert_int_equal(d.errors + d.warnings, 0);
	assert_int_equal(s.n_users, 2);
	assert_string_equal(s.users[0].name, "alice");
	prefix_is(&s.users[0].ipv4, "10.8.0.2");
	prefix_is(&s.users[0].ipv6, "fd00:8::2");
	assert_true(s.users[0].enabled);
	assert_false(s.users[1].enabled);
	assert_int_equal(s.users[1].ipv6.family, 0);
	/* the example client is the example user alice */
	assert_int_equal(x25519_public(pub, c.private_key), 0);
	assert_memory_equal(pub, s.users[0].public_key, 32);
	assert_memory_equal(c.psk, s.users[0].psk, 32);
	assert_string_equal(c.server_host, "vpn.example.com");
	assert_int_equal(c.server_port, 443);
	server_config_free(&s);
	client_config_free(&c);
	config_diag_free(&d);
}

/* The complete examples of docs/configuration.md load cleanly too: its
 * ```toml blocks are, in order, server.toml, users.toml and client.toml. */
static char *next_block(const char **p)
{
	const char *start = strstr(*p, "```toml\n"), *end;
	assert_non_null(start);
	start += 8;
	end = strstr(start, "```");
	assert_non_null(end);
	*p = end + 3;
	return strndup(start, (size_t)(end - start));
}

static void test_docs_examples(void **state)
{
	struct server_config s;
	struct client_config c;
	struct config_diag d = {0};
	char *doc = tu_read_file(tu_source_path("docs/configuration.md"), NULL), *block, *etc;
	const char *p = doc;
	char cwd[PATH_MAX];
	(void)state;
	new_case();
	block = next_block(&p);
	while ((etc = strstr(block, "/etc/lostlove/"))) /* into the case directory */
		memmove(etc, etc + 14, strlen(etc + 14) + 1);
	put("server.toml", block, 0600);
	free(block);
	block = next_block(&p);
	put("users.toml", block, 0600);
	free(block);
	block = next_block(&p);
	put("client.toml", block, 0600);
	free(block);
	free(doc);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(case_dir), 0); /* the paths are now relative */
	assert_int_equal(server_config_load("server.toml", &s, &d), 0);
	assert_int_equal(client_config_load("client.toml", &c, &d), 0);
	assert_int_equal(chdir(cwd), 0);
	if (d.text)
		print_error("%s", d.text);
	assert_null(d.text);
	assert_int_equal(s.n_users, 3);
	assert_int_equal(s.users[2].limits.period, STORE_PERIOD_DAY_OF_MONTH);
	assert_int_equal(s.users[2].limits.expires, 1814399999); /* 2027-06-30T23:59:59Z */
	server_config_free(&s);
	client_config_free(&c);
	config_diag_free(&d);
}

/* ---- defaults ---------------------------------------------------------- */

static void test_server_defaults(void **state)
{
	struct server_config c;
	struct config_diag d;
	char want[PATH_MAX + 64];
	(void)state;
	assert_int_equal(load_server("", NULL, &c, &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 1); /* users.toml not found */
	assert_string_equal(c.bind_address, "0.0.0.0");
	/* no [api]: the admin API still listens where lostlove-admin looks */
	assert_string_equal(c.api_socket, "/run/lostlove/admin.sock");
	assert_string_equal(c.api_socket, CONFIG_API_SOCKET_DEFAULT);
	assert_int_equal(c.port, 443);
	assert_int_equal(c.protocol, PROTOCOL_UDP);
	assert_int_equal(c.max_connections, 10000);
	assert_int_equal(c.worker_threads, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(want, sizeof(want), "%s/server.key", case_dir);
	assert_string_equal(c.private_key_file, want);
	snprintf(want, sizeof(want), "%s/users.toml", case_dir);
	assert_string_equal(c.users_file, want);
	snprintf(want, sizeof(want), "%s/lostlove.db", case_dir); /* beside the key */
	assert_string_equal(c.database, want);
	assert_string_equal(c.tun_name, "ll0");
	prefix_is(&c.tun_address, "10.8.0.1/24");
	prefix_is(&c.tun_address6, "fd00:8::1/64");
	assert_int_equal(c.mtu, 1420);
	assert_true(c.enable_ipv6);
	assert_int_equal(c.n_dns, 1);
	prefix_is(&c.dns[0], "10.8.0.1");
	assert_false(c.client_to_client);
	assert_int_equal(c.firewall, FIREWALL_NFTABLES);
	assert_string_equal(c.egress_interface, "");
	assert_int_equal(c.mode, CIPHER_CHACHAPOLY);
	assert_true(c.ecc_enabled);
	assert_false(c.hse_enabled);
	assert_int_equal(c.kem, KEM_REQUIRED);
	assert_int_equal(c.key_rotation_interval_s, 120);
	assert_int_equal(c.key_rotation_bytes, 0);
	assert_int_equal(c.timestamp_window_s, 30);
	assert_false(c.obfuscation_enabled);
	assert_int_equal(c.buffer_pool_size, 4096);
	assert_int_equal(c.buffer_size, 2048);
	assert_true(c.tun_offload);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.rate_limit_per_user, 0);
	assert_int_equal(c.connection_timeout_s, 300);
	assert_int_equal(c.keepalive_s, 25);
	assert_int_equal(c.handshakes_per_ip_per_s, 20);
	assert_int_equal(c.n_users, 0);
	server_config_free(&c);
	config_diag_free(&d);
}

/* [storage] database: beside the key by default, relative paths from
 * server.toml's directory, "sqlite:" dropped, absolute paths kept. */
static void check_storage_database(void)
{
	struct server_config c;
	struct config_diag d;
	char want[PATH_MAX + 64];
	assert_int_equal(
	    load_server("[server]\nprivate_key_file = \"/etc/ll/k/server.key\"\n", NULL, &c, &d),
	    0);
	assert_string_equal(c.database, "/etc/ll/k/lostlove.db");
	server_config_free(&c);
	config_diag_free(&d);
	assert_int_equal(
	    load_server("[storage]\ndatabase = \"sqlite:db/users.db\"\n", NULL, &c, &d), 0);
	snprintf(want, sizeof(want), "%s/db/users.db", case_dir);
	assert_string_equal(c.database, want);
	server_config_free(&c);
	config_diag_free(&d);
	assert_int_equal(
	    load_server("[storage]\ndatabase = \"/var/lib/lostlove/lostlove.db\"\n", NULL, &c, &d),
	    0);
	assert_string_equal(c.database, "/var/lib/lostlove/lostlove.db");
	server_config_free(&c);
	config_diag_free(&d);
}

/* Values derived from others: the buffer grows with the MTU, the cascade
 * sets hse_enabled, IPv6 DNS servers go when IPv6 is off, the store's
 * file goes beside the key. */
static void test_server_derived(void **state)
{
	struct server_config c;
	struct config_diag d;
	(void)state;
	assert_int_equal(load_server("[network]\nmtu = 9000\nenable_ipv6 = false\n"
				     "dns = [\"1.1.1.1\", \"2606:4700::1111\"]\n"
				     "[crypto]\nmode = \"maximum_security\"\nqrl_enabled = false\n"
				     "[performance]\ntun_offload = false\n",
				     NULL, &c, &d),
			 0);
	assert_false(c.tun_offload);
	assert_int_equal(c.buffer_size, 9000 + 48);
	assert_true(c.hse_enabled);
	assert_int_equal(c.kem, KEM_OFF);
	assert_int_equal(c.n_dns, 1);
	prefix_is(&c.dns[0], "1.1.1.1");
	expect_line(&d, "server.toml:4: key 'network.dns': warning: IPv6 servers are not pushed to "
			"clients while network.enable_ipv6 = false");
	expect_line(&d, "server.toml:2: key 'network.mtu': warning: datagrams of 9000-byte packets "
			"are 9096 bytes over IPv6 in this mode: a 1500-byte path fragments them; "
			"1404 fits (docs/protocol.md §10)");
	server_config_free(&c);
	config_diag_free(&d);
	check_storage_database();
}

/* The default MTU is the largest whose datagrams fit a 1500-byte IPv6
 * path in the mode (docs/protocol.md §10): 1420, 1404 with the cascade's
 * second tag; an explicit one that does not fit is warned about. */
static void test_mtu_default(void **state)
{
	static const struct {
		const char *toml;
		unsigned mtu;
		bool warned;
	} cases[] = {
	    {"", 1420, false},
	    {"[crypto]\nmode = \"performance\"\n", 1420, false},
	    {"[crypto]\nmode = \"maximum_security\"\n", 1404, false},
	    {"[network]\nmtu = 1420\n[crypto]\nmode = \"maximum_security\"\n", 1420, true},
	    {"[network]\nmtu = 1404\n[crypto]\nmode = \"maximum_security\"\n", 1404, false},
	    {"[network]\nmtu = 1421\n", 1421, true},
	    {"[network]\nmtu = 1280\n", 1280, false},
	};
	struct server_config c;
	struct config_diag d;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(load_server(cases[i].toml, NULL, &c, &d), 0);
		assert_int_equal(c.mtu, cases[i].mtu);
		assert_int_equal(mentions(&d, "key 'network.mtu': warning"), cases[i].warned);
		server_config_free(&c);
		config_diag_free(&d);
	}
}

/* ---- bad server.toml inputs -------------------------------------------- */

struct bad_case {
	const char *text;
	const char *line; /* the one error it must produce */
};

/* Eight good tunnel_open_ports entries, for the too-many case. */
#define OPEN_PORTS_8                                                                               \
	"\"tcp/1\", \"tcp/2\", \"tcp/3\", \"tcp/4\", \"udp/5\", \"udp/6\", \"udp/7\", \"udp/8\", "

static const struct bad_case bad_server[] = {
    /* 0 */ {"[server]\nport = 0\n",
	     "server.toml:2: key 'server.port': must be between 1 and 65535 (found 0)"},
    /* 1 */
    {"[server]\nport = \"443\"\n",
     "server.toml:2: key 'server.port': expected an integer, found a string"},
    /* 2 */
    {"[server]\nprotocol = \"tcp\"\ntls_key_file = \"k.pem\"\n",
     "server.toml: key 'server.tls_certificate_file': protocol = \"tcp\" serves TLS on TCP port "
     "443 and needs a certificate (PEM chain); or set obfuscation.front_tls = false behind a "
     "TLS-terminating proxy"},
    {"[server]\nprotocol = \"both\"\ntls_certificate_file = \"c.pem\"\n",
     "server.toml: key 'server.tls_key_file': protocol = \"both\" needs the certificate's "
     "private key (PEM)"},
    /* 3 */
    {"[server]\nprotocol = \"upd\"\n",
     "server.toml:2: key 'server.protocol': must be \"udp\", \"tcp\" or \"both\" (found "
     "\"upd\"); did you mean \"udp\"?"},
    /* 4 */
    {"[server]\nprot = \"udp\"\n",
     "server.toml:2: key 'server.prot': unknown key; did you mean 'port'?"},
    /* 5 */
    {"[server]\nport = 443\nlog_level = \"info\"\n",
     "server.toml:3: key 'server.log_level': unknown key in [server]; it belongs in [monitoring]"},
    /* 6 */
    {"[sever]\nport = 1\n", "server.toml:1: key 'sever': unknown table; did you mean [server]?"},
    /* 7 */
    {"port = 443\n", "server.toml:1: key 'port': keys belong in a table: write it under [server]"},
    /* 8 */
    {"[server]\nbind_address = \"localhost\"\n",
     "server.toml:2: key 'server.bind_address': must be a numeric IPv4 or IPv6 address "
     "(\"0.0.0.0\", or \"::\" for both families); host names are not resolved"},
    /* 9 */
    {"[network]\ntun_name = \"a-very-long-name0\"\n",
     "server.toml:2: key 'network.tun_name': must be 1 to 15 bytes long (found 17)"},
    /* 10 */
    {"[network]\ntun_name = \"ll 0\"\n",
     "server.toml:2: key 'network.tun_name': an interface name is made of letters, digits, "
     "'_', '.' and '-'"},
    /* 11 */
    {"[network]\ntun_address = \"10.8.0.0/24\"\n",
     "server.toml:2: key 'network.tun_address': is the network address of its prefix; give "
     "the server's own address, such as \"10.8.0.1/24\""},
    /* 12 */
    {"[network]\ntun_address = \"10.8.0.255/24\"\n",
     "server.toml:2: key 'network.tun_address': is the broadcast address of its prefix; give "
     "the server's own address, such as \"10.8.0.1/24\""},
    /* 13 */
    {"[network]\ntun_address = \"10.8.0.1\"\n",
     "server.toml:2: key 'network.tun_address': must be the server's IPv4 address with the "
     "pool's prefix length, such as \"10.8.0.1/24\""},
    /* 14 */
    {"[network]\ntun_address = \"10.8.0.1/31\"\n",
     "server.toml:2: key 'network.tun_address': the prefix length must be 8 to 30"},
    /* 15 */
    {"[network]\nmtu = 1000\n",
     "server.toml:2: key 'network.mtu': must be at least 1280 when network.enable_ipv6 = true "
     "(the default): IPv6 needs that much (RFC 8200 §5); raise mtu or set enable_ipv6 = false"},
    /* 16: an array element is reported on its own line */
    {"[network]\ndns = [\n  \"10.8.0.1\",\n  \"nonsense\",\n]\n",
     "server.toml:4: key 'network.dns': must be an IP address (found \"nonsense\")"},
    /* 17 */
    {"[network]\ndns = [\"1.1.1.1\", \"1.0.0.1\", \"8.8.8.8\", \"8.8.4.4\", \"9.9.9.9\"]\n",
     "server.toml:2: key 'network.dns': at most 4 entries (found 5)"},
    /* 18 */
    {"[crypto]\necc_enabled = false\n",
     "server.toml:2: key 'crypto.ecc_enabled': must stay true: X25519 is the classical half of "
     "the hybrid handshake, and without it security would rest on ML-KEM-768 alone, which is "
     "new; keep ecc_enabled = true (qrl_enabled turns the post-quantum half on or off)"},
    /* 19 */
    {"[crypto]\nhse_enabled = true\n",
     "server.toml:2: key 'crypto.hse_enabled': true asks for the cascade (AES-256-GCM inside "
     "ChaCha20-Poly1305, which replaces the original XOR design: XOR-ing two ciphertexts of "
     "one plaintext was unsound), and the cascade is crypto.mode = \"maximum_security\", but "
     "crypto.mode is \"balanced\" (the default); set mode = \"maximum_security\" or remove "
     "hse_enabled"},
    /* 20 */
    {"[crypto]\nmode = \"maximum_security\"\nhse_enabled = false\n",
     "server.toml:3: key 'crypto.hse_enabled': false contradicts crypto.mode = "
     "\"maximum_security\" (line 2), which IS the cascade that hse_enabled names (the original "
     "XOR design was unsound; the cascade replaces it); remove hse_enabled, or choose mode = "
     "\"balanced\" or \"performance\""},
    /* 21 */
    {"[crypto]\nkey_rotation_interval = 4\n",
     "server.toml:2: key 'crypto.key_rotation_interval': must be between 5 and 86400 (found "
     "4)"},
    /* 22 */
    {"[crypto]\nkey_rotation_bytes = 1000\n",
     "server.toml:2: key 'crypto.key_rotation_bytes': must be 0 (only the AES-GCM packet "
     "limit) or at least 65536 bytes: each key update costs a KDF step and a key phase"},
    /* 23 */
    {"[network]\nmtu = 1460\n[performance]\nbuffer_size = 1500\n",
     "server.toml:4: key 'performance.buffer_size': must hold a whole packet: network.mtu "
     "(1460) + 48 bytes of header and tags = 1508 at least"},
    /* 24 */
    {"[limits]\nkeepalive = 400\n",
     "server.toml:2: key 'limits.keepalive': keepalive = 400 (line 2) must be shorter than "
     "connection_timeout = 300 (the default), or every quiet session is dropped between two "
     "keepalives"},
    /* 25 */
    {"[network]\nfirewall = \"iptables\"\n",
     "server.toml:2: key 'network.firewall': must be \"nftables\" or \"none\" (found "
     "\"iptables\"); did you mean \"nftables\"?"},
    /* 26 */
    {"[obfuscation]\nfallback_site = \"ftp://example.com\"\n",
     "server.toml:2: key 'obfuscation.fallback_site': must be an http:// or https:// URL, or "
     "\"\" for the built-in mimic"},
    /* 27 */
    {"[server]\nworker_threads = -1\n",
     "server.toml:2: key 'server.worker_threads': must be between 0 and 1024 (found -1)"},
    /* 28 */
    {"[server]\nmax_connections = 1.5\n",
     "server.toml:2: key 'server.max_connections': expected an integer, found a float"},
    /* 29 */
    {"[network]\nenable_ipv6 = \"yes\"\n",
     "server.toml:2: key 'network.enable_ipv6': expected a boolean (true or false), found a "
     "string"},
    /* 30 */
    {"[server.extra]\nx = 1\n", "server.toml:1: key 'server.extra': unknown key"},
    /* 31 */
    {"[[server]]\nport = 1\n",
     "server.toml:1: key 'server': expected a table [server], found an array"},
    /* 32 */
    {"[obfuscation]\nstealth_mode = \"max\"\n",
     "server.toml:2: key 'obfuscation.stealth_mode': must be \"off\", \"standard\" or "
     "\"maximum\" (found \"max\")"},
    /* 33 */
    {"[server]\nusers_file = \"\"\n",
     "server.toml:2: key 'server.users_file': must be 1 to 4095 bytes long (found 0)"},
    /* 34 */
    {"[network]\negress_interface = \"eth0/1\"\n",
     "server.toml:2: key 'network.egress_interface': an interface name is made of letters, "
     "digits, '_', '.' and '-'"},
    /* 35 */
    {"[network]\ntun_address6 = \"fd00:8::/64\"\n",
     "server.toml:2: key 'network.tun_address6': is the network address of its prefix; give "
     "the server's own address, such as \"fd00:8::1/64\""},
    /* 36 */
    {"[monitoring]\nmetrics_port = 0\n",
     "server.toml:2: key 'monitoring.metrics_port': must be between 1 and 65535 (found 0)"},
    /* 37 */
    {"[limits]\nhandshakes_per_ip_per_s = 0\n",
     "server.toml:2: key 'limits.handshakes_per_ip_per_s': must be between 1 and 10000 (found "
     "0)"},
    /* 38: the short timeout is the key set, so it takes the blame */
    {"[limits]\nconnection_timeout = 20\n",
     "server.toml:2: key 'limits.connection_timeout': keepalive = 25 (the default) must be "
     "shorter than connection_timeout = 20 (line 2), or every quiet session is dropped between "
     "two keepalives"},
    /* 39 */
    {"[crypto]\ntimestamp_window = 1000\n",
     "server.toml:2: key 'crypto.timestamp_window': must be between 5 and 600 (found 1000)"},
    /* 40 */
    {"[performance]\nbuffer_pool_size = 10\n",
     "server.toml:2: key 'performance.buffer_pool_size': must be between 64 and 1000000 (found "
     "10)"},
    /* 41 */
    {"[monitoring]\nlog_level = \"verbose\"\n",
     "server.toml:2: key 'monitoring.log_level': must be \"error\", \"warn\", \"info\" or "
     "\"debug\" (found \"verbose\")"},
    /* 42 */
    {"[crypto]\nmode = \"aes512\"\n",
     "server.toml:2: key 'crypto.mode': must be \"performance\", \"balanced\" or "
     "\"maximum_security\" (found \"aes512\")"},
    /* 43: TOML syntax: line and column */
    {"[server]\nport = \n", "server.toml:2:8: expected a value, found end of line"},
    /* 44 */
    {"[server]\nobfuscation_file = \"nowhere.toml\"\n",
     "nowhere.toml: cannot read: No such file or directory"},
    /* 45 */
    {"[network]\ntun_address = \"10.8.0.1/24\"\ndns = [\"10.8.0.1/24\"]\n",
     "server.toml:3: key 'network.dns': must be a single address, without a /length"},
    /* 46: a value with a newline still makes one line */
    {"[server]\nprotocol = \"u\\nd\\tp\"\n",
     "server.toml:2: key 'server.protocol': must be \"udp\", \"tcp\" or \"both\" (found "
     "\"u\\x0ad\\x09p\"); did you mean \"udp\"?"},
    /* 47..58: network.tunnel_open_ports, each error naming the entry */
    /* 47 */
    {"[network]\ntunnel_open_ports = [\"icmp/22\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"icmp/22\": must be \"tcp/PORT\" or "
     "\"udp/PORT\", or a range such as \"tcp/8000-8080\""},
    /* 48 */
    {"[network]\ntunnel_open_ports = [\"TCP/22\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"TCP/22\": must be \"tcp/PORT\" or "
     "\"udp/PORT\", or a range such as \"tcp/8000-8080\""},
    /* 49: the bad entry is reported on its own line */
    {"[network]\ntunnel_open_ports = [\n  \"tcp/22\",\n  \"udp/0\",\n]\n",
     "server.toml:4: key 'network.tunnel_open_ports': \"udp/0\": a port is 1 to 65535"},
    /* 50 */
    {"[network]\ntunnel_open_ports = [\"tcp/70000\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"tcp/70000\": a port is 1 to 65535"},
    /* 51 */
    {"[network]\ntunnel_open_ports = [\"tcp/8000-65536\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"tcp/8000-65536\": a port is 1 to 65535"},
    /* 52 */
    {"[network]\ntunnel_open_ports = [\"tcp/8080-8000\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"tcp/8080-8000\": the range ends below its "
     "start"},
    /* 53: nothing but the shape: no blanks, signs, leading zeros or empty ends */
    {"[network]\ntunnel_open_ports = [\"tcp/22 \", \"tcp/+22\", \"tcp/022\", \"udp/\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"tcp/22 \": must be \"tcp/PORT\" or "
     "\"udp/PORT\", or a range such as \"tcp/8000-8080\""},
    /* 54 */
    {"[network]\ntunnel_open_ports = [\"udp/53-\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"udp/53-\": must be \"tcp/PORT\" or "
     "\"udp/PORT\", or a range such as \"tcp/8000-8080\""},
    /* 55 */
    {"[network]\ntunnel_open_ports = [" OPEN_PORTS_8 OPEN_PORTS_8 OPEN_PORTS_8 OPEN_PORTS_8
     "\"udp/1\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': at most 32 entries (found 33)"},
    /* 56 */
    {"[network]\ntunnel_open_ports = \"tcp/22\"\n",
     "server.toml:2: key 'network.tunnel_open_ports': expected an array of strings, found a "
     "string"},
    /* 57 */
    {"[network]\ntunnel_open_ports = [22]\n",
     "server.toml:2: key 'network.tunnel_open_ports': expected an array of strings, found an "
     "integer"},
    /* 58 */
    {"[network]\ntunnel_open_ports = [\"tcp/0-22\"]\n",
     "server.toml:2: key 'network.tunnel_open_ports': \"tcp/0-22\": a port is 1 to 65535"},
    /* 59 */
    {"[storage]\ndatabase = \"postgres://lostlove@db/lostlove\"\n",
     "server.toml:2: key 'storage.database': PostgreSQL is not built yet: it arrives with the "
     "scale-out issue; use a SQLite path"},
    /* 60 */
    {"[storage]\ndatabase = \"mysql://db/lostlove\"\n",
     "server.toml:2: key 'storage.database': a SQLite path or \"sqlite:PATH\"; no other "
     "database is built"},
    /* 61 */
    {"[storage]\ndatabase = \"sqlite:\"\n",
     "server.toml:2: key 'storage.database': \"sqlite:\" names no file"},
    /* 62 */
    {"[monitoring]\nmetrics_address = \"localhost\"\n",
     "server.toml:2: key 'monitoring.metrics_address': must be a numeric IPv4 or IPv6 address "
     "(\"0.0.0.0\", or \"::\" for both families); host names are not resolved"},
    /* 63 */
    {"[monitoring]\nmetrics_users = 10001\n",
     "server.toml:2: key 'monitoring.metrics_users': must be between 0 and 10000 (found 10001)"},
};

static void test_bad_server(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_server); i++) {
		struct server_config c;
		struct config_diag d;
		print_message("case %zu\n", i);
		assert_int_equal(load_server(bad_server[i].text, NULL, &c, &d), -EINVAL);
		expect_line(&d, bad_server[i].line);
		if (d.errors != 1)
			print_error("case %zu: %u errors:\n%s", i, d.errors, d.text);
		assert_int_equal(d.errors, 1);
		config_diag_free(&d);
	}
}

/* Every error at once, not just the first. */
static void test_all_errors(void **state)
{
	struct server_config c;
	struct config_diag d;
	(void)state;
	assert_int_equal(load_server("[server]\nport = 0\nbogus = 1\n[network]\nmtu = 1\n"
				     "[crypto]\necc_enabled = false\n",
				     "[[user]]\nname = \"a b\"\n", &c, &d),
			 -EINVAL);
	expect_line(&d, "server.toml:2: key 'server.port': must be between 1 and 65535 (found 0)");
	expect_line(&d, "server.toml:3: key 'server.bogus': unknown key");
	expect_line(&d, "server.toml:5: key 'network.mtu': must be between 576 and 9000 (found 1)");
	assert_true(mentions(&d, "server.toml:7: key 'crypto.ecc_enabled': must stay true"));
	expect_line(&d, "users.toml:2: key 'user.name': a user name may hold only letters A-Z "
			"a-z, digits and . _ -");
	expect_line(&d, "users.toml:1: key 'user.public_key': missing");
	expect_line(&d, "users.toml:1: key 'user.psk': missing");
	expect_line(&d, "users.toml:1: key 'user.ipv4': missing");
	assert_int_equal(d.errors, 8);
	config_diag_free(&d);
}

/* ---- obfuscation.toml -------------------------------------------------- */

static void test_obfuscation_file(void **state)
{
	struct server_config c;
	struct config_diag d = {0};
	(void)state;
	/* its keys count; stealth is built, so no warning */
	new_case();
	put("server.toml", "", 0644);
	put("obfuscation.toml", "[obfuscation]\nenabled = true\nstealth_mode = \"maximum\"\n",
	    0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	assert_true(c.obfuscation_enabled);
	assert_int_equal(c.stealth_mode, STEALTH_MAXIMUM);
	assert_false(mentions(&d, "obfuscation.enabled"));
	server_config_free(&c);
	config_diag_free(&d);

	/* off: no warning */
	new_case();
	put("server.toml", "[obfuscation]\nenabled = true\nstealth_mode = \"off\"\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	assert_false(mentions(&d, "obfuscation"));
	server_config_free(&c);
	config_diag_free(&d);

	/* cover traffic outside maximum: a warning */
	new_case();
	put("server.toml", "[obfuscation]\nenabled = true\ncover_traffic_rate = 5\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	expect_line(&d, "server.toml:3: key 'obfuscation.cover_traffic_rate': warning: ignored: "
			"cover traffic is sent only with enabled = true and stealth_mode = "
			"\"maximum\"");
	server_config_free(&c);
	config_diag_free(&d);

	/* handshake chaff: default 8, at most 32 */
	new_case();
	put("server.toml", "[obfuscation]\nenabled = true\nstealth_mode = \"maximum\"\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	assert_int_equal(c.handshake_chaff, 8);
	server_config_free(&c);
	config_diag_free(&d);
	new_case();
	put("server.toml", "[obfuscation]\nhandshake_chaff = 33\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), -EINVAL);
	assert_true(mentions(&d, "server.toml:2: key 'obfuscation.handshake_chaff'"));
	config_diag_free(&d);

	/* a key in both files */
	new_case();
	put("server.toml", "[obfuscation]\n\nenabled = false\n", 0644);
	put("obfuscation.toml", "[obfuscation]\nenabled = true\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), -EINVAL);
	expect_line(&d, "obfuscation.toml:2: key 'obfuscation.enabled': also set at server.toml:3; "
			"set it in one file only");
	config_diag_free(&d);

	/* only [obfuscation] belongs there */
	new_case();
	put("server.toml", "", 0644);
	put("obfuscation.toml", "[obfuscation]\nenabled = false\n[server]\nport = 1\n", 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), -EINVAL);
	expect_line(&d,
		    "obfuscation.toml:3: key 'server': only [obfuscation] belongs in this file");
	assert_int_equal(d.errors, 1);
	config_diag_free(&d);
}

/* ---- users.toml -------------------------------------------------------- */

static const struct bad_case bad_users[] = {
    /* 0 */ {USER("alice", K_ALICE, "10.8.0.2") USER("alice", K_BOB, "10.8.0.3"),
	     "users.toml:7: key 'user.name': duplicate: user 'alice' at line 2 has it too"},
    /* 1 */
    {USER("alice", K_ALICE, "10.8.0.2") USER("bob", K_ALICE, "10.8.0.3"),
     "users.toml:8: key 'user.public_key': duplicate: user 'alice' at line 3 has it too"},
    /* 2 */
    {USER("alice", K_ALICE, "10.8.0.2") USER("bob", K_BOB, "10.8.0.2"),
     "users.toml:10: key 'user.ipv4': duplicate 10.8.0.2: user 'alice' at line 5 has it too"},
    /* 3 */
    {USER("alice", K_ALICE, "10.8.0.2") "ipv6 = \"fd00:8::2\"\n" USER(
	 "bob", K_BOB, "10.8.0.3") "ipv6 = \"fd00:8::2\"\n",
     "users.toml:12: key 'user.ipv6': duplicate fd00:8::2: user 'alice' at line 6 has it too"},
    /* 4 */
    {USER("alice", K_ALICE, "10.9.0.2"),
     "users.toml:5: key 'user.ipv4': 10.9.0.2 is outside the pool 10.8.0.0/24 "
     "(network.tun_address)"},
    /* 5 */
    {USER("alice", K_ALICE, "10.8.0.1"),
     "users.toml:5: key 'user.ipv4': 10.8.0.1 is the server's own address"},
    /* 6 */
    {USER("alice", K_ALICE, "10.8.0.0"),
     "users.toml:5: key 'user.ipv4': 10.8.0.0 is the network or broadcast address of "
     "10.8.0.0/24"},
    /* 7 */
    {USER("alice", K_ALICE, "10.8.0.255"),
     "users.toml:5: key 'user.ipv4': 10.8.0.255 is the network or broadcast address of "
     "10.8.0.0/24"},
    /* 8 */
    {USER("alice", K_ALICE, "10.8.0.2") "ipv6 = \"fd01::2\"\n",
     "users.toml:6: key 'user.ipv6': fd01::2 is outside the pool fd00:8::/64 "
     "(network.tun_address6)"},
    /* 9 */
    {USER("alice", K_ALICE, "10.8.0.2") "ipv6 = \"fd00:8::1\"\n",
     "users.toml:6: key 'user.ipv6': fd00:8::1 is the server's own address"},
    /* 10 */
    {"[[user]]\nname = \"alice\"\npublic_key = \"" K_ALICE "\"\nipv4 = \"10.8.0.2\"\n",
     "users.toml:1: key 'user.psk': missing"},
    /* 11 */
    {"[[user]]\nname = \"alice\"\npublic_key = \"abc=\"\npsk = \"" PSK "\"\nipv4 = \"10.8.0.2\"\n",
     "users.toml:3: key 'user.public_key': must be a 32-byte key in base64: 44 characters "
     "ending in '='"},
    /* 12 */
    {USER("alice", K_ALICE, "10.8.0.2") "ipv44 = \"10.8.0.4\"\n",
     "users.toml:6: key 'user.ipv44': unknown key; did you mean 'ipv4'?"},
    /* 13 */
    {"[user]\nname = \"alice\"\n", "users.toml:1: key 'user': write each user as a [[user]] table"},
    /* 14 */
    {USER("al ice", K_ALICE, "10.8.0.2"),
     "users.toml:2: key 'user.name': a user name may hold only letters A-Z a-z, digits and . _ "
     "-"},
    /* 15 */
    {USER("alice", K_ALICE, "10.8.0.2/24"),
     "users.toml:5: key 'user.ipv4': must be a single address, without a /length"},
    /* 16 */
    {USER("alice", K_ALICE, "fd00:8::2"),
     "users.toml:5: key 'user.ipv4': must be an IPv4 address (found \"fd00:8::2\")"},
    /* 17 */
    {USER("alice", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "10.8.0.2"),
     "users.toml:3: key 'user.public_key': must not be all zeros"},
    /* 18 */
    {USER("alice", K_ALICE, "10.8.0.2") "[server]\nport = 1\n",
     "users.toml:6: only [[user]] tables belong in a users file"},
    /* 19 */
    {"[[user]]\nname = \"\"\npublic_key = \"" K_ALICE "\"\npsk = \"" PSK
     "\"\nipv4 = \"10.8.0.2\"\n",
     "users.toml:2: key 'user.name': must be 1 to 63 bytes long (found 0)"},
    /* 20 */
    {USER("alice", K_ALICE, ""),
     "users.toml:5: key 'user.ipv4': must be set: every user needs an IPv4 address"},
    /* 21: limits */
    {USER("alice", K_ALICE, "10.8.0.2") "quota_period = \"day:32\"\n",
     "users.toml:6: key 'user.quota_period': must be \"none\", \"daily\", \"weekly\", "
     "\"monthly\" or \"day_of_month\" (with user.quota_day; \"day:N\" says both)"},
    {USER("alice", K_ALICE, "10.8.0.2") "quota_period = \"day_of_month\"\n",
     "users.toml:6: key 'user.quota_period': \"day_of_month\" needs user.quota_day (1 to 31)"},
    {USER("alice", K_ALICE, "10.8.0.2") "quota_period = \"monthly\"\nquota_day = 5\n",
     "users.toml:7: key 'user.quota_day': only with user.quota_period = \"day_of_month\""},
    {USER("alice", K_ALICE, "10.8.0.2") "quota_period = \"day:5\"\nquota_day = 6\n",
     "users.toml:7: key 'user.quota_day': says day 6, user.quota_period \"day:5\""},
    /* 22 */
    {USER("alice", K_ALICE, "10.8.0.2") "expires = 2027-01-31T23:59:59\n",
     "users.toml:6: key 'user.expires': must be an RFC 3339 date-time with an offset, e.g. "
     "2027-01-31T23:59:59Z"},
    /* 23 */
    {USER("alice", K_ALICE, "10.8.0.2") "expires = \"tomorrow\"\n",
     "users.toml:6: key 'user.expires': must be an RFC 3339 date-time with an offset, e.g. "
     "2027-01-31T23:59:59Z"},
    /* 24 */
    {USER("alice", K_ALICE, "10.8.0.2") "expires_after_first_connect = \"3 days\"\n",
     "users.toml:6: key 'user.expires_after_first_connect': must be seconds or a duration such "
     "as \"90m\", \"12h\", \"30d\", \"2w\" (at most 100 years)"},
    /* 25 */
    {USER("alice", K_ALICE, "10.8.0.2") "data_limit = 1000\nquota_action = \"throttle\"\n",
     "users.toml:7: key 'user.quota_action': \"throttle\" needs user.throttle_rate (bytes/s, "
     "above 0)"},
    /* 26 */
    {USER("alice", K_ALICE, "10.8.0.2") "device_limit = 1025\n",
     "users.toml:6: key 'user.device_limit': must be between 0 and 1024 (found 1025)"},
    /* 27 */
    {USER("alice", K_ALICE, "10.8.0.2") "rate_limit = -1\n",
     "users.toml:6: key 'user.rate_limit': must be between 0 and 9223372036854775807 (found "
     "-1)"},
    /* 28: the store's and the API's name rule (store_user_name_check) */
    {USER("-alice", K_ALICE, "10.8.0.2"),
     "users.toml:2: key 'user.name': a user name must not start with '.' or '-'"},
    /* 29 */
    {USER("bob@home", K_ALICE, "10.8.0.2"),
     "users.toml:2: key 'user.name': a user name may hold only letters A-Z a-z, digits and . _ "
     "-"},
};

static void test_bad_users(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_users); i++) {
		struct server_config c;
		struct config_diag d;
		print_message("case %zu\n", i);
		assert_int_equal(load_server("", bad_users[i].text, &c, &d), -EINVAL);
		expect_line(&d, bad_users[i].line);
		if (d.errors != 1)
			print_error("case %zu: %u errors:\n%s", i, d.errors, d.text);
		assert_int_equal(d.errors, 1);
		config_diag_free(&d);
	}
}

static void test_users(void **state)
{
	struct server_config c;
	struct config_diag d;
	struct config_user *users;
	size_t n;
	(void)state;
	/* IPv6 addresses are dropped, with a warning, when IPv6 is off */
	assert_int_equal(load_server("[network]\nenable_ipv6 = false\n",
				     USER("alice", K_ALICE, "10.8.0.2") "ipv6 = \"fd00:8::2\"\n",
				     &c, &d),
			 0);
	expect_line(&d, "users.toml:6: key 'user.ipv6': warning: ignored while "
			"network.enable_ipv6 = false");
	assert_int_equal(c.users[0].ipv6.family, 0);
	server_config_free(&c);
	config_diag_free(&d);

	/* the store's vocabulary: day_of_month with quota_day */
	assert_int_equal(load_server("",
				     USER("alice", K_ALICE, "10.8.0.2") "quota_period = "
									"\"day_of_month\"\n"
									"quota_day = 31\n",
				     &c, &d),
			 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(c.users[0].limits.period, STORE_PERIOD_DAY_OF_MONTH);
	assert_int_equal(c.users[0].limits.period_day, 31);
	assert_int_equal(c.users[0].quota_day, 31);
	server_config_free(&c);
	config_diag_free(&d);

	/* limits: written, defaulted, and the per-user rate told from the default */
	assert_int_equal(
	    load_server("[limits]\nrate_limit_per_user = 1000\n",
			USER("alice", K_ALICE,
			     "10.8.0.2") "rate_limit = 0\ndata_limit = 5000\n"
					 "quota_period = \"day:15\"\n"
					 "quota_action = \"throttle\"\n"
					 "throttle_rate = 100\n"
					 "expires = 2027-01-01T02:00:00+02:00\n"
					 "expires_after_first_connect = \"30d\"\n" USER(
					     "bob", K_BOB,
					     "10.8.0.3") "expires = \"2027-01-01T00:00:00Z\"\n"
							 "expires_after_first_connect = 3600\n",
			&c, &d),
	    0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(c.rate_limit_per_user, 1000);
	/* 0 is the server's default, as in the store */
	assert_false(c.users[0].limits.rate_set);
	assert_int_equal(c.users[0].limits.rate, 0);
	/* which keys the file gave: the store keeps the others (sync.c) */
	assert_int_equal(c.users[0].limits.set,
			 LIMITS_SET_RATE | LIMITS_SET_DATA | LIMITS_SET_PERIOD | LIMITS_SET_ACTION |
			     LIMITS_SET_THROTTLE | LIMITS_SET_EXPIRES | LIMITS_SET_EXPIRES_AFTER);
	assert_int_equal(c.users[1].limits.set, LIMITS_SET_EXPIRES | LIMITS_SET_EXPIRES_AFTER);
	assert_int_equal(c.users[0].limits.data_limit, 5000);
	assert_int_equal(c.users[0].limits.period, STORE_PERIOD_DAY_OF_MONTH);
	assert_int_equal(c.users[0].limits.period_day, 15);
	assert_int_equal(c.users[0].limits.action, LIMITS_ACTION_THROTTLE);
	assert_int_equal(c.users[0].limits.throttle_rate, 100);
	assert_int_equal(c.users[0].limits.expires, 1798761600);
	assert_int_equal(c.users[0].limits.expires_after, 30 * 86400);
	assert_int_equal(c.users[0].limits.device_limit, 1);
	assert_false(c.users[1].limits.rate_set);
	assert_int_equal(c.users[1].limits.expires, 1798761600);
	assert_int_equal(c.users[1].limits.expires_after, 3600);
	assert_int_equal(c.users[1].limits.data_limit, 0);
	assert_int_equal(c.users[1].limits.period, STORE_PERIOD_NONE);
	server_config_free(&c);
	config_diag_free(&d);

	/* a reload re-reads the file */
	put("users.toml", USER("alice", K_ALICE, "10.8.0.2") USER("bob", K_BOB, "10.8.0.3"), 0600);
	assert_int_equal(server_config_load_users(&c, &users, &n, &d), 0);
	assert_int_equal(n, 2);
	assert_string_equal(users[1].name, "bob");
	server_config_free_users(users, n);
	/* a reload keeps nothing of a broken file, and a missing file is an error */
	put("users.toml", USER("alice", K_ALICE, "10.8.0.2") USER("bob", K_BOB, "10.8.0.2"), 0600);
	assert_int_equal(server_config_load_users(&c, &users, &n, &d), -EINVAL);
	assert_null(users);
	assert_int_equal(unlink(at("users.toml")), 0);
	assert_int_equal(server_config_load_users(&c, &users, &n, &d), -EINVAL);
	expect_line(&d, "users.toml: cannot read: No such file or directory");
	server_config_free(&c);
	config_diag_free(&d);

	/* two users without a name: two errors, not a duplicate as well */
	assert_int_equal(
	    load_server("", "[[user]]\nipv4 = \"10.8.0.2\"\n[[user]]\nipv4 = \"10.8.0.3\"\n", &c,
			&d),
	    -EINVAL);
	assert_int_equal(d.errors, 6); /* name, public_key, psk, twice */
	assert_false(mentions(&d, "duplicate"));
	config_diag_free(&d);

	/* a users file named in server.toml must exist */
	assert_int_equal(load_server("[server]\nusers_file = \"people.toml\"\n", NULL, &c, &d),
			 -EINVAL);
	expect_line(&d, "people.toml: cannot read: No such file or directory");
	config_diag_free(&d);

	/* secrets readable by everyone draw a warning */
	new_case();
	put("server.toml", "", 0644);
	put("users.toml", USER("alice", K_ALICE, "10.8.0.2"), 0644);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	expect_line(&d, "users.toml: warning: readable by every user of this host, yet it holds "
			"secrets; chmod o-rwx");
	server_config_free(&c);
	config_diag_free(&d);
}

/* ---- secrets ----------------------------------------------------------- */

#define SECRET "S3CRETS3CRETS3CRET"

static void test_secrets_stay_out(void **state)
{
	struct server_config c;
	struct client_config cc;
	struct config_diag d;
	(void)state;
	/* a malformed PSK: the error names the key, never the value */
	assert_int_equal(load_server("",
				     "[[user]]\nname = \"a\"\npublic_key = \"" K_ALICE "\"\n"
				     "psk = \"" SECRET "\"\nipv4 = \"10.8.0.2\"\n",
				     &c, &d),
			 -EINVAL);
	assert_true(mentions(&d, "users.toml:4: key 'user.psk': must be a 32-byte key"));
	assert_false(mentions(&d, SECRET));
	config_diag_free(&d);
	/* a TOML syntax error on a secret's line: the parser's message would
	 * quote the value, so it is withheld */
	assert_int_equal(load_server("", "[[user]]\npsk = 1" SECRET "\n", &c, &d), -EINVAL);
	expect_line(&d,
		    "users.toml:2:7: invalid TOML on a line holding a secret (details withheld "
		    "so that the secret is not logged); write the key as a quoted base64 string");
	assert_false(mentions(&d, SECRET));
	config_diag_free(&d);
	/* the client's private key */
	assert_int_equal(load_client("[client]\nprivate_key = \"" SECRET "\"\n", &cc, &d), -EINVAL);
	assert_true(mentions(&d, "key 'client.private_key': must be a 32-byte key"));
	assert_false(mentions(&d, SECRET));
	config_diag_free(&d);
	assert_int_equal(load_client("[client]\nprivate_key = " SECRET "\n", &cc, &d), -EINVAL);
	assert_false(mentions(&d, SECRET));
	config_diag_free(&d);
}

/* ---- [webhooks] -------------------------------------------------------- */

/* The TCP API is plain HTTP: a listen address off loopback is refused
 * unless api.listen_insecure says the operator accepts it. */
static void test_api_listen(void **state)
{
	static const char *const ok[] = {
	    "[api]\nlisten = \"127.0.0.1:8443\"\n",
	    "[api]\nlisten = \"127.9.9.9:8443\"\n",
	    "[api]\nlisten = \"[::1]:8443\"\n",
	    "[api]\nlisten = \"0.0.0.0:8443\"\nlisten_insecure = true\n",
	    "[api]\nlisten = \"198.51.100.1:8443\"\nlisten_insecure = true\n",
	};
	static const char *const refused[] = {"0.0.0.0", "198.51.100.1", "::", "2001:db8::1",
					      "::ffff:127.0.0.1"};
	struct server_config c;
	struct config_diag d = {0};
	char toml[160], line[400];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		print_message("ok %zu\n", i);
		assert_int_equal(load_server(ok[i], "", &c, &d), 0);
		server_config_free(&c);
		config_diag_free(&d);
	}
	for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
		bool six = strchr(refused[i], ':') != NULL;
		snprintf(toml, sizeof(toml),
			 "[api]\nlisten = \"%s%s%s:8443\"\nlisten_insecure = false\n",
			 six ? "[" : "", refused[i], six ? "]" : "");
		print_message("refused %zu\n", i);
		assert_int_equal(load_server(toml, "", &c, &d), -EINVAL);
		snprintf(
		    line, sizeof(line),
		    "server.toml:2: key 'api.listen': '%s' is not a loopback address: the TCP "
		    "API is plain HTTP, carrying bearer tokens and users' private keys; listen "
		    "on 127.0.0.1 or [::1] and put it behind a TLS proxy, or set "
		    "api.listen_insecure = true to accept that",
		    refused[i]);
		expect_line(&d, line);
		config_diag_free(&d);
	}
}

static void test_webhooks(void **state)
{
	struct server_config c;
	struct config_diag d = {0};

	(void)state;
	/* off by default; every event by default */
	assert_int_equal(load_server("", "", &c, &d), 0);
	assert_string_equal(c.webhook_url, "");
	assert_int_equal(c.webhook_events, 0x3f);
	assert_true(c.webhook_tls_verify);
	assert_int_equal(c.webhook_max_queue, 10000);
	server_config_free(&c);
	config_diag_free(&d);
	/* a URL and a secret file (resolved beside server.toml), two events */
	assert_int_equal(load_server("[webhooks]\nurl = \"https://[2001:db8::1]:8443/h\"\n"
				     "secret_file = \"hook.secret\"\n"
				     "events = [\"auth.failure\", \"user.connected\"]\n",
				     "", &c, &d),
			 0);
	assert_string_equal(c.webhook_url, "https://[2001:db8::1]:8443/h");
	assert_string_equal(c.webhook_secret_file, at("hook.secret"));
	assert_int_equal(c.webhook_events, (1u << 4) | (1u << 0));
	server_config_free(&c);
	config_diag_free(&d);
	/* a URL without a secret: unsigned events would be forgeable */
	assert_int_equal(load_server("[webhooks]\nurl = \"http://192.0.2.1/h\"\n", "", &c, &d),
			 -EINVAL);
	assert_true(mentions(&d, "key 'webhooks.secret_file': webhooks.url is set"));
	config_diag_free(&d);
	/* another scheme, an unknown event, an event twice, a node with a newline */
	assert_int_equal(load_server("[webhooks]\nurl = \"ftp://192.0.2.1/h\"\n"
				     "secret_file = \"s\"\n",
				     "", &c, &d),
			 -EINVAL);
	assert_true(mentions(&d, "key 'webhooks.url': must be an http:// or https:// URL"));
	config_diag_free(&d);
	assert_int_equal(load_server("[webhooks]\nevents = [\"user.*\"]\n", "", &c, &d), -EINVAL);
	assert_true(mentions(&d, "\"user.*\" is not an event"));
	config_diag_free(&d);
	assert_int_equal(
	    load_server("[webhooks]\nevents = [\"auth.failure\", \"auth.failure\"]\n", "", &c, &d),
	    -EINVAL);
	assert_true(mentions(&d, "\"auth.failure\" is listed twice"));
	config_diag_free(&d);
	assert_int_equal(load_server("[webhooks]\nnode = \"a\\nb\"\n", "", &c, &d), -EINVAL);
	assert_true(mentions(&d, "key 'webhooks.node': printable ASCII only"));
	config_diag_free(&d);
	assert_int_equal(load_server("[webhooks]\ntimeout = 0\n", "", &c, &d), -EINVAL);
	assert_true(mentions(&d, "webhooks.timeout"));
	config_diag_free(&d);
}

/* ---- dump and diff ----------------------------------------------------- */

static void test_dump(void **state)
{
	struct server_config c;
	struct client_config cc;
	struct config_diag d = {0};
	char *buf = NULL;
	size_t len = 0;
	(void)state;
	copy_examples();
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	char *text = dump_server(&c);
	/* valid TOML, every table, the users, and no PSK */
	struct toml_value *root = toml_parse(text, strlen(text), NULL);
	assert_non_null(root);
	assert_int_equal(toml_table_len(root), 11); /* with [storage], [webhooks] and [api] */
	assert_int_equal(toml_array_len(toml_table_get(root, "user")), 2);
	toml_free(root);
	assert_non_null(strstr(text, "\n[crypto]\nmode = \"balanced\"\necc_enabled = true\n"
				     "hse_enabled = false\nqrl_enabled = true\n"));
	assert_non_null(strstr(text, "public_key = \"" K_ALICE "\"\npsk = \"(redacted)\"\n"));
	assert_null(strstr(text, PSK));
	free(text);
	server_config_free(&c);

	assert_int_equal(client_config_load(at("client.toml"), &cc, &d), 0);
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(client_config_dump(&cc, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "server = \"vpn.example.com:443\"\n"));
	assert_non_null(strstr(buf, "private_key = \"(redacted)\"\npsk = \"(redacted)\"\n"));
	assert_non_null(strstr(buf, "routes = [\"0.0.0.0/0\", \"::/0\"]\n"));
	assert_null(strstr(buf, PSK));
	assert_null(strstr(buf, "aN20n+k4k5vPGxBoXkCdbhkU5ugeP4tmjh3er8Ewumk="));
	free(buf);
	client_config_free(&cc);
	config_diag_free(&d);
}

/* Not-yet-supported options say so in the dump too. */
static void test_dump_reference(void **state)
{
	struct server_config c;
	struct config_diag d = {0};
	(void)state;
	new_case();
	copy_in(tu_source_path("../shared/reference/server.toml"), "server.toml");
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	char *text = dump_server(&c);
	assert_non_null(strstr(text, "\nzero_copy = true  # not yet supported: datagrams"));
	assert_non_null(strstr(text, "\nmetrics_port = 9090\n"));
	struct toml_value *root = toml_parse(text, strlen(text), NULL);
	assert_non_null(root);
	toml_free(root);
	free(text);
	server_config_free(&c);
	config_diag_free(&d);
}

/* tunnel_open_ports: good values load, print back the same, and are
 * compared on reload; the default is [] (nothing opened); 32 entries fit. */
static void test_open_ports(void **state)
{
	struct server_config c;
	struct config_diag d;
	char *text;
	(void)state;
	assert_int_equal(load_server("", NULL, &c, &d), 0);
	assert_int_equal(c.tunnel_open_ports[0].proto, 0);
	text = dump_server(&c);
	assert_non_null(strstr(text, "\ntunnel_open_ports = []\n"));
	free(text);
	server_config_free(&c);
	config_diag_free(&d);

	assert_int_equal(load_server("[network]\ntunnel_open_ports = [\"tcp/22\", \"udp/5353\", "
				     "\"tcp/8000-8080\", \"udp/1-65535\", \"tcp/65535\"]\n",
				     NULL, &c, &d),
			 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 1); /* users.toml not found */
	assert_int_equal(c.tunnel_open_ports[0].lo, 22);
	assert_int_equal(c.tunnel_open_ports[0].hi, 22);
	assert_int_equal(c.tunnel_open_ports[2].lo, 8000);
	assert_int_equal(c.tunnel_open_ports[2].hi, 8080);
	assert_int_equal(c.tunnel_open_ports[3].lo, 1);
	assert_int_equal(c.tunnel_open_ports[3].hi, 65535);
	assert_int_equal(c.tunnel_open_ports[4].lo, 65535);
	assert_int_equal(c.tunnel_open_ports[5].proto, 0); /* the end */
	assert_int_not_equal(c.tunnel_open_ports[0].proto, c.tunnel_open_ports[1].proto);
	assert_int_equal(c.tunnel_open_ports[0].proto, c.tunnel_open_ports[2].proto);
	text = dump_server(&c);
	assert_non_null(strstr(text, "\ntunnel_open_ports = [\"tcp/22\", \"udp/5353\", "
				     "\"tcp/8000-8080\", \"udp/1-65535\", \"tcp/65535\"]\n"));
	free(text);
	server_config_free(&c);
	config_diag_free(&d);

	assert_int_equal(load_server("[network]\ntunnel_open_ports = [" OPEN_PORTS_8 OPEN_PORTS_8
					 OPEN_PORTS_8 OPEN_PORTS_8 "]\n",
				     NULL, &c, &d),
			 0);
	assert_int_equal(c.tunnel_open_ports[CONFIG_MAX_OPEN_PORTS - 1].lo, 8);
	server_config_free(&c);
	config_diag_free(&d);
}

/* A changed tunnel_open_ports needs a restart, like the rest. */
static void test_open_ports_diff(void **state)
{
	struct server_config a, b;
	struct config_diag d = {0};
	(void)state;
	new_case();
	put("a.toml", "[network]\ntunnel_open_ports = [\"tcp/22\"]\n", 0644);
	put("b.toml", "[network]\ntunnel_open_ports = [\"tcp/22\", \"udp/60000-60010\"]\n", 0644);
	put("users.toml", "", 0600);
	assert_int_equal(server_config_load(at("a.toml"), &a, &d), 0);
	assert_int_equal(server_config_load(at("b.toml"), &b, &d), 0);
	assert_int_equal(server_config_diff(&a, &a, &d), 0);
	assert_int_equal(server_config_diff(&a, &b, &d), 1);
	expect_line(&d,
		    "b.toml: key 'network.tunnel_open_ports': warning: changed from "
		    "[\"tcp/22\"] to [\"tcp/22\", \"udp/60000-60010\"]: restart to apply it; the "
		    "running value is kept");
	server_config_free(&a);
	server_config_free(&b);
	config_diag_free(&d);
}

static void test_diff(void **state)
{
	struct server_config a, b;
	struct config_diag d = {0};
	(void)state;
	new_case(); /* one directory, so that the resolved paths agree */
	put("a.toml", "[server]\nport = 443\n", 0644);
	put("b.toml", "[server]\nport = 8443\n[network]\ndns = [\"1.1.1.1\"]\n", 0644);
	put("users.toml", "", 0600);
	assert_int_equal(server_config_load(at("a.toml"), &a, &d), 0);
	assert_int_equal(server_config_load(at("b.toml"), &b, &d), 0);
	assert_null(d.text);
	assert_int_equal(server_config_diff(&a, &a, &d), 0);
	assert_null(d.text);
	assert_int_equal(server_config_diff(&a, &b, &d), 2);
	expect_line(&d, "b.toml: key 'server.port': warning: changed from 443 to 8443: restart to "
			"apply it; the running value is kept");
	expect_line(&d, "b.toml: key 'network.dns': warning: changed from [\"10.8.0.1\"] to "
			"[\"1.1.1.1\"]: restart to apply it; the running value is kept");
	server_config_free(&a);
	server_config_free(&b);
	config_diag_free(&d);
}

/* ---- client ------------------------------------------------------------ */

#define CLIENT_KEYS                                                                                \
	"server_public_key = \"" K_BOB "\"\nprivate_key = \"" K_ALICE "\"\npsk = \"" PSK "\"\n"

static void test_client(void **state)
{
	struct client_config c;
	struct config_diag d;
	(void)state;
	assert_int_equal(
	    load_client("[client]\nserver = \"[2001:db8::1]:51820\"\n" CLIENT_KEYS
			"routes = [\"10.0.0.0/8\", \"fd00::/8\"]\ndns = false\n"
			"qrl_enabled = false\nmtu = 1280\nkeepalive = 15\n"
			"log_level = \"debug\"\ntun_name = \"vpn0\"\n"
			"transport = \"auto\"\ntls_port = 8443\nsni = \"front.test\"\n"
			"host = \"hidden.test\"\npath = \"/chat?x=1\"\ntls_verify = true\n",
			&c, &d),
	    0);
	assert_int_equal(c.transport, CLIENT_TRANSPORT_AUTO);
	assert_int_equal(c.tls_port, 8443);
	assert_string_equal(c.sni, "front.test");
	assert_string_equal(c.http_host, "hidden.test");
	assert_string_equal(c.ws_path, "/chat?x=1");
	assert_true(c.tls_verify);
	assert_int_equal(d.errors + d.warnings, 0);
	assert_string_equal(c.server_host, "2001:db8::1");
	assert_int_equal(c.server_port, 51820);
	assert_int_equal(c.n_routes, 2);
	prefix_is(&c.routes[1], "fd00::/8");
	assert_false(c.use_server_dns);
	assert_int_equal(c.kem, KEM_OFF);
	assert_int_equal(c.mtu, 1280);
	assert_int_equal(c.keepalive_s, 15);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_string_equal(c.tun_name, "vpn0");
	client_config_free(&c);
	config_diag_free(&d);

	/* defaults: a full tunnel, the server's MTU, DNS and keepalive */
	assert_int_equal(load_client("[client]\nserver = \"192.0.2.1:443\"\n" CLIENT_KEYS, &c, &d),
			 0);
	assert_int_equal(c.n_routes, 2);
	prefix_is(&c.routes[0], "0.0.0.0/0");
	prefix_is(&c.routes[1], "::/0");
	assert_true(c.use_server_dns);
	assert_int_equal(c.kem, KEM_REQUIRED);
	assert_int_equal(c.mtu, 0);
	assert_int_equal(c.keepalive_s, 0);
	assert_string_equal(c.tun_name, "ll0");
	assert_int_equal(c.log_level, LOG_INFO);
	/* UDP, and for the TLS front: the server's port and name, path "/" */
	assert_int_equal(c.transport, CLIENT_TRANSPORT_UDP);
	assert_int_equal(c.tls_port, 0);
	assert_string_equal(c.sni, "");
	assert_string_equal(c.http_host, "");
	assert_string_equal(c.ws_path, "/");
	assert_false(c.tls_verify);
	client_config_free(&c);
	config_diag_free(&d);

	/* everything required, reported at the table */
	assert_int_equal(load_client("[client]\nmtu = 1400\n", &c, &d), -EINVAL);
	expect_line(&d, "client.toml:1: key 'client.server': missing");
	expect_line(&d, "client.toml:1: key 'client.server_public_key': missing");
	expect_line(&d, "client.toml:1: key 'client.private_key': missing");
	expect_line(&d, "client.toml:1: key 'client.psk': missing");
	assert_int_equal(d.errors, 4);
	config_diag_free(&d);
	assert_int_equal(load_client("", &c, &d), -EINVAL);
	expect_line(&d, "client.toml: key 'client.server': missing (add it under [client])");
	config_diag_free(&d);
}

static const struct bad_case bad_client[] = {
    /* 0 */ {"[client]\nserver = \"vpn.example.com\"\n",
	     "client.toml:2: key 'client.server': must be \"host:port\"; the port is missing"},
    /* 1 */
    {"[client]\nserver = \"2001:db8::1:443\"\n",
     "client.toml:2: key 'client.server': write an IPv6 address in brackets, such as "
     "\"[2001:db8::1]:443\""},
    /* 2 */
    {"[client]\nserver = \"vpn.example.com:0\"\n",
     "client.toml:2: key 'client.server': the port must be 1 to 65535"},
    /* 3 */
    {"[client]\nserver = \"bad_host:443\"\n",
     "client.toml:2: key 'client.server': \"bad_host\" is neither an IP address nor a host name"},
    /* 4 */
    {"[client]\nserver = \"[vpn.example.com]:443\"\n",
     "client.toml:2: key 'client.server': \"vpn.example.com\" is neither an IP address nor a "
     "host name"},
    /* 5 */
    {"[client]\nserver = \"999.1.1.1:443\"\n",
     "client.toml:2: key 'client.server': \"999.1.1.1\" is neither an IP address nor a host "
     "name"},
    /* 6 */
    {"[client]\nroutes = [\"10.0.0.1/8\"]\n",
     "client.toml:2: key 'client.routes': \"10.0.0.1/8\" has host bits set; did you mean "
     "\"10.0.0.0/8\"?"},
    /* 7 */
    {"[client]\nroutes = \"0.0.0.0/0\"\n",
     "client.toml:2: key 'client.routes': expected an array of strings, found a string"},
    /* 8 */
    {"[client]\nmtu = 100\n",
     "client.toml:2: key 'client.mtu': must be 0 (take the server's) or 576 to 9000"},
    /* 9 */
    {"[client]\nkeepalive = 4000\n",
     "client.toml:2: key 'client.keepalive': must be between 0 and 3600 (found 4000)"},
    /* 10 */
    {"[client]\n[server]\nport = 1\n",
     "client.toml:2: key 'server': unknown table"}, /* [client], [obfuscation] only */
    /* 11 */
    {"[client]\nserver_public_key = 42\n",
     "client.toml:2: key 'client.server_public_key': expected a base64 string, found an integer"},
    /* 12 */
    {"[client]\nroutes = [\"0.0.0.0/0\", 7]\n",
     "client.toml:2: key 'client.routes': expected an array of strings, found an integer"},
    /* 13 */
    {"[client]\nqrl_enable = true\n",
     "client.toml:2: key 'client.qrl_enable': unknown key; did you mean 'qrl_enabled'?"},
    /* 14 */
    {"[client]\ntransport = \"tcp\"\n",
     "client.toml:2: key 'client.transport': must be \"udp\", \"tls\" or \"auto\" (found "
     "\"tcp\"); did you mean \"udp\"?"},
    /* 15 */
    {"[client]\nsni = \"front_test\"\n",
     "client.toml:2: key 'client.sni': must be a DNS name such as \"cdn.example.com\""},
    /* 16 */
    {"[client]\nhost = \"a b\"\n",
     "client.toml:2: key 'client.host': must be a DNS name such as \"cdn.example.com\""},
    /* 17 */
    {"[client]\npath = \"ws\"\n", "client.toml:2: key 'client.path': must start with \"/\""},
    /* 18 */
    {"[client]\npath = \"/a b\"\n",
     "client.toml:2: key 'client.path': must be printable ASCII without spaces"},
    /* 19 */
    {"[client]\ntls_port = 70000\n",
     "client.toml:2: key 'client.tls_port': must be between 0 and 65535 (found 70000)"},
};

static void test_bad_client(void **state)
{
	static const char *const keys[] = {"server", "server_public_key", "private_key", "psk"};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_client); i++) {
		struct client_config c;
		struct config_diag d;
		char text[1024];
		/* complete the file with whatever required keys the case lacks */
		snprintf(text, sizeof(text), "%s", bad_client[i].text);
		char *client_end = strstr(text, "[server]");
		for (size_t k = 0; k < ARRAY_LEN(keys) && !client_end; k++) {
			char probe[64];
			snprintf(probe, sizeof(probe), "\n%s =", keys[k]);
			if (!strstr(text, probe))
				snprintf(text + strlen(text), sizeof(text) - strlen(text),
					 "%s = \"%s\"\n", keys[k],
					 k == 0 ? "192.0.2.1:443" : K_ALICE);
		}
		print_message("case %zu\n", i);
		assert_int_equal(load_client(text, &c, &d), -EINVAL);
		expect_line(&d, bad_client[i].line);
		if (d.errors != 1 && !client_end)
			print_error("case %zu: %u errors:\n%s", i, d.errors, d.text);
		assert_true(client_end || d.errors == 1);
		config_diag_free(&d);
	}
}

/* client.toml's [obfuscation] stealth_mode: off by default, the server's
 * names, anything else an error naming the key. */
static void test_client_stealth(void **state)
{
	static const char base[] = "[client]\nserver = \"192.0.2.1:443\"\n"
				   "server_public_key = \"" K_ALICE "\"\n"
				   "private_key = \"" K_ALICE "\"\npsk = \"" K_ALICE "\"\n";
	struct client_config c;
	struct config_diag d;
	char text[1024];

	(void)state;
	assert_int_equal(load_client(base, &c, &d), 0);
	assert_int_equal(c.stealth_mode, STEALTH_OFF);
	config_diag_free(&d);
	snprintf(text, sizeof(text), "%s[obfuscation]\nstealth_mode = \"maximum\"\n", base);
	assert_int_equal(load_client(text, &c, &d), 0);
	assert_int_equal(c.stealth_mode, STEALTH_MAXIMUM);
	config_diag_free(&d);
	/* cover traffic belongs to maximum, whatever the order of the keys */
	snprintf(text, sizeof(text), "%s[obfuscation]\ncover_traffic_rate = 1000\n", base);
	assert_int_equal(load_client(text, &c, &d), -EINVAL);
	assert_true(mentions(&d, "needs stealth_mode = \"maximum\""));
	config_diag_free(&d);
	snprintf(text, sizeof(text),
		 "%s[obfuscation]\ncover_traffic_rate = 1000\nstealth_mode = \"maximum\"\n", base);
	assert_int_equal(load_client(text, &c, &d), 0);
	assert_int_equal(c.cover_traffic_rate, 1000);
	assert_int_equal(c.handshake_chaff, 8); /* the default */
	config_diag_free(&d);
	/* handshake chaff: a budget of 0..32 packets per young inner flow */
	snprintf(text, sizeof(text),
		 "%s[obfuscation]\nstealth_mode = \"maximum\"\nhandshake_chaff = 0\n", base);
	assert_int_equal(load_client(text, &c, &d), 0);
	assert_int_equal(c.handshake_chaff, 0);
	config_diag_free(&d);
	snprintf(text, sizeof(text), "%s[obfuscation]\nhandshake_chaff = 33\n", base);
	assert_int_equal(load_client(text, &c, &d), -EINVAL);
	assert_true(mentions(&d, "handshake_chaff"));
	config_diag_free(&d);
	snprintf(text, sizeof(text), "%s[obfuscation]\nstealth_mode = \"hidden\"\n", base);
	assert_int_equal(load_client(text, &c, &d), -EINVAL);
	expect_line(&d, "client.toml:7: key 'obfuscation.stealth_mode': must be \"off\", "
			"\"standard\" or \"maximum\" (found \"hidden\")");
	config_diag_free(&d);
}

/* ---- odds and ends ----------------------------------------------------- */

static void test_prefix(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: rejected */
	} cases[] = {
	    /* 0 */ {"10.8.0.1/24", "10.8.0.1/24"},
	    /* 1 */ {"10.8.0.1", "10.8.0.1"},
	    /* 2 */ {"10.8.0.1/32", "10.8.0.1"},
	    /* 3 */ {"0.0.0.0/0", "0.0.0.0/0"},
	    /* 4 */ {"::/0", "::/0"},
	    /* 5 */ {"FD00:8::1/64", "fd00:8::1/64"},
	    /* 6 */ {"10.8.0.1/33", NULL},
	    /* 7 */ {"10.8.0.1/024", NULL},
	    /* 8 */ {"10.8.0.1/", NULL},
	    /* 9 */ {"/24", NULL},
	    /* 10 */ {"10.8.0/24", NULL},
	    /* 11 */ {"010.8.0.1", NULL},
	    /* 12 */ {"::1/129", NULL},
	    /* 13 */ {"10.8.0.1/2a", NULL},
	    /* 14 */ {"fe80::1%eth0", NULL},
	    /* 15 */ {"", NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config_prefix p;
		print_message("case %zu\n", i);
		int r = config_prefix_parse(cases[i].in, &p);
		if (!cases[i].out) {
			assert_int_equal(r, -EINVAL);
			assert_int_equal(p.family, 0);
			continue;
		}
		assert_int_equal(r, 0);
		prefix_is(&p, cases[i].out);
	}
}

static void test_unreadable(void **state)
{
	struct server_config c;
	struct config_diag d = {0};
	(void)state;
	new_case();
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), -EINVAL);
	expect_line(&d, "server.toml: cannot read: No such file or directory");
	config_diag_free(&d);
	assert_int_equal(server_config_load(case_dir, &c, &d), -EINVAL);
	assert_true(mentions(&d, ": cannot read: Is a directory"));
	assert_int_equal(d.errors, 1);
	config_diag_free(&d);
}

/* ---- the service user -------------------------------------------------- */

/* server.user / server.group and client.user / client.group: defaults,
 * "root" and "" (no privilege drop), names checked for shape only (the
 * daemon looks them up at startup, so --check-config judges the same on
 * every host); and users.toml readable by its group (the service group,
 * which re-reads it on SIGHUP) draws no warning, by everyone it does. */
static void test_service_user(void **state)
{
	static const struct bad_case bad[] = {
	    /* 0 */ {"[server]\nuser = \"-lostlove\"\n",
		     "server.toml:2: key 'server.user': a user or group name is made of letters, "
		     "digits, '.', '_' and '-', not starting with '-'"},
	    /* 1 */
	    {"[server]\ngroup = \"lost love\"\n",
	     "server.toml:2: key 'server.group': a user or group name is made of letters, digits, "
	     "'.', '_' and '-', not starting with '-'"},
	    /* 2 */
	    {"[server]\nuser = \"a23456789012345678901234567890123\"\n",
	     "server.toml:2: key 'server.user': must be 0 to 32 bytes long (found 33)"},
	    /* 3 */
	    {"[server]\nuser = 0\n",
	     "server.toml:2: key 'server.user': expected a string, found an integer"},
	};
	struct server_config c;
	struct client_config cc;
	struct config_diag d;

	(void)state;
	assert_int_equal(load_server("", NULL, &c, &d), 0);
	assert_string_equal(c.user, "lostlove");
	assert_string_equal(c.group, "lostlove");
	server_config_free(&c);
	config_diag_free(&d);
	assert_int_equal(load_server("[server]\nuser = \"root\"\ngroup = \"\"\n", NULL, &c, &d), 0);
	assert_string_equal(c.user, "root");
	assert_string_equal(c.group, "");
	assert_int_equal(d.errors, 0);
	server_config_free(&c);
	config_diag_free(&d);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(load_server(bad[i].text, NULL, &c, &d), -EINVAL);
		expect_line(&d, bad[i].line);
		assert_int_equal(d.errors, 1);
		config_diag_free(&d);
	}

	assert_int_equal(load_client("[client]\nserver = \"192.0.2.1:443\"\n" CLIENT_KEYS, &cc, &d),
			 0);
	assert_string_equal(cc.user, "lostlove");
	assert_string_equal(cc.group, "lostlove");
	client_config_free(&cc);
	config_diag_free(&d);
	assert_int_equal(load_client("[client]\nserver = \"192.0.2.1:443\"\n" CLIENT_KEYS
				     "user = \"vpn_1.x\"\ngroup = \"vpn-users\"\n",
				     &cc, &d),
			 0);
	assert_string_equal(cc.user, "vpn_1.x");
	assert_string_equal(cc.group, "vpn-users");
	client_config_free(&cc);
	config_diag_free(&d);
	assert_int_equal(load_client("[client]\nserver = \"192.0.2.1:443\"\n" CLIENT_KEYS
				     "user = \"a/b\"\n",
				     &cc, &d),
			 -EINVAL);
	expect_line(&d,
		    "client.toml:6: key 'client.user': a user or group name is made of letters, "
		    "digits, '.', '_' and '-', not starting with '-'");
	config_diag_free(&d);

	/* users.toml root:lostlove 0640: readable by the service group, no
	 * warning; 0604: by everyone, warned */
	new_case();
	put("server.toml", "", 0644);
	put("users.toml", USER("alice", K_ALICE, "10.8.0.2"), 0640);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	assert_int_equal(d.warnings, 0);
	assert_false(mentions(&d, "readable"));
	server_config_free(&c);
	config_diag_free(&d);
	assert_int_equal(chmod(at("users.toml"), 0604), 0);
	assert_int_equal(server_config_load(at("server.toml"), &c, &d), 0);
	expect_line(&d, "users.toml: warning: readable by every user of this host, yet it holds "
			"secrets; chmod o-rwx");
	server_config_free(&c);
	config_diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference),
	    cmocka_unit_test(test_docs_examples),
	    cmocka_unit_test(test_examples),
	    cmocka_unit_test(test_server_defaults),
	    cmocka_unit_test(test_server_derived),
	    cmocka_unit_test(test_bad_server),
	    cmocka_unit_test(test_mtu_default),
	    cmocka_unit_test(test_all_errors),
	    cmocka_unit_test(test_obfuscation_file),
	    cmocka_unit_test(test_bad_users),
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_api_listen),
	    cmocka_unit_test(test_secrets_stay_out),
	    cmocka_unit_test(test_webhooks),
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_dump_reference),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_client),
	    cmocka_unit_test(test_bad_client),
	    cmocka_unit_test(test_client_stealth),
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_open_ports),
	    cmocka_unit_test(test_open_ports_diff),
	    cmocka_unit_test(test_service_user),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
