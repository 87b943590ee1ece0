# Fuzz the pqvector input functions: thousands of mutated text literals and
# binary wire messages.  Each input's fate is predicted by an oracle written
# here from the grammar (text) or the wire layout (binary); the server must
# agree, report every rejection as a clean error with an expected SQLSTATE
# that names the type, store exactly the given values, and stay up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{VQPQ_FUZZ_SEED} // 20261121;
srand($seed);
note "fuzz seed $seed (set VQPQ_FUZZ_SEED to reproduce another run)";

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vqpq');

# ---------------------------------------------------------------- text

sub random_number
{
	my @forms = (
		sub { int(rand(100)) },
		sub { sprintf('%.3f', rand(200) - 100) },
		sub { sprintf('%.6e', (rand(2) - 1) * 10**(int(rand(80)) - 40)) },
		sub { '.' . int(rand(1000)) },
		sub { int(rand(10)) . '.' },
		sub { '+' . int(rand(10)) },
		sub { sprintf('%de%d', int(rand(9)) + 1, int(rand(100)) - 50) },
	);
	return $forms[ int(rand(@forms)) ]->();
}

sub random_literal
{
	my $n = 1 + int(rand(12));
	my @sp = ('', '', '', ' ', "\t", "\n");
	my $sp = sub { $sp[ int(rand(@sp)) ] };
	return $sp->() . '[' . join(',', map { $sp->() . random_number() . $sp->() } 1 .. $n) . ']' . $sp->();
}

# No '$' (the literals are dollar-quoted below) and no 'x' (hex floats).
my @alphabet = split //, "[],.-+eE0123456789 \tnaifNIF;:()_{}\"'";

sub mutate
{
	my ($s) = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $pos = int(rand(length($s) + 1));
		my $op = int(rand(5));
		my $c = $alphabet[ int(rand(@alphabet)) ];
		if    ($op == 0) { substr($s, $pos, 0) = $c; }
		elsif ($op == 1) { substr($s, $pos, 1) = '' if $pos < length $s; }
		elsif ($op == 2) { substr($s, $pos, 1) = $c if $pos < length $s; }
		elsif ($op == 3) { $s = substr($s, 0, $pos); }
		else { substr($s, $pos, 0) = substr($s, $pos, 1 + int(rand(3))); }
	}
	return $s;
}

