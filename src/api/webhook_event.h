/* Webhook events: what they say, how they are written and signed, and when
 * a failed delivery is tried again (docs/webhooks.md).
 *
 * Pure: no I/O, no clock, no randomness of its own. The time of an event,
 * the time of a signature and the random bits of an id or a jitter come in
 * as arguments, so the unit tests pin every byte.
 *
 * struct webhook_event is what the control thread hands to the webhook
 * thread: fixed size, no pointers, copied into a bounded queue. The JSON
 * body is written on the webhook thread, never on the control thread. */
#ifndef LL_API_WEBHOOK_EVENT_H
#define LL_API_WEBHOOK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum webhook_type {
	WEBHOOK_USER_CONNECTED,
	WEBHOOK_USER_DISCONNECTED,
	WEBHOOK_USER_QUOTA_EXCEEDED,
	WEBHOOK_USER_EXPIRED,
	WEBHOOK_AUTH_FAILURE,
	WEBHOOK_TEST,
	WEBHOOK_TYPE_COUNT,
};

/* Every type: the events filter's default. */
#define WEBHOOK_ALL_EVENTS ((1u << WEBHOOK_TYPE_COUNT) - 1)

/* "user.connected", ... ; NULL for a value out of range. */
const char *webhook_type_name(enum webhook_type t);
/* The type of a name, or -1. */
int webhook_type_parse(const char *name);

#define WEBHOOK_USER_MAX   64 /* a user name (config and store bound) */
#define WEBHOOK_ADDR_MAX   46 /* INET6_ADDRSTRLEN */
#define WEBHOOK_REASON_MAX 40

/* One event, as the control thread sees it. Fields a type does not use
 * stay zero (docs/webhooks.md lists which each type carries). */
struct webhook_event {
	uint8_t type;  /* enum webhook_type */
	int64_t time;  /* unix seconds, when it happened */
	uint16_t port; /* with addr: the client's or the failed sender's port */
	char user[WEBHOOK_USER_MAX + 1];
	char addr[WEBHOOK_ADDR_MAX]; /* numeric IPv4/IPv6 address, "" if none */
	char reason[WEBHOOK_REASON_MAX];
	int64_t used, limit; /* quota_exceeded: bytes; expired: limit = expires_at */
};

/* "evt_" and 32 hex digits of 16 random bytes. */
#define WEBHOOK_ID_LEN 36
void webhook_event_id(char out[static WEBHOOK_ID_LEN + 1], const uint8_t random[static 16]);

/* The JSON body: {"id","type","time","node","data":{...}}, compact, UTF-8,
 * every string escaped by jansson (a user name or a node name can hold
 * quotes; an invalid UTF-8 byte becomes U+FFFD rather than failing).
 * *ret is malloc'd, NUL-terminated, its length in *ret_len. Returns 0,
 * -EINVAL for an unknown type, -ENOMEM. */
int webhook_event_json(const struct webhook_event *e, const char *id, const char *node, char **ret,
		       size_t *ret_len);

/* The signature header's value: "t=<unix>,v1=<64 hex digits>", the HMAC-
 * SHA256 under secret of "<unix>.<body>" (Stripe's scheme: the timestamp
 * inside the MAC lets a receiver refuse a replay of an old delivery).
 * out needs WEBHOOK_SIG_MAX bytes. Returns 0 or a negative errno. */
#define WEBHOOK_SIG_MAX (2 + 20 + 4 + 64 + 1)
int webhook_sign(char out[static WEBHOOK_SIG_MAX], const uint8_t *secret, size_t secret_len,
		 int64_t t, const char *body, size_t body_len);
/* The receiver's check, for tests and tools: the header parses, its t is
 * within tolerance_s of now, and some v1 matches. */
bool webhook_verify(const char *header, const uint8_t *secret, size_t secret_len, int64_t now,
		    int64_t tolerance_s, const char *body, size_t body_len);

/* When to try again after the attempt-th failed delivery (attempt >= 1):
 * an exponential backoff from WEBHOOK_BACKOFF_BASE_S doubling up to
 * WEBHOOK_BACKOFF_CAP_S, with "equal jitter": a delay d becomes
 * d/2 + (random mod (d/2 + 1)), so receivers that come back after an
 * outage are not hit by every server at once, and a retry never comes
 * sooner than half its step. Seconds, >= 1. */
#define WEBHOOK_BACKOFF_BASE_S 4
#define WEBHOOK_BACKOFF_CAP_S  3600
int64_t webhook_backoff(unsigned attempt, uint32_t random);

/* The disconnect reasons of user.disconnected, from the server's
 * retirement causes: "client" (it said DISCONNECT), "timeout", "rekey"
 * (keys past their age, no new handshake), "removed" (a reload dropped
 * or changed the user), "kicked", "shutdown". */

/* Whether an http(s) URL's host is a name to resolve rather than a
 * numeric IPv4 address or a bracketed IPv6 literal: only then does the
 * server's sandbox allow the resolver (core/sandbox.h). The authority ends
 * at the first '/', '?' or '#', as libcurl reads it; the host follows the
 * last '@' in it (libcurl takes the first and then refuses a host holding
 * another '@': such a URL is never resolved). When in doubt, a name. */
bool webhook_url_names_host(const char *url);

/* A "2xx" status acknowledges a delivery; everything else is retried. */
static inline bool webhook_status_ok(long status)
{
	return status >= 200 && status <= 299;
}

#endif
