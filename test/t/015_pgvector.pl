# ivfpq on pgvector's columns (vqpq_pgvector): it installs whichever of
# vqpq and pgvector came first (or neither: CASCADE); ivfpq indexes vector
# and halfvec columns for pgvector's own operators, with every feature it has
# on pqvector (both code sizes, re-ranking off and on, filtered iterative
# scans, parallel builds, inserts, VACUUM, the info, recall, check and
# prewarm functions, expression indexes), beyond pgvector's own index limits
# (vector(3072), halfvec(3072) expressions, 16,000 dimensions); casts both
# ways check dimensions and ranges; and a set of pgvector's documented
# queries gives the same output with vqpq installed as without.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('pgvector');
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION vector');
plan skip_all => "pgvector is not installed in this server ($err)" if $ret != 0;
$node->safe_psql('postgres', 'DROP EXTENSION vector; DROP EXTENSION vqpq');
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nmax_parallel_workers = 8\n");
$node->restart;

# ---------------------------------------------------------------- installing

for my $order ([ 'cascade', 'CREATE EXTENSION vqpq_pgvector CASCADE' ],
	[ 'pgvector first', 'CREATE EXTENSION vector; CREATE EXTENSION vqpq; CREATE EXTENSION vqpq_pgvector' ],
	[ 'vqpq first', 'CREATE EXTENSION vqpq; CREATE EXTENSION vector; CREATE EXTENSION vqpq_pgvector' ])
{
	my ($what, $sql) = @$order;
	(my $db = "db_$what") =~ s/ /_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, $sql);
	is($node->safe_psql($db, q{SELECT string_agg(opcname, ',' ORDER BY opcname) FROM pg_opclass c
		JOIN pg_am a ON a.oid = c.opcmethod WHERE a.amname = 'ivfpq' AND opcname ~ '^(vector|halfvec)_'}),
		'halfvec_cosine_ops,halfvec_ip_ops,halfvec_l2_ops,vector_cosine_ops,vector_ip_ops,vector_l2_ops',
		"$what: the six operator classes exist");
}
my $db = 'db_cascade';
my $q = sub { $node->safe_psql($db, @_) };

# ---------------------------------------------------------------- casts

is($q->(q{SELECT '[1,2.5,-3]'::vector::pqvector, '[1,2.5,-3]'::pqvector::vector,
	'[1,0.5,-3]'::halfvec::pqvector, '[1,0.33333334,-3]'::pqvector::halfvec}),
	'[1,2.5,-3]|[1,2.5,-3]|[1,0.5,-3]|[1,0.33325195,-3]', 'casts both ways, to the nearest half');
is($q->(q{CREATE TABLE cast_into (p pqvector(3), v vector(3), h halfvec(3));
	INSERT INTO cast_into SELECT '[1,2,3]'::vector, '[4,5,6]'::pqvector, '[7,8,9]'::pqvector;
	SELECT p::text || ' ' || v::text || ' ' || h::text FROM cast_into}), '[1,2,3] [4,5,6] [7,8,9]', 'casts apply on assignment');
