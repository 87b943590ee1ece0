-- ivfpq index options, settings, and the errors they give.
CREATE TABLE t (val pqvector(8));
INSERT INTO t SELECT ARRAY[i % 7, i % 5, i % 3, i % 11, i % 13, i % 2, i % 17, i % 19]::real[]
  FROM generate_series(1, 2000) i;

-- options out of range: core's errors
CREATE INDEX ON t USING ivfpq (val) WITH (nlist = -1);
CREATE INDEX ON t USING ivfpq (val) WITH (nlist = 65537);
CREATE INDEX ON t USING ivfpq (val) WITH (m = -1);
CREATE INDEX ON t USING ivfpq (val) WITH (nbits = 3);
CREATE INDEX ON t USING ivfpq (val) WITH (nbits = 9);
CREATE INDEX ON t USING ivfpq (val) WITH (unknown = 1);
-- options that only the index can judge
CREATE INDEX ON t USING ivfpq (val) WITH (nbits = 6);
CREATE INDEX ON t USING ivfpq (val) WITH (m = 9);
-- valid: uneven sub-spaces (8 dims into 3), 4-bit codes
CREATE INDEX t_m3 ON t USING ivfpq (val) WITH (nlist = 10, m = 3, nbits = 4);
SELECT reloptions FROM pg_class WHERE relname = 't_m3';
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT val FROM t ORDER BY val <-> '[1,1,1,1,1,1,1,1]' LIMIT 5) s;
RESET enable_seqscan;
DROP INDEX t_m3;
-- defaults, automatic nlist and m
CREATE INDEX t_auto ON t USING ivfpq (val);
DROP INDEX t_auto;

-- the column must have dimensions
CREATE TABLE nodims (val pqvector);
CREATE INDEX ON nodims USING ivfpq (val);
-- unless an expression gives them
INSERT INTO nodims VALUES ('[1,2]'), ('[3,4]');
CREATE INDEX nodims_expr ON nodims USING ivfpq ((val::pqvector(2))) WITH (nlist = 1);
SET enable_seqscan = off;
SELECT val FROM nodims ORDER BY val::pqvector(2) <-> '[3,3]' LIMIT 1000;
RESET enable_seqscan;
-- a row of other dimensions cannot go into that index
INSERT INTO nodims VALUES ('[1,2,3]');
DROP TABLE nodims;
-- the vector first (the columns after it filter rows), no uniqueness
CREATE TABLE other (i int, val pqvector(2));
CREATE INDEX ON other USING ivfpq (i);
CREATE INDEX ON other USING ivfpq (val, val);
CREATE UNIQUE INDEX ON other USING ivfpq (val);
DROP TABLE other;

-- training must fit in maintenance_work_mem
CREATE TABLE wide (val pqvector(16000));
INSERT INTO wide SELECT array_fill(i, ARRAY[16000])::real[] FROM generate_series(1, 3) i;
SET maintenance_work_mem = '1MB';
CREATE INDEX ON wide USING ivfpq (val) WITH (nlist = 100);
RESET maintenance_work_mem;
-- 16,000 dimensions: centroids and codebooks span many pages
CREATE INDEX wide_idx ON wide USING ivfpq (val) WITH (nlist = 2, m = 1000);
SET enable_seqscan = off;
SELECT val <-> array_fill(2, ARRAY[16000])::real[]::pqvector AS distance
  FROM wide ORDER BY val <-> array_fill(2, ARRAY[16000])::real[]::pqvector LIMIT 1000;
RESET enable_seqscan;
DROP TABLE wide;

-- settings: bounds and defaults
-- 0 and -1: chosen per index for vqpq.target_recall (ivfpq_calibration.sql)
SHOW vqpq.nprobe;
SHOW vqpq.rerank;
SHOW vqpq.target_recall;
SET vqpq.nprobe = -1;
SET vqpq.nprobe = 65537;
SET vqpq.rerank = -2;
SET vqpq.rerank = 100001;
SET vqpq.target_recall = 1.01;
SET vqpq.target_recall = -0.1;
SET vqpq.nprobe = 32;
SET vqpq.rerank = 0;
SET vqpq.target_recall = 0.99;
RESET vqpq.nprobe;
RESET vqpq.rerank;
RESET vqpq.target_recall;
SHOW vqpq.iterative_scan;
SHOW vqpq.max_probes;
SET vqpq.iterative_scan = on;
SET vqpq.iterative_scan = relaxed_order;
SET vqpq.max_probes = 0;
SET vqpq.max_probes = 5;
RESET vqpq.iterative_scan;
RESET vqpq.max_probes;
SHOW vqpq.table_cache_size;
-- a negative size is refused (18's message gives the range's units)
DO $$ BEGIN PERFORM set_config('vqpq.table_cache_size', '-1', true);
EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE 'refused, %', SQLERRM ~ '^-1 kB is outside the valid range'; END $$;
SET vqpq.table_cache_size = '1MB';
SHOW vqpq.table_cache_size;
RESET vqpq.table_cache_size;

-- precomputed list tables: not cached, partly cached, cached and read from
-- the cache all give the same quantized order; so do two scans open at once
CREATE TABLE pc (id int, val pqvector(8));
INSERT INTO pc SELECT i, ARRAY(SELECT sin(i * 7 + j) * (1 + i % 5) FROM generate_series(1, 8) j)::real[]
  FROM generate_series(1, 3000) i;
