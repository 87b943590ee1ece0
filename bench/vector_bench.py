#!/usr/bin/python3
"""Side-by-side benchmark: vqpq ivfpq, exact scan, pgvector hnsw and ivfflat
(when CREATE EXTENSION vector works; then also ivfpq on the vector column,
through vqpq_pgvector), and Faiss IndexIVFPQ + refine, in one run on one
server.

For every engine: build time and peak memory, index size, and, over settings
swept until recall@10 reaches --stop-recall, recall against float64 exact
results and QPS with p50/p99 latency through SQL (pgbench).  The defaults'
point (nothing set) is reported on its own, and for recall 0.95 and 0.99 the
best QPS of each engine and its ratio to pgvector HNSW's in the same run.
--filtered adds WHERE category = c queries at 10%, 1% and 0.1% selectivity.
Writes results.md, results.jsonl and recall-vs-QPS plots.  Talks to the
server the PG* environment variables point at (bench/vector_bench.sh starts
a scratch one and documents the options).
"""
import argparse
import datetime
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqbench import engines, report, server  # noqa: E402
from vqbench.data import load_dataset  # noqa: E402
from vqbench.truth import exact_truth, make_filters  # noqa: E402

STORAGES = ["auto", "default", "plain", "main", "external", "extended", "both"]
FILTERED_ENGINES = ("exact", "vqpq", "vqpq_filter", "hnsw")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist",
                    help="fashion-mnist, glove-100, sift-100k, sift-photos, synthetic:N:D[:clusters], "
                         "FILE.fvecs (with --query-file) or FILE.hdf5")
    ap.add_argument("--query-file")
    ap.add_argument("--rows", type=int, help="base rows: a fixed-seed sample of a dataset, or N synthetic rows")
    ap.add_argument("--metric", choices=["l2", "cosine"], help="default: the dataset's own (glove-100: cosine)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clients", default="1,4")
    ap.add_argument("--seconds", type=int, default=5, help="per QPS measurement")
    ap.add_argument("--engines", default="exact,vqpq,vqpq_filter,vqpq_vector,hnsw,ivfflat,faiss",
                    help="comma-separated subset of exact,vqpq,vqpq_vector (ivfpq on the vector column),"
                         "hnsw,ivfflat,faiss")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--vqpq-index", action="append", metavar="OPTIONS",
                    help="WITH options of a vqpq index to benchmark, e.g. 'm = 196, nbits = 4'; "
                         "repeat for several (default: the defaults)")
    ap.add_argument("--storage", default="auto", choices=STORAGES,
                    help="the embedding columns' storage, every engine's tables alike: auto = plain when a row "
                         "fits a page, else the type's default; default = the type's own (EXTERNAL for both "
                         "types: vectors over ~2 kB in TOAST); both = plain, then default, reported side by side")
    ap.add_argument("--build-memory", default="4GB", help="maintenance_work_mem for every index build")
    ap.add_argument("--build-workers", help="comma list of max_parallel_maintenance_workers to build vqpq's "
                                            "index with, e.g. 0,1 (the last build is queried; default: the "
                                            "server's setting)")
    ap.add_argument("--stop-recall", type=float, default=0.995,
                    help="a sweep direction stops once recall reaches this")
    ap.add_argument("--reranks", default="25,50,100,200,400,800",
                    help="vqpq.rerank values swept (Faiss: k_factor = rerank / 10)")
    ap.add_argument("--protocol", default="simple", choices=["simple", "prepared"],
                    help="pgbench's query protocol (-M)")
    ap.add_argument("--cold", action="store_true",
                    help="also QPS from a cold cache at each index's best settings for recall 0.95 and 0.99: "
                         "the server restarted and the tables' and indexes' files dropped from the OS cache")
    ap.add_argument("--cold-seconds", type=int, default=10)
    ap.add_argument("--exact-queries", type=int, default=50, help="queries the exact scan's recall is checked on")
    ap.add_argument("--filtered", nargs="?", const="also", choices=["also", "only"],
                    help="add filtered queries (only: no unfiltered sweep, no Faiss)")
    ap.add_argument("--filter-kinds", default="random,near", help="of random,near,far")
    ap.add_argument("--filtered-clients", default="1")
    ap.add_argument("--filtered-queries", type=int, default=100)
    ap.add_argument("--filtered-reranks", default="100,500,2500", help="vqpq.rerank values of the filtered sweep")
    ap.add_argument("--filtered-max-probes", default="0,nlist/8",
                    help="vqpq.max_probes values of the filtered sweep (0: unbounded, nlist/N: a share of lists)")
    ap.add_argument("--datasets-dir", default=os.path.join(os.environ.get("VQPQ_CACHE", "/var/cache/vqpq"),
                                                           "datasets"))
    ap.add_argument("--work-dir", help="where synthetic data is written while the run lasts (default: TMPDIR)")
    ap.add_argument("--out", default="bench/results", help="directory for results.md, results.jsonl, plots")
    args = ap.parse_args()
    chosen = set(args.engines.split(","))
    if args.no_faiss or args.filtered == "only":
        chosen.discard("faiss")
    args.engines = chosen
    server.PGBENCH_PROTOCOL = args.protocol
    return args


