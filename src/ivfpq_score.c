/*
 * ivfpq_score.c
 *		Scoring a query against an ivfpq index by ADC (asymmetric distance
 *		computation: a code's distance is a base term plus a sum of m
 *		lookups in per-query tables).
 *
 * The lists to probe are the nprobe whose centroids are nearest the query.
 * L2 and cosine rank centroids by distance (as rows were assigned); inner
 * product by the product itself, since rows of a list with a large <q, c>
 * tend to have large <q, x>.  The base term of a list's ADC values is its
 * -<q, c> for inner product, and |q - c|^2 for L2 and cosine, whose tables
 * hold the rest of the distance to the residual (pq.h).
 *
 * Cosine scores by L2 on the normalized vectors, not by inner product: the
 * two order unit vectors alike (|q - x|^2 = 2 - 2 cos), but the L2 estimate's
 * error, 2<q - x, r - r^> + |r - r^|^2, scales with the small distance to a
 * near neighbour, where the inner product's, <q, r - r^>, scales with |q| = 1.
 *
 * With a filter (the scan's keys on filter columns), a page's rows that do
 * not meet it are left out first.  When few rows of a page meet it, the
 * few may be scored one by one from the float tables' terms, without
 * forming the list's whole lookup table (m x ksub additions, and for 4-bit
 * codes its quantization), which would cost more than the rows it serves;
 * see score_alone.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/float.h"

#include "distance.h"
#include "fastscan.h"
#include "ivfpq_score.h"

/* (base, list) */
static inline int
probe_cmp(const IvfpqProbe *x, const IvfpqProbe *y)
{
	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	return x->list - y->list;
}

void
ivfpq_scorer_init(IvfpqScorer *s, Relation index, IvfpqQuantizer *q, const float *query, float *scratch)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	s->q = q;
	ivfpq_entry_layout(&q->meta, &s->layout);
	s->metric = (IvfpqMetric) q->meta.metric;
	s->dims = q->meta.dims;
	s->query = query;
	s->adc = palloc(sizeof(float) * s->layout.per_page);
	s->tids = palloc(sizeof(ItemPointerData) * s->layout.per_page);
	s->next = InvalidBlockNumber;
	s->threshold = get_float4_infinity();
	if (!q->meta.trained)
		return;

	s->lut = scratch;
	s->query_table = scratch + (Size) q->pq.m * q->pq.ksub;
	s->list_scratch = scratch + 2 * (Size) q->pq.m * q->pq.ksub;
	if (s->layout.blocked)
		s->qtable = palloc(VQPQ_FS_TABLE_SIZE(q->pq.m));
	if (s->metric == IVFPQ_METRIC_IP)
	{
		/* one table for every list */
		vqpq_pq_lut_ip(&q->pq, query, s->lut);
		if (s->layout.blocked)
			s->qstep = vqpq_fastscan.quantize_table(s->lut, q->pq.m, s->qtable, &s->qbias);
	}
	else
		vqpq_pq_query_table_l2(&q->pq, query, s->query_table);
}

void
ivfpq_scorer_set_filter(IvfpqScorer *s, const IvfpqFilter *filter)
{
	s->filter = filter;
	if (filter && s->match == NULL)
		s->match = palloc(sizeof(bool) * s->layout.per_page);
}

/*
 * Every list's ranking score (base term before qnorm, for L2 and cosine)
 * into all[nlist], and the query's squared norm, which turns an L2 or
 * cosine ranking score into the list's base term.
 */
static float
rank_lists(IvfpqScorer *s, IvfpqProbe *all)
{
	IvfpqQuantizer *q = s->q;
	int			nlist = q->meta.nlist;
	float	   *dots = palloc(sizeof(float) * nlist);

	vqpq_kernels.dot_block(s->query, 1, 0, q->centroids_t, nlist, nlist, s->dims, dots, nlist);
	for (int l = 0; l < nlist; l++)
	{
		all[l].list = l;
		all[l].base = s->metric == IVFPQ_METRIC_IP ? -dots[l] : q->centroid_norms[l] - 2.0f * dots[l];
	}
	pfree(dots);
	return s->metric == IVFPQ_METRIC_IP ? 0.0f : vqpq_kernels.inner_product(s->query, s->query, s->dims);
}

