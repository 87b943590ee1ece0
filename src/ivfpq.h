/*
 * ivfpq.h
 *		The ivfpq index access method: on-disk format and shared declarations.
 *
 * Layout of an ivfpq index (all blocks are ordinary Postgres pages):
 *
 *	block 0				metapage: format, parameters, where everything starts
 *	centroid pages		nlist x dims float4s, packed back to back over pages
 *	codebook pages		ksub x dims float4s (each sub-space's sub-centroids)
 *	list pages			one IvfpqListData per inverted list (and, for cosine,
 *						one more: the chain of rows without direction)
 *	entry pages			per list, a chain of pages of entries, each a heap
 *						TID (6 bytes), a PQ code (code_size bytes) and the
 *						row's filter columns (filter_size bytes, often 0):
 *						one after the other, or for 4-bit codes in blocks
 *						of 32 rows laid out for fast-scan (ivfpq_entries.c)
 *
 * Every page keeps its contents below pd_lower (nothing in the hole between
 * pd_lower and pd_upper, which generic WAL and full-page images skip) and
 * has an IvfpqPageOpaqueData in its special space.  Centroids, codebooks and
 * list start pages never change after the build; inserts append to a list's
 * chain, VACUUM compacts pages in place.  No page is ever freed.
 */
#ifndef VQPQ_IVFPQ_H
#define VQPQ_IVFPQ_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/relscan.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "pq.h"

#define IVFPQ_MAGIC				0x49565051	/* "IVPQ" */
/*
 * Format 4 may keep filter columns (the index's columns after the vector)
 * with each entry; an index without them is laid out as in format 3.
 * Format 3 keeps a cosine index's rows without direction (zero vectors) on
 * a chain of their own, after the nlist lists; format 2 had them in the
 * lists.  Format 2 stores 4-bit codes in fast-scan blocks; format 1 stored
 * them one entry after another.  8-bit indexes are the same in all of them.
 */
#define IVFPQ_FORMAT_VERSION	4
#define IVFPQ_PAGE_ID			0xFF91
#define IVFPQ_METAPAGE_BLKNO	0

/* support function numbers: 1 is required, 2 optional (float4 without it) */
#define IVFPQ_METRIC_PROC		1
#define IVFPQ_ELEMENT_PROC		2
#define IVFPQ_NPROC				2

/* limits */
#define IVFPQ_MAX_NLIST			65536
#define IVFPQ_MAX_M				VQPQ_PQ_MAX_M
#define IVFPQ_MAX_FILTERS		8	/* one byte of NULL flags per entry */

/* progress subphases (1 is core's "initializing") */
#define IVFPQ_PHASE_SAMPLE		2
#define IVFPQ_PHASE_COARSE		3
#define IVFPQ_PHASE_ASSIGN_SAMPLE 4
#define IVFPQ_PHASE_PQ			5
#define IVFPQ_PHASE_ENCODE		6
#define IVFPQ_PHASE_WRITE		7
#define IVFPQ_PHASE_CALIBRATE	8

typedef enum IvfpqMetric
{
	IVFPQ_METRIC_L2 = 1,		/* <->, Euclidean */
	IVFPQ_METRIC_IP = 2,		/* <#>, negative inner product */
	IVFPQ_METRIC_COSINE = 3		/* <=>, inner product on normalized vectors */
} IvfpqMetric;

/* the element type of the indexed values (ivfpq_values.c) */
typedef enum IvfpqElement
{
	IVFPQ_ELEMENT_FLOAT16 = 2,	/* pgvector's halfvec */
	IVFPQ_ELEMENT_FLOAT4 = 4	/* pqvector, pgvector's vector */
} IvfpqElement;

typedef enum IvfpqPageType
{
	IVFPQ_PAGE_META = 1,
	IVFPQ_PAGE_BLOB = 2,
	IVFPQ_PAGE_LISTS = 3,
	IVFPQ_PAGE_ENTRIES = 4
} IvfpqPageType;

typedef struct IvfpqPageOpaqueData
{
	BlockNumber next;			/* next page of this chain, or Invalid */
	uint16		count;			/* entries (entry pages) or items (list pages) */
	uint16		type;			/* IvfpqPageType */
	uint16		inserts;		/* entry pages: rows inserted after the build
								 * (saturates at 65535) */
	uint16		page_id;		/* IVFPQ_PAGE_ID, to tell our pages apart */
} IvfpqPageOpaqueData;

typedef IvfpqPageOpaqueData *IvfpqPageOpaque;

#define IvfpqPageGetOpaque(page) ((IvfpqPageOpaque) PageGetSpecialPointer(page))

