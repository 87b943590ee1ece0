# Each session caches the quantizers of the indexes it uses: VACUUM and
# ANALYZE (which invalidate the index's relcache entry) keep it, a new build
# (REINDEX, TRUNCATE) replaces it, DROP frees it, and vqpq.cache_size bounds
# the memory of all of them, evicting the least recently used.  The cache
# says what it does at DEBUG1; pg_backend_memory_contexts shows what it holds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('cache');
$node->safe_psql('postgres', q{
	CREATE TABLE cc (id int, v pqvector(8));
	INSERT INTO cc SELECT i, ARRAY[i % 10, i % 7, i % 5, 1, i % 3, i % 11, 2, i % 13]::real[] FROM generate_series(1, 3000) i;
	CREATE INDEX cc_idx ON cc USING ivfpq (v) WITH (nlist = 8);
	CREATE TABLE cd AS SELECT * FROM cc;
	CREATE INDEX cd_idx ON cd USING ivfpq (v) WITH (nlist = 8);
});

my $search = "SELECT id FROM %s ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 1;\n";
my $cached = q{SELECT coalesce(string_agg(ident, ',' ORDER BY ident), 'none') FROM pg_backend_memory_contexts
	WHERE name = 'ivfpq quantizer';};

# run statements in one session at DEBUG1: (the last statement's output, the log lines)
sub session
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET enable_seqscan = off; SET client_min_messages = debug1;\n$sql", on_error_stop => 1);
	die "psql failed: $err" if $ret != 0;
	my @loads = $err =~ /loading the quantizer of index "(\w+)"/g;
	my @evictions = $err =~ /(evicting the quantizer)/g;
	my @last = split /\n/, $out;
	return ($last[-1] // '', scalar(@loads), scalar(@evictions));
}

# VACUUM and ANALYZE that change the index's statistics (so its pg_class
# row, and each session's relcache entry for it, is invalidated)
my $stats = q{SELECT relpages || ' ' || reltuples FROM pg_class WHERE relname = 'cc_idx';};
my $before = $node->safe_psql('postgres', $stats);
my ($out, $loads) = session(sprintf($search, 'cc') . "DELETE FROM cc WHERE id % 10 = 0;\nVACUUM cc;\n"
	  . sprintf($search, 'cc') . "INSERT INTO cc SELECT i, '[2,2,2,2,2,2,2,2]' FROM generate_series(3001, 4000) i;\n"
	  . "ANALYZE cc;\n" . sprintf($search, 'cc') . $cached);
isnt($node->safe_psql('postgres', $stats), $before, 'the index\'s statistics changed');
is($loads, 1, 'VACUUM and ANALYZE do not throw the cached quantizer away: loaded once for three queries and inserts');
is($out, 'cc_idx', 'the session holds it');

($out, $loads) = session(sprintf($search, 'cc') . "REINDEX INDEX cc_idx;\n" . sprintf($search, 'cc')
	  . "TRUNCATE cd;\nINSERT INTO cd SELECT * FROM cc;\n" . sprintf($search, 'cd') . sprintf($search, 'cd') . $cached);
is($loads, 3, 'a REINDEX and a TRUNCATE give new builds, which are loaded anew');
is($out, 'cc_idx,cd_idx', 'one quantizer per index is kept');

($out) = session(sprintf($search, 'cc') . sprintf($search, 'cd') . "DROP INDEX cc_idx;\n"
	  . sprintf($search, 'cd') . $cached);
is($out, 'cd_idx', 'a dropped index\'s quantizer is freed at the next query');

$node->safe_psql('postgres', 'CREATE INDEX cc_idx ON cc USING ivfpq (v) WITH (nlist = 8)');
my $evictions;
($out, $loads, $evictions) = session("SET vqpq.cache_size = 0;\n"
	  . join('', map { sprintf($search, $_) } qw(cc cd cc cd)) . $cached);
is($loads, 4, 'with no room in the cache, each query loads the quantizer it needs');
is($evictions, 3, 'and evicts the one it no longer uses');
is($out, 'cd_idx', 'only the quantizer in use last is kept');

($out, $loads, $evictions) = session(join('', map { sprintf($search, $_) } qw(cc cd cc cd)) . $cached);
is($loads . ' ' . $evictions, '2 0', 'with the default vqpq.cache_size both stay');
is($out, 'cc_idx,cd_idx', 'and both are held');

$node->stop;
done_testing();
