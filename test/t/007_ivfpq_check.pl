# vqpq_index_check reports damage: with the server stopped, the index file is
# changed on disk in one way at a time (an entry's heap TID, a chain link, the
# metapage magic, an entry count); each gives a report, scans and VACUUM
# refuse a page whose count does not fit, and restoring the file clears it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VqpqTest;

my $node = vqpq_node('check');
load_clustered($node, 'items', 5000, 8, 10, 1, 3);
$node->safe_psql('postgres', 'CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 4, m = 2)');
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('items_idx')"), '0', 'a healthy index has no problems');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_idx')");
$node->stop;
my $original = slurp_file($file);
my $blcksz = 8192;
my $special = $blcksz - 16;    # MAXALIGN(sizeof(IvfpqPageOpaqueData))

# (block, next, count, type) of every page
my @pages;
for (my $b = 0; $b * $blcksz < length $original; $b++)
{
	my ($next, $count, $type) = unpack('L S S', substr($original, $b * $blcksz + $special, 8));
	push @pages, [ $b, $next, $count, $type ];
}
my ($entry_page) = grep { $_->[3] == 4 && $_->[2] > 0 } @pages;
my ($chained_page) = grep { $_->[3] == 4 && $_->[1] != 0xFFFFFFFF } @pages;
ok($entry_page && $chained_page, 'found an entry page and a page with a successor');

sub with_damage
{
	my ($what, $offset, $bytes, $expect, $also) = @_;
	my $damaged = $original;
	substr($damaged, $offset, length $bytes) = $bytes;
	open(my $fh, '>:raw', $file) or die;
	print $fh $damaged;
	close $fh;
	$node->start;
	my $report = $node->safe_psql('postgres', "SELECT blkno || ': ' || problem FROM vqpq_index_check('items_idx')");
	note "$what: $report";
	like($report, $expect, "$what is reported");
	$also->() if $also;
	$node->stop;
}

# the first entry's heap TID (BlockIdData hi, lo, then offset) points past the table
with_damage('an entry pointing outside the table', $entry_page->[0] * $blcksz + 24, pack('S S S', 0x7fff, 0, 1),
	qr/entry 0 has heap TID \(2147418112,1\), not in the table/);
# a page's next link points back at itself
with_damage('a chain that loops', $chained_page->[0] * $blcksz + $special, pack('L', $chained_page->[0]),
	qr/reaches a page already seen/);
# the metapage magic
with_damage('a wrong metapage magic', 24, pack('L', 0xdeadbeef), qr/metapage has magic deadbeef/);
# a page claiming more rows than fit: scans and VACUUM stop with an error
# instead of reading past the page
with_damage('an entry count larger than a page holds', $entry_page->[0] * $blcksz + $special + 4, pack('S', 65535),
	qr/page claims 65535 entries, at most \d+ fit/, sub {
		my ($ret, $out, $err) = $node->psql('postgres', q{
			SET enable_seqscan = off; SET vqpq.nprobe = 4; SET vqpq.rerank = 0;
			SELECT count(*) FROM (SELECT 1 FROM items ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1)) s});
		like($err, qr/ivfpq index "items_idx" has a corrupt entry page at block $entry_page->[0]/,
			'a scan reaching the page fails with an error');
		# rolled-back rows leave index entries for VACUUM to remove
		$node->safe_psql('postgres', 'BEGIN; INSERT INTO items SELECT id + 100000, embedding FROM items LIMIT 200; ROLLBACK;');
		($ret, $out, $err) = $node->psql('postgres', 'VACUUM items');
		like($err, qr/ivfpq index "items_idx" has a corrupt entry page at block $entry_page->[0]/,
			'so does VACUUM');
	});

open(my $fh, '>:raw', $file) or die;
print $fh $original;
close $fh;
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('items_idx')"), '0',
	'the restored index is healthy again');
$node->stop;
done_testing();
