"""Settings sweeps that go as far as the recall needs: one axis (nprobe,
ef_search, probes) doubles until recall reaches the stop level, stops rising,
or runs out of values, for every combination of the other axes; then only
the settings no cheaper setting matches are timed."""
import itertools


class Axis:
    """A setting swept: name (for labels), guc (None: not a server setting),
    values in increasing cost."""

    def __init__(self, name, guc, values):
        self.name, self.guc, self.values = name, guc, list(values)


class Point:
    def __init__(self, settings, label, options, default=False):
        self.settings, self.label, self.options, self.default = settings, label, options, default
        self.recall = self.short = None
        self.timed = False
        self.qps = {}  # clients -> (qps, p50 ms, p99 ms)
        self.cold = None  # (qps, p50 ms, p99 ms, MB left cached) from a cold cache, one client


def doubling(first, last):
    """first, 2 first, 4 first, ... and last itself."""
    out, v = [], first
    while v < last:
        out.append(v)
        v *= 2
    out.append(last)
    return out


def make_point(fixed, settings, axes):
    # an axis of one value is a constant of the sweep: not in the label
    label = " ".join(f"{a.name}={settings[a.name]}" for i, a in enumerate(axes) if i == 0 or len(a.values) > 1)
    opts = " ".join([fixed] + [f"-c {a.guc}={settings[a.name]}" for a in axes if a.guc]).strip()
    return Point(settings, label, opts)


def adaptive(evaluate, fixed, inner, outer, stop):
    """Points over inner x outer axes, each scored by evaluate(point) (which
    sets recall and short).  Along inner, stops at recall >= stop or when two
    more steps gained under 0.001."""
    axes = [inner] + list(outer)
    points = []
    for combo in itertools.product(*[a.values for a in outer]):
        seen = []
        for v in inner.values:
            settings = dict(zip([a.name for a in outer], combo))
            settings[inner.name] = v
            p = make_point(fixed, settings, axes)
            evaluate(p)
            points.append(p)
            seen.append(p.recall)
            if p.recall >= stop or (len(seen) >= 3 and seen[-1] <= seen[-3] + 0.001):
                break
    return points


def undominated(points):
    """Points for which no other point is as cheap or cheaper on every axis
    with at least the same recall (the cost of every axis rises with its
    value), i.e. the ones worth timing."""
    keep = []
    for p in points:
        beaten = any(q is not p and q.settings != p.settings and q.recall >= p.recall
                     and all(q.settings[k] <= p.settings[k] for k in p.settings) for q in points)
        if not beaten:
            keep.append(p)
    return keep


def best_at(points, target, clients=1):
    """The timed point with the most QPS at recall >= target, or None."""
    ok = [p for p in points if p.timed and clients in p.qps and p.recall >= target]
    return max(ok, key=lambda p: p.qps[clients][0]) if ok else None
