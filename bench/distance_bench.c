/*
 * distance_bench.c
 *		Nanoseconds per distance for each kernel variant this CPU supports,
 *		against a plain scalar loop (one accumulator, as a naive C loop is
 *		written), at 128, 768 and 1536 dims.  All numbers come from the same
 *		run, so read the ratios, not the absolute values: this machine is noisy.
 *
 *		make bench-distance
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "distance.h"

#define NVEC 1024				/* vectors cycled through, so data is not all in L1 */

/* the baseline: a plain loop, kept from being vectorized */
__attribute__((optimize("no-tree-vectorize")))
static float
l2_squared_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

__attribute__((optimize("no-tree-vectorize")))
static float
inner_product_scalar(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

typedef float (*pair_fn) (const float *, const float *, int);

/*
 * The baseline of coarse ranking: one query's dot products with k
 * transposed centroids (ct is d x k), a column at a time down all d rows,
 * as a naive loop over the centroids reads them.
 */
__attribute__((optimize("no-tree-vectorize")))
static void
dot_row_columns(const float *x, const float *ct, int k, int d, float *out)
{
	for (int j = 0; j < k; j++)
	{
		float		s = 0.0f;

		for (int l = 0; l < d; l++)
			s += x[l] * ct[(size_t) l * k + j];
		out[j] = s;
	}
}

static volatile float sink;

/* best of 5 rounds, to filter out interference from the rest of the machine */
static double
time_kernel(pair_fn fn, const float *data, const float *query, int dim)
{
	double		best = 1e300;
	long		reps = 2000000L / dim * 64 / NVEC + 1;

	for (int round = 0; round < 5; round++)
	{
		double		t0 = now_ns();
		float		acc = 0;

		for (long r = 0; r < reps; r++)
			for (int v = 0; v < NVEC; v++)
				acc += fn(data + (size_t) v * dim, query, dim);
		sink = acc;
		double		per = (now_ns() - t0) / ((double) reps * NVEC);

		if (per < best)
			best = per;
	}
	return best;
}

/*
 * Microseconds to rank k centroids for one query: dot_block with one row
 * (variant) or the column loop (variant NULL); best of 20 calls.
 */
static double
time_ranking(const VqpqDistanceKernels *variant, const float *x, const float *ct, int k, int d, float *out)
{
	double		best = 1e300;

	for (int round = 0; round < 20; round++)
	{
		double		t0 = now_ns();
		double		t;

		if (variant)
			variant->dot_block(x, 1, 0, ct, k, k, d, out, k);
		else
			dot_row_columns(x, ct, k, d, out);
		t = (now_ns() - t0) / 1e3;
		sink = out[k / 2];
		if (t < best)
			best = t;
	}
	return best;
}

int
main(void)
{
	/* (lists, dims): 10M x 128, Fashion-MNIST, GloVe at their default nlist */
	static const int ranking[][2] = {{3162, 128}, {245, 784}, {576, 100}};
	static const int dims[] = {128, 768, 1536};
	const VqpqDistanceKernels *variants[8];
	int			nvariants = vqpq_distance_variants(variants, 8);

	vqpq_distance_init();
	printf("active kernel: %s\n\n", vqpq_kernels.name);
	printf("| dims | kernel | l2_squared ns | speed-up | inner_product ns | speed-up |\n");
	printf("|-----:|--------|--------------:|---------:|-----------------:|---------:|\n");

	for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
	{
		int			dim = dims[di];
		float	   *data = malloc(sizeof(float) * (size_t) dim * NVEC);
		float	   *query = malloc(sizeof(float) * dim);
		double		base_l2,
					base_ip;

		srand(42);
		for (size_t i = 0; i < (size_t) dim * NVEC; i++)
			data[i] = (float) rand() / RAND_MAX;
		for (int i = 0; i < dim; i++)
			query[i] = (float) rand() / RAND_MAX;

		base_l2 = time_kernel(l2_squared_scalar, data, query, dim);
		base_ip = time_kernel(inner_product_scalar, data, query, dim);
		printf("| %d | scalar loop | %.1f | 1.00x | %.1f | 1.00x |\n", dim, base_l2, base_ip);
		for (int v = 0; v < nvariants; v++)
		{
			double		l2 = time_kernel(variants[v]->l2_squared, data, query, dim);
			double		ip = time_kernel(variants[v]->inner_product, data, query, dim);

			printf("| %d | %s | %.1f | %.2fx | %.1f | %.2fx |\n", dim, variants[v]->name,
				   l2, base_l2 / l2, ip, base_ip / ip);
		}
		free(data);
		free(query);
	}

	printf("\n| lists x dims | kernel | ranking one query, us | speed-up |\n");
	printf("|---|--------|---------------------:|---------:|\n");
	for (size_t ri = 0; ri < sizeof(ranking) / sizeof(ranking[0]); ri++)
	{
		int			k = ranking[ri][0],
					d = ranking[ri][1];
		float	   *ct = malloc(sizeof(float) * (size_t) k * d);
		float	   *x = malloc(sizeof(float) * d);
		float	   *out = malloc(sizeof(float) * k);
		double		base;

		for (size_t i = 0; i < (size_t) k * d; i++)
			ct[i] = (float) rand() / RAND_MAX;
		for (int i = 0; i < d; i++)
			x[i] = (float) rand() / RAND_MAX;
		base = time_ranking(NULL, x, ct, k, d, out);
		printf("| %d x %d | column loop | %.1f | 1.00x |\n", k, d, base);
		for (int v = 0; v < nvariants; v++)
		{
			double		t = time_ranking(variants[v], x, ct, k, d, out);

			printf("| %d x %d | %s | %.1f | %.2fx |\n", k, d, variants[v]->name, t, base / t);
		}
		free(ct);
		free(x);
		free(out);
	}
	return 0;
}
