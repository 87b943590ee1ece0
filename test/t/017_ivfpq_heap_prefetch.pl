# Re-ranking asks for the candidates' heap pages ahead of reading them
# (effective_io_concurrency pages ahead) when the table is larger than the
# buffers it is read into: shared buffers, or local ones for a temporary
# table.  The scan says so and counts the pages it asked for (DEBUG2).  The
# hint must never change an answer: the same queries return the same rows
# with prefetching on and off, at the index's calibrated recall.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('prefetch');
# 256 buffers of 8 kB: the 20,000-row table below is about 450 pages
$node->append_conf('postgresql.conf', "shared_buffers = 2MB\n");
$node->restart;

load_clustered($node, 'items', 20000, 32, 20, 50, 17);
$node->safe_psql('postgres', q{
	CREATE TABLE small (id int, embedding pqvector(32));
	INSERT INTO small SELECT id, embedding FROM items WHERE id <= 200;
	CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 40);
	CREATE INDEX small_idx ON small USING ivfpq (embedding) WITH (nlist = 4);
	VACUUM ANALYZE items, small;
});
my ($blocks, $buffers) = split /\|/, $node->safe_psql('postgres', q{
	SELECT pg_relation_size('items') / current_setting('block_size')::int, setting FROM pg_settings WHERE name = 'shared_buffers'});
cmp_ok($blocks, '>', $buffers, "the table ($blocks blocks) is larger than shared buffers ($buffers)");

# How many heap pages a search on $table asked for ahead, as its DEBUG2
# lines say (undef: it did not prefetch), and its plan
sub prefetched
{
	my ($table, $settings) = @_;
	my $query = "SELECT id FROM $table ORDER BY embedding <-> (SELECT embedding FROM items_queries LIMIT 1) LIMIT 10";
	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		SET enable_seqscan = off;
		SET effective_io_concurrency = 16;
		$settings
		EXPLAIN (COSTS OFF) $query;
		SET client_min_messages = debug2;
		$query;
	});
	die "search failed: $stderr" if $ret != 0;
	my $asked = $stderr =~ /ivfpq scan: asked for (\d+) heap pages of "$table" ahead/ ? $1 : undef;
	my $announced = $stderr =~ /ivfpq scan: prefetching the heap pages of "$table" \(\d+ blocks, \d+ buffers\), (\d+) ahead/ ? $1 : undef;
	return ($asked, $announced, $stdout);
}
my ($asked, $ahead, $plan) = prefetched('items', '');
like($plan, qr/Index Scan using items_idx/, 'the search uses the index');
is($ahead, 16, 'a table larger than shared buffers is prefetched, effective_io_concurrency pages ahead');
cmp_ok($asked // 0, '>', 0, "and the scan asked for pages ahead ($asked)");
($asked, $ahead) = prefetched('items', 'SET effective_io_concurrency = 0;');
ok(!defined $ahead && !defined $asked, 'effective_io_concurrency = 0 turns prefetching off');
($asked, $ahead, $plan) = prefetched('small', '');
like($plan, qr/Index Scan using small_idx/, 'the small table\'s search uses its index');
ok(!defined $ahead && !defined $asked, 'a table that fits in shared buffers is not prefetched');

# A temporary table is read into local buffers: prefetched when it is larger
# than temp_buffers (here 100 buffers), whatever shared buffers hold
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET temp_buffers = 100;
	SET enable_seqscan = off;
	SET effective_io_concurrency = 4;
	CREATE TEMP TABLE scratch AS SELECT id, embedding FROM items;
	CREATE INDEX ON scratch USING ivfpq (embedding) WITH (nlist = 40);
	ANALYZE scratch;
	SET client_min_messages = debug2;
	SELECT count(*) FROM (SELECT id FROM scratch ORDER BY embedding <-> (SELECT embedding FROM items_queries LIMIT 1) LIMIT 10) s;
});
is($ret, 0, 'a search on a temporary table works') or diag($stderr);
is($stdout, '10', 'and returns its rows');
like($stderr, qr/ivfpq scan: prefetching the heap pages of "scratch" \(\d+ blocks, 100 buffers\), 4 ahead/,
	'a temporary table larger than temp_buffers is prefetched');

# The same rows in the same order, prefetching or not, for re-rank depths
# from the calibrated one to a deep one (more candidates, more pages)
my $answers = sub {
	my ($settings) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		$settings
		SELECT string_agg(ids, ';' ORDER BY qid) FROM (
			SELECT q.id AS qid, (SELECT string_agg(id::text, ',') FROM (
				SELECT t.id FROM items t ORDER BY t.embedding <-> q.embedding LIMIT 10) r) AS ids
			  FROM items_queries q) s;
	});
};
for my $rerank (-1, 400)
{
	is($answers->("SET vqpq.rerank = $rerank; SET effective_io_concurrency = 16;"),
		$answers->("SET vqpq.rerank = $rerank; SET effective_io_concurrency = 0;"),
		"rerank $rerank: the same answers with and without prefetching");
}

exact_truth($node, 'items', 'items_queries', '<->', 10, 'truth');
my $expected = $node->safe_psql('postgres', "SELECT expected_recall FROM vqpq_index_info('items_idx')");
my $recall = recall($node, 'items', 'items_queries', '<->', 10, 'truth', effective_io_concurrency => 16);
cmp_ok($recall, '>=', $expected - 0.05, "recall $recall with prefetching is the calibrated $expected (within 0.05)");

done_testing();
