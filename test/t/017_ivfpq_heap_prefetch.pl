# Re-ranking asks for the candidates' heap pages ahead of reading them when
# the table is larger than shared buffers (and effective_io_concurrency is
# not 0).  The hint must never change an answer: the same queries return the
# same rows with prefetching on and off, at the index's calibrated recall.
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
my $blocks = $node->safe_psql('postgres', "SELECT pg_relation_size('items') / 8192");
cmp_ok($blocks, '>', 256, "the table ($blocks blocks) is larger than shared buffers");

# Whether a search on $table prefetches, as its DEBUG2 line says
sub prefetches
{
	my ($table, $settings) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		SET client_min_messages = debug2;
		SET enable_seqscan = off;
		$settings
		SELECT id FROM $table ORDER BY embedding <-> (SELECT embedding FROM items_queries LIMIT 1) LIMIT 10;
	});
	die "search failed: $stderr" if $ret != 0;
	return $stderr =~ /ivfpq scan: prefetching the heap pages of "$table"/ ? 1 : 0;
}
is(prefetches('items', ''), 1, 'a table larger than shared buffers is prefetched');
is(prefetches('items', 'SET effective_io_concurrency = 0;'), 0,
	'effective_io_concurrency = 0 turns prefetching off');
is(prefetches('small', ''), 0, 'a table that fits in shared buffers is not prefetched');

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
