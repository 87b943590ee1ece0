-- pgTAP: the catalog surface of vqpq, as users and tools see it.
-- Run by "make pgtap_installcheck" in a database with pgtap and vqpq installed.
BEGIN;

CREATE TEMP TABLE expected_functions (name text, args text[], returns text);
INSERT INTO expected_functions VALUES
	('pqvector_in', '{cstring,oid,integer}', 'pqvector'),
	('pqvector_out', '{pqvector}', 'cstring'),
	('pqvector_typmod_in', '{cstring[]}', 'integer'),
	('pqvector_recv', '{internal,oid,integer}', 'pqvector'),
	('pqvector_send', '{pqvector}', 'bytea'),
	('pqvector', '{pqvector,integer,boolean}', 'pqvector'),
	('array_to_pqvector', '{integer[],integer,boolean}', 'pqvector'),
	('array_to_pqvector', '{real[],integer,boolean}', 'pqvector'),
	('array_to_pqvector', '{double precision[],integer,boolean}', 'pqvector'),
	('array_to_pqvector', '{numeric[],integer,boolean}', 'pqvector'),
	('pqvector_to_float4', '{pqvector,integer,boolean}', 'real[]'),
	('l2_distance', '{pqvector,pqvector}', 'double precision'),
	('pqvector_l2_squared_distance', '{pqvector,pqvector}', 'double precision'),
	('inner_product', '{pqvector,pqvector}', 'double precision'),
	('pqvector_negative_inner_product', '{pqvector,pqvector}', 'double precision'),
	('cosine_distance', '{pqvector,pqvector}', 'double precision'),
	('l1_distance', '{pqvector,pqvector}', 'double precision'),
	('vector_dims', '{pqvector}', 'integer'),
	('vector_norm', '{pqvector}', 'double precision'),
	('l2_normalize', '{pqvector}', 'pqvector'),
	('subvector', '{pqvector,integer,integer}', 'pqvector'),
	('pqvector_add', '{pqvector,pqvector}', 'pqvector'),
	('pqvector_sub', '{pqvector,pqvector}', 'pqvector'),
	('pqvector_mul', '{pqvector,pqvector}', 'pqvector'),
	('pqvector_concat', '{pqvector,pqvector}', 'pqvector'),
	('pqvector_lt', '{pqvector,pqvector}', 'boolean'),
	('pqvector_le', '{pqvector,pqvector}', 'boolean'),
	('pqvector_eq', '{pqvector,pqvector}', 'boolean'),
	('pqvector_ne', '{pqvector,pqvector}', 'boolean'),
	('pqvector_ge', '{pqvector,pqvector}', 'boolean'),
	('pqvector_gt', '{pqvector,pqvector}', 'boolean'),
	('pqvector_cmp', '{pqvector,pqvector}', 'integer'),
	('pqvector_hash', '{pqvector}', 'integer'),
	('pqvector_accum', '{double precision[],pqvector}', 'double precision[]'),
	('pqvector_combine', '{double precision[],double precision[]}', 'double precision[]'),
	('pqvector_avg', '{double precision[]}', 'pqvector'),
	('pqvector_sum', '{double precision[]}', 'pqvector'),
	('ivfpq_l2_support', '{internal}', 'internal'),
	('ivfpq_ip_support', '{internal}', 'internal'),
	('ivfpq_cosine_support', '{internal}', 'internal');

CREATE TEMP TABLE expected_operators (name text, l text, r text, returns text, commutator text, negator text);
INSERT INTO expected_operators VALUES
	('<->', 'pqvector', 'pqvector', 'double precision', '<->', NULL),
	('<#>', 'pqvector', 'pqvector', 'double precision', '<#>', NULL),
	('<=>', 'pqvector', 'pqvector', 'double precision', '<=>', NULL),
	('<+>', 'pqvector', 'pqvector', 'double precision', '<+>', NULL),
	('+', 'pqvector', 'pqvector', 'pqvector', '+', NULL),
	('-', 'pqvector', 'pqvector', 'pqvector', NULL, NULL),
	('*', 'pqvector', 'pqvector', 'pqvector', '*', NULL),
	('||', 'pqvector', 'pqvector', 'pqvector', NULL, NULL),
	('<', 'pqvector', 'pqvector', 'boolean', '>', '>='),
	('<=', 'pqvector', 'pqvector', 'boolean', '>=', '>'),
	('=', 'pqvector', 'pqvector', 'boolean', '=', '<>'),
	('<>', 'pqvector', 'pqvector', 'boolean', '<>', '='),
	('>=', 'pqvector', 'pqvector', 'boolean', '<=', '<'),
	('>', 'pqvector', 'pqvector', 'boolean', '<', '<=');

