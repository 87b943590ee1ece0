/*
 * ivfpq_calibration.c
 *		Recall calibration: the build measures, on rows of the table used as
 *		queries, which recall@10 each (nprobe, rerank) of a grid reaches,
 *		and keeps the table in the metapage; a scan with vqpq.nprobe and
 *		vqpq.rerank left automatic takes the cheapest setting measured to
 *		reach vqpq.target_recall.
 *
 * Why measure: the nprobe and re-ranking depth a given recall needs vary
 * by an order of magnitude from one dataset to the next (Fashion-MNIST
 * reaches 0.95 at nprobe 4, word embeddings need 40), so no fixed default
 * fits.  The queries are rows of the training sample; each query's true
 * neighbours (its own row excluded, as a query from outside the table would
 * not find itself) are found exactly while the build reads every row
 * anyway, a matrix product per batch beside the encoding.  Once the pages
 * are written, each query is scored through the index as a scan would
 * score it (ivfpq_score.c), and a neighbour counts as found at (P, R) when
 * its list is among the P nearest and fewer than R rows of those lists
 * have a smaller ADC value: R re-ranked candidates then include it, and the
 * exact re-ranking puts it in the top 10.  Re-ranking 10 gives the ADC
 * order's top 10, so the R = 10 column is also the recall without
 * re-ranking.
 *
 * The recall claimed is for LIMIT 10 over rows like the table's; an index
 * that grew much after its build, or queries unlike its rows, may see
 * less: vqpq_index_recall measures it for given queries.
 */
#include "postgres.h"

#include <math.h>

#include "access/heaptoast.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "distance.h"
#include "ivfpq_calibration.h"
#include "ivfpq_score.h"
#include "kmeans.h"

/* the grid; nprobe also stops at nlist */
static const uint32 probe_grid[IVFPQ_CALIB_PROBES] = {
	1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256, 384
};
static const uint32 rerank_grid[IVFPQ_CALIB_RERANKS] = {
	10, 15, 20, 30, 40, 60, 80, 100, 150, 250, 400, 800
};

/* queries: more make the estimate finer, and the build's exact pass longer */
#define MAX_QUERIES			200
#define MIN_QUERIES			10
#define FULL_QUERY_DIMS		1024

/*
 * ADC values one query may keep while it is measured: 16 MB, or a quarter
 * of maintenance_work_mem if less.  A query whose lists hold more is
 * measured on the lists that fit; the larger nprobe count as misses.
 */
#define MAX_QUERY_VALUES	((Size) 4 * 1024 * 1024)
#define MIN_QUERY_VALUES	((Size) 65536)

/* ---------------------------------------------------------------- queries and their neighbours */

static IvfpqCalibration *
calib_alloc(IvfpqMetric metric, int dims, int nqueries)
{
	IvfpqCalibration *c = palloc0(sizeof(IvfpqCalibration));

	c->metric = metric;
	c->dims = dims;
	c->nqueries = nqueries;
	c->queries = palloc(mul_size(mul_size(nqueries, dims), sizeof(float)));
	c->queries_t = palloc(mul_size(mul_size(nqueries, dims), sizeof(float)));
	c->norms = palloc(sizeof(float) * nqueries);
	c->self = palloc(sizeof(ItemPointerData) * nqueries);
	c->nearest = palloc(mul_size(mul_size(nqueries, IVFPQ_CALIB_K), sizeof(IvfpqCalibNeighbor)));
	c->found = palloc0(sizeof(int) * nqueries);
	c->dots = palloc(mul_size(mul_size(VQPQ_ASSIGN_BLOCK, nqueries), sizeof(float)));
	return c;
}

/* queries_t and norms from queries */
static void
calib_prepare(IvfpqCalibration *c)
{
	vqpq_transpose_centroids(c->queries, c->nqueries, c->dims, c->queries_t, c->norms);
}

IvfpqCalibration *
ivfpq_calib_from_sample(IvfpqMetric metric, int dims, const float *samples,
						const ItemPointerData *tids, int nsamples)
{
	int			nqueries = MAX_QUERIES;
	IvfpqCalibration *c;

	/* fewer queries for wide vectors: the exact pass costs queries x dims a row */
	if (dims > FULL_QUERY_DIMS)
		nqueries = Max(MAX_QUERIES * FULL_QUERY_DIMS / dims, 50);
	/* and not most of a small table: its rows are the neighbours too */
	nqueries = Min(nqueries, nsamples / 4);
	if (nqueries < MIN_QUERIES)
		return NULL;

	c = calib_alloc(metric, dims, nqueries);
	/* spread over the sample, which is spread over the table */
	for (int i = 0; i < nqueries; i++)
	{
		int			row = (int) (((double) i + 0.5) * nsamples / nqueries);

		memcpy(c->queries + (Size) i * dims, samples + (Size) row * dims, sizeof(float) * dims);
		c->self[i] = tids[row];
	}
	calib_prepare(c);
	return c;
}