/* Sift the min-heap's item at i down (heap[0] is the least). */
static void
probe_sift_down(IvfpqProbe *heap, int len, int i)
{
	IvfpqProbe	item = heap[i];

	for (;;)
	{
		int			least = 2 * i + 1;

		if (least >= len)
			break;
		if (least + 1 < len && probe_cmp(&heap[least + 1], &heap[least]) < 0)
			least++;
		if (probe_cmp(&heap[least], &item) >= 0)
			break;
		heap[i] = heap[least];
		i = least;
	}
	heap[i] = item;
}

void
ivfpq_scorer_probe_order(IvfpqScorer *s, int nprobes, IvfpqProbeOrder *order)
{
	int			nlist = s->q->meta.nlist;

	Assert(nprobes > 0 && nprobes <= nlist);
	order->probes = palloc(sizeof(IvfpqProbe) * nprobes);
	order->total = nprobes;
	order->sorted = 0;
	order->rest = palloc(sizeof(IvfpqProbe) * nlist);
	order->rest_len = nlist;
	order->qnorm = rank_lists(s, order->rest);
	for (int i = nlist / 2 - 1; i >= 0; i--)
		probe_sift_down(order->rest, nlist, i);
}

void
ivfpq_probe_order_extend(IvfpqProbeOrder *order, int n)
{
	Assert(n <= order->total);
	while (order->sorted < n)
	{
		IvfpqProbe *next = &order->probes[order->sorted++];

		*next = order->rest[0];
		next->base += order->qnorm;
		order->rest[0] = order->rest[--order->rest_len];
		probe_sift_down(order->rest, order->rest_len, 0);
	}
}

void
ivfpq_scorer_probes(IvfpqScorer *s, int nprobes, IvfpqProbe *probes)
{
	IvfpqProbeOrder order;

	ivfpq_scorer_probe_order(s, nprobes, &order);
	ivfpq_probe_order_extend(&order, nprobes);
	memcpy(probes, order.probes, sizeof(IvfpqProbe) * nprobes);
	pfree(order.probes);
	pfree(order.rest);
}

void
ivfpq_scorer_start_list(IvfpqScorer *s, int list, float base)
{
	s->list = list;
	s->base = base;
	s->next = s->q->list_start[list];
	s->lut_ready = s->metric == IVFPQ_METRIC_IP;
	s->list_table = NULL;
	s->list_rows_alone = 0;
	ivfpq_walk_begin(&s->walk, s->index, list);
}

/*
 * Whether the rows whose filter values start at f, stride bytes apart,
 * meet one condition on a 4-byte column (int4, date: the usual category
 * column), into match[0, n); returns how many do.
 */
static inline int
match_int4(const IvfpqCondition *c, const uint8 *f, Size stride, int n, bool *match)
{
	int			hits = 0;

	for (int r = 0; r < n; r++, f += stride)
	{
		int32		v;

		memcpy(&v, f + c->offset, sizeof(v));
		match[r] = !(f[0] & c->null_bit) && v >= c->lo && v <= c->hi;
		hits += match[r];
	}
	return hits;
}

/*
 * Which of a page's rows meet the filter, into s->match; returns how many.
 * A block's rows (on row-major pages, all rows) keep their filter values a
 * fixed stride apart, so they are walked without a lookup per row.
 */
static int
match_rows(IvfpqScorer *s, Page page, int count)
{
	const IvfpqEntryLayout *layout = &s->layout;
	const IvfpqFilter *filter = s->filter;
	const IvfpqCondition *only = filter->nconds == 1 ? &filter->conds[0] : NULL;
	Size		stride = layout->blocked ? layout->filter_size : layout->entry_size;
	int			run_length = layout->blocked ? VQPQ_FS_ROWS : count;
	int			n = 0;

	/*
	 * A page fresh from shared buffers is rarely in cache: ask for every
	 * block's filter values before reading the first, so that their loads
	 * overlap (within a block, and on row-major pages, rows are read front
	 * to back, which the hardware prefetches by itself).
	 */
#if defined(__GNUC__) || defined(__clang__)
	for (int first = 0; layout->blocked && first < count; first += VQPQ_FS_ROWS)
	{
		const char *f = (const char *) ivfpq_entry_filter(layout, page, first);
		Size		len = (Size) Min(VQPQ_FS_ROWS, count - first) * layout->filter_size;

		for (Size off = 0; off < len; off += 64)
			__builtin_prefetch(f + off);
	}
#endif

	for (int first = 0; first < count; first += run_length)
	{
		const uint8 *f = ivfpq_entry_filter(layout, page, first);
		int			run = Min(run_length, count - first);

		if (only && only->width == 4 && only->nset < 0)
			n += match_int4(only, f, stride, run, s->match + first);
		else
		{
			for (int r = 0; r < run; r++, f += stride)
			{
				s->match[first + r] = ivfpq_filter_match(filter, f);
				n += s->match[first + r];
			}
		}
	}
	return n;
}

