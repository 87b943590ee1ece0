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
RESET enable_seqscan;
