/*
 * ivfpq_entries.c
 *		Where an entry page keeps its rows: row-major entries, or fast-scan
 *		blocks of 32 rows for 4-bit codes (see ivfpq.h and fastscan.h).
 *		Build, insert, VACUUM, scans and the checker all go through here to
 *		find a row's TID and code on a page; the scan chooses its scoring
 *		kernel by the layout, and takes the codes in bulk from here.
 *
 * A page's contents end at pd_lower: the used entries, or the used blocks
 * (a partly used last block included, its unused rows all zeros).  A row's
 * filter values (ivfpq_filter.c) follow its code in a row-major entry, and
 * the block's codes in a block.
 */
#include "postgres.h"

#include "utils/rel.h"

#include "fastscan.h"
#include "ivfpq.h"

#define BLOCK_TIDS_SIZE		(VQPQ_FS_ROWS * IVFPQ_ENTRY_TID_SIZE)

/*
 * Format 1 wrote 4-bit codes row-major where later formats write blocks;
 * its 8-bit indexes are laid out exactly as theirs.  Format 2 differs from
 * 3 only in where cosine's rows without direction are, and 3 from 4 only
 * in having no filter columns (ivfpq.h).
 */
bool
ivfpq_format_is_supported(const IvfpqMetaPageData *meta)
{
	return meta->version == IVFPQ_FORMAT_VERSION || meta->version == 3 || meta->version == 2 ||
		(meta->version == 1 && meta->nbits == 8);
}

/* Bytes of a block of 32 rows with m 4-bit sub-quantizers. */
Size
ivfpq_block_size(int m, int filter_size)
{
	return BLOCK_TIDS_SIZE + VQPQ_FS_CODES_SIZE(m) + (Size) VQPQ_FS_ROWS * filter_size;
}

void
ivfpq_entry_layout(const IvfpqMetaPageData *meta, IvfpqEntryLayout *layout)
{
	Size		block_size = ivfpq_block_size(meta->m, meta->filter_size);

	layout->m = meta->m;
	layout->code_size = meta->code_size;
	layout->filter_size = meta->filter_size;
	layout->stored_size = meta->code_size + meta->filter_size;
	layout->entry_size = meta->entry_size;
	layout->block_size = (int) block_size;
	/* very long 4-bit codes, whose block would not fit a page, stay row-major */
	layout->blocked = meta->nbits == 4 && meta->version >= 2 && block_size <= IVFPQ_PAGE_CAPACITY;
	if (layout->blocked)
		layout->per_page = (int) (IVFPQ_PAGE_CAPACITY / block_size) * VQPQ_FS_ROWS;
	else
		layout->per_page = (int) (IVFPQ_PAGE_CAPACITY / meta->entry_size);
}

/* Bytes below pd_lower (after the page header) that count rows take up. */
Size
ivfpq_entries_size(const IvfpqEntryLayout *layout, int count)
{
	if (layout->blocked)
		return (Size) ((count + VQPQ_FS_ROWS - 1) / VQPQ_FS_ROWS) * layout->block_size;
	return (Size) count * layout->entry_size;
}

/*
 * What is wrong with an entry page, or NULL: its type, and a row count that
 * fits the page and matches pd_lower, checked before the count sizes any
 * read of the page.
 */
char *
ivfpq_entry_page_problem(const IvfpqEntryLayout *layout, Page page)
{
	int			count;

	if (!ivfpq_page_is_valid(page, IVFPQ_PAGE_ENTRIES))
		return pstrdup("not an entry page");
	count = IvfpqPageGetOpaque(page)->count;
	if (count > layout->per_page)
		return psprintf("page claims %d entries, at most %d fit", count, layout->per_page);
	if (((PageHeader) page)->pd_lower != MAXALIGN(SizeOfPageHeaderData) + ivfpq_entries_size(layout, count))
		return psprintf("pd_lower %u does not match %d entries", ((PageHeader) page)->pd_lower, count);
	return NULL;
}

/* The rows of a locked entry page, after checking the page. */
int
ivfpq_entry_page_rows(Relation index, const IvfpqEntryLayout *layout, Page page, BlockNumber blkno)
{
	char	   *problem = ivfpq_entry_page_problem(layout, page);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" has a corrupt entry page at block %u",
						RelationGetRelationName(index), blkno),
				 errdetail("The %s.", problem),
				 errhint("REINDEX the index; vqpq_index_check() lists the damage.")));
	return IvfpqPageGetOpaque(page)->count;
}

/* The codes of block b of a blocked page, in fastscan.h's layout. */
const uint8 *
ivfpq_block_codes(const IvfpqEntryLayout *layout, Page page, int block)
{
	Assert(layout->blocked);
	return (const uint8 *) PageGetContents(page) + (Size) block * layout->block_size + BLOCK_TIDS_SIZE;
}

/* The first row-major entry's code; the next is entry_size bytes on. */
const uint8 *
ivfpq_rowmajor_codes(const IvfpqEntryLayout *layout, Page page)
{
	Assert(!layout->blocked);
	return (const uint8 *) PageGetContents(page) + IVFPQ_ENTRY_TID_SIZE;
}

/* The TIDs of the page's first count rows, into tids. */
void
ivfpq_entries_tids(const IvfpqEntryLayout *layout, Page page, int count, ItemPointerData *tids)
{
	if (layout->blocked)
	{
		/* a block's TIDs are contiguous */
		for (int first = 0; first < count; first += VQPQ_FS_ROWS)
			memcpy(&tids[first], (const char *) PageGetContents(page) + (Size) (first / VQPQ_FS_ROWS) * layout->block_size,
				   IVFPQ_ENTRY_TID_SIZE * Min(VQPQ_FS_ROWS, count - first));
	}
	else
	{
		for (int i = 0; i < count; i++)
			ivfpq_entry_tid(layout, page, i, &tids[i]);
	}
}