CREATE TEMP TABLE expected_casts (source text, target text, func text, context text);
INSERT INTO expected_casts VALUES
	('pqvector', 'pqvector', 'pqvector', 'implicit'),
	('integer[]', 'pqvector', 'array_to_pqvector', 'assignment'),
	('real[]', 'pqvector', 'array_to_pqvector', 'assignment'),
	('double precision[]', 'pqvector', 'array_to_pqvector', 'assignment'),
	('numeric[]', 'pqvector', 'array_to_pqvector', 'assignment'),
	('pqvector', 'real[]', 'pqvector_to_float4', 'assignment');

SELECT plan(
	8
	+ 5 * (SELECT count(*)::int FROM expected_functions)
	+ 3 * (SELECT count(*)::int FROM expected_operators)
	+ 2 * (SELECT count(*)::int FROM expected_casts)
	+ 8
	+ 12
	+ 3
	+ 6
);

-- the type
SELECT has_type('pqvector');
SELECT is((SELECT typstorage::text FROM pg_type WHERE typname = 'pqvector'), 'e',
	'pqvector storage is EXTERNAL (out of line, never compressed)');
SELECT is((SELECT typalign::text FROM pg_type WHERE typname = 'pqvector'), 'i', 'pqvector is int4-aligned');
SELECT is((SELECT typlen FROM pg_type WHERE typname = 'pqvector'), -1::int2, 'pqvector is variable length');
SELECT isnt((SELECT typmodin FROM pg_type WHERE typname = 'pqvector'), 0::regproc, 'pqvector takes a typmod');
SELECT isnt((SELECT typreceive FROM pg_type WHERE typname = 'pqvector'), 0::regproc, 'pqvector has binary input');
SELECT isnt((SELECT typsend FROM pg_type WHERE typname = 'pqvector'), 0::regproc, 'pqvector has binary output');
SELECT is(format_type('pqvector'::regtype, 768), 'pqvector(768)', 'pqvector(768) prints as such');

-- every function: exists with its signature and result, immutable, strict, parallel safe
SELECT has_function(name, args, format('%s(%s) exists', name, array_to_string(args, ', ')))
  FROM expected_functions;
SELECT function_returns(name, args, returns, format('%s(%s) returns %s', name, array_to_string(args, ', '), returns))
  FROM expected_functions;
SELECT volatility_is(name, args, 'immutable', format('%s(%s) is immutable', name, array_to_string(args, ', ')))
  FROM expected_functions;
SELECT is_strict(name, args, format('%s(%s) is strict', name, array_to_string(args, ', ')))
  FROM expected_functions;
SELECT is(p.proparallel::text, 's', format('%s(%s) is parallel safe', f.name, array_to_string(f.args, ', ')))
  FROM expected_functions f
  LEFT JOIN pg_proc p ON p.proname = f.name
	AND string_to_array(oidvectortypes(p.proargtypes), ', ') = f.args;

-- every operator: exists with its result, with the right commutator and negator
SELECT has_operator(l, name, r, returns, format('operator %s(%s, %s) returns %s', name, l, r, returns))
  FROM expected_operators;
SELECT is(o.oprcom::regoperator::text,
		  CASE WHEN e.commutator IS NULL THEN '0' ELSE format('%s(pqvector,pqvector)', e.commutator) END,
		  format('operator %s commutator is %s', e.name, coalesce(e.commutator, 'none')))
  FROM expected_operators e
  LEFT JOIN pg_operator o ON o.oprname = e.name AND o.oprleft = 'pqvector'::regtype AND o.oprright = 'pqvector'::regtype;
SELECT is(o.oprnegate::regoperator::text,
		  CASE WHEN e.negator IS NULL THEN '0' ELSE format('%s(pqvector,pqvector)', e.negator) END,
		  format('operator %s negator is %s', e.name, coalesce(e.negator, 'none')))
  FROM expected_operators e
  LEFT JOIN pg_operator o ON o.oprname = e.name AND o.oprleft = 'pqvector'::regtype AND o.oprright = 'pqvector'::regtype;

