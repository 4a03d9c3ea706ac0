/* The /metrics text (server/metrics.c) from a made-up snapshot: every drop
 * reason and handshake result has its sample, the histogram's buckets are
 * cumulative with +Inf = _count and the sum in seconds, the per-user
 * series and the "(other)" one, the censorship families add up what they
 * say they add up, the front's families appear only with a front, the
 * per-user ledger's cap and "(other)" (sticky series, never lowered), and the
 * text is well formed (each family's HELP and TYPE once, before its
 * samples; no series twice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

static struct metrics_snapshot snap(void)
{
	static const struct metrics_user users[] = {{"alice", 100, 200}, {"bob.b-2", 3, 4}};
	struct metrics_snapshot s = {0};

	s.users = 5;
	s.connected = 2;
	s.sessions = 3;
	for (int r = 0; r < SERVER_HS_RESULTS; r++)
		s.hs_results[r] = 10 + (uint64_t)r;
	for (int d = 0; d < DP_DROP_COUNT; d++)
		s.w.drops[d] = 1000 + (uint64_t)d;
	s.w.rx_packets = 7;
	s.w.rx_bytes = 7000;
	s.w.tx_packets = 8;
	s.w.tx_bytes = 8000;
	s.w.batch_hist[WORKER_BATCH_UDP_RX][0] = 2;
	s.w.batch_hist[WORKER_BATCH_UDP_RX][3] = 5;
	s.w.batch_hist[WORKER_BATCH_UDP_RX][WORKER_BATCH_BUCKETS] = 1;
	s.w.batch_ns[WORKER_BATCH_UDP_RX] = 1500000000; /* 1.5 s */
	for (int u = 0; u < UPGRADE_RESULT_COUNT; u++)
		s.upgrades[u] = 100 + (uint64_t)u;
	for (int c = 0; c < STREAM_C_COUNT; c++)
		s.streams[c] = 200 + (uint64_t)c;
	s.front.to_fallback = 31;
	s.front.to_mimic = 32;
	s.front.active = 4;
	s.acct_expired = 40;
	s.acct_quota = 41;
	s.acct_refused = 42;
	s.has_webhook = true;
	s.webhook.emitted = 50;
	s.webhook.delivered = 51;
	s.webhook.failed = 52;
	s.webhook.pending = 53;
	for (int d = 0; d < WEBHOOK_DROP_COUNT; d++)
		s.webhook.dropped[d] = 60 + (uint64_t)d;
	s.users_v = users;
	s.n_users = 2;
	s.has_other = true;
	s.other_rx = 50;
	s.other_tx = 60;
	return s;
}

/* The value of the sample named exactly series; -1 if absent. */
static long long value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static void expect(const char *text, const char *series, long long want)
{
	long long got = value(text, series);
	if (got != want) {
		print_error("%s: want %lld, got %lld\n", series, want, got);
		fail();
	}
}

/* HELP then TYPE once per family, its samples follow before the next
 * family, and no series appears twice. */
static void well_formed(const char *text)
{
	char fam[128] = "", seen[400][200];
	size_t n_seen = 0;
	char *copy = strdup(text), *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			char name[128];
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			assert_string_not_equal(name, fam);
			strcpy(fam, name);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(strncmp(line + 7, fam, strlen(fam)), 0);
			continue;
		}
		/* a sample of the current family (histograms add a suffix) */
		assert_int_equal(strncmp(line, fam, strlen(fam)), 0);
		char *sp = strrchr(line, ' ');
		assert_non_null(sp);
		*sp = '\0';
		for (size_t i = 0; i < n_seen; i++)
			assert_string_not_equal(seen[i], line);
		assert_true(n_seen < 400);
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", line);
	}
	free(copy);
}

