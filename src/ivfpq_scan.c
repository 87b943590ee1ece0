/*
 * ivfpq_scan.c
 *		ORDER BY column <op> query scans of an ivfpq index.
 *
 * A scan picks the nprobe lists whose centroids are nearest to the query
 * and scores every code in them by ADC (asymmetric distance computation: a
 * sum of m lookups in per-query tables).  With re-ranking (R > 0) it reads
 * the best R candidates' rows from the table, computes their exact
 * distances and returns them in exact order; without, it returns them in
 * ADC order.  nprobe and R are vqpq.nprobe and vqpq.rerank, or where those
 * are automatic, what vqpq.target_recall chooses from the index's recall
 * calibration (ivfpq_calibration.c), once per query.
 *
 * Results come in batches of R, in (ADC distance, TID) order from one batch
 * to the next: when the executor wants more rows than a batch holds (a
 * large LIMIT, or a WHERE clause filtering rows out), the next batch is the
 * next R candidates after the last batch's largest.  The first batch keeps
 * only the best R while scoring (the common case, LIMIT <= R, needs no
 * more); if a second is wanted, the lists are scored once more and every
 * candidate past the first batch is kept, sorted, up to work_mem, and later
 * batches are served from there.  So the lists are scored twice per window
 * of probes (more only when their rows overflow work_mem), however many
 * rows are consumed.  Candidates whose rows are no longer visible (deleted,
 * not yet vacuumed) do not count towards R.
 *
 * With vqpq.iterative_scan = relaxed_order, once the probed lists are used
 * up the scan probes the next nprobe nearest lists, and so on up to
 * vqpq.max_probes: a query whose WHERE clause rejects most rows still gets
 * its LIMIT, at the price of rows that are not in one global order.
 *
 * WHERE clauses on the index's filter columns (ivfpq_filter.c) come as scan
 * keys, and rows that do not meet them are left out as the lists are read:
 * they are neither re-ranked nor returned.  Such a scan widens each window
 * of probes, nprobe lists at a time, until it holds R rows that meet the
 * keys and nprobe of its lists (at least FILTER_MIN_LISTS) held some, and
 * for L2 and cosine until it has read the lists as near to the nearest
 * list with matching rows as the nprobe lists are to the query (in ratio
 * of squared distances), or it has used up vqpq.max_probes lists:
 * re-ranking then has as many candidates as without a filter, and a filter
 * matching only rows far from the query still has their neighbourhood
 * searched.  It always goes on to further windows when the executor wants
 * more rows, as relaxed_order does.
 *
 * An index built without rows has no quantizer: its "ADC distance" is the
 * exact distance, read from the table, so it stays correct, only slow.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "distance.h"
#include "ivfpq.h"
#include "ivfpq_calibration.h"
#include "ivfpq_score.h"
#include "pqvector.h"

/* candidates per batch when re-ranking is off */
#define ADC_BATCH 1000

/*
 * Lists with matching rows a filtered scan reads at least, whatever nprobe:
 * rows that match far from the query lie at the edge of their clusters,
 * which k-means often splits over several lists, so the one list that
 * serves an unfiltered query of well clustered data does not do for them.
 */
#define FILTER_MIN_LISTS 4

typedef struct Candidate
{
	double		distance;		/* ADC, or exact after re-ranking; NaN sorts last */
	ItemPointerData tid;
} Candidate;

