/*
 * ivfpq_fetch.c
 *		Reading indexed rows' vectors from the table, for re-ranking.
 *
 * Re-ranking reads vqpq.rerank rows per query.  Vectors of more than about
 * 500 dimensions are stored out of line in the table's TOAST relation, and
 * the generic detoasting path opens that relation and its index, starts an
 * index scan and tears it all down again for every value: at 50 candidates
 * per query that was a third of the query time.  For heap tables this
 * reader opens them once per index scan and re-positions one TOAST index
 * scan per value, reading the value's chunks straight into a reused buffer.
 * Values it does not handle (compressed, inline, another TOAST relation,
 * another table AM) go through the generic path.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/toast_internals.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/spccache.h"

#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include "ivfpq.h"
#include "pqvector.h"

struct IvfpqRowReader
{
	Relation	heap;
	Relation	index;
	BlockNumber heap_blocks;	/* the table's size when last looked at */
	int			prefetch_distance;	/* pages asked for ahead, 0: none (see
									 * ivfpq_row_reader_enable_prefetch) */
	uint64		prefetched;		/* pages asked for so far */
	int			dims;
	IvfpqElement element;
	float	   *floats;			/* a float16 value's floats */
	Datum		datum;			/* the last value read, detoasted */
	MemoryContext cxt;			/* the reader's lifetime */
	MemoryContext row_cxt;		/* reset per row */

	IndexFetchTableData *fetch;
	TupleTableSlot *slot;
	EState	   *estate;
	IndexInfo  *indexInfo;

	/* direct TOAST reads: heap tables only, set up on the first TOASTed value */
	bool		toast_direct;
	Relation	toastrel;
	Relation   *toastidxs;
	int			num_toastidxs;
	int			valid_toastidx;
	SysScanDesc toastscan;
	ScanKeyData toastkey;
#if PG_VERSION_NUM < 180000
	SnapshotData toast_snapshot;
#endif
	char	   *value;			/* the value being assembled, with its header */
	Size		value_capacity;
};

IvfpqRowReader *
ivfpq_row_reader_begin(Relation heap, Relation index, int dims)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ivfpq row reader",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	IvfpqRowReader *r = palloc0(sizeof(IvfpqRowReader));

	r->heap = heap;
	r->index = index;
	r->heap_blocks = RelationGetNumberOfBlocks(heap);
	r->dims = dims;
	r->element = ivfpq_index_element(index);
	if (r->element == IVFPQ_ELEMENT_FLOAT16)
		r->floats = palloc(sizeof(float) * dims);
	r->cxt = cxt;
	r->row_cxt = AllocSetContextCreate(cxt, "ivfpq row", ALLOCSET_DEFAULT_SIZES);
	r->fetch = table_index_fetch_begin(heap);
	r->slot = table_slot_create(heap, NULL);
	r->estate = CreateExecutorState();
	r->indexInfo = BuildIndexInfo(index);
	r->toast_direct = heap->rd_tableam == GetHeapamTableAmRoutine() &&
		OidIsValid(heap->rd_rel->reltoastrelid);

	MemoryContextSwitchTo(old);
	return r;
}

void
ivfpq_row_reader_end(IvfpqRowReader *r)
{
	if (r->prefetch_distance > 0)
		elog(DEBUG2, "ivfpq scan: asked for " UINT64_FORMAT " heap pages of \"%s\" ahead of reading them",
			 r->prefetched, RelationGetRelationName(r->heap));
	if (r->toastscan)
		systable_endscan_ordered(r->toastscan);
	if (r->toastrel)
	{
		toast_close_indexes(r->toastidxs, r->num_toastidxs, AccessShareLock);
		table_close(r->toastrel, AccessShareLock);
	}
	table_index_fetch_end(r->fetch);
	ExecDropSingleTupleTableSlot(r->slot);
	FreeExecutorState(r->estate);
	MemoryContextDelete(r->cxt);
}

/*
 * Read an uncompressed out-of-line value of our TOAST relation into
 * r->value, chunk by chunk, with the checks detoasting makes.
 */
