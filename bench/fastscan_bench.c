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
	return 0;
}
