# pg_upgrade from an older PostgreSQL (VQPQ_UPGRADE_FROM: its bin directory,
# with vqpq installed there too; scripts/test.sh sets it to 15 when testing
# a later major): ivfpq indexes of every operator class, 4- and 8-bit codes,
# come through the upgrade page for page and answer the same queries with
# the same rows; they are sound, take inserts, and VACUUM them.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_bin = $ENV{VQPQ_UPGRADE_FROM};
plan skip_all => 'VQPQ_UPGRADE_FROM names no older PostgreSQL bin directory'
  unless $old_bin && -x "$old_bin/postgres";

my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($old_bin));
my $new = PostgreSQL::Test::Cluster->new('new');
plan skip_all => 'the older server is not older'
  unless $old->pg_version < $new->pg_version;

$old->init;
$old->append_conf('postgresql.conf', "jit = off\n");
$old->start;
$old->safe_psql('postgres', q{
	CREATE EXTENSION vqpq;
	SELECT setseed(0.4);
	CREATE TABLE items (id int PRIMARY KEY, v pqvector(24));
	INSERT INTO items SELECT i, CASE WHEN i % 200 = 0 THEN array_fill(0, ARRAY[24])::real[]::pqvector
		ELSE ARRAY(SELECT random() + (i % 11) FROM generate_series(1, 24) WHERE i > 0)::real[]::pqvector END
	  FROM generate_series(1, 6000) i;
	CREATE TABLE t_l2 AS SELECT * FROM items;
	CREATE TABLE t_ip AS SELECT * FROM items;
	CREATE TABLE t_cos AS SELECT * FROM items;
	CREATE INDEX i_l2 ON t_l2 USING ivfpq (v) WITH (nlist = 30, nbits = 4);
	CREATE INDEX i_ip ON t_ip USING ivfpq (v pqvector_ip_ops) WITH (nlist = 30, nbits = 8);
	CREATE INDEX i_cos ON t_cos USING ivfpq (v pqvector_cosine_ops) WITH (nlist = 30);
	-- rows after the build, and some dead ones, so the lists have more than one page
	INSERT INTO t_l2 SELECT id + 10000, v FROM items WHERE id <= 1000;
	DELETE FROM t_ip WHERE id % 9 = 0;
});

my %ops = (l2 => '<->', ip => '<#>', cos => '<=>');
sub answers
{
	my ($node) = @_;
	return join("\n", map {
		my ($t, $op) = ($_, $ops{$_});
		$node->safe_psql('postgres', qq{
			SET enable_seqscan = off;
			SELECT string_agg(x, ' ') FROM (
				SELECT (SELECT string_agg(id::text, ',') FROM (SELECT id FROM t_$t ORDER BY v $op q.v LIMIT 10) s) AS x
				  FROM items q WHERE q.id % 300 = 7 ORDER BY q.id) a});
	} sort keys %ops);
}
my $pages = q{SELECT string_agg(c.relname || ':' || md5(string_agg_pages), ',' ORDER BY c.relname) FROM (
	SELECT relname, (SELECT string_agg(md5(substr(get_raw_page(relname::text, b::int), 25)), '' ORDER BY b)
					   FROM generate_series(1, pg_relation_size(oid) / 8192 - 1) b) AS string_agg_pages
	  FROM pg_class WHERE relname IN ('i_l2', 'i_ip', 'i_cos')) c};
$old->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pageinspect');
my $answers_before = answers($old);
my $pages_before = $old->safe_psql('postgres', $pages);
my $version_before = $old->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vqpq'});
# This machine's PostgreSQL 15 package gives every column an attribute option,
# pg_attver, that later servers do not know, so pg_upgrade fails on any table
# (ivfpq or not) while restoring the schema; it is no part of what is tested.
$old->safe_psql('postgres', q{UPDATE pg_attribute SET attoptions = NULL WHERE attoptions::text LIKE '%pg_attver=%'});
$old->stop;

# the new cluster must match the old one's checksums (off; 18's initdb turns them on)
$new->init(no_data_checksums => 1);
my $upgrade_dir = PostgreSQL::Test::Utils::tempdir;
chdir $upgrade_dir;
command_ok([ 'pg_upgrade', '--no-sync', '--copy',
	'-d', $old->data_dir, '-D', $new->data_dir,
	'-b', $old_bin, '-B', $new->config_data('--bindir'),
	'-s', $new->host, '-p', $old->port, '-P', $new->port ],
	'pg_upgrade from ' . $old->pg_version . ' to ' . $new->pg_version);
$new->start;

is($new->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vqpq'}), $version_before,
	"the extension comes through at version $version_before");
is($new->safe_psql('postgres', $pages), $pages_before, 'the indexes come through page for page');
is(answers($new), $answers_before, 'and answer the same queries with the same rows');
for my $t (sort keys %ops)
{
	is($new->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('i_$t')"), '0', "i_$t is sound");
}
$new->safe_psql('postgres', q{INSERT INTO t_l2 SELECT id + 20000, v FROM items WHERE id <= 500; DELETE FROM t_l2 WHERE id % 5 = 0; VACUUM t_l2});
is($new->safe_psql('postgres', q{SET enable_seqscan = off; SET vqpq.nprobe = 30; SET vqpq.rerank = 0;
	SELECT count(*) FROM (SELECT id FROM t_l2 ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 100000) s}),
	$new->safe_psql('postgres', 'SELECT count(*) FROM t_l2'), 'after inserts, deletes and VACUUM it holds every row');
is($new->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('i_l2')"), '0', 'and is sound');

$new->stop;
done_testing();
