/*
 * half.h
 *		IEEE 754 half precision (binary16) to and from float, for pgvector's
 *		halfvec values (no Postgres dependency).
 *
 * Both directions give the same results in every variant: half to float is
 * exact, float to half rounds to nearest, ties to even, as the F16C
 * instructions do.
 */
#ifndef VQPQ_HALF_H
#define VQPQ_HALF_H

#include <stdint.h>

typedef struct VqpqHalfKernels
{
	const char *name;			/* "portable", "f16c" */
	void		(*to_float) (const uint16_t *in, float *out, int n);
	/* returns the number of values too large for a half (stored as infinity) */
	int			(*from_float) (const float *in, uint16_t *out, int n);
} VqpqHalfKernels;

/* The conversions in use; valid after vqpq_half_init(). */
extern VqpqHalfKernels vqpq_half;

/* Pick the best variant this CPU supports.  Idempotent. */
extern void vqpq_half_init(void);

/* All variants this CPU supports, best last (for the unit test). */
extern int	vqpq_half_variants(const VqpqHalfKernels **variants, int max);

#endif							/* VQPQ_HALF_H */
