/*
 * ivfpq_build.c
 *		CREATE INDEX for ivfpq: the entry points, and the steps in order
 *		(each in a file of its own, see ivfpq_build.h):
 *
 *	1. plan			nlist, m, nbits, the sample size, within maintenance_work_mem
 *	2. sample		block sampling with a reservoir, as ANALYZE does
 *	3. train		k-means on the sample: nlist centroids; then k-means per
 *					sub-space on the sample's residuals
 *	4. write		the metapage's block and the quantizer's pages
 *	5. encode		a full heap scan; rows are assigned and encoded a batch
 *					at a time and sorted by (list, tid), in parallel if it can
 *	6. write		the list pages, each list's chain of entry pages, and the
 *					metapage
 *	7. calibrate	the recall each nprobe and rerank reaches on rows of the
 *					table, whose true neighbours step 5 found; then every page
 *					is WAL-logged
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "catalog/index.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ivfpq_build.h"
#include "ivfpq_calibration.h"
#include "ivfpq_filter.h"

/* DEBUG1 line per finished phase, for seeing where a build spends its time */
static void
phase_done(const char *phase, TimestampTz *since)
{
	TimestampTz now = GetCurrentTimestamp();

	elog(DEBUG1, "ivfpq build: %s took %.3f s", phase,
		 (double) (now - *since) / USECS_PER_SEC);
	*since = now;
}

static void
build(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	IvfpqMetaPageData *meta = &q->meta;
	TimestampTz clock = GetCurrentTimestamp();

	/* the vector first, then filter columns: checked before anything is read */
	ivfpq_filter_layout(bs->index, meta);
	bs->metric = ivfpq_index_metric(bs->index);
	bs->element = ivfpq_index_element(bs->index);
	bs->dims = ivfpq_index_dims(bs->index);
	bs->vector = palloc(sizeof(float) * bs->dims);
	bs->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "ivfpq build batch", ALLOCSET_DEFAULT_SIZES);

	if (bs->heap)
	{
		ivfpq_plan_build(bs);
		ivfpq_sample_rows(bs);
		phase_done("sampling", &clock);
		/* the table had rows enough, but memory did not: say so */
		if (bs->sample_limited_by_memory && bs->rows_seen > bs->nsamples &&
			bs->nsamples < bs->minimum_samples)
			ivfpq_build_memory_error(bs);
	}
	else
	{
		ivfpq_choose_code(bs->dims, meta->filter_size, ivfpq_build_option(bs->index, offsetof(IvfpqOptions, m)),
						  ivfpq_build_option(bs->index, offsetof(IvfpqOptions, nbits)), &bs->m, &bs->nbits);
	}

	if (bs->nsamples == 0)
	{
		/* nothing to learn from: one list, no quantizer, exact scans */
		bs->nlist = 1;
		if (bs->heap)
			ereport(NOTICE,
					(errmsg("ivfpq index created on a table without rows"),
					 errdetail("With nothing to learn from, the index has no quantizer: it returns correct results, "
							   "but every scan reads all indexed rows from the table."),
					 errhint("REINDEX the index once the table has data.")));
	}
	else if (bs->nsamples < bs->nlist || bs->nsamples < (1 << bs->nbits))
		ereport(NOTICE,
				(errmsg("ivfpq index created with little data"),
				 errdetail("The quantizers were trained on %d rows, fewer than nlist (%d) or the %d sub-centroids of each sub-quantizer.",
						   bs->nsamples, bs->nlist, 1 << bs->nbits),
				 errhint("For good recall, create the index after loading the table, or REINDEX it later.")));

	meta->magic = IVFPQ_MAGIC;
	meta->version = IVFPQ_FORMAT_VERSION;
	meta->dims = bs->dims;
	meta->metric = bs->metric;
	meta->nlist = bs->nlist;
	meta->m = bs->m;
	meta->nbits = bs->nbits;
	meta->code_size = bs->nbits == 8 ? bs->m : (bs->m + 1) / 2;
	meta->entry_size = IVFPQ_ENTRY_TID_SIZE + meta->code_size + meta->filter_size;
	meta->trained = bs->nsamples > 0;
	meta->build_id = ((uint64) random() << 32) ^ (uint64) random() ^ (uint64) GetCurrentTimestamp();
	meta->centroids_start = meta->codebook_start = InvalidBlockNumber;
	meta->sample_rows = bs->nsamples;

	vqpq_pq_init(&q->pq, bs->dims, bs->m, bs->nbits,
				 MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_arrays_size(bs->dims, bs->m, bs->nbits)));
	if (meta->trained)
	{
		/* queries for the calibration, from the sample before it is trained on */
		bs->calib = ivfpq_calib_from_sample(bs->metric, bs->dims, bs->samples, bs->sample_tids, bs->nsamples);
		ivfpq_train(bs);
		phase_done("training", &clock);
	}

	ivfpq_write_quantizer(bs);
	ivfpq_encode_rows(bs);
	phase_done("assigning and encoding", &clock);
	meta->built_rows = (uint64) bs->index_tuples;
	ivfpq_write_lists(bs);
	tuplesort_end(bs->sort);
	if (bs->pcxt)
		ivfpq_end_parallel(bs);
	if (bs->calib)
	{
		ivfpq_calib_measure(bs->calib, bs->index, meta);
		ivfpq_write_meta(bs);
		phase_done("calibrating", &clock);
	}

	if (bs->forknum == INIT_FORKNUM || RelationNeedsWAL(bs->index))
		log_newpage_range(bs->index, bs->forknum, 0,
						  RelationGetNumberOfBlocksInFork(bs->index, bs->forknum), true);
}

IndexBuildResult *
ivfpq_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IvfpqBuildState bs;
	IndexBuildResult *result;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	bs.indexInfo = indexInfo;
	bs.forknum = MAIN_FORKNUM;
	build(&bs);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.heap_tuples;
	result->index_tuples = bs.index_tuples;
	return result;
}

/* The init fork of an unlogged index: an empty index without a quantizer. */
void
ivfpq_buildempty(Relation index)
{
	IvfpqBuildState bs;

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.indexInfo = BuildIndexInfo(index);
	bs.forknum = INIT_FORKNUM;
	build(&bs);
}
