/*
 * ivfpq_info.c
 *		Knowing an index: vqpq_index_info() (what it is, how full and
 *		balanced its lists are, whether the data has drifted from what it
 *		was trained on) and vqpq_index_prewarm() (load it into shared
 *		buffers).
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "access/tableam.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/snapmgr.h"

#include "distance.h"
#include "executor/tuptable.h"
#include "ivfpq.h"
#include "ivfpq_calibration.h"
#include "pqvector.h"

/*
 * Drift: the quantizer's error on a sample of the table now, against its
 * error on the rows it was trained on.  The training error is measured on
 * the rows the codebooks were fitted to, so a fresh sample of the same data
 * comes out somewhat higher; 1.5 times is well past that.
 */
#define DRIFT_SAMPLE_BLOCKS		200
#define DRIFT_SAMPLE_ROWS		1000
#define DRIFT_MIN_ROWS			50
#define DRIFT_ERROR_FACTOR		1.5
#define DRIFT_SEED				20261201
/* lists this many times as unequal as equal lists are call for a REINDEX */
#define DRIFT_IMBALANCE			3.0

/*
 * Open an ivfpq index for reading, checking the caller may read its table.
 * Returns the index; *heap is its table, both opened with AccessShareLock.
 */
Relation
ivfpq_open_for_reading(Oid indexoid, Relation *heap)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	index;
	AclResult	aclresult;

	if (!OidIsValid(heapoid))
	{
		char	   *name = get_rel_name(indexoid);

		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", name ? name : "(unknown)")));
	}
	aclresult = pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(heapoid));

	*heap = table_open(heapoid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	if (index->rd_indam->ambuild != ivfpq_build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ivfpq index", RelationGetRelationName(index))));
	return index;
}

void
ivfpq_close_for_reading(Relation index, Relation heap)
{
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static const char *
metric_name(uint32 metric)
{
	switch (metric)
	{
		case IVFPQ_METRIC_L2:
			return "l2";
		case IVFPQ_METRIC_IP:
			return "inner product";
		case IVFPQ_METRIC_COSINE:
			return "cosine";
	}
	return "unknown";
}

/*
 * Advice when the indexed column keeps its vectors out of line although
 * they would fit in the row: re-ranking then reads every candidate through
 * the TOAST table's index, several times the cost of reading the row.
 */
static void
storage_advice(StringInfo advice, Relation index, Relation heap, int dims)
{
	AttrNumber	attnum = index->rd_index->indkey.values[0];
	Form_pg_attribute attr;
	Size		vector_bytes = ivfpq_value_size(ivfpq_index_element(index), dims);

	if (attnum <= 0)
		return;					/* an expression: its inputs are not looked at */
	attr = TupleDescAttr(RelationGetDescr(heap), attnum - 1);
	if ((attr->attstorage == TYPSTORAGE_EXTENDED || attr->attstorage == TYPSTORAGE_EXTERNAL) &&
		vector_bytes > TOAST_TUPLE_THRESHOLD && vector_bytes + 256 <= TOAST_TUPLE_TARGET_MAIN)
	{
		const char *table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(heap)),
													   RelationGetRelationName(heap));

		appendStringInfo(advice, "vectors of %zu bytes are stored out of line, so re-ranking reads each candidate "
						 "through the TOAST table: ALTER TABLE %s ALTER COLUMN %s SET STORAGE PLAIN keeps new rows' "
						 "vectors in the row, and VACUUM FULL %s moves the existing ones; ",
						 vector_bytes, table, quote_identifier(NameStr(attr->attname)), table);
	}
}

/* What measure_error finds on a sample of the table, each a mean per row. */
typedef struct SampleErrors
{
	int			rows;			/* rows measured */
	double		coarse;			/* squared distance to the nearest centroid */
	double		pq;				/* squared distance of the residual to its code */
	double		norm;			/* squared norm */
} SampleErrors;

/*
 * The quantizer's errors, as the build measured them on its training
 * sample (coarse_error and pq_error), on up to DRIFT_SAMPLE_ROWS rows read
 * from DRIFT_SAMPLE_BLOCKS sampled blocks of the table.
 */