typedef struct IvfpqScanOpaqueData
{
	IvfpqQuantizer *quantizer;	/* pinned while the scan is open */
	MemoryContext scan_cxt;		/* the scan's lifetime */
	MemoryContext query_cxt;	/* per query: reset by rescan */

	bool		started;
	bool		exhausted;
	bool		null_query;		/* ORDER BY col <-> NULL: all rows, any order */
	IvfpqMetric metric;
	IvfpqElement element;
	int			dims;
	int			batch_size;
	bool		rerank;
	bool		external_rows;	/* vectors in TOAST: re-ranking costs more */
	IvfpqSettings settings;		/* nprobe and rerank, chosen per query */
	IvfpqFilter *filter;		/* the scan keys on filter columns, or NULL */
	bool		no_rows;		/* keys no row can meet */
	int			lists_matched;	/* lists of this window with rows that met them */
	int			first_matched;	/* the first of them, a probe number, or -1 */
	float		reach;			/* L2, cosine: nprobe-th list's base / first's */
	uint64		list_pages;		/* list pages scored by this scan (all queries) */
	uint64		list_pages_recent;	/* of them, found through their recent buffer */
	float	   *query;			/* prepared (normalized for cosine) */

	/*
	 * Lists in probe order, nearest first, with their ADC base term (sorted
	 * as far as they are read: ivfpq_probe_at).  A batch scores the lists of
	 * the current window [window_start, window_end); an iterative scan moves
	 * the window on to the next nprobe lists when one is used up, until all
	 * nprobes selected lists are probed.
	 */
	int			nprobes;
	int			window_size;	/* nprobe when the query started */
	int			window_start;
	int			window_end;
	IvfpqProbeOrder order;
	float	   *scratch;		/* the scorer's tables; see start_query */
	IvfpqEntryLayout layout;
	IvfpqScorer scorer;

	/* the batch being built: the best batch_size past the bound */
	Candidate  *heap;
	int			heap_len;

	/*
	 * The current window's candidates past the first batch, ascending, for
	 * the batches after it: stash_len of them, the next at stash_next.
	 * window_scored: the first batch was taken; window_complete: every
	 * candidate past the bound has been kept (in the batch or the stash).
	 */
	Candidate  *stash;
	int			stash_capacity;
	int			stash_len;
	int			stash_next;
	bool		window_scored;
	bool		window_complete;
	/* the batch being returned, ascending */
	Candidate  *results;
	int			results_capacity;
	int			nresults;
	int			next_result;
	/* everything up to this key has been returned */
	bool		have_bound;
	Candidate	bound;

	/* reading rows straight off chains: see begin_chains */
	bool		in_chains;
	bool		chains_done;	/* the chain of rows without direction was read */
	int			chain_list;
	int			chain_end;
	BlockNumber chain_block;
	IvfpqChainWalk chain_walk;
	double		chain_distance;

	/* reading rows from the table: for re-ranking and untrained indexes */
	IvfpqRowReader *reader;
} IvfpqScanOpaqueData;

typedef IvfpqScanOpaqueData *IvfpqScanOpaque;

static void begin_chains(IndexScanDesc scan, int first_list, int end_list, double distance);

/* ---------------------------------------------------------------- ordering */

