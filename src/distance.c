/*
 * distance.c
 *		Distance kernels: a portable variant, and AVX2+FMA / AVX-512F variants
 *		chosen at run time, so one built library runs on any x86-64 and uses
 *		the widest vectors the CPU (and OS) supports.
 */
#include <math.h>
#include <stddef.h>

#include "distance.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VQPQ_X86_DISPATCH 1
#include <immintrin.h>
#endif

/*
 * Portable variant.  Eight independent partial sums break the dependency
 * chain of a single accumulator; compilers turn the inner block into SIMD
 * without needing -ffast-math, because the order of the adds is fixed here.
 */
#define PORTABLE_LANES 8

static float
sum_lanes(const float *s)
{
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static float
l2_squared_portable(const float *a, const float *b, int n)
{
	float		s[PORTABLE_LANES] = {0};
	float		tail = 0.0f;
	int			i = 0;

	for (; i + PORTABLE_LANES <= n; i += PORTABLE_LANES)
	{
		for (int j = 0; j < PORTABLE_LANES; j++)
		{
			float		d = a[i + j] - b[i + j];

			s[j] += d * d;
		}
	}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		tail += d * d;
	}
	return sum_lanes(s) + tail;
}

static float
inner_product_portable(const float *a, const float *b, int n)
{
	float		s[PORTABLE_LANES] = {0};
	float		tail = 0.0f;
	int			i = 0;

	for (; i + PORTABLE_LANES <= n; i += PORTABLE_LANES)
	{
		for (int j = 0; j < PORTABLE_LANES; j++)
			s[j] += a[i + j] * b[i + j];
	}
	for (; i < n; i++)
		tail += a[i] * b[i];
	return sum_lanes(s) + tail;
}

static float
l1_portable(const float *a, const float *b, int n)
{
	float		s[PORTABLE_LANES] = {0};
	float		tail = 0.0f;
	int			i = 0;

	for (; i + PORTABLE_LANES <= n; i += PORTABLE_LANES)
	{
		for (int j = 0; j < PORTABLE_LANES; j++)
			s[j] += fabsf(a[i + j] - b[i + j]);
	}
	for (; i < n; i++)
		tail += fabsf(a[i] - b[i]);
	return sum_lanes(s) + tail;
}

static void
cosine_parts_portable(const float *a, const float *b, int n,
					  float *dot, float *norm_a, float *norm_b)
{
	float		d[PORTABLE_LANES] = {0};
	float		na[PORTABLE_LANES] = {0};
	float		nb[PORTABLE_LANES] = {0};
	float		td = 0.0f,
				ta = 0.0f,
				tb = 0.0f;
	int			i = 0;

	for (; i + PORTABLE_LANES <= n; i += PORTABLE_LANES)
	{
		for (int j = 0; j < PORTABLE_LANES; j++)
		{
			d[j] += a[i + j] * b[i + j];
			na[j] += a[i + j] * a[i + j];
			nb[j] += b[i + j] * b[i + j];
		}
	}
	for (; i < n; i++)
	{
		td += a[i] * b[i];
		ta += a[i] * a[i];
		tb += b[i] * b[i];
	}
	*dot = sum_lanes(d) + td;
	*norm_a = sum_lanes(na) + ta;
	*norm_b = sum_lanes(nb) + tb;
}

/* Row by row; the inner loop has no reduction, so compilers vectorize it. */
static void
dot_block_portable(const float *x, int n, int ldx, const float *ct, int k, int ldc,
				   int d, float *out, int ldo)
{
	for (int i = 0; i < n; i++)
	{
		float	   *restrict o = out + (size_t) i * ldo;
		const float *xi = x + (size_t) i * ldx;

		for (int j = 0; j < k; j++)
			o[j] = 0.0f;
		for (int l = 0; l < d; l++)
		{
			const float *restrict c = ct + (size_t) l * ldc;
			float		xv = xi[l];

			for (int j = 0; j < k; j++)
				o[j] += xv * c[j];
		}
	}
}