static char *
tid_location(const IvfpqEntryLayout *layout, Page page, int i)
{
	char	   *contents = PageGetContents(page);

	if (layout->blocked)
		return contents + (Size) (i / VQPQ_FS_ROWS) * layout->block_size +
			(Size) (i % VQPQ_FS_ROWS) * IVFPQ_ENTRY_TID_SIZE;
	return contents + (Size) i * layout->entry_size;
}

static uint8 *
block_codes(const IvfpqEntryLayout *layout, Page page, int i)
{
	return (uint8 *) PageGetContents(page) + (Size) (i / VQPQ_FS_ROWS) * layout->block_size + BLOCK_TIDS_SIZE;
}

/* Where row i's filter values are. */
static uint8 *
filter_location(const IvfpqEntryLayout *layout, Page page, int i)
{
	if (layout->blocked)
		return block_codes(layout, page, i) + VQPQ_FS_CODES_SIZE(layout->m) +
			(Size) (i % VQPQ_FS_ROWS) * layout->filter_size;
	return (uint8 *) tid_location(layout, page, i) + IVFPQ_ENTRY_TID_SIZE + layout->code_size;
}

void
ivfpq_entry_tid(const IvfpqEntryLayout *layout, Page page, int i, ItemPointer tid)
{
	memcpy(tid, tid_location(layout, page, i), IVFPQ_ENTRY_TID_SIZE);
}

/* Row i's stored code: its code, then its filter values (stored_size bytes). */
void
ivfpq_entry_code(const IvfpqEntryLayout *layout, Page page, int i, uint8 *code)
{
	if (layout->blocked)
		vqpq_fs_get_code(block_codes(layout, page, i), layout->m, i % VQPQ_FS_ROWS, code);
	else
		memcpy(code, tid_location(layout, page, i) + IVFPQ_ENTRY_TID_SIZE, layout->code_size);
	memcpy(code + layout->code_size, filter_location(layout, page, i), layout->filter_size);
}

/* Row i's filter values, filter_size bytes (read in place, unaligned). */
const uint8 *
ivfpq_entry_filter(const IvfpqEntryLayout *layout, Page page, int i)
{
	return filter_location(layout, page, i);
}

static void
set_entry(const IvfpqEntryLayout *layout, Page page, int i, const void *tid, const uint8 *code)
{
	memcpy(tid_location(layout, page, i), tid, IVFPQ_ENTRY_TID_SIZE);
	if (layout->blocked)
		vqpq_fs_put_code(block_codes(layout, page, i), layout->m, i % VQPQ_FS_ROWS, code);
	else
		memcpy(tid_location(layout, page, i) + IVFPQ_ENTRY_TID_SIZE, code, layout->code_size);
	memcpy(filter_location(layout, page, i), code + layout->code_size, layout->filter_size);
}

static void
set_count(const IvfpqEntryLayout *layout, Page page, int count)
{
	IvfpqPageGetOpaque(page)->count = (uint16) count;
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + ivfpq_entries_size(layout, count);
}

/*
 * Add a row after the page's last, with its stored code (code, then filter
 * values); the caller checked that it has room.
 */
void
ivfpq_entry_append(const IvfpqEntryLayout *layout, Page page, ItemPointer tid, const uint8 *code)
{
	int			i = IvfpqPageGetOpaque(page)->count;

	Assert(i < layout->per_page);
	/* a new block starts from zeros (the hole should be zero; make sure) */
	if (layout->blocked && i % VQPQ_FS_ROWS == 0)
		memset(tid_location(layout, page, i), 0, layout->block_size);
	set_entry(layout, page, i, tid, code);
	set_count(layout, page, i + 1);
}

/*
 * Copy row `from` onto row `to` (to < from: VACUUM compacting a page), through
 * code_scratch of stored_size bytes.
 */
void
ivfpq_entry_move(const IvfpqEntryLayout *layout, Page page, int from, int to, uint8 *code_scratch)
{
	ItemPointerData tid;

	ivfpq_entry_tid(layout, page, from, &tid);
	ivfpq_entry_code(layout, page, from, code_scratch);
	set_entry(layout, page, to, &tid, code_scratch);
}

/* Keep the first count rows, zeroing everything after them. */
void
ivfpq_entries_truncate(const IvfpqEntryLayout *layout, Page page, int count)
{
	int			old = IvfpqPageGetOpaque(page)->count;
	char	   *contents = PageGetContents(page);

	Assert(count <= old);
	if (layout->blocked)
	{
		int			block_end = Min(old, (count + VQPQ_FS_ROWS - 1) / VQPQ_FS_ROWS * VQPQ_FS_ROWS);
		uint8	   *zero_code = palloc0(layout->stored_size);
		ItemPointerData zero_tid;

		/* the rest of count's last block, row by row */
		memset(&zero_tid, 0, sizeof(zero_tid));
		for (int i = count; i < block_end; i++)
			set_entry(layout, page, i, &zero_tid, zero_code);
		pfree(zero_code);
	}
	memset(contents + ivfpq_entries_size(layout, count), 0,
		   ivfpq_entries_size(layout, old) - ivfpq_entries_size(layout, count));
	set_count(layout, page, count);
}
