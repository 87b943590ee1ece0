# Soak: N clients of mixed INSERT, UPDATE of the vector or of the index's
# filter column (a new index entry), UPDATE of other columns only (HOT),
# DELETE, plain searches, searches filtered on the filter column and
# iterative searches filtered on another, with a VACUUM every 2 s and
# vqpq_index_check running alongside, for T seconds; a streaming replica
# follows.  Searches check their own answers as they go: a filtered search
# returns LIMIT rows whenever that many match, and a row searched by its
# own vector comes back at distance 0; a wrong answer stops that client,
# and the run fails.  Afterwards: a full index scan returns exactly
# count(*) rows, with and without re-ranking, and under the filter column's
# condition exactly the matching rows; vqpq_index_check is clean, sampled
# rows find themselves, and the replica answers alike.  Then an immediate shutdown in
# the middle of inserts, and the same checks after recovery.
#
# VQPQ_SOAK_CLIENTS (default 4) and VQPQ_SOAK_SECONDS (default 20) set the
# size; scripts/soak.sh runs it at any size (the README gives a 16-client,
# 10-minute run).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use List::Util qw(max);
use VqpqTest;

my $clients = $ENV{VQPQ_SOAK_CLIENTS} // 4;
my $seconds = $ENV{VQPQ_SOAK_SECONDS} // 20;
my $dims = 16;

my $primary = vqpq_node('primary', allows_streaming => 1);
$primary->append_conf('postgresql.conf', "autovacuum = off\nmax_connections = " . ($clients + 20) . "\n");
# a small shared_buffers (VQPQ_SOAK_SHARED_BUFFERS, e.g. 2MB) makes the table
# larger than it, so that re-ranking prefetches heap pages throughout
$primary->append_conf('postgresql.conf', "shared_buffers = '$ENV{VQPQ_SOAK_SHARED_BUFFERS}'\n")
  if $ENV{VQPQ_SOAK_SHARED_BUFFERS};
$primary->restart;
my $standby = vqpq_standby($primary, 'standby');

# 50 clusters, a centre plus uniform noise; fillfactor 70 leaves room for
# HOT updates.  category and shelf have 200 values each: a filter on either
# keeps 0.5% of the rows.  category is a filter column of the index (the
# scan applies it), shelf is in no index (the executor filters the rows
# the scan returns, which goes on with relaxed_order).  Nothing else
# indexes them, so filtered searches go through ivfpq.
$primary->safe_psql('postgres', qq{
	SELECT setseed(0.3);
	CREATE TABLE centers AS
		SELECT c AS id, ARRAY(SELECT random() * 10 + c * 0 FROM generate_series(1, $dims))::real[]::pqvector AS v
		  FROM generate_series(0, 49) c;
	CREATE FUNCTION clustered_vec() RETURNS pqvector LANGUAGE sql VOLATILE AS \$\$
		SELECT (SELECT v FROM centers WHERE id = (SELECT floor(random() * 50)::int))
			 + ARRAY(SELECT random() - 0.5 FROM generate_series(1, $dims))::real[]::pqvector \$\$;
	CREATE TABLE items (id bigserial PRIMARY KEY, category int NOT NULL, shelf int NOT NULL, note text,
		v pqvector($dims)) WITH (fillfactor = 70);
	INSERT INTO items (category, shelf, note, v)
		SELECT floor(random() * 200)::int, floor(random() * 200)::int, 'built', clustered_vec() FROM generate_series(1, 20000);
	CREATE INDEX items_v ON items USING ivfpq (v, category);
	VACUUM ANALYZE items;
});

# ---------------------------------------------------------------- checks

my $zero = "'[" . join(',', (0) x $dims) . "]'";

# a full index scan: every list, every row, each once
sub full_scan
{
	my ($node, $rerank) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET vqpq.nprobe = 65536; SET vqpq.rerank = $rerank;
		SELECT count(*) || ' ' || count(DISTINCT id) FROM (SELECT id FROM items ORDER BY v <-> $zero LIMIT 100000000) s});
}

# rows that do not come back first when searched by their own vector, of a
# sample of 500 (distance 0 counts: an equal vector is an equally good answer)
my $lost_of_sample = q{
	SET enable_seqscan = off;
	SELECT count(*) FILTER (WHERE (SELECT t.v <-> s.v FROM items t ORDER BY t.v <-> s.v LIMIT 1) IS DISTINCT FROM 0)
	  FROM (SELECT v FROM items WHERE id % 7 = 3 ORDER BY id LIMIT 500) s};

# full index scans under the filter column's condition, against the table
my $category_scans = qq{
	SET enable_seqscan = off; SET vqpq.nprobe = 65536;
	SELECT count(*) FROM generate_series(0, 19) c
	 WHERE (SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || bool_and(category = c)
			  FROM (SELECT id, category FROM items WHERE category = c ORDER BY v <-> $zero LIMIT 100000000) s)
		   IS DISTINCT FROM (SELECT count(*) || ' ' || count(*) || ' true' FROM items WHERE category + 0 = c)};

