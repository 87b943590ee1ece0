/*
 * pqvector_ops.c
 *		Distances, vector functions, element-wise arithmetic, comparisons.
 *
 * Distances run through the dispatched kernels in distance.c and return
 * float8.  Arithmetic reports overflow rather than producing infinities, so
 * a pqvector never holds a non-finite element.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "utils/float.h"

#include "distance.h"
#include "pqvector.h"

/* ---------------- distances ---------------- */

static inline double
l2_squared(PqVector *a, PqVector *b)
{
	pqvector_check_same_dims(a, b);
	return (double) vqpq_kernels.l2_squared(a->x, b->x, a->dim);
}

static inline double
inner_product(PqVector *a, PqVector *b)
{
	pqvector_check_same_dims(a, b);
	return (double) vqpq_kernels.inner_product(a->x, b->x, a->dim);
}

PG_FUNCTION_INFO_V1(pqvector_l2_distance);
Datum
pqvector_l2_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sqrt(l2_squared(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1))));
}

/* Same order as l2_distance without the sqrt: what an index compares. */
PG_FUNCTION_INFO_V1(pqvector_l2_squared_distance);
Datum
pqvector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(l2_squared(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1)));
}

PG_FUNCTION_INFO_V1(pqvector_inner_product);
Datum
pqvector_inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(inner_product(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1)));
}

/* <#>: negated so that ascending order puts the most similar first. */
PG_FUNCTION_INFO_V1(pqvector_negative_inner_product);
Datum
pqvector_negative_inner_product(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(-inner_product(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1)));
}

/* 1 - cos(a, b); NaN when either vector is zero (no direction). */
PG_FUNCTION_INFO_V1(pqvector_cosine_distance);
Datum
pqvector_cosine_distance(PG_FUNCTION_ARGS)
{
	PqVector   *a = PG_GETARG_PQVECTOR_P(0);
	PqVector   *b = PG_GETARG_PQVECTOR_P(1);
	float		dot,
				na,
				nb;
	double		similarity;

	pqvector_check_same_dims(a, b);
	vqpq_kernels.cosine_parts(a->x, b->x, a->dim, &dot, &na, &nb);
	similarity = (double) dot / sqrt((double) na * (double) nb);
	if (isnan(similarity))
		PG_RETURN_FLOAT8(get_float8_nan());
	/* rounding can push |similarity| a hair past 1 */
	similarity = Max(-1.0, Min(1.0, similarity));
	PG_RETURN_FLOAT8(1.0 - similarity);
}

PG_FUNCTION_INFO_V1(pqvector_l1_distance);
Datum
pqvector_l1_distance(PG_FUNCTION_ARGS)
{
	PqVector   *a = PG_GETARG_PQVECTOR_P(0);
	PqVector   *b = PG_GETARG_PQVECTOR_P(1);

	pqvector_check_same_dims(a, b);
	PG_RETURN_FLOAT8((double) vqpq_kernels.l1(a->x, b->x, a->dim));
}

/* ---------------- vector functions ---------------- */

PG_FUNCTION_INFO_V1(pqvector_dims);
Datum
pqvector_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_PQVECTOR_P(0)->dim);
}

static double
norm(const PqVector *v)
{
	double		sum = 0.0;

	for (int i = 0; i < v->dim; i++)
		sum += (double) v->x[i] * (double) v->x[i];
	return sqrt(sum);
}

PG_FUNCTION_INFO_V1(pqvector_norm);
Datum
pqvector_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(norm(PG_GETARG_PQVECTOR_P(0)));
}

/* Unit vector in the same direction; a zero vector stays zero. */
PG_FUNCTION_INFO_V1(pqvector_l2_normalize);
Datum
pqvector_l2_normalize(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	PqVector   *result = pqvector_new(v->dim);
	double		n = norm(v);

	/* |x[i]| <= n, so no quotient can overflow */
	if (n > 0)
	{
		for (int i = 0; i < v->dim; i++)
			result->x[i] = (float) ((double) v->x[i] / n);
	}
	PG_RETURN_PQVECTOR_P(result);
}

