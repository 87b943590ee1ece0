-- Recall calibration: the build measures the recall of each nprobe and
-- rerank of a grid on rows of the table, and scans with vqpq.nprobe = 0 and
-- vqpq.rerank = -1 (the defaults) take the cheapest that reaches
-- vqpq.target_recall.  Its claims are checked here against exact results
-- for queries that are not rows of the table.
SELECT setseed(0.14);
-- 20,000 rows around 60 centres in 32 dimensions; 300 queries like them
CREATE TABLE cal_centres AS
  SELECT k, array_agg(random() * 8 ORDER BY d) AS c FROM generate_series(1, 60) k, generate_series(1, 32) d GROUP BY k;
CREATE TABLE cal (id int, v pqvector(32));
INSERT INTO cal
  SELECT i, (SELECT array_agg(c[d] + random() + random() + random() - 1.5 ORDER BY d) FROM generate_series(1, 32) d)::pqvector
    FROM generate_series(1, 20000) i JOIN cal_centres ON k = 1 + i % 60;
CREATE TABLE cal_queries AS
  SELECT i, (SELECT array_agg(c[d] + random() + random() + random() - 1.5 ORDER BY d) FROM generate_series(1, 32) d)::pqvector AS v
    FROM generate_series(1, 300) i JOIN cal_centres ON k = 1 + (i * 7) % 60;
ANALYZE cal;
CREATE INDEX cal_l2 ON cal USING ivfpq (v);
CREATE INDEX cal_ip ON cal USING ivfpq (v pqvector_ip_ops);
CREATE INDEX cal_cos ON cal USING ivfpq (v pqvector_cosine_ops);

-- the grid: every nprobe up to nlist, each with 12 reranks, on 200 queries
SELECT i.nlist, count(*) AS points, count(DISTINCT c.nprobe) * 12 = count(*) AS full_grid,
       max(c.nprobe) = i.nlist AS reaches_nlist, min(c.queries) AS queries, max(c.queries) AS queries_max
  FROM vqpq_index_calibration('cal_l2') c, vqpq_index_info('cal_l2') i GROUP BY i.nlist;
SELECT count(*) AS points, count(*) FILTER (WHERE chosen) AS chosen FROM vqpq_index_calibration('cal_ip');
-- recall grows with rerank, and every list with deep re-ranking finds nearly all
SELECT bool_and(recall >= prev) AS grows_with_rerank, max(recall) >= 0.99 AS all_found
  FROM (SELECT recall, lag(recall, 1, 0.0::float8) OVER (PARTITION BY nprobe ORDER BY rerank) AS prev
          FROM vqpq_index_calibration('cal_l2')) s;
-- rows scored grow with nprobe, to the table's rows (less the query's own)
SELECT bool_and(rows_scored >= prev) AS rows_grow, max(rows_scored) = 19999 AS all_rows
  FROM (SELECT rows_scored, lag(rows_scored, 1, 0::bigint) OVER (ORDER BY nprobe, rerank) AS prev
          FROM vqpq_index_calibration('cal_l2')) s;

-- what the defaults choose, per index: one point, at the target or above,
-- and vqpq_index_info says the same
CREATE FUNCTION cal_choice(idx regclass) RETURNS TABLE (chosen_points bigint, reaches_target boolean, info_agrees boolean)
LANGUAGE sql AS $$
  SELECT count(*), bool_and(c.recall >= current_setting('vqpq.target_recall')::float8),
         bool_and(i.nprobe = c.nprobe AND i.rerank = c.rerank AND i.expected_recall = c.recall)
    FROM vqpq_index_calibration(idx) c, vqpq_index_info(idx) i WHERE c.chosen $$;