/* Bytes of a page available below pd_lower for our contents. */
#define IVFPQ_PAGE_CAPACITY \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfpqPageOpaqueData)))

#define IVFPQ_CALIB_PROBES		20
#define IVFPQ_CALIB_RERANKS		12

typedef struct IvfpqMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dims;
	uint32		metric;			/* IvfpqMetric */
	uint32		nlist;
	uint32		m;
	uint32		nbits;
	uint32		code_size;
	uint32		entry_size;		/* sizeof(ItemPointerData) + code_size +
								 * filter_size */
	uint32		trained;		/* 0: built without data, no quantizer */
	uint64		build_id;		/* changes with every build */
	BlockNumber centroids_start;
	uint32		centroids_pages;
	BlockNumber codebook_start;
	uint32		codebook_pages;
	BlockNumber lists_start;
	uint32		lists_pages;
	uint64		built_rows;		/* rows indexed by the build */
	uint64		sample_rows;	/* rows the quantizers were trained on */
	float8		coarse_error;	/* mean squared distance to the list centroid */
	float8		pq_error;		/* mean squared residual quantization error */

	/*
	 * Format 3: recall@calib_k the build measured (ivfpq_calibration.c) on
	 * calib_queries rows of the table, at each vqpq.nprobe and vqpq.rerank
	 * of a grid; recall x 10000.  calib_queries 0: none (older formats read
	 * zeros here).
	 */
	uint16		calib_queries;
	uint16		calib_k;
	uint32		calib_nprobe[IVFPQ_CALIB_PROBES];	/* increasing, then zeros */
	uint32		calib_rerank[IVFPQ_CALIB_RERANKS];	/* increasing, then zeros */
	uint32		calib_rows[IVFPQ_CALIB_PROBES]; /* mean rows scored at each nprobe */
	uint16		calib_recall[IVFPQ_CALIB_PROBES][IVFPQ_CALIB_RERANKS];

	/*
	 * Format 4: the filter columns' values kept with each entry
	 * (ivfpq_filter.c), filter_size bytes a row: a byte of NULL flags, then
	 * each column's value, filter_width[i] bytes.  0 and 0 without them.
	 */
	uint32		nfilters;
	uint32		filter_size;
	uint8		filter_width[IVFPQ_MAX_FILTERS];
} IvfpqMetaPageData;

typedef struct IvfpqListData
{
	BlockNumber start;			/* first entry page; fixed after the build */
	BlockNumber insert;			/* where inserts start looking for room: any
								 * page of the chain (they walk on to the
								 * end), kept near the end by inserts and
								 * moved back to freed space by VACUUM */
} IvfpqListData;

#define IVFPQ_LISTS_PER_PAGE	((int) (IVFPQ_PAGE_CAPACITY / sizeof(IvfpqListData)))

/*
 * Under cosine a zero vector has no direction: its distance to anything is
 * NaN, which sorts after every number.  From format 3 on, such rows are
 * kept on a chain of their own, stored after the nlist lists as list
 * number nlist, which scans return last.
 */
#define IvfpqHasNodirList(meta) \
	((meta)->version >= 3 && (meta)->metric == IVFPQ_METRIC_COSINE)
#define IvfpqStoredLists(meta) ((meta)->nlist + (IvfpqHasNodirList(meta) ? 1 : 0))

/*
 * Entries (ivfpq_entries.c).  Row-major: heap TID, code, filter values, one
 * entry after another, packed without alignment (read with memcpy).
 * Blocked (4-bit codes, when a block fits a page): blocks of 32 rows, each
 * 32 heap TIDs, the rows' codes in fastscan.h's layout, then the 32 rows'
 * filter values; a page's last block may be partly used, its unused rows
 * all zeros.  A row's "stored code" is its code then its filter values,
 * code_size + filter_size bytes: what the build sorts and VACUUM moves.
 */
#define IVFPQ_ENTRY_TID_SIZE	sizeof(ItemPointerData)

typedef struct IvfpqEntryLayout
{
	bool		blocked;
	int			m;
	int			code_size;
	int			filter_size;	/* bytes of filter values per row */
	int			stored_size;	/* code_size + filter_size */
	int			entry_size;		/* row-major: bytes per entry */
	int			block_size;		/* blocked: bytes per block of 32 rows */
	int			per_page;		/* rows a page holds */
} IvfpqEntryLayout;

/*
 * Walking a list's chain of entry pages (ivfpq_pages.c): each next block is
 * checked before it is read, so damage gives an error, never a read past
 * the index or a loop without end.
 */
typedef struct IvfpqChainWalk
{
	Relation	index;
	int			list;
	BlockNumber nblocks;		/* the index's size when last looked at */
	BlockNumber steps;			/* pages of the chain so far */
} IvfpqChainWalk;

