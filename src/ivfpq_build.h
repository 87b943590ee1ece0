/*
 * ivfpq_build.h
 *		CREATE INDEX for ivfpq, shared by its steps, one file each:
 *
 *	ivfpq_build.c			the entry points, and the steps in order
 *	ivfpq_build_plan.c		nlist, m, nbits, the sample size, the memory
 *	ivfpq_build_sample.c	block sampling with a reservoir, as ANALYZE does
 *	ivfpq_build_train.c		k-means for the coarse and the product quantizer
 *	ivfpq_build_train_parallel.c	the coarse k-means's assignment passes and
 *							the sub-spaces' k-means, shared with workers
 *	ivfpq_build_encode.c	assigning and encoding every row, sorted by list
 *	ivfpq_build_parallel.c	the same, shared with parallel workers
 *	ivfpq_build_write.c		the pages: quantizer first, then lists and entries
 *	ivfpq_calibration.c		the recall of nprobe and rerank, measured at the end
 */
#ifndef VQPQ_IVFPQ_BUILD_H
#define VQPQ_IVFPQ_BUILD_H

#include "access/parallel.h"
#include "utils/sampling.h"
#include "utils/tuplesort.h"

#include "ivfpq.h"

#define COARSE_ITERATIONS	10
#define PQ_ITERATIONS		12
#define KMEANS_SEED			20261121
#define SAMPLES_PER_LIST	64
#define MIN_SAMPLES			16384
#define MAX_SAMPLES			262144

/* tuplesort's smallest workMem, in kB */
#define MIN_SORT_KB			64

typedef struct IvfpqBuildState
{
	Relation	heap;			/* NULL for an unlogged index's init fork */
	Relation	index;
	IndexInfo  *indexInfo;
	ForkNumber	forknum;

	IvfpqMetric metric;
	IvfpqElement element;
	int			dims;
	int			nlist;
	int			m;
	int			nbits;

	/* sampling */
	float	   *samples;
	ItemPointerData *sample_tids;
	int			target;
	int			nsamples;
	int			minimum_samples;	/* for good training: max(nlist, ksub) */
	Size		memory_required;	/* to train on minimum_samples rows */
	Size		training_memory;	/* to train on target rows */
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
	bool	   *batch_nodir;	/* no direction (cosine): the chain after the lists */
	bool	   *batch_skip;		/* not a calibration neighbour: dead, or no direction */
	int			batch_n;
	int32	   *batch_lists;
	uint8	   *batch_codes;
	uint8	   *batch_filters;	/* filter_size bytes a row (ivfpq_filter.c) */
	float	   *scratch;
	Tuplesortstate *sort;
	TupleDesc	sortdesc;
	TupleTableSlot *slot;
	double		heap_tuples;
	double		index_tuples;
	MemoryContext tmpctx;

	/* recall calibration (ivfpq_calibration.c), or NULL */
	struct IvfpqCalibration *calib;

	/* parallel encoding (leader only) */
	ParallelContext *pcxt;
	struct IvfpqShared *shared;
	Sharedsort *sharedsort;
	char	   *shared_calib;
	Snapshot	snapshot;
	int			nparticipants;
} IvfpqBuildState;

/* ivfpq_build_plan.c */
extern void ivfpq_choose_code(int dims, int filter_size, int m_option, int nbits_option, int *m, int *nbits);
extern int	ivfpq_build_option(Relation index, int field_offset);
extern void ivfpq_plan_build(IvfpqBuildState *bs);
extern void ivfpq_build_memory_error(IvfpqBuildState *bs);
extern Size ivfpq_encoder_memory(int nlist, int dims, int m, int nbits);

/* ivfpq_build_sample.c */
extern void ivfpq_sample_rows(IvfpqBuildState *bs);

/* ivfpq_build_train.c */
extern void ivfpq_train(IvfpqBuildState *bs);

/* ivfpq_build_train_parallel.c */
typedef struct IvfpqTrainWorkers IvfpqTrainWorkers;
extern IvfpqTrainWorkers *ivfpq_train_workers_begin(IvfpqBuildState *bs, int n, VqpqKmeansParams *params);
extern void ivfpq_train_workers_assign(IvfpqTrainWorkers *tw, const float *x, int n, const float *ct,
									   const float *norms, int32 *nearest);
extern double ivfpq_train_workers_pq(IvfpqTrainWorkers *tw, VqpqPq *pq, const float *x, int n, int ldx,
									 const VqpqKmeansParams *params);
extern void ivfpq_train_workers_end(IvfpqTrainWorkers *tw);

/* ivfpq_build_encode.c */
extern void ivfpq_begin_sort(IvfpqBuildState *bs, int workmem, SortCoordinate coordinate);
extern void ivfpq_begin_batches(IvfpqBuildState *bs);
extern void ivfpq_encode_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
								  bool alive, void *state);
extern void ivfpq_flush_batch(IvfpqBuildState *bs);
extern void ivfpq_encode_rows(IvfpqBuildState *bs);

/* ivfpq_build_parallel.c */
extern int	ivfpq_planned_workers(IvfpqBuildState *bs);
extern bool ivfpq_encode_in_parallel(IvfpqBuildState *bs);
extern void ivfpq_end_parallel(IvfpqBuildState *bs);

/* ivfpq_build_write.c */
extern void ivfpq_write_quantizer(IvfpqBuildState *bs);
extern void ivfpq_write_lists(IvfpqBuildState *bs);
extern void ivfpq_write_meta(IvfpqBuildState *bs);

#endif							/* VQPQ_IVFPQ_BUILD_H */