/*
 * Whether a page's candidates (rows that meet the filter, of count) cost
 * less scored one by one (score_matching_rows) than by the list's table.
 *
 * On 4-bit blocked pages (bench/fastscan_bench.c, m 196 and 242): one row
 * scored alone, its m sub-codes read from its block and looked up in two
 * float tables, takes as long as fast-scan takes for about one whole block
 * of 32 rows with AVX2 and two with AVX-512; forming and quantizing the
 * list's table takes as long as 12 to 20 rows alone.  So once the table is
 * there, one by one pays only on a page with a row or two that match per
 * ALONE_ROW_BLOCKS blocks; before, the table is formed once the rows this
 * list scored alone would have paid for it (ALONE_ROWS_PER_TABLE), which
 * keeps a list within about twice the cost of the cheaper way, whatever
 * its later pages hold.
 *
 * On row-major pages (8-bit codes) the table scores every row of the page
 * at about the cost of one row alone, so one by one pays there while the
 * candidates are a small share of them.
 */
#define ALONE_ROW_BLOCKS 2
#define ALONE_ROWS_PER_TABLE 12

static bool
score_alone(IvfpqScorer *s, int candidates, int count)
{
	if (!s->layout.blocked)
		return candidates * (s->lut_ready ? 16 : 4) <= count;
	if (s->lut_ready)
		return candidates * ALONE_ROW_BLOCKS * VQPQ_FS_ROWS <= count;
	return s->list_rows_alone + candidates <= ALONE_ROWS_PER_TABLE;
}

/*
 * The rows of a page that meet the filter, scored one by one from the float
 * tables: the list's lookup table if it was formed already, else its two
 * terms (L2 and cosine; inner product has one table for every list).
 */
static int
score_matching_rows(IvfpqScorer *s, Page page, int count, int candidates)
{
	const VqpqPq *pq = &s->q->pq;
	const float *table = s->lut_ready ? s->lut : NULL;
	const float *table2 = NULL;
	int			kept = 0;

	if (!s->lut_ready)
	{
		if (s->list_table == NULL)
			s->list_table = ivfpq_list_table(s->q, s->list, s->list_scratch);
		table = s->list_table;
		table2 = s->query_table;
	}
	for (int i = 0; i < count; i++)
	{
		float		adc;

		if (!s->match[i])
			continue;
		if (s->layout.blocked)
			adc = s->base + vqpq_fs_row_sum(ivfpq_block_codes(&s->layout, page, i / VQPQ_FS_ROWS),
											 s->layout.m, i % VQPQ_FS_ROWS, table, table2);
		else
		{
			const uint8 *c = ivfpq_rowmajor_codes(&s->layout, page) + (Size) i * s->layout.entry_size;

			if (s->lut_ready)
				vqpq_pq_adc(pq, s->lut, s->base, c, 1, 0, &adc);
			else
			{
				adc = s->base;
				for (int j = 0; j < pq->m; j++)
				{
					int			at = j * pq->ksub + vqpq_pq_subcode(pq, c, j);

					adc += table[at] + table2[at];
				}
			}
		}
		if (adc > s->threshold)
			continue;
		s->adc[kept] = adc;
		ivfpq_entry_tid(&s->layout, page, i, &s->tids[kept]);
		kept++;
	}
	s->list_rows_alone += candidates;
	return kept;
}

/*
 * ADC values of a blocked page's rows: byte sums of 32 rows at a time by
 * fast-scan, scaled back to the float table's units.  Rows whose sum puts
 * them above the threshold are left out before the scaling; the limit on
 * the sum errs on the side of keeping a row, which the exact comparison
 * then drops.  Returns the rows kept.
 */
