#!/usr/bin/env bash
# Recall@10 of vqpq's ivfpq index against Faiss IndexIVFPQ (Debian's
# python3-faiss) on Fashion-MNIST, at the same nlist, m, nbits and nprobe,
# in one run on a scratch server.  Options go to bench/faiss_compare.py:
#
#   bash bench/faiss_compare.sh [--queries 1000] [--nprobe 1,4,10,16,32] ...
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

install_packages
if ! dpkg-query -W -f='${Status}' python3-faiss 2>/dev/null | grep -q 'install ok installed'; then
	log "installing python3-faiss"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-faiss python3-numpy >/dev/null
fi
build_and_install ""
SCRATCH_SERVER_OPTS="-c shared_buffers=256MB -c max_wal_size=2GB" start_scratch_server
log "comparing with Faiss (the exact ground truth takes a moment)"
as_scratch_user /usr/bin/python3 "$VQPQ_ROOT/bench/faiss_compare.py" "$@"
