/* lostlove:// URIs and the rendered client.toml: config -> URI -> config
 * and config -> TOML -> config give the same configuration (compared by
 * the full rendering, secrets included); defaults are left out; local
 * settings are not carried; and every malformed or hostile URI is refused
 * with a message naming what is wrong, never turned into other TOML. */
#include <errno.h>
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

#include "config/client_uri.h"
#include "config/config.h"

#define PUB  "kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBs="
#define PRIV "aN20n+k4k5vPGxBoXkCdbhkU5ugeP4tmjh3er8Ewumk="
#define PSK  "9+R6mVoFLThDNKLY4RSEdRCzsnXrm23LD3QqONu0PKw="
/* the same three keys in base64url without padding */
#define PUB_U  "kXEaGhI68POACIeAlAuoiHir67RmIysntqHYAsbOxBs"
#define PRIV_U "aN20n-k4k5vPGxBoXkCdbhkU5ugeP4tmjh3er8Ewumk"
#define PSK_U  "9-R6mVoFLThDNKLY4RSEdRCzsnXrm23LD3QqONu0PKw"

static const char minimal[] = "[client]\nserver = \"vpn.example.com:443\"\n"
			      "server_public_key = \"" PUB "\"\nprivate_key = \"" PRIV "\"\n"
			      "psk = \"" PSK "\"\n";

/* every option the URI carries away from its default */
static const char everything[] =
    "[client]\nserver = \"[2001:db8::1]:8443\"\n"
    "server_public_key = \"" PUB "\"\nprivate_key = \"" PRIV "\"\npsk = \"" PSK "\"\n"
    "mtu = 1380\nroutes = [\"10.8.0.0/24\", \"192.168.10.0/24\", \"fd00::/64\"]\n"
    "dns = false\nqrl_enabled = false\nkeepalive = 25\ntransport = \"auto\"\n"
    "tls_port = 443\nsni = \"cdn.example.com\"\nhost = \"front.example.net\"\n"
    "path = \"/ws/a%20b?x=1&y=\\\"q\\\"#f\\\\\"\ntls_verify = true\n"
    "[obfuscation]\nstealth_mode = \"maximum\"\ncover_traffic_rate = 20000\n"
    "handshake_chaff = 3\n";

static struct client_config load_text(const char *text)
{
	struct client_config c;
	struct config_diag d = {0};
	int r = client_config_parse("test", text, strlen(text), &c, &d);
	if (r != 0)
		fail_msg("load: %s", d.text ? d.text : "?");
	config_diag_free(&d);
	return c;
}

/* the full rendering (every option, secrets included) */
static char *render(const struct client_config *c)
{
	char *s;
	assert_int_equal(client_config_render(c, NULL, &s), 0);
	return s;
}

static char *uri_of(const struct client_config *c, const char *label)
{
	char *u;
	assert_int_equal(client_uri_format(c, label, &u), 0);
	return u;
}

static struct client_config parse_ok(const char *uri, char label[CLIENT_URI_LABEL])
{
	struct client_config c;
	struct config_diag d = {0};
	if (client_uri_parse(uri, strlen(uri), &c, label, &d) != 0)
		fail_msg("%s: %s", uri, d.text ? d.text : "?");
	config_diag_free(&d);
	return c;
}

/* Refused, and the message holds want. */
static void parse_bad(const char *uri, const char *want)
{
	struct client_config c;
	struct config_diag d = {0};
	int r = client_uri_parse(uri, strlen(uri), &c, NULL, &d);
	if (r != -EINVAL || !d.text || !strstr(d.text, want))
		fail_msg("%s: %d, \"%s\", wanted a message with \"%s\"", uri, r,
			 d.text ? d.text : "", want);
	config_diag_free(&d);
}

static void round_trip(const char *toml, const char *label)
{
	char got_label[CLIENT_URI_LABEL];
	struct client_config a = load_text(toml);
	char *u = uri_of(&a, label);
	struct client_config b = parse_ok(u, got_label);
	char *ra = render(&a), *rb = render(&b);
	assert_string_equal(ra, rb);
	assert_string_equal(got_label, label ? label : "");
	/* and through the TOML rendering */
	struct client_config c = load_text(ra);
	char *rc = render(&c);
	assert_string_equal(ra, rc);
	free(u);
	free(ra);
	free(rb);
	free(rc);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(minimal, "alice");
	round_trip(everything, NULL);
	round_trip(everything, "bob@home");
}

