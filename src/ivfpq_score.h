/*
 * ivfpq_score.h
 *		Scoring a query against an ivfpq index by ADC: which lists to probe,
 *		nearest first, and the ADC values of their rows, a page at a time.
 *		Used by scans and by the build's calibration.
 */
#ifndef VQPQ_IVFPQ_SCORE_H
#define VQPQ_IVFPQ_SCORE_H

#include "ivfpq.h"
#include "ivfpq_filter.h"

/* a list to probe, and the base term of its rows' ADC values */
typedef struct IvfpqProbe
{
	float		base;
	int32		list;
} IvfpqProbe;

typedef struct IvfpqScorer
{
	Relation	index;
	IvfpqQuantizer *q;
	IvfpqEntryLayout layout;
	IvfpqMetric metric;
	int			dims;
	const float *query;			/* prepared (normalized for cosine) */

	float	   *lut;			/* m x ksub: the lookup table of the list being scored */
	float	   *query_table;	/* m x ksub: L2's per-query term (pq.h) */
	float	   *list_scratch;	/* m x ksub: a list term the cache had no room for */
	uint8	   *qtable;			/* blocked pages: lut quantized to bytes (fastscan.h) */
	float		qstep;			/* ... lut sum = qbias + qstep * byte sum */
	float		qbias;

	/*
	 * Rows whose ADC value is above threshold (set by the caller, +inf to
	 * begin with) may be left out of a page's rows: a scan keeping the best
	 * R sets it to its R-th best so far, and most rows are then rejected
	 * before any per-row work.  Rows at or below it are always kept.
	 */
	float		threshold;
	int			rejected;		/* rows the last page left out by threshold */
	bool		page_recent;	/* the last page came through its recent buffer */

	/*
	 * A scan's filter (ivfpq_scorer_set_filter), or NULL: rows that do not
	 * meet it are left out of a page's rows before they are scored, and are
	 * neither kept nor rejected.  matched counts the rows that met it.
	 */
	const IvfpqFilter *filter;
	bool	   *match;			/* per row of the page being scored */
	int64		matched;

	/* the page last scored: its rows kept, their ADC values (trained) and TIDs */
	float	   *adc;
	ItemPointerData *tids;

	/* the list being read */
	int			list;
	float		base;
	BlockNumber next;
	IvfpqChainWalk walk;
	bool		lut_ready;
	const float *list_table;	/* L2, cosine: the list's term, once looked up */
	int			list_rows_alone;	/* its rows scored one by one so far */
} IvfpqScorer;

/*
 * Set up for a query (kept by reference) against the quantizer, with
 * scratch of 3 x m x ksub floats (ivfpq_claim_scan_scratch) for tables.
 */
extern void ivfpq_scorer_init(IvfpqScorer *s, Relation index, IvfpqQuantizer *q,
							  const float *query, float *scratch);
/* Leave out of the scores rows that do not meet filter (kept by reference). */
extern void ivfpq_scorer_set_filter(IvfpqScorer *s, const IvfpqFilter *filter);
/* The nprobes lists nearest the query, nearest first, into probes. */
extern void ivfpq_scorer_probes(IvfpqScorer *s, int nprobes, IvfpqProbe *probes);

/*
 * The same order, sorted only as far as it is read: a filtered or iterative
 * scan may go on to every list but usually reads a few, and sorting them
 * all for each query costs more than it reads at a large nlist.  probes[0,
 * sorted) are the nearest, in order (ivfpq_probe_at sorts on); the other
 * lists wait in a min-heap of their ranking scores.
 */
typedef struct IvfpqProbeOrder
{
	IvfpqProbe *probes;
	int			sorted;
	int			total;			/* probes that may be asked for */
	IvfpqProbe *rest;
	int			rest_len;
	float		qnorm;			/* ranking score + qnorm = base term */
} IvfpqProbeOrder;

extern void ivfpq_scorer_probe_order(IvfpqScorer *s, int nprobes, IvfpqProbeOrder *order);
extern void ivfpq_probe_order_extend(IvfpqProbeOrder *order, int n);

/* Probe p (< total) of the order. */
static inline const IvfpqProbe *
ivfpq_probe_at(IvfpqProbeOrder *order, int p)
{
	Assert(p >= 0 && p < order->total);
	if (p >= order->sorted)
		ivfpq_probe_order_extend(order, p + 1);
	return &order->probes[p];
}

/* Read list (base: its probe's base term) from its first page. */
extern void ivfpq_scorer_start_list(IvfpqScorer *s, int list, float base);
/*
 * Score the list's next page: returns how many of its rows are kept (all
 * for an untrained index), with their ADC values (trained) and TIDs in
 * s->adc and s->tids, and in s->rejected how many were not; -1 past the
 * end.
 */
extern int	ivfpq_scorer_next_page(IvfpqScorer *s);

#endif							/* VQPQ_IVFPQ_SCORE_H */