-- casts and their contexts
SELECT has_cast(source, target, func, format('cast %s -> %s via %s', source, target, func))
  FROM expected_casts;
SELECT cast_context_is(source, target, context, format('cast %s -> %s is %s', source, target, context))
  FROM expected_casts;

-- operator classes and aggregates
SELECT has_opclass('pqvector_ops', 'btree and hash opclass pqvector_ops exists');
SELECT ok((SELECT opcdefault FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
			WHERE opcname = 'pqvector_ops' AND amname = 'btree'), 'pqvector_ops is the default btree opclass');
SELECT ok((SELECT opcdefault FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
			WHERE opcname = 'pqvector_ops' AND amname = 'hash'), 'pqvector_ops is the default hash opclass');
SELECT ok((SELECT oprcanhash AND oprcanmerge FROM pg_operator
			WHERE oprname = '=' AND oprleft = 'pqvector'::regtype), '= on pqvector supports hash and merge joins');
SELECT is_aggregate('avg', ARRAY['pqvector'], 'avg(pqvector) is an aggregate');
SELECT is_aggregate('sum', ARRAY['pqvector'], 'sum(pqvector) is an aggregate');
SELECT is((SELECT array_agg(DISTINCT p.proparallel::text) FROM pg_proc p
			WHERE p.prokind = 'a' AND p.proargtypes[0] = 'pqvector'::regtype),
		  ARRAY['s'], 'avg and sum are parallel safe');
-- the ivfpq access method and its operator classes
SELECT has_function('ivfpqhandler', ARRAY['internal'], 'ivfpqhandler(internal) exists');
SELECT function_returns('ivfpqhandler', ARRAY['internal'], 'index_am_handler', 'ivfpqhandler returns index_am_handler');
SELECT is((SELECT amtype::text FROM pg_am WHERE amname = 'ivfpq'), 'i', 'ivfpq is an index access method');
SELECT is((SELECT amhandler::text FROM pg_am WHERE amname = 'ivfpq'), 'ivfpqhandler', 'ivfpq is served by ivfpqhandler');
SELECT bag_eq(
	$$SELECT c.opcname::text, c.opcdefault, o.oprname::text, p.amproc::text
		FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
		JOIN pg_amop ao ON ao.amopfamily = c.opcfamily
		JOIN pg_operator o ON o.oid = ao.amopopr
		JOIN pg_amproc p ON p.amprocfamily = c.opcfamily
	   WHERE a.amname = 'ivfpq'$$,
	$$VALUES ('pqvector_l2_ops', true, '<->', 'ivfpq_l2_support'),
			 ('pqvector_ip_ops', false, '<#>', 'ivfpq_ip_support'),
			 ('pqvector_cosine_ops', false, '<=>', 'ivfpq_cosine_support')$$,
	'ivfpq opclasses: l2 (default), ip, cosine, each with its operator and metric function');
SELECT is((SELECT array_agg(DISTINCT ao.amoppurpose::text) FROM pg_amop ao JOIN pg_am a ON a.oid = ao.amopmethod
			WHERE a.amname = 'ivfpq' AND ao.amoplefttype = 'pqvector'::regtype), ARRAY['o'],
		  'ivfpq operators on pqvector are ORDER BY operators');
-- filter columns: the columns after the vector
SELECT bag_eq(
	$$SELECT c.opcname::text, c.opcintype::regtype::text, c.opcdefault, f.opfname::text
		FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
	   WHERE a.amname = 'ivfpq' AND c.opcintype <> 'pqvector'::regtype$$,
	$$VALUES ('int2_ops', 'smallint', true, 'integer_ops'), ('int4_ops', 'integer', true, 'integer_ops'),
			 ('int8_ops', 'bigint', true, 'integer_ops'), ('date_ops', 'date', true, 'date_ops'),
			 ('timestamp_ops', 'timestamp without time zone', true, 'timestamp_ops'),
			 ('timestamptz_ops', 'timestamp with time zone', true, 'timestamptz_ops')$$,
	'ivfpq filter opclasses: the integers in one family, date, timestamp, timestamptz; all default');
SELECT is((SELECT count(*)::int FROM pg_amop ao JOIN pg_opfamily f ON f.oid = ao.amopfamily
			JOIN pg_am a ON a.oid = f.opfmethod WHERE a.amname = 'ivfpq' AND f.opfname = 'integer_ops'
			  AND ao.amoppurpose = 's'), 45,
		  'ivfpq integer_ops compares every pair of smallint, integer and bigint with < <= = >= >');
