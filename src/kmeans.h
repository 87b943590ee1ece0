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

/*
 * Gives each of n rows of x its nearest of k centroids (transposed, with
 * their squared norms): into assign, returning how many rows changed list,
 * and its squared distance into distance (if not NULL).  The answer for a
 * row may depend only on the row and the centroids, so that a run gives the
 * same clusters however the rows are shared out.
 */
typedef int (*VqpqAssignFunction) (void *arg, const float *x, int n, int ldx, int d,
								   const float *ct, int k, const float *norms,
								   int32_t *assign, float *distance);

typedef struct VqpqKmeansParams
{
	int			max_iterations;
	uint64_t	seed;
	/* called between passes over the data; may not return (longjmp) */
	void		(*check_interrupts) (void);
	/* the assignment step, for these n, d and k only; NULL: in this process */
	VqpqAssignFunction assign;
	void	   *assign_arg;
} VqpqKmeansParams;

/* Most rows processed per dot_block call when assigning points. */
#define VQPQ_ASSIGN_BLOCK 256

/*
 * Rows per dot_block call for k centroids of d dimensions: up to
 * VQPQ_ASSIGN_BLOCK, fewer for wide problems, so that one call does at most
 * about 2^27 multiply-adds (tens of milliseconds) and interrupts are
 * checked that often.  (65,536 lists of 1,536 dimensions: 8 rows a call.)
 */
static inline int
vqpq_assign_rows(int k, int d)
{
	size_t		per_row = (size_t) k * (size_t) d;
	size_t		rows = per_row > 0 ? ((size_t) 1 << 27) / per_row : VQPQ_ASSIGN_BLOCK;

	return rows < 8 ? 8 : rows > VQPQ_ASSIGN_BLOCK ? VQPQ_ASSIGN_BLOCK : (int) rows;
}

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

/*
 * The assignment step in this process, a VqpqAssignFunction but for the
 * scratch it needs (VQPQ_ASSIGN_BLOCK * k floats).
 */
extern int	vqpq_assign_serial(const float *x, int n, int ldx, int d,
							   const float *ct, int k, const float *norms,
							   int32_t *assign, float *distance, float *scratch,
							   void (*check_interrupts) (void));

/* ct (d x k) = transpose of centroids (k x d); norms[j] = ||c_j||^2 */
extern void vqpq_transpose_centroids(const float *centroids, int k, int d,
									 float *ct, float *norms);

/*
 * For each of n rows of x, the nearest of k centroids given in transposed
 * form with their squared norms; optionally its squared distance.
 * scratch holds vqpq_assign_rows(k, d) * k floats (at most
 * VQPQ_ASSIGN_BLOCK * k): rows are taken that many at a time.  check_interrupts, if not
 * NULL, is called after every vqpq_assign_rows(k, d) rows (and may longjmp).
 */
extern void vqpq_nearest(const float *x, int n, int ldx, int d,
						 const float *ct, int k, const float *norms,
						 int32_t *nearest, float *distance, float *scratch,
						 void (*check_interrupts) (void));

#endif							/* VQPQ_KMEANS_H */