/* (distance, tid), with NaN after every number */
static inline int
candidate_cmp(const Candidate *a, const Candidate *b)
{
	bool		anan = isnan(a->distance);
	bool		bnan = isnan(b->distance);

	if (anan != bnan)
		return anan ? 1 : -1;
	if (!anan && a->distance != b->distance)
		return a->distance < b->distance ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

static inline int
candidate_tid_cmp(const Candidate *a, const Candidate *b)
{
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

/* sorts with the comparisons inlined: candidate_sort, candidate_tid_sort */
#define ST_SORT candidate_sort
#define ST_ELEMENT_TYPE Candidate
#define ST_COMPARE(a, b) candidate_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT candidate_tid_sort
#define ST_ELEMENT_TYPE Candidate
#define ST_COMPARE(a, b) candidate_tid_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define TOPK_PREFIX candidate
#define TOPK_ELEMENT Candidate
#define TOPK_CMP(a, b) candidate_cmp(a, b)
#include "topk_template.h"

/*
 * Offer a candidate to the pass being scored: those up to the bound were
 * returned already.  Returns true if one had to be dropped.
 */
static inline bool
consider(IvfpqScanOpaque so, Candidate *dest, int *len, int capacity, double distance, ItemPointer tid)
{
	Candidate	c;

	c.distance = distance;
	c.tid = *tid;
	if (so->have_bound && candidate_cmp(&c, &so->bound) <= 0)
		return false;
	return candidate_offer(dest, len, capacity, &c);
}

/* ---------------------------------------------------------------- exact distances */

/*
 * The exact distance of the row at tid, in an order-preserving form of the
 * operator's value (squared for L2), or false if the row is not visible.
 */
static bool
exact_distance(IndexScanDesc scan, ItemPointer tid, double *distance)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	const float *x = ivfpq_row_reader_fetch(so->reader, tid, scan->xs_snapshot);

	if (x == NULL)
		return false;
	*distance = ivfpq_exact_distance(so->metric, x, so->query, so->dims);
	return true;
}

/* ---------------------------------------------------------------- query setup */

/*
 * The lists to probe: nprobe, or for an iterative scan up to
 * vqpq.max_probes, taken nprobe at a time (a window).
 */
static void
choose_probes(IvfpqScanOpaque so)
{
	int			nlist = so->quantizer->meta.nlist;

	int			nprobe = so->settings.nprobe;

	so->nprobes = ivfpq_iterative_scan == IVFPQ_ITERATIVE_OFF && so->filter == NULL
		? nprobe : Max(nprobe, ivfpq_max_probes);
	so->nprobes = Min(so->nprobes, nlist);
	so->window_size = Min(nprobe, nlist);
	so->window_start = 0;
	so->window_end = so->window_size;
	ivfpq_scorer_probe_order(&so->scorer, so->nprobes, &so->order);
	so->reach = 0;
	if (so->metric != IVFPQ_METRIC_IP && ivfpq_probe_at(&so->order, 0)->base > 0)
		so->reach = ivfpq_probe_at(&so->order, so->window_size - 1)->base / ivfpq_probe_at(&so->order, 0)->base;
}

static void
start_query(IndexScanDesc scan)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	IvfpqQuantizer *q = so->quantizer;
	ScanKey		key = &scan->orderByData[0];
	MemoryContext old = MemoryContextSwitchTo(so->query_cxt);
	int			per_page = so->layout.per_page;

	so->exhausted = false;
	so->have_bound = false;
	so->heap_len = so->nresults = so->next_result = 0;
	so->stash = NULL;
	so->stash_len = so->stash_next = 0;
	so->window_complete = false;
	/* an untrained index reads rows to score them: straight to the stash */
	so->window_scored = !q->meta.trained;
	so->stash_capacity = (int) Min((Size) MaxAllocSize / sizeof(Candidate),
								   (Size) work_mem * 1024 / sizeof(Candidate));
	so->null_query = (key->sk_flags & SK_ISNULL) != 0;

	so->in_chains = so->chains_done = false;
	so->filter = ivfpq_filter_begin(scan->indexRelation, &q->meta, scan->keyData, scan->numberOfKeys);
	so->no_rows = so->filter && so->filter->none;
	if (so->no_rows)
	{
		MemoryContextSwitchTo(old);
		return;
	}
	if (so->null_query)
	{
		so->results_capacity = per_page;
		so->results = palloc(sizeof(Candidate) * so->results_capacity);
		begin_chains(scan, 0, IvfpqStoredLists(&q->meta), 0);
		MemoryContextSwitchTo(old);
		return;
	}

	so->query = palloc(sizeof(float) * so->dims);
	ivfpq_prepare_vector(so->metric, so->element, so->dims, key->sk_argument, so->query);

	/* the settings, or what vqpq.target_recall chooses for this index */
	ivfpq_choose_settings(&q->meta, so->external_rows, &so->settings);
	/* untrained indexes score by exact distances: nothing to re-rank after */
	so->rerank = so->settings.rerank > 0 && q->meta.trained;
	so->batch_size = so->settings.rerank > 0 ? so->settings.rerank : ADC_BATCH;
	so->heap = palloc(sizeof(Candidate) * so->batch_size);
	so->stash_capacity = Max(so->stash_capacity, so->batch_size);
	so->results_capacity = so->batch_size;
	so->results = palloc(sizeof(Candidate) * so->results_capacity);

	/* the quantizer's scratch outlives this query: claim it once per scan */
	if (so->scratch == NULL && q->meta.trained)
	{
		MemoryContextSwitchTo(so->scan_cxt);
		so->scratch = ivfpq_claim_scan_scratch(q);
		MemoryContextSwitchTo(so->query_cxt);
	}
	ivfpq_scorer_init(&so->scorer, scan->indexRelation, q, so->query, so->scratch);
	ivfpq_scorer_set_filter(&so->scorer, so->filter);
	if (q->meta.trained)
		choose_probes(so);
	else
	{
		so->nprobes = so->window_end = so->window_size = 1;
		so->window_start = 0;
		/* one list, the only one such an index has */
		memset(&so->order, 0, sizeof(so->order));
		so->order.probes = palloc0(sizeof(IvfpqProbe));
		so->order.sorted = so->order.total = 1;
	}
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------- batches */

/*
 * Score every entry of the lists of probes [from, to), adding the best
 * capacity past the bound to dest (a max-heap, *len of them).  Returns true
 * if any had to be dropped, that is, if dest does not hold every candidate
 * past the bound.
 */
static bool
score_lists(IndexScanDesc scan, int from, int to, Candidate *dest, int *len, int capacity)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	IvfpqScorer *scorer = &so->scorer;
	bool		trained = so->quantizer->meta.trained;
	bool		dropped = false;

	scorer->threshold = trained && *len == capacity ? (float) dest[0].distance : get_float4_infinity();
	for (int p = from; p < to; p++)
	{
		int			count;
		int64		matched_before = scorer->matched;
		const IvfpqProbe *probe = ivfpq_probe_at(&so->order, p);

		ivfpq_scorer_start_list(scorer, probe->list, probe->base);
		while ((count = ivfpq_scorer_next_page(scorer)) >= 0)
		{
			so->list_pages++;
			so->list_pages_recent += scorer->page_recent;
			/* rows are read only after the index page is released */
			if (trained)
			{
				dropped |= scorer->rejected > 0;
				for (int i = 0; i < count; i++)
					dropped |= consider(so, dest, len, capacity, scorer->adc[i], &scorer->tids[i]);
				/* once full, rows above the worst kept cannot get in */
				if (*len == capacity)
					scorer->threshold = (float) dest[0].distance;
			}
			else
			{
				for (int i = 0; i < count; i++)
				{
					double		distance;

					if (exact_distance(scan, &scorer->tids[i], &distance))
						dropped |= consider(so, dest, len, capacity, distance, &scorer->tids[i]);
				}
			}
		}
		if (scorer->matched > matched_before)
		{
			if (so->lists_matched++ == 0)
				so->first_matched = p;
		}
	}
	return dropped;
}