static int
argmin_expanded_portable(const float *dots, const float *norms, int k, float *value)
{
	int			best = 0;
	float		best_value = norms[0] - 2.0f * dots[0];

	for (int j = 1; j < k; j++)
	{
		float		v = norms[j] - 2.0f * dots[j];

		if (v < best_value)
		{
			best_value = v;
			best = j;
		}
	}
	*value = best_value;
	return best;
}


/* out[i] = a[i] + alpha * b[i], alpha a power of two (see distance.h) */
static void
madd_portable(const float *a, float alpha, const float *b, float *out, int n)
{
	int			i = 0;

	/* blocks of 8 with no dependencies let the compiler use vector registers */
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			out[i + l] = a[i + l] + alpha * b[i + l];
	for (; i < n; i++)
		out[i] = a[i] + alpha * b[i];
}

static const VqpqDistanceKernels portable_kernels = {
	"portable",
	l2_squared_portable,
	inner_product_portable,
	l1_portable,
	cosine_parts_portable,
	dot_block_portable,
	argmin_expanded_portable,
	madd_portable,
};

#ifdef VQPQ_X86_DISPATCH

/* ---------------- AVX2 + FMA: 4 x 8 lanes ---------------- */

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float
hsum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		s = _mm_add_ps(lo, hi);

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Mask enabling the first k (0..8) lanes of a 256-bit float vector. */
AVX2 static inline __m256i
tail_mask256(int k)
{
	static const int ones_then_zeros[16] = {
		-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
	};

	return _mm256_loadu_si256((const __m256i *) (ones_then_zeros + 8 - k));
}

AVX2 static float
l2_squared_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__m256i		m = tail_mask256(n - i);
		__m256		d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));

		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

AVX2 static float
inner_product_avx2(const float *a, const float *b, int n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < n)
	{
		__m256i		m = tail_mask256(n - i);

		s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
	}
	return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

AVX2 static float
l1_avx2(const float *a, const float *b, int n)
{
	const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_add_ps(s0, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
		s1 = _mm256_add_ps(s1, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8))));
		s2 = _mm256_add_ps(s2, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16))));
		s3 = _mm256_add_ps(s3, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24))));
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_add_ps(s0, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i))));
	if (i < n)
	{
		__m256i		m = tail_mask256(n - i);

		s1 = _mm256_add_ps(s1, _mm256_and_ps(abs_mask, _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m))));
	}
	return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

AVX2 static void
cosine_parts_avx2(const float *a, const float *b, int n,
				  float *dot, float *norm_a, float *norm_b)
{
	__m256		d0 = _mm256_setzero_ps(),
				d1 = _mm256_setzero_ps(),
				a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				b0 = _mm256_setzero_ps(),
				b1 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_loadu_ps(a + i);
		__m256		y0 = _mm256_loadu_ps(b + i);
		__m256		x1 = _mm256_loadu_ps(a + i + 8);
		__m256		y1 = _mm256_loadu_ps(b + i + 8);

		d0 = _mm256_fmadd_ps(x0, y0, d0);
		a0 = _mm256_fmadd_ps(x0, x0, a0);
		b0 = _mm256_fmadd_ps(y0, y0, b0);
		d1 = _mm256_fmadd_ps(x1, y1, d1);
		a1 = _mm256_fmadd_ps(x1, x1, a1);
		b1 = _mm256_fmadd_ps(y1, y1, b1);
	}
	while (i < n)
	{
		int			k = n - i < 8 ? n - i : 8;
		__m256i		m = tail_mask256(k);
		__m256		x = _mm256_maskload_ps(a + i, m);
		__m256		y = _mm256_maskload_ps(b + i, m);

		d0 = _mm256_fmadd_ps(x, y, d0);
		a0 = _mm256_fmadd_ps(x, x, a0);
		b0 = _mm256_fmadd_ps(y, y, b0);
		i += k;
	}
	*dot = hsum256(_mm256_add_ps(d0, d1));
	*norm_a = hsum256(_mm256_add_ps(a0, a1));
	*norm_b = hsum256(_mm256_add_ps(b0, b1));
}

/*
 * Tiles of up to 4 rows x 16 columns held in 8 registers: each step loads two
 * column vectors once and uses them for four rows, so the loop runs on FMAs,
 * not loads.  Column tails use masked loads and stores.
 */
