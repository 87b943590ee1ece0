/*
 * ivfpq_build_parallel.c
 *		Encoding shared with parallel workers.
 *
 * Workers (and the leader) each scan part of the table through a parallel
 * heap scan, assign and encode their rows, and sort them into their own run
 * of a shared tuplesort; the leader merges the runs and writes the pages.
 * Each reads the quantizer the leader trained from the index's own pages,
 * which the leader wrote before encoding, so the dynamic shared memory
 * segment holds only the coordination state, the sort's (a few kB,
 * whatever nlist and the dimensions) and the calibration's queries and
 * their nearest rows (under 1 MB): no quantizer-sized segment to be
 * refused.  Every participant's copy of the quantizer and its sort count
 * against maintenance_work_mem; when it cannot hold a copy per worker,
 * fewer workers are used, or none, and a NOTICE says so.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ivfpq_build.h"
#include "ivfpq_calibration.h"
#include "ivfpq_filter.h"
#include "kmeans.h"

#define PARALLEL_KEY_SHARED		UINT64CONST(0xA7F0000000000001)
#define PARALLEL_KEY_SORT		UINT64CONST(0xA7F0000000000002)
#define PARALLEL_KEY_CALIB		UINT64CONST(0xA7F0000000000003)

typedef struct IvfpqShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			scantuplesortstates;
	int			sort_kb;		/* each participant's sort memory */
	int			metric;
	int			dims;
	int			nlist;
	int			m;
	int			nbits;
	/* where the leader wrote the quantizer */
	BlockNumber centroids_start;
	uint32		centroids_pages;
	BlockNumber codebook_start;
	uint32		codebook_pages;
	/* the calibration's queries, and a slot per participant (0: the leader) */
	int			calib_queries;

	ConditionVariable workersdonecv;
	slock_t		mutex;
	int			nparticipantsdone;
	double		heap_tuples;
	double		index_tuples;
	/* a ParallelTableScanDescData follows, at BUFFERALIGN(sizeof(IvfpqShared)) */
} IvfpqShared;

#define ParallelTableScanFromIvfpqShared(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(IvfpqShared))))

PGDLLEXPORT void ivfpq_parallel_build_main(dsm_segment *seg, shm_toc *toc);

/* One participant's share: scan, encode, sort its run, report. */
static void
participate(IvfpqBuildState *bs, IvfpqShared *shared, Sharedsort *sharedsort, char *calib,
			int participant, bool progress)
{
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));
	TableScanDesc scan;

	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	ivfpq_begin_sort(bs, shared->sort_kb, coordinate);
	ivfpq_begin_batches(bs);

	scan = table_beginscan_parallel(bs->heap, ParallelTableScanFromIvfpqShared(shared));
	table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, progress,
						   ivfpq_encode_callback, bs, scan);
	if (bs->batch_n > 0)
		ivfpq_flush_batch(bs);
	tuplesort_performsort(bs->sort);
	if (bs->calib)
		ivfpq_calib_publish(bs->calib, calib, participant);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->heap_tuples += bs->heap_tuples;
	shared->index_tuples += bs->index_tuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->workersdonecv);
	tuplesort_end(bs->sort);
	bs->sort = NULL;
}

void
ivfpq_end_parallel(IvfpqBuildState *bs)
{
	WaitForParallelWorkersToFinish(bs->pcxt);
	if (IsMVCCSnapshot(bs->snapshot))
		UnregisterSnapshot(bs->snapshot);
	DestroyParallelContext(bs->pcxt);
	ExitParallelMode();
	bs->pcxt = NULL;
}

