/*
 * pqvector.h
 *		The pqvector type: a varlena of float4 elements.
 *
 * The layout (header, int16 dim, int16 reserved, floats) matches what the
 * binary send/recv format carries, so a value maps one to one onto the wire.
 */
#ifndef VQPQ_PQVECTOR_H
#define VQPQ_PQVECTOR_H

#include "postgres.h"

#include "fmgr.h"

#define PQVECTOR_MAX_DIM 16000

typedef struct PqVector
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int16		dim;			/* number of elements */
	int16		unused;			/* reserved, always 0 */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} PqVector;

/* dim is at most PQVECTOR_MAX_DIM, so this cannot overflow */
#define PQVECTOR_SIZE(dim) (offsetof(PqVector, x) + sizeof(float) * (Size) (dim))

#define DatumGetPqVectorP(d)		((PqVector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_PQVECTOR_P(n)		DatumGetPqVectorP(PG_GETARG_DATUM(n))
#define PG_RETURN_PQVECTOR_P(v)		PG_RETURN_POINTER(v)

extern PqVector *pqvector_new(int dim);
extern void pqvector_check_dim(int dim);
extern void pqvector_check_typmod(int32 typmod, int dim);
extern void pqvector_check_same_dims(const PqVector *a, const PqVector *b);
extern void pqvector_check_finite(float value);

#endif							/* VQPQ_PQVECTOR_H */
