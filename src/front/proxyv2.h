/* PROXY protocol version 2 header (HAProxy's proxy-protocol.txt §2.2):
 * the binary header a load balancer or CDN puts before the client's
 * first byte, carrying the client's real address. Pure.
 *
 * The parser decides as early as the bytes allow: the first byte that
 * differs from the 12-byte signature, a version other than 2, an unknown
 * command or a length over PP2_MAX_LEN is refused at once, so a client
 * that is not a proxy learns nothing by sending more. */
#ifndef LL_FRONT_PROXYV2_H
#define LL_FRONT_PROXYV2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PP2_SIG_LEN 12u
#define PP2_HDR_LEN 16u
/* Address block plus TLVs accepted (HAProxy sends at most a few hundred). */
#define PP2_MAX_LEN 512u

enum pp2_result {
	PP2_NEED_MORE = 0,
	PP2_OK,
	PP2_BAD,
};

struct pp2_info {
	int local; /* LOCAL command (health check): use the socket's address */
	struct sockaddr_storage src, dst; /* valid when !local and family known */
	socklen_t addr_len;		  /* 0: UNSPEC/UNIX family, addresses not used */
	size_t header_len;		  /* bytes to consume */
};

enum pp2_result pp2_parse(const uint8_t *buf, size_t len, struct pp2_info *out);

#endif
