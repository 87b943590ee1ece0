-- 4-bit codes are stored in blocks of 32 rows and scored by fast-scan.
-- Lists here are not multiples of 32 rows and span several pages (m = 64:
-- 6 blocks, 192 rows, per page), so builds, inserts and VACUUM all leave
-- partly used blocks behind.
SET enable_seqscan = off;
-- (which inflates plan costs enough to set off JIT compilation: not wanted)
SET jit = off;

-- ten clusters of 64-d rows, deterministic
CREATE TABLE fs (id int PRIMARY KEY, val pqvector(64));
INSERT INTO fs
SELECT i, (SELECT array_agg(((i % 10) * 2 + sin(i * 0.37 + d * 1.3))::real ORDER BY d)
             FROM generate_series(1, 64) d)::pqvector
  FROM generate_series(1, 2000) i;
CREATE INDEX fs_val ON fs USING ivfpq (val) WITH (nlist = 4, m = 64, nbits = 4);
SELECT m, nbits, code_bytes, rows FROM vqpq_index_info('fs_val');
SELECT * FROM vqpq_index_check('fs_val');

-- every row exactly once, whatever the settings
CREATE FUNCTION fs_all_once() RETURNS text LANGUAGE sql AS $$
	SELECT count(*) || ' rows, ' || count(DISTINCT id) || ' distinct, table has ' || (SELECT count(*) FROM fs)
	  FROM (SELECT id FROM fs ORDER BY val <-> (SELECT val FROM fs WHERE id = 7) LIMIT 100000) s
$$;
-- recall@10 of 20 queries against the exact order, each query a row of the table
CREATE FUNCTION fs_recall() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	queries int := 0;
	q pqvector;
BEGIN
	FOR q IN SELECT val FROM fs WHERE id % 97 = 1 ORDER BY id LIMIT 20 LOOP
		SET LOCAL enable_indexscan = off;
		CREATE TEMP TABLE fs_exact ON COMMIT DROP AS
			SELECT id FROM fs ORDER BY val <-> q, id LIMIT 10;
		SET LOCAL enable_indexscan = on;
		SELECT hits + count(*) INTO hits
		  FROM (SELECT id FROM fs ORDER BY val <-> q LIMIT 10) i JOIN fs_exact USING (id);
		DROP TABLE fs_exact;
		queries := queries + 1;
	END LOOP;
	RETURN round(hits / (10.0 * queries), 3);
END $$;

SET vqpq.nprobe = 4;
SET vqpq.rerank = 0;
SELECT fs_all_once();
-- fast-scan's order alone is close to exact (a scrambled layout or table is not)
SELECT fs_recall() >= 0.8 AS adc_recall_ok;
-- re-ranking everything probed gives the exact order
SET vqpq.rerank = 2000;
SELECT fs_recall();

-- inserts fill the lists' partly used blocks and start new ones
INSERT INTO fs
SELECT i, (SELECT array_agg(((i % 10) * 2 + cos(i * 0.11 + d * 0.7))::real ORDER BY d)
             FROM generate_series(1, 64) d)::pqvector
  FROM generate_series(2001, 2700) i;
SELECT * FROM vqpq_index_check('fs_val');
SET vqpq.rerank = 0;
SELECT fs_all_once();
SELECT fs_recall() >= 0.8 AS adc_recall_ok;

-- VACUUM moves rows within and across blocks of a page
DELETE FROM fs WHERE id % 3 = 0 OR id BETWEEN 100 AND 160;
VACUUM fs;
SELECT * FROM vqpq_index_check('fs_val');
SELECT fs_all_once();
SELECT fs_recall() >= 0.8 AS adc_recall_ok;
SET vqpq.rerank = 2000;
SELECT fs_recall();

-- and the freed rows are reused
SELECT pg_relation_size('fs_val') AS size_before \gset
INSERT INTO fs
SELECT i, (SELECT array_agg(((i % 10) * 2 + sin(i * 0.53 + d))::real ORDER BY d)
             FROM generate_series(1, 64) d)::pqvector
  FROM generate_series(3000, 3500) i;
SELECT pg_relation_size('fs_val') = :size_before AS no_new_pages;
SELECT * FROM vqpq_index_check('fs_val');
SET vqpq.rerank = 0;
SELECT fs_all_once();
SET vqpq.rerank = 2000;
SELECT fs_recall();

-- a scan finds exactly the rows a deleted-everything VACUUM leaves: none
DELETE FROM fs;
VACUUM fs;
SELECT * FROM vqpq_index_check('fs_val');
SELECT fs_all_once();

-- 4-bit codes too long for a block on one page stay one entry after another
CREATE TABLE fs_wide (id int, val pqvector(600));
INSERT INTO fs_wide SELECT i, (SELECT array_agg(sin(i * d)::real) FROM generate_series(1, 600) d)::pqvector
  FROM generate_series(1, 300) i;
CREATE INDEX fs_wide_val ON fs_wide USING ivfpq (val) WITH (nlist = 2, m = 600, nbits = 4);
SELECT * FROM vqpq_index_check('fs_wide_val');
SET vqpq.nprobe = 2;
SET vqpq.rerank = 300;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM fs_wide ORDER BY val <-> (SELECT val FROM fs_wide WHERE id = 1) LIMIT 1000) s;
SELECT id FROM fs_wide ORDER BY val <-> (SELECT val FROM fs_wide WHERE id = 1) LIMIT 1;

RESET vqpq.nprobe;
RESET vqpq.rerank;
DROP TABLE fs, fs_wide;
DROP FUNCTION fs_all_once(), fs_recall();