CREATE INDEX pc_val ON pc USING ivfpq (val) WITH (nlist = 16, m = 4);
SET enable_seqscan = off;
SET vqpq.rerank = 0;
SET vqpq.nprobe = 16;
CREATE TEMP TABLE pc_orders (setting text, ids int[]);
-- the first scans of this new index find no tables cached
SET vqpq.table_cache_size = 0;
INSERT INTO pc_orders SELECT 'none', array_agg(id) FROM (SELECT id FROM pc ORDER BY val <-> '[1,0,1,0,1,0,1,0]' LIMIT 200) s;
SET vqpq.table_cache_size = '8kB';	-- room for two of the 16 lists' tables
INSERT INTO pc_orders SELECT 'partly', array_agg(id) FROM (SELECT id FROM pc ORDER BY val <-> '[1,0,1,0,1,0,1,0]' LIMIT 200) s;
RESET vqpq.table_cache_size;
INSERT INTO pc_orders SELECT 'cached', array_agg(id) FROM (SELECT id FROM pc ORDER BY val <-> '[1,0,1,0,1,0,1,0]' LIMIT 200) s;
INSERT INTO pc_orders SELECT 'from cache', array_agg(id) FROM (SELECT id FROM pc ORDER BY val <-> '[1,0,1,0,1,0,1,0]' LIMIT 200) s;
SELECT count(DISTINCT ids) AS distinct_orders, min(cardinality(ids)) AS rows FROM pc_orders;
-- a nested loop: the inner scans run while the outer one is open, and each
-- row's nearest neighbour is itself
RESET vqpq.rerank;
SELECT count(*) AS pairs, bool_and(n.id = o.id) AS each_finds_itself
  FROM (SELECT id, val FROM pc ORDER BY val <-> '[1,0,1,0,1,0,1,0]' LIMIT 20) o
  CROSS JOIN LATERAL (SELECT id FROM pc p ORDER BY p.val <-> o.val LIMIT 1) n;
RESET vqpq.nprobe;
RESET enable_seqscan;
DROP TABLE pc;
-- the vqpq prefix is reserved
SET vqpq.no_such_setting = 1;

-- the consistency check: nothing wrong with a healthy index, clear errors otherwise
CREATE INDEX t_check ON t USING ivfpq (val) WITH (nlist = 4);
SELECT * FROM vqpq_index_check('t_check');
SELECT * FROM vqpq_index_check('t');
CREATE INDEX t_btree ON t (val);
SELECT * FROM vqpq_index_check('t_btree');
DROP TABLE t;

-- default codes: 4-bit fast-scan wherever its 32-row blocks fit a page, with
-- as many sub-quantizers as fill the page (784 dimensions: 242); wider
-- vectors get 8-bit codes (3072 dimensions: 384); m alone picks 4 bits if
-- its blocks fit; nbits = 4 alone on wide vectors stays one entry per row
SET client_min_messages = warning;
CREATE TABLE dflt (w784 pqvector(784), w3072 pqvector(3072), w128 pqvector(128));
INSERT INTO dflt SELECT array_fill(i::real, ARRAY[784]), array_fill(i::real, ARRAY[3072]), array_fill(i::real, ARRAY[128])
  FROM generate_series(1, 20) i;
CREATE INDEX dflt_784 ON dflt USING ivfpq (w784) WITH (nlist = 1);
CREATE INDEX dflt_784_m ON dflt USING ivfpq (w784) WITH (nlist = 1, m = 100);
CREATE INDEX dflt_784_8 ON dflt USING ivfpq (w784) WITH (nlist = 1, nbits = 8);
CREATE INDEX dflt_3072 ON dflt USING ivfpq (w3072) WITH (nlist = 1);
CREATE INDEX dflt_3072_4 ON dflt USING ivfpq (w3072) WITH (nlist = 1, nbits = 4);
CREATE INDEX dflt_128 ON dflt USING ivfpq (w128) WITH (nlist = 1);
RESET client_min_messages;
SELECT i AS index, m, nbits, code_bytes
  FROM unnest(ARRAY['dflt_784', 'dflt_784_m', 'dflt_784_8', 'dflt_3072', 'dflt_3072_4', 'dflt_128']) i,
       vqpq_index_info(i::regclass);
DROP TABLE dflt;

-- nlist's default is about sqrt(rows), also when the index is built right
-- after loading, before any VACUUM or ANALYZE: the planner's estimate would
-- then take each vector for 32 bytes and, with the vectors in the row
-- (PLAIN), think the table holds several times its 4,000 rows
CREATE TABLE fresh (id int, v pqvector(200)) WITH (autovacuum_enabled = off);
ALTER TABLE fresh ALTER COLUMN v SET STORAGE PLAIN;
INSERT INTO fresh SELECT i, ARRAY(SELECT sin(i * 0.37 + j) FROM generate_series(1, 200) j)::real[]
  FROM generate_series(1, 4000) i;
SELECT reltuples FROM pg_class WHERE relname = 'fresh';
SET client_min_messages = warning;
CREATE INDEX fresh_idx ON fresh USING ivfpq (v);
RESET client_min_messages;
SELECT nlist, rows, nlist = round(sqrt(rows)) AS sqrt_rows FROM vqpq_index_info('fresh_idx');
DROP TABLE fresh;
