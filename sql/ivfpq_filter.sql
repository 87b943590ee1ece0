-- Filter columns: the columns after the vector in an ivfpq index.  WHERE
-- clauses on them become index conditions, which the scan applies to the
-- entries before scoring; the rows it returns all meet them, as many as
-- LIMIT asks for whenever that many match, and with every list probed they
-- are exactly the exact scan's.
SET client_min_messages = warning;
SELECT setseed(0.25);
CREATE TABLE films (id int PRIMARY KEY, v pqvector(16), genre int, studio bigint,
					year smallint, released date, seen timestamptz, title text);
-- 40 clusters of vectors (i % 40); genre (i % 99) uncorrelated with them, studio
-- correlated: studio s holds clusters 4s to 4s + 3
INSERT INTO films
SELECT i, ARRAY(SELECT random() * 0.5 + (i % 40) * 0.05 + sin(i % 40 + j) FROM generate_series(1, 16) j WHERE i > 0)::real[]::pqvector,
	   i % 99, (i % 40) / 4, (1950 + i % 70)::smallint, date '2000-01-01' + i % 3650,
	   timestamptz '2024-01-01 00:00+00' + (i % 1000) * interval '1 hour', 'film ' || i
  FROM generate_series(1, 12000) i;
UPDATE films SET genre = NULL WHERE id % 997 = 0;
ANALYZE films;
RESET client_min_messages;

-- the vector comes first, and the columns after it must be of a type that can filter
CREATE INDEX ON films USING ivfpq (genre, v);
CREATE INDEX ON films USING ivfpq (v, title);
CREATE INDEX ON films USING ivfpq (v, v);
CREATE INDEX ON films USING ivfpq (v, genre, genre, genre, genre, genre, genre, genre, genre, genre);

CREATE INDEX films_v_filters ON films USING ivfpq (v, genre, studio, year, released, seen) WITH (nlist = 40);
SELECT count(*) AS problems FROM vqpq_index_check('films_v_filters');

-- clauses on filter columns are the index's conditions, not a filter after it
EXPLAIN (COSTS OFF)
SELECT id FROM films WHERE genre = 7 AND studio >= 3 ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM films WHERE year < 1960 AND released > '2005-06-01' ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;
-- across integer widths, as btree's integer_ops
EXPLAIN (COSTS OFF)
SELECT id FROM films WHERE studio = 3::int2 AND year = 1970::int8 ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;

-- For a predicate and a query row: the index's answers at the defaults and
-- with every list probed and re-ranked, against the exact answer.
CREATE FUNCTION filtered_check(pred text, query_id int, k int DEFAULT 10,
							   OUT matching bigint, OUT returned int, OUT all_meet boolean,
							   OUT probed_all_exact boolean, OUT default_hits int)
LANGUAGE plpgsql AS $$
DECLARE
	q text := format('SELECT id FROM films WHERE %s ORDER BY v <-> (SELECT v FROM films WHERE id = %s) LIMIT %s',
					 pred, query_id, k);
	by_index int[];
	by_index_all int[];
	exact int[];
BEGIN
	EXECUTE format('SELECT count(*) FROM films WHERE %s', pred) INTO matching;
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE format('SELECT coalesce(array_agg(id), ''{}'') FROM (%s) s', q) INTO by_index;
	SET LOCAL vqpq.nprobe = 65536;
	SET LOCAL vqpq.rerank = 100000;
	EXECUTE format('SELECT coalesce(array_agg(id), ''{}'') FROM (%s) s', q) INTO by_index_all;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_seqscan = on;
	EXECUTE format('SELECT coalesce(array_agg(id), ''{}'') FROM (%s) s', q) INTO exact;
	returned := cardinality(by_index);
	EXECUTE format('SELECT coalesce(bool_and(coalesce(%s, false)), true) FROM films WHERE id = ANY(%L)', pred, by_index) INTO all_meet;
	probed_all_exact := by_index_all = exact;
	default_hits := (SELECT count(*) FROM unnest(by_index) i WHERE i = ANY(exact));
	RESET enable_seqscan;
	RESET enable_indexscan;
	RESET enable_bitmapscan;
	RESET vqpq.nprobe;
	RESET vqpq.rerank;
END $$;

-- selectivities from 10% down to 0.08%, every type and operator, NULLs
CREATE TABLE predicates (p text);
INSERT INTO predicates VALUES
	('genre = 7'), ('genre = 7 AND studio = 1'), ('genre < 3'), ('genre <= 0'), ('genre > 96'),
	('genre >= 98 AND studio > 3'), ('studio = 9'), ('studio = 3::int2'), ('studio > 8::int4'),
	('year = 1970'), ('year BETWEEN 1950 AND 1951'), ('released = ''2003-02-01'''),
	('released >= ''2009-12-01'''), ('seen < ''2024-01-03 00:00+00'''),
	('genre = 7 AND released < ''2001-01-01''');
