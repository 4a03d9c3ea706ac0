/* Constant-time check of ML-KEM-768 and the ct helpers (the ctgrind
 * technique, run by tests/ct/meson.build under valgrind memcheck).
 *
 * Secrets are marked undefined with VALGRIND_MAKE_MEM_UNDEFINED. Memcheck
 * tracks undefinedness through every computation and reports a conditional
 * jump or a memory address that depends on it, so any branch or table index
 * on a secret fails the run (valgrind --error-exitcode). Outputs are marked
 * defined again before this program looks at them. Public values stay
 * defined: ek, ρ (declassified inside keygen through MLKEM_CT_DECLASSIFY,
 * since ρ is derived from the secret d but published in ek), the ciphertext,
 * and the ek and H(ek) halves of dk.
 *
 * mlkem.c is included (as the unit tests do) so that the declassification
 * hook can be defined; the code is otherwise the library's, built with the
 * same flags.
 *
 * With --leaky-selfcheck the program runs an early-exit comparison on a
 * secret instead, which valgrind must report: proof that the harness can
 * fail (a should_fail test in meson). */
#include <valgrind/memcheck.h>

#define MLKEM_CT_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#include "crypto/mlkem.c"

#include <stdio.h>
#include <string.h>

#define SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

static int failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "ct_mlkem: %s\n", what);
		failures++;
	}
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 5));
}

/* Keygen with secret d and z, encaps with a secret m, decaps of the valid
 * ciphertext and of a modified one with a secret dk_PKE and z. */
static void check_mlkem(uint8_t seed)
{
	uint8_t d[32], z[32], m[32], ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
	uint8_t ct[MLKEM768_CT_LEN], ss[32], ss_dec[32], ss_rej[32];

	fill(d, sizeof(d), seed);
	fill(z, sizeof(z), seed + 1);
	fill(m, sizeof(m), seed + 2);

	/* KeyGen_internal(d, z) */
	SECRET(d, sizeof(d));
	SECRET(z, sizeof(z));
	mlkem768_keygen_internal(ek, dk, d, z);
	PUBLIC(ek, sizeof(ek));

	/* Encaps_internal(ek, m) */
	SECRET(m, sizeof(m));
	check(mlkem768_encaps_internal(ct, ss, ek, m) == 0, "encaps refused its own key");
	PUBLIC(ct, sizeof(ct));

	/* Decaps(dk, c): dk_PKE and z secret, ek || H(ek) public */
	PUBLIC(dk, sizeof(dk));
	SECRET(dk, DK_EK_OFF);
	SECRET(dk + DK_Z_OFF, 32);
	mlkem768_decaps(ss_dec, ct, dk);
	ct[seed % sizeof(ct)] ^= 0x10;
	mlkem768_decaps(ss_rej, ct, dk);

	PUBLIC(ss, sizeof(ss));
	PUBLIC(ss_dec, sizeof(ss_dec));
	PUBLIC(ss_rej, sizeof(ss_rej));
	check(memcmp(ss, ss_dec, sizeof(ss)) == 0, "decaps disagrees with encaps");
	check(memcmp(ss, ss_rej, sizeof(ss)) != 0, "modified ciphertext not rejected");
}

static void check_ct_helpers(void)
{
	uint8_t a[48], b[48], dst[48], cond;
	bool eq, zero;

	fill(a, sizeof(a), 9);
	memcpy(b, a, sizeof(b));
	b[47] ^= 1;
	memset(dst, 0, sizeof(dst));
	cond = 1;

	SECRET(a, sizeof(a));
	SECRET(b, sizeof(b));
	SECRET(&cond, sizeof(cond));
	eq = ct_memeq(a, b, sizeof(a));
	zero = ct_is_zero(a, sizeof(a));
	ct_cmov(dst, a, sizeof(dst), cond);

	PUBLIC(&eq, sizeof(eq));
	PUBLIC(&zero, sizeof(zero));
	PUBLIC(a, sizeof(a));
	PUBLIC(dst, sizeof(dst));
	check(!eq, "ct_memeq");
	check(!zero, "ct_is_zero");
	check(memcmp(dst, a, sizeof(dst)) == 0, "ct_cmov");
}

/* Deliberately leaky: stops at the first difference. Called through a
 * volatile pointer so that it is neither inlined nor folded away. */
static int leaky_memcmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

static int (*volatile leaky)(const uint8_t *, const uint8_t *, size_t) = leaky_memcmp;

static int leaky_selfcheck(void)
{
	uint8_t secret[32], guess[32] = {0};
	int differ;

	fill(secret, sizeof(secret), 5);
	SECRET(secret, sizeof(secret));
	differ = leaky(secret, guess, sizeof(secret));
	PUBLIC(&differ, sizeof(differ));
	printf("ct_mlkem --leaky-selfcheck: ran an early-exit compare on a secret (%d); "
	       "valgrind must have reported it\n",
	       differ);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--leaky-selfcheck") == 0)
		return leaky_selfcheck();
	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "ct_mlkem: not under valgrind, nothing is checked\n");
	for (uint8_t seed = 0; seed < 3; seed++)
		check_mlkem(seed);
	check_ct_helpers();
	return failures ? 1 : 0;
}
