/*
 * kmeans.c
 *		Lloyd's k-means with k-means++ seeding, on dot_block distance
 *		blocks: ||x - c||^2 = ||x||^2 + ||c||^2 - 2<x, c>, and the argmin over
 *		c needs only the last two terms.
 */
#include <math.h>
#include <string.h>

#include "distance.h"
#include "kmeans.h"

/* splitmix64: small, seedable, the same on every platform */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

typedef struct Workspace
{
	double	   *sums;			/* k x d */
	float	   *ct;				/* d x k */
	float	   *norms;			/* k */
	float	   *scratch;		/* VQPQ_ASSIGN_BLOCK x k */
	float	   *distance;		/* n */
	int32_t    *assign;			/* n */
	int32_t    *counts;			/* k */
} Workspace;

#define ALIGN64(s) (((s) + 63) & ~(size_t) 63)

static size_t
carve(Workspace *w, char *base, int n, int d, int k)
{
	size_t		off = 0;

#define TAKE(field, type, count) \
	do { \
		if (w) w->field = (type *) (base + off); \
		off += ALIGN64(sizeof(type) * (size_t) (count)); \
	} while (0)

	TAKE(sums, double, (size_t) k * d);
	TAKE(ct, float, (size_t) d * k);
	TAKE(norms, float, k);
	TAKE(scratch, float, (size_t) VQPQ_ASSIGN_BLOCK * k);
	TAKE(distance, float, n);
	TAKE(assign, int32_t, n);
	TAKE(counts, int32_t, k);
#undef TAKE
	return off;
}

size_t
vqpq_kmeans_workspace_size(int n, int d, int k)
{
	return carve(NULL, NULL, n, d, k);
}

void
vqpq_transpose_centroids(const float *centroids, int k, int d, float *ct, float *norms)
{
	for (int j = 0; j < k; j++)
	{
		const float *c = centroids + (size_t) j * d;

		for (int l = 0; l < d; l++)
			ct[(size_t) l * k + j] = c[l];
		norms[j] = vqpq_kernels.inner_product(c, c, d);
	}
}

void
vqpq_nearest(const float *x, int n, int ldx, int d, const float *ct, int k,
			 const float *norms, int32_t *nearest, float *distance, float *scratch,
			 void (*check_interrupts) (void))
{
	int			step = vqpq_assign_rows(k, d);

	for (int i = 0; i < n; i += step)
	{
		int			rows = n - i < step ? n - i : step;

		vqpq_kernels.dot_block(x + (size_t) i * ldx, rows, ldx, ct, k, k, d, scratch, k);
		for (int r = 0; r < rows; r++)
		{
			float		best_value;
			int			best = vqpq_kernels.argmin_expanded(scratch + (size_t) r * k, norms, k, &best_value);

			nearest[i + r] = best;
			if (distance)
			{
				const float *xi = x + (size_t) (i + r) * ldx;
				float		dist = vqpq_kernels.inner_product(xi, xi, d) + best_value;

				distance[i + r] = dist > 0.0f ? dist : 0.0f;
			}
		}
		if (check_interrupts)
			check_interrupts();
	}
}

int
vqpq_assign_serial(const float *x, int n, int ldx, int d, const float *ct, int k,
				   const float *norms, int32_t *assign, float *distance, float *scratch,
				   void (*check_interrupts) (void))
{
	int			changed = 0;

	for (int i = 0; i < n; i += VQPQ_ASSIGN_BLOCK)
	{
		int			rows = n - i < VQPQ_ASSIGN_BLOCK ? n - i : VQPQ_ASSIGN_BLOCK;
		int32_t		nearest[VQPQ_ASSIGN_BLOCK];

		vqpq_nearest(x + (size_t) i * ldx, rows, ldx, d, ct, k, norms, nearest,
					 distance ? distance + i : NULL, scratch, check_interrupts);
		for (int r = 0; r < rows; r++)
		{
			if (nearest[r] != assign[i + r])
				changed++;
			assign[i + r] = nearest[r];
		}
	}
	return changed;
}

/* Give each empty cluster half of a large one: a copy nudged apart. */
static void
split_empty_clusters(float *centroids, int32_t *counts, int k, int d, uint64_t *rng,
					 void (*check_interrupts) (void))
{
	const float eps = 1.0f / 1024.0f;

	for (int j = 0; j < k; j++)
	{
		int			big = 0;
		float	   *cj,
				   *cb;

		if (counts[j] > 0)
			continue;
		/* k steps per empty cluster: up to k^2 in all */
		if (check_interrupts)
			check_interrupts();
		/* the largest cluster, ties broken at random */
		for (int t = 1; t < k; t++)
			if (counts[t] > counts[big] || (counts[t] == counts[big] && (next_random(rng) & 1)))
				big = t;
		if (counts[big] < 2)
			return;				/* fewer distinct groups than clusters */
		cj = centroids + (size_t) j * d;
		cb = centroids + (size_t) big * d;
		for (int l = 0; l < d; l++)
		{
			float		sign = (l % 2 == 0) ? 1.0f : -1.0f;

			cj[l] = cb[l] * (1.0f + sign * eps);
			cb[l] = cb[l] * (1.0f - sign * eps);
		}
		counts[j] = counts[big] / 2;
		counts[big] -= counts[j];
	}
}

