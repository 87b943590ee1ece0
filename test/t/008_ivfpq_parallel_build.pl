# Parallel build: with max_parallel_maintenance_workers > 0, workers share
# the coarse k-means's assignment passes (when a pass is worth it) and assign
# and encode rows; DEBUG says how many; the index is the same, page for page,
# as a serial build of the same table, for CREATE INDEX and for CREATE INDEX
# CONCURRENTLY; when maintenance_work_mem cannot hold every participant's
# copy of the quantizer, fewer workers are used and a NOTICE says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('parallel');
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nmax_parallel_workers = 8\n");
$node->restart;
load_clustered($node, 'items', 30000, 32, 40, 10, 5);
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');

$node->safe_psql('postgres', q{
	SET max_parallel_maintenance_workers = 0;
	CREATE INDEX serial_idx ON items USING ivfpq (embedding) WITH (nlist = 400);
});
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET client_min_messages = debug1;
	SET max_parallel_maintenance_workers = 2;
	SET min_parallel_table_scan_size = 1;
	CREATE INDEX parallel_idx ON items USING ivfpq (embedding) WITH (nlist = 400);
});
is($ret, 0, 'parallel build succeeds');
like($err, qr/ivfpq build: using [1-9]\d* parallel workers/, 'DEBUG shows the parallel workers used');
like($err, qr/ivfpq build: training with [1-9]\d* parallel workers/,
	'400 lists of 32 dimensions on 25,600 sample rows: the training passes are shared too');

# the same pages (past each page's header, whose LSN differs; block 0 holds the build id)
my $same_pages = sub {
	my ($a, $b) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT pg_relation_size('$a') = pg_relation_size('$b') AND NOT EXISTS (
			SELECT 1 FROM generate_series(1, pg_relation_size('$a') / 8192 - 1) blk
			 WHERE substr(get_raw_page('$a', blk::int), 25) <> substr(get_raw_page('$b', blk::int), 25))});
};
is($same_pages->('serial_idx', 'parallel_idx'), 't', 'the parallel build writes the same pages as the serial build');
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('parallel_idx')"), '0',
	'vqpq_index_check finds no problem');

($ret, $out, $err) = $node->psql('postgres', q{
	SET client_min_messages = debug1;
	SET max_parallel_maintenance_workers = 2;
	SET min_parallel_table_scan_size = 1;
	CREATE INDEX CONCURRENTLY concurrent_idx ON items USING ivfpq (embedding) WITH (nlist = 400);
});
is($ret, 0, 'CREATE INDEX CONCURRENTLY builds in parallel too');
like($err, qr/using [1-9]\d* parallel workers/, 'with workers');
like($err, qr/training with [1-9]\d* parallel workers/, 'and trains with them');
is($same_pages->('serial_idx', 'concurrent_idx'), 't', 'and writes the same pages');

my $query = q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items_queries WHERE id = 3) LIMIT 10) s};
my $through_parallel = $node->safe_psql('postgres', $query);
$node->safe_psql('postgres', 'DROP INDEX parallel_idx; DROP INDEX concurrent_idx');
is($node->safe_psql('postgres', $query), $through_parallel, 'queries return the same rows through either index');

# filter columns: the workers store each row's values as the leader does
$node->safe_psql('postgres', q{
	ALTER TABLE items ADD COLUMN cat int, ADD COLUMN day date;
	UPDATE items SET cat = id % 37, day = date '2025-01-01' + id % 100;
	DROP INDEX serial_idx;
	SET max_parallel_maintenance_workers = 0;
	CREATE INDEX serial_filter_idx ON items USING ivfpq (embedding, cat, day) WITH (nlist = 100);
});
($ret, $out, $err) = $node->psql('postgres', q{
	SET client_min_messages = debug1;
	SET max_parallel_maintenance_workers = 2;
	SET min_parallel_table_scan_size = 1;
	CREATE INDEX parallel_filter_idx ON items USING ivfpq (embedding, cat, day) WITH (nlist = 100);
});
is($ret, 0, 'a parallel build with filter columns succeeds');
like($err, qr/using [1-9]\d* parallel workers/, 'with workers');
is($same_pages->('serial_filter_idx', 'parallel_filter_idx'), 't', 'and writes the same pages as the serial build');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET vqpq.nprobe = 100;
	SELECT count(*) || ' ' || bool_and(cat = 5 AND day < '2025-02-01') FROM
	  (SELECT id, cat, day FROM items WHERE cat = 5 AND day < '2025-02-01' ORDER BY embedding <-> (SELECT embedding FROM items_queries WHERE id = 3) LIMIT 100000) s}),
	$node->safe_psql('postgres', q{SELECT count(*) || ' true' FROM items WHERE cat = 5 AND day < '2025-02-01'}),
	'a full scan through it returns exactly the rows that meet its conditions');

# Each participant keeps a copy of the quantizer (2,000 lists of 2,000
# dimensions: 34 MB), which counts against maintenance_work_mem: 100 MB
# holds two of them besides the sorts, so one of the two workers planned
# is used, and a NOTICE says why
$node->safe_psql('postgres', q{
	SELECT setseed(0.1);
	CREATE TABLE wide AS SELECT i AS id, ARRAY(SELECT random() FROM generate_series(1, 2000) WHERE i > 0)::real[]::pqvector(2000) AS v
	  FROM generate_series(1, 2100) i;
	ALTER TABLE wide SET (parallel_workers = 2);
});
($ret, $out, $err) = $node->psql('postgres', q{
	SET client_min_messages = debug1;
	SET max_parallel_maintenance_workers = 2;
	SET min_parallel_table_scan_size = 1;
	SET maintenance_work_mem = '100MB';
	CREATE INDEX wide_idx ON wide USING ivfpq (v) WITH (nlist = 2000);
});
is($ret, 0, 'a build whose quantizer copies do not all fit succeeds');
like($err, qr/NOTICE:  building ivfpq index "wide_idx" with 1 of the 2 parallel workers planned/,
	'a NOTICE says how many workers fit');
like($err, qr/DETAIL:  Each participant needs 3\d MB for its copy of the quantizer, and maintenance_work_mem of 100 MB holds 2 of them/,
	'and why');
like($err, qr/ivfpq build: using 1 parallel workers/, 'and it uses that many');
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('wide_idx')"), '0',
	'the index is sound');
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SET vqpq.nprobe = 2000;
	SELECT count(*) FROM (SELECT id FROM wide ORDER BY v <-> (SELECT v FROM wide WHERE id = 1) LIMIT 10000) s'),
	'2100', 'and holds every row');

$node->stop;
done_testing();
