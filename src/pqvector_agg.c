/*
 * pqvector_agg.c
 *		avg(pqvector) and sum(pqvector): transition, combine and final
 *		functions.
 *
 * Both keep the same state, a float8[] {n, sum_1, ..., sum_dim}, summed in
 * double so that long inputs keep their precision; it starts as '{0}' and
 * takes its length from the first vector.  The final functions divide the
 * sums by n (avg) or not (sum), rounding to float4 once, at the end.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"

#include "pqvector.h"

/* Validate a state array and return its elements and count. */
static float8 *
state_values(ArrayType *state, int *count)
{
	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID || ARR_DIMS(state)[0] < 1 ||
		ARR_DIMS(state)[0] > PQVECTOR_MAX_DIM + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pqvector aggregate state"),
				 errdetail("Expected a one-dimensional float8 array {n, sums...} without nulls.")));
	*count = ARR_DIMS(state)[0];
	return (float8 *) ARR_DATA_PTR(state);
}

static ArrayType *
new_state(int count)
{
	Datum	   *elems = palloc(sizeof(Datum) * count);

	for (int i = 0; i < count; i++)
		elems[i] = Float8GetDatum(0.0);
	return construct_array(elems, count, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * Return a state that may be updated in place: the input itself inside an
 * aggregate (it is ours then, as in float8_accum), else a fresh copy.
 */
static ArrayType *
writable_state(FunctionCallInfo fcinfo, ArrayType *state, int count)
{
	if (AggCheckCallContext(fcinfo, NULL) && count > 1)
		return state;
	else
	{
		ArrayType  *copy = new_state(count);

		memcpy(ARR_DATA_PTR(copy), ARR_DATA_PTR(state), sizeof(float8) * count);
		return copy;
	}
}

static void
check_state_dims(int count, int dim)
{
	if (count != dim + 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different pqvector dimensions %d and %d", count - 1, dim)));
}

PG_FUNCTION_INFO_V1(pqvector_accum);
Datum
pqvector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	PqVector   *v = PG_GETARG_PQVECTOR_P(1);
	int			count;
	float8	   *values = state_values(state, &count);
	ArrayType  *result;
	float8	   *sums;

	if (count == 1)				/* first vector: size the state from it */
	{
		float8		n = values[0];

		result = new_state(v->dim + 1);
		((float8 *) ARR_DATA_PTR(result))[0] = n;
	}
	else
	{
		check_state_dims(count, v->dim);
		result = writable_state(fcinfo, state, count);
	}

	sums = (float8 *) ARR_DATA_PTR(result);
	sums[0] += 1.0;
	for (int i = 0; i < v->dim; i++)
	{
		sums[i + 1] += (float8) v->x[i];
		if (unlikely(isinf(sums[i + 1])))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(pqvector_combine);
Datum
pqvector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	int			count1,
				count2;
	float8	   *values1 = state_values(state1, &count1);
	float8	   *values2 = state_values(state2, &count2);
	ArrayType  *result;
	float8	   *sums;

	/* an empty side ({n=0}) contributes nothing */
	if (values2[0] == 0.0)
		PG_RETURN_ARRAYTYPE_P(writable_state(fcinfo, state1, count1));
	if (values1[0] == 0.0)
		PG_RETURN_ARRAYTYPE_P(writable_state(fcinfo, state2, count2));
	check_state_dims(count1, count2 - 1);

	result = writable_state(fcinfo, state1, count1);
	sums = (float8 *) ARR_DATA_PTR(result);
	for (int i = 0; i < count1; i++)
	{
		sums[i] += values2[i];
		if (unlikely(isinf(sums[i])))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

/* The state's sums, each divided by divisor, as a pqvector; NULL for no rows. */
static PqVector *
state_to_vector(ArrayType *state, bool average)
{
	int			count;
	float8	   *values = state_values(state, &count);
	float8		divisor = average ? values[0] : 1.0;
	PqVector   *result;

	if (values[0] == 0.0)		/* no rows: SQL's avg and sum of nothing are NULL */
		return NULL;
	pqvector_check_dim(count - 1);

	result = pqvector_new(count - 1);
	for (int i = 1; i < count; i++)
	{
		result->x[i - 1] = (float) (values[i] / divisor);
		if (unlikely(isinf(result->x[i - 1])))
			float_overflow_error();
		pqvector_check_finite(result->x[i - 1]);
	}
	return result;
}

PG_FUNCTION_INFO_V1(pqvector_avg);
Datum
pqvector_avg(PG_FUNCTION_ARGS)
{
	PqVector   *result = state_to_vector(PG_GETARG_ARRAYTYPE_P(0), true);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_PQVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(pqvector_sum);
Datum
pqvector_sum(PG_FUNCTION_ARGS)
{
	PqVector   *result = state_to_vector(PG_GETARG_ARRAYTYPE_P(0), false);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_PQVECTOR_P(result);
}
