/*
 * ivfpq_cache.c
 *		Per-backend cache of each index's quantizer (centroids, codebooks,
 *		list start pages), so that a query does not re-read and re-transpose
 *		them from the index.
 *
 * Why not rd_amcache: the relcache frees it on any invalidation of the
 * index (a VACUUM elsewhere updating its statistics is enough), which can
 * happen between two amgettuple calls of a running scan.  Here a scan pins
 * the quantizer it uses; an invalidation only marks it stale, and it is
 * freed once nothing pins it.  Every pin re-reads the metapage's build_id,
 * so a REINDEX or TRUNCATE (a new build) is never served old data.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ivfpq.h"

typedef struct CacheEntry
{
	Oid			indexoid;		/* hash key */
	IvfpqQuantizer *quantizer;
} CacheEntry;

static HTAB *quantizers = NULL;

/* stale quantizers still pinned by a scan, freed when unpinned */
static List *retired = NIL;

static void
free_quantizer(IvfpqQuantizer *q)
{
	MemoryContextDelete(q->context);
}

/* Take q out of the table; free it now if unpinned, else when unpinned. */
static void
retire(CacheEntry *entry)
{
	IvfpqQuantizer *q = entry->quantizer;
	MemoryContext old;

	hash_search(quantizers, &entry->indexoid, HASH_REMOVE, NULL);
	q->stale = true;
	if (q->pins == 0)
	{
		free_quantizer(q);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	retired = lappend(retired, q);
	MemoryContextSwitchTo(old);
}

static void
relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	CacheEntry *entry;

	if (quantizers == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(quantizers, &relid, HASH_FIND, NULL);
		if (entry)
			retire(entry);
		return;
	}
	hash_seq_init(&status, quantizers);
	while ((entry = hash_seq_search(&status)) != NULL)
		retire(entry);
}

/* At the end of a top-level transaction no scan is open: drop leftover pins. */
static void
xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	foreach(lc, retired)
		free_quantizer((IvfpqQuantizer *) lfirst(lc));
	list_free(retired);
	retired = NIL;
	if (quantizers)
	{
		HASH_SEQ_STATUS status;
		CacheEntry *entry;

		hash_seq_init(&status, quantizers);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			entry->quantizer->pins = 0;
			entry->quantizer->scan_scratch_busy = false;
		}
	}
}

static void *
alloc_array(MemoryContext cxt, Size count, Size size)
{
	return MemoryContextAllocHuge(cxt, mul_size(count, size));
}

static IvfpqQuantizer *
load_quantizer(Relation index, const IvfpqMetaPageData *meta)
{
	/* a child of the current context until loaded, so an error frees it */
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ivfpq quantizer",
											  ALLOCSET_DEFAULT_SIZES);
	IvfpqQuantizer *q = MemoryContextAllocZero(cxt, sizeof(IvfpqQuantizer));
	Size		dims = meta->dims;
	Size		nlist = meta->nlist;

	q->indexoid = RelationGetRelid(index);
	q->meta = *meta;
	q->context = cxt;
	q->list_start = alloc_array(cxt, nlist, sizeof(BlockNumber));

	/* list start pages never change after the build */
	ivfpq_read_list_starts(index, meta, q->list_start);

	if (meta->trained)
	{
		q->centroids = alloc_array(cxt, mul_size(nlist, dims), sizeof(float));
		q->centroids_t = alloc_array(cxt, mul_size(nlist, dims), sizeof(float));
		q->centroid_norms = alloc_array(cxt, nlist, sizeof(float));
		ivfpq_read_blob(index, meta->centroids_start, meta->centroids_pages,
						q->centroids, mul_size(mul_size(nlist, dims), sizeof(float)));
		vqpq_transpose_centroids(q->centroids, (int) nlist, (int) dims,
								 q->centroids_t, q->centroid_norms);

		vqpq_pq_init(&q->pq, (int) dims, meta->m, meta->nbits,
					 MemoryContextAllocHuge(cxt, vqpq_pq_arrays_size((int) dims, meta->m, meta->nbits)));
		ivfpq_read_blob(index, meta->codebook_start, meta->codebook_pages, q->pq.codebook,
						mul_size(mul_size((Size) q->pq.ksub, dims), sizeof(float)));
		vqpq_pq_prepare(&q->pq);
		if (meta->metric != IVFPQ_METRIC_IP)
			q->list_tables = MemoryContextAllocZero(cxt, mul_size(nlist, sizeof(float *)));
	}

	MemoryContextSetParent(cxt, CacheMemoryContext);
	return q;
}

