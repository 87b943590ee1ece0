/*
 * ivfpq_build.c
 *		CREATE INDEX for ivfpq: sample rows, train the coarse quantizer and
 *		the product quantizer, encode every row, write the pages.
 *
 *	1. sample		block sampling with a reservoir, as ANALYZE does, sized
 *					for nlist and 2^nbits and bounded by maintenance_work_mem
 *	2. coarse		k-means on the sample: nlist centroids
 *	3. pq			k-means per sub-space on the sample's residuals
 *	4. encode		a full heap scan; rows are assigned and encoded a batch
 *					at a time and sorted by (list, tid)
 *	5. write		metapage, quantizer pages, list pages, then each list's
 *					entries on a chain of pages; all WAL-logged at the end
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
#include "utils/snapmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"

#include "access/xloginsert.h"
#include "distance.h"
#include "fastscan.h"
#include "ivfpq.h"
#include "kmeans.h"

#define COARSE_ITERATIONS	10
#define PQ_ITERATIONS		12
#define KMEANS_SEED			20261121
#define SAMPLES_PER_LIST	64
#define MIN_SAMPLES			16384
#define MAX_SAMPLES			262144

typedef struct IvfpqBuildState
{
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;
	ForkNumber	forknum;

	IvfpqMetric metric;
	int			dims;
	int			nlist;
	int			m;
	int			nbits;

	/* sampling */
	float	   *samples;
	int			target;
	int			nsamples;
	int			minimum_samples;	/* for good training: max(nlist, ksub) */
	Size		memory_required;	/* to train on minimum_samples rows */
	bool		sample_limited_by_memory;
	double		rows_seen;
	double		rows_to_skip;
	ReservoirStateData rstate;
	float	   *vector;			/* one prepared vector */

	/* the quantizer being built (not the cached kind) */
	IvfpqQuantizer quantizer;

	/* encoding */
	float	   *batch;
	ItemPointerData *batch_tids;
	int			batch_n;
	int32	   *batch_lists;
	uint8	   *batch_codes;
	float	   *scratch;
	Tuplesortstate *sort;
	TupleDesc	sortdesc;
	TupleTableSlot *slot;
	double		heap_tuples;
	double		index_tuples;
	MemoryContext tmpctx;

	/* parallel encoding (leader only) */
	ParallelContext *pcxt;
	struct IvfpqShared *shared;
	Sharedsort *sharedsort;
	Snapshot	snapshot;
	int			nparticipants;
} IvfpqBuildState;

/* DEBUG1 line per finished phase, for seeing where a build spends its time */
static void
phase_done(const char *phase, TimestampTz *since)
{
	TimestampTz now = GetCurrentTimestamp();

	elog(DEBUG1, "ivfpq build: %s took %.3f s", phase,
		 (double) (now - *since) / USECS_PER_SEC);
	*since = now;
}

static void memory_error(IvfpqBuildState *bs);

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
 * vectors, whose 4-bit blocks would not fit, get 8-bit codes.
 */
static void
choose_code(int dims, int m_option, int nbits_option, int *m, int *nbits)
{
	int			m4 = Min(2 * default_m_8bit(dims), dims);

	if (nbits_option != 0)
		*nbits = nbits_option;
	else if (m_option != 0)
		*nbits = ivfpq_block_size(m_option) <= IVFPQ_PAGE_CAPACITY ? 4 : 8;
	else
		*nbits = ivfpq_block_size(m4) <= IVFPQ_PAGE_CAPACITY ? 4 : 8;

	if (m_option != 0)
		*m = m_option;
	else if (*nbits == 8)
		*m = default_m_8bit(dims);
	else if (ivfpq_block_size(m4) <= IVFPQ_PAGE_CAPACITY)
	{
		Size		per_page = IVFPQ_PAGE_CAPACITY / ivfpq_block_size(m4);
		Size		room = IVFPQ_PAGE_CAPACITY / per_page - VQPQ_FS_ROWS * IVFPQ_ENTRY_TID_SIZE;
		int			fill = (int) (room / 16) & ~1;

		*m = Min(Max(m4, fill), dims);
	}
	else
		*m = m4;
	*m = Min(*m, IVFPQ_MAX_M);
}

