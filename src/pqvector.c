/*
 * pqvector.c
 *		The pqvector type: text and binary I/O, typmod, and casts.
 *
 * Text form is '[1,2.5,-3e-2]' (the same as pgvector's vector, so data moves
 * between the two through text).  Elements are float4; NaN and infinities
 * are rejected everywhere a value can enter, so every stored vector is
 * finite and every distance is well defined.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "pqvector.h"

PqVector *
pqvector_new(int dim)
{
	Size		size = PQVECTOR_SIZE(dim);
	PqVector   *v = (PqVector *) palloc0(size);

	SET_VARSIZE(v, size);
	v->dim = dim;
	return v;
}

void
pqvector_check_dim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("pqvector must have at least 1 dimension")));
	if (dim > PQVECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("pqvector cannot have more than %d dimensions", PQVECTOR_MAX_DIM)));
}

/* typmod is the declared number of dimensions, or -1 for any */
void
pqvector_check_typmod(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions for type pqvector(%d), not %d",
						typmod, typmod, dim)));
}

void
pqvector_check_same_dims(const PqVector *a, const PqVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different pqvector dimensions %d and %d", a->dim, b->dim)));
}

void
pqvector_check_finite(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in pqvector")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in pqvector")));
}

/* The server's idea of white space in literals (the same set as scanner_isspace). */
static inline bool
literal_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void
syntax_error(const char *literal, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type pqvector: \"%s\"", literal),
			 errdetail_internal("%s", detail)));
}

/*
 * Text input.  The literal is only read, never written to: the same string
 * can be in use elsewhere (logical replication decodes with it).
 */
PG_FUNCTION_INFO_V1(pqvector_in);
Datum
pqvector_in(PG_FUNCTION_ARGS)
{
	const char *literal = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *p = literal;
	const char *q;
	int			capacity = 1;
	int			dim = 0;
	PqVector   *result;

	while (literal_isspace(*p))
		p++;
	if (*p != '[')
		syntax_error(literal, "Vector contents must start with \"[\".");
	p++;

	/* Size the result from the commas before the closing bracket. */
	for (q = p; *q != '\0' && *q != ']'; q++)
	{
		if (*q == ',' && ++capacity > PQVECTOR_MAX_DIM)
			pqvector_check_dim(capacity);
	}
	result = pqvector_new(capacity);

	for (;;)
	{
		char	   *end;
		float		value;

		while (literal_isspace(*p))
			p++;
		if (*p == ']' && dim == 0)
			pqvector_check_dim(0);
		if (*p == '\0' || *p == ',' || *p == ']')
			syntax_error(literal, "Each element must be a number.");
		Assert(dim < capacity);

		errno = 0;
		value = strtof(p, &end);
		if (end == p)
			syntax_error(literal, "Each element must be a number.");
		if (errno == ERANGE && (value == 0.0f || isinf(value)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type pqvector",
							pnstrdup(p, end - p))));
		pqvector_check_finite(value);
		result->x[dim++] = value;
		p = end;

		while (literal_isspace(*p))
			p++;
		if (*p == ',')
			p++;
		else if (*p == ']')
		{
			p++;
			break;
		}
		else if (*p == '\0')
			syntax_error(literal, "Missing closing \"]\".");
		else
			syntax_error(literal, "Elements must be separated by \",\".");
	}

	while (literal_isspace(*p))
		p++;
	if (*p != '\0')
		syntax_error(literal, "Junk after closing right bracket.");

	/* every separator before "]" was followed by an element */
	Assert(dim == capacity);
	pqvector_check_typmod(typmod, dim);
	PG_RETURN_PQVECTOR_P(result);
}

/* Text output: each element in the shortest form that reads back exactly. */
PG_FUNCTION_INFO_V1(pqvector_out);
Datum
pqvector_out(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	char	   *buf = palloc((Size) v->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 2);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(v->x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

/* pqvector(n): n is the number of dimensions. */
PG_FUNCTION_INFO_V1(pqvector_typmod_in);
Datum
pqvector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *mods;
	int			n;

	mods = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errdetail("Type pqvector takes one modifier, the number of dimensions.")));
	if (mods[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type pqvector must be at least 1")));
	if (mods[0] > PQVECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type pqvector cannot exceed %d", PQVECTOR_MAX_DIM)));
	PG_RETURN_INT32(mods[0]);
}

/* Binary input: int16 dim, int16 reserved (0), then dim float4s. */
PG_FUNCTION_INFO_V1(pqvector_recv);
Datum
pqvector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int16		dim;
	int16		unused;
	PqVector   *result;

	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));
	pqvector_check_dim(dim);
	pqvector_check_typmod(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type pqvector"),
				 errdetail("Reserved field must be 0, not %d.", unused)));
	if ((Size) (buf->len - buf->cursor) < sizeof(float) * (Size) dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type pqvector"),
				 errdetail("Message has %d bytes for %d dimensions.",
						   buf->len - buf->cursor, dim)));

	result = pqvector_new(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		pqvector_check_finite(result->x[i]);
	}
	PG_RETURN_PQVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(pqvector_send);
Datum
pqvector_send(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, 0);
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length coercion: pqvector -> pqvector(n). */
PG_FUNCTION_INFO_V1(pqvector_coerce);
Datum
pqvector_coerce(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	pqvector_check_typmod(typmod, v->dim);
	PG_RETURN_PQVECTOR_P(v);
}

/* integer[], real[], double precision[], numeric[] -> pqvector */
PG_FUNCTION_INFO_V1(pqvector_from_array);
Datum
pqvector_from_array(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	PqVector   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array must be 1-D to convert to pqvector")));
	if (elemtype != INT4OID && elemtype != FLOAT4OID &&
		elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot convert an array of %s to pqvector",
						format_type_be(elemtype))));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);

	pqvector_check_dim(n);
	pqvector_check_typmod(typmod, n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain nulls to convert to pqvector")));
	}

	result = pqvector_new(n);
	for (int i = 0; i < n; i++)
	{
		float		value;

		switch (elemtype)
		{
			case INT4OID:
				value = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT4OID:
				value = DatumGetFloat4(elems[i]);
				break;
			default:			/* FLOAT8OID, NUMERICOID: through double */
				{
					double		d;

					if (elemtype == NUMERICOID)
					{
						d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, elems[i]));
						if (isinf(d))	/* too large even for double */
							ereport(ERROR,
									(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									 errmsg("value %s is out of range for type pqvector",
											numeric_out_sci(DatumGetNumeric(elems[i]), 6))));
					}
					else
						d = DatumGetFloat8(elems[i]);
					value = (float) d;
					if (isinf(value) && !isinf(d))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value %g is out of range for type pqvector", d)));
					break;
				}
		}
		pqvector_check_finite(value);
		result->x[i] = value;
	}
	PG_RETURN_PQVECTOR_P(result);
}

/* pqvector -> real[] */
PG_FUNCTION_INFO_V1(pqvector_to_float4_array);
Datum
pqvector_to_float4_array(PG_FUNCTION_ARGS)
{
	PqVector   *v = PG_GETARG_PQVECTOR_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * v->dim);

	for (int i = 0; i < v->dim; i++)
		elems[i] = Float4GetDatum(v->x[i]);
	PG_RETURN_POINTER(construct_array(elems, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}
