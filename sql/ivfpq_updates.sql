-- Every row visible to the query is reachable through the index, whatever
-- updates did to it: HOT chains (the index entry points at the chain's
-- root, the visible version is further along), chains pruned by VACUUM to a
-- redirect line pointer, and non-HOT updates (a new entry); with and without
-- re-ranking, on built and inserted entries, in plain, filtered and iterative
-- scans, and for an index without a quantizer.
SET enable_seqscan = off;

-- 8 pseudo-random coordinates in [0, 1) per row, the same on every run
CREATE FUNCTION scattered(i int) RETURNS pqvector LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY(SELECT x - floor(x) FROM (SELECT sin(i * 12.9898 + j * 78.233) * 43758.5453 AS x
                                           FROM generate_series(1, 8) j) s)::real[]::pqvector $$;

-- fillfactor 50 leaves room on each page, so updates of other columns are HOT
CREATE TABLE h (id int PRIMARY KEY, note text, v pqvector(8)) WITH (fillfactor = 50);
INSERT INTO h SELECT i, 'x', scattered(i)
  FROM generate_series(1, 5000) i;
CREATE INDEX h_v ON h USING ivfpq (v);
CREATE TABLE updated (id int PRIMARY KEY);

-- the whole index through the index (every list, a LIMIT above the rows):
-- every visible row once, and each updated row among them
CREATE VIEW reach AS
SELECT (SELECT count(*) FROM h) AS visible, count(*) AS returned, count(DISTINCT id) AS distinct_rows,
       count(*) FILTER (WHERE id IN (SELECT id FROM updated)) AS updated_returned,
       (SELECT count(*) FROM updated u WHERE EXISTS (SELECT FROM h WHERE h.id = u.id)) AS updated_visible
  FROM (SELECT id FROM h ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 100000) s;
-- each updated row is the nearest row to its own vector
CREATE VIEW self_found AS
SELECT count(*) FILTER (WHERE (SELECT h2.id FROM h h2 ORDER BY h2.v <-> h1.v LIMIT 1) = h1.id) AS found,
       count(*) AS updated
  FROM h h1 JOIN updated USING (id);
-- the rows a filter matches, through an iterative scan that probes every list
CREATE VIEW filtered AS
SELECT (SELECT count(*) FROM h WHERE note <> 'x') AS matching, count(*) AS returned
  FROM (SELECT id FROM h WHERE note <> 'x' ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 100000) s;

SET vqpq.nprobe = 65536;
EXPLAIN (COSTS OFF) SELECT id FROM h ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 100000;

-- the reported case: a HOT update leaves the vector as it was
BEGIN;
UPDATE h SET note = 'y' WHERE id = 500;
SELECT pg_stat_get_xact_tuples_hot_updated('h'::regclass) > 0 AS hot;
COMMIT;
INSERT INTO updated VALUES (500);
SELECT count(*), count(*) FILTER (WHERE id = 500) AS row_500
  FROM (SELECT id FROM h ORDER BY v <-> (SELECT v FROM h WHERE id = 500) LIMIT 100000) s;
SET vqpq.rerank = 0;
SELECT count(*), count(*) FILTER (WHERE id = 500) AS row_500
  FROM (SELECT id FROM h ORDER BY v <-> (SELECT v FROM h WHERE id = 500) LIMIT 100000) s;
RESET vqpq.rerank;

-- longer HOT chains, a HOT update after a non-HOT one, and deletes
BEGIN;
UPDATE h SET note = 'y1' WHERE id BETWEEN 501 AND 520;
UPDATE h SET note = 'y2' WHERE id BETWEEN 501 AND 520;
UPDATE h SET note = 'y3' WHERE id BETWEEN 501 AND 510;
UPDATE h SET v = v * '[2,2,2,2,2,2,2,2]' WHERE id BETWEEN 511 AND 515;
UPDATE h SET note = 'y4' WHERE id BETWEEN 511 AND 515;
-- (of the 60 updates, the 55 of note alone are HOT while pages have room)
SELECT pg_stat_get_xact_tuples_hot_updated('h'::regclass) >= 45 AS mostly_hot;
COMMIT;
INSERT INTO updated SELECT generate_series(501, 520);
DELETE FROM h WHERE id BETWEEN 1000 AND 1099;

-- rows inserted after the build, then HOT-updated
INSERT INTO h SELECT i, 'x', scattered(i)
  FROM generate_series(5001, 5200) i;
UPDATE h SET note = 'z' WHERE id BETWEEN 5001 AND 5050;
UPDATE h SET note = 'z2' WHERE id BETWEEN 5001 AND 5020;
INSERT INTO updated SELECT generate_series(5001, 5050);

-- with re-ranking at its default, off, and so small that a scan runs many batches
SELECT 'rerank 100' AS setting, * FROM reach;
SELECT * FROM self_found;
SET vqpq.rerank = 0;
SELECT 'rerank 0' AS setting, * FROM reach;
SET vqpq.rerank = 7;
SELECT 'rerank 7' AS setting, * FROM reach;
SELECT * FROM self_found;
RESET vqpq.rerank;
-- filtered: one list at a time, on until the filter's rows are found
SET vqpq.iterative_scan = relaxed_order;
SET vqpq.nprobe = 1;
SELECT 'filtered, rerank 100' AS setting, * FROM filtered;
SET vqpq.rerank = 0;
SELECT 'filtered, rerank 0' AS setting, * FROM filtered;
RESET vqpq.rerank;
RESET vqpq.iterative_scan;
SET vqpq.nprobe = 65536;

-- VACUUM prunes the chains: each root line pointer becomes a redirect to
-- the chain's live version, which stays where it was on the same page
CREATE TEMP TABLE before_vacuum AS SELECT id, ctid AS place FROM h WHERE id IN (500, 501, 5001);
VACUUM h;
SELECT b.id, b.place = h.ctid AS same_place FROM before_vacuum b JOIN h USING (id) ORDER BY b.id;
-- and new HOT versions start from the redirect
UPDATE h SET note = 'w' WHERE id IN (500, 501, 5001, 700);
INSERT INTO updated VALUES (700);
SELECT 'after VACUUM, rerank 100' AS setting, * FROM reach;
SELECT * FROM self_found;
SET vqpq.rerank = 0;
SELECT 'after VACUUM, rerank 0' AS setting, * FROM reach;
RESET vqpq.rerank;
SET vqpq.iterative_scan = relaxed_order;
SET vqpq.nprobe = 1;
SELECT 'after VACUUM, filtered' AS setting, * FROM filtered;
RESET vqpq.iterative_scan;
SET vqpq.nprobe = 65536;
SELECT count(*) AS problems FROM vqpq_index_check('h_v');

-- an index without a quantizer scores rows by their exact distances, read
-- from the table: HOT-updated rows come back there too
TRUNCATE h, updated;
INSERT INTO h SELECT i, 'x', scattered(i)
  FROM generate_series(1, 300) i;
UPDATE h SET note = 'y' WHERE id % 10 = 0;
INSERT INTO updated SELECT id FROM h WHERE id % 10 = 0;
SELECT trained FROM vqpq_index_info('h_v');
SELECT 'untrained' AS setting, * FROM reach;
SELECT * FROM self_found;

DROP VIEW reach, self_found, filtered;
DROP TABLE h, updated;
DROP FUNCTION scattered(int);
RESET vqpq.nprobe;
RESET enable_seqscan;