static void test_everything_listed(void **state)
{
	struct metrics_snapshot s = snap();
	char series[160];
	size_t len;
	char *text;

	(void)state;
	s.has_front = s.has_streams = true;
	text = metrics_render(&s, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	well_formed(text);
	for (int d = DP_DROP_NONE + 1; d < DP_DROP_COUNT; d++) {
		snprintf(series, sizeof(series), "lostlove_drops_total{reason=\"%s\"}",
			 dp_drop_name((enum dp_drop)d));
		expect(text, series, 1000 + d);
	}
	assert_null(strstr(text, "reason=\"none\""));
	for (int r = 0; r < SERVER_HS_RESULTS; r++) {
		snprintf(series, sizeof(series), "lostlove_handshakes_total{result=\"%s\"}",
			 handshake_result_name((enum handshake_result)r));
		expect(text, series, 10 + r);
	}
	expect(text, "lostlove_users", 5);
	expect(text, "lostlove_users_connected", 2);
	expect(text, "lostlove_sessions", 3);
	expect(text, "lostlove_bytes_total{direction=\"rx\"}", 7000);
	expect(text, "lostlove_packets_total{direction=\"tx\"}", 8);
	expect(text, "lostlove_front_connections_active", 4);
	expect(text, "lostlove_user_limit_events_total{event=\"quota\"}", 41);
	expect(text, "lostlove_user_limit_events_total{event=\"handshake_refused\"}", 42);
	expect(text, "lostlove_webhook_events_total{outcome=\"delivered\"}", 51);
	expect(text, "lostlove_webhook_attempts_failed_total", 52);
	for (int d = 0; d < WEBHOOK_DROP_COUNT; d++) {
		snprintf(series, sizeof(series), "lostlove_webhook_dropped_total{reason=\"%s\"}",
			 webhook_drop_name((enum webhook_drop)d));
		expect(text, series, 60 + d);
	}
	expect(text, "lostlove_webhook_pending", 53);
	expect(text, "lostlove_front_connections_total{event=\"to_mimic\"}", 32);
	assert_null(strstr(text, "event=\"active\""));
	free(text);
}

static void test_histogram(void **state)
{
	struct metrics_snapshot s = snap();
	size_t len;
	char *text = metrics_render(&s, &len);

	(void)state;
	assert_non_null(text);
	expect(text, "lostlove_batch_duration_seconds_bucket{path=\"udp_rx\",le=\"1e-06\"}", 2);
	expect(text, "lostlove_batch_duration_seconds_bucket{path=\"udp_rx\",le=\"5e-06\"}", 2);
	expect(text, "lostlove_batch_duration_seconds_bucket{path=\"udp_rx\",le=\"1e-05\"}", 7);
	expect(text, "lostlove_batch_duration_seconds_bucket{path=\"udp_rx\",le=\"0.01\"}", 7);
	expect(text, "lostlove_batch_duration_seconds_bucket{path=\"udp_rx\",le=\"+Inf\"}", 8);
	expect(text, "lostlove_batch_duration_seconds_count{path=\"udp_rx\"}", 8);
	assert_non_null(strstr(text, "lostlove_batch_duration_seconds_sum{path=\"udp_rx\"} 1.5\n"));
	expect(text, "lostlove_batch_duration_seconds_count{path=\"tun_tx\"}", 0);
	free(text);
}

static void test_users(void **state)
{
	struct metrics_snapshot s = snap();
	size_t len;
	char *text = metrics_render(&s, &len);

	(void)state;
	expect(text, "lostlove_user_bytes_total{user=\"alice\",direction=\"rx\"}", 100);
	expect(text, "lostlove_user_bytes_total{user=\"alice\",direction=\"tx\"}", 200);
	expect(text, "lostlove_user_bytes_total{user=\"bob.b-2\",direction=\"tx\"}", 4);
	expect(text, "lostlove_user_bytes_total{user=\"(other)\",direction=\"rx\"}", 50);
	free(text);
	s.has_other = false;
	s.n_users = 0;
	text = metrics_render(&s, &len);
	assert_null(strstr(text, "lostlove_user_bytes_total{"));
	assert_non_null(strstr(text, "# TYPE lostlove_user_bytes_total counter\n"));
	free(text);
}

static void test_censorship(void **state)
{
	struct metrics_snapshot s = snap();
	long long hs_bad = 0, up_bad = 0;
	size_t len;
	char *text;

	(void)state;
	s.has_front = s.has_streams = true;
	text = metrics_render(&s, &len);
	for (int r = HS_OK + 1; r < SERVER_HS_RESULTS; r++)
		if (r != HS_E_INTERNAL && r != HS_E_REPLAY)
			hs_bad += 10 + r;
	for (int r = UPGRADE_E_TOKEN; r < UPGRADE_RESULT_COUNT; r++)
		if (r != UPGRADE_E_INTERNAL && r != UPGRADE_E_REPLAY)
			up_bad += 100 + r;
	expect(text, "lostlove_invalid_handshakes_total{stage=\"mac1\"}",
	       1000 + DP_DROP_MAC1 + 200 + STREAM_C_MAC1);
	expect(text, "lostlove_invalid_handshakes_total{stage=\"handshake\"}", hs_bad);
	expect(text, "lostlove_invalid_handshakes_total{stage=\"upgrade\"}", up_bad);
	expect(text, "lostlove_replays_total{kind=\"handshake\"}", 10 + HS_E_REPLAY);
	expect(text, "lostlove_replays_total{kind=\"upgrade\"}", 100 + UPGRADE_E_REPLAY);
	expect(text, "lostlove_replays_total{kind=\"transport\"}", 1000 + DP_DROP_REPLAY);
	expect(text, "lostlove_probes_answered_total{by=\"fallback\"}", 31);
	expect(text, "lostlove_probes_answered_total{by=\"mimic\"}", 32);
	expect(text, "lostlove_stealth_drops_total", 1000 + DP_DROP_STEALTH);
	free(text);
	/* without a front: no front families, the probes at zero */
	s = snap();
	s.front.to_mimic = 0;
	s.front.to_fallback = 0;
	text = metrics_render(&s, &len);
	assert_null(strstr(text, "lostlove_front_connections"));
	assert_null(strstr(text, "lostlove_upgrades_total"));
	free(text);
	s.has_webhook = false;
	text = metrics_render(&s, &len);
	assert_null(strstr(text, "lostlove_webhook"));
	expect(text, "lostlove_probes_answered_total{by=\"mimic\"}", 0);
	free(text);
}

/* The ledger: the first max users to carry traffic get a series, sticky;
 * the others go to "(other)"; a session's cached slot is used; no series
 * is ever lowered. */
static void test_ledger(void **state)
{
	struct metrics_ledger l;
	int32_t a1 = METRICS_SLOT_NONE, a2 = METRICS_SLOT_NONE, b = METRICS_SLOT_NONE;
	int32_t c = METRICS_SLOT_NONE, idle = METRICS_SLOT_NONE;

	(void)state;
	assert_int_equal(metrics_ledger_init(&l, 2), 0);
	metrics_ledger_add(&l, "idle", &idle, 0, 0); /* no traffic: no series yet */
	assert_int_equal(idle, METRICS_SLOT_NONE);
	assert_int_equal(l.n, 0);
	metrics_ledger_add(&l, "alice", &a1, 10, 20);
	metrics_ledger_add(&l, "bob", &b, 1, 2);
	metrics_ledger_add(&l, "carol", &c, 100, 200); /* past the cap */
	assert_int_equal(c, METRICS_SLOT_OTHER);
	assert_true(l.has_other);
	/* alice's second session finds her series by name */
	metrics_ledger_add(&l, "alice", &a2, 5, 5);
	assert_int_equal(a2, a1);
	metrics_ledger_add(&l, "carol", &c, 1, 1);
	metrics_ledger_add(&l, "idle", &idle, 7, 7); /* later traffic: other too */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "alice");
	assert_int_equal(l.v[0].rx, 15);
	assert_int_equal(l.v[0].tx, 25);
	assert_string_equal(l.v[1].name, "bob");
	assert_int_equal(l.other_rx, 108);
	assert_int_equal(l.other_tx, 208);
	metrics_ledger_free(&l);

	/* a cap of 0: everything in "(other)" */
	assert_int_equal(metrics_ledger_init(&l, 0), 0);
	a1 = METRICS_SLOT_NONE;
	metrics_ledger_add(&l, "alice", &a1, 3, 4);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.other_rx, 3);
	metrics_ledger_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_everything_listed),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_censorship),
	    cmocka_unit_test(test_ledger),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
