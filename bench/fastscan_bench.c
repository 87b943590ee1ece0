/*
 * fastscan_bench.c
 *		Nanoseconds per row to score PQ codes, in one run: the 8-bit ADC loop
 *		(float tables of m x 256) as the baseline, the row-major 4-bit ADC
 *		loop, and each fast-scan variant this CPU supports, at code sizes of
 *		Fashion-MNIST's indexes (98 bytes per row: m 98 at 8 bits, m 196 at
 *		4; and the 4-bit default for 784 dims, m 242).  Codes are cycled
 *		through 256 kB, about one probed list's worth of pages.  Read the
 *		ratios, not the absolute values: this machine is noisy.
 *
 *		For filtered scans it also times what a scan chooses between on a
 *		page where few rows meet the filter: scoring one row straight from
 *		its blocked code and the list's two float tables, against forming
 *		the list's table (combined and quantized) and fast-scanning blocks.
 *
 *		make bench-fastscan
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fastscan.h"
#include "pq.h"

#define CODE_BYTES	(256 * 1024)
#define REPEAT		200

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static volatile float sink;

/* ns per row of vqpq_pq_adc over row-major codes */
static double
time_adc(int m, int nbits)
{
	VqpqPq		pq;
	void	   *mem = malloc(vqpq_pq_arrays_size(m, m, nbits));
	int			ksub = 1 << nbits;
	int			code_size = nbits == 8 ? m : (m + 1) / 2;
	int			rows = CODE_BYTES / code_size;
	unsigned char *codes = malloc((size_t) rows * code_size);
	float	   *lut = malloc(sizeof(float) * m * ksub);
	float	   *out = malloc(sizeof(float) * rows);
	double		t0;

	vqpq_pq_init(&pq, m, m, nbits, mem);
	for (size_t i = 0; i < (size_t) rows * code_size; i++)
		codes[i] = (unsigned char) rand();
	for (int i = 0; i < m * ksub; i++)
		lut[i] = (float) rand() / RAND_MAX;
	t0 = now_ns();
	for (int r = 0; r < REPEAT; r++)
	{
		vqpq_pq_adc(&pq, lut, 0.0f, codes, rows, code_size, out);
		sink += out[r % rows];
	}
	t0 = (now_ns() - t0) / ((double) REPEAT * rows);
	free(mem);
	free(codes);
	free(lut);
	free(out);
	return t0;
}

/* ns per row of one fast-scan variant over blocks */
static double
time_fastscan(const VqpqFastScanKernels *k, int m)
{
	size_t		block = VQPQ_FS_CODES_SIZE(m);
	int			nblocks = (int) (CODE_BYTES / block);
	unsigned char *codes = malloc(block * nblocks);
	unsigned char *qtable = malloc(VQPQ_FS_TABLE_SIZE(m));
	uint32_t	out[VQPQ_FS_ROWS];
	double		t0;

	for (size_t i = 0; i < block * nblocks; i++)
		codes[i] = (unsigned char) rand();
	for (size_t i = 0; i < VQPQ_FS_TABLE_SIZE(m); i++)
		qtable[i] = (unsigned char) rand();
	t0 = now_ns();
	for (int r = 0; r < REPEAT; r++)
		for (int b = 0; b < nblocks; b++)
		{
			k->score_block(codes + block * b, qtable, m, out);
			sink += out[b & 31];
		}
	t0 = (now_ns() - t0) / ((double) REPEAT * nblocks * VQPQ_FS_ROWS);
	free(codes);
	free(qtable);
	return t0;
}

/*
 * ns per row to score rows one by one from blocked codes: each sub-code
 * read straight from the block, and looked up in a list's and the query's
 * float tables (L2 and cosine, the list's table not yet formed)
 */