#define DOT_TILE_ROWS 4

/*
 * One row (a query against the coarse centroids or a sub-space's codebook):
 * out is accumulated over ct's rows, four at a time, each read front to back.
 * Walking a column strip down all d rows instead would make every FMA wait
 * on the one before and read ct at a stride of ldc floats; this way the FMAs
 * are independent and ct streams through once (out stays in L1 cache).
 */
AVX2 static void
dot_row_avx2(const float *x, const float *ct, int k, int ldc, int d, float *out)
{
	int			tail = k % 8;
	__m256i		m = tail_mask256(tail);

	for (int l = 0; l < d; l += 4)
	{
		int			rows = d - l < 4 ? d - l : 4;
		const float *c0 = ct + (size_t) l * ldc;
		/* rows past d read row l again, with weight 0 */
		const float *c1 = rows > 1 ? c0 + ldc : c0;
		const float *c2 = rows > 2 ? c0 + 2 * (size_t) ldc : c0;
		const float *c3 = rows > 3 ? c0 + 3 * (size_t) ldc : c0;
		__m256		v0 = _mm256_set1_ps(x[l]);
		__m256		v1 = _mm256_set1_ps(rows > 1 ? x[l + 1] : 0.0f);
		__m256		v2 = _mm256_set1_ps(rows > 2 ? x[l + 2] : 0.0f);
		__m256		v3 = _mm256_set1_ps(rows > 3 ? x[l + 3] : 0.0f);
		int			j = 0;

		for (; j + 8 <= k; j += 8)
		{
			__m256		a = l == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(out + j);

			a = _mm256_fmadd_ps(v0, _mm256_loadu_ps(c0 + j), a);
			a = _mm256_fmadd_ps(v1, _mm256_loadu_ps(c1 + j), a);
			a = _mm256_fmadd_ps(v2, _mm256_loadu_ps(c2 + j), a);
			a = _mm256_fmadd_ps(v3, _mm256_loadu_ps(c3 + j), a);
			_mm256_storeu_ps(out + j, a);
		}
		if (tail > 0)
		{
			__m256		a = l == 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(out + j, m);

			a = _mm256_fmadd_ps(v0, _mm256_maskload_ps(c0 + j, m), a);
			a = _mm256_fmadd_ps(v1, _mm256_maskload_ps(c1 + j, m), a);
			a = _mm256_fmadd_ps(v2, _mm256_maskload_ps(c2 + j, m), a);
			a = _mm256_fmadd_ps(v3, _mm256_maskload_ps(c3 + j, m), a);
			_mm256_maskstore_ps(out + j, m, a);
		}
	}
}

AVX2 static void
dot_block_avx2(const float *x, int n, int ldx, const float *ct, int k, int ldc,
			   int d, float *out, int ldo)
{
	if (n == 1)
	{
		dot_row_avx2(x, ct, k, ldc, d, out);
		return;
	}
	for (int i = 0; i < n; i += DOT_TILE_ROWS)
	{
		int			rows = n - i < DOT_TILE_ROWS ? n - i : DOT_TILE_ROWS;
		const float *x0 = x + (size_t) i * ldx;
		const float *x1 = x0 + (rows > 1 ? ldx : 0);
		const float *x2 = x0 + (rows > 2 ? 2 * (size_t) ldx : 0);
		const float *x3 = x0 + (rows > 3 ? 3 * (size_t) ldx : 0);

		for (int j = 0; j < k; j += 16)
		{
			int			cols = k - j < 16 ? k - j : 16;
			__m256i		m0 = tail_mask256(cols < 8 ? cols : 8);
			__m256i		m1 = tail_mask256(cols > 8 ? cols - 8 : 0);
			__m256		a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(),
						a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps(),
						a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(),
						a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
			const float *c = ct + j;

			for (int l = 0; l < d; l++, c += ldc)
			{
				__m256		c0 = cols >= 8 ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, m0);
				__m256		c1 = cols >= 16 ? _mm256_loadu_ps(c + 8) : _mm256_maskload_ps(c + 8, m1);
				__m256		v;

				v = _mm256_broadcast_ss(x0 + l);
				a00 = _mm256_fmadd_ps(v, c0, a00);
				a01 = _mm256_fmadd_ps(v, c1, a01);
				v = _mm256_broadcast_ss(x1 + l);
				a10 = _mm256_fmadd_ps(v, c0, a10);
				a11 = _mm256_fmadd_ps(v, c1, a11);
				v = _mm256_broadcast_ss(x2 + l);
				a20 = _mm256_fmadd_ps(v, c0, a20);
				a21 = _mm256_fmadd_ps(v, c1, a21);
				v = _mm256_broadcast_ss(x3 + l);
				a30 = _mm256_fmadd_ps(v, c0, a30);
				a31 = _mm256_fmadd_ps(v, c1, a31);
			}

			{
				__m256		acc[DOT_TILE_ROWS][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};

				for (int r = 0; r < rows; r++)
				{
					float	   *o = out + (size_t) (i + r) * ldo + j;

					_mm256_maskstore_ps(o, m0, acc[r][0]);
					_mm256_maskstore_ps(o + 8, m1, acc[r][1]);
				}
			}
		}
	}
}

