/* PROXY v2 headers (front/proxyv2.c): IPv4 and IPv6 PROXY, LOCAL, TLVs
 * skipped, and the refusals a backend must make: a wrong signature byte
 * (at once, whichever byte), version 1 or 3, an unknown command, a UDP
 * address block, an address block too short, a length over the cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "front/proxyv2.h"

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static size_t hdr(uint8_t *b, uint8_t vc, uint8_t fam, const uint8_t *addr, uint16_t alen)
{
	memcpy(b, sig, 12);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)(alen >> 8);
	b[15] = (uint8_t)alen;
	if (alen)
		memcpy(b + 16, addr, alen);
	return 16u + alen;
}

static void test_v4_v6_local(void **state)
{
	(void)state;
	uint8_t b[600], a[600] = {0};
	struct pp2_info pi;
	/* 192.0.2.1:1234 -> 198.51.100.2:443, then a 5-byte TLV */
	static const uint8_t v4[] = {192,  0,	 2,    1,    198,  51,	 100, 2,  0x04,
				     0xd2, 0x01, 0xbb, 0x04, 0x00, 0x02, 'x', 'y'};
	size_t n = hdr(b, 0x21, 0x11, v4, sizeof(v4));
	for (size_t k = 0; k < n; k++)
		assert_int_equal(pp2_parse(b, k, &pi), PP2_NEED_MORE);
	assert_int_equal(pp2_parse(b, n, &pi), PP2_OK);
	assert_int_equal(pi.header_len, n);
	const struct sockaddr_in *s = (const struct sockaddr_in *)&pi.src;
	assert_int_equal(s->sin_family, AF_INET);
	assert_int_equal(ntohs(s->sin_port), 1234);
	assert_int_equal(ntohl(s->sin_addr.s_addr), 0xc0000201);

	a[15] = 1; /* ::1 */
	a[36] = 0x30;
	a[37] = 0x39; /* port 12345 */
	n = hdr(b, 0x21, 0x21, a, 36);
	assert_int_equal(pp2_parse(b, n, &pi), PP2_OK);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&pi.src;
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));

	n = hdr(b, 0x20, 0x00, NULL, 0); /* LOCAL */
	assert_int_equal(pp2_parse(b, n, &pi), PP2_OK);
	assert_true(pi.local);
	assert_int_equal(pi.addr_len, 0);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t b[700] = {0};
	struct pp2_info pi;
	static const uint8_t v4[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
	for (size_t i = 0; i < 12; i++) {
		hdr(b, 0x21, 0x11, v4, 12);
		b[i] ^= 0x40;
		assert_int_equal(pp2_parse(b, i + 1, &pi), PP2_BAD);
	}
	size_t n = hdr(b, 0x11, 0x11, v4, 12); /* version 1 */
	assert_int_equal(pp2_parse(b, 13, &pi), PP2_BAD);
	n = hdr(b, 0x31, 0x11, v4, 12);
	assert_int_equal(pp2_parse(b, n, &pi), PP2_BAD);
	n = hdr(b, 0x22, 0x11, v4, 12); /* command 2 */
	assert_int_equal(pp2_parse(b, n, &pi), PP2_BAD);
	n = hdr(b, 0x21, 0x12, v4, 12); /* UDP */
	assert_int_equal(pp2_parse(b, n, &pi), PP2_BAD);
	n = hdr(b, 0x21, 0x21, v4, 12); /* IPv6 block too short */
	assert_int_equal(pp2_parse(b, n, &pi), PP2_BAD);
	hdr(b, 0x21, 0x11, v4, 12);
	b[14] = 0x02;
	b[15] = 0x01; /* 513 */
	assert_int_equal(pp2_parse(b, 16, &pi), PP2_BAD);
	/* plain HTTP or a ClientHello: refused at the first byte */
	assert_int_equal(pp2_parse((const uint8_t *)"G", 1, &pi), PP2_BAD);
	assert_int_equal(pp2_parse((const uint8_t *)"\x16", 1, &pi), PP2_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_v6_local),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