# The oracle: 'ok', 'error', or 'unsure' (a value at the edge of float4 range,
# where only the C library's rounding decides).
my $num_re = qr/[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

sub text_oracle
{
	my ($s) = @_;
	return 'error' unless $s =~ /^[ \t\n]*\[((?:[ \t\n]*$num_re[ \t\n]*,)*[ \t\n]*$num_re[ \t\n]*)\][ \t\n]*$/;
	my $verdict = 'ok';
	for my $elem (split /,/, $1)
	{
		$elem =~ s/^\s+|\s+$//g;
		my $v = abs($elem + 0);
		my $mantissa = $elem =~ s/[eE].*//r;
		next if $mantissa !~ /[1-9]/;    # a true zero, whatever the exponent
		return 'error' if $v > 3.5e38 || $v < 1e-46;    # also what double cannot hold
		$verdict = 'unsure' if $v > 3.4e38 || $v < 2e-45;
	}
	return $verdict;
}

my @literals;
for my $i (1 .. 3000)
{
	my $r = rand();
	my $lit =
		$r < 0.15 ? random_literal()
	  : $r < 0.95 ? mutate(random_literal())
	  : join('', map { $alphabet[ int(rand(@alphabet)) ] } 1 .. int(rand(12)));
	push @literals, $lit;
}

$node->safe_psql('postgres', 'CREATE TABLE lits (id int PRIMARY KEY, lit text)');
my $values = join(",\n", map { "($_, \$f\$$literals[$_]\$f\$)" } 0 .. $#literals);
$node->safe_psql('postgres', "INSERT INTO lits VALUES $values");

$node->safe_psql('postgres', q{
CREATE TABLE text_results AS SELECT id, NULL::text AS outcome, NULL::text AS sqlstate,
	NULL::text AS message, NULL::pqvector AS v FROM lits WHERE false;
DO $$
DECLARE
	r record;
	parsed pqvector;
BEGIN
	FOR r IN SELECT id, lit FROM lits ORDER BY id LOOP
		BEGIN
			parsed := r.lit::pqvector;
			INSERT INTO text_results VALUES (r.id, 'ok', NULL, NULL, parsed);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO text_results VALUES (r.id, 'error', SQLSTATE, SQLERRM, NULL);
		END;
	END LOOP;
END $$;
});

my %outcome = map { split /\|/ } split /\n/,
  $node->safe_psql('postgres', 'SELECT id, outcome FROM text_results');
is(scalar(keys %outcome), scalar(@literals), 'every text literal was tried');

my ($agree, $disagree, $unsure, $accepted) = (0, 0, 0, 0);
for my $i (0 .. $#literals)
{
	my $want = text_oracle($literals[$i]);
	$accepted++ if $outcome{$i} eq 'ok';
	if ($want eq 'unsure') { $unsure++; next; }
	if ($want eq $outcome{$i}) { $agree++; next; }
	$disagree++;
	diag "literal <$literals[$i]>: oracle says $want, server says $outcome{$i}" if $disagree <= 10;
}
note "text: $accepted of " . scalar(@literals) . " accepted, $unsure at the float4 edge";
is($disagree, 0, "server and grammar oracle agree on all $agree decidable literals");
cmp_ok($accepted, '>', 100, 'the fuzz mixes valid literals in');
cmp_ok(scalar(@literals) - $accepted, '>', 1000, 'and plenty of invalid ones');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM text_results
	 WHERE outcome = 'error' AND sqlstate NOT IN ('22P02', '22000', '22003', '54000')}),
	'0', 'text errors use only the expected SQLSTATEs');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM text_results WHERE outcome = 'error' AND message NOT LIKE '%pqvector%'}),
	'0', 'every text error message names the type');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM text_results WHERE outcome = 'ok'
	   AND (v::text::pqvector <> v OR v::text::pqvector::text <> v::text)}),
	'0', 'every accepted literal prints in a form that reads back to the same value');

# ---------------------------------------------------------------- binary

my @special = (0x7fc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001, 0x80000000);

sub random_message
{
	my $r = rand();
	if ($r < 0.1)    # raw noise
	{
		return pack('C*', map { int(rand(256)) } 1 .. int(rand(24)));
	}
	my @dims = (0, 1, 2, 3, 5, 8, 17, -1, -32768, 16000, 16001, 32767);
	my $dim = rand() < 0.5 ? 1 + int(rand(20)) : $dims[ int(rand(@dims)) ];
	my $unused = rand() < 0.9 ? 0 : 1 + int(rand(100));
	my $count = $dim > 0 && $dim <= 64 ? $dim : int(rand(8));
	$count += int(rand(3)) - 1 if rand() < 0.15;
	$count = 0 if $count < 0;
	my @bits = map {
		rand() < 0.05
		  ? $special[ int(rand(@special)) ]
		  : unpack('N', pack('f>', (rand(2) - 1) * 10**(int(rand(20)) - 10)))
	} 1 .. $count;
	my $msg = pack('s> s> N*', $dim, $unused, @bits);
	$msg = substr($msg, 0, int(rand(length $msg))) if rand() < 0.05;
	return $msg;
}

# The oracle for a wire message: the elements it holds if valid, else undef.
sub binary_oracle
{
	my ($msg) = @_;
	return undef if length($msg) < 4;
	my ($dim, $unused) = unpack('s> s>', $msg);
	return undef if $dim < 1 || $dim > 16000 || $unused != 0;
	return undef if length($msg) != 4 + 4 * $dim;
	my @bits = unpack('N*', substr($msg, 4));
	for my $b (@bits)
	{
		return undef if ($b & 0x7f800000) == 0x7f800000;    # NaN or infinity
	}
	return [ map { unpack('f>', pack('N', $_)) } @bits ];
}

