# ivfpq and WAL: a streaming replica answers the same queries with the same
# rows after the build, after inserts that extend lists, and after DELETE and
# VACUUM; an immediate shutdown and restart leave a valid index with the
# same answers; an unlogged table's index comes back empty and usable.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $primary = vqpq_node('primary', allows_streaming => 1);
my $standby = vqpq_standby($primary, 'standby');

load_clustered($primary, 'items', 8000, 16, 20, 20, 11);
$primary->safe_psql('postgres', 'CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 20)');

# every query's 10 nearest ids and distances, through the index
my $answers = q{
	SET enable_seqscan = off;
	SELECT q.id, (SELECT string_agg(t.id || ':' || round((t.embedding <-> q.embedding)::numeric, 4), ',')
				  FROM (SELECT id, embedding FROM items i ORDER BY i.embedding <-> q.embedding LIMIT 10) t)
	  FROM items_queries q ORDER BY q.id};
# every indexed row through the index: probe every list, return them all
my $count_through_index = q{
	SET enable_seqscan = off; SET vqpq.nprobe = 20; SET vqpq.rerank = 0;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000000) s};

sub check_standby
{
	my ($what) = @_;
	# up to what the primary has inserted, not only written: a VACUUM commits
	# without flushing its WAL, and a standby behind it still has the entries
	# VACUUM removed (invisible, but they change which candidates re-ranking reads)
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	my $want = $primary->safe_psql('postgres', $answers);
	is($standby->safe_psql('postgres', $answers), $want, "$what: the standby returns the same rows");
	is($standby->safe_psql('postgres', $count_through_index),
		$primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
		"$what: the standby's index holds every row");
	return $want;
}

check_standby('after the build');

# inserts that grow every list by several pages
$primary->safe_psql('postgres', q{
	INSERT INTO items SELECT id + 10000 * g, embedding + ARRAY_FILL(g * 0.01, ARRAY[16])::real[]::pqvector
	  FROM items, generate_series(1, 3) g WHERE id <= 4000});
check_standby('after inserts');

$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 3 = 0; VACUUM items');
my $before_crash = check_standby('after DELETE and VACUUM');

# crash: no shutdown checkpoint, so recovery replays the WAL of all of it
$primary->safe_psql('postgres', q{
	INSERT INTO items SELECT id + 100000, embedding FROM items_queries});
my $with_queries = $primary->safe_psql('postgres', $answers);
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', $answers), $with_queries, 'after a crash: the same answers');
is($primary->safe_psql('postgres', $count_through_index),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'after a crash: the index holds every row');
is($primary->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM items_queries q
	 WHERE (SELECT id FROM items t ORDER BY t.embedding <-> q.embedding LIMIT 1) IN (q.id, q.id + 100000)}),
	'20', 'after a crash: rows inserted just before it are found');

# unlogged: the table and its index come back empty after a crash, and usable
$primary->safe_psql('postgres', q{
	CREATE UNLOGGED TABLE scratch (id int, embedding pqvector(16));
	INSERT INTO scratch SELECT id, embedding FROM items WHERE id < 2000;
	CREATE INDEX scratch_idx ON scratch USING ivfpq (embedding) WITH (nlist = 4, m = 2, nbits = 8);
});
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0', 'unlogged table is empty after a crash');
is($primary->safe_psql('postgres', q{SELECT trained || ' ' || m || ' ' || nbits FROM vqpq_index_info('scratch_idx')}),
	'false 2 8', 'its index comes back from the init fork without a quantizer, with the options it was built with');
$primary->safe_psql('postgres', 'INSERT INTO scratch SELECT id, embedding FROM items_queries');
is($primary->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT id FROM scratch ORDER BY embedding <-> (SELECT embedding FROM items_queries WHERE id = 5) LIMIT 1}),
	'5', 'its index accepts rows again and finds them');

my $log = slurp_file($primary->logfile) . slurp_file($standby->logfile);
unlike($log, qr/PANIC|TRAP|server process .* was terminated by signal (?!9)/, 'no server process crashed');

$standby->stop;
$primary->stop;
done_testing();
