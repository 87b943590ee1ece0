/*
 * fastscan.c
 *		4-bit fast-scan: the block layout, and the kernels that quantize
 *		tables to bytes and score blocks, in a portable variant and AVX2 /
 *		AVX-512BW variants chosen at run time (see fastscan.h).
 */
#include <math.h>
#include <string.h>

#include "fastscan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VQPQ_X86_DISPATCH 1
#include <immintrin.h>
#endif

/*
 * The SIMD kernels add byte lookups into 16-bit lanes; each lane takes one
 * lookup (at most 255) per pair of sub-spaces, so after 256 pairs the lanes
 * are widened into the 32-bit totals before they can overflow.
 */
#define PAIRS_PER_CHUNK 256

/* ---------------------------------------------------------------- layout */

void
vqpq_fs_put_code(uint8_t *block, int m, int row, const uint8_t *code)
{
	int			byte = row & 15;
	int			shift = row < 16 ? 0 : 4;
	uint8_t		keep = (uint8_t) (0xF0 >> shift);

	for (int j = 0; j < VQPQ_FS_SUBSPACES(m); j++)
	{
		uint8_t		sub = j < m ? (code[j >> 1] >> ((j & 1) * 4)) & 15 : 0;
		uint8_t    *b = block + (size_t) j * 16 + byte;

		*b = (uint8_t) ((*b & keep) | (sub << shift));
	}
}

void
vqpq_fs_get_code(const uint8_t *block, int m, int row, uint8_t *code)
{
	int			byte = row & 15;
	int			shift = row < 16 ? 0 : 4;

	memset(code, 0, (size_t) (m + 1) / 2);
	for (int j = 0; j < m; j++)
	{
		uint8_t		sub = (block[(size_t) j * 16 + byte] >> shift) & 15;

		code[j >> 1] |= (uint8_t) (sub << ((j & 1) * 4));
	}
}

float
vqpq_fs_row_sum(const uint8_t *block, int m, int row, const float *table, const float *table2)
{
	const uint8_t *b = block + (row & 15);
	int			shift = row < 16 ? 0 : 4;
	float		s0 = 0,
				s1 = 0;
	int			j = 0;

#define ROW_SUB(j) ((size_t) (j) * 16 + ((b[(size_t) (j) * 16] >> shift) & 15))
	/* two independent sums hide the load latency */
	if (table2 == NULL)
	{
		for (; j + 2 <= m; j += 2)
		{
			s0 += table[ROW_SUB(j)];
			s1 += table[ROW_SUB(j + 1)];
		}
		if (j < m)
			s0 += table[ROW_SUB(j)];
	}
	else
	{
		for (; j + 2 <= m; j += 2)
		{
			size_t		a0 = ROW_SUB(j);
			size_t		a1 = ROW_SUB(j + 1);

			s0 += table[a0] + table2[a0];
			s1 += table[a1] + table2[a1];
		}
		if (j < m)
		{
			size_t		a0 = ROW_SUB(j);

			s0 += table[a0] + table2[a0];
		}
	}
#undef ROW_SUB
	return s0 + s1;
}

/* ---------------------------------------------------------------- tables */

/* ---------------------------------------------------------------- portable */

static void
score_block_portable(const uint8_t *codes, const uint8_t *qtable, int m, uint32_t *out)
{
	for (int r = 0; r < VQPQ_FS_ROWS; r++)
		out[r] = 0;
	for (int j = 0; j < VQPQ_FS_SUBSPACES(m); j++)
	{
		const uint8_t *c = codes + (size_t) j * 16;
		const uint8_t *t = qtable + (size_t) j * 16;

		for (int b = 0; b < 16; b++)
		{
			out[b] += t[c[b] & 15];
			out[b + 16] += t[c[b] >> 4];
		}
	}
}

/*
 * Tables: every variant computes the same bytes.  One sub-space's range is
 * exact whatever the order of the compares; the bias adds the minimums in
 * sub-space order; the byte is (t - lo) * inv rounded to nearest, ties to
 * even (what SIMD conversions do in the default rounding mode), capped at
 * 255.  No step of it can be fused into a multiply-add.
 */
/*
 * The steps a variant supplies: one sub-space's smallest and largest entry,
 * and its 16 bytes given the smallest and 255 / range.
 */
