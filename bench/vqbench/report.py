"""results.md, results.jsonl and the recall-vs-QPS plots of a run."""
import json
import os

from .sweep import best_at

TARGETS = (0.95, 0.99)
HNSW = "pgvector hnsw"


def _f(v, fmt):
    return format(v, fmt) if v is not None else ""


def jsonl_rows(run):
    """One dict per scored point (timed or not), with the run's facts."""
    base = dict(dataset=run["dataset"], rows=run["rows"], dims=run["dims"], metric=run["metric"],
                queries=run["queries"])
    for storage, part in run["storages"].items():
        for section, flt_label, engine, res in _each(part):
            b = res["build"]
            for p in res["points"]:
                row = dict(base, storage=storage, mode=section, filter=flt_label, engine=engine, setting=p.label,
                           settings=p.settings, default=p.default, recall=p.recall, timed=p.timed,
                           build_s=b.get("build_s"), size_mb=b.get("size_mb"), build_workers=b.get("workers"),
                           build_peak_rss_mb=b.get("peak_rss_mb"), plan_uses_index=res.get("plan_ok"))
                if flt_label:
                    row.update(short=p.short, matches_mean=res["matches_mean"], matching=res["matching"])
                for c, (q, p50, p99) in p.qps.items():
                    row.update({f"qps_{c}": q, f"p50_ms_{c}": p50, f"p99_ms_{c}": p99})
                if p.cold:
                    row.update(cold_qps_1=p.cold[0], cold_p50_ms_1=p.cold[1], cold_p99_ms_1=p.cold[2],
                               cold_mb_left_cached=p.cold[3])
                yield row


def _each(part):
    for engine, res in part["unfiltered"].items():
        yield "unfiltered", None, engine, res
    for flt_label, engines in part["filtered"].items():
        for engine, res in engines.items():
            yield "filtered", flt_label, engine, res


