/*
 * test_distance.c
 *		Checks every distance-kernel variant this CPU supports against a
 *		double-precision reference, on lengths that exercise each code path
 *		(empty, shorter than one SIMD block, block boundaries +-1, long tails)
 *		and at unaligned offsets.  Plain C: no server needed.
 *
 * Prints one line per failure and a closing "N passed, N failed" line;
 * exits non-zero on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distance.h"

static int	passed = 0;
static int	failed = 0;

/* xorshift: deterministic data on every machine */
static unsigned long long rng_state = 88172645463325252ULL;

static float
rand_float(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float) ((double) (rng_state >> 11) / (double) (1ULL << 53) * 2.0 - 1.0);
}

static void
check(const char *variant, const char *what, int n, int offset, double got, double want, double scale)
{
	/* float accumulation error grows with n; scale is the sum of |terms| */
	double		tol = 1e-6 * scale * (1.0 + sqrt((double) n)) + 1e-30;

	if (fabs(got - want) <= tol)
		passed++;
	else
	{
		failed++;
		printf("FAIL %s %s n=%d offset=%d: got %.9g want %.9g (tol %.3g)\n",
			   variant, what, n, offset, got, want, tol);
	}
}

int
main(void)
{
	static const int lengths[] = {
		0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100,
		127, 128, 129, 255, 256, 257, 383, 784, 768, 1000, 1536, 3072, 16000
	};
	const VqpqDistanceKernels *variants[8];
	int			nvariants = vqpq_distance_variants(variants, 8);
	float	   *a = malloc(sizeof(float) * (16000 + 8));
	float	   *b = malloc(sizeof(float) * (16000 + 8));

	vqpq_distance_init();
	printf("kernels on this CPU:");
	for (int v = 0; v < nvariants; v++)
		printf(" %s", variants[v]->name);
	printf(" (active: %s)\n", vqpq_kernels.name);

	/* the dispatcher must pick the best supported variant */
	if (variants[nvariants - 1]->l2_squared == vqpq_kernels.l2_squared)
		passed++;
	else
	{
		failed++;
		printf("FAIL dispatch did not pick %s\n", variants[nvariants - 1]->name);
	}

	for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
	{
		for (int offset = 0; offset < 3; offset++)
		{
			int			n = lengths[li];
			const float *x = a + offset;
			const float *y = b + offset + (offset == 2 ? 1 : 0);
			double		l2 = 0,
						ip = 0,
						l1 = 0,
						na = 0,
						nb = 0,
						ip_scale = 0;

			for (int i = 0; i < 16000 + 8; i++)
			{
				a[i] = rand_float() * 10.0f;
				b[i] = rand_float() * 10.0f;
			}
			for (int i = 0; i < n; i++)
			{
				double		d = (double) x[i] - (double) y[i];

				l2 += d * d;
				ip += (double) x[i] * y[i];
				ip_scale += fabs((double) x[i] * y[i]);
				l1 += fabs(d);
				na += (double) x[i] * x[i];
				nb += (double) y[i] * y[i];
			}

			for (int v = 0; v < nvariants; v++)
			{
				const VqpqDistanceKernels *k = variants[v];
				float		dot,
							fa,
							fb;

				check(k->name, "l2_squared", n, offset, k->l2_squared(x, y, n), l2, l2);
				check(k->name, "inner_product", n, offset, k->inner_product(x, y, n), ip, ip_scale);
				check(k->name, "l1", n, offset, k->l1(x, y, n), l1, l1);
				k->cosine_parts(x, y, n, &dot, &fa, &fb);
				check(k->name, "cosine dot", n, offset, dot, ip, ip_scale);
				check(k->name, "cosine norm_a", n, offset, fa, na, na);
				check(k->name, "cosine norm_b", n, offset, fb, nb, nb);
			}
		}
	}

	/* dot_block: every tile shape and tail, with padded strides */
	{
		static const int ns[] = {1, 2, 3, 4, 5, 7, 13};
		static const int ks[] = {1, 5, 8, 15, 16, 17, 31, 32, 33, 100, 256};
		static const int ds[] = {1, 3, 8, 16, 17, 100};
		float	   *x = malloc(sizeof(float) * 13 * 103);
		float	   *ct = malloc(sizeof(float) * 100 * 261);
		float	   *out = malloc(sizeof(float) * 13 * 258);

		for (int i = 0; i < 13 * 103; i++)
			x[i] = rand_float();
		for (int i = 0; i < 100 * 261; i++)
			ct[i] = rand_float();

		for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
			for (size_t b = 0; b < sizeof(ks) / sizeof(ks[0]); b++)
				for (size_t c = 0; c < sizeof(ds) / sizeof(ds[0]); c++)
				{
					int			n = ns[a],
								k = ks[b],
								d = ds[c];
					int			ldx = d + 3,
								ldc = k + 5,
								ldo = k + 2;

					for (int v = 0; v < nvariants; v++)
					{
						int			bad = 0;

						/* sentinels past each row's k columns must survive */
						for (int i = 0; i < n * ldo; i++)
							out[i] = 12345.0f;
						variants[v]->dot_block(x, n, ldx, ct, k, ldc, d, out, ldo);
						for (int i = 0; i < n; i++)
						{
							for (int j = 0; j < k; j++)
							{
								double		want = 0,
											scale = 0;

								for (int l = 0; l < d; l++)
								{
									want += (double) x[i * ldx + l] * ct[l * ldc + j];
									scale += fabs((double) x[i * ldx + l] * ct[l * ldc + j]);
								}
								if (fabs(out[i * ldo + j] - want) > 1e-5 * (scale + 1e-6))
									bad++;
							}
							for (int j = k; j < ldo; j++)
								if (out[i * ldo + j] != 12345.0f)
									bad++;
						}
						if (bad == 0)
							passed++;
						else
						{
							failed++;
							printf("FAIL %s dot_block n=%d k=%d d=%d: %d wrong values\n",
								   variants[v]->name, n, k, d, bad);
						}
					}
				}
		free(x);
		free(ct);
		free(out);
	}

	/* argmin_expanded: same index and value as the portable loop, ties included */
	for (int k = 1; k <= 70; k++)
	{
		float		dots[70],
					norms[70];

		for (int trial = 0; trial < 20; trial++)
		{
			float		want_value;
			int			want;

			for (int j = 0; j < k; j++)
			{
				/* small integers make exact ties common */
				dots[j] = (float) (int) (rand_float() * 4);
				norms[j] = (float) (int) (rand_float() * 4 + 4);
			}
			want = variants[0]->argmin_expanded(dots, norms, k, &want_value);
			for (int v = 0; v < nvariants; v++)
			{
				float		got_value;
				int			got = variants[v]->argmin_expanded(dots, norms, k, &got_value);

				if (got == want && got_value == want_value)
					passed++;
				else
				{
					failed++;
					printf("FAIL %s argmin_expanded k=%d: got %d (%g), want %d (%g)\n",
						   variants[v]->name, k, got, got_value, want, want_value);
				}
			}
		}
	}

	/* madd: bit-identical to the portable loop, every length, in place too */
	for (int n = 0; n <= 70; n++)
	{
		float		x[70],
					y[70],
					want[70],
					got[70];
		const float alphas[3] = {1.0f, -2.0f, 0.5f};

		for (int i = 0; i < n; i++)
		{
			x[i] = rand_float() * 100 - 50;
			y[i] = rand_float() * 100 - 50;
		}
		for (int a = 0; a < 3; a++)
		{
			variants[0]->madd(x, alphas[a], y, want, n);
			for (int v = 0; v < nvariants; v++)
			{
				int			same;

				variants[v]->madd(x, alphas[a], y, got, n);
				same = memcmp(got, want, sizeof(float) * n) == 0;
				memcpy(got, y, sizeof(float) * n);
				variants[v]->madd(x, alphas[a], got, got, n);
				same = same && memcmp(got, want, sizeof(float) * n) == 0;
				for (int i = 0; i < n && same; i++)
					same = want[i] == x[i] + alphas[a] * y[i];
				if (same)
					passed++;
				else
				{
					failed++;
					printf("FAIL %s madd n=%d alpha=%g\n", variants[v]->name, n, alphas[a]);
				}
			}
		}
	}

	/* exact small integers must come out exact in every variant */
	for (int v = 0; v < nvariants; v++)
	{
		float		p[3] = {1, 2, 3},
					q[3] = {4, 5, 6};

		check(variants[v]->name, "exact l2", 3, 0, variants[v]->l2_squared(p, q, 3), 27, 0);
		check(variants[v]->name, "exact ip", 3, 0, variants[v]->inner_product(p, q, 3), 32, 0);
		check(variants[v]->name, "exact l1", 3, 0, variants[v]->l1(p, q, 3), 9, 0);
	}

	free(a);
	free(b);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
