/*
 * blas_compare.c
 *		The k-means distance block (vqpq's dot_block kernel) against
 *		OpenBLAS cblas_sgemm on one thread, at the shapes training runs:
 *		coarse k-means (a block of sample rows against every centroid) and
 *		PQ sub-space k-means (a few dimensions, 16 or 256 centroids).  The
 *		question it answers: would linking a BLAS speed builds up enough to
 *		be worth the dependency?  Needs Debian's libopenblas-dev; not part of
 *		the extension's build.
 *
 *		make bench-blas
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "distance.h"

extern void openblas_set_num_threads(int num_threads);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
compare(const char *what, int n, int d, int k, int reps)
{
	float	   *x = malloc(sizeof(float) * n * d);
	float	   *ct = malloc(sizeof(float) * d * k);
	float	   *out = malloc(sizeof(float) * n * k);
	double		t0,
				ours,
				blas,
				gflop = 2.0 * n * d * k / 1e9;

	for (long i = 0; i < (long) n * d; i++)
		x[i] = rand() / (float) RAND_MAX;
	for (long i = 0; i < (long) d * k; i++)
		ct[i] = rand() / (float) RAND_MAX;
	t0 = now_s();
	for (int r = 0; r < reps; r++)
		vqpq_kernels.dot_block(x, n, d, ct, k, k, d, out, k);
	ours = (now_s() - t0) / reps;
	t0 = now_s();
	for (int r = 0; r < reps; r++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, d, 1.0f, x, d, ct, k, 0.0f, out, k);
	blas = (now_s() - t0) / reps;
	printf("| %s | %d x %d x %d | %.3f ms (%.0f GFLOP/s) | %.3f ms (%.0f GFLOP/s) | %.2fx |\n",
		   what, n, d, k, ours * 1e3, gflop / ours, blas * 1e3, gflop / blas, ours / blas);
	free(x);
	free(ct);
	free(out);
}

int
main(void)
{
	vqpq_distance_init();
	openblas_set_num_threads(1);
	printf("| block | rows x dims x centroids | dot_block (%s) | OpenBLAS sgemm | sgemm speed-up |\n"
		   "|---|---|---:|---:|---:|\n", vqpq_kernels.name);
	compare("coarse, 784 dims", 256, 784, 245, 50);
	compare("coarse, 784 dims", 4096, 784, 245, 10);
	compare("coarse, 128 dims, 1M rows", 4096, 128, 1000, 10);
	compare("PQ sub-space, 4-bit", 4096, 4, 16, 200);
	compare("PQ sub-space, 8-bit", 4096, 8, 256, 50);
	return 0;
}