my @messages = map { random_message() } 1 .. 1000;
my $tmp = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', 'CREATE TABLE msgs (id int PRIMARY KEY, b bytea); CREATE TABLE vec (v pqvector)');
$values = join(",\n", map { "($_, '\\x" . unpack('H*', $messages[$_]) . "')" } 0 .. $#messages);
$node->safe_psql('postgres', "INSERT INTO msgs VALUES $values");

# A bytea field copied out in binary carries exactly its bytes; copied back
# into a pqvector column, those bytes go to pqvector_recv.
$node->safe_psql('postgres', qq{
CREATE TABLE bin_results (id int, outcome text, sqlstate text, message text, v pqvector);
DO \$\$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT id FROM msgs ORDER BY id LOOP
		BEGIN
			TRUNCATE vec;
			EXECUTE format('COPY (SELECT b FROM msgs WHERE id = %s) TO %L (FORMAT binary)', r.id, '$tmp/msg.bin');
			COPY vec FROM '$tmp/msg.bin' (FORMAT binary);
			INSERT INTO bin_results SELECT r.id, 'ok', NULL, NULL, v FROM vec;
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO bin_results VALUES (r.id, 'error', SQLSTATE, SQLERRM, NULL);
		END;
	END LOOP;
END \$\$;
});

my %bin = map { my ($id, $outcome, $elems) = split /\|/; ($id => [ $outcome, $elems ]) } split /\n/,
  $node->safe_psql('postgres', q{SELECT id, outcome, coalesce(v::real[]::text, '') FROM bin_results});
is(scalar(keys %bin), scalar(@messages), 'every binary message was tried');

($agree, $disagree, $accepted) = (0, 0, 0);
my $wrong_values = 0;
for my $i (0 .. $#messages)
{
	my $want = binary_oracle($messages[$i]);
	my ($outcome, $elems) = @{ $bin{$i} };
	$accepted++ if $outcome eq 'ok';
	if (defined($want) != ($outcome eq 'ok'))
	{
		$disagree++;
		diag sprintf('message %s: oracle says %s, server says %s',
			unpack('H*', $messages[$i]), defined($want) ? 'ok' : 'error', $outcome)
		  if $disagree <= 10;
		next;
	}
	$agree++;
	next unless defined $want;
	# 9 significant digits name a float4 exactly: compare element by element
	my $got = $node->safe_psql('postgres',
		"SELECT '$elems'::real[] = '{" . join(',', map { sprintf('%.9g', $_) } @$want) . "}'::real[]")
	  if @$want <= 64;
	$wrong_values++ if defined $got && $got ne 't';
}
note "binary: $accepted of " . scalar(@messages) . ' accepted';
is($disagree, 0, "server and wire-format oracle agree on all $agree messages");
is($wrong_values, 0, 'accepted messages are stored with exactly the values sent');
cmp_ok($accepted, '>', 100, 'the binary fuzz mixes valid messages in');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM bin_results WHERE outcome = 'error'
	   AND sqlstate NOT IN ('22P03', '22000', '54000', '08P01')}),
	'0', 'binary errors use only the expected SQLSTATEs');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM bin_results WHERE outcome = 'error' AND message NOT LIKE '%pqvector%'
	   AND message NOT IN ('insufficient data left in message', 'incorrect binary data format')}),
	'0', 'binary errors name the type, or are the protocol layer\'s own');

# ---------------------------------------------------------------- still alive

is($node->safe_psql('postgres', q{SELECT '[1,2]'::pqvector <-> '[4,6]'}), '5', 'the server still answers');
my $log = slurp_file($node->logfile);
unlike($log, qr/server process .* was terminated|PANIC/, 'no backend crashed');

$node->stop;
done_testing();