/* reloptions */
typedef struct IvfpqOptions
{
	int32		vl_len_;
	int			nlist;			/* 0: automatic */
	int			m;				/* 0: automatic */
	int			nbits;			/* 4 or 8 */
} IvfpqOptions;

/*
 * The quantizer of one index build, loaded once per backend and shared by
 * its scans and inserts (see ivfpq_cache.c).  Everything lives in the
 * entry's own memory context.
 */
typedef struct IvfpqQuantizer
{
	IvfpqMetaPageData meta;
	float	   *centroids;		/* nlist x dims */
	float	   *centroids_t;	/* dims x nlist, for dot_block */
	float	   *centroid_norms;	/* nlist */
	BlockNumber *list_start;	/* nlist */
	VqpqPq		pq;				/* valid if meta.trained */

	/*
	 * L2 and cosine: each list's query-independent table term (pq.h), m x
	 * ksub floats, computed on a list's first probe and kept while there is
	 * room (ivfpq_cache.c).
	 */
	float	  **list_tables;	/* nlist; NULL until computed */
	Size		list_tables_bytes;

	/*
	 * Lookup-table scratch of 3 x m x ksub floats for one scan at a time,
	 * so that queries do not malloc and free it each time.
	 */
	float	   *scan_scratch;
	bool		scan_scratch_busy;

	/*
	 * The shared buffer each list page of the index was last found in by
	 * this backend, by block (the blocks there were when it was loaded), or
	 * InvalidBuffer: ivfpq_read_list_page tries it before the buffer
	 * mapping table.  NULL for an index in local buffers.
	 */
	Buffer	   *recent_buffers;
	BlockNumber recent_blocks;

	int			pins;			/* scans using it now */
	bool		stale;			/* free when unpinned */
	Size		bytes;			/* memory it holds, for the cache's budget */
	MemoryContext context;
} IvfpqQuantizer;

/* settings (ivfpq.c) */
typedef enum IvfpqIterativeScan
{
	IVFPQ_ITERATIVE_OFF,
	IVFPQ_ITERATIVE_RELAXED
} IvfpqIterativeScan;

extern int	ivfpq_nprobe;
extern int	ivfpq_rerank;
extern double ivfpq_target_recall;
extern int	ivfpq_iterative_scan;
extern int	ivfpq_max_probes;
extern int	ivfpq_table_cache_kb;
extern int	ivfpq_cache_kb;

/* ivfpq.c */
extern void ivfpq_init(void);
extern void ivfpq_check_interrupts(void);
extern void ivfpq_assign_and_encode(const IvfpqQuantizer *q, float *vectors, int n,
									int32 *lists, uint8 *codes, float *scratch);
extern Size ivfpq_encode_scratch_size(int rows, int nlist, const VqpqPq *pq);

/* ivfpq_values.c */
extern IvfpqMetric ivfpq_index_metric(Relation index);
extern IvfpqElement ivfpq_index_element(Relation index);
extern int	ivfpq_index_dims(Relation index);
extern Size ivfpq_value_size(IvfpqElement element, int dims);
extern void ivfpq_value_floats(IvfpqElement element, int dims, Datum value, float *out);
extern bool ivfpq_prepare_vector(IvfpqMetric metric, IvfpqElement element, int dims, Datum value, float *out);
extern bool ivfpq_prepare_floats(IvfpqMetric metric, int dims, const float *x, float *out);
extern double ivfpq_exact_distance(IvfpqMetric metric, const float *x, const float *query, int dims);

/* ivfpq_pages.c */
extern Buffer ivfpq_new_buffer(Relation index, ForkNumber forknum);
extern void ivfpq_init_page(Page page, IvfpqPageType type);
extern bool ivfpq_page_is_valid(Page page, IvfpqPageType type);
extern char *ivfpq_meta_problem(const IvfpqMetaPageData *meta, BlockNumber nblocks);
extern void ivfpq_read_meta(Relation index, IvfpqMetaPageData *meta);
extern BlockNumber ivfpq_write_blob(Relation index, ForkNumber forknum,
									const void *data, Size size, uint32 *npages);
extern void ivfpq_read_blob(Relation index, BlockNumber start, uint32 npages,
							void *data, Size size);
extern char *ivfpq_list_page_problem(const IvfpqMetaPageData *meta, Page page, uint32 pageno,
									 BlockNumber nblocks);
extern Buffer ivfpq_lock_list_page(Relation index, const IvfpqMetaPageData *meta, uint32 list,
								   int mode, int *slot);
extern void ivfpq_read_list_starts(Relation index, const IvfpqMetaPageData *meta,
								   BlockNumber *starts);
