/*
 * ivfpq_build_train_parallel.c
 *		Training shared with parallel workers: the coarse k-means's
 *		assignment passes, and the product quantizer's sub-spaces.
 *
 * Most of training is finding each sample row's nearest centroid, ten
 * times over, and then one k-means per sub-space on the residuals.  The
 * leader keeps the sample and does everything else; it hands out jobs a
 * slot of shared memory at a time: it copies a job's input into a free
 * slot, a worker takes it, does it and marks it done, and the leader copies
 * the answer out and refills the slot.  A job is a run of rows to assign
 * to the centroids (which the leader puts in shared memory for each pass),
 * or a sub-space's columns of the residuals to cluster.  Between refills
 * the leader does jobs of its own, and at the end it takes slots no worker
 * has taken, so a worker that never starts only costs time.  A job's answer
 * depends only on its input, so the quantizer, and the index, are the same
 * with any number of workers.
 *
 * The segment holds the centroids and a few slots; a quantizer with more
 * than MAX_SHARED_CENTROIDS bytes of centroids is trained by the leader
 * alone, and sub-spaces whose columns take more than MAX_SHARED_SUBSPACE
 * bytes are, rather than ask for a segment that large.
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

/* work worth a worker, in multiply-adds: about 15 ms of one core's */
#define MIN_PARALLEL_WORK		((double) (1 << 28))
/* the most bytes of centroids, and of one sub-space's columns, shared */
#define MAX_SHARED_CENTROIDS	((Size) 32 * 1024 * 1024)
#define MAX_SHARED_SUBSPACE		((Size) 16 * 1024 * 1024)
/* slots per worker: one to work on, one filled and waiting */
#define SLOTS_PER_WORKER		2
/* a run of rows: at least this many multiply-adds, at most this many bytes */
#define SLOT_WORK				((Size) 1 << 25)
#define SLOT_BYTES				((Size) 4 * 1024 * 1024)

typedef enum TrainSlotState
{
	SLOT_EMPTY,					/* the leader's, to fill */
	SLOT_READY,					/* a job in it, for whoever takes it */
	SLOT_BUSY,					/* taken */
	SLOT_DONE					/* a worker's answer in it, for the leader */
} TrainSlotState;

typedef enum TrainJobKind
{
	JOB_ASSIGN,					/* a run of rows: their nearest centroids */
	JOB_SUBSPACE				/* sub-space job's columns: k-means */
} TrainJobKind;

typedef struct TrainSlot
{
	TrainSlotState state;
	TrainJobKind kind;
	int			job;			/* its number, in the leader's order */
	int			nrows;			/* JOB_ASSIGN: rows from job x slot_rows on */
	double		error;			/* JOB_SUBSPACE: the answer's error */
} TrainSlot;

