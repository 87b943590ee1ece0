"""The engines compared, through SQL on one server (vqpq ivfpq, exact scan,
pgvector hnsw and ivfflat) or in this process (Faiss), and how each is swept,
unfiltered and filtered."""
import math
import re
import subprocess
import time

import numpy as np

from . import server, sweep
from .truth import K, score

HNSW_EF_SEARCH = [10, 20, 40, 80, 160, 320, 640, 1000]  # pgvector's ef_search stops at 1000
VQPQ_KEYS = ("vqpq", "vqpq_vector", "vqpq_filter")
VQPQ_FILTER_COLUMNS = "vqpq ivfpq + filter columns"
VQPQ_ON_VECTOR = "vqpq ivfpq on vector"
COLUMN_ROUNDS = 6  # alternating measurements of each column in compare_columns


class SqlEngine:
    """key (for --engines), display name, tables, CREATE INDEX (None: no
    index), and the options every query of it runs with."""

    def __init__(self, key, name, table, qtable, create=None, base_options=""):
        self.key, self.name, self.table, self.qtable = key, name, table, qtable
        self.create, self.base_options = create, base_options
        self.index = re.search(r"INDEX (\w+)", create).group(1) if create else None
        self.builds = []  # dicts: workers, build_s, peak_rss_mb, size_mb
        self.nlist = None

    def build(self, memory, workers_list):
        """Builds the index once per worker count (the last build stays for
        the queries); returns nothing, fills self.builds."""
        for i, w in enumerate(workers_list):
            sets = f"SET maintenance_work_mem = '{memory}';"
            if w is not None:
                sets += f" SET max_parallel_maintenance_workers = {w};"
            print(f"building {self.name}" + (f" with {w} parallel workers" if w is not None else "") + " ...",
                  flush=True)
            build_s, rss = server.build_index(self.create, sets)
            size = int(server.psql(f"SELECT pg_relation_size('{self.index}')")) / 1e6
            self.builds.append(dict(workers=w, build_s=build_s, peak_rss_mb=rss, size_mb=size))
            print(f"  {build_s:.1f} s, {size:.1f} MB, peak backend memory {rss:.0f} MB", flush=True)
            if i < len(workers_list) - 1:
                server.psql(f"DROP INDEX {self.index}")

    def drop(self):
        if self.index:
            server.psql(f"DROP INDEX IF EXISTS {self.index}")

    def search(self, op, nq, options, flt=None):
        """The ids (0-based row numbers) each of the first nq queries returns."""
        where = f"WHERE i.{flt.column} = q.{flt.qcolumn}" if flt else ""
        out = server.psql(f"""SELECT q.id, coalesce((SELECT string_agg((n.id - 1)::text, ' ') FROM
                (SELECT id FROM {self.table} i {where} ORDER BY i.embedding {op} q.embedding LIMIT {K}) n), '')
              FROM {self.qtable} q WHERE q.id <= {nq} ORDER BY q.id""", options)
        found = [[] for _ in range(nq)]
        for line in out.splitlines():
            qid, ids = line.split("|")
            found[int(qid) - 1] = [int(x) for x in ids.split()]
        return found

    def script(self, op, nq, flt=None):
        cond = f"WHERE {flt.column} = (SELECT {flt.qcolumn} FROM {self.qtable} WHERE id = :q) " if flt else ""
        return (f"\\set q random(1, {nq})\n"
                f"SELECT id FROM {self.table} {cond}ORDER BY embedding {op} "
                f"(SELECT embedding FROM {self.qtable} WHERE id = :q) LIMIT {K};\n")

    def plan_uses_index(self, op, options, flt=None):
        cond = f"WHERE {flt.column} = (SELECT {flt.qcolumn} FROM {self.qtable} WHERE id = 1) " if flt else ""
        plan = server.psql(f"EXPLAIN SELECT id FROM {self.table} {cond}ORDER BY embedding {op} "
                           f"(SELECT embedding FROM {self.qtable} WHERE id = 1) LIMIT {K}", options)
        return self.index is None or f"Index Scan using {self.index}" in plan


def vqpq_nlist(index, n):
    try:
        return int(server.psql(f"SELECT nlist FROM vqpq_index_info('{index}')"))
    except (subprocess.CalledProcessError, ValueError):
        return max(1, int(round(math.sqrt(n))))


