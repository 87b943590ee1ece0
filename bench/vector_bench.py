#!/usr/bin/python3
"""Side-by-side benchmark: vqpq ivfpq, exact scan, pgvector hnsw and ivfflat
(when CREATE EXTENSION vector works), and Faiss IndexIVFPQ + refine, in one
run on one server.

For every engine and setting: build time, index size, recall@10 against exact
results, and QPS with p50/p99 latency through SQL (pgbench) with one client
and with several.  Writes a markdown table, JSON lines and a recall-vs-QPS
plot.  Talks to the server the PG* environment variables point at (see
bench/vector_bench.sh, which starts a scratch one).

Datasets:
  fashion-mnist            60,000 x 784 from the Debian package (L2)
  synthetic:N:D[:C]        N rows of D dims in C Gaussian clusters, fixed seed
  FILE.fvecs               with --query-file FILE.fvecs (the TEXMEX layout)
  FILE.hdf5                ann-benchmarks layout (train/test), needs python3-h5py
--metric cosine benchmarks angular data through the cosine operator classes.
--storage sets the embedding columns' storage for all engines alike (default:
PLAIN when a row fits a page).
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

K = 10


# ---------------------------------------------------------------- data

def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)


def load_dataset(spec, query_file, nqueries):
    if spec == "fashion-mnist":
        def images(name):
            with gzip.open(f"/usr/share/datasets/fashion-mnist/{name}", "rb") as f:
                data = f.read()
            n, rows, cols = np.frombuffer(data[4:16], dtype=">u4")
            return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)
        return images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")[:nqueries]
    if spec.startswith("synthetic:"):
        parts = [int(x) for x in spec.split(":")[1:]]
        n, d = parts[0], parts[1]
        clusters = parts[2] if len(parts) > 2 else 100
        rng = np.random.default_rng(42)
        centers = rng.uniform(-10, 10, size=(clusters, d)).astype(np.float32)
        def draw(count):
            return centers[rng.integers(0, clusters, count)] + rng.standard_normal((count, d), dtype=np.float32)
        return draw(n), draw(nqueries)
    if spec.endswith(".fvecs"):
        if not query_file:
            sys.exit("an .fvecs dataset needs --query-file")
        return read_fvecs(spec), read_fvecs(query_file)[:nqueries]
    if spec.endswith((".hdf5", ".h5")):
        try:
            import h5py
        except ImportError:
            sys.exit("HDF5 datasets need python3-h5py")
        with h5py.File(spec, "r") as f:
            return np.asarray(f["train"], dtype=np.float32), np.asarray(f["test"], dtype=np.float32)[:nqueries]
    sys.exit(f"unknown dataset {spec}")


def exact_kth(base, queries, metric):
    """Exact k-th smallest distance per query, in float64 (squared for L2)."""
    b = base.astype(np.float64)
    if metric == "cosine":
        b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-300)
    bnorm = (b * b).sum(axis=1)
    kth = np.empty(len(queries))
    for s in range(0, len(queries), 100):
        q = queries[s:s + 100].astype(np.float64)
        if metric == "cosine":
            q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-300)
            d = 1.0 - q @ b.T
        else:
            d = bnorm[None, :] + (q * q).sum(axis=1)[:, None] - 2.0 * (q @ b.T)
        kth[s:s + len(q)] = np.partition(d, K - 1, axis=1)[:, K - 1]
    return kth


def recall(found, base, queries, kth, metric):
    hits = 0
    for qi, ids in enumerate(found):
        v = base[ids].astype(np.float64)
        q = queries[qi].astype(np.float64)
        if metric == "cosine":
            d = 1.0 - (v @ q) / np.maximum(np.linalg.norm(v, axis=1) * np.linalg.norm(q), 1e-300)
        else:
            d = ((v - q) ** 2).sum(axis=1)
        hits += int((d <= kth[qi] + 1e-9 * abs(kth[qi])).sum())
    return hits / (K * len(found))


# ---------------------------------------------------------------- server

def psql(sql, options=""):
    env = dict(os.environ, PGOPTIONS=options)
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        out.check_returncode()
    return out.stdout.strip()


def copy_in(table, rows_text):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f"\\copy {table} FROM STDIN"],
                   input=rows_text, check=True, text=True)


def vectors_text(x):
    fmt = "%d" if np.all(x == np.round(x)) else "%.7g"
    lines = []
    for i in range(0, len(x), 5000):
        block = x[i:i + 5000]
        body = [",".join(fmt % v for v in row) for row in block]
        lines.extend(f"{i + j + 1}\t[{b}]" for j, b in enumerate(body))
    return "\n".join(lines) + "\n"


def table_storage(storage, d):
    """The column storage to load with: 'auto' keeps vectors in the row
    (PLAIN, as ann-benchmarks sets up pgvector) when a row fits a page, and
    leaves the type's own storage otherwise."""
    if storage != "auto":
        return storage
    return "plain" if 4 * d + 64 <= 8000 else None


