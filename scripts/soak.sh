#!/usr/bin/env bash
# The soak test at any size, from a fresh Debian 12 machine: N clients of
# mixed INSERT, UPDATE of the vector, UPDATE of other columns (HOT), DELETE,
# plain and filtered searches that check their own answers, a VACUUM every
# 2 s and vqpq_index_check alongside, for T seconds, with a streaming
# replica; then the checks, an immediate shutdown during inserts, and the
# checks after recovery (test/t/010_ivfpq_soak.pl; CI runs it small).
#
#   bash scripts/soak.sh [--clients N] [--seconds T]     (default 16, 600)
#       [--shared-buffers SIZE]   (e.g. 2MB: the table outgrows it, so that
#                                  re-ranking prefetches heap pages)
#   PG_MAJOR=18 bash scripts/soak.sh ...                 (another server)
set -euo pipefail
. "$(dirname "$0")/common.sh"

clients=16
seconds=600
shared_buffers=
while [ $# -gt 0 ]; do
	case $1 in
		--clients) clients=$2; shift 2 ;;
		--seconds) seconds=$2; shift 2 ;;
		--shared-buffers) shared_buffers=$2; shift 2 ;;
		*) die "unknown option $1 (use --clients N, --seconds T, --shared-buffers SIZE)" ;;
	esac
done

install_packages
build_and_install ""

# the test writes into its tree as the server's user (see test.sh)
TEST_TREE=$VQPQ_ROOT
if [ "$(id -u)" -eq 0 ]; then
	TEST_TREE=$(mktemp -d /tmp/vqpq-soak.XXXXXX)
	tar -C "$VQPQ_ROOT" --exclude=.git -cf - . | tar -C "$TEST_TREE" -xf -
	chown -R "$(scratch_user)" "$TEST_TREE"
fi

log "soak: $clients clients for $seconds s on PostgreSQL $PG_MAJOR"
status=0
as_scratch_user env VQPQ_SOAK_CLIENTS="$clients" VQPQ_SOAK_SECONDS="$seconds" \
	VQPQ_SOAK_SHARED_BUFFERS="$shared_buffers" \
	make -C "$TEST_TREE" -s prove_installcheck PG_CONFIG="$PG_CONFIG" \
	PROVE_TESTS=test/t/010_ivfpq_soak.pl PROVE_FLAGS="--verbose" || status=$?
log "soak log: $TEST_TREE/tmp_check/log/regress_log_010_ivfpq_soak"
exit $status
