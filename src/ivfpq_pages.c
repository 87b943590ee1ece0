/*
 * ivfpq_pages.c
 *		Page-level helpers: new pages, page checks, the metapage, and "blobs"
 *		(float arrays spread over consecutive pages).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "ivfpq.h"
#include "ivfpq_calibration.h"
#include "pqvector.h"

/* A new page at the end of the fork, returned exclusively locked. */
Buffer
ivfpq_new_buffer(Relation index, ForkNumber forknum)
{
#if PG_VERSION_NUM >= 160000
	return ExtendBufferedRel(BMR_REL(index), forknum, NULL, EB_LOCK_FIRST);
#else
	Buffer		buf;
	bool		need_lock = !RELATION_IS_LOCAL(index);

	/* two backends extending at once must not get the same block */
	if (need_lock)
		LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, forknum, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (need_lock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
#endif
}

void
ivfpq_init_page(Page page, IvfpqPageType type)
{
	IvfpqPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(IvfpqPageOpaqueData));
	opaque = IvfpqPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->count = 0;
	opaque->type = type;
	opaque->inserts = 0;
	opaque->page_id = IVFPQ_PAGE_ID;
}

bool
ivfpq_page_is_valid(Page page, IvfpqPageType type)
{
	return !PageIsNew(page) &&
		PageGetSpecialSize(page) == MAXALIGN(sizeof(IvfpqPageOpaqueData)) &&
		IvfpqPageGetOpaque(page)->page_id == IVFPQ_PAGE_ID &&
		IvfpqPageGetOpaque(page)->type == type;
}

static void
corrupt_page_error(Relation index, BlockNumber blkno, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("ivfpq index \"%s\" has a corrupt page at block %u", RelationGetRelationName(index), blkno),
			 errdetail("Expected %s.", what),
			 errhint("REINDEX the index.")));
}

/* Pages that size bytes of quantizer data take. */
static uint32
blob_pages(Size bytes)
{
	return (uint32) ((bytes + IVFPQ_PAGE_CAPACITY - 1) / IVFPQ_PAGE_CAPACITY);
}

/*
 * What is wrong with a metapage of a supported format whose index has
 * nblocks blocks, or NULL if nothing: every parameter that sizes a read or
 * an allocation must hold together before anything trusts it.  The reader
 * and vqpq_index_check both ask here.
 */