sub check_all
{
	my ($node, $what) = @_;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	is(full_scan($node, 100), "$rows $rows", "$what: a full index scan with re-ranking returns each of the $rows rows once");
	is(full_scan($node, 0), "$rows $rows", "$what: and without re-ranking");
	is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('items_v')"), '0',
		"$what: vqpq_index_check finds no problem");
	is($node->safe_psql('postgres', $lost_of_sample), '0', "$what: 500 sampled rows each find themselves");
	is($node->safe_psql('postgres', $category_scans), '0',
		"$what: full index scans on category 0 to 19 return exactly each category's rows");
	return $rows;
}

# ---------------------------------------------------------------- the mix

my $dir = $primary->basedir;

# the searches' queries, each checked below to run through ivfpq
my $plain_search = q{SELECT count(*) AS found FROM (SELECT id FROM items ORDER BY v <-> (SELECT clustered_vec()) LIMIT 10) s};
my $filtered_search = q{SELECT (SELECT count(*) FROM (SELECT id FROM items WHERE category = :c ORDER BY v <-> (SELECT clustered_vec()) LIMIT 10) s)
			 - least(10, (SELECT count(*) FROM items WHERE category + 0 = :c)) AS short};
my $relaxed_search = q{SELECT (SELECT count(*) FROM (SELECT id FROM items WHERE shelf = :c ORDER BY v <-> (SELECT clustered_vec()) LIMIT 10) s)
			 - least(10, (SELECT count(*) FROM items WHERE shelf = :c)) AS short};
my $self_search = q{SELECT coalesce((SELECT (SELECT t.v <-> s.v FROM items t ORDER BY t.v <-> s.v LIMIT 1)
						   FROM items s WHERE s.id >= (SELECT (random() * max(id))::bigint FROM items)
						  ORDER BY s.id LIMIT 1), 0) AS d};
for my $query ($plain_search, $filtered_search, $relaxed_search, $self_search)
{
	(my $explain = $query) =~ s/:c\b/7/g;
	like($primary->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $explain"),
		qr/Index Scan using items_v/, 'the search runs through ivfpq: ' . substr($query, 0, 60) . '...');
}

my %scripts = (
	# 5 new rows
	insert => q{
		INSERT INTO items (category, shelf, note, v)
			SELECT floor(random() * 200)::int, floor(random() * 200)::int, 'inserted', clustered_vec()
			  FROM generate_series(1, 5);
	},
	# a new vector: a new row version and a new index entry
	update_vector => q{
		UPDATE items SET v = clustered_vec(), note = 'moved'
		 WHERE id = (SELECT id FROM items WHERE id >= (SELECT (random() * max(id))::bigint FROM items) ORDER BY id LIMIT 1);
	},
	# a filter column: a new row version and a new entry with the new value
	update_category => q{
		UPDATE items SET category = floor(random() * 200)::int
		 WHERE id = (SELECT id FROM items WHERE id >= (SELECT (random() * max(id))::bigint FROM items) ORDER BY id LIMIT 1);
	},
	# another column only: a HOT update while the page has room
	update_note => q{
		UPDATE items SET note = md5(random()::text)
		 WHERE id = (SELECT id FROM items WHERE id >= (SELECT (random() * max(id))::bigint FROM items) ORDER BY id LIMIT 1);
	},
	delete => q{
		DELETE FROM items
		 WHERE id = (SELECT id FROM items WHERE id >= (SELECT (random() * max(id))::bigint FROM items) ORDER BY id LIMIT 1);
	},
	search => qq{
		SET enable_seqscan = off;
		$plain_search \\gset
		\\if :found != 10
			SELECT 'wrong answer: a plain search returned :found rows'::int;
		\\endif
	},
	# LIMIT rows whenever that many match, in one snapshot: on the filter
	# column, which the scan applies by itself ...
	search_filtered => qq{
		\\set c random(0, 199)
		SET enable_seqscan = off;
		$filtered_search \\gset
		\\if :short != 0
			SELECT 'wrong answer: a filtered search on category :c returned :short rows too few'::int;
		\\endif
	},
	# ... and on a column the executor filters, with relaxed_order
	search_relaxed => qq{
		\\set c random(0, 199)
		SET enable_seqscan = off; SET vqpq.iterative_scan = relaxed_order;
		$relaxed_search \\gset
		\\if :short != 0
			SELECT 'wrong answer: a relaxed_order search on shelf :c returned :short rows too few'::int;
		\\endif
	},
	# a row, searched by its own vector, comes back at distance 0
	search_self => qq{
		SET enable_seqscan = off;
		$self_search \\gset
		\\if :d != 0
			SELECT 'wrong answer: a row searched by its own vector came back at distance :d'::int;
		\\endif
	},
);
my %weights = (insert => 10, update_vector => 5, update_category => 3, update_note => 10, delete => 3,
	search => 10, search_filtered => 5, search_relaxed => 5, search_self => 10);
