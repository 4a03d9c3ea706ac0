/* The client daemon: one thread, one event loop over a UDP socket, the
 * TUN device and a signalfd; the connection logic is the pure state
 * machine of client_sm.h, this is its shell (sockets, TUN, routes, DNS).
 *
 * The TUN device, its addresses, routes and DNS are set up after the
 * first completed handshake and stay through reconnects, so a full
 * tunnel never leaks traffic around the tunnel while it reconnects (the
 * packets are dropped instead); they are removed on SIGTERM/SIGINT.
 *
 * Stable log lines (tests wait for them):
 *   lostlove-client: connected: <addr4>/<prefix>
 *   lostlove-client: reconnecting in <n> ms: <reason> */
#ifndef LL_CLIENT_CLIENT_H
#define LL_CLIENT_CLIENT_H

#include "config/config.h"

/* Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean
 * stop, 1 on a fatal error, logged). */
int client_run(const struct client_config *cfg);

#endif
