/*
 * vqpq.c
 *		Module initialization.
 */
#include "postgres.h"

#include "fmgr.h"

#include "distance.h"
#include "fastscan.h"
#include "half.h"
#include "ivfpq.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* choose the distance kernels for this CPU once per backend */
	vqpq_distance_init();
	vqpq_fastscan_init();
	vqpq_half_init();
	/* ivfpq reloptions and vqpq.* settings */
	ivfpq_init();
}
