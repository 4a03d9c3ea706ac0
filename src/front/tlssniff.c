/* First-byte decision and a ClientHello SNI reader (tlssniff.h). */
#include "front/tlssniff.h"

#include <string.h>

enum tls_sniff tls_sniff(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return TLS_SNIFF_NEED_MORE;
	return (buf[0] == 0x16 || (buf[0] & 0x80)) ? TLS_SNIFF_TLS : TLS_SNIFF_PLAIN;
}

/* A bounds-checked cursor over the hello. */
struct cur {
	const uint8_t *p;
	size_t n;
};

static int take(struct cur *c, size_t k, const uint8_t **out)
{
	if (c->n < k)
		return -1;
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return 0;
}

static int take_len(struct cur *c, size_t bytes, size_t *v)
{
	const uint8_t *p;
	if (take(c, bytes, &p) < 0)
		return -1;
	*v = 0;
	for (size_t i = 0; i < bytes; i++)
		*v = (*v << 8) | p[i];
	return 0;
}

/* Skips a length-prefixed vector. */
static int skip_vec(struct cur *c, size_t bytes)
{
	size_t n;
	return take_len(c, bytes, &n) < 0 ? -1 : take(c, n, NULL);
}

static int sni_ext(struct cur e, char *out, size_t outlen)
{
	size_t list, type, nlen;
	const uint8_t *name;
	if (take_len(&e, 2, &list) < 0 || list != e.n || take_len(&e, 1, &type) < 0 || type != 0 ||
	    take_len(&e, 2, &nlen) < 0 || take(&e, nlen, &name) < 0 || nlen == 0)
		return -1;
	size_t k = nlen < outlen - 1 ? nlen : outlen - 1;
	memcpy(out, name, k);
	out[k] = '\0';
	return 0;
}

int tls_client_hello_sni(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
	struct cur c = {buf, len};
	const uint8_t *h;
	size_t rlen, hlen, elen;
	if (outlen == 0 || take(&c, 1, &h) < 0 || h[0] != 0x16 || take(&c, 2, NULL) < 0 ||
	    take_len(&c, 2, &rlen) < 0 || rlen > c.n)
		return -1;
	c.n = rlen;
	if (take(&c, 1, &h) < 0 || h[0] != 0x01 || take_len(&c, 3, &hlen) < 0 || hlen > c.n)
		return -1;
	c.n = hlen;
	/* version, random, session id, cipher suites, compression */
	if (take(&c, 2 + 32, NULL) < 0 || skip_vec(&c, 1) < 0 || skip_vec(&c, 2) < 0 ||
	    skip_vec(&c, 1) < 0)
		return -1;
	if (c.n == 0)
		return 1;
	if (take_len(&c, 2, &elen) < 0 || elen != c.n)
		return -1;
	while (c.n) {
		size_t type, l;
		const uint8_t *body;
		if (take_len(&c, 2, &type) < 0 || take_len(&c, 2, &l) < 0 || take(&c, l, &body) < 0)
			return -1;
		if (type == 0)
			return sni_ext((struct cur){body, l}, out, outlen);
	}
	return 1;
}