SELECT p, matching, returned, all_meet, probed_all_exact FROM predicates, filtered_check(p, 1) ORDER BY p;
-- and at the defaults most of the neighbours: hits of the exact answers
SELECT sum(default_hits) >= 0.9 * sum(least(matching, 10)) AS default_recall_ok FROM predicates, filtered_check(p, 1);

-- the defaults find the neighbours: over 21 queries, hits of 10 at 1% (genre = g)
SELECT sum((filtered_check(format('genre = %s', q * 7 % 99), q)).default_hits) >= 190 AS genre_1pct_recall_ok,
	   bool_and((filtered_check(format('genre = %s', q * 7 % 99), q)).returned = 10) AS always_10
  FROM generate_series(101, 2001, 100) q;

-- The scan scores a page's matching rows one by one, or by the list's
-- quantized table, whichever costs less; either way a row's ADC value is
-- the unfiltered scan's.  With every list probed and no re-ranking, rows
-- come in ADC order: the filtered scan's first 10 are the first 10 of the
-- unfiltered scan's order that meet the predicate (up to the table's
-- quantization error, which reorders at most near ties).  At 1% most
-- lists hold a row or two that match, scored one by one.
CREATE FUNCTION adc_agreement(pred text, query_id int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	qv text := format('(SELECT v FROM films WHERE id = %s)', query_id);
	filtered int[];
	unfiltered int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL vqpq.nprobe = 65536;
	SET LOCAL vqpq.rerank = 0;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM films WHERE %s ORDER BY v <-> %s LIMIT 10) s',
				   pred, qv) INTO filtered;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM (SELECT id, %s AS meets FROM films ORDER BY v <-> %s LIMIT 100000) a WHERE meets LIMIT 10) s',
				   pred, qv) INTO unfiltered;
	RETURN (SELECT count(*) FROM unnest(filtered) i WHERE i = ANY(unfiltered));
END $$;
SELECT sum(adc_agreement(format('genre = %s', q * 7 % 99), q)) >= 190 AS adc_1pct_agrees,
	   sum(adc_agreement(format('genre BETWEEN %s AND %s', q * 7 % 90, q * 7 % 90 + 9), q)) >= 190 AS adc_10pct_agrees
  FROM generate_series(101, 2001, 100) q;
-- ... and when the filter matches only far from the query (studio 3 holds
-- clusters 12-15, the queries are in clusters 1 and 21): the window widens
-- until nprobe of its lists held matching rows, not only the first few
SELECT sum((filtered_check('studio = 3', q)).default_hits) >= 370 AS far_filter_recall_ok
  FROM (SELECT generate_series(1, 2001, 100) UNION ALL SELECT generate_series(21, 2021, 100)) s(q);

-- Without clusters the neighbours are spread over all lists, and at 0.2% few
-- of the nprobe lists' rows match: the scan goes on to further lists until
-- it has rerank matching candidates.
SELECT setseed(0.5);
CREATE TABLE uniform (id int PRIMARY KEY, v pqvector(16), g int);
INSERT INTO uniform SELECT i, ARRAY(SELECT random() FROM generate_series(1, 16) j WHERE i > 0)::real[]::pqvector, i % 499
  FROM generate_series(1, 20000) i;
