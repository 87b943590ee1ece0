-- Casts between arrays and pqvector, and length coercion.

SELECT ARRAY[1,2,3]::pqvector AS from_int, ARRAY[1.5,2.5]::real[]::pqvector AS from_real,
       ARRAY[1.5,-2]::double precision[]::pqvector AS from_float8,
       ARRAY[1.5,2.25]::numeric[]::pqvector AS from_numeric;
SELECT '[1,2.5,-3]'::pqvector::real[] AS to_real;
SELECT ('[1,2.5,-3]'::pqvector::real[])::pqvector AS round_trip;
-- the array-to-pqvector casts are assignment casts: they work in INSERT
CREATE TABLE cast_t (v pqvector(3));
INSERT INTO cast_t VALUES (ARRAY[1,2,3]), (ARRAY[4,5,6]::real[]), (ARRAY[7,8,9]::float8[]), (ARRAY[1,1,1]::numeric[]);
SELECT * FROM cast_t;
INSERT INTO cast_t VALUES (ARRAY[1,2]);
SELECT ARRAY[1,2]::pqvector(3);
DROP TABLE cast_t;
-- the reverse works on assignment and when written out
CREATE TABLE cast_arr (a real[]);
INSERT INTO cast_arr VALUES ('[1,2,3]'::pqvector);
SELECT a, array_length(a, 1) FROM cast_arr;
DROP TABLE cast_arr;
SELECT ('[4,5,6]'::pqvector::real[])[2] AS second;
SELECT unnest('[1,2]'::pqvector::real[]) AS element;

-- bad arrays
SELECT '{{1,2},{3,4}}'::int[]::pqvector;
SELECT ARRAY[1,NULL,3]::pqvector;
SELECT '{}'::int[]::pqvector;
SELECT ARRAY['NaN']::real[]::pqvector;
SELECT ARRAY['Infinity']::double precision[]::pqvector;
SELECT ARRAY['-Infinity']::real[]::pqvector;
SELECT ARRAY[1e300]::double precision[]::pqvector;
SELECT ARRAY['NaN']::numeric[]::pqvector;
SELECT ARRAY[1e300]::numeric[]::pqvector;
SELECT ARRAY[1e400]::numeric[]::pqvector;
SELECT array_fill(1, ARRAY[16001])::pqvector;
SELECT ARRAY['1']::text[]::pqvector;
-- no implicit cast from arrays (it would make operators ambiguous)
SELECT ARRAY[1,2]::real[] <-> '[1,2]'::pqvector AS needs_cast;
SELECT ARRAY[1,2]::real[]::pqvector <-> '[1,2]'::pqvector AS with_cast;
-- a non-integer array element loses precision exactly as real does
SELECT ARRAY[0.1::float8]::pqvector = ARRAY[0.1::real]::pqvector AS rounds_like_real;
