-- avg(pqvector) and sum(pqvector).

CREATE TABLE agg_t (g int, v pqvector);
INSERT INTO agg_t VALUES (1, '[1,2,3]'), (1, '[3,4,5]'), (1, NULL), (2, '[10,-10,0.5]');
SELECT g, avg(v), sum(v), count(v) FROM agg_t GROUP BY g ORDER BY g;
SELECT avg(v), sum(v) FROM agg_t;
-- no rows, or only NULLs: NULL like avg and sum of numbers
SELECT avg(v) IS NULL AS avg_null, sum(v) IS NULL AS sum_null FROM agg_t WHERE false;
SELECT avg(v) IS NULL AS avg_null, sum(v) IS NULL AS sum_null FROM agg_t WHERE v IS NULL;
-- different dimensions are an error
INSERT INTO agg_t VALUES (3, '[1,2]');
SELECT avg(v) FROM agg_t;
SELECT sum(v) FROM agg_t;
DELETE FROM agg_t WHERE g = 3;
-- both sum in double precision: a sum past float4 range is an error, an average is not
SELECT sum(v) FROM (VALUES ('[3e38]'::pqvector), ('[3e38]')) AS t(v);
SELECT avg(v) FROM (VALUES ('[3e38]'::pqvector), ('[3e38]')) AS t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::pqvector), ('[3e38]'), ('[-3e38]')) AS t(v);
-- and round once: 2^24 + 1 + 1 stays exact where float4 steps would lose both ones
SELECT sum(v) FROM (VALUES ('[16777216]'::pqvector), ('[1]'), ('[1]')) AS t(v);
DROP TABLE agg_t;

-- avg equals the per-dimension avg of the elements, on 10,000 rows
CREATE TABLE agg_big AS
	SELECT i, ARRAY[i % 7, (i * 37) % 101, -i]::real[]::pqvector AS v FROM generate_series(1, 10000) i;
SELECT avg(v) = ARRAY[avg(i % 7), avg((i * 37) % 101), avg(-i)]::real[]::pqvector AS avg_ok,
       sum(v) = ARRAY[sum(i % 7), sum((i * 37) % 101), sum(-i)]::real[]::pqvector AS sum_ok
  FROM agg_big;
-- both aggregates run in parallel (partial aggregates combined), with the same result
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_big;
SELECT avg(v) = ARRAY[avg(i % 7), avg((i * 37) % 101), avg(-i)]::real[]::pqvector AS avg_ok,
       sum(v) = ARRAY[sum(i % 7), sum((i * 37) % 101), sum(-i)]::real[]::pqvector AS sum_ok
  FROM agg_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE agg_big;

-- the transition functions check what they are given
SELECT pqvector_accum('{}', '[1]');
SELECT pqvector_accum('{{0}}', '[1]');
SELECT pqvector_accum('{0,NULL}', '[1]');
SELECT pqvector_accum('{1,2,3}', '[1]');
SELECT pqvector_avg(pqvector_accum(pqvector_accum('{0}', '[1,2]'), '[3,4]'));
SELECT pqvector_avg(pqvector_combine(pqvector_accum('{0}', '[1,2]'), pqvector_accum('{0}', '[3,6]')));
SELECT pqvector_avg(pqvector_combine('{0}', pqvector_accum('{0}', '[3,6]')));
SELECT pqvector_sum(pqvector_accum(pqvector_accum('{0}', '[1,2]'), '[3,4]'));
SELECT pqvector_sum('{0}') IS NULL AS no_rows;
SELECT pqvector_combine(pqvector_accum('{0}', '[1,2]'), pqvector_accum('{0}', '[3]'));
