"""Exact answers, in float64, over the base read in chunks: the k-th nearest
distance of each query, unfiltered and under each filter; recall of an
engine's answers against them; and the categories that filtered queries test."""
import numpy as np

K = 10


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)


def distances(q64, rows, metric):
    """(len(q64), len(rows)) float64 distances: squared L2, or 1 - cosine
    (q64 already unit-length for cosine)."""
    b = rows.astype(np.float64)
    if metric == "cosine":
        return 1.0 - q64 @ _unit(b).T
    return (b * b).sum(axis=1)[None, :] + (q64 * q64).sum(axis=1)[:, None] - 2.0 * (q64 @ b.T)


def _k_smallest(d):
    if d.shape[1] <= K:
        return d
    return np.partition(d, K - 1, axis=1)[:, :K]


class Filter:
    """WHERE <column> = <the query's qcolumn>: base_labels for every base row,
    query_labels one per query."""

    def __init__(self, kind, ncat, column, qcolumn, base_labels, query_labels):
        self.kind, self.ncat, self.column, self.qcolumn = kind, ncat, column, qcolumn
        self.base_labels, self.query_labels = base_labels, query_labels
        self.kth = self.matches = None

    @property
    def label(self):
        return f"{self.kind}, {100.0 / self.ncat:g}%"


