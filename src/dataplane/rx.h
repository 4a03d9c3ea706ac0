/* The worker's receive path from UDP; see worker.h. */
#ifndef LL_DATAPLANE_RX_H
#define LL_DATAPLANE_RX_H

struct worker;

/* Drains the worker's UDP socket, a bounded number of batches at a time
 * (the loop calls again while input is left). */
void rx_udp_ready(struct worker *w);
/* Drains the worker's stream inbox (dataplane/stream.h): transport packets
 * that came by a WebSocket path, opened by the same path as UDP ones,
 * with the stream's endpoint as their source. */
void rx_stream_ready(struct worker *w);

#endif