typedef struct IvfpqTrainShared
{
	int			dims;
	int			k;				/* coarse centroids */
	int			nslots;
	int			slot_rows;		/* rows of a JOB_ASSIGN */
	Size		slot_floats;	/* each slot's data */
	/* the product quantizer, if its sub-spaces are shared */
	bool		share_pq;
	int			m;
	int			nbits;
	int			pq_rows;
	int			pq_iterations;
	uint64		pq_seed;

	bool		finished;		/* no more jobs: workers exit */
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
	float	   *slot_data;		/* nslots x slot_floats: rows, or columns and codebook */
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

/* How the leader hands out a phase's jobs, and does them itself. */
typedef struct TrainJobOps
{
	TrainJobKind kind;
	/* put job's input into empty slot s */
	void		(*fill) (IvfpqTrainWorkers *tw, int s, int job, void *arg);
	/* take a worker's answer from done slot s */
	void		(*collect) (IvfpqTrainWorkers *tw, int s, void *arg);
	/* do job here; its input is in slot s, or s is -1 */
	void		(*run) (IvfpqTrainWorkers *tw, int s, int job, void *arg);
} TrainJobOps;

PGDLLEXPORT void ivfpq_train_worker_main(dsm_segment *seg, shm_toc *toc);

static Size
data_size(int dims, int k, int nslots, int slot_rows, Size slot_floats)
{
	Size		ints = mul_size(nslots, slot_rows);

	return add_size(add_size(mul_size(mul_size(k, add_size(dims, 1)), sizeof(float)),
							 mul_size(mul_size(nslots, slot_floats), sizeof(float))),
					mul_size(ints, sizeof(int32) + sizeof(float)));
}

static void
carve_data(TrainData *data, char *base, IvfpqTrainShared *sh)
{
	Size		ints = (Size) sh->nslots * sh->slot_rows;

	data->ct = (float *) base;
	data->norms = data->ct + (Size) sh->k * sh->dims;
	data->slot_data = data->norms + sh->k;
	data->nearest = (int32 *) (data->slot_data + sh->nslots * sh->slot_floats);
	data->distance = (float *) (data->nearest + ints);
}

static float *
slot_floats(IvfpqTrainWorkers *tw, int s)
{
	return tw->data.slot_data + (Size) s * tw->shared->slot_floats;
}

/* A worker's memory: vqpq_nearest's scratch (vqpq_assign_rows(k, d) rows). */
static Size
assign_memory(int dims, int k)
{
	return mul_size(mul_size(vqpq_assign_rows(k, dims), k), sizeof(float));
}

/* And for a sub-space: a product quantizer's offsets, and k-means's workspace. */
static Size
subspace_memory(int dims, int m, int nbits, int n, int max_dsub)
{
	return add_size(vqpq_pq_arrays_size(dims, m, nbits),
					vqpq_kmeans_workspace_size(n, max_dsub, 1 << nbits));
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

/*
 * Jobs 0 to njobs - 1, handed out in order to empty slots, done by workers
 * or here.  Every slot is empty before and after.
 */
static void
run_jobs(IvfpqTrainWorkers *tw, int njobs, const TrainJobOps *ops, void *arg)
{
	IvfpqTrainShared *sh = tw->shared;
	int			next = 0;		/* the first job not handed out */
	int			outstanding = 0;	/* slots ready or busy */

	while (next < njobs || outstanding > 0)
	{
		bool		handed_out = false;
		int			s;

		for (s = 0; s < sh->nslots; s++)
		{
			TrainSlotState state = slot_state(sh, s);

			if (state == SLOT_DONE)
			{
				ops->collect(tw, s, arg);
				set_slot_state(sh, s, SLOT_EMPTY);
				state = SLOT_EMPTY;
				outstanding--;
			}
			if (state == SLOT_EMPTY && next < njobs)
			{
				/* the slot is the leader's until the spinlock marks it ready */
				sh->slots[s].kind = ops->kind;
				sh->slots[s].job = next;
				ops->fill(tw, s, next, arg);
				set_slot_state(sh, s, SLOT_READY);
				next++;
				outstanding++;
				handed_out = true;
			}
		}
		if (handed_out)
			ConditionVariableBroadcast(&sh->readycv);

		if (next < njobs)
		{
			/* one of its own before looking at the slots again */
			ops->run(tw, -1, next++, arg);
			continue;
		}
		if (outstanding == 0)
			break;

		/* every job handed out: do one no worker has taken yet */
		s = take_ready_slot(sh);
		if (s >= 0)
		{
			ops->run(tw, s, sh->slots[s].job, arg);
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
}

/* An assignment pass: its rows, and where the answers go. */
typedef struct AssignPass
{
	const float *x;
	int			n;
	int			ldx;
	int32	   *assign;
	float	   *distance;		/* or NULL */
	int			changed;
} AssignPass;

/* Record a row's answer. */
static inline void
record(AssignPass *pass, int row, int32 nearest, float dist)
{
	if (pass->assign[row] != nearest)
		pass->changed++;
	pass->assign[row] = nearest;
	if (pass->distance)
		pass->distance[row] = dist;
}

static void
assign_fill(IvfpqTrainWorkers *tw, int s, int job, void *arg)
{
	AssignPass *pass = arg;
	TrainSlot  *slot = &tw->shared->slots[s];
	float	   *rows = slot_floats(tw, s);
	int			d = tw->shared->dims;
	int			start = job * tw->shared->slot_rows;

	slot->nrows = Min(tw->shared->slot_rows, pass->n - start);
	for (int r = 0; r < slot->nrows; r++)
		memcpy(rows + (Size) r * d, pass->x + (Size) (start + r) * pass->ldx, sizeof(float) * d);
}

static void
assign_collect(IvfpqTrainWorkers *tw, int s, void *arg)
{
	TrainSlot  *slot = &tw->shared->slots[s];
	int32	   *nearest = tw->data.nearest + (Size) s * tw->shared->slot_rows;
	float	   *dist = tw->data.distance + (Size) s * tw->shared->slot_rows;
	int			start = slot->job * tw->shared->slot_rows;

	for (int r = 0; r < slot->nrows; r++)
		record(arg, start + r, nearest[r], dist[r]);
}

/* A job's rows, from the leader's own copy, in calls of step rows. */
static void
assign_run(IvfpqTrainWorkers *tw, int s, int job, void *arg)
{
	AssignPass *pass = arg;
	IvfpqTrainShared *sh = tw->shared;
	int			start = job * sh->slot_rows;
	int			n = Min(sh->slot_rows, pass->n - start);
	int32		nearest[VQPQ_ASSIGN_BLOCK];
	float		dist[VQPQ_ASSIGN_BLOCK];

	for (int i = 0; i < n; i += tw->step)
	{
		int			rows = Min(tw->step, n - i);

		vqpq_nearest(pass->x + (Size) (start + i) * pass->ldx, rows, pass->ldx, sh->dims,
					 tw->data.ct, sh->k, tw->data.norms, nearest, dist, tw->scratch,
					 ivfpq_check_interrupts);
		for (int r = 0; r < rows; r++)
			record(pass, start + i + r, nearest[r], dist[r]);
	}
}

static const TrainJobOps assign_ops = {JOB_ASSIGN, assign_fill, assign_collect, assign_run};

/* The assignment step as a VqpqAssignFunction, shared with the workers. */
static int
assign_shared(void *arg, const float *x, int n, int ldx, int d, const float *ct, int k,
			  const float *norms, int32_t *assign, float *distance)
{
	IvfpqTrainWorkers *tw = arg;
	IvfpqTrainShared *sh = tw->shared;
	AssignPass	pass = {x, n, ldx, assign, distance, 0};

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
	run_jobs(tw, (n + sh->slot_rows - 1) / sh->slot_rows, &assign_ops, &pass);
	return pass.changed;
}

/* The product quantizer's training: sub-space j is job j. */
typedef struct SubspaceTraining
{
	VqpqPq	   *pq;
	const float *x;
	int			n;
	int			ldx;
	const VqpqKmeansParams *params;
	float	   *sub;			/* the leader's: a sub-space's columns */
	void	   *kmeans_ws;		/* and k-means's workspace */
	double	   *errors;			/* per sub-space */
} SubspaceTraining;

static float *
codebook_of(const VqpqPq *pq, int j)
{
	return pq->codebook + (Size) pq->ksub * pq->offset[j];
}

static void
subspace_fill(IvfpqTrainWorkers *tw, int s, int job, void *arg)
{
	SubspaceTraining *t = arg;

	vqpq_pq_subspace_rows(t->pq, job, t->x, t->n, t->ldx, slot_floats(tw, s));
}

static void
subspace_collect(IvfpqTrainWorkers *tw, int s, void *arg)
{
	SubspaceTraining *t = arg;
	TrainSlot  *slot = &tw->shared->slots[s];
	int			dsub = t->pq->offset[slot->job + 1] - t->pq->offset[slot->job];

	memcpy(codebook_of(t->pq, slot->job), slot_floats(tw, s) + (Size) t->n * t->pq->max_dsub,
		   sizeof(float) * (Size) t->pq->ksub * dsub);
	t->errors[slot->job] = slot->error;
}

static void
subspace_run(IvfpqTrainWorkers *tw, int s, int job, void *arg)
{
	SubspaceTraining *t = arg;
	float	   *sub = s >= 0 ? slot_floats(tw, s) : t->sub;

	if (s < 0)
		vqpq_pq_subspace_rows(t->pq, job, t->x, t->n, t->ldx, sub);
	t->errors[job] = vqpq_pq_train_subspace(t->pq, job, sub, t->n, t->params,
											codebook_of(t->pq, job), t->kmeans_ws);
}

static const TrainJobOps subspace_ops = {JOB_SUBSPACE, subspace_fill, subspace_collect, subspace_run};

/*
 * Start workers for training on n sample rows, if the work is worth sharing
 * and the planner allows workers; NULL if the leader trains alone.  On
 * success, coarse's assignment step is the shared one.
 */
IvfpqTrainWorkers *
ivfpq_train_workers_begin(IvfpqBuildState *bs, int n, VqpqKmeansParams *coarse)
{
	int			dims = bs->dims;
	int			k = bs->nlist;
	int			ksub = bs->quantizer.pq.ksub;
	int			max_dsub = bs->quantizer.pq.max_dsub;
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		left = budget > bs->training_memory ? budget - bs->training_memory : 0;
	Size		per_worker = assign_memory(dims, k);
	Size		leader_scratch = per_worker;
	Size		subspace_bytes = mul_size(add_size(n, ksub), mul_size(max_dsub, sizeof(float)));
	bool		share_pq;
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
	Size		floats;

	/* a coarse pass, or one of every sub-space's (counting at least 64 a row for its overheads) */
	if ((double) n * k * dims < MIN_PARALLEL_WORK &&
		(double) n * bs->m * Max(ksub * max_dsub, 64) < MIN_PARALLEL_WORK)
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
	share_pq = bs->m > 1 && subspace_bytes <= MAX_SHARED_SUBSPACE &&
		mul_size(workers, add_size(per_worker, subspace_memory(dims, bs->m, bs->nbits, n, max_dsub))) <= left;
	if (!share_pq)
		elog(DEBUG1, "ivfpq build: training the product quantizer without parallel workers");

	/* a job of rows: a whole number of vqpq_nearest's calls */
	call_work = (Size) k * dims * step;
	call_bytes = (Size) dims * sizeof(float) * step;
	slot_rows = step * (int) Max((Size) 1, Min((SLOT_WORK + call_work - 1) / call_work, SLOT_BYTES / call_bytes));
	floats = (Size) slot_rows * dims;
	if (share_pq)
		floats = Max(floats, subspace_bytes / sizeof(float));
	nslots = SLOTS_PER_WORKER * workers;

	EnterParallelMode();
	pcxt = CreateParallelContext("vqpq", "ivfpq_train_worker_main", workers);
	shared_size = add_size(offsetof(IvfpqTrainShared, slots), mul_size(nslots, sizeof(TrainSlot)));
	data_bytes = data_size(dims, k, nslots, slot_rows, floats);
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
	shared->slot_floats = floats;
	shared->share_pq = share_pq;
	shared->m = bs->m;
	shared->nbits = bs->nbits;
	shared->pq_rows = n;
	SpinLockInit(&shared->mutex);
	ConditionVariableInit(&shared->readycv);
	ConditionVariableInit(&shared->donecv);
	shm_toc_insert(pcxt->toc, PARALLEL_KEY_TRAIN, shared);

	tw = palloc0(sizeof(IvfpqTrainWorkers));
	tw->pcxt = pcxt;
	tw->shared = shared;
	tw->step = step;
	tw->scratch = MemoryContextAllocHuge(CurrentMemoryContext, leader_scratch);
	{
		char	   *data = shm_toc_allocate(pcxt->toc, data_bytes);

		carve_data(&tw->data, data, shared);
		shm_toc_insert(pcxt->toc, PARALLEL_KEY_TRAIN_DATA, data);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		elog(DEBUG1, "ivfpq build: no parallel worker could start for training");
		ivfpq_train_workers_end(tw);
		return NULL;
	}
	elog(DEBUG1, "ivfpq build: training with %d parallel workers", pcxt->nworkers_launched);

	coarse->assign = assign_shared;
	coarse->assign_arg = tw;
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

/*
 * vqpq_pq_train on n rows of x (tw may be NULL), its sub-spaces shared with
 * the workers if they can take them; the same answer either way, and the
 * same memory here.
 */
double
ivfpq_train_workers_pq(IvfpqTrainWorkers *tw, VqpqPq *pq, const float *x, int n, int ldx,
					   const VqpqKmeansParams *params)
{
	SubspaceTraining t;
	double		error = 0.0;

	if (tw == NULL || !tw->shared->share_pq)
	{
		void	   *ws = MemoryContextAllocHuge(CurrentMemoryContext, vqpq_pq_train_workspace_size(pq, n));

		error = vqpq_pq_train(pq, x, n, ldx, params, ws);
		pfree(ws);
		return error;
	}
	if (n != tw->shared->pq_rows || pq->m != tw->shared->m || pq->nbits != tw->shared->nbits)
		elog(ERROR, "ivfpq training workers were set up for another product quantizer");

	t.pq = pq;
	t.x = x;
	t.n = n;
	t.ldx = ldx;
	t.params = params;
	t.sub = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(mul_size(n, pq->max_dsub), sizeof(float)));
	t.kmeans_ws = MemoryContextAllocHuge(CurrentMemoryContext, vqpq_kmeans_workspace_size(n, pq->max_dsub, pq->ksub));
	t.errors = palloc0(sizeof(double) * pq->m);
	tw->shared->pq_iterations = params->max_iterations;
	tw->shared->pq_seed = params->seed;
	run_jobs(tw, pq->m, &subspace_ops, &t);
	for (int j = 0; j < pq->m; j++)
		error += t.errors[j];
	pfree(t.errors);
	pfree(t.kmeans_ws);
	pfree(t.sub);
	vqpq_pq_prepare(pq);
	return error;
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

/* A worker's JOB_ASSIGN: the slot's rows, their answers beside them. */
static void
work_assign(IvfpqTrainShared *sh, TrainData *data, int s, float *scratch)
{
	Size		first = (Size) s * sh->slot_rows;

	vqpq_nearest(data->slot_data + (Size) s * sh->slot_floats, sh->slots[s].nrows, sh->dims, sh->dims,
				 data->ct, sh->k, data->norms, data->nearest + first, data->distance + first, scratch,
				 ivfpq_check_interrupts);
}

/* A worker's JOB_SUBSPACE: k-means on the slot's columns, the codebook after them. */
static void
work_subspace(IvfpqTrainShared *sh, TrainData *data, int s, VqpqPq *pq, void *kmeans_ws)
{
	VqpqKmeansParams params = {sh->pq_iterations, sh->pq_seed, ivfpq_check_interrupts};
	float	   *sub = data->slot_data + (Size) s * sh->slot_floats;

	sh->slots[s].error = vqpq_pq_train_subspace(pq, sh->slots[s].job, sub, sh->pq_rows, &params,
												sub + (Size) sh->pq_rows * pq->max_dsub, kmeans_ws);
}

/* A worker: take ready slots until training is over. */
void
ivfpq_train_worker_main(dsm_segment *seg, shm_toc *toc)
{
	IvfpqTrainShared *sh = shm_toc_lookup(toc, PARALLEL_KEY_TRAIN, false);
	TrainData	data;
	float	   *scratch = NULL;
	VqpqPq		pq;
	void	   *kmeans_ws = NULL;

	carve_data(&data, shm_toc_lookup(toc, PARALLEL_KEY_TRAIN_DATA, false), sh);
	for (;;)
	{
		int			s = take_ready_slot(sh);
		bool		finished;

		if (s >= 0)
		{
			if (sh->slots[s].kind == JOB_ASSIGN)
			{
				if (scratch == NULL)
					scratch = MemoryContextAllocHuge(CurrentMemoryContext, assign_memory(sh->dims, sh->k));
				work_assign(sh, &data, s, scratch);
			}
			else
			{
				if (kmeans_ws == NULL)
				{
					vqpq_pq_init(&pq, sh->dims, sh->m, sh->nbits,
								 MemoryContextAllocHuge(CurrentMemoryContext,
														vqpq_pq_arrays_size(sh->dims, sh->m, sh->nbits)));
					kmeans_ws = MemoryContextAllocHuge(CurrentMemoryContext,
													   vqpq_kmeans_workspace_size(sh->pq_rows, pq.max_dsub, pq.ksub));
				}
				work_subspace(sh, &data, s, &pq, kmeans_ws);
			}
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