SELECT is((SELECT count(*)::int FROM pg_amop ao JOIN pg_am a ON a.oid = ao.amopmethod
			WHERE a.amname = 'ivfpq' AND ao.amoplefttype <> 'pqvector'::regtype
			  AND (ao.amoppurpose <> 's' OR NOT EXISTS (
				SELECT 1 FROM pg_amop bo JOIN pg_am b ON b.oid = bo.amopmethod
				 WHERE b.amname = 'btree' AND bo.amopopr = ao.amopopr AND bo.amopstrategy = ao.amopstrategy))), 0,
		  'each ivfpq filter operator is a search operator with its btree strategy number');
SELECT is((SELECT array_agg(DISTINCT f.opfname::text) FROM pg_amop ao JOIN pg_am a ON a.oid = ao.amopmethod
			JOIN pg_opfamily f ON f.oid = ao.amopsortfamily WHERE a.amname = 'ivfpq'),
		  ARRAY['float_ops'], 'ivfpq ORDER BY operators sort with float_ops');
SELECT is((SELECT count(*)::int FROM pg_amop ao JOIN pg_am a ON a.oid = ao.amopmethod
			WHERE a.amname = 'ivfpq' AND ao.amoplefttype = 'pqvector'::regtype
			  AND ao.amoprighttype = 'pqvector'::regtype AND ao.amopstrategy = 1), 3,
		  'each ivfpq opclass orders by strategy 1 on (pqvector, pqvector)');
SELECT is((SELECT p.provolatile::text || (CASE WHEN p.proisstrict THEN 't' ELSE 'f' END) FROM pg_proc p WHERE p.proname = 'ivfpqhandler'),
		  'vf', 'ivfpqhandler is volatile and not strict, as index handlers are');

-- the consistency check
SELECT has_function('vqpq_index_check', ARRAY['regclass'], 'vqpq_index_check(regclass) exists');
SELECT is((SELECT pg_get_function_result('vqpq_index_check(regclass)'::regprocedure)),
		  'TABLE(blkno bigint, problem text)', 'vqpq_index_check returns (blkno, problem) rows');
SELECT ok(NOT has_function_privilege('public', 'vqpq_index_check(regclass)', 'EXECUTE'),
		  'vqpq_index_check is not executable by PUBLIC');

-- knowing an index
SELECT has_function('vqpq_index_info', ARRAY['regclass'], 'vqpq_index_info(regclass) exists');
SELECT has_function('vqpq_index_prewarm', ARRAY['regclass'], 'vqpq_index_prewarm(regclass) exists');
SELECT has_function('vqpq_index_recall', ARRAY['regclass', 'pqvector[]', 'integer'], 'vqpq_index_recall(regclass, pqvector[], integer) exists');
SELECT has_function('vqpq_index_recall', ARRAY['regclass', 'integer', 'integer'], 'vqpq_index_recall(regclass, integer, integer) exists');
SELECT has_function('vqpq_index_calibration', ARRAY['regclass'], 'vqpq_index_calibration(regclass) exists');
SELECT is((SELECT pg_get_function_result('vqpq_index_calibration(regclass)'::regprocedure)),
		  'SETOF record', 'vqpq_index_calibration returns a set of rows');

-- nothing in the extension escapes these checks: its every function is listed above
SELECT bag_eq(
	$$SELECT p.proname::text, string_to_array(oidvectortypes(p.proargtypes), ', ') FROM pg_depend d
		JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	   WHERE d.refclassid = 'pg_extension'::regclass AND p.prokind = 'f'
		 AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vqpq')$$,
	$$SELECT name, args FROM expected_functions
	  UNION ALL VALUES ('ivfpqhandler', '{internal}'::text[]), ('vqpq_index_check', '{regclass}'),
		('vqpq_index_info', '{regclass}'), ('vqpq_index_prewarm', '{regclass}'),
		('vqpq_index_recall', '{regclass,pqvector[],integer}'), ('vqpq_index_recall', '{regclass,integer,integer}'),
		('vqpq_index_calibration', '{regclass}')$$,
	'the extension has exactly the functions listed');

SELECT * FROM finish();
ROLLBACK;
