-- Batches: a LIMIT above vqpq.rerank reads batch after batch, each the next
-- vqpq.rerank candidates in (ADC distance, TID) order.  The probed lists are
-- scored for the first batch and once more for all the rest (again only if
-- their candidates overflow work_mem), whatever the number of batches.
SET enable_seqscan = off;
CREATE FUNCTION scattered(i int) RETURNS pqvector LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY(SELECT x - floor(x) FROM (SELECT sin(i * 12.9898 + j * 78.233) * 43758.5453 AS x
                                           FROM generate_series(1, 8) j) s)::real[]::pqvector $$;
CREATE TABLE bt (id int, v pqvector(8));
INSERT INTO bt SELECT i, scattered(i) FROM generate_series(1, 6000) i;
CREATE INDEX bt_v ON bt USING ivfpq (v) WITH (nlist = 10);
SET vqpq.nprobe = 10;
CREATE VIEW nearest_5500 AS
  SELECT id FROM bt ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5500;

-- the 5,500 nearest rows in ADC order (re-ranking off: batches of 1,000),
-- the reference
SET vqpq.rerank = 0;
CREATE TEMP TABLE adc_order AS SELECT id, row_number() OVER () AS n FROM nearest_5500;

-- index pages one query reads, from the statistics
CREATE FUNCTION index_blocks() RETURNS bigint LANGUAGE sql AS $$
  SELECT idx_blks_read + idx_blks_hit FROM pg_statio_user_indexes WHERE indexrelname = 'bt_v' $$;
CREATE TEMP TABLE reads (setting text, blocks bigint);

-- 550 batches of 10
SET vqpq.rerank = 10;
SELECT pg_stat_force_next_flush();
SELECT index_blocks() AS before \gset
CREATE TEMP TABLE rerank_10 AS SELECT id, row_number() OVER () AS n FROM nearest_5500;
SELECT pg_stat_force_next_flush();
INSERT INTO reads SELECT 'rerank 10', index_blocks() - :before;

-- re-ranking off, and work_mem too small for the 5,000 candidates after the
-- first batch: the lists are scored once more when the 4,096 kept are used
SET vqpq.rerank = 0;
SET work_mem = '64kB';
SELECT pg_stat_force_next_flush();
SELECT index_blocks() AS before \gset
CREATE TEMP TABLE adc_small AS SELECT id, row_number() OVER () AS n FROM nearest_5500;
SELECT pg_stat_force_next_flush();
INSERT INTO reads SELECT 'rerank 0, work_mem 64kB', index_blocks() - :before;
RESET work_mem;
RESET vqpq.rerank;

-- the same 5,500 rows, each once, however they were batched; without
-- re-ranking, in the same order
SELECT (SELECT count(*) FROM rerank_10) AS returned, (SELECT count(DISTINCT id) FROM rerank_10) AS distinct_rows,
       (SELECT count(*) FROM rerank_10 r JOIN adc_order a USING (id)) AS as_in_adc_order,
       (SELECT count(*) FROM adc_small s JOIN adc_order a USING (id, n)) AS in_adc_order_small_work_mem;
-- each batch of 10 is the next 10 of ADC order, re-ranked within itself
SELECT count(*) AS batches_in_place FROM (
  SELECT (n - 1) / 10 AS b, array_agg(id ORDER BY id) AS ids FROM rerank_10 GROUP BY 1) x
  JOIN (SELECT (n - 1) / 10 AS b, array_agg(id ORDER BY id) AS ids FROM adc_order GROUP BY 1) y USING (b)
 WHERE x.ids = y.ids;
-- passes over the 10 lists' entry pages (the index's other 4 pages are the
-- metapage, read by the planner and by the scan, the centroids, the codebook
-- and the list page): 2, and 3 when the candidates after the first batch
-- overflow work_mem; not 550
SELECT setting, (blocks - 2) / (pg_relation_size('bt_v') / 8192 - 4) AS passes
  FROM reads ORDER BY setting;

DROP VIEW nearest_5500;
DROP FUNCTION index_blocks();
DROP TABLE bt;
DROP FUNCTION scattered(int);
RESET vqpq.nprobe;
RESET enable_seqscan;