/*
 * (distance, tid) order: equal distances are told apart by TID, so that
 * the K nearest do not depend on the order rows are offered in (a parallel
 * build's participants see different rows first).
 */
static inline bool
neighbor_precedes(float distance, const ItemPointerData *tid, const IvfpqCalibNeighbor *nb)
{
	if (distance != nb->distance)
		return distance < nb->distance;
	return ItemPointerCompare((ItemPointer) tid, (ItemPointer) &nb->tid) < 0;
}

/* Keep (distance, tid) if among query qi's K nearest so far. */
static inline void
offer_neighbor(IvfpqCalibration *c, int qi, float distance, const ItemPointerData *tid)
{
	IvfpqCalibNeighbor *list = c->nearest + (Size) qi * IVFPQ_CALIB_K;
	int			n = c->found[qi];
	int			pos;

	if (n == IVFPQ_CALIB_K)
	{
		if (!neighbor_precedes(distance, tid, &list[n - 1]))
			return;
		n--;
	}
	else
		c->found[qi]++;
	/* insertion into the ascending list */
	for (pos = n; pos > 0 && neighbor_precedes(distance, tid, &list[pos - 1]); pos--)
		list[pos] = list[pos - 1];
	list[pos].distance = distance;
	list[pos].tid = *tid;
}

void
ivfpq_calib_offer(IvfpqCalibration *c, const float *rows, const ItemPointerData *tids,
				  const bool *skip, int n)
{
	int			nq = c->nqueries;

	Assert(n <= VQPQ_ASSIGN_BLOCK);
	if (n <= 0)
		return;
	vqpq_kernels.dot_block(rows, n, c->dims, c->queries_t, nq, nq, c->dims, c->dots, nq);
	for (int i = 0; i < n; i++)
	{
		const float *dots = c->dots + (Size) i * nq;
		float		xnorm = 0;

		if (skip[i])
			continue;
		if (c->metric == IVFPQ_METRIC_L2)
			xnorm = vqpq_kernels.inner_product(rows + (Size) i * c->dims, rows + (Size) i * c->dims, c->dims);
		for (int qi = 0; qi < nq; qi++)
		{
			/* the order of the operator's values; cosine's rows are normalized */
			float		d = c->metric == IVFPQ_METRIC_L2 ? c->norms[qi] + xnorm - 2.0f * dots[qi] : -dots[qi];

			if (c->found[qi] == IVFPQ_CALIB_K &&
				d > c->nearest[(Size) qi * IVFPQ_CALIB_K + IVFPQ_CALIB_K - 1].distance)
				continue;
			if (ItemPointerEquals((ItemPointer) &tids[i], &c->self[qi]))
				continue;
			offer_neighbor(c, qi, d, &tids[i]);
		}
	}
}

/* ---------------------------------------------------------------- parallel builds */

static Size
shared_queries_size(int nqueries, int dims)
{
	return MAXALIGN(mul_size(mul_size(nqueries, dims), sizeof(float))) +
		MAXALIGN(mul_size(nqueries, sizeof(ItemPointerData)));
}

static Size
shared_slot_size(int nqueries)
{
	return MAXALIGN(mul_size(nqueries, sizeof(int))) +
		MAXALIGN(mul_size(mul_size(nqueries, IVFPQ_CALIB_K), sizeof(IvfpqCalibNeighbor)));
}

Size
ivfpq_calib_shared_size(int nqueries, int dims, int nparticipants)
{
	return add_size(shared_queries_size(nqueries, dims), mul_size(nparticipants, shared_slot_size(nqueries)));
}

void
ivfpq_calib_export(const IvfpqCalibration *c, char *shared)
{
	Size		vectors = mul_size(mul_size(c->nqueries, c->dims), sizeof(float));

	memcpy(shared, c->queries, vectors);
	memcpy(shared + MAXALIGN(vectors), c->self, sizeof(ItemPointerData) * c->nqueries);
}

