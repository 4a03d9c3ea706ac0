/* TUN devices: IP packets without any header (IFF_TUN | IFF_NO_PI), one
 * file descriptor per queue. With multi_queue the device is created with
 * IFF_MULTI_QUEUE and every tun_open of the same name attaches one more
 * queue; the kernel spreads flows over the queues, so each data-plane
 * worker reads and writes its own.
 *
 * The device lives as long as one of its queues is open (it is not
 * persistent): closing the last fd removes it, with its addresses and
 * routes. */
#ifndef LL_IO_TUN_H
#define LL_IO_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tun_open flags. TUN_EXCLUSIVE creates the device and fails with
 * -EBUSY when one of that name exists already (IFF_TUN_EXCL): a daemon
 * opens its first queue so, and a second instance configured with the
 * same name is refused instead of sharing the device. */
enum tun_flags {
	TUN_MULTI_QUEUE = 1 << 0, /* IFF_MULTI_QUEUE */
	TUN_EXCLUSIVE = 1 << 1,	  /* a new device, or -EBUSY */
	TUN_VNET_HDR = 1 << 2,	  /* IFF_VNET_HDR: a virtio-net header before every packet */
};

/* Opens (creating if needed) a queue of the device name ("" = let the
 * kernel pick "tunN"); flags are enum tun_flags. The fd is non-blocking
 * and close-on-exec. The device's actual name goes to ret_name. */
int tun_open(const char *name, unsigned flags, char ret_name[static IFNAMSIZ], int *ret_fd);

/* The TUN device's txqueuelen: each queue's ring of packets the host
 * routed into the device and the daemon has not read yet. A full ring
 * drops (tx_dropped). The kernel's default, 500, is 0.7 MB of 1420-byte
 * packets: less than one TCP flow's receive window (net.ipv4.tcp_rmem's
 * 6 MB), so a single bulk flow through the tunnel overflowed it about
 * 500 times a second, each a retransmit (docs/performance.md, "Loss inside
 * the tunnel and the fair queue"). 8192 holds 11 MB: TCP's window, not the
 * ring, bounds what waits. Memory is spent only while packets wait. */
#define TUN_TXQUEUELEN 8192

/* TUN offloads (dataplane/offload.h does the packets). With TUN_VNET_HDR
 * every read and write starts with a struct virtio_net_hdr; the flag is
 * the device's, so every queue of it must be opened with it. */
enum tun_offload {
	TUN_OFFLOAD_CSUM = 1 << 0, /* TUN_F_CSUM: we complete partial checksums */
	TUN_OFFLOAD_TSO4 = 1 << 1, /* TUN_F_TSO4: TCP/IPv4 super-packets */
	TUN_OFFLOAD_TSO6 = 1 << 2, /* TUN_F_TSO6 */
	TUN_OFFLOAD_USO4 = 1 << 3, /* TUN_F_USO4 (Linux 6.2): UDP super-packets */
	TUN_OFFLOAD_USO6 = 1 << 4, /* TUN_F_USO6 */
};

/* Asks the device of fd (opened with TUN_VNET_HDR) for checksum, TSO and
 * USO offloads, then without USO (older kernels refuse the unknown bits).
 * Returns the enum tun_offload set taken, or -errno when both are
 * refused (then the caller opens the device without the header). */
int tun_set_offload(int fd);
/* "csum tso4 tso6 uso4 uso6", the set's names. */
void tun_offload_str(unsigned set, char *buf, size_t len);

struct tun_config {
	uint32_t mtu;
	bool has_addr4, has_addr6;
	uint8_t addr4[4], prefix4;
	uint8_t addr6[16], prefix6;
};

/* Sets the MTU, the txqueuelen (TUN_TXQUEUELEN) and the addresses, then
 * brings the link up. */
int tun_configure(const char *name, const struct tun_config *c);
/* Removes the addresses of c (the link stays). */
int tun_unconfigure(const char *name, const struct tun_config *c);

#endif