/* Lane j % 8 keeps its first minimum; the lanes are then merged in order. */
AVX2 static int
argmin_expanded_avx2(const float *dots, const float *norms, int k, float *value)
{
	const __m256 two = _mm256_set1_ps(2.0f);
	const __m256 inf = _mm256_set1_ps(INFINITY);
	__m256		best = inf;
	__m256i		best_idx = _mm256_setzero_si256();
	__m256i		idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	const __m256i step = _mm256_set1_epi32(8);
	float		lane_value[8];
	int			lane_idx[8];
	int			result = -1;
	float		result_value = INFINITY;

	for (int j = 0; j < k; j += 8)
	{
		__m256		v;
		__m256		less;

		if (k - j >= 8)
			v = _mm256_sub_ps(_mm256_loadu_ps(norms + j), _mm256_mul_ps(two, _mm256_loadu_ps(dots + j)));
		else
		{
			__m256i		m = tail_mask256(k - j);

			v = _mm256_sub_ps(_mm256_maskload_ps(norms + j, m), _mm256_mul_ps(two, _mm256_maskload_ps(dots + j, m)));
			v = _mm256_blendv_ps(inf, v, _mm256_castsi256_ps(m));
		}
		less = _mm256_cmp_ps(v, best, _CMP_LT_OQ);
		best = _mm256_blendv_ps(best, v, less);
		best_idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best_idx),
														 _mm256_castsi256_ps(idx), less));
		idx = _mm256_add_epi32(idx, step);
	}
	_mm256_storeu_ps(lane_value, best);
	_mm256_storeu_si256((__m256i *) lane_idx, best_idx);
	for (int l = 0; l < 8 && l < k; l++)
	{
		if (lane_value[l] < result_value ||
			(lane_value[l] == result_value && lane_idx[l] < result) || result < 0)
		{
			result_value = lane_value[l];
			result = lane_idx[l];
		}
	}
	*value = result_value;
	return result;
}

AVX2 static void
madd_avx2(const float *a, float alpha, const float *b, float *out, int n)
{
	__m256		va = _mm256_set1_ps(alpha);
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i),
												_mm256_mul_ps(va, _mm256_loadu_ps(b + i))));
	for (; i < n; i++)
		out[i] = a[i] + alpha * b[i];
}

static const VqpqDistanceKernels avx2_kernels = {
	"avx2",
	l2_squared_avx2,
	inner_product_avx2,
	l1_avx2,
	cosine_parts_avx2,
	dot_block_avx2,
	argmin_expanded_avx2,
	madd_avx2,
};

/* ---------------- AVX-512F: 4 x 16 lanes, masked tails ---------------- */

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __mmask16
tail_mask512(int k)
{
	return (__mmask16) ((1u << k) - 1);
}

AVX512 static float
l2_squared_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));

		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		__mmask16	m = tail_mask512(n - i);
		__m512		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));

		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512 static float
inner_product_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < n)
	{
		__mmask16	m = tail_mask512(n - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512 static float
l1_avx512(const float *a, const float *b, int n)
{
	__m512		s0 = _mm512_setzero_ps(),
				s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps(),
				s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16))));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32))));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
	if (i < n)
	{
		__mmask16	m = tail_mask512(n - i);

		s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i))));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512 static void
