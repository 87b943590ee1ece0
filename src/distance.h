/*
 * distance.h
 *		Float vector distance kernels with runtime CPU dispatch.
 *
 * Plain C on float arrays: nothing here knows about Postgres, so the kernels
 * can be unit-tested and benchmarked on their own (test/unit, bench/).
 *
 * Every kernel accumulates in float with several independent partial sums
 * (so long vectors keep good accuracy and the CPU can overlap the adds); the
 * SQL-facing callers widen the result to double.  Different variants add in
 * different orders, so they may differ in the last bits, never more.
 */
#ifndef VQPQ_DISTANCE_H
#define VQPQ_DISTANCE_H

typedef struct VqpqDistanceKernels
{
	const char *name;			/* "portable", "avx2", "avx512" */
	/* sum of squared differences */
	float		(*l2_squared) (const float *a, const float *b, int n);
	/* sum of products */
	float		(*inner_product) (const float *a, const float *b, int n);
	/* sum of absolute differences */
	float		(*l1) (const float *a, const float *b, int n);
	/* dot product and both squared norms in one pass, for cosine */
	void		(*cosine_parts) (const float *a, const float *b, int n,
								 float *dot, float *norm_a, float *norm_b);

	/*
	 * Block of inner products, the building block of k-means, PQ encoding and
	 * lookup tables: out[i * ldo + j] = sum_l x[i * ldx + l] * ct[l * ldc + j]
	 * for i < n, j < k, l < d.  x holds n rows; ct holds k columns stored
	 * column by column ("transposed" centroids), so each step reads k
	 * contiguous floats.
	 */
	void		(*dot_block) (const float *x, int n, int ldx,
							  const float *ct, int k, int ldc, int d,
							  float *out, int ldo);

	/*
	 * The j < k minimizing norms[j] - 2 * dots[j] (the nearest centroid, given
	 * a row's inner products with the centroids and their squared norms), the
	 * lowest such j on ties; *value gets the minimum.  Every variant computes
	 * the same values (a multiply and a subtract, never a fused multiply-add),
	 * so every variant picks the same j.
	 */
	int			(*argmin_expanded) (const float *dots, const float *norms, int k, float *value);

	/*
	 * out[i] = a[i] + alpha * b[i] for i < n (out may be a or b), alpha a
	 * power of two (or its negative): the product is then exact, so every
	 * variant gives the same floats whether or not the compiler fuses the
	 * multiply and the add.  Builds and combines lookup tables.
	 */
	void		(*madd) (const float *a, float alpha, const float *b, float *out, int n);
} VqpqDistanceKernels;

/* The kernels in use; valid after vqpq_distance_init(). */
extern VqpqDistanceKernels vqpq_kernels;

/* Pick the best variant this CPU supports.  Idempotent. */
extern void vqpq_distance_init(void);

/*
 * All variants compiled in and supported by this CPU, best last; returns
 * how many.  Used by the unit test and the micro-benchmark.
 */
extern int	vqpq_distance_variants(const VqpqDistanceKernels **variants, int max);

#endif							/* VQPQ_DISTANCE_H */