static int
score_blocks(IvfpqScorer *s, Page page, int count)
{
	uint32		sums[VQPQ_FS_ROWS];
	float		offset = s->base + s->qbias;
	const char *contents = (const char *) PageGetContents(page);
	Size		used = ivfpq_entries_size(&s->layout, count);
	uint32		limit = PG_UINT32_MAX;
	int			kept = 0;

	/*
	 * Ask for the whole page at once: the blocks are read front to back, but
	 * a page fresh from shared buffers is rarely in cache, and many
	 * outstanding loads finish sooner than one stream of demand misses.
	 */
#if defined(__GNUC__) || defined(__clang__)
	for (Size off = 0; off < used; off += 64)
		__builtin_prefetch(contents + off);
#endif

	if (isfinite(s->threshold) && s->qstep > 0)
	{
		double		bound = ((double) s->threshold - offset) / s->qstep + 1.0;

		limit = bound < 0 ? 0 : bound >= (double) PG_UINT32_MAX ? PG_UINT32_MAX : (uint32) bound;
	}

	for (int first = 0; first < count; first += VQPQ_FS_ROWS)
	{
		int			rows = Min(VQPQ_FS_ROWS, count - first);
		const char *block = contents + (Size) (first / VQPQ_FS_ROWS) * s->layout.block_size;

		vqpq_fastscan.score_block(ivfpq_block_codes(&s->layout, page, first / VQPQ_FS_ROWS), s->qtable,
								  s->layout.m, sums);
		for (int r = 0; r < rows; r++)
		{
			float		adc;

			if (sums[r] > limit || (s->filter && !s->match[first + r]))
				continue;
			adc = offset + s->qstep * (float) sums[r];
			if (adc > s->threshold)
				continue;
			s->adc[kept] = adc;
			/* a block's TIDs come first, one after another */
			memcpy(&s->tids[kept], block + (Size) r * IVFPQ_ENTRY_TID_SIZE, IVFPQ_ENTRY_TID_SIZE);
			kept++;
		}
	}
	return kept;
}

/* Row-major pages: every row's ADC value, then those kept.  Returns how many. */
static int
score_rows(IvfpqScorer *s, Page page, int count)
{
	int			kept = 0;

	vqpq_pq_adc(&s->q->pq, s->lut, s->base, ivfpq_rowmajor_codes(&s->layout, page),
				count, s->layout.entry_size, s->adc);
	for (int i = 0; i < count; i++)
	{
		if (s->adc[i] > s->threshold || (s->filter && !s->match[i]))
			continue;
		s->adc[kept] = s->adc[i];
		ivfpq_entry_tid(&s->layout, page, i, &s->tids[kept]);
		kept++;
	}
	return kept;
}

int
ivfpq_scorer_next_page(IvfpqScorer *s)
{
	IvfpqQuantizer *q = s->q;
	BlockNumber blkno = s->next;
	Buffer		buf;
	Page		page;
	int			count;
	int			candidates;		/* rows that meet the filter, if any */
	int			kept;

	if (!BlockNumberIsValid(blkno))
		return -1;
	ivfpq_walk_step(&s->walk, blkno);
	buf = ivfpq_read_list_page(s->index, q, blkno, &s->page_recent);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	count = ivfpq_entry_page_rows(s->index, &s->layout, page, blkno);
	s->next = IvfpqPageGetOpaque(page)->next;
	candidates = s->filter && count > 0 ? match_rows(s, page, count) : count;
	s->matched += candidates;
	if (candidates == 0)
		kept = 0;
	else if (q->meta.trained && s->filter && score_alone(s, candidates, count))
		kept = score_matching_rows(s, page, count, candidates);
	else if (q->meta.trained)
	{
		/* an L2 list's table, formed when it turns out to have entries */
		if (!s->lut_ready)
		{
			vqpq_pq_lut_combine(&q->pq, ivfpq_list_table(q, s->list, s->list_scratch),
								s->query_table, s->lut);
			if (s->layout.blocked)
				s->qstep = vqpq_fastscan.quantize_table(s->lut, q->pq.m, s->qtable, &s->qbias);
			s->lut_ready = true;
		}
		kept = s->layout.blocked ? score_blocks(s, page, count) : score_rows(s, page, count);
	}
	else if (s->filter)
	{
		kept = 0;
		for (int i = 0; i < count; i++)
		{
			if (s->match[i])
				ivfpq_entry_tid(&s->layout, page, i, &s->tids[kept++]);
		}
	}
	else
	{
		ivfpq_entries_tids(&s->layout, page, count, s->tids);
		kept = count;
	}
	s->rejected = candidates - kept;
	UnlockReleaseBuffer(buf);
	CHECK_FOR_INTERRUPTS();
	return kept;
}