/* Set up shared memory and launch workers; false if none could start. */
static bool
begin_parallel(IvfpqBuildState *bs, int request, int sort_kb)
{
	IvfpqMetaPageData *meta = &bs->quantizer.meta;
	ParallelContext *pcxt;
	Size		est_shared;
	Size		est_sort;
	Size		est_calib = 0;
	IvfpqShared *shared;
	Sharedsort *sharedsort;
	int			scantuplesortstates = request + 1;	/* the leader takes part */

	EnterParallelMode();
	pcxt = CreateParallelContext("vqpq", "ivfpq_parallel_build_main", request);
	bs->snapshot = bs->indexInfo->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	est_shared = add_size(BUFFERALIGN(sizeof(IvfpqShared)), table_parallelscan_estimate(bs->heap, bs->snapshot));
	shm_toc_estimate_chunk(&pcxt->estimator, est_shared);
	est_sort = tuplesort_estimate_shared(scantuplesortstates);
	shm_toc_estimate_chunk(&pcxt->estimator, est_sort);
	if (bs->calib)
	{
		est_calib = ivfpq_calib_shared_size(bs->calib->nqueries, bs->dims, scantuplesortstates);
		shm_toc_estimate_chunk(&pcxt->estimator, est_calib);
	}
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	InitializeParallelDSM(pcxt);
	bs->pcxt = pcxt;
	if (pcxt->seg == NULL)
	{
		ereport(NOTICE,
				(errmsg("building ivfpq index \"%s\" without parallel workers",
						RelationGetRelationName(bs->index)),
				 errdetail("No dynamic shared memory segment is free.")));
		ivfpq_end_parallel(bs);
		return false;
	}

	shared = shm_toc_allocate(pcxt->toc, est_shared);
	memset(shared, 0, sizeof(IvfpqShared));
	shared->heaprelid = RelationGetRelid(bs->heap);
	shared->indexrelid = RelationGetRelid(bs->index);
	shared->isconcurrent = bs->indexInfo->ii_Concurrent;
	shared->scantuplesortstates = scantuplesortstates;
	shared->sort_kb = sort_kb;
	shared->metric = bs->metric;
	shared->dims = bs->dims;
	shared->nlist = bs->nlist;
	shared->m = bs->m;
	shared->nbits = bs->nbits;
	shared->centroids_start = meta->centroids_start;
	shared->centroids_pages = meta->centroids_pages;
	shared->codebook_start = meta->codebook_start;
	shared->codebook_pages = meta->codebook_pages;
	ConditionVariableInit(&shared->workersdonecv);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(bs->heap, ParallelTableScanFromIvfpqShared(shared), bs->snapshot);

	sharedsort = shm_toc_allocate(pcxt->toc, est_sort);
	tuplesort_initialize_shared(sharedsort, scantuplesortstates, pcxt->seg);

	shm_toc_insert(pcxt->toc, PARALLEL_KEY_SHARED, shared);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_SORT, sharedsort);
	if (bs->calib)
	{
		bs->shared_calib = shm_toc_allocate(pcxt->toc, est_calib);
		ivfpq_calib_export(bs->calib, bs->shared_calib);
		shared->calib_queries = bs->calib->nqueries;
		shm_toc_insert(pcxt->toc, PARALLEL_KEY_CALIB, bs->shared_calib);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		ereport(DEBUG1, (errmsg_internal("ivfpq build: no parallel worker could start")));
		ivfpq_end_parallel(bs);
		return false;
	}
	ereport(DEBUG1, (errmsg_internal("ivfpq build: using %d parallel workers", pcxt->nworkers_launched)));
	bs->shared = shared;
	bs->sharedsort = sharedsort;
	bs->nparticipants = pcxt->nworkers_launched + 1;
	return true;
}

