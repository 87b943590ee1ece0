/*
 * ivfpq_recall.c
 *		vqpq_index_recall(): recall@k of one ivfpq index at the session's
 *		current settings, on given query vectors or on rows sampled from
 *		its table.
 *
 * Each query runs through the given index itself (an index scan started
 * here, so no other index on the column can stand in for it, whatever the
 * planner would choose), and exactly: one pass over the table computes
 * every query's k-th smallest exact distance.  A returned row is a hit when
 * its exact distance is within that k-th distance, so ties count.  Nothing
 * goes through SQL, so the function works from any schema, wherever the
 * extension lives.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/sampling.h"
#include "utils/snapmgr.h"

#include "ivfpq.h"
#include "ivfpq_calibration.h"
#include "pqvector.h"

#define SAMPLE_SEED 20261202

/* NaN (a zero vector under cosine) sorts after every distance, as in ORDER BY */
static inline double
order_key(double distance)
{
	return isnan(distance) ? get_float8_infinity() : distance;
}

/* Keep the k smallest of each query's distances: a max-heap per query. */
static void
keep_smallest(double *heap, int *len, int k, double distance)
{
	int			i;

	if (*len < k)
	{
		i = (*len)++;
		while (i > 0 && heap[(i - 1) / 2] < distance)
		{
			heap[i] = heap[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		heap[i] = distance;
		return;
	}
	if (distance >= heap[0])
		return;
	i = 0;
	for (;;)
	{
		int			largest = i;
		int			l = 2 * i + 1;
		int			r = l + 1;
		double		top = distance;

		if (l < *len && heap[l] > top)
		{
			largest = l;
			top = heap[l];
		}
		if (r < *len && heap[r] > top)
			largest = r;
		if (largest == i)
			break;
		heap[i] = heap[largest];
		i = largest;
	}
	heap[i] = distance;
}

typedef struct RecallRun
{
	Relation	index;
	Relation	heap;
	IvfpqMetric metric;
	IvfpqElement element;
	int			dims;
	int			k;
	int			nqueries;
	Datum	   *queries;		/* as given, for the index scans */
	float	   *prepared;		/* nqueries x dims, for exact distances */
	double	   *kth;			/* per query */
	double		index_ms;
	double		exact_ms;
	int64		hits;
} RecallRun;

/* One pass over the table: each query's k-th smallest exact distance. */
static void
exact_pass(RecallRun *run)
{
	IvfpqRowReader *reader = ivfpq_row_reader_begin(run->heap, run->index, run->dims);
	TupleTableSlot *slot = table_slot_create(run->heap, NULL);
	TableScanDesc scan = table_beginscan(run->heap, GetActiveSnapshot(), 0, NULL);
	double	   *heaps = palloc(mul_size(mul_size(run->nqueries, run->k), sizeof(double)));
	int		   *lens = palloc0(sizeof(int) * run->nqueries);
	instr_time	start,
				duration;

	INSTR_TIME_SET_CURRENT(start);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		const float *v = ivfpq_row_reader_vector(reader, slot);

		if (v == NULL)
			continue;
		for (int q = 0; q < run->nqueries; q++)
			keep_smallest(heaps + (Size) q * run->k, &lens[q], run->k,
						  order_key(ivfpq_exact_distance(run->metric, v,
														 run->prepared + (Size) q * run->dims, run->dims)));
		CHECK_FOR_INTERRUPTS();
	}
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	run->exact_ms = INSTR_TIME_GET_MILLISEC(duration);

	/* fewer rows than k: every row is within reach */
	for (int q = 0; q < run->nqueries; q++)
		run->kth[q] = lens[q] < run->k ? get_float8_infinity() : heaps[(Size) q * run->k];

	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	ivfpq_row_reader_end(reader);
	pfree(heaps);
	pfree(lens);
}

/* Each query through the index: hits among its first k rows. */
static void
index_pass(RecallRun *run)
{
	IvfpqRowReader *reader = ivfpq_row_reader_begin(run->heap, run->index, run->dims);
	TupleTableSlot *slot = table_slot_create(run->heap, NULL);
	IndexScanDesc scan;
	instr_time	start,
				duration;

#if PG_VERSION_NUM >= 180000
	scan = index_beginscan(run->heap, run->index, GetActiveSnapshot(), NULL, 0, 1);
#else
	scan = index_beginscan(run->heap, run->index, GetActiveSnapshot(), 0, 1);
#endif
	INSTR_TIME_SET_CURRENT(start);
	for (int q = 0; q < run->nqueries; q++)
	{
		ScanKeyData orderby;
		int			returned = 0;

		ScanKeyEntryInitialize(&orderby, SK_ORDER_BY, 1, 1, InvalidOid, InvalidOid,
							   InvalidOid, run->queries[q]);
		index_rescan(scan, NULL, 0, &orderby, 1);
		while (returned < run->k && index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			const float *v = ivfpq_row_reader_vector(reader, slot);

			returned++;
			if (v != NULL &&
				order_key(ivfpq_exact_distance(run->metric, v, run->prepared + (Size) q * run->dims,
											   run->dims)) <= run->kth[q])
				run->hits++;
		}
		CHECK_FOR_INTERRUPTS();
	}
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	run->index_ms = INSTR_TIME_GET_MILLISEC(duration);

	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	ivfpq_row_reader_end(reader);
}

/* Keep a copy of the value the reader read last in slot place of the sample. */
static void
keep_row(Datum *sample, int place, bool replace, IvfpqRowReader *reader)
{
	Pointer		value = DatumGetPointer(ivfpq_row_reader_datum(reader));
	Pointer		copy = palloc(VARSIZE(value));

	memcpy(copy, value, VARSIZE(value));
	if (replace)
		pfree(DatumGetPointer(sample[place]));
	sample[place] = PointerGetDatum(copy);
}

/*
 * Up to sample_size rows of the table, each as likely, and the same ones
 * for the same table: a reservoir over the whole table when it has up to 4
 * blocks per row wanted, else one row from each of up to twice as many
 * sampled blocks (skipping blocks without a visible row).
 */
static int
sample_queries(RecallRun *run, int sample_size)
{
	IvfpqRowReader *reader = ivfpq_row_reader_begin(run->heap, run->index, run->dims);
	TupleTableSlot *slot = table_slot_create(run->heap, NULL);
	BlockNumber nblocks = RelationGetNumberOfBlocks(run->heap);
	pg_prng_state rng;
	int			n = 0;

	run->queries = palloc(sizeof(Datum) * sample_size);
	pg_prng_seed(&rng, SAMPLE_SEED);
	if (nblocks <= 4 * (BlockNumber) sample_size)
	{
		TableScanDesc scan = table_beginscan(run->heap, GetActiveSnapshot(), 0, NULL);
		int64		seen = 0;

		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			const float *v = ivfpq_row_reader_vector(reader, slot);
			int64		place;

			if (v == NULL)
				continue;
			place = seen < sample_size ? seen : (int64) pg_prng_uint64_range(&rng, 0, seen);
			seen++;
			if (place < sample_size)
				keep_row(run->queries, (int) place, seen > sample_size, reader);
			CHECK_FOR_INTERRUPTS();
		}
		n = (int) Min(seen, (int64) sample_size);
		table_endscan(scan);
	}
	else
	{
		BlockSamplerData sampler;
		TableScanDesc scan = NULL;

		BlockSampler_Init(&sampler, nblocks, 2 * sample_size, SAMPLE_SEED);
		while (BlockSampler_HasMore(&sampler) && n < sample_size)
		{
			BlockNumber blkno = BlockSampler_Next(&sampler);
			ItemPointerData first;
			ItemPointerData last;
			int			seen = 0;

			ItemPointerSet(&first, blkno, FirstOffsetNumber);
			ItemPointerSet(&last, blkno, MaxOffsetNumber);
			if (scan == NULL)
				scan = table_beginscan_tidrange(run->heap, GetActiveSnapshot(), &first, &last);
			else
				table_rescan_tidrange(scan, &first, &last);
			/* a reservoir of one for the block */
			while (table_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot))
			{
				const float *v = ivfpq_row_reader_vector(reader, slot);

				if (v != NULL && pg_prng_uint64_range(&rng, 0, seen++) == 0)
					keep_row(run->queries, n, seen > 1, reader);
			}
			if (seen > 0)
				n++;
			CHECK_FOR_INTERRUPTS();
		}
		if (scan)
			table_endscan(scan);
	}
	ExecDropSingleTupleTableSlot(slot);
	ivfpq_row_reader_end(reader);
	return n;
}

