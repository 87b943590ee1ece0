/*
 * ivfpq_build_train.c
 *		Training: k-means on the sample for the coarse quantizer (nlist
 *		centroids), the sample's residuals, and k-means per sub-space on them
 *		for the product quantizer; with parallel workers if it can
 *		(ivfpq_build_train_parallel.c).
 */
#include "postgres.h"

#include <math.h>

#include "commands/progress.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "ivfpq_build.h"
#include "kmeans.h"

static void
check_finite(const float *x, Size n, const char *what)
{
	for (Size i = 0; i < n; i++)
		if (!isfinite(x[i]))
			elog(ERROR, "ivfpq training produced a non-finite %s value; please report this bug", what);
}

void
ivfpq_train(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	int			n = bs->nsamples;
	Size		nlist = bs->nlist;
	int32	   *nearest;
	VqpqKmeansParams coarse = {COARSE_ITERATIONS, KMEANS_SEED, ivfpq_check_interrupts};
	VqpqKmeansParams params = {PQ_ITERATIONS, KMEANS_SEED, ivfpq_check_interrupts};
	IvfpqTrainWorkers *workers;
	void	   *ws;

	q->centroids = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(nlist, bs->dims), sizeof(float)));
	q->centroids_t = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(nlist, bs->dims), sizeof(float)));
	q->centroid_norms = palloc(mul_size(nlist, sizeof(float)));

	workers = ivfpq_train_workers_begin(bs, n, &coarse);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_COARSE);
	ws = MemoryContextAllocHuge(CurrentMemoryContext, vqpq_kmeans_workspace_size(n, bs->dims, bs->nlist));
	q->meta.coarse_error = vqpq_kmeans(bs->samples, n, bs->dims, bs->dims, bs->nlist, &coarse,
									   q->centroids, ws);
	pfree(ws);
	elog(DEBUG1, "ivfpq build: %d lists trained on %d rows, mean squared distance %.4g",
		 bs->nlist, n, q->meta.coarse_error);
	check_finite(q->centroids, mul_size(nlist, bs->dims), "centroid");
	vqpq_transpose_centroids(q->centroids, bs->nlist, bs->dims, q->centroids_t, q->centroid_norms);

	/* residuals of the sample, in place */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_ASSIGN_SAMPLE);
	nearest = palloc(sizeof(int32) * n);
	if (workers)
		ivfpq_train_workers_assign(workers, bs->samples, n, q->centroids_t, q->centroid_norms, nearest);
	else
	{
		float	   *scratch = MemoryContextAllocHuge(CurrentMemoryContext,
													 mul_size(mul_size(VQPQ_ASSIGN_BLOCK, nlist), sizeof(float)));

		vqpq_nearest(bs->samples, n, bs->dims, bs->dims, q->centroids_t, bs->nlist, q->centroid_norms,
					 nearest, NULL, scratch, ivfpq_check_interrupts);
		pfree(scratch);
	}
	for (int i = 0; i < n; i++)
	{
		float	   *x = bs->samples + (Size) i * bs->dims;
		const float *c = q->centroids + (Size) nearest[i] * bs->dims;

		for (int l = 0; l < bs->dims; l++)
			x[l] -= c[l];
	}
	pfree(nearest);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_PQ);
	q->meta.pq_error = ivfpq_train_workers_pq(workers, &q->pq, bs->samples, n, bs->dims, &params);
	if (workers)
		ivfpq_train_workers_end(workers);
	check_finite(q->pq.codebook, mul_size((Size) q->pq.ksub, bs->dims), "codebook");

	pfree(bs->samples);
	bs->samples = NULL;
	pfree(bs->sample_tids);
	bs->sample_tids = NULL;
}
