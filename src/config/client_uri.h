/* The lostlove:// URI: a client configuration in one line, to paste or to
 * scan as a QR code (docs/client-uri.md is the specification):
 *
 *   lostlove://PRIVATE_KEY@HOST:PORT/?server_public_key=K&psk=K&transport=udp
 *              &stealth_mode=standard[&KEY=VALUE...]#LABEL
 *
 * Query keys are the client.toml keys of the connection (not the local
 * ones: tun_name, user, group, log_level); keys are 32 bytes in base64url
 * without padding. Parsing turns the URI into a client.toml document and
 * loads it with client_config_parse, so a URI is checked exactly as a file
 * is, and its errors name the key.
 *
 * Pure: no I/O. */
#ifndef LL_CONFIG_CLIENT_URI_H
#define LL_CONFIG_CLIENT_URI_H

#include <stddef.h>

#include "config/config.h"

#define CLIENT_URI_MAX	 4096 /* bytes of a URI, either way */
#define CLIENT_URI_LABEL 128  /* bytes of a label, decoded, NUL included */

/* The URI of c (label may be NULL or ""): the keys above, each option
 * only when it differs from its default, except transport and
 * stealth_mode, always written. *ret is malloc'd (it holds the private
 * key: wipe and free it). Returns 0, -EINVAL (c cannot be a URI: a local
 * option is not its default), -E2BIG, -ENOMEM. */
int client_uri_format(const struct client_config *c, const char *label, char **ret);

/* Parses a URI into *ret (release with client_config_free), its label
 * (printable ASCII; other bytes become '?') into label if non-NULL.
 * Returns 0, or -EINVAL with every problem in *diag ("lostlove URI: ..."). */
int client_uri_parse(const char *uri, size_t len, struct client_config *ret,
		     char label[CLIENT_URI_LABEL], struct config_diag *diag);

/* The client.toml text the URI stands for (as client_uri_parse reads it):
 * what `lostlove-admin uri-to-config` prints. Returns 0 or -EINVAL with
 * *diag, -ENOMEM. *ret is malloc'd, holds secrets. */
int client_uri_to_toml(const char *uri, size_t len, char **ret, struct config_diag *diag);

#endif
