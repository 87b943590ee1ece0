/*
 * ivfpq.c
 *		The ivfpq access method: handler, options, settings, cost estimate,
 *		and the vector preparation and encoding shared by build and insert.
 */
#include "postgres.h"

#include <math.h>

#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"

#include "distance.h"
#include "fastscan.h"
#include "ivfpq.h"
#include "ivfpq_calibration.h"
#include "kmeans.h"
#include "pqvector.h"

int			ivfpq_nprobe = 0;
int			ivfpq_rerank = -1;
double		ivfpq_target_recall = 0.95;
int			ivfpq_iterative_scan = IVFPQ_ITERATIVE_OFF;
int			ivfpq_max_probes = IVFPQ_MAX_NLIST;
int			ivfpq_table_cache_kb = 65536;
int			ivfpq_cache_kb = 262144;

static const struct config_enum_entry iterative_scan_options[] = {
	{"off", IVFPQ_ITERATIVE_OFF, false},
	{"relaxed_order", IVFPQ_ITERATIVE_RELAXED, false},
	{NULL, 0, false}
};

static relopt_kind ivfpq_relopt_kind;

void
ivfpq_init(void)
{
	ivfpq_relopt_kind = add_reloption_kind();
	add_int_reloption(ivfpq_relopt_kind, "nlist",
					  "Number of inverted lists (0 = about the square root of the row count)",
					  0, 0, IVFPQ_MAX_NLIST, AccessExclusiveLock);
	add_int_reloption(ivfpq_relopt_kind, "m",
					  "Number of sub-quantizers (0 = automatic, from the dimensions)",
					  0, 0, IVFPQ_MAX_M, AccessExclusiveLock);
	add_int_reloption(ivfpq_relopt_kind, "nbits",
					  "Bits per sub-quantizer code: 4 (fast-scan) or 8 (0 = automatic: 4 where fast-scan blocks fit a page)",
					  0, 0, 8, AccessExclusiveLock);

	DefineCustomIntVariable("vqpq.nprobe",
							"Number of inverted lists an ivfpq index scan probes (0 = chosen for vqpq.target_recall).",
							"More lists find more of the true neighbours, and take longer.  At 0 each index "
							"takes the fewest its build measured to reach vqpq.target_recall.",
							&ivfpq_nprobe, 0, 0, IVFPQ_MAX_NLIST,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vqpq.rerank",
							"Number of best candidates an ivfpq index scan re-scores with exact distances "
							"(-1 = chosen for vqpq.target_recall).",
							"Rows come back in exact distance order within this many candidates; "
							"0 returns them in approximate (quantized) order without reading the table.",
							&ivfpq_rerank, -1, -1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("vqpq.target_recall",
							 "Recall@10 that ivfpq index scans aim for when vqpq.nprobe or vqpq.rerank is automatic.",
							 "Each index's build measures the recall of its settings on rows of the table; a scan "
							 "takes the cheapest setting measured to reach this.  Higher finds more of the true "
							 "neighbours, and takes longer.",
							 &ivfpq_target_recall, 0.95, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("vqpq.iterative_scan",
							 "Whether an ivfpq index scan probes further lists when the first ones run out.",
							 "relaxed_order: when a query wants more rows than vqpq.nprobe lists hold (a WHERE "
							 "clause filtering them out), probe the next nearest lists, up to vqpq.max_probes; "
							 "later rows may then be nearer than earlier ones.",
							 &ivfpq_iterative_scan, IVFPQ_ITERATIVE_OFF, iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vqpq.max_probes",
							"Most inverted lists an iterative ivfpq index scan probes.",
							"Bounds the work of a query whose filter matches few rows; below vqpq.nprobe, "
							"vqpq.nprobe wins.",
							&ivfpq_max_probes, IVFPQ_MAX_NLIST, 1, IVFPQ_MAX_NLIST,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vqpq.table_cache_size",
							"Memory each session may keep per ivfpq index for precomputed lookup-table terms.",
							"An L2 or cosine scan builds a list's lookup table from a per-list term, kept after "
							"the list's first probe, and a per-query term.  Beyond this size, terms are "
							"recomputed on every probe.  0 keeps none.  The terms count towards vqpq.cache_size.",
							&ivfpq_table_cache_kb, 65536, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("vqpq.cache_size",
							"Memory each session may keep for the quantizers of the ivfpq indexes it uses.",
							"Each index's quantizer (its centroids and codebooks, nlist x dims x 8 bytes and more) "
							"and its lookup-table terms stay cached in the session for its next queries; beyond "
							"this size the least recently used are freed.  A quantizer in use is loaded even if "
							"it alone is larger.",
							&ivfpq_cache_kb, 262144, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("vqpq");
#else
	EmitWarningsOnPlaceholders("vqpq");
#endif
}

/* CHECK_FOR_INTERRUPTS as a function, for the kernels' callbacks. */
void
ivfpq_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

/* Scratch for ivfpq_assign_and_encode of up to rows vectors at a time. */
Size
ivfpq_encode_scratch_size(int rows, int nlist, const VqpqPq *pq)
{
	Size		k = Max((Size) nlist, (Size) pq->ksub);

	return mul_size(mul_size(Min(rows, VQPQ_ASSIGN_BLOCK), k), sizeof(float));
}

/*
 * Assign n prepared vectors to their nearest lists and PQ-encode their
 * residuals (vectors are overwritten with the residuals).
 */
void
ivfpq_assign_and_encode(const IvfpqQuantizer *q, float *vectors, int n,
						int32 *lists, uint8 *codes, float *scratch)
{
	int			dims = q->meta.dims;

	if (!q->meta.trained)
	{
		memset(lists, 0, sizeof(int32) * n);
		memset(codes, 0, (Size) n * q->meta.code_size);
		return;
	}
	vqpq_nearest(vectors, n, dims, dims, q->centroids_t, q->meta.nlist,
				 q->centroid_norms, lists, NULL, scratch, ivfpq_check_interrupts);
	for (int i = 0; i < n; i++)
	{
		float	   *v = vectors + (Size) i * dims;
		const float *c = q->centroids + (Size) lists[i] * dims;

		for (int l = 0; l < dims; l++)
			v[l] -= c[l];
	}
	vqpq_pq_encode(&q->pq, vectors, n, dims, codes, scratch);
}

/* ---------------------------------------------------------------- options */

static bytea *
ivfpq_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"nlist", RELOPT_TYPE_INT, offsetof(IvfpqOptions, nlist)},
		{"m", RELOPT_TYPE_INT, offsetof(IvfpqOptions, m)},
		{"nbits", RELOPT_TYPE_INT, offsetof(IvfpqOptions, nbits)},
	};
	IvfpqOptions *opts = (IvfpqOptions *) build_reloptions(reloptions, validate,
														   ivfpq_relopt_kind,
														   sizeof(IvfpqOptions),
														   tab, lengthof(tab));

	if (validate && opts != NULL && opts->nbits != 0 && opts->nbits != 4 && opts->nbits != 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for ivfpq option \"nbits\": %d", opts->nbits),
				 errdetail("Valid values are 4 and 8 (0 chooses automatically).")));
	return (bytea *) opts;
}

