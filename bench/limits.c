/* bench-limits: what the per-user policer costs a packet
 * (core/limits.c, limits_bucket_take), alone and shared.
 *
 *   none     no rate set: the load that says so, and nothing else
 *   one      a rate never reached, one thread: one CAS per packet
 *   shared   the same bucket, T threads at once (one user's flows on T
 *            workers): the CAS contends for one cache line
 *   own      one bucket per thread (T users on T workers)
 *   count    the per-session byte counter (a relaxed atomic add), the
 *            other per-packet cost of accounting
 *
 * Each thread calls in a tight loop for 1 s with a clock advancing 100 ns
 * per call; a figure is the median of 3 repetitions in ns of the thread's
 * own CPU time per call (so other load on the machine does not count;
 * the threads are only concurrent while the scheduler runs them at once).
 * Build with the release build type. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"

#define REPS	 3
#define NS_PER_S UINT64_C(1000000000)

enum mode { M_NONE, M_ONE, M_SHARED, M_OWN, M_COUNT };

struct runner {
	pthread_t thread;
	struct limits_bucket *b;
	uint64_t *counter;
	pthread_barrier_t *start;
	enum mode mode;
	uint64_t calls, ns;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void *run(void *arg)
{
	struct runner *r = arg;
	uint64_t t = 1000 * NS_PER_S, sink = 0, begin, end, cpu0;

	pthread_barrier_wait(r->start);
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	begin = now_ns();
	end = begin + NS_PER_S;
	while (now_ns() < end) {
		for (int i = 0; i < 1024; i++, t += 100) {
			if (r->mode == M_COUNT)
				__atomic_fetch_add(r->counter, 1400, __ATOMIC_RELAXED);
			else
				sink += limits_bucket_take(r->b, 1400, t);
		}
		r->calls += 1024;
	}
	r->ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0; /* the machine may be shared */
	if (sink == 1)
		fputs("", stderr); /* keep the calls */
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double measure(enum mode mode, unsigned threads)
{
	double rep[REPS];

	for (int k = 0; k < REPS; k++) {
		struct limits_bucket *b = aligned_alloc(64, 64 * 16);
		uint64_t *counter = aligned_alloc(64, 64);
		struct runner r[16];
		pthread_barrier_t start;
		double sum = 0;

		memset(b, 0, 64 * 16);
		*counter = 0;
		for (unsigned i = 0; i < threads; i++)
			limits_bucket_set(&b[i * 64 / sizeof(*b)],
					  mode == M_NONE ? 0 : 10000000000ull, 0);
		pthread_barrier_init(&start, NULL, threads);
		for (unsigned i = 0; i < threads; i++) {
			r[i] = (struct runner){
			    .b = &b[(mode == M_OWN ? i : 0) * 64 / sizeof(*b)],
			    .counter = counter,
			    .start = &start,
			    .mode = mode,
			};
			pthread_create(&r[i].thread, NULL, run, &r[i]);
		}
		for (unsigned i = 0; i < threads; i++) {
			pthread_join(r[i].thread, NULL);
			sum += (double)r[i].ns / (double)r[i].calls;
		}
		rep[k] = sum / threads;
		pthread_barrier_destroy(&start);
		free(b);
		free(counter);
	}
	qsort(rep, REPS, sizeof(rep[0]), cmp);
	return rep[REPS / 2];
}

int main(int argc, char **argv)
{
	unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 2;

	if (threads < 1 || threads > 16)
		threads = 2;
	printf("limiter, CPU ns per packet per thread (median of %d × 1 s)\n", REPS);
	printf("  none (no rate)           %6.1f\n", measure(M_NONE, 1));
	printf("  one bucket, 1 thread     %6.1f\n", measure(M_ONE, 1));
	printf("  one bucket, %u threads    %6.1f\n", threads, measure(M_SHARED, threads));
	printf("  own buckets, %u threads   %6.1f\n", threads, measure(M_OWN, threads));
	printf("  byte counter, 1 thread   %6.1f\n", measure(M_COUNT, 1));
	printf("  byte counter, %u threads  %6.1f (one session on %u workers)\n", threads,
	       measure(M_COUNT, threads), threads);
	return 0;
}
