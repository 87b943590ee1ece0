-- ivfpq with pqvector_l2_ops (the default): small, deterministic cases.
SET enable_seqscan = off;
-- EXPLAIN without the "Disabled: true" line 18 prints under a disabled node
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line !~ '^\s*Disabled: true$' THEN
      RETURN NEXT line;
    END IF;
  END LOOP;
END $$;

CREATE TABLE t (id int, val pqvector(3));
INSERT INTO t VALUES (1, '[0,0,0]'), (2, '[1,2,3]'), (3, '[1,1,1]'), (4, NULL);
-- 3 rows cannot train 16 sub-centroids: the index builds and says so
CREATE INDEX t_val ON t USING ivfpq (val) WITH (nlist = 1);
INSERT INTO t VALUES (5, '[1,2,4]');

EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3;
SELECT id, val <-> '[3,3,3]' AS distance FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1000;
-- the operator commutes, so the index serves both spellings
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY '[3,3,3]' <-> val LIMIT 3;
SELECT id FROM t ORDER BY '[3,3,3]' <-> val LIMIT 1000;
-- with re-ranking off the order is by quantized distance (exact here: the
-- codebook holds every training row)
SET vqpq.rerank = 0;
SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1000;
RESET vqpq.rerank;
-- a NULL query returns every indexed row (NULL rows are not indexed)
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <-> (SELECT NULL::pqvector) LIMIT 1000) s;
-- a query of the wrong dimensions is an error
SELECT id FROM t ORDER BY val <-> '[1,2]' LIMIT 1;
-- scans without ORDER BY distance never use the index
SELECT plan_of('SELECT count(*) FROM t');
SELECT count(*) FROM t;
-- nor does ORDER BY distance without a LIMIT: the index would return only
-- the probed lists' rows, a sort returns them all, in exact order
SELECT plan_of($$SELECT id FROM t ORDER BY val <-> '[3,3,3]'$$);
SELECT id FROM t ORDER BY val <-> '[3,3,3]';
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <-> '[3,3,3]') s;
-- a LIMIT in the query above it is a LIMIT too, and so is one known only
-- when the query runs (a generic plan)
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id FROM t ORDER BY val <-> '[3,3,3]') s LIMIT 2;
PREPARE nearest(int) AS SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE nearest(2);
EXECUTE nearest(2);
RESET plan_cache_mode;
DEALLOCATE nearest;

-- rescans: a nested loop runs one index scan per outer row
SELECT t1.id, (SELECT t2.id FROM t t2 ORDER BY t2.val <-> t1.val LIMIT 1) AS nearest
  FROM t t1 WHERE t1.val IS NOT NULL ORDER BY t1.id;
SELECT t1.id, n.id AS second_nearest
  FROM t t1 CROSS JOIN LATERAL (SELECT id FROM t t2 ORDER BY t2.val <-> t1.val LIMIT 1 OFFSET 1) n
 WHERE t1.val IS NOT NULL ORDER BY t1.id;

-- deleted rows disappear at once (MVCC) and from the index at VACUUM
DELETE FROM t WHERE id = 2;
SELECT id FROM t ORDER BY val <-> '[1,2,3]' LIMIT 1000;
VACUUM t;
SELECT id FROM t ORDER BY val <-> '[1,2,3]' LIMIT 1000;

-- TRUNCATE rebuilds the index on no rows: it still answers, exactly
TRUNCATE t;
SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1000;
INSERT INTO t VALUES (6, '[5,5,5]'), (7, '[3,3,2]'), (8, '[0,0,1]');
SELECT id, val <-> '[3,3,3]' AS distance FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1000;
SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1;
-- REINDEX once there is data trains a quantizer
REINDEX INDEX t_val;
SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 1000;

-- index scans show in the statistics views
SELECT pg_stat_force_next_flush();
SELECT idx_scan > 0 AS scanned FROM pg_stat_user_indexes WHERE indexrelname = 't_val';
DROP TABLE t;

-- an empty table: the index builds, says what to do, and works once rows arrive
CREATE TABLE e (id int, val pqvector(2));
CREATE INDEX ON e USING ivfpq (val);
INSERT INTO e SELECT i, ARRAY[i, -i]::real[] FROM generate_series(1, 50) i;
SELECT id FROM e ORDER BY val <-> '[10,-10]' LIMIT 3;
DROP TABLE e;

-- unlogged tables get an init fork, so the index survives a restart empty
CREATE UNLOGGED TABLE u (val pqvector(3));
INSERT INTO u VALUES ('[0,0,0]'), ('[1,2,3]'), ('[1,1,1]');
CREATE INDEX ON u USING ivfpq (val) WITH (nlist = 1);
SELECT val FROM u ORDER BY val <-> '[3,3,3]' LIMIT 1000;
SELECT pg_relation_size(indexrelid, 'init') > 0 AS has_init_fork
  FROM pg_index WHERE indrelid = 'u'::regclass;
DROP TABLE u;
RESET enable_seqscan;

-- re-ranking reads vectors stored out of line (TOAST), compressed, and inline;
-- with every list probed and every row re-ranked, the index order is the
-- exact order, whatever the storage
CREATE TABLE st (id int, storage text, val pqvector(600));
INSERT INTO st SELECT i, 'external', ARRAY(SELECT sin(i * 3 + j) FROM generate_series(1, 600) j)::real[]
  FROM generate_series(1, 300) i;
ALTER TABLE st ALTER COLUMN val SET STORAGE EXTENDED;
-- mostly zeros: compressible, so compressed in the table row
INSERT INTO st SELECT i, 'compressed', ARRAY(SELECT CASE WHEN j <= 3 THEN sin(i * 3 + j) ELSE 0 END
                                            FROM generate_series(1, 600) j)::real[]
  FROM generate_series(301, 400) i;
SELECT storage, count(*), bool_and(pg_column_size(val) < 2400) AS all_compressed
  FROM st GROUP BY storage ORDER BY storage;
CREATE INDEX st_val ON st USING ivfpq (val) WITH (nlist = 4, m = 8, nbits = 4);
SET vqpq.nprobe = 4;
SET vqpq.rerank = 400;
-- the 400 nearest rows to row 7, by whichever plan the settings allow
CREATE TEMP VIEW st_nearest AS
  SELECT array_agg(id) AS ids
    FROM (SELECT id FROM st ORDER BY val <-> (SELECT val FROM st WHERE id = 7) LIMIT 400) s;
CREATE TEMP TABLE st_orders AS SELECT 'index' AS how, ids FROM st_nearest;
SET enable_indexscan = off;
SET enable_seqscan = on;
INSERT INTO st_orders SELECT 'exact', ids FROM st_nearest;
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT count(DISTINCT ids) AS distinct_orders, min(cardinality(ids)) AS rows FROM st_orders;
-- after deletes and updates (new row versions, new TOAST values) only the
-- visible versions come back, still in exact order
DELETE FROM st WHERE id % 3 = 0;
UPDATE st SET val = val + val WHERE id % 5 = 0;
TRUNCATE st_orders;
INSERT INTO st_orders SELECT 'index', ids FROM st_nearest;
SET enable_indexscan = off;
SET enable_seqscan = on;
INSERT INTO st_orders SELECT 'exact', ids FROM st_nearest;
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT count(DISTINCT ids) AS distinct_orders, min(cardinality(ids)) AS rows,
       (SELECT count(*) FROM st) AS table_rows FROM st_orders;
RESET vqpq.nprobe;
RESET vqpq.rerank;
DROP VIEW st_nearest;
DROP TABLE st;
RESET enable_seqscan;
DROP FUNCTION plan_of(text);