/*
 * The quantizer of the index's current build, pinned: pass it to
 * ivfpq_unpin_quantizer when done.
 */
IvfpqQuantizer *
ivfpq_pin_quantizer(Relation index)
{
	IvfpqMetaPageData meta;
	Oid			oid = RelationGetRelid(index);
	CacheEntry *entry;
	bool		found;

	if (quantizers == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = TopMemoryContext;
		quantizers = hash_create("ivfpq quantizers", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
		RegisterXactCallback(xact_callback, NULL);
	}

	ivfpq_read_meta(index, &meta);
	entry = hash_search(quantizers, &oid, HASH_FIND, NULL);
	if (entry && entry->quantizer->meta.build_id != meta.build_id)
	{
		retire(entry);
		entry = NULL;
	}
	if (entry == NULL)
	{
		IvfpqQuantizer *q = load_quantizer(index, &meta);

		entry = hash_search(quantizers, &oid, HASH_ENTER, &found);
		Assert(!found);
		entry->quantizer = q;
	}
	entry->quantizer->pins++;
	return entry->quantizer;
}

void
ivfpq_unpin_quantizer(IvfpqQuantizer *q)
{
	Assert(q->pins > 0);
	if (--q->pins == 0 && q->stale)
	{
		retired = list_delete_ptr(retired, q);
		free_quantizer(q);
	}
}

/*
 * The list's query-independent L2 table term (vqpq_pq_list_table_l2): the
 * cached copy, computed now if this is the list's first probe and the cache
 * has room, else computed into scratch (m x ksub floats).
 */
const float *
ivfpq_list_table(IvfpqQuantizer *q, int list, float *scratch)
{
	Size		size = mul_size(mul_size(q->pq.m, q->pq.ksub), sizeof(float));
	const float *centroid = q->centroids + (Size) list * q->meta.dims;
	float	   *table;

	Assert(q->list_tables != NULL);
	if (q->list_tables[list])
		return q->list_tables[list];
	if (q->list_tables_bytes + size > (Size) ivfpq_table_cache_kb * 1024)
	{
		vqpq_pq_list_table_l2(&q->pq, centroid, scratch);
		return scratch;
	}
	table = MemoryContextAllocHuge(q->context, size);
	vqpq_pq_list_table_l2(&q->pq, centroid, table);
	q->list_tables[list] = table;
	q->list_tables_bytes += size;
	return table;
}

/*
 * Scratch for a scan's lookup tables: the quantizer's own if no other scan
 * of this backend holds it (a nested loop can run two), else a new palloc
 * in the current context.  Give it back with ivfpq_release_scan_scratch.
 */
float *
ivfpq_claim_scan_scratch(IvfpqQuantizer *q)
{
	Size		size = mul_size(mul_size(3, mul_size(q->pq.m, q->pq.ksub)), sizeof(float));

	if (q->scan_scratch_busy)
		return MemoryContextAllocHuge(CurrentMemoryContext, size);
	if (q->scan_scratch == NULL)
		q->scan_scratch = MemoryContextAllocHuge(q->context, size);
	q->scan_scratch_busy = true;
	return q->scan_scratch;
}

void
ivfpq_release_scan_scratch(IvfpqQuantizer *q, float *scratch)
{
	if (scratch == q->scan_scratch)
		q->scan_scratch_busy = false;
	else
		pfree(scratch);
}
