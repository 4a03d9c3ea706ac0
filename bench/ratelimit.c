/* bench-ratelimit: what the shared per-IP handshake limiter costs per call,
 * with 1..T threads calling it at once (the workers under a flood).
 *
 *   spread  each thread limits its own 1024 sources (workers meeting
 *           different attackers: different buckets, mostly other locks)
 *   one     every thread limits the same source (one address flooding all
 *           workers from many ports: one bucket, one lock)
 *
 * Each thread calls ratelimit_allow in a tight loop for --seconds; its clock
 * argument advances 1 µs per call, so some calls are allowed and most are
 * refused, as under a flood. A figure is the median of 3 repetitions:
 * nanoseconds of wall time per call per thread, and million calls per
 * second over all threads. Build with the release build type; the lock
 * variant measured is whatever src/auth/ratelimit.c was built with
 * (RATELIMIT_STRIPES can be overridden with -Dc_args=-DRATELIMIT_STRIPES=1
 * to measure a single mutex). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/ratelimit.h"

#define SOURCES	   1024
#define REPS	   3
#define MAX_THREAD 16
#define NS_PER_S   UINT64_C(1000000000)
#define T0	   (UINT64_C(1000) * NS_PER_S)

struct runner {
	pthread_t thread;
	struct ratelimit *rl;
	pthread_barrier_t *start;
	unsigned id;
	bool one_source;
	double seconds;
	uint64_t calls, allowed, ns, cpu_ns;
};

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

static void *run(void *arg)
{
	struct runner *r = arg;
	uint8_t ip[SOURCES][4];
	uint64_t start, cpu_start, end, now = T0, calls = 0, allowed = 0;

	for (unsigned i = 0; i < SOURCES; i++) {
		unsigned src = r->one_source ? 0 : r->id * SOURCES + i;
		ip[i][0] = 10;
		ip[i][1] = (uint8_t)(src >> 16);
		ip[i][2] = (uint8_t)(src >> 8);
		ip[i][3] = (uint8_t)src;
	}
	pthread_barrier_wait(r->start);
	start = mono_ns();
	cpu_start = clock_of(CLOCK_THREAD_CPUTIME_ID);
	end = start + (uint64_t)(r->seconds * (double)NS_PER_S);
	do {
		for (unsigned i = 0; i < 4096; i++) {
			allowed += ratelimit_allow(r->rl, ip[i % SOURCES], 4, now);
			now += 1000;
		}
		calls += 4096;
	} while (mono_ns() < end);
	r->ns = mono_ns() - start;
	r->cpu_ns = clock_of(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
	r->calls = calls;
	r->allowed = allowed;
	return NULL;
}

/* CPU ns per call (spinning included, time descheduled not); *mcalls =
 * million calls per second of wall time, all threads together. */
static double once(unsigned threads, bool one_source, double seconds, double *mcalls)
{
	struct ratelimit rl;
	pthread_barrier_t start;
	struct runner r[MAX_THREAD];
	uint64_t calls = 0, cpu_ns = 0, wall_ns = 0;

	if (ratelimit_init(&rl, 8192, 20, 5, 42) < 0 ||
	    pthread_barrier_init(&start, NULL, threads) != 0) {
		fprintf(stderr, "bench-ratelimit: init failed\n");
		exit(1);
	}
	for (unsigned i = 0; i < threads; i++) {
		r[i] = (struct runner){.rl = &rl,
				       .start = &start,
				       .id = i,
				       .one_source = one_source,
				       .seconds = seconds};
		if (pthread_create(&r[i].thread, NULL, run, &r[i]) != 0) {
			fprintf(stderr, "bench-ratelimit: pthread_create failed\n");
			exit(1);
		}
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(r[i].thread, NULL);
		calls += r[i].calls;
		cpu_ns += r[i].cpu_ns;
		wall_ns = r[i].ns > wall_ns ? r[i].ns : wall_ns;
	}
	pthread_barrier_destroy(&start);
	ratelimit_done(&rl);
	*mcalls = (double)calls / ((double)wall_ns / 1e3);
	return (double)cpu_ns / (double)calls;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double seconds = 0.5;
	unsigned max_threads = 4;
	static const char *const scenario[] = {"spread", "one"};

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			max_threads = (unsigned)atoi(argv[i + 1]);
	}
	if (seconds <= 0 || max_threads == 0 || max_threads > MAX_THREAD) {
		fprintf(stderr, "usage: bench-ratelimit [--seconds X] [--threads 1..%d]\n",
			MAX_THREAD);
		return 2;
	}
	printf("scenario threads cpu-ns/call Mcalls/s(all)\n");
	for (int s = 0; s < 2; s++) {
		for (unsigned t = 1; t <= max_threads; t *= 2) {
			double ns[REPS], mc[REPS];
			for (int k = 0; k < REPS; k++) {
				ns[k] = once(t, s == 1, seconds, &mc[k]);
			}
			qsort(ns, REPS, sizeof(ns[0]), cmp_double);
			qsort(mc, REPS, sizeof(mc[0]), cmp_double);
			printf("%-8s %7u %14.1f %13.1f\n", scenario[s], t, ns[REPS / 2],
			       mc[REPS / 2]);
			fflush(stdout);
		}
	}
	return 0;
}
