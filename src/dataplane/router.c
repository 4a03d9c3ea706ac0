/* Inner-IP routing decisions; see router.h. The packet has been through
 * control_classify, which checked that its length field fits, but the
 * router does not rely on that: it checks the header length itself. */
#include "dataplane/router.h"

#include <errno.h>
#include <string.h>

enum {
	IPV4_HEADER_MIN = 20,
	IPV4_OFF_SRC = 12,
	IPV4_OFF_DST = 16,
	IPV6_HEADER_LEN = 40,
	IPV6_OFF_SRC = 8,
	IPV6_OFF_DST = 24,
};

int router_addrs(const uint8_t *pkt, size_t len, const uint8_t **ret_src, const uint8_t **ret_dst)
{
	unsigned version = len ? pkt[0] >> 4 : 0;

	if (version == 4 && len >= IPV4_HEADER_MIN) {
		*ret_src = pkt + IPV4_OFF_SRC;
		*ret_dst = pkt + IPV4_OFF_DST;
		return 4;
	}
	if (version == 6 && len >= IPV6_HEADER_LEN) {
		*ret_src = pkt + IPV6_OFF_SRC;
		*ret_dst = pkt + IPV6_OFF_DST;
		return 16;
	}
	return -EINVAL;
}

static bool owns(const struct router_owned *own, const uint8_t *addr, size_t len)
{
	if (len == 4)
		return own->has4 && memcmp(own->addr4, addr, 4) == 0;
	return own->has6 && memcmp(own->addr6, addr, 16) == 0;
}

enum router_verdict router_from_client(const struct router_owned *own, const uint8_t *pkt,
				       size_t len, bool client_to_client, router_lookup_fn lookup,
				       void *ctx, void **ret_client)
{
	const uint8_t *src, *dst;
	int alen = router_addrs(pkt, len, &src, &dst);
	void *peer;

	if (alen < 0)
		return ROUTER_DROP_MALFORMED;
	if (!owns(own, src, (size_t)alen))
		return ROUTER_DROP_SPOOFED;
	peer = lookup(ctx, dst, (size_t)alen);
	if (!peer)
		return ROUTER_TO_TUN;
	if (!client_to_client)
		return ROUTER_DROP_C2C;
	*ret_client = peer;
	return ROUTER_TO_CLIENT;
}

const char *router_verdict_name(enum router_verdict v)
{
	static const char *const names[] = {
	    [ROUTER_TO_TUN] = "to_tun",
	    [ROUTER_TO_CLIENT] = "to_client",
	    [ROUTER_DROP_MALFORMED] = "malformed",
	    [ROUTER_DROP_SPOOFED] = "spoofed_source",
	    [ROUTER_DROP_C2C] = "client_to_client",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

static bool prefix_has(const uint8_t *net, unsigned bits, const uint8_t *addr)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff00u >> rest);

	if (memcmp(net, addr, whole) != 0)
		return false;
	return rest == 0 || ((net[whole] ^ addr[whole]) & mask) == 0;
}

bool router_in_pool(const struct router_pools *p, const uint8_t *addr, size_t len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (len == 16 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		addr += 12;
		len = 4;
	}
	if (len == 4)
		return p->has4 && prefix_has(p->net4, p->len4, addr);
	return len == 16 && p->has6 && prefix_has(p->net6, p->len6, addr);
}
