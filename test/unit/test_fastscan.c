/*
 * test_fastscan.c
 *		4-bit fast-scan checks: the block layout round-trips codes (and a
 *		row's float table sum read from its block is its code's), table
 *		quantization stays within its error bound and gives the same bytes in
 *		every variant the CPU supports, and every variant's block scores are
 *		exactly the sums of a plain reference loop, including at the 16-bit
 *		chunk boundary with every lookup at 255.
 *		Plain C: no server needed.  Prints one line per failure and a closing
 *		"N passed, N failed" line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastscan.h"
#include "unit_test.h"

static unsigned
next_random(void)
{
	return (unsigned) (unit_next64() >> 33);
}

/* m's worth of random packed 4-bit sub-codes */
static void
random_code(int m, uint8_t *code)
{
	memset(code, 0, (size_t) (m + 1) / 2);
	for (int j = 0; j < m; j++)
		code[j >> 1] |= (uint8_t) ((next_random() & 15) << ((j & 1) * 4));
}

static int
sub_code(const uint8_t *code, int j)
{
	return (code[j >> 1] >> ((j & 1) * 4)) & 15;
}

/* Codes in and out of a block, rows written in a scrambled order. */
static void
test_layout(int m)
{
	size_t		csize = (size_t) (m + 1) / 2;
	uint8_t    *codes = malloc(csize * VQPQ_FS_ROWS);
	uint8_t    *block = calloc(1, VQPQ_FS_CODES_SIZE(m));
	uint8_t    *back = malloc(csize);
	int			wrong = 0;

	for (int r = 0; r < VQPQ_FS_ROWS; r++)
		random_code(m, codes + r * csize);
	for (int i = 0; i < VQPQ_FS_ROWS; i++)
	{
		int			r = (i * 7) % VQPQ_FS_ROWS;

		vqpq_fs_put_code(block, m, r, codes + r * csize);
	}
	/* overwrite one row: its neighbours in the same bytes must survive */
	random_code(m, codes + 5 * csize);
	vqpq_fs_put_code(block, m, 5, codes + 5 * csize);
	for (int r = 0; r < VQPQ_FS_ROWS; r++)
	{
		vqpq_fs_get_code(block, m, r, back);
		if (memcmp(back, codes + r * csize, csize) != 0)
			wrong++;
	}
	CHECK(wrong == 0, "layout m=%d: %d rows read back differently", m, wrong);

	/* a row's float sum read straight from the block, with one table or two */
	{
		float	   *t1 = malloc(sizeof(float) * m * 16);
		float	   *t2 = malloc(sizeof(float) * m * 16);
		int			off = 0;

		for (int i = 0; i < m * 16; i++)
		{
			t1[i] = (float) (next_random() % 1000) / 8;
			t2[i] = (float) (next_random() % 1000) / 8;
		}
		for (int r = 0; r < VQPQ_FS_ROWS; r++)
		{
			double		want1 = 0,
						want2 = 0;

			for (int j = 0; j < m; j++)
			{
				int			c = sub_code(codes + r * csize, j);

				want1 += t1[j * 16 + c];
				want2 += t1[j * 16 + c] + t2[j * 16 + c];
			}
			/* sums of multiples of 1/8 below 2^24 / 8 are exact in float */
			off += vqpq_fs_row_sum(block, m, r, t1, NULL) != (float) want1;
			off += vqpq_fs_row_sum(block, m, r, t1, t2) != (float) want2;
		}
		CHECK(off == 0, "layout m=%d: %d row sums differ from the codes' table sums", m, off);
		free(t1);
		free(t2);
	}
	if (m & 1)
	{
		int			nonzero = 0;

		for (int b = 0; b < 16; b++)
			nonzero += block[(size_t) m * 16 + b] != 0;
		CHECK(nonzero == 0, "layout m=%d: padding sub-space holds codes", m);
	}
	free(codes);
	free(block);
	free(back);
}

/*
 * Quantized tables approximate every code's float sum within m * step / 2,
 * and every variant computes the reference (portable) variant's bytes.
 */
