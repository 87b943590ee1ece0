/*
 * ivfpq_check.c
 *		vqpq_index_check(regclass): walk an ivfpq index and report structural
 *		problems, one row (block, problem) each; a healthy index gives none.
 *
 * Checked: the metapage; that the quantizer and list pages are where the
 * metapage says, of the right type; every list's chain (pages in range, of
 * the entry type, in no other chain, no cycle; entry counts that fit the
 * page and match pd_lower; heap TIDs that are valid and inside the table;
 * the insert hint on the chain); that each list page holds its share of the
 * lists; and that no initialized page belongs to no structure.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "fastscan.h"
#include "ivfpq.h"

typedef struct CheckState
{
	Tuplestorestate *store;
	TupleDesc	desc;
	int			problems;

	Relation	index;
	Relation	heap;
	IvfpqEntryLayout layout;
	int			nfilters;		/* filter columns: bits of each entry's NULL flags */

	/*
	 * Sizes as last looked at.  Concurrent inserts grow both the index and
	 * the table while we walk, so a block past either counts as damage only
	 * if it is still past it when looked at again.
	 */
	BlockNumber nblocks;
	BlockNumber heap_blocks;
	bool	   *visited;		/* per index block; capacity visited_size */
	BlockNumber visited_size;
} CheckState;

static void
problem(CheckState *cs, BlockNumber blkno, const char *fmt,...) pg_attribute_printf(3, 4);

static void
problem(CheckState *cs, BlockNumber blkno, const char *fmt,...)
{
	va_list		args;
	StringInfoData msg;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	initStringInfo(&msg);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	if (BlockNumberIsValid(blkno))
		values[0] = Int64GetDatum((int64) blkno);
	else
		nulls[0] = true;
	values[1] = CStringGetTextDatum(msg.data);
	tuplestore_putvalues(cs->store, cs->desc, values, nulls);
	cs->problems++;
}

/* Is blkno inside the index?  Looks at its size again before saying no. */
static bool
in_index(CheckState *cs, BlockNumber blkno)
{
	if (blkno >= cs->nblocks && BlockNumberIsValid(blkno))
	{
		cs->nblocks = RelationGetNumberOfBlocks(cs->index);
		if (cs->nblocks > cs->visited_size)
		{
			cs->visited = repalloc(cs->visited, sizeof(bool) * cs->nblocks);
			memset(cs->visited + cs->visited_size, 0, sizeof(bool) * (cs->nblocks - cs->visited_size));
			cs->visited_size = cs->nblocks;
		}
	}
	return BlockNumberIsValid(blkno) && blkno < cs->nblocks;
}

/* Is the heap TID inside the table?  Likewise. */
static bool
in_table(CheckState *cs, ItemPointer tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(tid);

	if (!ItemPointerIsValid(tid) || ItemPointerGetOffsetNumberNoCheck(tid) > MaxHeapTuplesPerPage)
		return false;
	if (blkno >= cs->heap_blocks)
		cs->heap_blocks = RelationGetNumberOfBlocks(cs->heap);
	return blkno < cs->heap_blocks;
}