extern void ivfpq_walk_begin(IvfpqChainWalk *walk, Relation index, int list);
extern void ivfpq_walk_step(IvfpqChainWalk *walk, BlockNumber blkno);
extern Buffer ivfpq_read_list_page(Relation index, IvfpqQuantizer *q, BlockNumber blkno, bool *recent);
extern int64 ivfpq_count_entries(Relation index, const IvfpqMetaPageData *meta, int64 *entries);

/* ivfpq_entries.c */
extern bool ivfpq_format_is_supported(const IvfpqMetaPageData *meta);
extern Size ivfpq_block_size(int m, int filter_size);
extern void ivfpq_entry_layout(const IvfpqMetaPageData *meta, IvfpqEntryLayout *layout);
extern Size ivfpq_entries_size(const IvfpqEntryLayout *layout, int count);
extern char *ivfpq_entry_page_problem(const IvfpqEntryLayout *layout, Page page);
extern int	ivfpq_entry_page_rows(Relation index, const IvfpqEntryLayout *layout, Page page,
								  BlockNumber blkno);
extern void ivfpq_entry_tid(const IvfpqEntryLayout *layout, Page page, int i, ItemPointer tid);
extern void ivfpq_entry_code(const IvfpqEntryLayout *layout, Page page, int i, uint8 *code);
extern const uint8 *ivfpq_entry_filter(const IvfpqEntryLayout *layout, Page page, int i);
extern void ivfpq_entry_append(const IvfpqEntryLayout *layout, Page page,
							   ItemPointer tid, const uint8 *code);
extern void ivfpq_entry_move(const IvfpqEntryLayout *layout, Page page, int from, int to,
							 uint8 *code_scratch);
extern void ivfpq_entries_truncate(const IvfpqEntryLayout *layout, Page page, int count);
extern const uint8 *ivfpq_block_codes(const IvfpqEntryLayout *layout, Page page, int block);
extern const uint8 *ivfpq_rowmajor_codes(const IvfpqEntryLayout *layout, Page page);
extern void ivfpq_entries_tids(const IvfpqEntryLayout *layout, Page page, int count, ItemPointerData *tids);

/* ivfpq_fetch.c: rows' vectors for re-ranking */
typedef struct IvfpqRowReader IvfpqRowReader;
extern IvfpqRowReader *ivfpq_row_reader_begin(Relation heap, Relation index, int dims);
extern const float *ivfpq_row_reader_vector(IvfpqRowReader *reader, TupleTableSlot *slot);
extern Datum ivfpq_row_reader_datum(IvfpqRowReader *reader);
extern void ivfpq_row_reader_check_tid(IvfpqRowReader *reader, const ItemPointerData *tid);
extern void ivfpq_row_reader_enable_prefetch(IvfpqRowReader *reader);
extern int	ivfpq_row_reader_prefetch_distance(IvfpqRowReader *reader);
extern void ivfpq_row_reader_prefetch(IvfpqRowReader *reader, const ItemPointerData *tid);
extern const float *ivfpq_row_reader_fetch(IvfpqRowReader *reader, const ItemPointerData *tid,
										   Snapshot snapshot);
extern void ivfpq_row_reader_end(IvfpqRowReader *reader);

/* ivfpq_info.c */
extern Relation ivfpq_open_for_reading(Oid indexoid, Relation *heap);
extern void ivfpq_close_for_reading(Relation index, Relation heap);

/* ivfpq_cache.c */
extern IvfpqQuantizer *ivfpq_pin_quantizer(Relation index);
extern void ivfpq_unpin_quantizer(IvfpqQuantizer *q);
extern const float *ivfpq_list_table(IvfpqQuantizer *q, int list, float *scratch);
extern float *ivfpq_claim_scan_scratch(IvfpqQuantizer *q);
extern void ivfpq_release_scan_scratch(IvfpqQuantizer *q, float *scratch);

/* access method callbacks */
extern IndexBuildResult *ivfpq_build(Relation heap, Relation index, IndexInfo *indexInfo);
extern void ivfpq_buildempty(Relation index);
extern bool ivfpq_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						 Relation heap, IndexUniqueCheck checkUnique,
#if PG_VERSION_NUM >= 140000
						 bool indexUnchanged,
#endif
						 IndexInfo *indexInfo);
extern IndexBulkDeleteResult *ivfpq_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
											   IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *ivfpq_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
extern IndexScanDesc ivfpq_beginscan(Relation index, int nkeys, int norderbys);
extern void ivfpq_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool ivfpq_gettuple(IndexScanDesc scan, ScanDirection dir);
extern void ivfpq_endscan(IndexScanDesc scan);

#endif							/* VQPQ_IVFPQ_H */
