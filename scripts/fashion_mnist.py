#!/usr/bin/python3
"""Print Fashion-MNIST images (Debian package dataset-fashion-mnist) as COPY
text rows: id, label, and the 784 pixels (0-255) as a pqvector literal.

    fashion_mnist.py train|test [--limit N] [--offset K]

Standard library only, so it runs on a bare Debian python3.
"""
import argparse
import gzip
import struct
import sys

DATA_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got, count = struct.unpack(">II", data[:8])
    if got != magic:
        sys.exit(f"{path}: not an IDX file (magic {got:#x})")
    return count, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("split", choices=sorted(FILES))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--offset", type=int, default=0)
    args = ap.parse_args()

    images_file, labels_file = FILES[args.split]
    n, images = read_idx(f"{DATA_DIR}/{images_file}", 0x803)
    rows, cols = struct.unpack(">II", images[8:16])
    _, labels = read_idx(f"{DATA_DIR}/{labels_file}", 0x801)
    dim = rows * cols
    end = n if args.limit is None else min(n, args.offset + args.limit)

    out = sys.stdout
    for i in range(args.offset, end):
        start = 16 + i * dim
        pixels = images[start:start + dim]
        out.write(f"{i}\t{labels[8 + i]}\t[{','.join(map(str, pixels))}]\n")


if __name__ == "__main__":
    main()
