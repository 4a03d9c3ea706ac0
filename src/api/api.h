/* The admin API (docs/api.md): users, their client configs, sessions,
 * statistics, reload, health, the audit log and tokens, as REST + JSON
 * over a Unix socket (whoever may open it is an administrator: its file
 * mode and group decide) and optionally over TCP with JWT bearer tokens
 * (src/api/jwt.h; role admin or read-only, which may only GET).
 *
 * Threads. Each listener is an httpd (src/api/httpd.h) with its own
 * thread; handlers run there. They use the store through the API's own
 * connection (one mutex: the two listeners share it), and ask the control
 * thread for what only it may touch (sessions, the handshake's user table)
 * through the command channel (server/cmdq.h), waiting at most
 * API_CMD_TIMEOUT_MS (503 beyond). A change to the users is written to the
 * store, then the control thread reloads its table from the store, so a
 * new user can connect as soon as the answer arrives and a removed or
 * disabled one is cut off at once.
 *
 * Every change is appended to the store's audit log: who (over the Unix
 * socket the caller's uid from SO_PEERCRED, over TCP the token's sub),
 * what, when.
 *
 * Lifecycle, driven by the server (server/server.h, struct server_addon):
 * api_open as root before the sandbox (the socket may live in /run, the
 * group change needs root), api_start after it, api_stop first at
 * shutdown. */
#ifndef LL_API_API_H
#define LL_API_API_H

#include "server/server.h"

#define API_CMD_TIMEOUT_MS 5000

/* The server addon that runs the admin API when [api] socket or listen is
 * set (a no-op otherwise). */
extern const struct server_addon api_addon;

#endif