for my $bad ([ q{SELECT '[1,2]'::vector::pqvector(3)}, qr/expected 3 dimensions for type pqvector\(3\), not 2/ ],
	[ q{SELECT '[1,2]'::pqvector::vector(3)}, qr/expected 3 dimensions for type vector\(3\), not 2/ ],
	[ q{SELECT '[1,2]'::pqvector::halfvec(3)}, qr/expected 3 dimensions for type halfvec\(3\), not 2/ ],
	[ q{SELECT '[1,70000]'::pqvector::halfvec}, qr/22003: value out of range for type halfvec/ ])
{
	($ret, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$bad->[0]");
	like($err, $bad->[1], "refused: $bad->[0]");
}
($ret, $out, $err) = $node->psql($db, q{SELECT '[1,2]'::vector <-> '[2,3]'::pqvector});
like($err, qr/operator does not exist: vector <-> pqvector/, 'no implicit cast makes mixed operators resolve');

# ---------------------------------------------------------------- features

# 20 clusters of 24-d vectors, a category uncorrelated with them (1%)
$q->(q{
	SELECT setseed(0.9);
	CREATE TABLE centers AS SELECT c, ARRAY(SELECT random() * 10 + c * 0 FROM generate_series(1, 24)) AS v
	  FROM generate_series(1, 20) c;
	CREATE TABLE items (id int PRIMARY KEY, category int, embedding vector(24));
	INSERT INTO items SELECT i, i % 100, (SELECT ARRAY(SELECT x + random() - 0.5 FROM unnest(v) x) FROM centers WHERE c = 1 + i % 20)::vector(24)
	  FROM generate_series(1, 20000) i;
	ALTER TABLE items SET (parallel_workers = 2);
	CREATE TABLE queries AS SELECT id, embedding FROM items WHERE id % 500 = 7;
	VACUUM ANALYZE items;
});

# recall@10 against exact results (exact_answers, index scans off)
sub column_recall
{
	my ($settings, $op, $column, $where) = @_;
	$where //= '';
	return $q->(qq{
		$settings;
		SET enable_seqscan = off;
		SELECT round(avg(hits) / 10, 3) FROM (
			SELECT (SELECT count(*) FROM (SELECT id FROM items WHERE true $where ORDER BY $column $op q.embedding LIMIT 10) i
					 WHERE id IN (SELECT id FROM exact_answers e WHERE e.qid = q.id)) AS hits
			  FROM queries q) s});
}
sub exact
{
	my ($op, $column, $where) = @_;
	$where //= '';
	$q->(qq{
		DROP TABLE IF EXISTS exact_answers;
		SET enable_indexscan = off;
		CREATE TABLE exact_answers AS SELECT q.id AS qid, i.id FROM queries q
			CROSS JOIN LATERAL (SELECT id FROM items WHERE true $where ORDER BY $column $op q.embedding LIMIT 10) i;
		RESET enable_indexscan});
}
# the answers of the 40 queries through the index on the table's column
sub answers
{
	my ($table, $settings, $op, $where) = @_;
	my $cast = $table eq 'items_pq' ? '::pqvector' : '';
	$where //= '';
	return $q->(qq{
		$settings;
		SET enable_seqscan = off;
		SELECT string_agg(ids, ' ' ORDER BY qid) FROM (
			SELECT q.id AS qid, (SELECT string_agg(id::text, ',') FROM (
				SELECT id FROM $table WHERE true $where ORDER BY embedding $op q.embedding$cast LIMIT 10) i) AS ids
			  FROM queries q) s});
}

# the same rows as pqvector, in the same order: the same pages, so the same
# sample and the same index, which must give the same answers
$q->(q{CREATE TABLE items_pq (id int PRIMARY KEY, category int, embedding pqvector(24));
	INSERT INTO items_pq SELECT id, category, embedding FROM items ORDER BY id;
	ALTER TABLE items_pq SET (parallel_workers = 2);
	VACUUM ANALYZE items_pq});
my %pq_opclass = (vector_l2_ops => 'pqvector_l2_ops', vector_ip_ops => 'pqvector_ip_ops', vector_cosine_ops => 'pqvector_cosine_ops');
for my $case ([ 'vector_l2_ops', '<->', 'nbits = 4' ], [ 'vector_l2_ops', '<->', 'nbits = 8' ],
	[ 'vector_ip_ops', '<#>', 'nbits = 4' ], [ 'vector_cosine_ops', '<=>', 'nbits = 4' ])
{
	my ($opclass, $op, $with) = @$case;
	my $what = "$opclass ($with)";
	my $parallel = 'SET client_min_messages = debug1; SET max_parallel_maintenance_workers = 2; SET min_parallel_table_scan_size = 1;';
	($ret, $out, $err) = $node->psql($db, "$parallel CREATE INDEX items_idx ON items USING ivfpq (embedding $opclass) WITH (nlist = 40, $with)");
	is($ret, 0, "$what: builds");
	like($err, qr/ivfpq build: using [1-9] parallel workers/, "$what: in parallel");
	$q->("$parallel CREATE INDEX items_pq_idx ON items_pq USING ivfpq (embedding $pq_opclass{$opclass}) WITH (nlist = 40, $with)");
	like($q->(qq{SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding $op '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]' LIMIT 10}),
		qr/Index Scan using items_idx/, "$what: pgvector's operator uses it");
	exact($op, 'embedding');
	cmp_ok(column_recall('SET vqpq.nprobe = 40; SET vqpq.rerank = 100', $op, 'embedding'), '>=', 0.99, "$what: every list, re-ranked: recall >= 0.99");
	for my $settings ('SET vqpq.nprobe = 3', 'SET vqpq.nprobe = 3; SET vqpq.rerank = 0', 'SET vqpq.nprobe = 3; SET vqpq.rerank = 4')
	{
		my $want = answers('items_pq', $settings, $op);
		is(answers('items', $settings, $op), $want, "$what: $settings: the same rows as on a pqvector column");
	}
	my $filtered = 'SET vqpq.nprobe = 1; SET vqpq.iterative_scan = relaxed_order';
	my $want = answers('items_pq', $filtered, $op, 'AND category = 42');
	is(answers('items', $filtered, $op, 'AND category = 42'), $want,
		"$what: a 1% filter through an iterative scan: the same rows as on a pqvector column");
	is(scalar(() = $want =~ /(\d+)/g), 400, "$what: ten rows for each query");
	$q->('DROP INDEX items_idx; DROP INDEX items_pq_idx');
}

# inserts, updates, VACUUM and the functions, on one index
$q->(q{CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 40);
	INSERT INTO items SELECT id + 100000, category, embedding FROM items WHERE id <= 2000;
	UPDATE items SET category = category + 1 WHERE id % 7 = 0;
	DELETE FROM items WHERE id % 11 = 0;
	VACUUM items});