static int
options_value(Relation index, int field_offset, int fallback)
{
	IvfpqOptions *opts = (IvfpqOptions *) index->rd_options;

	return opts ? *(int *) ((char *) opts + field_offset) : fallback;
}

/* ---------------------------------------------------------------- planning */

/*
 * Choose nlist, m and the sample size, and check that training fits in
 * maintenance_work_mem (shrinking the sample if it must).
 */
static void
plan_build(IvfpqBuildState *bs)
{
	BlockNumber pages;
	double		tuples;
	double		allvisfrac;
	int			ksub;
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		fixed;
	Size		per_row;
	int			max_dsub;

	choose_code(bs->dims, options_value(bs->index, offsetof(IvfpqOptions, m), 0),
				options_value(bs->index, offsetof(IvfpqOptions, nbits), 0), &bs->m, &bs->nbits);
	ksub = 1 << bs->nbits;

	/* nlist: as asked, or about sqrt(rows) */
	estimate_rel_size(bs->heap, NULL, &pages, &tuples, &allvisfrac);
	bs->nlist = options_value(bs->index, offsetof(IvfpqOptions, nlist), 0);
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
	per_row = sizeof(float) * ((Size) bs->dims + max_dsub) + 2 * sizeof(float) + 2 * sizeof(int32);
	bs->minimum_samples = Max(bs->nlist, ksub);
	bs->memory_required = add_size(fixed, mul_size(bs->minimum_samples, per_row));

	if (add_size(fixed, mul_size(bs->target, per_row)) > budget)
	{
		Size		fits = fixed < budget ? (budget - fixed) / per_row : 0;

		if (fits == 0)
			memory_error(bs);
		bs->target = (int) Min(fits, (Size) bs->target);
		bs->sample_limited_by_memory = true;
		elog(DEBUG1, "ivfpq build: sample limited to %d rows by maintenance_work_mem", bs->target);
	}
}

static void
memory_error(IvfpqBuildState *bs)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
					(bs->memory_required + 1048575) / 1048576, maintenance_work_mem / 1024),
			 errdetail("Training %d lists and %d sub-centroids on %d dimensions needs at least %d sample rows.",
					   bs->nlist, 1 << bs->nbits, bs->dims, bs->minimum_samples),
			 errhint("Increase maintenance_work_mem, or choose a smaller nlist.")));
}

/* ---------------------------------------------------------------- sampling */

static void
sample_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *state)
{
	IvfpqBuildState *bs = state;
	float	   *dest;

	if (isnull[0])
		return;
	/* a zero vector has no direction to learn under cosine */
	if (!ivfpq_prepare_vector(bs->metric, bs->dims, values[0], bs->vector))
		return;

	/* reservoir sampling (Vitter's algorithm Z, as ANALYZE) */
	if (bs->nsamples < bs->target)
		dest = bs->samples + (Size) bs->nsamples++ * bs->dims;
	else
	{
		dest = NULL;
		if (bs->rows_to_skip < 0)
			bs->rows_to_skip = reservoir_get_next_S(&bs->rstate, bs->rows_seen, bs->target);
		if (bs->rows_to_skip <= 0)
		{
			int			k = (int) (bs->target * sampler_random_fract(&bs->rstate.randstate));

			dest = bs->samples + (Size) k * bs->dims;
		}
		bs->rows_to_skip -= 1;
	}
	if (dest)
		memcpy(dest, bs->vector, sizeof(float) * bs->dims);
	bs->rows_seen += 1;
}

static void
sample_rows(IvfpqBuildState *bs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(bs->heap);
	BlockSamplerData sampler;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_SAMPLE);
	bs->samples = MemoryContextAllocHuge(CurrentMemoryContext,
										 mul_size(mul_size((Size) bs->target, bs->dims), sizeof(float)));
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

/* ---------------------------------------------------------------- training */

static void
check_finite(const float *x, Size n, const char *what)
{
	for (Size i = 0; i < n; i++)
		if (!isfinite(x[i]))
			elog(ERROR, "ivfpq training produced a non-finite %s value; please report this bug", what);
}