-- the recall measured on the held-out queries: at the target (within the
-- estimate's noise) and near what the calibration claimed
CREATE FUNCTION cal_holds(idx regclass) RETURNS TABLE (measured_at_target boolean, claim_holds boolean)
LANGUAGE sql AS $$
  SELECT r.recall >= current_setting('vqpq.target_recall')::float8 - 0.02,
         abs(r.recall - i.expected_recall) <= 0.03
    FROM vqpq_index_recall(idx, (SELECT array_agg(v ORDER BY i) FROM cal_queries), 10) r, vqpq_index_info(idx) i $$;
SELECT 'l2' AS index, * FROM cal_choice('cal_l2'), cal_holds('cal_l2')
UNION ALL SELECT 'ip', * FROM cal_choice('cal_ip'), cal_holds('cal_ip')
UNION ALL SELECT 'cosine', * FROM cal_choice('cal_cos'), cal_holds('cal_cos');

-- a higher target takes another point, of higher recall (and cost, below), and holds too
CREATE TEMP TABLE at_95 AS SELECT nprobe, rerank, expected_recall FROM vqpq_index_info('cal_l2');
SET vqpq.target_recall = 0.99;
SELECT * FROM cal_choice('cal_l2'), cal_holds('cal_l2');
SELECT (i.nprobe, i.rerank) <> (a.nprobe, a.rerank) AS another_point, i.expected_recall > a.expected_recall AS higher
  FROM vqpq_index_info('cal_l2') i, at_95 a;
-- a target beyond every point measured: the best point, and the advice
-- says so if that is below the target
SET vqpq.target_recall = 1;
SELECT i.expected_recall = (SELECT max(recall) FROM vqpq_index_calibration('cal_l2')) AS best_point,
       (i.advice LIKE '%above the best recall measured%') = (i.expected_recall < 1) AS advised
  FROM vqpq_index_info('cal_l2') i;
SET vqpq.target_recall = 1;
SET vqpq.nprobe = 1;		-- one list cannot find them all
SELECT expected_recall < 1 AS below, advice LIKE '%vqpq.target_recall 1 is above the best recall measured%' AS advised
  FROM vqpq_index_info('cal_l2');
RESET vqpq.nprobe;
RESET vqpq.target_recall;

-- settings given win; the other is still chosen for the target
SET vqpq.nprobe = 3;
SELECT i.nprobe, i.expected_recall = c.recall AS recall_of_that_point
  FROM vqpq_index_info('cal_l2') i JOIN vqpq_index_calibration('cal_l2') c ON c.nprobe = 3 AND c.rerank = i.rerank;
SELECT nprobe, rerank = (SELECT rerank FROM vqpq_index_info('cal_l2')) AS rerank_as_info
  FROM vqpq_index_recall('cal_l2', (SELECT array_agg(v) FROM cal_queries WHERE i <= 5), 10);
SET vqpq.rerank = 0;		-- no re-ranking: the ADC order's top 10, as re-ranking 10
SELECT i.nprobe, i.rerank, i.expected_recall = c.recall AS recall_of_rerank_10
  FROM vqpq_index_info('cal_l2') i JOIN vqpq_index_calibration('cal_l2') c ON c.nprobe = 3 AND c.rerank = 10;
SET vqpq.nprobe = 5;
SET vqpq.rerank = 35;		-- between grid points: the point below
SELECT i.nprobe, i.rerank, i.expected_recall = c.recall AS recall_of_point_below
  FROM vqpq_index_info('cal_l2') i JOIN vqpq_index_calibration('cal_l2') c ON c.nprobe = 4 AND c.rerank = 30;
RESET vqpq.nprobe;
RESET vqpq.rerank;

-- the plan's cost follows the chosen settings: more probes cost more
CREATE FUNCTION cal_cost() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT id FROM cal ORDER BY v <-> ''[' || array_to_string(array_fill(1, ARRAY[32]), ',') || ']'' LIMIT 10' INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Total Cost')::float8;
END $$;
CREATE TEMP TABLE cost_95 AS SELECT cal_cost() AS cost;
SET vqpq.target_recall = 0.99;
SELECT cal_cost() > cost AS costs_more FROM cost_95;
RESET vqpq.target_recall;

-- queries through the planner return as many rows as asked, in order
SELECT count(*) AS rows, bool_and(d >= prev) AS ordered FROM (
  SELECT d, lag(d, 1, 0) OVER (ORDER BY n) AS prev FROM (
    SELECT row_number() OVER () AS n, d FROM (
      SELECT v <-> (SELECT v FROM cal_queries WHERE i = 2) AS d FROM cal
       ORDER BY v <-> (SELECT v FROM cal_queries WHERE i = 2) LIMIT 10) a) b) c;

-- too few rows to calibrate: the fixed defaults, and the advice says why
CREATE TABLE cal_small (v pqvector(32));
INSERT INTO cal_small SELECT v FROM cal WHERE id <= 30;
CREATE INDEX cal_small_idx ON cal_small USING ivfpq (v) WITH (nlist = 2);
SELECT (SELECT count(*) FROM vqpq_index_calibration('cal_small_idx')) AS points, nprobe, rerank, expected_recall, advice
  FROM vqpq_index_info('cal_small_idx');

-- an index built by a parallel build calibrates the same
SET max_parallel_maintenance_workers = 0;
CREATE INDEX cal_serial ON cal USING ivfpq (v);
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
ALTER TABLE cal SET (parallel_workers = 2);
CREATE INDEX cal_parallel ON cal USING ivfpq (v);
SELECT count(*) AS points, count(*) FILTER (WHERE s.recall = p.recall AND s.rows_scored = p.rows_scored) AS equal
  FROM vqpq_index_calibration('cal_serial') s JOIN vqpq_index_calibration('cal_parallel') p USING (nprobe, rerank);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;

DROP TABLE cal, cal_queries, cal_centres, cal_small;
DROP FUNCTION cal_choice(regclass), cal_holds(regclass), cal_cost();
