#!/usr/bin/env bash
# Run bench/vector_bench.py on a scratch server: vqpq, exact scan, Faiss, and
# pgvector when it can be had for this PostgreSQL (ensure_pgvector builds
# Debian's source package of it, with its default -march=native, once into the
# cache; this project ships none of it).  A named dataset is fetched into the
# cache first (scripts/datasets.sh).  Options go to the Python script:
#
#   data      --dataset fashion-mnist (default, L2) | glove-100 (cosine) |
#             sift-100k (L2) | sift-photos (L2) | synthetic:N:D[:clusters] |
#             FILE.fvecs --query-file FILE.fvecs | FILE.hdf5
#             --rows N        a fixed-seed sample of N base rows, or N
#                             synthetic rows (streamed: 10M x 128 is fine)
#             --queries N (200)   --metric l2|cosine (default: the dataset's)
#   engines   --engines exact,vqpq,vqpq_vector,hnsw,ivfflat,faiss   --no-faiss
#             (vqpq_vector: the same ivfpq index on pgvector's vector column;
#             its QPS against the pqvector column's at the same settings is
#             measured in alternating runs)
#             --vqpq-index 'WITH options' (repeat for several indexes)
#   builds    --build-memory 4GB (maintenance_work_mem of every build)
#             --build-workers 0,1 (vqpq built once per worker count; time and
#                             peak backend memory of each are reported)
#   sweeps    --stop-recall 0.995 (a direction stops there)
#             --reranks 25,50,100,200,400,800 (vqpq.rerank; nprobe doubles
#                             from 1 to nlist; HNSW ef_search 10..1000;
#                             IVFFlat probes 1..lists)
#             --clients 1,4   --seconds 5 (per QPS measurement)
#             --protocol simple|prepared (pgbench -M)
#             --cold [--cold-seconds 10]  also QPS x1 from a cold cache at
#                             each index's best settings for recall 0.95 and
#                             0.99 (server restarted, the table's and index
#                             files dropped from the OS cache by
#                             posix_fadvise: nothing else on the machine)
#   storage   --storage auto (plain when a row fits a page) | default (the
#             types' own EXTERNAL: vectors over ~2 kB in TOAST) | plain |
#             main | external | extended | both (plain, then default)
#   filtered  --filtered [only]  WHERE category = c at 10%, 1% and 0.1%
#             --filter-kinds random,near[,far]   --filtered-queries 100
#             --filtered-reranks 100,500,2500  --filtered-max-probes 0,nlist/8
#             --filtered-clients 1
#   output    --out bench/results (results.md, results.jsonl, recall_qps*.png)
#
# Examples:
#   bash bench/vector_bench.sh --dataset glove-100 --storage both --filtered
#   bash bench/vector_bench.sh --dataset synthetic:0:128 --rows 10000000 \
#       --engines vqpq,ivfflat --build-memory 1GB --build-workers 0,1
#
# VQPQ_BENCH_PRIVATE=1 installs vqpq into a private copy of the server's
# directories instead of the server itself, so that a benchmark leaves alone
# the installation other tests on this machine are using.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"
. "$VQPQ_ROOT/scripts/datasets.sh"

# the --dataset value, when it is one that scripts/datasets.sh fetches
dataset_arg() {
	local prev=
	for a in "$@"; do
		case $a in --dataset=*) echo "${a#--dataset=}"; return ;; esac
		[ "$prev" = --dataset ] && { echo "$a"; return; }
		prev=$a
	done
}

# A copy of the server's program, library, share and header directories
# under a scratch prefix, at the same relative places (PostgreSQL finds them
# relative to its programs); sets PG_BIN and PG_CONFIG to the copy's.
private_server() {
	local prefix dir bindir
	prefix=$(mktemp -d /tmp/vqpq-bench-inst.XXXXXX)
	bindir=$("$PG_CONFIG" --bindir)
	for dir in "$("$PG_CONFIG" --bindir)" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)" \
		"$("$PG_CONFIG" --includedir-server)" "$("$PG_CONFIG" --includedir)/internal"; do
		[ -d "$dir" ] || continue
		mkdir -p "$prefix$(dirname "$dir")"
		cp -a "$dir" "$prefix$dir"
	done
	chmod -R a+rX "$prefix"
	PG_BIN=$prefix$bindir
	PG_CONFIG=$PG_BIN/pg_config
	BENCH_PREFIX=$prefix
	log "private copy of the server in $prefix"
}

install_packages
pgv_apt_install python3-faiss python3-numpy python3-matplotlib
dataset=$(dataset_arg "$@")
if [ -n "$dataset" ] && is_known_dataset "$dataset"; then
	ensure_dataset "$dataset"
fi
( ensure_pgvector "$PG_MAJOR" ) || echo "pgvector: not to be had for PostgreSQL $PG_MAJOR; the benchmark goes without it"
BENCH_PREFIX=
if [ -n "${VQPQ_BENCH_PRIVATE:-}" ]; then
	PG_CONFIG=$PG_BIN/pg_config
	private_server
fi
build_and_install ""
SCRATCH_SERVER_OPTS="-c shared_buffers=1GB -c max_wal_size=4GB -c jit=off" start_scratch_server
[ -n "$BENCH_PREFIX" ] && trap 'stop_scratch_server; rm -rf "$BENCH_PREFIX"' EXIT
cd "$VQPQ_ROOT"
PATH="$PG_BIN:$PATH" /usr/bin/python3 bench/vector_bench.py --datasets-dir "$VQPQ_DATASETS" "$@"