static void
train(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	int			n = bs->nsamples;
	Size		nlist = bs->nlist;
	int32	   *nearest;
	float	   *scratch;
	VqpqKmeansParams params = {COARSE_ITERATIONS, KMEANS_SEED, ivfpq_check_interrupts};
	void	   *ws;

	q->centroids = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(nlist, bs->dims), sizeof(float)));
	q->centroids_t = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(nlist, bs->dims), sizeof(float)));
	q->centroid_norms = palloc(mul_size(nlist, sizeof(float)));

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_COARSE);
	ws = MemoryContextAllocHuge(CurrentMemoryContext, vqpq_kmeans_workspace_size(n, bs->dims, bs->nlist));
	q->meta.coarse_error = vqpq_kmeans(bs->samples, n, bs->dims, bs->dims, bs->nlist, &params,
									   q->centroids, ws);
	pfree(ws);
	elog(DEBUG1, "ivfpq build: %d lists trained on %d rows, mean squared distance %.4g",
		 bs->nlist, n, q->meta.coarse_error);
	check_finite(q->centroids, mul_size(nlist, bs->dims), "centroid");
	vqpq_transpose_centroids(q->centroids, bs->nlist, bs->dims, q->centroids_t, q->centroid_norms);

	/* residuals of the sample, in place */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_ASSIGN_SAMPLE);
	nearest = palloc(sizeof(int32) * n);
	scratch = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(VQPQ_ASSIGN_BLOCK, nlist), sizeof(float)));
	vqpq_nearest(bs->samples, n, bs->dims, bs->dims, q->centroids_t, bs->nlist, q->centroid_norms,
				 nearest, NULL, scratch, ivfpq_check_interrupts);
	for (int i = 0; i < n; i++)
	{
		float	   *x = bs->samples + (Size) i * bs->dims;
		const float *c = q->centroids + (Size) nearest[i] * bs->dims;

		for (int l = 0; l < bs->dims; l++)
			x[l] -= c[l];
	}
	pfree(nearest);
	pfree(scratch);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_PQ);
	params.max_iterations = PQ_ITERATIONS;
	ws = MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_train_workspace_size(&q->pq, n));
	q->meta.pq_error = vqpq_pq_train(&q->pq, bs->samples, n, bs->dims, &params, ws);
	pfree(ws);
	check_finite(q->pq.codebook, mul_size((Size) q->pq.ksub, bs->dims), "codebook");

	pfree(bs->samples);
	bs->samples = NULL;
}

/* ---------------------------------------------------------------- encoding */

static void
flush_batch(IvfpqBuildState *bs)
{
	MemoryContext old = MemoryContextSwitchTo(bs->tmpctx);
	int			code_size = bs->quantizer.meta.code_size;

	ivfpq_assign_and_encode(&bs->quantizer, bs->batch, bs->batch_n,
							bs->batch_lists, bs->batch_codes, bs->scratch);
	for (int i = 0; i < bs->batch_n; i++)
	{
		bytea	   *code = palloc(VARHDRSZ + code_size);

		SET_VARSIZE(code, VARHDRSZ + code_size);
		memcpy(VARDATA(code), bs->batch_codes + (Size) i * code_size, code_size);
		ExecClearTuple(bs->slot);
		bs->slot->tts_values[0] = Int32GetDatum(bs->batch_lists[i]);
		bs->slot->tts_values[1] = PointerGetDatum(&bs->batch_tids[i]);
		bs->slot->tts_values[2] = PointerGetDatum(code);
		memset(bs->slot->tts_isnull, 0, sizeof(bool) * 3);
		ExecStoreVirtualTuple(bs->slot);
		tuplesort_puttupleslot(bs->sort, bs->slot);
	}
	bs->index_tuples += bs->batch_n;
	bs->batch_n = 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(bs->tmpctx);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->index_tuples);
}

static void
encode_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool alive, void *state)
{
	IvfpqBuildState *bs = state;

	bs->heap_tuples += 1;
	if (isnull[0])
		return;
	/* a zero vector under cosine is indexed as zero: found by the scan, last */
	ivfpq_prepare_vector(bs->metric, bs->dims, values[0],
						 bs->batch + (Size) bs->batch_n * bs->dims);
	bs->batch_tids[bs->batch_n++] = *tid;
	if (bs->batch_n == VQPQ_ASSIGN_BLOCK)
		flush_batch(bs);
}

