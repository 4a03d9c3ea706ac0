/* lostlove-admin: key commands for now (the admin API commands arrive
 * with the API). Commands are dispatched from one table, as
 * wireguard-tools' wg.c does. Keys travel as base64 on stdin/stdout and
 * every buffer that held one is wiped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/keyenc.h"
#include "crypto/rng.h"
#include "crypto/x25519.h"

#define PROG "lostlove-admin"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
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

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"genkey", cmd_genkey, "Generates a new private key and writes it to stdout"},
    {"pubkey", cmd_pubkey, "Reads a private key from stdin and writes its public key to stdout"},
    {"genpsk", cmd_genpsk, "Generates a new pre-shared key and writes it to stdout"},
    {"help", cmd_help, "Shows this help"},
    {"version", cmd_version, "Shows the version"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: " PROG " <command> [<args>]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].description);
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

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		cmd_help(0, NULL);
		return 2;
	}
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, PROG ": unknown command '%.64s' (try '" PROG " help')\n", argv[1]);
		return 2;
	}
	return c->fn(argc - 1, argv + 1);
}
