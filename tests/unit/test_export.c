/* A user's client configuration as the admin API exports it
 * (src/api/export_adapter.c): the client.toml loads in the client's own
 * loader with the server's key, the user's keys and the server's
 * transport and stealth mode; the URI parses back to the same keys; the
 * QR answer is a PNG; a server on a wildcard address without [api]
 * endpoint is refused with the fix named; an IPv6 endpoint is bracketed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/export_adapter.h"
#include "config/client_uri.h"

static const uint8_t server_pub[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t priv[32] = {0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void setup_cfg(struct server_config *cfg, struct store_user *u)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->bind_address, "0.0.0.0");
	strcpy(cfg->api_endpoint, "vpn.example.com");
	cfg->port = 443;
	cfg->protocol = PROTOCOL_BOTH;
	cfg->obfuscation_enabled = true;
	cfg->stealth_mode = STEALTH_STANDARD;
	cfg->kem = KEM_REQUIRED;
	store_user_init(u);
	strcpy(u->name, "alice");
	u->has_psk = true;
	memset(u->psk, 0x33, 32);
	u->has_ipv4 = true;
	memcpy(u->ipv4, (uint8_t[]){10, 8, 0, 2}, 4);
	u->has_ipv6 = true;
}

static void test_toml_loads(void **state)
{
	struct server_config cfg;
	struct store_user u;
	struct export_out out = {0};
	struct client_config cc;
	struct config_diag d = {0};
	char why[160] = "";

	(void)state;
	setup_cfg(&cfg, &u);
	assert_int_equal(export_user(&cfg, server_pub, &u, priv, "toml", &out, why, sizeof(why)),
			 0);
	assert_string_equal(out.content_type, "text/plain; charset=utf-8");
	assert_int_equal(client_config_parse("alice.toml", out.body, out.len, &cc, &d), 0);
	assert_string_equal(cc.server_host, "vpn.example.com");
	assert_int_equal(cc.server_port, 443);
	assert_memory_equal(cc.server_public_key, server_pub, 32);
	assert_memory_equal(cc.private_key, priv, 32);
	assert_memory_equal(cc.psk, u.psk, 32);
	assert_int_equal(cc.transport, CLIENT_TRANSPORT_AUTO);
	assert_int_equal(cc.stealth_mode, STEALTH_STANDARD);
	assert_int_equal(cc.kem, KEM_REQUIRED);
	assert_int_equal(cc.n_routes, 2); /* 0.0.0.0/0 and ::/0 */
	client_config_free(&cc);
	config_diag_free(&d);
	free(out.body);
}

static void test_uri_and_qr(void **state)
{
	struct server_config cfg;
	struct store_user u;
	struct export_out out = {0};
	struct client_config cc;
	struct config_diag d = {0};
	char why[160] = "", label[CLIENT_URI_LABEL];

	(void)state;
	setup_cfg(&cfg, &u);
	cfg.protocol = PROTOCOL_UDP;
	cfg.obfuscation_enabled = false;
	assert_int_equal(export_user(&cfg, server_pub, &u, priv, "uri", &out, why, sizeof(why)), 0);
	assert_true(out.len > 12 && memcmp(out.body, "lostlove://", 11) == 0);
	assert_int_equal(out.body[out.len - 1], '\n');
	assert_int_equal(client_uri_parse(out.body, out.len - 1, &cc, label, &d), 0);
	assert_string_equal(label, "alice");
	assert_memory_equal(cc.private_key, priv, 32);
	assert_memory_equal(cc.server_public_key, server_pub, 32);
	assert_int_equal(cc.transport, CLIENT_TRANSPORT_UDP);
	assert_int_equal(cc.stealth_mode, STEALTH_OFF);
	client_config_free(&cc);
	config_diag_free(&d);
	free(out.body);
	assert_int_equal(export_user(&cfg, server_pub, &u, priv, "qr", &out, why, sizeof(why)), 0);
	assert_string_equal(out.content_type, "image/png");
	assert_true(out.len > 8);
	assert_memory_equal(out.body, "\x89PNG\r\n\x1a\n", 8);
	free(out.body);
}

static void test_endpoints(void **state)
{
	struct server_config cfg;
	struct store_user u;
	struct export_out out = {0};
	char why[160] = "", host[64];

	(void)state;
	setup_cfg(&cfg, &u);
	cfg.api_endpoint[0] = '\0'; /* wildcard bind, no endpoint: say what to set */
	assert_int_equal(export_user(&cfg, server_pub, &u, priv, "toml", &out, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "[api] endpoint"));
	strcpy(cfg.bind_address, "::");
	assert_false(export_endpoint(&cfg, host, sizeof(host), why, sizeof(why)));
	strcpy(cfg.bind_address, "192.0.2.7"); /* a bound address is the endpoint */
	assert_true(export_endpoint(&cfg, host, sizeof(host), why, sizeof(why)));
	assert_string_equal(host, "192.0.2.7");
	strcpy(cfg.api_endpoint, "2001:db8::1"); /* IPv6: bracketed in "server" */
	assert_int_equal(export_user(&cfg, server_pub, &u, priv, "toml", &out, why, sizeof(why)),
			 0);
	assert_non_null(strstr(out.body, "server = \"[2001:db8::1]:443\""));
	free(out.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_toml_loads),
	    cmocka_unit_test(test_uri_and_qr),
	    cmocka_unit_test(test_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
