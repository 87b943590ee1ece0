-- vqpq 0.1.0 to 0.2.0.  ALTER EXTENSION vqpq UPDATE runs this.

\echo Use "ALTER EXTENSION vqpq UPDATE TO '0.2.0'" to load this file. \quit

-- vqpq_index_info measures drift on a sample of the table: current_error
DROP FUNCTION vqpq_index_info(regclass);
CREATE FUNCTION vqpq_index_info(index regclass,
	OUT metric text, OUT dims integer, OUT nlist integer, OUT m integer, OUT nbits integer,
	OUT code_bytes integer, OUT trained boolean, OUT built_rows bigint, OUT rows bigint,
	OUT inserted_since_build bigint, OUT pages bigint, OUT bytes bigint,
	OUT bytes_per_row double precision, OUT list_min bigint, OUT list_median bigint,
	OUT list_max bigint, OUT list_imbalance double precision, OUT sample_rows bigint,
	OUT quantization_error double precision, OUT current_error double precision, OUT advice text)
	RETURNS record AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_info(regclass) IS 'options, size, list balance, training and drift of an ivfpq index';
