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
	('pqvector_sum', '{double precision[]}', 'pqvector');

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
-- nothing in the extension escapes these checks: its every function is listed above
SELECT bag_eq(
	$$SELECT p.proname::text, string_to_array(oidvectortypes(p.proargtypes), ', ') FROM pg_depend d
		JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	   WHERE d.refclassid = 'pg_extension'::regclass AND p.prokind = 'f'
		 AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vqpq')$$,
	$$SELECT name, args FROM expected_functions$$,
	'the extension has exactly the functions listed');

SELECT * FROM finish();
ROLLBACK;
