/*
 * ivfpq_build_plan.c
 *		Planning a build: the code (m, nbits), nlist, the sample size, and
 *		the memory training and encoding take, within maintenance_work_mem.
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "fastscan.h"
#include "ivfpq_build.h"
#include "kmeans.h"

/*
 * The 8-bit default m: sub-spaces of 4 dimensions up to 128 dimensions
 * (low-dimensional data needs the finer codes), then at least 32
 * sub-quantizers and 8 dimensions each: 98 bytes per row for 784
 * dimensions, 192 for 1536.
 */
static int
default_m_8bit(int dims)
{
	int			m = dims <= 128 ? (dims + 3) / 4 : Max(32, (dims + 7) / 8);

	return Min(m, IVFPQ_MAX_M);
}

/*
 * The code an index gets when its options leave m or nbits out.  4-bit
 * codes scored by fast-scan are the default wherever their blocks fit on a
 * page: twice the 8-bit default's sub-quantizers (the same bytes per row),
 * then as many more as fit in the space those blocks would leave unused on
 * each page anyway, which buys finer codes at no cost in size (784
 * dimensions: 242 sub-quantizers, 2 blocks of 32 rows per page).  Wider
 * vectors, whose 4-bit blocks would not fit, get 8-bit codes.  Filter
 * columns' values (filter_size bytes a row) take room from the codes: as
 * many blocks per page as without them, with fewer sub-quantizers, unless
 * that would leave fewer than half; then fewer blocks.
 */
void
ivfpq_choose_code(int dims, int filter_size, int m_option, int nbits_option, int *m, int *nbits)
{
	int			m4 = Min(2 * default_m_8bit(dims), dims);

	if (nbits_option != 0)
		*nbits = nbits_option;
	else if (m_option != 0)
		*nbits = ivfpq_block_size(m_option, filter_size) <= IVFPQ_PAGE_CAPACITY ? 4 : 8;
	else
		*nbits = ivfpq_block_size(m4, filter_size) <= IVFPQ_PAGE_CAPACITY ? 4 : 8;

	if (m_option != 0)
		*m = m_option;
	else if (*nbits == 8)
		*m = default_m_8bit(dims);
	else if (ivfpq_block_size(m4, filter_size) <= IVFPQ_PAGE_CAPACITY)
	{
		Size		row_bytes = IVFPQ_ENTRY_TID_SIZE + filter_size;
		Size		per_page = IVFPQ_PAGE_CAPACITY / ivfpq_block_size(m4, 0);
		Size		block_room = IVFPQ_PAGE_CAPACITY / per_page;
		int			fill = block_room > VQPQ_FS_ROWS * row_bytes
			? (int) ((block_room - VQPQ_FS_ROWS * row_bytes) / 16) & ~1 : 0;

		if (fill < m4 / 2)
		{
			per_page = IVFPQ_PAGE_CAPACITY / ivfpq_block_size(m4, filter_size);
			block_room = IVFPQ_PAGE_CAPACITY / per_page;
			fill = Max(m4, (int) ((block_room - VQPQ_FS_ROWS * row_bytes) / 16) & ~1);
		}
		*m = Min(Max(fill, 1), dims);
	}
	else
		*m = m4;
	*m = Min(*m, IVFPQ_MAX_M);
}

/* An index option, or 0 (automatic) when not set. */
int
ivfpq_build_option(Relation index, int field_offset)
{
	IvfpqOptions *opts = (IvfpqOptions *) index->rd_options;

	return opts ? *(int *) ((char *) opts + field_offset) : 0;
}

/*
 * Rows in a heap that was never vacuumed or analyzed (reltuples unknown),
 * where the planner's estimate guesses each row's width from its columns'
 * types and takes a vector for 32 bytes: a table of vectors kept in the
 * row (as PLAIN storage does) would be thought to hold many times its rows,
 * and get many times the lists.  Count the line pointers of up to
 * ROW_COUNT_PAGES pages spread over the table instead.
 */
#define ROW_COUNT_PAGES 100

static double
sampled_heap_rows(Relation heap)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	BlockNumber npages = Min(nblocks, ROW_COUNT_PAGES);
	double		rows = 0;

	if (npages == 0)
		return 0;
	for (BlockNumber i = 0; i < npages; i++)
	{
		BlockNumber blkno = (BlockNumber) (((double) i + 0.5) * nblocks / npages);
		Buffer		buf = ReadBufferExtended(heap, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
		{
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

			for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
				if (ItemIdIsNormal(PageGetItemId(page, off)))
					rows++;
		}
		UnlockReleaseBuffer(buf);
		CHECK_FOR_INTERRUPTS();
	}
	return rows * nblocks / npages;
}

/*
 * Choose nlist, m and the sample size, and check that training fits in
 * maintenance_work_mem (shrinking the sample if it must).
 */
