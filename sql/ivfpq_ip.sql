-- ivfpq with pqvector_ip_ops: ORDER BY negative inner product.
SET enable_seqscan = off;
-- EXPLAIN without the "Disabled: true" line 18 prints under a disabled node
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line !~ '^\s*Disabled: true$' THEN
      RETURN NEXT line;
    END IF;
  END LOOP;
END $$;

CREATE TABLE t (id int, val pqvector(3));
INSERT INTO t VALUES (1, '[0,0,0]'), (2, '[1,2,3]'), (3, '[1,1,1]'), (4, NULL), (5, '[-1,-2,-3]');
CREATE INDEX ON t USING ivfpq (val pqvector_ip_ops) WITH (nlist = 1);
INSERT INTO t VALUES (6, '[3,3,3]');

EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY val <#> '[3,3,3]' LIMIT 3;
SELECT id, val <#> '[3,3,3]' AS neg_ip FROM t ORDER BY val <#> '[3,3,3]' LIMIT 1000;
SELECT id FROM t ORDER BY '[3,3,3]' <#> val LIMIT 1000;
SET vqpq.rerank = 0;
SELECT id FROM t ORDER BY val <#> '[3,3,3]' LIMIT 1000;
RESET vqpq.rerank;
SELECT count(*) FROM (SELECT id FROM t ORDER BY val <#> (SELECT NULL::pqvector) LIMIT 1000) s;
-- an l2 query cannot use an inner-product index
SELECT plan_of($$SELECT id FROM t ORDER BY val <-> '[3,3,3]' LIMIT 3$$);

TRUNCATE t;
INSERT INTO t VALUES (7, '[1,0,0]'), (8, '[0,2,0]'), (9, '[0,0,3]');
SELECT id FROM t ORDER BY val <#> '[1,1,1]' LIMIT 1000;
DROP TABLE t;
RESET enable_seqscan;
DROP FUNCTION plan_of(text);
