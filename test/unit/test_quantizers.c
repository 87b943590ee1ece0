/*
 * test_quantizers.c
 *		k-means and product quantizer checks on synthetic data, for every
 *		kernel variant the CPU supports.  Plain C: no server needed.
 *		Prints one line per failure and a closing "N passed, N failed" line.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distance.h"
#include "kmeans.h"
#include "pq.h"
#include "unit_test.h"

static double
uniform(void)
{
	return (double) (unit_next64() >> 11) / (double) (1ULL << 53);
}

static float
gaussian(void)
{
	double		u = uniform() + 1e-12,
				v = uniform();

	return (float) (sqrt(-2.0 * log(u)) * cos(2 * M_PI * v));
}

static int	assign_in_runs_calls;

/* A VqpqAssignFunction doing the serial step in runs of 7 rows. */
static int
assign_in_runs(void *arg, const float *x, int n, int ldx, int d, const float *ct, int k,
			   const float *norms, int32_t *assign, float *distance)
{
	float	   *scratch = malloc(sizeof(float) * VQPQ_ASSIGN_BLOCK * k);
	int			changed = 0;

	assert(arg != NULL);
	assign_in_runs_calls++;
	for (int i = 0; i < n; i += 7)
		changed += vqpq_assign_serial(x + (size_t) i * ldx, n - i < 7 ? n - i : 7, ldx, d, ct, k, norms,
									  assign + i, distance + i, scratch, NULL);
	free(scratch);
	return changed;
}

static void
test_kmeans(const char *variant)
{
	enum
	{
		K = 8, D = 16, PER = 300, N = K * PER
	};
	float	   *truth = malloc(sizeof(float) * K * D);
	float	   *x = malloc(sizeof(float) * N * D);
	float	   *c = malloc(sizeof(float) * K * D);
	void	   *ws = malloc(vqpq_kmeans_workspace_size(N, D, K));
	VqpqKmeansParams params = {.max_iterations = 25, .seed = 42};
	double		mse;
	int			matched = 0;

	/* well-separated blobs: centres 20 apart, unit noise */
	for (int j = 0; j < K * D; j++)
		truth[j] = (float) (uniform() * 100.0);
	for (int i = 0; i < N; i++)
		for (int l = 0; l < D; l++)
			x[i * D + l] = truth[(i % K) * D + l] + gaussian();

	mse = vqpq_kmeans(x, N, D, D, K, &params, c, ws);
	CHECK(mse > 0.5 * D && mse < 1.5 * D, "%s kmeans: mse %.2f, expected about %d (the noise)", variant, mse, D);
	for (int t = 0; t < K; t++)
	{
		float		best = INFINITY;

		for (int j = 0; j < K; j++)
			best = fminf(best, vqpq_kernels.l2_squared(truth + t * D, c + j * D, D));
		if (best < 1.0f)
			matched++;
	}
	CHECK(matched == K, "%s kmeans: %d of %d true centres found", variant, matched, K);

	/* an assignment step that shares the rows out (in runs of 7) gives the same clusters */
	{
		float	   *c2 = malloc(sizeof(float) * K * D);
		void	   *ws2 = malloc(vqpq_kmeans_workspace_size(N, D, K));
		VqpqKmeansParams shared = params;
		double		mse2;

		shared.assign = assign_in_runs;
		shared.assign_arg = ws;	/* any pointer: checked to be passed through */
		mse2 = vqpq_kmeans(x, N, D, D, K, &shared, c2, ws2);
		CHECK(assign_in_runs_calls > 0, "%s kmeans: the assignment step given was used", variant);
		CHECK(mse2 == mse && memcmp(c, c2, sizeof(float) * K * D) == 0,
			  "%s kmeans: the same centroids whichever assignment step (mse %.6f, %.6f)", variant, mse, mse2);
		free(c2);
		free(ws2);
	}

	/* fewer rows than clusters, and all rows equal: finite centroids, no crash */
	{
		float		few[3 * D];
		float		many_c[16 * D];
		void	   *ws2 = malloc(vqpq_kmeans_workspace_size(3, D, 16));
		int			finite = 1;

		for (int i = 0; i < 3 * D; i++)
			few[i] = 1.0f;
		mse = vqpq_kmeans(few, 3, D, D, 16, &params, many_c, ws2);
		/* extra centroids are copies, possibly nudged apart by a split */
		for (int i = 0; i < 16 * D; i++)
			finite &= isfinite(many_c[i]) && fabsf(many_c[i] - 1.0f) < 0.01f;
		CHECK(mse < 1e-6 && finite, "%s kmeans: duplicate rows, n < k (mse %g)", variant, mse);
		free(ws2);
	}

	/* vqpq_nearest agrees with brute force */
	{
		float	   *ct = malloc(sizeof(float) * K * D);
		float		norms[K];
		int32_t    *nearest = malloc(sizeof(int32_t) * N);
		float	   *dist = malloc(sizeof(float) * N);
		float	   *scratch = malloc(sizeof(float) * VQPQ_ASSIGN_BLOCK * K);
		int			wrong = 0;

		vqpq_transpose_centroids(c, K, D, ct, norms);
		vqpq_nearest(x, N, D, D, ct, K, norms, nearest, dist, scratch, NULL);
		for (int i = 0; i < N; i++)
		{
			int			best = 0;

			for (int j = 1; j < K; j++)
				if (vqpq_kernels.l2_squared(x + i * D, c + j * D, D) <
					vqpq_kernels.l2_squared(x + i * D, c + best * D, D))
					best = j;
			/* the norm expansion cancels ||x||^2: allow for its rounding */
			if (best != nearest[i] ||
				fabsf(dist[i] - vqpq_kernels.l2_squared(x + i * D, c + best * D, D)) >
				1e-5f * vqpq_kernels.inner_product(x + i * D, x + i * D, D))
				wrong++;
		}
		CHECK(wrong == 0, "%s nearest: %d of %d rows wrong", variant, wrong, N);
		free(ct);
		free(nearest);
		free(dist);
		free(scratch);
	}
	free(truth);
	free(x);
	free(c);
	free(ws);
}