static void
measure_error(Relation index, Relation heap, IvfpqQuantizer *q, SampleErrors *e)
{
	int			dims = q->meta.dims;
	BlockSamplerData sampler;
	IvfpqRowReader *reader = ivfpq_row_reader_begin(heap, index, dims);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	TableScanDesc scan = NULL;
	float	   *x = palloc(sizeof(float) * dims);
	float	   *decoded = palloc(sizeof(float) * dims);
	uint8	   *code = palloc(q->meta.code_size);
	float	   *scratch = palloc(ivfpq_encode_scratch_size(1, q->meta.nlist, &q->pq));
	int			rows = 0;
	double		coarse = 0.0;
	double		pq = 0.0;
	double		norms = 0.0;

	BlockSampler_Init(&sampler, RelationGetNumberOfBlocks(heap), DRIFT_SAMPLE_BLOCKS, DRIFT_SEED);
	while (BlockSampler_HasMore(&sampler) && rows < DRIFT_SAMPLE_ROWS)
	{
		BlockNumber blkno = BlockSampler_Next(&sampler);
		ItemPointerData first;
		ItemPointerData last;

		ItemPointerSet(&first, blkno, FirstOffsetNumber);
		ItemPointerSet(&last, blkno, MaxOffsetNumber);
		if (scan == NULL)
			scan = table_beginscan_tidrange(heap, GetActiveSnapshot(), &first, &last);
		else
			table_rescan_tidrange(scan, &first, &last);
		while (rows < DRIFT_SAMPLE_ROWS && table_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot))
		{
			const float *v = ivfpq_row_reader_vector(reader, slot);
			int32		list;

			if (v == NULL || !ivfpq_prepare_floats((IvfpqMetric) q->meta.metric, dims, v, x))
				continue;
			norms += vqpq_kernels.inner_product(x, x, dims);
			/* x becomes the residual */
			ivfpq_assign_and_encode(q, x, 1, &list, code, scratch);
			vqpq_pq_decode(&q->pq, code, decoded);
			coarse += vqpq_kernels.inner_product(x, x, dims);
			pq += vqpq_kernels.l2_squared(x, decoded, dims);
			rows++;
		}
		CHECK_FOR_INTERRUPTS();
	}
	if (scan)
		table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	ivfpq_row_reader_end(reader);
	e->rows = rows;
	e->coarse = rows > 0 ? coarse / rows : 0.0;
	e->pq = rows > 0 ? pq / rows : 0.0;
	e->norm = rows > 0 ? norms / rows : 0.0;
}

