# pqvector through logical replication: the apply worker parses each value
# with pqvector_in from its own buffers (an input function that wrote to its
# argument broke exactly this elsewhere), in the initial table copy and in
# streamed INSERT/UPDATE/DELETE.  The subscriber must end up with the same rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

my $schema = q{
	CREATE EXTENSION vqpq;
	CREATE TABLE items (id int PRIMARY KEY, v pqvector(3), w pqvector, note text);
};
$pub->safe_psql('postgres', $schema);
$sub->safe_psql('postgres', $schema);

# rows present before the subscription travel in the initial COPY
$pub->safe_psql('postgres', q{
	INSERT INTO items SELECT i, ARRAY[i, -i, i / 7.0]::real[], ARRAY[0.1 * i]::real[], 'initial'
	  FROM generate_series(1, 500) i;
	CREATE PUBLICATION pub FOR TABLE items;
});
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION \$\$" . $pub->connstr('postgres') . "\$\$ PUBLICATION pub");
$sub->wait_for_subscription_sync($pub, 'sub');

my $query = 'SELECT id, v, w, note FROM items ORDER BY id';
is($sub->safe_psql('postgres', $query), $pub->safe_psql('postgres', $query),
	'initial copy: subscriber has the same vectors');

# streamed changes, with literals in every spelling the parser accepts
$pub->safe_psql('postgres', q{
	INSERT INTO items VALUES
		(1001, '  [ 1 , 2 , 3 ]  ', '[1e-3]', 'spaces'),
		(1002, E'[\t-0,\n1.5e2,+.25]', '[3.4028235e38,-1.4e-45]', 'edges'),
		(1003, '[1,2,3]', NULL, 'null');
	UPDATE items SET v = v + '[1,1,1]', w = w || w WHERE id % 10 = 0;
	DELETE FROM items WHERE id % 7 = 0;
	INSERT INTO items SELECT 2000 + i, ARRAY[i, i, i]::real[], ('[' || repeat('0.5,', 999) || '0.5]')::pqvector, 'wide'
	  FROM generate_series(1, 20) i;
});
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $query), $pub->safe_psql('postgres', $query),
	'streamed inserts, updates and deletes: subscriber has the same vectors');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM items WHERE vector_dims(w) = 1000}), '20',
	'1000-dimension values arrive whole');
is($sub->safe_psql('postgres',
	q{SELECT v <-> '[0,0,0]', w FROM items WHERE id = 1002}),
	$pub->safe_psql('postgres', q{SELECT v <-> '[0,0,0]', w FROM items WHERE id = 1002}),
	'distances agree on both sides');

my $log = slurp_file($sub->logfile);
unlike($log, qr/ERROR:.*pqvector|server process .* was terminated/, 'the apply worker raised no pqvector error');

$sub->stop;
$pub->stop;
done_testing();
