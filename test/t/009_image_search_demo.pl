# The image-search demo (scripts/image_search.py, which scripts/demo.sh runs)
# end to end on a small subset: its report, and the PNG contact sheet it
# writes, whose frames must agree with the report (green = same label).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Compress::Zlib;
use VqpqTest;

plan skip_all => 'dataset-fashion-mnist is not installed' unless -d '/usr/share/datasets/fashion-mnist';

my $node = vqpq_node('demo');
my $png = PostgreSQL::Test::Utils::tempdir . '/sheet.png';
my ($out, $err) = ('', '');
local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';
my $ok = IPC::Run::run([ '/usr/bin/python3', 'scripts/image_search.py', '--train-rows', '3000',
	'--queries', '3', '--png', $png ], '>', \$out, '2>', \$err);
ok($ok, 'the demo runs') or diag $err;
note $out;

like($out, qr/loading Fashion-MNIST: 3,000 training images, 3 query images/, 'it loads the images');
like($out, qr/building the ivfpq index.*\n(.*\n)*\s+[\d.]+ s  done/, 'it builds the index and reports progress');
like($out, qr/3,000 rows in \d+ lists, \d+ sub-quantizers x [48] bits/, 'it describes the index');
my @rows = $out =~ /^  #(\d+) .*? +(\d+)\/10 +[\d.]+ +[\d.]+ +(\d+)\/10$/mg;
is(scalar(@rows), 9, 'it reports one search per query image');
like($out, qr/recall\@10 on 20 sampled rows at the default settings: [01]\.\d+/, 'it estimates recall');
is($node->safe_psql('postgres', 'SELECT count(*) FROM query_images'), '3', 'the query images are in the database');

# the PNG: signature, size, pixels
ok(-s $png, 'it writes the contact sheet');
my $data = slurp_file($png);
is(substr($data, 0, 8), "\x89PNG\r\n\x1a\n", 'the file is a PNG');
my ($width, $height, $depth, $colour) = unpack('N N C C', substr($data, 16, 10));
my ($cell, $gap) = (28 * 3 + 2 * 3, 6);
is($width, $gap + 11 * ($cell + $gap) + $gap, 'it is 11 images wide (query + 10 neighbours)');
is($height, $gap + 3 * ($cell + $gap), 'and 3 rows high');
is("$depth/$colour", '8/2', '8-bit RGB');
my $raw = uncompress(substr($data, index($data, 'IDAT') + 4, unpack('N', substr($data, index($data, 'IDAT') - 4, 4))));
is(length($raw), $height * (1 + 3 * $width), 'the pixel data has the declared size');

# frame colour of each cell, at its top-left corner
my $pixel = sub {
	my ($x, $y) = @_;
	return join(',', unpack('C3', substr($raw, $y * (1 + 3 * $width) + 1 + 3 * $x, 3)));
};
my $agree = 1;
for my $r (0 .. 2)
{
	my $top = $gap + $r * ($cell + $gap);
	$agree &&= $pixel->($gap, $top) eq '90,90,90';
	my $green = 0;
	for my $c (1 .. 10)
	{
		my $frame = $pixel->($gap + $c * ($cell + $gap) + $gap, $top);
		$green++ if $frame eq '40,160,60';
		$agree &&= ($frame eq '40,160,60' || $frame eq '200,40,40');
	}
	$agree &&= $green == $rows[ 3 * $r + 1 ];
	note "row $r: $green green frames, report says $rows[3 * $r + 1] of 10 share the label";
}
ok($agree, 'query frames are grey, and each row has as many green frames as neighbours with the same label');

$node->stop;
done_testing();
