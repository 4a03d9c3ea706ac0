/* randfail: an LD_PRELOAD shim for the end-to-end tests that makes
 * OpenSSL's RAND_bytes fail, as a broken or exhausted system generator
 * would, LL_RANDFAIL_AFTER_MS milliseconds after its first call (the
 * daemon has started by then). Only the symbol the daemons call through
 * crypto/rng.c is replaced; everything else of OpenSSL is untouched.
 * Only for tests: it is never linked into a product binary. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

int RAND_bytes(unsigned char *buf, int num);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((visibility("default"))) int RAND_bytes(unsigned char *buf, int num)
{
	static int (*real)(unsigned char *, int);
	static uint64_t first_ms, after_ms;
	uint64_t now = now_ms();

	if (!real) {
		const char *env = getenv("LL_RANDFAIL_AFTER_MS");
		real = (int (*)(unsigned char *, int))dlsym(RTLD_NEXT, "RAND_bytes");
		after_ms = env ? strtoull(env, NULL, 10) : 0;
		first_ms = now;
	}
	if (!real || now - first_ms >= after_ms)
		return 0;
	return real(buf, num);
}
