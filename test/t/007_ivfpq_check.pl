# Damaged indexes: with the server stopped, the index file is changed on disk
# in one way at a time (an entry's heap TID, chain links that loop, leave the
# index or lead to a page of another kind, entry and list counts, the
# metapage's parameters, a page cut off its chain).  For each:
# vqpq_index_check reports it; a scan, an insert and a VACUUM either succeed
# or stop with ERRCODE_INDEX_CORRUPTED (XX002), never crash or hang, and the
# ones that read the damage do stop; restoring the file clears it all.  An
# entry's NULL flags with a bit past its index's filter columns are reported
# too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use File::Path qw(rmtree);
use Test::More;
use VqpqTest;

# (no data checksums: 18's initdb turns them on, and they would catch the
# damage before the index's own checks do)
my $node = vqpq_node('check', no_data_checksums => 1);
load_clustered($node, 'items', 5000, 8, 10, 1, 3);
$node->safe_psql('postgres', 'CREATE INDEX items_idx ON items USING ivfpq (embedding) WITH (nlist = 4, m = 2)');
# rows deleted in every list, not yet vacuumed: VACUUM walks every chain
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 10 = 0');
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('items_idx')"), '0', 'a healthy index has no problems');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_idx')");
$node->stop;
my $original = slurp_file($file);
# each case starts from this copy of the whole cluster, table and index alike
my $pristine = $node->basedir . '/pristine';
PostgreSQL::Test::RecursiveCopy::copypath($node->data_dir, $pristine);

sub restore_pristine
{
	rmtree($node->data_dir);
	PostgreSQL::Test::RecursiveCopy::copypath($pristine, $node->data_dir);
	chmod(0700, $node->data_dir) or die "chmod: $!";
}
my $blcksz = 8192;
my $header = 24;                 # page header: contents start here
my $special = $blcksz - 16;    # MAXALIGN(sizeof(IvfpqPageOpaqueData))

# (block, next, count, type) of every page
my @pages;
for (my $b = 0; $b * $blcksz < length $original; $b++)
{
	my ($next, $count, $type) = unpack('L S S', substr($original, $b * $blcksz + $special, 8));
	push @pages, [ $b, $next, $count, $type ];
}
# metapage fields, as offsets into block 0
my %meta = (magic => 0, dims => 8, nlist => 16, m => 20, lists_start => 64, lists_pages => 68, calib_nprobe => 108);
$_ += $header for values %meta;
my $lists_start = unpack('L', substr($original, $meta{lists_start}, 4));
my ($entry_page) = grep { $_->[3] == 4 && $_->[2] > 0 } @pages;
my ($chained_page) = grep { $_->[3] == 4 && $_->[1] != 0xFFFFFFFF } @pages;
my ($blob_page) = grep { $_->[3] == 2 } @pages;
ok($entry_page && $chained_page && $blob_page, 'found an entry page, a page with a successor and a quantizer page');
my $next_of = sub { $_[0] * $blcksz + $special };
my $count_of = sub { $_[0] * $blcksz + $special + 4 };

# each operation: 'ok' or 'XX002'
my %operations = (
	scan => q{SET enable_seqscan = off; SET vqpq.nprobe = 4;
		SELECT count(*) FROM (SELECT 1 FROM items ORDER BY embedding <-> (SELECT embedding FROM items LIMIT 1) LIMIT 100000) s},
	insert => 'INSERT INTO items SELECT id + 100000, embedding FROM items WHERE id % 10 = 1',
	vacuum => 'VACUUM items',
);

sub with_damage
{
	my ($what, $changes, $report_like, %expect) = @_;
	my $damaged = $original;
	restore_pristine();
	for my $change (@$changes)
	{
		my ($offset, $bytes) = @$change;
		substr($damaged, $offset, length $bytes) = $bytes;
	}
	open(my $fh, '>:raw', $file) or die;
	print $fh $damaged;
	close $fh;
	$node->start;
	my $report = $node->safe_psql('postgres', "SELECT blkno || ': ' || problem FROM vqpq_index_check('items_idx')");
	note "$what: $report";
	like($report, $report_like, "$what: vqpq_index_check reports it");
	for my $op (sort keys %operations)
	{
		my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$operations{$op}",
			timeout => $PostgreSQL::Test::Utils::timeout_default);
		my $got = $ret == 0 ? 'ok' : $err =~ /ERROR:  (XX002): ivfpq index "items_idx"/ ? $1 : "other error: $err";
		note "$what: $op: $err" if $ret != 0;
		my $want = $expect{$op} // 'ok or XX002';
		if ($want eq 'ok or XX002')
		{
			like($got, qr/^(ok|XX002)$/, "$what: $op succeeds or stops with index_corrupted");
		}
		else
		{
			is($got, $want, "$what: $op " . ($want eq 'ok' ? 'succeeds' : 'stops with index_corrupted'));
		}
	}
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$what: the server is still up");
	$node->stop;
}