static void
begin_sort(IvfpqBuildState *bs, int workmem, SortCoordinate coordinate)
{
	AttrNumber	keys[2] = {1, 2};
	Oid			operators[2] = {Int4LessOperator, TIDLessOperator};
	Oid			collations[2] = {InvalidOid, InvalidOid};
	bool		nulls_first[2] = {false, false};

	if (bs->sortdesc == NULL)
	{
		bs->sortdesc = CreateTemplateTupleDesc(3);
		TupleDescInitEntry(bs->sortdesc, 1, "list", INT4OID, -1, 0);
		TupleDescInitEntry(bs->sortdesc, 2, "tid", TIDOID, -1, 0);
		TupleDescInitEntry(bs->sortdesc, 3, "code", BYTEAOID, -1, 0);
		bs->slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsVirtual);
	}
	bs->sort = tuplesort_begin_heap(bs->sortdesc, 2, keys, operators, collations, nulls_first,
									workmem, coordinate,
#if PG_VERSION_NUM >= 150000
									TUPLESORT_NONE
#else
									false
#endif
		);
}

/* Batch buffers for encode_callback. */
static void
begin_batches(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;

	bs->batch = palloc(mul_size(mul_size(VQPQ_ASSIGN_BLOCK, bs->dims), sizeof(float)));
	bs->batch_tids = palloc(sizeof(ItemPointerData) * VQPQ_ASSIGN_BLOCK);
	bs->batch_lists = palloc(sizeof(int32) * VQPQ_ASSIGN_BLOCK);
	bs->batch_codes = palloc((Size) VQPQ_ASSIGN_BLOCK * q->meta.code_size);
	bs->scratch = MemoryContextAllocHuge(CurrentMemoryContext,
										 ivfpq_encode_scratch_size(VQPQ_ASSIGN_BLOCK, bs->nlist, &q->pq));
}

/* ---------------------------------------------------------------- parallel encoding */

/*
 * Workers (and the leader) each scan part of the table through a parallel
 * heap scan, assign and encode their rows with the quantizer the leader
 * trained (copied into shared memory), and sort them into their own run of
 * a shared tuplesort; the leader merges the runs and writes the pages.
 */
#define PARALLEL_KEY_SHARED		UINT64CONST(0xA7F0000000000001)
#define PARALLEL_KEY_SORT		UINT64CONST(0xA7F0000000000002)
#define PARALLEL_KEY_QUANTIZER	UINT64CONST(0xA7F0000000000003)

typedef struct IvfpqShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			scantuplesortstates;
	int			metric;
	int			dims;
	int			nlist;
	int			m;
	int			nbits;

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
participate(IvfpqBuildState *bs, IvfpqShared *shared, Sharedsort *sharedsort, int workmem, bool progress)
{
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));
	TableScanDesc scan;

	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	begin_sort(bs, workmem, coordinate);
	begin_batches(bs);

	scan = table_beginscan_parallel(bs->heap, ParallelTableScanFromIvfpqShared(shared));
	table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, progress,
						   encode_callback, bs, scan);
	if (bs->batch_n > 0)
		flush_batch(bs);
	tuplesort_performsort(bs->sort);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->heap_tuples += bs->heap_tuples;
	shared->index_tuples += bs->index_tuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->workersdonecv);
	tuplesort_end(bs->sort);
	bs->sort = NULL;
}

