/*
 * ivfpq_build_train_parallel.c
 *		The coarse k-means's assignment step shared with parallel workers.
 *
 * Most of training is finding each sample row's nearest centroid, ten
 * times over.  The leader keeps the sample and does everything else; for
 * each assignment pass it puts the centroids in shared memory and hands
 * out rows a slot at a time: it copies a run of rows into a free slot,
 * a worker takes it, finds their nearest centroids and marks it done, and
 * the leader copies the answers out and refills the slot.  Between
 * refills the leader assigns rows of its own, and at the end of a pass it
 * takes slots no worker has taken, so a worker that never starts only
 * costs time.  A row's answer depends only on the row and the centroids,
 * so the clusters, and the index, are the same with any number of workers.
 *
 * The segment holds the centroids and a few slots; a quantizer larger than
 * MAX_SHARED_CENTROIDS is trained by the leader alone rather than ask for
 * a segment that large.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#include "ivfpq_build.h"
#include "kmeans.h"

#define PARALLEL_KEY_TRAIN			UINT64CONST(0xA7F1000000000001)
#define PARALLEL_KEY_TRAIN_DATA		UINT64CONST(0xA7F1000000000002)

/* a pass's multiply-adds worth a worker: about 15 ms of one core's work */
#define MIN_PARALLEL_PASS		((double) (1 << 28))
/* the most centroid bytes put in shared memory */
#define MAX_SHARED_CENTROIDS	((Size) 32 * 1024 * 1024)
/* slots per worker: one to work on, one filled and waiting */
#define SLOTS_PER_WORKER		2
/* a slot's work: at least this many multiply-adds, at most this many bytes of rows */
#define SLOT_WORK				((Size) 1 << 25)
#define SLOT_BYTES				((Size) 4 * 1024 * 1024)

typedef enum TrainSlotState
{
	SLOT_EMPTY,					/* the leader's, to fill */
	SLOT_READY,					/* rows in it, for whoever takes it */
	SLOT_BUSY,					/* taken */
	SLOT_DONE					/* a worker's answers in it, for the leader */
} TrainSlotState;

typedef struct TrainSlot
{
	TrainSlotState state;
	int			start;			/* its first row, in the leader's sample */
	int			nrows;
} TrainSlot;

typedef struct IvfpqTrainShared
{
	int			dims;
	int			k;
	int			nslots;
	int			slot_rows;
	bool		finished;		/* no more passes: workers exit */
	slock_t		mutex;			/* protects finished and every slot's state */
	ConditionVariable readycv;	/* a slot is ready, or training is over */
	ConditionVariable donecv;	/* a worker finished a slot */
	TrainSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} IvfpqTrainShared;

/* The data that follows the shared state, in one chunk. */
typedef struct TrainData
{
	float	   *ct;				/* dims x k, transposed centroids */
	float	   *norms;			/* k */
	float	   *rows;			/* nslots x slot_rows x dims */
	int32	   *nearest;		/* nslots x slot_rows */
	float	   *distance;		/* nslots x slot_rows */
} TrainData;

struct IvfpqTrainWorkers
{
	ParallelContext *pcxt;
	IvfpqTrainShared *shared;
	TrainData	data;
	int			step;			/* rows per vqpq_nearest call */
	float	   *scratch;		/* the leader's, step x k */
};

PGDLLEXPORT void ivfpq_train_worker_main(dsm_segment *seg, shm_toc *toc);

static Size
data_size(int dims, int k, int nslots, int slot_rows)
{
	Size		per_slot = mul_size(slot_rows, add_size(mul_size(dims, sizeof(float)),
														 sizeof(int32) + sizeof(float)));

	return add_size(mul_size(mul_size(k, add_size(dims, 1)), sizeof(float)),
					mul_size(nslots, per_slot));
}

static void
carve_data(TrainData *data, char *base, int dims, int k, int nslots, int slot_rows)
{
	Size		rows = mul_size(nslots, slot_rows);

	data->ct = (float *) base;
	data->norms = data->ct + (Size) k * dims;
	data->rows = data->norms + k;
	data->nearest = (int32 *) (data->rows + rows * dims);
	data->distance = (float *) (data->nearest + rows);
}

