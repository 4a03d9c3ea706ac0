/* The server's firewall and NAT: one nftables table of our own ("inet
 * lostlove"), loaded through libnftables as one atomic transaction and
 * removed on exit, plus IPv4/IPv6 forwarding on the TUN and egress
 * interfaces. Other tables are never touched; the host's own traffic is
 * never dropped by our chains (policy accept), only traffic entering or
 * leaving the TUN device is decided here: what clients may reach beyond the
 * server (forward) and on the server itself (input).
 *
 * Errors: 0 or a negative errno, with a one-line message in err (which may
 * be NULL). Nothing is logged. Needs CAP_NET_ADMIN in the network namespace. */
#ifndef LL_NETWORK_FIREWALL_H
#define LL_NETWORK_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIREWALL_FAMILY	     "inet"
#define FIREWALL_TABLE	     "lostlove"
#define FIREWALL_IFNAME_SIZE 16	  /* IFNAMSIZ: at most 15 characters */
#define FIREWALL_RULESET_MAX 8192 /* firewall_render never needs more */
#define FIREWALL_MAX_DNS     4
#define FIREWALL_MAX_PORTS   32

/* A server address clients are told to use as their DNS resolver. */
struct firewall_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

/* Ports of the server itself that clients may reach through the tunnel. */
struct firewall_ports {
	uint8_t proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lo, hi; /* 1 <= lo <= hi */
};

struct firewall_spec {
	char tun_name[FIREWALL_IFNAME_SIZE];
	char egress_interface[FIREWALL_IFNAME_SIZE]; /* "" = the default route's */
	uint8_t pool4[4];			     /* client prefix; host bits ignored */
	uint8_t pool4_len;			     /* 1..32 */
	bool has_pool6;
	uint8_t pool6[16];
	uint8_t pool6_len; /* 1..128 */
	bool client_to_client;
	/* The input chain: what a client may reach on the server itself. port
	 * never (a routing loop): UDP, and TCP too when tcp_front (the TLS
	 * front listens on the same port number). */
	uint16_t port; /* the server's UDP port */
	bool tcp_front;
	struct firewall_addr dns[FIREWALL_MAX_DNS]; /* DNS (53) may reach these */
	unsigned n_dns;
	struct firewall_ports open_ports[FIREWALL_MAX_PORTS]; /* tunnel_open_ports */
	unsigned n_open_ports;
	/* Tests only: IPv6 forwarding by the global switch (the fallback for
	 * kernels before 6.17) even where force_forwarding exists. */
	bool ip6_global_forwarding;
};

/* One sysctl setup changed, and the value teardown writes back. */
struct firewall_sysctl {
	char path[64]; /* under /proc/sys/net */
	char value;
};

/* What setup changed, for teardown to undo (in reverse). Zero it before the
 * first setup; teardown frees it. */
struct firewall {
	struct firewall_sysctl *undo; /* owned */
	size_t n_undo;
};

/* Writes the nft script that setup loads (pure: no I/O). spec->egress_interface
 * must be set. Interface names may only hold [A-Za-z0-9_.-]. Returns 0,
 * -EINVAL for a bad spec, -ENOSPC if out_len is too small. */
int firewall_render(const struct firewall_spec *spec, char *out, size_t out_len, char *err,
		    size_t err_len);

/* Loads the table (atomically replacing a stale one from a crashed run),
 * then enables forwarding on the TUN and egress interfaces only: IPv4 per
 * interface, IPv6 (with has_pool6) by force_forwarding where the kernel has
 * it (Linux 6.17), else by the global switch after every interface that
 * accepts router advertisements (accept_ra = 1) was set to accept them
 * while forwarding (2). An empty egress interface is resolved from the main
 * routing table's default route (IPv4 first, then IPv6). May be called
 * again on reload; on failure this call leaves no table and none of its
 * own sysctl changes behind. A crashed run's sysctl settings stay. */
int firewall_setup(struct firewall *fw, const struct firewall_spec *spec, char *err,
		   size_t err_len);

/* Restores the sysctl settings fw records, newest first, and frees the
 * record (fw may be NULL: crash cleanup), then removes the table; an absent
 * table is not an error, nor an interface that is gone. */
int firewall_teardown(struct firewall *fw, char *err, size_t err_len);

/* The client's full tunnel (network/route.h), as wg-quick does it: table
 * "inet lostlove_client" copies the mark of the tunnel's own UDP packets to
 * their conntrack entry, and from it onto the server's answers, so that
 * reverse-path filtering (with net.ipv4.conf.all.src_valid_mark = 1, or an
 * nft "fib saddr . mark" rule) looks their source up by the main table, not
 * the tunnel's: strict filtering would otherwise drop them. Other packets
 * and marks are left alone. */
#define FIREWALL_CLIENT_TABLE "lostlove_client"

/* The script firewall_client_setup loads (pure); -ENOSPC if out_len is short. */
int firewall_client_render(uint32_t mark, char *out, size_t out_len);
/* Loads the table, atomically replacing a stale one. */
int firewall_client_setup(uint32_t mark, char *err, size_t err_len);
/* Removes it; an absent table is not an error. */
int firewall_client_teardown(char *err, size_t err_len);

#endif
