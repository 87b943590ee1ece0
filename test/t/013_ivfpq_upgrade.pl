# Upgrades.  ALTER EXTENSION vqpq UPDATE from 0.1.0 (through 0.2.0): indexes
# built under 0.1.0's SQL keep answering, the same rows, and the updated
# extension has exactly the objects, definitions and comments of a fresh
# 0.3.0.  Older on-disk formats: an index whose metapage says format 3 or 2,
# or 1 with 8-bit codes (laid out as format 4 without filter columns
# then), answers the same; format 1 with 4-bit
# codes, or an unknown format, is refused with the documented error and its
# REINDEX hint, and REINDEX mends it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
# no data checksums: the test edits a metapage on disk (18's initdb turns them on)
$node->init(no_data_checksums => 1);
$node->append_conf('postgresql.conf', "jit = off\n");
$node->start;

# ---------------------------------------------------------------- ALTER EXTENSION UPDATE

$node->safe_psql('postgres', q{CREATE EXTENSION vqpq VERSION '0.1.0'});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vqpq'}), '0.1.0',
	'0.1.0 installs');
# one table per index, so that each query has one index to use
my %indexes = (l2_4 => ['<->', 'pqvector_l2_ops', 'nbits = 4'], l2_8 => ['<->', 'pqvector_l2_ops', 'nbits = 8'],
	ip => ['<#>', 'pqvector_ip_ops', 'nbits = 4'], cos => ['<=>', 'pqvector_cosine_ops', 'nbits = 4']);
$node->safe_psql('postgres', q{
	SELECT setseed(0.7);
	CREATE TABLE items (id int PRIMARY KEY, v pqvector(16));
	INSERT INTO items SELECT i, CASE WHEN i % 100 = 0 THEN array_fill(0, ARRAY[16])::real[]::pqvector
		ELSE ARRAY(SELECT random() + (i % 7) FROM generate_series(1, 16) WHERE i > 0)::real[]::pqvector END
	  FROM generate_series(1, 4000) i;
});
for my $name (sort keys %indexes)
{
	my ($op, $opclass, $nbits) = @{ $indexes{$name} };
	$node->safe_psql('postgres', "CREATE TABLE t_$name AS SELECT * FROM items; ALTER TABLE t_$name ADD PRIMARY KEY (id);"
		  . "CREATE INDEX i_$name ON t_$name USING ivfpq (v $opclass) WITH (nlist = 20, $nbits)");
}

# ten queries through the index, their 5 nearest ids
sub answers
{
	my ($name) = @_;
	my $op = $indexes{$name}[0];
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SELECT string_agg(x, ' ') FROM (
			SELECT (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t_$name ORDER BY v $op q.v LIMIT 5) s) AS x
			  FROM t_$name q WHERE q.id % 400 = 1 ORDER BY q.id) a;
	});
}
my %before = map { $_ => answers($_) } keys %indexes;
is($node->safe_psql('postgres', q{SELECT count(*) FROM vqpq_index_info('i_l2_4')}), '1',
	'0.1.0\'s vqpq_index_info answers with the new library');

$node->safe_psql('postgres', 'ALTER EXTENSION vqpq UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vqpq'}), '0.3.0',
	'ALTER EXTENSION vqpq UPDATE goes to 0.3.0');
for my $name (sort keys %indexes)
{
	is(answers($name), $before{$name}, "i_$name answers as before the update");
	is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('i_$name')"), '0', "i_$name is sound");
	cmp_ok($node->safe_psql('postgres', qq{SELECT recall FROM vqpq_index_recall('i_$name',
		ARRAY(SELECT v FROM t_$name WHERE id % 200 = 3 ORDER BY id), 5)}), '>=', 0.8,
		"i_$name measures through the updated vqpq_index_recall");
}
is($node->safe_psql('postgres', q{SELECT current_error IS NOT NULL FROM vqpq_index_info('i_l2_4')}), 't',
	'vqpq_index_info has 0.2.0\'s current_error');

