/*
 * ivfpq_pages.c
 *		Page-level helpers: new pages, page checks, the metapage, and "blobs"
 *		(float arrays spread over consecutive pages).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "ivfpq.h"

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

void
ivfpq_read_meta(Relation index, IvfpqMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, IVFPQ_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_META))
		corrupt_page_error(index, IVFPQ_METAPAGE_BLKNO, "the metapage");
	memcpy(meta, PageGetContents(page), sizeof(IvfpqMetaPageData));
	UnlockReleaseBuffer(buf);

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
	/* everything that sizes a read of the pages must hold together */
	if (meta->nlist < 1 || meta->nlist > IVFPQ_MAX_NLIST || meta->dims < 1 ||
		meta->m < 1 || meta->m > IVFPQ_MAX_M || (meta->nbits != 4 && meta->nbits != 8) ||
		meta->code_size != (meta->nbits == 8 ? meta->m : (meta->m + 1) / 2) ||
		meta->entry_size != IVFPQ_ENTRY_TID_SIZE + meta->code_size ||
		meta->entry_size > IVFPQ_PAGE_CAPACITY)
		corrupt_page_error(index, IVFPQ_METAPAGE_BLKNO, "index parameters that fit together");
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

void
ivfpq_list_location(BlockNumber lists_start, int list, BlockNumber *blkno, int *index)
{
	*blkno = lists_start + list / IVFPQ_LISTS_PER_PAGE;
	*index = list % IVFPQ_LISTS_PER_PAGE;
}

/* The first entry page of every list (nlist of them), from the list pages. */
void
ivfpq_read_list_starts(Relation index, const IvfpqMetaPageData *meta, BlockNumber *starts)
{
	for (uint32 p = 0; p < meta->lists_pages; p++)
	{
		BlockNumber blkno = meta->lists_start + p;
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		uint32		first = p * IVFPQ_LISTS_PER_PAGE;
		uint32		count;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_LISTS))
			corrupt_page_error(index, blkno, "a list page");
		count = Min((uint32) IvfpqPageGetOpaque(page)->count, meta->nlist - first);
		for (uint32 i = 0; i < count; i++)
			starts[first + i] = ((IvfpqListData *) PageGetContents(page))[i].start;
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Walk every list's chain: entries[list] gets the entries of each list, and
 * the return value is the rows inserted since the build (all lists).
 */
int64
ivfpq_count_entries(Relation index, const IvfpqMetaPageData *meta, int64 *entries)
{
	BlockNumber *starts = palloc(sizeof(BlockNumber) * meta->nlist);
	int64		inserted = 0;

	ivfpq_read_list_starts(index, meta, starts);
	for (uint32 list = 0; list < meta->nlist; list++)
	{
		BlockNumber blkno = starts[list];

		entries[list] = 0;
		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf = ReadBuffer(index, blkno);
			IvfpqPageOpaque opaque;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			opaque = IvfpqPageGetOpaque(BufferGetPage(buf));
			entries[list] += opaque->count;
			inserted += opaque->inserts;
			blkno = opaque->next;
			UnlockReleaseBuffer(buf);
			CHECK_FOR_INTERRUPTS();
		}
	}
	pfree(starts);
	return inserted;
}