cosine_parts_avx512(const float *a, const float *b, int n,
					float *dot, float *norm_a, float *norm_b)
{
	__m512		d0 = _mm512_setzero_ps(),
				d1 = _mm512_setzero_ps(),
				a0 = _mm512_setzero_ps(),
				a1 = _mm512_setzero_ps(),
				b0 = _mm512_setzero_ps(),
				b1 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		x0 = _mm512_loadu_ps(a + i);
		__m512		y0 = _mm512_loadu_ps(b + i);
		__m512		x1 = _mm512_loadu_ps(a + i + 16);
		__m512		y1 = _mm512_loadu_ps(b + i + 16);

		d0 = _mm512_fmadd_ps(x0, y0, d0);
		a0 = _mm512_fmadd_ps(x0, x0, a0);
		b0 = _mm512_fmadd_ps(y0, y0, b0);
		d1 = _mm512_fmadd_ps(x1, y1, d1);
		a1 = _mm512_fmadd_ps(x1, x1, a1);
		b1 = _mm512_fmadd_ps(y1, y1, b1);
	}
	while (i < n)
	{
		int			k = n - i < 16 ? n - i : 16;
		__mmask16	m = tail_mask512(k);
		__m512		x = _mm512_maskz_loadu_ps(m, a + i);
		__m512		y = _mm512_maskz_loadu_ps(m, b + i);

		d0 = _mm512_fmadd_ps(x, y, d0);
		a0 = _mm512_fmadd_ps(x, x, a0);
		b0 = _mm512_fmadd_ps(y, y, b0);
		i += k;
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
	*norm_a = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
	*norm_b = _mm512_reduce_add_ps(_mm512_add_ps(b0, b1));
}

/* As dot_block_avx2, with tiles of 4 rows x 32 columns. */
AVX512 static void
dot_block_avx512(const float *x, int n, int ldx, const float *ct, int k, int ldc,
				 int d, float *out, int ldo)
{
	/* streaming one row is bound by memory, not by the vectors' width */
	if (n == 1)
	{
		dot_row_avx2(x, ct, k, ldc, d, out);
		return;
	}
	for (int i = 0; i < n; i += DOT_TILE_ROWS)
	{
		int			rows = n - i < DOT_TILE_ROWS ? n - i : DOT_TILE_ROWS;
		const float *x0 = x + (size_t) i * ldx;
		const float *x1 = x0 + (rows > 1 ? ldx : 0);
		const float *x2 = x0 + (rows > 2 ? 2 * (size_t) ldx : 0);
		const float *x3 = x0 + (rows > 3 ? 3 * (size_t) ldx : 0);

		for (int j = 0; j < k; j += 32)
		{
			int			cols = k - j < 32 ? k - j : 32;
			__mmask16	m0 = cols >= 16 ? (__mmask16) 0xffff : tail_mask512(cols);
			__mmask16	m1 = cols >= 32 ? (__mmask16) 0xffff : cols > 16 ? tail_mask512(cols - 16) : 0;
			__m512		a00 = _mm512_setzero_ps(), a01 = _mm512_setzero_ps(),
						a10 = _mm512_setzero_ps(), a11 = _mm512_setzero_ps(),
						a20 = _mm512_setzero_ps(), a21 = _mm512_setzero_ps(),
						a30 = _mm512_setzero_ps(), a31 = _mm512_setzero_ps();
			const float *c = ct + j;

			for (int l = 0; l < d; l++, c += ldc)
			{
				__m512		c0 = _mm512_maskz_loadu_ps(m0, c);
				__m512		c1 = _mm512_maskz_loadu_ps(m1, c + 16);
				__m512		v;

				v = _mm512_set1_ps(x0[l]);
				a00 = _mm512_fmadd_ps(v, c0, a00);
				a01 = _mm512_fmadd_ps(v, c1, a01);
				v = _mm512_set1_ps(x1[l]);
				a10 = _mm512_fmadd_ps(v, c0, a10);
				a11 = _mm512_fmadd_ps(v, c1, a11);
				v = _mm512_set1_ps(x2[l]);
				a20 = _mm512_fmadd_ps(v, c0, a20);
				a21 = _mm512_fmadd_ps(v, c1, a21);
				v = _mm512_set1_ps(x3[l]);
				a30 = _mm512_fmadd_ps(v, c0, a30);
				a31 = _mm512_fmadd_ps(v, c1, a31);
			}

			{
				__m512		acc[DOT_TILE_ROWS][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};

				for (int r = 0; r < rows; r++)
				{
					float	   *o = out + (size_t) (i + r) * ldo + j;

					_mm512_mask_storeu_ps(o, m0, acc[r][0]);
					_mm512_mask_storeu_ps(o + 16, m1, acc[r][1]);
				}
			}
		}
	}
}

