/* Private to config/config.c, config_server.c and config_client.c: the option
 * parsers, validators and names the server and client tables share. Not
 * part of the API (config.h is). */
#ifndef LL_CORE_CONFIG_IMPL_H
#define LL_CORE_CONFIG_IMPL_H

#include <stddef.h>

#include "config/config.h"
#include "config/config_table.h"

/* Field designators for a table entry. */
#define CONFIG_FIELD(type, member)                                                                 \
	.offset = offsetof(struct type, member), .size = sizeof(((struct type *)0)->member)
#define CONFIG_AUX(type, member) .aux = offsetof(struct type, member)

extern const struct config_name config_log_levels[];
extern const struct config_name config_stealth_modes[]; /* server and client alike */

/* A table whose diagnostics go to d; origin has n zeroed entries. */
void config_begin(struct config_table *t, const struct config_option *opts, size_t n,
		  struct config_origin *origin, const char *file, struct config_diag *d);
/* Index of table.key, which must exist (a typo in the caller is a bug). */
size_t config_index(const struct config_table *t, const char *table, const char *key);

/* A 32-byte key in base64 (uint8_t[32] field). */
int config_parse_key(const struct config_option *o, const struct toml_value *v, void *target,
		     struct config_problem *ret);
void config_format_key(const struct config_option *o, const void *target, char *buf, size_t len);
/* qrl_enabled: a boolean into an enum kem_policy (true = KEM_REQUIRED). */
int config_parse_kem(const struct config_option *o, const struct toml_value *v, void *target,
		     struct config_problem *ret);
void config_format_kem(const struct config_option *o, const void *target, char *buf, size_t len);
/* One address (a struct config_prefix of full length) of family .min
 * (4, 6, or 0 for either); "" leaves it unset. */
int config_parse_address(const struct config_option *o, const struct toml_value *v, void *target,
			 struct config_problem *ret);
/* Prints one struct config_prefix field ("" when unset). */
void config_format_prefix(const struct config_option *o, const void *target, char *buf, size_t len);
/* An array of addresses (no /len) or of prefixes: struct config_prefix[]
 * with an unsigned count at .aux, at most .max entries. */
int config_parse_addresses(const struct config_option *o, const struct toml_value *v, void *target,
			   struct config_problem *ret);
int config_parse_prefixes(const struct config_option *o, const struct toml_value *v, void *target,
			  struct config_problem *ret);
void config_format_prefixes(const struct config_option *o, const void *target, char *buf,
			    size_t len);
/* A Linux interface name; "" passes only when .min is 0. */
/* Walks a TOML array of at most o->max strings, calling each for entry i
 * (ret->at is set to it, for the message): the shape checks and messages
 * every string-list option shares. 0, or the first error. */
typedef int (*config_string_fn)(const char *s, size_t i, void *ctx, struct config_problem *ret);
int config_parse_strings(const struct config_option *o, const struct toml_value *v,
			 config_string_fn each, void *ctx, struct config_problem *ret);
int config_check_account(const struct config_option *o, const void *target,
			 struct config_problem *ret);
int config_check_ifname(const struct config_option *o, const void *target,
			struct config_problem *ret);

#endif
