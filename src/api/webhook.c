/* Webhook delivery; the model is in webhook.h. */
#include "api/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "crypto/ct.h"
#include "crypto/rng.h"

#define DRAIN_BATCH  64
#define EXPIRE_BATCH 64
#define IDLE_POLL_MS 1000 /* a look at the outbox's due events at least this often */
#define BUSY_POLL_MS 100
#define USER_AGENT   "lostlove-webhook/1"

struct webhook {
	char url[WEBHOOK_URL_MAX];
	char node[WEBHOOK_NODE_MAX + 1];
	char ca_file[4096];
	uint8_t secret[WEBHOOK_SECRET_MAX];
	size_t secret_len;
	uint32_t events, timeout_s, max_queue, max_age_s;
	bool tls_verify;
	struct webhook_outbox *outbox;

	/* the producer queue: a ring under a mutex held for one copy */
	pthread_mutex_t lock;
	struct webhook_event *ring;
	size_t head, count;
	int wake_fd, stop_fd;
	bool stopping; /* under lock */

	pthread_t thread;
	bool started;
	CURLM *multi;
	CURL *easy;
	bool curl_global;
	/* the attempt in flight */
	bool busy;
	struct webhook_outbox_event cur;
	struct curl_slist *hdrs;
	char curl_err[CURL_ERROR_SIZE];

	uint64_t emitted, delivered, failed, pending;
	uint64_t dropped[WEBHOOK_DROP_COUNT];
};

static const char *const drop_names[WEBHOOK_DROP_COUNT] = {
    [WEBHOOK_DROP_QUEUE_FULL] = "queue_full",
    [WEBHOOK_DROP_OUTBOX_FULL] = "outbox_full",
    [WEBHOOK_DROP_EXPIRED] = "expired",
    [WEBHOOK_DROP_ERROR] = "error",
};

const char *webhook_drop_name(enum webhook_drop d)
{
	return (unsigned)d < WEBHOOK_DROP_COUNT ? drop_names[d] : "?";
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

static uint32_t random32(void)
{
	uint8_t b[4] = {0};

	(void)rng_fill(&rng_system, b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* ---- setup ---- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n; /* the answer's body means nothing to us */
}

/* What every attempt shares: set once on the one easy handle, which
 * keeps its connection to the receiver between attempts. */
static int setup_easy(struct webhook *w)
{
	CURL *e = w->easy;
	long total = (long)w->timeout_s * 1000, conn = total / 2 > 0 ? total / 2 : 1;
	CURLcode c = CURLE_OK;

#define OPT(o, v)                                                                                  \
	if (c == CURLE_OK)                                                                         \
	c = curl_easy_setopt(e, o, v)
	OPT(CURLOPT_URL, w->url);
	OPT(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
	OPT(CURLOPT_FOLLOWLOCATION, 0L);
	OPT(CURLOPT_PROTOCOLS_STR, "http,https");
	OPT(CURLOPT_TIMEOUT_MS, total);
	OPT(CURLOPT_CONNECTTIMEOUT_MS, conn);
	OPT(CURLOPT_SSL_VERIFYPEER, w->tls_verify ? 1L : 0L);
	OPT(CURLOPT_SSL_VERIFYHOST, w->tls_verify ? 2L : 0L);
	OPT(CURLOPT_USERAGENT, USER_AGENT);
	OPT(CURLOPT_WRITEFUNCTION, discard);
	OPT(CURLOPT_ERRORBUFFER, w->curl_err);
	OPT(CURLOPT_POST, 1L);
	if (w->ca_file[0])
		OPT(CURLOPT_CAINFO, w->ca_file);
#undef OPT
	return c == CURLE_OK ? 0 : -EINVAL;
}

static int copy_config(struct webhook *w, const struct webhook_config *cfg, char *err,
		       size_t err_len)
{
	if (!cfg->url || snprintf(w->url, sizeof(w->url), "%s", cfg->url) >= (int)sizeof(w->url) ||
	    (strncmp(w->url, "http://", 7) && strncmp(w->url, "https://", 8))) {
		snprintf(err, err_len, "the URL must be http:// or https://, at most %d bytes",
			 WEBHOOK_URL_MAX - 1);
		return -EINVAL;
	}
	if (cfg->secret_len < 16 || cfg->secret_len > sizeof(w->secret)) {
		snprintf(err, err_len, "the secret must be 16 to %d bytes", WEBHOOK_SECRET_MAX);
		return -EINVAL;
	}
	if (!cfg->max_queue || !cfg->timeout_s) {
		snprintf(err, err_len, "max_queue and timeout must be at least 1");
		return -EINVAL;
	}
	memcpy(w->secret, cfg->secret, cfg->secret_len);
	w->secret_len = cfg->secret_len;
	snprintf(w->node, sizeof(w->node), "%s", cfg->node ? cfg->node : "");
	snprintf(w->ca_file, sizeof(w->ca_file), "%s", cfg->ca_file ? cfg->ca_file : "");
	w->events = cfg->events;
	w->timeout_s = cfg->timeout_s;
	w->max_queue = cfg->max_queue;
	w->max_age_s = cfg->max_age_s;
	w->tls_verify = cfg->tls_verify;
	return 0;
}

/* libcurl's global state and the multi handle (its wake-up socket pair)
 * are made here, while the process is single-threaded and unsandboxed. */
static int setup_curl(struct webhook *w, char *err, size_t err_len)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, err_len, "libcurl failed to initialise");
		return -EIO;
	}
	w->curl_global = true;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (!w->multi || !w->easy || setup_easy(w) < 0) {
		snprintf(err, err_len, "libcurl: cannot set up a transfer");
		return -EIO;
	}
	return 0;
}

