-- Knowing an index: vqpq_index_info, vqpq_index_prewarm, vqpq_index_recall.
-- autovacuum off: the counts of entries before VACUUM must not depend on its timing
CREATE TABLE inf (id int, val pqvector(4)) WITH (autovacuum_enabled = off);
INSERT INTO inf SELECT i, ARRAY[i % 10, (i * 3) % 7, i % 5, 1]::real[] FROM generate_series(1, 1000) i;
CREATE INDEX inf_idx ON inf USING ivfpq (val) WITH (nlist = 4, m = 2, nbits = 4);

-- what the index is
SELECT metric, dims, nlist, m, nbits, code_bytes, trained, built_rows, rows, inserted_since_build,
       pages = pg_relation_size('inf_idx') / 8192 AS pages_match, bytes = pg_relation_size('inf_idx') AS bytes_match,
       bytes_per_row = bytes::float8 / rows AS per_row_match,
       list_min <= list_median AND list_median <= list_max AS sizes_ordered, list_imbalance >= 1 AS imbalance_at_least_1,
       sample_rows, quantization_error >= 0 AS has_error, advice
  FROM vqpq_index_info('inf_idx');

-- rows inserted after the build are counted; from data like the training
-- rows, the quantizer still fits them and the advice stays ok
INSERT INTO inf SELECT i, ARRAY[i % 10, (i * 3) % 7, i % 5, 1]::real[] FROM generate_series(1001, 1300) i;
SELECT built_rows, rows, inserted_since_build, current_error <= 1.5 * quantization_error AS error_as_built, advice
  FROM vqpq_index_info('inf_idx');
-- every row updated twice: VACUUM removes the old entries, and the count of
-- rows inserted after the build comes down with them
UPDATE inf SET val = val + '[0,0,0,0]';
UPDATE inf SET val = val + '[0,0,0,0]';
SELECT rows, inserted_since_build FROM vqpq_index_info('inf_idx');
VACUUM inf;
SELECT rows, inserted_since_build, advice FROM vqpq_index_info('inf_idx');
-- rows unlike the training data: the quantizer's error on a sample of the
-- table rises, and the advice says to retrain
UPDATE inf SET val = val * '[3,3,3,3]' WHERE id % 2 = 0;
SELECT round(current_error::numeric / quantization_error::numeric) AS error_growth, advice FROM vqpq_index_info('inf_idx');
-- deleted rows leave at VACUUM
DELETE FROM inf WHERE id > 1200;
VACUUM inf;
SELECT rows FROM vqpq_index_info('inf_idx');
-- REINDEX CONCURRENTLY retrains it
REINDEX INDEX CONCURRENTLY inf_idx;
SELECT built_rows, rows, inserted_since_build, current_error <= 1.5 * quantization_error AS error_as_built, advice
  FROM vqpq_index_info('inf_idx');

-- a VACUUM with nothing to remove (after inserts only) does not read the index
INSERT INTO inf SELECT i, ARRAY[i % 10, (i * 3) % 7, i % 5, 1]::real[] FROM generate_series(1301, 1400) i;
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE blocks_before AS
  SELECT idx_blks_read + idx_blks_hit AS blocks FROM pg_statio_user_indexes WHERE indexrelname = 'inf_idx';
VACUUM inf;
SELECT pg_stat_force_next_flush();
SELECT s.idx_blks_read + s.idx_blks_hit - b.blocks AS blocks_vacuum_read
  FROM pg_statio_user_indexes s, blocks_before b WHERE s.indexrelname = 'inf_idx';
DROP TABLE blocks_before;

-- prewarm reads every page
SELECT vqpq_index_prewarm('inf_idx') = pg_relation_size('inf_idx') / 8192 AS all_pages;

-- recall at the current settings: every list and deep re-ranking find the exact rows
SET vqpq.nprobe = 4;
SET vqpq.rerank = 2000;
SELECT recall, queries_run, nprobe, rerank, index_ms >= 0 AS timed FROM vqpq_index_recall('inf_idx', 5, 20);
SELECT recall, queries_run FROM vqpq_index_recall('inf_idx', ARRAY['[1,1,1,1]', '[5,5,5,1]']::pqvector[], 3);
SELECT recall, queries_run FROM vqpq_index_recall('inf_idx', '{}'::pqvector[], 3);
RESET vqpq.nprobe;
RESET vqpq.rerank;
-- it measures the index it is given, not whichever the planner would pick:
-- one list probed of one (every row), and one of 200 (ten rows)
CREATE TABLE spread (id int, val pqvector(4));
INSERT INTO spread SELECT i, ARRAY(SELECT sin(i * 12.9898 + j * 78.233) * 437.585 - floor(sin(i * 12.9898 + j * 78.233) * 437.585)
                                     FROM generate_series(1, 4) j)::real[]
  FROM generate_series(1, 2000) i;