static struct varlena *
read_toast_value(IvfpqRowReader *r, const struct varatt_external *pointer)
{
#if PG_VERSION_NUM >= 140000
	int32		size = VARATT_EXTERNAL_GET_EXTSIZE(*pointer);
#else
	int32		size = pointer->va_extsize;
#endif
	int32		nchunks = ((size - 1) / TOAST_MAX_CHUNK_SIZE) + 1;
	int32		expected = 0;
	TupleDesc	desc;
	HeapTuple	tuple;

	if (r->toastrel == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(r->cxt);

		r->toastrel = table_open(r->heap->rd_rel->reltoastrelid, AccessShareLock);
		r->valid_toastidx = toast_open_indexes(r->toastrel, AccessShareLock,
											   &r->toastidxs, &r->num_toastidxs);
		MemoryContextSwitchTo(old);
	}
	if ((Size) size + VARHDRSZ > r->value_capacity)
	{
		r->value_capacity = (Size) size + VARHDRSZ;
		r->value = r->value ? repalloc(r->value, r->value_capacity)
			: MemoryContextAlloc(r->cxt, r->value_capacity);
	}

	if (r->toastscan == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(r->cxt);
		Snapshot	snapshot;

#if PG_VERSION_NUM >= 180000
		snapshot = get_toast_snapshot();
#else
		init_toast_snapshot(&r->toast_snapshot);
		snapshot = &r->toast_snapshot;
#endif
		ScanKeyInit(&r->toastkey, (AttrNumber) 1, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(pointer->va_valueid));
		r->toastscan = systable_beginscan_ordered(r->toastrel, r->toastidxs[r->valid_toastidx],
												  snapshot, 1, &r->toastkey);
		MemoryContextSwitchTo(old);
	}
	else
	{
		r->toastkey.sk_argument = ObjectIdGetDatum(pointer->va_valueid);
		index_rescan(r->toastscan->iscan, &r->toastkey, 1, NULL, 0);
	}

	desc = RelationGetDescr(r->toastrel);
	while ((tuple = systable_getnext_ordered(r->toastscan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int32		seq = DatumGetInt32(heap_getattr(tuple, 2, desc, &isnull));
		Pointer		chunk = DatumGetPointer(heap_getattr(tuple, 3, desc, &isnull));
		int32		chunk_size;
		char	   *chunk_data;
		int32		want_size = seq < nchunks - 1 ? TOAST_MAX_CHUNK_SIZE
			: size - (nchunks - 1) * TOAST_MAX_CHUNK_SIZE;

		if (!VARATT_IS_EXTENDED(chunk))
		{
			chunk_size = VARSIZE(chunk) - VARHDRSZ;
			chunk_data = VARDATA(chunk);
		}
		else if (VARATT_IS_SHORT(chunk))
		{
			chunk_size = VARSIZE_SHORT(chunk) - VARHDRSZ_SHORT;
			chunk_data = VARDATA_SHORT(chunk);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg_internal("found toasted toast chunk for toast value %u in %s",
									 pointer->va_valueid, RelationGetRelationName(r->toastrel))));
		if (seq != expected || seq >= nchunks || chunk_size != want_size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg_internal("unexpected chunk %d (of %d, %d bytes) for toast value %u in %s",
									 seq, nchunks, chunk_size, pointer->va_valueid,
									 RelationGetRelationName(r->toastrel))));
		memcpy(r->value + VARHDRSZ + (Size) seq * TOAST_MAX_CHUNK_SIZE, chunk_data, chunk_size);
		expected++;
	}
	if (expected != nchunks)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg_internal("missing chunk number %d for toast value %u in %s",
								 expected, pointer->va_valueid, RelationGetRelationName(r->toastrel))));
	SET_VARSIZE(r->value, size + VARHDRSZ);
	return (struct varlena *) r->value;
}

/*
 * Refuse a heap TID outside the table: only a damaged index entry holds
 * one, and reading it would fail with a less helpful error.  The table
 * grows while we scan, so its size is looked at again before saying so.
 */
void
ivfpq_row_reader_check_tid(IvfpqRowReader *r, const ItemPointerData *tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber offset = ItemPointerGetOffsetNumberNoCheck(tid);

	if (blkno >= r->heap_blocks && offset >= FirstOffsetNumber && offset <= MaxHeapTuplesPerPage)
		r->heap_blocks = RelationGetNumberOfBlocks(r->heap);
	if (blkno >= r->heap_blocks || offset < FirstOffsetNumber || offset > MaxHeapTuplesPerPage)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has an entry for heap TID (%u,%u), outside table \"%s\"",
						RelationGetRelationName(r->index), blkno, offset, RelationGetRelationName(r->heap)),
				 errhint("REINDEX the index; vqpq_index_check() lists the damage.")));
}

/*
 * The floats of the indexed value of the row in slot (dims of them), if
 * it is not NULL and has the index's dimensions; else NULL.  Valid until
 * the next call.
 */
