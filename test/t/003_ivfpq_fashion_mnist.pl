# ivfpq on real data: Fashion-MNIST (60,000 x 784, L2) from the Debian
# package.  Recall@10 against exact results computed by Postgres, progress
# reporting during the build, the planner's choice, index size.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('fmnist');
load_fashion_mnist($node, 60000, 100)
  or plan skip_all => 'dataset-fashion-mnist is not installed';

exact_truth($node, 'images', 'queries', '<->', 10, 'truth');

# Build in the background and watch pg_stat_progress_create_index.
my $build = $node->background_psql('postgres');
$build->query_until(qr/started/, "\\echo started\nCREATE INDEX images_ivfpq ON images USING ivfpq (embedding);\n");
my (%phases, $max_done, $total);
my $deadline = time() + 300;
my $seen_any = 0;
while (time() < $deadline)
{
	my $row = $node->safe_psql('postgres',
		q{SELECT phase || '|' || tuples_done || '|' || tuples_total FROM pg_stat_progress_create_index});
	if ($row eq '')
	{
		last if $seen_any;
		next;
	}
	$seen_any = 1;
	my ($phase, $done, $tot) = split /\|/, $row;
	$phases{$phase} = 1;
	if ($phase eq 'building index: assigning and encoding rows')
	{
		$max_done = $done if !defined $max_done || $done > $max_done;
	}
	$total = $tot if $tot > 0;
}
$build->quit;
note 'phases seen: ' . join(', ', sort keys %phases);
ok($phases{'building index: training coarse quantizer'}, 'progress shows coarse quantizer training');
ok($phases{'building index: training product quantizer'}, 'progress shows product quantizer training');
ok($phases{'building index: assigning and encoding rows'}, 'progress shows rows being encoded');
cmp_ok($max_done // 0, '>', 0, 'progress counts encoded rows');

my $explain = $node->safe_psql('postgres',
	q{EXPLAIN (COSTS OFF) SELECT id FROM images ORDER BY embedding <-> (SELECT embedding FROM queries LIMIT 1) LIMIT 10});
like($explain, qr/Index Scan using images_ivfpq/, 'the planner uses the index for ORDER BY <-> LIMIT');

# Recall@10 (the share of returned rows within the exact 10th distance)
my $r = recall($node, 'images', 'queries', '<->', 10, 'truth');
note "recall\@10, defaults (nprobe 10, rerank 100): $r";
cmp_ok($r, '>=', 0.99, 'default settings: recall@10 >= 0.99');

$r = recall($node, 'images', 'queries', '<->', 10, 'truth', 'vqpq.rerank' => 0);
note "recall\@10, re-ranking off: $r";
cmp_ok($r, '>=', 0.75, 'ADC order alone: recall@10 >= 0.75');
cmp_ok($r, '<', 0.99, 'and re-ranking is what lifts it (exact order needs the table)');

$r = recall($node, 'images', 'queries', '<->', 10, 'truth', 'vqpq.nprobe' => 1, 'vqpq.rerank' => 100);
note "recall\@10, nprobe 1: $r";
cmp_ok($r, '<', 0.95, 'one probed list misses neighbours in other lists');

$r = recall($node, 'images', 'queries', '<->', 10, 'truth', 'vqpq.nprobe' => 1000, 'vqpq.rerank' => 2000);
note "recall\@10, every list and 2000 re-ranked: $r";
cmp_ok($r, '>=', 0.995, 'probing every list with deep re-ranking finds the exact neighbours');

# Size: a few dozen bytes per row against 3,136 bytes of vector
my ($index_bytes, $vector_bytes) = split /\|/, $node->safe_psql('postgres',
	q{SELECT pg_relation_size('images_ivfpq'), sum(pg_column_size(embedding)) FROM images});
note sprintf('index %.1f MB, vector data %.1f MB (1/%.1f)', $index_bytes / 1e6, $vector_bytes / 1e6,
	$vector_bytes / $index_bytes);
cmp_ok($index_bytes * 15, '<=', $vector_bytes, 'index is at most 1/15 of the vector data');

# A batch boundary: more rows than one re-ranking batch come back, each once
is($node->safe_psql('postgres', q{
	SET vqpq.rerank = 50; SET enable_seqscan = off;
	SELECT count(*) || ' ' || count(DISTINCT id) FROM (
		SELECT id FROM images ORDER BY embedding <-> (SELECT embedding FROM queries LIMIT 1) LIMIT 500) s}),
	'500 500', 'reading past a batch returns further rows, none twice');

$node->safe_psql('postgres', 'SELECT pg_stat_force_next_flush()');
cmp_ok($node->safe_psql('postgres',
	q{SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'images_ivfpq'}), '>=', 100,
	'index scans are counted');

$node->stop;
done_testing();
