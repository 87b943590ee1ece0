-- vqpq_pgvector 0.2.0: ivfpq indexes on pgvector's vector and halfvec
-- columns, for pgvector's own operators, and casts between those types and
-- pqvector.  It requires both extensions, so it exists whichever of them
-- was installed first: CREATE EXTENSION vqpq_pgvector CASCADE installs the
-- missing ones.

\echo Use "CREATE EXTENSION vqpq_pgvector" to load this file. \quit

-- Support function 2 tells the index its values are halfvec (float16);
-- without it they are float4, as pqvector and vector are.
CREATE FUNCTION ivfpq_halfvec_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS vector_l2_ops DEFAULT FOR TYPE vector USING ivfpq AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_l2_support(internal);
CREATE OPERATOR CLASS vector_ip_ops FOR TYPE vector USING ivfpq AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_ip_support(internal);
CREATE OPERATOR CLASS vector_cosine_ops FOR TYPE vector USING ivfpq AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_cosine_support(internal);

CREATE OPERATOR CLASS halfvec_l2_ops DEFAULT FOR TYPE halfvec USING ivfpq AS
	OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_l2_support(internal),
	FUNCTION 2 ivfpq_halfvec_support(internal);
CREATE OPERATOR CLASS halfvec_ip_ops FOR TYPE halfvec USING ivfpq AS
	OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_ip_support(internal),
	FUNCTION 2 ivfpq_halfvec_support(internal);
CREATE OPERATOR CLASS halfvec_cosine_ops FOR TYPE halfvec USING ivfpq AS
	OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
	FUNCTION 1 ivfpq_cosine_support(internal),
	FUNCTION 2 ivfpq_halfvec_support(internal);

-- Casts both ways, with the target's dimensions checked.  They apply on
-- assignment (INSERT, UPDATE) and when written out, not inside expressions,
-- where implicit casts between the types would make their operators
-- ambiguous.
CREATE FUNCTION pqvector(vector, integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'vqpq_vector_to_pqvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector(pqvector, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME', 'vqpq_pqvector_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pqvector(halfvec, integer, boolean) RETURNS pqvector
	AS 'MODULE_PATHNAME', 'vqpq_halfvec_to_pqvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION halfvec(pqvector, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'vqpq_pqvector_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (vector AS pqvector) WITH FUNCTION pqvector(vector, integer, boolean) AS ASSIGNMENT;
CREATE CAST (pqvector AS vector) WITH FUNCTION vector(pqvector, integer, boolean) AS ASSIGNMENT;
CREATE CAST (halfvec AS pqvector) WITH FUNCTION pqvector(halfvec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (pqvector AS halfvec) WITH FUNCTION halfvec(pqvector, integer, boolean) AS ASSIGNMENT;

-- vqpq_index_recall with query vectors of the indexed column's type
CREATE FUNCTION vqpq_index_recall(index regclass, queries vector[], k integer DEFAULT 10,
	OUT recall double precision, OUT queries_run integer, OUT nprobe integer, OUT rerank integer,
	OUT index_ms double precision, OUT exact_ms double precision)
	RETURNS record AS 'MODULE_PATHNAME', 'vqpq_index_recall_queries' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_recall(regclass, vector[], integer) IS 'measures recall@k of an ivfpq index at the current settings on the given queries';
CREATE FUNCTION vqpq_index_recall(index regclass, queries halfvec[], k integer DEFAULT 10,
	OUT recall double precision, OUT queries_run integer, OUT nprobe integer, OUT rerank integer,
	OUT index_ms double precision, OUT exact_ms double precision)
	RETURNS record AS 'MODULE_PATHNAME', 'vqpq_index_recall_queries' LANGUAGE C STRICT;
COMMENT ON FUNCTION vqpq_index_recall(regclass, halfvec[], integer) IS 'measures recall@k of an ivfpq index at the current settings on the given queries';
