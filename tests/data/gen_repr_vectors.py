#!/usr/bin/env python3
"""Write repr_vectors.txt: "<16 hex digits of the IEEE bits> <repr(float)>" lines.

test_numfmt checks live__fmt_double against every line, so the C test needs
no Python. Rerunning this script reproduces the file byte for byte (fixed
seed); run it from any directory.
"""
import math
import os
import random
import struct

rng = random.Random(20240611)
seen = set()
rows = []


def bits_of(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def add(x):
    b = bits_of(x)
    if b not in seen:
        seen.add(b)
        rows.append("%016x %r" % (b, x))


def add_around(x, n=1):
    """x and its n neighbours on either side (within the finite doubles)."""
    add(x)
    lo = hi = x
    for _ in range(n):
        lo = math.nextafter(lo, -math.inf)
        hi = math.nextafter(hi, math.inf)
        if math.isfinite(lo):
            add(lo)
        if math.isfinite(hi):
            add(hi)


# Specials: both zeros, infinities, NaNs of either sign and payload.
for b in (0x0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000,
          0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001,
          0x7FFFFFFFFFFFFFFF):
    x = from_bits(b)
    seen.add(b)
    rows.append("%016x %s" % (b, "nan" if x != x else repr(x)))

# Random bit patterns over every exponent, finite ones only.
n = 0
while n < 4000:
    b = rng.getrandbits(64)
    if (b >> 52) & 0x7FF == 0x7FF:
        continue
    add(from_bits(b))
    n += 1

# Subnormals: random, and the smallest ones.
for _ in range(400):
    add(from_bits(rng.getrandbits(52) | (rng.getrandbits(1) << 63)))
for i in range(1, 60):
    add(from_bits(i))
add_around(2.2250738585072014e-308, 3)

# Uniform [0, 1): accuracies, probabilities, random.random().
for _ in range(2500):
    add(rng.random())

# Training metrics: losses, learning rates, norms over many decades, either
# sign, also after a round trip through float32 (tensors are often float32).
for _ in range(2500):
    add(rng.choice((1, -1)) * 10 ** rng.uniform(-16, 6))
for _ in range(1500):
    x = 10 ** rng.uniform(-10, 5)
    add(struct.unpack("<f", struct.pack("<f", x))[0])
for _ in range(500):
    add(round(rng.uniform(0, 100), rng.randint(1, 6)))

# Powers of two, all of them, and their neighbours below (the lopsided side).
for e in range(-1074, 1024):
    add(math.ldexp(1.0, e))
for e in range(-1021, 1024, 3):
    add(math.nextafter(math.ldexp(1.0, e), 0))

# Powers of ten across the range, and their neighbours.
for e in range(-323, 309):
    add_around(float("1e%d" % e), 1)

# Around the layout switches: 1e16 and 1e-4 / 1e-5.
for x in (1e16, 1e-4, 1e-5, 9999999999999998.0, 1e15, 2 ** 53):
    add_around(x, 40)
for _ in range(200):
    add(rng.uniform(1e15, 1e17))
    add(rng.uniform(1e-5, 1e-4) * rng.choice((1, 10)))

# Integers: small, large, around 2^53 and beyond.
for i in range(-200, 201):
    add(float(i))
for _ in range(800):
    add(float(rng.getrandbits(rng.randint(1, 70))))

# Exact halves and quarters, including ties between two shortest decimals.
for _ in range(300):
    add(rng.getrandbits(rng.randint(1, 52)) + 0.5)
for _ in range(300):
    e = rng.randint(46, 52)
    add((rng.getrandbits(e) | (1 << (e - 1))) + rng.choice((0.25, 0.75, 0.125, 0.375)))

# Largest and smallest of everything.
add_around(1.7976931348623157e308, 3)
add_around(5e-324, 3)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "repr_vectors.txt")
with open(out, "w") as f:
    f.write("\n".join(rows) + "\n")
print("%d lines, %d bytes" % (len(rows), os.path.getsize(out)))