PG_FUNCTION_INFO_V1(vqpq_index_info);
Datum
vqpq_index_info(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = ivfpq_open_for_reading(PG_GETARG_OID(0), &heap);
	IvfpqMetaPageData meta;
	int64	   *sizes;
	int64		rows = 0;
	int64		list_rows = 0;
	int64		inserted = 0;
	double		sum_squares = 0;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	TupleDesc	desc;
	Datum		values[24];
	bool		nulls[24];
	StringInfoData advice;
	int			i = 0;
	SampleErrors now = {0};
	IvfpqSettings settings;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	ivfpq_read_meta(index, &meta);
	sizes = palloc(sizeof(int64) * IvfpqStoredLists(&meta));

	/*
	 * Every list's chain: entries and rows inserted since the build.  The
	 * chain of cosine's rows without direction counts as rows, not in the
	 * balance of the lists.
	 */
	inserted = ivfpq_count_entries(index, &meta, sizes);
	for (uint32 l = 0; l < IvfpqStoredLists(&meta); l++)
		rows += sizes[l];
	for (uint32 l = 0; l < meta.nlist; l++)
	{
		list_rows += sizes[l];
		sum_squares += (double) sizes[l] * sizes[l];
	}
	qsort(sizes, meta.nlist, sizeof(int64), compare_int64);

	/* what to do about it, if anything */
	initStringInfo(&advice);
	if (!meta.trained)
		appendStringInfoString(&advice, rows > 0
							   ? "REINDEX: the index was built without rows and has no quantizer, so every scan reads all its rows; "
							   : "built without rows: REINDEX once the table has data; ");
	else
	{
		if (meta.sample_rows < meta.nlist || meta.sample_rows < (1u << meta.nbits))
			appendStringInfo(&advice, "trained on little data (%llu rows): REINDEX once the table is loaded; ",
							 (unsigned long long) meta.sample_rows);
		if (rows > 0)
		{
			IvfpqQuantizer *q = ivfpq_pin_quantizer(index);

			measure_error(index, heap, q, &now);
			ivfpq_unpin_quantizer(q);
		}
		/*
		 * Drifted: either error well above the build's, and above rounding
		 * level for vectors of their size.
		 */
		if (now.rows >= DRIFT_MIN_ROWS &&
			((now.pq > DRIFT_ERROR_FACTOR * meta.pq_error && now.pq > 1e-6 * now.norm) ||
			 (now.coarse > DRIFT_ERROR_FACTOR * meta.coarse_error && now.coarse > 1e-6 * now.norm)))
			appendStringInfo(&advice, "the data has drifted from what the index was trained on (on a sample of the table, "
							 "squared distance to the nearest list %.3g and quantization error %.3g, against %.3g and %.3g "
							 "at the build), which costs recall: REINDEX INDEX CONCURRENTLY %s retrains it; ",
							 now.coarse, now.pq, meta.coarse_error, meta.pq_error,
							 quote_identifier(RelationGetRelationName(index)));
	}
	ivfpq_choose_settings(&meta, ivfpq_rows_external(index, heap), &settings);
	if (meta.trained && meta.calib_queries == 0 && (ivfpq_nprobe <= 0 || ivfpq_rerank < 0))
		appendStringInfoString(&advice, meta.version < 3
							   ? "built by an older vqpq without recall calibration, so scans use nprobe 10 and rerank 100: "
							   "REINDEX lets vqpq.target_recall choose them; "
							   : "too few rows to calibrate recall, so scans use nprobe 10 and rerank 100; ");
	else if (settings.from_calibration && settings.recall < ivfpq_target_recall)
		appendStringInfo(&advice, "vqpq.target_recall %g is above the best recall measured at the build (%.3f, at nprobe %d "
						 "and rerank %d): set vqpq.nprobe and vqpq.rerank higher, or REINDEX with a larger m for finer codes; ",
						 ivfpq_target_recall, settings.recall, settings.nprobe, settings.rerank);
	if (rows > 0)
		storage_advice(&advice, index, heap, meta.dims);
	if (advice.len == 0)
		appendStringInfoString(&advice, "ok");
	else
		advice.data[advice.len -= 2] = '\0';	/* the last "; " */

	memset(nulls, 0, sizeof(nulls));
	values[i++] = CStringGetTextDatum(metric_name(meta.metric));
	values[i++] = Int32GetDatum(meta.dims);
	values[i++] = Int32GetDatum(meta.nlist);
	values[i++] = Int32GetDatum(meta.m);
	values[i++] = Int32GetDatum(meta.nbits);
	values[i++] = Int32GetDatum(meta.code_size);
	values[i++] = BoolGetDatum(meta.trained != 0);
	values[i++] = Int64GetDatum((int64) meta.built_rows);
	values[i++] = Int64GetDatum(rows);
	values[i++] = Int64GetDatum(inserted);
	values[i++] = Int64GetDatum((int64) nblocks);
	values[i++] = Int64GetDatum((int64) nblocks * BLCKSZ);
	if (rows > 0)
		values[i++] = Float8GetDatum((double) nblocks * BLCKSZ / rows);
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum(sizes[0]);
	values[i++] = Int64GetDatum(sizes[meta.nlist / 2]);
	values[i++] = Int64GetDatum(sizes[meta.nlist - 1]);
	if (list_rows > 0)
		values[i++] = Float8GetDatum(meta.nlist * sum_squares / ((double) list_rows * list_rows));
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum((int64) meta.sample_rows);
	if (meta.trained)
		values[i++] = Float8GetDatum(meta.pq_error);
	else
		nulls[i++] = true;
	/* 0.1.0's declaration stops here; 0.2.0's has the drift and the settings */
	if (desc->natts == 24)
	{
		if (now.rows > 0)
			values[i++] = Float8GetDatum(now.pq);
		else
			nulls[i++] = true;
		values[i++] = Int32GetDatum(settings.nprobe);
		values[i++] = Int32GetDatum(settings.rerank);
		if (settings.recall >= 0)
			values[i++] = Float8GetDatum(settings.recall);
		else
			nulls[i++] = true;
	}
	values[i++] = CStringGetTextDatum(advice.data);
	Assert(i == desc->natts);

	ivfpq_close_for_reading(index, heap);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * The recall the build measured at each nprobe and rerank of its grid, and
 * which of them the current settings choose.
 */
PG_FUNCTION_INFO_V1(vqpq_index_calibration);
Datum
vqpq_index_calibration(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	heap;
	Relation	index = ivfpq_open_for_reading(PG_GETARG_OID(0), &heap);
	IvfpqMetaPageData meta;
	IvfpqSettings settings;
	bool		external;

	InitMaterializedSRF(fcinfo, 0);
	ivfpq_read_meta(index, &meta);
	external = ivfpq_rows_external(index, heap);
	ivfpq_choose_settings(&meta, external, &settings);
	for (int g = 0; g < IVFPQ_CALIB_PROBES && meta.calib_queries > 0 && meta.calib_nprobe[g] != 0; g++)
		for (int r = 0; r < IVFPQ_CALIB_RERANKS; r++)
		{
			Datum		values[6];
			bool		nulls[6] = {0};

			values[0] = Int32GetDatum((int32) meta.calib_nprobe[g]);
			values[1] = Int32GetDatum((int32) meta.calib_rerank[r]);
			values[2] = Float8GetDatum(meta.calib_recall[g][r] / 10000.0);
			values[3] = Int64GetDatum((int64) meta.calib_rows[g]);
			values[4] = Int32GetDatum((int32) meta.calib_queries);
			values[5] = BoolGetDatum(settings.from_calibration &&
									 settings.nprobe == (int) meta.calib_nprobe[g] &&
									 settings.rerank == (int) meta.calib_rerank[r]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	ivfpq_close_for_reading(index, heap);
	return (Datum) 0;
}

/*
 * Read every page of the index into shared buffers, and its quantizer into
 * this backend's cache, so the first queries after a restart are not cold.
 */
PG_FUNCTION_INFO_V1(vqpq_index_prewarm);
Datum
vqpq_index_prewarm(PG_FUNCTION_ARGS)
{
	Relation	heap;
	Relation	index = ivfpq_open_for_reading(PG_GETARG_OID(0), &heap);
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		ReleaseBuffer(ReadBuffer(index, blkno));
		CHECK_FOR_INTERRUPTS();
	}
	ivfpq_unpin_quantizer(ivfpq_pin_quantizer(index));

	ivfpq_close_for_reading(index, heap);
	PG_RETURN_INT64((int64) nblocks);
}
