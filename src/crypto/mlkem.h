/* ML-KEM-768 (FIPS 203), implemented in the project.
 *
 * Constant time: no branch and no memory index depends on a secret (checked
 * by tests/ct under valgrind). Decapsulation uses implicit rejection: a bad
 * ciphertext yields K' = J(z || c), never an error. */
#ifndef LL_CRYPTO_MLKEM_H
#define LL_CRYPTO_MLKEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"

#define MLKEM768_EK_LEN	  1184
#define MLKEM768_DK_LEN	  2400
#define MLKEM768_CT_LEN	  1088
#define MLKEM768_SS_LEN	  32
#define MLKEM768_SEED_LEN 32

/* ML-KEM.KeyGen_internal(d, z), FIPS 203 Algorithm 16. */
void mlkem768_keygen_internal(uint8_t ret_ek[static MLKEM768_EK_LEN],
			      uint8_t ret_dk[static MLKEM768_DK_LEN],
			      const uint8_t d[static MLKEM768_SEED_LEN],
			      const uint8_t z[static MLKEM768_SEED_LEN]);
/* ML-KEM.KeyGen with d and z drawn from rng. Returns 0 or the rng's error. */
int mlkem768_keygen(uint8_t ret_ek[static MLKEM768_EK_LEN], uint8_t ret_dk[static MLKEM768_DK_LEN],
		    const struct rng *rng);

/* ML-KEM.Encaps_internal(ek, m), Algorithm 17, preceded by the §7.2 modulus
 * check of ek. Returns 0, or -EINVAL if ek fails the check (outputs zeroed). */
int mlkem768_encaps_internal(uint8_t ret_ct[static MLKEM768_CT_LEN],
			     uint8_t ret_ss[static MLKEM768_SS_LEN],
			     const uint8_t ek[static MLKEM768_EK_LEN],
			     const uint8_t m[static MLKEM768_SEED_LEN]);
int mlkem768_encaps(uint8_t ret_ct[static MLKEM768_CT_LEN], uint8_t ret_ss[static MLKEM768_SS_LEN],
		    const uint8_t ek[static MLKEM768_EK_LEN], const struct rng *rng);

/* ML-KEM.Decaps_internal(dk, c), Algorithm 18 (with implicit rejection).
 * dk is trusted here (it is ours); check foreign keys with mlkem768_dk_is_valid. */
void mlkem768_decaps(uint8_t ret_ss[static MLKEM768_SS_LEN],
		     const uint8_t ct[static MLKEM768_CT_LEN],
		     const uint8_t dk[static MLKEM768_DK_LEN]);

/* FIPS 203 §7.2: length 1184 and ByteEncode12(ByteDecode12(ek)) == ek. */
bool mlkem768_ek_is_valid(const uint8_t *ek, size_t len);
/* FIPS 203 §7.3: length 2400 and H(dk[384k : 768k+32]) == dk[768k+32 : 768k+64]. */
bool mlkem768_dk_is_valid(const uint8_t *dk, size_t len);

#endif