/*
 * The next candidates past the bound, ascending, into so->heap: up to
 * batch_size of them, from the current window or (iterative scans) the
 * next ones.  Returns how many; 0 when the probes are used up.
 */
static int
take_candidates(IndexScanDesc scan)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	int			n;

	for (;;)
	{
		if (so->stash_next < so->stash_len)
		{
			n = Min(so->batch_size, so->stash_len - so->stash_next);
			memcpy(so->heap, so->stash + so->stash_next, sizeof(Candidate) * n);
			so->stash_next += n;
			break;
		}
		if (!so->window_scored)
		{
			bool		dropped;

			/* the first batch: the best batch_size, nothing more kept */
			n = 0;
			so->scorer.matched = 0;
			so->lists_matched = 0;
			so->first_matched = -1;
			dropped = score_lists(scan, so->window_start, so->window_end, so->heap, &n, so->batch_size);

			/*
			 * With a filter, lists until batch_size rows met it, nprobe
			 * lists (at least FILTER_MIN_LISTS) held some, and (L2, cosine)
			 * every list is read whose centroid is as near, relative to the
			 * nearest list with matching rows, as the nprobe-th is to the
			 * nearest list: where the matching rows are far from the query,
			 * they are searched as widely as the query's own neighbourhood
			 * would be, which takes more lists.
			 */
			while (so->filter && so->window_end < so->nprobes &&
				   (so->scorer.matched < so->batch_size ||
					so->lists_matched < Max(so->window_size, FILTER_MIN_LISTS) ||
					(so->reach > 0 && so->first_matched >= 0 &&
					 ivfpq_probe_at(&so->order, so->window_end)->base <=
					 so->reach * ivfpq_probe_at(&so->order, so->first_matched)->base)))
			{
				int			from = so->window_end;

				so->window_end = Min(so->window_end + so->window_size, so->nprobes);
				dropped |= score_lists(scan, from, so->window_end, so->heap, &n, so->batch_size);
			}
			so->window_complete = !dropped;
			so->window_scored = true;
			candidate_sort(so->heap, n);
			if (n > 0)
				break;
		}
		else if (!so->window_complete)
		{
			/* later batches: everything past the first, up to work_mem */
			if (so->stash == NULL)
				so->stash = MemoryContextAllocHuge(so->query_cxt, sizeof(Candidate) * (Size) so->stash_capacity);
			so->stash_len = 0;
			so->window_complete = !score_lists(scan, so->window_start, so->window_end,
											   so->stash, &so->stash_len, so->stash_capacity);
			candidate_sort(so->stash, so->stash_len);
			so->stash_next = 0;
			if (so->stash_len > 0)
				continue;
		}

		/* this window is used up: an iterative scan goes on to the next lists */
		if (so->window_end >= so->nprobes)
			return 0;
		so->window_start = so->window_end;
		so->window_end = Min(so->window_end + so->window_size, so->nprobes);
		so->have_bound = false;
		so->window_scored = !so->quantizer->meta.trained;
		so->window_complete = false;
		so->stash_len = so->stash_next = 0;
	}
	so->bound = so->heap[n - 1];
	so->have_bound = true;
	return n;
}