typedef void (*RangeFn) (const float *t, float *lo, float *hi);
typedef void (*Quantize16Fn) (const float *t, float lo, float inv, uint8_t *q);

/*
 * The table quantizer every variant runs, with its own two steps (inlined
 * into each variant's copy).
 */
static inline float
quantize_table_with(const float *table, int m, uint8_t *qtable, float *bias,
					RangeFn range16, Quantize16Fn quantize16)
{
	float		range = 0.0f;
	float		sum_min = 0.0f;
	float		inv = 0.0f;
	float		step = 0.0f;

	for (int j = 0; j < m; j++)
	{
		float		lo,
					hi;

		range16(table + (size_t) j * 16, &lo, &hi);
		range = hi - lo > range ? hi - lo : range;
		sum_min += lo;
	}
	/* a zero (or non-finite) range leaves nothing to tell apart: all zeros */
	if (isfinite(range) && range > 0.0f)
	{
		inv = 255.0f / range;
		step = range / 255.0f;
	}
	for (int j = 0; j < m; j++)
	{
		const float *t = table + (size_t) j * 16;
		float		lo,
					hi;

		range16(t, &lo, &hi);
		quantize16(t, lo, inv, qtable + (size_t) j * 16);
	}
	if (m & 1)
		memset(qtable + (size_t) m * 16, 0, 16);
	*bias = sum_min;
	return step;
}

static inline void
range_portable(const float *t, float *lo, float *hi)
{
	float		a = t[0];
	float		b = t[0];

	for (int c = 1; c < 16; c++)
	{
		a = t[c] < a ? t[c] : a;
		b = t[c] > b ? t[c] : b;
	}
	*lo = a;
	*hi = b;
}

static inline void
quantize16_portable(const float *t, float lo, float inv, uint8_t *q)
{
	for (int c = 0; c < 16; c++)
	{
		float		v = (t[c] - lo) * inv;	/* in [0, 255] up to rounding */
		int			i = (int) v;
		float		frac = v - (float) i;	/* exact */

		if (frac > 0.5f || (frac == 0.5f && (i & 1)))
			i++;
		q[c] = i > 255 ? 255 : (uint8_t) i;
	}
}

static float
quantize_table_portable(const float *table, int m, uint8_t *qtable, float *bias)
{
	return quantize_table_with(table, m, qtable, bias, range_portable, quantize16_portable);
}

static const VqpqFastScanKernels portable_kernels = {
	"portable",
	score_block_portable,
	quantize_table_portable,
};

#ifdef VQPQ_X86_DISPATCH

/*
 * The SIMD variants read each 16-bit lane of a shuffle's result as two rows'
 * lookups, the even row in the low byte.  They keep two sums per lane: all
 * of it (low byte + 256 * high byte, wrapping) and the high bytes alone;
 * the even rows' sum is then the first minus 256 times the second, exact as
 * long as neither exceeds 16 bits (PAIRS_PER_CHUNK).  This costs a shift and
 * an add per shuffle instead of widening every byte.
 */

/* ---------------- AVX2: two sub-spaces per 32-byte step ---------------- */

#define AVX2 __attribute__((target("avx2")))

/* Add 16 rows' sums, held as (all, high bytes) per 128-bit lane, into out. */
AVX2 static inline void
flush_avx2(__m256i all, __m256i odd, uint32_t *out)
{
	__m256i		even = _mm256_sub_epi16(all, _mm256_slli_epi16(odd, 8));
	__m256i		rows0 = _mm256_unpacklo_epi16(even, odd);	/* rows 0-7, per lane */
	__m256i		rows8 = _mm256_unpackhi_epi16(even, odd);	/* rows 8-15 */
	__m256i		a = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(rows0)),
									 _mm256_cvtepu16_epi32(_mm256_extracti128_si256(rows0, 1)));
	__m256i		b = _mm256_add_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(rows8)),
									 _mm256_cvtepu16_epi32(_mm256_extracti128_si256(rows8, 1)));

	_mm256_storeu_si256((__m256i *) out,
						_mm256_add_epi32(_mm256_loadu_si256((const __m256i *) out), a));
	_mm256_storeu_si256((__m256i *) (out + 8),
						_mm256_add_epi32(_mm256_loadu_si256((const __m256i *) (out + 8)), b));
}

