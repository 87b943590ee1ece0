/*
 * ivfpq_values.c
 *		What an ivfpq index reads from the values it indexes: the metric
 *		and element type its operator class names, the dimensions its column
 *		declares, a value's floats, prepared as the index stores them, and
 *		exact distances.
 *
 * The index takes three types, all a varlena with int16 dimensions, int16
 * reserved and the elements: pqvector and pgvector's vector (float4
 * elements, the same layout) and pgvector's halfvec (float16 elements).  It
 * reads them by that layout; nothing here calls into pgvector.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "fmgr.h"
#include "utils/rel.h"

#include "distance.h"
#include "half.h"
#include "ivfpq.h"
#include "pqvector.h"

/* a halfvec value, as pgvector lays it out */
typedef struct HalfVectorValue
{
	int32		vl_len_;
	int16		dim;
	int16		unused;
	uint16		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVectorValue;

/*
 * Each operator class names its metric through support function 1, a C
 * function returning the IvfpqMetric as an integer.
 */
#define SUPPORT_FUNCTION(name, value) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_INT32(value); \
}

SUPPORT_FUNCTION(ivfpq_l2_support, IVFPQ_METRIC_L2)
SUPPORT_FUNCTION(ivfpq_ip_support, IVFPQ_METRIC_IP)
SUPPORT_FUNCTION(ivfpq_cosine_support, IVFPQ_METRIC_COSINE)

/* ... and, optionally, its element type through support function 2 */
SUPPORT_FUNCTION(ivfpq_halfvec_support, IVFPQ_ELEMENT_FLOAT16)

IvfpqMetric
ivfpq_index_metric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, 1, IVFPQ_METRIC_PROC);
	int32		metric = DatumGetInt32(FunctionCall1(proc, (Datum) 0));

	if (metric < IVFPQ_METRIC_L2 || metric > IVFPQ_METRIC_COSINE)
		elog(ERROR, "ivfpq operator class support function 1 returned unknown metric %d", metric);
	return (IvfpqMetric) metric;
}

/* float4 (pqvector, vector), unless support function 2 says float16 (halfvec) */
IvfpqElement
ivfpq_index_element(Relation index)
{
	int32		element;

	if (!RegProcedureIsValid(index_getprocid(index, 1, IVFPQ_ELEMENT_PROC)))
		return IVFPQ_ELEMENT_FLOAT4;
	element = DatumGetInt32(FunctionCall1(index_getprocinfo(index, 1, IVFPQ_ELEMENT_PROC), (Datum) 0));
	if (element != IVFPQ_ELEMENT_FLOAT4 && element != IVFPQ_ELEMENT_FLOAT16)
		elog(ERROR, "ivfpq operator class support function 2 returned unknown element type %d", element);
	return (IvfpqElement) element;
}

/* The declared dimensions of the indexed column (pqvector(n), vector(n), halfvec(n)). */
int
ivfpq_index_dims(Relation index)
{
	int32		typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	if (typmod < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column does not have dimensions"),
				 errhint("Index a column declared with its dimensions, such as pqvector(n) or vector(n), "
						 "or an expression cast to one.")));
	if (typmod > PQVECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ivfpq indexes at most %d dimensions, not %d", PQVECTOR_MAX_DIM, typmod)));
	return typmod;
}

/* The bytes a value of dims elements takes, with its header. */
Size
ivfpq_value_size(IvfpqElement element, int dims)
{
	return offsetof(PqVector, x) + (Size) dims * (element == IVFPQ_ELEMENT_FLOAT16 ? 2 : 4);
}

/*
 * The dims floats of a value (detoasted if it must be) into out; an error
 * if it has other dimensions.
 */
void
ivfpq_value_floats(IvfpqElement element, int dims, Datum value, float *out)
{
	struct varlena *raw = PG_DETOAST_DATUM(value);
	int			dim = ((PqVector *) raw)->dim;

	if (dim != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions for the ivfpq index, not %d", dims, dim)));
	if (element == IVFPQ_ELEMENT_FLOAT16)
		vqpq_half.to_float(((HalfVectorValue *) raw)->x, out, dims);
	else
		memcpy(out, ((PqVector *) raw)->x, sizeof(float) * dims);
	if ((Pointer) raw != DatumGetPointer(value))
		pfree(raw);
}

/*
 * Floats as the index keeps them: normalized for cosine, in place.
 * Returns false for a zero vector under cosine (it has no direction; it
 * stays zero, and its exact distance is NaN).
 */
static bool
prepare(IvfpqMetric metric, int dims, float *x)
{
	if (metric == IVFPQ_METRIC_COSINE)
	{
		double		norm = sqrt((double) vqpq_kernels.inner_product(x, x, dims));

		if (norm == 0.0)
			return false;
		for (int i = 0; i < dims; i++)
			x[i] = (float) (x[i] / norm);
	}
	return true;
}

/* A value's floats, prepared (see prepare), into out. */
bool
ivfpq_prepare_vector(IvfpqMetric metric, IvfpqElement element, int dims, Datum value, float *out)
{
	ivfpq_value_floats(element, dims, value, out);
	return prepare(metric, dims, out);
}

/* floats already read, prepared (see prepare), into out */
bool
ivfpq_prepare_floats(IvfpqMetric metric, int dims, const float *x, float *out)
{
	memcpy(out, x, sizeof(float) * dims);
	return prepare(metric, dims, out);
}

/*
 * The exact distance of a row's floats x to a prepared query, in an
 * order-preserving form of the operator's value: squared for L2, the
 * negative product for inner product, 1 - cosine (NaN for a zero vector).
 */
double
ivfpq_exact_distance(IvfpqMetric metric, const float *x, const float *query, int dims)
{
	switch (metric)
	{
		case IVFPQ_METRIC_L2:
			return vqpq_kernels.l2_squared(x, query, dims);
		case IVFPQ_METRIC_IP:
			return -(double) vqpq_kernels.inner_product(x, query, dims);
		case IVFPQ_METRIC_COSINE:
			{
				float		dot,
							na,
							nb;

				vqpq_kernels.cosine_parts(x, query, dims, &dot, &na, &nb);
				return 1.0 - (double) dot / sqrt((double) na * (double) nb);
			}
	}
	pg_unreachable();
}
