/*
 * ivfpq_cache.c
 *		Per-backend cache of each index's quantizer (centroids, codebooks,
 *		list start pages, lookup-table terms), so that a query does not
 *		re-read and re-transpose them from the index.
 *
 * Why not rd_amcache: the relcache frees it on any invalidation of the
 * index, and a VACUUM or ANALYZE anywhere invalidates it (they update its
 * pg_class row).  Here an invalidation only marks the entry to be looked
 * at: every pin re-reads the metapage's build_id anyway, so a REINDEX or
 * TRUNCATE (a new build) is never served old data, and an entry whose index
 * is gone (DROP) is freed at the next pin of any index.  A scan pins the
 * quantizer it uses, so nothing it holds is freed under it.
 *
 * Memory: all cached quantizers and their table terms together stay within
 * vqpq.cache_size, evicting the least recently used unpinned ones to make
 * room; a quantizer in use is kept even if it alone is larger.  A list's
 * table term is cached while the index's terms stay within
 * vqpq.table_cache_size and everything within vqpq.cache_size.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ivfpq.h"

typedef struct CacheEntry
{
	Oid			indexoid;		/* hash key */
	IvfpqQuantizer *quantizer;
	bool		suspect;		/* invalidated since last looked at */
	uint64		last_used;		/* for eviction, least recent first */
} CacheEntry;

static HTAB *quantizers = NULL;

/* stale quantizers still pinned by a scan, freed when unpinned */
static List *retired = NIL;

/* bytes held by the quantizers in the table (not the retired ones) */
static Size cached_bytes = 0;
static uint64 use_clock = 0;
static bool any_suspect = false;

static void
free_quantizer(IvfpqQuantizer *q)
{
	MemoryContextDelete(q->context);
}

/* Take the entry's quantizer out of the table; free it now if unpinned, else when unpinned. */
static void
retire(CacheEntry *entry)
{
	IvfpqQuantizer *q = entry->quantizer;
	Oid			oid = entry->indexoid;
	MemoryContext old;

	cached_bytes -= q->bytes;
	hash_search(quantizers, &oid, HASH_REMOVE, NULL);
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

/* An invalidation only says "look again": see the file header. */
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
			entry->suspect = any_suspect = true;
		return;
	}
	hash_seq_init(&status, quantizers);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->suspect = any_suspect = true;
}

/* Free the entries whose index is gone.  Needs a transaction (catalog reads). */
static void
drop_vanished(void)
{
	HASH_SEQ_STATUS status;
	CacheEntry *entry;
	List	   *gone = NIL;
	ListCell   *lc;

	if (!any_suspect)
		return;
	any_suspect = false;
	hash_seq_init(&status, quantizers);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!entry->suspect)
			continue;
		entry->suspect = false;
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->indexoid)))
			gone = lappend_oid(gone, entry->indexoid);
	}
	foreach(lc, gone)
	{
		Oid			oid = lfirst_oid(lc);

		entry = hash_search(quantizers, &oid, HASH_FIND, NULL);
		if (entry)
			retire(entry);
	}
	list_free(gone);
}

/*
 * Make room for needed more bytes within vqpq.cache_size by freeing the
 * least recently used unpinned quantizers (but not keep).
 */
static void
evict(Size needed, IvfpqQuantizer *keep)
{
	Size		budget = (Size) ivfpq_cache_kb * 1024;

	while (cached_bytes + needed > budget)
	{
		HASH_SEQ_STATUS status;
		CacheEntry *entry;
		CacheEntry *oldest = NULL;

		hash_seq_init(&status, quantizers);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			if (entry->quantizer->pins == 0 && entry->quantizer != keep &&
				(oldest == NULL || entry->last_used < oldest->last_used))
				oldest = entry;
		}
		if (oldest == NULL)
			return;				/* everything left is in use */
		elog(DEBUG1, "ivfpq: evicting the quantizer of index %u from this session's cache (%zu kB)",
			 oldest->indexoid, oldest->quantizer->bytes / 1024);
		retire(oldest);
	}
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

	q->meta = *meta;
	q->context = cxt;
	q->list_start = alloc_array(cxt, IvfpqStoredLists(meta), sizeof(BlockNumber));

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

	/* 4 bytes a block: 0.05% of the index */
	if (!RelationUsesLocalBuffers(index))
	{
		q->recent_blocks = RelationGetNumberOfBlocks(index);
		q->recent_buffers = MemoryContextAllocZero(cxt, mul_size(Max(q->recent_blocks, 1), sizeof(Buffer)));
	}

	/* pg_backend_memory_contexts shows whose it is */
	MemoryContextSetIdentifier(cxt, MemoryContextStrdup(cxt, RelationGetRelationName(index)));
	MemoryContextSetParent(cxt, CacheMemoryContext);
	q->bytes = MemoryContextMemAllocated(cxt, true);
	elog(DEBUG1, "ivfpq: loading the quantizer of index \"%s\" into this session's cache (%zu kB)",
		 RelationGetRelationName(index), q->bytes / 1024);
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

	drop_vanished();
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

		evict(q->bytes, NULL);
		entry = hash_search(quantizers, &oid, HASH_ENTER, &found);
		Assert(!found);
		entry->quantizer = q;
		entry->suspect = false;
		cached_bytes += q->bytes;
	}
	entry->last_used = ++use_clock;
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
 * cached copy, computed now if this is the list's first probe and the
 * cache has room, else computed into scratch (m x ksub floats).
 */
const float *
ivfpq_list_table(IvfpqQuantizer *q, int list, float *scratch)
{
	Size		size = mul_size(mul_size(q->pq.m, q->pq.ksub), sizeof(float));
	const float *centroid = q->centroids + (Size) list * q->meta.dims;
	float	   *table;

	/* (a quantizer being built keeps no tables) */
	if (q->list_tables && q->list_tables[list])
		return q->list_tables[list];
	if (q->list_tables == NULL || q->stale || q->list_tables_bytes + size > (Size) ivfpq_table_cache_kb * 1024 ||
		cached_bytes + size > (Size) ivfpq_cache_kb * 1024)
	{
		vqpq_pq_list_table_l2(&q->pq, centroid, scratch);
		return scratch;
	}
	table = MemoryContextAllocHuge(q->context, size);
	vqpq_pq_list_table_l2(&q->pq, centroid, table);
	q->list_tables[list] = table;
	q->list_tables_bytes += size;
	q->bytes += size;
	cached_bytes += size;
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
	{
		q->scan_scratch = MemoryContextAllocHuge(q->context, size);
		if (!q->stale)
		{
			q->bytes += size;
			cached_bytes += size;
		}
	}
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