/*
 * The L2 table of a query residual r, by the definition: lut[j][c] =
 * ||r_j - C_jc||^2, so that ||r - decode(code)||^2 = sum_j lut[j][code_j].
 * The index forms its tables from two precomputed terms instead; this is
 * what they must add up to.
 */
static void
reference_lut_l2(const VqpqPq *pq, const float *r, float *lut)
{
	for (int j = 0; j < pq->m; j++)
	{
		int			off = pq->offset[j];
		int			dsub = pq->offset[j + 1] - off;

		for (int c = 0; c < pq->ksub; c++)
		{
			const float *centroid = pq->codebook + (size_t) pq->ksub * off + (size_t) c * dsub;
			double		sum = 0.0;

			for (int l = 0; l < dsub; l++)
				sum += ((double) r[off + l] - centroid[l]) * ((double) r[off + l] - centroid[l]);
			lut[(size_t) j * pq->ksub + c] = (float) sum;
		}
	}
}

static void
test_pq(const char *variant, int nbits)
{
	enum
	{
		N = 3000, D = 37, M = 5
	};
	VqpqPq		pq;
	void	   *mem = malloc(vqpq_pq_arrays_size(D, M, nbits));
	float	   *x = malloc(sizeof(float) * N * D);
	void	   *ws;
	uint8_t    *codes;
	float	   *scratch;
	VqpqKmeansParams params = {.max_iterations = 15, .seed = 7};
	double		error;
	float		q[D],
				rec[D],
				lut_l2[M * 256],
				lut_ip[M * 256],
				adc_l2[N],
				adc_ip[N],
				adc_split[N],
				centroid[D],
				query_res[D],
				list_table[M * 256],
				query_table[M * 256];
	int			wrong_code = 0,
				wrong_l2 = 0,
				wrong_ip = 0;

	vqpq_pq_init(&pq, D, M, nbits, mem);
	CHECK(pq.offset[M] == D && pq.offset[1] == 8 && pq.offset[2] - pq.offset[1] == 8 &&
		  pq.offset[3] - pq.offset[2] == 7, "%s pq: uneven split of %d dims into %d", variant, D, M);
	CHECK(pq.code_size == (nbits == 8 ? M : (M + 1) / 2), "%s pq: code size", variant);

	for (int i = 0; i < N * D; i++)
		x[i] = gaussian();
	ws = malloc(vqpq_pq_train_workspace_size(&pq, N));
	error = vqpq_pq_train(&pq, x, N, D, &params, ws);
	/* quantizing gaussian data must explain a good part of its variance */
	CHECK(error > 0 && error < (nbits == 8 ? 0.6 : 0.85) * D,
		  "%s pq%d: quantization error %.2f of total variance %d", variant, nbits, error, D);

	codes = malloc((size_t) N * pq.code_size);
	scratch = malloc(sizeof(float) * VQPQ_PQ_ENCODE_SCRATCH(&pq));
	vqpq_pq_encode(&pq, x, N, D, codes, scratch);

	for (int l = 0; l < D; l++)
		q[l] = gaussian();
	reference_lut_l2(&pq, q, lut_l2);
	vqpq_pq_lut_ip(&pq, q, lut_ip);
	vqpq_pq_adc(&pq, lut_l2, 0.5f, codes, N, pq.code_size, adc_l2);
	vqpq_pq_adc(&pq, lut_ip, 0.0f, codes, N, pq.code_size, adc_ip);

	/*
	 * Precomputed tables: with the query as a residual of some centroid,
	 * ||q - c||^2 + ADC over list_table + query_table must match the ADC over
	 * the residual's own table.
	 */
	for (int l = 0; l < D; l++)
	{
		centroid[l] = 3 * gaussian();
		query_res[l] = q[l] + centroid[l];
	}
	vqpq_pq_list_table_l2(&pq, centroid, list_table);
	vqpq_pq_query_table_l2(&pq, query_res, query_table);
	vqpq_pq_lut_combine(&pq, list_table, query_table, list_table);
	vqpq_pq_adc(&pq, list_table, 0.5f + vqpq_kernels.l2_squared(query_res, centroid, D),
				codes, N, pq.code_size, adc_split);
	{
		int			wrong_split = 0;

		for (int i = 0; i < N; i++)
			if (fabsf(adc_split[i] - adc_l2[i]) > 1e-3f * (1 + adc_l2[i] + vqpq_kernels.inner_product(centroid, centroid, D)))
				wrong_split++;
		CHECK(wrong_split == 0, "%s pq%d: %d precomputed-table ADC values differ", variant, nbits, wrong_split);
	}

	for (int i = 0; i < N; i++)
	{
		vqpq_pq_decode(&pq, codes + (size_t) i * pq.code_size, rec);
		/* each sub-code is the nearest sub-centroid */
		for (int j = 0; j < M; j++)
		{
			int			off = pq.offset[j],
						dsub = pq.offset[j + 1] - off;
			float		chosen = vqpq_kernels.l2_squared(x + i * D + off, rec + off, dsub);

			for (int c = 0; c < pq.ksub; c++)
				if (vqpq_kernels.l2_squared(x + i * D + off, pq.codebook + (size_t) pq.ksub * off + c * dsub, dsub) < chosen - 1e-4f)
					wrong_code++;
		}
		/* ADC = exact distance to the decoded vector */
		if (fabsf(adc_l2[i] - 0.5f - vqpq_kernels.l2_squared(q, rec, D)) > 1e-3f * (1 + adc_l2[i]))
			wrong_l2++;
		if (fabsf(adc_ip[i] + vqpq_kernels.inner_product(q, rec, D)) > 1e-3f * (1 + fabsf(adc_ip[i])))
			wrong_ip++;
	}
	CHECK(wrong_code == 0, "%s pq%d: %d sub-codes not the nearest", variant, nbits, wrong_code);
	CHECK(wrong_l2 == 0, "%s pq%d: %d L2 ADC values differ from the decoded distance", variant, nbits, wrong_l2);
	CHECK(wrong_ip == 0, "%s pq%d: %d IP ADC values differ from the decoded product", variant, nbits, wrong_ip);

	free(mem);
	free(x);
	free(ws);
	free(codes);
	free(scratch);
}

int
main(void)
{
	const VqpqDistanceKernels *variants[8];
	int			nvariants = vqpq_distance_variants(variants, 8);

	unit_rng = 0x2545F4914F6CDD1DULL;
	for (int v = 0; v < nvariants; v++)
	{
		vqpq_kernels = *variants[v];
		test_kmeans(variants[v]->name);
		test_pq(variants[v]->name, 8);
		test_pq(variants[v]->name, 4);
	}
	return unit_report();
}
