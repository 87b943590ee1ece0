# Helpers shared by vqpq's TAP tests: clusters, data sets, exact results and recall.
package VqpqTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(vqpq_node vqpq_standby load_fashion_mnist load_clustered exact_truth recall);

# A started cluster with vqpq installed in the postgres database.
sub vqpq_node
{
	my ($name, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', "shared_buffers = 256MB\nmax_wal_size = 2GB\n"
		  # enable_seqscan = off inflates costs enough to trigger JIT compilation,
		  # which costs far more than these small test queries
		  . "jit = off\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION vqpq');
	return $node;
}

# A started streaming standby of $primary (made with allows_streaming) from
# a fresh base backup, on a physical slot of its name: the slot keeps the
# WAL the standby has not received, which a checkpoint (the end-of-recovery
# one after a crash, say) would otherwise remove before it could catch up.
sub vqpq_standby
{
	my ($primary, $name) = @_;
	$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('$name')");
	$primary->backup("${name}_backup");
	my $standby = PostgreSQL::Test::Cluster->new($name);
	$standby->init_from_backup($primary, "${name}_backup", has_streaming => 1);
	$standby->append_conf('postgresql.conf', "primary_slot_name = '$name'\n");
	$standby->start;
	return $standby;
}

# Fashion-MNIST from the Debian package: $train rows into images(id, label,
# embedding pqvector(784)), $queries test images into queries(...).
# Returns false if the package is not installed.
sub load_fashion_mnist
{
	my ($node, $train, $queries) = @_;
	return 0 unless -d '/usr/share/datasets/fashion-mnist';
	my $dir = PostgreSQL::Test::Utils::tempdir;
	system("/usr/bin/python3 scripts/fashion_mnist.py train --limit $train > $dir/train.tsv") == 0
	  or die "loading Fashion-MNIST failed";
	system("/usr/bin/python3 scripts/fashion_mnist.py test --limit $queries > $dir/test.tsv") == 0
	  or die "loading Fashion-MNIST failed";
	$node->safe_psql('postgres', qq{
		CREATE TABLE images (id int PRIMARY KEY, label int, embedding pqvector(784));
		CREATE TABLE queries (id int PRIMARY KEY, label int, embedding pqvector(784));
		COPY images FROM '$dir/train.tsv';
		COPY queries FROM '$dir/test.tsv';
		VACUUM ANALYZE images;
	});
	return 1;
}

# Gaussian clusters (fixed seed): $n rows into $table(id, embedding
# pqvector($dim)) and $nq more from the same clusters into $table_queries.
sub load_clustered
{
	my ($node, $table, $n, $dim, $clusters, $nq, $seed) = @_;
	srand($seed);
	my @centers = map { [ map { rand(20) - 10 } 1 .. $dim ] } 1 .. $clusters;
	my $gauss = sub { sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) };
	my $dir = PostgreSQL::Test::Utils::tempdir;
	for my $part ([ $table, $n ], [ "${table}_queries", $nq ])
	{
		my ($name, $count) = @$part;
		open(my $fh, '>', "$dir/$name.tsv") or die;
		for my $i (1 .. $count)
		{
			my $c = $centers[ int(rand($clusters)) ];
			print $fh "$i\t[" . join(',', map { sprintf('%.5f', $c->[$_] + $gauss->()) } 0 .. $dim - 1) . "]\n";
		}
		close $fh;
		$node->safe_psql('postgres', qq{
			CREATE TABLE $name (id int PRIMARY KEY, embedding pqvector($dim));
			COPY $name FROM '$dir/$name.tsv';
			VACUUM ANALYZE $name;
		});
	}
}

# Exact k-th smallest distance per query, computed by Postgres itself with
# index scans off, into table $truth(qid, kth).
sub exact_truth
{
	my ($node, $items, $queries, $op, $k, $truth) = @_;
	$node->safe_psql('postgres', qq{
		SET enable_indexscan = off;
		CREATE TABLE $truth AS
		SELECT q.id AS qid,
			   (SELECT max(d) FROM (SELECT t.embedding $op q.embedding AS d FROM $items t
									 ORDER BY t.embedding $op q.embedding LIMIT $k) s) AS kth
		  FROM $queries q;
	});
}

# recall@k of the index under the given settings: the share of returned rows
# whose exact distance is within the exact k-th distance (so ties count).
sub recall
{
	my ($node, $items, $queries, $op, $k, $truth, %settings) = @_;
	my $set = join('', map { "SET $_ = '$settings{$_}';\n" } sort keys %settings);
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		$set
		SELECT round(sum(hits)::numeric / (count(*) * $k), 4) FROM (
			SELECT (SELECT count(*) FROM (SELECT t.embedding $op q.embedding AS d FROM $items t
										   ORDER BY t.embedding $op q.embedding LIMIT $k) r
					 WHERE r.d <= tr.kth) AS hits
			  FROM $queries q JOIN $truth tr ON tr.qid = q.id) s;
	});
}

1;
