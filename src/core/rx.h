/* The worker's receive path from UDP; see worker.h. */
#ifndef LL_CORE_RX_H
#define LL_CORE_RX_H

struct worker;

/* Drains the worker's UDP socket, a bounded number of batches at a time
 * (the loop calls again while input is left). */
void rx_udp_ready(struct worker *w);

#endif
