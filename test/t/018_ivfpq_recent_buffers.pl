# A scan reads each list page through the shared buffer this session last
# found it in (ReadRecentBuffer) when that buffer still holds it, and
# through the buffer mapping table when not.  A buffer that has since been
# given to another page must never be read as the list page: with buffers
# too few for the table, the index and a filler table, the answers after
# the index's pages were evicted are those of a fresh session, and the
# scans say (DEBUG2) how many pages came each way.  Shared buffers hold the
# table and the index, not the filler.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('recent_buffers');
# 1,024 buffers of 8 kB: room for the table (about 450 pages) and its index
$node->append_conf('postgresql.conf', "shared_buffers = 8MB\n");
$node->restart;

load_clustered($node, 'items', 20000, 32, 20, 50, 23);
$node->safe_psql('postgres', q{
	CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 40);
	VACUUM ANALYZE items;
	CREATE TABLE filler (i int, pad text);
});

my $answers = q{
	SELECT string_agg(ids, ';' ORDER BY qid) FROM (
		SELECT q.id AS qid, (SELECT string_agg(id::text, ',') FROM (
			SELECT t.id FROM items t ORDER BY t.embedding <-> q.embedding LIMIT 10) r) AS ids
		  FROM items_queries q) s;
};

# Every scan's (list pages, of them through their recent buffer), in order
sub page_counts
{
	my ($stderr) = @_;
	my @counts;
	while ($stderr =~ /ivfpq scan: read (\d+) list pages of "items_idx", (\d+) through the buffer each was last found in/g)
	{
		push @counts, [ $1, $2 ];
	}
	return @counts;
}

# One session: the answers twice, then about 80 MB of new filler rows
# (ten times shared buffers, not through a ring of buffers: every buffer's
# usage count is worn down) evict the index's pages, then the answers again.
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SET enable_seqscan = off;
	SET client_min_messages = debug2;
	$answers
	$answers
	INSERT INTO filler SELECT i, repeat('x', 800) FROM generate_series(1, 100000) i;
	$answers
}, on_error_stop => 1);
is($ret, 0, 'the session ran') or diag($stderr);
my @answers = split /\n/, $stdout;
is(scalar(@answers), 3, 'three sets of answers');
my @counts = page_counts($stderr);
is(scalar(@counts), 3, 'each set of answers is one scan that reports its list pages');

my ($first, $second, $after) = @counts;
is($second->[0], $first->[0], 'the second scan read the same list pages as the first');
cmp_ok($second->[1], '>=', 0.9 * $second->[0],
	"nearly all of them through their recent buffers ($second->[1] of $second->[0])");
cmp_ok($second->[1], '>', $first->[1],
	"more than the session's first scan did ($first->[1] of $first->[0])");
cmp_ok($after->[1], '<', $after->[0],
	"after the filler rows, $after->[1] of $after->[0] pages came through their recent buffers: the rest had been evicted");
cmp_ok($node->safe_psql('postgres', "SELECT pg_relation_size('filler') / current_setting('block_size')::int"),
	'>', 10 * 1024, 'the filler rows took more than ten times shared buffers');

my $fresh = $node->safe_psql('postgres', "SET enable_seqscan = off; $answers");
is($answers[0], $fresh, 'the first answers are those of a fresh session');
is($answers[1], $fresh, 'so are the second, read through recent buffers');
is($answers[2], $fresh, 'so are those after the index pages were evicted');

# pg_statio counts a page read through its recent buffer as a hit, as
# ReadBuffer counts a page found in shared buffers
my $statio = q{SELECT pg_stat_force_next_flush();
	SELECT idx_blks_read + idx_blks_hit FROM pg_statio_user_indexes WHERE indexrelname = 'items_idx';};
my $before = (split /\n/, $node->safe_psql('postgres', $statio))[-1];
($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SET enable_seqscan = off;
	SET client_min_messages = debug2;
	$answers
	$answers
	SELECT pg_stat_force_next_flush();
}, on_error_stop => 1);
my $pages = 0;
$pages += $_->[0] for page_counts($stderr);
my $now = (split /\n/, $node->safe_psql('postgres', $statio))[-1];
cmp_ok($now - $before, '>=', $pages,
	"pg_statio_user_indexes counts every list page the scans read ($pages; it grew by " . ($now - $before) . ')');

exact_truth($node, 'items', 'items_queries', '<->', 10, 'truth');
my $expected = $node->safe_psql('postgres', "SELECT expected_recall FROM vqpq_index_info('items_idx')");
my $recall = recall($node, 'items', 'items_queries', '<->', 10, 'truth');
cmp_ok($recall, '>=', $expected - 0.05, "recall $recall is the calibrated $expected (within 0.05)");

done_testing();