char *
ivfpq_meta_problem(const IvfpqMetaPageData *meta, BlockNumber nblocks)
{
	if (meta->dims < 1 || meta->dims > PQVECTOR_MAX_DIM)
		return psprintf("dims %u is not between 1 and %d", meta->dims, PQVECTOR_MAX_DIM);
	if (meta->metric < IVFPQ_METRIC_L2 || meta->metric > IVFPQ_METRIC_COSINE)
		return psprintf("metric %u is unknown", meta->metric);
	if (meta->nlist < 1 || meta->nlist > IVFPQ_MAX_NLIST)
		return psprintf("nlist %u is not between 1 and %d", meta->nlist, IVFPQ_MAX_NLIST);
	if (meta->m < 1 || meta->m > IVFPQ_MAX_M || meta->m > meta->dims)
		return psprintf("m %u is not between 1 and the %u dimensions (at most %d)", meta->m, meta->dims, IVFPQ_MAX_M);
	if (meta->nbits != 4 && meta->nbits != 8)
		return psprintf("nbits %u is neither 4 nor 8", meta->nbits);
	if (meta->nfilters > IVFPQ_MAX_FILTERS || (meta->nfilters > 0 && meta->version < 4))
		return psprintf("%u filter columns in format %u", meta->nfilters, meta->version);
	{
		uint32		filter_size = meta->nfilters > 0 ? 1 : 0;

		for (uint32 j = 0; j < meta->nfilters; j++)
		{
			if (meta->filter_width[j] != 2 && meta->filter_width[j] != 4 && meta->filter_width[j] != 8)
				return psprintf("filter column %u is %u bytes wide, not 2, 4 or 8", j + 1, meta->filter_width[j]);
			filter_size += meta->filter_width[j];
		}
		if (meta->filter_size != filter_size)
			return psprintf("filter size %u does not fit its %u columns", meta->filter_size, meta->nfilters);
	}
	if (meta->code_size != (meta->nbits == 8 ? meta->m : (meta->m + 1) / 2) ||
		meta->entry_size != IVFPQ_ENTRY_TID_SIZE + meta->code_size + meta->filter_size ||
		meta->entry_size > IVFPQ_PAGE_CAPACITY)
		return psprintf("code size %u and entry size %u do not fit m %u and nbits %u",
						meta->code_size, meta->entry_size, meta->m, meta->nbits);
	if (meta->trained > 1)
		return psprintf("trained is %u, not 0 or 1", meta->trained);
	if (meta->trained)
	{
		uint32		centroid_pages = blob_pages((Size) meta->nlist * meta->dims * sizeof(float));
		uint32		codebook_pages = blob_pages(((Size) 1 << meta->nbits) * meta->dims * sizeof(float));

		if (meta->centroids_pages != centroid_pages || meta->codebook_pages != codebook_pages)
			return psprintf("%u centroid and %u codebook pages, expected %u and %u",
							meta->centroids_pages, meta->codebook_pages, centroid_pages, codebook_pages);
		if (meta->centroids_start < 1 || meta->centroids_start >= nblocks ||
			nblocks - meta->centroids_start < meta->centroids_pages ||
			meta->codebook_start < 1 || meta->codebook_start >= nblocks ||
			nblocks - meta->codebook_start < meta->codebook_pages)
			return psprintf("centroid pages at %u and codebook pages at %u are not inside the index (%u blocks)",
							meta->centroids_start, meta->codebook_start, nblocks);
	}
	if (meta->lists_pages != (IvfpqStoredLists(meta) + IVFPQ_LISTS_PER_PAGE - 1) / IVFPQ_LISTS_PER_PAGE)
		return psprintf("%u list pages cannot hold %u lists", meta->lists_pages, IvfpqStoredLists(meta));
	if (meta->lists_start < 1 || meta->lists_start >= nblocks || nblocks - meta->lists_start < meta->lists_pages)
		return psprintf("list pages at %u are not inside the index (%u blocks)", meta->lists_start, nblocks);
	/* scans choose their settings from it */
	return ivfpq_calib_problem(meta);
}

void
ivfpq_read_meta(Relation index, IvfpqMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, IVFPQ_METAPAGE_BLKNO);
	Page		page;
	char	   *problem;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_META))
		corrupt_page_error(index, IVFPQ_METAPAGE_BLKNO, "the metapage");
	memcpy(meta, PageGetContents(page), sizeof(IvfpqMetaPageData));
	UnlockReleaseBuffer(buf);
	/* fields after format 3's end: zeros on its pages, but say so */
	if (meta->version < 4)
	{
		meta->nfilters = meta->filter_size = 0;
		memset(meta->filter_width, 0, sizeof(meta->filter_width));
	}

	if (meta->magic != IVFPQ_MAGIC)
		corrupt_page_error(index, IVFPQ_METAPAGE_BLKNO, "the ivfpq magic number");
	if (!ivfpq_format_is_supported(meta))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ivfpq index \"%s\" has format version %u, this vqpq reads version %u",
						RelationGetRelationName(index), meta->version, IVFPQ_FORMAT_VERSION),
				 meta->version == 1 && meta->nbits == 4
				 ? errdetail("Format 2 stores 4-bit codes in blocks for fast-scan.") : 0,
				 errhint("REINDEX the index.")));
	problem = ivfpq_meta_problem(meta, RelationGetNumberOfBlocks(index));
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has a corrupt metapage", RelationGetRelationName(index)),
				 errdetail("The %s.", problem),
				 errhint("REINDEX the index.")));
}

/*
 * Write size bytes over new consecutive pages of a fork being built (no WAL
 * here: the build logs all its pages at the end).  Returns the first block.
 */
BlockNumber
ivfpq_write_blob(Relation index, ForkNumber forknum, const void *data, Size size,
				 uint32 *npages)
{
	const char *p = data;
	BlockNumber first = InvalidBlockNumber;

	*npages = 0;
	while (size > 0 || *npages == 0)
	{
		Buffer		buf = ivfpq_new_buffer(index, forknum);
		Page		page = BufferGetPage(buf);
		Size		chunk = Min(size, (Size) IVFPQ_PAGE_CAPACITY);

		ivfpq_init_page(page, IVFPQ_PAGE_BLOB);
		memcpy(PageGetContents(page), p, chunk);
		((PageHeader) page)->pd_lower += chunk;
		MarkBufferDirty(buf);
		if (first == InvalidBlockNumber)
			first = BufferGetBlockNumber(buf);
		Assert(BufferGetBlockNumber(buf) == first + *npages);
		UnlockReleaseBuffer(buf);

		p += chunk;
		size -= chunk;
		(*npages)++;
		CHECK_FOR_INTERRUPTS();
	}
	return first;
}