/* ---------------------------------------------------------------- planner */

static void
ivfpq_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				   Cost *indexStartupCost, Cost *indexTotalCost,
				   Selectivity *indexSelectivity, double *indexCorrelation,
				   double *indexPages)
{
	GenericCosts costs;
	Relation	index;
	Relation	heap;
	IvfpqMetaPageData meta;
	IvfpqSettings settings;
	double		fraction;
	double		probed_tuples;
	double		matching_tuples;
	double		scored_tuples;
	double		code_cost;
	double		rerank_cost;
	IvfpqEntryLayout layout;

	/*
	 * Only ORDER BY distance scans make sense, and only when the query wants
	 * some of the rows (a LIMIT, a cursor): an approximate index returns the
	 * probed lists' rows, not all of them, so ORDER BY distance without a
	 * LIMIT is left to a sort, which returns every row in exact order.
	 * Keep the planner off the index otherwise; from 18 on it compares
	 * disabled nodes before cost, so an infinite cost alone does not.
	 */
	if (path->indexorderbys == NIL || root->tuple_fraction <= 0)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
#if PG_VERSION_NUM >= 180000
		path->path.disabled_nodes = 2;
#endif
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	/* the planner holds locks on both */
	index = index_open(path->indexinfo->indexoid, NoLock);
	heap = table_open(index->rd_index->indrelid, NoLock);
	ivfpq_read_meta(index, &meta);
	ivfpq_choose_settings(&meta, ivfpq_rows_external(index, heap), &settings);
	table_close(heap, NoLock);
	index_close(index, NoLock);

	/*
	 * The share of the lists read: nprobe of them, and with clauses on
	 * filter columns as many as hold rerank rows that meet them.
	 * numIndexTuples is the rows that meet the clauses.
	 */
	fraction = meta.trained ? (double) settings.nprobe / meta.nlist : 1.0;
	matching_tuples = costs.numIndexTuples;
	if (path->indexclauses != NIL)
		fraction = Max(fraction, (double) Max(settings.rerank, 1) / Max(matching_tuples, 1.0));
	fraction = Min(1.0, fraction);
	probed_tuples = path->indexinfo->tuples * fraction;

	/*
	 * Scoring a code is m table lookups, but fast-scan (4-bit blocked
	 * entries) does 32 at once with byte shuffles, about a tenth of the
	 * 8-bit loop's time per code.  With a filter only the entries that meet
	 * it are scored, or with fast-scan the blocks of 32 that hold one.
	 */
	ivfpq_entry_layout(&meta, &layout);
	code_cost = meta.m * cpu_operator_cost * (layout.blocked ? 0.01 : 0.1);
	scored_tuples = probed_tuples;
	if (path->indexclauses != NIL)
		scored_tuples *= Min(1.0, costs.indexSelectivity * (layout.blocked ? VQPQ_FS_ROWS : 1));

	/*
	 * All the work happens before the first row comes back: distances to the
	 * centroids, a mostly sequential read of the probed lists with one table
	 * lookup per code, and a heap fetch per re-ranked candidate.
	 */
	rerank_cost = Min((double) settings.rerank, matching_tuples * fraction) * random_page_cost;
	*indexStartupCost = meta.nlist * meta.dims * cpu_operator_cost * 0.01
		+ path->indexinfo->pages * fraction * seq_page_cost
		+ probed_tuples * cpu_index_tuple_cost + scored_tuples * code_cost
		+ rerank_cost;

	/*
	 * Rows past the first batch each cost a re-rank, a heap fetch: a LIMIT
	 * reads few of them, unless a filter the index does not apply rejects
	 * most of the rows it returns.  Costing them lets the planner prefer an
	 * index whose filter columns apply a WHERE clause over one that returns
	 * rows for the executor to throw away.
	 */
	*indexTotalCost = *indexStartupCost + costs.numIndexTuples *
		(settings.rerank > 0 && meta.trained ? random_page_cost : cpu_index_tuple_cost);
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = path->indexinfo->pages * fraction;
}

