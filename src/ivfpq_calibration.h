/*
 * ivfpq_calibration.h
 *		The build measures which vqpq.nprobe and vqpq.rerank reach which
 *		recall on rows of the table, and scans use that to choose them for
 *		vqpq.target_recall (ivfpq_calibration.c).
 */
#ifndef VQPQ_IVFPQ_CALIBRATION_H
#define VQPQ_IVFPQ_CALIBRATION_H

#include "ivfpq.h"

/* recall@10, the common LIMIT */
#define IVFPQ_CALIB_K			10

/* a row near a calibration query */
typedef struct IvfpqCalibNeighbor
{
	float		distance;
	ItemPointerData tid;
} IvfpqCalibNeighbor;

typedef struct IvfpqCalibration
{
	int			nqueries;
	int			dims;
	IvfpqMetric metric;
	float	   *queries;		/* nqueries x dims, prepared as the index keeps rows */
	float	   *queries_t;		/* dims x nqueries, for dot_block */
	float	   *norms;			/* |q|^2 */
	ItemPointerData *self;		/* each query's own row, not its neighbour */

	/* each query's IVFPQ_CALIB_K nearest rows so far, ascending */
	IvfpqCalibNeighbor *nearest;	/* nqueries x IVFPQ_CALIB_K */
	int		   *found;			/* nqueries */
	float	   *dots;			/* VQPQ_ASSIGN_BLOCK x nqueries */
} IvfpqCalibration;

/*
 * Choose the queries among the training sample's rows (prepared, with
 * their TIDs), before training overwrites them; NULL if there are too few.
 */
extern IvfpqCalibration *ivfpq_calib_from_sample(IvfpqMetric metric, int dims, const float *samples,
												 const ItemPointerData *tids, int nsamples);

/*
 * A parallel build's shared copy: the queries and their TIDs, then each
 * participant's nearest rows.  ivfpq_calib_shared_size gives its bytes,
 * ivfpq_calib_export fills it, ivfpq_calib_import sets up a participant
 * from it, ivfpq_calib_publish puts the participant's nearest rows in its
 * slot and ivfpq_calib_collect folds every slot into the leader's.
 */
extern Size ivfpq_calib_shared_size(int nqueries, int dims, int nparticipants);
extern void ivfpq_calib_export(const IvfpqCalibration *c, char *shared);
extern IvfpqCalibration *ivfpq_calib_import(IvfpqMetric metric, int dims, int nqueries, const char *shared);
extern void ivfpq_calib_publish(const IvfpqCalibration *c, char *shared, int participant);
extern void ivfpq_calib_collect(IvfpqCalibration *c, const char *shared, int nparticipants);

/* Offer n <= VQPQ_ASSIGN_BLOCK prepared rows (skip[i]: not a candidate). */
extern void ivfpq_calib_offer(IvfpqCalibration *c, const float *rows, const ItemPointerData *tids,
							  const bool *skip, int n);

/*
 * With the index's pages written, measure recall at the grid's settings
 * through the index's own scoring, into meta's calibration fields.
 */
extern void ivfpq_calib_measure(IvfpqCalibration *c, Relation index, IvfpqMetaPageData *meta);

/* A problem with meta's calibration fields, or NULL. */
extern char *ivfpq_calib_problem(const IvfpqMetaPageData *meta);

/* What a scan of an index uses, and why. */
typedef struct IvfpqSettings
{
	int			nprobe;
	int			rerank;			/* 0: none */
	double		recall;			/* the calibration's recall there, or -1 */
	bool		from_calibration;	/* some chosen by vqpq.target_recall */
} IvfpqSettings;

/*
 * vqpq.nprobe and vqpq.rerank when set, else what vqpq.target_recall
 * chooses from the index's calibration, the cheapest setting measured to
 * reach it (external_rows: vectors are read from TOAST, re-ranking costs
 * more); 10 and 100 for an index without one.
 */
extern void ivfpq_choose_settings(const IvfpqMetaPageData *meta, bool external_rows, IvfpqSettings *out);

/* Whether a scan of index reads its vectors out of line (TOAST). */
extern bool ivfpq_rows_external(Relation index, Relation heap);

#endif							/* VQPQ_IVFPQ_CALIBRATION_H */
