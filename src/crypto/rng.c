#include "crypto/rng.h"

#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hmac.h"
#include "util/endian.h"

static int system_fill(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(out, chunk) != 1)
			return -EIO;
		out += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

const struct rng rng_system = {.fill = system_fill, .ctx = NULL};

static const char det_label[] = "lostlove det rng";

static int det_refill(struct rng_det *d)
{
	uint8_t ctr[8];
	le64_store(ctr, d->block++);
	struct iov_c parts[] = {{det_label, sizeof(det_label) - 1}, {ctr, sizeof(ctr)}};
	d->used = 0;
	return hmac_sha256_v(d->buf, d->seed, sizeof(d->seed), parts, 2);
}

static int det_fill(void *ctx, uint8_t *out, size_t len)
{
	struct rng_det *d = ctx;
	while (len > 0) {
		if (d->used == sizeof(d->buf)) {
			int r = det_refill(d);
			if (r < 0)
				return r;
		}
		size_t n = sizeof(d->buf) - d->used;
		if (n > len)
			n = len;
		memcpy(out, d->buf + d->used, n);
		d->used += n;
		out += n;
		len -= n;
	}
	return 0;
}

void rng_det_init(struct rng_det *d, const uint8_t seed[static 32])
{
	memcpy(d->seed, seed, sizeof(d->seed));
	d->block = 0;
	d->used = sizeof(d->buf);
}

struct rng rng_det_as_rng(struct rng_det *d)
{
	return (struct rng){.fill = det_fill, .ctx = d};
}
