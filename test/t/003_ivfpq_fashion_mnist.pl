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

# A build can be cancelled while it trains (the k-means loops check for
# interrupts); a build that did not would run on and succeed.
{
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_until(qr/started/, "\\echo started\nCREATE INDEX cancelled ON images USING ivfpq (embedding);\n");
	my $phase = '';
	for (1 .. 3000)
	{
		$phase = $node->safe_psql('postgres', 'SELECT phase FROM pg_stat_progress_create_index');
		last if $phase =~ /training/;
	}
	like($phase, qr/training/, 'the build reaches a training phase');
	$node->safe_psql('postgres',
		q{SELECT pg_cancel_backend(pid) FROM pg_stat_progress_create_index});
	$bg->quit;
	like($bg->{stderr}, qr/canceling statement due to user request/, 'cancelling a training build stops it');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'cancelled'}), '0',
		'and leaves no index behind');
}

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
ok($phases{'building index: calibrating recall'}, 'progress shows the recall calibration');
cmp_ok($max_done // 0, '>', 0, 'progress counts encoded rows');

my $explain = $node->safe_psql('postgres',
	q{EXPLAIN (COSTS OFF) SELECT id FROM images ORDER BY embedding <-> (SELECT embedding FROM queries LIMIT 1) LIMIT 10});
like($explain, qr/Index Scan using images_ivfpq/, 'the planner uses the index for ORDER BY <-> LIMIT');

# Recall@10 (the share of returned rows within the exact 10th distance) of
# the held-out test images, which are not rows of the table.  With nothing
# set, scans take the settings the build measured to reach
# vqpq.target_recall (0.95) on rows of the table; the claim must hold here.
my ($nprobe, $rerank, $claim) = split /\|/,
  $node->safe_psql('postgres', q{SELECT nprobe, rerank, expected_recall FROM vqpq_index_info('images_ivfpq')});
my $r = recall($node, 'images', 'queries', '<->', 10, 'truth');
note "recall\@10, defaults (nprobe $nprobe, rerank $rerank, calibrated $claim): $r";
cmp_ok($r, '>=', 0.95, 'default settings: recall@10 >= 0.95');
cmp_ok(abs($r - $claim), '<=', 0.03, 'and within 0.03 of the recall the calibration claims');

($nprobe, $rerank, $claim) = split /\|/, $node->safe_psql('postgres',
	q{SET vqpq.target_recall = 0.99; SELECT nprobe, rerank, expected_recall FROM vqpq_index_info('images_ivfpq')});
$r = recall($node, 'images', 'queries', '<->', 10, 'truth', 'vqpq.target_recall' => 0.99);
note "recall\@10, target 0.99 (nprobe $nprobe, rerank $rerank, calibrated $claim): $r";
cmp_ok($r, '>=', 0.985, 'vqpq.target_recall = 0.99: recall@10 >= 0.985');
cmp_ok(abs($r - $claim), '<=', 0.02, 'and within 0.02 of the claim');

$r = recall($node, 'images', 'queries', '<->', 10, 'truth', 'vqpq.nprobe' => 10, 'vqpq.rerank' => 0);
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

# Rescans under a LATERAL join free each query's memory: the scanning
# backend's memory is the same late in a long join as early in it, but for
# the precomputed list tables the quantizer cache keeps, which grow as more
# lists are probed and stay within vqpq.table_cache_size.  (The per-row
# context of detoasted candidates is left out: it fills and empties with
# every row, and a snapshot may catch it full.)
{
	# a backend's memory: (grand total, per-row context, quantizer cache)
	my $memory_of = sub {
		my ($pid) = @_;
		my $offset = -s $node->logfile;
		$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
		$node->wait_for_log(qr/Grand total: \d+ bytes/, $offset);
		my $log = substr(slurp_file($node->logfile), $offset);
		my ($total) = $log =~ /Grand total: (\d+) bytes/;
		my ($row) = $log =~ /ivfpq row: (\d+) total/;
		my ($cache) = $log =~ /ivfpq quantizer: (\d+) total/;
		return ($total, $row // 0, $cache // 0);
	};

	# the quantizer cache without list tables
	my $plain = $node->background_psql('postgres');
	my $plain_pid = $plain->query_safe('SELECT pg_backend_pid()');
	$plain->query_safe(q{SET enable_seqscan = off; SET vqpq.table_cache_size = 0;
		SELECT id FROM images ORDER BY embedding <-> (SELECT embedding FROM queries LIMIT 1) LIMIT 1});
	my (undef, undef, $static) = $memory_of->($plain_pid);
	$plain->quit;

	my $bg = $node->background_psql('postgres');
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, q{\echo started
		SET enable_seqscan = off;
		SET vqpq.table_cache_size = '1MB';
		SELECT count(n.id) FROM (SELECT embedding FROM images LIMIT 10000) o
		  CROSS JOIN LATERAL (SELECT id FROM images i ORDER BY i.embedding <-> o.embedding LIMIT 1) n;
	});
	my (@totals, @quantizer);
	for my $wait (1.5, 4.5)
	{
		select(undef, undef, undef, $wait);
		my ($total, $row, $cache) = $memory_of->($pid);
		push @quantizer, $cache;
		push @totals, $total - $row - $cache;
	}
	$bg->quit;
	note "scanning backend memory: $totals[0] bytes, then $totals[1] bytes; "
	  . "quantizer cache $quantizer[0], then $quantizer[1] bytes ($static without list tables)";
	cmp_ok($totals[1], '<', $totals[0] + 256 * 1024, 'a long LATERAL join does not grow memory');
	cmp_ok($quantizer[1] - $static, '<=', 1024 * 1024 + 64 * 1024,
		'the list tables the quantizer cache keeps stay within vqpq.table_cache_size');
	cmp_ok($quantizer[1] - $static, '>=', 512 * 1024, 'and it does keep them');
}

$node->safe_psql('postgres', 'SELECT pg_stat_force_next_flush()');
cmp_ok($node->safe_psql('postgres',
	q{SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'images_ivfpq'}), '>=', 100,
	'index scans are counted');

# Filtered queries through the label as a filter column: the image's own
# label (its neighbours mostly match) and the label five away (they match
# only far from the query), 10% of the rows each.  Hits of the exact
# filtered 10 nearest at the defaults, and LIMIT rows every time; the plan
# takes this index over images_ivfpq, whose rows the executor would filter.
$node->safe_psql('postgres', q{CREATE INDEX images_label ON images USING ivfpq (embedding, label)});
for my $case (['near', 'q.label', 0.95], ['far', '(q.label + 5) % 10', 0.92])
{
	my ($name, $label, $floor) = @$case;
	my $answers = sub {
		my ($sets) = @_;
		return qq{$sets
			CREATE TEMP TABLE answers_$name AS
			SELECT q.id AS qid, n.id FROM queries q CROSS JOIN LATERAL
				(SELECT i.id FROM images i WHERE i.label = $label ORDER BY i.embedding <-> q.embedding LIMIT 10) n;
			RESET ALL;};
	};
	my ($hits, $short) = split /\|/, $node->safe_psql('postgres',
		$answers->('SET enable_seqscan = off;') . qq{
		CREATE TEMP TABLE got AS SELECT * FROM answers_$name; DROP TABLE answers_$name;}
		. $answers->('SET enable_indexscan = off; SET enable_bitmapscan = off;') . qq{
		SELECT (SELECT count(*) FROM got JOIN answers_$name USING (qid, id)),
			   (SELECT count(*) FROM (SELECT qid FROM got GROUP BY qid HAVING count(*) < 10) s)
			 + 100 - (SELECT count(DISTINCT qid) FROM got)});
	note "filtered ($name label): $hits of 1000 exact neighbours at the defaults";
	# of the two indexes, the one that applies the filter (the other's rows
	# would be filtered after it, and too few of them meet the filter)
	like($node->safe_psql('postgres', qq{SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT q.id AS qid, n.id FROM queries q
		CROSS JOIN LATERAL (SELECT i.id FROM images i WHERE i.label = $label ORDER BY i.embedding <-> q.embedding LIMIT 10) n}),
		qr/Index Scan using images_label on images i\s+Index Cond: \(label = /, "the planner takes the index with the filter column");
	cmp_ok($hits / 1000, '>=', $floor, "filter on the $name label: recall\@10 >= $floor at the defaults");
	is($short, 0, "and every query gets its 10 rows");
}

# A selective filter (0.1%) with the vectors in TOAST, as the table has them
# by default: the heap without them is small, so a sequential scan and a
# sort look cheap, but the index scores only the entries that meet the
# filter and is chosen; its answers are the exact ones.
$node->safe_psql('postgres', q{
	ALTER TABLE images ADD COLUMN shelf int;
	UPDATE images SET shelf = id % 1000;
	VACUUM ANALYZE images;
	CREATE INDEX images_shelf ON images USING ivfpq (embedding, shelf);
});
my $shelf_query = q{SELECT i.id FROM images i WHERE i.shelf = 7
	ORDER BY i.embedding <-> (SELECT embedding FROM queries WHERE id = 3) LIMIT 10};
like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $shelf_query"),
	qr/Index Scan using images_shelf on images i\s+Index Cond: \(shelf = 7\)/,
	'a 0.1% filter on a table with its vectors in TOAST goes through the index');
is($node->safe_psql('postgres', "SELECT array_agg(id) FROM ($shelf_query) s"),
	$node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT array_agg(id) FROM ($shelf_query) s"),
	'and returns the exact 10 nearest that meet it');

$node->stop;
done_testing();