static void
end_parallel(IvfpqBuildState *bs)
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
begin_parallel(IvfpqBuildState *bs, int request)
{
	IvfpqQuantizer *q = &bs->quantizer;
	ParallelContext *pcxt;
	Size		est_shared;
	Size		est_sort;
	Size		centroid_bytes = mul_size(mul_size((Size) bs->nlist, bs->dims), sizeof(float));
	Size		codebook_bytes = mul_size(mul_size((Size) q->pq.ksub, bs->dims), sizeof(float));
	IvfpqShared *shared;
	Sharedsort *sharedsort;
	char	   *qdata;
	int			scantuplesortstates = request + 1;	/* the leader takes part */

	EnterParallelMode();
	pcxt = CreateParallelContext("vqpq", "ivfpq_parallel_build_main", request);
	bs->snapshot = bs->indexInfo->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	est_shared = add_size(BUFFERALIGN(sizeof(IvfpqShared)), table_parallelscan_estimate(bs->heap, bs->snapshot));
	shm_toc_estimate_chunk(&pcxt->estimator, est_shared);
	est_sort = tuplesort_estimate_shared(scantuplesortstates);
	shm_toc_estimate_chunk(&pcxt->estimator, est_sort);
	shm_toc_estimate_chunk(&pcxt->estimator, add_size(centroid_bytes, codebook_bytes));
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	InitializeParallelDSM(pcxt);
	bs->pcxt = pcxt;
	if (pcxt->seg == NULL)
	{
		end_parallel(bs);
		return false;
	}

	shared = shm_toc_allocate(pcxt->toc, est_shared);
	memset(shared, 0, sizeof(IvfpqShared));
	shared->heaprelid = RelationGetRelid(bs->heap);
	shared->indexrelid = RelationGetRelid(bs->index);
	shared->isconcurrent = bs->indexInfo->ii_Concurrent;
	shared->scantuplesortstates = scantuplesortstates;
	shared->metric = bs->metric;
	shared->dims = bs->dims;
	shared->nlist = bs->nlist;
	shared->m = bs->m;
	shared->nbits = bs->nbits;
	ConditionVariableInit(&shared->workersdonecv);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(bs->heap, ParallelTableScanFromIvfpqShared(shared), bs->snapshot);

	sharedsort = shm_toc_allocate(pcxt->toc, est_sort);
	tuplesort_initialize_shared(sharedsort, scantuplesortstates, pcxt->seg);

	qdata = shm_toc_allocate(pcxt->toc, add_size(centroid_bytes, codebook_bytes));
	memcpy(qdata, q->centroids, centroid_bytes);
	memcpy(qdata + centroid_bytes, q->pq.codebook, codebook_bytes);

	shm_toc_insert(pcxt->toc, PARALLEL_KEY_SHARED, shared);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_SORT, sharedsort);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_QUANTIZER, qdata);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		end_parallel(bs);
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

	participate(bs, shared, bs->sharedsort, maintenance_work_mem / shared->scantuplesortstates, true);

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

	coordinate->isWorker = false;
	coordinate->nParticipants = bs->nparticipants;
	coordinate->sharedsort = bs->sharedsort;
	begin_sort(bs, maintenance_work_mem, coordinate);
	tuplesort_performsort(bs->sort);
}

void
ivfpq_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	IvfpqShared *shared = shm_toc_lookup(toc, PARALLEL_KEY_SHARED, false);
	Sharedsort *sharedsort = shm_toc_lookup(toc, PARALLEL_KEY_SORT, false);
	char	   *qdata = shm_toc_lookup(toc, PARALLEL_KEY_QUANTIZER, false);
	LOCKMODE	heap_lock = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_lock = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	IvfpqBuildState bs;
	IvfpqQuantizer *q = &bs.quantizer;
	Size		centroid_bytes;

	memset(&bs, 0, sizeof(bs));
	bs.heap = table_open(shared->heaprelid, heap_lock);
	bs.index = index_open(shared->indexrelid, index_lock);
	bs.indexInfo = BuildIndexInfo(bs.index);
	bs.indexInfo->ii_Concurrent = shared->isconcurrent;
	bs.metric = shared->metric;
	bs.dims = shared->dims;
	bs.nlist = shared->nlist;
	bs.m = shared->m;
	bs.nbits = shared->nbits;
	bs.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "ivfpq build batch", ALLOCSET_DEFAULT_SIZES);

	/* the leader's quantizer, from shared memory */
	centroid_bytes = mul_size(mul_size((Size) bs.nlist, bs.dims), sizeof(float));
	q->meta.trained = 1;
	q->meta.dims = bs.dims;
	q->meta.nlist = bs.nlist;
	q->meta.code_size = bs.nbits == 8 ? bs.m : (bs.m + 1) / 2;
	q->centroids = (float *) qdata;
	q->centroids_t = MemoryContextAllocHuge(CurrentMemoryContext, centroid_bytes);
	q->centroid_norms = palloc(sizeof(float) * bs.nlist);
	vqpq_transpose_centroids(q->centroids, bs.nlist, bs.dims, q->centroids_t, q->centroid_norms);
	vqpq_pq_init(&q->pq, bs.dims, bs.m, bs.nbits,
				 MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_arrays_size(bs.dims, bs.m, bs.nbits)));
	memcpy(q->pq.codebook, qdata + centroid_bytes, mul_size(mul_size((Size) q->pq.ksub, bs.dims), sizeof(float)));
	vqpq_pq_prepare(&q->pq);

	tuplesort_attach_shared(sharedsort, seg);
	participate(&bs, shared, sharedsort, maintenance_work_mem / shared->scantuplesortstates, false);

	index_close(bs.index, index_lock);
	table_close(bs.heap, heap_lock);
}

