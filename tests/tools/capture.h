/* Reading captures the way a passive observer does: every frame of a pcap
 * decoded to its IP header, transport ports and payload, and grouped into
 * bidirectional flows. Shared by the censor's tools in this folder
 * (ndpi_flows, fet, pcap_stats, xue_rules).
 *
 * The decoder (capture_decode) takes untrusted bytes and only reads inside
 * them; it is fuzzed by tests/fuzz/fuzz_capture.c. */
#ifndef LL_TOOLS_CAPTURE_H
#define LL_TOOLS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* Link types we decode (the values pcap files carry). */
enum {
	CAPTURE_DLT_EN10MB = 1,
	CAPTURE_DLT_RAW = 101,
	CAPTURE_DLT_LINUX_SLL = 113,
	CAPTURE_DLT_IPV4 = 228,
	CAPTURE_DLT_IPV6 = 229,
};

struct capture_pkt {
	uint64_t ts_ms;	   /* capture time, milliseconds */
	const uint8_t *l3; /* the IP header (what nDPI is fed) */
	size_t l3_len;	 /* bytes from the IP header to the frame's end, capped at the IP length */
	int family;	 /* 4 or 6 */
	uint8_t src[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint8_t l4; /* 6 TCP, 17 UDP, other: no ports and no payload */
	uint16_t sport, dport;
	uint8_t tcp_flags;	/* TCP only */
	uint32_t tcp_seq;	/* TCP only */
	uint8_t tos;		/* DSCP << 2 | ECN (IPv4 TOS, IPv6 traffic class) */
	uint8_t ttl;		/* TTL or hop limit */
	uint8_t df;		/* IPv4 don't-fragment bit (IPv6: 1, it never fragments en route) */
	uint8_t fragment;	/* an IPv4 fragment other than the first, or IPv6 fragment header */
	const uint8_t *payload; /* transport payload as captured (may be cut by the snap length) */
	size_t payload_len;
};

/* Decodes one frame of link type DLT. Returns 0 on success, -1 when the
 * frame is not an IPv4/IPv6 packet we can read (the caller counts it). */
int capture_decode(int dlt, const uint8_t *frame, size_t len, struct capture_pkt *out);

/* A bidirectional flow: side A is the source of its first packet seen, unless
 * a server port was given, in which case side B is the side with that port. */
struct capture_flow {
	int family;
	uint8_t l4;
	uint8_t a[16], b[16];
	uint16_t aport, bport;
	uint64_t packets[2]; /* [0] A to B, [1] B to A */
	uint64_t bytes[2];   /* payload bytes */
	void *user;	     /* the tool's own per-flow state */
};

struct capture_table;

struct capture_table *capture_table_new(uint16_t server_port);
void capture_table_free(struct capture_table *t, void (*free_user)(void *));
/* The flow of pkt (created when new; NULL when the table is full) and the
 * direction of pkt in it (0 = A to B). */
struct capture_flow *capture_table_find(struct capture_table *t, const struct capture_pkt *pkt,
					int *dir);
size_t capture_table_count(const struct capture_table *t);
struct capture_flow *capture_table_at(struct capture_table *t, size_t i);

/* "UDP 198.51.100.2:40000 <-> 198.51.100.1:51820" into buf. */
void capture_flow_name(const struct capture_flow *f, char *buf, size_t len);

/* Iterates a pcap file: calls fn for every decodable packet, in order.
 * Returns the number of frames that could not be decoded, or -1 (with a
 * message on stderr) when the file cannot be read. */
typedef void (*capture_fn)(const struct capture_pkt *pkt, void *ctx);
long capture_read_file(const char *path, capture_fn fn, void *ctx);

#endif
