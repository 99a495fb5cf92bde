#!/usr/bin/env python3
"""Writes the MNIST subset that the playground page ships: the first TRAIN training images
and the first TEST test images of MNIST, as gzip'd IDX files (the format `neurite train
--data DIR` reads), byte for byte reproducible (gzip without a time stamp).

    python3 scripts/mnist_subset.py [MNIST_DIR] [OUT_DIR]

MNIST_DIR defaults to ../shared/data/mnist, OUT_DIR to web/data. Standard library only.
"""
import gzip
import pathlib
import struct
import sys

TRAIN = 5000
TEST = 1000


def subset(src: pathlib.Path, dst: pathlib.Path, count: int) -> None:
    data = gzip.decompress(src.read_bytes())
    magic, n = struct.unpack(">II", data[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * (dims - 1), data[8 : 4 + 4 * dims])
    item = 1
    for d in shape:
        item *= d
    header = 4 + 4 * dims
    if count > n:
        sys.exit(f"{src}: has {n} items, {count} asked for")
    body = data[header : header + count * item]
    out = struct.pack(">II", magic, count) + data[8:header] + body
    dst.write_bytes(gzip.compress(out, compresslevel=9, mtime=0))
    print(f"{dst}: {count} of {n} items, {dst.stat().st_size} bytes")


def main() -> None:
    here = pathlib.Path(__file__).resolve().parent.parent
    src = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared/data/mnist"
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else here / "web/data"
    out.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", TRAIN), ("t10k", TEST)):
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            name = f"{prefix}-{kind}.gz"
            subset(src / name, out / name, count)


if __name__ == "__main__":
    main()