/* ---------------------------------------------------------------- encoding, serial or parallel */

static void
encode_rows(IvfpqBuildState *bs)
{
	int			workers = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_ENCODE);

	/* only a trained index on a table has work worth sharing */
	if (bs->heap && bs->quantizer.meta.trained)
		workers = plan_create_index_workers(RelationGetRelid(bs->heap), RelationGetRelid(bs->index));
	if (workers > 0 && begin_parallel(bs, workers))
	{
		lead_parallel(bs);
		return;
	}

	begin_sort(bs, maintenance_work_mem, NULL);
	begin_batches(bs);
	if (bs->heap)
	{
		table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, true,
							   encode_callback, bs, NULL);
		if (bs->batch_n > 0)
			flush_batch(bs);
	}
	tuplesort_performsort(bs->sort);
}

/* ---------------------------------------------------------------- writing */

static Buffer
new_page(IvfpqBuildState *bs, IvfpqPageType type)
{
	Buffer		buf = ivfpq_new_buffer(bs->index, bs->forknum);

	ivfpq_init_page(BufferGetPage(buf), type);
	return buf;
}

static void
finish_page(Buffer buf)
{
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

static void
write_index(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	IvfpqMetaPageData *meta = &q->meta;
	IvfpqListData *lists = palloc0(sizeof(IvfpqListData) * bs->nlist);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsMinimalTuple);
	bool		have = false;
	IvfpqEntryLayout layout;
	Buffer		buf;
	int64		written = 0;

	ivfpq_entry_layout(meta, &layout);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVFPQ_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) bs->index_tuples);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);

	/* block 0, filled in last */
	buf = new_page(bs, IVFPQ_PAGE_META);
	Assert(BufferGetBlockNumber(buf) == IVFPQ_METAPAGE_BLKNO);
	finish_page(buf);

	if (meta->trained)
	{
		meta->centroids_start = ivfpq_write_blob(bs->index, bs->forknum, q->centroids,
												 mul_size(mul_size((Size) bs->nlist, bs->dims), sizeof(float)),
												 &meta->centroids_pages);
		meta->codebook_start = ivfpq_write_blob(bs->index, bs->forknum, q->pq.codebook,
												mul_size(mul_size((Size) q->pq.ksub, bs->dims), sizeof(float)),
												&meta->codebook_pages);
	}

	/* list pages, filled in once the entry chains exist */
	meta->lists_pages = (bs->nlist + IVFPQ_LISTS_PER_PAGE - 1) / IVFPQ_LISTS_PER_PAGE;
	for (uint32 i = 0; i < meta->lists_pages; i++)
	{
		buf = new_page(bs, IVFPQ_PAGE_LISTS);
		if (i == 0)
			meta->lists_start = BufferGetBlockNumber(buf);
		finish_page(buf);
	}

	/* each list's entries, in sorted order, on its own chain */
	have = tuplesort_gettupleslot(bs->sort, true, false, slot, NULL);
	for (int list = 0; list < bs->nlist; list++)
	{
		Page		page;

		buf = new_page(bs, IVFPQ_PAGE_ENTRIES);
		page = BufferGetPage(buf);
		lists[list].start = BufferGetBlockNumber(buf);

		while (have)
		{
			bool		isnull;
			int32		entry_list = DatumGetInt32(slot_getattr(slot, 1, &isnull));
			ItemPointer tid;
			bytea	   *code;
			IvfpqPageOpaque opaque = IvfpqPageGetOpaque(page);

			if (entry_list != list)
				break;
			if (opaque->count >= layout.per_page)
			{
				Buffer		next = new_page(bs, IVFPQ_PAGE_ENTRIES);

				CHECK_FOR_INTERRUPTS();
				opaque->next = BufferGetBlockNumber(next);
				finish_page(buf);
				buf = next;
				page = BufferGetPage(buf);
				opaque = IvfpqPageGetOpaque(page);
			}
			tid = (ItemPointer) DatumGetPointer(slot_getattr(slot, 2, &isnull));
			code = DatumGetByteaPP(slot_getattr(slot, 3, &isnull));
			ivfpq_entry_append(&layout, page, tid, (uint8 *) VARDATA_ANY(code));

			if (++written % 1024 == 0)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);
			have = tuplesort_gettupleslot(bs->sort, true, false, slot, NULL);
		}
		lists[list].insert = BufferGetBlockNumber(buf);
		finish_page(buf);
		CHECK_FOR_INTERRUPTS();
	}
	Assert(!have);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);

	for (uint32 i = 0; i < meta->lists_pages; i++)
	{
		int			first = i * IVFPQ_LISTS_PER_PAGE;
		int			count = Min(IVFPQ_LISTS_PER_PAGE, bs->nlist - first);
		Page		page;

		buf = ReadBufferExtended(bs->index, bs->forknum, meta->lists_start + i, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		memcpy(PageGetContents(page), lists + first, sizeof(IvfpqListData) * count);
		((PageHeader) page)->pd_lower += sizeof(IvfpqListData) * count;
		IvfpqPageGetOpaque(page)->count = count;
		finish_page(buf);
	}

	buf = ReadBufferExtended(bs->index, bs->forknum, IVFPQ_METAPAGE_BLKNO, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(PageGetContents(BufferGetPage(buf)), meta, sizeof(IvfpqMetaPageData));
	((PageHeader) BufferGetPage(buf))->pd_lower += sizeof(IvfpqMetaPageData);
	finish_page(buf);

	ExecDropSingleTupleTableSlot(slot);
	pfree(lists);
}

/* ---------------------------------------------------------------- entry points */

static void
build(IvfpqBuildState *bs)
{
	IvfpqQuantizer *q = &bs->quantizer;
	IvfpqMetaPageData *meta = &q->meta;
	TimestampTz clock = GetCurrentTimestamp();

	bs->metric = ivfpq_index_metric(bs->index);
	bs->dims = ivfpq_index_dims(bs->index);
	bs->vector = palloc(sizeof(float) * bs->dims);
	bs->tmpctx = AllocSetContextCreate(CurrentMemoryContext, "ivfpq build batch", ALLOCSET_DEFAULT_SIZES);

	if (bs->heap)
	{
		plan_build(bs);
		sample_rows(bs);
		phase_done("sampling", &clock);
		/* the table had rows enough, but memory did not: say so */
		if (bs->sample_limited_by_memory && bs->rows_seen > bs->nsamples &&
			bs->nsamples < bs->minimum_samples)
			memory_error(bs);
	}
	else
	{
		choose_code(bs->dims, options_value(bs->index, offsetof(IvfpqOptions, m), 0),
					options_value(bs->index, offsetof(IvfpqOptions, nbits), 0), &bs->m, &bs->nbits);
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
	meta->entry_size = IVFPQ_ENTRY_TID_SIZE + meta->code_size;
	meta->trained = bs->nsamples > 0;
	meta->build_id = ((uint64) random() << 32) ^ (uint64) random() ^ (uint64) GetCurrentTimestamp();
	meta->centroids_start = meta->codebook_start = InvalidBlockNumber;
	meta->sample_rows = bs->nsamples;

	vqpq_pq_init(&q->pq, bs->dims, bs->m, bs->nbits,
				 MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_arrays_size(bs->dims, bs->m, bs->nbits)));
	if (meta->trained)
	{
		train(bs);
		phase_done("training", &clock);
	}

	encode_rows(bs);
	phase_done("assigning and encoding", &clock);
	meta->built_rows = (uint64) bs->index_tuples;
	write_index(bs);
	tuplesort_end(bs->sort);
	if (bs->pcxt)
		end_parallel(bs);

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