void
ivfpq_read_blob(Relation index, BlockNumber start, uint32 npages, void *data, Size size)
{
	char	   *p = data;

	for (uint32 i = 0; i < npages; i++)
	{
		Buffer		buf = ReadBuffer(index, start + i);
		Page		page;
		Size		chunk = Min(size, (Size) IVFPQ_PAGE_CAPACITY);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_BLOB) ||
			((PageHeader) page)->pd_lower < MAXALIGN(SizeOfPageHeaderData) + chunk)
			corrupt_page_error(index, start + i, "a quantizer data page");
		memcpy(p, PageGetContents(page), chunk);
		UnlockReleaseBuffer(buf);
		p += chunk;
		size -= chunk;
	}
	if (size != 0)
		corrupt_page_error(index, start, "more quantizer data pages");
}

/*
 * What is wrong with the pageno'th list page of the index, or NULL: it must
 * hold exactly its share of the metapage's nlist lists, each starting at a
 * block inside the index.
 */
char *
ivfpq_list_page_problem(const IvfpqMetaPageData *meta, Page page, uint32 pageno, BlockNumber nblocks)
{
	uint32		first = pageno * IVFPQ_LISTS_PER_PAGE;
	uint32		expected = Min((uint32) IVFPQ_LISTS_PER_PAGE, IvfpqStoredLists(meta) - first);
	IvfpqListData *items = (IvfpqListData *) PageGetContents(page);
	uint32		count;

	if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_LISTS))
		return pstrdup("not a list page");
	count = IvfpqPageGetOpaque(page)->count;
	if (count != expected ||
		((PageHeader) page)->pd_lower != MAXALIGN(SizeOfPageHeaderData) + sizeof(IvfpqListData) * count)
		return psprintf("the page holds %u lists (pd_lower %u), expected %u",
						count, ((PageHeader) page)->pd_lower, expected);
	for (uint32 i = 0; i < count; i++)
	{
		if (items[i].start < 1 || items[i].start >= nblocks ||
			items[i].insert < 1 || items[i].insert >= nblocks)
			return psprintf("list %u starts at block %u and inserts at block %u, not both inside the index (%u blocks)",
							first + i, items[i].start, items[i].insert, nblocks);
	}
	return NULL;
}

/*
 * The list page holding list, locked in mode after checking it; *slot is
 * the list's place on it.  The caller unlocks and releases the buffer.
 */
Buffer
ivfpq_lock_list_page(Relation index, const IvfpqMetaPageData *meta, uint32 list, int mode, int *slot)
{
	uint32		pageno = list / IVFPQ_LISTS_PER_PAGE;
	BlockNumber blkno = meta->lists_start + pageno;
	Buffer		buf = ReadBuffer(index, blkno);
	char	   *problem;

	*slot = list % IVFPQ_LISTS_PER_PAGE;
	LockBuffer(buf, mode);
	problem = ivfpq_list_page_problem(meta, BufferGetPage(buf), pageno, RelationGetNumberOfBlocks(index));
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has a corrupt list page at block %u",
						RelationGetRelationName(index), blkno),
				 errdetail("In the list page, %s.", problem),
				 errhint("REINDEX the index; vqpq_index_check() lists the damage.")));
	return buf;
}

/* The first entry page of every stored list, from the list pages. */
void
ivfpq_read_list_starts(Relation index, const IvfpqMetaPageData *meta, BlockNumber *starts)
{
	for (uint32 p = 0; p < meta->lists_pages; p++)
	{
		int			slot;
		Buffer		buf = ivfpq_lock_list_page(index, meta, p * IVFPQ_LISTS_PER_PAGE, BUFFER_LOCK_SHARE, &slot);
		IvfpqListData *items = (IvfpqListData *) PageGetContents(BufferGetPage(buf));
		uint32		count = IvfpqPageGetOpaque(BufferGetPage(buf))->count;

		for (uint32 i = 0; i < count; i++)
			starts[p * IVFPQ_LISTS_PER_PAGE + i] = items[i].start;
		UnlockReleaseBuffer(buf);
	}
}

