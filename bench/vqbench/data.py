"""Datasets: a base set read in chunks (so that ten million rows need not be
in memory, let alone twice), random access to its rows for scoring, and the
queries, held out of the base."""
import gzip
import json
import os
import shutil
import sys
import tempfile

import numpy as np

CHUNK = 65536  # rows a chunk; synthetic data is drawn per chunk of this size


class Dataset:
    """base: an array-like of float32 rows (an ndarray or a memmap); select:
    the rows of it that make the dataset (--rows), or None for all."""

    def __init__(self, name, base, queries, metric, select=None, note="", cleanup=None):
        self.name, self.metric, self.note = name, metric, note
        self._base, self._select, self._cleanup = base, select, cleanup
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.n = len(select) if select is not None else len(base)
        self.d = base.shape[1]

    def rows(self, ids):
        """The float32 rows of these base row numbers (0-based)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._select is not None:
            ids = self._select[ids]
        return np.asarray(self._base[ids], dtype=np.float32)

    def chunks(self, size=CHUNK):
        """(first row number, float32 rows) over the whole base, in order."""
        for s in range(0, self.n, size):
            e = min(self.n, s + size)
            if self._select is None:
                yield s, np.asarray(self._base[s:e], dtype=np.float32)
            else:
                yield s, np.asarray(self._base[self._select[s:e]], dtype=np.float32)

    def close(self):
        """Removes scratch files (synthetic data)."""
        self._base = None
        if self._cleanup:
            self._cleanup()


def fvecs_memmap(path):
    """A TEXMEX .fvecs file as an (n, d) float32 view on disk."""
    d = int(np.fromfile(path, dtype=np.int32, count=1)[0])
    raw = np.memmap(path, dtype=np.float32, mode="r")
    return raw.reshape(-1, d + 1)[:, 1:]


def subset(n_total, rows, seed=3):
    """--rows of a file's base: a fixed-seed random choice of rows, in file
    order (the first rows of a file can be a biased sample: GloVe's are the
    most frequent words)."""
    if rows is None or rows >= n_total:
        if rows is not None and rows > n_total:
            sys.exit(f"--rows {rows:,}: the dataset has {n_total:,} rows")
        return None
    return np.sort(np.random.default_rng(seed).choice(n_total, size=rows, replace=False))


def named_dataset(name, datasets_dir, rows, nqueries):
    """A dataset fetched by scripts/datasets.sh into datasets_dir/name."""
    d = os.path.join(datasets_dir, name)
    info_path = os.path.join(d, "info.json")
    if not os.path.exists(info_path):
        sys.exit(f"dataset {name} is not in {datasets_dir}: bash scripts/datasets.sh {name} fetches it")
    with open(info_path) as f:
        info = json.load(f)
    base = fvecs_memmap(os.path.join(d, "base.fvecs"))
    queries = fvecs_memmap(os.path.join(d, "query.fvecs"))[:nqueries]
    return Dataset(name, base, queries, info["metric"], subset(len(base), rows), info.get("source", ""))


def fashion_mnist(rows, nqueries):
    def images(name):
        with gzip.open(f"/usr/share/datasets/fashion-mnist/{name}", "rb") as f:
            data = f.read()
        n, r, c = np.frombuffer(data[4:16], dtype=">u4")
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, r * c).astype(np.float32)
    base = images("train-images-idx3-ubyte.gz")
    return Dataset("fashion-mnist", base, images("t10k-images-idx3-ubyte.gz")[:nqueries], "l2",
                   subset(len(base), rows), "Debian package dataset-fashion-mnist")


def synthetic(n, d, clusters, nqueries, seed=42, workdir=None):
    """n rows of d dims around `clusters` centres uniform in [-10, 10]^d, unit
    Gaussian noise; chunk i is drawn from its own generator (seed, i), so the
    data is the same whatever reads it and in whatever pieces.  Written once to
    a scratch file (4*n*d bytes) that the OS may page out, and read from there."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(clusters, d)).astype(np.float32)

    def draw(gen, count):
        return centers[gen.integers(0, clusters, count)] + gen.standard_normal((count, d), dtype=np.float32)

    tmp = tempfile.mkdtemp(prefix="vqbench-", dir=workdir)
    path = os.path.join(tmp, "base.f32")
    with open(path, "wb") as f:  # written, not through a writable map: no dirty mapped pages
        for i, s in enumerate(range(0, n, CHUNK)):
            f.write(draw(np.random.default_rng([seed, i]), min(n, s + CHUNK) - s).tobytes())
    base = np.memmap(path, dtype=np.float32, mode="r", shape=(n, d))
    queries = draw(np.random.default_rng([seed, 1 << 31]), nqueries)
    return Dataset(f"synthetic:{n}:{d}:{clusters}", base, queries, "l2",
                   note=f"{clusters} Gaussian clusters, seed {seed}", cleanup=lambda: shutil.rmtree(tmp))


def hdf5(path, rows, nqueries):
    try:
        import h5py
    except ImportError:
        sys.exit("HDF5 datasets need python3-h5py")
    f = h5py.File(path, "r")
    base = f["train"]
    metric = "cosine" if f.attrs.get("distance", "") in ("angular", "cosine") else "l2"
    return Dataset(os.path.basename(path), np.asarray(base, dtype=np.float32),
                   np.asarray(f["test"], dtype=np.float32)[:nqueries], metric, subset(len(base), rows))


def load_dataset(spec, query_file, rows, nqueries, datasets_dir, workdir=None):
    if spec == "fashion-mnist":
        return fashion_mnist(rows, nqueries)
    if spec.startswith("synthetic:"):
        parts = [int(x) for x in spec.split(":")[1:]]
        n, d = parts[0], parts[1]
        if not (rows or n) or d < 1:
            sys.exit(f"{spec}: synthetic:N:D[:clusters] needs N (or --rows) and D")
        return synthetic(rows or n, d, parts[2] if len(parts) > 2 else 100, nqueries, workdir=workdir)
    if spec.endswith(".fvecs"):
        if not query_file:
            sys.exit("an .fvecs dataset needs --query-file")
        base = fvecs_memmap(spec)
        return Dataset(os.path.basename(spec), base, fvecs_memmap(query_file)[:nqueries], "l2",
                       subset(len(base), rows))
    if spec.endswith((".hdf5", ".h5")):
        return hdf5(spec, rows, nqueries)
    if "/" not in spec and "." not in spec:
        return named_dataset(spec, datasets_dir, rows, nqueries)
    sys.exit(f"unknown dataset {spec}")