static void test_minimal_uri(void **state)
{
	(void)state;
	struct client_config c = load_text(minimal);
	char *u = uri_of(&c, "alice");
	assert_string_equal(u, "lostlove://" PRIV_U "@vpn.example.com:443/?server_public_key=" PUB_U
			       "&psk=" PSK_U "&transport=udp&stealth_mode=off#alice");
	free(u);
	/* the spec's example (docs/client-uri.md) reads as written */
	c = parse_ok("LOSTLOVE://" PRIV_U "@[2001:db8::1]:8443?server_public_key=" PUB_U
		     "&psk=" PSK_U "&transport=tls&stealth_mode=standard&sni=cdn.example.com"
		     "&path=%2Fws&routes=10.8.0.0%2F24,fd00::%2F64&mtu=1380&dns=false",
		     NULL);
	assert_string_equal(c.server_host, "2001:db8::1");
	assert_int_equal(c.server_port, 8443);
	assert_int_equal(c.transport, CLIENT_TRANSPORT_TLS);
	assert_string_equal(c.sni, "cdn.example.com");
	assert_string_equal(c.ws_path, "/ws");
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.mtu, 1380);
	assert_false(c.use_server_dns);
	assert_int_equal(c.private_key[0], 0x68);
}

static void test_local_keys_not_carried(void **state)
{
	char toml[1024];
	(void)state;
	snprintf(toml, sizeof(toml),
		 "%stun_name = \"wg9\"\nuser = \"root\"\nlog_level = \"debug\"\n", minimal);
	struct client_config a = load_text(toml);
	char *u = uri_of(&a, NULL);
	assert_null(strstr(u, "tun_name"));
	assert_null(strstr(u, "user"));
	struct client_config b = parse_ok(u, NULL);
	assert_string_equal(b.tun_name, "ll0");
	assert_string_equal(b.user, "lostlove");
	free(u);
	parse_bad("lostlove://" PRIV_U "@h.example:1/?server_public_key=" PUB_U "&psk=" PSK_U
		  "&user=root",
		  "user: not carried by a URI");
	parse_bad("lostlove://" PRIV_U "@h.example:1/?server_public_key=" PUB_U "&psk=" PSK_U
		  "&tun_name=eth0",
		  "tun_name: not carried");
}

#define BASE "lostlove://" PRIV_U "@h.example:51820/?server_public_key=" PUB_U "&psk=" PSK_U

static void test_refused(void **state)
{
	(void)state;
	parse_bad("https://" PRIV_U "@h.example:1/", "must start with lostlove://");
	parse_bad("lostlove:" PRIV_U "@h.example:1/", "must start with");
	parse_bad("lostlove://h.example:1/?server_public_key=" PUB_U "&psk=" PSK_U,
		  "private key is missing");
	parse_bad("lostlove://" PRIV_U "=@h.example:1/?psk=" PSK_U, "private key");
	parse_bad("lostlove://" PRIV "@h.example:1/", "private key"); /* standard base64 */
	parse_bad("lostlove://aN20n+k4k5vPGxBoXkCdbhkU5ugeP4tmjh3er8Ewumk@h.example:1/",
		  "private key");
	parse_bad("lostlove://" PRIV_U "@h.example/?server_public_key=" PUB_U, "port is missing");
	parse_bad("lostlove://" PRIV_U "@h.example:/", "port must be");
	parse_bad("lostlove://" PRIV_U "@h.example:123456/", "port must be");
	parse_bad("lostlove://" PRIV_U "@h.example:0/?server_public_key=" PUB_U "&psk=" PSK_U,
		  "port must be 1 to 65535");
	parse_bad("lostlove://" PRIV_U "@h.example:65536/?server_public_key=" PUB_U "&psk=" PSK_U,
		  "port must be 1 to 65535");
	parse_bad("lostlove://" PRIV_U "@h_x.example:1/", "host must be");
	parse_bad("lostlove://" PRIV_U "@h%41.example:1/", "host must be");
	parse_bad("lostlove://" PRIV_U "@[fe80::1%25eth0]:1/", "IPv6 address holds");
	parse_bad("lostlove://" PRIV_U "@[2001:db8::1]/", "must be [IPv6 address]:port");
	parse_bad("lostlove://" PRIV_U "@2001:db8::1:1/?server_public_key=" PUB_U "&psk=" PSK_U,
		  "IPv6 address in brackets");
	parse_bad(BASE "&server_public_key=" PUB_U, "given twice");
	parse_bad(BASE "&colour=red", "unknown query key \"colour\"");
	parse_bad(BASE "&private_key=" PRIV_U, "unknown query key \"private_key\"");
	parse_bad(BASE "&sni", "needs a value");
	parse_bad("lostlove://" PRIV_U "@h.example:1/x?psk=" PSK_U, "no path");
	parse_bad("lostlove://" PRIV_U "@h.example:1/?server_public_key=" PUB_U,
		  "key 'client.psk'");
	parse_bad(BASE "&psk=" PSK_U "A", "given twice");
	parse_bad("lostlove://" PRIV_U "@h.example:1/?server_public_key=" PUB_U "&psk=" PSK_U "A",
		  "psk: must be a 32-byte key");
	parse_bad("lostlove://" PRIV_U "@h.example:1/?server_public_key=" PUB "&psk=" PSK_U,
		  "server_public_key: must be a 32-byte key");
	/* values */
	parse_bad(BASE "&dns=yes", "dns: must be true or false");
	parse_bad(BASE "&mtu=-1", "mtu: must be a decimal number");
	parse_bad(BASE "&mtu=01400", "mtu: must be a decimal number");
	parse_bad(BASE "&mtu=100", "lostlove URI: key 'client.mtu'"); /* no line number */
	parse_bad(BASE "&mtu=99999999999", "mtu: must be a decimal number");
	parse_bad(BASE "&transport=quic", "key 'client.transport'");
	parse_bad(BASE "&stealth_mode=%", "bad %-escape");
	parse_bad(BASE "&sni=%zz", "bad %-escape");
	parse_bad(BASE "&sni=a%00b", "sni: a bad %-escape, a control character");
	parse_bad(BASE "&sni=a b", "not allowed in a URI");
	parse_bad(BASE "&routes=10.0.0.0/8,", "key 'client.routes'");
	parse_bad(BASE "&routes=10.0.0.1/8", "key 'client.routes'");
	parse_bad(BASE "&cover_traffic_rate=100", "needs stealth_mode = \"maximum\"");
	/* no value becomes TOML of its own: quotes, newlines, brackets */
	parse_bad(BASE "&sni=a%0Aprivate_key%3D%22x%22", "control character");
	parse_bad(BASE "&sni=a%22%20psk%3D%22", "key 'client.sni'");
	parse_bad(BASE "&routes=%22%5D%0A", "control character");
	parse_bad(BASE "&routes=10.0.0.0/8%22,%22", "key 'client.routes'");
	parse_bad(BASE "&mtu=1400%0Apsk", "mtu: a bad %-escape, a control character");
	parse_bad(BASE "&mtu=1400%20%23", "mtu: must be a decimal number");
	parse_bad(BASE "&mtu=1400,1", "mtu: must be a decimal number");
	parse_bad(BASE "&dns=true%0Apsk%3D1", "dns: a bad %-escape, a control character");
	parse_bad(BASE "&dns=true%20%23", "dns: must be true or false");
	/* size */
	static char big[CLIENT_URI_MAX + 256];
	snprintf(big, sizeof(big), "%s#%0*d", BASE, CLIENT_URI_MAX, 0);
	parse_bad(big, "over 4096 bytes");
}

