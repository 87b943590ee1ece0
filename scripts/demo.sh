#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install packages, build and
# install vqpq, start a scratch server, load the Fashion-MNIST clothing images
# (Debian package dataset-fashion-mnist) as pqvector(784) embeddings, and run
# "photo in, similar photos out" searches, printing what they find.
#
#   bash scripts/demo.sh            (VQPQ_KEEP_SERVER=1 leaves the server running)
set -euo pipefail
. "$(dirname "$0")/common.sh"

QUERIES=${VQPQ_DEMO_QUERIES:-5}

install_packages
build_and_install ""
start_scratch_server
if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then trap - EXIT; fi
PSQL=(as_scratch_user psql -X -q -v ON_ERROR_STOP=1)

log "loading Fashion-MNIST: 60,000 training images and $QUERIES query images"
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION vqpq;
CREATE TABLE labels (label int PRIMARY KEY, name text);
INSERT INTO labels VALUES (0, 'T-shirt/top'), (1, 'Trouser'), (2, 'Pullover'), (3, 'Dress'),
	(4, 'Coat'), (5, 'Sandal'), (6, 'Shirt'), (7, 'Sneaker'), (8, 'Bag'), (9, 'Ankle boot');
CREATE TABLE images (id int PRIMARY KEY, label int NOT NULL, embedding pqvector(784) NOT NULL);
CREATE TABLE queries (id int PRIMARY KEY, label int NOT NULL, embedding pqvector(784) NOT NULL);
SQL
start=$(date +%s.%N)
/usr/bin/python3 "$VQPQ_ROOT/scripts/fashion_mnist.py" train |
	"${PSQL[@]}" -c '\copy images FROM STDIN'
/usr/bin/python3 "$VQPQ_ROOT/scripts/fashion_mnist.py" test --limit "$QUERIES" |
	"${PSQL[@]}" -c '\copy queries FROM STDIN'
"${PSQL[@]}" -c 'VACUUM ANALYZE images'
printf 'loaded in %.1f s: ' "$(echo "$(date +%s.%N) - $start" | awk '{print $1 - $3}')"
"${PSQL[@]}" -At -c "SELECT count(*) || ' images, ' || pg_size_pretty(pg_total_relation_size('images')) FROM images"

log "searching: the 10 most similar training images to each query image (exact L2 search)"
"${PSQL[@]}" <<'SQL'
CREATE TEMP TABLE hits (query int, rank int, id int, label int, distance float8);
CREATE TEMP TABLE timings (query int, ms float8);
DO $$
DECLARE
	q record;
	t0 timestamptz;
BEGIN
	FOR q IN SELECT * FROM queries ORDER BY id LOOP
		t0 := clock_timestamp();
		INSERT INTO hits
			SELECT q.id, row_number() OVER (ORDER BY d), id, label, d
			  FROM (SELECT id, label, embedding <-> q.embedding AS d
					  FROM images ORDER BY embedding <-> q.embedding LIMIT 10) nearest;
		INSERT INTO timings VALUES (q.id, 1000 * extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
END $$;
\pset footer off
SELECT format('query image #%s (%s)', q.id, ql.name) AS query,
	   string_agg(format('%s %s', l.name, round(h.distance::numeric)), ', ' ORDER BY h.rank) AS "nearest 10 (label distance)",
	   format('%s/10', count(*) FILTER (WHERE h.label = q.label)) AS "same label",
	   round(t.ms::numeric, 1) AS ms
  FROM queries q JOIN labels ql ON ql.label = q.label
  JOIN hits h ON h.query = q.id JOIN labels l ON l.label = h.label
  JOIN timings t ON t.query = q.id
 GROUP BY q.id, ql.name, t.ms ORDER BY q.id;
SQL

log "1,000 test images classified by the nearest class mean: avg(embedding) per label"
/usr/bin/python3 "$VQPQ_ROOT/scripts/fashion_mnist.py" test --limit 1000 |
	"${PSQL[@]}" -c 'CREATE TABLE test_images (LIKE queries)' -c '\copy test_images FROM STDIN'
"${PSQL[@]}" <<'SQL'
\pset footer off
WITH means AS (SELECT label, avg(embedding) AS mean FROM images GROUP BY label),
guess AS (
	SELECT t.id, t.label, (SELECT m.label FROM means m ORDER BY m.mean <-> t.embedding LIMIT 1) AS guessed
	  FROM test_images t)
SELECT count(*) AS "test images", round(100.0 * avg((label = guessed)::int), 1) AS "accuracy %"
  FROM guess;
SQL
if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then
	echo "server left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER psql"
fi
