/* The client's connection state machine; the model is in client_sm.h. */
#include "client/client_sm.h"

#include <string.h>

#include "protocol/messages.h"

#define MS	   UINT64_C(1000000)
#define S	   LL_NS_PER_S
#define TIMEOUT_NS ((uint64_t)LL_REKEY_TIMEOUT * S)

void client_sm_init(struct client_sm *sm, uint16_t keepalive_override_s)
{
	memset(sm, 0, sizeof(*sm));
	sm->keepalive_override_s = keepalive_override_s;
	sm->next_backoff_ms = CLIENT_SM_BACKOFF_MIN_MS;
}

static unsigned send_init(struct client_sm *sm, uint64_t now_ns)
{
	sm->init_sent_ns = now_ns;
	return CLIENT_ACT_SEND_INIT;
}

unsigned client_sm_start(struct client_sm *sm, uint64_t now_ns)
{
	sm->state = CLIENT_CONNECTING;
	sm->attempts = 1;
	sm->rekeying = false;
	return send_init(sm, now_ns);
}

void client_sm_init_sent(struct client_sm *sm, uint64_t now_ns)
{
	sm->init_sent_ns = now_ns;
	sm->last_tx_ns = now_ns;
}

void client_sm_set_timers(struct client_sm *sm, uint16_t keepalive_s, uint32_t rekey_s)
{
	uint16_t ka = sm->keepalive_override_s ? sm->keepalive_override_s : keepalive_s;
	uint64_t probe = (uint64_t)(ka ? ka : CLIENT_SM_DEFAULT_KEEPALIVE) * S;

	sm->keepalive_ns = (uint64_t)ka * S;
	sm->dead_ns = 3 * probe + 5 * S;
	sm->stale_ns = probe + TIMEOUT_NS;
	sm->rekey_ns = (uint64_t)(rekey_s ? rekey_s : LL_REKEY_AFTER_TIME) * S;
}

void client_sm_established(struct client_sm *sm, uint64_t now_ns, uint16_t keepalive_s,
			   uint32_t rekey_s)
{
	sm->state = CLIENT_CONNECTED;
	client_sm_set_timers(sm, keepalive_s, rekey_s);
	sm->established_ns = now_ns;
	sm->last_rx_ns = now_ns;
	sm->rekeying = false;
	sm->socket_renewed = false;
	sm->attempts = 0;
	sm->next_backoff_ms = CLIENT_SM_BACKOFF_MIN_MS;
}

void client_sm_received(struct client_sm *sm, uint64_t now_ns)
{
	sm->last_rx_ns = now_ns;
	sm->socket_renewed = false;
}

void client_sm_sent(struct client_sm *sm, uint64_t now_ns)
{
	sm->last_tx_ns = now_ns;
}

unsigned client_sm_want_rekey(struct client_sm *sm, uint64_t now_ns)
{
	if (sm->state != CLIENT_CONNECTED || sm->rekeying)
		return 0;
	sm->rekeying = true;
	return send_init(sm, now_ns);
}

/* delay * (0.8 .. 1.2), from 32 random bits */
static uint32_t jitter(uint32_t delay_ms, uint32_t random)
{
	uint64_t span = (uint64_t)delay_ms * 2 / 5;

	return (uint32_t)(delay_ms - span / 2 + (span * random >> 32));
}

unsigned client_sm_fail(struct client_sm *sm, uint64_t now_ns, const char *reason, uint32_t random)
{
	sm->state = CLIENT_BACKOFF;
	sm->reason = reason;
	sm->delay_ms = jitter(sm->next_backoff_ms, random);
	sm->retry_at_ns = now_ns + sm->delay_ms * MS;
	sm->next_backoff_ms = sm->next_backoff_ms >= CLIENT_SM_BACKOFF_MAX_MS / 2
				  ? CLIENT_SM_BACKOFF_MAX_MS
				  : sm->next_backoff_ms * 2;
	sm->rekeying = false;
	return CLIENT_ACT_BACKOFF;
}

static unsigned tick_connecting(struct client_sm *sm, uint64_t now_ns, uint32_t random)
{
	if (now_ns - sm->init_sent_ns < TIMEOUT_NS)
		return 0;
	if (sm->attempts >= CLIENT_SM_ATTEMPTS)
		return client_sm_fail(sm, now_ns, "no answer from the server", random);
	sm->attempts++;
	return send_init(sm, now_ns);
}

static unsigned tick_connected(struct client_sm *sm, uint64_t now_ns, uint32_t random)
{
	uint64_t quiet = now_ns - sm->last_rx_ns;
	unsigned act = 0;

	if (quiet >= sm->dead_ns)
		return client_sm_fail(sm, now_ns, "the server stopped answering", random);
	if (quiet >= sm->stale_ns && !sm->socket_renewed) {
		sm->socket_renewed = true;
		act |= CLIENT_ACT_NEW_SOCKET | client_sm_want_rekey(sm, now_ns);
	}
	if (!sm->rekeying && now_ns - sm->established_ns >= sm->rekey_ns)
		act |= client_sm_want_rekey(sm, now_ns);
	else if (sm->rekeying && now_ns - sm->init_sent_ns >= TIMEOUT_NS)
		act |= send_init(sm, now_ns);
	if (sm->keepalive_ns && now_ns - sm->last_tx_ns >= sm->keepalive_ns)
		act |= CLIENT_ACT_KEEPALIVE;
	return act;
}

unsigned client_sm_tick(struct client_sm *sm, uint64_t now_ns, uint32_t random)
{
	switch (sm->state) {
	case CLIENT_CONNECTING:
		return tick_connecting(sm, now_ns, random);
	case CLIENT_CONNECTED:
		return tick_connected(sm, now_ns, random);
	case CLIENT_BACKOFF:
		return now_ns >= sm->retry_at_ns ? client_sm_start(sm, now_ns) : 0;
	default:
		return 0;
	}
}