AVX2 static void
score_block_avx2(const uint8_t *codes, const uint8_t *qtable, int m, uint32_t *out)
{
	const __m256i nibble = _mm256_set1_epi8(0x0f);
	int			pairs = VQPQ_FS_SUBSPACES(m) / 2;

	memset(out, 0, sizeof(uint32_t) * VQPQ_FS_ROWS);
	for (int start = 0; start < pairs; start += PAIRS_PER_CHUNK)
	{
		int			end = pairs - start < PAIRS_PER_CHUNK ? pairs : start + PAIRS_PER_CHUNK;
		__m256i		lo_all = _mm256_setzero_si256();
		__m256i		lo_odd = _mm256_setzero_si256();
		__m256i		hi_all = _mm256_setzero_si256();
		__m256i		hi_odd = _mm256_setzero_si256();

		for (int p = start; p < end; p++)
		{
			__m256i		c = _mm256_loadu_si256((const __m256i *) (codes + (size_t) p * 32));
			__m256i		t = _mm256_loadu_si256((const __m256i *) (qtable + (size_t) p * 32));
			__m256i		lo = _mm256_shuffle_epi8(t, _mm256_and_si256(c, nibble));
			__m256i		hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), nibble));

			lo_all = _mm256_add_epi16(lo_all, lo);
			lo_odd = _mm256_add_epi16(lo_odd, _mm256_srli_epi16(lo, 8));
			hi_all = _mm256_add_epi16(hi_all, hi);
			hi_odd = _mm256_add_epi16(hi_odd, _mm256_srli_epi16(hi, 8));
		}
		flush_avx2(lo_all, lo_odd, out);
		flush_avx2(hi_all, hi_odd, out + 16);
	}
}

AVX2 static inline void
range_avx2(const float *t, float *lo, float *hi)
{
	__m256		a = _mm256_loadu_ps(t);
	__m256		b = _mm256_loadu_ps(t + 8);
	__m256		mn = _mm256_min_ps(a, b);
	__m256		mx = _mm256_max_ps(a, b);
	__m128		m4 = _mm_min_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
	__m128		x4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));

	m4 = _mm_min_ps(m4, _mm_movehl_ps(m4, m4));
	x4 = _mm_max_ps(x4, _mm_movehl_ps(x4, x4));
	m4 = _mm_min_ss(m4, _mm_shuffle_ps(m4, m4, 1));
	x4 = _mm_max_ss(x4, _mm_shuffle_ps(x4, x4, 1));
	*lo = _mm_cvtss_f32(m4);
	*hi = _mm_cvtss_f32(x4);
}

/* One sub-space's 16 floats are two registers. */
AVX2 static inline void
quantize16_avx2(const float *t, float lo, float inv, uint8_t *q)
{
	__m256		vlo = _mm256_set1_ps(lo);
	__m256		vinv = _mm256_set1_ps(inv);
	__m256i		qa = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(t), vlo), vinv));
	__m256i		qb = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(t + 8), vlo), vinv));
	/* packing saturates at 255 and interleaves the halves per lane: undo that */
	__m256i		words = _mm256_permute4x64_epi64(_mm256_packus_epi32(qa, qb), 0xD8);

	_mm_storeu_si128((__m128i *) q,
					 _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
}

AVX2 static float
quantize_table_avx2(const float *table, int m, uint8_t *qtable, float *bias)
{
	return quantize_table_with(table, m, qtable, bias, range_avx2, quantize16_avx2);
}

static const VqpqFastScanKernels avx2_kernels = {
	"avx2",
	score_block_avx2,
	quantize_table_avx2,
};

/* ---------------- AVX-512BW: four sub-spaces per 64-byte step ---------------- */

#define AVX512BW __attribute__((target("avx2,avx512f,avx512bw")))

AVX512BW static inline void
flush_avx512(__m512i all, __m512i odd, uint32_t *out)
{
	__m512i		even = _mm512_sub_epi16(all, _mm512_slli_epi16(odd, 8));
	__m512i		halves[2];

	halves[0] = _mm512_unpacklo_epi16(even, odd);	/* rows 0-7, per lane */
	halves[1] = _mm512_unpackhi_epi16(even, odd);	/* rows 8-15 */
	for (int h = 0; h < 2; h++)
	{
		/* widen the four lanes and add them up */
		__m512i		s = _mm512_add_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(halves[h])),
										 _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(halves[h], 1)));
		__m256i		rows = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
		uint32_t   *o = out + 8 * h;

		_mm256_storeu_si256((__m256i *) o, _mm256_add_epi32(_mm256_loadu_si256((const __m256i *) o), rows));
	}
}