/*
 * Scratch for vqpq_nearest: it works on vqpq_assign_rows(k, d) rows at a
 * time.
 */
static Size
worker_memory(int dims, int k)
{
	return mul_size(mul_size(vqpq_assign_rows(k, dims), k), sizeof(float));
}

/* Record a row's answer; true if its list changed. */
static inline bool
record(int32 *assign, float *distance, int row, int32 nearest, float dist)
{
	bool		changed = assign[row] != nearest;

	assign[row] = nearest;
	if (distance)
		distance[row] = dist;
	return changed;
}

/* Rows [start, start + n) of x, assigned here, in calls of step rows. */
static int
assign_here(IvfpqTrainWorkers *tw, const float *x, int start, int n, int ldx,
			int32 *assign, float *distance)
{
	IvfpqTrainShared *sh = tw->shared;
	int32		nearest[VQPQ_ASSIGN_BLOCK];
	float		dist[VQPQ_ASSIGN_BLOCK];
	int			changed = 0;

	for (int i = 0; i < n; i += tw->step)
	{
		int			rows = Min(tw->step, n - i);

		vqpq_nearest(x + (Size) (start + i) * ldx, rows, ldx, sh->dims, tw->data.ct, sh->k,
					 tw->data.norms, nearest, dist, tw->scratch, ivfpq_check_interrupts);
		for (int r = 0; r < rows; r++)
			changed += record(assign, distance, start + i + r, nearest[r], dist[r]);
	}
	return changed;
}

static TrainSlotState
slot_state(IvfpqTrainShared *sh, int s)
{
	TrainSlotState state;

	SpinLockAcquire(&sh->mutex);
	state = sh->slots[s].state;
	SpinLockRelease(&sh->mutex);
	return state;
}

static void
set_slot_state(IvfpqTrainShared *sh, int s, TrainSlotState state)
{
	SpinLockAcquire(&sh->mutex);
	sh->slots[s].state = state;
	SpinLockRelease(&sh->mutex);
}

/* A ready slot, now busy, or -1. */
static int
take_ready_slot(IvfpqTrainShared *sh)
{
	int			taken = -1;

	SpinLockAcquire(&sh->mutex);
	for (int s = 0; s < sh->nslots; s++)
		if (sh->slots[s].state == SLOT_READY)
		{
			sh->slots[s].state = SLOT_BUSY;
			taken = s;
			break;
		}
	SpinLockRelease(&sh->mutex);
	return taken;
}