/* ---------------------------------------------------------------- misc */

static char *
ivfpq_buildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case IVFPQ_PHASE_SAMPLE:
			return "sampling rows";
		case IVFPQ_PHASE_COARSE:
			return "training coarse quantizer";
		case IVFPQ_PHASE_ASSIGN_SAMPLE:
			return "assigning sample to lists";
		case IVFPQ_PHASE_PQ:
			return "training product quantizer";
		case IVFPQ_PHASE_ENCODE:
			return "assigning and encoding rows";
		case IVFPQ_PHASE_WRITE:
			return "writing index";
		case IVFPQ_PHASE_CALIBRATE:
			return "calibrating recall";
		default:
			return NULL;
	}
}

static bool
ivfpq_validate(Oid opclassoid)
{
	return true;
}

PG_FUNCTION_INFO_V1(ivfpqhandler);
Datum
ivfpqhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	am->amstrategies = 0;
	am->amsupport = IVFPQ_NPROC;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
#if PG_VERSION_NUM >= 180000
	am->amcanhash = false;
	am->amconsistentequality = false;
	am->amconsistentordering = false;
#endif
	am->amcanbackward = false;
	am->amcanunique = false;
	/* the columns after the vector are filter columns (ivfpq_filter.c) */
	am->amcanmulticol = true;
	am->amoptionalkey = true;
	am->amsearcharray = true;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
#if PG_VERSION_NUM >= 170000
	/* the server then plans the workers (indexInfo->ii_ParallelWorkers) */
	am->amcanbuildparallel = true;
#endif
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
#if PG_VERSION_NUM >= 160000
	am->amsummarizing = false;
#endif
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;

	am->ambuild = ivfpq_build;
	am->ambuildempty = ivfpq_buildempty;
	am->aminsert = ivfpq_insert;
#if PG_VERSION_NUM >= 170000
	am->aminsertcleanup = NULL;
#endif
	am->ambulkdelete = ivfpq_bulkdelete;
	am->amvacuumcleanup = ivfpq_vacuumcleanup;
	am->amcanreturn = NULL;
	am->amcostestimate = ivfpq_costestimate;
#if PG_VERSION_NUM >= 180000
	am->amgettreeheight = NULL;
#endif
	am->amoptions = ivfpq_options;
	am->amproperty = NULL;
	am->ambuildphasename = ivfpq_buildphasename;
	am->amvalidate = ivfpq_validate;
	am->amadjustmembers = NULL;
	am->ambeginscan = ivfpq_beginscan;
	am->amrescan = ivfpq_rescan;
	am->amgettuple = ivfpq_gettuple;
	am->amgetbitmap = NULL;
	am->amendscan = ivfpq_endscan;
	am->ammarkpos = NULL;
	am->amrestrpos = NULL;
	am->amestimateparallelscan = NULL;
	am->aminitparallelscan = NULL;
	am->amparallelrescan = NULL;
#if PG_VERSION_NUM >= 180000
	am->amtranslatestrategy = NULL;
	am->amtranslatecmptype = NULL;
#endif

	PG_RETURN_POINTER(am);
}
