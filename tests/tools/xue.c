/* Xue et al.'s flow-shape rules: see xue.h. */
#include "xue.h"

int xue_opcode_rule(const uint8_t *ops, size_t count, size_t n)
{
	uint8_t seen[256] = {0};
	size_t distinct = 0;

	if (n < 2 || count < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i >= 2 && (ops[i] == ops[0] || ops[i] == ops[1]))
			return 0;
		if (!seen[ops[i]]++)
			distinct++;
	}
	return distinct >= 4 && distinct <= 10;
}

int xue_ack_rule(const uint16_t *sizes, size_t count, size_t *early, size_t *late)
{
	*early = *late = 0;
	if (count < XUE_MAX_PACKETS)
		return -1;
	for (size_t i = 0; i < XUE_MAX_PACKETS; i++) {
		if (i == 2 || sizes[i] != sizes[2])
			continue;
		if (i < 30)
			(*early)++;
		else if (i >= 50)
			(*late)++;
	}
	return *early >= 3 && *late == 0;
}

int xue_https_like(const struct xue_bursts *b)
{
	/* RT < 2.5 <=> bursts < 5 */
	return b->n >= 1 && b->n < 5 && b->b[0] < 300;
}

int xue_tls_in_tls(const struct xue_bursts *b)
{
	return b->n >= 3 && b->b[0] >= 200 && b->b[0] <= 1000 && b->b[1] >= 1000 && b->b[2] <= 200;
}
