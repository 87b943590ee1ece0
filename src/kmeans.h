/*
 * kmeans.h
 *		k-means clustering on plain float arrays (no Postgres dependency).
 *
 * All memory is the caller's: it asks vqpq_kmeans_workspace_size() how much
 * scratch a run needs (to check it against a memory budget) and passes it in.
 * That also keeps the code safe for callers whose interrupt callback may
 * longjmp out: nothing here allocates.
 */
#ifndef VQPQ_KMEANS_H
#define VQPQ_KMEANS_H

#include <stddef.h>
#include <stdint.h>

typedef struct VqpqKmeansParams
{
	int			max_iterations;
	uint64_t	seed;
	/* called between passes over the data; may not return (longjmp) */
	void		(*check_interrupts) (void);
} VqpqKmeansParams;

/* Rows processed per dot_block call when assigning points. */
#define VQPQ_ASSIGN_BLOCK 256

extern size_t vqpq_kmeans_workspace_size(int n, int d, int k);

/*
 * Cluster the n rows of x (d floats each, ldx floats apart) into k centroids,
 * written to centroids (k x d, row-major).  k-means++ seeding, then
 * Lloyd iterations until nothing moves or max_iterations;
 * empty clusters take half of the largest cluster.  Works for n < k (the
 * extra centroids are copies).  Returns the mean squared distance of the
 * rows to their nearest centroid.
 */
extern double vqpq_kmeans(const float *x, int n, int ldx, int d, int k,
						  const VqpqKmeansParams *params,
						  float *centroids, void *workspace);

/* ct (d x k) = transpose of centroids (k x d); norms[j] = ||c_j||^2 */
extern void vqpq_transpose_centroids(const float *centroids, int k, int d,
									 float *ct, float *norms);

/*
 * For each of n rows of x, the nearest of k centroids given in transposed
 * form with their squared norms; optionally its squared distance.
 * scratch holds VQPQ_ASSIGN_BLOCK * k floats.
 */
extern void vqpq_nearest(const float *x, int n, int ldx, int d,
						 const float *ct, int k, const float *norms,
						 int32_t *nearest, float *distance, float *scratch);

#endif							/* VQPQ_KMEANS_H */