is($q->(q{SET enable_seqscan = off; SET vqpq.nprobe = 40; SET vqpq.rerank = 0;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1) LIMIT 1000000) s}),
	$q->('SELECT count(*) FROM items'), 'after inserts, updates, deletes and VACUUM every row is in the index');
is($q->(q{SELECT count(*) FROM vqpq_index_check('items_idx')}), '0', 'vqpq_index_check finds no problem');
like($q->(q{SELECT metric || ' ' || dims || ' ' || rows || ' ' || advice FROM vqpq_index_info('items_idx')}),
	qr/^l2 24 \d+ ok$/, 'vqpq_index_info describes it');
cmp_ok($q->(q{SET vqpq.nprobe = 40; SET vqpq.rerank = 100; SELECT recall FROM vqpq_index_recall('items_idx', ARRAY(SELECT embedding FROM queries), 10)}),
	'>=', 0.99, 'vqpq_index_recall takes vector[] queries');
cmp_ok($q->(q{SET vqpq.nprobe = 40; SET vqpq.rerank = 100; SELECT recall FROM vqpq_index_recall('items_idx', 10, 50)}), '>=', 0.99,
	'and samples the table\'s own rows');
cmp_ok($q->(q{SELECT vqpq_index_prewarm('items_idx')}), '>', 0, 'vqpq_index_prewarm reads it');

# halfvec: a column, and an expression on a vector column
$q->(q{ALTER TABLE items ADD COLUMN h halfvec(24); UPDATE items SET h = embedding::halfvec(24); VACUUM items;
	CREATE INDEX items_h ON items USING ivfpq (h) WITH (nlist = 40)});
exact('<->', 'h');
cmp_ok(column_recall('SET vqpq.nprobe = 40; SET vqpq.rerank = 100', '<->', 'h'), '>=', 0.99, 'halfvec column: recall >= 0.99');
$q->(q{CREATE INDEX items_h_expr ON items USING ivfpq ((embedding::halfvec(24)) halfvec_cosine_ops) WITH (nlist = 40)});
like($q->(q{SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding::halfvec(24) <=> (SELECT h FROM items LIMIT 1) LIMIT 10}),
	qr/Index Scan using items_h_expr/, 'a halfvec expression index serves its expression');
exact('<=>', 'embedding::halfvec(24)');
cmp_ok(column_recall('SET vqpq.nprobe = 40; SET vqpq.rerank = 100', '<=>', 'embedding::halfvec(24)'), '>=', 0.99, 'and finds its neighbours');
is($q->(q{SELECT count(*) FROM vqpq_index_check('items_h_expr')}), '0', 'and is sound');

# beyond pgvector's own index limits: 3,072 and 16,000 dimensions
$q->(q{
	CREATE TABLE wide (id int, embedding vector(3072));
	INSERT INTO wide SELECT i, ARRAY(SELECT sin(i * 0.1 + j) FROM generate_series(1, 3072) j)::vector(3072) FROM generate_series(1, 300) i;
});
($ret, $out, $err) = $node->psql($db, 'CREATE INDEX ON wide USING hnsw (embedding vector_l2_ops)');
like($err, qr/2000 dimensions/, 'pgvector\'s hnsw refuses vector(3072)');
$q->(q{CREATE INDEX wide_idx ON wide USING ivfpq (embedding) WITH (nlist = 4);
	CREATE INDEX wide_h ON wide USING ivfpq ((embedding::halfvec(3072)) halfvec_l2_ops) WITH (nlist = 4)});
is($q->(q{SET enable_seqscan = off; SET vqpq.nprobe = 4;
	SELECT id FROM wide ORDER BY embedding <-> (SELECT embedding FROM wide WHERE id = 17) LIMIT 1}), '17',
	'ivfpq indexes vector(3072)');
is($q->(q{SET enable_seqscan = off; SET vqpq.nprobe = 4;
	SELECT id FROM wide ORDER BY embedding::halfvec(3072) <-> (SELECT embedding::halfvec(3072) FROM wide WHERE id = 17) LIMIT 1}), '17',
	'and a halfvec(3072) expression');