/* ---------------------------------------------------------------- chains */

void
ivfpq_walk_begin(IvfpqChainWalk *walk, Relation index, int list)
{
	walk->index = index;
	walk->list = list;
	walk->nblocks = RelationGetNumberOfBlocks(index);
	walk->steps = 0;
}

/*
 * Check the next page of a list's chain before it is read: a block inside
 * the index, and not more pages than the index has, which only a cycle can
 * give.  The index grows while we walk (inserts extend chains), so its size
 * is looked at again before either counts as damage.
 */
void
ivfpq_walk_step(IvfpqChainWalk *walk, BlockNumber blkno)
{
	walk->steps++;
	if (blkno >= walk->nblocks || walk->steps > walk->nblocks)
		walk->nblocks = RelationGetNumberOfBlocks(walk->index);
	if (blkno < 1 || blkno >= walk->nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has a corrupt chain of pages in list %d",
						RelationGetRelationName(walk->index), walk->list),
				 errdetail("The chain leads to block %u, outside the index (%u blocks).", blkno, walk->nblocks),
				 errhint("REINDEX the index; vqpq_index_check() lists the damage.")));
	if (walk->steps > walk->nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has a corrupt chain of pages in list %d",
						RelationGetRelationName(walk->index), walk->list),
				 errdetail("The chain has more pages than the index (%u blocks): it loops.", walk->nblocks),
				 errhint("REINDEX the index; vqpq_index_check() lists the damage.")));
}

/*
 * A list page of the index, pinned: through the buffer it was last found in
 * when that still holds it (ReadRecentBuffer checks the buffer's tag under
 * its header lock), else through ReadBuffer, remembering where.  A scan
 * reads hundreds of list pages a query, and at millions of rows the shared
 * buffer mapping table's lookups were a tenth of its time.  Counted in the
 * index's statistics as ReadBuffer would count them.  *recent says which
 * way it came.
 */
Buffer
ivfpq_read_list_page(Relation index, IvfpqQuantizer *q, BlockNumber blkno, bool *recent)
{
	Buffer		buf;

	*recent = false;
	if (q->recent_buffers == NULL || blkno >= q->recent_blocks)
		return ReadBuffer(index, blkno);
	buf = q->recent_buffers[blkno];
#if PG_VERSION_NUM >= 160000
	if (BufferIsValid(buf) && ReadRecentBuffer(index->rd_locator, MAIN_FORKNUM, blkno, buf))
#else
	if (BufferIsValid(buf) && ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, buf))
#endif
	{
		pgstat_count_buffer_read(index);
		pgstat_count_buffer_hit(index);
		*recent = true;
		return buf;
	}
	buf = ReadBuffer(index, blkno);
	q->recent_buffers[blkno] = buf;
	return buf;
}

/*
 * Walk every stored list's chain: entries[list] gets the entries of each,
 * and the return value is the rows inserted since the build (all lists).
 */
int64
ivfpq_count_entries(Relation index, const IvfpqMetaPageData *meta, int64 *entries)
{
	BlockNumber *starts = palloc(sizeof(BlockNumber) * IvfpqStoredLists(meta));
	IvfpqEntryLayout layout;
	int64		inserted = 0;

	ivfpq_entry_layout(meta, &layout);
	ivfpq_read_list_starts(index, meta, starts);
	for (uint32 list = 0; list < IvfpqStoredLists(meta); list++)
	{
		BlockNumber blkno = starts[list];
		IvfpqChainWalk walk;

		entries[list] = 0;
		ivfpq_walk_begin(&walk, index, list);
		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf;
			Page		page;

			ivfpq_walk_step(&walk, blkno);
			buf = ReadBuffer(index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			entries[list] += ivfpq_entry_page_rows(index, &layout, page, blkno);
			inserted += IvfpqPageGetOpaque(page)->inserts;
			blkno = IvfpqPageGetOpaque(page)->next;
			UnlockReleaseBuffer(buf);
			CHECK_FOR_INTERRUPTS();
		}
	}
	pfree(starts);
	return inserted;
}
