/* The client's connection state machine, pure (time and randomness come
 * in as arguments), so tests/unit/test_client_sm.c drives it through
 * every timer without a network:
 *
 *   IDLE --start--> CONNECTING (send message 1)
 *   CONNECTING --no answer for Rekey-Timeout (5 s)--> resend message 1
 *              (fresh ephemerals); after CLIENT_SM_ATTEMPTS unanswered
 *              ones --> BACKOFF
 *   CONNECTING --message 2--> CONNECTED (the shell sends a keepalive at
 *              once: key confirmation)
 *   CONNECTED  --keepalive s without sending--> send a keepalive
 *              --rekey time since the handshake (or the transport asks)
 *                 --> resend message 1 while the old keys keep working
 *              --nothing received for keepalive + Rekey-Timeout (the
 *                 server missed a keepalive)--> new socket (a new local
 *                 address or port; the server roams) and a new
 *                 handshake (a restarted server has lost the session)
 *              --nothing received for 3 x keepalive + 5 s, DISCONNECT,
 *                 or a send error --> BACKOFF
 *   BACKOFF    --delay over--> CONNECTING
 *
 * Backoff delays double from 1 s to 30 s, with +-20 % jitter, and start
 * again at 1 s after a completed handshake. */
#ifndef LL_CLIENT_CLIENT_SM_H
#define LL_CLIENT_CLIENT_SM_H

#include <stdbool.h>
#include <stdint.h>

#define CLIENT_SM_ATTEMPTS	    3
#define CLIENT_SM_BACKOFF_MIN_MS    1000
#define CLIENT_SM_BACKOFF_MAX_MS    30000
#define CLIENT_SM_DEFAULT_KEEPALIVE 25 /* dead-peer detection when keepalive is off */

enum client_state {
	CLIENT_IDLE,
	CLIENT_CONNECTING,
	CLIENT_CONNECTED,
	CLIENT_BACKOFF,
};

/* What the shell must do now; a bit set. */
enum client_action {
	CLIENT_ACT_SEND_INIT = 1 << 0,	/* create and send a new message 1 */
	CLIENT_ACT_KEEPALIVE = 1 << 1,	/* send an empty transport packet */
	CLIENT_ACT_NEW_SOCKET = 1 << 2, /* replace the UDP socket */
	CLIENT_ACT_BACKOFF = 1 << 3,	/* drop the session; see reason, delay_ms */
};

struct client_sm {
	enum client_state state;
	uint64_t keepalive_ns; /* 0 = no keepalives */
	uint64_t dead_ns;      /* nothing received this long: reconnect */
	uint64_t stale_ns;     /* nothing received this long: new socket, handshake */
	uint64_t rekey_ns;
	uint16_t keepalive_override_s; /* from the client config, 0 = server's */
	uint64_t init_sent_ns, established_ns, last_rx_ns, last_tx_ns, retry_at_ns;
	bool rekeying, socket_renewed;
	unsigned attempts;
	uint32_t next_backoff_ms;
	/* the last backoff, for the shell's log line */
	const char *reason;
	uint32_t delay_ms;
};

void client_sm_init(struct client_sm *sm, uint16_t keepalive_override_s);
/* IDLE -> CONNECTING. */
unsigned client_sm_start(struct client_sm *sm, uint64_t now_ns);
/* A message 1 went out. */
void client_sm_init_sent(struct client_sm *sm, uint64_t now_ns);
/* Message 2 accepted: the session's keepalive (0 = off) and rekey time. */
void client_sm_established(struct client_sm *sm, uint64_t now_ns, uint16_t keepalive_s,
			   uint32_t rekey_s);
/* New keepalive / rekey times for the established session (a CONFIG
 * push). */
void client_sm_set_timers(struct client_sm *sm, uint16_t keepalive_s, uint32_t rekey_s);
void client_sm_received(struct client_sm *sm, uint64_t now_ns);
void client_sm_sent(struct client_sm *sm, uint64_t now_ns);
/* The transport wants fresh keys (TRANSPORT_OK_REKEY). */
unsigned client_sm_want_rekey(struct client_sm *sm, uint64_t now_ns);
/* Something broke (reason is a static string): go to BACKOFF. random is
 * any 32-bit random value (jitter). */
unsigned client_sm_fail(struct client_sm *sm, uint64_t now_ns, const char *reason, uint32_t random);
/* The timers; call a few times a second. */
unsigned client_sm_tick(struct client_sm *sm, uint64_t now_ns, uint32_t random);

#endif