def exact_truth(ds, metric, filters=()):
    """The k-th smallest exact distance per query (unfiltered), and sets each
    filter's kth (inf where fewer than K rows match) and matches (rows per
    query that pass it)."""
    q = ds.queries.astype(np.float64)
    if metric == "cosine":
        q = _unit(q)
    nq = len(q)
    best = np.full((nq, 0), np.inf)
    fbest = [np.full((nq, 0), np.inf) for _ in filters]
    for f in filters:
        f.matches = np.zeros(nq, dtype=np.int64)
    for s, rows in ds.chunks(max(4096, min(65536, (1 << 24) // nq))):
        d = distances(q, rows, metric)
        best = _k_smallest(np.concatenate([best, _k_smallest(d)], axis=1))
        for i, f in enumerate(filters):
            match = f.base_labels[s:s + len(rows)][None, :] == f.query_labels[:, None]
            f.matches += match.sum(axis=1)
            fd = np.where(match, d, np.inf)
            fbest[i] = _k_smallest(np.concatenate([fbest[i], _k_smallest(fd)], axis=1))
    for f, b in zip(filters, fbest):
        f.kth = np.sort(b, axis=1)[:, K - 1] if b.shape[1] >= K else np.full(nq, np.inf)
    return np.sort(best, axis=1)[:, K - 1]


def score(found, ds, metric, kth, matches=None):
    """recall@K of found (one list of 0-based row numbers per query) against
    the exact k-th distances, counting ties as hits; a query with fewer than K
    matching rows wants only those.  Also the number of queries that got fewer
    rows than they want (the short ones)."""
    want = np.full(len(found), K) if matches is None else np.minimum(K, matches)
    flat = [i for ids in found for i in ids]
    vecs = ds.rows(flat).astype(np.float64) if flat else np.zeros((0, ds.d))
    hits = short = at = 0
    for qi, ids in enumerate(found):
        v = vecs[at:at + len(ids)]
        at += len(ids)
        if len(ids) < want[qi]:
            short += 1
        if not len(ids):
            continue
        qv = ds.queries[qi].astype(np.float64)
        if metric == "cosine":
            d = 1.0 - (v @ qv) / np.maximum(np.linalg.norm(v, axis=1) * np.linalg.norm(qv), 1e-300)
        else:
            d = ((v - qv) ** 2).sum(axis=1)
        t = kth[qi]
        hits += min(int(want[qi]), int((d <= t + 1e-9 * abs(t)).sum()) if np.isfinite(t) else len(ids))
    return hits / max(1, int(want.sum())), short


# ---------------------------------------------------------------- categories

def kmeans(x, k, seed, iters=10):
    """Lloyd's k-means from k random rows of x (float32); the centres."""
    rng = np.random.default_rng(seed)
    c = x[rng.choice(len(x), size=k, replace=False)].copy()
    for _ in range(iters):
        lab = nearest(x, c)
        order = np.argsort(lab, kind="stable")
        cnt = np.bincount(lab, minlength=k)
        have = np.flatnonzero(cnt)
        # sums of each non-empty cluster's rows, from the rows sorted by cluster
        sums = np.add.reduceat(x[order].astype(np.float64), np.concatenate([[0], np.cumsum(cnt[have])[:-1]]))
        c[have] = (sums / cnt[have][:, None]).astype(np.float32)
        empty = np.flatnonzero(cnt == 0)
        c[empty] = x[rng.choice(len(x), size=len(empty), replace=False)]
    return c


def nearest(x, c):
    """Index of the nearest centre (L2) of each row of x."""
    cn = (c * c).sum(axis=1)
    out = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), 16384):
        out[s:s + 16384] = np.argmin(cn[None, :] - 2.0 * (x[s:s + 16384] @ c.T), axis=1)
    return out


def tree(sample, seed, fanout=10, depth=3):
    """Hierarchical k-means: fanout clusters, each split into fanout, depth
    levels deep (10, 100, 1000 leaves): [(centres, children)] per node.
    Cheap without a fast BLAS, unlike a flat k-means into 1000."""
    k = min(fanout, len(sample))
    c = kmeans(sample, k, seed)
    if depth == 1:
        return [(c, None)]
    lab = nearest(sample, c)
    return [(c, [tree(sample[lab == j], seed + j + 1, fanout, depth - 1) if (lab == j).sum() >= fanout else None
                 for j in range(k)])]


def leaf_labels(x, node, fanout=10, depth=3):
    """Leaf number (0 .. fanout^depth - 1) of each row of x in the tree: its
    leading digit is the top-level cluster, and so on."""
    c, children = node[0]
    lab = nearest(x, c)
    if depth == 1:
        return lab
    out = lab * fanout ** (depth - 1)
    for j in range(len(c)):
        rows = lab == j
        if rows.any() and children[j] is not None:
            out[rows] += leaf_labels(x[rows], children[j], fanout, depth - 1)
    return out


def make_filters(ds, metric, kinds, ncats=(10, 100, 1000), seed=11):
    """Filters for each kind and number of categories (10% 1% 0.1%):
    random     a category drawn at random for each row and query (uncorrelated
               with the vectors)
    near       category = the row's cluster in a 10 x 10 x 10 hierarchical
               k-means (10, 100 or 1000 categories: the first one, two or
               three levels; correlated); the query asks for its own cluster,
               so its neighbours mostly match (a shoe photo filtered on
               "shoes")
    far        the same clusters, the query asks for a random one: matches
               mostly lie far from it
    Clustering runs on a sample (cosine data normalized first)."""
    rng = np.random.default_rng(seed)
    nq = len(ds.queries)
    filters = []
    if "random" in kinds:
        for k in ncats:
            filters.append(Filter("random", k, f"r{k}", f"r{k}", rng.integers(0, k, ds.n).astype(np.int32),
                                  rng.integers(0, k, nq).astype(np.int32)))
    if "near" in kinds or "far" in kinds:
        def prep(x):
            return _unit(x.astype(np.float64)).astype(np.float32) if metric == "cosine" else x
        sample = prep(ds.rows(np.sort(rng.choice(ds.n, size=min(ds.n, 20000), replace=False))))
        top = tree(sample, seed)
        leaves = np.concatenate([leaf_labels(prep(rows), top) for _, rows in ds.chunks()])
        qleaves = leaf_labels(prep(ds.queries), top)
        for k in ncats:
            div = 1000 // k  # the tree has 1000 leaves
            labels = (leaves // div).astype(np.int32)
            if "near" in kinds:
                filters.append(Filter("near", k, f"k{k}", f"kn{k}", labels, (qleaves // div).astype(np.int32)))
            if "far" in kinds:
                filters.append(Filter("far", k, f"k{k}", f"kf{k}", labels,
                                      rng.choice(np.unique(labels), nq).astype(np.int32)))
    return filters
