#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install packages, build and
# install vqpq, start a scratch server, then run the image-search demo
# (scripts/image_search.py): load the Fashion-MNIST clothing images (Debian
# package dataset-fashion-mnist) as pqvector(784) embeddings, build an ivfpq
# index with a progress report, search it for the images most like a few query
# images (timed, and checked against an exact search), and write a PNG
# contact sheet of the results.
#
#   bash scripts/demo.sh [--train-rows N] [--queries N] [--png FILE]
#   (VQPQ_KEEP_SERVER=1 leaves the server running)
set -euo pipefail
. "$(dirname "$0")/common.sh"

install_packages
build_and_install ""
SCRATCH_SERVER_OPTS="-c shared_buffers=256MB -c max_wal_size=2GB" start_scratch_server
if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then trap - EXIT; fi

png_default="$PWD/vqpq-demo.png"
/usr/bin/python3 "$VQPQ_ROOT/scripts/image_search.py" --png "$png_default" "$@"

if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then
	echo "server left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER psql"
fi
