# A build stops soon after it is asked to: pg_cancel_backend in each phase of
# CREATE INDEX (as pg_stat_progress_create_index names it), statement_timeout
# during the coarse quantizer's seeding, and a fast shutdown during it.  Each
# must end the build within half a second (the work between interrupt checks
# is tens of milliseconds), and the table must be unharmed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use VqpqTest;

my $node = vqpq_node('cancel');
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 0\nmaintenance_work_mem = '1GB'\n");
$node->reload;

# 40,000 rows of 192 uniform coordinates: with 3,000 lists, k-means++
# seeding alone is seconds of work; with 400 lists every phase is short
$node->safe_psql('postgres', q{
	SELECT setseed(0.5);
	CREATE TABLE items (id int, v pqvector(192));
	INSERT INTO items SELECT i, ARRAY(SELECT random() FROM generate_series(1, 192) WHERE i > 0)::real[]
	  FROM generate_series(1, 40000) i;
	VACUUM ANALYZE items;
});

# Wait (in the server, polling every millisecond) until the build is in the
# phase, then cancel it; returns the phase seen, or 'finished' if the build
# ended first (or 'no build seen' after a minute).
$node->safe_psql('postgres', q{
	CREATE FUNCTION cancel_in_phase(want text) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE
		p int;
		seen text;
		started boolean := false;
		give_up timestamptz := clock_timestamp() + interval '60 s';
	BEGIN
		LOOP
			IF clock_timestamp() > give_up THEN
				RETURN 'no build seen';
			END IF;
			PERFORM pg_stat_clear_snapshot();
			SELECT pid, phase INTO p, seen FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass;
			IF p IS NULL AND started THEN
				RETURN 'finished';
			END IF;
			started := started OR p IS NOT NULL;
			IF seen = 'building index: ' || want THEN
				PERFORM pg_cancel_backend(p);
				RETURN seen;
			END IF;
			PERFORM pg_sleep(0.001);
		END LOOP;
	END $$;
});

# Start the build in the background; returns the harness and its outputs.
sub start_build
{
	my ($options, $settings) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
		  '-c', "SET client_min_messages = error; $settings CREATE INDEX items_v ON items USING ivfpq (v) WITH ($options)" ],
		'>', \$out, '2>', \$err);
	return ($h, \$out, \$err);
}

my @phases = (
	[ 'training coarse quantizer', 'nlist = 3000' ],	# the k-means++ seeding
	[ 'sampling rows', 'nlist = 400' ],
	[ 'training coarse quantizer', 'nlist = 400' ],
	[ 'assigning sample to lists', 'nlist = 400' ],
	[ 'training product quantizer', 'nlist = 400' ],
	[ 'assigning and encoding rows', 'nlist = 400' ],
	[ 'writing index', 'nlist = 400' ],
);
for my $case (@phases)
{
	my ($phase, $options) = @$case;
	$node->safe_psql('postgres', 'DROP INDEX IF EXISTS items_v');
	my ($h, $out, $err) = start_build($options, '');
	my $seen = $node->safe_psql('postgres', "SELECT cancel_in_phase('$phase')");
	my $cancelled = time;
	$h->finish;
	my $took = time - $cancelled;
	note sprintf("cancel in '%s' (%s): saw '%s', the build stopped %.3f s later", $phase, $options, $seen, $took);
	is($seen, "building index: $phase", "the build reached '$phase' ($options)");
	like($$err, qr/canceling statement due to user request/, "cancelled in '$phase' ($options)");
	cmp_ok($took, '<', 0.5, "it stopped within half a second of the cancel ($options, '$phase')");
}

# a cancel while parallel workers share the training passes ends them too
{
	$node->safe_psql('postgres', 'DROP INDEX IF EXISTS items_v');
	my ($h, $out, $err) = start_build('nlist = 400', 'SET max_parallel_maintenance_workers = 1; SET client_min_messages = debug1;');
	my $seen = $node->safe_psql('postgres', "SELECT cancel_in_phase('training coarse quantizer')");
	my $cancelled = time;
	$h->finish;
	my $took = time - $cancelled;
	note sprintf("cancel in parallel training: saw '%s', the build stopped %.3f s later", $seen, $took);
	is($seen, 'building index: training coarse quantizer', 'a parallel build reached the training');
	like($$err, qr/training with 1 parallel workers/, 'with a worker');
	like($$err, qr/canceling statement due to user request/, 'and was cancelled');
	cmp_ok($took, '<', 0.5, 'within half a second');
	ok($node->poll_query_until('postgres',
			q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
		'and no parallel worker is left');
}

# statement_timeout ends the seeding too
{
	$node->safe_psql('postgres', 'DROP INDEX IF EXISTS items_v');
	my $start = time;
	my ($h, $out, $err) = start_build('nlist = 3000', "SET statement_timeout = '1s';");
	$h->finish;
	my $took = time - $start;
	note sprintf('statement_timeout of 1 s: the build stopped after %.3f s', $took);
	like($$err, qr/canceling statement due to statement timeout/, 'statement_timeout cancels the build');
	cmp_ok($took, '<', 1.5, 'within half a second of the timeout');
}

is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_v'"), '0',
	'no index is left behind');
is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '40000', 'the table is unharmed');

# a fast shutdown does not wait for the seeding to finish
{
	my ($h, $out, $err) = start_build('nlist = 3000', '');
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_progress_create_index WHERE phase = 'building index: training coarse quantizer'})
	  or die 'the build did not start';
	my $start = time;
	$node->stop('fast');
	my $took = time - $start;
	$h->finish;
	note sprintf('fast shutdown during seeding took %.3f s', $took);
	cmp_ok($took, '<', 1.5, 'a fast shutdown during the build takes under 1.5 s');
}
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '40000', 'after the restart the table is whole');
$node->stop;
done_testing();
