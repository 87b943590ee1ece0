#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install packages, build and
# install vqpq, start a scratch server, load the Fashion-MNIST clothing images
# (Debian package dataset-fashion-mnist) as pqvector(784) embeddings, build
# an ivfpq index, and run "photo in, similar photos out" searches through it,
# printing what they find, how fast, and whether it matches an exact search.
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

log "building the ivfpq index (IVF-PQ: k-means lists + product-quantized codes)"
"${PSQL[@]}" <<'SQL'
\timing on
CREATE INDEX images_embedding_idx ON images USING ivfpq (embedding);
\timing off
SELECT pg_size_pretty(pg_relation_size('images_embedding_idx')) AS "index size",
       pg_size_pretty(sum(pg_column_size(embedding))) AS "vector data",
       round(sum(pg_column_size(embedding)) / pg_relation_size('images_embedding_idx')::numeric, 1) AS "times smaller"
  FROM images;
SQL

log "photo in, similar photos out: the 10 nearest training images to each query image, through the index"
"${PSQL[@]}" <<'SQL'
CREATE TEMP TABLE hits (query int, rank int, id int, label int, distance float8);
CREATE TEMP TABLE timings (query int, ms float8, exact_ms float8, same_as_exact int);
DO $$
DECLARE
	q record;
	t0 timestamptz;
	ms float8;
	found int[];
	exact int[];
BEGIN
	FOR q IN SELECT * FROM queries ORDER BY id LOOP
		t0 := clock_timestamp();
		INSERT INTO hits
			SELECT q.id, row_number() OVER (ORDER BY d), id, label, d
			  FROM (SELECT id, label, embedding <-> q.embedding AS d
					  FROM images ORDER BY embedding <-> q.embedding LIMIT 10) nearest;
		ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
		found := ARRAY(SELECT id FROM hits WHERE query = q.id);
		-- the same search without the index, for comparison
		SET LOCAL enable_indexscan = off;
		t0 := clock_timestamp();
		exact := ARRAY(SELECT id FROM images ORDER BY embedding <-> q.embedding LIMIT 10);
		INSERT INTO timings VALUES (q.id, ms, 1000 * extract(epoch FROM clock_timestamp() - t0),
									(SELECT count(*) FROM unnest(found) f WHERE f = ANY (exact)));
		SET LOCAL enable_indexscan = on;
	END LOOP;
END $$;
\pset footer off
SELECT format('query image #%s (%s)', q.id, ql.name) AS query,
	   string_agg(format('%s %s', l.name, round(h.distance::numeric)), ', ' ORDER BY h.rank) AS "nearest 10 (label distance)",
	   format('%s/10', count(*) FILTER (WHERE h.label = q.label)) AS "same label",
	   round(t.ms::numeric, 1) AS "index ms",
	   round(t.exact_ms::numeric, 1) AS "exact scan ms",
	   format('%s/10', t.same_as_exact) AS "same as exact"
  FROM queries q JOIN labels ql ON ql.label = q.label
  JOIN hits h ON h.query = q.id JOIN labels l ON l.label = h.label
  JOIN timings t ON t.query = q.id
 GROUP BY q.id, ql.name, t.ms, t.exact_ms, t.same_as_exact ORDER BY q.id;
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
