# The photo demo (scripts/photo_search.py, which scripts/photo_demo.sh runs)
# end to end on five photos (Debian package palapeli-data) and edited copies
# of two: real MobileNetV2 embeddings (demo/photos, Node.js), loaded as
# pqvector(1280), an ivfpq index, near-duplicate and similar-photo searches
# checked against exact ones, a query file of our own, and the contact sheet,
# whose frames must be those the report gives.  Also runs demo/photos' own
# tests (node --test).  Skips when Node.js, the npm packages or the photos are
# not installed (bash scripts/test.sh installs them).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use File::Copy;
use VqpqTest;

my $photos = '/usr/share/palapeli/collection';
my ($node_version) = (`node --version 2>/dev/null` // '') =~ /^v(\d+\.\d+)/;
plan skip_all => 'Node.js 20.9 or later is not installed'
  unless $node_version && sprintf('%d.%03d', split /\./, $node_version) >= 20.009;
my $missing = `node -e "const {need} = require('./demo/photos/modules'); try { for (const p of ['sharp', 'nsfwjs', '\@tensorflow/tfjs', '\@tensorflow/tfjs-backend-wasm']) need(p) } catch (e) { console.log(e.message); process.exit(1) }" 2>&1`;
chomp $missing;
plan skip_all => "the photo demo's npm packages are not installed: $missing" if $?;
plan skip_all => "palapeli-data is not installed (no $photos)" unless -d $photos;

# demo/photos' own tests: the embedder is deterministic, the edits and sheet work
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'node', '--test', 'demo/photos/test/' ], '>', \$out, '2>&1');
ok($ok, 'demo/photos: node --test passes') or diag $out;
like($out, qr/^# fail 0$/m, 'with no failures');

my $node = vqpq_node('photos');
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($png, $json) = ("$dir/sheet.png", "$dir/report.json");
# a query of our own: one of the photos, under another name and outside the set
copy("$photos/citrus-fruits.jpg", "$dir/my photo.jpg") or die "copy: $!";
local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';
($out, $err) = ('', '');
$ok = IPC::Run::run([ '/usr/bin/python3', 'scripts/photo_search.py', '--set', 'ci', '--edited', '2',
	'--queries', '2', '--query', "$dir/my photo.jpg", '--work', "$dir/work", '--png', $png, '--json', $json ],
	'>', \$out, '2>', \$err);
ok($ok, 'the demo runs') or diag $err;
note $out;

like($out, qr/palapeli-data 5; 10 edited copies/, 'it takes the five photos and makes five edits of two');
like($out, qr/15 vectors of 1,280 dimensions/, 'it embeds them all');
like($out, qr/building the ivfpq index.*\n(.*\n)*\s+[\d.]+ s  done/, 'it builds the index and reports progress');
like($out, qr/15 rows in \d+ lists, \d+ sub-quantizers x [48] bits/, 'it describes the index');
like($out, qr/plan: .*Index Scan using photos_embedding_idx/, 'its searches go through the index');
like($out, qr/^  $_ +2 +\d\/2 /m, "it reports the near-duplicate search for $_ copies")
  for qw(crop flip bright jpeg resize);
like($out, qr/\[\(your file\)\]  index [\d.]+ ms, exact [\d.]+ ms, recall\@10 [01]\.\d\d/,
	'it searches with the file named by --query');
like($out, qr/recall\@10 of the index against exact search: [01]\.\d{3} over the 13 searches/, 'it measures recall');

my $report = decode_json(slurp_file($json));
is($report->{rows}, 15, 'report: 15 rows');
is($node->safe_psql('postgres', 'SELECT count(*), count(original), count(DISTINCT vector_dims(embedding)) FROM photos'),
	'15|10|1', 'the photos and their copies are in the database, all of 1,280 dimensions');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vqpq_index_check('photos_embedding_idx')}), '0',
	'the index is sound');
# the near-duplicates the network must find: a mirror image and a JPEG
# re-compression of a photo are nearer to it than any other of the five
for my $kind (qw(flip jpeg))
{
	is($report->{near_duplicates}{$kind}{original_first}, 1, "every $kind copy finds its original first");
}
cmp_ok($report->{recall_at_10}, '>=', 0.9, 'the index finds (nearly) what the exact search finds');
# the query file is a copy of citrus-fruits.jpg: its nearest photo is that one, at distance 0
like($out, qr/\(your file\).*\n +1\. -?0\.000  citrus-fruits\.jpg /, 'a copy of a photo finds the photo first, at distance 0');

# the sheet: 3 rows (2 photos of the set, the query file) of 11 cells, framed as the report says
ok(-s $png, 'it writes the contact sheet');
is(substr(slurp_file($png), 0, 8), "\x89PNG\r\n\x1a\n", 'the file is a PNG');
my ($cell, $gap) = (128, 8);
is_deeply($report->{png}, [ $gap + 11 * ($cell + $gap) + $gap, $gap + 3 * ($cell + $gap) ],
	'it is 11 photos wide and 3 high');
my @points;
for my $r (0 .. $#{ $report->{sheet} })
{
	for my $c (0 .. $#{ $report->{sheet}[$r] })
	{
		push @points, [ $gap + $c * ($cell + $gap) + ($c ? $gap : 0) + 1, $gap + $r * ($cell + $gap) + 1 ];
	}
}
my $script = q{
	const sharp = require('./demo/photos/modules').need('sharp');
	const [file, points] = [process.argv[1], JSON.parse(process.argv[2])];
	sharp(file).raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => {
		console.log(JSON.stringify(points.map(([x, y]) => Array.from(data.subarray(
			info.channels * (y * info.width + x), info.channels * (y * info.width + x) + 3)))));
	});
};
my $pixels = '';
IPC::Run::run([ 'node', '-e', $script, $png, encode_json(\@points) ], '>', \$pixels) or die "reading $png failed";
my $seen = decode_json($pixels);
is_deeply($seen, [ map { @$_ } @{ $report->{sheet} } ], 'each cell is framed in the colour the report gave it');
is_deeply([ map { $_->[0] } @{ $report->{sheet} } ], [ ([ 90, 90, 90 ]) x 3 ], 'query photos are framed grey');
# (its shrunk copy may rank below the other photos' near-identical copies)
ok((grep { $_->[0] == 40 && $_->[1] == 160 } @{ $report->{sheet}[0] }) >= 4,
	'the first query photo finds (at least four of) its five copies (green)');

$node->stop;
done_testing();
