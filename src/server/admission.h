/* Handshake admission on the control thread: the second half of the
 * server's handshake pipeline (docs/protocol.md §8). Workers check mac1,
 * answer cookies under load and apply the per-IP limit, then queue the
 * message (struct hs_item); admission runs handshake_consume_init and
 * handshake_create_response in batches, creates the sessions, persists
 * the accepted timestamps once per batch (group commit) and only then
 * sends the responses. */
#ifndef LL_SERVER_ADMISSION_H
#define LL_SERVER_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/hsq.h"

struct server;

/* Takes the waiting handshakes off the queue, at most one batch; returns
 * how many it took (the caller comes back while the queue is not empty). */
unsigned admission_run(struct server *srv);
/* Logs how many fail2ban lines the rate limit cut, at most every 10 s
 * (called from the control thread's timer). */
void admission_report_suppressed(struct server *srv, uint64_t now_ns);

#endif
