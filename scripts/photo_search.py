#!/usr/bin/python3
"""Photo search with vqpq: "photo in, similar photos out", with a real CNN.

Turns a few hundred photographs from Debian packages (scripts/photo_sets.py),
and edited copies of some of them (cropped, mirrored, brightened, JPEG
re-compressed, shrunk), into 1,280-d MobileNetV2 embeddings
(demo/photos/embed.js, Node.js), loads them as pqvector(1280), builds an
ivfpq index (cosine) while showing its progress, and searches it: for each
edited copy, whether its original comes back first; for a few photos, and
for any image files named with --query, the ten most similar photos, timed,
through the index and exactly (enable_indexscan = off), with recall@10 of the
one against the other; and draws the answers as a contact sheet (PNG).

The database side (this script) knows nothing of the network: it reads the
embedder's "file <tab> ms <tab> [vector]" lines, so another embedder can take
its place.  Embeddings are kept in WORK/embeddings.tsv (the embedder is
deterministic), so a second run embeds only what is new.  Talks to the
server that the PG* environment variables point at, through psql.
Standard library only.

    photo_search.py [--set full|ci] [--query FILE ...] [--edited N]
                    [--queries N] [--png FILE] [--work DIR] [--json FILE]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NODE_DIR = os.path.join(ROOT, "demo", "photos")
sys.dont_write_bytecode = True     # no __pycache__ in the tree
sys.path.insert(0, HERE)
import photo_sets  # noqa: E402

KINDS = ["crop", "flip", "bright", "jpeg", "resize"]        # demo/photos/edit.js
def embedder_id():
    """What the cached embeddings were made with: the embedder's code and its
    pinned packages (a change to either embeds everything again)."""
    h = hashlib.sha256()
    for name in ("embed.js", "package-lock.json"):
        with open(os.path.join(NODE_DIR, name), "rb") as f:
            h.update(f.read())
    return "embed.js+package-lock.json sha256 " + h.hexdigest()[:16]


NULL = "\\N"          # COPY's NULL
GREY, GREEN, AMBER, RED, PLAIN = (90, 90, 90), (40, 160, 60), (230, 160, 20), (200, 40, 40), (170, 170, 170)


def psql(sql, stdin=None):
    """Run SQL; return the rows as lists of tab-separated fields."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def node(script, args, stdin=None):
    """Run one of demo/photos' programs; stop with its own message when it fails."""
    try:
        out = subprocess.run(["node", os.path.join(NODE_DIR, script)] + args, input=stdin,
                             capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("node is not installed: the photo demo needs Node.js 20.9 or later")
    if out.returncode != 0:
        sys.exit(out.stderr.strip() or f"{script} failed")
    return out.stdout


def make_edits(photos, n, work):
    """All five edits of n photos, half of them scenes and half objects where
    the set has both, each half spread evenly over its photos: (copy, original, kind)."""
    scenes = [p[0] for p in photos if p[1] == "scene"]
    objects = [p[0] for p in photos if p[1] != "scene"]
    n = min(n, len(photos))
    n_scenes = min(len(scenes), n // 2 if objects else n)
    n_objects = min(len(objects), n - n_scenes)
    n_scenes = min(len(scenes), n - n_objects)

    def spread(files, k):
        return [files[i * len(files) // k] for i in range(k)] if k else []
    chosen = spread(scenes, n_scenes) + spread(objects, n_objects)
    args = [x for f in chosen for kind in KINDS for x in (kind, f)]
    if not args:
        return []
    out = node("edit.js", [os.path.join(work, "edits")] + args)
    return [tuple(line.split("\t")) for line in out.splitlines()]


class Embeddings:
    """File -> (ms it took, vector text), from WORK/embeddings.tsv or the embedder.
    A file is embedded again when its size or modification time changes."""

    def __init__(self, work):
        self.path = os.path.join(work, "embeddings.tsv")
        self.known = {}
        self.new_ms = []
        self.load_ms = None
        self.model = "MobileNetV2 (demo/photos/embed.js)"
        if os.path.exists(self.path):
            with open(self.path) as f:
                if f.readline().rstrip("\n") == f"# {embedder_id()}":
                    for line in f:
                        key, ms, vector = line.rstrip("\n").rsplit("\t", 2)
                        self.known[key] = (float(ms), vector)

    @staticmethod
    def key(file):
        st = os.stat(file)
        return f"{os.path.realpath(file)}\t{st.st_size}\t{st.st_mtime_ns}"

    def get(self, files, what):
        missing = [f for f in dict.fromkeys(files) if self.key(f) not in self.known]
        if missing:
            self.embed(missing, what)
        return {f: self.known[self.key(f)] for f in files}

    def embed(self, files, what):
        print(f"  embedding {len(files):,} of the {what} ({len(self.known):,} others known from {self.path})",
              flush=True)
        try:
            proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "embed.js")], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            sys.exit("node is not installed: the photo demo needs Node.js 20.9 or later")
        proc.stdin.write("".join(f + "\n" for f in files))
        proc.stdin.close()
        new = not os.path.exists(self.path) or not self.known
        with open(self.path, "w" if new else "a") as cache:
            if new:
                cache.write(f"# {embedder_id()}\n")
            start = time.monotonic()
            for i, line in enumerate(proc.stdout, 1):
                file, ms, vector = line.rstrip("\n").split("\t")
                self.known[self.key(file)] = (float(ms), vector)
                self.new_ms.append(float(ms))
                cache.write(f"{self.key(file)}\t{ms}\t{vector}\n")
                if i % 50 == 0 or i == len(files):
                    print(f"  {time.monotonic() - start:6.1f} s  {i:,} of {len(files):,} embedded", flush=True)
        err = proc.stderr.read()
        if proc.wait() != 0:
            sys.exit("\n".join(line for line in err.splitlines() if not line.startswith("model loaded in "))
                     or "embed.js failed")
        for line in err.splitlines():
            if line.startswith("model loaded in "):         # "model loaded in N ms (what)"
                self.load_ms = float(line.split()[3])
                self.model = line.split("(", 1)[1].rstrip(")")


def load(rows, queries, embeddings):
    """photos(id, file, label, package, original, edit, embedding) and the searches to run."""
    psql("CREATE EXTENSION IF NOT EXISTS vqpq")
    psql("DROP TABLE IF EXISTS photos, searches, search_hits, search_times")
    psql("CREATE TABLE photos (id int PRIMARY KEY, file text NOT NULL, label text NOT NULL, package text NOT NULL, "
         "original int, edit text, embedding pqvector(1280) NOT NULL)")
    # 1,280 floats are 5 kB, which TOAST would move out of line: in the row,
    # re-ranking reads one page per candidate instead of a TOAST lookup
    psql("ALTER TABLE photos ALTER COLUMN embedding SET STORAGE PLAIN")
    lines = "".join(f"{r['id']}\t{r['file']}\t{r['label']}\t{r['package']}\t{r['original'] or NULL}\t"
                    f"{r['edit'] or NULL}\t{embeddings[r['file']][1]}\n" for r in rows)
    psql("\\copy photos FROM STDIN", stdin=lines)
    psql("VACUUM ANALYZE photos")
    psql("CREATE TABLE searches (qid int PRIMARY KEY, what text NOT NULL, file text NOT NULL, "
         "photo int, embedding pqvector(1280) NOT NULL)")
    lines = "".join(f"{q['qid']}\t{q['what']}\t{q['file']}\t{q['photo'] or NULL}\t{embeddings[q['file']][1]}\n"
                    for q in queries)
    psql("\\copy searches FROM STDIN", stdin=lines)


def build_index():
    """CREATE INDEX in one session while this one reports its progress (as image_search.py does)."""
    build = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                              "CREATE INDEX photos_embedding_idx ON photos USING ivfpq (embedding pqvector_cosine_ops)"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    last = None
    while build.poll() is None:
        rows = psql("SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index")
        if rows:
            phase, done, total = rows[0]
            phase = phase.replace("building index: ", "")
            detail = f"{int(done):,} of {int(total):,} rows" if int(total or 0) > 0 else ""
            if (phase, detail) != last:
                print(f"  {time.monotonic() - start:6.2f} s  {phase:<30} {detail}", flush=True)
                last = (phase, detail)
        time.sleep(0.05)
    _, err = build.communicate()
    if build.returncode != 0:
        sys.exit(f"CREATE INDEX failed: {err}")
    for line in err.splitlines():          # NOTICEs, e.g. for little data
        print(f"  {line}")
    seconds = time.monotonic() - start
    print(f"  {seconds:6.2f} s  done")
    return seconds


def search():
    """The 10 nearest photos to each search, through the index and exactly.  A
    search made from a photo in the table leaves that photo out, and an edited
    copy is looked up among the originals only, as a new upload would be: is
    its original the first answer?"""
    psql("""CREATE TABLE search_hits (qid int, how text, rank int, id int, distance float8);
            CREATE TABLE search_times (qid int, index_ms float8, exact_ms float8)""")
    psql("""DO $$
        DECLARE q record; t0 timestamptz; ms float8;
        BEGIN
            FOR q IN SELECT * FROM searches ORDER BY qid LOOP
                -- the index, which the planner might pass over for so small a table
                SET LOCAL enable_seqscan = off;
                t0 := clock_timestamp();
                INSERT INTO search_hits
                    SELECT q.qid, 'index', row_number() OVER (ORDER BY d), id, d
                      FROM (SELECT id, embedding <=> q.embedding AS d FROM photos
                             WHERE id IS DISTINCT FROM q.photo AND (q.what <> 'copy' OR edit IS NULL)
                             ORDER BY embedding <=> q.embedding LIMIT 10) nearest;
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                SET LOCAL enable_seqscan = on;
                SET LOCAL enable_indexscan = off;
                t0 := clock_timestamp();
                INSERT INTO search_hits
                    SELECT q.qid, 'exact', row_number() OVER (ORDER BY d), id, d
                      FROM (SELECT id, embedding <=> q.embedding AS d FROM photos
                             WHERE id IS DISTINCT FROM q.photo AND (q.what <> 'copy' OR edit IS NULL)
                             ORDER BY embedding <=> q.embedding LIMIT 10) nearest;
                INSERT INTO search_times VALUES (q.qid, ms, 1000 * extract(epoch FROM clock_timestamp() - t0));
                SET LOCAL enable_indexscan = on;
            END LOOP;
        END $$""")


def plan():
    """The plan of one search, to show that it goes through the index."""
    rows = psql("SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM photos "
                "ORDER BY embedding <=> (SELECT embedding FROM searches LIMIT 1) LIMIT 10")
    return next((r[0].strip() for r in rows if "Index Scan" in r[0]), rows[-1][0].strip() if rows else "")


def recall():
    """recall@10 of the index against the exact results, per search: the share
    of the index's rows whose distance is within the exact 10th (ties count)."""
    rows = psql("""SELECT s.qid, count(*) FILTER (WHERE i.distance <= e.kth + 1e-12)::float8 / e.n
                     FROM searches s
                     JOIN (SELECT qid, max(distance) AS kth, count(*) AS n FROM search_hits
                            WHERE how = 'exact' GROUP BY qid) e USING (qid)
                     JOIN search_hits i ON i.qid = s.qid AND i.how = 'index'
                    GROUP BY s.qid, e.n""")
    return {int(q): float(r) for q, r in rows}


def contact_sheet(path, rows):
    spec = {"out": os.path.abspath(path), "cell": 128, "frame": 5, "gap": 8, "rows": rows}
    width, height = node("sheet.js", [], stdin=json.dumps(spec)).split()
    return int(width), int(height)


def short(path, n=30):
    name = os.path.basename(path)
    return name if len(name) <= n else name[:n - 1] + "~"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="full", choices=sorted(photo_sets.SETS),
                    help="the photos (scripts/photo_sets.py): full, or ci (five)")
    ap.add_argument("--query", action="append", default=[], metavar="FILE",
                    help="an image file to search with (any JPEG, PNG, WebP, ...); may be repeated")
    ap.add_argument("--edited", type=int, default=40, help="photos to make the five edited copies of")
    ap.add_argument("--queries", type=int, default=5, help="photos of the set to search with and draw")
    ap.add_argument("--png", default="vqpq-photos.png", help="the contact sheet to write")
    ap.add_argument("--work", default=os.path.join(photo_sets.photo_cache(), "work"),
                    help="where the edited copies and the embeddings are kept")
    ap.add_argument("--json", help="also write the measurements to this file")
    args = ap.parse_args()
    for f in args.query:
        if not os.path.isfile(f):
            sys.exit(f"--query {f}: no such file")
    os.makedirs(args.work, exist_ok=True)

    print(f"== photos: set '{args.set}' from Debian packages, and edited copies of {args.edited}", flush=True)
    photos = photo_sets.photos(args.set, photo_sets.default_root())
    copies = make_edits(photos, args.edited, args.work)
    rows, by_file = [], {}
    for f, label, package, name in photos:
        by_file[f] = len(rows) + 1
        rows.append({"id": len(rows) + 1, "file": f, "name": name, "label": label, "package": package,
                     "original": None, "edit": None})
    for copy, original, kind in copies:
        o = rows[by_file[original] - 1]
        rows.append({"id": len(rows) + 1, "file": copy, "name": f"{o['name']} [{kind}]", "label": o["label"],
                     "package": o["package"], "original": o["id"], "edit": kind})
    packages = {}
    for _, _, package, _ in photos:
        packages[package] = packages.get(package, 0) + 1
    print("  " + ", ".join(f"{package} {n}" for package, n in packages.items())
          + f"; {len(copies)} edited copies ({', '.join(KINDS)}) in {os.path.join(args.work, 'edits')}")

    # searches: every copy (near-duplicates), a few originals that have copies, the user's files
    with_copies = sorted({r["original"] for r in rows if r["original"]})
    step = max(1, len(with_copies) // max(1, args.queries))
    samples = with_copies[::step][:args.queries]
    queries = [{"qid": r["id"], "what": "copy", "file": r["file"], "photo": r["id"]} for r in rows if r["edit"]]
    queries += [{"qid": i, "what": "sample", "file": rows[i - 1]["file"], "photo": i} for i in samples]
    queries += [{"qid": -(n + 1), "what": "file", "file": f, "photo": None} for n, f in enumerate(args.query)]

    print("\n== embedding with MobileNetV2 (demo/photos/embed.js)", flush=True)
    emb = Embeddings(args.work)
    t0 = time.monotonic()
    embeddings = emb.get([r["file"] for r in rows], "photos and copies")
    embeddings.update(emb.get(args.query, "--query files") if args.query else {})
    all_ms = [embeddings[r["file"]][0] for r in rows]
    ms_per_embedding = sum(all_ms) / len(all_ms)
    if emb.new_ms:
        print(f"  {len(emb.new_ms):,} embedded in {time.monotonic() - t0:.1f} s ({emb.model}): model loaded in "
              f"{emb.load_ms or 0:.0f} ms, then {sum(emb.new_ms) / len(emb.new_ms):.0f} ms per image "
              f"(decode, resize, network)")
    print(f"  {len(rows):,} vectors of 1,280 dimensions; {ms_per_embedding:.0f} ms per image when embedded "
          f"(all {len(rows):,}, some in an earlier run)")

    print(f"\n== loading {len(rows):,} rows as pqvector(1280)", flush=True)
    load(rows, queries, embeddings)
    size = psql("SELECT pg_size_pretty(pg_total_relation_size('photos'))")[0][0]
    print(f"  photos: {len(photos):,} photos + {len(copies):,} edited copies ({size})")

    print("\n== building the ivfpq index (cosine; progress from pg_stat_progress_create_index)", flush=True)
    build_s = build_index()
    info = psql("SELECT nlist, m, nbits, rows, pg_size_pretty(bytes), round(bytes_per_row), advice, nprobe "
                "FROM vqpq_index_info('photos_embedding_idx')")[0]
    print(f"  {int(info[3]):,} rows in {info[0]} lists, {info[1]} sub-quantizers x {info[2]} bits: "
          f"{info[4]} ({info[5]} bytes per row, 5,120 for the vector itself); advice: {info[6]}")

    print(f"\n== searching: {len(queries):,} searches, each through the index and exactly", flush=True)
    print(f"  plan: {plan()}")
    search()
    rec = recall()
    times = {int(q): (float(a), float(b)) for q, a, b in psql("SELECT qid, index_ms, exact_ms FROM search_times")}
    hits = {}
    for qid, how, rank, pid, d in psql("SELECT qid, how, rank, id, distance FROM search_hits ORDER BY qid, how, rank"):
        hits.setdefault((int(qid), how), []).append((int(pid), float(d)))
    row_of = {r["id"]: r for r in rows}

    def photo_of(pid):          # the original a row is, or is a copy of
        return row_of[pid]["original"] or pid

    print("\n== near-duplicates: each edited copy searched among the originals: is its original first?")
    print("  (scenes: wallpapers and other whole-scene photos; objects: Tux Paint's photos of single things on white)")
    print(f"  {'edit':<8} {'copies':>6} {'original 1st':>12} {'in the 10':>10} {'mean rank':>9} "
          f"{'exact: 1st':>10} {'scenes 1st':>10} {'objects 1st':>11}")
    near = {}
    for kind in KINDS:
        qs = [q for q in queries if q["what"] == "copy" and row_of[q["qid"]]["edit"] == kind]
        if not qs:
            continue
        first, top10, exact_first, ranks = 0, 0, 0, []
        group = {"scene": [0, 0], "object": [0, 0]}         # [first, copies]
        for q in qs:
            original = row_of[q["qid"]]["original"]
            found = [p for p, _ in hits.get((q["qid"], "index"), [])]
            exact = [p for p, _ in hits.get((q["qid"], "exact"), [])]
            hit = bool(found) and found[0] == original
            first += hit
            g = group["scene" if row_of[original]["label"] == "scene" else "object"]
            g[0] += hit
            g[1] += 1
            exact_first += bool(exact) and exact[0] == original
            if original in found:
                top10 += 1
                ranks.append(found.index(original) + 1)
        n = len(qs)
        near[kind] = {"copies": n, "original_first": first / n, "original_in_10": top10 / n,
                      "exact_original_first": exact_first / n,
                      "mean_rank": sum(ranks) / len(ranks) if ranks else None,
                      "scenes": group["scene"], "objects": group["object"]}
        print(f"  {kind:<8} {n:>6} {first:>7}/{n:<4} {top10:>5}/{n:<4} {near[kind]['mean_rank'] or 0:>9.2f} "
              f"{exact_first:>5}/{n:<4} {'%d/%d' % tuple(group['scene']):>10} {'%d/%d' % tuple(group['object']):>11}")
    if near:
        n = sum(v["copies"] for v in near.values())
        f = round(sum(v["original_first"] * v["copies"] for v in near.values()))
        print(f"  {'all':<8} {n:>6} {f:>7}/{n:<4}  ({100 * f / n:.1f}% of the copies find their original first; "
              f"'in the 10': among the 10 nearest, 'mean rank': its place there)")

    print("\n== photo in, similar photos out: the 10 nearest photos to each query photo")
    print("  (frames in the sheet: green = the same photo, an edited copy or the original; amber = the same "
          "kind (label); red = another kind; grey = a query file, which has no label)")
    sheet = []
    shown = [q for q in queries if q["what"] in ("sample", "file")]
    for q in shown:
        found = hits.get((q["qid"], "index"), [])
        qrow = row_of.get(q["photo"]) if q["photo"] else None
        label = qrow["label"] if qrow else "(your file)"
        cells = [{"file": q["file"], "colour": list(GREY)}]
        same_photo = same_label = 0
        for pid, _ in found:
            r = row_of[pid]
            if qrow and photo_of(pid) == photo_of(qrow["id"]):
                colour, same_photo = GREEN, same_photo + 1
            elif qrow and r["label"] == qrow["label"]:
                colour, same_label = AMBER, same_label + 1
            else:
                colour = RED if qrow else PLAIN
            cells.append({"file": r["file"], "colour": list(colour)})
        sheet.append(cells)
        index_ms, exact_ms = times[q["qid"]]
        print(f"\n  {short(qrow['name'] if qrow else q['file'], 40)} [{label}]  index {index_ms:.2f} ms, exact {exact_ms:.2f} ms, "
              f"recall@10 {rec.get(q['qid'], 0):.2f}"
              + (f", {same_photo} copies of it and {same_label} more of its kind in the 10" if qrow else ""))
        for rank, (pid, d) in enumerate(found, 1):
            r = row_of[pid]
            what = f"edited copy ({r['edit']})" if r["edit"] else "photo"
            print(f"    {rank:>2}. {d:.3f}  {short(r['name'], 36):<36} {r['label']:<20} {what}")

    index_ms = [t[0] for t in times.values()]
    exact_ms = [t[1] for t in times.values()]
    mean_recall = sum(rec.values()) / len(rec) if rec else 0.0
    sampled = psql("SELECT round(recall::numeric, 3), queries_run FROM "
                   "vqpq_index_recall('photos_embedding_idx', 10, 100)")[0]
    print(f"\n== recall and speed\n  recall@10 of the index against exact search: {mean_recall:.3f} over the "
          f"{len(rec):,} searches above; {sampled[0]} on {sampled[1]} rows sampled by vqpq_index_recall "
          f"(vqpq.nprobe and vqpq.rerank at their defaults)")
    print(f"  per search, in the server: index {sum(index_ms) / len(index_ms):.2f} ms "
          f"(max {max(index_ms):.2f}), exact scan {sum(exact_ms) / len(exact_ms):.2f} ms; "
          f"per embedding {ms_per_embedding:.0f} ms; index build {build_s:.2f} s")
    # what vqpq.nprobe buys, on the same query vectors (vqpq_index_recall: each
    # vector through the index and by a full scan; a vector finds itself too)
    lists = int(info[0])
    sweep = {}
    # what the index chose for vqpq.target_recall (more probes than lists probe them all)
    default = min(int(info[7]) if info[7] else 10, lists)
    for nprobe in sorted({max(1, lists // 4), default, max(1, lists // 2), lists}):
        r = psql(f"SET vqpq.nprobe = {nprobe}; SELECT round(recall::numeric, 3), round(index_ms::numeric, 2), "
                 "round(exact_ms::numeric, 2) FROM vqpq_index_recall('photos_embedding_idx', "
                 "ARRAY(SELECT embedding FROM searches ORDER BY qid), 10)")[0]
        sweep[nprobe] = float(r[0])
        print(f"  vqpq.nprobe = {nprobe:>3} of {lists} lists: recall@10 {r[0]}, {r[1]} ms per query "
              f"(exact {r[2]} ms){'  (the default: the index chose it for vqpq.target_recall)' if nprobe == default else ''}")

    width, height = contact_sheet(args.png, sheet) if sheet else (0, 0)
    if sheet:
        print(f"\n== contact sheet: {args.png} ({width} x {height} px): each row a query photo (grey frame), "
              f"then its 10 nearest photos")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"photos": len(photos), "copies": len(copies), "rows": len(rows), "packages": packages,
                       "ms_per_embedding": ms_per_embedding, "model_load_ms": emb.load_ms,
                       "embedded_now": len(emb.new_ms), "build_s": build_s,
                       "index": dict(zip(["nlist", "m", "nbits", "rows", "size", "bytes_per_row", "advice"], info)),
                       "near_duplicates": near, "recall_at_10": mean_recall, "sampled_recall_at_10": float(sampled[0]),
                       "searches": len(queries), "index_ms": sum(index_ms) / len(index_ms),
                       "exact_ms": sum(exact_ms) / len(exact_ms), "recall_by_nprobe": sweep, "png": [width, height],
                       "sheet": [[c["colour"] for c in row] for row in sheet]}, f, indent=1)


if __name__ == "__main__":
    main()
