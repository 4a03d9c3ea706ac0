/* transport_open on untrusted bytes, against a session in a state chosen by
 * the input; then a packet sealed for real, with input-chosen byte flips,
 * which must open if and only if nothing changed. Every input builds its
 * sessions afresh from fixed secrets, so a crash input reproduces alone.
 *
 * Input: mode (byte 0 % 3, pad_to from its upper bits) | warm-up packets
 * (byte 1 low nibble) and flips (high nibble) | seconds since the handshake
 * (byte 2) | the packet to open (rest, also the payload of the sealed one).
 * The seeds in corpus/transport_open are packets the receiver accepts after
 * the stated warm-up, so the fuzzer starts past authentication. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/control.h"
#include "protocol/transport.h"

#define FUZZ_T0	  (UINT64_C(5000) * LL_NS_PER_S)
#define FUZZ_CAP  2048
#define FUZZ_WARM 40 /* warm-up payload; with key_update_bytes 64: two packets per key */

static const enum cipher_mode fuzz_modes[] = {CIPHER_AES256GCM, CIPHER_CHACHAPOLY, CIPHER_CASCADE};

/* a seals, b receives: the same layout as a finished handshake. */
static void fuzz_pair(struct transport *a, struct transport *b, enum cipher_mode mode)
{
	struct transport_limits l;
	struct transport_keys ka = {
	    .mode = mode, .initiator = true, .local_index = 0xa1, .remote_index = 0xb2};
	struct transport_keys kb = {.mode = mode, .local_index = 0xb2, .remote_index = 0xa1};

	transport_limits_default(&l);
	l.key_update_bytes = 64;
	memset(ka.send_secret, 0x5a, CIPHER_SECRET_LEN);
	memset(ka.recv_secret, 0xa5, CIPHER_SECRET_LEN);
	memcpy(kb.send_secret, ka.recv_secret, CIPHER_SECRET_LEN);
	memcpy(kb.recv_secret, ka.send_secret, CIPHER_SECRET_LEN);
	if (transport_init(a, &ka, &l, FUZZ_T0) || transport_init(b, &kb, &l, FUZZ_T0))
		abort();
}

/* n packets from a, every third lost on the way to b: leaves holes in the
 * replay window and, with the small key_update_bytes, key updates. */
static void fuzz_warm(struct transport *a, struct transport *b, unsigned n)
{
	uint8_t pkt[FUZZ_CAP];
	size_t len, plain;

	for (unsigned i = 0; i < n; i++) {
		memset(pkt, (int)i, sizeof(pkt));
		if (transport_seal(a, pkt, sizeof(pkt), FUZZ_WARM, 1, &len, FUZZ_T0) !=
		    TRANSPORT_OK)
			abort();
		if (i % 3 != 1 && transport_open(b, pkt, len, &plain, FUZZ_T0) != TRANSPORT_OK)
			abort();
	}
}

/* True if b accepted the input (a seed, or a mutation that kept the
 * authenticated bytes). */
static bool open_raw(struct transport *b, const uint8_t *data, size_t size, uint64_t now)
{
	static uint8_t pkt[FUZZ_CAP];
	size_t plain, inner;

	if (size > sizeof(pkt))
		size = sizeof(pkt);
	memcpy(pkt, data, size);
	if (transport_open(b, pkt, size, &plain, now) != TRANSPORT_OK)
		return false;
	(void)control_classify(pkt + TRANSPORT_HEADER_LEN, plain, &inner);
	return true;
}

/* Seals data as a payload, applies nflips (position, xor) pairs taken from
 * data, and checks that b refuses it if anything changed. If b is as the
 * warm-up left it (the raw input was refused, and a refusal changes
 * nothing), the unchanged packet must open: that checks the refusal too.
 * Once b has accepted the raw input it may be ahead of a (the input can be
 * any seed, for any warm-up), so an unchanged packet may then be refused. */
static void seal_flip_open(struct transport *a, struct transport *b, const uint8_t *data,
			   size_t size, unsigned nflips, size_t pad_to, bool b_untouched,
			   uint64_t now)
{
	static uint8_t pkt[FUZZ_CAP], orig[FUZZ_CAP];
	size_t plain_len = size < 256 ? size : 256, len, plain;
	enum transport_result r;

	memcpy(pkt + TRANSPORT_HEADER_LEN, data, plain_len);
	r = transport_seal(a, pkt, sizeof(pkt), plain_len, pad_to, &len, now);
	if (r != TRANSPORT_OK && r != TRANSPORT_OK_REKEY)
		return;
	memcpy(orig, pkt, len);
	for (unsigned k = 0; k < nflips && size >= 2; k++)
		pkt[data[(2 * k) % size] % len] ^= data[(2 * k + 1) % size];
	bool same = memcmp(pkt, orig, len) == 0;
	r = transport_open(b, pkt, len, &plain, now);
	if (!same && r == TRANSPORT_OK)
		abort(); /* a forgery opened */
	if (same && b_untouched && r != TRANSPORT_OK)
		abort(); /* a good packet was refused */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport a, b;

	if (size < 3)
		return 0;
	enum cipher_mode mode = fuzz_modes[data[0] % 3];
	size_t pad_to = 1 + (data[0] >> 2) % 64;
	unsigned warm = data[1] & 0x0f, nflips = data[1] >> 4;
	uint64_t now = FUZZ_T0 + (uint64_t)data[2] * LL_NS_PER_S;

	data += 3, size -= 3;
	fuzz_pair(&a, &b, mode);
	fuzz_warm(&a, &b, warm);
	bool opened = open_raw(&b, data, size, now);
	seal_flip_open(&a, &b, data, size, nflips, pad_to, !opened, now);
	transport_done(&a);
	transport_done(&b);
	return 0;
}
