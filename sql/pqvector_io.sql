-- Text input and output of pqvector, typmods, and every malformed-literal error.

-- round trip: shortest form that reads back exactly, like real
SELECT '[1,2,3]'::pqvector;
SELECT '[-1,2.5,-3e-2]'::pqvector;
SELECT '[1.23456789,0.1,100000000,1e-7]'::pqvector;
SELECT '[3.4028235e38,-3.4028235e38,1.4e-45]'::pqvector;
SELECT '[0.1,1.23456789]'::pqvector::text = '[' || 0.1::real || ',' || 1.23456789::real || ']' AS same_as_real;
SELECT '[-0]'::pqvector;
-- white space around brackets and elements
SELECT '  [ 1 , 2 ,3 ]  '::pqvector;
SELECT E'\t[\n1,\r2\t]\n'::pqvector;
SELECT '[+1,1e2,1E-2,.5,5.]'::pqvector;

-- Malformed literals: each gives a clear error that names the type.
-- try_input shows SQLSTATE, message and detail of the error, if any.
CREATE FUNCTION try_input(lit text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	detail text;
BEGIN
	RETURN lit::pqvector::text;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || msg || coalesce(' (' || nullif(detail, '') || ')', '');
END $$;
SELECT lit, try_input(lit) FROM (VALUES
	('[1,,2]'), ('[1 2]'), ('[]'), ('[ ]'), ('[1,2'), ('[1,2,]'), ('[,1]'), ('1,2]'),
	(''), ('   '), ('[1,2]x'), ('[1,2] [3]'), ('[1a]'), ('[a]'), ('[1e]'), ('[[1]]'),
	('[1,2]]'), ('[0x]'), ('[-]'), ('[1;2]'),
	-- non-finite and out-of-range elements
	('[NaN]'), ('[1,nan]'), ('[Infinity]'), ('[-inf,1]'), ('[4e38]'), ('[-1e39]'), ('[1e-50]')
) AS t(lit);
DROP FUNCTION try_input(text);
-- the same errors as a user sees them
SELECT '[1,,2]'::pqvector;
SELECT '[]'::pqvector;
SELECT '[1,2]x'::pqvector;
SELECT '[NaN]'::pqvector;
SELECT '[4e38]'::pqvector;

-- dimensions: 1..16000
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::pqvector);
SELECT ('[' || repeat('1,', 16000) || '1]')::pqvector;

-- typmods
CREATE TABLE io_t (v pqvector(3));
INSERT INTO io_t VALUES ('[1,2,3]');
INSERT INTO io_t VALUES ('[1,2]');
INSERT INTO io_t VALUES ('[1,2,3,4]');
SELECT * FROM io_t;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'io_t'::regclass AND attname = 'v';
-- length coercion on assignment and in casts
INSERT INTO io_t SELECT '[4,5,6]'::pqvector;
INSERT INTO io_t SELECT '[4,5]'::pqvector;
SELECT * FROM io_t;
SELECT '[1,2,3]'::pqvector::pqvector(3);
SELECT '[1,2,3]'::pqvector::pqvector(2);
DROP TABLE io_t;
SELECT '[1]'::pqvector(0);
SELECT '[1]'::pqvector(16001);
SELECT '[1]'::pqvector(2, 3);
SELECT '[1]'::pqvector('a');
CREATE TABLE io_max (v pqvector(16000));
DROP TABLE io_max;

-- NULLs pass through
SELECT NULL::pqvector IS NULL AS is_null;
