#!/usr/bin/python3
"""Checks of the benchmark's own arithmetic, without a server: exact answers
(unfiltered and filtered) against brute force, recall and short counts, the
sweep's pruning, synthetic data's determinism and the binary COPY layout.
  /usr/bin/python3 bench/test_vqbench.py"""
import os
import struct
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqbench import sweep  # noqa: E402
from vqbench.data import Dataset, synthetic  # noqa: E402
from vqbench.server import binary_rows  # noqa: E402
from vqbench.truth import K, exact_truth, make_filters, score  # noqa: E402


def brute(ds, metric):
    b = ds.rows(np.arange(ds.n)).astype(np.float64)
    q = ds.queries.astype(np.float64)
    if metric == "cosine":
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        return 1 - q @ b.T
    return ((q[:, None, :] - b[None, :, :]) ** 2).sum(-1)


class Truth(unittest.TestCase):
    def setUp(self):
        self.ds = synthetic(3000, 16, 10, 20)

    def tearDown(self):
        self.ds.close()

    def test_exact_and_filtered(self):
        for metric in ("l2", "cosine"):
            filters = make_filters(self.ds, metric, ["random", "near", "far"])
            kth = exact_truth(self.ds, metric, filters)
            d = brute(self.ds, metric)
            np.testing.assert_allclose(kth, np.sort(d, axis=1)[:, K - 1], rtol=1e-9, atol=1e-9)
            found = [list(np.argsort(row)[:K]) for row in d]
            self.assertEqual(score(found, self.ds, metric, kth), (1.0, 0))
            for f in filters:
                match = f.base_labels[None, :] == f.query_labels[:, None]
                fd = np.where(match, d, np.inf)
                np.testing.assert_array_equal(match.sum(axis=1), f.matches)
                ref = np.sort(fd, axis=1)[:, K - 1]
                np.testing.assert_array_equal(np.isinf(ref), np.isinf(f.kth))
                np.testing.assert_allclose(ref[np.isfinite(ref)], f.kth[np.isfinite(f.kth)])
                best = [list(np.argsort(row)[:min(K, m)]) for row, m in zip(fd, f.matches)]
                self.assertEqual(score(best, self.ds, metric, f.kth, f.matches), (1.0, 0))
                # half the answers: recall about 0.5, and short wherever 10 matched
                r, short = score([x[:5] for x in best], self.ds, metric, f.kth, f.matches)
                if (f.matches > 5).any():
                    self.assertLess(r, 1.0)
                self.assertEqual(short, int((f.matches > 5).sum()))

    def test_ties_count_as_hits(self):
        base = np.zeros((30, 4), np.float32)
        ds = Dataset("ties", base, np.ones((1, 4), np.float32), "l2")
        kth = exact_truth(ds, "l2")
        self.assertEqual(score([list(range(20, 30))], ds, "l2", kth), (1.0, 0))

    def test_synthetic_is_deterministic_and_samples(self):
        other = synthetic(3000, 16, 10, 20)
        np.testing.assert_array_equal(self.ds.rows(np.arange(3000)), other.rows(np.arange(3000)))
        np.testing.assert_array_equal(self.ds.queries, other.queries)
        other.close()


class Sweep(unittest.TestCase):
    def test_adaptive_stops_and_prunes(self):
        curves = {50: {1: 0.4, 2: 0.7, 4: 0.9, 8: 0.9, 16: 0.9}, 100: {1: 0.5, 2: 0.8, 4: 0.996, 8: 1, 16: 1}}

        def evaluate(p):
            p.recall, p.short = curves[p.settings["rerank"]][p.settings["nprobe"]], 0

        inner = sweep.Axis("nprobe", "vqpq.nprobe", sweep.doubling(1, 16))
        pts = sweep.adaptive(evaluate, "", inner, [sweep.Axis("rerank", "vqpq.rerank", [50, 100])], 0.995)
        tried = [(p.settings["nprobe"], p.settings["rerank"]) for p in pts]
        # rerank 50 stops when two doublings gained nothing, rerank 100 at recall 0.995
        self.assertEqual(tried, [(1, 50), (2, 50), (4, 50), (8, 50), (16, 50), (1, 100), (2, 100), (4, 100)])
        self.assertEqual(pts[0].options, "-c vqpq.nprobe=1 -c vqpq.rerank=50")
        self.assertEqual(pts[0].label, "nprobe=1 rerank=50")
        keep = [(p.settings["nprobe"], p.settings["rerank"]) for p in sweep.undominated(pts)]
        self.assertEqual(keep, [(1, 50), (2, 50), (4, 50), (1, 100), (2, 100), (4, 100)])


class Copy(unittest.TestCase):
    def test_binary_layout(self):
        v = np.array([[1.5, -2.0, 3.25]], np.float32)
        raw = binary_rows(7, v, [np.array([42], np.int32)])
        self.assertEqual(raw, struct.pack(">hii" "ihh3f" "ii", 3, 4, 7, 4 + 12, 3, 0, 1.5, -2.0, 3.25, 4, 42))


if __name__ == "__main__":
    unittest.main()