/* Read a page for checking, or report it and return InvalidBuffer. */
static Buffer
read_page(CheckState *cs, BlockNumber blkno, IvfpqPageType type, const char *what)
{
	Buffer		buf;

	if (!in_index(cs, blkno))
	{
		problem(cs, blkno, "%s is outside the index (%u blocks)", what, cs->nblocks);
		return InvalidBuffer;
	}
	buf = ReadBuffer(cs->index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	if (!ivfpq_page_is_valid(BufferGetPage(buf), type))
	{
		problem(cs, blkno, "%s is not a valid ivfpq page of type %d", what, (int) type);
		UnlockReleaseBuffer(buf);
		return InvalidBuffer;
	}
	return buf;
}

/*
 * A blocked page's last block may be partly used: its unused rows must be
 * zeros (TIDs, codes and filter values), as inserts and VACUUM leave them.
 */
static bool
unused_rows_are_zero(const IvfpqEntryLayout *layout, Page page)
{
	int			count = IvfpqPageGetOpaque(page)->count;
	int			end = (count + VQPQ_FS_ROWS - 1) / VQPQ_FS_ROWS * VQPQ_FS_ROWS;
	uint8	   *code = palloc(layout->stored_size);
	bool		zero = true;

	for (int i = count; i < end && zero; i++)
	{
		ItemPointerData tid;
		static const ItemPointerData zero_tid;

		ivfpq_entry_tid(layout, page, i, &tid);
		ivfpq_entry_code(layout, page, i, code);
		zero = memcmp(&tid, &zero_tid, IVFPQ_ENTRY_TID_SIZE) == 0;
		for (int b = 0; b < layout->stored_size && zero; b++)
			zero = code[b] == 0;
	}
	pfree(code);
	return zero;
}

/*
 * Check the entry pages of a list's chain from blkno on, marking them
 * visited.  Returns the last page of the chain seen (or InvalidBlockNumber
 * if none), and sets *hint_seen if the chain passes through hint.
 */
static BlockNumber
check_chain(CheckState *cs, int list, BlockNumber blkno, BlockNumber hint, bool *hint_seen)
{
	BlockNumber last = InvalidBlockNumber;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		char	   *page_problem;
		BlockNumber next;

		CHECK_FOR_INTERRUPTS();
		buf = read_page(cs, blkno, IVFPQ_PAGE_ENTRIES, "entry page");
		if (!BufferIsValid(buf))
			break;
		if (cs->visited[blkno])
		{
			problem(cs, blkno, "list %d reaches a page already seen (a cycle, or a page in two chains)", list);
			UnlockReleaseBuffer(buf);
			break;
		}
		cs->visited[blkno] = true;
		last = blkno;
		if (blkno == hint)
			*hint_seen = true;
		page = BufferGetPage(buf);
		next = IvfpqPageGetOpaque(page)->next;
		page_problem = ivfpq_entry_page_problem(&cs->layout, page);
		if (page_problem)
			problem(cs, blkno, "list %d: %s", list, page_problem);
		else
		{
			for (int e = 0; e < IvfpqPageGetOpaque(page)->count; e++)
			{
				ItemPointerData tid;

				ivfpq_entry_tid(&cs->layout, page, e, &tid);
				if (!in_table(cs, &tid))
					problem(cs, blkno, "list %d: entry %d has heap TID (%u,%u), not in the table",
							list, e, ItemPointerGetBlockNumberNoCheck(&tid),
							ItemPointerGetOffsetNumberNoCheck(&tid));
				if (cs->nfilters > 0)
				{
					/* the filter values start with a byte of NULL flags, one bit a column */
					uint8		flags = ivfpq_entry_filter(&cs->layout, page, e)[0];

					if ((flags >> cs->nfilters) != 0)
						problem(cs, blkno, "list %d: entry %d has NULL flags 0x%02x, more than its %d filter columns",
								list, e, flags, cs->nfilters);
				}
			}
			if (cs->layout.blocked && !unused_rows_are_zero(&cs->layout, page))
				problem(cs, blkno, "list %d: unused rows of the page's last block are not zero", list);
		}
		UnlockReleaseBuffer(buf);
		blkno = next;
	}
	return last;
}

/* The page's next link now (inserts may have added a page since). */
static BlockNumber
next_of(CheckState *cs, BlockNumber blkno)
{
	Buffer		buf = ReadBuffer(cs->index, blkno);
	BlockNumber next;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	next = IvfpqPageGetOpaque(BufferGetPage(buf))->next;
	UnlockReleaseBuffer(buf);
	return next;
}