struct webhook *webhook_new(const struct webhook_config *cfg, char *err, size_t err_len)
{
	struct webhook *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	w->wake_fd = w->stop_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	if (copy_config(w, cfg, err, err_len) < 0)
		goto fail;
	w->ring = calloc(w->max_queue, sizeof(*w->ring));
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->ring || w->wake_fd < 0 || w->stop_fd < 0) {
		snprintf(err, err_len, "cannot allocate the queue: %s", strerror(errno));
		goto fail;
	}
	if (setup_curl(w, err, err_len) < 0)
		goto fail;
	return w;
fail:
	webhook_free(w);
	return NULL;
}

/* ---- the producer side ---- */

bool webhook_wants(const struct webhook *w, enum webhook_type t)
{
	return w && (unsigned)t < WEBHOOK_TYPE_COUNT && (w->events & (1u << t));
}

bool webhook_emit(struct webhook *w, const struct webhook_event *e)
{
	uint64_t one = 1;
	size_t was;

	if (!webhook_wants(w, (enum webhook_type)e->type))
		return false;
	pthread_mutex_lock(&w->lock);
	was = w->count;
	if (was == w->max_queue || w->stopping) {
		pthread_mutex_unlock(&w->lock);
		count(&w->dropped[WEBHOOK_DROP_QUEUE_FULL], 1);
		return false;
	}
	w->ring[(w->head + was) % w->max_queue] = *e;
	w->count = was + 1;
	pthread_mutex_unlock(&w->lock);
	count(&w->emitted, 1);
	if (was == 0)
		(void)!write(w->wake_fd, &one, sizeof(one));
	return true;
}

