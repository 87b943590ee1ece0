-- ivfpq with pqvector_cosine_ops: vectors are indexed normalized.
SET enable_seqscan = off;

CREATE TABLE t (id int, val pqvector(3));
INSERT INTO t VALUES (1, '[0,0,0]'), (2, '[1,2,3]'), (3, '[1,1,1]'), (4, NULL), (5, '[2,4,6.5]');
CREATE INDEX ON t USING ivfpq (val pqvector_cosine_ops) WITH (nlist = 1);
INSERT INTO t VALUES (6, '[-3,-3,-3]');

EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY val <=> '[3,3,3]' LIMIT 3;
-- the zero vector has no direction: its distance is NaN, and it comes last
SELECT id, round((val <=> '[3,3,3]')::numeric, 6) AS cos_distance FROM t ORDER BY val <=> '[3,3,3]' LIMIT 1000;
SELECT id FROM t ORDER BY '[3,3,3]' <=> val LIMIT 1000;
-- scale does not matter to cosine, here either
SELECT id FROM t ORDER BY val <=> '[300,300,300]' LIMIT 2;
-- a zero query vector still returns every indexed row
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <=> '[0,0,0]' LIMIT 1000) s;
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <=> (SELECT NULL::pqvector) LIMIT 1000) s;
DROP TABLE t;

-- zero vectors come last with re-ranking off and in every batch size, built
-- or inserted: they are kept on a chain of their own, read after the lists
CREATE TABLE z (id int, val pqvector(4));
INSERT INTO z SELECT i, CASE WHEN i % 25 = 0 THEN '[0,0,0,0]'
                             ELSE ARRAY[sin(i), cos(i * 3), sin(i * 7), 1]::real[]::pqvector END
  FROM generate_series(1, 1000) i;
CREATE INDEX z_val ON z USING ivfpq (val pqvector_cosine_ops) WITH (nlist = 8);
INSERT INTO z SELECT i, CASE WHEN i % 25 = 0 THEN '[0,0,0,0]'
                             ELSE ARRAY[sin(i), cos(i * 3), sin(i * 7), 1]::real[]::pqvector END
  FROM generate_series(1001, 1100) i;
SET vqpq.nprobe = 8;
CREATE VIEW zero_places AS
  SELECT count(*) AS returned, count(*) FILTER (WHERE zero) AS zeros,
         min(n) FILTER (WHERE zero) > max(n) FILTER (WHERE NOT zero) AS zeros_last
    FROM (SELECT row_number() OVER () AS n, val = '[0,0,0,0]' AS zero
            FROM (SELECT val FROM z ORDER BY val <=> '[1,0,0,1]' LIMIT 5000) s) r;
SET vqpq.rerank = 0;
SELECT 'rerank 0' AS setting, * FROM zero_places;
SET vqpq.rerank = 7;
SELECT 'rerank 7' AS setting, * FROM zero_places;
RESET vqpq.rerank;
SELECT 'rerank 100' AS setting, * FROM zero_places;
-- VACUUM keeps them there
DELETE FROM z WHERE id % 50 = 0;
VACUUM z;
SELECT 'after VACUUM' AS setting, * FROM zero_places;
SELECT count(*) AS problems FROM vqpq_index_check('z_val');
RESET vqpq.nprobe;
DROP VIEW zero_places;
DROP TABLE z;
RESET enable_seqscan;