def parse_list(text, nlist):
    """A comma list of ints, where 'nlist/N' means nlist // N (at least 1)."""
    out = []
    for item in text.split(","):
        item = item.strip()
        m = re.fullmatch(r"nlist/(\d+)", item)
        out.append(max(1, nlist // int(m.group(1))) if m else int(item))
    return out


def sweep_spec(engine, args, n, filtered):
    """(fixed options, defaults' options, inner axis, outer axes) of an engine."""
    lists = max(1, int(round(math.sqrt(n))))
    if engine.key in VQPQ_KEYS:
        nlist = engine.nlist or lists
        fixed = "-c enable_seqscan=off"
        if engine.key == "vqpq_filter":
            # the index applies the WHERE clause, and goes on probing by itself
            outer = [sweep.Axis("rerank", "vqpq.rerank", parse_list(args.reranks, nlist))]
        elif filtered:
            fixed += " -c vqpq.iterative_scan=relaxed_order"
            outer = [sweep.Axis("rerank", "vqpq.rerank", parse_list(args.filtered_reranks, nlist)),
                     sweep.Axis("max_probes", "vqpq.max_probes",
                                sorted({v or 65536 for v in parse_list(args.filtered_max_probes, nlist)}))]
        else:
            outer = [sweep.Axis("rerank", "vqpq.rerank", parse_list(args.reranks, nlist))]
        return fixed, fixed, sweep.Axis("nprobe", "vqpq.nprobe", sweep.doubling(1, nlist)), outer
    if engine.key == "hnsw":
        fixed = "-c enable_seqscan=off" + (" -c hnsw.iterative_scan=relaxed_order" if filtered else "")
        return fixed, fixed, sweep.Axis("ef_search", "hnsw.ef_search", HNSW_EF_SEARCH), []
    if engine.key == "ivfflat":
        fixed = "-c enable_seqscan=off" + (" -c ivfflat.iterative_scan=relaxed_order" if filtered else "")
        return fixed, fixed, sweep.Axis("probes", "ivfflat.probes", sweep.doubling(1, lists)), []
    return None


def run_sql_engine(engine, ctx, flt=None):
    """All points of an engine, unfiltered (flt None) or under one filter:
    the defaults' point first, then the sweep; the undominated ones timed."""
    filtered = flt is not None
    kth, matches = (flt.kth, flt.matches) if filtered else (ctx.kth, None)
    # recall over the first nq queries (fewer for filters and the exact scan)
    nq = min(ctx.nq, ctx.args.filtered_queries) if filtered else ctx.nq
    bench_nq = nq
    if engine.key == "exact":
        nq = min(nq, ctx.args.exact_queries)
    kth = kth[:nq]
    matches = matches[:nq] if filtered else None

    cache = {}

    def evaluate(p):
        if p.options not in cache:
            found = engine.search(ctx.op, nq, p.options, flt)
            cache[p.options] = score(found, ctx.ds, ctx.metric, kth, matches)
        p.recall, p.short = cache[p.options]

    spec = sweep_spec(engine, ctx.args, ctx.ds.n, filtered)
    if spec is None:  # the exact scan: one point
        defaults = sweep.Point({}, "sequential scan", "-c enable_indexscan=off", default=True)
        evaluate(defaults)
        points = [defaults]
    else:
        fixed, default_opts, inner, outer = spec
        relaxed = filtered and engine.key != "vqpq_filter"
        defaults = sweep.Point({}, "defaults" + (" + relaxed_order" if relaxed else ""), default_opts,
                               default=True)
        evaluate(defaults)
        points = [defaults]
        # the vector column's index is the pqvector column's again: compare_columns times it
        if engine.key != "vqpq_vector":
            points += sweep.adaptive(evaluate, fixed, inner, outer, ctx.args.stop_recall)
    plan_ok = engine.plan_uses_index(ctx.op, defaults.options, flt)
    if not plan_ok:
        print(f"  warning: {engine.name}'s plan does not use {engine.index}", flush=True)
    timed = [defaults] + sweep.undominated(points[1:])
    clients = ctx.filtered_clients if filtered else ctx.clients
    script = engine.script(ctx.op, bench_nq, flt)
    for p in timed:
        p.timed = True
        for c in clients:
            p.qps[c] = server.pgbench(script, c, ctx.args.seconds, p.options)
        print(f"  {engine.name} {p.label}: recall {p.recall:.4f}"
              + (f", {p.short} short" if filtered else "") + ", "
              + ", ".join(f"{p.qps[c][0]:.0f} QPS x{c}" for c in clients), flush=True)
    print(f"  ({len(points) - len(timed)} more settings scored for recall only)", flush=True)
    if ctx.args.cold and not filtered and engine.index:
        cold_runs(engine, ctx, points, script)
    if not filtered:
        engine.last_points = points
    return dict(points=points, plan_ok=plan_ok)


def compare_columns(pq, vec, ctx):
    """The same ivfpq index on the pqvector and on the vector column, at the
    same settings (the defaults, and the fastest timed point reaching 0.99
    on the pqvector column): QPS x1 measured alternately, COLUMN_ROUNDS times
    each, so that the machine's drift falls on both alike.  Returns the
    settings' label and the median QPS of each column."""
    out = []
    best = None
    for p in getattr(pq, "last_points", []):
        if p.timed and p.recall >= 0.99 and 1 in p.qps and (best is None or p.qps[1][0] > best.qps[1][0]):
            best = p
    defaults = next((p for p in getattr(pq, "last_points", []) if p.default), None)
    for p in [x for x in (defaults, best) if x is not None]:
        runs = {pq.name: [], vec.name: []}
        for _ in range(COLUMN_ROUNDS):
            for e in (pq, vec):
                runs[e.name].append(server.pgbench(e.script(ctx.op, ctx.nq), 1, ctx.args.seconds, p.options)[0])
        med = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
        print(f"  columns at {p.label}: pqvector {med[pq.name]:.0f} QPS, vector {med[vec.name]:.0f} QPS "
              f"(x{med[vec.name] / med[pq.name]:.3f}; medians of {COLUMN_ROUNDS} alternating runs)", flush=True)
        out.append(dict(setting=p.label, pqvector_qps=med[pq.name], vector_qps=med[vec.name], runs=runs))
    return out


def cold_runs(engine, ctx, points, script):
    """QPS x1 from a cold start (server restarted, the table's and indexes'
    pages dropped from the OS cache) at the best settings for each target
    recall; sets p.cold = (qps, p50, p99, MB still cached)."""
    for target in (0.95, 0.99):
        p = sweep.best_at(points, target)
        if p is None or p.cold:
            continue
        left = server.evict(engine.table)
        p.cold = server.pgbench(script, 1, ctx.args.cold_seconds, p.options) + (left,)
        print(f"  {engine.name} {p.label}, cold: {p.cold[0]:.0f} QPS x1 over {ctx.args.cold_seconds} s "
              f"(warm {p.qps[1][0]:.0f}; {left:.0f} MB of its files were still cached)", flush=True)


def run_faiss(ctx):
    """Faiss IndexIVFPQ + IndexRefineFlat (nlist sqrt(n), m d/8 or a divisor,
    8 bits), one query at a time from Python on one thread; every point is
    timed as it is scored.  Returns (build dict, points) or None without
    python3-faiss."""
    try:
        import faiss
    except ImportError:
        print("python3-faiss is not installed: Faiss is skipped")
        return None
    faiss.omp_set_num_threads(1)
    ds, n, d = ctx.ds, ctx.ds.n, ctx.ds.d
    lists = max(1, int(round(math.sqrt(n))))
    m = d // 8 if d % 8 == 0 else max(x for x in range(1, d // 4 + 1) if d % x == 0)

    def prep(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True) if ctx.metric == "cosine" else x

    rng = np.random.default_rng(1)
    train = prep(ds.rows(np.sort(rng.choice(n, size=min(n, 16384), replace=False))))
    print(f"building Faiss IVF{lists},PQ{m}+refine ...", flush=True)
    t0 = time.perf_counter()
    ivf = faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, lists, m, 8)
    ivf.train(train)
    refine = faiss.IndexRefineFlat(ivf)
    for _, rows in ds.chunks():
        refine.add(np.ascontiguousarray(prep(rows), dtype=np.float32))
    build = dict(workers=None, build_s=time.perf_counter() - t0, peak_rss_mb=None, size_mb=None)
    xq = np.ascontiguousarray(prep(ds.queries), dtype=np.float32)

    def evaluate(p):
        ivf.nprobe = p.settings["nprobe"]
        refine.k_factor = p.settings["k_factor"]
        lat, found = [], []
        for q in xq:
            t = time.perf_counter()
            _, ids = refine.search(q[None, :], K)
            lat.append((time.perf_counter() - t) * 1000)
            found.append([int(i) for i in ids[0] if i >= 0])
        p.recall, p.short = score(found, ds, ctx.metric, ctx.kth)
        lat.sort()
        p.timed = True
        p.qps[1] = (1000 / (sum(lat) / len(lat)), lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))])
        print(f"  Faiss {p.label}: recall {p.recall:.4f}, {p.qps[1][0]:.0f} QPS x1", flush=True)

    kf = sorted({max(1, r // K) for r in parse_list(ctx.args.reranks, lists)})
    points = sweep.adaptive(evaluate, "", sweep.Axis("nprobe", None, sweep.doubling(1, lists)),
                            [sweep.Axis("k_factor", None, kf)], ctx.args.stop_recall)
    return build, points
