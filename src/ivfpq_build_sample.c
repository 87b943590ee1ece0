/*
 * ivfpq_build_sample.c
 *		The training sample: block sampling with a reservoir, as ANALYZE
 *		does, seeded so that the same table always trains the same
 *		quantizer (a rebuild, or a parallel build, gives the same index).
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/rel.h"

#include "ivfpq_build.h"

static void
sample_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *state)
{
	IvfpqBuildState *bs = state;
	int			slot;

	if (isnull[0])
		return;
	/* a zero vector has no direction to learn under cosine */
	if (!ivfpq_prepare_vector(bs->metric, bs->element, bs->dims, values[0], bs->vector))
		return;

	/* reservoir sampling (Vitter's algorithm Z, as ANALYZE) */
	if (bs->nsamples < bs->target)
		slot = bs->nsamples++;
	else
	{
		slot = -1;
		if (bs->rows_to_skip < 0)
			bs->rows_to_skip = reservoir_get_next_S(&bs->rstate, bs->rows_seen, bs->target);
		if (bs->rows_to_skip <= 0)
			slot = (int) (bs->target * sampler_random_fract(&bs->rstate.randstate));
		bs->rows_to_skip -= 1;
	}
	if (slot >= 0)
	{
		memcpy(bs->samples + (Size) slot * bs->dims, bs->vector, sizeof(float) * bs->dims);
		bs->sample_tids[slot] = *tid;
	}
	bs->rows_seen += 1;
}

void
ivfpq_sample_rows(IvfpqBuildState *bs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(bs->heap);
	BlockSamplerData sampler;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_SAMPLE);
	bs->samples = MemoryContextAllocHuge(CurrentMemoryContext,
										 mul_size(mul_size((Size) bs->target, bs->dims), sizeof(float)));
	bs->sample_tids = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(bs->target, sizeof(ItemPointerData)));
	bs->rows_to_skip = -1;
	BlockSampler_Init(&sampler, nblocks, bs->target, KMEANS_SEED);
	reservoir_init_selection_state(&bs->rstate, bs->target);
	/*
	 * Seed the reservoir too (and redo the first step that drew from the
	 * global seed), so the same table always trains the same quantizer: a
	 * rebuild, or a parallel build, gives the same index.
	 */
#if PG_VERSION_NUM >= 150000
	sampler_random_init_state(KMEANS_SEED, &bs->rstate.randstate);
#else
	sampler_random_init_state(KMEANS_SEED, bs->rstate.randstate);
#endif
	bs->rstate.W = exp(-log(sampler_random_fract(&bs->rstate.randstate)) / bs->target);
	while (BlockSampler_HasMore(&sampler))
	{
		BlockNumber blkno = BlockSampler_Next(&sampler);

		table_index_build_range_scan(bs->heap, bs->index, bs->indexInfo, false, true, false,
									 blkno, 1, sample_callback, bs, NULL);
		CHECK_FOR_INTERRUPTS();
	}
}
