/*
 * ivfpq_filter.h
 *		Filter columns: the columns of an ivfpq index after its vector
 *		(integers, dates, timestamps), whose values every entry keeps, so
 *		that a scan tests a query's WHERE clauses on them (=, <, <=, >=, >,
 *		= ANY) before it scores or re-ranks a row.  See ivfpq_filter.c.
 */
#ifndef VQPQ_IVFPQ_FILTER_H
#define VQPQ_IVFPQ_FILTER_H

#include "access/skey.h"

#include "ivfpq.h"

/* One scan key: the column's value must be in [lo, hi], and in set if any. */
typedef struct IvfpqCondition
{
	int			offset;			/* of the value in a row's filter values */
	int			width;			/* 2, 4 or 8 bytes */
	uint8		null_bit;		/* the column's flag in the NULL flags byte */
	int64		lo;
	int64		hi;
	int			nset;			/* -1: no set; else set[0..nset), ascending */
	int64	   *set;
} IvfpqCondition;

typedef struct IvfpqFilter
{
	bool		none;			/* no row can meet the keys */
	int			nconds;
	IvfpqCondition conds[FLEXIBLE_ARRAY_MEMBER];
} IvfpqFilter;

/* Bytes a filter column of this type keeps per row, 0 if it cannot be one. */
extern int	ivfpq_filter_type_width(Oid type);
/* CREATE INDEX: check the index's columns and describe them in meta. */
extern void ivfpq_filter_layout(Relation index, IvfpqMetaPageData *meta);
/* A row's filter values (meta->filter_size bytes) from its index values. */
extern void ivfpq_filter_pack(const IvfpqMetaPageData *meta, Relation index,
							  const Datum *values, const bool *isnull, uint8 *out);
/* The scan keys as conditions on rows' filter values; NULL without keys. */
extern IvfpqFilter *ivfpq_filter_begin(Relation index, const IvfpqMetaPageData *meta,
									   ScanKey keys, int nkeys);

static inline int64
ivfpq_filter_value(const uint8 *p, int width)
{
	if (width == 2)
	{
		int16		v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	if (width == 4)
	{
		int32		v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	{
		int64		v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
}

static inline bool
ivfpq_condition_in_set(const IvfpqCondition *c, int64 v)
{
	int			lo = 0;
	int			hi = c->nset - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (c->set[mid] == v)
			return true;
		if (c->set[mid] < v)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Does a row with these filter values meet every condition? */
static inline bool
ivfpq_filter_match(const IvfpqFilter *f, const uint8 *row)
{
	for (int i = 0; i < f->nconds; i++)
	{
		const IvfpqCondition *c = &f->conds[i];
		int64		v;

		/* every operator here is strict: NULL meets none */
		if (row[0] & c->null_bit)
			return false;
		v = ivfpq_filter_value(row + c->offset, c->width);
		if (v < c->lo || v > c->hi)
			return false;
		if (c->nset >= 0 && !ivfpq_condition_in_set(c, v))
			return false;
	}
	return true;
}

#endif							/* VQPQ_IVFPQ_FILTER_H */