def load_tables(base, queries, have_pgvector, storage):
    d = base.shape[1]
    psql("CREATE EXTENSION IF NOT EXISTS vqpq")
    psql("DROP TABLE IF EXISTS bench_items, bench_queries, bench_items_v, bench_queries_v")
    tables = [("bench_items", "bench_queries", f"pqvector({d})")]
    if have_pgvector:
        tables.append(("bench_items_v", "bench_queries_v", f"vector({d})"))
    for items, qtable, vtype in tables:
        for t in (items, qtable):
            psql(f"CREATE TABLE {t} (id int PRIMARY KEY, embedding {vtype})")
            if storage:
                # both engines' tables alike; set before loading, as it applies to new rows
                psql(f"ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE {storage}")
    copy_in("bench_items", vectors_text(base))
    copy_in("bench_queries", vectors_text(queries))
    if have_pgvector:
        # the two types share their text form
        psql(f"INSERT INTO bench_items_v SELECT id, embedding::text::vector({d}) FROM bench_items")
        psql(f"INSERT INTO bench_queries_v SELECT id, embedding::text::vector({d}) FROM bench_queries")
    psql("VACUUM ANALYZE")


def sql_search(table, qtable, op, nq, options):
    out = psql(f"""SET enable_seqscan = off;
        SELECT string_agg(id::text, ',') FROM (
            SELECT q.id AS qid, (SELECT string_agg((n.id - 1)::text, ' ') FROM
                (SELECT id FROM {table} i ORDER BY i.embedding {op} q.embedding LIMIT {K}) n) AS id
              FROM {qtable} q WHERE q.id <= {nq} ORDER BY q.id) s""", options)
    return [[int(x) for x in row.split()] for row in out.split(",")]