def points_table(results, clients, filtered=False):
    header = ["engine", "setting", "recall@10"] + (["short"] if filtered else [])
    for c in clients:
        header += [f"QPS x{c}", f"p50 ms x{c}", f"p99 ms x{c}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    hidden = 0
    for engine, res in results.items():
        for p in res["points"]:
            if not p.timed:
                hidden += 1
                continue
            cells = [engine, f"**{p.label}**" if p.default else p.label, f"{p.recall:.4f}"]
            if filtered:
                cells.append(str(p.short))
            for c in clients:
                q = p.qps.get(c)
                cells += [f"{q[0]:.0f}", f"{q[1]:.2f}", f"{q[2]:.2f}"] if q else ["", "", ""]
            lines.append("| " + " | ".join(cells) + " |")
    if hidden:
        lines += ["", f"{hidden} further settings were scored for recall only (a setting no costlier on any axis "
                      "had at least their recall); all are in results.jsonl."]
    return lines


def builds_table(builds):
    """builds: engine -> list of build dicts (one per parallel worker count)."""
    lines = ["| engine | parallel workers | build s | peak backend memory MB | index MB |", "|---|---|---|---|---|"]
    for engine, blist in builds.items():
        for b in blist:
            w = "server default" if b["workers"] is None else str(b["workers"])
            lines.append(f"| {engine} | {w} | {b['build_s']:.1f} | {_f(b.get('peak_rss_mb'), '.0f')} | "
                         f"{_f(b.get('size_mb'), '.1f')} |")
    return lines


def cold_table(results):
    lines = ["| engine | setting | recall@10 | warm QPS x1 | cold QPS x1 | cold p50 / p99 ms | MB left in the OS cache |",
             "|---|---|---|---|---|---|---|"]
    for engine, res in results.items():
        for p in res["points"]:
            if p.cold:
                lines.append(f"| {engine} | {p.label} | {p.recall:.4f} | {p.qps[1][0]:.0f} | {p.cold[0]:.0f} | "
                             f"{p.cold[1]:.2f} / {p.cold[2]:.2f} | {p.cold[3]:.0f} |")
    return lines if len(lines) > 2 else []


def defaults_line(results, clients):
    """The point with nothing set, for each engine that has one."""
    out = []
    for engine, res in results.items():
        d = next((p for p in res["points"] if p.default), None)
        if d:
            out.append(f"{engine} ({d.label}): recall {d.recall:.4f}, "
                       + ", ".join(f"{d.qps[c][0]:.0f} QPS x{c}" for c in clients if c in d.qps))
    return out


def ratio_table(results, clients, filtered=False):
    """For each engine and target recall, the best QPS (x1 and, when
    measured, with the most clients) and its ratio to HNSW's in this run."""
    cs = sorted({1, max(clients)})
    header = ["engine", "build s", "index MB", "defaults: recall, QPS x1"]
    for t in TARGETS:
        for c in cs:
            header += [f"best QPS x{c} at recall >= {t}", "x HNSW"]
    if filtered:
        header.append("short (best >= 0.95)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    h = results.get(HNSW)
    for engine, res in results.items():
        b = res["build"]
        d = next((p for p in res["points"] if p.default), None)
        cells = [engine, _f(b.get("build_s"), ".1f"), _f(b.get("size_mb"), ".1f"),
                 f"{d.recall:.4f}, {d.qps[1][0]:.0f}" if d and 1 in d.qps else ""]
        for t in TARGETS:
            for c in cs:
                p = best_at(res["points"], t, c)
                hp = best_at(h["points"], t, c) if h else None
                cells.append(f"{p.qps[c][0]:.0f} ({p.label}, {p.recall:.4f})" if p else "-")
                cells.append(f"{p.qps[c][0] / hp.qps[c][0]:.2f}x" if p and hp else "")
        if filtered:
            p = best_at(res["points"], TARGETS[0], 1)
            cells.append(str(p.short) if p else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(run):
    clients, fclients = run["clients"], run["filtered_clients"]
    lines = [f"{run['dataset']}: {run['rows']:,} x {run['dims']}, {run['queries']} queries, {run['metric']}; "
             f"{run['server']}; this machine ({os.cpu_count()} cores), {run['date']}", ""]
    if run.get("note"):
        lines += [run["note"], ""]
    for storage, part in run["storages"].items():
        lines += [f"## Column storage: {storage}", "",
                  f"vector data {part['vector_mb']:.1f} MB, table {part['table_mb']:.1f} MB "
                  f"(heap and TOAST), loaded in {part['load_s']:.0f} s", ""]
        if part["builds"]:
            lines += ["### Index builds (peak memory: the backend's and its workers' RssAnon, sampled)", ""]
            lines += builds_table(part["builds"]) + [""]
        if part["unfiltered"]:
            lines += ["### Defaults (nothing set)", ""]
            lines += [f"- {x}" for x in defaults_line(part["unfiltered"], clients)] + [""]
            lines += ["### Best per target recall, against pgvector HNSW (m 16, ef_construction 64) in this run",
                      ""] + ratio_table(part["unfiltered"], clients) + [""]
            cold = cold_table(part["unfiltered"])
            if cold:
                lines += ["### Cold cache (server restarted, the tables' and indexes' files dropped from the OS "
                          f"cache; {run['cold_seconds']} s of one client)", ""] + cold + [""]
            lines += ["### Every timed setting (defaults in bold)", ""] + points_table(part["unfiltered"], clients)
            lines += [""]
        if part.get("columns"):
            lines += ["### The same ivfpq index on a pqvector and on a pgvector vector column", "",
                      "QPS x1 at the same settings, medians of runs alternating between the two columns.", "",
                      "| setting | pqvector column | vector column | vector / pqvector |", "|---|---|---|---|"]
            for c in part["columns"]:
                lines.append(f"| {c['setting']} | {c['pqvector_qps']:.0f} | {c['vector_qps']:.0f} | "
                             f"{c['vector_qps'] / c['pqvector_qps']:.3f} |")
            lines += [""]
        if part["filtered"]:
            lines += ["### Filtered: WHERE category = c ORDER BY embedding <op> q LIMIT 10", "",
                      "random: categories drawn at random (uncorrelated); near: category = k-means cluster, the "
                      "query asks for its own; far: k-means clusters, a random one asked for. 'short': queries "
                      "that got fewer than 10 rows while 10 or more matched (fewer than the matching rows, when "
                      "fewer matched). vqpq ivfpq + filter columns: an index on (embedding, category columns), "
                      "whose scan applies the WHERE clause; vqpq ivfpq: the index on the vector alone with "
                      "vqpq.iterative_scan = relaxed_order; HNSW with hnsw.iterative_scan = relaxed_order.", ""]
            for flt_label, engines in part["filtered"].items():
                any_res = next(iter(engines.values()))
                lines += [f"#### {flt_label} ({any_res['matching']})", ""]
                lines += ratio_table(engines, fclients, filtered=True) + [""]
                lines += points_table(engines, fclients, filtered=True) + [""]
    return "\n".join(lines) + "\n"


def frontier(pts):
    """The (recall, QPS) points that no other point beats on both."""
    out = []
    for r, q in sorted(pts, key=lambda x: (-x[0], -x[1])):
        if not out or q > out[-1][1]:
            out.append((r, q))
    return out[::-1]


def plot(run, out_dir):
    """recall vs QPS x1 per storage: each engine's frontier, a star at its
    defaults."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("python3-matplotlib is not installed: no plot")
        return
    for i, (storage, part) in enumerate(run["storages"].items()):
        if not part["unfiltered"]:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        for engine, res in part["unfiltered"].items():
            timed = [p for p in res["points"] if p.timed and 1 in p.qps]
            front = frontier([(p.recall, p.qps[1][0]) for p in timed if not p.default])
            line, = ax.plot([x[0] for x in front], [x[1] for x in front], marker="o", label=engine)
            for p in timed:
                if p.default:
                    ax.plot([p.recall], [p.qps[1][0]], marker="*", markersize=14, color=line.get_color(),
                            linestyle="none")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second (1 client)")
        ax.set_yscale("log")
        ax.set_title(f"{run['dataset']} ({run['rows']:,} x {run['dims']}, {run['metric']}, storage {storage}; "
                     "star: defaults)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        name = "recall_qps.png" if i == 0 else f"recall_qps_{storage.split()[0]}.png"
        fig.savefig(os.path.join(out_dir, name), dpi=100, bbox_inches="tight")
        print(f"plot: {os.path.join(out_dir, name)}")


def write(run, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.jsonl"), "w") as f:
        for row in jsonl_rows(run):
            f.write(json.dumps(row) + "\n")
    text = markdown(run)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print("\n" + text)
    plot(run, out_dir)
