/* The worker's send path from the TUN queue; see worker.h. */
#ifndef LL_DATAPLANE_TX_H
#define LL_DATAPLANE_TX_H

struct worker;

/* Reads a bounded number of packets from the worker's TUN queue and
 * queues them sealed in the send batch. */
void tx_tun_ready(struct worker *w);

#endif
