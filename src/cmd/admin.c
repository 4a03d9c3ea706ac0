/* lostlove-admin: the key commands and client configurations as URIs
 * and QR codes (offline, no server needed), and the commands that manage
 * a running server through its admin API's Unix socket (src/admin/).
 * Commands are dispatched from one table, as wireguard-tools' wg.c does.
 * Keys travel as base64 on stdin/stdout and every buffer that held one is
 * wiped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/qr.h"
#include "config/client_uri.h"
#include "config/config.h"
#include "admin/admin.h"
#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"

#define PROG "lostlove-admin"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
	int (*api)(const struct admin_ctx *a, int argc, char **argv);
};

static int print_key(const uint8_t key[static KEY_LEN])
{
	char b64[KEY_BASE64_LEN + 1];
	int r;

	key_to_base64(b64, key);
	r = printf("%s\n", b64) < 0 || fflush(stdout) != 0 ? 1 : 0;
	ct_wipe(b64, sizeof(b64));
	return r;
}

static int no_args(int argc, char **argv)
{
	if (argc <= 1)
		return 0;
	fprintf(stderr, PROG " %s: takes no arguments\n", argv[0]);
	return -EINVAL;
}

static int cmd_genkey(int argc, char **argv)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	int r = no_args(argc, argv);

	if (r == 0 && (r = x25519_keygen(priv, pub, &rng_system)) < 0)
		fprintf(stderr, PROG ": cannot generate a key: %s\n", strerror(-r));
	if (r == 0)
		r = print_key(priv);
	ct_wipe(priv, sizeof(priv));
	return r == 0 ? 0 : 1;
}

static int cmd_genpsk(int argc, char **argv)
{
	uint8_t psk[KEY_LEN];
	int r = no_args(argc, argv);

	if (r == 0 && (r = rng_fill(&rng_system, psk, sizeof(psk))) < 0)
		fprintf(stderr, PROG ": cannot generate a key: %s\n", strerror(-r));
	if (r == 0)
		r = print_key(psk);
	ct_wipe(psk, sizeof(psk));
	return r == 0 ? 0 : 1;
}

/* One base64 key on stdin, surrounding blanks allowed, nothing else. */
static int read_key(uint8_t key[static KEY_LEN])
{
	char line[128], *start;
	int r = -EINVAL;
	size_t n = fread(line, 1, sizeof(line) - 1, stdin);

	line[n] = '\0';
	start = line + strspn(line, " \t\r\n");
	start[strcspn(start, " \t\r\n")] = '\0';
	if (n < sizeof(line) - 1 && strlen(start) == KEY_BASE64_LEN)
		r = key_from_base64(key, start);
	ct_wipe(line, sizeof(line));
	return r;
}

static int cmd_pubkey(int argc, char **argv)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	int r = no_args(argc, argv);

	if (r == 0 && (r = read_key(priv)) < 0)
		fprintf(stderr, PROG ": pubkey: stdin is not a base64 private key\n");
	if (r == 0 && (r = x25519_public(pub, priv)) < 0)
		fprintf(stderr, PROG ": pubkey: not a usable private key\n");
	if (r == 0)
		r = print_key(pub);
	ct_wipe(priv, sizeof(priv));
	return r == 0 ? 0 : 1;
}

/* ---- client configurations as URIs and QR codes (docs/client-uri.md) -- */

static int load_client(const char *path, struct client_config *c)
{
	struct config_diag d = {0};
	int r = client_config_load(path, c, &d);
	if (d.text)
		fputs(d.text, stderr);
	config_diag_free(&d);
	if (r < 0)
		fprintf(stderr, PROG ": %s: not a usable client configuration\n", path);
	return r;
}

/* The URI of the client.toml at path, labelled label (may be NULL). */
static char *uri_of_file(const char *path, const char *label)
{
	struct client_config c;
	char *uri = NULL;
	if (load_client(path, &c) < 0)
		return NULL;
	int r = client_uri_format(&c, label, &uri);
	client_config_free(&c);
	if (r < 0)
		fprintf(stderr, PROG ": %s: cannot be written as a URI: %s\n", path, strerror(-r));
	return r < 0 ? NULL : uri;
}

static void free_secret(char *s)
{
	if (s)
		ct_wipe(s, strlen(s));
	free(s);
}

