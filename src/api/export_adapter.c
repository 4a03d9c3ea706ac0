/* A user's client configuration; see export_adapter.h. The options are
 * first written as a small client.toml (the connection's options only:
 * everything else keeps the client's defaults), which is the "toml"
 * export itself and, parsed back by the client's own loader, the source
 * of the URI. So the three formats cannot disagree. */
#include "api/export_adapter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/qr.h"
#include "config/client_uri.h"
#include "crypto/ct.h"
#include "crypto/keyenc.h"

#define TOML_MAX 2048

bool export_endpoint(const struct server_config *cfg, char *host, size_t len, char *why,
		     size_t why_len)
{
	if (cfg->api_endpoint[0]) {
		snprintf(host, len, "%s", cfg->api_endpoint);
		return true;
	}
	if (strcmp(cfg->bind_address, "0.0.0.0") && strcmp(cfg->bind_address, "::")) {
		snprintf(host, len, "%s", cfg->bind_address);
		return true;
	}
	snprintf(why, why_len,
		 "the server listens on a wildcard address: set [api] endpoint to the host or "
		 "address clients connect to");
	return false;
}

static const char *transport_of(enum config_protocol p)
{
	return p == PROTOCOL_TCP ? "tls" : p == PROTOCOL_BOTH ? "auto" : "udp";
}

static const char *stealth_of(const struct server_config *cfg)
{
	if (!cfg->obfuscation_enabled)
		return "off";
	return cfg->stealth_mode == STEALTH_MAXIMUM    ? "maximum"
	       : cfg->stealth_mode == STEALTH_STANDARD ? "standard"
						       : "off";
}

/* "host:port", with brackets around an IPv6 address. */
static void server_of(const struct server_config *cfg, const char *host, char *buf, size_t len)
{
	uint8_t a[16];

	if (inet_pton(AF_INET6, host, a) == 1)
		snprintf(buf, len, "[%s]:%u", host, cfg->port);
	else
		snprintf(buf, len, "%s:%u", host, cfg->port);
}

static int render_toml(const struct server_config *cfg, const uint8_t server_pub[32],
		       const struct store_user *u, const uint8_t priv[32], const char *host,
		       char **ret)
{
	char spub[KEY_BASE64_LEN + 1], cpriv[KEY_BASE64_LEN + 1], psk[KEY_BASE64_LEN + 1];
	char server[300];
	uint8_t zero[32] = {0};
	char *t = malloc(TOML_MAX);
	int n;

	if (!t)
		return -ENOMEM;
	server_of(cfg, host, server, sizeof(server));
	key_to_base64(spub, server_pub);
	key_to_base64(cpriv, priv);
	key_to_base64(psk, u->has_psk ? u->psk : zero);
	n = snprintf(t, TOML_MAX,
		     "# LostLove client configuration for user %s\n"
		     "[client]\n"
		     "server = \"%s\"\n"
		     "server_public_key = \"%s\"\n"
		     "private_key = \"%s\"\n"
		     "psk = \"%s\"\n"
		     "routes = [\"0.0.0.0/0\"%s]\n"
		     "qrl_enabled = %s\n"
		     "transport = \"%s\"\n"
		     "\n[obfuscation]\n"
		     "stealth_mode = \"%s\"\n",
		     u->name, server, spub, cpriv, psk, u->has_ipv6 ? ", \"::/0\"" : "",
		     cfg->kem == KEM_OFF ? "false" : "true", transport_of(cfg->protocol),
		     stealth_of(cfg));
	ct_wipe(cpriv, sizeof(cpriv));
	ct_wipe(psk, sizeof(psk));
	if (n >= 0 && cfg->obfuscation_enabled && cfg->stealth_mode == STEALTH_MAXIMUM &&
	    n < TOML_MAX)
		n += snprintf(t + n, TOML_MAX - (size_t)n,
			      "cover_traffic_rate = %u\nhandshake_chaff = %u\n",
			      cfg->cover_traffic_rate, cfg->handshake_chaff);
	if (n < 0 || n >= TOML_MAX) {
		ct_wipe(t, TOML_MAX);
		free(t);
		return -E2BIG;
	}
	*ret = t;
	return 0;
}

static int to_uri(const char *toml, const char *label, char **ret, char *why, size_t why_len)
{
	struct client_config cc;
	struct config_diag d = {0};
	int r = client_config_parse("client.toml", toml, strlen(toml), &cc, &d);

	if (r == 0) {
		r = client_uri_format(&cc, label, ret);
		client_config_free(&cc);
	} else {
		snprintf(why, why_len, "the exported config does not load: %s",
			 d.text ? d.text : "?");
	}
	config_diag_free(&d);
	return r;
}

int export_user(const struct server_config *cfg, const uint8_t server_pub[32],
		const struct store_user *u, const uint8_t priv[32], const char *format,
		struct export_out *out, char *why, size_t why_len)
{
	char host[256], *toml = NULL, *uri = NULL;
	uint8_t *png;
	size_t png_len;
	int r;

	if (!export_endpoint(cfg, host, sizeof(host), why, why_len))
		return -EINVAL;
	r = render_toml(cfg, server_pub, u, priv, host, &toml);
	if (r == 0 && !strcmp(format, "toml")) {
		*out = (struct export_out){toml, strlen(toml), "text/plain; charset=utf-8"};
		return 0;
	}
	if (r == 0)
		r = to_uri(toml, u->name, &uri, why, why_len);
	if (toml) {
		ct_wipe(toml, strlen(toml));
		free(toml);
	}
	if (r == 0 && !strcmp(format, "uri")) {
		size_t n = strlen(uri);
		uri[n] = '\n'; /* one line of text; the terminator is allocated */
		*out = (struct export_out){uri, n + 1, "text/plain; charset=utf-8"};
		return 0;
	}
	if (r == 0) {
		r = qr_png(uri, QR_SCALE, &png, &png_len);
		ct_wipe(uri, strlen(uri));
		free(uri);
		if (r == 0)
			*out = (struct export_out){(char *)png, png_len, "image/png"};
	}
	if (r < 0 && !why[0])
		snprintf(why, why_len, "cannot export: %s", strerror(-r));
	return r;
}
