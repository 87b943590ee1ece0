-- vqpq 0.2.0 to 0.3.0: filter columns in ivfpq indexes.  ALTER EXTENSION vqpq UPDATE runs this.
\echo Use "ALTER EXTENSION vqpq UPDATE TO '0.3.0'" to load this file. \quit

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