/* subvector(v, start, count): 1-based, like substring(). */
PG_FUNCTION_INFO_V1(pqvector_subvector);
Datum
pqvector_subvector(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;	/* exclusive; int64 cannot overflow */
	PqVector   *result;

	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SUBSTRING_ERROR),
				 errmsg("negative subvector length not allowed")));
	start = Max(start, 1);
	end = Min(end, (int64) v->dim + 1);
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("pqvector must have at least 1 dimension"),
				 errdetail("subvector(%d dimensions, %d, %d) selects no element.",
						   v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2))));

	result = pqvector_new((int) (end - start));
	memcpy(result->x, v->x + (start - 1), sizeof(float) * (Size) result->dim);
	PG_RETURN_PQVECTOR_P(result);
}

/* ---------------- element-wise arithmetic ---------------- */

typedef enum
{
	OP_ADD,
	OP_SUB,
	OP_MUL
} ElementOp;

/* a op b element by element; a result out of float4 range is an error */
static PqVector *
elementwise(PqVector *a, PqVector *b, ElementOp op)
{
	PqVector   *result;

	pqvector_check_same_dims(a, b);
	result = pqvector_new(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		x = a->x[i];
		float		y = b->x[i];
		float		r = op == OP_ADD ? x + y : op == OP_SUB ? x - y : x * y;

		if (unlikely(isinf(r)))
			float_overflow_error();
		if (unlikely(op == OP_MUL && r == 0.0f && x != 0.0f && y != 0.0f))
			float_underflow_error();
		result->x[i] = r;
	}
	return result;
}

PG_FUNCTION_INFO_V1(pqvector_add);
Datum
pqvector_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_PQVECTOR_P(elementwise(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1), OP_ADD));
}

PG_FUNCTION_INFO_V1(pqvector_sub);
Datum
pqvector_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_PQVECTOR_P(elementwise(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1), OP_SUB));
}

PG_FUNCTION_INFO_V1(pqvector_mul);
Datum
pqvector_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_PQVECTOR_P(elementwise(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1), OP_MUL));
}

PG_FUNCTION_INFO_V1(pqvector_concat);
Datum
pqvector_concat(PG_FUNCTION_ARGS)
{
	PqVector   *a = PG_GETARG_PQVECTOR_P(0);
	PqVector   *b = PG_GETARG_PQVECTOR_P(1);
	PqVector   *result;

	pqvector_check_dim(a->dim + b->dim);
	result = pqvector_new(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_PQVECTOR_P(result);
}

/* ---------------- comparison and hashing ---------------- */

/*
 * Element by element, then the shorter vector first (as arrays compare).
 * Never errors on different dimensions: ANALYZE and btree use it on any pair.
 */
static int
pqvector_compare(const PqVector *a, const PqVector *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim != b->dim)
		return a->dim < b->dim ? -1 : 1;
	return 0;
}

#define PQVECTOR_CMP_FUNCTION(name, test) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int			c = pqvector_compare(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1)); \
	PG_RETURN_BOOL(test); \
}

PQVECTOR_CMP_FUNCTION(pqvector_lt, c < 0)
PQVECTOR_CMP_FUNCTION(pqvector_le, c <= 0)
PQVECTOR_CMP_FUNCTION(pqvector_eq, c == 0)
PQVECTOR_CMP_FUNCTION(pqvector_ne, c != 0)
PQVECTOR_CMP_FUNCTION(pqvector_ge, c >= 0)
PQVECTOR_CMP_FUNCTION(pqvector_gt, c > 0)

PG_FUNCTION_INFO_V1(pqvector_cmp);
Datum
pqvector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(pqvector_compare(PG_GETARG_PQVECTOR_P(0), PG_GETARG_PQVECTOR_P(1)));
}

/* Equal vectors (by pqvector_compare, where -0 = 0) hash alike. */
PG_FUNCTION_INFO_V1(pqvector_hash);
Datum
pqvector_hash(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	uint32		hash = hash_bytes_uint32((uint32) v->dim);

	for (int i = 0; i < v->dim; i++)
	{
		union
		{
			float		f;
			uint32		u;
		}			bits;

		bits.f = v->x[i] == 0.0f ? 0.0f : v->x[i];
		hash = hash_combine(hash, hash_bytes_uint32(bits.u));
	}
	PG_RETURN_UINT32(hash);
}