IvfpqCalibration *
ivfpq_calib_import(IvfpqMetric metric, int dims, int nqueries, const char *shared)
{
	IvfpqCalibration *c = calib_alloc(metric, dims, nqueries);
	Size		vectors = mul_size(mul_size(nqueries, dims), sizeof(float));

	memcpy(c->queries, shared, vectors);
	memcpy(c->self, shared + MAXALIGN(vectors), sizeof(ItemPointerData) * nqueries);
	calib_prepare(c);
	return c;
}

static char *
shared_slot(char *shared, int nqueries, int dims, int participant)
{
	return shared + shared_queries_size(nqueries, dims) + (Size) participant * shared_slot_size(nqueries);
}

void
ivfpq_calib_publish(const IvfpqCalibration *c, char *shared, int participant)
{
	char	   *slot = shared_slot(shared, c->nqueries, c->dims, participant);

	memcpy(slot, c->found, sizeof(int) * c->nqueries);
	memcpy(slot + MAXALIGN(sizeof(int) * c->nqueries), c->nearest,
		   sizeof(IvfpqCalibNeighbor) * c->nqueries * IVFPQ_CALIB_K);
}

void
ivfpq_calib_collect(IvfpqCalibration *c, const char *shared, int nparticipants)
{
	memset(c->found, 0, sizeof(int) * c->nqueries);
	for (int p = 0; p < nparticipants; p++)
	{
		const char *slot = shared_slot((char *) shared, c->nqueries, c->dims, p);
		const int  *found = (const int *) slot;
		const IvfpqCalibNeighbor *nearest =
			(const IvfpqCalibNeighbor *) (slot + MAXALIGN(sizeof(int) * c->nqueries));

		for (int qi = 0; qi < c->nqueries; qi++)
			for (int j = 0; j < found[qi]; j++)
			{
				const IvfpqCalibNeighbor *nb = nearest + (Size) qi * IVFPQ_CALIB_K + j;

				offer_neighbor(c, qi, nb->distance, &nb->tid);
			}
	}
}

/* ---------------------------------------------------------------- measuring */

typedef struct Measure
{
	int			nprobes;		/* grid points */
	uint32		nprobe[IVFPQ_CALIB_PROBES];
	double		hits[IVFPQ_CALIB_PROBES][IVFPQ_CALIB_RERANKS];
	double		rows[IVFPQ_CALIB_PROBES];
	double		neighbors;

	/* one query's ADC values, list by list in probe order */
	float	   *values;
	Size		values_len;
	Size		values_capacity;
	Size		max_values;
	Size	   *list_end;		/* values_len after each probed list */
	IvfpqProbe *probes;
} Measure;

static void
keep_value(Measure *ms, float value)
{
	if (ms->values_len == ms->values_capacity)
	{
		ms->values_capacity *= 2;
		ms->values = repalloc_huge(ms->values, sizeof(float) * ms->values_capacity);
	}
	ms->values[ms->values_len++] = value;
}

/*
 * Score one query's nearest lists (up to the grid's largest nprobe) and
 * count, for each grid point, its neighbours that point would return.
 */
