/* Session timers of the server, run by the control thread once per tick
 * (TIMERS_TICK_MS), in the manner of WireGuard's timers.c but polled
 * rather than armed per packet, so the data plane never touches a timer:
 *
 *   confirmation   pending sessions take over (registry_promote)
 *   leaving        the client sent DISCONNECT: end the session
 *   idle           nothing received for connection_timeout: end it
 *   expiry         keys older than Reject-After-Time: end it (the client
 *                  rekeys by time well before, see docs/protocol.md §7)
 *   keepalive      confirmed and nothing sent for keepalive seconds:
 *                  send an empty packet */
#ifndef LL_SERVER_TIMERS_H
#define LL_SERVER_TIMERS_H

#define TIMERS_TICK_MS 500

struct server;

void timers_tick(struct server *srv);

#endif