/* The leader's part: its own share of rows, then the merge of every run. */
static void
lead_parallel(IvfpqBuildState *bs)
{
	IvfpqShared *shared = bs->shared;
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));

	participate(bs, shared, bs->sharedsort, bs->shared_calib, 0, true);

	for (;;)
	{
		SpinLockAcquire(&shared->mutex);
		if (shared->nparticipantsdone == bs->nparticipants)
		{
			bs->heap_tuples = shared->heap_tuples;
			bs->index_tuples = shared->index_tuples;
			SpinLockRelease(&shared->mutex);
			break;
		}
		SpinLockRelease(&shared->mutex);
		ConditionVariableSleep(&shared->workersdonecv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
	/* every participant's nearest rows: the workers have published theirs */
	if (bs->calib)
		ivfpq_calib_collect(bs->calib, bs->shared_calib, bs->nparticipants);

	coordinate->isWorker = false;
	coordinate->nParticipants = bs->nparticipants;
	coordinate->sharedsort = bs->sharedsort;
	ivfpq_begin_sort(bs, shared->sort_kb, coordinate);
	tuplesort_performsort(bs->sort);
}

/*
 * How many parallel workers the build may use, for training and encoding.
 * Only a trained index on a table has work worth sharing.  From 17 on the
 * server plans the workers for index AMs that build in parallel; before,
 * only for btree, so the AM asks itself.
 */
int
ivfpq_planned_workers(IvfpqBuildState *bs)
{
	if (bs->heap == NULL || !bs->quantizer.meta.trained)
		return 0;
#if PG_VERSION_NUM >= 170000
	return bs->indexInfo->ii_ParallelWorkers;
#else
	return plan_create_index_workers(RelationGetRelid(bs->heap), RelationGetRelid(bs->index));
#endif
}

/*
 * Encode with parallel workers if the planner allows some and
 * maintenance_work_mem holds a copy of the quantizer for each participant
 * besides their sorts; false if the caller must encode alone.
 */
bool
ivfpq_encode_in_parallel(IvfpqBuildState *bs)
{
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		encoder = ivfpq_encoder_memory(bs->nlist, bs->dims, bs->m, bs->nbits);
	Size		per_participant = add_size(encoder, (Size) MIN_SORT_KB * 1024);
	int			requested = ivfpq_planned_workers(bs);
	int			workers;
	int			sort_kb;

	workers = requested;
	while (workers > 0 && mul_size(workers + 1, per_participant) > budget)
		workers--;
	if (workers < requested)
		ereport(NOTICE,
				(errmsg("building ivfpq index \"%s\" with %d of the %d parallel workers planned",
						RelationGetRelationName(bs->index), workers, requested),
				 errdetail("Each participant needs %zu MB for its copy of the quantizer, and maintenance_work_mem of %d MB holds %d of them.",
						   (encoder + 1048575) / 1048576, maintenance_work_mem / 1024, workers + 1),
				 errhint("Increase maintenance_work_mem, or choose a smaller nlist.")));
	if (workers == 0)
		return false;

	sort_kb = (int) Max((Size) MIN_SORT_KB, (budget - (workers + 1) * encoder) / (workers + 1) / 1024);
	if (!begin_parallel(bs, workers, sort_kb))
		return false;
	lead_parallel(bs);
	return true;
}

void
ivfpq_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	IvfpqShared *shared = shm_toc_lookup(toc, PARALLEL_KEY_SHARED, false);
	Sharedsort *sharedsort = shm_toc_lookup(toc, PARALLEL_KEY_SORT, false);
	LOCKMODE	heap_lock = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_lock = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	IvfpqBuildState bs;
	IvfpqQuantizer *q = &bs.quantizer;
	Size		centroid_bytes;
	char	   *calib;

	memset(&bs, 0, sizeof(bs));
	bs.heap = table_open(shared->heaprelid, heap_lock);
	bs.index = index_open(shared->indexrelid, index_lock);
	bs.indexInfo = BuildIndexInfo(bs.index);
	bs.indexInfo->ii_Concurrent = shared->isconcurrent;
	bs.metric = shared->metric;
	bs.element = ivfpq_index_element(bs.index);
	bs.dims = shared->dims;
	bs.nlist = shared->nlist;
	bs.m = shared->m;
	bs.nbits = shared->nbits;
	bs.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "ivfpq build batch", ALLOCSET_DEFAULT_SIZES);

	/* the leader's quantizer, from the pages it wrote */
	centroid_bytes = mul_size(mul_size((Size) bs.nlist, bs.dims), sizeof(float));
	q->meta.version = IVFPQ_FORMAT_VERSION;
	q->meta.metric = bs.metric;
	q->meta.trained = 1;
	q->meta.dims = bs.dims;
	q->meta.nlist = bs.nlist;
	q->meta.code_size = bs.nbits == 8 ? bs.m : (bs.m + 1) / 2;
	ivfpq_filter_layout(bs.index, &q->meta);
	q->centroids = MemoryContextAllocHuge(CurrentMemoryContext, centroid_bytes);
	q->centroids_t = MemoryContextAllocHuge(CurrentMemoryContext, centroid_bytes);
	q->centroid_norms = palloc(sizeof(float) * bs.nlist);
	ivfpq_read_blob(bs.index, shared->centroids_start, shared->centroids_pages, q->centroids, centroid_bytes);
	vqpq_transpose_centroids(q->centroids, bs.nlist, bs.dims, q->centroids_t, q->centroid_norms);
	vqpq_pq_init(&q->pq, bs.dims, bs.m, bs.nbits,
				 MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_arrays_size(bs.dims, bs.m, bs.nbits)));
	ivfpq_read_blob(bs.index, shared->codebook_start, shared->codebook_pages, q->pq.codebook,
					mul_size(mul_size((Size) q->pq.ksub, bs.dims), sizeof(float)));
	vqpq_pq_prepare(&q->pq);

	calib = shared->calib_queries > 0 ? shm_toc_lookup(toc, PARALLEL_KEY_CALIB, false) : NULL;
	if (calib)
		bs.calib = ivfpq_calib_import(bs.metric, bs.dims, shared->calib_queries, calib);

	tuplesort_attach_shared(sharedsort, seg);
	participate(&bs, shared, sharedsort, calib, ParallelWorkerNumber + 1, false);

	index_close(bs.index, index_lock);
	table_close(bs.heap, heap_lock);
}
