#!/usr/bin/python3
"""Image search with vqpq: "photo in, similar photos out" on Fashion-MNIST.

Loads the clothing images of the Debian package dataset-fashion-mnist into a
table (the 784 pixels as a pqvector(784) embedding, plus the label), builds
an ivfpq index while showing its progress, searches it for the images most
like a few query images, and writes a contact sheet (PNG): each query image
followed by its nearest neighbours, framed green when they show the same kind
of clothing and red when not.

Talks to the server that the PG* environment variables point at, through
psql.  Standard library only.

    image_search.py [--train-rows 60000] [--queries 5] [--png vqpq-demo.png]
"""
import argparse
import os
import struct
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def psql(sql, stdin=None):
    """Run SQL; return the rows as lists of tab-separated fields."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         input=stdin, check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def load(train_rows, queries):
    psql("CREATE EXTENSION IF NOT EXISTS vqpq")
    psql("DROP TABLE IF EXISTS images, query_images")
    psql("CREATE TABLE images (id int PRIMARY KEY, label int NOT NULL, embedding pqvector(784) NOT NULL)")
    psql("CREATE TABLE query_images (id int PRIMARY KEY, label int NOT NULL, embedding pqvector(784) NOT NULL)")
    for split, table, limit in (("train", "images", train_rows), ("test", "query_images", queries)):
        rows = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "fashion_mnist.py"), split,
                               "--limit", str(limit)], check=True, capture_output=True, text=True).stdout
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f"\\copy {table} FROM STDIN"],
                       input=rows, check=True, text=True)
    psql("VACUUM ANALYZE images")


def build_index():
    """CREATE INDEX in one session while this one reports its progress."""
    build = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                              "CREATE INDEX images_embedding_idx ON images USING ivfpq (embedding)"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    last = None
    while build.poll() is None:
        rows = psql("SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                    "FROM pg_stat_progress_create_index")
        if rows:
            phase, tuples_done, tuples_total, blocks_done, blocks_total = rows[0]
            phase = phase.replace("building index: ", "")
            if int(tuples_total or 0) > 0:
                detail = f"{int(tuples_done):,} of {int(tuples_total):,} rows"
            elif int(blocks_total or 0) > 0:
                detail = f"{int(blocks_done):,} of {int(blocks_total):,} table blocks"
            else:
                detail = ""
            if (phase, detail) != last and (phase != (last or ("",))[0] or detail):
                print(f"  {time.monotonic() - start:6.2f} s  {phase:<30} {detail}", flush=True)
                last = (phase, detail)
        time.sleep(0.1)
    _, err = build.communicate()
    if build.returncode != 0:
        sys.exit(f"CREATE INDEX failed: {err}")
    for line in err.splitlines():          # NOTICEs, e.g. for little data
        print(f"  {line}")
    print(f"  {time.monotonic() - start:6.2f} s  done")


def search(nqueries):
    """The 10 nearest images to each query, through the index and exactly."""
    psql("""CREATE TABLE IF NOT EXISTS demo_hits (query int, rank int, id int, label int, distance float8);
            CREATE TABLE IF NOT EXISTS demo_timings (query int, ms float8, exact_ms float8, same_as_exact int);
            TRUNCATE demo_hits, demo_timings""")
    psql("""DO $$
        DECLARE q record; t0 timestamptz; ms float8; found int[]; exact int[];
        BEGIN
            FOR q IN SELECT * FROM query_images ORDER BY id LOOP
                t0 := clock_timestamp();
                INSERT INTO demo_hits
                    SELECT q.id, row_number() OVER (ORDER BY d), id, label, d
                      FROM (SELECT id, label, embedding <-> q.embedding AS d
                              FROM images ORDER BY embedding <-> q.embedding LIMIT 10) nearest;
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                found := ARRAY(SELECT id FROM demo_hits WHERE query = q.id);
                SET LOCAL enable_indexscan = off;
                t0 := clock_timestamp();
                exact := ARRAY(SELECT id FROM images ORDER BY embedding <-> q.embedding LIMIT 10);
                INSERT INTO demo_timings VALUES (q.id, ms, 1000 * extract(epoch FROM clock_timestamp() - t0),
                                                 (SELECT count(*) FROM unnest(found) f WHERE f = ANY (exact)));
                SET LOCAL enable_indexscan = on;
            END LOOP;
        END $$""")
    queries = psql("SELECT q.id, q.label, t.ms, t.exact_ms, t.same_as_exact FROM query_images q "
                   "JOIN demo_timings t ON t.query = q.id ORDER BY q.id")
    hits = psql("SELECT query, id, label, distance FROM demo_hits ORDER BY query, rank")
    results = []
    for qid, qlabel, ms, exact_ms, same in queries:
        neighbours = [(int(i), int(lab), float(d)) for q, i, lab, d in hits if q == qid]
        results.append((int(qid), int(qlabel), float(ms), float(exact_ms), int(same), neighbours))
    return results


def pixels(table, ids):
    rows = psql(f"SELECT id, embedding::text FROM {table} WHERE id IN ({','.join(map(str, ids))})")
    return {int(i): [int(float(x)) for x in text.strip("[]").split(",")] for i, text in rows}


def write_png(path, width, height, rgb_rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(row) for row in rgb_rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def contact_sheet(path, results, scale=3, frame=3, gap=6):
    """One row per query: the query image (grey frame), then its neighbours
    (green frame: same label as the query, red: another label)."""
    cell = 28 * scale + 2 * frame
    columns = 1 + max(len(r[5]) for r in results)
    width = gap + columns * (cell + gap) + gap
    height = gap + len(results) * (cell + gap)
    canvas = [[255] * (width * 3) for _ in range(height)]
    query_pixels = pixels("query_images", [r[0] for r in results])
    train_pixels = pixels("images", [n[0] for r in results for n in r[5]])

    def draw(img, colour, row, col):
        top = gap + row * (cell + gap)
        left = gap + col * (cell + gap) + (gap if col > 0 else 0)
        for y in range(cell):
            for x in range(cell):
                inside = frame <= y < cell - frame and frame <= x < cell - frame
                if inside:
                    v = 255 - img[((y - frame) // scale) * 28 + (x - frame) // scale]   # dark clothes on white
                    px = (v, v, v)
                else:
                    px = colour
                canvas[top + y][3 * (left + x):3 * (left + x) + 3] = px

    for row, (qid, qlabel, _, _, _, neighbours) in enumerate(results):
        draw(query_pixels[qid], (90, 90, 90), row, 0)
        for col, (nid, nlabel, _) in enumerate(neighbours, start=1):
            draw(train_pixels[nid], (40, 160, 60) if nlabel == qlabel else (200, 40, 40), row, col)
    write_png(path, width, height, canvas)
    return width, height


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-rows", type=int, default=60000)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--png", default="vqpq-demo.png")
    args = ap.parse_args()

    print(f"== loading Fashion-MNIST: {args.train_rows:,} training images, {args.queries} query images", flush=True)
    t0 = time.monotonic()
    load(args.train_rows, args.queries)
    size = psql("SELECT pg_size_pretty(pg_total_relation_size('images'))")[0][0]
    print(f"  loaded in {time.monotonic() - t0:.1f} s ({size})")

    print("\n== building the ivfpq index (progress from pg_stat_progress_create_index)", flush=True)
    build_index()
    info = psql("SELECT nlist, m, nbits, rows, pg_size_pretty(bytes), round(bytes_per_row), advice "
                "FROM vqpq_index_info('images_embedding_idx')")[0]
    vector_bytes = int(psql("SELECT sum(pg_column_size(embedding)) FROM images")[0][0])
    print(f"  {int(info[3]):,} rows in {info[0]} lists, {info[1]} sub-quantizers x {info[2]} bits: "
          f"{info[4]} ({info[5]} bytes per row, {vector_bytes / int(info[3]):.0f} for the vector itself); "
          f"advice: {info[6]}")

    print("\n== photo in, similar photos out: the 10 nearest training images to each query image", flush=True)
    results = search(args.queries)
    print(f"  {'query':<24} {'nearest 10 (label, distance)':<70} {'same label':>10} {'index ms':>9} "
          f"{'exact ms':>9} {'same as exact':>13}")
    for qid, qlabel, ms, exact_ms, same, neighbours in results:
        names = ", ".join(f"{LABELS[lab]} {d:.0f}" for _, lab, d in neighbours[:4]) + ", ..."
        same_label = sum(1 for _, lab, _ in neighbours if lab == qlabel)
        print(f"  {'#%d %s' % (qid, LABELS[qlabel]):<24} {names:<70} {same_label:>7}/10 {ms:>9.1f} "
              f"{exact_ms:>9.1f} {same:>10}/10")

    recall = psql("SELECT round(recall::numeric, 3), queries_run, round(index_ms::numeric, 1), "
                  "round(exact_ms::numeric, 1) FROM vqpq_index_recall('images_embedding_idx', 10, 20)")[0]
    print(f"\n  recall@10 on {recall[1]} sampled rows at the default settings: {recall[0]} "
          f"({recall[2]} ms per query through the index, {recall[3]} ms exactly)")

    width, height = contact_sheet(args.png, results)
    print(f"\n== contact sheet: {args.png} ({width} x {height} px): each row a query image, then its "
          f"neighbours, framed green for the same label and red for another")


if __name__ == "__main__":
    main()