with_damage('an entry pointing outside the table',
	[ [ $entry_page->[0] * $blcksz + $header, pack('S S S', 0x7fff, 0, 1) ] ],
	qr/entry 0 has heap TID \(2147418112,1\), not in the table/, scan => 'XX002');
with_damage('a chain that loops back to its own page',
	[ [ $next_of->($chained_page->[0]), pack('L', $chained_page->[0]) ] ],
	qr/reaches a page already seen/, scan => 'XX002', vacuum => 'XX002');
with_damage('a chain leading outside the index',
	[ [ $next_of->($chained_page->[0]), pack('L', 0x7ffffff0) ] ],
	qr/entry page is outside the index/, scan => 'XX002', vacuum => 'XX002');
with_damage('a chain leading to a quantizer page',
	[ [ $next_of->($chained_page->[0]), pack('L', $blob_page->[0]) ] ],
	qr/entry page is not a valid ivfpq page/, scan => 'XX002', vacuum => 'XX002');
with_damage('a chain cut short, its tail lost',
	[ [ $next_of->($chained_page->[0]), pack('L', 0xFFFFFFFF) ] ],
	qr/page belongs to no list or structure/);
with_damage('an entry count larger than a page holds',
	[ [ $count_of->($entry_page->[0]), pack('S', 65535) ] ],
	qr/page claims 65535 entries, at most \d+ fit/, scan => 'XX002', vacuum => 'XX002');
with_damage('a wrong metapage magic', [ [ $meta{magic}, pack('L', 0xdeadbeef) ] ],
	qr/metapage has magic deadbeef/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('more sub-quantizers than dimensions', [ [ $meta{m}, pack('L', 9) ] ],
	qr/metapage: m 9 is not between 1 and the 8 dimensions/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('more than 16,000 dimensions', [ [ $meta{dims}, pack('L', 70000) ] ],
	qr/metapage: dims 70000 is not between 1 and 16000/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('a recall calibration probing more lists than there are', [ [ $meta{calib_nprobe} + 4, pack('L', 100) ] ],
	qr/metapage: calibration nprobe 100 \(value 2\) is not increasing up to nlist/,
	scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('list pages that cannot hold nlist lists', [ [ $meta{lists_pages}, pack('L', 0) ] ],
	qr/metapage: 0 list pages cannot hold 4 lists/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('a list page claiming more lists than fit',
	[ [ $count_of->($lists_start), pack('S', 65535) ] ],
	qr/list page: the page holds 65535 lists/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('a list page holding fewer lists than nlist',
	[ [ $count_of->($lists_start), pack('S', 3) ] ],
	qr/list page: the page holds 3 lists \(pd_lower \d+\), expected 4/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');
with_damage('a list starting outside the index',
	[ [ $lists_start * $blcksz + $header, pack('L', 0x7ffffff0) ] ],
	qr/list page: list 0 starts at block 2147483632/, scan => 'XX002', insert => 'XX002', vacuum => 'XX002');

restore_pristine();
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('items_idx')"), '0',
	'the restored index is healthy again');
is($node->safe_psql('postgres', $operations{scan}), $node->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'and returns every row');
$node->stop;

# filter columns: an entry's byte of NULL flags (after the block's 32 TIDs
# and, for m = 2, 32 bytes of codes) with a bit past the index's one column
$node->start;
$node->safe_psql('postgres', q{
	CREATE TABLE fitems AS SELECT id, embedding, id % 7 AS cat FROM items;
	CREATE INDEX fitems_idx ON fitems USING ivfpq (embedding, cat) WITH (nlist = 4, m = 2);
});
is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('fitems_idx')"), '0',
	'a healthy index with a filter column has no problems');
my $ffile = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('fitems_idx')");
$node->stop;
{
	my $fpristine = slurp_file($ffile);
	my $fdamaged = $fpristine;
	my ($fpage) = grep {
		my ($next, $count, $type) = unpack('L S S', substr($fpristine, $_ * $blcksz + $special, 8));
		$type == 4 && $count > 0
	} 0 .. length($fpristine) / $blcksz - 1;
	substr($fdamaged, $fpage * $blcksz + $header + 32 * 6 + 32, 1) = pack('C', 0x80);
	open(my $fh, '>:raw', $ffile) or die;
	print $fh $fdamaged;
	close $fh;
	$node->start;
	like($node->safe_psql('postgres', "SELECT blkno || ': ' || problem FROM vqpq_index_check('fitems_idx')"),
		qr/^$fpage: list \d+: entry 0 has NULL flags 0x80, more than its 1 filter columns$/,
		'vqpq_index_check reports NULL flags past the filter columns');
	$node->stop;
	open($fh, '>:raw', $ffile) or die;
	print $fh $fpristine;
	close $fh;
	$node->start;
	is($node->safe_psql('postgres', "SELECT count(*) FROM vqpq_index_check('fitems_idx')"), '0',
		'and not once restored');
	$node->stop;
}
ok(!grep(/terminated by signal|PANIC/, slurp_file($node->logfile)), 'no server process crashed');
done_testing();
