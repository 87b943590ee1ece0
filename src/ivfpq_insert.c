/*
 * ivfpq_insert.c
 *		Inserting a row: encode it with the index's quantizer and append the
 *		entry to its list's chain of pages.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "ivfpq.h"
#include "ivfpq_filter.h"

/*
 * Append (tid, code) to the list.  The list page's insert hint points at or
 * near the end of the chain; follow next links from there to the last page,
 * and extend the chain when that is full.  Only one entry page is locked at a
 * time (plus the new page while it is linked in), and the list page only
 * after the entry pages are released, so inserts, scans and VACUUM cannot
 * deadlock.
 */
static void
append_entry(Relation index, const IvfpqMetaPageData *meta, int list,
			 ItemPointer tid, const uint8 *code)
{
	int			slot;
	BlockNumber hint;
	BlockNumber blkno;
	Buffer		buf;
	Page		page;
	GenericXLogState *state;
	IvfpqPageOpaque opaque;
	IvfpqEntryLayout layout;
	IvfpqChainWalk walk;

	ivfpq_entry_layout(meta, &layout);

	buf = ivfpq_lock_list_page(index, meta, list, BUFFER_LOCK_SHARE, &slot);
	hint = ((IvfpqListData *) PageGetContents(BufferGetPage(buf)))[slot].insert;
	UnlockReleaseBuffer(buf);

	ivfpq_walk_begin(&walk, index, list);
	for (blkno = hint;;)
	{
		ivfpq_walk_step(&walk, blkno);
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		(void) ivfpq_entry_page_rows(index, &layout, BufferGetPage(buf), blkno);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		opaque = IvfpqPageGetOpaque(page);
		if (opaque->count < layout.per_page)
			break;
		if (opaque->next != InvalidBlockNumber)
		{
			blkno = opaque->next;
			GenericXLogAbort(state);
			UnlockReleaseBuffer(buf);
			continue;
		}

		/* the last page is full: link a new one, in the same WAL record */
		{
			Buffer		newbuf = ivfpq_new_buffer(index, MAIN_FORKNUM);
			Page		newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);

			ivfpq_init_page(newpage, IVFPQ_PAGE_ENTRIES);
			opaque->next = BufferGetBlockNumber(newbuf);
			blkno = opaque->next;
			page = newpage;
			opaque = IvfpqPageGetOpaque(page);
			ivfpq_entry_append(&layout, page, tid, code);
			opaque->inserts = 1;
			GenericXLogFinish(state);
			UnlockReleaseBuffer(newbuf);
			UnlockReleaseBuffer(buf);
			goto update_hint;
		}
	}

	ivfpq_entry_append(&layout, page, tid, code);
	if (opaque->inserts < PG_UINT16_MAX)
		opaque->inserts++;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);

update_hint:
	if (blkno != hint)
	{
		IvfpqListData *item;

		buf = ivfpq_lock_list_page(index, meta, list, BUFFER_LOCK_EXCLUSIVE, &slot);
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		item = &((IvfpqListData *) PageGetContents(page))[slot];
		item->insert = blkno;
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
}

bool
ivfpq_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			 Relation heap, IndexUniqueCheck checkUnique,
#if PG_VERSION_NUM >= 140000
			 bool indexUnchanged,
#endif
			 IndexInfo *indexInfo)
{
	MemoryContext cxt;
	MemoryContext old;
	IvfpqQuantizer *q;
	float	   *vector;
	float	   *scratch;
	uint8	   *code;
	int32		list;

	/* NULLs have no distance to anything: not indexed */
	if (isnull[0])
		return false;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ivfpq insert", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	q = ivfpq_pin_quantizer(index);
	vector = palloc(sizeof(float) * q->meta.dims);
	/* the stored code: the PQ code, then the row's filter values */
	code = palloc(q->meta.code_size + q->meta.filter_size);
	ivfpq_filter_pack(&q->meta, index, values, isnull, code + q->meta.code_size);
	scratch = palloc(ivfpq_encode_scratch_size(1, q->meta.nlist, &q->pq));
	if (ivfpq_prepare_vector((IvfpqMetric) q->meta.metric, ivfpq_index_element(index), q->meta.dims, values[0], vector) ||
		!IvfpqHasNodirList(&q->meta))
		ivfpq_assign_and_encode(q, vector, 1, &list, code, scratch);
	else
	{
		/* no direction (a zero vector under cosine): the chain after the lists */
		list = q->meta.nlist;
		memset(code, 0, q->meta.code_size);
	}
	append_entry(index, &q->meta, list, heap_tid, code);
	ivfpq_unpin_quantizer(q);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return false;
}
