/*
 * test_half.c
 *		Half precision conversions: every one of the 65,536 halves becomes
 *		the float it stands for (checked against ldexp) and comes back as
 *		itself; floats round to nearest, ties to even, at the boundaries
 *		that matter (subnormals, the largest half, overflow); and every
 *		variant the CPU supports gives the same bits.
 *		Plain C: no server needed.  Prints one line per failure and a closing
 *		"N passed, N failed" line.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "half.h"
#include "unit_test.h"

/* the value of a half by its definition */
static double
reference_value(uint16_t h)
{
	int			sign = (h & 0x8000) ? -1 : 1;
	int			exp = (h >> 10) & 0x1f;
	int			mant = h & 0x3ff;

	if (exp == 0)
		return sign * ldexp(mant, -24);
	if (exp == 31)
		return mant ? NAN : sign * INFINITY;
	return sign * ldexp(1024 + mant, exp - 25);
}

static void
test_variant(const VqpqHalfKernels *k, const VqpqHalfKernels *reference)
{
	static uint16_t halves[65536];
	static float floats[65536];
	static float floats_ref[65536];
	static uint16_t back[65536];
	int			wrong = 0;
	int			overflow;

	for (int h = 0; h < 65536; h++)
		halves[h] = (uint16_t) h;
	k->to_float(halves, floats, 65536);
	reference->to_float(halves, floats_ref, 65536);
	for (int h = 0; h < 65536; h++)
	{
		double		want = reference_value((uint16_t) h);

		if (isnan(want) ? !isnan(floats[h]) : floats[h] != (float) want)
			wrong++;
	}
	CHECK(wrong == 0, "%s: %d halves convert to the wrong float", k->name, wrong);
	CHECK(memcmp(floats, floats_ref, sizeof(floats)) == 0, "%s: to_float differs from %s", k->name, reference->name);

	/* every finite half comes back as itself */
	overflow = k->from_float(floats, back, 65536);
	wrong = 0;
	for (int h = 0; h < 65536; h++)
		if (((h >> 10) & 0x1f) != 31 && back[h] != h)
			wrong++;
	CHECK(wrong == 0, "%s: %d halves do not round-trip", k->name, wrong);
	CHECK(overflow == 0, "%s: %d overflows converting halves back", k->name, overflow);

	/* rounding: (float, half wanted, overflows) */
	{
		static const struct
		{
			float		f;
			uint16_t	h;
			int			overflow;
		}			cases[] = {
			{0.0f, 0x0000, 0}, {-0.0f, 0x8000, 0}, {1.0f, 0x3c00, 0}, {-2.5f, 0xc100, 0},
			{65504.0f, 0x7bff, 0},		/* the largest half */
			{65519.99f, 0x7bff, 0},		/* below the tie: down */
			{65520.0f, 0x7c00, 1},		/* the tie rounds to even: infinity */
			{1e10f, 0x7c00, 1}, {-1e10f, 0xfc00, 1},
			{5.9604645e-8f, 0x0001, 0},	/* 2^-24, the smallest subnormal */
			{2.9802322e-8f, 0x0000, 0},	/* 2^-25: a tie, to even (zero) */
			{4.4703484e-8f, 0x0001, 0},	/* 1.5 * 2^-25: up */
			{8.9406967e-8f, 0x0002, 0},	/* 1.5 * 2^-24: a tie, to even (2) */
			{6.1035156e-5f, 0x0400, 0},	/* 2^-14, the smallest normal */
			{1.0009766f, 0x3c01, 0},	/* 1 + 2^-10 */
			{1.0004883f, 0x3c00, 0},	/* 1 + 2^-11: a tie, to even */
			{1.0014648f, 0x3c02, 0},	/* 1 + 3 * 2^-11: a tie, to even (up) */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			float		in[9];
			uint16_t	out[9];

			/* in a full lane of 8 and alone, so both paths of a variant run */
			for (int l = 0; l < 9; l++)
				in[l] = cases[i].f;
			overflow = k->from_float(in, out, 9);
			CHECK(out[0] == cases[i].h && out[8] == cases[i].h && overflow == 9 * cases[i].overflow,
				  "%s: %.9g became %04x and %04x with %d overflows, wanted %04x and %d", k->name,
				  cases[i].f, out[0], out[8], overflow, cases[i].h, 9 * cases[i].overflow);
		}
	}

	/* random floats across the half range: the same bits as the reference */
	{
		static float in[4096];
		static uint16_t out[4096];
		static uint16_t out_ref[4096];

		unit_rng = 0x5eed5eedULL;
		for (int i = 0; i < 4096; i++)
		{
			uint32_t	b = (uint32_t) (unit_next64() >> 32);

			/* exponents from 2^-30 to 2^17 (past the half range on both ends) */
			b = (b & 0x807fffff) | ((uint32_t) (97 + (b >> 23) % 48) << 23);
			memcpy(&in[i], &b, sizeof(b));
		}
		k->from_float(in, out, 4096);
		reference->from_float(in, out_ref, 4096);
		CHECK(memcmp(out, out_ref, sizeof(out)) == 0, "%s: from_float differs from %s on random floats",
			  k->name, reference->name);
	}
}

int
main(void)
{
	const VqpqHalfKernels *variants[2];
	int			n = vqpq_half_variants(variants, 2);

	printf("half variants:");
	for (int i = 0; i < n; i++)
		printf(" %s", variants[i]->name);
	printf("\n");
	for (int i = 0; i < n; i++)
		test_variant(variants[i], variants[0]);
	return unit_report();
}
