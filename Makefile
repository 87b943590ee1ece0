# vqpq: built with PGXS against the server found by pg_config.
#
#   make && make install        build and install into that server
#   make installcheck           pg_regress suites in sql/ (needs a running server)
#   make pgtap_installcheck     pgTAP catalog suites in test/pgtap (needs pgTAP)
#   make prove_installcheck     TAP cluster tests in test/t (starts its own servers)
#   make unitcheck              kernel unit tests (no server)
#   make bench-distance         kernel micro-benchmark
#   make bench-fastscan         PQ code scoring micro-benchmark
#   make bench-blas             k-means blocks against OpenBLAS (needs libopenblas-dev)
#
# Add compiler flags with COPT (CI uses COPT=-Werror).

# vqpq itself, and vqpq_pgvector (needs pgvector): ivfpq on vector and halfvec
EXTENSION = vqpq vqpq_pgvector
EXTVERSION = 0.3.0

MODULE_big = vqpq
OBJS = \
	src/vqpq.o \
	src/distance.o \
	src/fastscan.o \
	src/half.o \
	src/pqvector.o \
	src/pqvector_ops.o \
	src/pqvector_agg.o \
	src/kmeans.o \
	src/pq.o \
	src/ivfpq.o \
	src/ivfpq_build.o \
	src/ivfpq_build_encode.o \
	src/ivfpq_build_parallel.o \
	src/ivfpq_build_plan.o \
	src/ivfpq_build_sample.o \
	src/ivfpq_build_train.o \
	src/ivfpq_build_train_parallel.o \
	src/ivfpq_build_write.o \
	src/ivfpq_cache.o \
	src/ivfpq_check.o \
	src/ivfpq_entries.o \
	src/ivfpq_fetch.o \
	src/ivfpq_filter.o \
	src/ivfpq_info.o \
	src/ivfpq_insert.o \
	src/ivfpq_pages.o \
	src/ivfpq_recall.o \
	src/ivfpq_scan.o \
	src/ivfpq_calibration.o \
	src/ivfpq_score.o \
	src/ivfpq_vacuum.o \
	src/ivfpq_values.o \
	src/pgvector_casts.o

# the current release's script, and every earlier release's with the
# scripts that update it, so ALTER EXTENSION vqpq UPDATE works from each
DATA = vqpq--$(EXTVERSION).sql vqpq--0.2.0.sql vqpq--0.2.0--0.3.0.sql \
	vqpq--0.1.0.sql vqpq--0.1.0--0.2.0.sql \
	vqpq_pgvector--0.2.0.sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=vqpq

EXTRA_CLEAN = test/unit/test_distance test/unit/test_quantizers test/unit/test_fastscan test/unit/test_half bench/distance_bench bench/fastscan_bench bench/blas_compare tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object is rebuilt when a header changes (PGXS tracks no headers
# unless the server was configured with --enable-depend)
$(OBJS): $(wildcard src/*.h)

# The kernels are plain C: build them for the host without the server.
KERNEL_CFLAGS = -O2 -g -Wall -Wextra $(COPT) -Isrc

test/unit/test_distance: test/unit/test_distance.c src/distance.c src/distance.h
	$(CC) $(KERNEL_CFLAGS) -o $@ test/unit/test_distance.c src/distance.c -lm

QUANTIZER_SOURCES = src/distance.c src/kmeans.c src/pq.c
test/unit/test_quantizers: test/unit/test_quantizers.c test/unit/unit_test.h $(QUANTIZER_SOURCES) src/distance.h src/kmeans.h src/pq.h
	$(CC) $(KERNEL_CFLAGS) -o $@ test/unit/test_quantizers.c $(QUANTIZER_SOURCES) -lm

test/unit/test_fastscan: test/unit/test_fastscan.c test/unit/unit_test.h src/fastscan.c src/fastscan.h
	$(CC) $(KERNEL_CFLAGS) -o $@ test/unit/test_fastscan.c src/fastscan.c -lm

test/unit/test_half: test/unit/test_half.c test/unit/unit_test.h src/half.c src/half.h
	$(CC) $(KERNEL_CFLAGS) -o $@ test/unit/test_half.c src/half.c -lm

bench/distance_bench: bench/distance_bench.c src/distance.c src/distance.h
	$(CC) $(KERNEL_CFLAGS) -o $@ bench/distance_bench.c src/distance.c -lm

# needs Debian's libopenblas-dev; a measurement, not part of the extension
bench/blas_compare: bench/blas_compare.c src/distance.c src/distance.h
	$(CC) $(KERNEL_CFLAGS) -I/usr/include/x86_64-linux-gnu -o $@ bench/blas_compare.c src/distance.c -lopenblas -lm

bench/fastscan_bench: bench/fastscan_bench.c src/fastscan.c src/fastscan.h $(QUANTIZER_SOURCES) src/pq.h
	$(CC) $(KERNEL_CFLAGS) -o $@ bench/fastscan_bench.c src/fastscan.c $(QUANTIZER_SOURCES) -lm

.PHONY: unitcheck bench-distance bench-fastscan bench-blas pgtap_installcheck prove_installcheck

unitcheck: test/unit/test_distance test/unit/test_quantizers test/unit/test_fastscan test/unit/test_half
	@test/unit/test_distance && test/unit/test_quantizers && test/unit/test_fastscan && test/unit/test_half

bench-distance: bench/distance_bench
	bench/distance_bench

bench-fastscan: bench/fastscan_bench
	bench/fastscan_bench

bench-blas: bench/blas_compare
	bench/blas_compare

# pgTAP suites run in a scratch database of their own.
PGTAP_DB ?= vqpq_pgtap
pgtap_installcheck:
	dropdb --if-exists $(PGTAP_DB)
	createdb $(PGTAP_DB)
	psql -X -q -v ON_ERROR_STOP=1 -d $(PGTAP_DB) -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION vqpq'
	pg_prove --ext .sql -d $(PGTAP_DB) test/pgtap/
	dropdb $(PGTAP_DB)

PROVE_TESTS = test/t/*.pl
PG_PROVE_FLAGS += -I test/perl
prove_installcheck:
	$(prove_installcheck)