static void
measure_query(IvfpqCalibration *c, int qi, Relation index, IvfpqQuantizer *q, float *scratch, Measure *ms)
{
	const IvfpqCalibNeighbor *nearest = c->nearest + (Size) qi * IVFPQ_CALIB_K;
	int			nfound = c->found[qi];
	int			max_probes = (int) ms->nprobe[ms->nprobes - 1];
	int			probe_of[IVFPQ_CALIB_K];
	float		value_of[IVFPQ_CALIB_K];
	int			scored = 0;
	uint64		blocks = 0;		/* a filter of the neighbours' blocks */
	IvfpqScorer scorer;

	for (int j = 0; j < nfound; j++)
	{
		probe_of[j] = -1;
		blocks |= UINT64CONST(1) << (ItemPointerGetBlockNumberNoCheck(&nearest[j].tid) % 64);
	}
	ivfpq_scorer_init(&scorer, index, q, c->queries + (Size) qi * c->dims, scratch);
	ivfpq_scorer_probes(&scorer, max_probes, ms->probes);
	ms->values_len = 0;
	for (int p = 0; p < max_probes && ms->values_len < ms->max_values; p++)
	{
		int			count;

		ivfpq_scorer_start_list(&scorer, ms->probes[p].list, ms->probes[p].base);
		while ((count = ivfpq_scorer_next_page(&scorer)) >= 0)
		{
			for (int i = 0; i < count; i++)
			{
				ItemPointer tid = &scorer.tids[i];

				if (ItemPointerEquals(tid, &c->self[qi]))
					continue;
				if (blocks & (UINT64CONST(1) << (ItemPointerGetBlockNumberNoCheck(tid) % 64)))
				{
					for (int j = 0; j < nfound; j++)
						if (probe_of[j] < 0 && ItemPointerEquals(tid, (ItemPointer) &nearest[j].tid))
						{
							probe_of[j] = p;
							value_of[j] = scorer.adc[i];
						}
				}
				keep_value(ms, scorer.adc[i]);
			}
		}
		ms->list_end[p] = ms->values_len;
		scored = p + 1;
	}

	for (int g = 0; g < ms->nprobes; g++)
	{
		int			probes = Min((int) ms->nprobe[g], scored);

		ms->rows[g] += probes > 0 ? ms->list_end[probes - 1] : 0;
	}
	ms->neighbors += nfound;

	/*
	 * Rows ahead of each neighbour: with the neighbours' values sorted, a
	 * row is ahead of those whose value is above its own, and most rows are
	 * above them all.  cum[k]: rows so far with exactly k neighbour values
	 * at or below their own.
	 */
	{
		float		sorted[IVFPQ_CALIB_K];
		int			probe[IVFPQ_CALIB_K];
		int			n = 0;
		Size		cum[IVFPQ_CALIB_K + 1] = {0};
		Size		v = 0;

		for (int j = 0; j < nfound; j++)
		{
			int			pos;

			if (probe_of[j] < 0)
				continue;
			for (pos = n; pos > 0 && sorted[pos - 1] > value_of[j]; pos--)
			{
				sorted[pos] = sorted[pos - 1];
				probe[pos] = probe[pos - 1];
			}
			sorted[pos] = value_of[j];
			probe[pos] = probe_of[j];
			n++;
		}
		if (n == 0)
			return;

		for (int g = 0; g < ms->nprobes && (int) ms->nprobe[g] <= scored; g++)
		{
			Size		end = ms->list_end[ms->nprobe[g] - 1];
			Size		before = 0;
			float		top = sorted[n - 1];

			for (; v < end; v++)
			{
				float		x = ms->values[v];
				int			k = 0;

				if (x >= top)
					continue;
				while (sorted[k] <= x)
					k++;
				cum[k]++;
			}
			for (int i = 0; i < n; i++)
			{
				before += cum[i];
				if (probe[i] >= (int) ms->nprobe[g])
					continue;
				for (int r = 0; r < IVFPQ_CALIB_RERANKS; r++)
					if (before < rerank_grid[r])
						ms->hits[g][r] += 1;
			}
		}
	}
}