const float *
ivfpq_row_reader_vector(IvfpqRowReader *r, TupleTableSlot *slot)
{
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ExprContext *econtext = GetPerTupleExprContext(r->estate);
	struct varlena *attr;
	PqVector   *v;
	MemoryContext old;

	MemoryContextReset(r->row_cxt);
	ResetExprContext(econtext);
	econtext->ecxt_scantuple = slot;
	FormIndexDatum(r->indexInfo, slot, r->estate, values, isnull);
	if (isnull[0])
		return NULL;

	attr = (struct varlena *) DatumGetPointer(values[0]);
	if (r->toast_direct && VARATT_IS_EXTERNAL_ONDISK(attr))
	{
		struct varatt_external pointer;

		VARATT_EXTERNAL_GET_POINTER(pointer, attr);
		if (!VARATT_EXTERNAL_IS_COMPRESSED(pointer) &&
			pointer.va_toastrelid == r->heap->rd_rel->reltoastrelid)
			attr = read_toast_value(r, &pointer);
	}
	/* pqvector, vector and halfvec share the header (ivfpq_values.c) */
	old = MemoryContextSwitchTo(r->row_cxt);
	v = DatumGetPqVectorP(PointerGetDatum(attr));
	MemoryContextSwitchTo(old);
	r->datum = PointerGetDatum(v);
	if (v->dim != r->dims)
		return NULL;
	if (r->element == IVFPQ_ELEMENT_FLOAT16)
	{
		ivfpq_value_floats(r->element, r->dims, r->datum, r->floats);
		return r->floats;
	}
	return v->x;
}

/*
 * Re-ranking will read rows in TID order: when the table cannot all be in
 * the buffers it is read into (shared, or local for a temporary table), let
 * the caller keep the next pages asked for ahead of the one it reads
 * (posix_fadvise), so that reads from disk overlap instead of following one
 * another.  The distance is the tablespace's effective_io_concurrency, as
 * for bitmap heap scans (0 turns it off).  A table that fits is left
 * alone: looking each page up twice would only cost.
 */
void
ivfpq_row_reader_enable_prefetch(IvfpqRowReader *r)
{
	BlockNumber buffers = (BlockNumber) (RelationUsesLocalBuffers(r->heap) ? num_temp_buffers : NBuffers);

	r->prefetch_distance = 0;
	if (r->heap->rd_tableam != GetHeapamTableAmRoutine() || r->heap_blocks <= buffers)
		return;
	r->prefetch_distance = get_tablespace_io_concurrency(r->heap->rd_rel->reltablespace);
	if (r->prefetch_distance > 0)
		elog(DEBUG2, "ivfpq scan: prefetching the heap pages of \"%s\" (%u blocks, %u buffers), %d ahead",
			 RelationGetRelationName(r->heap), r->heap_blocks, buffers, r->prefetch_distance);
}

/* How many pages to keep asked for ahead of the one read; 0: none. */
int
ivfpq_row_reader_prefetch_distance(IvfpqRowReader *r)
{
	return r->prefetch_distance;
}

/*
 * The row at tid will be fetched soon: ask for its heap page now.  A block
 * past the table's end is left to ivfpq_row_reader_fetch's check (asking
 * for it would fail with a less helpful error).
 */
void
ivfpq_row_reader_prefetch(IvfpqRowReader *r, const ItemPointerData *tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(tid);

	if (r->prefetch_distance > 0 && blkno < r->heap_blocks)
	{
		(void) PrefetchBuffer(r->heap, MAIN_FORKNUM, blkno);
		r->prefetched++;
	}
}

/* The last value ivfpq_row_reader_vector read, detoasted, until the next call. */
Datum
ivfpq_row_reader_datum(IvfpqRowReader *r)
{
	return r->datum;
}

/*
 * The floats of the indexed value of the row at tid, if the row is visible
 * to the snapshot, its value not NULL and of the index's dimensions; else
 * NULL.  Valid until the next call.
 *
 * tid is left as it is.  The table AM moves the TID it is given along the
 * row's HOT chain to the version it finds, but the scan must hand the
 * executor the index entry's TID, the chain's root: the executor can only
 * start a chain walk from there.
 */
const float *
ivfpq_row_reader_fetch(IvfpqRowReader *r, const ItemPointerData *tid, Snapshot snapshot)
{
	ItemPointerData version = *tid;
	bool		call_again = false;
	bool		all_dead = false;

	ivfpq_row_reader_check_tid(r, tid);
	ExecClearTuple(r->slot);
	if (!table_index_fetch_tuple(r->fetch, &version, snapshot, r->slot, &call_again, &all_dead))
		return NULL;
	return ivfpq_row_reader_vector(r, r->slot);
}
