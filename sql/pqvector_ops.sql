-- Distances, vector functions, element-wise arithmetic, comparisons.

-- distances: operators and the functions of the same meaning
SELECT '[1,2,3]'::pqvector <-> '[3,1,2]' AS l2, l2_distance('[1,2,3]', '[3,1,2]'::pqvector) AS l2_fn,
       sqrt(6) AS expected;
SELECT '[0,0]'::pqvector <-> '[3,4]' AS l2;
SELECT pqvector_l2_squared_distance('[0,0]', '[3,4]') AS l2_squared;
SELECT '[1,2,3]'::pqvector <#> '[4,5,6]' AS neg_ip, inner_product('[1,2,3]', '[4,5,6]'::pqvector) AS ip;
SELECT '[1,2,3]'::pqvector <=> '[4,5,6]' AS cos, cosine_distance('[1,2,3]', '[4,5,6]'::pqvector) AS cos_fn,
       1 - 32 / sqrt(14 * 77) AS expected;
SELECT '[3,4]'::pqvector <=> '[3,4]' AS same_direction, '[3,4]'::pqvector <=> '[-3,-4]' AS opposite,
       '[1,0]'::pqvector <=> '[0,1]' AS orthogonal, '[1,1]'::pqvector <=> '[2,2]' AS scaled;