static size_t pop(struct webhook *w, struct webhook_event *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->count < max ? w->count : max;
	for (size_t i = 0; i < n; i++)
		out[i] = w->ring[(w->head + i) % w->max_queue];
	w->head = (w->head + n) % w->max_queue;
	w->count -= n;
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* ---- the webhook thread ---- */

static void update_pending(struct webhook *w)
{
	int64_t n = 0;

	if (webhook_outbox_count(w->outbox, &n) == 0)
		__atomic_store_n(&w->pending, (uint64_t)n, __ATOMIC_RELAXED);
}

/* One queued event into the outbox: its id and body are made here. */
static void store_event(struct webhook *w, const struct webhook_event *e, int64_t now)
{
	char id[WEBHOOK_ID_LEN + 1], *body = NULL;
	uint8_t rnd[16];
	size_t len = 0;
	int r = rng_fill(&rng_system, rnd, sizeof(rnd));

	if (r == 0) {
		webhook_event_id(id, rnd);
		r = webhook_event_json(e, id, w->node, &body, &len);
	}
	if (r == 0)
		r = webhook_outbox_enqueue(w->outbox, webhook_type_name((enum webhook_type)e->type),
					   body, len, now, w->max_queue, NULL);
	free(body);
	if (r == -ENOSPC)
		count(&w->dropped[WEBHOOK_DROP_OUTBOX_FULL], 1);
	else if (r < 0)
		count(&w->dropped[WEBHOOK_DROP_ERROR], 1);
}

/* Everything queued into the outbox, made durable once per batch. */
static void drain(struct webhook *w)
{
	struct webhook_event batch[DRAIN_BATCH];
	size_t n, total = 0;

	while ((n = pop(w, batch, DRAIN_BATCH)) > 0) {
		int64_t now = wall_now();
		for (size_t i = 0; i < n; i++)
			store_event(w, &batch[i], now);
		total += n;
	}
	if (total) {
		(void)webhook_outbox_sync(w->outbox);
		update_pending(w);
	}
}

static void clear_attempt(struct webhook *w)
{
	curl_slist_free_all(w->hdrs);
	w->hdrs = NULL;
	webhook_outbox_events_free(&w->cur, 1);
	w->busy = false;
}

static struct curl_slist *headers(const struct webhook *w, const char *sig)
{
	char line[WEBHOOK_SIG_MAX + 64];
	struct curl_slist *h = NULL, *t;

	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof(line), "X-LostLove-Event: %s", w->cur.type);
	if (h && (t = curl_slist_append(h, line)))
		h = t;
	snprintf(line, sizeof(line), "X-LostLove-Signature: %s", sig);
	if (h && (t = curl_slist_append(h, line)))
		h = t;
	/* no "Expect: 100-continue" round trip for bodies over 1 KiB */
	if (h && (t = curl_slist_append(h, "Expect:")))
		h = t;
	return h;
}

/* The oldest due event, POSTed: signed now, so each attempt carries a
 * fresh timestamp. Events past max_age are dropped on the way. */
static void start_next(struct webhook *w)
{
	char sig[WEBHOOK_SIG_MAX];
	int64_t now = wall_now();
	size_t n = 0;

	for (int i = 0; i < EXPIRE_BATCH; i++) {
		if (webhook_outbox_peek(w->outbox, now, 1, &w->cur, &n) < 0 || n == 0)
			return;
		if (!w->max_age_s || now - w->cur.created_at < (int64_t)w->max_age_s)
			break;
		(void)webhook_outbox_ack(w->outbox, w->cur.id);
		count(&w->dropped[WEBHOOK_DROP_EXPIRED], 1);
		webhook_outbox_events_free(&w->cur, 1);
		update_pending(w);
		n = 0;
	}
	if (n == 0)
		return;
	w->busy = true;
	if (webhook_sign(sig, w->secret, w->secret_len, now, w->cur.body, w->cur.body_len) < 0 ||
	    !(w->hdrs = headers(w, sig)) ||
	    curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->hdrs) != CURLE_OK ||
	    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE, (long)w->cur.body_len) != CURLE_OK ||
	    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->cur.body) != CURLE_OK ||
	    curl_multi_add_handle(w->multi, w->easy) != CURLM_OK) {
		/* cannot even try: as a failed attempt, so it is not spun on */
		(void)webhook_outbox_failed(
		    w->outbox, w->cur.id,
		    now + webhook_backoff((unsigned)w->cur.attempts + 1, random32()));
		count(&w->failed, 1);
		clear_attempt(w);
	}
}

