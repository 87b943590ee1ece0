-- vqpq 0.3.0: the pqvector type, its operators, functions, casts and aggregates,
-- and the ivfpq index access method.

\echo Use "CREATE EXTENSION vqpq" to load this file. \quit

-- ---------------------------------------------------------------- the type

CREATE TYPE pqvector;

CREATE FUNCTION pqvector_in(cstring, oid, integer) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_out(pqvector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_recv(internal, oid, integer) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_send(pqvector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- EXTERNAL storage: may be moved out of line, never compressed (floats do
-- not compress, and scans would pay to decompress them).
CREATE TYPE pqvector (
	INPUT = pqvector_in,
	OUTPUT = pqvector_out,
	TYPMOD_IN = pqvector_typmod_in,
	RECEIVE = pqvector_recv,
	SEND = pqvector_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

COMMENT ON TYPE pqvector IS 'vector of float4 elements, 1 to 16000 dimensions; pqvector(n) fixes n';

-- ---------------------------------------------------------------- casts

CREATE FUNCTION pqvector(pqvector, integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_coerce' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_pqvector(integer[], integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_pqvector(real[], integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_pqvector(double precision[], integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_pqvector(numeric[], integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_from_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_to_float4(pqvector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME', 'pqvector_to_float4_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (pqvector AS pqvector) WITH FUNCTION pqvector(pqvector, integer, boolean) AS IMPLICIT;
-- Array casts apply on assignment (INSERT, UPDATE) and when written out, never
-- silently inside expressions, where they would make operators ambiguous.
CREATE CAST (integer[] AS pqvector) WITH FUNCTION array_to_pqvector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS pqvector) WITH FUNCTION array_to_pqvector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS pqvector) WITH FUNCTION array_to_pqvector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS pqvector) WITH FUNCTION array_to_pqvector(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (pqvector AS real[]) WITH FUNCTION pqvector_to_float4(pqvector, integer, boolean) AS ASSIGNMENT;

-- ---------------------------------------------------------------- distances

CREATE FUNCTION l2_distance(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'pqvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_l2_squared_distance(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'pqvector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_negative_inner_product(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'pqvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l1_distance(pqvector, pqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'pqvector_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = l2_distance, COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_negative_inner_product, COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = cosine_distance, COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = l1_distance, COMMUTATOR = '<+>'
);

COMMENT ON OPERATOR <->(pqvector, pqvector) IS 'Euclidean (L2) distance';
COMMENT ON OPERATOR <#>(pqvector, pqvector) IS 'negative inner product';
COMMENT ON OPERATOR <=>(pqvector, pqvector) IS 'cosine distance';
COMMENT ON OPERATOR <+>(pqvector, pqvector) IS 'L1 (taxicab) distance';

-- ---------------------------------------------------------------- functions

CREATE FUNCTION vector_dims(pqvector) RETURNS integer
	AS 'MODULE_PATHNAME', 'pqvector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(pqvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'pqvector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(pqvector) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION subvector(pqvector, integer, integer) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'pqvector_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------- arithmetic

CREATE FUNCTION pqvector_add(pqvector, pqvector) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_sub(pqvector, pqvector) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_mul(pqvector, pqvector) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_concat(pqvector, pqvector) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- "-" and "||" are not commutative; "+" and "*" are.
CREATE OPERATOR + (LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_sub);
CREATE OPERATOR * (LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_mul, COMMUTATOR = *);
CREATE OPERATOR || (LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_concat);

-- ---------------------------------------------------------------- comparison

CREATE FUNCTION pqvector_lt(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_le(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_eq(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_ne(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_ge(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_gt(pqvector, pqvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_cmp(pqvector, pqvector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_hash(pqvector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_lt,
	COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_le,
	COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_eq,
	COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR <> (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_ne,
	COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_ge,
	COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
	LEFTARG = pqvector, RIGHTARG = pqvector, FUNCTION = pqvector_gt,
	COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS pqvector_ops DEFAULT FOR TYPE pqvector USING btree AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >,
	FUNCTION 1 pqvector_cmp(pqvector, pqvector);

CREATE OPERATOR CLASS pqvector_ops DEFAULT FOR TYPE pqvector USING hash AS
	OPERATOR 1 =,
	FUNCTION 1 pqvector_hash(pqvector);

-- ---------------------------------------------------------------- aggregates

CREATE FUNCTION pqvector_accum(double precision[], pqvector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_avg(double precision[]) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector_sum(double precision[]) RETURNS pqvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Both sum in double precision and round to float4 once, at the end.
-- No rows (or only NULLs) give NULL, as for numbers.
CREATE AGGREGATE avg(pqvector) (
	SFUNC = pqvector_accum,
	STYPE = double precision[],
	FINALFUNC = pqvector_avg,
	COMBINEFUNC = pqvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(pqvector) (
	SFUNC = pqvector_accum,
	STYPE = double precision[],
	FINALFUNC = pqvector_sum,
	COMBINEFUNC = pqvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

-- ---------------------------------------------------------------- ivfpq index

CREATE FUNCTION ivfpqhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD ivfpq TYPE INDEX HANDLER ivfpqhandler;
COMMENT ON ACCESS METHOD ivfpq IS 'IVF-PQ: inverted lists of product-quantized codes, for ORDER BY distance LIMIT k';

-- Support function 1 tells the index its metric.
CREATE FUNCTION ivfpq_l2_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ivfpq_ip_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ivfpq_cosine_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS pqvector_l2_ops DEFAULT FOR TYPE pqvector USING ivfpq AS
	OPERATOR 1 <-> (pqvector, pqvector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_l2_support(internal);
CREATE OPERATOR CLASS pqvector_ip_ops FOR TYPE pqvector USING ivfpq AS
	OPERATOR 1 <#> (pqvector, pqvector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_ip_support(internal);
CREATE OPERATOR CLASS pqvector_cosine_ops FOR TYPE pqvector USING ivfpq AS
	OPERATOR 1 <=> (pqvector, pqvector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_cosine_support(internal);

-- ---------------------------------------------------------------- filter columns

-- The columns after the vector in an ivfpq index are filter columns: their
-- values are kept with each entry, and a scan applies WHERE clauses on them
-- (=, <, <=, >=, >, = ANY) to the rows before it scores them, so that a
-- selective filter neither costs heap reads nor leaves the LIMIT unmet:
--   CREATE INDEX ON items USING ivfpq (embedding, category);
-- Strategy numbers are btree's.  integer_ops compares smallint, integer and
-- bigint with each other, as btree's family of that name does.
CREATE OPERATOR FAMILY integer_ops USING ivfpq;

CREATE OPERATOR CLASS int2_ops DEFAULT FOR TYPE int2 USING ivfpq FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
CREATE OPERATOR CLASS int4_ops DEFAULT FOR TYPE int4 USING ivfpq FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
CREATE OPERATOR CLASS int8_ops DEFAULT FOR TYPE int8 USING ivfpq FAMILY integer_ops AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
ALTER OPERATOR FAMILY integer_ops USING ivfpq ADD
	OPERATOR 1 < (int2, int4),
	OPERATOR 2 <= (int2, int4),
	OPERATOR 3 = (int2, int4),
	OPERATOR 4 >= (int2, int4),
	OPERATOR 5 > (int2, int4),
	OPERATOR 1 < (int2, int8),
	OPERATOR 2 <= (int2, int8),
	OPERATOR 3 = (int2, int8),
	OPERATOR 4 >= (int2, int8),
	OPERATOR 5 > (int2, int8),
	OPERATOR 1 < (int4, int2),
	OPERATOR 2 <= (int4, int2),
	OPERATOR 3 = (int4, int2),
	OPERATOR 4 >= (int4, int2),
	OPERATOR 5 > (int4, int2),
	OPERATOR 1 < (int4, int8),
	OPERATOR 2 <= (int4, int8),
	OPERATOR 3 = (int4, int8),
	OPERATOR 4 >= (int4, int8),
	OPERATOR 5 > (int4, int8),
	OPERATOR 1 < (int8, int2),
	OPERATOR 2 <= (int8, int2),
	OPERATOR 3 = (int8, int2),
	OPERATOR 4 >= (int8, int2),
	OPERATOR 5 > (int8, int2),
	OPERATOR 1 < (int8, int4),
	OPERATOR 2 <= (int8, int4),
	OPERATOR 3 = (int8, int4),
	OPERATOR 4 >= (int8, int4),
	OPERATOR 5 > (int8, int4);
CREATE OPERATOR CLASS date_ops DEFAULT FOR TYPE date USING ivfpq AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
CREATE OPERATOR CLASS timestamp_ops DEFAULT FOR TYPE timestamp USING ivfpq AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;
CREATE OPERATOR CLASS timestamptz_ops DEFAULT FOR TYPE timestamptz USING ivfpq AS
	OPERATOR 1 <,
	OPERATOR 2 <=,
	OPERATOR 3 =,
	OPERATOR 4 >=,
	OPERATOR 5 >;

-- Structural check of an ivfpq index: one row per problem, none when healthy.
-- Like amcheck's functions, for superusers unless granted.
CREATE FUNCTION vqpq_index_check(index regclass) RETURNS TABLE (blkno bigint, problem text)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION vqpq_index_check(regclass) FROM PUBLIC;
COMMENT ON FUNCTION vqpq_index_check(regclass) IS 'walks an ivfpq index and reports structural problems';

-- ---------------------------------------------------------------- knowing an index

-- What an ivfpq index is and how it is doing; "advice" says when to REINDEX.
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

-- Load an index into shared buffers (and its quantizer into this backend); returns pages read.
CREATE FUNCTION vqpq_index_prewarm(index regclass) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_prewarm(regclass) IS 'reads an ivfpq index into shared buffers';

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
