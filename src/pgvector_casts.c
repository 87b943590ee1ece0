/*
 * pgvector_casts.c
 *		Casts between pqvector and pgvector's vector and halfvec, for the
 *		vqpq_pgvector extension.
 *
 * pqvector and vector share their layout (ivfpq_values.c), so those casts
 * copy the value and check the target's dimensions; halfvec's float16
 * elements are converted, exactly to float, and to the nearest half (ties
 * to even) the other way, where a float beyond a half's range is an error.
 * Nothing here calls into pgvector: its types are read by their layout.
 */
#include "postgres.h"

#include "fmgr.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include "half.h"
#include "pqvector.h"

typedef struct HalfVectorValue
{
	int32		vl_len_;
	int16		dim;
	int16		unused;
	uint16		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVectorValue;

#define HALFVEC_SIZE(dim) (offsetof(HalfVectorValue, x) + sizeof(uint16) * (Size) (dim))

/* typmod is the target's declared dimensions, or -1 for any */
static void
check_typmod(int32 typmod, int dim, const char *type)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions for type %s(%d), not %d", typmod, type, typmod, dim)));
}

/* A copy of a float4 vector value (pqvector or vector), its typmod checked. */
static Datum
copy_float4_value(Datum value, int32 typmod, const char *type)
{
	PqVector   *in = DatumGetPqVectorP(value);
	PqVector   *out;

	check_typmod(typmod, in->dim, type);
	pqvector_check_dim(in->dim);
	out = pqvector_new(in->dim);
	for (int i = 0; i < in->dim; i++)
	{
		pqvector_check_finite(in->x[i]);
		out->x[i] = in->x[i];
	}
	PG_RETURN_POINTER(out);
}

PG_FUNCTION_INFO_V1(vqpq_vector_to_pqvector);
Datum
vqpq_vector_to_pqvector(PG_FUNCTION_ARGS)
{
	return copy_float4_value(PG_GETARG_DATUM(0), PG_GETARG_INT32(1), "pqvector");
}

PG_FUNCTION_INFO_V1(vqpq_pqvector_to_vector);
Datum
vqpq_pqvector_to_vector(PG_FUNCTION_ARGS)
{
	return copy_float4_value(PG_GETARG_DATUM(0), PG_GETARG_INT32(1), "vector");
}

PG_FUNCTION_INFO_V1(vqpq_halfvec_to_pqvector);
Datum
vqpq_halfvec_to_pqvector(PG_FUNCTION_ARGS)
{
	HalfVectorValue *in = (HalfVectorValue *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	PqVector   *out;

	check_typmod(PG_GETARG_INT32(1), in->dim, "pqvector");
	pqvector_check_dim(in->dim);
	out = pqvector_new(in->dim);
	vqpq_half.to_float(in->x, out->x, in->dim);
	for (int i = 0; i < in->dim; i++)
		pqvector_check_finite(out->x[i]);
	PG_RETURN_PQVECTOR_P(out);
}

PG_FUNCTION_INFO_V1(vqpq_pqvector_to_halfvec);
Datum
vqpq_pqvector_to_halfvec(PG_FUNCTION_ARGS)
{
	PqVector   *in = PG_GETARG_PQVECTOR_P(0);
	HalfVectorValue *out;

	check_typmod(PG_GETARG_INT32(1), in->dim, "halfvec");
	out = (HalfVectorValue *) palloc0(HALFVEC_SIZE(in->dim));
	SET_VARSIZE(out, HALFVEC_SIZE(in->dim));
	out->dim = in->dim;
	if (vqpq_half.from_float(in->x, out->x, in->dim) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range for type halfvec"),
				 errdetail("A halfvec element holds at most 65504 in absolute value.")));
	PG_RETURN_POINTER(out);
}