class Context:
    """What every engine's run needs: data, exact answers, settings."""

    def __init__(self, args, ds, metric, kth):
        self.args, self.ds, self.metric, self.kth = args, ds, metric, kth
        self.op = "<->" if metric == "l2" else "<=>"
        self.nq = len(ds.queries)
        self.clients = [int(c) for c in args.clients.split(",")]
        self.filtered_clients = [int(c) for c in args.filtered_clients.split(",")]


def storage_modes(choice, d):
    """[(label, SET STORAGE value or None for the type's default)]."""
    if choice == "both":
        return [("plain", "plain"), ("default (EXTERNAL)", None)]
    if choice == "auto":
        return [("plain", "plain")] if 4 * d + 64 <= 8000 else [("default (EXTERNAL)", None)]
    if choice == "default":
        return [("default (EXTERNAL)", None)]
    return [(choice, choice)]


def load_tables(ds, filters, have_pgvector, storage):
    """bench_items / bench_queries (pqvector), and _v twins (pgvector's
    vector), with one int column per filter's categories; binary COPY streamed
    from the dataset's chunks."""
    d = ds.d
    base_cols = list(dict.fromkeys(f.column for f in filters))
    base_labels = {f.column: f.base_labels for f in filters}
    query_cols = [f.qcolumn for f in filters]
    server.psql("CREATE EXTENSION IF NOT EXISTS vqpq")
    server.psql("DROP TABLE IF EXISTS bench_items, bench_queries, bench_items_v, bench_queries_v")
    tables = [("bench_items", "bench_queries", f"pqvector({d})")]
    if have_pgvector:
        tables.append(("bench_items_v", "bench_queries_v", f"vector({d})"))
    t0 = time.perf_counter()
    for items, qtable, vtype in tables:
        for t, cols in ((items, base_cols), (qtable, query_cols)):
            server.psql(f"CREATE TABLE {t} (id int, embedding {vtype}" + "".join(f", {c} int" for c in cols) + ")")
            if storage:
                # set before loading: it applies to rows written from now on
                server.psql(f"ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE {storage}")
        server.copy_in(items, ["id", "embedding"] + base_cols,
                       (server.binary_rows(s + 1, rows, [base_labels[c][s:s + len(rows)] for c in base_cols])
                        for s, rows in ds.chunks()))
        server.copy_in(qtable, ["id", "embedding"] + query_cols,
                       [server.binary_rows(1, ds.queries, [f.query_labels for f in filters])])
        for t in (items, qtable):
            server.psql(f"ALTER TABLE {t} ADD PRIMARY KEY (id)")
    server.psql("VACUUM ANALYZE")
    return time.perf_counter() - t0


def make_engines(args, ds, metric, have_pgvector, filters):
    n = ds.n
    lists = max(1, int(round(np.sqrt(n))))
    out = [engines.SqlEngine("exact", "exact scan", "bench_items", "bench_queries")]
    opclass = "pqvector_cosine_ops" if metric == "cosine" else "pqvector_l2_ops"
    for i, options in enumerate(args.vqpq_index or [""]):
        out.append(engines.SqlEngine(
            "vqpq", f"vqpq ivfpq ({options})" if options else "vqpq ivfpq", "bench_items", "bench_queries",
            f"CREATE INDEX bench_ivfpq_{i} ON bench_items USING ivfpq (embedding {opclass})"
            + (f" WITH ({options})" if options else "")))
    if filters:
        # the filters' columns in the index: the scan applies WHERE on them
        columns = ", ".join(dict.fromkeys(f.column for f in filters))
        out.append(engines.SqlEngine(
            "vqpq_filter", engines.VQPQ_FILTER_COLUMNS, "bench_items", "bench_queries",
            f"CREATE INDEX bench_ivfpq_filter ON bench_items USING ivfpq (embedding {opclass}, {columns})"))
    if have_pgvector:
        vops = "vector_cosine_ops" if metric == "cosine" else "vector_l2_ops"
        # the same ivfpq index on pgvector's vector column (vqpq_pgvector's operator classes)
        out.append(engines.SqlEngine(
            "vqpq_vector", engines.VQPQ_ON_VECTOR, "bench_items_v", "bench_queries_v",
            f"CREATE INDEX bench_ivfpq_v ON bench_items_v USING ivfpq (embedding {vops})"))
        out.append(engines.SqlEngine("hnsw", "pgvector hnsw", "bench_items_v", "bench_queries_v",
                                     f"CREATE INDEX bench_hnsw ON bench_items_v USING hnsw (embedding {vops}) "
                                     f"WITH (m = 16, ef_construction = 64)"))
        out.append(engines.SqlEngine("ivfflat", "pgvector ivfflat", "bench_items_v", "bench_queries_v",
                                     f"CREATE INDEX bench_ivfflat ON bench_items_v USING ivfflat (embedding {vops}) "
                                     f"WITH (lists = {lists})"))
    return [e for e in out if e.key in args.engines]