static void
test_quantize(const VqpqFastScanKernels *k, const VqpqFastScanKernels *ref, int m)
{
	float	   *table = malloc(sizeof(float) * m * 16);
	uint8_t    *qtable = malloc(VQPQ_FS_TABLE_SIZE(m));
	uint8_t    *code = malloc((size_t) (m + 1) / 2);
	float		bias;
	float		step;
	double		worst = 0;
	int			saw255 = 0;

	for (int i = 0; i < m * 16; i++)
		table[i] = (float) (next_random() % 100000) / 1000.0f - 30.0f;
	/* ties to even: entries exactly half a step apart from the minimum */
	table[0] = -30.0f;
	table[1] = 70.0f;
	table[2] = -30.0f + 100.0f / 255.0f * 2.5f;
	step = k->quantize_table(table, m, qtable, &bias);
	for (size_t i = 0; i < VQPQ_FS_TABLE_SIZE(m); i++)
		saw255 |= qtable[i] == 255;
	CHECK(step > 0 && saw255, "%s quantize m=%d: step %g, largest entry not 255", k->name, m, step);
	{
		uint8_t    *expect = malloc(VQPQ_FS_TABLE_SIZE(m));
		float		ref_bias;
		float		ref_step = ref->quantize_table(table, m, expect, &ref_bias);

		CHECK(ref_step == step && ref_bias == bias &&
			  memcmp(expect, qtable, VQPQ_FS_TABLE_SIZE(m)) == 0,
			  "%s quantize m=%d: bytes, step or bias differ from %s's", k->name, m, ref->name);
		free(expect);
	}
	for (int trial = 0; trial < 200; trial++)
	{
		double		exact = 0;
		double		approx;
		long		qsum = 0;

		random_code(m, code);
		for (int j = 0; j < m; j++)
		{
			exact += table[j * 16 + sub_code(code, j)];
			qsum += qtable[j * 16 + sub_code(code, j)];
		}
		approx = bias + (double) step * qsum;
		worst = fmax(worst, fabs(approx - exact));
	}
	/* rounding error per sub-space is step / 2; allow float slack in bias */
	CHECK(worst <= m * step * 0.5 + 1e-4 * m, "%s quantize m=%d: error %g above bound %g", k->name, m, worst, m * step * 0.5);
	if (m & 1)
	{
		int			nonzero = 0;

		for (int c = 0; c < 16; c++)
			nonzero += qtable[(size_t) m * 16 + c] != 0;
		CHECK(nonzero == 0, "%s quantize m=%d: padding sub-space's table is not zero", k->name, m);
	}

	/* a flat table: nothing to tell apart, sums are the bias */
	for (int i = 0; i < m * 16; i++)
		table[i] = 2.5f;
	memset(qtable, 7, VQPQ_FS_TABLE_SIZE(m));
	step = k->quantize_table(table, m, qtable, &bias);
	{
		int			nonzero = 0;

		for (size_t i = 0; i < VQPQ_FS_TABLE_SIZE(m); i++)
			nonzero += qtable[i] != 0;
		CHECK(step == 0.0f && nonzero == 0 && fabsf(bias - 2.5f * m) < 1e-3f * m,
			  "%s quantize m=%d: flat table step %g bias %g, %d bytes not 0", k->name, m, step, bias, nonzero);
	}
	free(table);
	free(qtable);
	free(code);
}

/* Every variant's sums equal a plain loop's, for random and saturated tables. */
static void
test_kernels(const VqpqFastScanKernels *k, int m)
{
	size_t		csize = (size_t) (m + 1) / 2;
	uint8_t    *block = calloc(1, VQPQ_FS_CODES_SIZE(m));
	uint8_t    *codes = malloc(csize * VQPQ_FS_ROWS);
	uint8_t    *qtable = malloc(VQPQ_FS_TABLE_SIZE(m));
	uint32_t	out[VQPQ_FS_ROWS];

	for (int round = 0; round < 2; round++)
	{
		int			wrong = 0;

		for (int r = 0; r < VQPQ_FS_ROWS; r++)
		{
			random_code(m, codes + r * csize);
			vqpq_fs_put_code(block, m, r, codes + r * csize);
		}
		memset(qtable, 0, VQPQ_FS_TABLE_SIZE(m));
		for (int i = 0; i < m * 16; i++)
			qtable[i] = round == 0 ? (uint8_t) next_random() : 255;
		k->score_block(block, qtable, m, out);
		for (int r = 0; r < VQPQ_FS_ROWS; r++)
		{
			uint32_t	expect = 0;

			for (int j = 0; j < m; j++)
				expect += qtable[j * 16 + sub_code(codes + r * csize, j)];
			if (out[r] != expect)
				wrong++;
		}
		CHECK(wrong == 0, "%s m=%d %s table: %d of 32 rows' sums differ from the reference",
			  k->name, m, round == 0 ? "random" : "all-255", wrong);
	}
	free(block);
	free(codes);
	free(qtable);
}

int
main(void)
{
	static const int ms[] = {1, 2, 3, 4, 7, 16, 31, 64, 98, 196, 255, 256, 257, 392, 511, 512, 513, 514, 1023, 1030};
	const VqpqFastScanKernels *variants[4];
	int			nvariants = vqpq_fastscan_variants(variants, 4);

	unit_rng = 0x9E3779B97F4A7C15ULL;
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
	{
		test_layout(ms[i]);
		for (int v = 0; v < nvariants; v++)
		{
			test_quantize(variants[v], variants[0], ms[i]);
			test_kernels(variants[v], ms[i]);
		}
	}
	printf("fast-scan variants: ");
	for (int v = 0; v < nvariants; v++)
		printf("%s%s", v ? ", " : "", variants[v]->name);
	printf("\n");
	return unit_report();
}