/* The assignment step as a VqpqAssignFunction, shared with the workers. */
static int
assign_shared(void *arg, const float *x, int n, int ldx, int d, const float *ct, int k,
			  const float *norms, int32_t *assign, float *distance)
{
	IvfpqTrainWorkers *tw = arg;
	IvfpqTrainShared *sh = tw->shared;
	int			next = 0;		/* the first row not handed out */
	int			outstanding = 0;	/* slots ready or busy */
	int			changed = 0;

	if (d != sh->dims || k != sh->k)
		elog(ERROR, "ivfpq training workers were set up for %d centroids of %d dimensions, not %d of %d",
			 sh->k, sh->dims, k, d);

	/*
	 * Every slot is empty between passes, so no worker reads the centroids
	 * now; the spinlock taken to mark a slot ready orders these writes
	 * before any worker's reads.
	 */
	memcpy(tw->data.ct, ct, sizeof(float) * (Size) k * d);
	memcpy(tw->data.norms, norms, sizeof(float) * (Size) k);

	while (next < n || outstanding > 0)
	{
		bool		handed_out = false;
		int			s;

		for (s = 0; s < sh->nslots; s++)
		{
			TrainSlot  *slot = &sh->slots[s];
			TrainSlotState state = slot_state(sh, s);

			if (state == SLOT_DONE)
			{
				int32	   *nearest = tw->data.nearest + (Size) s * sh->slot_rows;
				float	   *dist = tw->data.distance + (Size) s * sh->slot_rows;

				for (int r = 0; r < slot->nrows; r++)
					changed += record(assign, distance, slot->start + r, nearest[r], dist[r]);
				set_slot_state(sh, s, SLOT_EMPTY);
				state = SLOT_EMPTY;
				outstanding--;
			}
			if (state == SLOT_EMPTY && next < n)
			{
				float	   *rows = tw->data.rows + (Size) s * sh->slot_rows * d;

				slot->start = next;
				slot->nrows = Min(sh->slot_rows, n - next);
				for (int r = 0; r < slot->nrows; r++)
					memcpy(rows + (Size) r * d, x + (Size) (next + r) * ldx, sizeof(float) * d);
				set_slot_state(sh, s, SLOT_READY);
				next += slot->nrows;
				outstanding++;
				handed_out = true;
			}
		}
		if (handed_out)
			ConditionVariableBroadcast(&sh->readycv);

		if (next < n)
		{
			/* a share of its own before looking at the slots again */
			int			rows = Min(tw->step, n - next);

			changed += assign_here(tw, x, next, rows, ldx, assign, distance);
			next += rows;
			continue;
		}
		if (outstanding == 0)
			break;

		/* every row handed out: do what no worker has taken yet */
		s = take_ready_slot(sh);
		if (s >= 0)
		{
			changed += assign_here(tw, x, sh->slots[s].start, sh->slots[s].nrows, ldx, assign, distance);
			set_slot_state(sh, s, SLOT_EMPTY);
			outstanding--;
			continue;
		}

		/* or wait for a worker to finish one */
		for (;;)
		{
			bool		done = false;

			SpinLockAcquire(&sh->mutex);
			for (s = 0; s < sh->nslots; s++)
				done |= sh->slots[s].state == SLOT_DONE;
			SpinLockRelease(&sh->mutex);
			if (done)
				break;
			ConditionVariableSleep(&sh->donecv, PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
	}
	return changed;
}

/*
 * Start workers for the coarse k-means of n rows into k lists, if a pass is
 * worth sharing and the planner allows workers; NULL if the leader trains
 * alone.  On success, params' assignment step is the shared one.
 */
IvfpqTrainWorkers *
ivfpq_train_workers_begin(IvfpqBuildState *bs, int n, VqpqKmeansParams *params)
{
	int			dims = bs->dims;
	int			k = bs->nlist;
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		left = budget > bs->training_memory ? budget - bs->training_memory : 0;
	Size		per_worker = worker_memory(dims, k);
	Size		leader_scratch = per_worker;
	int			workers;
	int			nslots;
	int			slot_rows;
	int			step = vqpq_assign_rows(k, dims);
	IvfpqTrainWorkers *tw;
	IvfpqTrainShared *shared;
	ParallelContext *pcxt;
	Size		shared_size;
	Size		data_bytes;
	Size		call_work;
	Size		call_bytes;

	if ((double) n * k * dims < MIN_PARALLEL_PASS)
		return NULL;
	workers = ivfpq_planned_workers(bs);
	if (workers == 0)
		return NULL;
	if (mul_size(mul_size(k, add_size(dims, 1)), sizeof(float)) > MAX_SHARED_CENTROIDS)
	{
		elog(DEBUG1, "ivfpq build: training without parallel workers, %d centroids of %d dimensions are too many to share",
			 k, dims);
		return NULL;
	}
	/* what training leaves of maintenance_work_mem: the leader's scratch, a worker's */
	left = left > leader_scratch ? left - leader_scratch : 0;
	if (mul_size(workers, per_worker) > left)
	{
		workers = (int) Min((Size) workers, left / per_worker);
		elog(DEBUG1, "ivfpq build: maintenance_work_mem leaves room for %d training workers", workers);
		if (workers == 0)
			return NULL;
	}

	/* a slot: a whole number of vqpq_nearest's calls */
	call_work = (Size) k * dims * step;
	call_bytes = (Size) dims * sizeof(float) * step;
	slot_rows = step * (int) Max((Size) 1, Min((SLOT_WORK + call_work - 1) / call_work, SLOT_BYTES / call_bytes));
	nslots = SLOTS_PER_WORKER * workers;

	EnterParallelMode();
	pcxt = CreateParallelContext("vqpq", "ivfpq_train_worker_main", workers);
	shared_size = add_size(offsetof(IvfpqTrainShared, slots), mul_size(nslots, sizeof(TrainSlot)));
	data_bytes = data_size(dims, k, nslots, slot_rows);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, data_bytes);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		elog(DEBUG1, "ivfpq build: training without parallel workers, no dynamic shared memory segment is free");
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	shared = shm_toc_allocate(pcxt->toc, shared_size);
	memset(shared, 0, shared_size);
	shared->dims = dims;
	shared->k = k;
	shared->nslots = nslots;
	shared->slot_rows = slot_rows;
	SpinLockInit(&shared->mutex);
	ConditionVariableInit(&shared->readycv);
	ConditionVariableInit(&shared->donecv);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_TRAIN, shared);

	tw = palloc0(sizeof(IvfpqTrainWorkers));
	tw->pcxt = pcxt;
	tw->shared = shared;
	carve_data(&tw->data, shm_toc_allocate(pcxt->toc, data_bytes), dims, k, nslots, slot_rows);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_TRAIN_DATA, tw->data.ct);
	tw->step = step;
	tw->scratch = MemoryContextAllocHuge(CurrentMemoryContext, leader_scratch);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		elog(DEBUG1, "ivfpq build: no parallel worker could start for training");
		ivfpq_train_workers_end(tw);
		return NULL;
	}
	elog(DEBUG1, "ivfpq build: training with %d parallel workers", pcxt->nworkers_launched);

	params->assign = assign_shared;
	params->assign_arg = tw;
	return tw;
}