-- no direction, no cosine
SELECT '[0,0]'::pqvector <=> '[1,2]' AS zero_cos;
SELECT '[1,2,3]'::pqvector <+> '[3,1,-2]' AS l1, l1_distance('[1,2,3]', '[3,1,-2]'::pqvector) AS l1_fn;
-- results are float8, and operands commute
SELECT pg_typeof('[1]'::pqvector <-> '[2]'), pg_typeof('[1]'::pqvector <#> '[2]'),
       pg_typeof('[1]'::pqvector <=> '[2]'), pg_typeof('[1]'::pqvector <+> '[2]');
SELECT a <-> b = b <-> a AS l2, a <#> b = b <#> a AS ip, a <=> b = b <=> a AS cos, a <+> b = b <+> a AS l1
  FROM (VALUES ('[1.5,-2,7]'::pqvector, '[0.25,3,-1]'::pqvector)) AS t(a, b);
-- long vectors go through the SIMD tails: 1..40 dims against the exact answer
SELECT n, v <-> w AS l2, sqrt(n) AS expected_l2, v <#> w AS neg_ip, v <+> w AS l1
  FROM generate_series(1, 40, 13) AS n,
       LATERAL (SELECT array_fill(1, ARRAY[n])::real[]::pqvector AS v,
                       array_fill(2, ARRAY[n])::real[]::pqvector AS w) AS t;
-- different dimensions are an error for every distance
SELECT '[1,2]'::pqvector <-> '[1,2,3]';
SELECT '[1,2]'::pqvector <#> '[1,2,3]';
SELECT '[1,2]'::pqvector <=> '[1,2,3]';
SELECT '[1,2]'::pqvector <+> '[1,2,3]';
SELECT inner_product('[1]', '[1,2]'::pqvector);

-- vector functions
SELECT vector_dims('[1,2,3]'::pqvector);
SELECT vector_norm('[3,4]'::pqvector), vector_norm('[0,0,0]'::pqvector);
SELECT l2_normalize('[3,4]'::pqvector), l2_normalize('[0,0]'::pqvector), l2_normalize('[-2]'::pqvector);
SELECT vector_norm(l2_normalize('[1,2,3,4,5]'::pqvector)) BETWEEN 0.9999999 AND 1.0000001 AS unit;
-- subvector(v, start, count) is 1-based like substring
SELECT subvector('[1,2,3,4,5]'::pqvector, 1, 3);
SELECT subvector('[1,2,3,4,5]'::pqvector, 3, 2);
SELECT subvector('[1,2,3,4,5]'::pqvector, 0, 3);
SELECT subvector('[1,2,3,4,5]'::pqvector, -1, 4);
SELECT subvector('[1,2,3,4,5]'::pqvector, 4, 100);
SELECT subvector('[1,2,3,4,5]'::pqvector, 2147483647, 2147483647);
SELECT subvector('[1,2,3,4,5]'::pqvector, -2147483648, 2147483647);
SELECT subvector('[1,2,3,4,5]'::pqvector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::pqvector, 1, 0);
SELECT subvector('[1,2,3,4,5]'::pqvector, -5, 6);
SELECT subvector('[1,2,3,4,5]'::pqvector, 2, -1);

-- element-wise arithmetic
SELECT '[1,2,3]'::pqvector + '[4,5,6]' AS add, '[1,2,3]'::pqvector - '[4,5,6]' AS sub,
       '[1,2,3]'::pqvector * '[4,5,6]' AS mul, '[1,2]'::pqvector || '[3]' AS concat;
SELECT '[1,2]'::pqvector + '[1]';
SELECT '[1,2]'::pqvector - '[1]';
SELECT '[1,2]'::pqvector * '[1]';
-- overflow and underflow are errors, never infinities or silent zeros
SELECT '[3e38]'::pqvector + '[3e38]';
SELECT '[-3e38]'::pqvector - '[3e38]';
SELECT '[1e20]'::pqvector * '[1e20]';
SELECT '[1e-30]'::pqvector * '[1e-30]';
SELECT '[0]'::pqvector * '[1e-30]' AS zero_is_fine;
SELECT vector_dims(array_fill(1, ARRAY[8000])::real[]::pqvector || array_fill(1, ARRAY[8000])::real[]::pqvector);
SELECT array_fill(1, ARRAY[8000])::real[]::pqvector || array_fill(1, ARRAY[8001])::real[]::pqvector;

-- comparisons: element by element, then length, like arrays
SELECT '[1,2,3]'::pqvector < '[1,2,4]' AS lt, '[1,2,3]'::pqvector <= '[1,2,3]' AS le,
       '[1,2,3]'::pqvector = '[1,2,3]' AS eq, '[1,2,3]'::pqvector <> '[1,2,3]' AS ne,
       '[1,2,4]'::pqvector >= '[1,2,3]' AS ge, '[2]'::pqvector > '[1,9]' AS gt;
SELECT '[1,2]'::pqvector < '[1,2,0]' AS shorter_first, '[1,2]'::pqvector = '[1,2,0]' AS eq_diff_dims,
       pqvector_cmp('[1,2,0]', '[1,2]') AS cmp;
SELECT '[0]'::pqvector = '[-0]' AS zero_eq_negative_zero;
CREATE TABLE ops_t (id int, v pqvector);
INSERT INTO ops_t VALUES (1, '[1,2,3]'), (2, '[1,2]'), (3, '[0,5]'), (4, '[1,2,3]'),
       (5, '[-0,5]'), (6, NULL), (7, '[1,1,9]');
SELECT id, v FROM ops_t ORDER BY v, id;
SELECT v, count(*) FROM ops_t GROUP BY v ORDER BY v;
SELECT DISTINCT v FROM ops_t ORDER BY v;
-- the hash opclass lets GROUP BY hash, and -0 groups with 0
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT v, count(*) FROM ops_t GROUP BY v;
SELECT v, count(*) FROM ops_t GROUP BY v ORDER BY count(*) DESC, v LIMIT 2;
RESET enable_sort;
-- btree: unique indexes and index lookups
CREATE UNIQUE INDEX ops_t_v ON ops_t (v);
DELETE FROM ops_t WHERE id IN (4, 5);
CREATE UNIQUE INDEX ops_t_v ON ops_t (v);
INSERT INTO ops_t VALUES (8, '[1,2,3]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ops_t WHERE v = '[0,5]';
SELECT id FROM ops_t WHERE v = '[0,5]';
SELECT id FROM ops_t WHERE v > '[1,1]' ORDER BY v;
RESET enable_seqscan;
-- ANALYZE compares vectors of different lengths without error
ANALYZE ops_t;
DROP TABLE ops_t;
