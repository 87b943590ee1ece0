/*
 * ivfpq_build_encode.c
 *		Encoding: every row of the table is assigned to its nearest list
 *		and its residual PQ-encoded, a batch at a time, and the entries go
 *		to a sort by (list, tid), from which the pages are written.  The
 *		same functions serve each participant of a parallel build.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "ivfpq_build.h"
#include "ivfpq_calibration.h"
#include "ivfpq_filter.h"
#include "kmeans.h"

/* Assign and encode the batch's rows, and hand them to the sort. */
void
ivfpq_flush_batch(IvfpqBuildState *bs)
{
	MemoryContext old = MemoryContextSwitchTo(bs->tmpctx);
	int			code_size = bs->quantizer.meta.code_size;
	int			filter_size = bs->quantizer.meta.filter_size;

	/* the calibration's exact pass, before the rows become residuals */
	if (bs->calib)
		ivfpq_calib_offer(bs->calib, bs->batch, bs->batch_tids, bs->batch_skip, bs->batch_n);
	ivfpq_assign_and_encode(&bs->quantizer, bs->batch, bs->batch_n,
							bs->batch_lists, bs->batch_codes, bs->scratch);
	for (int i = 0; i < bs->batch_n; i++)
	{
		bytea	   *code = palloc(VARHDRSZ + code_size + filter_size);

		if (bs->batch_nodir[i])
		{
			bs->batch_lists[i] = bs->nlist;
			memset(bs->batch_codes + (Size) i * code_size, 0, code_size);
		}

		/* the stored code: the PQ code, then the row's filter values */
		SET_VARSIZE(code, VARHDRSZ + code_size + filter_size);
		memcpy(VARDATA(code), bs->batch_codes + (Size) i * code_size, code_size);
		memcpy(VARDATA(code) + code_size, bs->batch_filters + (Size) i * filter_size, filter_size);
		ExecClearTuple(bs->slot);
		bs->slot->tts_values[0] = Int32GetDatum(bs->batch_lists[i]);
		bs->slot->tts_values[1] = PointerGetDatum(&bs->batch_tids[i]);
		bs->slot->tts_values[2] = PointerGetDatum(code);
		memset(bs->slot->tts_isnull, 0, sizeof(bool) * 3);
		ExecStoreVirtualTuple(bs->slot);
		tuplesort_puttupleslot(bs->sort, bs->slot);
	}
	bs->index_tuples += bs->batch_n;
	bs->batch_n = 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(bs->tmpctx);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->index_tuples);
}

/* Each row of the table scan: prepared into the batch. */
void
ivfpq_encode_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *state)
{
	IvfpqBuildState *bs = state;

	bs->heap_tuples += 1;
	if (isnull[0])
		return;
	/* a zero vector under cosine goes on the chain after the lists */
	bs->batch_nodir[bs->batch_n] =
		!ivfpq_prepare_vector(bs->metric, bs->element, bs->dims, values[0], bs->batch + (Size) bs->batch_n * bs->dims) &&
		IvfpqHasNodirList(&bs->quantizer.meta);
	/* a query finds only rows it can see, and none without direction */
	bs->batch_skip[bs->batch_n] = bs->batch_nodir[bs->batch_n] || !alive;
	ivfpq_filter_pack(&bs->quantizer.meta, index, values, isnull,
					  bs->batch_filters + (Size) bs->batch_n * bs->quantizer.meta.filter_size);
	bs->batch_tids[bs->batch_n++] = *tid;
	if (bs->batch_n == VQPQ_ASSIGN_BLOCK)
		ivfpq_flush_batch(bs);
}

/* A sort of (list, tid, stored code) by list and tid, in workmem kB. */
void
ivfpq_begin_sort(IvfpqBuildState *bs, int workmem, SortCoordinate coordinate)
{
	AttrNumber	keys[2] = {1, 2};
	Oid			operators[2] = {Int4LessOperator, TIDLessOperator};
	Oid			collations[2] = {InvalidOid, InvalidOid};
	bool		nulls_first[2] = {false, false};

	if (bs->sortdesc == NULL)
	{
		bs->sortdesc = CreateTemplateTupleDesc(3);
		TupleDescInitEntry(bs->sortdesc, 1, "list", INT4OID, -1, 0);
		TupleDescInitEntry(bs->sortdesc, 2, "tid", TIDOID, -1, 0);
		TupleDescInitEntry(bs->sortdesc, 3, "code", BYTEAOID, -1, 0);
		bs->slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsVirtual);
	}
	bs->sort = tuplesort_begin_heap(bs->sortdesc, 2, keys, operators, collations, nulls_first,
									workmem, coordinate,
#if PG_VERSION_NUM >= 150000
									TUPLESORT_NONE
#else
									false
#endif
		);
}

/* Batch buffers for ivfpq_encode_callback. */
void
ivfpq_begin_batches(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;

	bs->batch = palloc(mul_size(mul_size(VQPQ_ASSIGN_BLOCK, bs->dims), sizeof(float)));
	bs->batch_tids = palloc(sizeof(ItemPointerData) * VQPQ_ASSIGN_BLOCK);
	bs->batch_nodir = palloc(sizeof(bool) * VQPQ_ASSIGN_BLOCK);
	bs->batch_skip = palloc(sizeof(bool) * VQPQ_ASSIGN_BLOCK);
	bs->batch_lists = palloc(sizeof(int32) * VQPQ_ASSIGN_BLOCK);
	bs->batch_codes = palloc((Size) VQPQ_ASSIGN_BLOCK * q->meta.code_size);
	bs->batch_filters = palloc((Size) VQPQ_ASSIGN_BLOCK * q->meta.filter_size + 1);
	bs->scratch = MemoryContextAllocHuge(CurrentMemoryContext,
										 ivfpq_encode_scratch_size(VQPQ_ASSIGN_BLOCK, bs->nlist, &q->pq));
}

/*
 * Assign and encode every row into a sort by (list, tid): shared with
 * parallel workers when they can be had, else here.  The sort gets what
 * the quantizer and the batch leave of maintenance_work_mem.
 */
void
ivfpq_encode_rows(IvfpqBuildState *bs)
{
	Size		encoder = ivfpq_encoder_memory(bs->nlist, bs->dims, bs->m, bs->nbits);
	int			sort_kb;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_ENCODE);
	if (ivfpq_encode_in_parallel(bs))
		return;

	sort_kb = Max(MIN_SORT_KB, maintenance_work_mem - (int) Min(encoder / 1024, (Size) INT_MAX));
	ivfpq_begin_sort(bs, sort_kb, NULL);
	ivfpq_begin_batches(bs);
	if (bs->heap)
	{
		table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, true,
							   ivfpq_encode_callback, bs, NULL);
		if (bs->batch_n > 0)
			ivfpq_flush_batch(bs);
	}
	tuplesort_performsort(bs->sort);
}