static int cmd_uri(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "Usage: " PROG " uri CLIENT.TOML [LABEL]\n");
		return 1;
	}
	char *uri = uri_of_file(argv[1], argc > 2 ? argv[2] : NULL);
	int r = uri && printf("%s\n", uri) > 0 && fflush(stdout) == 0 ? 0 : 1;
	free_secret(uri);
	return r;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	/* a new file (never over an existing one), private: it holds keys */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fwrite(data, 1, len, f);
	if (fclose(f) != 0 || n != len) {
		fprintf(stderr, PROG ": %s: cannot write\n", path);
		return -1;
	}
	return 0;
}

/* qr CLIENT.TOML [LABEL] [--png FILE]: the QR code in the terminal, or
 * as a PNG file. */
static int cmd_qr(int argc, char **argv)
{
	const char *png_path = NULL, *path = NULL, *label = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--png") && i + 1 < argc)
			png_path = argv[++i];
		else if (!path)
			path = argv[i];
		else if (!label)
			label = argv[i];
		else
			path = NULL, i = argc; /* too many: usage */
	}
	if (!path) {
		fprintf(stderr, "Usage: " PROG " qr CLIENT.TOML [LABEL] [--png FILE]\n");
		return 1;
	}
	char *uri = uri_of_file(path, label), *text = NULL;
	uint8_t *png = NULL;
	size_t len;
	int r = uri ? 0 : -1;
	if (r == 0 && png_path) {
		r = qr_png(uri, QR_SCALE, &png, &len);
		if (r == 0)
			r = write_file(png_path, png, len);
	} else if (r == 0) {
		r = qr_text(uri, 0, &text);
		if (r == 0 && (fputs(text, stdout) < 0 || fflush(stdout) != 0))
			r = -EIO;
	}
	if (r < -1)
		fprintf(stderr, PROG ": qr: %s\n", strerror(-r));
	free_secret(uri);
	free(text);
	free(png);
	return r == 0 ? 0 : 1;
}

/* uri-to-config [URI]: the client.toml a URI stands for; the URI from
 * stdin when not given (a command line is visible to every local user). */
static int cmd_uri_to_config(int argc, char **argv)
{
	char buf[CLIENT_URI_MAX + 2], *toml = NULL;
	struct config_diag d = {0};
	const char *uri = argc > 1 ? argv[1] : buf;
	int r = 0;
	if (argc > 2) {
		fprintf(stderr, "Usage: " PROG " uri-to-config [URI] (or the URI on stdin)\n");
		return 1;
	}
	if (argc < 2) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		r = n == sizeof(buf) - 1 ? -E2BIG : 0;
	}
	if (r == 0)
		r = client_uri_to_toml(uri, strlen(uri), &toml, &d);
	if (d.text)
		fputs(d.text, stderr);
	if (r == -E2BIG)
		fprintf(stderr, PROG ": a URI is at most %d bytes\n", CLIENT_URI_MAX);
	if (r == 0 && (fputs(toml, stdout) < 0 || fflush(stdout) != 0))
		r = -EIO;
	config_diag_free(&d);
	ct_wipe(buf, sizeof(buf));
	free_secret(toml);
	return r == 0 ? 0 : 1;
}

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"add-user", NULL,
     "NAME [--public-key KEY] [--psk-file FILE|-] [limits]: adds a user, prints its client\n"
     "              config, URI and QR code (--psk KEY works too, but argv is visible in ps)",
     admin_add_user},
    {"remove-user", NULL, "NAME: removes a user; its sessions end at once", admin_remove_user},
    {"list-users", NULL, "Lists the users", admin_list_users},
    {"show-user", NULL, "NAME: prints the user's client config, URI and QR code", admin_show_user},
    {"add-device", NULL,
     "USER [NAME] [--public-key KEY]: adds a device (its own key and address) to a user,\n"
     "              prints its client config, URI and QR code",
     admin_add_device},
    {"list-devices", NULL, "USER: lists the user's devices", admin_list_devices},
    {"remove-device", NULL, "USER DEVICE: removes a device; its session ends at once",
     admin_remove_device},
    {"show-device", NULL, "USER DEVICE: prints the device's client config, URI and QR code",
     admin_show_device},
    {"enable", NULL, "NAME: lets the user connect again", admin_enable},
    {"disable", NULL, "NAME: keeps the user out; its sessions end at once", admin_disable},
    {"set-limits", NULL,
     "NAME [--data-limit 10G] [--rate-limit 1M] [--device-limit N] [--expires DATE|never]\n"
     "              [--expires-after DURATION (e.g. 30d: from the first connection)]\n"
     "              [--quota-period none|daily|weekly|monthly|day_of_month] [--quota-day D]\n"
     "              [--quota-action cutoff|throttle] [--throttle-rate R] [--note TEXT]",
     admin_set_limits},
    {"sessions", NULL, "Lists the live sessions", admin_sessions},
    {"kick", NULL, "ID|NAME: ends a session, or every session of a user", admin_kick},
    {"stats", NULL, "[NAME]: the server's counters, or a user's usage", admin_stats},
    {"reload", NULL, "Reloads the users (users.toml and the store)", admin_reload},
    {"token", NULL, "create --sub WHO [--role admin|read-only] [--ttl S]: a token for the TCP API",
     admin_token},
    {"audit", NULL, "The latest admin changes (who, what, when)", admin_audit},
    {"genkey", cmd_genkey, "Generates a new private key and writes it to stdout", NULL},
    {"pubkey", cmd_pubkey, "Reads a private key from stdin and writes its public key to stdout",
     NULL},
    {"genpsk", cmd_genpsk, "Generates a new pre-shared key and writes it to stdout", NULL},
    {"uri", cmd_uri, "Writes the lostlove:// URI of a client.toml (CLIENT.TOML [LABEL])", NULL},
    {"qr", cmd_qr, "Shows a client.toml's URI as a QR code (CLIENT.TOML [LABEL] [--png FILE])",
     NULL},
    {"uri-to-config", cmd_uri_to_config,
     "Writes the client.toml of a lostlove:// URI (from stdin, or [URI])", NULL},
    {"help", cmd_help, "Shows this help", NULL},
    {"version", cmd_version, "Shows the version", NULL},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: " PROG
	       " [--socket PATH] [--json] <command> [<args>] [--json]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-13s %s\n", commands[i].name, commands[i].description);
	printf("\nThe server commands talk to the admin API's Unix socket (--socket, or\n"
	       "$LOSTLOVE_ADMIN_SOCKET; default " ADMIN_SOCKET_DEFAULT "); --json prints\n"
	       "the server's JSON.\n");
	printf("\nKeys are secrets: create their files private, e.g.\n"
	       "  (umask 077; " PROG " genkey > client.key)\n"
	       "  " PROG " pubkey < client.key > client.pub\n"
	       "  (umask 077; " PROG " genpsk > client.psk)\n");
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf(PROG " %s\n", LL_VERSION);
	return 0;
}