static void test_accepted_forms(void **state)
{
	char label[CLIENT_URI_LABEL];
	(void)state;
	/* no "/", keys in any order, percent-encoded unreserved characters,
	 * an empty pair, a path with every printable special character */
	struct client_config c = parse_ok(
	    "lostlove://" PRIV_U "@10.1.2.3:9?psk=" PSK_U "&&server_public_key=" PUB_U
	    "&path=%2F%21%22%23%24%25%26%27%28%29%2A%2B%2C%3B%3D%3F%40%5B%5C%5D%5E%60%7B%7C%7D"
	    "#%C3%A9l%C3%A8ve%201",
	    label);
	assert_string_equal(c.server_host, "10.1.2.3");
	assert_string_equal(c.ws_path, "/!\"#$%&'()*+,;=?@[\\]^`{|}");
	assert_string_equal(label, "??l??ve 1");
	/* and it formats back to an equal configuration */
	char *u = uri_of(&c, label);
	struct client_config d = parse_ok(u, NULL);
	char *rc = render(&c), *rd = render(&d);
	assert_string_equal(rc, rd);
	free(u);
	free(rc);
	free(rd);
}

/* The rendered file is what lostlove-client reads (client_config_load),
 * and uri-to-config's output is that file. */
static void test_rendered_file_loads(void **state)
{
	char dir[] = "/tmp/test_client_uri.XXXXXX", path[80];
	struct client_config a = load_text(everything), b;
	struct config_diag d = {0};
	char *toml;
	(void)state;
	char *u = uri_of(&a, "carol");
	assert_int_equal(client_uri_to_toml(u, strlen(u), &toml, &d), 0);
	assert_non_null(strstr(toml, "# LostLove client configuration for carol\n"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/client.toml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(toml, f);
	fclose(f);
	chmod(path, 0600);
	if (client_config_load(path, &b, &d) != 0)
		fail_msg("%s", d.text);
	assert_int_equal(d.warnings, 0);
	char *ra = render(&a), *rb = render(&b);
	assert_string_equal(ra, rb);
	unlink(path);
	rmdir(dir);
	free(u);
	free(toml);
	free(ra);
	free(rb);
	config_diag_free(&d);
	/* a comment cannot break out of its line */
	char *s;
	assert_int_equal(client_config_render(&a, "x\r\n[client]\x1b\xff", &s), 0);
	assert_non_null(strstr(s, "# x?\n# [client]??\n[client]\n"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_minimal_uri),
	    cmocka_unit_test(test_local_keys_not_carried),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_accepted_forms),
	    cmocka_unit_test(test_rendered_file_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
