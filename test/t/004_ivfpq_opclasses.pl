# ivfpq recall for each operator class on synthetic clustered data (fixed
# seed), against exact results computed by Postgres; 8- and 4-bit codes;
# duplicates and fewer distinct values than lists.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('opclasses');
load_clustered($node, 'items', 20000, 32, 50, 50, 7);

for my $case (
	[ 'l2', 'pqvector_l2_ops', '<->' ],
	[ 'ip', 'pqvector_ip_ops', '<#>' ],
	[ 'cosine', 'pqvector_cosine_ops', '<=>' ])
{
	my ($name, $opclass, $op) = @$case;
	exact_truth($node, 'items', 'items_queries', $op, 10, "truth_$name");

	$node->safe_psql('postgres', "CREATE INDEX items_$name ON items USING ivfpq (embedding $opclass)");
	like($node->safe_psql('postgres',
		"EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding $op '[" . join(',', (1) x 32) . "]' LIMIT 10"),
		qr/Index Scan using items_$name/, "$name: the planner uses the index");

	# the defaults aim at vqpq.target_recall = 0.95 (on rows like the
	# table's: these queries are not rows of it, so within the noise)
	my $r = recall($node, 'items', 'items_queries', $op, 10, "truth_$name");
	note "$name recall\@10, defaults: $r";
	cmp_ok($r, '>=', 0.93, "$name: recall\@10 >= 0.93 with default settings");
	$r = recall($node, 'items', 'items_queries', $op, 10, "truth_$name", 'vqpq.target_recall' => 0.99);
	note "$name recall\@10, target 0.99: $r";
	cmp_ok($r, '>=', 0.98, "$name: recall\@10 >= 0.98 at vqpq.target_recall 0.99");

	$r = recall($node, 'items', 'items_queries', $op, 10, "truth_$name", 'vqpq.nprobe' => 10, 'vqpq.rerank' => 0);
	note "$name recall\@10, re-ranking off: $r";
	cmp_ok($r, '>=', 0.5, "$name: ADC order alone finds most neighbours");

	$node->safe_psql('postgres', "DROP INDEX items_$name");
}

# 4-bit codes: smaller, coarser, still right after re-ranking
$node->safe_psql('postgres', 'CREATE INDEX items_4bit ON items USING ivfpq (embedding) WITH (nbits = 4, m = 16)');
my $r = recall($node, 'items', 'items_queries', '<->', 10, 'truth_l2', 'vqpq.rerank' => 200);
note "4-bit recall\@10: $r";
cmp_ok($r, '>=', 0.95, '4-bit codes: recall@10 >= 0.95 with re-ranking');
$node->safe_psql('postgres', 'DROP INDEX items_4bit');

# Duplicates: every row the same, then two distinct values for 10 lists
$node->safe_psql('postgres', q{
	CREATE TABLE dup (id int, embedding pqvector(4));
	INSERT INTO dup SELECT i, '[1,1,1,1]' FROM generate_series(1, 1000) i;
	CREATE INDEX dup_idx ON dup USING ivfpq (embedding) WITH (nlist = 10);
});
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET vqpq.nprobe = 10; SET vqpq.rerank = 0;
	SELECT count(*) FROM (SELECT id FROM dup ORDER BY embedding <-> '[1,1,1,1]' LIMIT 100000000) s}),
	'1000', 'identical rows: every row is found');
$node->safe_psql('postgres', q{
	DROP INDEX dup_idx;
	UPDATE dup SET embedding = '[5,5,5,5]' WHERE id % 2 = 0;
	CREATE INDEX dup_idx ON dup USING ivfpq (embedding) WITH (nlist = 10);
});
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT string_agg(embedding::text, ' ') FROM (SELECT embedding FROM dup ORDER BY embedding <-> '[4,4,4,4]' LIMIT 3) s}),
	'[5,5,5,5] [5,5,5,5] [5,5,5,5]', 'two distinct values in ten lists: nearest value first');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET vqpq.nprobe = 10;
	SELECT count(*) FROM (SELECT id FROM dup ORDER BY embedding <-> '[1,1,1,1]' LIMIT 100000000) s}),
	'1000', 'and every row is still found');

# Inserts after the build are encoded with the trained quantizer
$node->safe_psql('postgres', q{
	CREATE INDEX items_l2 ON items USING ivfpq (embedding);
	INSERT INTO items SELECT id + 100000, embedding FROM items_queries;
});
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM items_queries q
	 WHERE (SELECT id FROM items t ORDER BY t.embedding <-> q.embedding LIMIT 1) = q.id + 100000}),
	'50', 'a row inserted after the build is its own nearest neighbour');

$node->stop;
done_testing();
