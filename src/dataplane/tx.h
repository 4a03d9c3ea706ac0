/* The worker's send path from the TUN queue; see worker.h. */
#ifndef LL_DATAPLANE_TX_H
#define LL_DATAPLANE_TX_H

struct worker;

/* Reads a bounded number of packets from the worker's TUN queue and
 * queues them sealed in the send batch. */
void tx_tun_ready(struct worker *w);
/* With the fair queue on: seals and queues up to a turn's share of the
 * packets waiting in it (the loop's flush hook, before the send), and
 * keeps the loop turning while packets wait. Nothing otherwise. */
void tx_fq_serve(struct worker *w);

#endif