static const struct command *find(const char *name)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
	    {"-h", "help"}, {"--help", "help"}, {"-V", "version"}, {"--version", "version"}};

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* Global options before the command: --socket PATH, --json. Returns how
 * many arguments they took, or -1 (after a message). */
static int global_options(int argc, char **argv, struct admin_ctx *a)
{
	int i = 1;

	while (i < argc) {
		if (strcmp(argv[i], "--json") == 0) {
			a->json = true;
			i++;
		} else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			a->socket = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			a->socket = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--socket") == 0) {
			fprintf(stderr, PROG ": --socket needs a path\n");
			return -1;
		} else {
			break;
		}
	}
	return i - 1;
}

/* --json is accepted after the command too ("stats --json"): taken out
 * of the command's arguments, except as the value of an option before it
 * ("--note --json" sets that note). Returns the new argc. */
static int late_json(int argc, char **argv, struct admin_ctx *a)
{
	int o = 1;

	for (int i = 1; i < argc; i++) {
		const char *prev = argv[i - 1];
		bool value = i > 1 && !strncmp(prev, "--", 2) && !strchr(prev, '=') &&
			     strcmp(prev, "--json") && strcmp(prev, "--disabled");
		if (!strcmp(argv[i], "--json") && !value) {
			a->json = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	return o;
}

int main(int argc, char **argv)
{
	struct admin_ctx a = {.socket = getenv("LOSTLOVE_ADMIN_SOCKET"), .timeout_ms = 10000};
	const struct command *c;
	int skip = global_options(argc, argv, &a);

	if (skip < 0)
		return 1;
	if (!a.socket || !*a.socket)
		a.socket = ADMIN_SOCKET_DEFAULT;
	argc -= skip;
	argv += skip;
	if (argc < 2) {
		fprintf(stderr, PROG ": expects a command (try '" PROG " help')\n");
		return 1;
	}
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, PROG ": unknown command '%.64s' (try '" PROG " help')\n", argv[1]);
		return 1;
	}
	if (c->api)
		return c->api(&a, late_json(argc - 1, argv + 1, &a), argv + 1);
	return c->fn(argc - 1, argv + 1);
}
