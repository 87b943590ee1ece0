#!/usr/bin/env bash
# Re-ranking's heap prefetch, on and off: Fashion-MNIST (PLAIN storage,
# a 234 MB heap) on a scratch server whose shared_buffers (32MB) hold
# a fraction of it, queried at the index's defaults with
# effective_io_concurrency 0 (no prefetch), 1 (the default) and 16, each
# from a cold start (server restarted, the OS page cache dropped: needs
# root) and warm (server restarted, the table in the OS cache).  Each round
# runs the settings in another order, so that the machine's drift falls on
# all alike; it prints each run and the medians.
#
#   bash bench/prefetch_bench.sh [ROUNDS (3)] [QUERIES (300)]
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

rounds=${1:-3}
queries=${2:-300}
settings="0 1 16"

install_packages
build_and_install ""
server_opts="-c shared_buffers=32MB -c jit=off"
SCRATCH_SERVER_OPTS=$server_opts start_scratch_server

log "loading Fashion-MNIST (60,000 rows, PLAIN) and building the index"
data=$(mktemp -d /tmp/vqpq-prefetch.XXXXXX)
chmod 755 "$data"
/usr/bin/python3 "$VQPQ_ROOT/scripts/fashion_mnist.py" train > "$data/train.tsv"
/usr/bin/python3 "$VQPQ_ROOT/scripts/fashion_mnist.py" test --limit "$queries" > "$data/test.tsv"
as_scratch_user psql -X -q -v ON_ERROR_STOP=1 <<EOF
CREATE EXTENSION vqpq;
CREATE TABLE images (id int PRIMARY KEY, label int, embedding pqvector(784));
ALTER TABLE images ALTER COLUMN embedding SET STORAGE PLAIN;
CREATE TABLE queries (id int PRIMARY KEY, label int, embedding pqvector(784));
COPY images FROM '$data/train.tsv';
COPY queries FROM '$data/test.tsv';
VACUUM ANALYZE images, queries;
CREATE INDEX images_idx ON images USING ivfpq (embedding);
EOF
rm -rf "$data"
as_scratch_user psql -X -At -c "SELECT 'heap ' || pg_size_pretty(pg_relation_size('images')) || ', index ' ||
	pg_size_pretty(pg_relation_size('images_idx')) || ', shared_buffers ' || current_setting('shared_buffers')"

drop_os_cache() {
	sync
	as_root sh -c 'echo 1 > /proc/sys/vm/drop_caches' 2>/dev/null
}
cold=cold
if ! drop_os_cache; then
	echo "cannot drop the OS page cache here (needs root): warm runs only"
	cold=
fi

# Stop the server, drop the OS cache if asked to, start it again as
# start_scratch_server did: nothing of the table is left in shared buffers
restart_server() {
	as_scratch_user pg_ctl -D "$SCRATCH_DIR/data" -m fast -w stop >/dev/null
	[ "$1" = cold ] && drop_os_cache
	as_scratch_user pg_ctl -D "$SCRATCH_DIR/data" -l "$SCRATCH_DIR/server.log" -w \
		-o "-p $PGPORT -k $SCRATCH_DIR -c listen_addresses='' -c fsync=off $server_opts" start >/dev/null
}

# ms per query over the queries, in one session
run() {
	local eic=$1
	as_scratch_user psql -X -At -q -v ON_ERROR_STOP=1 <<EOF
SET enable_seqscan = off;
SET effective_io_concurrency = $eic;
CREATE TEMP TABLE qs AS SELECT id, embedding FROM queries;
DO \$\$
DECLARE q record; t0 timestamptz; dummy int;
BEGIN
	t0 := clock_timestamp();
	FOR q IN SELECT embedding FROM qs ORDER BY id LOOP
		FOR dummy IN SELECT id FROM images ORDER BY embedding <-> q.embedding LIMIT 10 LOOP END LOOP;
	END LOOP;
	PERFORM set_config('vqpq_bench.ms', (extract(epoch FROM clock_timestamp() - t0) * 1000 / $queries)::text, false);
END \$\$;
SELECT round(current_setting('vqpq_bench.ms')::numeric, 3);
EOF
}

results=$(mktemp)
for round in $(seq 1 "$rounds"); do
	for mode in $cold warm; do
		# each round starts the settings from another one
		for eic in $(echo $settings | awk -v r="$round" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }'); do
			restart_server "$mode"
			# warm: the table read once, into the OS cache (shared buffers hold 32MB of it)
			[ "$mode" = warm ] && as_scratch_user psql -X -q -c "SELECT count(*) FROM images" >/dev/null
			ms=$(run "$eic")
			echo "round $round, $mode, effective_io_concurrency $eic: $ms ms per query"
			echo "$mode $eic $ms" >> "$results"
		done
	done
done

log "medians over $rounds rounds of $queries queries (ms per query)"
for mode in $cold warm; do
	for eic in $settings; do
		printf '%s, effective_io_concurrency %s: %s\n' "$mode" "$eic" \
			"$(awk -v m="$mode" -v e="$eic" '$1 == m && $2 == e { print $3 }' "$results" | sort -n |
				awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
	done
done
rm -f "$results"
