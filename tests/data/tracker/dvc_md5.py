#!/usr/bin/env python3
"""An independent model of DVC 2.x's md5 rules, for cross-checking tracker/md5.c.

Written from reference/dvc-checkpoints.md 4.2-4.3 with the standard library only:

    python3 dvc_md5.py PATH

prints "<md5> <size> <nfiles>" (nfiles -1 for a file; md5 ends in ".dir" for a
folder) and, for a folder, a second line with the .dir manifest bytes.

Folder walk, as tracker/state.c decides it: regular files and links to
regular files count (a link by its target's bytes); links to folders are not
descended into; dangling links and special files are skipped.
"""
import hashlib
import io
import json
import os
import stat
import sys

CHUNK = 2**20  # LOCAL_CHUNK_SIZE
TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"


def istextfile(block: bytes) -> bool:
    if not block:
        return True
    if b"\x00" in block:
        return False
    nontext = block.translate(None, TEXT_CHARS)
    return float(len(nontext)) / len(block) <= 0.30


def stream_md5(fobj, first_block: bytes) -> str:
    binary = not istextfile(first_block)
    md5 = hashlib.md5()
    while True:
        data = fobj.read(CHUNK)
        if not data:
            break
        md5.update(data if binary else data.replace(b"\r\n", b"\n"))
    return md5.hexdigest()


def file_md5(path: str):
    with open(path, "rb") as f:
        block = f.read(512)
    with open(path, "rb") as f:
        digest = stream_md5(f, block)
    return digest, os.path.getsize(path)


def walk_files(top: str):
    for root, _dirs, files in os.walk(top):
        for name in files:
            full = os.path.join(root, name)
            try:
                st = os.stat(full)  # follows links
            except FileNotFoundError:
                continue  # dangling link
            if stat.S_ISREG(st.st_mode):
                yield full


def dir_md5(top: str):
    entries = []
    total = 0
    for full in walk_files(top):
        digest, size = file_md5(full)
        total += size
        rel = os.path.relpath(full, top).replace(os.sep, "/")
        entries.append({"md5": digest, "relpath": rel})
    entries.sort(key=lambda e: e["relpath"])
    text = json.dumps(entries, sort_keys=True).encode("utf-8")
    digest = stream_md5(io.BytesIO(text), text[:512]) + ".dir"
    return digest, total, len(entries), text


def main() -> int:
    path = sys.argv[1]
    if os.path.isdir(path):
        digest, size, nfiles, text = dir_md5(path)
        sys.stdout.write(f"{digest} {size} {nfiles}\n{text.decode('ascii')}\n")
    else:
        digest, size = file_md5(path)
        sys.stdout.write(f"{digest} {size} -1\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