void
ivfpq_calib_measure(IvfpqCalibration *c, Relation index, IvfpqMetaPageData *meta)
{
	IvfpqQuantizer *q = ivfpq_pin_quantizer(index);
	float	   *scratch = ivfpq_claim_scan_scratch(q);
	Measure    *ms = palloc0(sizeof(Measure));
	TimestampTz start = GetCurrentTimestamp();
	MemoryContext query_cxt = AllocSetContextCreate(CurrentMemoryContext, "ivfpq calibration query",
													ALLOCSET_DEFAULT_SIZES);

	Assert(q->meta.trained && q->meta.build_id == meta->build_id);

	/* the grid's nprobes below nlist, then nlist itself if the grid reaches it */
	for (int g = 0; g < IVFPQ_CALIB_PROBES && probe_grid[g] < meta->nlist; g++)
		ms->nprobe[ms->nprobes++] = probe_grid[g];
	if (ms->nprobes < IVFPQ_CALIB_PROBES)
		ms->nprobe[ms->nprobes++] = meta->nlist;

	ms->max_values = Max(MIN_QUERY_VALUES,
						 Min(MAX_QUERY_VALUES, (Size) maintenance_work_mem * 1024 / 4 / sizeof(float)));
	ms->values_capacity = 1024;
	ms->values = palloc(sizeof(float) * ms->values_capacity);
	ms->list_end = palloc(sizeof(Size) * ms->nprobe[ms->nprobes - 1]);
	ms->probes = palloc(sizeof(IvfpqProbe) * ms->nprobe[ms->nprobes - 1]);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_CALIBRATE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, c->nqueries);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);
	for (int qi = 0; qi < c->nqueries; qi++)
	{
		MemoryContext old = MemoryContextSwitchTo(query_cxt);

		measure_query(c, qi, index, q, scratch, ms);
		MemoryContextSwitchTo(old);
		MemoryContextReset(query_cxt);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, qi + 1);
	}
	MemoryContextDelete(query_cxt);

	memset(meta->calib_nprobe, 0, sizeof(meta->calib_nprobe));
	memset(meta->calib_rows, 0, sizeof(meta->calib_rows));
	memset(meta->calib_recall, 0, sizeof(meta->calib_recall));
	meta->calib_queries = 0;
	if (ms->neighbors > 0)
	{
		meta->calib_queries = c->nqueries;
		meta->calib_k = IVFPQ_CALIB_K;
		memcpy(meta->calib_rerank, rerank_grid, sizeof(rerank_grid));
		for (int g = 0; g < ms->nprobes; g++)
		{
			meta->calib_nprobe[g] = ms->nprobe[g];
			meta->calib_rows[g] = (uint32) Min(rint(ms->rows[g] / c->nqueries), (double) PG_UINT32_MAX);
			for (int r = 0; r < IVFPQ_CALIB_RERANKS; r++)
				meta->calib_recall[g][r] = (uint16) rint(10000.0 * ms->hits[g][r] / ms->neighbors);
		}
	}
	/* the session's cached copy serves the next queries: it needs this too */
	q->meta = *meta;

	ivfpq_release_scan_scratch(q, scratch);
	ivfpq_unpin_quantizer(q);
	elog(DEBUG1, "ivfpq build: recall calibrated on %d queries, %d nprobe values, in %.3f s",
		 c->nqueries, ms->nprobes, (double) (GetCurrentTimestamp() - start) / USECS_PER_SEC);
}

char *
ivfpq_calib_problem(const IvfpqMetaPageData *meta)
{
	if (meta->calib_queries == 0)
		return NULL;
	if (meta->calib_k != IVFPQ_CALIB_K)
		return psprintf("calibration is for recall@%u, not @%d", meta->calib_k, IVFPQ_CALIB_K);
	for (int g = 0; g < IVFPQ_CALIB_PROBES; g++)
	{
		if (meta->calib_nprobe[g] == 0)
		{
			if (g == 0)
				return pstrdup("calibration has no nprobe values");
			continue;
		}
		if (meta->calib_nprobe[g] > meta->nlist ||
			(g > 0 && meta->calib_nprobe[g] <= meta->calib_nprobe[g - 1]))
			return psprintf("calibration nprobe %u (value %d) is not increasing up to nlist", meta->calib_nprobe[g], g + 1);
		for (int r = 0; r < IVFPQ_CALIB_RERANKS; r++)
			if (meta->calib_recall[g][r] > 10000 ||
				(r > 0 && meta->calib_recall[g][r] < meta->calib_recall[g][r - 1]))
				return psprintf("calibration recall %u at nprobe %u is not a fraction that grows with rerank",
								meta->calib_recall[g][r], meta->calib_nprobe[g]);
	}
	for (int r = 0; r < IVFPQ_CALIB_RERANKS; r++)
		if (meta->calib_rerank[r] == 0 || (r > 0 && meta->calib_rerank[r] <= meta->calib_rerank[r - 1]))
			return psprintf("calibration rerank %u (value %d) is not increasing", meta->calib_rerank[r], r + 1);
	return NULL;
}

/* ---------------------------------------------------------------- choosing */

/*
 * A query's time at a grid point, in nanoseconds, as measured on x86-64
 * (see the README's profile): a lookup table per probed list (for L2 and
 * cosine), the probed rows' ADC values, and per re-ranked candidate a heap
 * fetch and an exact distance, far dearer when the vector is in TOAST.
 * Only the ratios matter: they choose between points of equal recall.
 */
typedef struct CostModel
{
	double		per_list;
	double		per_row;
	double		per_rerank;
} CostModel;

static void
cost_model(const IvfpqMetaPageData *meta, bool external_rows, CostModel *cm)
{
	IvfpqEntryLayout layout;

	ivfpq_entry_layout(meta, &layout);
	cm->per_list = meta->metric == IVFPQ_METRIC_IP ? 300 : 800 + 0.4 * meta->m * (1 << meta->nbits);
	cm->per_row = layout.blocked ? 4 + 0.03 * meta->m : 3 + 0.6 * meta->m;
	cm->per_rerank = (external_rows ? 6000 : 2000) + 0.5 * meta->dims;
}