$q->(q{
	CREATE TABLE widest (id int, embedding vector(16000));
	INSERT INTO widest SELECT i, ARRAY(SELECT sin(i * 0.3 + j) FROM generate_series(1, 16000) j)::vector(16000) FROM generate_series(1, 40) i;
	CREATE INDEX widest_idx ON widest USING ivfpq (embedding) WITH (nlist = 2);
});
is($q->(q{SET enable_seqscan = off; SET vqpq.nprobe = 2;
	SELECT id FROM widest ORDER BY embedding <-> (SELECT embedding FROM widest WHERE id = 9) LIMIT 1}), '9',
	'and vector(16000)');

# ---------------------------------------------------------------- pgvector's own queries, with and without vqpq

my $documented = q{
	CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3), category_id int);
	INSERT INTO items (embedding, category_id) VALUES ('[1,2,3]', 1), ('[4,5,6]', 2), ('[1,1,1]', 1), ('[0,0,0]', 2);
	SELECT * FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY embedding <#> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY embedding <=> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY embedding <+> '[3,1,2]' LIMIT 5;
	SELECT embedding <-> '[3,1,2]' AS distance FROM items ORDER BY id;
	SELECT (embedding <#> '[3,1,2]') * -1 AS inner_product FROM items ORDER BY id;
	SELECT 1 - (embedding <=> '[3,1,2]') AS cosine_similarity FROM items ORDER BY id;
	SELECT * FROM items WHERE id != 1 ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 5;
	SELECT * FROM items WHERE embedding <-> '[3,1,2]' < 5 ORDER BY id;
	SELECT AVG(embedding) FROM items;
	SELECT category_id, AVG(embedding) FROM items GROUP BY category_id ORDER BY category_id;
	SELECT SUM(embedding) FROM items;
	SELECT l2_distance(embedding, '[3,1,2]'), inner_product(embedding, '[3,1,2]'), cosine_distance(embedding, '[3,1,2]'),
	       l1_distance(embedding, '[3,1,2]'), vector_dims(embedding), vector_norm(embedding) FROM items ORDER BY id;
	SELECT l2_normalize(embedding), subvector(embedding, 1, 2), binary_quantize(embedding) FROM items ORDER BY id;
	SELECT embedding + '[1,1,1]', embedding - '[1,1,1]', embedding * '[2,2,2]', embedding || '[7]' FROM items ORDER BY id;
	SELECT '[1,2,3]'::vector, '[1,2,3]'::halfvec, '{1:1,3:2}/5'::sparsevec, '101'::bit(3);
	SELECT ARRAY[1,2,3]::vector, ARRAY[1,2,3]::real[]::vector, '[1,2,3]'::vector::real[], '[1,2,3]'::vector::halfvec;
	SELECT '[1,2,3]'::vector = '[1,2,3]', '[1,2,3]'::vector < '[1,2,4]';
	SELECT l2_distance('[1,2]'::halfvec, '[3,4]'), hamming_distance('101'::bit(3), '111'), jaccard_distance('101'::bit(3), '111');
	CREATE INDEX ON items USING hnsw (embedding vector_l2_ops);
	CREATE INDEX ON items USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64);
	CREATE INDEX ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 1);
	CREATE INDEX ON items USING hnsw ((embedding::halfvec(3)) halfvec_l2_ops);
	CREATE INDEX ON items USING hnsw ((binary_quantize(embedding)::bit(3)) bit_hamming_ops);
	SET hnsw.ef_search = 100;
	SET hnsw.iterative_scan = relaxed_order;
	SET ivfflat.probes = 10;
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
	EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY embedding <=> '[3,1,2]' LIMIT 5;
	SELECT * FROM items WHERE category_id = 1 ORDER BY embedding <-> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY embedding::halfvec(3) <-> '[3,1,2]' LIMIT 5;
	SELECT * FROM items ORDER BY binary_quantize(embedding)::bit(3) <~> binary_quantize('[1,-2,3]'::vector) LIMIT 5;
	SELECT count(*) FROM pg_indexes WHERE tablename = 'items';
};
$node->safe_psql('postgres', 'CREATE DATABASE pgvector_alone; CREATE DATABASE pgvector_with_vqpq');
$node->safe_psql('pgvector_alone', 'CREATE EXTENSION vector');
$node->safe_psql('pgvector_with_vqpq', 'CREATE EXTENSION vqpq_pgvector CASCADE');
my ($ret_a, $out_a, $err_a) = $node->psql('pgvector_alone', $documented);
my ($ret_b, $out_b, $err_b) = $node->psql('pgvector_with_vqpq', $documented);
is($ret_a, 0, 'pgvector\'s documented queries run without errors') or note $err_a;
is($out_b, $out_a, 'and give the same output with vqpq and vqpq_pgvector installed');
is($err_b, $err_a, 'and the same messages');

$node->stop;
done_testing();