CREATE INDEX spread_one_list ON spread USING ivfpq (val) WITH (nlist = 1, m = 2, nbits = 8);
CREATE INDEX spread_200_lists ON spread USING ivfpq (val) WITH (nlist = 200, m = 2, nbits = 8);
SET vqpq.nprobe = 1;
SELECT round((SELECT recall FROM vqpq_index_recall('spread_one_list', 10, 50))::numeric, 1) AS one_list,
       (SELECT recall FROM vqpq_index_recall('spread_200_lists', 10, 50)) < 0.6 AS lists_200_below_60_percent;
RESET vqpq.nprobe;
DROP TABLE spread;
-- and it works wherever the extension lives, whatever the search_path
CREATE SCHEMA vqpq_elsewhere;
ALTER EXTENSION vqpq SET SCHEMA vqpq_elsewhere;
SET search_path = pg_catalog;
SELECT queries_run FROM vqpq_elsewhere.vqpq_index_recall('public.inf_idx', 5, 20);
SELECT recall, queries_run FROM vqpq_elsewhere.vqpq_index_recall('public.inf_idx', ARRAY['[1,1,1,1]']::vqpq_elsewhere.pqvector[], 3);
RESET search_path;
ALTER EXTENSION vqpq SET SCHEMA public;
DROP SCHEMA vqpq_elsewhere;

-- an index built on no rows, and one built on few
CREATE TABLE few (val pqvector(2));
CREATE INDEX few_idx ON few USING ivfpq (val) WITH (nbits = 8);
SELECT trained, rows, advice FROM vqpq_index_info('few_idx');
INSERT INTO few SELECT ARRAY[i, i]::real[] FROM generate_series(1, 50) i;
SELECT trained, rows, advice FROM vqpq_index_info('few_idx');
REINDEX INDEX few_idx;
SELECT trained, sample_rows, advice FROM vqpq_index_info('few_idx');
DROP TABLE few;

-- errors
SELECT * FROM vqpq_index_info('inf');
CREATE INDEX inf_btree ON inf (id);
SELECT * FROM vqpq_index_info('inf_btree');
SELECT vqpq_index_prewarm('inf_btree');
SELECT * FROM vqpq_index_recall('inf_btree');
SELECT * FROM vqpq_index_recall('inf_idx', 0);
SELECT * FROM vqpq_index_recall('inf_idx', ARRAY['[1,1,1,1]']::pqvector[], 0);
-- reading an index needs SELECT on its table
CREATE ROLE regress_vqpq_nobody;
SET ROLE regress_vqpq_nobody;
SELECT rows FROM vqpq_index_info('inf_idx');
SELECT vqpq_index_prewarm('inf_idx');
RESET ROLE;
DROP ROLE regress_vqpq_nobody;
DROP TABLE inf;

-- vectors that would fit in the row but are stored out of line (the type's
-- EXTERNAL default): the advice says how to keep them in the row
CREATE TABLE wide (id int, val pqvector(600));
INSERT INTO wide SELECT i, array_fill(i::real, ARRAY[600]) FROM generate_series(1, 50) i;
CREATE INDEX wide_idx ON wide USING ivfpq (val) WITH (nlist = 2, nbits = 4);
SELECT advice FROM vqpq_index_info('wide_idx');
ALTER TABLE wide ALTER COLUMN val SET STORAGE PLAIN;
SELECT advice FROM vqpq_index_info('wide_idx');
-- the advice looks at indexed columns only, not at an expression's inputs
ALTER TABLE wide ALTER COLUMN val SET STORAGE EXTERNAL;
CREATE INDEX wide_expr ON wide USING ivfpq (((val + val)::pqvector(600))) WITH (nlist = 2, nbits = 4);
SELECT advice FROM vqpq_index_info('wide_expr');
DROP TABLE wide;
