-- vqpq 0.1.0 to 0.2.0.  ALTER EXTENSION vqpq UPDATE runs this.

\echo Use "ALTER EXTENSION vqpq UPDATE TO '0.2.0'" to load this file. \quit

-- vqpq_index_info measures drift on a sample of the table (current_error)
-- and shows the settings scans use (nprobe, rerank, expected_recall)
DROP FUNCTION vqpq_index_info(regclass);
CREATE FUNCTION vqpq_index_info(index regclass,
	OUT metric text, OUT dims integer, OUT nlist integer, OUT m integer, OUT nbits integer,
	OUT code_bytes integer, OUT trained boolean, OUT built_rows bigint, OUT rows bigint,
	OUT inserted_since_build bigint, OUT pages bigint, OUT bytes bigint,
	OUT bytes_per_row double precision, OUT list_min bigint, OUT list_median bigint,
	OUT list_max bigint, OUT list_imbalance double precision, OUT sample_rows bigint,
	OUT quantization_error double precision, OUT current_error double precision,
	OUT nprobe integer, OUT rerank integer, OUT expected_recall double precision, OUT advice text)
	RETURNS record AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_info(regclass) IS 'options, size, list balance, training, drift and scan settings of an ivfpq index';

-- The recall@10 the build measured on rows of the table at each nprobe and
-- rerank of a grid (rows_scored: the mean rows a query scores there), and the
-- point the current settings choose for vqpq.target_recall.
CREATE FUNCTION vqpq_index_calibration(index regclass,
	OUT nprobe integer, OUT rerank integer, OUT recall double precision,
	OUT rows_scored bigint, OUT queries integer, OUT chosen boolean)
	RETURNS SETOF record AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_calibration(regclass) IS 'the recall an ivfpq index measured at each nprobe and rerank';

-- vqpq_index_recall is C: it scans the given index itself, from any schema
DROP FUNCTION vqpq_index_recall(regclass, pqvector[], integer);
DROP FUNCTION vqpq_index_recall(regclass, integer, integer);
-- recall@k of an index at the current settings, on the given query vectors
-- or on sample_size rows sampled from its table: each query runs through this
-- index and exactly (one pass over the table); a returned row is a hit when
-- its exact distance is within the exact k-th distance, so ties count.
-- index_ms is the mean time of a query through the index, exact_ms the
-- exact pass's time per query.
CREATE FUNCTION vqpq_index_recall(index regclass, queries pqvector[], k integer DEFAULT 10,
	OUT recall double precision, OUT queries_run integer, OUT nprobe integer, OUT rerank integer,
	OUT index_ms double precision, OUT exact_ms double precision)
	RETURNS record AS 'MODULE_PATHNAME', 'vqpq_index_recall_queries' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_recall(regclass, pqvector[], integer) IS 'measures recall@k of an ivfpq index at the current settings on the given queries';
CREATE FUNCTION vqpq_index_recall(index regclass, k integer DEFAULT 10, sample_size integer DEFAULT 100,
	OUT recall double precision, OUT queries_run integer, OUT nprobe integer, OUT rerank integer,
	OUT index_ms double precision, OUT exact_ms double precision)
	RETURNS record AS 'MODULE_PATHNAME', 'vqpq_index_recall_sample' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_recall(regclass, integer, integer) IS 'estimates recall@k of an ivfpq index at the current settings on a sample of its rows';
