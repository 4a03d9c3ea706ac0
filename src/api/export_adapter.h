/* A user's client configuration as the API hands it out: the client.toml
 * text, the lostlove:// URI (config/client_uri.h) or the URI's QR code as
 * a PNG (api/qr.h). The connection's options (where the server is, its
 * key, the transport and stealth mode) come from the server's own
 * configuration, so what is exported is what this server accepts. */
#ifndef LL_API_EXPORT_ADAPTER_H
#define LL_API_EXPORT_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "storage/store.h"

struct export_out {
	char *body; /* malloc'd */
	size_t len;
	const char *content_type; /* static */
};

/* format: "toml", "uri" or "qr". priv is the user's private key. 0, or
 * -EINVAL (the server's configuration cannot make one: why says what to
 * set), -ENOMEM, -E2BIG. */
int export_user(const struct server_config *cfg, const uint8_t server_pub[32],
		const struct store_user *u, const uint8_t priv[32], const char *format,
		struct export_out *out, char *why, size_t why_len);

/* The host clients reach the server at: [api] endpoint, else the bind
 * address when it is not a wildcard. false (and why) if there is none. */
bool export_endpoint(const struct server_config *cfg, char *host, size_t len, char *why,
		     size_t why_len);

#endif