static double
time_one_by_one(int m)
{
	size_t		block = VQPQ_FS_CODES_SIZE(m);
	int			nblocks = (int) (CODE_BYTES / block);
	unsigned char *codes = malloc(block * nblocks);
	float	   *list_table = malloc(sizeof(float) * m * 16);
	float	   *query_table = malloc(sizeof(float) * m * 16);
	double		t0;
	int			rows = 0;

	for (size_t i = 0; i < block * nblocks; i++)
		codes[i] = (unsigned char) rand();
	for (int i = 0; i < m * 16; i++)
	{
		list_table[i] = (float) rand() / RAND_MAX;
		query_table[i] = (float) rand() / RAND_MAX;
	}
	t0 = now_ns();
	for (int r = 0; r < REPEAT; r++)
		for (int b = 0; b < nblocks; b++)
		{
			/* one row of each block, as a sparse filter's match would be */
			sink += vqpq_fs_row_sum(codes + block * b, m, (b + r) % VQPQ_FS_ROWS, list_table, query_table);
			rows++;
		}
	t0 = (now_ns() - t0) / rows;
	free(codes);
	free(list_table);
	free(query_table);
	return t0;
}

/* ns to form a list's table: the two float tables added, then quantized */
static double
time_table(const VqpqFastScanKernels *k, int m)
{
	VqpqPq		pq;
	void	   *mem = malloc(vqpq_pq_arrays_size(m, m, 4));
	float	   *list_table = malloc(sizeof(float) * m * 16);
	float	   *query_table = malloc(sizeof(float) * m * 16);
	float	   *lut = malloc(sizeof(float) * m * 16);
	unsigned char *qtable = malloc(VQPQ_FS_TABLE_SIZE(m));
	float		bias;
	double		t0;
	int			n = REPEAT * 100;

	vqpq_pq_init(&pq, m, m, 4, mem);
	for (int i = 0; i < m * 16; i++)
	{
		list_table[i] = (float) rand() / RAND_MAX;
		query_table[i] = (float) rand() / RAND_MAX;
	}
	t0 = now_ns();
	for (int r = 0; r < n; r++)
	{
		list_table[r % (m * 16)] += 1e-6f;
		vqpq_pq_lut_combine(&pq, list_table, query_table, lut);
		sink += k->quantize_table(lut, m, qtable, &bias);
	}
	t0 = (now_ns() - t0) / n;
	free(mem);
	free(list_table);
	free(query_table);
	free(lut);
	free(qtable);
	return t0;
}

int
main(void)
{
	const VqpqFastScanKernels *variants[4];
	int			nvariants = vqpq_fastscan_variants(variants, 4);
	double		base = time_adc(98, 8);

	printf("| code | scoring | ns per row | speed-up |\n|---|---|---:|---:|\n");
	printf("| m 98, 8-bit (98 bytes) | ADC loop, float tables | %.1f | 1.00x |\n", base);
	for (int i = 0; i < 2; i++)
	{
		int			m = i == 0 ? 196 : 242;
		double		t = time_adc(m, 4);

		printf("| m %d, 4-bit (%d bytes) | ADC loop, row-major | %.1f | %.2fx |\n", m, (m + 1) / 2, t, base / t);
		for (int v = 0; v < nvariants; v++)
		{
			t = time_fastscan(variants[v], m);
			printf("| m %d, 4-bit (%d bytes) | fast-scan %s | %.1f | %.2fx |\n",
				   m, (m + 1) / 2, variants[v]->name, t, base / t);
		}
	}

	vqpq_fastscan_init();
	printf("\n| code | filtered page: step | ns |\n|---|---|---:|\n");
	for (int i = 0; i < 2; i++)
	{
		int			m = i == 0 ? 196 : 242;

		printf("| m %d, 4-bit | one row read from its block, two float tables | %.1f |\n", m, time_one_by_one(m));
		for (int v = 1; v < nvariants; v++)
			printf("| m %d, 4-bit | a block of 32 rows, fast-scan %s | %.1f |\n", m, variants[v]->name,
				   time_fastscan(variants[v], m) * VQPQ_FS_ROWS);
		printf("| m %d, 4-bit | the list's table formed and quantized (%s) | %.1f |\n", m, vqpq_fastscan.name,
			   time_table(&vqpq_fastscan, m));
	}
	return 0;
}
