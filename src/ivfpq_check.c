/*
 * ivfpq_check.c
 *		vqpq_index_check(regclass): walk an ivfpq index and report structural
 *		problems, one row (block, problem) each; a healthy index gives none.
 *
 * Checked: the metapage; that the quantizer and list pages are where the
 * metapage says, of the right type; every list's chain (pages in range, of
 * the entry type, in no other chain, no cycle; entry counts that fit the
 * page and match pd_lower; heap TIDs that are valid and inside the table;
 * the insert hint on the chain); that the list pages hold nlist lists; and
 * that no initialized page belongs to no structure.
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

/* Read a page for checking, or report it and return InvalidBuffer. */
static Buffer
read_page(CheckState *cs, Relation index, BlockNumber blkno, BlockNumber nblocks,
		  IvfpqPageType type, const char *what)
{
	Buffer		buf;

	if (!BlockNumberIsValid(blkno) || blkno >= nblocks)
	{
		problem(cs, blkno, "%s is outside the index (%u blocks)", what, nblocks);
		return InvalidBuffer;
	}
	buf = ReadBuffer(index, blkno);
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
 * zeros (TIDs and codes), as inserts and VACUUM leave them.
 */
static bool
unused_rows_are_zero(const IvfpqEntryLayout *layout, Page page)
{
	int			count = IvfpqPageGetOpaque(page)->count;
	int			end = (count + VQPQ_FS_ROWS - 1) / VQPQ_FS_ROWS * VQPQ_FS_ROWS;
	uint8	   *code = palloc(layout->code_size);
	bool		zero = true;

	for (int i = count; i < end && zero; i++)
	{
		ItemPointerData tid;
		static const ItemPointerData zero_tid;

		ivfpq_entry_tid(layout, page, i, &tid);
		ivfpq_entry_code(layout, page, i, code);
		zero = memcmp(&tid, &zero_tid, IVFPQ_ENTRY_TID_SIZE) == 0;
		for (int b = 0; b < layout->code_size && zero; b++)
			zero = code[b] == 0;
	}
	pfree(code);
	return zero;
}

static void
check_index(CheckState *cs, Relation index, Relation heap)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber heap_blocks = RelationGetNumberOfBlocks(heap);
	bool	   *visited = palloc0(sizeof(bool) * Max(nblocks, 1));
	IvfpqMetaPageData meta;
	Buffer		buf;
	IvfpqEntryLayout layout;
	int			lists_found = 0;

	buf = read_page(cs, index, IVFPQ_METAPAGE_BLKNO, nblocks, IVFPQ_PAGE_META, "the metapage");
	if (!BufferIsValid(buf))
		return;
	memcpy(&meta, PageGetContents(BufferGetPage(buf)), sizeof(meta));
	UnlockReleaseBuffer(buf);
	visited[IVFPQ_METAPAGE_BLKNO] = true;
	if (meta.magic != IVFPQ_MAGIC || !ivfpq_format_is_supported(&meta))
	{
		problem(cs, 0, "metapage has magic %08x version %u, expected %08x version %u",
				meta.magic, meta.version, IVFPQ_MAGIC, IVFPQ_FORMAT_VERSION);
		return;
	}
	if (meta.nlist < 1 || meta.nlist > IVFPQ_MAX_NLIST || meta.m < 1 ||
		(meta.nbits != 4 && meta.nbits != 8) ||
		meta.entry_size != IVFPQ_ENTRY_TID_SIZE + meta.code_size ||
		meta.code_size != (meta.nbits == 8 ? meta.m : (meta.m + 1) / 2))
	{
		problem(cs, 0, "metapage parameters do not fit together (nlist %u, m %u, nbits %u, code size %u, entry size %u)",
				meta.nlist, meta.m, meta.nbits, meta.code_size, meta.entry_size);
		return;
	}
	ivfpq_entry_layout(&meta, &layout);

	/* quantizer pages */
	if (meta.trained)
	{
		struct
		{
			BlockNumber start;
			uint32		pages;
			Size		bytes;
			const char *what;
		}			blobs[2] = {
			{meta.centroids_start, meta.centroids_pages,
			(Size) meta.nlist * meta.dims * sizeof(float), "centroid page"},
			{meta.codebook_start, meta.codebook_pages,
			((Size) 1 << meta.nbits) * meta.dims * sizeof(float), "codebook page"},
		};

		for (int b = 0; b < 2; b++)
		{
			if ((Size) blobs[b].pages != (blobs[b].bytes + IVFPQ_PAGE_CAPACITY - 1) / IVFPQ_PAGE_CAPACITY)
				problem(cs, blobs[b].start, "%u %ss, expected %zu", blobs[b].pages, blobs[b].what,
						(blobs[b].bytes + IVFPQ_PAGE_CAPACITY - 1) / IVFPQ_PAGE_CAPACITY);
			for (uint32 i = 0; i < blobs[b].pages; i++)
			{
				buf = read_page(cs, index, blobs[b].start + i, nblocks, IVFPQ_PAGE_BLOB, blobs[b].what);
				if (BufferIsValid(buf))
				{
					visited[blobs[b].start + i] = true;
					UnlockReleaseBuffer(buf);
				}
			}
		}
	}

	/* lists and their chains */
	for (uint32 p = 0; p < meta.lists_pages; p++)
	{
		BlockNumber lblk = meta.lists_start + p;
		IvfpqListData *items;
		int			count;

		buf = read_page(cs, index, lblk, nblocks, IVFPQ_PAGE_LISTS, "list page");
		if (!BufferIsValid(buf))
			continue;
		visited[lblk] = true;
		count = IvfpqPageGetOpaque(BufferGetPage(buf))->count;
		if (count > IVFPQ_LISTS_PER_PAGE)
		{
			problem(cs, lblk, "list page claims %d lists, at most %d fit", count, IVFPQ_LISTS_PER_PAGE);
			count = IVFPQ_LISTS_PER_PAGE;
		}
		items = palloc(sizeof(IvfpqListData) * count);
		memcpy(items, PageGetContents(BufferGetPage(buf)), sizeof(IvfpqListData) * count);
		UnlockReleaseBuffer(buf);
		lists_found += count;

		for (int i = 0; i < count; i++)
		{
			int			list = p * IVFPQ_LISTS_PER_PAGE + i;
			BlockNumber blkno = items[i].start;
			bool		hint_on_chain = false;

			while (BlockNumberIsValid(blkno))
			{
				Page		page;
				IvfpqPageOpaque opaque;
				BlockNumber next;

				CHECK_FOR_INTERRUPTS();
				if (blkno < nblocks && visited[blkno])
				{
					problem(cs, blkno, "list %d reaches a page already seen (a cycle, or a page in two chains)", list);
					break;
				}
				buf = read_page(cs, index, blkno, nblocks, IVFPQ_PAGE_ENTRIES, "entry page");
				if (!BufferIsValid(buf))
					break;
				visited[blkno] = true;
				if (blkno == items[i].insert)
					hint_on_chain = true;
				page = BufferGetPage(buf);
				opaque = IvfpqPageGetOpaque(page);
				next = opaque->next;
				if (opaque->count > layout.per_page)
					problem(cs, blkno, "list %d: page claims %d entries, at most %d fit", list, opaque->count, layout.per_page);
				else if (((PageHeader) page)->pd_lower != MAXALIGN(SizeOfPageHeaderData) + ivfpq_entries_size(&layout, opaque->count))
					problem(cs, blkno, "list %d: pd_lower %u does not match %d entries",
							list, ((PageHeader) page)->pd_lower, opaque->count);
				else
				{
					for (int e = 0; e < opaque->count; e++)
					{
						ItemPointerData tid;

						ivfpq_entry_tid(&layout, page, e, &tid);
						if (!ItemPointerIsValid(&tid) ||
							ItemPointerGetBlockNumberNoCheck(&tid) >= heap_blocks ||
							ItemPointerGetOffsetNumberNoCheck(&tid) > MaxHeapTuplesPerPage)
							problem(cs, blkno, "list %d: entry %d has heap TID (%u,%u), not in the table",
									list, e, ItemPointerGetBlockNumberNoCheck(&tid),
									ItemPointerGetOffsetNumberNoCheck(&tid));
					}
					if (layout.blocked && !unused_rows_are_zero(&layout, page))
						problem(cs, blkno, "list %d: unused rows of the page's last block are not zero", list);
				}
				UnlockReleaseBuffer(buf);
				blkno = next;
			}
			if (!hint_on_chain)
				problem(cs, items[i].insert, "list %d: insert hint is not a page of its chain", list);
		}
		pfree(items);
	}
	if (lists_found != (int) meta.nlist)
		problem(cs, meta.lists_start, "list pages hold %d lists, the metapage says %u", lists_found, meta.nlist);

	/* initialized pages outside every structure (new pages are unused space) */
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		bool		is_new;

		if (visited[blkno])
			continue;
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		is_new = PageIsNew(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		if (!is_new)
			problem(cs, blkno, "page belongs to no list or structure");
		CHECK_FOR_INTERRUPTS();
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

	check_index(&cs, index, heap);

	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return (Datum) 0;
}