/* The attempt in flight finished: acknowledged, or due again later. */
static void finish(struct webhook *w, CURLcode res)
{
	long status = 0;
	int64_t now = wall_now();

	if (res == CURLE_OK)
		(void)curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(w->multi, w->easy);
	if (res == CURLE_OK && webhook_status_ok(status)) {
		(void)webhook_outbox_ack(w->outbox, w->cur.id);
		count(&w->delivered, 1);
	} else {
		(void)webhook_outbox_failed(
		    w->outbox, w->cur.id,
		    now + webhook_backoff((unsigned)w->cur.attempts + 1, random32()));
		count(&w->failed, 1);
	}
	(void)webhook_outbox_sync(w->outbox);
	update_pending(w);
	clear_attempt(w);
}

static void collect(struct webhook *w)
{
	CURLMsg *m;
	int left, running;

	(void)curl_multi_perform(w->multi, &running);
	while ((m = curl_multi_info_read(w->multi, &left)))
		if (m->msg == CURLMSG_DONE && w->busy)
			finish(w, m->data.result);
}

static bool stop_requested(struct webhook *w)
{
	bool s;

	pthread_mutex_lock(&w->lock);
	s = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return s;
}

static void wait_turn(struct webhook *w)
{
	struct curl_waitfd fds[2] = {{w->wake_fd, CURL_WAIT_POLLIN, 0},
				     {w->stop_fd, CURL_WAIT_POLLIN, 0}};
	uint64_t v;

	(void)curl_multi_poll(w->multi, fds, 2, w->busy ? BUSY_POLL_MS : IDLE_POLL_MS, NULL);
	(void)!read(w->wake_fd, &v, sizeof(v));
}

static void *run(void *arg)
{
	struct webhook *w = arg;

	update_pending(w);
	while (!stop_requested(w)) {
		drain(w);
		if (!w->busy)
			start_next(w);
		collect(w);
		if (!w->busy)
			start_next(w); /* the next one at once after a delivery */
		wait_turn(w);
	}
	if (w->busy) {
		/* abandoned: it stays due and goes first at the next start */
		curl_multi_remove_handle(w->multi, w->easy);
		clear_attempt(w);
	}
	drain(w);
	return NULL;
}

int webhook_start(struct webhook *w, struct webhook_outbox *outbox)
{
	int r;

	webhook_outbox_close(w->outbox);
	w->outbox = outbox;
	if (!outbox)
		return -EINVAL;
	r = pthread_create(&w->thread, NULL, run, w);

	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

void webhook_stop(struct webhook *w)
{
	uint64_t one = 1;

	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_mutex_unlock(&w->lock);
	(void)!write(w->stop_fd, &one, sizeof(one));
	pthread_join(w->thread, NULL);
	w->started = false;
}

void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	webhook_stop(w);
	if (w->busy)
		clear_attempt(w);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->curl_global)
		curl_global_cleanup();
	webhook_outbox_close(w->outbox);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	pthread_mutex_destroy(&w->lock);
	free(w->ring);
	ct_wipe(w->secret, sizeof(w->secret));
	free(w);
}

void webhook_stats(const struct webhook *w, struct webhook_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!w)
		return;
	ret->emitted = __atomic_load_n(&w->emitted, __ATOMIC_RELAXED);
	ret->delivered = __atomic_load_n(&w->delivered, __ATOMIC_RELAXED);
	ret->failed = __atomic_load_n(&w->failed, __ATOMIC_RELAXED);
	ret->pending = __atomic_load_n(&w->pending, __ATOMIC_RELAXED);
	for (int i = 0; i < WEBHOOK_DROP_COUNT; i++)
		ret->dropped[i] = __atomic_load_n(&w->dropped[i], __ATOMIC_RELAXED);
}