static void
check_index(CheckState *cs)
{
	IvfpqMetaPageData meta;
	Buffer		buf;
	char	   *meta_problem;
	BlockNumber *last_pages;
	bool		lists_ok = true;

	cs->nblocks = RelationGetNumberOfBlocks(cs->index);
	cs->heap_blocks = RelationGetNumberOfBlocks(cs->heap);
	cs->visited_size = Max(cs->nblocks, 1);
	cs->visited = palloc0(sizeof(bool) * cs->visited_size);

	buf = read_page(cs, IVFPQ_METAPAGE_BLKNO, IVFPQ_PAGE_META, "the metapage");
	if (!BufferIsValid(buf))
		return;
	memcpy(&meta, PageGetContents(BufferGetPage(buf)), sizeof(meta));
	UnlockReleaseBuffer(buf);
	cs->visited[IVFPQ_METAPAGE_BLKNO] = true;
	if (meta.magic != IVFPQ_MAGIC || !ivfpq_format_is_supported(&meta))
	{
		problem(cs, 0, "metapage has magic %08x version %u, expected %08x version %u",
				meta.magic, meta.version, IVFPQ_MAGIC, IVFPQ_FORMAT_VERSION);
		return;
	}
	meta_problem = ivfpq_meta_problem(&meta, cs->nblocks);
	if (meta_problem)
	{
		problem(cs, 0, "metapage: %s", meta_problem);
		return;
	}
	ivfpq_entry_layout(&meta, &cs->layout);
	cs->nfilters = meta.nfilters;

	/* quantizer pages (where the metapage says, as checked above) */
	if (meta.trained)
	{
		BlockNumber starts[2] = {meta.centroids_start, meta.codebook_start};
		uint32		pages[2] = {meta.centroids_pages, meta.codebook_pages};

		for (int b = 0; b < 2; b++)
		{
			for (uint32 i = 0; i < pages[b]; i++)
			{
				buf = read_page(cs, starts[b] + i, IVFPQ_PAGE_BLOB, b == 0 ? "centroid page" : "codebook page");
				if (BufferIsValid(buf))
				{
					cs->visited[starts[b] + i] = true;
					UnlockReleaseBuffer(buf);
				}
			}
		}
	}

	/* lists and their chains */
	last_pages = palloc(sizeof(BlockNumber) * IvfpqStoredLists(&meta));
	for (uint32 list = 0; list < IvfpqStoredLists(&meta); list++)
		last_pages[list] = InvalidBlockNumber;
	for (uint32 p = 0; p < meta.lists_pages; p++)
	{
		BlockNumber lblk = meta.lists_start + p;
		IvfpqListData *items;
		char	   *list_problem;
		int			count;

		buf = read_page(cs, lblk, IVFPQ_PAGE_LISTS, "list page");
		if (!BufferIsValid(buf))
		{
			lists_ok = false;
			continue;
		}
		cs->visited[lblk] = true;
		list_problem = ivfpq_list_page_problem(&meta, BufferGetPage(buf), p, cs->nblocks);
		if (list_problem)
		{
			problem(cs, lblk, "list page: %s", list_problem);
			UnlockReleaseBuffer(buf);
			lists_ok = false;
			continue;
		}
		count = IvfpqPageGetOpaque(BufferGetPage(buf))->count;
		items = palloc(sizeof(IvfpqListData) * count);
		memcpy(items, PageGetContents(BufferGetPage(buf)), sizeof(IvfpqListData) * count);
		UnlockReleaseBuffer(buf);

		for (int i = 0; i < count; i++)
		{
			int			list = p * IVFPQ_LISTS_PER_PAGE + i;
			bool		hint_seen = false;

			last_pages[list] = check_chain(cs, list, items[i].start, items[i].insert, &hint_seen);
			if (!hint_seen)
				problem(cs, items[i].insert, "list %d: insert hint is not a page of its chain", list);
		}
		pfree(items);
	}

	/*
	 * Initialized pages outside every structure (new pages are unused
	 * space).  An insert links a page into its chain as it initializes it,
	 * so a page found initialized here was on a chain then: if it is not
	 * among the pages seen, walk on from each chain's last page seen before
	 * calling it lost.
	 */
	if (lists_ok)
	{
		List	   *candidates = NIL;
		ListCell   *lc;

		cs->nblocks = RelationGetNumberOfBlocks(cs->index);
		(void) in_index(cs, cs->nblocks - 1);	/* room to mark every block */
		for (BlockNumber blkno = 0; blkno < cs->nblocks; blkno++)
		{
			bool		is_new;

			if (cs->visited[blkno])
				continue;
			buf = ReadBuffer(cs->index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			is_new = PageIsNew(BufferGetPage(buf));
			UnlockReleaseBuffer(buf);
			if (!is_new)
				candidates = lappend_int(candidates, (int) blkno);
			CHECK_FOR_INTERRUPTS();
		}
		if (candidates != NIL)
		{
			for (uint32 list = 0; list < IvfpqStoredLists(&meta); list++)
			{
				bool		hint_seen;

				if (BlockNumberIsValid(last_pages[list]))
					(void) check_chain(cs, list, next_of(cs, last_pages[list]), InvalidBlockNumber, &hint_seen);
			}
		}
		foreach(lc, candidates)
		{
			if (!cs->visited[lfirst_int(lc)])
				problem(cs, (BlockNumber) lfirst_int(lc), "page belongs to no list or structure");
		}
	}
}

PG_FUNCTION_INFO_V1(vqpq_index_check);
Datum
vqpq_index_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CheckState	cs;
	MemoryContext old;
	Relation	index;
	Relation	heap;
	Oid			heapoid;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vqpq_index_check must be called in a context that accepts a set")));

	/* lock the table before the index, as every other path does */
	heapoid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(heapoid))
	{
		char	   *name = get_rel_name(indexoid);

		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", name ? name : "(unknown)")));
	}
	heap = table_open(heapoid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	if (index->rd_indam->ambuild != ivfpq_build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ivfpq index", RelationGetRelationName(index))));

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &cs.desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	cs.desc = CreateTupleDescCopy(cs.desc);
	cs.store = tuplestore_begin_heap(true, false, work_mem);
	cs.problems = 0;
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = cs.store;
	rsinfo->setDesc = cs.desc;
	MemoryContextSwitchTo(old);

	cs.index = index;
	cs.heap = heap;
	check_index(&cs);

	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return (Datum) 0;
}
