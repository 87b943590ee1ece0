# ivfpq under change: concurrent inserts (into trained and untrained
# indexes), DELETE + VACUUM with recall before and after, space reuse, a
# pgbench mix of INSERT/UPDATE/DELETE/SELECT/VACUUM, a crash in the middle
# of concurrent inserts, a streaming replica following all of it, and
# filtered queries with iterative scans.  After each: vqpq_index_check finds
# nothing, and the index returns exactly count(*) rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use VqpqTest;

my $primary = vqpq_node('primary', allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\n");
$primary->reload;
my $standby = vqpq_standby($primary, 'standby');

# Rows from 20 clusters (the same distribution for the build, the pgbench
# clients and the queries): a cluster centre plus uniform noise.
$primary->safe_psql('postgres', q{
	SELECT setseed(0.5);
	CREATE TABLE centers AS
		SELECT c AS id, ARRAY(SELECT random() * 10 + c * 0 FROM generate_series(1, 16))::real[]::pqvector AS v
		  FROM generate_series(1, 20) c;
	CREATE FUNCTION clustered_vec(seed int) RETURNS pqvector LANGUAGE sql VOLATILE AS $$
		SELECT (SELECT v FROM centers ORDER BY id OFFSET floor(random() * 20)::int LIMIT 1)
			 + ARRAY(SELECT random() - 0.5 + seed * 0 FROM generate_series(1, 16))::real[]::pqvector $$;
});
my $vec = q{clustered_vec(g)};
my $zero = "'[" . join(',', (0) x 16) . "]'";

# the whole index, through the index: every list, no table reads
sub count_through_index
{
	my ($node, $table) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET vqpq.nprobe = 65536; SET vqpq.rerank = 0;
		SELECT count(*) FROM (SELECT 1 FROM $table ORDER BY embedding <-> $zero LIMIT 100000000) s});
}

sub check_index
{
	my ($node, $table, $index, $what) = @_;
	is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('$index')"), '0',
		"$what: vqpq_index_check finds no problem");
	is(count_through_index($node, $table), $node->safe_psql('postgres', "SELECT count(*) FROM $table"),
		"$what: the index returns exactly count(*) rows");
}

# ---------------------------------------------------------------- inserts

$primary->safe_psql('postgres', qq{
	CREATE TABLE tst (i int, embedding pqvector(16));
	INSERT INTO tst SELECT g, $vec FROM generate_series(1, 5000) g;
	CREATE INDEX tst_idx ON tst USING ivfpq (embedding) WITH (nlist = 50);
	CREATE TABLE empty_start (i int, embedding pqvector(16));
	CREATE INDEX empty_idx ON empty_start USING ivfpq (embedding);
	CREATE TABLE tst_queries AS SELECT g AS id, $vec AS embedding FROM generate_series(1, 50) g;
});

$primary->pgbench('--no-vacuum --client=8 --jobs=2 --transactions=250', 0,
	[qr{actually processed: 2000/2000}], [qr{^$}], 'concurrent inserts',
	{
		'insert_trained' => "INSERT INTO tst SELECT 100000 + g, $vec FROM generate_series(1, 10) g;",
		'insert_untrained' => "INSERT INTO empty_start SELECT g, $vec FROM generate_series(1, 10) g;",
	});
check_index($primary, 'tst', 'tst_idx', 'trained index after concurrent inserts');
check_index($primary, 'empty_start', 'empty_idx', 'untrained index after concurrent inserts');

# (settings fixed, 10 lists and 100 re-ranked: what is tested is that the
# rows inserted are found, not the calibration's choice for target 0.95)
my %fixed = ('vqpq.nprobe' => 10, 'vqpq.rerank' => 100);
exact_truth($primary, 'tst', 'tst_queries', '<->', 10, 'truth_before');
my $recall = recall($primary, 'tst', 'tst_queries', '<->', 10, 'truth_before', %fixed);
note "recall\@10 after concurrent inserts: $recall";
cmp_ok($recall, '>=', 0.95, 'rows inserted concurrently are found (recall@10 >= 0.95)');
exact_truth($primary, 'empty_start', 'tst_queries', '<->', 10, 'truth_untrained');
is(recall($primary, 'empty_start', 'tst_queries', '<->', 10, 'truth_untrained'), '1.0000',
	'an index without a quantizer returns exact results');

# ---------------------------------------------------------------- delete and vacuum

$primary->safe_psql('postgres', 'DELETE FROM tst WHERE i % 4 <> 0');
exact_truth($primary, 'tst', 'tst_queries', '<->', 10, 'truth_after');
# (the same fixed settings: the budget of 100 re-ranked rows is what is tested)
my $before_vacuum = recall($primary, 'tst', 'tst_queries', '<->', 10, 'truth_after', %fixed);
$primary->safe_psql('postgres', 'VACUUM tst');
my $after_vacuum = recall($primary, 'tst', 'tst_queries', '<->', 10, 'truth_after', %fixed);
note "recall\@10 after deleting 75%: $before_vacuum before VACUUM, $after_vacuum after";
cmp_ok($before_vacuum, '>=', 0.99, 'deleted rows do not use up the re-ranking budget before VACUUM');
cmp_ok($after_vacuum, '>=', 0.99, 'and recall holds after VACUUM removes them');
check_index($primary, 'tst', 'tst_idx', 'after DELETE of 75% and VACUUM');

