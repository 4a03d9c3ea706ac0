/* The control thread's side of the command channel (server/cmdq.h): runs
 * the commands another thread (the admin API) posted, against the
 * server's sessions, user table and counters, and writes each answer as
 * a plain struct the caller formats (JSON, tables) on its own thread.
 * Everything here runs on the control thread. */
#ifndef LL_SERVER_SRVCMD_H
#define LL_SERVER_SRVCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/cmdq.h"
#include "io/udp.h"

struct server;

/* One live session, as the admin sees it. */
struct srvcmd_session {
	uint64_t id; /* stable across the user's rekeys; what a kick names */
	uint32_t index;
	char user[64];
	char device[64];		     /* "" for the user's own key */
	char endpoint[UDP_ENDPOINT_STR_MAX]; /* where the client is, "tcp:..." for streams */
	char addr4[16], addr6[40];	     /* its tunnel addresses ("" if none) */
	bool confirmed, stream;
	uint64_t rx_bytes, tx_bytes; /* this session's, since its handshake */
	uint64_t started_unix;	     /* seconds since the epoch */
	uint64_t idle_ms;	     /* since the last packet from the client */
};

struct srvcmd_sessions {
	size_t n;
	struct srvcmd_session v[];
};

struct srvcmd_stats {
	uint64_t uptime_s;
	uint64_t users;	    /* enabled users in the handshake table */
	uint64_t connected; /* keys (users' own and devices') with a session */
	uint64_t sessions;  /* sessions in the tables (pending and draining too) */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t handshakes_ok, handshakes_failed, handshakes_refused_full;
	uint64_t drops;			    /* every reason */
	uint64_t cmd_timeouts, cmd_refused; /* answers the channel's callers gave up on */
};

/* Runs every command waiting in srv's channel. */
void srvcmd_run(struct server *srv);

#endif