void
ivfpq_plan_build(IvfpqBuildState *bs)
{
	BlockNumber pages;
	double		tuples;
	double		allvisfrac;
	int			ksub;
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		fixed;
	Size		per_row;
	int			max_dsub;

	ivfpq_choose_code(bs->dims, bs->quantizer.meta.filter_size, ivfpq_build_option(bs->index, offsetof(IvfpqOptions, m)),
					  ivfpq_build_option(bs->index, offsetof(IvfpqOptions, nbits)), &bs->m, &bs->nbits);
	ksub = 1 << bs->nbits;

	/* nlist: as asked, or about sqrt(rows) */
	estimate_rel_size(bs->heap, NULL, &pages, &tuples, &allvisfrac);
	if (bs->heap->rd_rel->reltuples < 0 && bs->heap->rd_tableam == GetHeapamTableAmRoutine())
		tuples = sampled_heap_rows(bs->heap);
	bs->nlist = ivfpq_build_option(bs->index, offsetof(IvfpqOptions, nlist));
	if (bs->nlist == 0)
		bs->nlist = (int) Min(Max(rint(sqrt(Max(tuples, 0.0))), 1.0), (double) IVFPQ_MAX_NLIST);

	if (bs->m > bs->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ivfpq option m = %d is larger than the %d dimensions of the column", bs->m, bs->dims),
				 errhint("Each sub-quantizer needs at least one dimension: choose m <= %d.", bs->dims)));
	if (sizeof(ItemPointerData) + (Size) (bs->nbits == 8 ? bs->m : (bs->m + 1) / 2) > IVFPQ_PAGE_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ivfpq codes of %d sub-quantizers do not fit on a page", bs->m)));

	/* sample: enough for the coarse lists and the sub-centroids */
	bs->target = (int) Min((double) MAX_SAMPLES,
						   Max((double) MIN_SAMPLES, (double) SAMPLES_PER_LIST * bs->nlist));
	bs->target = (int) Min((double) bs->target, Max(tuples * 1.1 + 100, 1000.0));

	/*
	 * Memory while training: the quantizer and k-means state, plus per
	 * sample row its vector and k-means bookkeeping.  (Encoding comes after
	 * the sample is freed and needs far less.)  Take as many rows as fit.
	 */
	max_dsub = (bs->dims + bs->m - 1) / bs->m;
	fixed = add_size(mul_size(mul_size((Size) bs->nlist, bs->dims), 2 * sizeof(float)),
					 vqpq_pq_arrays_size(bs->dims, bs->m, bs->nbits));
	fixed = add_size(fixed, vqpq_kmeans_workspace_size(0, bs->dims, bs->nlist));
	fixed = add_size(fixed, vqpq_kmeans_workspace_size(0, max_dsub, ksub));
	per_row = sizeof(float) * ((Size) bs->dims + max_dsub) + 2 * sizeof(float) + 2 * sizeof(int32) +
		sizeof(ItemPointerData);
	bs->minimum_samples = Max(bs->nlist, ksub);
	bs->memory_required = add_size(fixed, mul_size(bs->minimum_samples, per_row));

	if (add_size(fixed, mul_size(bs->target, per_row)) > budget)
	{
		Size		fits = fixed < budget ? (budget - fixed) / per_row : 0;

		if (fits == 0)
			ivfpq_build_memory_error(bs);
		bs->target = (int) Min(fits, (Size) bs->target);
		bs->sample_limited_by_memory = true;
		elog(DEBUG1, "ivfpq build: sample limited to %d rows by maintenance_work_mem", bs->target);
	}
	bs->training_memory = add_size(fixed, mul_size(bs->target, per_row));
}

void
ivfpq_build_memory_error(IvfpqBuildState *bs)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
					(bs->memory_required + 1048575) / 1048576, maintenance_work_mem / 1024),
			 errdetail("Training %d lists and %d sub-centroids on %d dimensions needs at least %d sample rows.",
					   bs->nlist, 1 << bs->nbits, bs->dims, bs->minimum_samples),
			 errhint("Increase maintenance_work_mem, or choose a smaller nlist.")));
}

/*
 * Memory one participant in the encoding needs besides its sort: its copy
 * of the quantizer (centroids, row-major and transposed, and codebooks)
 * and a batch of rows with its scratch.
 */
Size
ivfpq_encoder_memory(int nlist, int dims, int m, int nbits)
{
	Size		centroids = add_size(mul_size(mul_size((Size) nlist, dims), 2 * sizeof(float)),
									 mul_size(nlist, sizeof(float)));
	Size		batch = mul_size(VQPQ_ASSIGN_BLOCK, add_size(mul_size(dims, sizeof(float)),
														   sizeof(ItemPointerData) + sizeof(int32) + m));
	Size		scratch = mul_size(mul_size(VQPQ_ASSIGN_BLOCK, Max(nlist, 1 << nbits)), sizeof(float));

	return add_size(add_size(centroids, vqpq_pq_arrays_size(dims, m, nbits)), add_size(batch, scratch));
}

