#!/usr/bin/python3
"""Recall@10 of vqpq's ivfpq index against Faiss IndexIVFPQ on Fashion-MNIST,
at the same nlist, m, nbits and nprobe, on the same queries.

Runs against the server that the PG* environment variables point at (see
bench/faiss_compare.sh, which starts a scratch one).  Loads the data there if
it is missing and builds the index.  Exact neighbours come from a brute-force
search in float64 (exact for integer pixels); a returned row counts as a hit
when its exact distance is within the exact 10th distance, so ties count the
same for both engines.

Faiss is the reference for the algorithm: with re-ranking off, vqpq's recall
should be within about 0.02 of Faiss at the same parameters.
"""
import argparse
import gzip
import os
import subprocess
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("python3-faiss is not installed (apt-get install python3-faiss)")

DATA = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_images(name):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        data = f.read()
    n, rows, cols = np.frombuffer(data[4:16], dtype=">u4")
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout


def ensure_table(nqueries):
    if psql("SELECT to_regclass('fmnist_bench') IS NOT NULL").strip() == "t":
        return
    psql("CREATE EXTENSION IF NOT EXISTS vqpq")
    psql("CREATE TABLE fmnist_bench (id int PRIMARY KEY, label int, embedding pqvector(784))")
    psql("CREATE TABLE fmnist_bench_queries (id int PRIMARY KEY, label int, embedding pqvector(784))")
    for split, table, extra in (("train", "fmnist_bench", []),
                                ("test", "fmnist_bench_queries", ["--limit", str(nqueries)])):
        loader = subprocess.Popen(["/usr/bin/python3", f"{ROOT}/scripts/fashion_mnist.py", split] + extra,
                                  stdout=subprocess.PIPE)
        subprocess.run(["psql", "-X", "-q", "-c", f"\\copy {table} FROM STDIN"], stdin=loader.stdout, check=True)
        loader.wait()
    psql("VACUUM ANALYZE fmnist_bench")


def vqpq_search(nprobe, rerank, nqueries):
    sql = f"""SET enable_seqscan = off; SET vqpq.nprobe = {nprobe}; SET vqpq.rerank = {rerank};
        SELECT q.id, (SELECT string_agg(id::text, ',') FROM
            (SELECT id FROM fmnist_bench i ORDER BY i.embedding <-> q.embedding LIMIT 10) s)
          FROM fmnist_bench_queries q WHERE q.id < {nqueries} ORDER BY q.id"""
    t0 = time.perf_counter()
    out = psql(sql)
    elapsed = time.perf_counter() - t0
    rows = [line.split("|") for line in out.strip().splitlines() if "|" in line]
    return [[int(x) for x in ids.split(",")] for _, ids in rows], elapsed / nqueries


def exact_kth(base, queries, k=10):
    """The exact k-th smallest squared distance per query.  Pixels are
    integers, so float64 distances are exact (float32 sums are not, and
    would blur ties at the k-th place)."""
    b = base.astype(np.float64)
    bnorm = (b * b).sum(axis=1)
    kth = np.empty(len(queries))
    for start in range(0, len(queries), 100):
        q = queries[start:start + 100].astype(np.float64)
        d = bnorm[None, :] + (q * q).sum(axis=1)[:, None] - 2.0 * (q @ b.T)
        kth[start:start + len(q)] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return kth


def recall(found, queries, base, kth):
    hits = 0
    for qi, ids in enumerate(found):
        d = ((base[ids].astype(np.float64) - queries[qi].astype(np.float64)) ** 2).sum(axis=1)
        hits += int((d <= kth[qi]).sum())
    return hits / (10 * len(found))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--nlist", type=int, default=245)
    ap.add_argument("--m", type=int, default=98)
    ap.add_argument("--nbits", type=int, default=8)
    ap.add_argument("--nprobe", default="1,4,10,16,32")
    ap.add_argument("--train-rows", type=int, default=16384, help="rows Faiss trains on (vqpq samples as many)")
    args = ap.parse_args()

    base = read_images("train-images-idx3-ubyte.gz")
    queries = read_images("t10k-images-idx3-ubyte.gz")[:args.queries]

    kth = exact_kth(base, queries)

    # Faiss IVF-PQ on residuals, trained on a random sample of the same size
    rng = np.random.default_rng(1)
    train = base[rng.choice(len(base), size=min(args.train_rows, len(base)), replace=False)]
    t0 = time.perf_counter()
    ivfpq = faiss.IndexIVFPQ(faiss.IndexFlatL2(base.shape[1]), base.shape[1], args.nlist, args.m, args.nbits)
    ivfpq.train(train)
    ivfpq.add(base)
    faiss_build = time.perf_counter() - t0

    ensure_table(max(args.queries, 1))
    psql("DROP INDEX IF EXISTS fmnist_bench_ivfpq")
    t0 = time.perf_counter()
    psql(f"CREATE INDEX fmnist_bench_ivfpq ON fmnist_bench USING ivfpq (embedding) "
         f"WITH (nlist = {args.nlist}, m = {args.m}, nbits = {args.nbits})")
    vqpq_build = time.perf_counter() - t0

    print(f"Fashion-MNIST 60,000 x 784, {args.queries} queries, nlist={args.nlist} m={args.m} "
          f"nbits={args.nbits}; build: Faiss {faiss_build:.1f} s (in memory), vqpq {vqpq_build:.1f} s (SQL)\n")
    print("| nprobe | Faiss IVFPQ recall@10 | vqpq ADC (rerank 0) | difference | vqpq rerank 100 | vqpq ms/query (rerank 100) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for nprobe in [int(x) for x in args.nprobe.split(",")]:
        ivfpq.nprobe = nprobe
        _, faiss_ids = ivfpq.search(queries, 10)
        r_faiss = recall([list(row) for row in faiss_ids], queries, base, kth)
        found, _ = vqpq_search(nprobe, 0, args.queries)
        r_adc = recall(found, queries, base, kth)
        found, per_query = vqpq_search(nprobe, 100, args.queries)
        r_rerank = recall(found, queries, base, kth)
        print(f"| {nprobe} | {r_faiss:.4f} | {r_adc:.4f} | {r_adc - r_faiss:+.4f} | {r_rerank:.4f} | {per_query * 1000:.2f} |")


if __name__ == "__main__":
    main()