/* Append a re-ranked candidate to the results, growing them as needed. */
static void
add_result(IvfpqScanOpaque so, ItemPointer tid, double distance)
{
	if (so->nresults == so->results_capacity)
	{
		so->results_capacity *= 2;
		so->results = repalloc(so->results, sizeof(Candidate) * so->results_capacity);
	}
	so->results[so->nresults].tid = *tid;
	so->results[so->nresults].distance = distance;
	so->nresults++;
}

static inline BlockNumber
candidate_block(const Candidate *c)
{
	return ItemPointerGetBlockNumberNoCheck(&c->tid);
}

/*
 * Exact distances of the first n candidates, in TID order, into the results.
 * When the reader prefetches, the pages of the candidates to come are kept
 * asked for that many pages ahead of the one read.
 */
static void
rerank_candidates(IndexScanDesc scan, int n)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	int			distance_ahead = ivfpq_row_reader_prefetch_distance(so->reader);
	int			next_ask = 0;	/* the next candidate whose page may be asked for */
	int			pages_asked = 0;
	int			pages_read = 0;

	for (int i = 0; i < n; i++)
	{
		double		distance;

		if (i == 0 || candidate_block(&so->heap[i]) != candidate_block(&so->heap[i - 1]))
			pages_read++;
		while (distance_ahead > 0 && next_ask < n && pages_asked < pages_read + distance_ahead)
		{
			if (next_ask == 0 ||
				candidate_block(&so->heap[next_ask]) != candidate_block(&so->heap[next_ask - 1]))
			{
				ivfpq_row_reader_prefetch(so->reader, &so->heap[next_ask].tid);
				pages_asked++;
			}
			next_ask++;
		}
		if (exact_distance(scan, &so->heap[i].tid, &distance))
			add_result(so, &so->heap[i].tid, distance);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The next batch of rows to return.  Re-ranking keeps going until it has
 * re-scored batch_size rows that are visible, so entries of deleted rows not
 * yet removed by VACUUM do not eat into the re-ranking budget.
 */
static void
next_batch(IndexScanDesc scan)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;

	so->nresults = so->next_result = 0;
	while (so->nresults < so->batch_size)
	{
		int			n = take_candidates(scan);

		if (n == 0)
		{
			if (so->nresults == 0)
				so->exhausted = true;
			break;
		}
		if (!so->rerank)
		{
			for (int i = 0; i < n; i++)
				add_result(so, &so->heap[i].tid, so->heap[i].distance);
			break;
		}

		/*
		 * Read the rows in TID order: the heap is then read forward, and
		 * candidates sharing a page read it once (the reader keeps the last
		 * page pinned).  When the reader prefetches, the pages of the next
		 * candidates are asked for a few pages ahead of the one read.  The
		 * results are sorted by distance below.
		 */
		candidate_tid_sort(so->heap, n);
		rerank_candidates(scan, n);
	}
	if (so->rerank)
		candidate_sort(so->results, so->nresults);
}

/*
 * Rows read straight off the chains, a page at a time, all with the same
 * distance: every stored list for a NULL query (any order), and after the
 * probed lists, cosine's chain of rows without direction (distance NaN,
 * after every number).  Begin with begin_chains, then next_chain_batch.
 */
static void
begin_chains(IndexScanDesc scan, int first_list, int end_list, double distance)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;

	so->chain_list = first_list;
	so->chain_end = end_list;
	so->chain_block = so->quantizer->list_start[first_list];
	so->chain_distance = distance;
	so->in_chains = true;
	ivfpq_walk_begin(&so->chain_walk, scan->indexRelation, first_list);
}