# space freed by VACUUM is reused: delete all, vacuum, insert the same rows again
$primary->safe_psql('postgres', 'CREATE TABLE tst_copy AS SELECT * FROM tst');
my $size_before = $primary->safe_psql('postgres', "SELECT pg_relation_size('tst_idx')");
$primary->safe_psql('postgres', 'DELETE FROM tst; VACUUM tst; INSERT INTO tst SELECT * FROM tst_copy');
my $size_after = $primary->safe_psql('postgres', "SELECT pg_relation_size('tst_idx')");
note "index size $size_before bytes, after delete-all, VACUUM, reinsert: $size_after";
cmp_ok($size_after, '<=', $size_before * 1.02, 'reinserting the deleted rows does not grow the index');
check_index($primary, 'tst', 'tst_idx', 'after delete-all, VACUUM and reinsert');

# ---------------------------------------------------------------- the mix

# UPDATE and DELETE lock 3 random rows each, in any order: the heap's row
# locks can deadlock, and pgbench retries such transactions
$primary->pgbench('--no-vacuum --client=8 --jobs=2 --transactions=200 --max-tries=20', 0,
	[qr{actually processed: 1600/1600}], [qr{^$}], 'INSERT/UPDATE/DELETE/SELECT/VACUUM mix',
	{
		'insert@10' => "INSERT INTO tst SELECT 200000 + g, $vec FROM generate_series(1, 5) g;",
		'update@5' => "UPDATE tst SET embedding = embedding * '[" . join(',', (0.5) x 16) . "]' WHERE i IN (SELECT i FROM tst ORDER BY random() LIMIT 3);",
		'delete@5' => "DELETE FROM tst WHERE i IN (SELECT i FROM tst ORDER BY random() LIMIT 3);",
		'select@10' => "SET enable_seqscan = off; SELECT i FROM tst ORDER BY embedding <-> (SELECT $vec FROM generate_series(1, 1) g) LIMIT 10;",
		# no heap truncation: it waits up to 5 s for a lock the other clients never leave free
		'vacuum@1' => 'VACUUM (TRUNCATE false) tst;',
	});
check_index($primary, 'tst', 'tst_idx', 'after the concurrent mix');

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
check_index($standby, 'tst', 'tst_idx', 'standby after the concurrent mix');
my $answers = qq{
	SET enable_seqscan = off;
	SELECT q.id, (SELECT string_agg(t.i::text, ',') FROM
		(SELECT i FROM tst ORDER BY embedding <-> q.embedding LIMIT 10) t) FROM tst_queries q ORDER BY q.id};
is($standby->safe_psql('postgres', $answers), $primary->safe_psql('postgres', $answers),
	'the standby returns the same rows as the primary');

# ---------------------------------------------------------------- filtered queries

# 10 rows in 10,000 match (0.1%), spread over the clusters, so no one list
# holds them all; the seed is set in the session that draws the rows
$primary->safe_psql('postgres', qq{
	SELECT setseed(0.25);
	CREATE TABLE items (i int, category int, embedding pqvector(16));
	INSERT INTO items SELECT g, g % 1000, $vec FROM generate_series(1, 10000) g;
	CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 50);
});
my $filtered = qq{SET enable_seqscan = off; SET vqpq.nprobe = 1;
	SELECT count(*) FROM (SELECT i FROM items WHERE category = 7 ORDER BY embedding <-> $zero LIMIT 10) s};
my $matching = $primary->safe_psql('postgres', 'SELECT count(*) FROM items WHERE category = 7');
is($matching, '10', "the filter matches $matching rows");
cmp_ok($primary->safe_psql('postgres', $filtered), '<', 10, 'without iterative scans a selective filter returns fewer than LIMIT');
is($primary->safe_psql('postgres', "SET vqpq.iterative_scan = relaxed_order; $filtered"), '10',
	'with iterative scans it returns LIMIT rows');
cmp_ok($primary->safe_psql('postgres', "SET vqpq.iterative_scan = relaxed_order; SET vqpq.max_probes = 2; $filtered"),
	'<', 10, 'vqpq.max_probes bounds how far it looks');
is($primary->safe_psql('postgres', qq{SET vqpq.iterative_scan = relaxed_order; SET enable_seqscan = off; SET vqpq.nprobe = 1;
	SELECT count(*) || ' ' || count(DISTINCT i) FROM (SELECT i FROM items ORDER BY embedding <-> $zero LIMIT 100000000) s}),
	$primary->safe_psql('postgres', q{SELECT count(*) || ' ' || count(DISTINCT i) FROM items}),
	'an unbounded iterative scan returns every row exactly once');

# ---------------------------------------------------------------- crash during inserts

my $script = $primary->basedir . '/insert.sql';
open(my $fh, '>', $script) or die;
print $fh "INSERT INTO tst SELECT 300000 + g, $vec FROM generate_series(1, 20) g;\n";
close $fh;
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=8', '--time=30', '-f', $script,
	  '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \$out, '2>', \$err);
my $rows_before = $primary->safe_psql('postgres', 'SELECT count(*) FROM tst');
$primary->poll_query_until('postgres', "SELECT count(*) > $rows_before + 2000 FROM tst")
  or die 'concurrent inserts did not start';
$primary->stop('immediate');
$bench->finish;
$primary->start;
check_index($primary, 'tst', 'tst_idx', 'after a crash during concurrent inserts');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
check_index($standby, 'tst', 'tst_idx', 'standby after the crash');
is($standby->safe_psql('postgres', $answers), $primary->safe_psql('postgres', $answers),
	'after the crash the standby still returns the same rows');

$standby->stop;
$primary->stop;
done_testing();