AVX512 static int
argmin_expanded_avx512(const float *dots, const float *norms, int k, float *value)
{
	const __m512 two = _mm512_set1_ps(2.0f);
	__m512		best = _mm512_set1_ps(INFINITY);
	__m512i		best_idx = _mm512_setzero_si512();
	__m512i		idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	const __m512i step = _mm512_set1_epi32(16);
	float		min_value;
	__mmask16	at_min;

	for (int j = 0; j < k; j += 16)
	{
		__mmask16	m = k - j >= 16 ? (__mmask16) 0xffff : tail_mask512(k - j);
		__m512		v = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, norms + j),
									  _mm512_mul_ps(two, _mm512_maskz_loadu_ps(m, dots + j)));
		__mmask16	less = _mm512_mask_cmp_ps_mask(m, v, best, _CMP_LT_OQ);

		best = _mm512_mask_mov_ps(best, less, v);
		best_idx = _mm512_mask_mov_epi32(best_idx, less, idx);
		idx = _mm512_add_epi32(idx, step);
	}
	min_value = _mm512_reduce_min_ps(best);
	at_min = _mm512_cmp_ps_mask(best, _mm512_set1_ps(min_value), _CMP_EQ_OQ);
	*value = min_value;
	return _mm512_mask_reduce_min_epi32(at_min, best_idx);
}

AVX512 static void
madd_avx512(const float *a, float alpha, const float *b, float *out, int n)
{
	__m512		va = _mm512_set1_ps(alpha);
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(a + i),
												_mm512_mul_ps(va, _mm512_loadu_ps(b + i))));
	if (i < n)
	{
		__mmask16	mask = tail_mask512(n - i);

		_mm512_mask_storeu_ps(out + i, mask,
							  _mm512_add_ps(_mm512_maskz_loadu_ps(mask, a + i),
											_mm512_mul_ps(va, _mm512_maskz_loadu_ps(mask, b + i))));
	}
}

static const VqpqDistanceKernels avx512_kernels = {
	"avx512",
	l2_squared_avx512,
	inner_product_avx512,
	l1_avx512,
	cosine_parts_avx512,
	dot_block_avx512,
	argmin_expanded_avx512,
	madd_avx512,
};

/*
 * __builtin_cpu_supports also checks that the OS saves the wider registers
 * (XGETBV), so a feature reported here is safe to use.
 */
static int
cpu_has_avx2_fma(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int
cpu_has_avx512f(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
}
#endif							/* VQPQ_X86_DISPATCH */

VqpqDistanceKernels vqpq_kernels = {
	"portable",
	l2_squared_portable,
	inner_product_portable,
	l1_portable,
	cosine_parts_portable,
	dot_block_portable,
	argmin_expanded_portable,
	madd_portable,
};

int
vqpq_distance_variants(const VqpqDistanceKernels **variants, int max)
{
	int			n = 0;

	if (n < max)
		variants[n++] = &portable_kernels;
#ifdef VQPQ_X86_DISPATCH
	if (n < max && cpu_has_avx2_fma())
		variants[n++] = &avx2_kernels;
	if (n < max && cpu_has_avx512f())
		variants[n++] = &avx512_kernels;
#endif
	return n;
}

void
vqpq_distance_init(void)
{
	const VqpqDistanceKernels *variants[4];
	int			n = vqpq_distance_variants(variants, 4);

	vqpq_kernels = *variants[n - 1];
}
