#!/usr/bin/env bash
# Run bench/vector_bench.py on a scratch server: vqpq, exact scan, Faiss, and
# pgvector when it can be had for this PostgreSQL (ensure_pgvector builds
# Debian's source package of it, with its default -march=native, once into the
# cache; this project ships none of it).  Options go to the Python script, e.g.:
#
#   bash bench/vector_bench.sh --dataset fashion-mnist --queries 200
#   bash bench/vector_bench.sh --dataset synthetic:1000000:128 --queries 500
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

install_packages
missing=()
for p in python3-faiss python3-numpy python3-matplotlib; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
( ensure_pgvector "$PG_MAJOR" ) || echo "pgvector: not to be had for PostgreSQL $PG_MAJOR; the benchmark goes without it"
build_and_install ""
SCRATCH_SERVER_OPTS="-c shared_buffers=1GB -c max_wal_size=4GB -c jit=off" start_scratch_server
cd "$VQPQ_ROOT"
/usr/bin/python3 bench/vector_bench.py "$@"