static Datum
measure(FunctionCallInfo fcinfo, Oid indexoid, ArrayType *queries, int k, int sample_size)
{
	RecallRun	run;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	IvfpqMetaPageData meta;
	IvfpqSettings settings;

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k)));
	if (queries == NULL && sample_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_size must be at least 1, not %d", sample_size)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&run, 0, sizeof(run));
	run.index = ivfpq_open_for_reading(indexoid, &run.heap);
	/* the scans here would not apply row-level security policies */
	if (check_enable_rls(RelationGetRelid(run.heap), InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vqpq_index_recall does not measure tables with row-level security enabled")));
	run.metric = ivfpq_index_metric(run.index);
	run.element = ivfpq_index_element(run.index);
	run.dims = ivfpq_index_dims(run.index);
	run.k = k;

	if (queries)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		bool	   *isnull;
		int			n;

		if (ARR_ELEMTYPE(queries) != TupleDescAttr(RelationGetDescr(run.index), 0)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("queries must be an array of the index's type, %s",
							format_type_be(TupleDescAttr(RelationGetDescr(run.index), 0)->atttypid))));
		get_typlenbyvalalign(ARR_ELEMTYPE(queries), &typlen, &typbyval, &typalign);
		deconstruct_array(queries, ARR_ELEMTYPE(queries), typlen, typbyval, typalign,
						  &run.queries, &isnull, &n);
		for (int i = 0; i < n; i++)
			if (isnull[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("queries must not contain NULLs")));
		run.nqueries = n;
	}
	else
		run.nqueries = sample_queries(&run, sample_size);

	run.prepared = palloc(mul_size(mul_size(Max(run.nqueries, 1), run.dims), sizeof(float)));
	for (int q = 0; q < run.nqueries; q++)
		(void) ivfpq_prepare_vector(run.metric, run.element, run.dims, run.queries[q], run.prepared + (Size) q * run.dims);
	run.kth = palloc(sizeof(double) * Max(run.nqueries, 1));

	if (run.nqueries > 0)
	{
		exact_pass(&run);
		index_pass(&run);
		values[0] = Float8GetDatum((double) run.hits / ((double) run.nqueries * k));
		values[4] = Float8GetDatum(run.index_ms / run.nqueries);
		values[5] = Float8GetDatum(run.exact_ms / run.nqueries);
	}
	else
	{
		nulls[0] = true;
		values[4] = values[5] = Float8GetDatum(0);
	}
	values[1] = Int32GetDatum(run.nqueries);
	/* the settings the index's scans used */
	ivfpq_read_meta(run.index, &meta);
	ivfpq_choose_settings(&meta, ivfpq_rows_external(run.index, run.heap), &settings);
	values[2] = Int32GetDatum(settings.nprobe);
	values[3] = Int32GetDatum(settings.rerank);

	ivfpq_close_for_reading(run.index, run.heap);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(vqpq_index_recall_queries);
Datum
vqpq_index_recall_queries(PG_FUNCTION_ARGS)
{
	return measure(fcinfo, PG_GETARG_OID(0), PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_INT32(2), 0);
}

PG_FUNCTION_INFO_V1(vqpq_index_recall_sample);
Datum
vqpq_index_recall_sample(PG_FUNCTION_ARGS)
{
	return measure(fcinfo, PG_GETARG_OID(0), NULL, PG_GETARG_INT32(1), PG_GETARG_INT32(2));
}