/* The final assignment of the sample, shared like the passes. */
void
ivfpq_train_workers_assign(IvfpqTrainWorkers *tw, const float *x, int n, const float *ct,
						   const float *norms, int32 *nearest)
{
	for (int i = 0; i < n; i++)
		nearest[i] = -1;
	(void) assign_shared(tw, x, n, tw->shared->dims, tw->shared->dims, ct, tw->shared->k, norms,
						 nearest, NULL);
}

void
ivfpq_train_workers_end(IvfpqTrainWorkers *tw)
{
	SpinLockAcquire(&tw->shared->mutex);
	tw->shared->finished = true;
	SpinLockRelease(&tw->shared->mutex);
	ConditionVariableBroadcast(&tw->shared->readycv);
	WaitForParallelWorkersToFinish(tw->pcxt);
	DestroyParallelContext(tw->pcxt);
	ExitParallelMode();
	pfree(tw->scratch);
	pfree(tw);
}

/* A worker: take ready slots until training is over. */
void
ivfpq_train_worker_main(dsm_segment *seg, shm_toc *toc)
{
	IvfpqTrainShared *sh = shm_toc_lookup(toc, PARALLEL_KEY_TRAIN, false);
	TrainData	data;
	int			step = vqpq_assign_rows(sh->k, sh->dims);
	float	   *scratch = MemoryContextAllocHuge(CurrentMemoryContext, worker_memory(sh->dims, sh->k));

	carve_data(&data, shm_toc_lookup(toc, PARALLEL_KEY_TRAIN_DATA, false), sh->dims, sh->k,
			   sh->nslots, sh->slot_rows);
	for (;;)
	{
		int			s = take_ready_slot(sh);
		bool		finished;

		if (s >= 0)
		{
			Size		first = (Size) s * sh->slot_rows;

			for (int i = 0; i < sh->slots[s].nrows; i += step)
				vqpq_nearest(data.rows + (first + i) * sh->dims, Min(step, sh->slots[s].nrows - i),
							 sh->dims, sh->dims, data.ct, sh->k, data.norms,
							 data.nearest + first + i, data.distance + first + i, scratch,
							 ivfpq_check_interrupts);
			set_slot_state(sh, s, SLOT_DONE);
			ConditionVariableBroadcast(&sh->donecv);
			continue;
		}
		SpinLockAcquire(&sh->mutex);
		finished = sh->finished;
		SpinLockRelease(&sh->mutex);
		if (finished)
			break;
		ConditionVariableSleep(&sh->readycv, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}