ANALYZE uniform;
CREATE INDEX uniform_v_g ON uniform USING ivfpq (v, g);
CREATE FUNCTION uniform_hits(q int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	by_index int[];
	exact int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SELECT array_agg(id) INTO by_index FROM
		(SELECT id FROM uniform WHERE g = q * 7 % 499 ORDER BY v <-> (SELECT v FROM uniform WHERE id = q) LIMIT 10) s;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_seqscan = on;
	SELECT array_agg(id) INTO exact FROM
		(SELECT id FROM uniform WHERE g = q * 7 % 499 ORDER BY v <-> (SELECT v FROM uniform WHERE id = q) LIMIT 10) s;
	RETURN (SELECT count(*) FROM unnest(by_index) i WHERE i = ANY(exact));
END $$;
SELECT sum(uniform_hits(q)) >= 180 AS spread_recall_ok FROM generate_series(101, 2001, 100) q;
DROP TABLE uniform;
DROP FUNCTION uniform_hits;

-- no row can match: nothing comes back
SELECT (filtered_check('genre = 1000', 1)).returned AS no_such_genre,
	   (filtered_check('genre = NULL', 1)).returned AS null_constant,
	   (filtered_check('genre = 5 AND genre = 6', 1)).returned AS contradiction,
	   (filtered_check('studio > 9223372036854775807', 1)).returned AS above_bigint;
-- fewer match than LIMIT: all of them come back (genre NULL rows never match)
SELECT matching, returned, all_meet, probed_all_exact FROM filtered_check('genre = 7 AND studio = 1 AND year < 1990', 1, 50);

-- = ANY(array) is applied in the index where the planner lets it (from 17 on
-- for a column after the first); on any version the answers meet it
SELECT (filtered_check('genre = ANY(ARRAY[1, 5, 9, NULL])', 1)).all_meet AS any_meets,
	   (filtered_check('genre = ANY(ARRAY[1, 5, 9, NULL])', 1)).probed_all_exact AS any_exact;

-- rows inserted after the build carry their filter values
INSERT INTO films
SELECT 20000 + id, v, 555, studio, year, released, seen, title FROM films WHERE id <= 300 AND id % 3 = 0;
SELECT matching, returned, all_meet, probed_all_exact, default_hits >= 8 AS recall_ok FROM filtered_check('genre = 555', 6);
-- VACUUM moves entries within their pages with their values
DELETE FROM films WHERE id % 7 = 3;
VACUUM films;
SELECT count(*) AS problems FROM vqpq_index_check('films_v_filters');
SELECT p, matching, returned, all_meet, probed_all_exact FROM predicates, filtered_check(p, 2) ORDER BY p;
SELECT sum(default_hits) >= 0.9 * sum(least(matching, 10)) AS default_recall_ok FROM predicates, filtered_check(p, 2);
SELECT matching, returned, all_meet, probed_all_exact, default_hits >= 8 AS recall_ok FROM filtered_check('genre = 555', 6);

-- ORDER BY v <-> NULL returns every row that meets the conditions, in any order
SET enable_seqscan = off;
SELECT count(*) AS null_query_rows FROM (SELECT id FROM films WHERE genre <= 0 ORDER BY v <-> NULL LIMIT 1000) s;
SELECT count(*) AS genre_0_rows FROM films WHERE genre <= 0;
RESET enable_seqscan;
DROP INDEX films_v_filters;

-- 8-bit codes (row-major entries), the same
CREATE INDEX films_v8 ON films USING ivfpq (v, genre, studio, year, released, seen) WITH (nlist = 40, nbits = 8);
SELECT p, matching, returned, all_meet, probed_all_exact FROM predicates, filtered_check(p, 4) ORDER BY p;
SELECT sum(default_hits) >= 0.9 * sum(least(matching, 10)) AS default_recall_ok FROM predicates, filtered_check(p, 4);
SELECT sum(adc_agreement(format('genre = %s', q * 7 % 99), q)) >= 190 AS adc_1pct_agrees,
	   sum(adc_agreement(format('genre BETWEEN %s AND %s', q * 7 % 90, q * 7 % 90 + 9), q)) >= 190 AS adc_10pct_agrees
  FROM generate_series(101, 2001, 100) q;
DROP INDEX films_v8;

-- an index built on an empty table has no quantizer: the filter holds for rows inserted later
CREATE TABLE films_later (LIKE films);
CREATE INDEX films_later_idx ON films_later USING ivfpq (v, genre);
INSERT INTO films_later SELECT * FROM films WHERE id <= 2000;
SET enable_seqscan = off;
SELECT count(*) AS returned, bool_and(genre = 7) AS all_meet FROM
	(SELECT id, genre FROM films_later WHERE genre = 7 ORDER BY v <-> (SELECT v FROM films WHERE id = 1) LIMIT 50) s;
SELECT count(*) AS genre_7_rows FROM films_later WHERE genre = 7;
RESET enable_seqscan;

-- cosine: rows without direction come last, filtered like the others
CREATE TABLE directions (id int, v pqvector(4), k int);
INSERT INTO directions SELECT i, CASE WHEN i % 10 = 0 THEN '[0,0,0,0]' ELSE format('[%s,%s,1,2]', i % 7, i % 11) END::pqvector, i % 3
  FROM generate_series(1, 300) i;
CREATE INDEX ON directions USING ivfpq (v pqvector_cosine_ops, k) WITH (nlist = 4);
SET enable_seqscan = off;
SELECT count(*) AS returned, count(*) FILTER (WHERE v = '[0,0,0,0]') AS without_direction, bool_and(k = 1) AS all_meet
  FROM (SELECT id, v, k FROM directions WHERE k = 1 ORDER BY v <=> '[1,1,1,1]' LIMIT 1000) s;
SELECT count(*) FILTER (WHERE v = '[0,0,0,0]') AS without_direction, count(*) FROM directions WHERE k = 1;
RESET enable_seqscan;

DROP TABLE films, films_later, directions, predicates;
DROP FUNCTION filtered_check;
DROP FUNCTION adc_agreement;