static void
next_chain_batch(IndexScanDesc scan)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;
	IvfpqQuantizer *q = so->quantizer;

	so->nresults = so->next_result = 0;
	while (so->nresults == 0)
	{
		Buffer		buf;
		Page		page;
		int			count;

		while (!BlockNumberIsValid(so->chain_block))
		{
			if (++so->chain_list >= so->chain_end)
			{
				so->exhausted = true;
				return;
			}
			so->chain_block = q->list_start[so->chain_list];
			ivfpq_walk_begin(&so->chain_walk, scan->indexRelation, so->chain_list);
		}
		ivfpq_walk_step(&so->chain_walk, so->chain_block);
		buf = ReadBuffer(scan->indexRelation, so->chain_block);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		count = ivfpq_entry_page_rows(scan->indexRelation, &so->layout, page, so->chain_block);
		for (int i = 0; i < count; i++)
		{
			ItemPointerData tid;

			if (so->filter && !ivfpq_filter_match(so->filter, ivfpq_entry_filter(&so->layout, page, i)))
				continue;
			ivfpq_entry_tid(&so->layout, page, i, &tid);
			add_result(so, &tid, so->chain_distance);
		}
		so->chain_block = IvfpqPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------------------------------------------------------------- AM callbacks */

IndexScanDesc
ivfpq_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfpqScanOpaque so = palloc0(sizeof(IvfpqScanOpaqueData));

	so->quantizer = ivfpq_pin_quantizer(index);
	so->scan_cxt = CurrentMemoryContext;
	so->metric = (IvfpqMetric) so->quantizer->meta.metric;
	so->element = ivfpq_index_element(index);
	so->dims = so->quantizer->meta.dims;
	ivfpq_entry_layout(&so->quantizer->meta, &so->layout);
	so->query_cxt = AllocSetContextCreate(CurrentMemoryContext, "ivfpq scan query", ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

void
ivfpq_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	/* a nested loop rescans once per outer row: free the last query's memory */
	MemoryContextReset(so->query_cxt);
	so->started = false;
}

bool
ivfpq_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;

	if (!so->started)
	{
		if (scan->orderByData == NULL || scan->numberOfOrderBys == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot scan ivfpq index \"%s\" without an ORDER BY distance",
							RelationGetRelationName(scan->indexRelation)),
					 errhint("An ivfpq index serves ORDER BY column <-> value LIMIT k queries.")));
		/* TIDs are returned without a pin held: only MVCC keeps them valid */
		if (!IsMVCCSnapshot(scan->xs_snapshot))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("non-MVCC snapshots are not supported with ivfpq")));
		pgstat_count_index_scan(scan->indexRelation);
#if PG_VERSION_NUM >= 180000
		/* EXPLAIN ANALYZE's "Index Searches" */
		if (scan->instrument)
			scan->instrument->nsearches++;
#endif

		if (scan->heapRelation == NULL)
			elog(ERROR, "ivfpq index scan without its table");
		if (so->reader == NULL)
		{
			so->reader = ivfpq_row_reader_begin(scan->heapRelation, scan->indexRelation, so->dims);
			ivfpq_row_reader_enable_prefetch(so->reader);
			so->external_rows = ivfpq_rows_external(scan->indexRelation, scan->heapRelation);
		}
		start_query(scan);
		so->started = true;
	}

	if (so->no_rows)
		return false;
	for (;;)
	{
		if (so->next_result < so->nresults)
		{
			scan->xs_heaptid = so->results[so->next_result++].tid;
			ivfpq_row_reader_check_tid(so->reader, &scan->xs_heaptid);
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			return true;
		}
		if (so->exhausted)
		{
			/* after the probed lists, cosine's rows without direction */
			if (so->in_chains || so->chains_done || !IvfpqHasNodirList(&so->quantizer->meta))
				return false;
			so->chains_done = true;
			so->exhausted = false;
			begin_chains(scan, so->quantizer->meta.nlist, so->quantizer->meta.nlist + 1,
						 get_float8_nan());
		}
		if (so->in_chains)
			next_chain_batch(scan);
		else
			next_batch(scan);
	}
}

void
ivfpq_endscan(IndexScanDesc scan)
{
	IvfpqScanOpaque so = (IvfpqScanOpaque) scan->opaque;

	if (so->list_pages > 0)
		elog(DEBUG2, "ivfpq scan: read " UINT64_FORMAT " list pages of \"%s\", " UINT64_FORMAT " through the buffer each was last found in",
			 so->list_pages, RelationGetRelationName(scan->indexRelation), so->list_pages_recent);
	if (so->reader)
		ivfpq_row_reader_end(so->reader);
	if (so->scratch)
		ivfpq_release_scan_scratch(so->quantizer, so->scratch);
	ivfpq_unpin_quantizer(so->quantizer);
	MemoryContextDelete(so->query_cxt);
	pfree(so);
	scan->opaque = NULL;
}
