/*
 * ivfpq_build_write.c
 *		Writing a new index's pages, in block order: the metapage, the
 *		quantizer (centroids, codebooks), the list pages, then each list's
 *		chain of entry pages.  Nothing is WAL-logged here: the build logs
 *		every page at the end.
 */
#include "postgres.h"

#include "commands/progress.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/tuplesort.h"

#include "ivfpq_build.h"

static Buffer
new_page(IvfpqBuildState *bs, IvfpqPageType type)
{
	Buffer		buf = ivfpq_new_buffer(bs->index, bs->forknum);

	ivfpq_init_page(BufferGetPage(buf), type);
	return buf;
}

static void
finish_page(Buffer buf)
{
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * Block 0 (the metapage, filled in last) and the quantizer's pages, before
 * the encoding: parallel workers read the quantizer from them.
 */
void
ivfpq_write_quantizer(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	IvfpqMetaPageData *meta = &q->meta;
	Buffer		buf;

	buf = new_page(bs, IVFPQ_PAGE_META);
	Assert(BufferGetBlockNumber(buf) == IVFPQ_METAPAGE_BLKNO);
	finish_page(buf);

	if (meta->trained)
	{
		meta->centroids_start = ivfpq_write_blob(bs->index, bs->forknum, q->centroids,
												 mul_size(mul_size((Size) bs->nlist, bs->dims), sizeof(float)),
												 &meta->centroids_pages);
		meta->codebook_start = ivfpq_write_blob(bs->index, bs->forknum, q->pq.codebook,
												mul_size(mul_size((Size) q->pq.ksub, bs->dims), sizeof(float)),
												&meta->codebook_pages);
	}
}

/*
 * The list pages, each list's entries from the sort on a chain of pages of
 * its own, in (list, tid) order, then the list pages' and the metapage's
 * contents.
 */
void
ivfpq_write_lists(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	IvfpqMetaPageData *meta = &q->meta;
	int			nlists = IvfpqStoredLists(meta);
	IvfpqListData *lists = palloc0(sizeof(IvfpqListData) * nlists);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsMinimalTuple);
	bool		have = false;
	IvfpqEntryLayout layout;
	Buffer		buf;
	int64		written = 0;

	ivfpq_entry_layout(meta, &layout);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) bs->index_tuples);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);

	/* list pages, filled in once the entry chains exist */
	meta->lists_pages = (nlists + IVFPQ_LISTS_PER_PAGE - 1) / IVFPQ_LISTS_PER_PAGE;
	for (uint32 i = 0; i < meta->lists_pages; i++)
	{
		buf = new_page(bs, IVFPQ_PAGE_LISTS);
		if (i == 0)
			meta->lists_start = BufferGetBlockNumber(buf);
		finish_page(buf);
	}

	/* each list's entries, in sorted order, on its own chain */
	have = tuplesort_gettupleslot(bs->sort, true, false, slot, NULL);
	for (int list = 0; list < nlists; list++)
	{
		Page		page;

		buf = new_page(bs, IVFPQ_PAGE_ENTRIES);
		page = BufferGetPage(buf);
		lists[list].start = BufferGetBlockNumber(buf);

		while (have)
		{
			bool		isnull;
			int32		entry_list = DatumGetInt32(slot_getattr(slot, 1, &isnull));
			ItemPointer tid;
			bytea	   *code;
			IvfpqPageOpaque opaque = IvfpqPageGetOpaque(page);

			if (entry_list != list)
				break;
			if (opaque->count >= layout.per_page)
			{
				Buffer		next = new_page(bs, IVFPQ_PAGE_ENTRIES);

				CHECK_FOR_INTERRUPTS();
				opaque->next = BufferGetBlockNumber(next);
				finish_page(buf);
				buf = next;
				page = BufferGetPage(buf);
				opaque = IvfpqPageGetOpaque(page);
			}
			tid = (ItemPointer) DatumGetPointer(slot_getattr(slot, 2, &isnull));
			code = DatumGetByteaPP(slot_getattr(slot, 3, &isnull));
			ivfpq_entry_append(&layout, page, tid, (uint8 *) VARDATA_ANY(code));

			if (++written % 1024 == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);
			have = tuplesort_gettupleslot(bs->sort, true, false, slot, NULL);
		}
		lists[list].insert = BufferGetBlockNumber(buf);
		finish_page(buf);
		CHECK_FOR_INTERRUPTS();
	}
	Assert(!have);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);

	for (uint32 i = 0; i < meta->lists_pages; i++)
	{
		int			first = i * IVFPQ_LISTS_PER_PAGE;
		int			count = Min(IVFPQ_LISTS_PER_PAGE, nlists - first);
		Page		page;

		buf = ReadBufferExtended(bs->index, bs->forknum, meta->lists_start + i, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		memcpy(PageGetContents(page), lists + first, sizeof(IvfpqListData) * count);
		((PageHeader) page)->pd_lower += sizeof(IvfpqListData) * count;
		IvfpqPageGetOpaque(page)->count = count;
		finish_page(buf);
	}

	ivfpq_write_meta(bs);
	ExecDropSingleTupleTableSlot(slot);
	pfree(lists);
}

/* The metapage's contents: after the lists, and again after calibration. */
void
ivfpq_write_meta(IvfpqBuildState *bs)
{
	Buffer		buf = ReadBufferExtended(bs->index, bs->forknum, IVFPQ_METAPAGE_BLKNO, RBM_NORMAL, NULL);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	memcpy(PageGetContents(page), &bs->quantizer.meta, sizeof(IvfpqMetaPageData));
	((PageHeader) page)->pd_lower = (char *) PageGetContents(page) + sizeof(IvfpqMetaPageData) - (char *) page;
	finish_page(buf);
}
