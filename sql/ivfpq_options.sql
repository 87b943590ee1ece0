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
SELECT val FROM nodims ORDER BY val::pqvector(2) <-> '[3,3]';
RESET enable_seqscan;
-- a row of other dimensions cannot go into that index
INSERT INTO nodims VALUES ('[1,2,3]');
DROP TABLE nodims;
-- only pqvector columns, one column, no uniqueness
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
  FROM wide ORDER BY val <-> array_fill(2, ARRAY[16000])::real[]::pqvector;
RESET enable_seqscan;
DROP TABLE wide;

-- settings: bounds and defaults
SHOW vqpq.nprobe;
SHOW vqpq.rerank;
SET vqpq.nprobe = 0;
SET vqpq.nprobe = 65537;
SET vqpq.rerank = -1;
SET vqpq.rerank = 100001;
SET vqpq.nprobe = 32;
SET vqpq.rerank = 0;
RESET vqpq.nprobe;
RESET vqpq.rerank;
SHOW vqpq.iterative_scan;
SHOW vqpq.max_probes;
SET vqpq.iterative_scan = on;
SET vqpq.iterative_scan = relaxed_order;
SET vqpq.max_probes = 0;
SET vqpq.max_probes = 5;
RESET vqpq.iterative_scan;
RESET vqpq.max_probes;
-- the vqpq prefix is reserved
SET vqpq.no_such_setting = 1;

-- the consistency check: nothing wrong with a healthy index, clear errors otherwise
CREATE INDEX t_check ON t USING ivfpq (val) WITH (nlist = 4);
SELECT * FROM vqpq_index_check('t_check');
SELECT * FROM vqpq_index_check('t');
CREATE INDEX t_btree ON t (val);
SELECT * FROM vqpq_index_check('t_btree');
DROP TABLE t;
