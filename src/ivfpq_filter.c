/*
 * ivfpq_filter.c
 *		Filter columns of an ivfpq index.
 *
 * CREATE INDEX ... USING ivfpq (embedding, category, created_at) keeps, with
 * every entry, the row's values of the columns after the vector: a byte of
 * NULL flags, then each value at its type's width (2, 4 or 8 bytes), read
 * as a signed integer, which orders integers, dates and timestamps as their
 * types do.  The operator classes (the integer_ops family, date_ops,
 * timestamp_ops, timestamptz_ops) hand a scan the query's =, <, <=, >=, >
 * and = ANY(array) clauses on those columns as scan keys; each becomes a
 * range, and = ANY a set, which the scan tests on an entry before it
 * scores the row.  So a selective WHERE clause costs no heap reads for
 * the rows it rejects, and the re-ranking budget goes to rows that match.
 *
 * Values of the other types in a key (an int4 column against an int8
 * constant) compare as 64-bit integers, as btree's integer_ops does.
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ivfpq_filter.h"

int
ivfpq_filter_type_width(Oid type)
{
	switch (type)
	{
		case INT2OID:
			return 2;
		case INT4OID:
		case DATEOID:
			return 4;
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return 8;
		default:
			return 0;
	}
}

/* A value of a filter column's type (or a key's), as a signed integer. */
static int64
datum_value(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
		case DATEOID:
			return DatumGetInt32(d);
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return DatumGetInt64(d);
		default:
			elog(ERROR, "ivfpq filter value of unexpected type %u", type);
			return 0;			/* keep the compiler quiet */
	}
}

void
ivfpq_filter_layout(Relation index, IvfpqMetaPageData *meta)
{
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	int			size = 1;

	meta->nfilters = 0;
	meta->filter_size = 0;
	memset(meta->filter_width, 0, sizeof(meta->filter_width));
	if (!RegProcedureIsValid(index_getprocid(index, 1, IVFPQ_METRIC_PROC)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("the first column of ivfpq index \"%s\" must be the vector",
						RelationGetRelationName(index)),
				 errhint("Write the vector column first: USING ivfpq (embedding, category).")));
	if (natts == 1)
		return;
	if (natts - 1 > IVFPQ_MAX_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ivfpq index \"%s\" has %d filter columns, at most %d are supported",
						RelationGetRelationName(index), natts - 1, IVFPQ_MAX_FILTERS)));
	for (int i = 1; i < natts; i++)
	{
		Oid			type = index->rd_opcintype[i];
		int			width = ivfpq_filter_type_width(type);

		if (width == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column %d of ivfpq index \"%s\" has type %s, which cannot be a filter column",
							i + 1, RelationGetRelationName(index),
							format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY)),
					 errdetail("An ivfpq index has one vector column, first; the columns after it filter rows "
							   "and must be smallint, integer, bigint, date, timestamp or timestamptz.")));
		meta->filter_width[i - 1] = (uint8) width;
		size += width;
	}
	meta->nfilters = natts - 1;
	meta->filter_size = size;
}

void
ivfpq_filter_pack(const IvfpqMetaPageData *meta, Relation index,
				  const Datum *values, const bool *isnull, uint8 *out)
{
	int			offset = 1;

	if (meta->nfilters == 0)
		return;
	memset(out, 0, meta->filter_size);
	for (uint32 j = 0; j < meta->nfilters; j++)
	{
		int			width = meta->filter_width[j];

		if (isnull[j + 1])
			out[0] |= (uint8) (1 << j);
		else
		{
			int64		v = datum_value(values[j + 1], index->rd_opcintype[j + 1]);

			if (width == 2)
			{
				int16		v16 = (int16) v;

				memcpy(out + offset, &v16, sizeof(v16));
			}
			else if (width == 4)
			{
				int32		v32 = (int32) v;

				memcpy(out + offset, &v32, sizeof(v32));
			}
			else
				memcpy(out + offset, &v, sizeof(v));
		}
		offset += width;
	}
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* = ANY(array): the array's non-NULL elements, ascending, without repeats. */
static void
condition_set(IvfpqCondition *c, ScanKey key)
{
	ArrayType  *array = DatumGetArrayTypeP(key->sk_argument);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			kept = 0;

	if (ivfpq_filter_type_width(elemtype) == 0)
		elog(ERROR, "ivfpq filter array of unexpected type %u", elemtype);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	c->set = palloc(sizeof(int64) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (!nulls[i])
			c->set[kept++] = datum_value(elems[i], elemtype);
	}
	qsort(c->set, kept, sizeof(int64), int64_cmp);
	c->nset = 0;
	for (int i = 0; i < kept; i++)
	{
		if (c->nset == 0 || c->set[c->nset - 1] != c->set[i])
			c->set[c->nset++] = c->set[i];
	}
}

IvfpqFilter *
ivfpq_filter_begin(Relation index, const IvfpqMetaPageData *meta, ScanKey keys, int nkeys)
{
	IvfpqFilter *f;
	int			offsets[IVFPQ_MAX_FILTERS];
	int			offset = 1;

	if (nkeys == 0)
		return NULL;
	if (meta->nfilters != (uint32) (IndexRelationGetNumberOfKeyAttributes(index) - 1))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfpq index \"%s\" keeps %u filter columns, but has %d columns after the vector",
						RelationGetRelationName(index), meta->nfilters,
						IndexRelationGetNumberOfKeyAttributes(index) - 1),
				 errhint("REINDEX the index.")));
	for (uint32 j = 0; j < meta->nfilters; j++)
	{
		offsets[j] = offset;
		offset += meta->filter_width[j];
	}

	f = palloc0(offsetof(IvfpqFilter, conds) + sizeof(IvfpqCondition) * nkeys);
	for (int k = 0; k < nkeys; k++)
	{
		ScanKey		key = &keys[k];
		int			j = key->sk_attno - 2;
		IvfpqCondition *c = &f->conds[f->nconds++];
		Oid			argtype;
		int64		v;

		if (j < 0 || j >= (int) meta->nfilters)
			elog(ERROR, "ivfpq scan key on column %d, which is not a filter column", key->sk_attno);
		c->offset = offsets[j];
		c->width = meta->filter_width[j];
		c->null_bit = (uint8) (1 << j);
		c->lo = PG_INT64_MIN;
		c->hi = PG_INT64_MAX;
		c->nset = -1;

		/* a NULL constant: the strict operator is never true */
		if (key->sk_flags & SK_ISNULL)
		{
			f->none = true;
			continue;
		}
		if (key->sk_flags & SK_SEARCHARRAY)
		{
			if (key->sk_strategy != BTEqualStrategyNumber)
				elog(ERROR, "ivfpq filter array key with strategy %d", key->sk_strategy);
			condition_set(c, key);
			if (c->nset == 0)
				f->none = true;
			continue;
		}

		argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : index->rd_opcintype[j + 1];
		v = datum_value(key->sk_argument, argtype);
		switch (key->sk_strategy)
		{
			case BTLessStrategyNumber:
				if (v == PG_INT64_MIN)
					f->none = true;
				else
					c->hi = v - 1;
				break;
			case BTLessEqualStrategyNumber:
				c->hi = v;
				break;
			case BTEqualStrategyNumber:
				c->lo = c->hi = v;
				break;
			case BTGreaterEqualStrategyNumber:
				c->lo = v;
				break;
			case BTGreaterStrategyNumber:
				if (v == PG_INT64_MAX)
					f->none = true;
				else
					c->lo = v + 1;
				break;
			default:
				elog(ERROR, "ivfpq filter key with unknown strategy %d", key->sk_strategy);
		}
	}
	return f;
}