static double
point_cost(const IvfpqMetaPageData *meta, const CostModel *cm, int g, int r)
{
	return meta->calib_nprobe[g] * cm->per_list + meta->calib_rows[g] * cm->per_row +
		meta->calib_rerank[r] * cm->per_rerank;
}

/* The grid point at or below value (0 if all are above). */
static int
grid_floor(const uint32 *grid, int n, int value)
{
	int			i = 0;

	while (i + 1 < n && grid[i + 1] != 0 && (int) grid[i + 1] <= value)
		i++;
	return i;
}

void
ivfpq_choose_settings(const IvfpqMetaPageData *meta, bool external_rows, IvfpqSettings *out)
{
	int			nprobes = 0;
	int			g_lo = 0,
				g_hi,
				r_lo = 0,
				r_hi = IVFPQ_CALIB_RERANKS - 1;
	double		need;
	double		n;
	int			best_g = -1,
				best_r = -1;
	double		best_cost = 0;
	CostModel	cm;

	out->nprobe = ivfpq_nprobe;
	out->rerank = ivfpq_rerank;
	out->recall = -1;
	out->from_calibration = false;

	if (meta->calib_queries == 0 || !meta->trained)
	{
		/* no calibration (an older format, or too few rows): fixed defaults */
		if (out->nprobe <= 0)
			out->nprobe = 10;
		if (out->rerank < 0)
			out->rerank = 100;
		return;
	}

	cost_model(meta, external_rows, &cm);
	while (nprobes < IVFPQ_CALIB_PROBES && meta->calib_nprobe[nprobes] != 0)
		nprobes++;
	g_hi = nprobes - 1;
	/* a setting given narrows the grid to the point at or below it */
	if (ivfpq_nprobe > 0)
		g_lo = g_hi = grid_floor(meta->calib_nprobe, nprobes, ivfpq_nprobe);
	if (ivfpq_rerank >= 0)
		r_lo = r_hi = grid_floor(meta->calib_rerank, IVFPQ_CALIB_RERANKS, ivfpq_rerank);

	/*
	 * The target plus the estimate's standard error, so that the recall
	 * claimed holds for other queries like the table's rows.
	 */
	n = (double) meta->calib_queries * meta->calib_k;
	need = ivfpq_target_recall + sqrt(ivfpq_target_recall * (1.0 - ivfpq_target_recall) / n);
	for (int g = g_lo; g <= g_hi; g++)
		for (int r = r_lo; r <= r_hi; r++)
		{
			double		cost;

			if (meta->calib_recall[g][r] < need * 10000.0)
				continue;
			cost = point_cost(meta, &cm, g, r);
			if (best_g < 0 || cost < best_cost)
			{
				best_g = g;
				best_r = r;
				best_cost = cost;
			}
		}

	if (best_g < 0)
	{
		/* out of reach: the best recall measured, the cheapest such */
		for (int g = g_lo; g <= g_hi; g++)
			for (int r = r_lo; r <= r_hi; r++)
			{
				double		cost = point_cost(meta, &cm, g, r);

				if (best_g < 0 || meta->calib_recall[g][r] > meta->calib_recall[best_g][best_r] ||
					(meta->calib_recall[g][r] == meta->calib_recall[best_g][best_r] && cost < best_cost))
				{
					best_g = g;
					best_r = r;
					best_cost = cost;
				}
			}
	}

	if (out->nprobe <= 0)
	{
		out->nprobe = (int) meta->calib_nprobe[best_g];
		out->from_calibration = true;
	}
	if (out->rerank < 0)
	{
		out->rerank = (int) meta->calib_rerank[best_r];
		out->from_calibration = true;
	}
	out->recall = meta->calib_recall[best_g][best_r] / 10000.0;
}

bool
ivfpq_rows_external(Relation index, Relation heap)
{
	AttrNumber	attnum = index->rd_index->indkey.values[0];
	Form_pg_attribute att;

	/* an expression's value is computed from the row, whatever its storage */
	if (attnum <= 0 || attnum > RelationGetNumberOfAttributes(heap))
		return false;
	att = TupleDescAttr(RelationGetDescr(heap), attnum - 1);
	return att->attstorage != TYPSTORAGE_PLAIN &&
		ivfpq_value_size(ivfpq_index_element(index), ivfpq_index_dims(index)) > TOAST_TUPLE_THRESHOLD;
}