# the updated extension is what a fresh 0.3.0 installs
my $catalog = q{
	WITH members AS (
		SELECT classid, objid FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vqpq'))
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
		SELECT pg_describe_object(classid, objid, 0) || ' -- ' || coalesce(obj_description(objid, classid::regclass::text), '') AS line
		  FROM members
		UNION ALL
		SELECT 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)
			   || ' language ' || l.lanname || ' ' || p.provolatile::text || p.proparallel::text || p.proisstrict::text
			   || ' src ' || md5(p.prosrc) || ' args ' || coalesce(array_to_string(p.proargnames, ','), '')
			   || ' defaults ' || coalesce(pg_get_expr(p.proargdefaults, 0), '') || ' config ' || coalesce(array_to_string(p.proconfig, ','), '')
			   || ' acl ' || coalesce(p.proacl::text, '')
		  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
		  JOIN pg_language l ON l.oid = p.prolang
		UNION ALL
		SELECT 'operator class ' || c.opcname || ' ' || am.amname || ' default ' || c.opcdefault
			   || ' members ' || (SELECT string_agg(ao.amopstrategy || ':' || ao.amopopr::regoperator || ':' || ao.amoppurpose::text, ',' ORDER BY ao.amopstrategy)
									FROM pg_amop ao WHERE ao.amopfamily = c.opcfamily)
			   || ' procs ' || (SELECT string_agg(ap.amprocnum || ':' || ap.amproc::regprocedure, ',' ORDER BY ap.amprocnum)
								  FROM pg_amproc ap WHERE ap.amprocfamily = c.opcfamily)
		  FROM members m JOIN pg_opclass c ON m.classid = 'pg_opclass'::regclass AND c.oid = m.objid
		  JOIN pg_am am ON am.oid = c.opcmethod
		UNION ALL
		SELECT 'cast ' || format_type(c.castsource, NULL) || ' -> ' || format_type(c.casttarget, NULL) || ' ' || c.castcontext::text
			   || ' via ' || c.castfunc::regprocedure
		  FROM members m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid) s};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION vqpq');
my $updated = $node->safe_psql('postgres', $catalog);
my $fresh = $node->safe_psql('fresh', $catalog);
is($updated, $fresh, 'the updated extension has the objects, definitions and comments of a fresh 0.3.0');

# 0.3.0's filter columns work on the updated extension
$node->safe_psql('postgres', q{CREATE TABLE t_cat AS SELECT *, id % 10 AS cat FROM items;
	CREATE INDEX i_cat ON t_cat USING ivfpq (v, cat) WITH (nlist = 20)});
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*), count(*) FILTER (WHERE cat = 3) FROM
	(SELECT id, cat FROM t_cat WHERE cat = 3 ORDER BY v <-> (SELECT v FROM t_cat WHERE id = 77) LIMIT 10) s}), '10|10',
	'the updated extension takes filter columns');
$node->safe_psql('postgres', q{DROP TABLE t_cat});

# ---------------------------------------------------------------- older on-disk formats

# the format version is the metapage's second field: block 0, after the
# page header (24 bytes) and the magic number
sub set_format
{
	my ($index, $version) = @_;
	my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
	$node->stop;
	open(my $fh, '+<:raw', $file) or die "$file: $!";
	seek($fh, 28, 0);
	print $fh pack('L', $version);
	close $fh;
	$node->start;
}
sub nearest
{
	my ($name) = @_;
	return $node->safe_psql('postgres', qq{SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
		(SELECT id FROM t_$name ORDER BY v <-> (SELECT v FROM t_$name WHERE id = 77) LIMIT 10) s});
}

my $answer_8 = nearest('l2_8');
for my $version (3, 2, 1)
{
	set_format('i_l2_8', $version);
	is($node->safe_psql('postgres', q{SELECT nbits FROM vqpq_index_info('i_l2_8')}), '8', "format $version, 8-bit: read");
	is(nearest('l2_8'), $answer_8, "format $version, 8-bit: the same answers");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM vqpq_index_check('i_l2_8')}), '0',
		"format $version, 8-bit: sound");
}
$node->safe_psql('postgres', q{INSERT INTO t_l2_8 SELECT id + 10000, v FROM t_l2_8 WHERE id <= 100});
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM
	(SELECT id FROM t_l2_8 ORDER BY v <-> (SELECT v FROM t_l2_8 WHERE id = 10077) LIMIT 2) s WHERE id IN (77, 10077)}), '2',
	'format 1, 8-bit: takes inserts');

my $answer_4 = nearest('l2_4');
set_format('i_l2_4', 3);
is(nearest('l2_4'), $answer_4, 'format 3, 4-bit: the same answers');
set_format('i_l2_4', 2);
is(nearest('l2_4'), $answer_4, 'format 2, 4-bit: the same answers');
set_format('i_l2_4', 1);
my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT id FROM t_l2_4 ORDER BY v <-> '[" . join(',', (1) x 16) . "]' LIMIT 1");
like($err, qr/ERROR:  0A000: ivfpq index "i_l2_4" has format version 1, this vqpq reads version 4/,
	'format 1, 4-bit: refused with feature_not_supported');
like($err, qr/DETAIL:  Format 2 stores 4-bit codes in blocks for fast-scan\./, 'saying why');
like($err, qr/HINT:  REINDEX the index\./, 'and what to do');
set_format('i_l2_4', 99);
($ret, $out, $err) = $node->psql('postgres', "SELECT id FROM t_l2_4 ORDER BY v <-> '[" . join(',', (1) x 16) . "]' LIMIT 1");
like($err, qr/has format version 99, this vqpq reads version 4/, 'an unknown format is refused');
$node->safe_psql('postgres', 'REINDEX INDEX i_l2_4');
is(nearest('l2_4'), $answer_4, 'REINDEX mends it: the same answers as before');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vqpq_index_check('i_l2_4')}), '0', 'and it is sound');

$node->stop;
done_testing();
