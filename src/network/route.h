/* The client's routes through its TUN device, and how they are undone.
 *
 * A listed prefix gets a route through the TUN device in the main table.
 * A default route (0.0.0.0/0 or ::/0) is done the way wg-quick does it,
 * so the tunnel's own UDP packets still leave by the real default route:
 *
 *   ip rule add not fwmark M table main suppress_prefixlength 0 pref 32760
 *                                    (keep the main table's specific routes)
 *   ip rule add not fwmark M table T pref 32761
 *                                    (everything else unmarked -> T)
 *   ip route add default dev TUN table T
 *
 * and the client's UDP socket carries SO_MARK M, so it uses the main
 * table and keeps working when the client roams. The server's answers
 * carry no mark, though, and their source's unmarked route is the tunnel:
 * strict reverse-path filtering would drop them. So, as wg-quick does, an
 * nftables table (network/firewall.h) copies M from the socket's packets
 * to their conntrack entry and back onto the answers, and for IPv4
 * net.ipv4.conf.all.src_valid_mark=1 makes the filter use that mark.
 *
 * The rules' priorities are explicit (ROUTE_PRIO_*): just in front of the
 * main table's rule (32766), so rules an administrator adds with the usual
 * lower numbers still come first, and clear of 32765 and 32764, which the
 * kernel gives the first rules added without a priority on a host that has
 * only its default ones (wg-quick's, say).
 * wg-quick's suppress rule matches every packet; ours says "not fwmark M"
 * too, which changes nothing (a marked packet is meant for the main table
 * anyway) but makes both rules recognisably LostLove's: a rule is ours when
 * it looks up table T, or is exactly our suppress rule (route_rule_kind).
 *
 * Ownership, and crashes. A killed client leaves its rules and nftables
 * table behind (its TUN device, and so every route through it, goes away
 * with the process). So a client with a full tunnel sweeps before adding
 * and again when it stops (route_sweep): every rule of ours in both
 * families, every route in table T, the nftables table. A restart after a
 * crash therefore ends with exactly one copy of each. Only one full-tunnel
 * client per network namespace is supported (they would share T and M).
 * What a sweep cannot know is whether src_valid_mark was 0 before the
 * crashed run set it: a restarted client finds 1 and, as for a value the
 * administrator chose, leaves it at 1 when it stops (1 is harmless: it
 * only lets reverse-path filtering see marks).
 *
 * struct route_state records what was installed; route_remove undoes
 * exactly that, src_valid_mark included when it was 0 (and is harmless
 * to call twice). */
#ifndef LL_NETWORK_ROUTE_H
#define LL_NETWORK_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/rtnl.h"

#define ROUTE_FWMARK 0x4c4c	  /* "LL": the tunnel socket's mark */
#define ROUTE_TABLE  ROUTE_FWMARK /* the full tunnel's table (19532) */
#define ROUTE_MAX    64

/* The full tunnel's rules, looked at in this order (lower first). */
#define ROUTE_PRIO_SUPPRESS 32760 /* not fwmark M lookup main suppress_prefixlength 0 */
#define ROUTE_PRIO_TUNNEL   32761 /* not fwmark M lookup T */

/* A destination prefix; family 4 or 6. */
struct route_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
};

struct route_state {
	int ifindex;
	struct route_prefix installed[ROUTE_MAX];
	unsigned n_installed;
	bool full;		 /* a full tunnel: route_remove sweeps */
	bool swept;		 /* swept since route_begin */
	bool default4, default6; /* rules + table route in place */
	bool marks;		 /* the nftables table is loaded */
	bool set_src_valid_mark; /* it was 0: route_remove puts it back */
};

/* ---- pure ---- */

enum route_rule_kind {
	ROUTE_RULE_OTHER,    /* not ours */
	ROUTE_RULE_SUPPRESS, /* not fwmark M, main, suppress_prefixlength 0 */
	ROUTE_RULE_TUNNEL,   /* anything that looks up table T */
};

/* Our two rules for family (AF_INET/AF_INET6), in the order they are
 * added: [0] the suppress rule, [1] the tunnel rule. */
void route_rules(int family, struct rtnl_rule_info out[2]);
/* Whether a dumped rule is one of ours, and which. */
enum route_rule_kind route_rule_kind(const struct rtnl_rule_info *r);
bool route_has_default(const struct route_prefix *prefixes, unsigned n);

/* ---- system ---- */

/* Removes every rule of ours (both families), every route in table T and
 * (best effort) the nftables table, whoever left them. Returns the number
 * of rules and routes removed, or the first negative errno (having tried
 * the rest); a family the kernel lacks is skipped. */
int route_sweep(void);

/* At the client's start, before anything is added: remembers whether
 * prefixes hold a default route and, if so, sweeps what a crashed run
 * left. Returns route_sweep's result (0 when there is no full tunnel). */
int route_begin(struct route_state *st, const struct route_prefix *prefixes, unsigned n);

/* Installs routes for prefixes through ifindex (and, with a default
 * route, the marks table; it sweeps first unless route_begin did). A
 * failing step is reported in err (the first failure) and skipped; returns
 * the number of failures, or a negative errno when nothing could be done. */
int route_apply(struct route_state *st, int ifindex, const struct route_prefix *prefixes,
		unsigned n, char *err, size_t err_len);
/* Removes what route_apply installed and, for a full tunnel, sweeps. */
void route_remove(struct route_state *st);

#endif
