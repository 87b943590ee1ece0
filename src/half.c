/*
 * half.c
 *		Half precision to and from float: a portable version by the bits,
 *		and one on the F16C instructions, chosen at run time.
 */
#include <string.h>

#include "half.h"

static float
bits_to_float(uint32_t bits)
{
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static uint32_t
float_to_bits(float f)
{
	uint32_t	bits;

	memcpy(&bits, &f, sizeof(bits));
	return bits;
}

static float
one_to_float(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1f;
	uint32_t	mant = h & 0x3ff;

	if (exp == 0)
	{
		int			e = 113;	/* 127 - 15 + 1: the exponent of 2^-14 */

		if (mant == 0)
			return bits_to_float(sign);
		/* subnormal: shift the mantissa up to its leading one */
		while ((mant & 0x400) == 0)
		{
			mant <<= 1;
			e--;
		}
		return bits_to_float(sign | ((uint32_t) e << 23) | ((mant & 0x3ff) << 13));
	}
	if (exp == 31)				/* infinity; a NaN comes out quiet, as in F16C */
		return bits_to_float(sign | 0x7f800000 | (mant ? 0x400000 : 0) | (mant << 13));
	return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
}

/* Round the value mant / 2^shift to an integer, ties to even. */
static uint32_t
round_shift(uint32_t mant, int shift)
{
	uint32_t	kept = mant >> shift;
	uint32_t	rest = mant & ((1u << shift) - 1);
	uint32_t	half = 1u << (shift - 1);

	if (rest > half || (rest == half && (kept & 1)))
		kept++;
	return kept;
}

static uint16_t
one_from_float(float f, int *overflow)
{
	uint32_t	x = float_to_bits(f);
	uint16_t	sign = (uint16_t) ((x >> 16) & 0x8000);
	int			fexp = (x >> 23) & 0xff;
	uint32_t	mant = x & 0x7fffff;
	int			exp = fexp - 127 + 15;
	uint32_t	h;

	if (fexp == 0xff)			/* infinity, NaN */
		return sign | 0x7c00 | (mant ? 0x200 : 0);
	if (exp >= 31)
	{
		(*overflow)++;
		return sign | 0x7c00;
	}
	if (exp <= 0)
	{
		/* a subnormal half, or zero (a carry makes the smallest normal) */
		if (exp < -10)
			return sign;
		return sign | (uint16_t) round_shift(mant | 0x800000, 14 - exp);
	}
	/* a carry out of the mantissa moves on into the exponent, as it should */
	h = ((uint32_t) exp << 10) + round_shift(mant, 13);
	if (h >= 0x7c00)
		(*overflow)++;
	return sign | (uint16_t) h;
}

static void
to_float_portable(const uint16_t *in, float *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = one_to_float(in[i]);
}

static int
from_float_portable(const float *in, uint16_t *out, int n)
{
	int			overflow = 0;

	for (int i = 0; i < n; i++)
		out[i] = one_from_float(in[i], &overflow);
	return overflow;
}

static const VqpqHalfKernels portable_half = {"portable", to_float_portable, from_float_portable};

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define VQPQ_X86_F16C
#include <cpuid.h>
#include <immintrin.h>

#define F16C __attribute__((target("f16c,avx")))

F16C static void
to_float_f16c(const uint16_t *in, float *out, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (in + i))));
	for (; i < n; i++)
		out[i] = one_to_float(in[i]);
}

F16C static int
from_float_f16c(const float *in, uint16_t *out, int n)
{
	int			overflow = 0;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m128i		h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		uint16_t	lanes[8];

		_mm_storeu_si128((__m128i *) (out + i), h);
		_mm_storeu_si128((__m128i *) lanes, h);
		/* infinities from finite floats are the overflows */
		for (int l = 0; l < 8; l++)
			if ((lanes[l] & 0x7fff) == 0x7c00 && (float_to_bits(in[i + l]) & 0x7f800000) != 0x7f800000)
				overflow++;
	}
	for (; i < n; i++)
		out[i] = one_from_float(in[i], &overflow);
	return overflow;
}

static const VqpqHalfKernels f16c_half = {"f16c", to_float_f16c, from_float_f16c};

/* (clang's __builtin_cpu_supports knows no "f16c": ask CPUID) */
static int
cpu_has_f16c(void)
{
	unsigned	eax,
				ebx,
				ecx,
				edx;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx") || !__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return 0;
	return (ecx & bit_F16C) != 0;
}
#endif

VqpqHalfKernels vqpq_half = {"portable", to_float_portable, from_float_portable};

int
vqpq_half_variants(const VqpqHalfKernels **variants, int max)
{
	int			n = 0;

	if (n < max)
		variants[n++] = &portable_half;
#ifdef VQPQ_X86_F16C
	if (n < max && cpu_has_f16c())
		variants[n++] = &f16c_half;
#endif
	return n;
}

void
vqpq_half_init(void)
{
	const VqpqHalfKernels *variants[2];
	int			n = vqpq_half_variants(variants, 2);

	vqpq_half = *variants[n - 1];
}