def run_storage(ctx, filters, have_pgvector, storage):
    """Load the tables with this storage, then build, sweep and drop each
    engine in turn (one index at a time, so the planner has no choice)."""
    args, ds = ctx.args, ctx.ds
    load_s = load_tables(ds, filters, have_pgvector, storage)
    part = dict(load_s=load_s, builds={}, unfiltered={}, filtered={},
                vector_mb=int(server.psql("SELECT sum(pg_column_size(embedding)) FROM bench_items")) / 1e6,
                table_mb=int(server.psql("SELECT pg_table_size('bench_items')")) / 1e6)
    workers = [int(w) for w in args.build_workers.split(",")] if args.build_workers else [None]
    kept = {}  # the first vqpq index, kept until the one on the vector column is done
    for e in make_engines(args, ds, ctx.metric, have_pgvector, filters):
        if args.filtered == "only" and e.key not in FILTERED_ENGINES:
            continue
        if e.create:
            e.build(args.build_memory, workers if e.key in engines.VQPQ_KEYS else [None])
            part["builds"][e.name] = e.builds
            if e.key in engines.VQPQ_KEYS:
                e.nlist = engines.vqpq_nlist(e.index, ds.n)
        build = e.builds[-1] if e.builds else {}
        if args.filtered != "only" and e.key != "vqpq_filter":
            res = engines.run_sql_engine(e, ctx)
            part["unfiltered"][e.name] = dict(res, build=build)
        if args.filtered and e.key in FILTERED_ENGINES:
            for f in filters:
                print(f"  filter {f.label}:", flush=True)
                res = engines.run_sql_engine(e, ctx, f)
                m = f.matches[:args.filtered_queries]
                part["filtered"].setdefault(f.label, {})[e.name] = dict(
                    res, build=build, matches_mean=float(m.mean()),
                    matching=f"{len(m)} queries; {m.mean() / ds.n:.3%} of rows match on average, "
                             f"{int((m >= 10).sum())} of the queries have 10 or more")
        if e.key == "vqpq" and "vqpq" not in kept:
            kept["vqpq"] = e
            continue
        if e.key == "vqpq_vector" and "vqpq" in kept and args.filtered != "only":
            part["columns"] = engines.compare_columns(kept["vqpq"], e, ctx)
        e.drop()
    for e in kept.values():
        e.drop()
    return part


def main():
    args = parse_args()
    nq = args.queries
    if args.filtered == "only":
        nq = min(nq, args.filtered_queries)
    ds = load_dataset(args.dataset, args.query_file, args.rows, nq, args.datasets_dir, args.work_dir)
    metric = args.metric or ds.metric
    try:
        filters = []
        if args.filtered:
            t0 = time.perf_counter()
            filters = make_filters(ds, metric, args.filter_kinds.split(","))
            print(f"categories for {len(filters)} filters in {time.perf_counter() - t0:.1f} s", flush=True)
        print(f"dataset {ds.name}: {ds.n:,} x {ds.d}, {len(ds.queries)} queries, metric {metric}", flush=True)
        t0 = time.perf_counter()
        kth = exact_truth(ds, metric, filters)
        print(f"exact answers in {time.perf_counter() - t0:.1f} s", flush=True)
        ctx = Context(args, ds, metric, kth)
        have_pgvector = True
        try:
            server.psql("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception:
            have_pgvector = False
            print("pgvector is not installed: its engines are skipped")
        if have_pgvector:
            # ivfpq's operator classes for the vector column
            server.psql("CREATE EXTENSION IF NOT EXISTS vqpq")
            server.psql("CREATE EXTENSION IF NOT EXISTS vqpq_pgvector")
        run = dict(dataset=ds.name, rows=ds.n, dims=ds.d, metric=metric, queries=ctx.nq, clients=ctx.clients,
                   filtered_clients=ctx.filtered_clients, note=ds.note, storages={}, cold_seconds=args.cold_seconds,
                   server=server.psql("SHOW server_version").split()[0].join(["PostgreSQL ", ""]),
                   date=datetime.date.today().isoformat())
        for label, storage in storage_modes(args.storage, ds.d):
            print(f"== column storage {label}", flush=True)
            run["storages"][label] = run_storage(ctx, filters, have_pgvector, storage)
        if "faiss" in args.engines:
            got = engines.run_faiss(ctx)
            if got:
                build, points = got
                first = next(iter(run["storages"].values()))
                first["unfiltered"]["Faiss IVFPQ+refine (Python)"] = dict(points=points, build=build)
        report.write(run, args.out)
    finally:
        ds.close()


if __name__ == "__main__":
    main()