def pgbench(table, qtable, op, nq, clients, seconds, options):
    """QPS and p50/p99 latency (ms) of one query at a time per client."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "q.sql")
        with open(script, "w") as f:
            f.write(f"\\set q random(1, {nq})\n"
                    f"SELECT id FROM {table} ORDER BY embedding {op} "
                    f"(SELECT embedding FROM {qtable} WHERE id = :q) LIMIT {K};\n")
        env = dict(os.environ, PGOPTIONS=options)
        out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
                              "--log", "--log-prefix", os.path.join(tmp, "log"), "-f", script],
                             check=True, capture_output=True, text=True, env=env, cwd=tmp).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        lat = []
        for name in os.listdir(tmp):
            if name.startswith("log"):
                with open(os.path.join(tmp, name)) as f:
                    lat.extend(int(line.split()[2]) / 1000.0 for line in f)
        lat.sort()
        return tps, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def summary(results, clients):
    """Each engine's best one-client QPS at recall >= 0.99 and >= 0.95, with
    its build time and size, and ratios against pgvector hnsw."""
    lines = ["", "| engine | build s | index MB | best QPS x1 at recall >= 0.99 (setting, recall, p50 ms) "
             "| best QPS x1 at recall >= 0.95 |", "|---|---|---|---|---|"]
    best = {}
    for engine in dict.fromkeys(r["engine"] for r in results):
        rows = [r for r in results if r["engine"] == engine]
        pick = {}
        for floor in (0.99, 0.95):
            ok = [r for r in rows if r["recall"] >= floor and "qps_1" in r]
            pick[floor] = max(ok, key=lambda r: r["qps_1"]) if ok else None
        best[engine] = (rows[0], pick)
        c99, c95 = pick[0.99], pick[0.95]
        build = f"{rows[0]['build_s']:.1f}" if rows[0]["build_s"] else ""
        size = f"{rows[0]['size_mb']:.1f}" if rows[0]["size_mb"] else ""
        lines.append(f"| {engine} | {build} | {size} | "
                     + (f"{c99['qps_1']:.0f} ({c99['setting']}, {c99['recall']:.4f}, {c99['p50_ms_1']:.2f})"
                        if c99 else "-") + " | " + (f"{c95['qps_1']:.0f} ({c95['setting']})" if c95 else "-") + " |")
    if "pgvector hnsw" in best:
        h, hp = best["pgvector hnsw"]
        lines += ["", "Ratios against pgvector hnsw (same run):", ""]
        for engine, (r, pick) in best.items():
            if engine == "pgvector hnsw" or not engine.startswith("vqpq"):
                continue
            parts = []
            if r["build_s"] and h["build_s"]:
                parts.append(f"build {r['build_s'] / h['build_s']:.2f}x")
            if r["size_mb"] and h["size_mb"]:
                parts.append(f"size {r['size_mb'] / h['size_mb']:.3f}x")
            for floor in (0.99, 0.95):
                if pick[floor] and hp[floor]:
                    parts.append(f"QPS at >= {floor} {pick[floor]['qps_1'] / hp[floor]['qps_1']:.2f}x")
            lines.append(f"- {engine}: " + ", ".join(parts))
    return lines


def timed(sql):
    t0 = time.perf_counter()
    psql(sql)
    return time.perf_counter() - t0


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--query-file")
    ap.add_argument("--metric", choices=["l2", "cosine"], default="l2")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clients", default="1,4")
    ap.add_argument("--seconds", type=int, default=5, help="per QPS measurement")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--engines", default="exact,vqpq,hnsw,ivfflat,faiss",
                    help="comma-separated subset of exact,vqpq,hnsw,ivfflat,faiss")
    ap.add_argument("--vqpq-index", action="append", metavar="OPTIONS",
                    help="WITH options of a vqpq index to benchmark, e.g. 'm = 196, nbits = 4'; "
                         "repeat for several (default: the defaults)")
    ap.add_argument("--storage", default="auto", choices=["auto", "plain", "main", "external", "extended"],
                    help="the embedding columns' storage, for every engine's tables alike: auto = plain when a "
                         "row fits a page (vectors stay in the row, as ann-benchmarks sets up pgvector), "
                         "otherwise the type's default")
    ap.add_argument("--build-memory", default="4GB", help="maintenance_work_mem for every index build")
    ap.add_argument("--out", default="bench/results", help="directory for results.md, results.jsonl, recall_qps.png")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    os.makedirs(args.out, exist_ok=True)

    base, queries = load_dataset(args.dataset, args.query_file, args.queries)
    n, d = base.shape
    nq = len(queries)
    print(f"dataset {args.dataset}: {n:,} x {d}, {nq} queries, metric {args.metric}", flush=True)
    kth = exact_kth(base, queries, args.metric)

    have_pgvector = True
    try:
        psql("CREATE EXTENSION IF NOT EXISTS vector")
    except subprocess.CalledProcessError:
        have_pgvector = False
        print("pgvector is not installed: its engines are skipped")
    storage = table_storage(args.storage, d)
    load_tables(base, queries, have_pgvector, storage)
    vector_mb = int(psql("SELECT sum(pg_column_size(embedding)) FROM bench_items")) / 1e6

    op = "<->" if args.metric == "l2" else "<=>"
    lists = max(1, int(round(np.sqrt(n))))
    engines = [("exact scan", "bench_items", "bench_queries", None, [("-", "-c enable_indexscan=off")])]
    opclass = "pqvector_cosine_ops" if args.metric == "cosine" else "pqvector_l2_ops"
    for i, options in enumerate(args.vqpq_index or [""]):
        engines.append((f"vqpq ivfpq ({options})" if options else "vqpq ivfpq", "bench_items", "bench_queries",
                        f"CREATE INDEX bench_ivfpq_{i} ON bench_items USING ivfpq (embedding {opclass})"
                        + (f" WITH ({options})" if options else ""),
                        [(f"nprobe={p} rerank={r}", f"-c vqpq.nprobe={p} -c vqpq.rerank={r}")
                         for p, r in ((1, 50), (4, 50), (8, 30), (10, 30), (10, 50), (10, 100),
                                      (16, 100), (32, 200))]))
    if have_pgvector:
        vops = "vector_cosine_ops" if args.metric == "cosine" else "vector_l2_ops"
        engines.append(("pgvector hnsw", "bench_items_v", "bench_queries_v",
                        f"CREATE INDEX bench_hnsw ON bench_items_v USING hnsw (embedding {vops}) "
                        f"WITH (m = 16, ef_construction = 64)",
                        [(f"ef_search={e}", f"-c hnsw.ef_search={e}") for e in (10, 20, 40, 80, 160, 320, 640)]))
        engines.append(("pgvector ivfflat", "bench_items_v", "bench_queries_v",
                        f"CREATE INDEX bench_ivfflat ON bench_items_v USING ivfflat (embedding {vops}) "
                        f"WITH (lists = {lists})",
                        [(f"probes={p}", f"-c ivfflat.probes={p}") for p in (1, 4, 10, 20, 40)]))

    chosen = set(args.engines.split(","))
    keys = {"exact scan": "exact", "vqpq ivfpq": "vqpq", "pgvector hnsw": "hnsw", "pgvector ivfflat": "ivfflat"}
    engines = [e for e in engines if keys[e[0].split(" (")[0]] in chosen]
    if "faiss" not in chosen:
        args.no_faiss = True

    results = []
    for name, table, qtable, create, settings in engines:
        build_s = size_mb = None
        if create:
            print(f"building {name} ...", flush=True)
            # enough for HNSW to build its graph in memory at a million rows
            build_s = timed(f"SET maintenance_work_mem = '{args.build_memory}'; {create}")
            index = re.search(r"INDEX (\w+)", create).group(1)
            size_mb = int(psql(f"SELECT pg_relation_size('{index}')")) / 1e6
        for label, options in settings:
            found = sql_search(table, qtable, op, nq, options)
            r = recall(found, base, queries, kth, args.metric)
            row = {"engine": name, "setting": label, "build_s": build_s, "size_mb": size_mb, "recall": r}
            for c in clients:
                tps, p50, p99 = pgbench(table, qtable, op, nq, c, args.seconds, options)
                row[f"qps_{c}"] = tps
                row[f"p50_ms_{c}"] = p50
                row[f"p99_ms_{c}"] = p99
            results.append(row)
            print(f"  {name} {label}: recall {r:.4f}, " +
                  ", ".join(f"{row[f'qps_{c}']:.0f} QPS x{c}" for c in clients), flush=True)
        if create:
            # the next index on the same column must not be chosen in its place
            psql(f"DROP INDEX {index}")

    if not args.no_faiss:
        try:
            import faiss
            faiss.omp_set_num_threads(1)
            rng = np.random.default_rng(1)
            train = base[rng.choice(n, size=min(n, 16384), replace=False)]
            m = d // 8 if d % 8 == 0 else max(x for x in range(1, d // 4 + 1) if d % x == 0)
            xb, xq = base, queries
            if args.metric == "cosine":
                xb = base / np.linalg.norm(base, axis=1, keepdims=True)
                xq = queries / np.linalg.norm(queries, axis=1, keepdims=True)
                train = train / np.linalg.norm(train, axis=1, keepdims=True)
            print(f"building Faiss IVFPQ{lists},PQ{m}+refine ...", flush=True)
            t0 = time.perf_counter()
            ivf = faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, lists, m, 8)
            ivf.train(train)
            refine = faiss.IndexRefineFlat(ivf)
            refine.add(xb)
            build_s = time.perf_counter() - t0
            for p, rr in ((1, 50), (4, 50), (10, 50), (10, 100), (16, 100), (32, 200)):
                ivf.nprobe = p
                refine.k_factor = rr / K
                lat = []
                found = []
                for q in xq:
                    t0 = time.perf_counter()
                    _, ids = refine.search(q[None, :], K)
                    lat.append((time.perf_counter() - t0) * 1000)
                    found.append(list(ids[0]))
                r = recall(found, base, queries, kth, args.metric)
                lat.sort()
                results.append({"engine": "Faiss IVFPQ+refine (Python)", "setting": f"nprobe={p} k_factor={rr // K}",
                                "build_s": build_s, "size_mb": None, "recall": r,
                                "qps_1": 1000 / (sum(lat) / len(lat)), "p50_ms_1": lat[len(lat) // 2],
                                "p99_ms_1": lat[min(len(lat) - 1, int(len(lat) * 0.99))]})
                print(f"  Faiss nprobe={p} k_factor={rr // K}: recall {r:.4f}, {results[-1]['qps_1']:.0f} QPS x1", flush=True)
        except ImportError:
            print("python3-faiss is not installed: Faiss is skipped")

    # ------------------------------------------------------------ report
    with open(os.path.join(args.out, "results.jsonl"), "w") as f:
        for row in results:
            f.write(json.dumps(dict(row, dataset=args.dataset, rows=n, dims=d, metric=args.metric,
                                    storage=storage or "type default")) + "\n")
    header = ["engine", "setting", "build s", "index MB", "recall@10"]
    for c in clients:
        header += [f"QPS x{c}", f"p50 ms x{c}", f"p99 ms x{c}"]
    lines = [f"{args.dataset}: {n:,} x {d}, {nq} queries, {args.metric}; vector data {vector_mb:.1f} MB, "
             f"column storage {storage or 'the type default'}; one server, this machine ({os.cpu_count()} cores)", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in results:
        cells = [row["engine"], row["setting"],
                 f"{row['build_s']:.1f}" if row["build_s"] else "", f"{row['size_mb']:.1f}" if row["size_mb"] else "",
                 f"{row['recall']:.4f}"]
        for c in clients:
            if f"qps_{c}" in row:
                cells += [f"{row[f'qps_{c}']:.0f}", f"{row[f'p50_ms_{c}']:.2f}", f"{row[f'p99_ms_{c}']:.2f}"]
            else:
                cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += summary(results, clients)
    report = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(report)
    print("\n" + report)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 5))
        for engine in dict.fromkeys(r["engine"] for r in results):
            pts = sorted((r["recall"], r["qps_1"]) for r in results if r["engine"] == engine)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=engine)
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second (1 client)")
        ax.set_yscale("log")
        ax.set_title(f"{args.dataset} ({n:,} x {d}, {args.metric})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.savefig(os.path.join(args.out, "recall_qps.png"), dpi=100, bbox_inches="tight")
        print(f"plot: {os.path.join(args.out, 'recall_qps.png')}")
    except ImportError:
        print("python3-matplotlib is not installed: no plot")


if __name__ == "__main__":
    main()