static double
uniform(uint64_t *rng)
{
	return (double) (next_random(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * k-means++ seeding (Arthur and Vassilvitskii, 2007): each next centroid is
 * a row drawn with probability proportional to its squared distance from
 * the centroids so far, which spreads them over the data instead of piling
 * several into one dense region.  Seeding looks at a random subsample of
 * 4k + 256 rows, enough to place k seeds and cheap for small sub-spaces.
 * With fewer distinct rows than k, the remaining seeds repeat rows.
 */
static void
seed_plus_plus(const float *x, int n, int ldx, int d, int k, Workspace *w,
			   float *centroids, uint64_t *rng, void (*check_interrupts) (void))
{
	int			s = n < 4 * k + 256 ? n : 4 * k + 256;
	int32_t    *rows = w->assign;	/* first s entries: the subsample */
	float	   *mind = w->distance;

	for (int i = 0; i < n; i++)
		rows[i] = i;
	for (int i = 0; i < s; i++)	/* partial Fisher-Yates */
	{
		int			r = i + (int) (next_random(rng) % (uint64_t) (n - i));
		int32_t		tmp = rows[i];

		rows[i] = rows[r];
		rows[r] = tmp;
	}

	for (int j = 0; j < k; j++)
	{
		const float *chosen;
		float	   *c = centroids + (size_t) j * d;

		if (j == 0)
			chosen = x + (size_t) rows[0] * ldx;
		else
		{
			double		total = 0.0,
						target,
						cumulative = 0.0;
			int			pick = s - 1;

			for (int i = 0; i < s; i++)
				total += mind[i];
			if (total <= 0.0)	/* every row already a seed: repeat one */
				pick = (int) (next_random(rng) % (uint64_t) s);
			else
			{
				target = uniform(rng) * total;
				for (int i = 0; i < s; i++)
				{
					cumulative += mind[i];
					if (cumulative >= target && mind[i] > 0.0f)
					{
						pick = i;
						break;
					}
				}
			}
			chosen = x + (size_t) rows[pick] * ldx;
		}
		memcpy(c, chosen, sizeof(float) * d);

		for (int i = 0; i < s; i++)
		{
			float		dist = vqpq_kernels.l2_squared(x + (size_t) rows[i] * ldx, c, d);

			if (j == 0 || dist < mind[i])
				mind[i] = dist;
		}
		/* each seed costs a pass over the subsample: k passes in all */
		if (check_interrupts)
			check_interrupts();
	}
}

double
vqpq_kmeans(const float *x, int n, int ldx, int d, int k,
			const VqpqKmeansParams *params, float *centroids, void *workspace)
{
	Workspace	w;
	uint64_t	rng = params->seed;
	double		objective = 0.0;

	carve(&w, (char *) workspace, n, d, k);

	seed_plus_plus(x, n, ldx, d, k, &w, centroids, &rng, params->check_interrupts);
	for (int i = 0; i < n; i++)
		w.assign[i] = -1;

	for (int iter = 0; iter < params->max_iterations; iter++)
	{
		int			changed = 0;

		vqpq_transpose_centroids(centroids, k, d, w.ct, w.norms);

		if (params->assign)
			changed = params->assign(params->assign_arg, x, n, ldx, d, w.ct, k, w.norms,
									 w.assign, w.distance);
		else
			changed = vqpq_assign_serial(x, n, ldx, d, w.ct, k, w.norms, w.assign, w.distance,
										 w.scratch, params->check_interrupts);
		objective = 0.0;
		for (int i = 0; i < n; i++)
			objective += w.distance[i];
		objective /= n;
		if (changed == 0)
			break;

		/* update step: means in double, so large clusters keep precision */
		memset(w.sums, 0, sizeof(double) * (size_t) k * d);
		memset(w.counts, 0, sizeof(int32_t) * k);
		for (int i = 0; i < n; i++)
		{
			double	   *s = w.sums + (size_t) w.assign[i] * d;
			const float *xi = x + (size_t) i * ldx;

			for (int l = 0; l < d; l++)
				s[l] += xi[l];
			w.counts[w.assign[i]]++;
		}
		for (int j = 0; j < k; j++)
		{
			if (w.counts[j] == 0)
				continue;		/* keeps its place until split below */
			for (int l = 0; l < d; l++)
				centroids[(size_t) j * d + l] = (float) (w.sums[(size_t) j * d + l] / w.counts[j]);
		}
		split_empty_clusters(centroids, w.counts, k, d, &rng, params->check_interrupts);
		if (params->check_interrupts)
			params->check_interrupts();
	}
	return objective;
}
