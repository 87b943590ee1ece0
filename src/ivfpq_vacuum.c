/*
 * ivfpq_vacuum.c
 *		VACUUM: remove entries of dead rows, point inserts at the freed
 *		space, and report index statistics.  Pages are read through
 *		VACUUM's buffer ring and with its cost-based delay.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "ivfpq.h"

static BlockNumber *
read_list_starts(Relation index, const IvfpqMetaPageData *meta)
{
	BlockNumber *starts = palloc(sizeof(BlockNumber) * IvfpqStoredLists(meta));

	ivfpq_read_list_starts(index, meta, starts);
	return starts;
}

/*
 * Point the list's insert hint at blkno.  Any page of the chain is a valid
 * hint (inserts walk on to the end), so racing with an insert that moves it
 * forward again only delays the reuse of this space until the next VACUUM.
 */
static void
set_insert_hint(Relation index, const IvfpqMetaPageData *meta, int list, BlockNumber blkno)
{
	int			slot;
	Buffer		buf;
	Page		page;
	GenericXLogState *state;
	IvfpqListData *item;

	buf = ivfpq_lock_list_page(index, meta, list, BUFFER_LOCK_EXCLUSIVE, &slot);
	item = &((IvfpqListData *) PageGetContents(BufferGetPage(buf)))[slot];
	if (item->insert == blkno)
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	((IvfpqListData *) PageGetContents(page))[slot].insert = blkno;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

IndexBulkDeleteResult *
ivfpq_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	IvfpqMetaPageData meta;
	BlockNumber *starts;
	IvfpqEntryLayout layout;
	uint8	   *code;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	ivfpq_read_meta(index, &meta);
	ivfpq_entry_layout(&meta, &layout);
	code = palloc(layout.stored_size);
	starts = read_list_starts(index, &meta);

	for (uint32 list = 0; list < IvfpqStoredLists(&meta); list++)
	{
		BlockNumber blkno = starts[list];
		BlockNumber first_with_space = InvalidBlockNumber;
		IvfpqChainWalk walk;

		ivfpq_walk_begin(&walk, index, list);
		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf;
			Page		page;
			IvfpqPageOpaque opaque;
			GenericXLogState *state;
			int			kept = 0;
			int			count;

#if PG_VERSION_NUM >= 180000
			vacuum_delay_point(false);
#else
			vacuum_delay_point();
#endif
			ivfpq_walk_step(&walk, blkno);
			buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
			/*
			 * An exclusive lock is enough to move entries: scans copy a
			 * page's TIDs under a share lock and keep no pin after it, and
			 * an entry removed here is a row no MVCC snapshot sees, so a
			 * scan that copied it before finds it invisible in the table
			 * (even if the TID is used again by then).
			 */
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			count = ivfpq_entry_page_rows(index, &layout, BufferGetPage(buf), blkno);
			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, buf, 0);
			opaque = IvfpqPageGetOpaque(page);

			for (int i = 0; i < count; i++)
			{
				ItemPointerData tid;

				ivfpq_entry_tid(&layout, page, i, &tid);
				if (callback(&tid, callback_state))
					stats->tuples_removed += 1;
				else
				{
					if (kept != i)
						ivfpq_entry_move(&layout, page, i, kept, code);
					kept++;
				}
			}
			stats->num_index_tuples += kept;
			blkno = opaque->next;

			if (kept < count)
			{
				/* compact, and leave nothing behind in the freed space */
				ivfpq_entries_truncate(&layout, page, kept);
				/* at most the rows left can have been inserted after the build */
				opaque->inserts = Min(opaque->inserts, (uint16) kept);
				GenericXLogFinish(state);
			}
			else
				GenericXLogAbort(state);
			if (!BlockNumberIsValid(first_with_space) && kept < layout.per_page)
				first_with_space = BufferGetBlockNumber(buf);
			UnlockReleaseBuffer(buf);
		}

		/* inserts start looking for room here, so freed space is reused */
		if (BlockNumberIsValid(first_with_space))
			set_insert_hint(index, &meta, list, first_with_space);
	}

	pfree(code);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

IndexBulkDeleteResult *
ivfpq_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	/*
	 * No bulk delete ran (nothing to remove, as after inserts only): there
	 * is no work to do, and the index is not read.  Returning no statistics
	 * leaves the recorded ones, which the planner scales to the index's
	 * current size, as btree does when it skips its cleanup scan.
	 */
	if (info->analyze_only || stats == NULL)
		return stats;
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