AVX512BW static void
score_block_avx512(const uint8_t *codes, const uint8_t *qtable, int m, uint32_t *out)
{
	const __m512i nibble = _mm512_set1_epi8(0x0f);
	int			pairs = VQPQ_FS_SUBSPACES(m) / 2;

	memset(out, 0, sizeof(uint32_t) * VQPQ_FS_ROWS);
	for (int start = 0; start < pairs; start += PAIRS_PER_CHUNK)
	{
		int			end = pairs - start < PAIRS_PER_CHUNK ? pairs : start + PAIRS_PER_CHUNK;
		__m512i		lo_all = _mm512_setzero_si512();
		__m512i		lo_odd = _mm512_setzero_si512();
		__m512i		hi_all = _mm512_setzero_si512();
		__m512i		hi_odd = _mm512_setzero_si512();
		int			p;

		for (p = start; p < end; p += 2)
		{
			__m512i		c,
						t,
						lo,
						hi;

			if (p + 1 < end)
			{
				c = _mm512_loadu_si512(codes + (size_t) p * 32);
				t = _mm512_loadu_si512(qtable + (size_t) p * 32);
			}
			else
			{
				/* one pair left: the upper lanes load zeros, which add 0 */
				c = _mm512_maskz_loadu_epi8((__mmask64) 0xFFFFFFFFu, codes + (size_t) p * 32);
				t = _mm512_maskz_loadu_epi8((__mmask64) 0xFFFFFFFFu, qtable + (size_t) p * 32);
			}
			lo = _mm512_shuffle_epi8(t, _mm512_and_si512(c, nibble));
			hi = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(c, 4), nibble));
			lo_all = _mm512_add_epi16(lo_all, lo);
			lo_odd = _mm512_add_epi16(lo_odd, _mm512_srli_epi16(lo, 8));
			hi_all = _mm512_add_epi16(hi_all, hi);
			hi_odd = _mm512_add_epi16(hi_odd, _mm512_srli_epi16(hi, 8));
		}
		flush_avx512(lo_all, lo_odd, out);
		flush_avx512(hi_all, hi_odd, out + 16);
	}
}

/* One sub-space's 16 floats are one register. */
AVX512BW static inline void
range_avx512(const float *t, float *lo, float *hi)
{
	__m512		v = _mm512_loadu_ps(t);

	*lo = _mm512_reduce_min_ps(v);
	*hi = _mm512_reduce_max_ps(v);
}

AVX512BW static inline void
quantize16_avx512(const float *t, float lo, float inv, uint8_t *q)
{
	__m512		v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(t), _mm512_set1_ps(lo)), _mm512_set1_ps(inv));
	__m512i		b = _mm512_min_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(255));

	_mm_storeu_si128((__m128i *) q, _mm512_cvtepi32_epi8(b));
}

AVX512BW static float
quantize_table_avx512(const float *table, int m, uint8_t *qtable, float *bias)
{
	return quantize_table_with(table, m, qtable, bias, range_avx512, quantize16_avx512);
}

static const VqpqFastScanKernels avx512_kernels = {
	"avx512bw",
	score_block_avx512,
	quantize_table_avx512,
};

static int
cpu_has_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

static int
cpu_has_avx512bw(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#endif							/* VQPQ_X86_DISPATCH */

VqpqFastScanKernels vqpq_fastscan = {
	"portable",
	score_block_portable,
	quantize_table_portable,
};

int
vqpq_fastscan_variants(const VqpqFastScanKernels **variants, int max)
{
	int			n = 0;

	if (n < max)
		variants[n++] = &portable_kernels;
#ifdef VQPQ_X86_DISPATCH
	if (n < max && cpu_has_avx2())
		variants[n++] = &avx2_kernels;
	if (n < max && cpu_has_avx512bw())
		variants[n++] = &avx512_kernels;
#endif
	return n;
}

void
vqpq_fastscan_init(void)
{
	const VqpqFastScanKernels *variants[4];
	int			n = vqpq_fastscan_variants(variants, 4);

	vqpq_fastscan = *variants[n - 1];
}