my @script_args;
for my $name (sort keys %scripts)
{
	open(my $fh, '>', "$dir/$name.sql") or die;
	print $fh $scripts{$name};
	close $fh;
	push @script_args, '-f', "$dir/$name.sql\@$weights{$name}";
}

my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', "--client=$clients", '--jobs=2', "--time=$seconds",
	  '--max-tries=10', '--failures-detailed', @script_args,
	  '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \$out, '2>', \$err);

# VACUUM every 2 s (without truncation, which waits on the clients' locks)
# in a loop of its own, and the checker alongside, until the clients finish
my $stop = "$dir/stop_vacuum";
my ($vacuum_out, $vacuum_err) = ('', '');
my $vacuum_loop = IPC::Run::start(
	[ 'bash', '-c', 'n=0; while [ ! -e "$1" ]; do psql -XAtq -h "$2" -p "$3" -d postgres -c "VACUUM (TRUNCATE false) items" '
	  . '&& n=$((n + 1)); sleep 2; done; echo "$n"', 'vacuum_loop', $stop, $primary->host, $primary->port ],
	'>', \$vacuum_out, '2>', \$vacuum_err);
my ($checks, $check_problems) = (0, 0);
while ($bench->pumpable)
{
	$bench->pump_nb;
	my $found = $primary->safe_psql('postgres', "SELECT string_agg(blkno || ': ' || problem, E'\\n') FROM vqpq_index_check('items_v')");
	if ($found ne '')
	{
		$check_problems++;
		note "vqpq_index_check during the run:\n$found";
	}
	$checks++;
	sleep 0.5;
}
open(my $stop_fh, '>', $stop) or die;
close $stop_fh;
$vacuum_loop->finish;
my $vacuums = $vacuum_out =~ /(\d+)\s*$/ ? $1 : 0;
note "VACUUM errors:\n$vacuum_err" if $vacuum_err ne '';
$bench->finish;
my ($transactions) = $out =~ /number of transactions actually processed: (\d+)/;
my ($failed) = $out =~ /number of failed transactions: (\d+)/;
$transactions //= 0;
$failed //= 0;
note "pgbench output:\n$out";
note "pgbench errors:\n$err" if $err ne '';
is($bench->result(0), 0, 'every client ran to the end: no search saw a wrong answer, nothing failed');
unlike($err, qr/wrong answer|aborted/, 'no client stopped on a wrong answer');
cmp_ok($transactions, '>', 0, "the clients ran $transactions transactions");
is($failed, 0, 'no transaction failed after retries');
cmp_ok($vacuums, '>=', max(1, int($seconds / 20)), "VACUUM ran $vacuums times during the run, a new one 2 s after each");
is($vacuum_err, '', 'and never failed');
is($check_problems, 0, "vqpq_index_check ran $checks times alongside the clients and found no problem");

my $rows = check_all($primary, "after $seconds s of $clients clients");
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
check_all($standby, 'the standby');
my $answers = q{
	SET enable_seqscan = off;
	SELECT s.id, (SELECT string_agg(t.id::text, ',') FROM (SELECT id FROM items t ORDER BY t.v <-> s.v LIMIT 10) t)
	  FROM (SELECT id, v FROM items ORDER BY id LIMIT 50) s ORDER BY s.id};
is($standby->safe_psql('postgres', $answers), $primary->safe_psql('postgres', $answers),
	'the standby returns the same nearest rows as the primary');

# ---------------------------------------------------------------- crash during inserts

($out, $err) = ('', '');
my $inserts = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', "--client=$clients", '--time=60', '-f', "$dir/insert.sql",
	  '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \$out, '2>', \$err);
$primary->poll_query_until('postgres', "SELECT count(*) > $rows + 1000 FROM items")
  or die 'the inserts did not start';
$primary->stop('immediate');
$inserts->finish;
$primary->start;
my $after = check_all($primary, 'after an immediate shutdown during inserts');
cmp_ok($after, '>', $rows, 'rows committed before the crash are there');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
check_all($standby, 'the standby after the crash');
is($standby->safe_psql('postgres', $answers), $primary->safe_psql('postgres', $answers),
	'after the crash the standby returns the same nearest rows');

note "soak: $clients clients, $seconds s: $transactions transactions, $failed failed, $vacuums VACUUMs, "
  . "$checks index checks; $rows rows checked after the run, $after after the crash; 0 lost";

$standby->stop;
$primary->stop;
done_testing();
